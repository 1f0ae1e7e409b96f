// NodeAgent with the fake driver against the real API handler over a RocksStore in a temporary
// directory: registration and re-registration, the heartbeat Lease, Ready on driver health, and
// pods through start latency, crash loops, restartPolicy Never, deletion and agent restarts.
#include "node/node_agent.h"

#include <gtest/gtest.h>

#include "base/metrics.h"
#include "node/fake_driver.h"
#include "node/node_agent_test_fixture.h"

namespace capstan::node {
namespace {

using namespace testing;  // the fixture (node_agent_test_fixture.h)

TEST_F(NodeAgentTest, RegistersAReadyNodeAndRenewsItsLease) {
  controller::FakeClock clock;
  FakeDriver driver({}, &clock);
  NodeAgentOptions o = Options(&driver, &clock);
  o.heartbeat_interval = 10s;
  o.labels = {{"node-role.kubernetes.io/hollow", ""}};
  NodeAgent agent(client_.get(), o);
  ASSERT_TRUE(agent.Start().ok());

  json node = Get("/api/v1/nodes/hollow-1");
  ASSERT_FALSE(node.is_null());
  EXPECT_EQ(node["spec"]["driver"]["name"], "fake");
  EXPECT_EQ(node["metadata"]["labels"]["kubernetes.io/hostname"], kNode);
  EXPECT_EQ(node["metadata"]["labels"]["kubernetes.io/os"], "linux");
  EXPECT_TRUE(node["metadata"]["labels"].contains("kubernetes.io/arch"));
  EXPECT_TRUE(node["metadata"]["labels"].contains("node-role.kubernetes.io/hollow"));
  EXPECT_EQ(node["status"]["capacity"], json({{"cpu", "64"}, {"memory", "256Gi"}, {"pods", "10000"}}));
  EXPECT_EQ(node["status"]["allocatable"], node["status"]["capacity"]);
  const json& ready = Condition(node, "Ready");
  EXPECT_EQ(ready["status"], "True");
  EXPECT_EQ(ready["reason"], "KubeletReady");
  EXPECT_EQ(ready["message"], "capstan node agent is posting ready status");
  EXPECT_TRUE(ready.contains("lastHeartbeatTime"));
  EXPECT_TRUE(ready.contains("lastTransitionTime"));
  EXPECT_EQ(node["status"]["addresses"],
            json::parse(R"([{"type":"InternalIP","address":"10.1.2.3"},{"type":"Hostname","address":"hollow-1"}])"));
  EXPECT_EQ(node["status"]["nodeInfo"]["kubeletVersion"], "v1.30.0-capstan");
  EXPECT_EQ(node["status"]["nodeInfo"]["containerRuntimeVersion"], "fake://1.0");
  EXPECT_EQ(node["status"]["nodeInfo"]["operatingSystem"], "linux");
  // The host's own facts, as kubectl get nodes -o wide shows them.
  EXPECT_FALSE(node["status"]["nodeInfo"].value("kernelVersion", "").empty());
  EXPECT_FALSE(node["status"]["nodeInfo"].value("osImage", "").empty());

  json lease;
  ASSERT_TRUE(WaitUntil([&] { return !(lease = Get(kLease)).is_null(); }));
  EXPECT_EQ(lease["spec"]["holderIdentity"], kNode);
  EXPECT_EQ(lease["spec"]["leaseDurationSeconds"], 40);
  EXPECT_EQ(lease["spec"]["renewTime"].get<std::string>().size(), 27u);  // 2006-01-02T15:04:05.000000Z
  EXPECT_EQ(lease["metadata"]["ownerReferences"][0]["uid"], node["metadata"]["uid"]);
  const std::string rv = MetaString(lease, "resourceVersion");

  // Time stands still: no renewal. Then each heartbeat interval renews it.
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(MetaString(Get(kLease), "resourceVersion"), rv);
  bool renewed = false;
  for (int i = 0; i < 100 && !renewed; ++i) {
    clock.Advance(10s);
    renewed = WaitUntil([&] { return MetaString(Get(kLease), "resourceVersion") != rv; }, 50ms);
  }
  EXPECT_TRUE(renewed);

  // A deleted lease is re-created.
  ASSERT_TRUE(client_->Delete(kLease).ok());
  bool recreated = false;
  for (int i = 0; i < 100 && !recreated; ++i) {
    clock.Advance(10s);
    recreated = WaitUntil([&] { return !Get(kLease).is_null(); }, 50ms);
  }
  EXPECT_TRUE(recreated);
  agent.Stop();
  EXPECT_FALSE(Get("/api/v1/nodes/hollow-1").is_null());  // Stop does not delete the Node
}

TEST_F(NodeAgentTest, ReRegistrationKeepsTheUsersSpecAndLabels) {
  json node = json::parse(R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"hollow-1","labels":{"team":"a"}},
    "spec":{"unschedulable":true,"taints":[{"key":"dedicated","value":"batch","effect":"NoSchedule"}],
            "driver":{"name":"fake","config":{"startLatencyMs":5}}}})");
  ASSERT_TRUE(client_->Create("/api/v1/nodes", node).ok());
  FakeDriver driver;
  NodeAgent agent(client_.get(), Options(&driver));
  ASSERT_TRUE(agent.Start().ok());
  json got = Get("/api/v1/nodes/hollow-1");
  EXPECT_EQ(got["spec"]["taints"][0]["key"], "dedicated");
  EXPECT_EQ(got["spec"]["unschedulable"], true);
  EXPECT_EQ(got["spec"]["driver"]["config"]["startLatencyMs"], 5);
  EXPECT_EQ(got["metadata"]["labels"]["team"], "a");
  EXPECT_EQ(got["metadata"]["labels"]["kubernetes.io/hostname"], kNode);
  EXPECT_TRUE(IsReady(got));
  EXPECT_EQ(got["status"]["capacity"]["pods"], "10000");
}

