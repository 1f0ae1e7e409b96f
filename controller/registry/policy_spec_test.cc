#include "controller/registry/policy_spec.h"

#include <gtest/gtest.h>

#include "api/kinds/printing.h"

namespace capstan::registry {
namespace {

using json = nlohmann::json;

json Policy(json spec, json status = json::object(), json annotations = json::object()) {
  return {{"metadata", {{"name", "p"}, {"namespace", "default"}, {"creationTimestamp", "2025-01-15T10:30:00Z"},
                        {"annotations", annotations}}},
          {"spec", spec},
          {"status", status}};
}

const json kRegistry = {{"url", "http://127.0.0.1:5000"}};

int64_t T(const char* rfc3339) { return *api::kinds::ParseRfc3339(rfc3339); }

TEST(PolicySpecTest, ParsesEveryField) {
  json policy = Policy({{"registry", {{"url", "https://r.example.com"}, {"credentialsSecret", "auth"},
                                      {"insecureSkipTLSVerify", true}}},
                        {"repositories", {{"include", {"app/*"}}, {"exclude", {"app/tmp"}}}},
                        {"keep", {{"tags", {"^latest$"}}, {"newest", 5}, {"newerThan", "720h"}, {"inUse", false}}},
                        {"schedule", "0 3 * * *"},
                        {"dryRun", true},
                        {"concurrency", 3}});
  Result<CleanupSpec> spec = ParseCleanupSpec(policy);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->url, "https://r.example.com");
  EXPECT_EQ(spec->credentials_secret, "auth");
  EXPECT_TRUE(spec->insecure_skip_tls_verify);
  EXPECT_EQ(spec->scan.include, std::vector<std::string>{"app/*"});
  EXPECT_EQ(spec->scan.concurrency, 3);
  EXPECT_EQ(spec->retention.keep_tags.size(), 1u);
  EXPECT_EQ(spec->retention.keep_newest, 5);
  EXPECT_EQ(spec->retention.newer_than_seconds, 720 * 3600);
  EXPECT_FALSE(spec->retention.keep_in_use);
  EXPECT_TRUE(spec->schedule.has_value());
  EXPECT_TRUE(spec->dry_run);
}

TEST(PolicySpecTest, BadFieldsAreNamed) {
  for (const auto& [spec, field] : std::vector<std::pair<json, std::string>>{
           {{{"registry", kRegistry}, {"keep", {{"tags", {"("}}}}}, "spec.keep.tags[0]"},
           {{{"registry", kRegistry}, {"keep", {{"newerThan", "2w"}}}}, "spec.keep.newerThan"},
           {{{"registry", kRegistry}, {"schedule", "* *"}}, "spec.schedule"},
           {{{"registry", kRegistry}, {"schedule", "@daily"}, {"interval", "1h"}}, "spec.interval"},
           {{{"registry", json::object()}}, "spec.registry.url"}}) {
    Result<CleanupSpec> parsed = ParseCleanupSpec(Policy(spec));
    ASSERT_FALSE(parsed.ok()) << spec.dump();
    EXPECT_NE(parsed.status().message().find(field), std::string::npos) << parsed.status().message();
  }
}

TEST(PolicySpecTest, ScheduleRunsWhenDueSinceTheLastRunOrCreation) {
  json spec = {{"registry", kRegistry}, {"schedule", "0 3 * * *"}};
  CleanupSpec parsed = *ParseCleanupSpec(Policy(spec));
  RunDecision d = DecideRun(parsed, Policy(spec), T("2025-01-16T02:59:00Z"));
  EXPECT_FALSE(d.run_now);
  EXPECT_EQ(d.next_run, T("2025-01-16T03:00:00Z"));
  d = DecideRun(parsed, Policy(spec), T("2025-01-16T03:00:30Z"));
  EXPECT_TRUE(d.run_now);
  EXPECT_EQ(d.trigger, "schedule");
  EXPECT_EQ(d.next_run, T("2025-01-17T03:00:00Z"));
  json ran = {{"lastRun", {{"startTime", "2025-01-16T03:00:01Z"}}}};
  EXPECT_FALSE(DecideRun(parsed, Policy(spec, ran), T("2025-01-16T03:05:00Z")).run_now);
  // Missed several: one catch-up run.
  EXPECT_TRUE(DecideRun(parsed, Policy(spec, ran), T("2025-01-20T12:00:00Z")).run_now);
}

TEST(PolicySpecTest, IntervalRunsAtCreationThenEveryInterval) {
  json spec = {{"registry", kRegistry}, {"interval", "1h"}};
  CleanupSpec parsed = *ParseCleanupSpec(Policy(spec));
  EXPECT_TRUE(DecideRun(parsed, Policy(spec), T("2025-01-15T10:30:05Z")).run_now);
  json ran = {{"lastRun", {{"startTime", "2025-01-15T10:30:05Z"}}}};
  RunDecision d = DecideRun(parsed, Policy(spec, ran), T("2025-01-15T11:00:00Z"));
  EXPECT_FALSE(d.run_now);
  EXPECT_EQ(d.next_run, T("2025-01-15T11:30:05Z"));
}

TEST(PolicySpecTest, RequestedAtRunsOnceAndSuspendStopsEverything) {
  json spec = {{"registry", kRegistry}};
  CleanupSpec parsed = *ParseCleanupSpec(Policy(spec));
  json ask = {{kRequestedAtAnnotation, "2025-01-15T11:00:00.123Z"}};
  RunDecision d = DecideRun(parsed, Policy(spec, json::object(), ask), T("2025-01-15T11:00:01Z"));
  EXPECT_TRUE(d.run_now);
  EXPECT_EQ(d.trigger, "requested");
  EXPECT_EQ(d.next_run, 0);
  json handled = {{"lastHandledRequest", "2025-01-15T11:00:00.123Z"}};
  EXPECT_FALSE(DecideRun(parsed, Policy(spec, handled, ask), T("2025-01-15T11:00:02Z")).run_now);
  parsed.suspend = true;
  EXPECT_FALSE(DecideRun(parsed, Policy(spec, json::object(), ask), T("2025-01-15T11:00:01Z")).run_now);
}

}  // namespace
}  // namespace capstan::registry
