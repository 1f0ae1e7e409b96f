#include "plugins/containerd/pod_request.h"

#include <gtest/gtest.h>

namespace capstan::plugins::containerd {
namespace {

using json = nlohmann::json;

sdk::PodRunSpec Spec() {
  sdk::PodRunSpec spec;
  spec.pod = {"uid-1", "prod", "web"};
  spec.labels = {{"app", "web"}, {"capstan.io/pod-uid", "uid-1"}};
  sdk::ContainerSpec c0;
  c0.name = "main";
  c0.image = "capstan-test/busybox:1";
  c0.command = {"httpd"};
  c0.args = {"-f", "-p", "8080"};
  c0.env = {{"A", "1"}, {"B", "two words"}};
  c0.working_dir = "/var/www";
  c0.mounts = {{"/srv/data", "/data", true}};
  c0.resources = {{"limits", {{"cpu", "500m"}, {"memory", "128Mi"}}}, {"requests", {{"cpu", "250m"}}}};
  sdk::ContainerSpec c1;
  c1.name = "side";
  c1.image = "capstan-test/busybox:1";
  spec.containers = {c0, c1};
  return spec;
}

TEST(ContainerdPodRequest, SandboxCarriesThePodTheLabelsAndTheLogDirectory) {
  const cri::RunPodSandboxRequest r = BuildSandboxRequest(Spec(), "/var/log/capstan/containerd", 2, "runc");
  EXPECT_EQ(r.runtime_handler(), "runc");
  const cri::PodSandboxConfig& c = r.config();
  EXPECT_EQ(c.metadata().name(), "web");
  EXPECT_EQ(c.metadata().uid(), "uid-1");
  EXPECT_EQ(c.metadata().namespace_(), "prod");
  EXPECT_EQ(c.metadata().attempt(), 2u);
  EXPECT_EQ(c.hostname(), "") << "host network: the node's UTS namespace, no hostname of its own";
  EXPECT_EQ(c.log_directory(), "/var/log/capstan/containerd/prod_web_uid-1_2");
  EXPECT_EQ(c.labels().at("app"), "web");
  EXPECT_EQ(c.labels().at("capstan.io/pod-uid"), "uid-1");
  EXPECT_EQ(c.labels().at(kDriverLabel), "containerd");
  EXPECT_EQ(c.labels().size(), 3u);
  EXPECT_EQ(c.annotations().at(kLogDirAnnotation), c.log_directory());
  const cri::NamespaceOption& ns = c.linux().security_context().namespace_options();
  EXPECT_EQ(ns.network(), cri::NODE);
  EXPECT_EQ(ns.pid(), cri::CONTAINER);
  EXPECT_EQ(ns.ipc(), cri::POD);
}

TEST(ContainerdPodRequest, DefaultsForAPodWithoutNameOrNamespace) {
  sdk::PodRunSpec spec = Spec();
  spec.pod = {"u2", "", ""};
  const cri::RunPodSandboxRequest r = BuildSandboxRequest(spec, "/l", 0, "");
  EXPECT_EQ(r.config().metadata().name(), "u2");
  EXPECT_EQ(r.config().metadata().namespace_(), "default");
  EXPECT_EQ(r.config().log_directory(), "/l/default_u2_u2_0");
}

TEST(ContainerdPodRequest, ContainerConfigFromTheSpec) {
  const sdk::Result<cri::ContainerConfig> built = BuildContainerConfig(Spec(), 0);
  ASSERT_TRUE(built.ok()) << built.error().message;
  const cri::ContainerConfig& c = built.value();
  EXPECT_EQ(c.metadata().name(), "main");
  EXPECT_EQ(c.metadata().attempt(), 0u);
  EXPECT_EQ(c.image().image(), "capstan-test/busybox:1");
  ASSERT_EQ(c.command_size(), 1);
  EXPECT_EQ(c.command(0), "httpd");
  ASSERT_EQ(c.args_size(), 3);
  EXPECT_EQ(c.args(2), "8080");
  EXPECT_EQ(c.working_dir(), "/var/www");
  ASSERT_EQ(c.envs_size(), 2);
  EXPECT_EQ(c.envs(1).key(), "B");
  EXPECT_EQ(c.envs(1).value(), "two words");
  ASSERT_EQ(c.mounts_size(), 1);
  EXPECT_EQ(c.mounts(0).host_path(), "/srv/data");
  EXPECT_EQ(c.mounts(0).container_path(), "/data");
  EXPECT_TRUE(c.mounts(0).readonly());
  EXPECT_EQ(c.labels().at("app"), "web");
  EXPECT_EQ(c.labels().at(kDriverLabel), "containerd");
  EXPECT_EQ(c.annotations().at(kIndexAnnotation), "0");
  EXPECT_EQ(c.annotations().at(kPodUidAnnotation), "uid-1");
  EXPECT_EQ(c.annotations().at(kImageAnnotation), "capstan-test/busybox:1");
  EXPECT_EQ(c.log_path(), "main.log");
  const cri::LinuxContainerResources& res = c.linux().resources();
  EXPECT_EQ(res.memory_limit_in_bytes(), 128LL << 20);
  EXPECT_EQ(res.cpu_period(), 100000);
  EXPECT_EQ(res.cpu_quota(), 50000);
  EXPECT_EQ(res.cpu_shares(), 256);
  EXPECT_EQ(c.linux().security_context().namespace_options().network(), cri::NODE);

  const sdk::Result<cri::ContainerConfig> side = BuildContainerConfig(Spec(), 1);
  ASSERT_TRUE(side.ok());
  EXPECT_EQ(side.value().annotations().at(kIndexAnnotation), "1");
  EXPECT_EQ(side.value().command_size(), 0) << "no command: the image's";
  EXPECT_EQ(side.value().linux().resources().ByteSizeLong(), 0u) << "no resources: nothing set";
}

TEST(ContainerdPodRequest, Resources) {
  auto res = [](const json& j) {
    sdk::Result<cri::LinuxContainerResources> r = ResourcesFromSpec(j);
    EXPECT_TRUE(r.ok()) << j.dump() << ": " << (r.ok() ? "" : r.error().message);
    return r.ok() ? r.value() : cri::LinuxContainerResources();
  };
  // A limit alone also gives the shares (Kubernetes defaults the request to the limit).
  cri::LinuxContainerResources r = res({{"limits", {{"cpu", "2"}}}});
  EXPECT_EQ(r.cpu_quota(), 200000);
  EXPECT_EQ(r.cpu_shares(), 2048);
  EXPECT_EQ(r.memory_limit_in_bytes(), 0);
  r = res({{"limits", {{"cpu", "1m"}}}});
  EXPECT_EQ(r.cpu_quota(), kMinCpuQuotaUs) << "the smallest quota the kernel takes";
  EXPECT_EQ(r.cpu_shares(), kMinCpuShares);
  r = res({{"requests", {{"cpu", 1}, {"memory", "1Gi"}}}});
  EXPECT_EQ(r.cpu_quota(), 0) << "no limit, no quota";
  EXPECT_EQ(r.cpu_shares(), 1024);
  EXPECT_EQ(r.memory_limit_in_bytes(), 0) << "a memory request is no limit";
  r = res({{"limits", {{"memory", "1G"}, {"nvidia.com/gpu", "1"}}}});
  EXPECT_EQ(r.memory_limit_in_bytes(), 1000000000);
  r = res(json::object());
  EXPECT_EQ(r.ByteSizeLong(), 0u);
  for (const json& bad : {json{{"limits", {{"cpu", "lots"}}}}, json{{"limits", {{"memory", "-1"}}}},
                          json{{"limits", "2"}}, json{{"requests", {{"cpu", true}}}}, json("x")}) {
    sdk::Result<cri::LinuxContainerResources> r2 = ResourcesFromSpec(bad);
    EXPECT_FALSE(r2.ok()) << bad.dump();
    if (!r2.ok()) {
      EXPECT_EQ(r2.error().code, CAPSTAN_ERR_INVALID_ARGUMENT);
    }
  }
}

TEST(ContainerdPodRequest, CheckSpecNamesTheField) {
  EXPECT_TRUE(CheckSpec(Spec()).ok());
  auto expect_bad = [](const sdk::PodRunSpec& spec, const std::string& field) {
    sdk::Result<void> r = CheckSpec(spec);
    ASSERT_FALSE(r.ok()) << field;
    EXPECT_EQ(r.error().code, CAPSTAN_ERR_INVALID_ARGUMENT);
    EXPECT_NE(r.error().message.find(field), std::string::npos) << r.error().message;
  };
  sdk::PodRunSpec s = Spec();
  s.pod.uid = "../up";
  expect_bad(s, "pod.uid");
  s = Spec();
  s.pod.name = "a/b";
  expect_bad(s, "pod.name");
  s = Spec();
  s.pod.namespace_name = ".hidden";
  expect_bad(s, "pod.namespace");
  s = Spec();
  s.containers[1].name = "x y";
  expect_bad(s, "containers[1].name");
  s = Spec();
  s.containers[0].resources = {{"limits", {{"memory", "12 Mi"}}}};
  expect_bad(s, "containers[0].resources.limits.memory");
  s = Spec();
  s.containers[0].mounts = {{"relative", "/data", false}};
  expect_bad(s, "containers[0].mounts[0]");
  s = Spec();
  s.labels[kDriverLabel] = "mine";
  expect_bad(s, kDriverLabel);
}

}  // namespace
}  // namespace capstan::plugins::containerd
