// Starting a container's (or an exec's) process: its environment, the resolution of its command,
// and the spawn itself.
//
// Spawn uses posix_spawn (glibc's clone(CLONE_VFORK)): nothing runs in the child but the spawn
// actions, which is what a multi-threaded host needs. The child gets a new session (so it leads its
// own process group, which stop signals as a whole, and has no controlling terminal: a Ctrl-C at
// the host does not reach it), every signal at its default action and none blocked (whatever the
// host ignores or blocks), stdin from /dev/null, stdout and stderr on the given descriptors, the
// working directory, and no other descriptor of the host (closefrom(3)).
//
// Thread-safety: stateless functions.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "capstan/driver_types.hpp"

namespace capstan::plugins::process {

// The PATH of a container that sets none (Docker's default).
inline constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// A container's environment: PATH=kDefaultPath, HOME=<the host user's home, else "/">,
// HOSTNAME=<the host's name>, then the spec's variables in order (a later one replaces an earlier
// one of the same name). Variables with an empty name or a name holding '=' are skipped. Nothing of
// the host's own environment is passed on.
std::vector<std::string> BuildEnv(const std::vector<sdk::EnvVar>& spec_env);
// The value of `name` in `env` ("NAME=value" entries), "" when absent.
std::string EnvValue(const std::vector<std::string>& env, std::string_view name);

struct Resolved {
  std::string path;  // the executable, absolute (when error == 0)
  int error = 0;     // ENOENT (not found) or EACCES (found, not executable)
  std::string message;
};
// Finds the executable `command` names, as execvp does but in the container's PATH (`path_env`;
// an empty entry means the working directory) and relative to its `working_dir`: a name with a '/'
// is taken as a path (relative to `working_dir`), any other is searched in each PATH directory.
Resolved ResolveCommand(const std::string& command, const std::string& path_env, const std::string& working_dir);

struct SpawnSpec {
  std::string path;               // the executable (ResolveCommand)
  std::vector<std::string> argv;  // argv[0] as the spec gave it
  std::vector<std::string> env;   // "NAME=value"
  std::string working_dir;        // absolute
  int stdout_fd = -1;             // borrowed; -1: /dev/null
  int stderr_fd = -1;             // borrowed; -1: /dev/null
};
struct Spawned {
  pid_t pid = -1;  // > 0 when started
  int error = 0;   // else the errno of the failed step (chdir, exec, ...)
};
// Starts the process (see the file comment). An exec that fails is reported here, not as a child
// that exits 127.
Spawned Spawn(const SpawnSpec& spec);

}  // namespace capstan::plugins::process