TEST_F(NodeAgentTest, APodBecomesRunningAndReady) {
  FakeDriver driver;
  NodeAgent agent(client_.get(), Options(&driver));
  ASSERT_TRUE(agent.Start().ok());
  json created = CreatePod(Pod("web"));
  json pod = WaitPod("web", [](const json& p) { return p["status"]["phase"] == "Running" && IsReady(p); });
  const json& status = pod["status"];
  EXPECT_EQ(status["hostIP"], "10.1.2.3");
  EXPECT_EQ(status["podIP"], "10.1.2.3");
  EXPECT_TRUE(status.contains("startTime"));
  EXPECT_EQ(status["qosClass"], "BestEffort");  // not the agent's: kept
  for (const char* type : {"Initialized", "ContainersReady", "Ready", "PodScheduled"}) {
    EXPECT_EQ(Condition(pod, type)["status"], "True") << type;
    EXPECT_TRUE(Condition(pod, type).contains("lastTransitionTime")) << type;
  }
  ASSERT_EQ(status["containerStatuses"].size(), 1u);
  const json& cs = status["containerStatuses"][0];
  EXPECT_EQ(cs["name"], "app");
  EXPECT_EQ(cs["image"], "nginx:1.25");
  EXPECT_EQ(cs["imageID"], "fake://nginx:1.25");
  EXPECT_TRUE(cs["containerID"].get<std::string>().starts_with("fake://"));
  EXPECT_EQ(cs["ready"], true);
  EXPECT_EQ(cs["started"], true);
  EXPECT_EQ(cs["restartCount"], 0);
  EXPECT_TRUE(cs["state"]["running"].contains("startedAt"));
  EXPECT_EQ(driver.PodCount(), 1u);

  // The status is written once: the update event it causes finds nothing to change.
  ASSERT_TRUE(WaitUntil([&] { return Idle(agent); }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(agent.StatusWrites(), 1u);
  EXPECT_EQ(MetaString(GetPod("web"), "resourceVersion"), MetaString(pod, "resourceVersion"));
}

TEST_F(NodeAgentTest, StartLatencyHoldsReadyBackUntilItPasses) {
  controller::FakeClock clock;
  FakeDriverConfig config;
  config.start_latency = 5s;
  FakeDriver driver(config, &clock);
  NodeAgentOptions o = Options(&driver, &clock);
  o.heartbeat_interval = 1h;
  NodeAgent agent(client_.get(), o);
  ASSERT_TRUE(agent.Start().ok());
  CreatePod(Pod("slow"));
  json pod = WaitPod("slow", [](const json& p) { return p["status"].contains("containerStatuses"); });
  EXPECT_EQ(pod["status"]["phase"], "Pending");
  EXPECT_EQ(pod["status"]["containerStatuses"][0]["state"]["waiting"]["reason"], "ContainerCreating");
  EXPECT_EQ(Condition(pod, "Ready")["status"], "False");

  clock.Advance(4s);
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(IsReady(GetPod("slow")));

  bool ready = false;
  for (int i = 0; i < 50 && !ready; ++i) {
    clock.Advance(1s);
    ready = WaitUntil([&] { return IsReady(GetPod("slow")); }, 100ms);
  }
  EXPECT_TRUE(ready);
  pod = GetPod("slow");
  EXPECT_EQ(pod["status"]["phase"], "Running");
  EXPECT_TRUE(pod["status"]["containerStatuses"][0]["state"].contains("running"));
  EXPECT_FALSE(pod["status"]["containerStatuses"][0]["state"].contains("waiting"));
  // The patch deleted the reasons of the conditions that became True.
  EXPECT_FALSE(Condition(pod, "Ready").contains("reason"));
  EXPECT_FALSE(Condition(pod, "ContainersReady").contains("message"));
  ASSERT_TRUE(WaitUntil([&] { return Idle(agent); }));
  EXPECT_EQ(agent.StatusWrites(), 2u);  // Pending, then Running
}

TEST_F(NodeAgentTest, FailingContainersCrashLoopWithGrowingRestartCount) {
  FakeDriverConfig config;
  config.failure_rate = 1;
  FakeDriver driver(config);
  NodeAgent agent(client_.get(), Options(&driver));
  ASSERT_TRUE(agent.Start().ok());
  CreatePod(Pod("crashy"));
  json pod = WaitPod("crashy", [](const json& p) {
    const json& cs = client::Field(p["status"], "containerStatuses");
    return cs.is_array() && !cs.empty() && cs[0]["restartCount"].get<int>() >= 3;
  });
  EXPECT_FALSE(IsReady(pod));
  EXPECT_EQ(pod["status"]["phase"], "Running");  // restarting under restartPolicy Always
  const json& cs = pod["status"]["containerStatuses"][0];
  EXPECT_EQ(cs["ready"], false);
  EXPECT_EQ(cs["lastState"]["terminated"]["exitCode"], 1);
  EXPECT_EQ(cs["lastState"]["terminated"]["reason"], "Error");
  EXPECT_GE(driver.Starts(), 4u);
  WaitPod("crashy", [](const json& p) {
    return p["status"]["containerStatuses"][0]["state"]["waiting"]["reason"] == "CrashLoopBackOff";
  });
}

// A driver that reports exits, as plugins do (PluginDriver): the handler the agent registered.
class ExitReportingDriver : public FakeDriver {
 public:
  void OnPodExit(std::function<void(const std::string&)> handler) override {
    std::lock_guard<std::mutex> lock(mu_);
    handler_ = std::move(handler);
  }
  void ReportExit(const std::string& uid) {
    std::lock_guard<std::mutex> lock(mu_);
    if (handler_) handler_(uid);
  }

 private:
  std::mutex mu_;
  std::function<void(const std::string&)> handler_;
};

TEST_F(NodeAgentTest, AReportedExitIsLookedAtAtOnceNotAtTheNextResync) {
  ExitReportingDriver driver;
  NodeAgentOptions o = Options(&driver);
  o.pod_resync_interval = std::chrono::milliseconds(0);  // nothing else would look again
  NodeAgent agent(client_.get(), o);
  ASSERT_TRUE(agent.Start().ok());
  CreatePod(Pod("first"));
  const json second = CreatePod(Pod("second"));
  WaitPod("first", IsReady);
  WaitPod("second", IsReady);
  ASSERT_TRUE(WaitUntil([&] { return Idle(agent); }));
  auto runs = driver.ListPods();
  ASSERT_TRUE(runs.ok());
  const std::string uid = MetaString(second, "uid");
  auto run = std::find_if(runs->begin(), runs->end(), [&](const PodHandle& h) { return h.pod_uid == uid; });
  ASSERT_NE(run, runs->end());
  // The container ends behind the agent's back; the driver says so, naming the pod by uid.
  ASSERT_TRUE(driver.StopPod(*run, std::chrono::milliseconds(0)).ok());
  driver.ReportExit("no-such-uid");  // a pod the agent does not know: ignored
  driver.ReportExit(uid);
  json pod = WaitPod("second", [](const json& p) {
    const json& cs = client::Field(p["status"], "containerStatuses");
    return cs.is_array() && !cs.empty() && cs[0]["restartCount"].get<int>() >= 1;
  });
  EXPECT_EQ(pod["status"]["containerStatuses"][0]["restartCount"], 1);
  EXPECT_EQ(GetPod("first")["status"]["containerStatuses"][0]["restartCount"], 0);
}

// As the plugins do: a run that stops is reported as an exit, naming the pod's uid.
class StopReportingDriver : public ExitReportingDriver {
 public:
  Status StopPod(const PodHandle& handle, std::chrono::milliseconds grace) override {
    Status s = ExitReportingDriver::StopPod(handle, grace);
    ReportExit(handle.pod_uid);
    return s;
  }
};

TEST_F(NodeAgentTest, TheFinalDeleteIsSentOnceThoughTheExitNoticeWakesThePodAgain) {
  StopReportingDriver driver;
  NodeAgent agent(client_.get(), Options(&driver));
  ASSERT_TRUE(agent.Start().ok());
  metrics::Counter& deletes_of_nothing =
      metrics::DefaultRegistry().Counter("apiserver_request_total", "", {"verb", "code"}).With({"DELETE", "404"});
  for (int i = 0; i < 10; ++i) CreatePod(Pod("doomed-" + std::to_string(i)));
  for (int i = 0; i < 10; ++i) WaitPod("doomed-" + std::to_string(i), IsReady);
  const double before = deletes_of_nothing.Value();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(client_->Delete(std::string(kPods) + "/doomed-" + std::to_string(i)).ok());
  ASSERT_TRUE(WaitUntil([&] { return driver.PodCount() == 0 && agent.TrackedPods() == 0 && Idle(agent); }));
  for (int i = 0; i < 10; ++i) {
    const std::string path = std::string(kPods) + "/doomed-" + std::to_string(i);
    EXPECT_TRUE(WaitUntil([&] { return client_->Get(path).status().IsNotFound(); }));
  }
  // The exit notice re-runs the key before the cache shows the Pod gone: a second final delete
  // would find nothing (404).
  EXPECT_EQ(deletes_of_nothing.Value(), before);
}

TEST_F(NodeAgentTest, RestartPolicyNeverFailsThePod) {
  FakeDriverConfig config;
  config.failure_rate = 1;
  FakeDriver driver(config);
  NodeAgent agent(client_.get(), Options(&driver));
  ASSERT_TRUE(agent.Start().ok());
  CreatePod(Pod("once", "Never"));
  json pod = WaitPod("once", [](const json& p) { return p["status"]["phase"] == "Failed"; });
  const json& term = pod["status"]["containerStatuses"][0]["state"]["terminated"];
  EXPECT_EQ(term["exitCode"], 1);
  EXPECT_EQ(term["reason"], "Error");
  EXPECT_EQ(Condition(pod, "Ready")["reason"], "PodCompleted");
  std::this_thread::sleep_for(100ms);  // several back-off periods: nothing restarts
  EXPECT_EQ(driver.Starts(), 1u);
  EXPECT_EQ(GetPod("once")["status"]["containerStatuses"][0]["restartCount"], 0);
}

TEST_F(NodeAgentTest, DeletingThePodRemovesItFromTheDriver) {
  FakeDriver driver;
  NodeAgent agent(client_.get(), Options(&driver));
  ASSERT_TRUE(agent.Start().ok());
  CreatePod(Pod("doomed"));
  WaitPod("doomed", IsReady);
  EXPECT_EQ(driver.PodCount(), 1u);
  auto marked = client_->Delete(std::string(kPods) + "/doomed");
  ASSERT_TRUE(marked.ok()) << marked.status().ToString();
  // A Pod on a node is deleted gracefully: marked first, with its grace (the default 30 s)...
  EXPECT_FALSE(MetaString(*marked, "deletionTimestamp").empty());
  EXPECT_EQ((*marked)["metadata"]["deletionGracePeriodSeconds"], 30);
  // ...then the agent stops its containers and deletes it for good.
  EXPECT_TRUE(WaitUntil([&] { return driver.PodCount() == 0 && agent.TrackedPods() == 0; }));
  EXPECT_TRUE(WaitUntil([&] { return client_->Get(std::string(kPods) + "/doomed").status().IsNotFound(); }));
}

TEST_F(NodeAgentTest, ASecondAgentAdoptsRunningPodsWithoutRestartingThem) {
  FakeDriver driver;
  {
    NodeAgent first(client_.get(), Options(&driver));
    ASSERT_TRUE(first.Start().ok());
    CreatePod(Pod("keep"));
    WaitPod("keep", IsReady);
    first.Stop();
  }
  auto runs = driver.ListPods();
  ASSERT_TRUE(runs.ok());
  ASSERT_EQ(runs->size(), 1u);
  const std::string run_id = (*runs)[0].id;
  // A run whose pod is gone (deleted while no agent ran) is removed at recovery.
  json ghost = Pod("ghost");
  ghost["metadata"]["uid"] = "ghost-uid";
  ASSERT_TRUE(driver.StartPod(ghost).ok());
  const uint64_t starts = driver.Starts();
  const std::string rv = MetaString(GetPod("keep"), "resourceVersion");

  NodeAgent second(client_.get(), Options(&driver));
  ASSERT_TRUE(second.Start().ok());
  EXPECT_EQ(second.TrackedPods(), 1u);
  runs = driver.ListPods();
  ASSERT_EQ(runs->size(), 1u);
  EXPECT_EQ((*runs)[0].id, run_id);
  ASSERT_TRUE(WaitUntil([&] { return Idle(second); }));
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(driver.Starts(), starts);
  EXPECT_EQ(second.StatusWrites(), 0u);
  EXPECT_EQ(MetaString(GetPod("keep"), "resourceVersion"), rv);
  EXPECT_TRUE(IsReady(GetPod("keep")));
}

TEST_F(NodeAgentTest, ARunWhosePodIsGoneIsRemovedByTheSweepWhileTheAgentRuns) {
  FakeDriver driver;
  NodeAgentOptions o = Options(&driver);
  o.orphan_sweep_interval = 100ms;
  NodeAgent agent(client_.get(), o);
  ASSERT_TRUE(agent.Start().ok());
  CreatePod(Pod("kept"));
  WaitPod("kept", IsReady);
  // A run the agent never recorded, for a pod that does not exist (a start whose answer was lost).
  json ghost = Pod("ghost");
  ghost["metadata"]["uid"] = "ghost-uid";
  ghost["metadata"]["namespace"] = "default";
  ASSERT_TRUE(driver.StartPod(ghost).ok());
  ASSERT_EQ(driver.PodCount(), 2u);
  ASSERT_TRUE(WaitUntil([&] { return driver.PodCount() == 1; }, 3000ms));
  EXPECT_EQ(agent.OrphansRemoved(), 1u);
  EXPECT_TRUE(IsReady(GetPod("kept"))) << "the tracked pod is untouched";
}

TEST_F(NodeAgentTest, AnUnhealthyDriverMakesTheNodeNotReady) {
  FakeDriver driver;
  NodeAgent agent(client_.get(), Options(&driver));
  ASSERT_TRUE(agent.Start().ok());
  driver.SetHealthy(false, "engine down");
  json node;
  ASSERT_TRUE(WaitUntil([&] {
    node = Get("/api/v1/nodes/hollow-1");
    return Condition(node, "Ready")["status"] == "False";
  }));
  EXPECT_EQ(Condition(node, "Ready")["reason"], "KubeletNotReady");
  EXPECT_EQ(Condition(node, "Ready")["message"], "engine down");
  driver.SetHealthy(true);
  ASSERT_TRUE(WaitUntil([&] { return IsReady(Get("/api/v1/nodes/hollow-1")); }));
}

TEST_F(NodeAgentTest, AReadyConditionSomeoneElseChangedIsPostedAgainAtTheNextHeartbeat) {
  FakeDriver driver;
  NodeAgentOptions o = Options(&driver);
  o.status_update_interval = 1h;  // not the periodic post: the heartbeat must notice
  NodeAgent agent(client_.get(), o);
  ASSERT_TRUE(agent.Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return IsReady(Get("/api/v1/nodes/hollow-1")); }));
  // What the node lifecycle controller writes when heartbeats stopped.
  json unknown = {{"status",
                   {{"conditions", json::array({json{{"type", "Ready"},
                                                     {"status", "Unknown"},
                                                     {"reason", "NodeStatusUnknown"},
                                                     {"message", "Kubelet stopped posting node status."}}})}}}};
  ASSERT_TRUE(client_->Patch("/api/v1/nodes/hollow-1/status", client::PatchType::kStrategic, unknown).ok());
  EXPECT_EQ(Condition(Get("/api/v1/nodes/hollow-1"), "Ready")["status"], "Unknown");
  ASSERT_TRUE(WaitUntil([&] { return IsReady(Get("/api/v1/nodes/hollow-1")); }, 2000ms));
}

