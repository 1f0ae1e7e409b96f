// The process driver's runs outlive its instances: recover and list after the instance is
// re-created (the processes are still our children: exact exit codes), exit codes kept in the
// state file across a reload of the library, and runs whose processes are not our children — as
// after a host restart — including the guards against a recycled pid and a reboot.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "plugins/process/proc.h"
#include "plugins/process/process_test_util.h"
#include "plugins/process/run_record.h"
#include "plugins/process/state_store.h"

namespace capstan::plugins::process {
namespace {

using node::PluginOp;
using Clock = std::chrono::steady_clock;
using sdk::ContainerState;

// Whether `pid` became a zombie (exited, not reaped: no instance watches it) within 10 s.
bool AwaitZombie(pid_t pid) {
  const auto deadline = Clock::now() + std::chrono::seconds(10);
  while (Clock::now() < deadline) {
    std::optional<ProcStat> st = ReadProcStat(pid);
    if (st && st->state == 'Z') return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // no event exists for it
  }
  return false;
}

TEST_F(ProcessPluginTest, RecoverAndListAfterTheInstanceIsRecreated) {
  const std::string work = dir_ / "work";
  std::filesystem::create_directories(work);
  // c1 exits with 7 once the file "go" exists: while no instance is there to see it.
  sdk::ContainerSpec waits_for_go = Shell("c1", "while [ ! -e go ]; do sleep 0.05; done; exit 7");
  waits_for_go.working_dir = work;
  const sdk::PodRunHandle a = Start(Spec({Container("c0", {"sleep", "300"}), waits_for_go}, {{"app", "a"}}));
  const sdk::PodRunHandle b = Start(Spec({Container("c0", {"sleep", "300"})}, {{"app", "b"}}));
  const pid_t c1 = PidOf(a, "c1");
  ASSERT_GT(c1, 0);

  instance_.reset();  // destroy: the processes keep running
  EXPECT_EQ(ReadProcStat(PidOf(a, "c0"))->state != 'Z', true) << "destroy stopped a container";
  { std::ofstream(work + "/go") << "go"; }
  ASSERT_TRUE(AwaitZombie(c1));
  Recreate();

  EXPECT_EQ(ListIds({{"test", marker_}, {"app", "a"}}), std::vector<std::string>{a.id});
  EXPECT_EQ(ListIds({{"test", marker_}, {"app", "b"}}), std::vector<std::string>{b.id});
  EXPECT_TRUE(ListIds({{"test", marker_}, {"app", "c"}}).empty());
  const std::vector<std::string> all = ListIds({});
  EXPECT_TRUE(std::count(all.begin(), all.end(), a.id) && std::count(all.begin(), all.end(), b.id));
  for (const sdk::PodRunHandle& l :
       Must<sdk::PodRunList>(PluginOp::kList, sdk::ListRequest{{{"app", "a"}, {"test", marker_}}}).items) {
    EXPECT_EQ(l.pod.uid, a.pod.uid) << "a listed run names its pod";
    ASSERT_EQ(l.containers.size(), 2u);
    EXPECT_EQ(l.containers[1].id, a.containers[1].id);
  }

  ASSERT_EQ(Call(PluginOp::kRecover, sdk::HandleRequest{a}).code, CAPSTAN_OK);
  const sdk::ContainerStatus c0 = StatusOf(a, "c0"), c1s = StatusOf(a, "c1");
  EXPECT_EQ(c0.state, ContainerState::kRunning);
  EXPECT_EQ(c1s.state, ContainerState::kTerminated);
  EXPECT_EQ(c1s.exit_code, 7) << "still our child: the exit code is exact: " << c1s.message;
  EXPECT_EQ(StateFile(a.id)["containers"][1]["exitCode"], 7) << "the exit is recorded in the state file";
  // Inspect without recover re-attaches too.
  EXPECT_EQ(StatusOf(b, "c0").state, ContainerState::kRunning);

  sdk::PodRunHandle unknown = a;
  unknown.id = "0000000000000000000a";
  EXPECT_EQ(Call(PluginOp::kRecover, sdk::HandleRequest{unknown}).code, CAPSTAN_ERR_NOT_FOUND);
  unknown.id = "../../etc/passwd";
  EXPECT_EQ(Call(PluginOp::kRecover, sdk::HandleRequest{unknown}).code, CAPSTAN_ERR_NOT_FOUND);
  EXPECT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{unknown}).code, CAPSTAN_OK);

  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{a, 2000}).code, CAPSTAN_OK);
  EXPECT_EQ(StatusOf(a, "c0").exit_code, 143);
  ASSERT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{a}).code, CAPSTAN_OK);
  ASSERT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{b}).code, CAPSTAN_OK);
  EXPECT_TRUE(ListIds({{"test", marker_}}).empty());
}

