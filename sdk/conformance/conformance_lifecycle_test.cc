// Conformance checks of a run's life: start -> inspect -> wait -> stop -> remove (twice), list by
// label, recover after the instance is destroyed and re-created, exit events, logs and exec when
// declared, images in use, and concurrent calls.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>

#include "sdk/conformance/conformance.h"

namespace capstan::conformance {
namespace {

using node::PluginOp;
using Clock = std::chrono::steady_clock;

class Lifecycle : public DriverTest {
 protected:
  sdk::PodRunStatus Inspect(const sdk::PodRunHandle& h) {
    return Must<sdk::PodRunStatus>(PluginOp::kInspect, sdk::HandleRequest{h});
  }

  // Until every container runs (true) or one terminated (false), looking again when the driver's
  // recheckAfterMs says (inspect is the ABI's only way to see a start; wait is for exits).
  bool WaitRunning(const sdk::PodRunHandle& h) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(GetOptions().timeout_ms);
    while (Clock::now() < deadline) {
      sdk::PodRunStatus s = Inspect(h);
      if (s.containers.empty()) return false;
      bool all_running = true;
      for (const sdk::ContainerStatus& c : s.containers) {
        if (c.state == sdk::ContainerState::kTerminated) return false;
        all_running = all_running && c.state == sdk::ContainerState::kRunning;
      }
      if (all_running) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(std::clamp<int64_t>(s.recheck_after_ms, 5, 1000)));
    }
    ADD_FAILURE() << "run " << h.id << " neither ran nor terminated in " << GetOptions().timeout_ms << " ms";
    return false;
  }

  static void ExpectValidStatus(const sdk::ContainerStatus& c) {
    if (c.state == sdk::ContainerState::kRunning) {
      EXPECT_TRUE(c.started_at_unix_nano.has_value()) << c.name << ": running without startedAtUnixNano";
    }
    if (c.state == sdk::ContainerState::kTerminated) {
      EXPECT_TRUE(c.finished_at_unix_nano.has_value()) << c.name << ": terminated without finishedAtUnixNano";
      EXPECT_FALSE(c.ready) << c.name << ": terminated and ready";
    }
  }
};

TEST_F(Lifecycle, StartInspectStopRemoveTwice) {
  const sdk::PodRunSpec spec = Spec(2);
  const sdk::PodRunHandle h = Start(spec);
  ASSERT_FALSE(h.id.empty());
  EXPECT_EQ(h.pod.uid, spec.pod.uid) << "the handle names the pod it runs";
  ASSERT_EQ(h.containers.size(), 2u);
  EXPECT_EQ(h.containers[0].name, "c0");
  EXPECT_EQ(h.containers[1].name, "c1");

  sdk::PodRunStatus s = Inspect(h);
  ASSERT_EQ(s.containers.size(), 2u) << "one status per container";
  EXPECT_EQ(s.containers[0].name, "c0") << "statuses in spec order";
  EXPECT_EQ(s.containers[1].name, "c1");
  EXPECT_GE(s.recheck_after_ms, 0);
  for (const sdk::ContainerStatus& c : s.containers) ExpectValidStatus(c);

  MustOk(PluginOp::kStop, sdk::StopRequest{h, 1000});
  s = Inspect(h);
  ASSERT_EQ(s.containers.size(), 2u) << "a stopped run stays inspectable";
  for (const sdk::ContainerStatus& c : s.containers) {
    EXPECT_EQ(c.state, sdk::ContainerState::kTerminated) << c.name << ": not terminated after stop returned";
    ExpectValidStatus(c);
  }
  auto waited = Must<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{h, 0});
  EXPECT_TRUE(waited.exited) << "wait after stop";
  MustOk(PluginOp::kStop, sdk::StopRequest{h, 0});  // stopping a stopped run changes nothing

  MustOk(PluginOp::kRemove, sdk::HandleRequest{h});
  ExpectCode(CAPSTAN_ERR_NOT_FOUND, PluginOp::kInspect, sdk::HandleRequest{h}, "inspect after remove");
  ExpectCode(CAPSTAN_ERR_NOT_FOUND, PluginOp::kRecover, sdk::HandleRequest{h}, "recover after remove");
  ExpectCode(CAPSTAN_OK, PluginOp::kRemove, sdk::HandleRequest{h}, "remove twice");
  auto list = Must<sdk::PodRunList>(PluginOp::kList, sdk::ListRequest{{{kRunLabel, RunToken()}}});
  EXPECT_TRUE(list.items.empty()) << "a removed run is still listed";
}

