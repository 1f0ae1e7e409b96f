#include "node/image_gc.h"

#include "plugins/common/image_ref.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <set>
#include <utility>

#include "base/log.h"
#include "client/json_fields.h"
#include "node/image_puller.h"
#include "node/pod_status.h"

namespace capstan::node {

using controller::Clock;

Status ImageGcPolicy::Validate() const {
  if (high_threshold_percent < 0 || high_threshold_percent > 100) {
    return Status::Invalid("--image-gc-high-threshold: must be in 0..100, got " + std::to_string(high_threshold_percent));
  }
  if (low_threshold_percent < 0 || low_threshold_percent > 100) {
    return Status::Invalid("--image-gc-low-threshold: must be in 0..100, got " + std::to_string(low_threshold_percent));
  }
  if (enabled() && low_threshold_percent >= high_threshold_percent) {
    return Status::Invalid("--image-gc-low-threshold (" + std::to_string(low_threshold_percent) +
                           ") must be less than --image-gc-high-threshold (" +
                           std::to_string(high_threshold_percent) + ")");
  }
  if (minimum_age.count() < 0) return Status::Invalid("--image-minimum-gc-age: must not be negative");
  if (period.count() <= 0) return Status::Invalid("--image-gc-period: must be positive");
  return Status::Ok();
}

ImageGcPlan PlanImageGc(const ImageGcPolicy& policy, const ImageFsStats& fs, std::vector<TrackedImage> images,
                        Clock::TimePoint now) {
  ImageGcPlan plan;
  if (fs.capacity_bytes <= 0) return plan;  // the ABI refuses it; nothing sensible to do
  const int64_t available = std::clamp<int64_t>(fs.available_bytes, 0, fs.capacity_bytes);
  // The kubelet's integer arithmetic: usage rounds up, so 84.5% used is 85%.
  plan.usage_percent = 100 - static_cast<int>(available * 100 / fs.capacity_bytes);
  if (!policy.enabled() || plan.usage_percent < policy.high_threshold_percent) return plan;
  plan.triggered = true;
  plan.bytes_to_free = fs.capacity_bytes / 100 * (100 - policy.low_threshold_percent) +
                       fs.capacity_bytes % 100 * (100 - policy.low_threshold_percent) / 100 - available;
  if (plan.bytes_to_free <= 0) return plan;
  // Never used first, then least recently used, then first seen earliest; the id settles ties so
  // that a plan is reproducible.
  std::sort(images.begin(), images.end(), [](const TrackedImage& a, const TrackedImage& b) {
    if (a.last_used != b.last_used) return !a.last_used || (b.last_used && *a.last_used < *b.last_used);
    if (a.first_seen != b.first_seen) return a.first_seen < b.first_seen;
    return a.image.id < b.image.id;
  });
  for (TrackedImage& t : images) {
    if (t.in_use) {
      ++plan.kept_in_use;
    } else if (t.image.pinned) {
      ++plan.kept_pinned;
    } else if (now - t.first_seen < policy.minimum_age) {
      ++plan.kept_young;
    } else {
      if (plan.bytes_planned < plan.bytes_to_free) {
        plan.bytes_planned += std::max<int64_t>(t.image.size_bytes, 0);
        ++plan.planned;
      }
      plan.candidates.push_back(std::move(t.image));
    }
  }
  return plan;
}

namespace {

// The normalised reference, without its tag when it has a digest: the digest names the image,
// and runtimes list digests as repo@digest ("nginx:1.25@sha256:X" is the image whose digest is
// "docker.io/library/nginx@sha256:X"), as the kubelet compares them.
std::string InUseKey(const std::string& ref) {
  std::string n = plugins::NormalizeImageRef(ref);
  const auto at = n.find('@');
  if (at == std::string::npos) return n;
  const auto colon = n.rfind(':', at);
  const auto slash = n.rfind('/', at);
  if (colon != std::string::npos && slash != std::string::npos && colon > slash) n.erase(colon, at - colon);
  return n;
}

}  // namespace

void MarkImagesInUse(std::vector<TrackedImage>& images, const std::vector<std::string>& refs) {
  std::set<std::string> exact(refs.begin(), refs.end());
  std::set<std::string> normalized;
  for (const std::string& r : refs) {
    if (!r.empty()) normalized.insert(InUseKey(r));
  }
  for (TrackedImage& t : images) {
    if (exact.count(t.image.id) != 0) t.in_use = true;
    for (const auto* names : {&t.image.tags, &t.image.digests}) {
      for (const std::string& name : *names) {
        if (exact.count(name) != 0 || normalized.count(InUseKey(name)) != 0) t.in_use = true;
      }
    }
  }
}

std::vector<std::string> ImagesOfPods(const std::vector<client::ObjectPtr>& pods) {
  std::vector<std::string> out;
  for (const client::ObjectPtr& pod : pods) {
    if (pod == nullptr) continue;
    if (IsTerminalPhase(client::StringField(client::Field(*pod, "status"), "phase"))) continue;
    const nlohmann::json& spec = client::Field(*pod, "spec");
    for (const char* list : {"initContainers", "containers"}) {
      const nlohmann::json& containers = client::Field(spec, list);
      if (!containers.is_array()) continue;
      for (const nlohmann::json& c : containers) {
        const std::string image = client::StringField(c, "image");
        if (!image.empty()) out.push_back(image);
      }
    }
  }
  return out;
}

std::string ByteText(int64_t bytes) {
  static const char* const kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(bytes);
  size_t unit = 0;
  while (v >= 1024 && unit + 1 < std::size(kUnits)) {
    v /= 1024;
    ++unit;
  }
  char buf[32];
  if (unit == 0 || v >= 100) {
    std::snprintf(buf, sizeof(buf), "%.0f%s", v, kUnits[unit]);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f%s", v, kUnits[unit]);
  }
  return buf;
}

// ---- ImageGcManager --------------------------------------------------------------------------------

ImageGcManager::ImageGcManager(ImageGcManagerOptions options)
    : options_(std::move(options)),
      clock_(options_.clock != nullptr ? options_.clock : Clock::Real()),
      wake_(clock_, &mu_) {}

ImageGcManager::~ImageGcManager() { Stop(); }

Status ImageGcManager::Start() {
  if (options_.driver == nullptr) return Status::Invalid("image gc: no driver");
  CAPSTAN_RETURN_IF_ERROR(options_.policy.Validate());
  std::lock_guard<std::mutex> lock(mu_);
  if (started_ || stopping_) return Status::Invalid("image gc: Start() called twice or after Stop()");
  started_ = true;
  if (!options_.policy.enabled()) {
    log::Info("image garbage collection is off (--image-gc-high-threshold 100)", {{"node", options_.node_name}});
    return Status::Ok();
  }
  try {
    thread_ = std::thread([this] { Loop(); });
  } catch (const std::exception& e) {
    return Status::Unavailable(std::string("image gc: cannot start its thread: ") + e.what());
  }
  return Status::Ok();
}

void ImageGcManager::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

void ImageGcManager::Emit(bool warning, const std::string& reason, const std::string& message) {
  if (options_.event) options_.event(warning, reason, message);
}

void ImageGcManager::Loop() noexcept {
  try {
    std::unique_lock<std::mutex> lock(mu_);
    Clock::TimePoint next = clock_->Now();
    while (!wake_.WaitUntil(lock, next, [this] { return stopping_; })) {
      lock.unlock();
      auto result = RunOnce();
      lock.lock();
      if (result.ok() && !result->ran) return;  // the driver cannot do it: logged once
      next = clock_->Now() + options_.policy.period;
    }
  } catch (const std::exception& e) {
    log::Error("image garbage collection stopped by an exception", {{"node", options_.node_name}, {"error", e.what()}});
  } catch (...) {
    log::Error("image garbage collection stopped by an exception", {{"node", options_.node_name}});
  }
}

Result<ImageGcResult> ImageGcManager::RunOnce() {
  std::lock_guard<std::mutex> run_lock(run_mu_);
  ImageGcResult result;
  RuntimeDriver* const driver = options_.driver;
  auto off = [&](const Status& why) -> Result<ImageGcResult> {
    off_ = true;
    result.why_off = why.message();
    log::Info("image garbage collection is off: the driver cannot do it",
              {{"node", options_.node_name}, {"driver", driver->Name()}, {"reason", why.message()}});
    return result;
  };
  if (off_) return result;
  auto failed = [&](const Status& s) -> Result<ImageGcResult> {
    Emit(true, "ImageGCFailed", "image garbage collection failed: " + s.message());
    log::Warn("image garbage collection failed", {{"node", options_.node_name}, {"error", s.ToString()}});
    return s;
  };

  // The filesystem first: a driver without it costs one call, not a scan of its runs.
  auto fs = driver->ImageFsInfo();
  if (!fs.ok()) {
    if (fs.status().code() == Code::kMethodNotAllowed) return off(fs.status());
    return failed(fs.status().Annotate("reading the image filesystem"));
  }
  // What is in use, then the images: an image pulled after the listing of runs is younger
  // than the pass, and one listed before it is older than any run started before that.
  std::vector<std::string> in_use = options_.pod_images ? options_.pod_images() : std::vector<std::string>{};
  auto runs = driver->ListPods();
  if (!runs.ok()) return failed(runs.status().Annotate("listing the pod runs"));
  for (const PodHandle& run : *runs) {
    auto state = driver->InspectPod(run);
    if (!state.ok()) {
      if (state.status().IsNotFound()) continue;  // removed meanwhile
      return failed(state.status().Annotate("inspecting pod run " + run.id));
    }
    for (const ContainerState& c : state->containers) {
      in_use.push_back(c.image);
      if (!c.image_id.empty()) in_use.push_back(c.image_id);
    }
  }
  auto listed = driver->ListImages();
  if (!listed.ok()) {
    if (listed.status().code() == Code::kMethodNotAllowed) return off(listed.status());
    return failed(listed.status().Annotate("listing images"));
  }
  result.ran = true;

  const Clock::TimePoint now = clock_->Now();
  std::vector<TrackedImage> images;
  images.reserve(listed->size());
  for (ImageInfo& i : *listed) images.push_back(TrackedImage{std::move(i)});
  MarkImagesInUse(images, in_use);
  std::map<std::string, TrackedImage> seen;
  for (TrackedImage& t : images) {
    auto it = tracked_.find(t.image.id);
    t.first_seen = it == tracked_.end() ? now : it->second.first_seen;
    t.last_used = it == tracked_.end() ? std::nullopt : it->second.last_used;
    if (t.in_use) t.last_used = now;
    seen[t.image.id] = t;
  }
  tracked_ = std::move(seen);  // images gone from the runtime are forgotten

  result.plan = PlanImageGc(options_.policy, *fs, std::move(images), now);
  if (!result.plan.triggered) return result;
  log::Info("image filesystem above the high threshold: removing unused images",
            {{"node", options_.node_name},
             {"usage", std::to_string(result.plan.usage_percent) + "%"},
             {"highThreshold", std::to_string(options_.policy.high_threshold_percent) + "%"},
             {"bytesToFree", std::to_string(result.plan.bytes_to_free)},
             {"candidates", std::to_string(result.plan.candidates.size())}});
  for (const ImageInfo& image : result.plan.candidates) {
    if (result.bytes_freed >= result.plan.bytes_to_free) break;
    Status s = Status::Ok();
    bool any_gone = false;  // a tag removed before a refusal is gone all the same
    for (const std::string& tag : image.tags) {
      s = driver->RemoveImage(tag);
      if (!s.ok()) break;
      any_gone = true;
    }
    if (s.ok()) s = driver->RemoveImage(image.id);
    if ((s.ok() || any_gone) && options_.removed) options_.removed(image);
    const std::string name = image.tags.empty() ? image.id : image.tags.front();
    if (!s.ok()) {
      ++result.failed;
      log::Warn("image garbage collection could not remove an image",
                {{"node", options_.node_name}, {"image", name}, {"error", s.ToString()}});
      continue;
    }
    tracked_.erase(image.id);
    result.removed.push_back(image.id);
    result.bytes_freed += std::max<int64_t>(image.size_bytes, 0);
    std::string tags;
    for (const std::string& t : image.tags) tags += (tags.empty() ? "" : ", ") + t;
    Emit(false, "ImageGCRemoved",
         "Removed image " + (tags.empty() ? image.id : tags + " (" + image.id + ")") + ", " +
             ByteText(image.size_bytes) + ", to free disk space: image filesystem " +
             std::to_string(result.plan.usage_percent) + "% used, high threshold " +
             std::to_string(options_.policy.high_threshold_percent) + "%");
    log::Info("image garbage collection removed an image",
              {{"node", options_.node_name}, {"image", name}, {"id", image.id},
               {"bytes", std::to_string(image.size_bytes)}});
  }
  if (result.bytes_freed < result.plan.bytes_to_free) {
    Emit(true, "FreeDiskSpaceFailed",
         "Failed to garbage collect required amount of images. Attempted to free " +
             std::to_string(result.plan.bytes_to_free) + " bytes, but only found " +
             std::to_string(result.bytes_freed) + " bytes eligible to free.");
  }
  return result;
}

}  // namespace capstan::node
