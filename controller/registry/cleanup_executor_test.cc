// The scanner and the executor against a real docker-registry started by the test.
#include "controller/registry/cleanup_executor.h"

#include <gtest/gtest.h>

#include <set>

#include "controller/registry/inventory_scanner.h"
#include "controller/registry/testing/image_pusher.h"
#include "controller/registry/testing/registry_process.h"

namespace capstan::registry {
namespace {

using testing::ImageSpec;
using testing::PushedImage;
using testing::RegistryProcess;


constexpr int64_t kNow = 1'735'689'600;  // 2025-01-01T00:00:00Z

class CleanupExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::RegistryBinary().empty()) GTEST_SKIP() << "docker-registry is not installed";
    ASSERT_TRUE(registry_.Start({})) << registry_.error();
    RegistryClientOptions options;
    options.initial_backoff = std::chrono::milliseconds(50);
    client_ = std::move(RegistryClient::Create({registry_.url(), "", "", "", false}, options)).value();
  }
  PushedImage Push(const std::string& repo, const std::string& tag, const std::string& created, bool oci = false,
                   const std::string& arch = "amd64") {
    Result<PushedImage> image = testing::PushImage(*client_, repo, tag, {created, repo + tag, oci, arch});
    EXPECT_TRUE(image.ok()) << image.status().ToString();
    return image.ok() ? *image : PushedImage{};
  }
  Plan Scan(const RetentionPolicy& policy, const InUseSet& in_use = {}) {
    Result<Inventory> inventory = ScanRegistry(*client_, {});
    EXPECT_TRUE(inventory.ok()) << inventory.status().ToString();
    return PlanRetention(*inventory, policy, in_use, kNow);
  }
  std::string DigestOf(const std::string& repo, const std::string& tag) {
    Result<ManifestRef> head = client_->HeadManifest(repo, tag);
    return head.ok() ? head->digest : "";
  }

  RegistryProcess registry_;
  std::unique_ptr<RegistryClient> client_;
};

TEST_F(CleanupExecutorTest, ScanReadsCreatedSizesAndIndexChildren) {
  PushedImage amd = Push("app", "amd", "2024-03-01T00:00:00Z");
  PushedImage arm = Push("app", "arm", "2024-05-01T00:00:00.5+02:00", true, "arm64");
  ASSERT_TRUE(testing::PushIndex(*client_, "app", "multi", {amd, arm}, true).ok());
  Push("app", "nodate", "");
  Result<Inventory> inventory = ScanRegistry(*client_, {.include = {"app"}, .exclude = {}, .concurrency = 4});
  ASSERT_TRUE(inventory.ok()) << inventory.status().ToString();
  ASSERT_EQ(inventory->repositories.size(), 1u);
  const RepositoryInventory& repo = inventory->repositories[0];
  EXPECT_EQ(repo.tags.size(), 4u);
  const ImageInfo& index = repo.images.at(DigestOf("app", "multi"));
  EXPECT_TRUE(index.is_index);
  EXPECT_EQ(index.children, (std::vector<std::string>{amd.digest, arm.digest}));
  EXPECT_EQ(index.created, "2024-05-01T00:00:00.5+02:00");  // the newest child's
  EXPECT_EQ(index.size, amd.size + arm.size);
  EXPECT_EQ(repo.images.at(amd.digest).size, amd.size);
  EXPECT_FALSE(repo.images.at(DigestOf("app", "nodate")).created_seconds.has_value());
}

