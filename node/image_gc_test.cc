#include "node/image_gc.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "node/fake_driver.h"
#include "node/image_puller.h"

namespace capstan::node {
namespace {

using namespace std::chrono_literals;
using controller::Clock;
using json = nlohmann::json;

constexpr int64_t kMiB = 1024 * 1024;

TrackedImage Tracked(const std::string& tag, int64_t size, Clock::TimePoint first_seen,
                     std::optional<Clock::TimePoint> last_used = std::nullopt, bool in_use = false) {
  TrackedImage t;
  t.image.id = "sha256:" + tag;
  t.image.tags = {tag};
  t.image.size_bytes = size;
  t.first_seen = first_seen;
  t.last_used = last_used;
  t.in_use = in_use;
  return t;
}

// The ids of the images the plan means to remove (the candidates up to the amount to free).
std::vector<std::string> Ids(const ImageGcPlan& plan) {
  std::vector<std::string> out;
  for (size_t i = 0; i < plan.planned; ++i) out.push_back(plan.candidates[i].id);
  return out;
}

// 1000 MiB, `used_percent` of it used.
ImageFsStats Fs(int used_percent) { return ImageFsStats{1000 * kMiB, (100 - used_percent) * 10 * kMiB}; }

TEST(ImageGcPlanTest, BelowTheHighThresholdNothingIsRemoved) {
  const Clock::TimePoint t0{};
  const Clock::TimePoint now = t0 + 1h;
  ImageGcPolicy policy;  // 85 / 80
  ImageGcPlan plan = PlanImageGc(policy, Fs(84), {Tracked("a:1", 100 * kMiB, t0)}, now);
  EXPECT_EQ(plan.usage_percent, 84);
  EXPECT_FALSE(plan.triggered);
  EXPECT_TRUE(plan.candidates.empty());
  plan = PlanImageGc(policy, Fs(85), {Tracked("a:1", 100 * kMiB, t0)}, now);
  EXPECT_TRUE(plan.triggered) << "at the high threshold";
  EXPECT_EQ(plan.bytes_to_free, 50 * kMiB) << "down to the low threshold, 80%";
  EXPECT_EQ(Ids(plan), std::vector<std::string>{"sha256:a:1"});
  // Usage rounds up as the kubelet's: 84.1% used is 85%.
  plan = PlanImageGc(policy, ImageFsStats{1000, 159}, {}, now);
  EXPECT_EQ(plan.usage_percent, 85);
  // 100 disables it whatever the usage.
  policy.high_threshold_percent = 100;
  EXPECT_FALSE(PlanImageGc(policy, Fs(100), {Tracked("a:1", 1, t0)}, now).triggered);
}

TEST(ImageGcPlanTest, RemovesOnlyWhatBringsUsageToTheLowThreshold) {
  const Clock::TimePoint t0{};
  ImageGcPolicy policy;
  // 90% used: 100 MiB to free. Never-used images go first, oldest first seen first.
  std::vector<TrackedImage> images = {Tracked("c:1", 60 * kMiB, t0 + 2s), Tracked("a:1", 60 * kMiB, t0),
                                      Tracked("b:1", 60 * kMiB, t0 + 1s)};
  ImageGcPlan plan = PlanImageGc(policy, Fs(90), images, t0 + 1h);
  EXPECT_EQ(plan.bytes_to_free, 100 * kMiB);
  EXPECT_EQ(Ids(plan), (std::vector<std::string>{"sha256:a:1", "sha256:b:1"}));
  EXPECT_EQ(plan.bytes_planned, 120 * kMiB);
  EXPECT_EQ(plan.candidates.size(), 3u) << "c:1 goes when a removal fails";
}

TEST(ImageGcPlanTest, LeastRecentlyUsedFirstAfterTheNeverUsed) {
  const Clock::TimePoint t0{};
  ImageGcPolicy policy;
  std::vector<TrackedImage> images = {Tracked("used-late:1", 10, t0, t0 + 50min),
                                      Tracked("used-early:1", 10, t0, t0 + 10min),
                                      Tracked("never:1", 10, t0 + 30min)};
  ImageGcPlan plan = PlanImageGc(policy, Fs(99), images, t0 + 1h);
  EXPECT_EQ(Ids(plan), (std::vector<std::string>{"sha256:never:1", "sha256:used-early:1", "sha256:used-late:1"}));
}

TEST(ImageGcPlanTest, NeverAnImageInUsePinnedOrYoungerThanTheMinimumAge) {
  const Clock::TimePoint t0{};
  const Clock::TimePoint now = t0 + 10min;
  ImageGcPolicy policy;
  policy.minimum_age = 5min;
  TrackedImage pinned = Tracked("pause:3.9", 10 * kMiB, t0);
  pinned.image.pinned = true;
  std::vector<TrackedImage> images = {Tracked("running:1", 10 * kMiB, t0, now, /*in_use=*/true), pinned,
                                      Tracked("young:1", 10 * kMiB, now - 4min), Tracked("old:1", 10 * kMiB, now - 6min)};
  ImageGcPlan plan = PlanImageGc(policy, Fs(100), images, now);
  EXPECT_EQ(Ids(plan), std::vector<std::string>{"sha256:old:1"});
  EXPECT_EQ(plan.kept_in_use, 1u);
  EXPECT_EQ(plan.kept_pinned, 1u);
  EXPECT_EQ(plan.kept_young, 1u);
  EXPECT_LT(plan.bytes_planned, plan.bytes_to_free) << "not enough eligible: the manager reports it";
}

TEST(ImageGcPlanTest, ValidateNamesTheFlag) {
  ImageGcPolicy p;
  EXPECT_TRUE(p.Validate().ok());
  p.low_threshold_percent = 85;
  EXPECT_NE(p.Validate().message().find("--image-gc-low-threshold"), std::string::npos);
  p = ImageGcPolicy{};
  p.high_threshold_percent = 101;
  EXPECT_NE(p.Validate().message().find("--image-gc-high-threshold"), std::string::npos);
  p = ImageGcPolicy{};
  p.high_threshold_percent = 100;
  p.low_threshold_percent = 100;
  EXPECT_TRUE(p.Validate().ok()) << "off: the low threshold does not matter";
  p = ImageGcPolicy{};
  p.period = 0ms;
  EXPECT_NE(p.Validate().message().find("--image-gc-period"), std::string::npos);
}

TEST(ImageGcPlanTest, ReferencesMatchTagsDigestsAndIdsAfterNormalising) {
  std::vector<TrackedImage> images(4);
  images[0].image = ImageInfo{"sha256:1", {"busybox:latest"}};
  images[1].image = ImageInfo{"sha256:2", {"registry.local:5000/app:v1"}};
  images[2].image = ImageInfo{"sha256:3", {}, {"docker.io/library/nginx@sha256:abc"}};
  images[3].image = ImageInfo{"sha256:4", {"redis:7"}};
  MarkImagesInUse(images, {"docker.io/library/busybox", "sha256:2", "nginx@sha256:abc"});
  EXPECT_TRUE(images[0].in_use);
  EXPECT_TRUE(images[1].in_use);
  EXPECT_TRUE(images[2].in_use);
  EXPECT_FALSE(images[3].in_use);
}

TEST(ImageGcPlanTest, AReferenceWithTagAndDigestMatchesTheDigest) {
  // A bound Pod of nginx:1.25@sha256:abc protects the image whose digest is nginx@sha256:abc
  // (the tag is dropped, as the kubelet does), and a tag alone still matches tags only.
  std::vector<TrackedImage> images(3);
  images[0].image = ImageInfo{"sha256:1", {"nginx:1.24"}, {"docker.io/library/nginx@sha256:abc"}};
  images[1].image = ImageInfo{"sha256:2", {"localhost:5000/team/app:2"}, {"localhost:5000/team/app@sha256:def"}};
  images[2].image = ImageInfo{"sha256:3", {"nginx:1.25"}, {"docker.io/library/nginx@sha256:other"}};
  MarkImagesInUse(images, {"nginx:1.25@sha256:abc", "localhost:5000/team/app:1@sha256:def"});
  EXPECT_TRUE(images[0].in_use) << "same digest, another tag";
  EXPECT_TRUE(images[1].in_use) << "a registry with a port";
  EXPECT_FALSE(images[2].in_use) << "the tag alone does not match when a digest is given";
}

TEST(ImageGcPlanTest, ImagesOfPodsSkipsTerminalPods) {
  auto pod = [](const std::string& phase, const std::string& image) {
    return std::make_shared<const json>(json{{"spec", {{"initContainers", {{{"name", "i"}, {"image", "init:1"}}}},
                                                       {"containers", {{{"name", "c"}, {"image", image}}}}}},
                                             {"status", {{"phase", phase}}}});
  };
  auto images = ImagesOfPods({pod("Running", "app:1"), pod("Succeeded", "done:1")});
  EXPECT_EQ(images, (std::vector<std::string>{"init:1", "app:1"}));
}

TEST(ImageGcPlanTest, ByteText) {
  EXPECT_EQ(ByteText(512), "512B");
  EXPECT_EQ(ByteText(1536), "1.5KiB");
  EXPECT_EQ(ByteText(300 * kMiB), "300MiB");
}

// ---- The manager against the fake driver ----------------------------------------------------------

struct RecordedEvent {
  bool warning;
  std::string reason, message;
};

class ImageGcManagerTest : public testing::Test {
 protected:
  void SetUp() override {
    driver_ = std::make_unique<FakeDriver>(FakeDriverConfig{}, &clock_);
    options_.driver = driver_.get();
    options_.clock = &clock_;
    options_.node_name = "n1";
    options_.event = [this](bool warning, const std::string& reason, const std::string& message) {
      events_.push_back({warning, reason, message});
    };
  }
  // Starts a pod whose one container runs `image`.
  PodHandle Run(const std::string& uid, const std::string& image) {
    json pod = {{"metadata", {{"uid", uid}, {"namespace", "default"}, {"name", uid}}},
                {"spec", {{"containers", {{{"name", "c"}, {"image", image}}}}}}};
    auto h = driver_->StartPod(pod);
    EXPECT_TRUE(h.ok()) << h.status().ToString();
    return *h;
  }
  std::vector<std::string> Reasons() const {
    std::vector<std::string> out;
    for (const RecordedEvent& e : events_) out.push_back(e.reason);
    return out;
  }

