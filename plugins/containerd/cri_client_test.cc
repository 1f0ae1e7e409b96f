// CriClient against a real containerd (a private one, testing/containerd_env.sh): the calls speak
// runtime.v1, errors come back as the SDK's codes, deadlines hold, and Shutdown ends a call in
// flight at once.
#include "plugins/containerd/cri_client.h"

#include <gtest/gtest.h>

#include <thread>

#include "plugins/containerd/pod_request.h"
#include "plugins/containerd/testing/containerd_fixture.h"

namespace capstan::plugins::containerd {
namespace {

using Clock = std::chrono::steady_clock;

class CriClientTest : public ContainerdTest {};

TEST_F(CriClientTest, VersionAndStatus) {
  sdk::Result<cri::VersionResponse> v = cri().Version();
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v.value().runtime_name(), "containerd");
  EXPECT_EQ(v.value().runtime_api_version(), "v1");
  EXPECT_FALSE(v.value().runtime_version().empty());
  sdk::Result<cri::StatusResponse> s = cri().Status(true);
  ASSERT_TRUE(s.ok()) << s.error().message;
  bool runtime_ready = false;
  for (const cri::RuntimeCondition& c : s.value().status().conditions()) {
    if (c.type() == "RuntimeReady") runtime_ready = c.status();
  }
  EXPECT_TRUE(runtime_ready);
  EXPECT_NE(s.value().info().at("config").find(env().pause_image()), std::string::npos)
      << "the verbose status says which sandbox image containerd runs";
}

TEST_F(CriClientTest, ErrorsAreTheSdkCodes) {
  const std::string unknown(64, 'e');
  sdk::Result<cri::PodSandboxStatusResponse> sandbox = cri().PodSandboxStatus(unknown);
  ASSERT_FALSE(sandbox.ok());
  EXPECT_EQ(sandbox.error().code, CAPSTAN_ERR_NOT_FOUND) << sandbox.error().message;
  EXPECT_NE(sandbox.error().message.find("PodSandboxStatus"), std::string::npos) << sandbox.error().message;
  sdk::Result<cri::ContainerStatusResponse> container = cri().ContainerStatus(unknown);
  ASSERT_FALSE(container.ok());
  EXPECT_EQ(container.error().code, CAPSTAN_ERR_NOT_FOUND) << container.error().message;
  // Idempotent removals, as the CRI promises.
  EXPECT_TRUE(cri().RemovePodSandbox(unknown).ok());
  EXPECT_TRUE(cri().RemoveImage("docker.io/capstan-test/no-such-image:1").ok());
  // An image that is not there is a status without an image, not an error.
  sdk::Result<cri::ImageStatusResponse> image = cri().ImageStatus("docker.io/capstan-test/no-such-image:1");
  ASSERT_TRUE(image.ok()) << image.error().message;
  EXPECT_FALSE(image.value().has_image());
  image = cri().ImageStatus(env().test_image());
  ASSERT_TRUE(image.ok());
  ASSERT_TRUE(image.value().has_image());
  EXPECT_EQ(image.value().image().repo_tags(0), env().test_image());
}

TEST_F(CriClientTest, ShutdownEndsACallInFlight) {
  sdk::PodRunSpec spec;
  spec.pod = {"cri-client-test", "default", "shutdown"};
  sdk::ContainerSpec c;
  c.name = "c0";
  c.image = env().test_image();
  c.command = {"sleep", "300"};
  spec.containers = {c};
  const cri::RunPodSandboxRequest sandbox_request = BuildSandboxRequest(spec, env().dir() + "/logs", 0, "");
  sdk::Result<cri::RunPodSandboxResponse> sandbox = cri().RunPodSandbox(sandbox_request);
  ASSERT_TRUE(sandbox.ok()) << sandbox.error().message;
  const std::string sandbox_id = sandbox.value().pod_sandbox_id();
  cri::CreateContainerRequest create;
  create.set_pod_sandbox_id(sandbox_id);
  *create.mutable_config() = BuildContainerConfig(spec, 0).value();
  *create.mutable_sandbox_config() = sandbox_request.config();
  sdk::Result<cri::CreateContainerResponse> created = cri().CreateContainer(create);
  ASSERT_TRUE(created.ok()) << created.error().message;
  ASSERT_TRUE(cri().StartContainer(created.value().container_id()).ok());

  // A deadline shorter than the command: TIMEOUT.
  CriClient client(env().endpoint(), std::chrono::seconds(30));
  cri::ExecSyncRequest exec;
  exec.set_container_id(created.value().container_id());
  exec.add_cmd("sleep");
  exec.add_cmd("30");
  sdk::Result<cri::ExecSyncResponse> timed_out = client.ExecSync(exec, std::chrono::milliseconds(500));
  ASSERT_FALSE(timed_out.ok());
  EXPECT_EQ(timed_out.error().code, CAPSTAN_ERR_TIMEOUT) << timed_out.error().message;

  // Shutdown from another thread ends the call at once.
  const auto begin = Clock::now();
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    client.Shutdown();
  });
  sdk::Result<cri::ExecSyncResponse> cancelled = client.ExecSync(exec, std::chrono::seconds(60));
  stopper.join();
  ASSERT_FALSE(cancelled.ok());
  EXPECT_EQ(cancelled.error().code, CAPSTAN_ERR_RETRY_LATER) << cancelled.error().message;
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(5));

  ASSERT_TRUE(cri().StopPodSandbox(sandbox_id).ok());
  ASSERT_TRUE(cri().RemovePodSandbox(sandbox_id).ok());
  EXPECT_EQ(cri().ContainerStatus(created.value().container_id()).error().code, CAPSTAN_ERR_NOT_FOUND)
      << "RemovePodSandbox removes the containers too";
}

}  // namespace
}  // namespace capstan::plugins::containerd
