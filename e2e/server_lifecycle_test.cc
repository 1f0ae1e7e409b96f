// The server process itself: clean shutdown on SIGTERM (in-flight writes finish, watches end),
// acknowledged writes surviving kill -9, the revision never going backwards across restarts,
// online backup while serving, and the 401 for requests without a token.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "e2e/server_fixture.h"

namespace capstan::e2e {
namespace {

using nlohmann::json;

int64_t ResourceVersion(const RunResult& r) {
  json j = json::parse(r.out, nullptr, false);
  if (j.is_discarded() || !j.contains("metadata")) return -1;
  return std::stoll(j["metadata"]["resourceVersion"].get<std::string>());
}

TEST(ServerLifecycleTest, SigtermShutsDownCleanlyAndEndsWatches) {
  ServerProcess server;
  ASSERT_TRUE(server.Start()) << server.log();
  Child watch;
  const std::string watch_log = server.home() + "/watch.log";
  ASSERT_TRUE(watch.Start({CapstanBin(), "get", "configmaps", "-w", "--kubeconfig", server.kubeconfig()}, watch_log,
                          {{"HOME", server.home()}}));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(server.Stop(15), 0) << server.log();
  const std::string log = server.log();
  EXPECT_NE(log.find("signal received"), std::string::npos) << log;
  EXPECT_NE(log.find("stopped"), std::string::npos) << log;
  // The watching client sees its stream end, rather than hanging.
  bool ended = false;
  for (int i = 0; i < 50 && !ended; ++i) {
    ended = !watch.Running();
    if (!ended) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(ended) << "the watch should end when the server stops";
}

TEST(ServerLifecycleTest, AcknowledgedWritesSurviveKill9AndRevisionNeverGoesBack) {
  ServerProcess server;
  ASSERT_TRUE(server.Start()) << server.log();
  int64_t last_rv = 0;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < 5; ++i) {
      std::string name = "r" + std::to_string(round) + "-" + std::to_string(i);
      auto r = server.Capstan({"apply", "-f", "-"},
                              "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + "}\ndata: {i: \"" +
                                  std::to_string(i) + "\"}\n");
      ASSERT_EQ(r.exit_code, 0) << r.err << server.log();
    }
    auto r = server.Capstan({"get", "configmap", "r" + std::to_string(round) + "-4", "-o", "json"});
    int64_t rv = ResourceVersion(r);
    EXPECT_GT(rv, last_rv);
    last_rv = rv;
    server.Stop(9);  // no chance to flush anything
    ASSERT_TRUE(server.Start()) << server.log();
    for (int prev = 0; prev <= round; ++prev) {
      for (int i = 0; i < 5; ++i) {
        auto g = server.Capstan({"get", "configmap", "r" + std::to_string(prev) + "-" + std::to_string(i), "-o", "json"});
        EXPECT_EQ(g.exit_code, 0) << "acknowledged write lost after kill -9: r" << prev << "-" << i << g.err;
      }
    }
    // A new write gets a revision above everything acknowledged before the crash.
    auto w = server.Capstan({"apply", "-f", "-"}, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: after" +
                                                      std::to_string(round) + "}\n");
    ASSERT_EQ(w.exit_code, 0) << w.err;
    auto g = server.Capstan({"get", "configmap", "after" + std::to_string(round), "-o", "json"});
    EXPECT_GT(ResourceVersion(g), last_rv);
    last_rv = ResourceVersion(g);
  }
}

TEST(ServerLifecycleTest, OnlineBackupServesTheSameObjects) {
  ServerProcess server;
  ASSERT_TRUE(server.Start()) << server.log();
  for (int i = 0; i < 10; ++i) {
    auto r = server.Capstan({"apply", "-f", "-"},
                            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b" + std::to_string(i) + "}\n");
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  const ScopedTempDir restored_dir("capstan-restore-");
  const std::string& restored = restored_dir.path();
  auto b = e2e::Run({CapstanBin(), "admin", "backup", "--data-dir", server.data_dir(), restored + "/store"}, "",
               {{"HOME", server.home()}});
  ASSERT_EQ(b.exit_code, 0) << b.out << b.err << server.log();
  server.Stop(15);

  ServerProcess copy(restored);
  ASSERT_TRUE(copy.Start()) << copy.log();
  auto r = copy.Capstan({"get", "configmaps", "-o", "name"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (int i = 0; i < 10; ++i) {
    EXPECT_NE(r.out.find("configmap/b" + std::to_string(i) + "\n"), std::string::npos) << r.out;
  }
}

TEST(ServerLifecycleTest, RequestsWithoutTokenGet401ButHealthIsOpen) {
  ServerProcess server;
  ASSERT_TRUE(server.Start()) << server.log();
  auto r = e2e::Run({"curl", "-sS", "--cacert", server.data_dir() + "/ca.crt", "-o", "/dev/null", "-w", "%{http_code}",
                server.url() + "/api/v1/namespaces"});
  EXPECT_EQ(r.out, "401") << r.err;
  r = e2e::Run({"curl", "-sS", "--cacert", server.data_dir() + "/ca.crt", server.url() + "/healthz"});
  EXPECT_EQ(r.out, "ok") << r.err;
  r = server.Curl({server.url() + "/api/v1/namespaces/default"});
  EXPECT_NE(r.out.find("\"kind\":\"Namespace\""), std::string::npos) << r.out;
}

// A driver plugin that does not load costs the node its Pods, never the server: the API serves
// on and the log names the file and why. `capstan plugins list` shows the same file's error.
TEST(ServerLifecycleTest, ABadDriverPluginIsReportedAndTheServerServesOn) {
  ServerProcess server;
  const std::string dir = server.home() + "/plugins";
  ASSERT_EQ(e2e::Run({"mkdir", "-p", dir}).exit_code, 0);
  ASSERT_EQ(e2e::Run({"sh", "-c", "echo 'not a shared object' > " + dir + "/capstan-driver-broken.so"}).exit_code, 0);
  ASSERT_TRUE(server.Start({"--driver", "broken", "--plugin-dir", dir})) << server.log();
  auto r = server.Capstan({"get", "namespaces", "-o", "name"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("namespace/default"), std::string::npos) << r.out;
  // The node agent starts after the API serves: its error may follow the kubeconfig by a moment.
  EXPECT_TRUE(WaitFor([&] { return server.log().find("driver plugin not loaded") != std::string::npos; },
                      std::chrono::seconds(10)))
      << server.log();
  const std::string log = server.log();
  EXPECT_NE(log.find(dir + "/capstan-driver-broken.so"), std::string::npos) << log;
  r = server.Capstan({"plugins", "list", "--plugin-dir", dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("capstan-driver-broken.so"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("error:"), std::string::npos) << r.out;
  server.Stop();

  // A name no directory has: the error lists where it looked.
  ServerProcess missing;
  ASSERT_TRUE(missing.Start({"--driver", "nosuch", "--plugin-dir", dir})) << missing.log();
  EXPECT_TRUE(WaitFor([&] { return missing.log().find("capstan-driver-nosuch.so") != std::string::npos; },
                      std::chrono::seconds(10)))
      << missing.log();
  EXPECT_EQ(missing.Capstan({"get", "nodes", "-o", "name"}).out, "");  // no Node registered
}

}  // namespace
}  // namespace capstan::e2e