TEST_F(Lifecycle, WaitTimesOutWithoutErrorAndReturnsOnStop) {
  const sdk::PodRunHandle h = Start(Spec(1));
  auto early = Must<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{h, 20});
  if (!early.exited) {
    ASSERT_EQ(early.containers.size(), 1u);
    EXPECT_NE(early.containers[0].state, sdk::ContainerState::kTerminated) << "exited false, yet all terminated";
  }
  // A wait in progress returns when the run is stopped from another thread (or at once if it
  // began after the stop): exited, well before its timeout.
  const auto begin = Clock::now();
  sdk::WaitResult late;
  std::thread waiter([&] {
    late = Must<sdk::WaitResult>(PluginOp::kWait, sdk::WaitRequest{h, GetOptions().timeout_ms});
  });
  MustOk(PluginOp::kStop, sdk::StopRequest{h, 1000});
  waiter.join();
  EXPECT_TRUE(late.exited);
  EXPECT_LT(Clock::now() - begin, std::chrono::milliseconds(GetOptions().timeout_ms)) << "wait ran to its timeout";
}

TEST_F(Lifecycle, WaitEndsWhenTheRunIsRemoved) {
  const sdk::PodRunHandle h = Start(Spec(1));
  const auto begin = Clock::now();
  node::PluginReply reply;
  std::thread waiter([&] { reply = Raw(PluginOp::kWait, sdk::Encode(sdk::WaitRequest{h, GetOptions().timeout_ms})); });
  MustOk(PluginOp::kRemove, sdk::HandleRequest{h});
  waiter.join();
  // Removed while waiting: NOT_FOUND; removed (killed) before the wait looked: gone or exited.
  EXPECT_TRUE(reply.code == CAPSTAN_ERR_NOT_FOUND || reply.code == CAPSTAN_OK) << sdk::CodeName(reply.code);
  EXPECT_LT(Clock::now() - begin, std::chrono::milliseconds(GetOptions().timeout_ms)) << "wait ran to its timeout";
}

TEST_F(Lifecycle, ListSelectsByLabel) {
  const std::string a = RunToken() + "-a", b = RunToken() + "-b";
  const sdk::PodRunHandle a1 = Start(Spec(1, a)), a2 = Start(Spec(1, a)), b1 = Start(Spec(1, b));
  auto ids = [&](const std::string& run) {
    std::set<std::string> out;
    for (const sdk::PodRunHandle& h :
         Must<sdk::PodRunList>(PluginOp::kList, sdk::ListRequest{{{kRunLabel, run}}}).items) {
      out.insert(h.id);
    }
    return out;
  };
  EXPECT_EQ(ids(a), (std::set<std::string>{a1.id, a2.id}));
  EXPECT_EQ(ids(b), (std::set<std::string>{b1.id}));
  EXPECT_TRUE(ids(RunToken() + "-none").empty());
  for (const sdk::PodRunHandle& h : Must<sdk::PodRunList>(PluginOp::kList, sdk::ListRequest{{{kRunLabel, a}}}).items) {
    EXPECT_FALSE(h.pod.uid.empty()) << "a listed run names its pod (what a restarted host adopts)";
    EXPECT_EQ(h.containers.size(), 1u);
  }
  // Everything: at least ours.
  std::set<std::string> all;
  for (const sdk::PodRunHandle& h : Must<sdk::PodRunList>(PluginOp::kList, sdk::ListRequest{}).items) all.insert(h.id);
  EXPECT_TRUE(all.count(a1.id) && all.count(a2.id) && all.count(b1.id)) << "an empty selector matches every run";
  MustOk(PluginOp::kRemove, sdk::HandleRequest{a1});
  EXPECT_EQ(ids(a), (std::set<std::string>{a2.id}));
}

