#include "plugins/docker/testing/dockerd_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#ifndef CAPSTAN_DOCKERD_FIXTURE_SCRIPT
#error "CAPSTAN_DOCKERD_FIXTURE_SCRIPT: the path of testing/dockerd-fixture.sh"
#endif

extern char** environ;

namespace capstan::plugins::docker::testing {
namespace {

constexpr char kDockerCli[] = "/usr/bin/docker";
constexpr int kNotInstalledStatus = 77;

// Runs argv; its stdout into *out (when given); returns the exit status (-1: could not run it).
int Run(const std::vector<std::string>& argv, std::string* out) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipe_fds[1], STDOUT_FILENO);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  const int spawned = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipe_fds[1]);
  std::string output;
  char buf[4096];
  ssize_t n;
  while ((n = read(pipe_fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
    if (n > 0) output.append(buf, static_cast<size_t>(n));
  }
  close(pipe_fds[0]);
  if (spawned != 0) return -1;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!output.empty() && output.back() == '\n') output.pop_back();
  if (out != nullptr) *out = output;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::unique_ptr<DockerdFixture> g_fixture;
DockerdFixture::Outcome g_outcome = DockerdFixture::Outcome::kFailed;
std::string g_why = "the dockerd environment was not registered";

}  // namespace

std::unique_ptr<DockerdFixture> DockerdFixture::Start(const Options& options, Outcome* outcome, std::string* why) {
  std::vector<std::string> argv = {"/bin/bash", CAPSTAN_DOCKERD_FIXTURE_SCRIPT, "start", "--owner",
                                   std::to_string(getpid())};
  if (options.tls) argv.push_back("--tls");
  std::string dir;
  const int status = Run(argv, &dir);
  if (status == kNotInstalledStatus) {
    *outcome = Outcome::kNotInstalled;
    *why = "dockerd-fixture.sh start: a tool is missing (see its message above)";
    return nullptr;
  }
  if (status != 0 || dir.empty()) {
    *outcome = Outcome::kFailed;
    *why = "dockerd-fixture.sh start exited with " + std::to_string(status) + " (see its messages above)";
    return nullptr;
  }
  std::map<std::string, std::string> env;
  std::ifstream in(dir + "/env");
  for (std::string line; std::getline(in, line);) {
    const size_t eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  *outcome = Outcome::kStarted;
  return std::unique_ptr<DockerdFixture>(new DockerdFixture(dir, std::move(env)));
}

DockerdFixture::~DockerdFixture() {
  std::string ignored;
  Run({"/bin/bash", CAPSTAN_DOCKERD_FIXTURE_SCRIPT, "stop", dir_}, &ignored);
}

bool DockerdFixture::RestartEngine() const {
  std::string ignored;
  return Run({"/bin/bash", CAPSTAN_DOCKERD_FIXTURE_SCRIPT, "restart", dir_}, &ignored) == 0;
}

std::string DockerdFixture::Get(const std::string& key) const {
  auto it = env_.find(key);
  return it == env_.end() ? std::string() : it->second;
}

int DockerdFixture::Docker(const std::vector<std::string>& args, std::string* out) const {
  std::vector<std::string> argv = {kDockerCli, "-H", endpoint()};
  argv.insert(argv.end(), args.begin(), args.end());
  std::string ignored;
  return Run(argv, out != nullptr ? out : &ignored);
}

std::string DockerdFixture::MustDocker(const std::vector<std::string>& args) const {
  std::string out;
  const int status = Docker(args, &out);
  std::string line;
  for (const std::string& a : args) line += " " + a;
  EXPECT_EQ(status, 0) << "docker" << line << ": " << out;
  return out;
}

void DockerdEnvironment::SetUp() {
  std::string why;
  DockerdFixture::Outcome outcome = DockerdFixture::Outcome::kFailed;
  g_fixture = DockerdFixture::Start(options_, &outcome, &why);
  g_outcome = outcome;
  g_why = why;
}

void DockerdEnvironment::TearDown() { g_fixture.reset(); }

DockerdFixture* DockerdEnvironment::fixture() { return g_fixture.get(); }
DockerdFixture::Outcome DockerdEnvironment::outcome() { return g_outcome; }
const std::string& DockerdEnvironment::why() { return g_why; }

int FreeLoopbackPort() {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  close(fd);
  return port;
}

std::string HttpGetLoopback(int port, const std::string& path) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string answer;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, request.data(), request.size()) == static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = read(fd, buf, sizeof buf)) > 0) answer.append(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  return answer;
}

}  // namespace capstan::plugins::docker::testing