TEST_F(CleanupExecutorTest, DeletesByDigestAndUntagsWhenAKeptTagSharesTheDigest) {
  PushedImage shared = Push("app", "v1.0.0", "2023-01-01T00:00:00Z");
  ASSERT_TRUE(testing::Tag(*client_, "app", "old-build", shared).ok());
  PushedImage stale = Push("app", "stale", "2023-01-01T00:00:00Z");
  ASSERT_TRUE(testing::Tag(*client_, "app", "stale-too", stale).ok());
  PushedImage fresh = Push("app", "fresh", "2024-12-30T00:00:00Z");

  RetentionPolicy policy;
  policy.keep_tags = {std::regex(R"(^v\d+\.\d+\.\d+$)")};
  policy.newer_than_seconds = 7 * 86400;
  Plan plan = Scan(policy);
  EXPECT_EQ(plan.to_untag, 1);
  EXPECT_EQ(plan.to_delete, 2);
  ExecutionResult result = ExecutePlan(*client_, plan, {.concurrency = 4});
  EXPECT_TRUE(result.first_error.ok()) << result.first_error.ToString();
  EXPECT_EQ(result.untagged, 1);
  EXPECT_EQ(result.deleted, 2);
  EXPECT_EQ(result.manifests_deleted, 1);  // both stale tags went with one DELETE

  EXPECT_EQ(DigestOf("app", "v1.0.0"), shared.digest);  // the kept tag still resolves, same digest
  EXPECT_EQ(DigestOf("app", "fresh"), fresh.digest);
  for (const char* gone : {"old-build", "stale", "stale-too"}) EXPECT_EQ(DigestOf("app", gone), "") << gone;
  Result<std::vector<std::string>> tags = client_->Tags("app");
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(std::set<std::string>(tags->begin(), tags->end()), (std::set<std::string>{"fresh", "v1.0.0"}));
}

TEST_F(CleanupExecutorTest, ChildrenOfAKeptIndexStayResolvable) {
  PushedImage amd = Push("app", "amd-2023", "2023-01-01T00:00:00Z");
  PushedImage arm = Push("app", "arm-2023", "2023-01-01T00:00:00Z", false, "arm64");
  Result<PushedImage> list = testing::PushIndex(*client_, "app", "latest", {amd, arm}, false);
  ASSERT_TRUE(list.ok());
  Result<PushedImage> old_index = testing::PushIndex(*client_, "app", "old-oci", {amd}, true);
  ASSERT_TRUE(old_index.ok());
  RetentionPolicy policy;
  policy.keep_tags = {std::regex("latest")};
  ExecutionResult result = ExecutePlan(*client_, Scan(policy));
  EXPECT_TRUE(result.first_error.ok()) << result.first_error.ToString();
  EXPECT_EQ(DigestOf("app", "latest"), list->digest);
  EXPECT_EQ(DigestOf("app", "amd-2023"), amd.digest);
  EXPECT_EQ(DigestOf("app", "arm-2023"), arm.digest);
  EXPECT_EQ(DigestOf("app", "old-oci"), "");
  EXPECT_TRUE(client_->HeadManifest("app", amd.digest).ok());
}

TEST_F(CleanupExecutorTest, ATagMovedSincePlanningIsSkipped) {
  Push("app", "moving", "2023-01-01T00:00:00Z");
  Push("app", "old", "2023-01-01T00:00:01Z");
  Plan plan = Scan(RetentionPolicy{});
  ASSERT_EQ(plan.to_delete, 2);
  PushedImage moved = Push("app", "moving", "2024-12-31T00:00:00Z");  // a new push between plan and apply
  ExecutionResult result = ExecutePlan(*client_, plan);
  EXPECT_EQ(result.skipped, 1);
  EXPECT_EQ(result.deleted, 1);
  EXPECT_EQ(DigestOf("app", "moving"), moved.digest);
  EXPECT_EQ(DigestOf("app", "old"), "");
}

TEST_F(CleanupExecutorTest, ATagPutOnThePlannedDigestSincePlanningSavesTheManifest) {
  PushedImage old = Push("app", "old", "2023-01-01T00:00:00Z");
  Push("app", "older", "2022-01-01T00:00:00Z");
  Plan plan = Scan(RetentionPolicy{});
  ASSERT_EQ(plan.to_delete, 2);
  ASSERT_TRUE(testing::Tag(*client_, "app", "release", old).ok());  // a new tag on the planned digest
  ExecutionResult result = ExecutePlan(*client_, plan, {.concurrency = 2});
  EXPECT_TRUE(result.first_error.ok()) << result.first_error.ToString();
  EXPECT_EQ(result.skipped, 1);
  EXPECT_EQ(result.deleted, 1);
  for (size_t i = 0; i < plan.decisions.size(); ++i) {
    if (plan.decisions[i].tag == "old") {
      EXPECT_EQ(result.results[i].outcome, Outcome::kSkippedMoved);
    }
  }
  EXPECT_EQ(DigestOf("app", "release"), old.digest);
  EXPECT_EQ(DigestOf("app", "old"), old.digest);
  EXPECT_EQ(DigestOf("app", "older"), "");
}

