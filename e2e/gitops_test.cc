// GitOps end to end: a real `capstan server` (fake driver) following bare repositories made by
// the test with the git CLI, over file:// and a `git daemon` on 127.0.0.1. Intervals are a
// second or two so the whole suite stays within a couple of minutes; every wait is bounded.
#include <gtest/gtest.h>

#include <filesystem>

#include "controller/gitops/git_http_test_server.h"
#include "controller/gitops/git_test_util.h"
#include "e2e/controllers_test_util.h"

namespace capstan::e2e {
namespace {

using namespace controllers_testing;
using controller::gitops::testing::FreePort;
using controller::gitops::testing::GitAvailable;
using controller::gitops::testing::GitDaemon;
using controller::gitops::testing::GitFixtureRepo;
using controller::gitops::testing::GitHttpServer;

std::string DeploymentIn(const std::string& ns, const std::string& image) {
  return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: " + ns +
         "}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n"
         "    spec: {containers: [{name: web, image: \"" + image + "\"}]}\n";
}
std::string ConfigMap(const std::string& name, const std::string& extra_meta = "") {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: shop" + extra_meta + "}\ndata: {k: v}\n";
}
constexpr char kNamespace[] = "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n";

std::string GitOpsObjects(const std::string& url, const std::string& sync_extra = "") {
  return "apiVersion: gitops.capstan.io/v1alpha1\nkind: GitRepository\nmetadata: {name: infra}\n"
         "spec: {url: \"" + url + "\", ref: {branch: main}, interval: 1s, timeout: 10s}\n---\n"
         "apiVersion: gitops.capstan.io/v1alpha1\nkind: Sync\nmetadata: {name: apps}\n"
         "spec: {sourceRef: {kind: GitRepository, name: infra}, path: ./apps, prune: true, interval: 2s" + sync_extra + "}\n";
}

class GitOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!GitAvailable()) GTEST_SKIP() << "git is not installed";
    root_ = std::filesystem::temp_directory_path() /
            ("capstan-e2e-gitops-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    repo_ = std::make_unique<GitFixtureRepo>(root_.string());
    ASSERT_TRUE(server_.Start({"--driver", "fake", "--node-name", kNode})) << server_.log();
  }
  void TearDown() override {
    server_.Stop();
    std::filesystem::remove_all(root_);
  }

  RunResult C(const std::vector<std::string>& args, const std::string& in = "") { return server_.Capstan(args, in); }
  json Get(const std::string& what, const std::string& ns = "default") {
    RunResult r = C({"get", what, "-n", ns, "-o", "json"});
    return r.exit_code == 0 ? json::parse(r.out, nullptr, false) : json();
  }
  json Sync() { return Get("syncs.gitops.capstan.io/apps"); }
  std::string Reason(const json& obj) {
    const json* ready = Condition(obj, "Ready");
    return ready == nullptr ? "" : Str(*ready, "status") + "/" + Str(*ready, "reason");
  }
  std::string Message(const json& obj) {
    const json* ready = Condition(obj, "Ready");
    return ready == nullptr ? "" : Str(*ready, "message");
  }
  // Waits until the Sync has applied `commit` successfully.
  void WaitApplied(const std::string& commit, std::chrono::milliseconds timeout = 30s) {
    json last;
    bool ok = WaitUntil([&] {
      last = Sync();
      return Str(At(last, "status"), "lastAppliedRevision") == "main@sha1:" + commit && Reason(last) == "True/Succeeded";
    }, timeout, 200ms);
    ASSERT_TRUE(ok) << "not applied: " << commit << "\n" << last.dump(2) << "\n" << server_.log().substr(0, 4000);
  }
  // Waits until the Sync has attempted `commit` and failed with `reason`.
  void WaitFailed(const std::string& commit, const std::string& reason, std::chrono::milliseconds timeout = 30s) {
    json last;
    bool ok = WaitUntil([&] {
      last = Sync();
      return Str(At(last, "status"), "lastAttemptedRevision") == "main@sha1:" + commit && Reason(last) == "False/" + reason;
    }, timeout, 200ms);
    ASSERT_TRUE(ok) << "no " << reason << " for " << commit << "\n" << last.dump(2);
  }
  std::string Image() { return TemplateImage(Get("deployment/web", "shop")); }
  bool Exists(const std::string& what, const std::string& ns = "shop") { return C({"get", what, "-n", ns}).exit_code == 0; }

  std::filesystem::path root_;
  std::unique_ptr<GitFixtureRepo> repo_;
  ServerProcess server_;
};

