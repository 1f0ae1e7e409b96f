// DockerDriver's operations on a container's output: logs (the engine's log of the container) and
// exec (a command run in it). Both read the engine's multiplexed stream (StreamDemux).
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

#include "plugins/docker/docker_driver.h"
#include "plugins/docker/stream_demux.h"

namespace capstan::plugins::docker {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// How long a read waits: well below CAPSTAN_LOG_HEARTBEAT_MS, so a follow heartbeats in time.
constexpr std::chrono::milliseconds kLogPoll{400};
// Exec output kept per stream; the rest is read and dropped.
constexpr size_t kExecOutputMax = 1 << 20;
// After the output ends, how long exec waits for the engine to record the exit code.
constexpr std::chrono::seconds kExitCodeWait{10};

// Kills the process of exec `exec` (host pid `pid`) of container `container_id` if it is still
// that process: the pid must belong to the container's cgroup, checked through a pidfd so that a
// recycled pid is never signalled. Only meaningful when the engine shares this host's pids.
bool KillExecProcess(int64_t pid, const std::string& container_id) {
  if (pid <= 0) return false;
  const int fd = static_cast<int>(syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0));
  if (fd < 0) return false;
  std::ifstream cgroup("/proc/" + std::to_string(pid) + "/cgroup");
  std::stringstream text;
  text << cgroup.rdbuf();
  bool killed = false;
  if (text.str().find(container_id) != std::string::npos) {
    killed = syscall(SYS_pidfd_send_signal, fd, SIGKILL, nullptr, 0) == 0;
  }
  close(fd);
  return killed;
}

}  // namespace

sdk::Result<void> DockerDriver::Logs(const sdk::LogsRequest& request, sdk::LogSink& sink) {
  sdk::Result<RunContainer> c = FindContainer(request.handle.id, request.container);
  if (!c.ok()) return c.error();
  const std::string tail = request.tail_lines < 0 ? "all" : std::to_string(request.tail_lines);
  const std::string target = "/containers/" + c.value().id + "/logs?stdout=1&stderr=1&follow=" +
                             (request.follow ? "1" : "0") + "&tail=" + tail;
  sdk::Result<std::unique_ptr<ResponseStream>> stream =
      client_->Stream({"GET", target, "", {}}, "logs of container " + request.container);
  if (!stream.ok()) return stream.error();
  StreamDemux demux;
  auto deliver = [&sink](StreamKind kind, std::string_view data) {
    return kind == StreamKind::kStderr || kind == StreamKind::kSystem ? sink.Stderr(data) : sink.Stdout(data);
  };
  // Without follow the engine sends what it has and ends; a silence that long means it is stuck.
  auto last_news = Clock::now();
  while (true) {
    std::string data;
    sdk::Result<ResponseStream::ReadResult> r = stream.value()->Read(kLogPoll, &data);
    if (!r.ok()) return r.error();
    if (!data.empty()) {
      last_news = Clock::now();
      if (!demux.Feed(data, deliver)) {
        if (sink.stopped()) return sdk::Ok();
        return sdk::Internal("logs of container " + request.container + ": not a multiplexed log stream");
      }
    }
    if (r.value() == ResponseStream::ReadResult::kEnd) return sdk::Ok();  // follow: the container stopped
    if (r.value() == ResponseStream::ReadResult::kIdle) {
      if (request.follow) {
        if (!sink.Heartbeat()) return sdk::Ok();
      } else if (Clock::now() - last_news > client_->default_timeout()) {
        return sdk::Timeout("logs of container " + request.container + ": the engine stopped sending");
      }
    }
  }
}

