// The docker driver through the real ABI, the operations around runs: logs (tail, follow,
// stdout/stderr apart), exec (output, exit code, timeout), images (pull from the fixture's
// registry, list, remove, in use), fingerprint and configuration.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "plugins/docker/docker_test_util.h"

namespace capstan::plugins::docker {
namespace {

using node::PluginOp;
using sdk::ContainerState;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

TEST_F(DockerPluginTest, LogsWithTailAndStreamsApart) {
  const sdk::PodRunHandle h =
      Start(Spec({Shell("c0", "echo line1; echo line2; echo oops >&2; sleep 0.2; echo line3; echo done; sleep 300")}));
  ASSERT_TRUE(AwaitLog(h, "c0", "done"));
  const LogOutput all = Logs(h, "c0");
  EXPECT_EQ(all.out, "line1\nline2\nline3\ndone\n");
  EXPECT_EQ(all.err, "oops\n");
  const LogOutput tail = Logs(h, "c0", 2);
  EXPECT_EQ(tail.out, "line3\ndone\n");
  EXPECT_EQ(tail.err, "");
  EXPECT_EQ(Logs(h, "c0", 0).out, "");
  EXPECT_EQ(instance_
                ->Logs(sdk::Encode(sdk::LogsRequest{h, "no-such", false, -1}),
                       [](int32_t, std::string_view) { return true; })
                .code,
            CAPSTAN_ERR_NOT_FOUND);
}

TEST_F(DockerPluginTest, FollowDeliversAsItComesAndEndsWithTheContainer) {
  const sdk::PodRunHandle h =
      Start(Spec({Shell("c0", "for i in 1 2 3 4 5; do echo tick$i; sleep 0.3; done; sleep 1.5; echo last")}));
  const auto begin = Clock::now();
  std::vector<std::pair<std::string, Clock::duration>> arrivals;
  const LogOutput followed = Logs(h, "c0", -1, true, [&](const LogOutput& o) {
    if (arrivals.empty() || arrivals.back().first != o.out) arrivals.emplace_back(o.out, Clock::now() - begin);
    return false;
  });
  EXPECT_EQ(followed.out, "tick1\ntick2\ntick3\ntick4\ntick5\nlast\n") << "follow returns when the container exits";
  EXPECT_GE(followed.heartbeats, 1) << "a quiet second is heartbeated";
  EXPECT_GE(arrivals.size(), 4u) << "lines come as they are written, not all at the end";
  EXPECT_EQ(StatusOf(h, "c0").state, ContainerState::kTerminated);
  EXPECT_EQ(StatusOf(h, "c0").reason, "Completed");

  // A follow of a running, quiet container heartbeats until the sink says stop.
  const sdk::PodRunHandle quiet = Start(Spec({Container("q", {"sleep", "300"})}));
  const auto cut_begin = Clock::now();
  const LogOutput cut = Logs(quiet, "q", -1, true, [](const LogOutput& o) { return o.heartbeats >= 2; });
  EXPECT_EQ(cut.heartbeats, 2);
  EXPECT_LT(Clock::now() - cut_begin, std::chrono::milliseconds(2 * CAPSTAN_LOG_HEARTBEAT_MS + 500));
}

TEST_F(DockerPluginTest, ExecOutputExitCodeAndTimeout) {
  const sdk::PodRunHandle h = Start(Spec({Container("c0", {"sleep", "300"})}));
  ASSERT_TRUE(AwaitRunning(h, "c0"));
  auto sh = Must<sdk::ExecResult>(
      PluginOp::kExec,
      sdk::ExecRequest{h, "c0", {"sh", "-c", "echo $CAPSTAN_DOCKER_TEST; echo e >&2; exit 3"}, 10000});
  EXPECT_EQ(sh.exit_code, 3);
  EXPECT_EQ(sh.out, marker_ + "\n") << "the container's environment";
  EXPECT_EQ(sh.err, "e\n");
  auto big = Must<sdk::ExecResult>(PluginOp::kExec,
                                   sdk::ExecRequest{h, "c0", {"sh", "-c", "head -c 3000000 /dev/zero"}, 30000});
  EXPECT_EQ(big.exit_code, 0);
  EXPECT_EQ(big.out.size(), size_t{1} << 20) << "output is kept up to 1 MiB";
  auto missing = Must<sdk::ExecResult>(PluginOp::kExec, sdk::ExecRequest{h, "c0", {"no-such-command-xyz"}, 10000});
  EXPECT_EQ(missing.exit_code, 127) << "not found: " << missing.out << missing.err;
  EXPECT_NE((missing.out + missing.err).find("no-such-command-xyz"), std::string::npos);

  const auto begin = Clock::now();
  node::PluginReply slow = Call(PluginOp::kExec, sdk::ExecRequest{h, "c0", {"sleep", "77"}, 300});
  EXPECT_EQ(slow.code, CAPSTAN_ERR_TIMEOUT) << slow.error;
  EXPECT_LT(Clock::now() - begin, std::chrono::seconds(5));
  EXPECT_NE(slow.error.find("killed"), std::string::npos) << slow.error;
  auto ps = Must<sdk::ExecResult>(PluginOp::kExec, sdk::ExecRequest{h, "c0", {"ps", "-o", "args"}, 10000});
  EXPECT_EQ(ps.out.find("sleep 77"), std::string::npos) << "the timed out command still runs:\n" << ps.out;

  EXPECT_EQ(Call(PluginOp::kExec, sdk::ExecRequest{h, "nope", {"true"}, 0}).code, CAPSTAN_ERR_NOT_FOUND);
  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 0}).code, CAPSTAN_OK);
  EXPECT_EQ(Call(PluginOp::kExec, sdk::ExecRequest{h, "c0", {"true"}, 0}).code, CAPSTAN_ERR_CONFLICT);
}

