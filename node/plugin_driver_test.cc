// PluginDriver over the fake plugin (capstan-driver-fake.so): loading by name, the translation of
// a v1 Pod into a PodRunSpec, every RuntimeDriver call and the extra ABI operations through the
// real ABI, and the same observable behaviour as the in-process FakeDriver for the same config.
//
// Each test that depends on the fake's state gives its driver a configuration of its own (a
// capacity entry named after the test): the plugin keeps one engine per configuration for as long
// as the library is loaded, so tests do not see each other's runs or random draws.
#include "node/plugin_driver.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <filesystem>
#include <mutex>

#include "node/fake_driver.h"
#include "node/node_test_util.h"

namespace capstan::node {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

const std::string kFake = CAPSTAN_FAKE_PLUGIN;
const std::string kDir = std::filesystem::path(kFake).parent_path().string();

json Pod(const std::string& uid, int containers = 1) { return testing::DriverTestPod(uid, containers); }

// A configuration of the fake unique to `test` (see the file comment), plus `extra`.
json Config(const std::string& test, json extra = json::object()) {
  extra["capacity"] = {{"test-" + test, "1"}};
  return extra;
}

std::unique_ptr<PluginDriver> Load(const json& config, PluginDriverOptions options = {}) {
  auto driver = LoadPluginDriver({kDir}, "fake", config, std::move(options));
  EXPECT_TRUE(driver.ok()) << driver.status().ToString();
  return driver.ok() ? std::move(*driver) : nullptr;
}

TEST(PluginDriverTest, LoadsTheFakeByName) {
  auto driver = Load(nullptr);
  ASSERT_NE(driver, nullptr);
  EXPECT_EQ(driver->Name(), "fake");
  EXPECT_EQ(driver->Library().path(), kFake);
  EXPECT_EQ(driver->Library().version(), "1.0.0");
  EXPECT_TRUE(driver->Capabilities().exec);
  EXPECT_TRUE(driver->Capabilities().exit_events);
  EXPECT_EQ(driver->Capabilities().network_modes, (std::vector<std::string>{"host", "bridge", "none"}));
}

TEST(PluginDriverTest, LoadErrorsNameTheFileOrTheDirectories) {
  auto bad = LoadPluginDriver({kDir}, "fake", {{"startLatency", 5}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Code::kInvalid);
  EXPECT_EQ(bad.status().message(), "driver plugin " + kFake +
                                        ": create: INVALID_CONFIG: fake driver config: unknown field \"startLatency\" "
                                        "(known: startLatencyMs, failureRate, capacity, seed, imageFs)");
  auto missing = LoadPluginDriver({kDir}, "no-such-driver", nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find(kDir), std::string::npos) << missing.status().ToString();
}

TEST(PluginDriverTest, FingerprintAsTheInProcessFake) {
  const json config = {{"capacity", {{"cpu", "8"}, {"pods", 110}}}};
  auto driver = Load(config);
  ASSERT_NE(driver, nullptr);
  FakeDriver local(*FakeDriverConfig::FromJson(config));
  DriverFingerprint a = driver->Fingerprint(), b = local.Fingerprint();
  EXPECT_EQ(a.capacity, b.capacity);
  EXPECT_EQ(a.capacity, json({{"cpu", "8"}, {"memory", "256Gi"}, {"pods", "110"}}));
  EXPECT_EQ(a.os, b.os);
  EXPECT_EQ(a.arch, b.arch);
  EXPECT_EQ(a.runtime_version, "fake://1.0");
  EXPECT_TRUE(a.healthy);
}

TEST(PluginDriverTest, SameOutcomesAsTheInProcessFakeForASeed) {
  const json config = Config("seed", {{"failureRate", 0.5}, {"seed", 7}});
  auto driver = Load(config);
  ASSERT_NE(driver, nullptr);
  FakeDriver local(*FakeDriverConfig::FromJson(config));
  int failed = 0;
  for (int i = 0; i < 10; ++i) {
    const json pod = Pod("seed-" + std::to_string(i), 2);
    auto h1 = driver->StartPod(pod);
    auto h2 = local.StartPod(pod);
    ASSERT_TRUE(h1.ok() && h2.ok());
    EXPECT_EQ(h1->id, h2->id) << "the same ids for the same sequence of starts";
    auto s1 = driver->InspectPod(*h1);
    auto s2 = local.InspectPod(*h2);
    ASSERT_TRUE(s1.ok() && s2.ok());
    ASSERT_EQ(s1->containers.size(), 2u);
    for (size_t c = 0; c < 2; ++c) {
      EXPECT_EQ(s1->containers[c].phase, s2->containers[c].phase);
      EXPECT_EQ(s1->containers[c].exit_code, s2->containers[c].exit_code);
      EXPECT_EQ(s1->containers[c].reason, s2->containers[c].reason);
      EXPECT_EQ(s1->containers[c].id, s2->containers[c].id);
      failed += s1->containers[c].phase == ContainerPhase::kTerminated;
    }
  }
  EXPECT_GT(failed, 0) << "seed 7 at rate 0.5 fails some containers";
  EXPECT_LT(failed, 20) << "and not all";
}

TEST(PluginDriverTest, TranslatesAPodIntoASpec) {
  json pod = Pod("t1", 1);
  pod["metadata"]["labels"] = {{"app", "web"}, {"capstan.io/managed-by", "someone"}};
  pod["spec"]["hostNetwork"] = true;
  pod["spec"]["volumes"] = {{{"name", "data"}, {"hostPath", {{"path", "/srv/data"}}}},
                            {{"name", "scratch"}, {"emptyDir", json::object()}}};
  json& c = pod["spec"]["containers"][0];
  c["command"] = {"nginx"};
  c["args"] = {"-g", "daemon off;"};
  c["workingDir"] = "/w";
  c["env"] = {{{"name", "A"}, {"value", "1"}}, {{"name", "B"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "x"}}}}}}};
  c["ports"] = {{{"name", "http"}, {"containerPort", 80}, {"hostPort", 8080}, {"protocol", "TCP"}}};
  c["resources"] = {{"limits", {{"cpu", "500m"}}}};
  c["volumeMounts"] = {{{"name", "data"}, {"mountPath", "/data"}, {"readOnly", true}, {"subPath", "web"}},
                       {{"name", "scratch"}, {"mountPath", "/tmp"}}};

  PluginDriverOptions options;
  options.run_labels = {{"capstan.io/managed-by", "capstan"}, {"capstan.io/node", "n1"}};
  auto spec = PodRunSpecFromPod(pod, options);
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  EXPECT_EQ(spec->pod.uid, "t1");
  EXPECT_EQ(spec->pod.namespace_name, "default");
  EXPECT_EQ(spec->pod.name, "web-t1");
  EXPECT_EQ(spec->network_mode, "host");
  pod["spec"].erase("hostNetwork");
  EXPECT_EQ(PodRunSpecFromPod(pod, options)->network_mode, "host");  // the default, whatever the driver
  // A document without networkMode means host too (the ABI's default).
  sdk::PodRunSpec decoded;
  std::string error;
  json doc = json::parse(sdk::Encode(*spec));
  doc.erase("networkMode");
  ASSERT_TRUE(sdk::Decode(doc.dump().c_str(), &decoded, &error)) << error;
  EXPECT_EQ(decoded.network_mode, "host");
  pod["metadata"]["annotations"] = {{"capstan.io/network-mode", "bridge"}};
  EXPECT_EQ(PodRunSpecFromPod(pod, options)->network_mode, "bridge");
  pod["spec"]["hostNetwork"] = true;
  EXPECT_EQ(spec->labels, (std::map<std::string, std::string>{{"app", "web"},
                                                              {"capstan.io/managed-by", "capstan"},
                                                              {"capstan.io/node", "n1"},
                                                              {"capstan.io/pod-name", "web-t1"},
                                                              {"capstan.io/pod-namespace", "default"},
                                                              {"capstan.io/pod-uid", "t1"}}));
  ASSERT_EQ(spec->containers.size(), 1u);
  const sdk::ContainerSpec& cs = spec->containers[0];
  EXPECT_EQ(cs.command, (std::vector<std::string>{"nginx"}));
  EXPECT_EQ(cs.args, (std::vector<std::string>{"-g", "daemon off;"}));
  EXPECT_EQ(cs.working_dir, "/w");
  ASSERT_EQ(cs.env.size(), 1u) << "valueFrom is not resolved here";
  EXPECT_EQ(cs.env[0].name, "A");
  ASSERT_EQ(cs.ports.size(), 1u);
  EXPECT_EQ(cs.ports[0].container_port, 80);
  EXPECT_EQ(cs.ports[0].host_port, 8080);
  EXPECT_EQ(cs.resources, json({{"limits", {{"cpu", "500m"}}}}));
  ASSERT_EQ(cs.mounts.size(), 1u) << "only hostPath volumes are mounted";
  EXPECT_EQ(cs.mounts[0].host_path, "/srv/data/web");
  EXPECT_EQ(cs.mounts[0].container_path, "/data");
  EXPECT_TRUE(cs.mounts[0].read_only);

  json no_uid = Pod("x");
  no_uid["metadata"].erase("uid");
  EXPECT_EQ(PodRunSpecFromPod(no_uid, options).status().code(), Code::kInvalid);
}