TEST_F(GitOpsTest, CommitsAreAppliedPrunedAndBadOnesChangeNothing) {
  repo_->Write("apps/ns.yaml", kNamespace);
  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:1"));
  std::string c1 = repo_->Commit("namespace and web");
  RunResult applied = C({"apply", "-f", "-"}, GitOpsObjects(repo_->Url()));
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c1));
  EXPECT_EQ(Image(), "nginx:1");
  EXPECT_EQ(Str(At(At(Get("deployment/web", "shop"), "metadata"), "labels"), "gitops.capstan.io/sync"), "default.apps");
  EXPECT_TRUE(WaitUntil([&] { return IntAt(At(Get("deployment/web", "shop"), "status"), "availableReplicas") == 1; }, 30s))
      << "the Deployment runs (fake driver)";
  json repo = Get("gitrepository/infra");
  EXPECT_EQ(Str(At(At(repo, "status"), "artifact"), "revision"), "main@sha1:" + c1);

  // A new image: the Deployment's template follows.
  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:2"));
  std::string c2 = repo_->Commit("nginx 2");
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c2));
  EXPECT_EQ(Image(), "nginx:2");

  // Prune: a removed file's object goes; one created by hand and one opted out stay.
  ASSERT_EQ(C({"apply", "-f", "-"}, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: by-hand, namespace: shop}\n").exit_code, 0);
  repo_->Write("apps/gone.yaml", ConfigMap("gone"));
  repo_->Write("apps/keep.yaml", ConfigMap("keep", ", annotations: {gitops.capstan.io/prune: disabled}"));
  std::string c3 = repo_->Commit("two configmaps");
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c3));
  ASSERT_TRUE(Exists("configmap/gone"));
  repo_->Remove("apps/gone.yaml apps/keep.yaml");
  std::string c4 = repo_->Commit("remove the configmaps");
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c4));
  EXPECT_FALSE(Exists("configmap/gone"));
  EXPECT_TRUE(Exists("configmap/keep")) << "gitops.capstan.io/prune: disabled";
  EXPECT_TRUE(Exists("configmap/by-hand")) << "never prune what was created by hand";

  // Bad YAML: nothing applied (not even the good file of the same commit), file and line named.
  repo_->Write("apps/cm.yaml", ConfigMap("in-bad-commit"));
  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:3") + "---\nkind: [unclosed\n");
  std::string bad = repo_->Commit("bad yaml");
  ASSERT_NO_FATAL_FAILURE(WaitFailed(bad, "BuildFailed"));
  json sync = Sync();
  EXPECT_NE(Message(sync).find("apps/web.yaml"), std::string::npos) << Message(sync);
  EXPECT_NE(Message(sync).find("line"), std::string::npos) << Message(sync);
  EXPECT_EQ(Str(At(sync, "status"), "lastAppliedRevision"), "main@sha1:" + c4);
  EXPECT_EQ(Image(), "nginx:2");
  EXPECT_FALSE(Exists("configmap/in-bad-commit"));

  // The next good commit recovers on its own.
  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:3"));
  std::string c5 = repo_->Commit("fixed");
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c5));
  EXPECT_EQ(Image(), "nginx:3");
  EXPECT_TRUE(Exists("configmap/in-bad-commit"));

  // An unknown field: refused by the server's dry run, nothing applied, the field named.
  repo_->Write("apps/cm.yaml", ConfigMap("in-bad-commit") + "immutible: true\n");
  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:4"));
  std::string invalid = repo_->Commit("unknown field");
  ASSERT_NO_FATAL_FAILURE(WaitFailed(invalid, "ValidationFailed"));
  sync = Sync();
  EXPECT_NE(Message(sync).find("apps/cm.yaml"), std::string::npos) << Message(sync);
  EXPECT_NE(Message(sync).find("immutible"), std::string::npos) << Message(sync);
  EXPECT_EQ(Image(), "nginx:3") << "the valid Deployment of the same commit was not applied";

  // Force-push over the bad commit: the new head is applied.
  repo_->Git("reset -q --hard " + c5);
  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:5"));
  std::string forced = repo_->Commit("rewritten", /*force=*/true);
  ASSERT_NO_FATAL_FAILURE(WaitApplied(forced));
  EXPECT_EQ(Image(), "nginx:5");

  // The whole path removed: a failure, nothing pruned.
  repo_->Remove("apps");
  repo_->Write("README.md", "moved\n");
  std::string vanished = repo_->Commit("path removed");
  ASSERT_NO_FATAL_FAILURE(WaitFailed(vanished, "BuildFailed"));
  EXPECT_NE(Message(Sync()).find("does not exist"), std::string::npos) << Message(Sync());
  EXPECT_TRUE(Exists("deployment/web"));
  EXPECT_TRUE(Exists("namespace/shop", "default"));
}