TEST_F(Lifecycle, RecoverAfterTheInstanceIsRecreated) {
  const sdk::PodRunHandle h = Start(Spec(2));
  const sdk::PodRunStatus before = Inspect(h);
  Recreate();  // destroy (runs keep running) and create, as after a host restart
  ASSERT_NE(instance_, nullptr);
  MustOk(PluginOp::kRecover, sdk::HandleRequest{h});
  const sdk::PodRunStatus after = Inspect(h);
  ASSERT_EQ(after.containers.size(), before.containers.size());
  for (size_t i = 0; i < after.containers.size(); ++i) {
    EXPECT_EQ(after.containers[i].name, before.containers[i].name);
    EXPECT_EQ(after.containers[i].id, before.containers[i].id) << "recover re-attaches, it does not restart";
  }
  bool listed = false;
  for (const sdk::PodRunHandle& l :
       Must<sdk::PodRunList>(PluginOp::kList, sdk::ListRequest{{{kRunLabel, RunToken()}}}).items) {
    listed = listed || l.id == h.id;
  }
  EXPECT_TRUE(listed) << "a new instance lists the runs of the old one";
  MustOk(PluginOp::kStop, sdk::StopRequest{h, 0});
  MustOk(PluginOp::kRemove, sdk::HandleRequest{h});
}

TEST_F(Lifecycle, ExitEventsWhenDeclared) {
  const sdk::PodRunHandle h = Start(Spec(2));
  MustOk(PluginOp::kStop, sdk::StopRequest{h, 0});
  if (!caps_.exit_events) return;  // nothing promised: hosts poll wait/inspect
  auto got = events_->WaitFor(h.id, 2, GetOptions().timeout_ms);
  std::set<std::string> names;
  for (const sdk::ContainerExited& e : got) {
    EXPECT_EQ(e.pod_uid, h.pod.uid);
    EXPECT_EQ(e.container.state, sdk::ContainerState::kTerminated) << "an exit event of a container not terminated";
    names.insert(e.container.name);
  }
  EXPECT_EQ(names, (std::set<std::string>{"c0", "c1"})) << "exitEvents declared: one event per container";
  EXPECT_EQ(got.size(), 2u) << "one event per container, not more";
}

TEST_F(Lifecycle, LogsWhenDeclared) {
  if (!caps_.logs) GTEST_SKIP() << "logs not declared (UNSUPPORTED checked in Unsupported.*)";
  const sdk::PodRunHandle h = Start(Spec(1));
  // Follow until the container exits: stop from another thread ends the call.
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    MustOk(PluginOp::kStop, sdk::StopRequest{h, 0});
    stopped = true;
  });
  node::PluginReply follow =
      instance_->Logs(sdk::Encode(sdk::LogsRequest{h, "c0", true, -1}), [](int32_t stream, std::string_view data) {
        EXPECT_TRUE(stream >= 0 && stream <= 2) << "stream " << stream;
        if (stream == CAPSTAN_LOG_STREAM_HEARTBEAT) {
          EXPECT_TRUE(data.empty());
        }
        return true;
      });
  stopper.join();
  EXPECT_EQ(follow.code, CAPSTAN_OK) << follow.error;

  // A sink that says stop ends a follow of a running container.
  const sdk::PodRunHandle running = Start(Spec(1));
  int calls = 0;
  node::PluginReply cut = instance_->Logs(sdk::Encode(sdk::LogsRequest{running, "c0", true, -1}),
                                          [&](int32_t, std::string_view) { return ++calls < 1; });
  EXPECT_EQ(cut.code, CAPSTAN_OK) << cut.error;
  EXPECT_EQ(calls, 1) << "the plugin called the sink after it said stop";
  node::PluginReply no_container = instance_->Logs(sdk::Encode(sdk::LogsRequest{running, "no-such", false, -1}),
                                                   [](int32_t, std::string_view) { return true; });
  EXPECT_EQ(no_container.code, CAPSTAN_ERR_NOT_FOUND) << "logs of an unknown container: " << no_container.error;
}

