// GitOpsController against a real API over RocksDB, in-process (and real git repositories): its
// Reconcile is called directly (no workers), so each step is one run.
#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "client/informer_factory.h"
#include "client/informer_test_util.h"
#include "store/store_test_util.h"
#include "controller/gitops/git_test_util.h"
#include "controller/gitops/gitops_controller.h"
#include "controller/gitops/status_fields.h"

namespace capstan::controller::gitops {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class GitOpsControllerTest : public client::testing::InProcessApiFixture {
 protected:
  const std::string sync_path_ = GitOpsObjectPath("syncs", "flux/apps");

  void TearDown() override {
    if (controller_) controller_->Stop();
    controller_.reset();
    informers_.reset();  // before the fixture closes the store
    InProcessApiFixture::TearDown();
  }
  // The controller set up (not started: the test calls Reconcile) over synced informers.
  ::testing::AssertionResult SetUpController(const std::string& data_dir) {
    GitOpsControllerOptions options;
    options.data_dir = data_dir;
    controller_ = std::make_unique<GitOpsController>(options);
    informers_ = std::make_unique<client::SharedInformerFactory>(client_.get());
    if (Status st = controller_->Setup(ControllerContext{client_.get(), informers_.get(), Clock::Real()}); !st.ok()) {
      return ::testing::AssertionFailure() << "Setup: " << st.ToString();
    }
    informers_->StartAll();
    if (!informers_->WaitForSyncAll(10s)) return ::testing::AssertionFailure() << "informers did not sync";
    return ::testing::AssertionSuccess();
  }
  client::Informer* Informer(const char* plural) {
    return informers_->ForResource(std::string(kGitOpsGroupVersion) + "/" + plural);
  }

  // The informers have seen the Sync as the server has it now (or its deletion).
  bool Settled(client::Informer* syncs) {
    return client::testing::WaitUntil([&] {
      Result<json> live = client_->Get(sync_path_);
      client::ObjectPtr seen = syncs->Get("flux/apps");
      if (!live.ok()) return seen == nullptr;
      return seen != nullptr && client::MetaString(*seen, "resourceVersion") == client::MetaString(*live, "resourceVersion");
    });
  }
  std::vector<std::string> Finalizers() {
    std::vector<std::string> out;
    Result<json> live = client_->Get(sync_path_);
    if (live.ok()) {
      for (const json& f : client::Field(client::Field(*live, "metadata"), "finalizers")) out.push_back(f.get<std::string>());
    }
    return out;
  }