// ---- Workloads: ports, images, configuration, probes, preStop ----

std::string EnvValue(const json& container, const std::string& name) {
  for (const json& e : container["env"]) {
    if (e["name"] == name) return e["value"];
  }
  return "<unset>";
}

TEST_F(NodeAgentTest, ContainerPortsGetHostPortsRecordedBeforeTheStartAndFreedOnDeletion) {
  FakeDriver driver;
  NodeAgentOptions o = Options(&driver);
  o.port_range = PortRange{41000, 41009};
  o.port_free = [](int) { return true; };
  NodeAgent agent(client_.get(), o);
  ASSERT_TRUE(agent.Start().ok());
  json pod = Pod("web");
  pod["spec"]["containers"][0]["ports"] = {{{"name", "http"}, {"containerPort", 8080}}, {{"containerPort", 9090}}};
  pod["spec"]["containers"][0]["args"] = {"--listen=:$(PORT)"};
  CreatePod(pod);
  json running = WaitPod("web", IsReady);
  const json& mappings = running["status"]["portMappings"];
  ASSERT_EQ(mappings.size(), 2u) << running["status"].dump();
  EXPECT_EQ(mappings[0], json({{"container", "app"}, {"name", "http"}, {"containerPort", 8080},
                               {"hostPort", 41000}, {"protocol", "TCP"}}));
  EXPECT_EQ(mappings[1]["hostPort"], 41001);
  const json started = driver.LastStartedPod();
  const json& c = started["spec"]["containers"][0];
  EXPECT_EQ(EnvValue(c, "PORT"), "41000");
  EXPECT_EQ(EnvValue(c, "CAPSTAN_PORT_HTTP"), "41000");
  EXPECT_EQ(c["args"][0], "--listen=:41000");
  EXPECT_EQ(c["ports"][1]["hostPort"], 41001);

  ASSERT_TRUE(client_->Delete(std::string(kPods) + "/web").ok());
  ASSERT_TRUE(WaitUntil([&] { return agent.TrackedPods() == 0; }));
  CreatePod(Pod("next"));
  json next = Pod("again");
  next["spec"]["containers"][0]["ports"] = {{{"containerPort", 80}}};
  CreatePod(next);
  json again = WaitPod("again", IsReady);
  EXPECT_EQ(again["status"]["portMappings"][0]["hostPort"], 41002) << "round robin: freed ports come last";
}

