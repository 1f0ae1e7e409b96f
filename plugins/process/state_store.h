// StateStore: the run records of one state directory, one file per run:
// <stateDir>/runs/<run id>.json. Writes are atomic and durable (a temporary file, fsync, rename,
// fsync of the directory), so a crash leaves either the old record or the new one, never half.
//
// One StateStore per directory in the process (Open shares it): every driver instance on the same
// stateDir goes through the same mutex, so that a late exit record never re-creates the file of a
// run another instance just removed. Two host processes on one stateDir are not supported.
//
// Thread-safety: every method is thread-safe (one mutex; file I/O happens under it).
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "capstan/driver_sdk.hpp"
#include "plugins/process/run_record.h"

namespace capstan::plugins::process {

class StateStore {
 public:
  // Creates <state_dir>/runs (mode 0700, parents as needed) and returns the process's store for
  // that directory. INVALID_CONFIG naming stateDir when it cannot be created.
  static sdk::Result<std::shared_ptr<StateStore>> Open(const std::string& state_dir);

  const std::string& runs_dir() const { return runs_dir_; }

  // Writes `run`'s record (creating or replacing it), atomically and durably.
  sdk::Result<void> Write(const RunRecord& run);
  // Read-modify-write of an existing record: `update` changes the record and returns whether to
  // write it back. NOT_FOUND when the run has no record (removed: nothing is re-created).
  sdk::Result<void> Update(const std::string& id, const std::function<bool(RunRecord*)>& update);
  // The record of run `id`; NOT_FOUND when there is none, INTERNAL when it cannot be read.
  sdk::Result<RunRecord> Load(const std::string& id);
  // Every readable record. Files that cannot be read or decoded are skipped, each with a line in
  // *problems (when given).
  std::vector<RunRecord> LoadAll(std::vector<std::string>* problems = nullptr);
  // Deletes run `id`'s record (durably). Idempotent.
  sdk::Result<void> Remove(const std::string& id);

  explicit StateStore(std::string runs_dir) : runs_dir_(std::move(runs_dir)) {}

 private:
  std::string PathOf(const std::string& id) const { return runs_dir_ + "/" + id + ".json"; }
  sdk::Result<RunRecord> LoadLocked(const std::string& id);
  sdk::Result<void> WriteLocked(const RunRecord& run);

  const std::string runs_dir_;  // constant after construction
  std::mutex mu_;               // serialises every file operation of this directory
};

// Writes `data` to `path` atomically and durably (temporary file in the same directory, fsync,
// rename, fsync of the directory), mode 0600. Exposed for tests.
sdk::Result<void> WriteFileAtomic(const std::string& path, const std::string& data);

// Creates `dir` and its missing parents with mode 0700. Returns errno (0 on success).
int MakeDirs(const std::string& dir);

}  // namespace capstan::plugins::process