TEST_F(GitOpsTest, SuspendResumeReconcileAndStatus) {
  repo_->Write("apps/ns.yaml", kNamespace);
  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:1"));
  std::string c1 = repo_->Commit("first");
  ASSERT_EQ(C({"apply", "-f", "-"}, GitOpsObjects(repo_->Url())).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c1));

  ASSERT_EQ(C({"apply", "-f", "-"}, GitOpsObjects(repo_->Url(), ", suspend: true")).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return Reason(Sync()) == "False/Suspended"; }, 10s)) << Sync().dump(2);
  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:2"));
  repo_->Write("more/cm.yaml", ConfigMap("more"));
  std::string c2 = repo_->Commit("while suspended");
  // A second Sync of the same repository (sharing its fetch) that depends on the suspended one.
  ASSERT_EQ(C({"apply", "-f", "-"}, "apiVersion: gitops.capstan.io/v1alpha1\nkind: Sync\nmetadata: {name: more}\n"
                                    "spec: {sourceRef: {name: infra}, path: more, interval: 2s, dependsOn: [{name: apps}]}\n")
                .exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return Reason(Get("sync/more")) == "False/DependencyNotReady"; }, 10s))
      << Get("sync/more").dump(2);
  std::this_thread::sleep_for(3s);  // more than a sync interval
  EXPECT_EQ(Image(), "nginx:1") << "a suspended Sync applies nothing";
  EXPECT_FALSE(Exists("configmap/more")) << "nor does one that depends on it";
  ASSERT_EQ(C({"apply", "-f", "-"}, GitOpsObjects(repo_->Url(), ", suspend: false")).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c2));
  EXPECT_EQ(Image(), "nginx:2");
  ASSERT_TRUE(WaitUntil([&] { return Reason(Get("sync/more")) == "True/Succeeded"; }, 15s)) << Get("sync/more").dump(2);
  EXPECT_TRUE(Exists("configmap/more"));

  RunResult reconcile = C({"gitops", "reconcile", "sync/apps"});
  EXPECT_EQ(reconcile.exit_code, 0) << reconcile.out << reconcile.err;
  EXPECT_NE(reconcile.out.find("main@sha1:" + c2), std::string::npos) << reconcile.out;
  RunResult status = C({"gitops", "status"});
  EXPECT_EQ(status.exit_code, 0) << status.err;
  EXPECT_NE(status.out.find("infra"), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("apps"), std::string::npos) << status.out;
  RunResult table = C({"get", "syncs"});
  EXPECT_NE(table.out.find("REVISION"), std::string::npos) << table.out;
  // kubectl, newest installed: the printer columns come from the server's Table.
  std::vector<std::pair<std::string, std::string>> kubectls = KubectlBinaries();
  if (!kubectls.empty()) {
    RunResult k = server_.Kubectl(kubectls.back().second, {"get", "gitrepositories,syncs"});
    EXPECT_EQ(k.exit_code, 0) << k.err;
    EXPECT_NE(k.out.find("gitrepository.gitops.capstan.io/infra"), std::string::npos) << k.out;
    EXPECT_NE(k.out.find("SOURCE   PATH"), std::string::npos) << k.out;
  }
}

