#include "plugins/docker/container_config.h"

#include <gtest/gtest.h>

#include <set>

namespace capstan::plugins::docker {
namespace {

using json = nlohmann::json;

sdk::PodRunSpec Spec(const std::string& mode) {
  sdk::PodRunSpec spec;
  spec.pod = {"uid-1", "shop", "web-7d9f"};
  spec.labels = {{"capstan.io/pod-uid", "uid-1"}, {"app", "web"}};
  spec.network_mode = mode;
  sdk::ContainerSpec app;
  app.name = "app";
  app.image = "registry.local/web:1.2";
  app.command = {"/bin/httpd"};
  app.args = {"-f", "-p", "8080"};
  app.env = {{"MODE", "prod"}, {"EMPTY", ""}};
  app.working_dir = "/srv";
  app.ports = {{"http", 8080, 18080, "TCP", "127.0.0.1"}, {"metrics", 9090, 0, "", ""}};
  app.resources = json::parse(R"({"limits": {"memory": "128Mi", "cpu": "500m"}, "requests": {"cpu": "250m"}})");
  app.mounts = {{"/var/data", "/data", true}};
  sdk::ContainerSpec sidecar;
  sidecar.name = "sidecar";
  sidecar.image = "busybox";
  sidecar.args = {"sleep", "3600"};
  sidecar.ports = {{"dns", 53, 1053, "UDP", ""}};
  spec.containers = {app, sidecar};
  return spec;
}

TEST(DockerContainerConfig, RunIdsAreFreshAndRecognised) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    const std::string id = NewRunId();
    EXPECT_TRUE(IsRunId(id)) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u);
  for (const char* not_ours : {"", "abc", "0123456789AB", "0123456789abc", "capstan-conformance-no-such-run",
                               "0123456789ag"}) {
    EXPECT_FALSE(IsRunId(not_ours)) << not_ours;
  }
}

TEST(DockerContainerConfig, NamesAreReadableUniquePerRunAndValidForDocker) {
  EXPECT_EQ(ContainerName({"u", "shop", "web-7d9f"}, "app", "0123456789ab"), "capstan-shop-web-7d9f-app-0123456789ab");
  EXPECT_EQ(ContainerName({"u", "", "p"}, "c", "0123456789ab"), "capstan-p-c-0123456789ab");
  EXPECT_EQ(ContainerName({"u", "a b/c", "p:q"}, "c\xC3\xA9", "0123456789ab"),
            "capstan-a-b-c-p-q-c---0123456789ab");
  const std::string long_name = ContainerName({"u", std::string(100, 'n'), std::string(100, 'p')}, "c", "0123456789ab");
  EXPECT_EQ(long_name, "capstan-" + std::string(40, 'n') + "-" + std::string(40, 'p') + "-c-0123456789ab");
}

TEST(DockerContainerConfig, HostModeBody) {
  const json b = CreateBody(Spec("host"), 0, "0123456789ab", {"capnet", "SIGQUIT"}, "");
  EXPECT_EQ(b["Image"], "registry.local/web:1.2");
  EXPECT_EQ(b["Entrypoint"], json({"/bin/httpd"}));
  EXPECT_EQ(b["Cmd"], json({"-f", "-p", "8080"}));
  EXPECT_EQ(b["Env"], json({"MODE=prod", "EMPTY="}));
  EXPECT_EQ(b["WorkingDir"], "/srv");
  EXPECT_EQ(b["StopSignal"], "SIGQUIT");
  EXPECT_EQ(b["Tty"], false);
  EXPECT_FALSE(b.contains("Hostname")) << "the host's name in host mode";
  EXPECT_FALSE(b.contains("ExposedPorts")) << "ports mean nothing to docker in host mode";
  const json& labels = b["Labels"];
  EXPECT_EQ(labels["app"], "web");
  EXPECT_EQ(labels["capstan.io/pod-uid"], "uid-1");
  EXPECT_EQ(labels[kLabelRunId], "0123456789ab");
  EXPECT_EQ(labels[kLabelContainer], "app");
  EXPECT_EQ(labels[kLabelIndex], "0");
  EXPECT_EQ(labels[kLabelPodUid], "uid-1");
  EXPECT_EQ(labels[kLabelPodNamespace], "shop");
  EXPECT_EQ(labels[kLabelPodName], "web-7d9f");
  const json& host = b["HostConfig"];
  EXPECT_EQ(host["NetworkMode"], "host");
  EXPECT_FALSE(host.contains("PortBindings"));
  EXPECT_EQ(host["Memory"], 128 * 1024 * 1024);
  EXPECT_EQ(host["NanoCpus"], 500000000);
  EXPECT_EQ(host["CpuShares"], 256);
  EXPECT_EQ(host["RestartPolicy"]["Name"], "no");
  EXPECT_EQ(host["Mounts"], json::parse(R"([{"Type": "bind", "Source": "/var/data", "Target": "/data",
                                             "ReadOnly": true}])"));
  const json second = CreateBody(Spec("host"), 1, "0123456789ab", {}, "ignored");
  EXPECT_EQ(second["HostConfig"]["NetworkMode"], "host") << "host mode: every container on the host's network";
  EXPECT_FALSE(second.contains("Entrypoint")) << "no command: the image's entrypoint";
  EXPECT_EQ(second["Cmd"], json({"sleep", "3600"}));
  EXPECT_FALSE(second.contains("StopSignal"));
  EXPECT_FALSE(second["HostConfig"].contains("Memory"));
  EXPECT_FALSE(second["HostConfig"].contains("CpuShares"));
}