  controller::FakeClock clock_;
  std::unique_ptr<FakeDriver> driver_;
  ImageGcManagerOptions options_;
  std::vector<RecordedEvent> events_;
};

TEST_F(ImageGcManagerTest, RemovesUnusedImagesOldestFirstOnceOldEnough) {
  driver_->SetImageInventory({ImageInfo{"fake://old:1", {"old:1"}, {}, 100 * kMiB},
                              ImageInfo{"fake://app:1", {"app:1"}, {}, 100 * kMiB},
                              ImageInfo{"fake://pending:1", {"pending:1"}, {}, 100 * kMiB}},
                             Fs(95));
  Run("pod-1", "app:1");
  options_.pod_images = [] { return std::vector<std::string>{"pending:1"}; };  // bound, not started yet
  ImageGcManager gc(options_);
  auto first = gc.RunOnce();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->plan.triggered);
  EXPECT_TRUE(first->removed.empty()) << "every image was first seen now: younger than 2m";
  EXPECT_EQ(Reasons(), std::vector<std::string>{"FreeDiskSpaceFailed"});

  clock_.Advance(3min);
  events_.clear();
  auto second = gc.RunOnce();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->removed, std::vector<std::string>{"fake://old:1"});
  EXPECT_EQ(driver_->RemovedImages(), std::vector<std::string>{"fake://old:1"});
  EXPECT_EQ(second->bytes_freed, 100 * kMiB);
  ASSERT_EQ(Reasons(), (std::vector<std::string>{"ImageGCRemoved", "FreeDiskSpaceFailed"}));
  EXPECT_FALSE(events_[0].warning);
  EXPECT_NE(events_[0].message.find("old:1 (fake://old:1), 100MiB"), std::string::npos) << events_[0].message;
  EXPECT_TRUE(events_[1].warning);
  EXPECT_NE(events_[1].message.find("Attempted to free 157286400 bytes, but only found 104857600 bytes"),
            std::string::npos)
      << events_[1].message;
  auto left = driver_->ListImages();
  ASSERT_TRUE(left.ok());
  ASSERT_EQ(left->size(), 2u) << "the running pod's and the bound pod's images stay";
}