TEST_F(GitOpsTest, HandEditsAreRevertedWithSelfHealAndOnlyReportedWithout) {
  repo_->Write("apps/ns.yaml", kNamespace);
  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:1"));
  std::string c1 = repo_->Commit("first");
  ASSERT_EQ(C({"apply", "-f", "-"}, GitOpsObjects(repo_->Url(), ", selfHeal: true")).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c1));
  auto replicas = [&] { return IntAt(At(Get("deployment/web", "shop"), "spec"), "replicas"); };

  ASSERT_EQ(C({"scale", "deployment/web", "-n", "shop", "--replicas", "3"}).exit_code, 0);
  EXPECT_TRUE(WaitUntil([&] { return replicas() == 1; }, 15s)) << "selfHeal reverts a hand edit at the next interval";

  ASSERT_EQ(C({"apply", "-f", "-"}, GitOpsObjects(repo_->Url(), ", selfHeal: false")).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return IntAt(At(Sync(), "status"), "observedGeneration") == 2; }, 15s));
  ASSERT_EQ(C({"scale", "deployment/web", "-n", "shop", "--replicas", "3"}).exit_code, 0);
  json sync;
  ASSERT_TRUE(WaitUntil([&] {
    sync = Sync();
    const json& drift = At(At(sync, "status"), "drift");
    return drift.is_array() && drift.size() == 1 && Str(drift[0], "name") == "web";
  }, 15s)) << sync.dump(2);
  EXPECT_NE(Str(At(At(sync, "status"), "drift")[0], "patch").find("\"replicas\":1"), std::string::npos) << sync.dump(2);
  EXPECT_EQ(replicas(), 3) << "without selfHeal drift is only reported";
  RunResult events = C({"get", "events", "-n", "default"});
  EXPECT_NE(events.out.find("DriftDetected"), std::string::npos) << events.out;

  // A restart is not a new run: without selfHeal the hand edit is still only reported.
  server_.Stop();
  ASSERT_TRUE(server_.Start({"--driver", "fake", "--node-name", kNode})) << server_.log();
  std::this_thread::sleep_for(4s);  // two Sync intervals
  EXPECT_EQ(replicas(), 3) << "a restart must not revert drift without selfHeal";
  EXPECT_EQ(At(At(Sync(), "status"), "drift").size(), 1u) << Sync().dump(2);
}

TEST_F(GitOpsTest, AnUnreachableDaemonIsFetchFailedAndRecovers) {
  repo_->Write("apps/ns.yaml", kNamespace);
  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:1"));
  std::string c1 = repo_->Commit("first");
  const int port = FreePort();
  auto daemon = std::make_unique<GitDaemon>(root_.string(), port);
  ASSERT_TRUE(daemon->Start()) << "git daemon did not start";
  ASSERT_EQ(C({"apply", "-f", "-"}, GitOpsObjects("git://127.0.0.1:" + std::to_string(port) + "/remote.git")).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c1));

  daemon->Stop();
  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:2"));
  std::string c2 = repo_->Commit("while down");
  json repo;
  ASSERT_TRUE(WaitUntil([&] {
    repo = Get("gitrepository/infra");
    const json* failed = Condition(repo, "FetchFailed");
    return failed != nullptr && Str(*failed, "status") == "True" && Reason(repo) == "False/GitOperationFailed";
  }, 20s)) << repo.dump(2);
  EXPECT_EQ(Image(), "nginx:1") << "workloads untouched while the source is down";
  EXPECT_EQ(Reason(Sync()), "True/Succeeded") << "the Sync keeps the last good revision";

  daemon = std::make_unique<GitDaemon>(root_.string(), port);
  ASSERT_TRUE(daemon->Start());
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c2, 60s));  // the fetch backs off (1 s doubling, capped at the interval)
  EXPECT_EQ(Image(), "nginx:2");
  EXPECT_EQ(Condition(Get("gitrepository/infra"), "FetchFailed"), nullptr);
}