sdk::Result<sdk::ExecResult> DockerDriver::Exec(const sdk::ExecRequest& request) {
  sdk::Result<RunContainer> c = FindContainer(request.handle.id, request.container);
  if (!c.ok()) return c.error();
  const std::string what = "exec in container " + request.container;
  const json create = {{"Cmd", request.command}, {"AttachStdin", false}, {"AttachStdout", true},
                       {"AttachStderr", true}, {"Tty", false}};
  sdk::Result<HttpResponse> created =
      client_->Do({"POST", "/containers/" + c.value().id + "/exec", create.dump(), {}});
  if (!created.ok()) return created.error();
  if (created.value().status == 409) {
    return sdk::Conflict(what + ": the container is not running (" + EngineMessage(created.value().body) + ")");
  }
  if (created.value().status != 201) return ErrorFromResponse(created.value(), what);
  const json answer = json::parse(created.value().body, nullptr, false);
  const std::string exec_id = answer.is_object() && answer.contains("Id") && answer["Id"].is_string()
                                  ? answer["Id"].get<std::string>()
                                  : std::string();
  if (exec_id.empty()) return sdk::Internal(what + ": no exec id in the engine's answer");

  const bool bounded = request.timeout_ms > 0;
  const Clock::time_point deadline =
      bounded ? Clock::now() + std::chrono::milliseconds(request.timeout_ms) : Clock::time_point::max();
  sdk::Result<std::unique_ptr<ResponseStream>> stream =
      client_->Stream({"POST", "/exec/" + exec_id + "/start", json{{"Detach", false}, {"Tty", false}}.dump(), {}},
                      what);
  if (!stream.ok()) {
    if (stream.error().code == CAPSTAN_ERR_CONFLICT) return sdk::Conflict(what + ": " + stream.error().message);
    return stream.error();
  }
  sdk::ExecResult result;
  StreamDemux demux;
  auto keep = [&result](StreamKind kind, std::string_view data) {
    std::string& to = kind == StreamKind::kStderr || kind == StreamKind::kSystem ? result.err : result.out;
    if (to.size() < kExecOutputMax) to.append(data.substr(0, kExecOutputMax - to.size()));
    return true;
  };
  while (true) {
    if (bounded && Clock::now() >= deadline) {
      // The engine has no call to end an exec: kill its process when it runs on this host.
      bool killed = false;
      sdk::Result<json> inspected = client_->Json({"GET", "/exec/" + exec_id + "/json", "", {}}, what);
      if (inspected.ok() && client_->endpoint().kind == Endpoint::Kind::kUnix &&
          inspected.value().value("Running", false) && inspected.value().contains("Pid") &&
          inspected.value()["Pid"].is_number_integer()) {
        killed = KillExecProcess(inspected.value()["Pid"].get<int64_t>(), c.value().id);
      }
      return sdk::Timeout(what + ": the command did not finish within " + std::to_string(request.timeout_ms) +
                          " ms" + (killed ? " (killed)" : " (it may still run)"));
    }
    std::string data;
    const auto wait =
        bounded ? std::min(kLogPoll, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()) +
                                         std::chrono::milliseconds(1))
                : kLogPoll;
    sdk::Result<ResponseStream::ReadResult> r = stream.value()->Read(wait, &data);
    if (!r.ok()) return r.error();
    if (!data.empty() && !demux.Feed(data, keep)) {
      return sdk::Internal(what + ": the engine's answer is not a multiplexed stream");
    }
    if (r.value() == ResponseStream::ReadResult::kEnd) break;
  }

  // The output ends as the command exits; the engine records the exit code a moment later.
  const auto give_up = Clock::now() + kExitCodeWait;
  while (true) {
    sdk::Result<json> inspected = client_->Json({"GET", "/exec/" + exec_id + "/json", "", {}}, what);
    if (!inspected.ok()) return inspected.error();
    const json& i = inspected.value();
    if (!i.value("Running", false) && i.contains("ExitCode") && i["ExitCode"].is_number_integer()) {
      result.exit_code = i["ExitCode"].get<int64_t>();
      // The engine reports a command it cannot find as 126 (it could not be run), its message on
      // stdout; a shell and the process driver say 127: one answer whatever the driver.
      constexpr std::string_view kNotFound = "executable file not found";
      if (result.exit_code == 126 &&
          (result.out.find(kNotFound) != std::string::npos || result.err.find(kNotFound) != std::string::npos)) {
        result.exit_code = 127;
      }
      return result;
    }
    if (Clock::now() >= give_up) return sdk::Internal(what + ": the engine did not record the command's exit code");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace capstan::plugins::docker
