// FakeDriver: configuration parsing, start latency on a FakeClock, failure rate and its seed,
// stop/remove/list, fingerprint and health.
#include "node/fake_driver.h"

#include <algorithm>

#include <gtest/gtest.h>

#include "node/node_test_util.h"

namespace capstan::node {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

json Pod(const std::string& uid, int containers = 1) { return testing::DriverTestPod(uid, containers); }

TEST(FakeDriverConfigTest, DefaultsAndParsing) {
  auto d = FakeDriverConfig::FromJson(nullptr);
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->start_latency, 0ms);
  EXPECT_EQ(d->failure_rate, 0);
  EXPECT_EQ(d->capacity, json({{"cpu", "64"}, {"memory", "256Gi"}, {"pods", "10000"}}));

  auto c = FakeDriverConfig::FromJson(
      {{"startLatencyMs", 250}, {"failureRate", 0.5}, {"capacity", {{"cpu", "8"}, {"pods", 110}}}, {"seed", 7}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->start_latency, 250ms);
  EXPECT_EQ(c->failure_rate, 0.5);
  EXPECT_EQ(c->capacity, json({{"cpu", "8"}, {"memory", "256Gi"}, {"pods", "110"}}));
  EXPECT_EQ(c->seed, 7u);
  EXPECT_FALSE(c->image_fs.has_value());

  auto fs = FakeDriverConfig::FromJson({{"imageFs", {{"capacityBytes", 100}, {"availableBytes", 0}}}});
  ASSERT_TRUE(fs.ok()) << fs.status().ToString();
  ASSERT_TRUE(fs->image_fs.has_value());
  EXPECT_EQ(fs->image_fs->capacity_bytes, 100);
  EXPECT_EQ(fs->image_fs->available_bytes, 0) << "a full disk";
}

TEST(FakeDriverConfigTest, RejectsBadValues) {
  for (const json& bad : {json("x"), json({{"startLatencyMs", -1}}), json({{"startLatencyMs", "1s"}}),
                          json({{"failureRate", 1.5}}), json({{"capacity", {{"cpu", true}}}}),
                          json({{"seed", -3}}), json({{"startLatency", 5}}),
                          json({{"imageFs", {{"capacityBytes", 0}, {"availableBytes", 0}}}}),
                          json({{"imageFs", {{"capacityBytes", 10}, {"availableBytes", 11}}}}),
                          json({{"imageFs", {{"capacityBytes", 10}}}})}) {
    auto r = FakeDriverConfig::FromJson(bad);
    EXPECT_FALSE(r.ok()) << bad.dump();
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalid) << bad.dump();
    }
  }
}

TEST(FakeDriverTest, FingerprintAndHealth) {
  FakeDriver driver;
  EXPECT_EQ(driver.Name(), "fake");
  DriverFingerprint fp = driver.Fingerprint();
  EXPECT_EQ(fp.runtime_version, "fake://1.0");
  EXPECT_EQ(fp.os, "linux");
  EXPECT_FALSE(fp.arch.empty());
  EXPECT_EQ(fp.capacity["pods"], "10000");
  EXPECT_TRUE(fp.healthy);
  driver.SetHealthy(false, "engine down");
  fp = driver.Fingerprint();
  EXPECT_FALSE(fp.healthy);
  EXPECT_EQ(fp.message, "engine down");
}

TEST(FakeDriverTest, RunsBecomeRunningAfterTheLatency) {
  controller::FakeClock clock;
  FakeDriverConfig config;
  config.start_latency = 500ms;
  FakeDriver driver(config, &clock);
  auto h = driver.StartPod(Pod("u1", 2));
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->pod_uid, "u1");
  ASSERT_EQ(h->containers.size(), 2u);
  EXPECT_EQ(h->containers[1].name, "c1");
  EXPECT_NE(h->containers[0].id, h->containers[1].id);

  auto s = driver.InspectPod(*h);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->containers.size(), 2u);
  EXPECT_EQ(s->containers[0].phase, ContainerPhase::kWaiting);
  EXPECT_EQ(s->containers[0].reason, "ContainerCreating");
  EXPECT_FALSE(s->containers[0].ready);
  EXPECT_EQ(s->recheck_after, 500ms);

  clock.Advance(499ms);
  s = driver.InspectPod(*h);
  EXPECT_EQ(s->containers[0].phase, ContainerPhase::kWaiting);
  EXPECT_EQ(s->recheck_after, 1ms);

  clock.Advance(1ms);
  s = driver.InspectPod(*h);
  for (const ContainerState& c : s->containers) {
    EXPECT_EQ(c.phase, ContainerPhase::kRunning);
    EXPECT_TRUE(c.ready);
    EXPECT_TRUE(c.started_at.has_value());
    EXPECT_EQ(c.image, "nginx:1.25");
    EXPECT_EQ(c.image_id, "fake://nginx:1.25");
  }
  EXPECT_EQ(s->recheck_after, 0ms);
}