TEST_F(ImageGcManagerTest, StopsAtTheLowThresholdAndLeastRecentlyUsedGoesFirst) {
  driver_->SetImageInventory({ImageInfo{"fake://a:1", {"a:1"}, {}, 60 * kMiB},
                              ImageInfo{"fake://b:1", {"b:1"}, {}, 60 * kMiB},
                              ImageInfo{"fake://c:1", {"c:1"}, {}, 60 * kMiB}},
                             Fs(50));
  // b was used until a minute ago; a and c never: they go first (a, then c by id: seen together).
  PodHandle b = Run("pod-b", "b:1");
  ImageGcManager gc(options_);
  ASSERT_TRUE(gc.RunOnce().ok());
  clock_.Advance(5min);
  ASSERT_TRUE(gc.RunOnce().ok());  // b in use, seen in use now
  ASSERT_TRUE(driver_->RemovePod(b).ok());
  driver_->SetImageInventory(*driver_->ListImages(), Fs(90));  // 100 MiB to free
  clock_.Advance(1min);
  auto r = gc.RunOnce();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->removed, (std::vector<std::string>{"fake://a:1", "fake://c:1"}));
  EXPECT_EQ(Reasons(), (std::vector<std::string>{"ImageGCRemoved", "ImageGCRemoved"})) << "enough freed";
}

