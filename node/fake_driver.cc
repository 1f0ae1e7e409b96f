#include "node/fake_driver.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <utility>

#include "client/json_fields.h"

namespace capstan::node {

using json = nlohmann::json;
using controller::Clock;

namespace {

const char* HostArch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__arm__)
  return "arm";
#elif defined(__i386__)
  return "386";
#elif defined(__powerpc64__) && defined(__LITTLE_ENDIAN__)
  return "ppc64le";
#elif defined(__s390x__)
  return "s390x";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "unknown";
#endif
}

// A 64-bit mix (splitmix64's finaliser), for ids that look like ids.
uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string Hex(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof(buf), "%016" PRIx64, v);
  return buf;
}

}  // namespace

Result<FakeDriverConfig> FakeDriverConfig::FromJson(const json& config) {
  FakeDriverConfig out;
  if (config.is_null()) return out;
  if (!config.is_object()) return Status::Invalid("fake driver config: must be an object");
  for (auto it = config.begin(); it != config.end(); ++it) {
    const std::string& key = it.key();
    const json& v = *it;
    if (key == "startLatencyMs") {
      if (!v.is_number_integer() || v.get<int64_t>() < 0) {
        return Status::Invalid("fake driver config: startLatencyMs must be an integer >= 0");
      }
      out.start_latency = std::chrono::milliseconds(v.get<int64_t>());
    } else if (key == "failureRate") {
      if (!v.is_number() || v.get<double>() < 0 || v.get<double>() > 1) {
        return Status::Invalid("fake driver config: failureRate must be a number in [0, 1]");
      }
      out.failure_rate = v.get<double>();
    } else if (key == "capacity") {
      if (!v.is_object()) return Status::Invalid("fake driver config: capacity must be an object");
      for (auto c = v.begin(); c != v.end(); ++c) {
        if (!c->is_string() && !c->is_number()) {
          return Status::Invalid("fake driver config: capacity." + c.key() + " must be a quantity");
        }
        out.capacity[c.key()] = c->is_string() ? *c : json(c->dump());
      }
    } else if (key == "seed") {
      if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
        return Status::Invalid("fake driver config: seed must be an integer >= 0");
      }
      out.seed = v.get<uint64_t>();
    } else if (key == "imageFs") {
      const auto bytes = [&v](const char* field) -> int64_t {
        return v.is_object() && v.contains(field) && v[field].is_number_integer() ? v[field].get<int64_t>() : -1;
      };
      const int64_t capacity = bytes("capacityBytes"), available = bytes("availableBytes");
      if (capacity <= 0 || available < 0 || available > capacity) {
        return Status::Invalid(
            "fake driver config: imageFs must be {\"capacityBytes\": int > 0, \"availableBytes\": int in 0..capacity}");
      }
      out.image_fs = ImageFsStats{capacity, available, std::nullopt, "fake"};
    } else {
      return Status::Invalid("fake driver config: unknown field \"" + key +
                             "\" (known: startLatencyMs, failureRate, capacity, seed, imageFs)");
    }
  }
  return out;
}

FakeDriver::FakeDriver(FakeDriverConfig config, Clock* clock)
    : config_(std::move(config)),
      clock_(clock != nullptr ? clock : Clock::Real()),
      rng_(config_.seed),
      failure_rate_(config_.failure_rate),
      image_fs_(config_.image_fs) {}

DriverFingerprint FakeDriver::Fingerprint() {
  DriverFingerprint fp;
  fp.capacity = config_.capacity;
  fp.os = "linux";
  fp.arch = HostArch();
  fp.runtime_version = kRuntimeVersion;
  std::lock_guard<std::mutex> lock(mu_);
  fp.healthy = healthy_;
  fp.message = health_message_;
  return fp;
}

Result<PodHandle> FakeDriver::StartPod(const json& pod) {
  const std::string uid = client::MetaString(pod, "uid");
  if (uid.empty()) return Status::Invalid("fake driver: the pod has no metadata.uid");
  const json& containers = client::Field(client::Field(pod, "spec"), "containers");
  if (!containers.is_array() || containers.empty()) {
    return Status::Invalid("fake driver: the pod has no spec.containers");
  }
  std::uniform_real_distribution<double> coin(0.0, 1.0);
  std::lock_guard<std::mutex> lock(mu_);
  if (pulls_images_) {
    // As docker and containerd: the image must be there (the agent pulls first).
    for (const json& spec : containers) {
      const std::string image = client::StringField(spec, "image");
      if (std::find(images_.begin(), images_.end(), image) == images_.end()) {
        ++failed_starts_;
        return Status::NotFound("fake driver: image " + image + " is not present (start does not pull)");
      }
    }
  }
  const uint64_t n = next_id_++;
  Run run;
  run.handle.id = "fake-" + Hex(Mix(n ^ (config_.seed << 32)));
  run.handle.pod_uid = uid;
  run.handle.pod_namespace = client::MetaString(pod, "namespace");
  run.handle.pod_name = client::MetaString(pod, "name");
  run.started = clock_->Now();
  run.wall = std::chrono::system_clock::now();
  uint64_t i = 0;
  for (const json& spec : containers) {
    Container c;
    c.name = client::StringField(spec, "name");
    c.image = client::StringField(spec, "image");
    c.id = Hex(Mix(n * 1000003 + i)) + Hex(Mix((n << 20) ^ i));
    ++i;
    // Draw even at rate 0 or 1, so that a seed gives the same sequence whatever the rate.
    c.fails = coin(rng_) < failure_rate_;
    run.handle.containers.push_back(ContainerHandle{c.name, c.id});
    run.containers.push_back(std::move(c));
  }
  PodHandle handle = run.handle;
  runs_.emplace(run.handle.id, std::move(run));
  last_started_ = pod;
  ++starts_;
  return handle;
}

