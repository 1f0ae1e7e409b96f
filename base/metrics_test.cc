#include "base/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>
#include <vector>

namespace capstan::metrics {
namespace {

TEST(MetricsTest, CountersAndGaugesRenderInTheTextFormat) {
  Registry r;
  auto& requests = r.Counter("apiserver_request_total", "Requests by verb and code.", {"verb", "code"});
  requests.With({"GET", "200"}).Inc();
  requests.With({"GET", "200"}).Inc(2);
  requests.With({"LIST", "404"}).Inc();
  requests.With({"GET", "200"}).Inc(-5);  // counters never go down
  r.Gauge("haproxy_up", "1 when the master answers.").With().Set(1);
  EXPECT_EQ(r.Render(),
            "# HELP apiserver_request_total Requests by verb and code.\n"
            "# TYPE apiserver_request_total counter\n"
            "apiserver_request_total{verb=\"GET\",code=\"200\"} 3\n"
            "apiserver_request_total{verb=\"LIST\",code=\"404\"} 1\n"
            "# HELP haproxy_up 1 when the master answers.\n"
            "# TYPE haproxy_up gauge\n"
            "haproxy_up 1\n");
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Registry r;
  auto& h = r.Histogram("render_seconds", "Render time.", {}, {0.25, 0.5, 1});
  h.With().Observe(0.125);
  h.With().Observe(0.25);  // on a bound: counted in that bucket (le)
  h.With().Observe(0.75);
  h.With().Observe(7);
  EXPECT_EQ(r.Render(),
            "# HELP render_seconds Render time.\n"
            "# TYPE render_seconds histogram\n"
            "render_seconds_bucket{le=\"0.25\"} 2\n"
            "render_seconds_bucket{le=\"0.5\"} 2\n"
            "render_seconds_bucket{le=\"1\"} 3\n"
            "render_seconds_bucket{le=\"+Inf\"} 4\n"
            "render_seconds_sum 8.125\n"
            "render_seconds_count 4\n");
}

TEST(MetricsTest, LabeledHistogramPutsLeLast) {
  Registry r;
  r.Histogram("d", "h", {"verb"}, {1}).With({"GET"}).Observe(2);
  const std::string text = r.Render();
  EXPECT_NE(text.find("d_bucket{verb=\"GET\",le=\"1\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_bucket{verb=\"GET\",le=\"+Inf\"} 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("d_count{verb=\"GET\"} 1\n"), std::string::npos) << text;
}

TEST(MetricsTest, EscapingAndValues) {
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(FormatValue(3), "3");
  EXPECT_EQ(FormatValue(0.25), "0.25");
  EXPECT_EQ(FormatValue(0.1), "0.1");
  EXPECT_EQ(FormatValue(-2), "-2");
  EXPECT_EQ(FormatValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatValue(NAN), "NaN");
  Registry r;
  r.Gauge("g", "line one\nback\\slash", {"path"}).With({"/a\"b"}).Set(1.5);
  EXPECT_EQ(r.Render(), "# HELP g line one\\nback\\\\slash\n# TYPE g gauge\ng{path=\"/a\\\"b\"} 1.5\n");
}

TEST(MetricsTest, SameNameSameShapeIsOneFamilyAClashIsDetached) {
  Registry r;
  auto& a = r.Counter("c", "h", {"x"});
  auto& b = r.Counter("c", "h", {"x"});
  EXPECT_EQ(&a, &b);
  auto& other_labels = r.Counter("c", "h", {"y"});
  EXPECT_NE(&other_labels, &a);
  other_labels.With({"1"}).Inc();
  auto& other_type = r.Gauge("c", "h", {"x"});
  other_type.With({"1"}).Set(9);
  a.With({"2"}).Inc();
  EXPECT_EQ(r.Render(), "# HELP c h\n# TYPE c counter\nc{x=\"2\"} 1\n");
}

TEST(MetricsTest, WithFitsValuesToTheLabelNames) {
  Registry r;
  auto& f = r.Counter("c", "h", {"a", "b"});
  f.With({"1"}).Inc();
  f.With({"1", "2", "3"}).Inc();
  EXPECT_EQ(r.Render(), "# HELP c h\n# TYPE c counter\nc{a=\"1\",b=\"\"} 1\nc{a=\"1\",b=\"2\"} 1\n");
}

TEST(MetricsTest, CollectorsRunAtRenderUntilRemoved) {
  Registry r;
  auto& g = r.Gauge("servers", "Servers by state.", {"state"});
  int runs = 0;
  const int id = r.AddCollector([&] {
    ++runs;
    g.Clear();
    g.With({runs == 1 ? "UP" : "DOWN"}).Set(runs);
  });
  EXPECT_NE(r.Render().find("servers{state=\"UP\"} 1\n"), std::string::npos);
  const std::string second = r.Render();
  EXPECT_EQ(second.find("UP"), std::string::npos) << second;
  EXPECT_NE(second.find("servers{state=\"DOWN\"} 2\n"), std::string::npos) << second;
  r.RemoveCollector(id);
  r.Render();
  EXPECT_EQ(runs, 2);
}

TEST(MetricsTest, ConcurrentIncrementsAreAllCounted) {
  Registry r;
  auto& c = r.Counter("c", "h", {"t"});
  auto& h = r.Histogram("h", "h", {}, DurationBuckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10000; ++i) {
        c.With({std::to_string(t % 2)}).Inc();
        h.With().Observe(0.002);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.With({"0"}).Value() + c.With({"1"}).Value(), 40000);
  EXPECT_EQ(h.With().Count(), 40000u);
  EXPECT_NEAR(h.With().Sum(), 80, 1e-6);
}

}  // namespace
}  // namespace capstan::metrics