TEST_F(DockerPluginTest, ImagesPullListRemove) {
  if (engine().registry().empty()) GTEST_SKIP() << "docker-registry is not installed: nothing to pull from";
  const std::string image = engine().image();
  // Pull from the fixture's registry (credentials are passed on; this registry needs none).
  sdk::RegistryAuth auth;
  auth.username = "capstan";
  auth.password = "unused";
  auth.server_address = engine().registry();
  auto pulled = Must<sdk::PullImageResult>(PluginOp::kPullImage, sdk::PullImageRequest{image, auth});
  EXPECT_EQ(pulled.image_id.rfind("sha256:", 0), 0u) << pulled.image_id;
  const std::string untagged = image.substr(0, image.rfind(':'));
  auto again = Must<sdk::PullImageResult>(PluginOp::kPullImage, sdk::PullImageRequest{untagged, {}});
  EXPECT_EQ(again.image_id, pulled.image_id) << "no tag is :latest";

  node::PluginReply unknown =
      Call(PluginOp::kPullImage, sdk::PullImageRequest{engine().registry() + "/capstan-test/nope:1", {}});
  EXPECT_EQ(unknown.code, CAPSTAN_ERR_NOT_FOUND) << unknown.error;
  node::PluginReply unreachable =
      Call(PluginOp::kPullImage,
           sdk::PullImageRequest{"127.0.0.1:" + std::to_string(testing::FreeLoopbackPort()) + "/x/y:1", {}});
  EXPECT_EQ(unreachable.code, CAPSTAN_ERR_UNAVAILABLE) << unreachable.error;

  auto list = Must<sdk::ImageList>(PluginOp::kListImages, sdk::ListImagesRequest{});
  bool listed = false;
  for (const sdk::Image& i : list.images) {
    if (i.id == pulled.image_id) {
      listed = true;
      EXPECT_EQ(i.tags, std::vector<std::string>{image});
      EXPECT_GT(i.size_bytes, 1000000);
    }
  }
  EXPECT_TRUE(listed);

  // In use by a run (even a stopped one): CONFLICT. Removed with the run: removable, and then
  // absent; removing it again is fine; start then fails NOT_FOUND until it is pulled again.
  const sdk::PodRunHandle h = Start(Spec({Container("c0", {"sleep", "300"})}));
  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 0}).code, CAPSTAN_OK);
  EXPECT_EQ(Call(PluginOp::kRemoveImage, sdk::RemoveImageRequest{image}).code, CAPSTAN_ERR_CONFLICT);
  ASSERT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{h}).code, CAPSTAN_OK);
  ASSERT_EQ(Call(PluginOp::kRemoveImage, sdk::RemoveImageRequest{image}).code, CAPSTAN_OK);
  EXPECT_EQ(Call(PluginOp::kRemoveImage, sdk::RemoveImageRequest{image}).code, CAPSTAN_OK);
  EXPECT_EQ(Call(PluginOp::kStart, Spec({Container("c0", {"true"})})).code, CAPSTAN_ERR_NOT_FOUND)
      << "start does not pull";
  Must<sdk::PullImageResult>(PluginOp::kPullImage, sdk::PullImageRequest{image, {}});
  Start(Spec({Container("c0", {"true"})}));
}