TEST_F(ProcessPluginTest, RecordedExitCodesSurviveAReloadOfTheLibrary) {
  const sdk::PodRunHandle h = Start(Spec({Shell("c0", "exit 3")}));
  ASSERT_TRUE(Must<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{h, 20000}).exited);
  // A new library: nothing remembered in memory, the process long reaped; only the file knows.
  instance_.reset();
  library_.reset();
  auto lib = node::PluginLibrary::Load(CAPSTAN_PROCESS_PLUGIN);
  ASSERT_TRUE(lib.ok()) << lib.status().ToString();
  library_ = *lib;
  Recreate();
  const sdk::ContainerStatus s = StatusOf(h, "c0");
  EXPECT_EQ(s.state, ContainerState::kTerminated);
  EXPECT_EQ(s.exit_code, 3);
  EXPECT_EQ(s.reason, "Error");
}

// The processes of runs started before a host restart are not children of the host: a state file
// written here for processes started outside the driver stands for them.
class ProcessRestartTest : public ProcessPluginTest {
 protected:
  // A `sleep 300` whose parent has exited (reparented: not our child), leading its own session,
  // carrying the test's marker.
  pid_t Orphan() {
    const std::string cmd =
        "env " + std::string(kMarkerVar) + "=" + marker_ + " setsid sleep 300 </dev/null >/dev/null 2>&1 & echo $!";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (p == nullptr) return -1;
    char buf[64] = {};
    const bool got = std::fgets(buf, sizeof buf, p) != nullptr;
    ::pclose(p);
    if (!got) return -1;
    const pid_t pid = static_cast<pid_t>(std::atol(buf));
    // setsid replaces itself with sleep once it made the session: wait until it has.
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
      std::optional<ProcStat> st = ReadProcStat(pid);
      std::error_code ec;
      const auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/exe", ec);
      if (st && st->session == pid && !ec && exe.filename() == "sleep") return pid;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return -1;
  }

  // Writes the record of a run whose container c0 is process `pid` with start time `ticks`.
  sdk::PodRunHandle Record(pid_t pid, uint64_t ticks, const std::string& boot_id) {
    RunRecord r;
    r.id = NewRunId();
    r.boot_id = boot_id;
    r.pod = {"uid-" + r.id, "default", "restarted"};
    r.labels = {{"test", marker_}};
    ContainerRecord c;
    c.name = "c0";
    c.id = ContainerId(r.id, "c0");
    c.image = "busybox:1.36";
    c.argv = {"sleep", "300"};
    c.env = {"PATH=/usr/bin:/bin", std::string(kMarkerVar) + "=" + marker_};
    c.working_dir = "/";
    c.pid = pid;
    c.start_ticks = ticks;
    c.started_at_unix_nano = sdk::NowUnixNano();
    r.containers = {c};
    auto store = StateStore::Open(dir_ / "state");
    EXPECT_TRUE(store.ok());
    EXPECT_TRUE(store.value()->Write(r).ok());
    std::filesystem::create_directories(dir_ / ("state/logs/" + r.id));
    return HandleOf(r);
  }
};

TEST_F(ProcessRestartTest, ProcessesThatAreNotOurChildren) {
  const pid_t alive = Orphan(), recycled = Orphan(), rebooted = Orphan();
  ASSERT_GT(alive, 0);
  ASSERT_GT(recycled, 0);
  ASSERT_GT(rebooted, 0);
  ASSERT_NE(ReadProcStat(alive)->ppid, ::getpid()) << "the orphan is still our child";
  const sdk::PodRunHandle live = Record(alive, ReadProcStat(alive)->start_ticks, ReadBootId());
  // A live pid with another start time: the pid was recycled; that process is not the container.
  const sdk::PodRunHandle reused = Record(recycled, ReadProcStat(recycled)->start_ticks + 1, ReadBootId());
  // The right pid and start time, but another boot: it cannot be the container.
  const sdk::PodRunHandle old_boot = Record(rebooted, ReadProcStat(rebooted)->start_ticks, "another-boot");
  Recreate();

  std::vector<std::string> expected = {live.id, reused.id, old_boot.id};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(ListIds({{"test", marker_}}), expected);

  ASSERT_EQ(Call(PluginOp::kRecover, sdk::HandleRequest{live}).code, CAPSTAN_OK);
  EXPECT_EQ(StatusOf(live, "c0").state, ContainerState::kRunning);
  auto exec = Must<sdk::ExecResult>(PluginOp::kExec,
                                    sdk::ExecRequest{live, "c0", {"sh", "-c", "echo $CAPSTAN_PROCESS_TEST"}, 10000});
  EXPECT_EQ(exec.out, marker_ + "\n") << "exec uses the recorded environment";

  for (const sdk::PodRunHandle& h : {reused, old_boot}) {
    const sdk::ContainerStatus s = StatusOf(h, "c0");
    EXPECT_EQ(s.state, ContainerState::kTerminated);
    EXPECT_EQ(s.exit_code, 255);
    EXPECT_EQ(s.reason, "Unknown");
  }
  EXPECT_NE(StatusOf(old_boot, "c0").message.find("rebooted"), std::string::npos);

  // stop of the live one: SIGTERM to its group, and its exit code cannot be known.
  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{live, 5000}).code, CAPSTAN_OK);
  const sdk::ContainerStatus stopped = StatusOf(live, "c0");
  EXPECT_EQ(stopped.state, ContainerState::kTerminated);
  EXPECT_EQ(stopped.exit_code, 255);
  EXPECT_EQ(stopped.reason, "Unknown");
  EXPECT_TRUE(AwaitDead(alive));

  // Neither the recycled pid's process nor the one of another boot is ever signalled.
  for (const sdk::PodRunHandle& h : {reused, old_boot}) {
    ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 0}).code, CAPSTAN_OK);
    ASSERT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{h}).code, CAPSTAN_OK);
  }
  for (pid_t pid : {recycled, rebooted}) {
    std::optional<ProcStat> st = ReadProcStat(pid);
    ASSERT_TRUE(st.has_value());
    EXPECT_NE(st->state, 'Z') << "process " << pid << " was killed though it is not the container";
    ::kill(pid, SIGKILL);  // ours (this test started it): clean up
    EXPECT_TRUE(AwaitDead(pid));
  }

  // The unknown exit is on record: a new instance reports the same.
  Recreate();
  EXPECT_EQ(StatusOf(live, "c0").exit_code, 255);
  ASSERT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{live}).code, CAPSTAN_OK);
  EXPECT_TRUE(ListIds({{"test", marker_}}).empty());
}