TEST_F(NodeAgentTest, AFailingPullBacksOffAndTheImageArrivingStartsThePod) {
  FakeDriver driver;
  driver.SetImages(true, {}, {{"private/app:1", "pull access denied for private/app"}});
  NodeAgentOptions o = Options(&driver);
  o.image_pull_backoff_initial = 200ms;
  o.image_pull_backoff_max = 400ms;
  NodeAgent agent(client_.get(), o);
  ASSERT_TRUE(agent.Start().ok());
  json pod = Pod("pull");
  pod["spec"]["containers"][0]["image"] = "private/app:1";
  CreatePod(pod);
  auto waiting = [](const std::string& reason) {
    return [reason](const json& p) {
      const json& cs = client::Field(p["status"], "containerStatuses");
      return cs.is_array() && !cs.empty() && client::Field(cs[0]["state"], "waiting").value("reason", "") == reason;
    };
  };
  json failed = WaitPod("pull", waiting("ErrImagePull"));
  EXPECT_EQ(failed["status"]["containerStatuses"][0]["state"]["waiting"]["message"], "pull access denied for private/app");
  EXPECT_EQ(failed["status"]["phase"], "Pending");
  WaitPod("pull", waiting("ImagePullBackOff"));
  EXPECT_EQ(driver.Starts(), 0u);
  ASSERT_TRUE(WaitUntil([&] { return driver.PullCount() >= 2; })) << "retried after the back-off";
  driver.SetImages(true, {}, {});
  WaitPod("pull", IsReady);
  EXPECT_EQ(driver.Starts(), 1u);
}