TEST(PluginDriverTest, StartInspectStopRemove) {
  auto driver = Load(Config("lifecycle"));
  ASSERT_NE(driver, nullptr);
  auto handle = driver->StartPod(Pod("l1", 2));
  ASSERT_TRUE(handle.ok()) << handle.status().ToString();
  EXPECT_EQ(handle->pod_uid, "l1");
  EXPECT_EQ(handle->pod_namespace, "default");
  ASSERT_EQ(handle->containers.size(), 2u);
  EXPECT_EQ(handle->containers[1].name, "c1");

  auto state = driver->InspectPod(*handle);
  ASSERT_TRUE(state.ok()) << state.status().ToString();
  ASSERT_EQ(state->containers.size(), 2u);
  EXPECT_EQ(state->containers[0].phase, ContainerPhase::kRunning);
  EXPECT_TRUE(state->containers[0].ready);
  EXPECT_TRUE(state->containers[0].started_at.has_value());
  EXPECT_EQ(state->containers[0].image_id, "fake://nginx:1.25");

  ASSERT_TRUE(driver->StopPod(*handle, 1s).ok());
  state = driver->InspectPod(*handle);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->containers[1].phase, ContainerPhase::kTerminated);
  EXPECT_EQ(state->containers[1].reason, "Completed");
  EXPECT_EQ(state->containers[1].exit_code, 0);
  EXPECT_TRUE(state->containers[1].finished_at.has_value());

  auto listed = driver->ListPods();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].id, handle->id);

  ASSERT_TRUE(driver->RemovePod(*handle).ok());
  EXPECT_TRUE(driver->RemovePod(*handle).ok()) << "idempotent";
  auto gone = driver->InspectPod(*handle);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), Code::kNotFound);
  EXPECT_EQ(DriverCodeOf(gone.status()), CAPSTAN_ERR_NOT_FOUND);
  EXPECT_EQ(driver->StopPod(*handle, 0ms).code(), Code::kNotFound);
  EXPECT_TRUE(driver->ListPods()->empty());
}

