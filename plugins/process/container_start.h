// Starting one container of a PodRunSpec as a host process: what the spec's fields mean for the
// process driver (docs/drivers/process.md), and the start itself.
//
//   image       an absolute path to a directory: the working directory when workingDir is empty
//               (and the base of a relative workingDir), reported as imageId; anything else
//               (a registry reference such as "busybox:1.36") is ignored
//   workingDir  absolute, or relative to the image directory (else to "/"); default: the image
//               directory, else "/"
//   command, args  argv = command + args; argv[0] is searched in the container's PATH unless it
//               holds a '/'
//   env         BuildEnv (spawn.h): PATH, HOME, HOSTNAME, then the spec's variables
//   mounts      the process sees the host's file system: a mount is accepted only when hostPath
//               and containerPath are the same path (anything else is a start error)
//   ports, resources  ignored (host network; no limits are enforced)
//
// Output: stdout and stderr are appended to `log_path` (created, mode 0600).
// A container that cannot be started is returned terminated: exit code 127, reason "StartError",
// and a message saying what failed (no command, a missing working directory, an executable not
// found, a failed exec, an unsupported mount).
//
// Thread-safety: stateless.
#pragma once

#include <string>

#include "capstan/driver_types.hpp"
#include "plugins/process/run_record.h"
#include "plugins/process/unique_fd.h"

namespace capstan::plugins::process {

inline constexpr int64_t kStartErrorExitCode = 127;

struct StartedContainer {
  ContainerRecord record;  // pid and start time when it runs; exited with StartError when not
  UniqueFd pidfd;          // the running process's pidfd (invalid when none)
};

StartedContainer StartContainer(const sdk::ContainerSpec& spec, const std::string& run_id, const std::string& log_path);

// The image directory `image` names (absolute and a directory), or "" when the image is ignored.
std::string ImageDirectory(const std::string& image);
// The working directory of a container (see the file comment), normalised.
std::string WorkingDirectory(const std::string& working_dir, const std::string& image_dir);

}  // namespace capstan::plugins::process
