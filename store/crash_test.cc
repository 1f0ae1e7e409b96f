// Kill -9 durability: every write a writer process saw acknowledged survives SIGKILL at a random
// moment, and the store's revision never goes backwards across crashes.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <random>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "store/rocks_store.h"
#include "store/store_test_util.h"

namespace capstan::store {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Runs the writer on `dir` for `run_for`, kills it with SIGKILL and returns everything it printed.
std::string RunAndKill(const std::string& dir, std::chrono::milliseconds run_for) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fds[1], STDOUT_FILENO);
    close(fds[0]);
    close(fds[1]);
    execl(CAPSTAN_STORE_CRASH_WRITER, CAPSTAN_STORE_CRASH_WRITER, dir.c_str(), "4", static_cast<char*>(nullptr));
    _exit(127);
  }
  EXPECT_GT(pid, 0);
  close(fds[1]);
  std::string out;
  char buf[65536];
  auto kill_at = Clock::now() + run_for;
  bool killed = false;
  for (;;) {
    if (!killed && Clock::now() >= kill_at) {
      kill(pid, SIGKILL);
      killed = true;
    }
    int timeout_ms = killed ? 1000
                            : static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   kill_at - Clock::now()).count()) + 1;
    pollfd p{fds[0], POLLIN, 0};
    int ready = poll(&p, 1, timeout_ms);
    if (ready == 0) continue;
    ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n <= 0) break;  // EOF once the writer is dead
    out.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the writer ended on its own (status " << status << "); see its stderr";
  return out;
}

TEST(CrashTest, AcknowledgedWritesSurviveKill9) {
  testing::TempDir dir;
  const std::string path = dir.Sub("store");
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> delay_ms(30, 300);
  std::map<std::string, int64_t> acked;  // key -> highest acknowledged revision
  int64_t last_revision = 0;
  size_t total_acked = 0;
  const auto deadline = Clock::now() + 50s;

  for (int iteration = 0; iteration < 20 && Clock::now() < deadline; ++iteration) {
    SCOPED_TRACE("iteration " + std::to_string(iteration));
    std::istringstream lines(RunAndKill(path, std::chrono::milliseconds(delay_ms(rng))));
    std::string key;
    int64_t revision = 0;
    int64_t max_acked = 0;
    while (lines >> key >> revision) {
      acked[key] = std::max(acked[key], revision);
      max_acked = std::max(max_acked, revision);
      ++total_acked;
    }

    auto opened = OpenRocksStore(path);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    Store& store = **opened;
    const int64_t current = store.CurrentRevision();
    EXPECT_GE(current, last_revision) << "revision went backwards";
    EXPECT_GE(current, max_acked);
    last_revision = current;
    for (const auto& [k, rev] : acked) {
      auto got = store.Get(k);
      ASSERT_TRUE(got.ok()) << k << " acknowledged at " << rev << ": " << got.status().ToString();
      EXPECT_GE(got->mod_revision, rev) << k;
    }
  }
  EXPECT_GT(total_acked, 0u) << "the writer never acknowledged a write";
  RecordProperty("acknowledged_writes", static_cast<int>(total_acked));
  RecordProperty("final_revision", static_cast<int>(last_revision));
}

}  // namespace
}  // namespace capstan::store
