#include "plugins/containerd/testing/containerd_fixture.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <sstream>

#include "plugins/containerd/pod_request.h"

extern char** environ;

namespace capstan::plugins::containerd {

int RunCommand(const std::vector<std::string>& argv, std::string* out) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 1);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], 2);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(pipe_fds[1]);
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(pipe_fds[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(pipe_fds[0]);
  if (out != nullptr) *out = text;
  if (spawned != 0) return -1;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::unique_ptr<ContainerdEnv> ContainerdEnv::Start(std::string* skip, std::string* error) {
  // Short: the socket path must fit in sun_path (108 bytes).
  std::string tmpl = "/tmp/ccd.XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    *error = std::string("mkdtemp: ") + std::strerror(errno);
    return nullptr;
  }
  std::unique_ptr<ContainerdEnv> env(new ContainerdEnv());
  env->dir_ = tmpl;
  std::string out;
  const int status = RunCommand({CAPSTAN_CONTAINERD_ENV_SCRIPT, "start", env->dir_}, &out);
  if (status == 3) {
    *skip = "containerd is not installed: " + out;
    return nullptr;  // the destructor removes the directory
  }
  if (status != 0) {
    *error = "containerd_env.sh start failed (" + std::to_string(status) + "):\n" + out;
    return nullptr;
  }
  std::map<std::string, std::string> values;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) values[line.substr(0, eq)] = line.substr(eq + 1);
  }
  env->endpoint_ = values["CONTAINERD_ENDPOINT"];
  env->socket_ = values["CONTAINERD_SOCKET"];
  env->test_image_ = values["CONTAINERD_TEST_IMAGE"];
  env->pause_image_ = values["CONTAINERD_PAUSE_IMAGE"];
  if (env->endpoint_.empty() || env->test_image_.empty()) {
    *error = "containerd_env.sh start printed no endpoint or image:\n" + out;
    return nullptr;
  }
  return env;
}

ContainerdEnv::~ContainerdEnv() {
  if (dir_.empty()) return;
  std::string out;
  if (std::filesystem::exists(dir_ + "/config.toml")) {
    if (RunCommand({CAPSTAN_CONTAINERD_ENV_SCRIPT, "stop", dir_}, &out) != 0) {
      ADD_FAILURE() << "containerd_env.sh stop failed:\n" << out;
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

int ContainerdEnv::Ctr(const std::vector<std::string>& args, std::string* out) const {
  std::vector<std::string> argv = {"ctr", "-a", socket_, "-n", "k8s.io"};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, out);
}

bool ContainerdEnv::ImportImage(const std::string& name, const std::vector<std::string>& cmd) const {
  const std::string tar = dir_ + "/images/extra-" + std::to_string(::getpid()) + ".tar";
  std::vector<std::string> argv = {CAPSTAN_CONTAINERD_ENV_SCRIPT, "image", tar, name};
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  std::string out;
  if (RunCommand(argv, &out) != 0) {
    ADD_FAILURE() << "building image " << name << ": " << out;
    return false;
  }
  const int status = Ctr({"images", "import", tar}, &out);
  std::filesystem::remove(tar);
  if (status != 0) ADD_FAILURE() << "importing image " << name << ": " << out;
  return status == 0;
}

// ---- The fixture --------------------------------------------------------------------------------

std::unique_ptr<ContainerdEnv> ContainerdTest::env_;
std::string ContainerdTest::skip_;
std::string ContainerdTest::error_;

void ContainerdTest::SetUpTestSuite() {
  skip_.clear();
  error_.clear();
  env_ = ContainerdEnv::Start(&skip_, &error_);
}

void ContainerdTest::TearDownTestSuite() { env_.reset(); }

void ContainerdTest::SetUp() {
  if (!skip_.empty()) GTEST_SKIP() << skip_;
  ASSERT_NE(env_, nullptr) << error_;
}

CriClient& ContainerdTest::cri() {
  if (cri_ == nullptr) cri_ = std::make_unique<CriClient>(env_->endpoint(), std::chrono::seconds(30));
  return *cri_;
}

void ContainerdTest::TearDown() {
  if (env_ == nullptr) return;
  cri::PodSandboxFilter sandboxes;
  (*sandboxes.mutable_label_selector())[kDriverLabel] = kDriverLabelValue;
  sdk::Result<cri::ListPodSandboxResponse> left = cri().ListPodSandbox(sandboxes);
  ASSERT_TRUE(left.ok()) << left.error().message;
  for (const cri::PodSandbox& s : left.value().items()) {
    ADD_FAILURE() << "sandbox " << s.id() << " of pod " << s.metadata().name() << " is left in containerd";
    (void)cri().StopPodSandbox(s.id());
    (void)cri().RemovePodSandbox(s.id());
  }
  sdk::Result<cri::ListContainersResponse> containers = cri().ListContainers(cri::ContainerFilter());
  ASSERT_TRUE(containers.ok()) << containers.error().message;
  for (const cri::Container& c : containers.value().containers()) {
    ADD_FAILURE() << "container " << c.id() << " (" << c.metadata().name() << ") is left in containerd";
  }
}

}  // namespace capstan::plugins::containerd