TEST(PluginDriverTest, InvalidPodsAreInvalid) {
  auto driver = Load(Config("invalid"));
  ASSERT_NE(driver, nullptr);
  json dup = Pod("d1", 1);
  dup["spec"]["containers"].push_back(dup["spec"]["containers"][0]);
  auto r = driver->StartPod(dup);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalid);
  EXPECT_EQ(DriverCodeOf(r.status()), CAPSTAN_ERR_INVALID_ARGUMENT) << "the plugin's check, not the host's";
  EXPECT_NE(r.status().message().find("duplicate container name \"c0\""), std::string::npos) << r.status().ToString();
}

TEST(PluginDriverTest, ListPodsSeesOnlyThisAgentsRuns) {
  const json config = Config("agents");
  PluginDriverOptions a, b;
  a.run_labels = {{"capstan.io/node", "a"}};
  b.run_labels = {{"capstan.io/node", "b"}};
  auto da = Load(config, a), db = Load(config, b);  // one engine, two agents
  ASSERT_TRUE(da && db);
  auto ha = da->StartPod(Pod("a1"));
  auto hb = db->StartPod(Pod("b1"));
  ASSERT_TRUE(ha.ok() && hb.ok());
  auto la = da->ListPods(), lb = db->ListPods();
  ASSERT_TRUE(la.ok() && lb.ok());
  ASSERT_EQ(la->size(), 1u);
  EXPECT_EQ((*la)[0].pod_uid, "a1");
  ASSERT_EQ(lb->size(), 1u);
  EXPECT_EQ((*lb)[0].pod_uid, "b1");
  EXPECT_TRUE(da->InspectPod(*hb).ok()) << "the engine is shared; only listing is per agent";
}

