// Registry cleanup end to end: the built `capstan server` (its registry cleanup controller), the
// `capstan registry` verbs and Debian's docker-registry (distribution 2.8) on 127.0.0.1, with
// images pushed over HTTP with chosen `created` times. One capstan server serves every test; each
// test starts its own registry.
#include <gtest/gtest.h>

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
using registry::testing::ImageSpec;
using registry::testing::DaysAgo;
using registry::testing::PushedImage;
using registry::testing::RegistryOptions;
using registry::testing::RegistryProcess;

class RegistryCleanupTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ServerProcess();
    if (!server_->Start()) {
      ADD_FAILURE() << "capstan server did not start: " << server_->log();
    }
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    if (registry::testing::RegistryBinary().empty()) GTEST_SKIP() << "docker-registry is not installed";
  }

  std::unique_ptr<RegistryClient> Connect(const RegistryProcess& reg, const std::string& user = "",
                                          const std::string& password = "") {
    registry::RegistryClientOptions options;
    options.initial_backoff = std::chrono::milliseconds(50);
    return std::move(RegistryClient::Create({reg.url(), user, password, "", false}, options)).value();
  }
  PushedImage Push(RegistryClient& client, const std::string& repo, const std::string& tag, int age_days,
                   bool oci = false, const std::string& arch = "amd64") {
    Result<PushedImage> image = registry::testing::PushImage(
        client, repo, tag, {DaysAgo(age_days), repo + ":" + tag, oci, arch});
    EXPECT_TRUE(image.ok()) << image.status().ToString();
    return image.ok() ? *image : PushedImage{};
  }
  std::set<std::string> Tags(RegistryClient& client, const std::string& repo) {
    Result<std::vector<std::string>> tags = client.Tags(repo);
    if (!tags.ok()) return {};
    return {tags->begin(), tags->end()};
  }
  std::string DigestOf(RegistryClient& client, const std::string& repo, const std::string& tag) {
    Result<registry::ManifestRef> head = client.HeadManifest(repo, tag);
    return head.ok() ? head->digest : "";
  }

  RunResult Apply(const std::string& yaml) {
    RunResult r = server_->Capstan({"apply", "-f", "-"}, yaml);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    return r;
  }
  // A policy `name` over the registry at `url`; `extra` is more spec YAML (indented 2).
  void ApplyPolicy(const std::string& name, const std::string& url, const std::string& extra,
                   const std::string& credentials_secret = "") {
    std::string secret = credentials_secret.empty() ? "" : ", credentialsSecret: " + credentials_secret;
    Apply("apiVersion: registry.capstan.io/v1alpha1\nkind: RegistryCleanupPolicy\nmetadata: {name: " + name +
          "}\nspec:\n  registry: {url: \"" + url + "\"" + secret + "}\n" + extra);
  }
  // `capstan registry run NAME`, then the policy as the server has it.
  json Run(const std::string& name, int expect_exit = 0) {
    RunResult r = server_->Capstan({"registry", "run", name, "--timeout", "90s"}, "", std::chrono::seconds(120));
    EXPECT_EQ(r.exit_code, expect_exit) << r.out << r.err;
    return Policy(name);
  }
  json Policy(const std::string& name) {
    RunResult r = server_->Capstan({"get", "rcp", name, "-o", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.exit_code == 0 ? json::parse(r.out) : json();
  }
  // The removals recorded in the policy's decisions ConfigMap: "repo:tag decision".
  std::set<std::string> Removals(const std::string& name) {
    RunResult r = server_->Capstan({"get", "configmap", name + "-decisions", "-o", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    std::set<std::string> out;
    if (r.exit_code != 0) return out;
    for (const json& row : json::parse(json::parse(r.out)["data"]["decisions.json"].get<std::string>())) {
      if (row["decision"] != "keep") out.insert(row["repository"].get<std::string>() + ":" + row["tag"].get<std::string>());
    }
    return out;
  }
  static std::string Condition(const json& policy, const std::string& type, const char* field = "status") {
    for (const json& c : policy["status"].value("conditions", json::array())) {
      if (c["type"] == type) return c.value(field, "");
    }
    return "";
  }

  static ServerProcess* server_;
};

ServerProcess* RegistryCleanupTest::server_ = nullptr;

// keep-newest plus age, semver and latest, two tags on one digest, in-use by tag and by digest;
// a dry run first (nothing deleted, exactly the expected tags listed), then the real run.
TEST_F(RegistryCleanupTest, RetentionRulesDryRunThenExactSurvivors) {
  RegistryProcess reg;
  ASSERT_TRUE(reg.Start({})) << reg.error();
  auto client = Connect(reg);
  Push(*client, "app/web", "new", 1);
  Push(*client, "app/web", "mid", 40);
  Push(*client, "app/web", "old1", 50);
  Push(*client, "app/web", "old2", 60);
  Push(*client, "app/web", "latest", 70);
  PushedImage v123 = Push(*client, "app/web", "v1.2.3", 80);
  ASSERT_TRUE(registry::testing::Tag(*client, "app/web", "build-80", v123).ok());
  Push(*client, "app/web", "v1.2.3-rc1", 81);
  Push(*client, "app/web", "1.0.0", 90);
  Push(*client, "app/deployed", "by-tag", 100);
  PushedImage by_digest = Push(*client, "app/deployed", "by-digest", 100);
  Push(*client, "app/deployed", "unused", 120);  // older: not among the newest 2
  Push(*client, "other/kept", "ancient", 500);  // not included

  std::string host = reg.url().substr(7);
  Apply("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: deployed}\nspec:\n  replicas: 1\n"
        "  selector: {matchLabels: {app: deployed}}\n  template:\n    metadata: {labels: {app: deployed}}\n"
        "    spec:\n      containers:\n      - {name: a, image: \"" + host + "/app/deployed:by-tag\"}\n"
        "      - {name: b, image: \"" + host + "/app/deployed@" + by_digest.digest + "\"}\n");
  ApplyPolicy("rules", reg.url(),
              "  repositories: {include: [\"app/*\"]}\n"
              "  keep: {tags: ['^latest$', '^v?\\d+\\.\\d+\\.\\d+$'], newest: 2, newerThan: 720h}\n"
              "  dryRun: true\n");

  const std::set<std::string> expected = {"app/web:old1", "app/web:old2", "app/web:build-80", "app/web:v1.2.3-rc1",
                                          "app/deployed:unused"};
  // `capstan registry plan` prints the same plan from this machine.
  RunResult plan = server_->Capstan({"registry", "plan", "rules"});
  ASSERT_EQ(plan.exit_code, 0) << plan.out << plan.err;
  EXPECT_NE(plan.out.find("REPOSITORY"), std::string::npos);
  EXPECT_NE(plan.out.find("untag"), std::string::npos) << plan.out;
  EXPECT_NE(plan.out.find("4 to delete, 1 to untag"), std::string::npos) << plan.out;

  json policy = Run("rules");
  EXPECT_EQ(policy["status"]["lastRun"]["result"], "DryRun") << policy.dump(2);
  EXPECT_EQ(Removals("rules"), expected);
  EXPECT_EQ(Tags(*client, "app/web").size(), 9u);  // nothing deleted

  ApplyPolicy("rules", reg.url(),
              "  repositories: {include: [\"app/*\"]}\n"
              "  keep: {tags: ['^latest$', '^v?\\d+\\.\\d+\\.\\d+$'], newest: 2, newerThan: 720h}\n"
              "  dryRun: false\n");
  policy = Run("rules");
  EXPECT_EQ(policy["status"]["lastRun"]["result"], "Succeeded") << policy.dump(2);
  EXPECT_EQ(Tags(*client, "app/web"), (std::set<std::string>{"new", "mid", "latest", "v1.2.3", "1.0.0"}));
  EXPECT_EQ(DigestOf(*client, "app/web", "v1.2.3"), v123.digest);  // the kept tag of the untagged digest
  EXPECT_EQ(Tags(*client, "app/deployed"), (std::set<std::string>{"by-tag", "by-digest"}));
  EXPECT_EQ(Tags(*client, "other/kept"), std::set<std::string>{"ancient"});
  EXPECT_EQ(policy["status"]["counts"]["deleted"], 4);
  EXPECT_EQ(policy["status"]["counts"]["untagged"], 1);
  EXPECT_EQ(policy["status"]["counts"]["keptByReason"]["in-use"], 2);
  EXPECT_GT(policy["status"]["bytesReclaimable"].get<int64_t>(), 0);
  RunResult described = server_->Capstan({"describe", "rcp", "rules"});
  EXPECT_NE(described.out.find("Succeeded"), std::string::npos) << described.out;
  EXPECT_NE(described.out.find("CleanupSucceeded"), std::string::npos) << described.out;
  RunResult got = server_->Capstan({"get", "rcp"});
  EXPECT_NE(got.out.find("LAST RESULT"), std::string::npos) << got.out;
}

// A manifest list and an OCI index sharing children with a kept tag: every kept tag and every
// child of a kept index still resolves.
TEST_F(RegistryCleanupTest, IndexesSharingChildrenWithKeptTags) {
  RegistryProcess reg;
  ASSERT_TRUE(reg.Start({})) << reg.error();
  auto client = Connect(reg);
  PushedImage amd = Push(*client, "multi", "amd-build", 100);
  PushedImage arm = Push(*client, "multi", "arm-build", 100, false, "arm64");
  PushedImage old_amd = Push(*client, "multi", "old-amd", 200, true);
  Result<PushedImage> list = registry::testing::PushIndex(*client, "multi", "latest", {amd, arm}, false);
  Result<PushedImage> kept_oci = registry::testing::PushIndex(*client, "multi", "v2.0.0", {arm, old_amd}, true);
  Result<PushedImage> old_oci = registry::testing::PushIndex(*client, "multi", "stale", {amd, old_amd}, true);
  ASSERT_TRUE(list.ok() && kept_oci.ok() && old_oci.ok());
  ApplyPolicy("multi", reg.url(), "  keep: {tags: ['^latest$', '^v\\d.*']}\n");
  json policy = Run("multi");
  EXPECT_EQ(policy["status"]["lastRun"]["result"], "Succeeded") << policy.dump(2);
  EXPECT_EQ(Tags(*client, "multi"), (std::set<std::string>{"latest", "v2.0.0", "amd-build", "arm-build", "old-amd"}));
  EXPECT_EQ(DigestOf(*client, "multi", "latest"), list->digest);
  EXPECT_EQ(DigestOf(*client, "multi", "v2.0.0"), kept_oci->digest);
  for (const PushedImage* child : {&amd, &arm, &old_amd}) {
    EXPECT_TRUE(client->HeadManifest("multi", child->digest).ok()) << child->digest;
  }
  EXPECT_EQ(policy["status"]["counts"]["keptByReason"]["child-of-kept-index"], 3);
}

// Catalog pagination with a small maxentries, and a repository with hundreds of tags (tag lists
// paginated too).
TEST_F(RegistryCleanupTest, PaginatedCatalogAndHundredsOfTags) {
  RegistryProcess reg;
  ASSERT_TRUE(reg.Start({.catalog_max_entries = 3})) << reg.error();
  auto client = Connect(reg);
  for (char c = 'a'; c <= 'g'; ++c) Push(*client, std::string("small-") + c, "old", 100);
  PushedImage old_image = Push(*client, "big", "t000", 100);
  PushedImage new_image = Push(*client, "big", "keep-00", 100);
  for (int i = 1; i < 250; ++i) {
    char tag[16];
    std::snprintf(tag, sizeof tag, "t%03d", i);
    ASSERT_TRUE(registry::testing::Tag(*client, "big", tag, old_image).ok());
  }
  for (int i = 1; i < 50; ++i) {
    ASSERT_TRUE(registry::testing::Tag(*client, "big", "keep-" + std::to_string(100 + i), new_image).ok());
  }
  ApplyPolicy("paged", reg.url(), "  keep: {tags: ['^keep-.*']}\n");
  json policy = Run("paged");
  EXPECT_EQ(policy["status"]["lastRun"]["result"], "Succeeded") << policy.dump(2);
  EXPECT_EQ(policy["status"]["counts"]["repositories"], 8);
  EXPECT_EQ(policy["status"]["counts"]["scanned"], 307);
  EXPECT_EQ(policy["status"]["counts"]["deleted"], 257);
  EXPECT_EQ(Tags(*client, "big").size(), 50u);
  for (char c = 'a'; c <= 'g'; ++c) EXPECT_TRUE(Tags(*client, std::string("small-") + c).empty());
}

// Deletion disabled, then read-only: nothing deleted, the 405 reported naming the registry settings.
TEST_F(RegistryCleanupTest, DeletionDisabledAndReadOnlyAreReported) {
  RegistryProcess reg;
  ASSERT_TRUE(reg.Start({.delete_enabled = false})) << reg.error();
  auto client = Connect(reg);
  Push(*client, "app", "a", 100);
  Push(*client, "app", "b", 100);
  ApplyPolicy("nodelete", reg.url(), "  keep: {newest: 0}\n");
  json policy = Run("nodelete", 1);
  EXPECT_EQ(policy["status"]["lastRun"]["result"], "Failed") << policy.dump(2);
  EXPECT_EQ(Condition(policy, "DeletionAllowed"), "False");
  EXPECT_NE(Condition(policy, "DeletionAllowed", "message").find("storage.delete.enabled"), std::string::npos);
  EXPECT_EQ(Tags(*client, "app"), (std::set<std::string>{"a", "b"}));
  // Read-only (storage.maintenance.readonly): the same 405, the same report.
  ASSERT_TRUE(reg.Restart({.delete_enabled = true, .read_only = true})) << reg.error();
  policy = Run("nodelete", 1);
  EXPECT_EQ(Condition(policy, "DeletionAllowed"), "False") << policy.dump(2);
  EXPECT_NE(Condition(policy, "DeletionAllowed", "message").find("storage.maintenance.readonly"), std::string::npos);
  EXPECT_EQ(Tags(*client, "app"), (std::set<std::string>{"a", "b"}));
}

// Basic auth: without credentials the run fails Unauthorized; with a basic-auth Secret it runs.
TEST_F(RegistryCleanupTest, BasicAuthWithoutAndWithCredentials) {
  RegistryProcess reg;
  ASSERT_TRUE(reg.Start({.users = {{"alice", "s3cret"}}})) << reg.error();
  auto client = Connect(reg, "alice", "s3cret");
  Push(*client, "app", "old", 100);
  Push(*client, "app", "latest", 100);
  ApplyPolicy("authed", reg.url(), "  keep: {tags: [latest]}\n");
  json policy = Run("authed", 1);
  EXPECT_EQ(Condition(policy, "Ready", "reason"), "Unauthorized") << policy.dump(2);
  EXPECT_EQ(Tags(*client, "app").size(), 2u);
  Apply("apiVersion: v1\nkind: Secret\nmetadata: {name: reg-auth}\ntype: kubernetes.io/basic-auth\n"
        "stringData: {username: alice, password: s3cret}\n");
  ApplyPolicy("authed", reg.url(), "  keep: {tags: [latest]}\n", "reg-auth");
  policy = Run("authed");
  EXPECT_EQ(policy["status"]["lastRun"]["result"], "Succeeded") << policy.dump(2);
  EXPECT_EQ(Tags(*client, "app"), std::set<std::string>{"latest"});
}

// The registry down during a run: the run fails after its retries with nothing removed; once the
// registry is back, the next run completes.
TEST_F(RegistryCleanupTest, RegistryDownThenBack) {
  RegistryProcess reg;
  ASSERT_TRUE(reg.Start({})) << reg.error();
  auto client = Connect(reg);
  Push(*client, "app", "old", 100);
  Push(*client, "app", "latest", 1);
  reg.Stop();
  ApplyPolicy("flaky", reg.url(), "  keep: {newest: 1}\n");
  json policy = Run("flaky", 1);
  EXPECT_EQ(Condition(policy, "Ready", "reason"), "RegistryUnavailable") << policy.dump(2);
  ASSERT_TRUE(reg.Start({})) << reg.error();
  EXPECT_EQ(Tags(*client, "app"), (std::set<std::string>{"old", "latest"}));
  policy = Run("flaky");
  EXPECT_EQ(policy["status"]["lastRun"]["result"], "Succeeded") << policy.dump(2);
  EXPECT_EQ(Tags(*client, "app"), std::set<std::string>{"latest"});
}

// kubectl (oldest and newest installed) applies and lists a policy through the OpenAPI Capstan
// serves, and gets the 422 naming the field for a bad one.
TEST_F(RegistryCleanupTest, KubectlAppliesAndGetsPolicies) {
  auto kubectls = KubectlBinaries();
  if (kubectls.empty()) GTEST_SKIP() << "no kubectl installed";
  for (const auto& [version, kubectl] : {kubectls.front(), kubectls.back()}) {
    std::string name = "kubectl-" + version;
    for (char& c : name) c = c == '.' ? '-' : c;
    RunResult r = server_->Kubectl(kubectl, {"apply", "-f", "-"},
                                   "apiVersion: registry.capstan.io/v1alpha1\nkind: RegistryCleanupPolicy\n"
                                   "metadata: {name: " + name + "}\nspec:\n  registry: {url: \"http://127.0.0.1:1\"}\n"
                                   "  keep: {tags: ['^v\\d+$'], newest: 3}\n  schedule: \"@daily\"\n  suspend: true\n");
    EXPECT_EQ(r.exit_code, 0) << version << ": " << r.out << r.err;
    r = server_->Kubectl(kubectl, {"get", "rcp", name});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("@daily"), std::string::npos) << r.out;
    r = server_->Kubectl(kubectl, {"get", "rcp", name, "-o", "jsonpath={.spec.keep.inUse}"});
    EXPECT_EQ(r.out, "true");
    r = server_->Kubectl(kubectl, {"apply", "-f", "-"},
                         "apiVersion: registry.capstan.io/v1alpha1\nkind: RegistryCleanupPolicy\n"
                         "metadata: {name: bad}\nspec:\n  registry: {url: \"http://127.0.0.1:1\"}\n"
                         "  schedule: \"0 3 * * *\"\n  interval: 1h\n");
    EXPECT_NE(r.exit_code, 0);
    EXPECT_NE(r.err.find("spec.interval"), std::string::npos) << r.err;
  }
}

}  // namespace
}  // namespace capstan::e2e