TEST_F(NodeAgentTest, AnImageRemovedBehindTheAgentIsPulledAgainAfterAFailedStart) {
  // Pod A pulled app:1; someone removes it (docker rmi); pod B of app:1 (IfNotPresent) must not
  // take it as present for ever: its first start fails, the next pulls.
  FakeDriver driver;
  driver.SetImages(true, {});
  NodeAgent agent(client_.get(), Options(&driver));
  ASSERT_TRUE(agent.Start().ok());
  RunThenDelete(agent, "a", "app:1");
  ASSERT_TRUE(driver.RemoveImage("app:1").ok());
  CreatePod(PodOf("b", "app:1"));
  WaitPod("b", IsReady);
  EXPECT_EQ(driver.PullCount(), 2u);
  EXPECT_EQ(driver.FailedStarts(), 1u);
}

TEST_F(NodeAgentTest, ImageGcTellsThePullerSoAPodOfARemovedImagePullsItFirst) {
  FakeDriver driver;
  driver.SetImages(true, {});
  constexpr int64_t kMiB = 1024 * 1024;
  driver.SetImageInventory({}, ImageFsStats{1000 * kMiB, 50 * kMiB});  // 95% used: GC removes all it may
  NodeAgentOptions o = Options(&driver);
  o.image_gc.minimum_age = 0ms;
  o.image_gc.period = 50ms;
  NodeAgent agent(client_.get(), o);
  ASSERT_TRUE(agent.Start().ok());
  RunThenDelete(agent, "a", "app:1");
  ASSERT_TRUE(WaitUntil([&] { return !driver.RemovedImages().empty(); })) << "the image GC removes app:1";
  EXPECT_EQ(driver.RemovedImages(), std::vector<std::string>{"fake://app:1"});
  CreatePod(PodOf("b", "app:1"));
  WaitPod("b", IsReady);
  EXPECT_EQ(driver.PullCount(), 2u);
  EXPECT_EQ(driver.FailedStarts(), 0u) << "the puller knew app:1 was gone: no failed start";
}