TEST(PluginDriverTest, RecoverAfterTheDriverIsRecreated) {
  const json config = Config("recover");
  // The host keeps the library loaded across the re-creation (the fake's runs live in it).
  auto keep = OpenPlugin({kDir}, "fake");
  ASSERT_TRUE(keep.ok());
  auto first = Load(config);
  ASSERT_NE(first, nullptr);
  auto handle = first->StartPod(Pod("r1", 2));
  ASSERT_TRUE(handle.ok());
  first.reset();

  auto second = Load(config);
  ASSERT_NE(second, nullptr);
  auto listed = second->ListPods();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  const PodHandle& adopted = (*listed)[0];
  EXPECT_EQ(adopted.id, handle->id);
  EXPECT_EQ(adopted.pod_uid, "r1");
  EXPECT_EQ(adopted.containers.size(), 2u);
  EXPECT_TRUE(second->Recover(adopted).ok());
  EXPECT_TRUE(second->InspectPod(adopted).ok());
  ASSERT_TRUE(second->RemovePod(adopted).ok());
  EXPECT_EQ(second->Recover(adopted).code(), Code::kNotFound);
}

TEST(PluginDriverTest, WaitAndExitEvents) {
  auto driver = Load(Config("wait"));
  ASSERT_NE(driver, nullptr);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<ContainerExit> exits;
  driver->SetExitHandler([&](const ContainerExit& e) {
    std::lock_guard<std::mutex> lock(mu);
    exits.push_back(e);
    cv.notify_all();
  });
  auto handle = driver->StartPod(Pod("w1", 2));
  ASSERT_TRUE(handle.ok());
  auto early = driver->Wait(*handle, 10ms);
  ASSERT_TRUE(early.ok()) << early.status().ToString();
  EXPECT_FALSE(early->exited);
  EXPECT_EQ(early->containers.size(), 2u);

  ASSERT_TRUE(driver->StopPod(*handle, 0ms).ok());
  auto done = driver->Wait(*handle, 10s);
  ASSERT_TRUE(done.ok());
  EXPECT_TRUE(done->exited);
  EXPECT_EQ(done->containers[0].phase, ContainerPhase::kTerminated);

  std::unique_lock<std::mutex> lock(mu);
  ASSERT_TRUE(cv.wait_for(lock, 10s, [&] { return exits.size() >= 2; })) << exits.size() << " exit events";
  EXPECT_EQ(exits.size(), 2u);
  for (const ContainerExit& e : exits) {
    EXPECT_EQ(e.handle_id, handle->id);
    EXPECT_EQ(e.pod_uid, "w1");
    EXPECT_EQ(e.container.phase, ContainerPhase::kTerminated);
    EXPECT_EQ(e.container.reason, "Completed");
  }
  lock.unlock();
  driver->SetExitHandler(nullptr);
}

TEST(PluginDriverTest, CrashIsReportedWhenObserved) {
  auto driver = Load(Config("crash", {{"failureRate", 1}}));
  ASSERT_NE(driver, nullptr);
  std::vector<ContainerExit> exits;  // the fake emits on the calling thread
  driver->SetExitHandler([&](const ContainerExit& e) { exits.push_back(e); });
  auto handle = driver->StartPod(Pod("x1"));
  ASSERT_TRUE(handle.ok());
  auto state = driver->InspectPod(*handle);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->containers[0].phase, ContainerPhase::kTerminated);
  EXPECT_EQ(state->containers[0].reason, "Error");
  EXPECT_EQ(state->containers[0].exit_code, 1);
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0].container.exit_code, 1);
  ASSERT_TRUE(driver->InspectPod(*handle).ok());
  EXPECT_EQ(exits.size(), 1u) << "one event per container";
  driver->SetExitHandler(nullptr);
}

