#include "controller/registry/run_report.h"

#include <gtest/gtest.h>

namespace capstan::registry {
namespace {

using json = nlohmann::json;

RunReport Report() {
  RunReport r;
  r.start_time = "2025-01-01T00:00:00Z";
  r.completion_time = "2025-01-01T00:00:05Z";
  r.repositories = 1;
  r.in_use_matched = 2;
  r.plan.scanned = 3;
  r.plan.kept_by_reason = {{"tag-regex", 1}};
  r.plan.to_delete = 1;
  r.plan.to_untag = 1;
  r.plan.bytes_reclaimable = 1234;
  r.plan.decisions = {{"app", "latest", "sha256:a", "", "2024", 10, Action::kKeep, "tag-regex"},
                      {"app", "old", "sha256:b", "", "2023", 20, Action::kDeleteManifest, "no keep rule holds"},
                      {"app", "alias", "sha256:a", "", "2024", 10, Action::kUntag, "digest shared with kept tag latest"}};
  r.execution.results = {{Outcome::kKept, ""}, {Outcome::kDeleted, ""}, {Outcome::kFailed, "HTTP 405 ..."}};
  r.execution.deleted = 1;
  r.execution.failed = 1;
  r.execution.first_error = Status(Code::kMethodNotAllowed, "HTTP 405 ... storage.delete.enabled");
  return r;
}

TEST(RunReportTest, StatusCountsErrorsAndConditions) {
  json status = RunStatus(Report(), "requested", "p-decisions");
  EXPECT_EQ(status["lastRun"]["result"], "PartiallyFailed");
  EXPECT_EQ(status["lastRun"]["trigger"], "requested");
  EXPECT_EQ(status["lastRun"]["inUseMatched"], 2);
  EXPECT_EQ(status["counts"]["kept"], 1);
  EXPECT_EQ(status["counts"]["deleted"], 1);
  EXPECT_EQ(status["counts"]["failed"], 1);
  EXPECT_EQ(status["bytesReclaimable"], 1234);
  ASSERT_EQ(status["errors"].size(), 1u);
  EXPECT_EQ(status["errors"][0]["tag"], "alias");
  EXPECT_EQ(status["conditions"][0]["type"], "Ready");
  EXPECT_EQ(status["conditions"][0]["status"], "False");
  EXPECT_EQ(status["conditions"][1]["type"], "DeletionAllowed");
  EXPECT_EQ(status["conditions"][1]["status"], "False");
  EXPECT_NE(status["conditions"][1]["message"].get<std::string>().find("storage.delete.enabled"), std::string::npos);
}

TEST(RunReportTest, ConfigMapIsOwnedAndListsRemovalsFirst) {
  json policy = {{"metadata", {{"name", "p"}, {"namespace", "ns"}, {"uid", "u-1"}}}};
  json cm = DecisionsConfigMap(policy, Report());
  EXPECT_EQ(cm["metadata"]["name"], "p-decisions");
  EXPECT_EQ(cm["metadata"]["ownerReferences"][0]["uid"], "u-1");
  json rows = json::parse(cm["data"]["decisions.json"].get<std::string>());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0]["tag"], "old");
  EXPECT_EQ(rows[0]["outcome"], "deleted");
  EXPECT_EQ(rows[1]["outcome"], "failed");
  EXPECT_EQ(rows[2]["decision"], "keep");
  EXPECT_EQ(json::parse(cm["data"]["summary.json"].get<std::string>())["truncated"], 0);
}

TEST(RunReportTest, ARunThatCouldNotPlanFailsNamingTheCause) {
  RunReport r;
  r.error = Status(Code::kUnauthorized, "GET http://r/v2/_catalog: HTTP 401");
  json status = RunStatus(r, "schedule", "p-decisions");
  EXPECT_EQ(status["lastRun"]["result"], "Failed");
  EXPECT_EQ(status["conditions"][0]["reason"], "Unauthorized");
}

TEST(RunReportTest, ManagedRegistryWindowIsReported) {
  RunReport r = Report();
  r.execution.failed = 0;
  r.execution.first_error = Status::Ok();
  r.execution.results[2] = {Outcome::kUntagged, ""};
  r.managed_registry = true;
  r.garbage_collection = {true, Status::Ok(), 5000, 3000, 2000, 420, 150};
  json status = RunStatus(r, "requested", "p-decisions");
  EXPECT_EQ(status["lastRun"]["result"], "Succeeded");
  EXPECT_EQ(status["lastRun"]["managedRegistry"], true);
  EXPECT_EQ(status["lastRun"]["bytesReclaimed"], 2000);
  EXPECT_EQ(status["lastRun"]["garbageCollection"]["readOnlyWindowMillis"], 420);
  EXPECT_EQ(status["lastRun"]["garbageCollection"]["result"], "Succeeded");

  // A failed window: the removals stand, the run is PartiallyFailed and says why.
  r.garbage_collection.error = Status::Internal("docker-registry garbage-collect failed: boom");
  status = RunStatus(r, "requested", "p-decisions");
  EXPECT_EQ(status["lastRun"]["result"], "PartiallyFailed");
  EXPECT_EQ(status["lastRun"]["garbageCollection"]["result"], "Failed");
  EXPECT_EQ(status["conditions"][0]["reason"], "GarbageCollectionFailed");
  ASSERT_EQ(status["errors"].size(), 1u);
  EXPECT_NE(status["errors"][0]["message"].get<std::string>().find("boom"), std::string::npos);

  // Another registry: no window fields, only bytesReclaimable.
  r.managed_registry = false;
  r.garbage_collection = {};
  status = RunStatus(r, "requested", "p-decisions");
  EXPECT_FALSE(status["lastRun"].contains("garbageCollection"));
  EXPECT_EQ(status["bytesReclaimable"], 1234);
}

}  // namespace
}  // namespace capstan::registry
