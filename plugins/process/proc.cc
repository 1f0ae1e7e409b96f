#include "plugins/process/proc.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <type_traits>
#include <utility>
#include <vector>

#include "plugins/process/unique_fd.h"

namespace capstan::plugins::process {
namespace {

// A small file of /proc, whole ("" when it cannot be read).
std::string ReadSmallFile(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return "";
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

// The exit statuses ProbeProcess reaped, by (pid, start ticks). Process-wide, for the life of the
// library (see proc.h).
struct Reaped {
  std::mutex mu;
  std::map<std::pair<pid_t, uint64_t>, int> status;  // guarded by mu
};
Reaped& TheReaped() {
  static Reaped r;
  return r;
}

}  // namespace

std::optional<ProcStat> ParseProcStat(std::string_view text) {
  const size_t close = text.rfind(')');
  if (close == std::string_view::npos) return std::nullopt;
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  size_t i = close + 1;
  while (i < text.size() && fields.size() < 20) {
    while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
    size_t j = i;
    while (j < text.size() && !std::isspace(static_cast<unsigned char>(text[j]))) ++j;
    if (j > i) fields.push_back(text.substr(i, j - i));
    i = j;
  }
  if (fields.size() < 20 || fields[0].size() != 1) return std::nullopt;
  auto number = [](std::string_view s, auto* out) {
    std::string tmp(s);
    char* end = nullptr;
    errno = 0;
    const long long v = std::strtoll(tmp.c_str(), &end, 10);
    if (errno != 0 || end == tmp.c_str() || *end != '\0') return false;
    *out = static_cast<std::remove_pointer_t<decltype(out)>>(v);
    return true;
  };
  ProcStat st;
  st.state = fields[0][0];
  if (!number(fields[1], &st.ppid) || !number(fields[2], &st.pgrp) || !number(fields[3], &st.session) ||
      !number(fields[19], &st.start_ticks)) {
    return std::nullopt;
  }
  return st;
}

std::optional<ProcStat> ReadProcStat(pid_t pid) {
  if (pid <= 0) return std::nullopt;
  const std::string text = ReadSmallFile("/proc/" + std::to_string(pid) + "/stat");
  if (text.empty()) return std::nullopt;
  return ParseProcStat(text);
}

std::string ReadBootId() {
  std::string id = ReadSmallFile("/proc/sys/kernel/random/boot_id");
  while (!id.empty() && std::isspace(static_cast<unsigned char>(id.back()))) id.pop_back();
  return id;
}

ProbeResult ProbeProcess(pid_t pid, uint64_t start_ticks) {
  if (pid <= 0) return {Liveness::kGone, 0};
  Reaped& reaped = TheReaped();
  // Every reap of a container happens under this mutex, so a status is either in the map or
  // still with the kernel: two instances never race each other into ECHILD.
  std::lock_guard<std::mutex> lock(reaped.mu);
  if (auto it = reaped.status.find({pid, start_ticks}); it != reaped.status.end()) {
    return {Liveness::kExited, it->second};
  }
  // The start time first: a pid recycled for another process (even another child of ours) is
  // never waited for.
  const std::optional<ProcStat> st = ReadProcStat(pid);
  if (!st || st->start_ticks != start_ticks) return {Liveness::kGone, 0};
  int status = 0;
  const pid_t r = ::waitpid(pid, &status, WNOHANG);
  if (r == pid) {
    reaped.status[{pid, start_ticks}] = status;
    return {Liveness::kExited, status};
  }
  if (r == 0) return {Liveness::kRunning, 0};  // our child, not exited
  // ECHILD: not our child (the host restarted since it was started): its parent reaps it.
  return {st->state == 'Z' || st->state == 'X' ? Liveness::kGone : Liveness::kRunning, 0};
}

void ForgetProcess(pid_t pid, uint64_t start_ticks) {
  Reaped& reaped = TheReaped();
  std::lock_guard<std::mutex> lock(reaped.mu);
  reaped.status.erase({pid, start_ticks});
}

int SignalGroup(pid_t pid, uint64_t start_ticks, int sig) {
  if (pid <= 1) return EINVAL;
  const std::optional<ProcStat> st = ReadProcStat(pid);
  if (st && st->start_ticks != start_ticks) return EPERM;
  // The leader is ours (alive or a zombie), or gone: then only members of its group can hold the
  // group id, as Linux does not hand out a pid still in use as a process group id.
  if (::kill(-pid, sig) != 0) return errno;
  return 0;
}

ExitInfo DescribeWaitStatus(int wait_status) {
  ExitInfo out;
  if (WIFEXITED(wait_status)) {
    out.exit_code = WEXITSTATUS(wait_status);
  } else if (WIFSIGNALED(wait_status)) {
    const int sig = WTERMSIG(wait_status);
    out.exit_code = 128 + sig;
    const char* abbrev = ::sigabbrev_np(sig);  // thread-safe, unlike strsignal before glibc 2.32
    out.message =
        "killed by signal " + std::to_string(sig) + (abbrev != nullptr ? " (SIG" + std::string(abbrev) + ")" : "");
    if (WCOREDUMP(wait_status)) out.message += ", core dumped";
  } else {
    out.exit_code = 255;
    out.message = "unexpected wait status " + std::to_string(wait_status);
  }
  out.reason = out.exit_code == 0 ? "Completed" : "Error";
  return out;
}

}  // namespace capstan::plugins::process