TEST_F(CleanupExecutorTest, AnUnavailableRegistryStopsTheRunAfterTheFirstFailure) {
  for (int i = 0; i < 6; ++i) Push("app", "old" + std::to_string(i), "2023-01-01T00:00:00Z");
  Plan plan = Scan(RetentionPolicy{});
  ASSERT_EQ(plan.to_delete, 6);
  registry_.Stop();
  ExecutionResult result = ExecutePlan(*client_, plan, {.concurrency = 1});
  EXPECT_EQ(result.first_error.code(), Code::kUnavailable) << result.first_error.ToString();
  int failed = 0;
  int not_attempted = 0;
  for (const TagResult& r : result.results) {
    failed += r.outcome == Outcome::kFailed;
    not_attempted += r.outcome == Outcome::kNotAttempted;
  }
  EXPECT_EQ(failed, 1);  // only the first removal paid for the retries
  EXPECT_EQ(not_attempted, 5);
  EXPECT_EQ(result.failed, 6);
  ASSERT_TRUE(registry_.Start({})) << registry_.error();
  Result<std::vector<std::string>> tags = client_->Tags("app");
  ASSERT_TRUE(tags.ok()) << tags.status().ToString();
  EXPECT_EQ(tags->size(), 6u);  // nothing half-done
}

TEST_F(CleanupExecutorTest, AnInterruptedUntagIsFinishedByTheNextRun) {
  PushedImage kept = Push("app", "v1.0.0", "2023-01-01T00:00:00Z");
  // What a run that died between the PUT of the throwaway and its DELETE leaves behind.
  json throwaway = {{"schemaVersion", 2}, {"mediaType", kOciIndex}, {"manifests", json::array()},
                    {"annotations", {{"capstan.io/untag", "app:v1.0.1 1-2-3"}}}};
  ASSERT_TRUE(client_->PutManifest("app", "v1.0.1", kOciIndex, throwaway.dump()).ok());
  RetentionPolicy policy;
  policy.keep_tags = {std::regex("v.*")};
  Plan plan = Scan(policy);
  EXPECT_EQ(plan.to_delete, 1);
  ExecutionResult result = ExecutePlan(*client_, plan);
  EXPECT_TRUE(result.first_error.ok()) << result.first_error.ToString();
  EXPECT_EQ(result.deleted, 1);
  EXPECT_EQ(DigestOf("app", "v1.0.1"), "");
  EXPECT_EQ(DigestOf("app", "v1.0.0"), kept.digest);
}

TEST_F(CleanupExecutorTest, DeletionDisabledDeletesNothingAndReportsThe405) {
  PushedImage kept = Push("app", "v1.0.0", "2023-01-01T00:00:00Z");
  ASSERT_TRUE(testing::Tag(*client_, "app", "alias", kept).ok());
  for (int i = 0; i < 5; ++i) Push("app", "old" + std::to_string(i), "2023-01-01T00:00:00Z");
  RetentionPolicy policy;
  policy.keep_tags = {std::regex(R"(v.*)")};
  Plan plan = Scan(policy);
  ASSERT_TRUE(registry_.Restart({.delete_enabled = false})) << registry_.error();
  ExecutionResult result = ExecutePlan(*client_, plan, {.concurrency = 2});
  EXPECT_EQ(result.first_error.code(), Code::kMethodNotAllowed);
  EXPECT_NE(result.first_error.message().find("storage.delete.enabled"), std::string::npos);
  EXPECT_EQ(result.deleted + result.untagged, 0);
  EXPECT_EQ(result.failed, 6);
  Result<std::vector<std::string>> tags = client_->Tags("app");
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(tags->size(), 7u);
  EXPECT_EQ(DigestOf("app", "alias"), kept.digest);  // the untag was put back after the refused delete
}

}  // namespace
}  // namespace capstan::registry
