// GitOpsController's prune on Sync deletion (FinalizeSync) against a real API over RocksDB,
// in-process; the controller's Reconcile is called directly (no workers), so each step is one run.
#include <gtest/gtest.h>

#include <thread>

#include "client/informer_factory.h"
#include "client/informer_test_util.h"
#include "store/store_test_util.h"
#include "controller/gitops/gitops_controller.h"
#include "controller/gitops/status_fields.h"

namespace capstan::controller::gitops {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class FinalizeSyncTest : public client::testing::InProcessApiFixture {
 protected:
  const std::string sync_path_ = GitOpsObjectPath("syncs", "flux/apps");

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
};

// A Sync whose runs failed several times, then deleted while its prune fails: the prune keeps its
// own 5 attempts (the run failures used to count towards them, so it gave up at the first error).
TEST_F(FinalizeSyncTest, PruneAttemptsAreNotUsedUpByEarlierRunFailures) {
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
  GitOpsControllerOptions options;
  options.data_dir = data.path();
  GitOpsController controller(options);
  client::SharedInformerFactory informers(client_.get());
  ASSERT_TRUE(controller.Setup(ControllerContext{client_.get(), &informers, Clock::Real()}).ok());
  client::Informer* syncs = informers.ForResource(std::string(kGitOpsGroupVersion) + "/syncs");
  informers.StartAll();
  ASSERT_TRUE(informers.WaitForSyncAll(10s));

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
  controller.Stop();
}

}  // namespace
}  // namespace capstan::controller::gitops