TEST_F(GitOpsTest, SmartHttpCredentialsFromASecret) {
  repo_->Write("apps/ns.yaml", kNamespace);
  std::string c1 = repo_->Commit("first");
  GitHttpServer http(root_.string(), "alice", "s3cret");
  const std::string secret = "apiVersion: v1\nkind: Secret\nmetadata: {name: git-auth}\nstringData: {username: alice, password: ";
  ASSERT_EQ(C({"apply", "-f", "-"}, secret + "wrong}\n").exit_code, 0);
  std::string objects = GitOpsObjects(http.Url("remote.git"));
  objects.replace(objects.find("timeout: 10s}"), 13, "timeout: 10s, secretRef: {name: git-auth}}");
  ASSERT_EQ(C({"apply", "-f", "-"}, objects).exit_code, 0);
  json repo;
  ASSERT_TRUE(WaitUntil([&] {
    repo = Get("gitrepository/infra");
    return Reason(repo) == "False/AuthenticationFailed";
  }, 15s)) << repo.dump(2);
  EXPECT_NE(Message(repo).find("refused the credentials"), std::string::npos) << Message(repo);
  ASSERT_EQ(C({"apply", "-f", "-"}, secret + "s3cret}\n").exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c1, 60s));  // the next fetch, after the failure's backoff
  EXPECT_TRUE(Exists("namespace/shop", "default"));
}

TEST_F(GitOpsTest, SshWithAKeyAndKnownHostsFromASecretAndAnUnknownHostKeyRefused) {
  if (!controller::gitops::testing::SshdAvailable()) GTEST_SKIP() << "sshd (openssh-server), ssh-keygen or git-shell missing";
  repo_->Write("apps/ns.yaml", kNamespace);
  std::string c1 = repo_->Commit("first");
  controller::gitops::testing::SshGitServer sshd((root_ / "ssh").string());
  ASSERT_TRUE(sshd.Start()) << sshd.log();
  auto secret = [&](const std::string& known_hosts) {
    json s = {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "git-ssh"}}},
              {"stringData", {{"identity", sshd.ClientKey()}, {"known_hosts", known_hosts}}}};
    return C({"apply", "-f", "-"}, s.dump()).exit_code;
  };
  ASSERT_EQ(secret(sshd.WrongKnownHosts()), 0);
  // An hour's interval: after the failure only the backoff (2 s, 4 s, 8 s...) or the Secret's change retries.
  std::string objects = GitOpsObjects(sshd.Url(repo_->Bare()));
  objects.replace(objects.find("interval: 1s, timeout: 10s}"), 27, "interval: 1h, timeout: 10s, secretRef: {name: git-ssh}}");
  ASSERT_EQ(C({"apply", "-f", "-"}, objects).exit_code, 0);
  json repo;
  ASSERT_TRUE(WaitUntil([&] {
    repo = Get("gitrepository/infra");
    return Reason(repo) == "False/HostKeyVerificationFailed";
  }, 20s)) << repo.dump(2) << sshd.log();
  EXPECT_NE(Message(repo).find("[127.0.0.1]:"), std::string::npos) << Message(repo);
  EXPECT_NE(Message(repo).find("does not match"), std::string::npos) << Message(repo);
  EXPECT_NE(Message(repo).find("SHA256:"), std::string::npos) << Message(repo);
  EXPECT_FALSE(Exists("namespace/shop", "default")) << "nothing fetched from an untrusted host";

  std::this_thread::sleep_for(8s);  // three failures: the backoff is 8 s or more by now
  ASSERT_EQ(secret(sshd.KnownHosts()), 0);
  // The corrected Secret is watched: fetched at once, well before the backoff would retry.
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c1, 4s));
  EXPECT_TRUE(Exists("namespace/shop", "default"));
  EXPECT_EQ(Reason(Get("gitrepository/infra")), "True/Succeeded");
}

