#include "controller/registry/retention_planner.h"

#include <gtest/gtest.h>

namespace capstan::registry {
namespace {

constexpr int64_t kDay = 86400;
constexpr int64_t kNow = 1'700'000'000;

class Repo {
 public:
  explicit Repo(std::string name) { repo_.name = std::move(name); }
  Repo& Image(const std::string& digest, std::optional<int64_t> age_days, int64_t size = 100,
              std::vector<std::string> blobs = {}) {
    ImageInfo& image = repo_.images[digest];
    image.digest = digest;
    if (age_days) {
      image.created_seconds = kNow - *age_days * kDay;
      image.created = "t-" + std::to_string(*age_days);
    }
    image.size = size;
    if (blobs.empty()) blobs.push_back("blob-" + digest);
    for (const std::string& b : blobs) image.blobs.push_back({b, size});
    image.config_digest = blobs.front();
    return *this;
  }
  Repo& Index(const std::string& digest, std::vector<std::string> children) {
    ImageInfo& image = repo_.images[digest];
    image.digest = digest;
    image.is_index = true;
    image.children = children;
    for (const std::string& c : children) {
      const ImageInfo& child = repo_.images.at(c);
      if (!image.created_seconds || *child.created_seconds > *image.created_seconds) {
        image.created_seconds = child.created_seconds;
      }
    }
    return *this;
  }
  Repo& Tag(const std::string& tag, const std::string& digest) {
    repo_.tags.push_back({tag, digest});
    return *this;
  }
  RepositoryInventory Build() const { return repo_; }