TEST_F(ProcessRestartTest, ARealRestartOfTheHost) {
  // The "old host" is a forked copy of this process: it creates an instance, starts a run and
  // dies without destroying anything, as a crashed node agent would. Its containers outlive it and
  // are not children of this process. (Forking is safe here: no instance, so no thread, exists.)
  instance_.reset();
  const std::string work = dir_ / "work";
  std::filesystem::create_directories(work);
  sdk::ContainerSpec c1 = Shell("c1", "while [ ! -e go ]; do sleep 0.05; done; exit 3");
  c1.working_dir = work;
  const std::string spec = sdk::Encode(Spec({Container("c0", {"sleep", "300"}), c1}, {{"host", "old"}}));
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t old_host = ::fork();
  ASSERT_GE(old_host, 0);
  if (old_host == 0) {
    ::close(fds[0]);
    auto inst = node::PluginInstance::Create(library_, Config());
    if (!inst.ok()) ::_exit(2);
    const node::PluginReply reply = (*inst)->Call(PluginOp::kStart, spec);
    const std::string out = reply.ok() ? reply.json : reply.error;
    [[maybe_unused]] ssize_t n = ::write(fds[1], out.data(), out.size());
    ::_exit(reply.ok() ? 0 : 3);
  }
  ::close(fds[1]);
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) text.append(buf, static_cast<size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ASSERT_EQ(::waitpid(old_host, &status, 0), old_host);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the old host failed: " << text;
  sdk::PodRunHandle h;
  std::string error;
  ASSERT_TRUE(sdk::Decode(text.c_str(), &h, &error)) << error << ": " << text;

  Recreate();  // the new host
  EXPECT_EQ(ListIds({{"test", marker_}, {"host", "old"}}), std::vector<std::string>{h.id});
  ASSERT_EQ(Call(PluginOp::kRecover, sdk::HandleRequest{h}).code, CAPSTAN_OK);
  const pid_t c0 = PidOf(h, "c0");
  ASSERT_GT(c0, 0);
  EXPECT_NE(ReadProcStat(c0)->ppid, ::getpid());
  EXPECT_EQ(StatusOf(h, "c0").state, ContainerState::kRunning);
  EXPECT_EQ(StatusOf(h, "c1").state, ContainerState::kRunning);

  // c1 exits now: the new host learns of it (an event), but not its exit code.
  { std::ofstream(work + "/go") << "go"; }
  const auto events = AwaitEvents(h.id, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].container.name, "c1");
  EXPECT_EQ(events[0].container.exit_code, 255);
  EXPECT_EQ(events[0].container.reason, "Unknown");

  ASSERT_EQ(Call(PluginOp::kStop, sdk::StopRequest{h, 2000}).code, CAPSTAN_OK);
  EXPECT_EQ(StatusOf(h, "c0").exit_code, 255);
  EXPECT_TRUE(AwaitDead(c0));
  ASSERT_EQ(Call(PluginOp::kRemove, sdk::HandleRequest{h}).code, CAPSTAN_OK);
}

}  // namespace
}  // namespace capstan::plugins::process
