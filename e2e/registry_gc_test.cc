// Garbage collection of the registry Capstan runs (issue 8 §3), end to end: `capstan server
// --registry 127.0.0.1:PORT` supervises Debian's docker-registry; a cleanup policy for it ends its
// run with the read-only window. Checked: the bytes reported equal the drop of the storage
// directory measured here with du; layers shared with surviving images stay (survivors pull
// completely, every blob checked against its digest), including the untagged children of a kept
// index (garbage-collect never gets --delete-untagged); a deleted image can be pushed again and
// pulled; the registry is stopped with the server.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <set>

#include <nlohmann/json.hpp>

#include "controller/registry/registry_client.h"
#include "controller/registry/testing/image_pusher.h"
#include "controller/registry/testing/registry_process.h"
#include "e2e/server_fixture.h"

namespace capstan::e2e {
namespace {

using json = nlohmann::json;
using registry::RegistryClient;
using registry::testing::DaysAgo;
using registry::testing::PushedImage;

// `du -s -B1 DIR`: the storage's disk usage as an operator would measure it.
int64_t Du(const std::string& dir) {
  RunResult r = Run({"du", "-s", "-B1", dir});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.exit_code == 0 ? std::stoll(r.out) : -1;
}

TEST(RegistryGcTest, ManagedRegistryIsGarbageCollectedAfterARun) {
  if (registry::testing::RegistryBinary().empty()) GTEST_SKIP() << "docker-registry is not installed";
  ServerProcess server;
  int port = registry::testing::FreeLoopbackPort();
  std::string url = "http://127.0.0.1:" + std::to_string(port);
  ASSERT_TRUE(server.Start({"--registry", "127.0.0.1:" + std::to_string(port)})) << server.log();
  const std::string storage = server.data_dir() + "/registry/storage";

  registry::RegistryClientOptions options;
  options.initial_backoff = std::chrono::milliseconds(50);
  auto client = std::move(RegistryClient::Create({url, "", "", "", false}, options)).value();
  const std::string old = DaysAgo(100);
  const std::string recent = DaysAgo(1);
  auto push = [&](const std::string& repo, const std::string& tag, const std::string& created, const std::string& seed,
                  size_t bytes, const std::string& arch = "amd64") {
    Result<PushedImage> image = registry::testing::PushImage(*client, repo, tag, {created, seed, false, arch, bytes});
    EXPECT_TRUE(image.ok()) << image.status().ToString();
    return image.ok() ? *image : PushedImage{};
  };
  // app: a new image, an old one sharing its 128 KiB layer, an old one with a 256 KiB layer of its own.
  PushedImage fresh = push("app", "fresh", recent, "base", 128 * 1024);
  push("app", "old-shared", old, "base", 128 * 1024);
  PushedImage old_unique = push("app", "old-unique", old, "unique", 256 * 1024);
  // multi: a kept manifest list whose (untagged) children are old, and an old image beside it.
  PushedImage amd = push("multi", "amd", old, "multi-amd", 8 * 1024);
  PushedImage arm = push("multi", "arm", old, "multi-arm", 8 * 1024, "arm64");
  Result<PushedImage> list = registry::testing::PushIndex(*client, "multi", "latest", {amd, arm}, false);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  push("multi", "old", old, "multi-old", 64 * 1024);
  // The children lose their own tags: only the index keeps them.
  for (const char* tag : {"amd", "arm"}) {
    push("multi", tag, recent, std::string("retag-") + tag, 1024);
  }

  RunResult applied = server.Capstan(
      {"apply", "-f", "-"},
      "apiVersion: registry.capstan.io/v1alpha1\nkind: RegistryCleanupPolicy\nmetadata: {name: own}\nspec:\n"
      "  registry: {url: \"" + url + "\"}\n  keep: {tags: ['^latest$'], newerThan: 720h}\n");
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  int64_t before = Du(storage);
  RunResult run = server.Capstan({"registry", "run", "own", "--timeout", "90s"}, "", std::chrono::seconds(120));
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err << server.log();
  int64_t after = Du(storage);
  json policy = json::parse(server.Capstan({"get", "rcp", "own", "-o", "json"}).out);
  const json& last = policy["status"]["lastRun"];
  EXPECT_EQ(last["result"], "Succeeded") << policy.dump(2);
  EXPECT_EQ(policy["status"]["counts"]["deleted"], 3) << policy.dump(2);  // old-shared, old-unique, multi:old
  EXPECT_EQ(last["managedRegistry"], true);
  ASSERT_TRUE(last.contains("garbageCollection")) << policy.dump(2);
  EXPECT_EQ(last["garbageCollection"]["result"], "Succeeded");
  EXPECT_GT(last["garbageCollection"]["readOnlyWindowMillis"].get<int64_t>(), 0);
  // What is reported is what du saw go; at least the two unique layers (256 + 64 KiB).
  EXPECT_EQ(last["bytesReclaimed"].get<int64_t>(), before - after) << policy.dump(2);
  EXPECT_GE(before - after, (256 + 64) * 1024);

  // Survivors pull completely: the shared layer and the index's untagged children stayed.
  for (const auto& [repo, ref] : std::vector<std::pair<std::string, std::string>>{
           {"app", "fresh"}, {"multi", "latest"}, {"multi", "amd"}, {"multi", "arm"}}) {
    Status pulled = registry::testing::PullAndVerify(*client, repo, ref);
    EXPECT_TRUE(pulled.ok()) << repo << ":" << ref << ": " << pulled.ToString();
  }
  EXPECT_EQ(client->HeadManifest("app", "fresh")->digest, fresh.digest);
  EXPECT_EQ(client->HeadManifest("multi", "latest")->digest, list->digest);
  // The unique layer is gone from the blob store (no stale cache answers for it) ...
  Result<registry::Manifest> gone = client->GetManifest("app", old_unique.digest);
  EXPECT_TRUE(gone.status().IsNotFound()) << gone.status().ToString();
  // ... and the deleted image, pushed again byte for byte, is whole again.
  PushedImage again = push("app", "old-unique", old, "unique", 256 * 1024);
  EXPECT_EQ(again.digest, old_unique.digest);
  Status repulled = registry::testing::PullAndVerify(*client, "app", "old-unique");
  EXPECT_TRUE(repulled.ok()) << repulled.ToString();

  RunResult events = server.Capstan({"get", "events", "-o", "json"});
  EXPECT_NE(events.out.find("garbage collection reclaimed " + std::to_string(before - after) + " bytes"),
            std::string::npos)
      << events.out;

  // The registry goes with the server.
  EXPECT_EQ(server.Stop(), 0);
  EXPECT_FALSE(client->Ping().ok());
}

}  // namespace
}  // namespace capstan::e2e
