#include "node/image_puller.h"

#include <gtest/gtest.h>

#include "controller/runtime/clock.h"
#include "node/fake_driver.h"

namespace capstan::node {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

json Pod(const std::string& image, const std::string& policy) {
  return {{"metadata", {{"name", "p"}, {"namespace", "default"}, {"uid", "uid-1"}}},
          {"spec", {{"containers", json::array({{{"name", "c"}, {"image", image}, {"imagePullPolicy", policy}}})}}}};
}

// NormalizeImageRef is plugins/common/image_ref_test.cc's.
TEST(ImageRefTest, FindsTheRegistry) {
  EXPECT_EQ(ImageRegistry("busybox"), "docker.io");
  EXPECT_EQ(ImageRegistry("localhost:5000/app"), "localhost:5000");
  EXPECT_EQ(ImageRegistry("reg.example.com/a/b:1"), "reg.example.com");
}

TEST(ImageRefTest, FindsCredentialsForTheImagesRegistry) {
  json config = {{"auths",
                  {{"https://index.docker.io/v1/", {{"auth", "dTpw"}}},  // u:p
                   {"reg.example.com", {{"username", "bob"}, {"password", "pw"}}}}}};
  auto hub = AuthForRegistry(config, "docker.io");
  ASSERT_TRUE(hub.has_value());
  EXPECT_EQ(hub->username, "u");
  EXPECT_EQ(hub->password, "p");
  auto reg = AuthForRegistry(config, "reg.example.com");
  ASSERT_TRUE(reg.has_value());
  EXPECT_EQ(reg->username, "bob");
  EXPECT_FALSE(AuthForRegistry(config, "other.example.com").has_value());
}

TEST(ImagePullerTest, DriversWithoutImagesAreNeverAsked) {
  FakeDriver driver;
  ImagePuller puller(&driver);
  EXPECT_TRUE(puller.Ensure(Pod("anything", "Always"), nullptr).ready);
  EXPECT_EQ(driver.PullCount(), 0u);
}

TEST(ImagePullerTest, FollowsThePullPolicy) {
  FakeDriver driver;
  driver.SetImages(true, {"docker.io/library/redis:7"});
  ImagePuller puller(&driver);
  EXPECT_TRUE(puller.Ensure(Pod("redis:7", "IfNotPresent"), nullptr).ready);
  EXPECT_EQ(driver.PullCount(), 0u) << "present under another spelling";
  EXPECT_TRUE(puller.Ensure(Pod("redis:7", "Always"), nullptr).ready);
  EXPECT_EQ(driver.PullCount(), 1u);
  auto never = puller.Ensure(Pod("nginx:1", "Never"), nullptr);
  EXPECT_FALSE(never.ready);
  EXPECT_EQ(never.reason, "ErrImageNeverPull");
  EXPECT_TRUE(puller.Ensure(Pod("nginx:1", "IfNotPresent"), nullptr).ready);
  EXPECT_EQ(driver.PullCount(), 2u);
  EXPECT_TRUE(puller.Ensure(Pod("nginx:1", "IfNotPresent"), nullptr).ready);
  EXPECT_EQ(driver.PullCount(), 2u) << "pulled once";
}

TEST(ImagePullerTest, FailedPullsBackOffDoublingThenRecover) {
  controller::FakeClock clock;
  FakeDriver driver;
  driver.SetImages(true, {}, {{"app:1", "manifest unknown"}});
  ImagePuller puller(&driver, ImagePullerOptions{10s, 40s, 2s, &clock});
  auto first = puller.Ensure(Pod("app:1", "IfNotPresent"), nullptr);
  EXPECT_FALSE(first.ready);
  EXPECT_EQ(first.reason, "ErrImagePull");
  EXPECT_EQ(first.message, "manifest unknown");
  EXPECT_EQ(first.retry_after, 10s);
  auto waiting = puller.Ensure(Pod("app:1", "IfNotPresent"), nullptr);
  EXPECT_EQ(waiting.reason, "ImagePullBackOff");
  EXPECT_EQ(driver.PullCount(), 1u) << "no pull during the back-off";
  clock.Advance(10s);
  EXPECT_EQ(puller.Ensure(Pod("app:1", "IfNotPresent"), nullptr).retry_after, 20s);
  clock.Advance(20s);
  EXPECT_EQ(puller.Ensure(Pod("app:1", "IfNotPresent"), nullptr).retry_after, 40s);
  clock.Advance(40s);
  EXPECT_EQ(puller.Ensure(Pod("app:1", "IfNotPresent"), nullptr).retry_after, 40s) << "capped";
  driver.SetImages(true, {}, {});
  clock.Advance(40s);
  EXPECT_TRUE(puller.Ensure(Pod("app:1", "IfNotPresent"), nullptr).ready);
}

TEST(ImagePullerTest, AnImageRemovedBehindItIsPulledAgainOnceTold) {
  FakeDriver driver;
  driver.SetImages(true, {});
  ImagePuller puller(&driver);
  ASSERT_TRUE(puller.Ensure(Pod("app:1", "IfNotPresent"), nullptr).ready);
  EXPECT_EQ(driver.PullCount(), 1u);
  ASSERT_TRUE(driver.RemoveImage("app:1").ok());  // the image GC
  puller.ImagesRemoved();
  ASSERT_TRUE(puller.Ensure(Pod("app:1", "IfNotPresent"), nullptr).ready);
  EXPECT_EQ(driver.PullCount(), 2u) << "taken as present from the puller's memory: the start would fail";
  ASSERT_TRUE(puller.Ensure(Pod("app:1", "IfNotPresent"), nullptr).ready);
  EXPECT_EQ(driver.PullCount(), 2u) << "present again";
}

TEST(ImagePullerTest, PassesTheMatchingPullSecret) {
  FakeDriver driver;
  driver.SetImages(true, {});
  ImagePuller puller(&driver);
  auto secrets = [](const json&) {
    return std::vector<json>{{{"auths", {{"reg.example.com", {{"username", "bob"}, {"password", "pw"}}}}}}};
  };
  ASSERT_TRUE(puller.Ensure(Pod("reg.example.com/app:1", "IfNotPresent"), secrets).ready);
  ASSERT_TRUE(driver.LastPullAuth().has_value());
  EXPECT_EQ(driver.LastPullAuth()->username, "bob");
  ASSERT_TRUE(puller.Ensure(Pod("docker.io/app:1", "IfNotPresent"), secrets).ready);
  EXPECT_FALSE(driver.LastPullAuth().has_value()) << "no secret for docker.io";
}

}  // namespace
}  // namespace capstan::node