std::chrono::system_clock::time_point FakeDriver::WallAt(const Run& run, Clock::TimePoint t) {
  return run.wall + std::chrono::duration_cast<std::chrono::system_clock::duration>(t - run.started);
}

ContainerState FakeDriver::Observe(const Run& run, const Container& c, Clock::TimePoint now) const {
  ContainerState s;
  s.name = c.name;
  s.id = c.id;
  s.image = c.image;
  s.image_id = std::string(kName) + "://" + c.image;
  const Clock::TimePoint up = run.started + config_.start_latency;
  if (c.stopped && c.stopped_at < up) {
    // Stopped before it ever started.
    s.phase = ContainerPhase::kTerminated;
    s.reason = "Completed";
    s.finished_at = WallAt(run, c.stopped_at);
    return s;
  }
  if (!c.stopped && now < up) {
    s.phase = ContainerPhase::kWaiting;
    s.reason = "ContainerCreating";
    return s;
  }
  s.started_at = WallAt(run, up);
  if (c.fails) {
    s.phase = ContainerPhase::kTerminated;
    s.reason = "Error";
    s.exit_code = 1;
    s.finished_at = s.started_at;
  } else if (c.stopped) {
    s.phase = ContainerPhase::kTerminated;
    s.reason = "Completed";
    s.finished_at = WallAt(run, c.stopped_at);
  } else {
    s.phase = ContainerPhase::kRunning;
    s.ready = true;
  }
  return s;
}

Result<PodState> FakeDriver::InspectPod(const PodHandle& handle) {
  const Clock::TimePoint now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = runs_.find(handle.id);
  if (it == runs_.end()) return Status::NotFound("fake driver: no pod run " + handle.id);
  const Run& run = it->second;
  PodState state;
  for (const Container& c : run.containers) state.containers.push_back(Observe(run, c, now));
  const Clock::TimePoint up = run.started + config_.start_latency;
  for (const ContainerState& s : state.containers) {
    if (s.phase == ContainerPhase::kWaiting && up > now) {
      // Round up, so that the agent looks again no earlier than the start.
      state.recheck_after = std::chrono::ceil<std::chrono::milliseconds>(up - now);
      break;
    }
  }
  return state;
}

Status FakeDriver::StopPod(const PodHandle& handle, std::chrono::milliseconds /*grace*/) {
  const Clock::TimePoint now = clock_->Now();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = runs_.find(handle.id);
  if (it == runs_.end()) return Status::NotFound("fake driver: no pod run " + handle.id);
  const Clock::TimePoint up = it->second.started + config_.start_latency;
  for (Container& c : it->second.containers) {
    const bool crashed = c.fails && now >= up;
    if (c.stopped || crashed) continue;
    c.stopped = true;
    c.stopped_at = now;
  }
  return Status::Ok();
}

Status FakeDriver::RemovePod(const PodHandle& handle) {
  std::lock_guard<std::mutex> lock(mu_);
  runs_.erase(handle.id);
  return Status::Ok();
}

Result<std::vector<PodHandle>> FakeDriver::ListPods() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<PodHandle> out;
  out.reserve(runs_.size());
  for (const auto& [id, run] : runs_) out.push_back(run.handle);
  return out;
}

void FakeDriver::SetHealthy(bool healthy, std::string message) {
  std::lock_guard<std::mutex> lock(mu_);
  healthy_ = healthy;
  health_message_ = std::move(message);
}

void FakeDriver::SetFailureRate(double rate) {
  std::lock_guard<std::mutex> lock(mu_);
  failure_rate_ = rate;
}

size_t FakeDriver::PodCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_.size();
}

uint64_t FakeDriver::FailedStarts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_starts_;
}

uint64_t FakeDriver::Starts() const {
  std::lock_guard<std::mutex> lock(mu_);
  return starts_;
}

bool FakeDriver::PullsImages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pulls_images_;
}

Result<std::vector<std::string>> FakeDriver::ImageRefs() {
  std::lock_guard<std::mutex> lock(mu_);
  return images_;
}