 private:
  RepositoryInventory repo_;
};

std::map<std::string, std::string> Decisions(const Plan& plan) {
  std::map<std::string, std::string> out;
  for (const TagDecision& d : plan.decisions) {
    out[d.repository + ":" + d.tag] = std::string(ActionName(d.action)) + " " + d.reason;
  }
  return out;
}

TEST(RetentionPlannerTest, KeepsNewestAndYoungerThanAndRemovesTheRest) {
  Inventory inv;
  inv.repositories.push_back(Repo("app")
                                 .Image("d1", 1).Image("d2", 10).Image("d3", 40).Image("d4", 50).Image("d5", 60)
                                 .Tag("a", "d1").Tag("b", "d2").Tag("c", "d3").Tag("d", "d4").Tag("e", "d5")
                                 .Build());
  RetentionPolicy policy;
  policy.keep_newest = 2;
  policy.newer_than_seconds = 30 * kDay;
  Plan plan = PlanRetention(inv, policy, {}, kNow);
  auto d = Decisions(plan);
  EXPECT_EQ(d["app:a"], "keep newest,newer-than");
  EXPECT_EQ(d["app:b"], "keep newest,newer-than");
  EXPECT_EQ(d["app:c"], "delete-manifest no keep rule holds");
  EXPECT_EQ(d["app:e"], "delete-manifest no keep rule holds");
  EXPECT_EQ(plan.scanned, 5);
  EXPECT_EQ(plan.to_delete, 3);
  EXPECT_EQ(plan.kept_by_reason["newest"], 2);
  EXPECT_EQ(plan.bytes_reclaimable, 300);

  policy.keep_newest = 3;
  d = Decisions(PlanRetention(inv, policy, {}, kNow));
  EXPECT_EQ(d["app:c"], "keep newest");
  EXPECT_EQ(d["app:d"], "delete-manifest no keep rule holds");
}

TEST(RetentionPlannerTest, TagRegexMatchesTheWholeTag) {
  Inventory inv;
  inv.repositories.push_back(Repo("app")
                                 .Image("d1", 100).Image("d2", 100).Image("d3", 100).Image("d4", 100)
                                 .Tag("latest", "d1").Tag("v1.2.3", "d2").Tag("v1.2.3-rc1", "d3").Tag("notlatest", "d4")
                                 .Build());
  RetentionPolicy policy;
  policy.keep_tags = {std::regex("^latest$"), std::regex(R"(^v?\d+\.\d+\.\d+$)"), std::regex("latest")};
  auto d = Decisions(PlanRetention(inv, policy, {}, kNow));
  EXPECT_EQ(d["app:latest"], "keep tag-regex");
  EXPECT_EQ(d["app:v1.2.3"], "keep tag-regex");
  EXPECT_EQ(d["app:v1.2.3-rc1"], "delete-manifest no keep rule holds");
  EXPECT_EQ(d["app:notlatest"], "delete-manifest no keep rule holds");
}

TEST(RetentionPlannerTest, SharedDigestWithAKeptTagIsUntaggedNotDeleted) {
  Inventory inv;
  inv.repositories.push_back(Repo("app").Image("d1", 100).Tag("old", "d1").Tag("v1.0.0", "d1").Build());
  RetentionPolicy policy;
  policy.keep_tags = {std::regex(R"(^v\d+\.\d+\.\d+$)")};
  Plan plan = PlanRetention(inv, policy, {}, kNow);
  auto d = Decisions(plan);
  EXPECT_EQ(d["app:old"], "untag digest shared with kept tag v1.0.0");
  EXPECT_EQ(d["app:v1.0.0"], "keep tag-regex");
  EXPECT_EQ(plan.to_untag, 1);
  EXPECT_EQ(plan.to_delete, 0);
  EXPECT_EQ(plan.bytes_reclaimable, 0);
}

TEST(RetentionPlannerTest, TwoRemovedTagsOnOneDigestBothDeleteIt) {
  Inventory inv;
  inv.repositories.push_back(Repo("app").Image("d1", 100).Tag("a", "d1").Tag("b", "d1").Build());
  Plan plan = PlanRetention(inv, RetentionPolicy{}, {}, kNow);
  EXPECT_EQ(plan.to_delete, 2);
  EXPECT_EQ(plan.bytes_reclaimable, 100);  // one image, counted once
}

TEST(RetentionPlannerTest, ChildrenOfAKeptIndexAreNeverDeleted) {
  Inventory inv;
  inv.repositories.push_back(Repo("app")
                                 .Image("amd", 100).Image("arm", 100).Index("idx", {"amd", "arm"})
                                 .Image("old", 100)
                                 .Tag("latest", "idx").Tag("amd-only", "amd").Tag("stale", "old")
                                 .Build());
  RetentionPolicy policy;
  policy.keep_tags = {std::regex("latest")};
  Plan plan = PlanRetention(inv, policy, {}, kNow);
  auto d = Decisions(plan);
  EXPECT_EQ(d["app:latest"], "keep tag-regex");
  EXPECT_EQ(d["app:amd-only"], "keep child-of-kept-index");
  EXPECT_EQ(d["app:stale"], "delete-manifest no keep rule holds");
  EXPECT_EQ(plan.kept_by_reason["child-of-kept-index"], 1);
}

TEST(RetentionPlannerTest, RemovedIndexLeavesChildrenAndTheirBlobs) {
  Inventory inv;
  inv.repositories.push_back(Repo("app")
                                 .Image("amd", 100).Image("arm", 100).Index("idx", {"amd", "arm"})
                                 .Tag("multi", "idx").Build());
  Plan plan = PlanRetention(inv, RetentionPolicy{}, {}, kNow);
  EXPECT_EQ(Decisions(plan)["app:multi"], "delete-manifest no keep rule holds");
  EXPECT_EQ(plan.bytes_reclaimable, 0);  // the children's manifests remain, so do their blobs
}

TEST(RetentionPlannerTest, InUseByTagOrDigestIsKeptUnlessTheRuleIsOff) {
  Inventory inv;
  inv.repositories.push_back(Repo("app").Image("d1", 100).Image("d2", 100).Image("d3", 100)
                                 .Tag("by-tag", "d1").Tag("by-digest", "d2").Tag("unused", "d3").Build());
  InUseSet in_use = {"app:by-tag", "app@d2", "other:unused"};
  RetentionPolicy policy;
  auto d = Decisions(PlanRetention(inv, policy, in_use, kNow));
  EXPECT_EQ(d["app:by-tag"], "keep in-use");
  EXPECT_EQ(d["app:by-digest"], "keep in-use");
  EXPECT_EQ(d["app:unused"], "delete-manifest no keep rule holds");
  policy.keep_in_use = false;
  d = Decisions(PlanRetention(inv, policy, in_use, kNow));
  EXPECT_EQ(d["app:by-tag"], "delete-manifest no keep rule holds");
}

TEST(RetentionPlannerTest, InUseByConfigDigestAsDockerReportsItKeepsTheImageAndItsIndex) {
  Inventory inv;
  inv.repositories.push_back(Repo("app").Image("d1", 100, 10, {"sha256:c1"}).Image("d2", 100, 10, {"sha256:c2"})
                                 .Image("d3", 100, 10, {"sha256:c3"}).Index("i1", {"d2"})
                                 .Tag("single", "d1").Tag("multi", "i1").Tag("unused", "d3").Build());
  InUseSet in_use = {InUseConfigKey("app", "sha256:c1"), InUseConfigKey("app", "sha256:c2"),
                     InUseConfigKey("other", "sha256:c3")};
  auto d = Decisions(PlanRetention(inv, RetentionPolicy{}, in_use, kNow));
  EXPECT_EQ(d["app:single"], "keep in-use");
  EXPECT_EQ(d["app:multi"], "keep in-use");
  EXPECT_EQ(d["app:unused"], "delete-manifest no keep rule holds");  // that config runs from another repository
}

TEST(RetentionPlannerTest, ImagesWithoutCreatedTimeAreKept) {
  Inventory inv;
  inv.repositories.push_back(Repo("app").Image("d1", std::nullopt).Image("d2", 5).Tag("x", "d1").Tag("y", "d2").Build());
  RetentionPolicy policy;
  policy.keep_newest = 0;
  auto d = Decisions(PlanRetention(inv, policy, {}, kNow));
  EXPECT_EQ(d["app:x"], "keep no-created-time");
  EXPECT_EQ(d["app:y"], "delete-manifest no keep rule holds");
}

TEST(RetentionPlannerTest, PlaceholderCreatedTimesOfReproducibleBuildsCountAsNone) {
  Inventory inv;
  RepositoryInventory repo = Repo("app").Image("d1970", 1).Image("d1980", 1).Image("d2000", 1).Image("d2", 5)
                                 .Tag("epoch", "d1970").Tag("dos", "d1980").Tag("y2k", "d2000").Tag("y", "d2").Build();
  repo.images["d1970"].created_seconds = 0;                  // 1970-01-01T00:00:00Z
  repo.images["d1980"].created_seconds = 315'532'800;        // 1980-01-01T00:00:00Z
  repo.images["d2000"].created_seconds = 946'684'800;        // 2000-01-01T00:00:00Z: usable
  inv.repositories.push_back(repo);
  RetentionPolicy policy;
  policy.keep_newest = 1;  // must not pick a placeholder, nor rank it
  auto d = Decisions(PlanRetention(inv, policy, {}, kNow));
  EXPECT_EQ(d["app:epoch"], "keep no-created-time");
  EXPECT_EQ(d["app:dos"], "keep no-created-time");
  EXPECT_EQ(d["app:y"], "keep newest");
  EXPECT_EQ(d["app:y2k"], "delete-manifest no keep rule holds");
}

TEST(RetentionPlannerTest, ATagLeftOnAnUntagThrowawayIsDeletedWhateverTheKeepRules) {
  Inventory inv;
  RepositoryInventory repo = Repo("app").Image("d1", 1).Tag("v1.0.0", "d1").Tag("v1.0.1", "throwaway").Build();
  repo.images["throwaway"].digest = "throwaway";
  repo.images["throwaway"].is_index = true;
  repo.images["throwaway"].untag_leftover = true;
  inv.repositories.push_back(repo);
  RetentionPolicy policy;
  policy.keep_tags = {std::regex("v.*")};
  auto d = Decisions(PlanRetention(inv, policy, {"app:v1.0.1"}, kNow));
  EXPECT_EQ(d["app:v1.0.0"], "keep tag-regex");
  EXPECT_EQ(d["app:v1.0.1"], "delete-manifest left on an untag's throwaway manifest");
}

TEST(RetentionPlannerTest, RepositoryWithScanErrorGetsNoDecisionsAndKeepsSharedBlobs) {
  Inventory inv;
  inv.repositories.push_back(Repo("a").Image("d1", 100, 100, {"shared"}).Tag("x", "d1").Build());
  RepositoryInventory broken = Repo("b").Image("d2", 100, 100, {"shared"}).Tag("y", "d2").Build();
  broken.error = "HTTP 500";
  inv.repositories.push_back(broken);
  Plan plan = PlanRetention(inv, RetentionPolicy{}, {}, kNow);
  ASSERT_EQ(plan.decisions.size(), 1u);
  EXPECT_EQ(plan.bytes_reclaimable, 0);
}

TEST(RetentionPlannerTest, BlobsSharedWithSurvivorsAreNotReclaimable) {
  Inventory inv;
  inv.repositories.push_back(Repo("app")
                                 .Image("d1", 100, 10, {"base", "top1"})
                                 .Image("d2", 1, 10, {"base", "top2"})
                                 .Tag("old", "d1").Tag("new", "d2").Build());
  RetentionPolicy policy;
  policy.keep_newest = 1;
  EXPECT_EQ(PlanRetention(inv, policy, {}, kNow).bytes_reclaimable, 10);  // top1 only
}

}  // namespace
}  // namespace capstan::registry
