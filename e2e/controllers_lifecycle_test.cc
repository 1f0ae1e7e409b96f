// The control loops end to end, part 2: cascading deletion in the three propagation policies, a
// second server on the same data dir refused, and a server SIGKILLed mid-rollout that converges
// after restart without ever holding more Pods than the strategy allows. 127.0.0.1 only.
#include <gtest/gtest.h>
#include <signal.h>

#include "e2e/controllers_test_util.h"

namespace capstan::e2e {
namespace {

using namespace controllers_testing;
using nlohmann::json;
using namespace std::chrono_literals;
TEST_F(ControllersTest, CascadeDeleteBackgroundForegroundOrphan) {
  ASSERT_NO_FATAL_FAILURE(StartServer(R"({"startLatencyMs":50})"));
  for (const char* name : {"bg", "fg", "orphan"}) ASSERT_NO_FATAL_FAILURE(Apply(DeploymentYaml(name, 2, "nginx:1.25")));
  for (const char* name : {"bg", "fg", "orphan"}) ASSERT_NO_FATAL_FAILURE(WaitRollout(name, "nginx:1.25", 2));

  {  // Background: the Deployment goes at once; its ReplicaSet and Pods follow.
    SCOPED_TRACE("background");
    RunResult r = K({"delete", "deployment", "bg", "--cascade=background"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(Deployment("bg").is_null());
    EXPECT_TRUE(WaitUntil([&] { return ReplicaSets("bg").empty() && Pods("bg").empty(); }, 15s))
        << K({"get", "rs,pods", "-l", "app=bg"}).out;
  }

  {  // Foreground: the Deployment stays, marked, while a dependent remains. A finalizer holds one
     // Pod so that the wait is observable; releasing it lets the cascade finish.
    SCOPED_TRACE("foreground");
    std::vector<json> pods = Pods("fg");
    ASSERT_EQ(pods.size(), 2u);
    const std::string held = Name(pods[0]);
    RunResult r = K({"patch", "pod", held, "--type=merge", "-p", R"({"metadata":{"finalizers":["e2e.capstan.io/hold"]}})"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    r = K({"delete", "deployment", "fg", "--cascade=foreground", "--wait=false"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    std::set<std::string> names_seen;
    for (const json& p : pods) names_seen.insert(Name(p));
    // The other Pod goes; the held one is marked; the ReplicaSet and the Deployment wait.
    ASSERT_TRUE(WaitUntil(
        [&] {
          std::vector<json> now = Pods("fg");
          for (const json& p : now) names_seen.insert(Name(p));
          return now.size() == 1 && Name(now[0]) == held && Deleting(now[0]);
        },
        15s))
        << K({"get", "rs,pods", "-l", "app=fg", "-o", "wide"}).out;
    std::this_thread::sleep_for(1500ms);
    json marked = Deployment("fg");
    ASSERT_FALSE(marked.is_null()) << "the Deployment went before its dependents";
    EXPECT_TRUE(Deleting(marked));
    EXPECT_EQ(At(At(marked, "metadata"), "finalizers"), json::array({"foregroundDeletion"}));
    std::vector<json> sets = ReplicaSets("fg");
    ASSERT_EQ(sets.size(), 1u) << "the ReplicaSet went before its held Pod";
    EXPECT_TRUE(Deleting(sets[0]));
    EXPECT_EQ(At(At(sets[0], "metadata"), "finalizers"), json::array({"foregroundDeletion"}))
        << "dependents are deleted in foreground too";
    for (const json& p : Pods("fg")) names_seen.insert(Name(p));
    EXPECT_EQ(names_seen.size(), 2u) << "no Pod may be created for a Deployment being deleted";

    r = K({"patch", "pod", held, "--type=json", "-p", R"([{"op":"remove","path":"/metadata/finalizers"}])"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(WaitUntil([&] { return Deployment("fg").is_null(); }, 15s))
        << Deployment("fg").dump(2) << K({"get", "rs,pods", "-l", "app=fg"}).out;
    EXPECT_TRUE(Pods("fg").empty());
    EXPECT_TRUE(ReplicaSets("fg").empty());
  }

  {  // Orphan: the Deployment goes; its ReplicaSet and Pods stay, no longer owned by it.
    SCOPED_TRACE("orphan");
    json d = Deployment("orphan");
    const std::string uid = Uid(d);
    std::set<std::string> before;
    for (const json& p : Pods("orphan")) before.insert(Name(p));
    RunResult r = K({"delete", "deployment", "orphan", "--cascade=orphan"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    EXPECT_TRUE(WaitUntil([&] { return Deployment("orphan").is_null(); }, 10s));
    std::this_thread::sleep_for(2s);  // time for a wrong collection to happen
    std::vector<json> sets = ReplicaSets("orphan");
    ASSERT_EQ(sets.size(), 1u);
    EXPECT_FALSE(Deleting(sets[0]));
    EXPECT_FALSE(OwnedBy(sets[0], uid)) << sets[0]["metadata"].dump(2);
    EXPECT_EQ(IntAt(At(sets[0], "spec"), "replicas"), 2);
    std::set<std::string> after;
    for (const json& p : Pods("orphan")) {
      after.insert(Name(p));
      EXPECT_TRUE(OwnedBy(p, Uid(sets[0]))) << "the Pods still belong to their ReplicaSet";
      EXPECT_FALSE(OwnedBy(p, uid));
      EXPECT_TRUE(PodRunningReady(p));
    }
    EXPECT_EQ(after, before);
  }
}

// ---- 8. Two servers on one data dir -------------------------------------------------------------

TEST_F(ControllersTest, SecondServerOnTheSameDataDirIsRefused) {
  ASSERT_NO_FATAL_FAILURE(StartServer(R"({"startLatencyMs":50})"));
  ASSERT_NO_FATAL_FAILURE(Apply(DeploymentYaml("web", 2, "nginx:1.25")));
  ASSERT_NO_FATAL_FAILURE(WaitRollout("web", "nginx:1.25", 2));
  const std::string kubeconfig = ReadFile(server_.kubeconfig());
  const std::string token = server_.token();

  // Not through ServerProcess: its Start would remove the first server's kubeconfig.
  const auto start = SteadyClock::now();
  RunResult second = e2e::Run({CapstanBin(), "server", "--data-dir", server_.data_dir(), "--listen", "127.0.0.1:0",
                          "--driver", "fake", "--node-name", "e2e-node-2"},
                         "", {{"HOME", server_.home()}}, 20s);
  const long long took = MillisSince(start);
  EXPECT_FALSE(second.timed_out) << "the second server kept running";
  EXPECT_NE(second.exit_code, 0);
  EXPECT_EQ(second.exit_code, 1);
  const std::string said = second.out + second.err;
  EXPECT_NE(said.find("cannot start"), std::string::npos) << said;
  EXPECT_NE(said.find("is in use by process " + std::to_string(server_.pid())), std::string::npos) << said;
  EXPECT_NE(said.find("lock"), std::string::npos) << said;
  EXPECT_LT(took, 10000);
  std::printf("[ two servers ] the second exited %d after %lld ms: %s", second.exit_code, took, said.c_str());

  // The first is untouched: same credentials, still serving and reconciling.
  EXPECT_EQ(ReadFile(server_.kubeconfig()), kubeconfig);
  EXPECT_EQ(server_.token(), token);
  EXPECT_TRUE(Get("/api/v1/nodes/e2e-node-2").is_null()) << "the refused server registered a Node";
  RunResult r = K({"scale", "deployment/web", "--replicas=3"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_NO_FATAL_FAILURE(WaitRollout("web", "nginx:1.25", 3, 15s));
  // And it holds the controllers' Lease.
  json lease = Get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/capstan-controller-manager");
  EXPECT_FALSE(Str(At(lease, "spec"), "holderIdentity").empty()) << lease.dump(2);
}

// ---- 9. SIGKILL mid-rollout ---------------------------------------------------------------------

TEST_F(ControllersTest, KilledMidRolloutConvergesWithoutExtraPods) {
  constexpr int kReplicas = 6, kSurge = 1, kUnavailable = 1;
  // 400 ms to start a Pod: a rollout takes about 1.5 s, so the kills land inside it.
  ASSERT_NO_FATAL_FAILURE(StartServer(R"({"startLatencyMs":400})"));
  ASSERT_NO_FATAL_FAILURE(Apply(DeploymentYaml("web", kReplicas, "nginx:1.25", RollingUpdate("1", "1"))));
  ASSERT_NO_FATAL_FAILURE(WaitRollout("web", "nginx:1.25", kReplicas));

  std::random_device seed_source;
  const unsigned seed = seed_source();
  std::mt19937 rng(seed);
  std::printf("[ sigkill ] seed %u\n", seed);
  const auto bound = [&](const PodSet& p) -> std::string {
    return p.Total() > kReplicas + kSurge ? "total " + std::to_string(p.Total()) + " > " +
                                                std::to_string(kReplicas + kSurge)
                                          : "";
  };
  const std::vector<int> base_delays = {100, 400, 900};
  int killed_mid_rollout = 0;
  for (size_t round = 0; round < base_delays.size(); ++round) {
    const std::string image = "nginx:1." + std::to_string(26 + round);
    const int delay = base_delays[round] + static_cast<int>(rng() % 100);
    SCOPED_TRACE("round " + std::to_string(round) + ": " + image + ", SIGKILL after " + std::to_string(delay) + " ms");

    // Watch from before the change until the server dies.
    Watch before;
    ASSERT_TRUE(before.Start(server_, "web"));
    PodSet pods;
    Replay settled;
    ReplayWatch(before, pods, settled, nullptr, [](const PodSet& p) { return p.size() == kReplicas; }, 10s, 100ms);
    ASSERT_TRUE(settled.done) << pods.Describe();
    ASSERT_NO_FATAL_FAILURE(SetImage("web", image));
    std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    EXPECT_EQ(server_.Stop(SIGKILL), -SIGKILL);
    // Until the kill the server was up: the whole RollingUpdate invariant holds.
    Replay pre;
    ReplayWatch(before, pods, pre, RollingInvariant(kReplicas, kSurge, kUnavailable),
                [](const PodSet&) { return false; }, 300ms);
    before.Stop();
    EXPECT_EQ(pre.violations, 0) << "before the kill: " << pre.first_violation;
    if (!AllAvailableWith(image, kReplicas)(pods)) ++killed_mid_rollout;
    std::printf("[ sigkill ] round %zu: killed %d ms after set image; %d events before; at the kill: %d pods, "
                "%d of %s, %d available\n",
                round, delay, pre.events, static_cast<int>(pods.size()), pods.WithImage(image), image.c_str(),
                pods.Available());

    // Restart on the same data dir; list (the watch's first events) then watch at once.
    const auto restart = SteadyClock::now();
    const std::string restart_wall = UtcSeconds(std::chrono::system_clock::now());
    ASSERT_TRUE(server_.Start(ServerFlags())) << server_.log();
    Watch after;
    ASSERT_TRUE(after.Start(server_, "web"));
    PodSet now;
    Replay r;
    ReplayWatch(after, now, r, bound, AllAvailableWith(image, kReplicas), 40s);
    EXPECT_TRUE(r.done) << "no convergence within 40 s of the restart" << (r.ended ? " (the watch ended)" : "")
                        << ":\n" << now.Describe() << LogTail(40);
    EXPECT_EQ(r.violations, 0) << r.first_violation;
    ASSERT_NO_FATAL_FAILURE(WaitRollout("web", image, kReplicas, 10s));
    std::printf("[ sigkill ] round %zu: converged %lld ms after the restart; %d events; max total %d (bound %d); "
                "min available %d\n",
                round, MillisSince(restart), r.checked, r.max_total, kReplicas + kSurge, r.min_available);
    // The restarted driver held no runs: every Pod, old or new, runs because the node agent
    // started it again after the restart.
    std::string restarts;
    for (const json& p : Pods("web")) {
      const json& statuses = At(At(p, "status"), "containerStatuses");
      ASSERT_TRUE(statuses.is_array() && !statuses.empty()) << p.dump(2);
      const std::string started = Str(At(At(statuses[0], "state"), "running"), "startedAt");
      EXPECT_GE(started, restart_wall) << Name(p) << " claims a container started before the restart";
      restarts += " " + std::to_string(IntAt(statuses[0], "restartCount")) + At(statuses[0], "lastState").dump();
    }
    std::printf("[ sigkill ]   restartCount and lastState of each Pod:%s\n", restarts.c_str());
  }
  EXPECT_GE(killed_mid_rollout, 2) << "the kills should interrupt rollouts";
  const std::string log = server_.log();
  EXPECT_NE(log.find("node agent recovered pod runs"), std::string::npos);
}

}  // namespace
}  // namespace capstan::e2e