Result<std::string> FakeDriver::PullImage(const std::string& image, const std::optional<ImagePullAuth>& auth) {
  std::lock_guard<std::mutex> lock(mu_);
  ++pull_count_;
  last_pull_auth_ = auth;
  if (auto it = failing_pulls_.find(image); it != failing_pulls_.end()) return Status::Unavailable(it->second);
  images_.push_back(image);
  if (inventory_ && std::none_of(inventory_->begin(), inventory_->end(), [&](const ImageInfo& i) {
        return std::find(i.tags.begin(), i.tags.end(), image) != i.tags.end();
      })) {
    inventory_->push_back(ImageInfo{std::string(kName) + "://" + image, {image}});
  }
  return std::string(kName) + "://" + image;
}

Result<std::vector<ImageInfo>> FakeDriver::ListImages() {
  std::lock_guard<std::mutex> lock(mu_);
  if (inventory_) return *inventory_;
  std::vector<ImageInfo> out;
  for (const std::string& ref : images_) {
    ImageInfo i;
    i.id = std::string(kName) + "://" + ref;
    i.tags = {ref};
    out.push_back(std::move(i));
  }
  return out;
}

Status FakeDriver::RemoveImage(const std::string& image) {
  std::lock_guard<std::mutex> lock(mu_);
  auto matches = [](const ImageInfo& i, const std::string& ref) {
    return i.id == ref || i.id == std::string(kName) + "://" + ref ||
           std::find(i.tags.begin(), i.tags.end(), ref) != i.tags.end();
  };
  if (!inventory_) {
    inventory_.emplace();
    for (const std::string& ref : images_) inventory_->push_back(ImageInfo{std::string(kName) + "://" + ref, {ref}});
  }
  auto it = std::find_if(inventory_->begin(), inventory_->end(), [&](const ImageInfo& i) { return matches(i, image); });
  if (it == inventory_->end()) return Status::Ok();
  for (const auto& [id, run] : runs_) {
    for (const Container& c : run.containers) {
      if (matches(*it, c.image)) return Status::Conflict("fake driver: image " + image + " is used by run " + id);
    }
  }
  if (image_fs_) image_fs_->available_bytes = std::min(image_fs_->capacity_bytes, image_fs_->available_bytes + it->size_bytes);
  for (const std::string& tag : it->tags) images_.erase(std::remove(images_.begin(), images_.end(), tag), images_.end());
  removed_images_.push_back(it->id);
  inventory_->erase(it);
  return Status::Ok();
}

Result<ImageFsStats> FakeDriver::ImageFsInfo() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!image_fs_) return Status(Code::kMethodNotAllowed, "fake driver: imageFs is not enabled");
  return *image_fs_;
}

void FakeDriver::SetImageInventory(std::vector<ImageInfo> images, std::optional<ImageFsStats> fs) {
  std::lock_guard<std::mutex> lock(mu_);
  inventory_ = std::move(images);
  image_fs_ = std::move(fs);
}

std::vector<std::string> FakeDriver::RemovedImages() const {
  std::lock_guard<std::mutex> lock(mu_);
  return removed_images_;
}

Result<ExecOutput> FakeDriver::Exec(const PodHandle& handle, const std::string& container,
                                    const std::vector<std::string>& command, std::chrono::milliseconds /*timeout*/) {
  std::function<ExecOutput(const std::string&, const std::vector<std::string>&)> handler;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = runs_.find(handle.id);
    if (it == runs_.end()) return Status::NotFound("fake driver: no run " + handle.id);
    const Run& run = it->second;
    auto c = std::find_if(run.containers.begin(), run.containers.end(),
                          [&](const Container& x) { return x.name == container; });
    if (c == run.containers.end()) return Status::NotFound("fake driver: no container " + container);
    if (Observe(run, *c, clock_->Now()).phase != ContainerPhase::kRunning) {
      return Status::Conflict("fake driver: container " + container + " is not running");
    }
    handler = exec_handler_;
  }
  if (!handler) return Status(Code::kMethodNotAllowed, "fake driver: exec is not enabled");
  return handler(container, command);
}

void FakeDriver::SetImages(bool pulls, std::vector<std::string> present, std::map<std::string, std::string> failing) {
  std::lock_guard<std::mutex> lock(mu_);
  pulls_images_ = pulls;
  images_ = std::move(present);
  failing_pulls_ = std::move(failing);
}

uint64_t FakeDriver::PullCount() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pull_count_;
}

std::optional<ImagePullAuth> FakeDriver::LastPullAuth() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_pull_auth_;
}

void FakeDriver::SetExecHandler(std::function<ExecOutput(const std::string&, const std::vector<std::string>&)> handler) {
  std::lock_guard<std::mutex> lock(mu_);
  exec_handler_ = std::move(handler);
}

json FakeDriver::LastStartedPod() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_started_;
}

}  // namespace capstan::node