TEST(DockerContainerConfig, CommandWithoutArgsLeavesCmdUnset) {
  sdk::PodRunSpec spec = Spec("host");
  spec.containers[0].args.clear();
  const json b = CreateBody(spec, 0, "0123456789ab", {}, "");
  EXPECT_EQ(b["Entrypoint"], json({"/bin/httpd"}));
  EXPECT_FALSE(b.contains("Cmd")) << "docker then runs the entrypoint without the image's Cmd, as Kubernetes does";
}

TEST(DockerContainerConfig, BridgeModePublishesPortsOnTheFirstContainer) {
  const json first = CreateBody(Spec("bridge"), 0, "0123456789ab", {"capnet", ""}, "");
  EXPECT_EQ(first["HostConfig"]["NetworkMode"], "capnet");
  EXPECT_EQ(first["Hostname"], "web-7d9f");
  EXPECT_EQ(first["ExposedPorts"], json::parse(R"({"8080/tcp": {}, "9090/tcp": {}, "53/udp": {}})"));
  EXPECT_EQ(first["HostConfig"]["PortBindings"], json::parse(R"({
    "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}],
    "53/udp": [{"HostIp": "", "HostPort": "1053"}]})"))
      << "a port without hostPort is exposed, not published";
  const json second = CreateBody(Spec("bridge"), 1, "0123456789ab", {"capnet", ""}, "cafe0001");
  EXPECT_EQ(second["HostConfig"]["NetworkMode"], "container:cafe0001") << "one network namespace per pod";
  EXPECT_FALSE(second.contains("Hostname")) << "docker refuses a hostname in another's namespace";
  EXPECT_FALSE(second.contains("ExposedPorts"));
  EXPECT_FALSE(second["HostConfig"].contains("PortBindings"));
}

TEST(DockerContainerConfig, NoneModeSharesOneNamespaceWithoutNetwork) {
  const json first = CreateBody(Spec("none"), 0, "0123456789ab", {"capnet", ""}, "");
  EXPECT_EQ(first["HostConfig"]["NetworkMode"], "none");
  EXPECT_FALSE(first.contains("ExposedPorts"));
  const json second = CreateBody(Spec("none"), 1, "0123456789ab", {"capnet", ""}, "cafe0001");
  EXPECT_EQ(second["HostConfig"]["NetworkMode"], "container:cafe0001");
}

TEST(DockerContainerConfig, CheckSpecCatchesWhatDockerWouldRefuseHalfWay) {
  EXPECT_TRUE(CheckSpec(Spec("host")).ok());
  auto expect_invalid = [](const sdk::PodRunSpec& spec, const std::string& mentions) {
    sdk::Result<void> r = CheckSpec(spec);
    ASSERT_FALSE(r.ok()) << mentions;
    EXPECT_EQ(r.error().code, CAPSTAN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(r.error().message.find(mentions), std::string::npos) << r.error().message;
  };
  sdk::PodRunSpec reserved = Spec("host");
  reserved.labels[kLabelRunId] = "0123456789ab";
  expect_invalid(reserved, kLabelRunId);
  sdk::PodRunSpec memory = Spec("host");
  memory.containers[1].resources = json::parse(R"({"limits": {"memory": "lots"}})");
  expect_invalid(memory, "container sidecar: resources.limits.memory: \"lots\"");
  sdk::PodRunSpec cpu = Spec("host");
  cpu.containers[0].resources = json::parse(R"({"requests": {"cpu": 2}})");
  expect_invalid(cpu, "resources.requests.cpu");
  sdk::PodRunSpec huge = Spec("host");
  huge.containers[0].resources = json::parse(R"({"limits": {"cpu": "9e15"}})");
  expect_invalid(huge, "resources.limits.cpu");
  sdk::PodRunSpec group = Spec("host");
  group.containers[0].resources = json::parse(R"({"limits": ["cpu"]})");
  expect_invalid(group, "resources.limits");
  sdk::PodRunSpec mount = Spec("host");
  mount.containers[0].mounts = {{"data", "/data", false}};
  expect_invalid(mount, "absolute");
  sdk::PodRunSpec other = Spec("host");
  other.containers[0].resources = json::parse(R"({"limits": {"nvidia.com/gpu": "1", "ephemeral-storage": "1Gi"}})");
  EXPECT_TRUE(CheckSpec(other).ok()) << "resources docker does not limit are ignored";
}

}  // namespace
}  // namespace capstan::plugins::docker
