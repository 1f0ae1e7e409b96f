// The end-to-end scenario for a driver, the same for every engine: a Deployment of three
// small HTTP servers (busybox httpd on the port the node allocated, a readiness probe on it, an
// exec liveness probe) is applied, answers on 127.0.0.1, survives a kill from outside the engine
// and a failing liveness probe (restarts counted), scales to 5 and to 1 and back to 3, rolls to a
// new image (or a new command where the engine has no images), survives a kill -9 of the server
// in the middle of that rollout without duplicates or orphans, and once deleted leaves nothing of
// Capstan's in the engine.
//
// An engine test supplies how to see and hurt its workloads (EngineAdapter); the scenario never
// talks to the engine otherwise. All traffic goes to 127.0.0.1.
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "e2e/server_fixture.h"

namespace capstan::e2e {

struct EngineAdapter {
  std::string name;                        // for messages: "process", "docker", ...
  std::vector<std::string> server_flags;   // --driver NAME --driver-config JSON ...
  std::string image_v1 = "none";           // the Deployment's image
  std::string image_v2;                    // the rollout's; empty: change the command instead
  std::string busybox = "/bin/busybox";    // the busybox binary as the workload sees it
  std::string www;                         // a host directory, mounted at the same path
  // Ids of this test's workloads running in the engine now (processes, containers).
  std::function<std::set<std::string>()> workloads;
  // Kills one from outside the engine (SIGKILL of its process, docker kill, ...).
  std::function<bool(const std::string& id)> kill;
  // Extra env for the containers (e.g. a marker the adapter finds processes by).
  std::vector<std::pair<std::string, std::string>> env;
};

// Runs the scenario on a started `server` (its flags must be adapter.server_flags); records
// failures with gtest.
void RunWorkloadScenario(ServerProcess& server, const EngineAdapter& adapter);

}  // namespace capstan::e2e