TEST_F(NodeAgentTest, EnvironmentFromConfigMapsAndSecretsOrAClearError) {
  FakeDriver driver;
  NodeAgent agent(client_.get(), Options(&driver));
  ASSERT_TRUE(agent.Start().ok());
  json pod = Pod("configured");
  pod["spec"]["containers"][0]["env"] = json::array(
      {json{{"name", "LEVEL"}, {"valueFrom", {{"configMapKeyRef", {{"name", "settings"}, {"key", "level"}}}}}},
       json{{"name", "PASSWORD"}, {"valueFrom", {{"secretKeyRef", {{"name", "db"}, {"key", "password"}}}}}}});
  CreatePod(pod);
  json waiting = WaitPod("configured", [](const json& p) {
    const json& cs = client::Field(p["status"], "containerStatuses");
    return cs.is_array() && !cs.empty() &&
           client::Field(cs[0]["state"], "waiting").value("reason", "") == "CreateContainerConfigError";
  });
  EXPECT_EQ(waiting["status"]["containerStatuses"][0]["state"]["waiting"]["message"],
            "container app: env LEVEL: configmap \"settings\" not found");
  ASSERT_TRUE(client_->Create("/api/v1/namespaces/default/configmaps",
                              {{"apiVersion", "v1"}, {"kind", "ConfigMap"}, {"metadata", {{"name", "settings"}}},
                               {"data", {{"level", "debug"}}}}).ok());
  ASSERT_TRUE(client_->Create("/api/v1/namespaces/default/secrets",
                              {{"apiVersion", "v1"}, {"kind", "Secret"}, {"metadata", {{"name", "db"}}},
                               {"stringData", {{"password", "hunter2"}}}}).ok());
  WaitPod("configured", IsReady, 20s);  // the queue's back-off retries
  const json started = driver.LastStartedPod();
  const json& c = started["spec"]["containers"][0];
  EXPECT_EQ(EnvValue(c, "LEVEL"), "debug");
  EXPECT_EQ(EnvValue(c, "PASSWORD"), "hunter2");
}

