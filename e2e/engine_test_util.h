// Small helpers of the engine e2e tests (docker_driver_test.cc, containerd_driver_test.cc).
#pragma once

#include <signal.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "e2e/process.h"
#include "e2e/server_fixture.h"

namespace capstan::e2e {

inline std::string SourceDir() { return CAPSTAN_SOURCE_DIR; }

// KEY=VALUE lines.
inline std::map<std::string, std::string> ParseEnv(const std::string& text) {
  std::map<std::string, std::string> env;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto eq = line.find('=');
    if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

// Non-empty lines.
inline std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

// SIGKILL of a workload's process, found in the engine: a kill from outside the engine.
inline bool KillPid(const std::string& pid) {
  return !pid.empty() && pid != "0" && ::kill(static_cast<pid_t>(std::stol(pid)), SIGKILL) == 0;
}

// Image garbage collection tests: flags under which any disk is "full" (high threshold 1%, low
// 0%), a pass every second, and a minimum age that keeps every image present at the agent's
// start until a Pod created right after it protects its own.
inline std::vector<std::string> ImageGcTestFlags() {
  return {"--image-gc-high-threshold", "1", "--image-gc-low-threshold", "0", "--image-minimum-gc-age", "4s",
          "--image-gc-period", "1s"};
}

// Creates the Pod "keeper" in default running `sleep 3600` in `image`, and waits until it runs.
// Returns what went wrong, or "".
inline std::string RunKeeperPod(const ServerProcess& server, const std::string& image) {
  using nlohmann::json;
  const json pod = {{"apiVersion", "v1"},
                    {"kind", "Pod"},
                    {"metadata", {{"name", "keeper"}, {"namespace", "default"}}},
                    {"spec",
                     {{"containers",
                       {{{"name", "c"}, {"image", image}, {"imagePullPolicy", "IfNotPresent"},
                         {"command", {"sleep", "3600"}}}}}}}};
  RunResult created = server.Capstan({"apply", "-f", "-"}, pod.dump());
  if (created.exit_code != 0) return "apply: " + created.err;
  const bool running = WaitFor(
      [&] {
        const json p = json::parse(server.Capstan({"get", "pod", "keeper", "-o", "json"}).out, nullptr, false);
        return p.is_object() && p["status"].value("phase", "") == "Running";
      },
      std::chrono::seconds(60));
  if (running) return "";
  return "the pod did not run:\n" + server.Capstan({"get", "pod", "keeper", "-o", "yaml"}).out + server.log();
}

// The messages of the Events about Nodes with `reason`.
inline std::vector<std::string> NodeEventMessages(const ServerProcess& server, const std::string& reason) {
  using nlohmann::json;
  std::vector<std::string> out;
  const json list = json::parse(server.Capstan({"get", "events", "-o", "json"}).out, nullptr, false);
  if (!list.is_object() || !list["items"].is_array()) return out;
  for (const json& e : list["items"]) {
    if (e["involvedObject"].value("kind", "") == "Node" && e.value("reason", "") == reason) {
      out.push_back(e.value("message", ""));
    }
  }
  return out;
}

}  // namespace capstan::e2e
