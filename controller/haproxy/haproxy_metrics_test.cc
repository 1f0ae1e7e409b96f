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

}  // namespace
}  // namespace capstan::controller::haproxy
