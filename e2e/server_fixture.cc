#include "e2e/server_fixture.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <regex>
#include <thread>

namespace capstan::e2e {

std::string CapstanBin() {
  const char* b = std::getenv("CAPSTAN_BIN");
  return b && *b ? b : "build/bin/capstan";
}

std::string KubectlTestName(const std::string& version) {
  std::string n = "kubectl_" + version;
  for (auto& c : n) {
    if (!isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return n;
}

std::vector<std::pair<std::string, std::string>> KubectlBinaries() {
  std::vector<std::pair<std::string, std::string>> out;
  const std::string dir = "/usr/lib/google-cloud-sdk/bin";
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n.rfind("kubectl.1.", 0) == 0) out.emplace_back(n.substr(8), dir + "/" + n);
    }
    closedir(d);
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    return std::stoi(a.first.substr(2)) < std::stoi(b.first.substr(2));
  });
  if (out.empty() && access("/usr/bin/kubectl", X_OK) == 0) out.emplace_back("default", "/usr/bin/kubectl");
  return out;
}

ServerProcess::ServerProcess(std::string data_dir)
    : root_("capstan-e2e-"), data_dir_(std::move(data_dir)) {
  const std::string& root = root_.path();
  if (data_dir_.empty()) data_dir_ = root + "/data";
  home_ = root + "/home";
  log_path_ = root + "/server.log";
  Shell("mkdir -p '" + home_ + "'");
}

ServerProcess::~ServerProcess() { Stop(9); }

bool ServerProcess::Start(const std::vector<std::string>& extra_flags, std::chrono::milliseconds timeout) {
  // The kubeconfig is written once the server listens; a stale one from a previous run must not
  // be mistaken for readiness.
  unlink(kubeconfig().c_str());
  std::vector<std::string> argv = {CapstanBin(), "server", "--data-dir", data_dir_, "--listen", "127.0.0.1:0"};
  argv.insert(argv.end(), extra_flags.begin(), extra_flags.end());
  // A test that names no driver runs no local Node (the server's default would pick docker or
  // the process driver and run the test's Pods for real).
  if (std::find(extra_flags.begin(), extra_flags.end(), "--driver") == extra_flags.end()) {
    argv.insert(argv.end(), {"--driver", "none"});
  }
  // Nor a load balancer: the server's default runs HAProxy whenever it is installed, and tests
  // running side by side would then compete for the listeners of the Services they create.
  if (std::find(extra_flags.begin(), extra_flags.end(), "--lb") == extra_flags.end()) {
    argv.insert(argv.end(), {"--lb", "none"});
  }
  // Nor image garbage collection: it answers to how full the host's disk is (a CI host's may be
  // above the default 85%), and would remove the images of tests that pause between Pods.
  if (std::find(extra_flags.begin(), extra_flags.end(), "--image-gc-high-threshold") == extra_flags.end()) {
    argv.insert(argv.end(), {"--image-gc-high-threshold", "100"});
  }
  if (!child_.Start(argv, log_path_, {{"HOME", home_}})) return false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  static const std::regex server_re(R"re(server:\s*"?(https?://[^"\s]+)"?)re");
  while (std::chrono::steady_clock::now() < deadline) {
    if (!child_.Running()) return false;
    std::string kc = ReadFile(kubeconfig());
    std::smatch m;
    if (std::regex_search(kc, m, server_re)) {
      url_ = m[1];
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

int ServerProcess::Stop(int sig) { return child_.Stop(sig); }

std::string ServerProcess::token() const {
  std::string t = ReadFile(data_dir_ + "/admin-token");
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  return t;
}

RunResult ServerProcess::Capstan(const std::vector<std::string>& args, const std::string& stdin_text,
                                 std::chrono::milliseconds timeout) const {
  std::vector<std::string> argv = {CapstanBin()};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--kubeconfig");
  argv.push_back(kubeconfig());
  return Run(argv, stdin_text, {{"HOME", home_}}, timeout);
}

RunResult ServerProcess::Kubectl(const std::string& kubectl, const std::vector<std::string>& args,
                                 const std::string& stdin_text, std::chrono::milliseconds timeout) const {
  std::vector<std::string> argv = {kubectl, "--kubeconfig", kubeconfig()};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, stdin_text, {{"HOME", home_}, {"KUBECACHEDIR", home_ + "/.kube/cache"}}, timeout);
}

RunResult ServerProcess::Curl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv = {"curl", "-sS", "--cacert", data_dir_ + "/ca.crt", "-H",
                                   "Authorization: Bearer " + token()};
  argv.insert(argv.end(), args.begin(), args.end());
  return Run(argv, "", {}, std::chrono::seconds(30));
}

}  // namespace capstan::e2e
