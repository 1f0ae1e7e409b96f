// Image garbage collection on a node, as the kubelet's image GC manager does it, through the
// node's RuntimeDriver (docs/image-gc.md).
//
// Every policy.period (default 5m, as the kubelet) a pass:
//   1. lists the runtime's images and the images in use: those of every container of every run
//      the driver holds for this agent (running or not, until removed), and those of the Pods
//      bound here that are not terminal (so an image pulled for a Pod about to start stays);
//   2. tracks, per image id, when it was first seen and last seen in use (drivers do not report
//      it; like the kubelet's, this memory starts empty at each agent start);
//   3. reads the image filesystem's size and free space; when usage, 100 - available*100/capacity,
//      is at or above the high threshold (default 85%), removes images to bring it down to the
//      low threshold (default 80%): amount = capacity*(100-low)/100 - available bytes. Candidates
//      go never-used first, then least recently used, then first seen earliest; an image in use,
//      pinned by the runtime (the CRI sandbox image), or first seen less than minimum_age ago
//      (default 2m) is never removed. Each image goes tag by tag, then by id (docker refuses to
//      remove by id an image with several tags); a CONFLICT from the driver (something the
//      agent does not know of still uses it) skips the image.
// Events on the Node: Normal ImageGCRemoved per image removed (tags, id, size); Warning
// FreeDiskSpaceFailed when the removable images do not free the amount (the kubelet's text);
// Warning ImageGCFailed when a pass cannot run (the driver's error).
//
// A driver that cannot list images or does not report its image filesystem (an older plugin,
// the process driver, a docker engine behind tcp://) gets no image GC: the first pass logs why
// once, and the manager stops.
//
// Thread-safety: RunOnce, Start and Stop may be called from any thread; passes never overlap
// (RunOnce serialises them). Start runs a pass at once, then every period, on its own thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "client/informer.h"
#include "controller/runtime/clock.h"
#include "node/runtime_driver.h"

namespace capstan::node {

// The kubelet's settings, under their kubelet flag names.
struct ImageGcPolicy {
  int high_threshold_percent = 85;                        // --image-gc-high-threshold; 100: off
  int low_threshold_percent = 80;                         // --image-gc-low-threshold; < high
  std::chrono::milliseconds minimum_age{2 * 60 * 1000};   // --image-minimum-gc-age
  std::chrono::milliseconds period{5 * 60 * 1000};        // --image-gc-period (> 0)

  bool enabled() const { return high_threshold_percent < 100; }
  // kInvalid naming the flag: thresholds within 0..100 and low < high (as the kubelet checks),
  // a non-negative age, a positive period.
  Status Validate() const;
};

// What a pass knows of one image.
struct TrackedImage {
  ImageInfo image;
  controller::Clock::TimePoint first_seen{};
  std::optional<controller::Clock::TimePoint> last_used;  // never seen in use: none
  bool in_use = false;
};

// The decision of one pass (PlanImageGc).
struct ImageGcPlan {
  int usage_percent = 0;       // of the image filesystem, rounded as the kubelet does
  bool triggered = false;      // usage_percent >= high threshold
  int64_t bytes_to_free = 0;   // to bring usage to the low threshold; 0 when not triggered
  // Every image that may go, in removal order; the manager removes them in turn until it has
  // freed bytes_to_free (one the runtime refuses is skipped, and the next one goes instead).
  std::vector<ImageInfo> candidates;
  // The first candidates whose sizes reach bytes_to_free (all of them when they do not).
  size_t planned = 0;
  int64_t bytes_planned = 0;  // the sum of their sizes
  // Images never to remove, by reason (an image counts under the first that holds).
  size_t kept_in_use = 0, kept_pinned = 0, kept_young = 0;
};

// The pure decision: which images to remove now. No I/O.
ImageGcPlan PlanImageGc(const ImageGcPolicy& policy, const ImageFsStats& fs, std::vector<TrackedImage> images,
                        controller::Clock::TimePoint now);

// Marks the images `refs` name (references as in a Pod spec, "busybox" being
// "docker.io/library/busybox:latest", digests "repo@sha256:...", or image ids) as in use. A
// reference with a digest matches by repo@digest whatever its tag ("nginx:1.25@sha256:X" is
// "docker.io/library/nginx@sha256:X"), as the kubelet compares them.
void MarkImagesInUse(std::vector<TrackedImage>& images, const std::vector<std::string>& refs);

// The images of the non-terminal Pods among `pods` (containers and init containers).
std::vector<std::string> ImagesOfPods(const std::vector<client::ObjectPtr>& pods);

struct ImageGcManagerOptions {
  ImageGcPolicy policy;
  RuntimeDriver* driver = nullptr;     // required; outlives the manager
  controller::Clock* clock = nullptr;  // nullptr: Clock::Real()
  std::string node_name;               // for logs
  // The images Pods bound here will run (ImagesOfPods of the agent's pod cache). May be null.
  std::function<std::vector<std::string>()> pod_images;
  // Records an Event on the Node. May be null.
  std::function<void(bool warning, const std::string& reason, const std::string& message)> event;
  // Told after each image the pass removed, wholly or some of its tags only (the runtime then
  // refused its id): the agent's ImagePuller forgets what it believed present. May be null.
  std::function<void(const ImageInfo& image)> removed;
};

// What one pass did.
struct ImageGcResult {
  bool ran = false;  // false: the driver does not support it (see `why_off`), nothing was done
  std::string why_off;
  ImageGcPlan plan;
  std::vector<std::string> removed;  // image ids, in order
  int64_t bytes_freed = 0;           // the sizes of the removed images
  size_t failed = 0;                 // removals the driver refused (conflict or error)
};

class ImageGcManager {
 public:
  explicit ImageGcManager(ImageGcManagerOptions options);
  ~ImageGcManager();  // Stop()

  ImageGcManager(const ImageGcManager&) = delete;
  ImageGcManager& operator=(const ImageGcManager&) = delete;

  // Starts the thread (a pass now, then every period). Once; kInvalid for a policy that does
  // not validate or without a driver; OK and no thread when the policy is off.
  Status Start();
  // Idempotent; waits for a pass in progress.
  void Stop();

  // One pass, now (see the file comment). An error when the runtime could not be asked (the
  // pass removed nothing then).
  Result<ImageGcResult> RunOnce();

 private:
  void Loop() noexcept;
  void Emit(bool warning, const std::string& reason, const std::string& message);

  // Constant after construction.
  const ImageGcManagerOptions options_;
  controller::Clock* const clock_;

  std::mutex run_mu_;  // serialises passes; guards the fields below
  std::map<std::string, TrackedImage> tracked_;  // image id -> what is known of it
  bool off_ = false;                             // the driver does not support image GC

  std::mutex mu_;
  controller::ClockCondition wake_;
  bool stopping_ = false;  // guarded by mu_
  bool started_ = false;   // guarded by mu_
  std::thread thread_;
};

// "1.5GiB", "300MiB", "12KiB", "512B": sizes in Events and logs.
std::string ByteText(int64_t bytes);

}  // namespace capstan::node