TEST_F(DockerPluginTest, CapabilitiesAndFingerprint) {
  auto caps = Must<sdk::Capabilities>(PluginOp::kCapabilities, sdk::CapabilitiesRequest{});
  EXPECT_TRUE(caps.exec && caps.logs && caps.image_pull && caps.images && caps.exit_events && caps.remote_endpoint);
  EXPECT_EQ(caps.network_modes, (std::vector<std::string>{"host", "bridge", "none"}));
  auto fp = Must<sdk::Fingerprint>(PluginOp::kFingerprint, sdk::FingerprintRequest{});
  EXPECT_TRUE(fp.healthy) << fp.message;
  EXPECT_EQ(fp.os, "linux");
  EXPECT_EQ(fp.arch, "amd64");
  EXPECT_EQ(fp.runtime_version.rfind("docker://20.10", 0), 0u) << fp.runtime_version;
  EXPECT_EQ(fp.capacity["cpu"], std::to_string(std::thread::hardware_concurrency()));
  EXPECT_EQ(fp.capacity["pods"], "110");
  ASSERT_TRUE(fp.capacity["memory"].is_string());
  EXPECT_EQ(fp.capacity["memory"].get<std::string>().substr(fp.capacity["memory"].get<std::string>().size() - 2), "Ki");
  EXPECT_EQ(fp.attributes["docker.apiVersion"], "1.41");
  EXPECT_EQ(fp.attributes["docker.endpoint"], engine().endpoint());

  // An engine that does not answer: unhealthy with a reason, not an error.
  Recreate(Config({{"endpoint", "unix://" + engine().dir() + "/nobody-here.sock"}, {"pods", 7}}));
  auto down = Must<sdk::Fingerprint>(PluginOp::kFingerprint, sdk::FingerprintRequest{});
  EXPECT_FALSE(down.healthy);
  EXPECT_NE(down.message.find("nobody-here.sock"), std::string::npos) << down.message;
  EXPECT_FALSE(down.os.empty());
  EXPECT_NE(down.runtime_version.find("://"), std::string::npos);
  EXPECT_EQ(Call(PluginOp::kList, sdk::ListRequest{}).code, CAPSTAN_ERR_UNAVAILABLE);
}

TEST_F(DockerPluginTest, ConfigurationErrorsNameTheField) {
  for (const auto& [config, field] : std::vector<std::pair<json, std::string>>{
           {json{{"endpoint", "docker.sock"}}, "endpoint"},
           {json{{"apiVersion", "1.2"}}, "apiVersion"},
           {json{{"nope", 1}}, "nope"},
           {json{{"endpoint", "tcp://127.0.0.1:2376"}, {"tls", {{"ca", "/no/such/ca.pem"}}}}, "tls.ca"}}) {
    ExpectConfigRejected(config, field);
  }
}

}  // namespace
}  // namespace capstan::plugins::docker
