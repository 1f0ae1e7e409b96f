#include "plugins/process/process_test_util.h"

#include <signal.h>

#include <fstream>
#include <sstream>

namespace capstan::plugins::process {
namespace {

using json = nlohmann::json;

std::string ReadWhole(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

ProcessPluginTest::ProcessPluginTest()
    : PluginHarness({.module = CAPSTAN_PROCESS_PLUGIN, .marker_env = kMarkerVar, .shell = "/bin/sh"}) {}

void ProcessPluginTest::SetUp() {
  ASSERT_FALSE(dir_.path().empty()) << "no temporary directory";
  LoadPlugin();
}

void ProcessPluginTest::TearDown() {
  UnloadPlugin();
  // Every process this test started is gone (SIGKILL lands asynchronously: wait for it).
  for (pid_t pid : AwaitNoProcessWithEnv(std::string(kMarkerVar) + "=" + marker_)) {
    ADD_FAILURE() << "process " << pid << " of this test is still running";
    ::kill(pid, SIGKILL);
  }
}

json ProcessPluginTest::BaseConfig() const { return {{"stateDir", dir_ / "state"}}; }

pid_t ProcessPluginTest::PidFromLog(const sdk::PodRunHandle& h, const std::string& container, const std::string& key) {
  const std::string prefix = key + "=";
  std::string log;
  auto complete = [&](const std::string& out) {
    const size_t at = out.find(prefix);
    return at != std::string::npos && out.find('\n', at) != std::string::npos;
  };
  if (!AwaitLogMatch(h, container, complete, &log)) return -1;
  const size_t at = log.find(prefix) + prefix.size();
  return static_cast<pid_t>(std::stol(log.substr(at, log.find('\n', at) - at)));
}

json ProcessPluginTest::StateFile(const std::string& run_id) const {
  const std::string text = ReadWhole(dir_ / ("state/runs/" + run_id + ".json"));
  if (text.empty()) return nullptr;
  return json::parse(text, nullptr, false);
}

pid_t ProcessPluginTest::PidOf(const sdk::PodRunHandle& h, const std::string& container) const {
  const json state = StateFile(h.id);
  if (!state.is_object()) return -1;
  for (const json& c : state["containers"]) {
    if (c["name"] == container) return c["pid"].get<pid_t>();
  }
  return -1;
}

}  // namespace capstan::plugins::process