TEST_F(NodeAgentTest, ProbesGateReadinessAndAFailingLivenessProbeRestarts) {
  FakeDriver driver;
  std::atomic<bool> ready{false}, alive{true};
  std::atomic<int> pre_stops{0};
  driver.SetExecHandler([&](const std::string&, const std::vector<std::string>& cmd) {
    if (cmd[0] == "ready") return ExecOutput{ready ? 0 : 1, "", ""};
    if (cmd[0] == "alive") return ExecOutput{alive ? 0 : 1, "", "dead"};
    if (cmd[0] == "drain") ++pre_stops;
    return ExecOutput{0, "", ""};
  });
  NodeAgentOptions o = Options(&driver);
  o.crash_backoff_initial = 10ms;
  NodeAgent agent(client_.get(), o);
  ASSERT_TRUE(agent.Start().ok());
  json pod = Pod("probed");
  json& c = pod["spec"]["containers"][0];
  c["readinessProbe"] = {{"exec", {{"command", {"ready"}}}}, {"periodSeconds", 1}};
  c["livenessProbe"] = {{"exec", {{"command", {"alive"}}}}, {"periodSeconds", 1}, {"failureThreshold", 2}};
  c["lifecycle"] = {{"preStop", {{"exec", {{"command", {"drain"}}}}}}};
  CreatePod(pod);
  json running = WaitPod("probed", [](const json& p) { return p["status"]["phase"] == "Running"; });
  std::this_thread::sleep_for(1500ms);
  EXPECT_FALSE(IsReady(GetPod("probed"))) << "the readiness probe fails";
  EXPECT_EQ(GetPod("probed")["status"]["containerStatuses"][0]["started"], true);
  ready = true;
  WaitPod("probed", IsReady);

  alive = false;
  json restarted = WaitPod("probed", [](const json& p) {
    return p["status"]["containerStatuses"][0]["restartCount"].get<int>() >= 1;
  }, 15s);
  EXPECT_EQ(pre_stops.load(), 1) << "preStop runs before a liveness kill";
  EXPECT_EQ(driver.Starts(), 2u);
  alive = true;
  WaitPod("probed", IsReady, 15s);
  EXPECT_EQ(GetPod("probed")["status"]["containerStatuses"][0]["restartCount"], 1);

  ASSERT_TRUE(client_->Delete(std::string(kPods) + "/probed").ok());
  ASSERT_TRUE(WaitUntil([&] { return driver.PodCount() == 0; }));
  EXPECT_EQ(pre_stops.load(), 2) << "and before a deletion";
}

}  // namespace
}  // namespace capstan::node
