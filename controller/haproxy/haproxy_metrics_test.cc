#include "controller/haproxy/haproxy_metrics.h"

#include <gtest/gtest.h>

namespace capstan::controller::haproxy {
namespace {

bool Has(const std::string& text, const std::string& line) { return text.find(line + "\n") != std::string::npos; }

TEST(HaproxyMetricsTest, AppliesCountReloadsByResultAndRuntimeUpdates) {
  metrics::Registry registry;
  HaproxyMetrics m(&registry, "");
  std::string text = registry.Render();
  // Every result is there from the start, at 0, so a rate() over it is defined.
  EXPECT_TRUE(Has(text, "capstan_haproxy_reloads_total{result=\"failed\"} 0")) << text;
  ApplyResult ok;
  ok.reloaded = true;
  m.RecordApply(ok, std::chrono::milliseconds(3));
  ApplyResult runtime;
  runtime.runtime_updates = 4;
  m.RecordApply(runtime, std::chrono::milliseconds(1));
  ApplyResult rejected;
  rejected.status = Status::Invalid("haproxy -c refused the configuration");
  rejected.blamed = {"Service default/web"};
  m.RecordApply(rejected, std::chrono::milliseconds(40));
  ApplyResult failed;
  failed.status = Status::Invalid("reload failed");
  failed.reload_failed = true;
  failed.blamed = {"Service default/web"};
  m.RecordApply(failed, std::chrono::seconds(2));
  m.RecordRestart();
  text = registry.Render();
  EXPECT_TRUE(Has(text, "capstan_haproxy_reloads_total{result=\"ok\"} 1")) << text;
  EXPECT_TRUE(Has(text, "capstan_haproxy_reloads_total{result=\"rejected\"} 1")) << text;
  EXPECT_TRUE(Has(text, "capstan_haproxy_reloads_total{result=\"failed\"} 1")) << text;
  EXPECT_TRUE(Has(text, "capstan_haproxy_runtime_updates_total 4")) << text;
  EXPECT_TRUE(Has(text, "capstan_haproxy_restarts_total 1")) << text;
  EXPECT_TRUE(Has(text, "capstan_haproxy_render_duration_seconds_count 4")) << text;
  EXPECT_TRUE(Has(text, "capstan_haproxy_render_duration_seconds_bucket{le=\"0.001\"} 1")) << text;
  EXPECT_TRUE(Has(text, "capstan_haproxy_render_duration_seconds_bucket{le=\"0.05\"} 3")) << text;
  EXPECT_TRUE(Has(text, "capstan_haproxy_render_duration_seconds_bucket{le=\"+Inf\"} 4")) << text;
}

TEST(HaproxyMetricsTest, AnUnreachableHaproxyIsDownWithoutWorkers) {
  metrics::Registry registry;
  {
    HaproxyMetrics m(&registry, "/nonexistent/master.sock", std::chrono::milliseconds(200));
    const std::string text = registry.Render();
    EXPECT_TRUE(Has(text, "capstan_haproxy_up 0")) << text;
    EXPECT_EQ(text.find("capstan_haproxy_workers{"), std::string::npos) << text;
  }
  // Gone: its collector no longer runs (the value stays as last collected).
  EXPECT_TRUE(Has(registry.Render(), "capstan_haproxy_up 0"));
}

TEST(HaproxyMetricsTest, ServersCountOnlySlotsHoldingAnEndpoint) {
  auto row = [](const std::string& server, const std::string& status, const std::string& addr) {
    ServerStat s;
    s.backend = "default_web_80";
    s.server = server;
    s.status = status;
    s.address = addr;
    return s;
  };
  const std::vector<ServerStat> stats = {row("s1", "UP", "127.0.0.1:20001"), row("s2", "UP 1/3", "127.0.0.1:20002"),
                                         row("s3", "MAINT", "127.0.0.1:20003"),  // vacated: its endpoint left
                                         row("s4", "MAINT", "127.0.0.1:20004"),  // a drained, terminating Pod
                                         row("s5", "no check", "127.0.0.1:20005"), row("s6", "MAINT", "0.0.0.0:0")};
  const SlotSet slots = {{"default_web_80", "s1"}, {"default_web_80", "s2"}, {"default_web_80", "s4"},
                         {"default_web_80", "s5"}, {"default_web_80", "s6"}};
  const auto counted = CountServersByState(stats, &slots);
  EXPECT_EQ(counted.at("UP"), 3);
  EXPECT_EQ(counted.at("MAINT"), 1);
  EXPECT_EQ(counted.at("DOWN"), 0);
  EXPECT_EQ(counted.at("DRAIN"), 0);
  EXPECT_EQ(CountServersByState(stats, nullptr).at("MAINT"), 2);  // no model yet: every filled slot
}

}  // namespace
}  // namespace capstan::controller::haproxy