TEST_F(Lifecycle, ExecWhenDeclared) {
  if (!caps_.exec) GTEST_SKIP() << "exec not declared (UNSUPPORTED checked in Unsupported.*)";
  const sdk::PodRunHandle h = Start(Spec(1));
  if (WaitRunning(h)) {
    auto r = Must<sdk::ExecResult>(PluginOp::kExec, sdk::ExecRequest{h, "c0", {"true"}, 10000});
    EXPECT_EQ(r.exit_code, 0) << "`true` in a running container";
    ExpectCode(CAPSTAN_ERR_NOT_FOUND, PluginOp::kExec, sdk::ExecRequest{h, "no-such", {"true"}, 0},
               "unknown container");
  }
  MustOk(PluginOp::kStop, sdk::StopRequest{h, 0});
  ExpectCode(CAPSTAN_ERR_CONFLICT, PluginOp::kExec, sdk::ExecRequest{h, "c0", {"true"}, 0}, "exec after stop");
}

TEST_F(Lifecycle, ImageInUseIsNotRemoved) {
  if (!caps_.images) GTEST_SKIP() << "images not declared (UNSUPPORTED checked in Unsupported.*)";
  const sdk::PodRunHandle h = Start(Spec(1));
  bool listed = false;
  for (const sdk::Image& i : Must<sdk::ImageList>(PluginOp::kListImages, sdk::ListImagesRequest{}).images) {
    listed = listed || std::find(i.tags.begin(), i.tags.end(), GetOptions().image) != i.tags.end();
    EXPECT_GE(i.size_bytes, 0) << i.id << ": sizeBytes";
    if (i.created_unix_nano) {
      EXPECT_GT(*i.created_unix_nano, 0) << i.id << ": createdUnixNano";
    }
  }
  EXPECT_TRUE(listed) << "the image of a run is listed";
  ExpectCode(CAPSTAN_ERR_CONFLICT, PluginOp::kRemoveImage, sdk::RemoveImageRequest{GetOptions().image},
             "remove of an image a run uses");
}

TEST_F(Lifecycle, ConcurrentCalls) {
  constexpr int kThreads = 4, kRuns = 3;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  std::vector<sdk::PodRunSpec> specs;
  for (int i = 0; i < kThreads * kRuns; ++i) specs.push_back(Spec(1));
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRuns; ++r) {
        auto check = [&](const node::PluginReply& reply) {
          if (!reply.ok()) ++failures;
          return reply;
        };
        node::PluginReply started = check(instance_->Call(PluginOp::kStart, sdk::Encode(specs[t * kRuns + r])));
        sdk::PodRunHandle h;
        std::string error;
        if (!started.ok() || !sdk::Decode(started.json.c_str(), &h, &error)) {
          ++failures;
          continue;
        }
        check(instance_->Call(PluginOp::kInspect, sdk::Encode(sdk::HandleRequest{h})));
        check(instance_->Call(PluginOp::kList, sdk::Encode(sdk::ListRequest{{{kRunLabel, RunToken()}}})));
        check(instance_->Call(PluginOp::kStop, sdk::Encode(sdk::StopRequest{h, 0})));
        check(instance_->Call(PluginOp::kRemove, sdk::Encode(sdk::HandleRequest{h})));
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0) << "calls failed when made concurrently";
  EXPECT_TRUE(Must<sdk::PodRunList>(PluginOp::kList, sdk::ListRequest{{{kRunLabel, RunToken()}}}).items.empty());
}

}  // namespace
}  // namespace capstan::conformance