TEST(PluginDriverTest, StartLatencyShowsAsWaitingWithARecheckHint) {
  auto driver = Load(Config("latency", {{"startLatencyMs", 60000}}));
  ASSERT_NE(driver, nullptr);
  auto handle = driver->StartPod(Pod("s1"));
  ASSERT_TRUE(handle.ok());
  auto state = driver->InspectPod(*handle);
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->containers[0].phase, ContainerPhase::kWaiting);
  EXPECT_EQ(state->containers[0].reason, "ContainerCreating");
  EXPECT_GT(state->recheck_after, 0ms);
  EXPECT_LE(state->recheck_after, 60000ms);
  auto exec = driver->Exec(*handle, "c0", {"true"}, 0ms);
  ASSERT_FALSE(exec.ok());
  EXPECT_EQ(exec.status().code(), Code::kConflict) << "not running yet";
}

TEST(PluginDriverTest, LogsExecAndImages) {
  auto driver = Load(Config("extras"));
  ASSERT_NE(driver, nullptr);
  auto handle = driver->StartPod(Pod("e1"));
  ASSERT_TRUE(handle.ok());

  std::string out;
  auto collect = [&](int32_t stream, std::string_view data) {
    if (stream == CAPSTAN_LOG_STREAM_STDOUT) out.append(data);
    return true;
  };
  ASSERT_TRUE(driver->Logs(*handle, "c0", {}, collect).ok());
  EXPECT_EQ(out, "fake: container c0 created (image nginx:1.25)\nfake: container c0 started\n");
  out.clear();
  ASSERT_TRUE(driver->Logs(*handle, "c0", LogOptions{false, 1}, collect).ok());
  EXPECT_EQ(out, "fake: container c0 started\n");
  EXPECT_EQ(driver->Logs(*handle, "nope", {}, collect).code(), Code::kNotFound);

  auto echo = driver->Exec(*handle, "c0", {"echo", "hi", "there"}, 0ms);
  ASSERT_TRUE(echo.ok()) << echo.status().ToString();
  EXPECT_EQ(echo->exit_code, 0);
  EXPECT_EQ(echo->out, "hi there\n");
  auto missing = driver->Exec(*handle, "c0", {"curl"}, 0ms);
  ASSERT_TRUE(missing.ok());
  EXPECT_EQ(missing->exit_code, 127);
  EXPECT_EQ(missing->err, "fake: curl: command not found\n");

  auto pulled = driver->PullImage("redis:7", ImagePullAuth{"u", "p", "", "", "", "registry.example"});
  ASSERT_TRUE(pulled.ok()) << pulled.status().ToString();
  EXPECT_EQ(*pulled, "fake://redis:7");
  auto images = driver->ListImages();
  ASSERT_TRUE(images.ok());
  std::vector<std::string> tags;
  for (const ImageInfo& i : *images) tags.push_back(i.tags.at(0));
  EXPECT_EQ(tags, (std::vector<std::string>{"nginx:1.25", "redis:7"}));
  Status in_use = driver->RemoveImage("nginx:1.25");
  EXPECT_EQ(in_use.code(), Code::kConflict) << in_use.ToString();
  EXPECT_TRUE(driver->RemoveImage("redis:7").ok());
  EXPECT_TRUE(driver->RemoveImage("redis:7").ok()) << "idempotent";
  ASSERT_TRUE(driver->RemovePod(*handle).ok());
  EXPECT_TRUE(driver->RemoveImage("fake://nginx:1.25").ok()) << "by id, once no run uses it";
  EXPECT_TRUE(driver->ListImages()->empty());
}

TEST(PluginDriverTest, ImageFilesystemOnlyWhenTheDriverDeclaresIt) {
  auto plain = Load(Config("imagefs-none"));
  ASSERT_NE(plain, nullptr);
  EXPECT_FALSE(plain->Capabilities().image_fs);
  auto none = plain->ImageFsInfo();
  EXPECT_EQ(none.status().code(), Code::kMethodNotAllowed);
  EXPECT_NE(none.status().message().find("capability imageFs"), std::string::npos) << none.status().ToString();

  auto with_fs = Load(Config("imagefs", {{"imageFs", {{"capacityBytes", 1000}, {"availableBytes", 250}}}}));
  ASSERT_NE(with_fs, nullptr);
  EXPECT_TRUE(with_fs->Capabilities().image_fs);
  auto fs = with_fs->ImageFsInfo();
  ASSERT_TRUE(fs.ok()) << fs.status().ToString();
  EXPECT_EQ(fs->capacity_bytes, 1000);
  EXPECT_EQ(fs->available_bytes, 250);
  EXPECT_EQ(fs->path, "fake");
}

}  // namespace
}  // namespace capstan::node
