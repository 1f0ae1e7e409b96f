#include "plugins/process/container_start.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "capstan/driver_sdk.hpp"
#include "plugins/process/proc.h"
#include "plugins/process/reaper.h"
#include "plugins/process/spawn.h"

namespace capstan::plugins::process {
namespace {

std::string Normal(const std::string& path) {
  std::string n = std::filesystem::path(path).lexically_normal().string();
  if (n.size() > 1 && n.back() == '/') n.pop_back();
  return n;
}

void Fail(ContainerRecord* rec, std::string message) {
  rec->exited = true;
  rec->exit_code = kStartErrorExitCode;
  rec->reason = "StartError";
  rec->message = std::move(message);
  rec->finished_at_unix_nano = sdk::NowUnixNano();
}

}  // namespace

std::string ImageDirectory(const std::string& image) {
  if (image.empty() || image[0] != '/') return "";
  struct stat st;
  if (::stat(image.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return "";
  return Normal(image);
}

std::string WorkingDirectory(const std::string& working_dir, const std::string& image_dir) {
  const std::string base = image_dir.empty() ? "/" : image_dir;
  if (working_dir.empty()) return base;
  if (working_dir[0] == '/') return Normal(working_dir);
  return Normal(base + "/" + working_dir);
}

StartedContainer StartContainer(const sdk::ContainerSpec& spec, const std::string& run_id,
                                const std::string& log_path) {
  StartedContainer out;
  ContainerRecord& rec = out.record;
  rec.name = spec.name;
  rec.id = ContainerId(run_id, spec.name);
  rec.image = spec.image;
  const std::string image_dir = ImageDirectory(spec.image);
  rec.image_id = image_dir;
  rec.working_dir = WorkingDirectory(spec.working_dir, image_dir);
  rec.env = BuildEnv(spec.env);
  rec.argv = spec.command;
  rec.argv.insert(rec.argv.end(), spec.args.begin(), spec.args.end());

  // The log exists even for a container that fails to start: logs then answers with nothing.
  UniqueFd log(::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600));
  if (!log.valid()) {
    Fail(&rec, "cannot open the log file " + log_path + ": " + std::strerror(errno));
    return out;
  }
  for (const sdk::Mount& m : spec.mounts) {
    if (m.host_path.empty() || Normal(m.host_path) != Normal(m.container_path)) {
      Fail(&rec, "the process driver cannot mount " + m.host_path + " at " + m.container_path +
                     ": processes see the host's file system (use the same path for hostPath and containerPath)");
      return out;
    }
  }
  if (rec.argv.empty()) {
    Fail(&rec, "no command: the process driver has no image to take an entrypoint from; set command (or args)");
    return out;
  }
  struct stat st;
  const int wd_error = ::stat(rec.working_dir.c_str(), &st) != 0 ? errno : (S_ISDIR(st.st_mode) ? 0 : ENOTDIR);
  if (wd_error != 0) {
    Fail(&rec, "working directory " + rec.working_dir + ": " + std::strerror(wd_error));
    return out;
  }
  const Resolved exe = ResolveCommand(rec.argv[0], EnvValue(rec.env, "PATH"), rec.working_dir);
  if (exe.error != 0) {
    Fail(&rec, "exec: " + exe.message);
    return out;
  }
  const Spawned child = Spawn({exe.path, rec.argv, rec.env, rec.working_dir, log.get(), log.get()});
  if (child.pid <= 0) {
    Fail(&rec, "exec " + exe.path + ": " + std::strerror(child.error));
    return out;
  }
  rec.pid = child.pid;
  rec.started_at_unix_nano = sdk::NowUnixNano();
  // The child is not reaped before ProbeProcess does it, so its /proc entry is there.
  if (std::optional<ProcStat> stat = ReadProcStat(child.pid)) rec.start_ticks = stat->start_ticks;
  out.pidfd = OpenPidfd(child.pid);
  return out;
}

}  // namespace capstan::plugins::process