TEST_F(GitOpsTest, OnlySignedCommitsAreAppliedWhenVerifyIsOn) {
  if (!controller::gitops::testing::GpgAvailable()) GTEST_SKIP() << "gpg or gpgv missing";
  const std::string home = (root_ / "gnupg").string();
  const std::string key = controller::gitops::testing::MakeGpgKey(home, "alice");
  repo_->Write("apps/ns.yaml", kNamespace);
  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:1"));
  std::string c1 = repo_->CommitSigned("signed", "alice@example.com", home);
  json secret = {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "trusted"}}},
                 {"stringData", {{"alice.asc", key}}}};
  ASSERT_EQ(C({"apply", "-f", "-"}, secret.dump()).exit_code, 0);
  std::string objects = GitOpsObjects(repo_->Url());
  objects.replace(objects.find("timeout: 10s}"), 13, "timeout: 10s, verify: {secretRef: {name: trusted}}}");
  ASSERT_EQ(C({"apply", "-f", "-"}, objects).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c1));
  const json verified_repo = Get("gitrepository/infra");
  const json* verified = Condition(verified_repo, "SourceVerified");
  ASSERT_NE(verified, nullptr);
  EXPECT_EQ(Str(*verified, "status"), "True");

  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:2"));
  std::string unsigned_commit = repo_->Commit("unsigned");
  json repo;
  ASSERT_TRUE(WaitUntil([&] {
    repo = Get("gitrepository/infra");
    return Reason(repo) == "False/VerificationFailed";
  }, 15s)) << repo.dump(2);
  EXPECT_NE(Message(repo).find("is not signed"), std::string::npos) << Message(repo);
  EXPECT_EQ(Str(At(At(repo, "status"), "artifact"), "revision"), "main@sha1:" + c1) << "the unsigned commit is not offered";
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(Image(), "nginx:1");

  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:3"));
  std::string c3 = repo_->CommitSigned("signed again", "alice@example.com", home);
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c3, 60s));
  EXPECT_EQ(Image(), "nginx:3");
  controller::gitops::testing::StopGpgAgent(home);
}

TEST_F(GitOpsTest, WaitReportsHealthAndANewerCommitIsNeverBlocked) {
  std::string stuck = DeploymentIn("shop", "nginx:1");
  stuck.replace(stuck.find("spec: {containers"), 17, "spec: {nodeSelector: {disk: none}, containers");
  repo_->Write("apps/ns.yaml", kNamespace);
  repo_->Write("apps/web.yaml", stuck);
  std::string c1 = repo_->Commit("unschedulable");
  std::string objects = GitOpsObjects(repo_->Url(), ", wait: true, timeout: 4s");
  ASSERT_EQ(C({"apply", "-f", "-"}, objects).exit_code, 0);
  json sync;
  ASSERT_TRUE(WaitUntil([&] {
    sync = Sync();
    return Reason(sync) == "False/Progressing";
  }, 20s)) << sync.dump(2);
  EXPECT_NE(Message(sync).find("Deployment/shop/web"), std::string::npos) << Message(sync);
  ASSERT_TRUE(WaitUntil([&] {
    sync = Sync();
    return Reason(sync) == "False/HealthCheckFailed";
  }, 20s)) << sync.dump(2);
  EXPECT_EQ(Str(At(sync, "status"), "lastAppliedRevision"), "main@sha1:" + c1) << "applied, just not healthy";

  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:2"));
  std::string c2 = repo_->Commit("schedulable");
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c2, 30s));
  EXPECT_NE(Message(Sync()).find("healthy"), std::string::npos) << Message(Sync());
  EXPECT_EQ(IntAt(At(Get("deployment/web", "shop"), "status"), "availableReplicas"), 1);

  // A long wait in progress: the next commit runs at once instead of waiting for it to end.
  ASSERT_EQ(C({"apply", "-f", "-"}, GitOpsObjects(repo_->Url(), ", wait: true, timeout: 5m")).exit_code, 0);
  repo_->Write("apps/web.yaml", stuck);
  std::string c3 = repo_->Commit("unschedulable again");
  ASSERT_TRUE(WaitUntil([&] {
    sync = Sync();
    return Reason(sync) == "False/Progressing" && Str(At(sync, "status"), "lastAppliedRevision") == "main@sha1:" + c3;
  }, 20s)) << sync.dump(2);
  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:3"));
  std::string c4 = repo_->Commit("fixed again");
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c4, 30s));
}