// The fake's runs, hidden from ListPods: a container of another tool that the agent does not know.
class HiddenRunsDriver final : public RuntimeDriver {
 public:
  explicit HiddenRunsDriver(FakeDriver* d) : d_(d) {}
  const std::string& Name() const override { return d_->Name(); }
  DriverFingerprint Fingerprint() override { return d_->Fingerprint(); }
  Result<PodHandle> StartPod(const json& pod) override { return d_->StartPod(pod); }
  Result<PodState> InspectPod(const PodHandle& h) override { return d_->InspectPod(h); }
  Status StopPod(const PodHandle& h, std::chrono::milliseconds g) override { return d_->StopPod(h, g); }
  Status RemovePod(const PodHandle& h) override { return d_->RemovePod(h); }
  Result<std::vector<PodHandle>> ListPods() override { return std::vector<PodHandle>{}; }
  Result<std::vector<ImageInfo>> ListImages() override { return d_->ListImages(); }
  Status RemoveImage(const std::string& image) override { return d_->RemoveImage(image); }
  Result<ImageFsStats> ImageFsInfo() override { return d_->ImageFsInfo(); }

 private:
  FakeDriver* d_;
};

TEST_F(ImageGcManagerTest, AnImageTheRuntimeRefusesToRemoveIsSkipped) {
  driver_->SetImageInventory({ImageInfo{"fake://a:1", {"a:1"}, {}, 100 * kMiB},
                              ImageInfo{"fake://b:1", {"b:1"}, {}, 100 * kMiB}},
                             Fs(90));
  Run("other-tool", "a:1");
  HiddenRunsDriver hidden(driver_.get());
  options_.driver = &hidden;
  options_.policy.minimum_age = 0ms;
  ImageGcManager gc(options_);
  auto r = gc.RunOnce();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->failed, 1u) << "a:1: CONFLICT";
  EXPECT_EQ(r->removed, std::vector<std::string>{"fake://b:1"});
  EXPECT_EQ(driver_->ListImages()->size(), 1u);
}

