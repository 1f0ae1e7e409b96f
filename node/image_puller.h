// ImagePuller: makes the images of a Pod's containers present before the agent starts it, by
// imagePullPolicy, with the kubelet's per-image back-off.
//
//   IfNotPresent  pulled only when the runtime does not hold the image (ImageRefs, compared after
//                 normalising: "busybox" is "docker.io/library/busybox:latest"). What it holds is
//                 remembered until ImagesRemoved(): whoever removes images (the image GC) or
//                 finds one missing (a failed start) must call it, or a removed image would be
//                 taken as present and never pulled again;
//   Always        pulled at every start of the pod (a moved tag is picked up);
//   Never         never pulled: a missing image is ErrImageNeverPull.
// A failed pull reports ErrImagePull with the driver's message; further attempts for the same pod
// and image wait a back-off (initial, doubling to max) and report ImagePullBackOff meanwhile.
// Drivers that take the image field as is (RuntimeDriver::PullsImages() false) are never asked.
//
// Credentials: the pod's imagePullSecrets (kubernetes.io/dockerconfigjson) are read through the
// given callback only when a pull happens; the entry whose registry matches the image's is used.
//
// Thread-safety: every method is thread-safe; Ensure blocks while a pull runs (pulls of
// different pods may run concurrently).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/runtime/clock.h"
#include "node/runtime_driver.h"

namespace capstan::node {

// The registry host of an image reference ("docker.io" when none is named).
std::string ImageRegistry(const std::string& image);
// The credentials of a .dockerconfigjson document for `registry`, if it has an entry for it.
std::optional<ImagePullAuth> AuthForRegistry(const nlohmann::json& dockerconfig, const std::string& registry);

struct ImagePullerOptions {
  std::chrono::milliseconds backoff_initial{10000};
  std::chrono::milliseconds backoff_max{300000};
  // ImageRefs() is asked again on a miss only when the last answer is older than this.
  std::chrono::milliseconds refs_max_age{2000};
  controller::Clock* clock = nullptr;  // nullptr: Clock::Real()
};

// The .dockerconfigjson documents of the pod's imagePullSecrets.
using PullSecretsFn = std::function<std::vector<nlohmann::json>(const nlohmann::json& pod)>;

class ImagePuller {
 public:
  ImagePuller(RuntimeDriver* driver, ImagePullerOptions options = {});

  struct Outcome {
    bool ready = true;         // every image is present: start the pod
    std::string reason;        // else: ErrImagePull, ImagePullBackOff, ErrImageNeverPull, InvalidImageName
    std::string message;
    std::string container;     // the container whose image is not ready
    std::chrono::milliseconds retry_after{0};
  };

  // Makes every image of `pod` (init containers first, then containers) present per its policy.
  Outcome Ensure(const nlohmann::json& pod, const PullSecretsFn& secrets);
  // Forgets the back-offs of a pod (deleted).
  void Forget(const std::string& pod_uid);
  // The runtime's images changed behind the puller (removed by the image GC, or a start found
  // one missing): forgets which are present, so the next check asks the driver again.
  void ImagesRemoved();
  uint64_t Pulls() const;

 private:
  struct Backoff {
    int failures = 0;
    controller::Clock::TimePoint until{};
    std::string last_error;
  };
  bool Present(const std::string& normalized);

  RuntimeDriver* const driver_;
  const ImagePullerOptions options_;
  controller::Clock* const clock_;
  mutable std::mutex mu_;
  std::set<std::string> present_;                  // guarded by mu_: normalised refs seen or pulled
  controller::Clock::TimePoint refs_at_{};         // guarded by mu_
  bool refs_known_ = false;                        // guarded by mu_
  // guarded by mu_: bumped by ImagesRemoved, so that an ImageRefs answer asked for before it
  // is not remembered after it.
  uint64_t refs_generation_ = 0;
  std::map<std::string, Backoff> backoff_;         // guarded by mu_: "uid image" -> back-off
  uint64_t pulls_ = 0;                             // guarded by mu_
};

}  // namespace capstan::node