TEST_F(GitOpsTest, AWebhookWithAValidHmacFetchesAtOnceABadOneIs401) {
  if (std::system("openssl version >/dev/null 2>&1 && curl --version >/dev/null 2>&1") != 0) GTEST_SKIP() << "openssl or curl missing";
  repo_->Write("apps/ns.yaml", kNamespace);
  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:1"));
  std::string c1 = repo_->Commit("first");
  ASSERT_EQ(C({"apply", "-f", "-"}, "apiVersion: v1\nkind: Secret\nmetadata: {name: hook}\nstringData: {token: t0ken}\n").exit_code, 0);
  std::string objects = GitOpsObjects(repo_->Url());
  objects.replace(objects.find("interval: 1s, timeout: 10s}"), 27, "interval: 1h, timeout: 10s, webhook: {secretRef: {name: hook}}}");
  ASSERT_EQ(C({"apply", "-f", "-"}, objects).exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c1));  // the first fetch happens at once

  repo_->Write("apps/web.yaml", DeploymentIn("shop", "nginx:2"));
  std::string c2 = repo_->Commit("pushed");
  const std::string body = R"({"ref":"refs/heads/main"})";
  std::ofstream(root_ / "body.json") << body;
  // The generated path: hex HMAC-SHA256 of the repository's uid keyed with the token.
  const json repo = Get("gitrepository/infra");
  const std::string hook_path = Str(At(repo, "status"), "webhookPath");
  const std::string uid = Str(At(repo, "metadata"), "uid");
  EXPECT_EQ(hook_path, "/hooks/gitops/" + GitFixtureRepo::Output("printf '%s' '" + uid +
                                                                 "' | openssl dgst -sha256 -hmac t0ken -r | cut -d' ' -f1"));
  auto post = [&](const std::string& header, const std::string& path) {
    RunResult r = capstan::e2e::Run({"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", server_.data_dir() + "/ca.crt",
                       "-X", "POST", "-H", header, "--data-binary", "@" + (root_ / "body.json").string(),
                       server_.url() + path});
    return r.out;
  };
  const std::string hmac = GitFixtureRepo::Output("printf '%s' '" + body + "' | openssl dgst -sha256 -hmac t0ken -r | cut -d' ' -f1");
  EXPECT_EQ(post("X-Hub-Signature-256: sha256=" + hmac, "/hooks/gitops/default/infra"), "401") << "no predictable path";
  EXPECT_EQ(post("X-Hub-Signature-256: sha256=" + hmac, "/hooks/gitops/" + std::string(64, '0')), "401");
  EXPECT_EQ(post("X-Hub-Signature-256: sha256=0000", hook_path), "401");
  EXPECT_EQ(post("X-Gitlab-Token: wrong", hook_path), "401");
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(Image(), "nginx:1") << "a refused call changes nothing (the poll interval is an hour)";
  const auto sent = SteadyClock::now();
  EXPECT_EQ(post("X-Hub-Signature-256: sha256=" + hmac, hook_path), "202");
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c2, 20s));
  EXPECT_LT(MillisSince(sent), 10000) << "well before the hour of the poll interval";
  EXPECT_EQ(Image(), "nginx:2");
}