  std::unique_ptr<GitOpsController> controller_;
  std::unique_ptr<client::SharedInformerFactory> informers_;
};

// A Sync whose runs failed several times, then deleted while its prune fails: the prune keeps its
// own 5 attempts (the run failures used to count towards them, so it gave up at the first error).
TEST_F(GitOpsControllerTest, PruneAttemptsAreNotUsedUpByEarlierRunFailures) {
  MakeNamespace("flux");
  const std::string commit(40, 'a');  // not in the (empty) cache: every run fails with BuildFailed
  ASSERT_TRUE(client_->Create(std::string(kGitOpsGroupVersion) + "/namespaces/flux/gitrepositories",
                              {{"apiVersion", "gitops.capstan.io/v1alpha1"}, {"kind", "GitRepository"},
                               {"metadata", {{"name", "repo"}, {"namespace", "flux"}}},
                               {"spec", {{"url", "file:///nonexistent"}}}}).ok());
  ASSERT_TRUE(client_->Patch(GitOpsObjectPath("gitrepositories", "flux/repo") + "/status", client::PatchType::kMerge,
                             {{"status", {{"artifact", {{"revision", "main@sha1:" + commit}}}}}}).ok());
  ASSERT_TRUE(client_->Create(std::string(kGitOpsGroupVersion) + "/namespaces/flux/syncs",
                              {{"apiVersion", "gitops.capstan.io/v1alpha1"}, {"kind", "Sync"},
                               {"metadata", {{"name", "apps"}, {"namespace", "flux"}}},
                               {"spec", {{"sourceRef", {{"name", "repo"}}}, {"prune", true}, {"interval", "100ms"}}}}).ok());
  // What it applied: a kind discovery no longer knows, so its prune fails every time.
  json entry = {{"apiVersion", "gone.example.com/v1"}, {"kind", "Gone"}, {"namespace", "flux"}, {"name", "x"}};
  ASSERT_TRUE(client_->Patch(sync_path_ + "/status", client::PatchType::kMerge,
                             {{"status", {{"inventory", {{"entries", json::array({entry})}}}}}}).ok());

  store::testing::TempDir data;
  ASSERT_TRUE(SetUpController(data.path()));
  GitOpsController& controller = *controller_;
  client::Informer* syncs = Informer("syncs");

  for (int run = 0; run < 4; ++run) {
    ASSERT_TRUE(Settled(syncs));
    std::this_thread::sleep_for(250ms);  // past the backoff (capped at the 100ms interval, at least 200ms)
    (void)controller.Reconcile("Sync/flux/apps");
  }
  ASSERT_TRUE(Settled(syncs));
  Result<json> failed = client_->Get(sync_path_);
  ASSERT_TRUE(failed.ok());
  ASSERT_GE(client::Field(client::Field(*failed, "status"), "history").size(), 4u) << failed->dump();
  ASSERT_EQ(Finalizers(), std::vector<std::string>{kPruneFinalizer});

  ASSERT_TRUE(client_->Delete(sync_path_).ok());
  ASSERT_TRUE(Settled(syncs));
  for (int attempt = 1; attempt < 5; ++attempt) {
    (void)controller.Reconcile("Sync/flux/apps");
    EXPECT_EQ(Finalizers(), std::vector<std::string>{kPruneFinalizer}) << "kept after failed prune attempt " << attempt;
  }
  (void)controller.Reconcile("Sync/flux/apps");
  EXPECT_TRUE(client::testing::WaitUntil([&] { return client_->Get(sync_path_).status().IsNotFound(); }))
      << "let go after the 5th attempt";
}

// A newer commit that signature verification refused leaves the previous artifact in use; after
// a force-push no branch reaches it, and the cache sweep's compaction must keep it (Syncs read it).
TEST_F(GitOpsControllerTest, CacheCompactionKeepsTheArtifactNoBranchReaches) {
  if (!testing::GitAvailable()) GTEST_SKIP() << "git is not installed";
  MakeNamespace("flux");
  store::testing::TempDir data;
  testing::GitFixtureRepo remote(data.Sub("remote"));
  remote.Write("apps/a.yaml", "kind: A\n");
  const std::string first = remote.Commit("first");
  remote.Write("apps/old.yaml", "kind: Old\n");
  const std::string in_use = remote.Commit("the artifact");
  const std::string repo_path = GitOpsObjectPath("gitrepositories", "flux/repo");
  ASSERT_TRUE(client_->Create(std::string(kGitOpsGroupVersion) + "/namespaces/flux/gitrepositories",
                              {{"apiVersion", "gitops.capstan.io/v1alpha1"}, {"kind", "GitRepository"},
                               {"metadata", {{"name", "repo"}, {"namespace", "flux"}}},
                               {"spec", {{"url", remote.Url()}, {"interval", "100ms"}}}}).ok());

  ASSERT_TRUE(SetUpController(data.Sub("data")));
  GitOpsController& controller = *controller_;
  client::Informer* repos = Informer("gitrepositories");
  auto artifact_seen = [&](const std::string& commit) {
    return client::testing::WaitUntil([&] {
      client::ObjectPtr seen = repos->Get("flux/repo");
      return seen != nullptr &&
             CommitOf(client::StringField(client::Field(client::Field(*seen, "status"), "artifact"), "revision")) == commit;
    });
  };
  (void)controller.Reconcile("GitRepository/flux/repo");
  ASSERT_TRUE(artifact_seen(in_use));

  remote.Git("reset -q --hard " + first);
  remote.Write("apps/b.yaml", "kind: B\n");
  const std::string rewritten = remote.Commit("force-pushed", /*force=*/true);
  std::this_thread::sleep_for(150ms);  // past the interval: the next fetch is due
  (void)controller.Reconcile("GitRepository/flux/repo");
  ASSERT_TRUE(artifact_seen(rewritten));
  // What a refused signature leaves: the fetch moved the branch, the artifact stayed.
  ASSERT_TRUE(client_->Patch(repo_path + "/status", client::PatchType::kMerge,
                             {{"status", {{"artifact", {{"revision", "main@sha1:" + in_use}}}}}}).ok());
  ASSERT_TRUE(artifact_seen(in_use));

  (void)controller.Reconcile("CacheGC");
  const std::string cache = data.Sub("data") + "/gitops/flux/repo";
  EXPECT_EQ(testing::GitFixtureRepo::Output("git -C " + cache + " for-each-ref --format='%(refname)' refs/capstan"),
            "refs/capstan/artifacts/" + in_use)
      << "the cache was compacted with the artifact's ref";
  EXPECT_EQ(testing::GitFixtureRepo::Sh("git -C " + cache + " cat-file -e " + in_use + ":apps/old.yaml"), 0)
      << "the artifact no branch reaches is still readable";
  EXPECT_EQ(testing::GitFixtureRepo::Sh("git -C " + cache + " cat-file -e " + rewritten + ":apps/b.yaml"), 0);
}

}  // namespace
}  // namespace capstan::controller::gitops
