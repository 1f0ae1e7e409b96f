// FakeDriver: a RuntimeDriver that runs nothing. Its pods are entries in a map that "start" after
// a configurable latency and "fail" at a configurable rate, so the control loops can be tested
// and benchmarked at scale without containers (kubemark's hollow node). It becomes a plugin
// under the driver ABI later; the behaviour below is its contract.
//
// Behaviour of a run started at time T (on the injected Clock):
//   - before T + startLatency every container is waiting (reason ContainerCreating), and
//     InspectPod's recheck_after is the time left;
//   - from T + startLatency a container is running and ready, started at that time; or, with
//     probability failureRate (drawn per container from a generator seeded with `seed`, so a run
//     of a test is reproducible), it is terminated with exit code 1, reason Error, started and
//     finished at that time: it crashed right after starting;
//   - StopPod terminates every container not yet terminated: exit code 0, reason Completed,
//     finished now (grace is honoured instantly: nothing runs);
//   - RemovePod erases the run; ListPods returns every run not removed.
// Wall-clock times are the system clock at StartPod plus the Clock time elapsed since, so a
// FakeClock moves them too.
//
// Configuration (Node spec.driver.config, all optional; unknown keys are kInvalid):
//   startLatencyMs  integer >= 0, default 0
//   failureRate     number in [0, 1], default 0
//   capacity        object of quantities, merged over {"cpu": "64", "memory": "256Gi",
//                   "pods": "10000"} (a hollow node is big)
//   seed            integer >= 0, default 1
//   imageFs         {"capacityBytes": int > 0, "availableBytes": int in 0..capacity}: reported as
//                   the image filesystem (ImageFsInfo; a removed image frees its size); absent:
//                   none is reported, so no image garbage collection
//
// Thread-safety: every method is thread-safe (one mutex); no thread of its own.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/runtime/clock.h"
#include "node/runtime_driver.h"

namespace capstan::node {

struct FakeDriverConfig {
  std::chrono::milliseconds start_latency{0};
  double failure_rate = 0;
  nlohmann::json capacity = {{"cpu", "64"}, {"memory", "256Gi"}, {"pods", "10000"}};
  uint64_t seed = 1;
  std::optional<ImageFsStats> image_fs;

  // Parses spec.driver.config (null or an object). kInvalid names the offending key.
  static Result<FakeDriverConfig> FromJson(const nlohmann::json& config);
};

class FakeDriver : public RuntimeDriver {
 public:
  static constexpr char kName[] = "fake";
  static constexpr char kRuntimeVersion[] = "fake://1.0";

  // `clock` (nullptr: Clock::Real()) must outlive the driver.
  explicit FakeDriver(FakeDriverConfig config = {}, controller::Clock* clock = nullptr);

  const std::string& Name() const override { return name_; }
  DriverFingerprint Fingerprint() override;
  Result<PodHandle> StartPod(const nlohmann::json& pod) override;
  Result<PodState> InspectPod(const PodHandle& handle) override;
  Status StopPod(const PodHandle& handle, std::chrono::milliseconds grace) override;
  Status RemovePod(const PodHandle& handle) override;
  Result<std::vector<PodHandle>> ListPods() override;

  // Images and exec, off until a test turns them on (the hollow node of benchmarks takes any
  // image and runs no command).
  bool PullsImages() const override;
  Result<std::vector<std::string>> ImageRefs() override;
  Result<std::string> PullImage(const std::string& image, const std::optional<ImagePullAuth>& auth) override;
  // Without an inventory (SetImageInventory): the refs of SetImages and pulls, each its own
  // image "fake://<ref>" of size 0.
  Result<std::vector<ImageInfo>> ListImages() override;
  // By id or tag; kConflict while a run not removed has a container of that image; frees the
  // image's size on the image filesystem (up to its capacity).
  Status RemoveImage(const std::string& image) override;
  // kMethodNotAllowed until SetImageInventory gives a filesystem.
  Result<ImageFsStats> ImageFsInfo() override;
  Result<ExecOutput> Exec(const PodHandle& handle, const std::string& container,
                          const std::vector<std::string>& command, std::chrono::milliseconds timeout) override;

  // Test hooks.
  // Images: with `pulls` the agent must pull; `present` are held from the start; pulls of an
  // image in `failing` fail with its message (kUnavailable); others succeed and add the image.
  // With `pulls`, StartPod of a container whose image (as spelt) is not held fails kNotFound.
  void SetImages(bool pulls, std::vector<std::string> present, std::map<std::string, std::string> failing = {});
  // Replaces ListImages' answer with `images` (a container's image matches an image whose id is
  // "fake://<image>" or which has the image among its tags) and sets the image filesystem
  // (nullopt: not reported).
  void SetImageInventory(std::vector<ImageInfo> images, std::optional<ImageFsStats> fs);
  // What RemoveImage removed, in order (the ids).
  std::vector<std::string> RemovedImages() const;
  uint64_t PullCount() const;
  std::optional<ImagePullAuth> LastPullAuth() const;
  // Exec answers with `handler(container, command)` (a running container only); without one,
  // exec is kMethodNotAllowed.
  void SetExecHandler(std::function<ExecOutput(const std::string&, const std::vector<std::string>&)> handler);
  // The pod of the last successful StartPod, as the driver received it.
  nlohmann::json LastStartedPod() const;
  // Makes Fingerprint() report unhealthy with `message` (or healthy again).
  void SetHealthy(bool healthy, std::string message = "");
  // Changes the failure rate for runs started from now on.
  void SetFailureRate(double rate);
  // Runs held now (not removed), and StartPod calls that succeeded since construction.
  size_t PodCount() const;
  uint64_t Starts() const;
  // StartPod calls refused because an image was not present (with SetImages' `pulls`).
  uint64_t FailedStarts() const;

 private:
  struct Container {
    std::string name, id, image;
    bool fails = false;        // decided at start
    bool stopped = false;      // StopPod terminated it
    controller::Clock::TimePoint stopped_at{};
  };
  struct Run {
    PodHandle handle;
    controller::Clock::TimePoint started;      // Clock time of StartPod
    std::chrono::system_clock::time_point wall;  // wall time of StartPod
    std::vector<Container> containers;
  };

  // Wall time of Clock time `t` within `run`. mu_ not needed (reads constants of the run).
  static std::chrono::system_clock::time_point WallAt(const Run& run, controller::Clock::TimePoint t);
  ContainerState Observe(const Run& run, const Container& c, controller::Clock::TimePoint now) const;

  // Constant after construction.
  const std::string name_ = kName;
  const FakeDriverConfig config_;
  controller::Clock* const clock_;

  mutable std::mutex mu_;
  // Guarded by mu_.
  std::map<std::string, Run> runs_;  // handle id -> run
  std::mt19937_64 rng_;
  double failure_rate_;
  bool healthy_ = true;
  std::string health_message_;
  uint64_t next_id_ = 1;
  uint64_t starts_ = 0;
  uint64_t failed_starts_ = 0;
  bool pulls_images_ = false;
  std::vector<std::string> images_;
  std::optional<std::vector<ImageInfo>> inventory_;
  std::optional<ImageFsStats> image_fs_;
  std::vector<std::string> removed_images_;
  std::map<std::string, std::string> failing_pulls_;
  uint64_t pull_count_ = 0;
  std::optional<ImagePullAuth> last_pull_auth_;
  std::function<ExecOutput(const std::string&, const std::vector<std::string>&)> exec_handler_;
  nlohmann::json last_started_;
};

}  // namespace capstan::node