TEST_F(GitOpsTest, DeletingAPruningSyncPrunesWhatItAppliedANonPruningOneLeavesIt) {
  repo_->Write("apps/ns.yaml", kNamespace);
  repo_->Write("apps/cm.yaml", ConfigMap("cfg"));
  repo_->Write("apps/keep.yaml", ConfigMap("keep", ", annotations: {gitops.capstan.io/prune: disabled}"));
  repo_->Write("more/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: more}\n");
  std::string c1 = repo_->Commit("first");
  ASSERT_EQ(C({"apply", "-f", "-"}, GitOpsObjects(repo_->Url()) +
                                    "---\napiVersion: gitops.capstan.io/v1alpha1\nkind: Sync\nmetadata: {name: more}\n"
                                    "spec: {sourceRef: {name: infra}, path: more, prune: false, interval: 2s}\n").exit_code, 0);
  ASSERT_NO_FATAL_FAILURE(WaitApplied(c1));
  ASSERT_TRUE(WaitUntil([&] { return Reason(Get("sync/more")) == "True/Succeeded"; }, 15s)) << Get("sync/more").dump(2);
  EXPECT_EQ(At(At(Sync(), "metadata"), "finalizers"), json({"gitops.capstan.io/prune-on-delete"}));
  EXPECT_TRUE(At(At(Get("sync/more"), "metadata"), "finalizers").empty()) << "prune: false needs no finalizer";
  ASSERT_EQ(C({"apply", "-f", "-"}, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: by-hand, namespace: shop}\n").exit_code, 0);

  ASSERT_EQ(C({"delete", "sync", "apps"}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return Sync().is_null(); }, 20s)) << Sync().dump(2);
  EXPECT_FALSE(Exists("configmap/cfg")) << "pruned with the Sync";
  EXPECT_TRUE(Exists("configmap/keep")) << "gitops.capstan.io/prune: disabled";
  EXPECT_TRUE(Exists("configmap/by-hand")) << "never prune what was created by hand";
  EXPECT_TRUE(Exists("namespace/shop", "default")) << "a Namespace holding a hand-made object is kept";
  EXPECT_NE(C({"get", "events", "-n", "default"}).out.find("Finalized"), std::string::npos);

  ASSERT_EQ(C({"delete", "sync", "more"}).exit_code, 0);
  ASSERT_TRUE(WaitUntil([&] { return Get("sync/more").is_null(); }, 20s));
  const json more = Get("configmap/more");
  EXPECT_EQ(Str(At(At(more, "metadata"), "labels"), "gitops.capstan.io/sync"), "default.more") << "left, label and all";

  // The repository deleted: its bare cache goes too.
  const std::filesystem::path cache = std::filesystem::path(server_.data_dir()) / "gitops" / "default" / "infra";
  EXPECT_TRUE(std::filesystem::exists(cache / "HEAD"));
  ASSERT_EQ(C({"delete", "gitrepository", "infra"}).exit_code, 0);
  EXPECT_TRUE(WaitUntil([&] { return !std::filesystem::exists(cache); }, 10s)) << cache;
}

TEST_F(GitOpsTest, DiffShowsWhatApplyWouldChange) {
  const std::string cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: b}\n";
  std::filesystem::create_directories(root_ / "manifests");
  std::ofstream(root_ / "manifests" / "cm.yaml") << cm;
  ASSERT_EQ(C({"apply", "-f", (root_ / "manifests").string()}).exit_code, 0);
  RunResult same = C({"diff", "-f", (root_ / "manifests").string()});
  EXPECT_EQ(same.exit_code, 0) << same.out << same.err;
  EXPECT_EQ(same.out, "");
  std::ofstream(root_ / "manifests" / "cm.yaml") << "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: c}\n";
  RunResult changed = C({"diff", "-f", (root_ / "manifests").string()});
  EXPECT_EQ(changed.exit_code, 1) << changed.err;
  EXPECT_NE(changed.out.find("-  a: b"), std::string::npos) << changed.out;
  EXPECT_NE(changed.out.find("+  a: c"), std::string::npos) << changed.out;
  auto live = Get("configmap/cfg");
  EXPECT_EQ(Str(At(live, "data"), "a"), "b") << "diff changes nothing";
}

}  // namespace
}  // namespace capstan::e2e
