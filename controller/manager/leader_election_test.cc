// Leader election over the real API: two control planes on one API never both run their
// controllers; a released lease passes at once, an abandoned one only after it expired.
#include <gtest/gtest.h>

#include "client/informer_test_util.h"
#include "controller/manager/control_plane.h"
#include "controller/runtime/leader_election.h"

namespace capstan::controller {
namespace {

using client::testing::WaitUntil;
using json = nlohmann::json;
using namespace std::chrono_literals;

class LeaderElectionTest : public client::testing::InProcessApiFixture {
 protected:
  void SetUp() override {
    InProcessApiFixture::SetUp();
    MakeNamespace("kube-system");  // the server creates it at start; this fixture does not
  }
  ControlPlaneOptions PlaneOptions(const std::string& identity) {
    ControlPlaneOptions o;
    api::ApiHandler* handler = handler_.get();
    o.handler = [handler](const api::HttpRequest& r) { return handler->Handle(r); };
    o.token = api::testing::kAdminToken;
    o.election.identity = identity;
    o.election.lease_duration = 3000ms;
    o.election.renew_deadline = 2000ms;
    o.election.retry_period = 100ms;
    return o;
  }
  std::string Holder() {
    auto lease = client_->Get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/capstan-controller-manager");
    return lease.ok() ? (*lease)["spec"].value("holderIdentity", "") : "";
  }
};

TEST_F(LeaderElectionTest, OneLeaderAtATimeAndAReleasedLeasePassesAtOnce) {
  auto a = ControlPlane::Start(PlaneOptions("a"));
  auto b = ControlPlane::Start(PlaneOptions("b"));
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(WaitUntil([&] { return (*a)->running() || (*b)->running(); }));
  // A ReplicaSet reconciled by exactly one control plane: never more Pods than replicas.
  json rs = {{"apiVersion", "apps/v1"},
             {"kind", "ReplicaSet"},
             {"metadata", {{"name", "solo"}}},
             {"spec",
              {{"replicas", 4},
               {"selector", {{"matchLabels", {{"app", "solo"}}}}},
               {"template",
                {{"metadata", {{"labels", {{"app", "solo"}}}}},
                 {"spec", {{"containers", {{{"name", "c"}, {"image", "busybox"}}}}}}}}}}};
  ASSERT_TRUE(client_->Create("/apis/apps/v1/namespaces/default/replicasets", rs).ok());
  size_t most = 0;
  const auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until) {
    EXPECT_FALSE((*a)->running() && (*b)->running()) << "two leaders";
    auto pods = client_->List("/api/v1/namespaces/default/pods", {{"labelSelector", "app=solo"}});
    if (pods.ok()) most = std::max(most, (*pods)["items"].size());
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(most, 4u);

  auto& leader = (*a)->running() ? *a : *b;
  auto& other = (*a)->running() ? *b : *a;
  const std::string next = (*a)->running() ? "b" : "a";
  const auto stopped = std::chrono::steady_clock::now();
  leader->Stop();  // releases the lease
  ASSERT_TRUE(WaitUntil([&] { return other->running(); }, 5000ms));
  EXPECT_LT(std::chrono::steady_clock::now() - stopped, 2000ms) << "a released lease should not wait for expiry";
  EXPECT_EQ(Holder(), next);
}

// A holder that vanished without releasing: the candidate waits a full lease duration from when
// it first saw the record, on its own clock.
TEST_F(LeaderElectionTest, AnAbandonedLeaseIsTakenOnlyAfterItExpired) {
  json lease = {{"apiVersion", "coordination.k8s.io/v1"},
                {"kind", "Lease"},
                {"metadata", {{"name", "capstan-controller-manager"}, {"namespace", "kube-system"}}},
                {"spec",
                 {{"holderIdentity", "ghost"},
                  {"leaseDurationSeconds", 3},
                  {"renewTime", MicroTimeNow()},
                  {"leaseTransitions", 3}}}};
  ASSERT_TRUE(client_->Create("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases", lease).ok());
  std::atomic<bool> leading{false};
  LeaderElectionOptions o = PlaneOptions("c").election;
  o.on_started_leading = [&] { leading = true; };
  o.on_stopped_leading = [&] { leading = false; };
  auto elector = LeaderElector::Create(client_.get(), o);
  ASSERT_TRUE(elector.ok());
  const auto started = std::chrono::steady_clock::now();
  (*elector)->Start();
  ASSERT_TRUE(WaitUntil([&] { return leading.load(); }, 8000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 3000ms);
  auto got = client_->Get("/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/capstan-controller-manager");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)["spec"]["holderIdentity"], "c");
  EXPECT_EQ((*got)["spec"]["leaseTransitions"], 4);
  (*elector)->Stop();
  EXPECT_FALSE(leading.load());
  EXPECT_EQ(Holder(), "") << "released on Stop";
}

TEST(LeaderElectorOptionsTest, RejectsDeadlinesThatCouldOverlap) {
  LeaderElectionOptions o;
  o.renew_deadline = o.lease_duration;
  EXPECT_EQ(LeaderElector::Create(nullptr, o).status().code(), Code::kInvalid);
  o = LeaderElectionOptions{};
  o.retry_period = o.renew_deadline;
  EXPECT_EQ(LeaderElector::Create(nullptr, o).status().code(), Code::kInvalid);
}

}  // namespace
}  // namespace capstan::controller