TEST_F(ImageGcManagerTest, ThePullerIsToldOfRemovalsSoAPodOfARemovedImagePullsItAgain) {
  // Pod A pulled app:1 and was deleted; the pass removes app:1; pod B of app:1 (IfNotPresent)
  // must pull it again: the runtime's start does not pull.
  driver_->SetImages(true, {});
  driver_->SetImageInventory({}, Fs(95));
  ImagePuller puller(driver_.get());
  auto pod = [](const std::string& uid) {
    return json{{"metadata", {{"uid", uid}, {"namespace", "default"}, {"name", uid}}},
                {"spec", {{"containers", {{{"name", "c"}, {"image", "app:1"}, {"imagePullPolicy", "IfNotPresent"}}}}}}};
  };
  ASSERT_TRUE(puller.Ensure(pod("pod-a"), nullptr).ready);
  ASSERT_EQ(driver_->PullCount(), 1u);
  options_.policy.minimum_age = 0ms;
  std::vector<std::string> told;
  options_.removed = [&](const ImageInfo& image) {
    told.push_back(image.id);
    puller.ImagesRemoved();
  };
  ImageGcManager gc(options_);
  auto r = gc.RunOnce();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->removed, std::vector<std::string>{"fake://app:1"});
  EXPECT_EQ(told, r->removed);
  ASSERT_TRUE(puller.Ensure(pod("pod-b"), nullptr).ready);
  EXPECT_EQ(driver_->PullCount(), 2u) << "the puller still believed app:1 present";
}

TEST_F(ImageGcManagerTest, ARunningContainerKeepsItsImageWhateverItsName) {
  // The container names its image by id: the image is in use all the same.
  driver_->SetImageInventory({ImageInfo{"fake://a:1", {"a:1"}, {}, 100 * kMiB}}, Fs(99));
  Run("by-id", "fake://a:1");
  options_.policy.minimum_age = 0ms;
  ImageGcManager gc(options_);
  auto r = gc.RunOnce();
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->removed.empty());
  EXPECT_EQ(r->plan.kept_in_use, 1u);
}

TEST_F(ImageGcManagerTest, OffWhenTheDriverDoesNotReportItsImageFilesystem) {
  driver_->SetImages(true, {"a:1"});
  ImageGcManager gc(options_);
  auto r = gc.RunOnce();
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->ran);
  EXPECT_NE(r->why_off.find("imageFs"), std::string::npos) << r->why_off;
  EXPECT_TRUE(driver_->RemovedImages().empty());
  EXPECT_TRUE(events_.empty());
}

TEST_F(ImageGcManagerTest, StartRunsAPassAtOnceAndThenEveryPeriod) {
  driver_->SetImageInventory({ImageInfo{"fake://a:1", {"a:1"}, {}, 100 * kMiB}}, Fs(90));
  options_.policy.period = 1min;
  options_.policy.minimum_age = 30s;
  ImageGcManager gc(options_);
  ASSERT_TRUE(gc.Start().ok());
  ASSERT_TRUE(clock_.BlockUntilWaiters(1, 10s));  // the first pass is over: waiting for the next
  EXPECT_TRUE(driver_->RemovedImages().empty()) << "first seen now";
  clock_.Advance(1min);
  for (int i = 0; i < 1000 && driver_->RemovedImages().empty(); ++i) std::this_thread::sleep_for(5ms);
  EXPECT_EQ(driver_->RemovedImages(), std::vector<std::string>{"fake://a:1"});
  gc.Stop();
}

TEST_F(ImageGcManagerTest, ADisabledPolicyStartsNoThreadAndABadOneIsRefused) {
  options_.policy.high_threshold_percent = 100;
  ImageGcManager off(options_);
  EXPECT_TRUE(off.Start().ok());
  options_.policy.high_threshold_percent = 50;
  options_.policy.low_threshold_percent = 60;
  ImageGcManager bad(options_);
  EXPECT_EQ(bad.Start().code(), Code::kInvalid);
}

}  // namespace
}  // namespace capstan::node