TEST(FakeDriverTest, FailureRateOneTerminatesWithExitCodeOne) {
  FakeDriverConfig config;
  config.failure_rate = 1;
  FakeDriver driver(config);
  auto h = driver.StartPod(Pod("u1"));
  ASSERT_TRUE(h.ok());
  auto s = driver.InspectPod(*h);
  ASSERT_TRUE(s.ok());
  const ContainerState& c = s->containers[0];
  EXPECT_EQ(c.phase, ContainerPhase::kTerminated);
  EXPECT_EQ(c.exit_code, 1);
  EXPECT_EQ(c.reason, "Error");
  EXPECT_TRUE(c.started_at.has_value());
  EXPECT_TRUE(c.finished_at.has_value());
  EXPECT_FALSE(c.ready);
}

TEST(FakeDriverTest, TheSeedMakesFailuresReproducible) {
  auto outcomes = [](uint64_t seed) {
    FakeDriverConfig config;
    config.failure_rate = 0.5;
    config.seed = seed;
    FakeDriver driver(config);
    std::string out;
    for (int i = 0; i < 64; ++i) {
      auto h = driver.StartPod(Pod("u" + std::to_string(i)));
      auto s = driver.InspectPod(*h);
      out += s->containers[0].phase == ContainerPhase::kTerminated ? 'F' : 'R';
    }
    return out;
  };
  const std::string a = outcomes(42);
  EXPECT_EQ(a, outcomes(42));
  EXPECT_NE(a, outcomes(43));
  const auto failures = std::count(a.begin(), a.end(), 'F');
  EXPECT_GT(failures, 10);
  EXPECT_LT(failures, 54);
}

TEST(FakeDriverTest, StopRemoveAndList) {
  FakeDriver driver;
  auto a = driver.StartPod(Pod("a"));
  auto b = driver.StartPod(Pod("b"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->id, b->id);
  EXPECT_EQ(driver.PodCount(), 2u);
  EXPECT_EQ(driver.Starts(), 2u);

  ASSERT_TRUE(driver.StopPod(*a, 30s).ok());
  auto s = driver.InspectPod(*a);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->containers[0].phase, ContainerPhase::kTerminated);
  EXPECT_EQ(s->containers[0].exit_code, 0);
  EXPECT_EQ(s->containers[0].reason, "Completed");

  auto list = driver.ListPods();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  ASSERT_TRUE(driver.RemovePod(*a).ok());
  ASSERT_TRUE(driver.RemovePod(*a).ok());  // idempotent
  EXPECT_EQ(driver.InspectPod(*a).status().code(), Code::kNotFound);
  EXPECT_EQ(driver.StopPod(*a, 0ms).code(), Code::kNotFound);
  list = driver.ListPods();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].pod_uid, "b");
  EXPECT_EQ((*list)[0].pod_name, "web-b");
}

TEST(FakeDriverTest, RejectsPodsWithoutUidOrContainers) {
  FakeDriver driver;
  json no_uid = Pod("x");
  no_uid["metadata"].erase("uid");
  EXPECT_EQ(driver.StartPod(no_uid).status().code(), Code::kInvalid);
  json no_containers = Pod("y");
  no_containers["spec"]["containers"] = json::array();
  EXPECT_EQ(driver.StartPod(no_containers).status().code(), Code::kInvalid);
  EXPECT_EQ(driver.PodCount(), 0u);
}

}  // namespace
}  // namespace capstan::node
