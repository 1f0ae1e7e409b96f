// The `capstan` client verbs. Each parses its own flags (the global ones were taken out by
// main), calls client/, prints, and returns the process exit code: 0 on success, 1 on errors.
//
// Thread-safety: called from main only.
#pragma once

#include <string>
#include <vector>

#include "cli/flags.h"

namespace capstan::cli {

using Args = std::vector<std::string>;

int RunApply(const GlobalOptions& global, const Args& args);
int RunGet(const GlobalOptions& global, const Args& args);
int RunDescribe(const GlobalOptions& global, const Args& args);
int RunDelete(const GlobalOptions& global, const Args& args);
int RunScale(const GlobalOptions& global, const Args& args);
int RunRollout(const GlobalOptions& global, const Args& args);
int RunVersion(const GlobalOptions& global, const Args& args);
int RunPlugins(const GlobalOptions& global, const Args& args);
int RunApiResources(const GlobalOptions& global, const Args& args);
int RunLogs(const GlobalOptions& global, const Args& args);  // pod_streams.cc
int RunExec(const GlobalOptions& global, const Args& args);  // pod_streams.cc
int RunRegistry(const GlobalOptions& global, const Args& args);  // registry.cc
int RunGitOps(const GlobalOptions& global, const Args& args);
int RunDiff(const GlobalOptions& global, const Args& args);

}  // namespace capstan::cli
