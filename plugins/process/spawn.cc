#include "plugins/process/spawn.h"

#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "plugins/process/unique_fd.h"

namespace capstan::plugins::process {
namespace {

std::string HomeDir() {
  struct passwd pw;
  struct passwd* found = nullptr;
  char buf[4096];
  if (::getpwuid_r(::geteuid(), &pw, buf, sizeof buf, &found) == 0 && found != nullptr && pw.pw_dir != nullptr &&
      pw.pw_dir[0] == '/') {
    return pw.pw_dir;
  }
  return "/";
}

std::string HostName() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

void SetEnv(std::vector<std::string>* env, const std::string& name, const std::string& value) {
  for (std::string& e : *env) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      e = name + "=" + value;
      return;
    }
  }
  env->push_back(name + "=" + value);
}

// 0 when `path` is an executable regular file, else ENOENT or EACCES.
int CheckExecutable(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return errno == EACCES ? EACCES : ENOENT;
  if (!S_ISREG(st.st_mode)) return EACCES;
  return ::access(path.c_str(), X_OK) == 0 ? 0 : EACCES;
}

std::string Join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir == "/") return "/" + name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
}

// A descriptor of at least 3 for `fd` (a duplicate when it is 0..2, which the spawn actions
// replace), owned by `keep` if duplicated.
int AboveStdio(int fd, UniqueFd* keep) {
  if (fd < 0 || fd > 2) return fd;
  keep->reset(::fcntl(fd, F_DUPFD_CLOEXEC, 3));
  return keep->get();
}

}  // namespace

std::vector<std::string> BuildEnv(const std::vector<sdk::EnvVar>& spec_env) {
  std::vector<std::string> env = {std::string("PATH=") + kDefaultPath, "HOME=" + HomeDir()};
  if (const std::string host = HostName(); !host.empty()) env.push_back("HOSTNAME=" + host);
  for (const sdk::EnvVar& v : spec_env) {
    if (v.name.empty() || v.name.find('=') != std::string::npos || v.name.find('\0') != std::string::npos) continue;
    SetEnv(&env, v.name, v.value);
  }
  return env;
}

std::string EnvValue(const std::vector<std::string>& env, std::string_view name) {
  for (const std::string& e : env) {
    if (e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=') {
      return e.substr(name.size() + 1);
    }
  }
  return "";
}

Resolved ResolveCommand(const std::string& command, const std::string& path_env, const std::string& working_dir) {
  Resolved out;
  if (command.empty()) {
    out.error = ENOENT;
    out.message = "the command is empty";
    return out;
  }
  if (command.find('/') != std::string::npos) {
    out.path = command[0] == '/' ? command : Join(working_dir, command);
    out.error = CheckExecutable(out.path);
    if (out.error != 0) out.message = out.path + ": " + std::strerror(out.error);
    return out;
  }
  bool denied = false;
  size_t at = 0;
  for (;;) {
    const size_t colon = path_env.find(':', at);
    std::string dir = path_env.substr(at, colon == std::string::npos ? std::string::npos : colon - at);
    if (dir.empty() || dir[0] != '/') dir = dir.empty() ? working_dir : Join(working_dir, dir);
    const std::string candidate = Join(dir, command);
    const int e = CheckExecutable(candidate);
    if (e == 0) {
      out.path = candidate;
      return out;
    }
    denied = denied || e == EACCES;
    if (colon == std::string::npos) break;
    at = colon + 1;
  }
  out.error = denied ? EACCES : ENOENT;
  out.message = command + (denied ? ": permission denied" : ": executable file not found") + " in PATH " + path_env;
  return out;
}

Spawned Spawn(const SpawnSpec& spec) {
  Spawned out;
  UniqueFd out_copy, err_copy;
  const int out_fd = AboveStdio(spec.stdout_fd, &out_copy);
  const int err_fd = AboveStdio(spec.stderr_fd, &err_copy);
  if ((spec.stdout_fd >= 0 && out_fd < 0) || (spec.stderr_fd >= 0 && err_fd < 0)) {
    out.error = errno;
    return out;
  }

  std::vector<char*> argv, envp;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const std::string& e : spec.env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  posix_spawnattr_t attr;
  posix_spawn_file_actions_t actions;
  if (int e = ::posix_spawnattr_init(&attr); e != 0) {
    out.error = e;
    return out;
  }
  if (int e = ::posix_spawn_file_actions_init(&actions); e != 0) {
    ::posix_spawnattr_destroy(&attr);
    out.error = e;
    return out;
  }
  sigset_t all, none;
  sigfillset(&all);
  sigemptyset(&none);
  int e = ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
  if (e == 0) e = ::posix_spawnattr_setsigdefault(&attr, &all);
  if (e == 0) e = ::posix_spawnattr_setsigmask(&attr, &none);
  if (e == 0) e = ::posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  if (e == 0) {
    e = out_fd >= 0 ? ::posix_spawn_file_actions_adddup2(&actions, out_fd, 1)
                    : ::posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  }
  if (e == 0) {
    e = err_fd >= 0 ? ::posix_spawn_file_actions_adddup2(&actions, err_fd, 2)
                    : ::posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  }
  if (e == 0) e = ::posix_spawn_file_actions_addchdir_np(&actions, spec.working_dir.c_str());
  if (e == 0) e = ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  pid_t pid = -1;
  if (e == 0) e = ::posix_spawn(&pid, spec.path.c_str(), &actions, &attr, argv.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  if (e != 0) {
    out.error = e;
    return out;
  }
  out.pid = pid;
  return out;
}

}  // namespace capstan::plugins::process
