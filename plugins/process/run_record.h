// RunRecord: what the process driver knows about one run, as kept in its state file
// (<stateDir>/runs/<id>.json) so that a new driver instance, after a host restart, can list the run
// and re-attach to its processes. Also the identifiers' rules (run ids and container names become
// file names) and label selection.
//
// A process is identified by its pid AND its start time (field 22 of /proc/<pid>/stat, in clock
// ticks since boot) AND the boot id: a pid recycled for another process, or the same pid after a
// reboot, never passes for the container.
//
// Thread-safety: plain values and stateless functions.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "capstan/driver_types.hpp"

namespace capstan::plugins::process {

inline constexpr int kRecordVersion = 1;

struct ContainerRecord {
  std::string name, id, image, image_id;
  std::vector<std::string> argv;  // as started (argv[0] as given in the spec)
  std::vector<std::string> env;   // "NAME=value": the process's environment, reused by exec
  std::string working_dir;        // absolute
  int64_t pid = 0;                // 0: never started (a start error)
  uint64_t start_ticks = 0;       // /proc/<pid>/stat field 22
  std::optional<int64_t> started_at_unix_nano;
  // Set once the container is known to be terminated.
  bool exited = false;
  int64_t exit_code = 0;
  std::string reason, message;
  std::optional<int64_t> finished_at_unix_nano;
};

struct RunRecord {
  std::string id;
  std::string boot_id;  // /proc/sys/kernel/random/boot_id when the run started
  sdk::PodRef pod;
  std::map<std::string, std::string> labels;
  int64_t created_at_unix_nano = 0;
  std::vector<ContainerRecord> containers;  // in spec order
};

nlohmann::json ToJson(const RunRecord& run);
// Never throws; false with *error set when `j` is not a RunRecord of a version this code reads.
bool FromJson(const nlohmann::json& j, RunRecord* out, std::string* error);

// The handle the host keeps for the run (id, pod, container names and ids).
sdk::PodRunHandle HandleOf(const RunRecord& run);

// Every pair of `selector` is in `labels` ({} matches everything).
bool LabelsMatch(const std::map<std::string, std::string>& labels, const std::map<std::string, std::string>& selector);

// Run ids are ours: [a-z0-9][a-z0-9-]{0,63}. Anything else is no run of this driver (and is never
// turned into a path).
bool ValidRunId(std::string_view id);
// A fresh run id: 20 hex digits from the kernel's random source.
std::string NewRunId();

// Container names become file names: [A-Za-z0-9][A-Za-z0-9._-]{0,252}.
bool ValidContainerName(std::string_view name);
// The container id the handle carries: "<run id>.<container name>".
std::string ContainerId(const std::string& run_id, const std::string& name);

}  // namespace capstan::plugins::process
