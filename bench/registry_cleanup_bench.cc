// registry_cleanup_bench: Capstan's registry cleanup (scan, plan, execute on N threads) against the
// seed's approach, a sequential per-tag loop corrected to delete by digest, on two identical
// registries (Debian's docker-registry on 127.0.0.1, started here). Both sides apply the same
// rule (remove tags older than --days) with the same HTTP client, so the survivors must be equal;
// the benchmark prints times, request counts, the ratio, and whether the survivors match. It
// measures; it asserts nothing. See bench/registry_cleanup.sh.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "api/kinds/printing.h"
#include "controller/registry/cleanup_executor.h"
#include "controller/registry/inventory_scanner.h"
#include "controller/registry/parallel.h"
#include "controller/registry/registry_client.h"
#include "controller/registry/retention_planner.h"
#include "controller/registry/testing/image_pusher.h"
#include "controller/registry/testing/registry_process.h"

namespace {

using namespace capstan;
using namespace capstan::registry;
using Clock = std::chrono::steady_clock;

struct Flags {
  int repositories = 100;
  int tags = 100;
  int days = 30;          // remove what is older
  int concurrency = 8;
};

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::unique_ptr<RegistryClient> Connect(const std::string& url) {
  return std::move(RegistryClient::Create({url, "", "", "", false}, {})).value();
}

// Repository r gets `tags` images, tag i created i days ago.
bool Populate(const std::string& url, const Flags& flags) {
  auto client = Connect(url);
  std::atomic<bool> ok{true};
  int64_t now = api::kinds::NowEpochSeconds();
  Status pushed_all = ParallelFor(static_cast<size_t>(flags.repositories) * flags.tags, 8, [&](size_t n) {
    int r = static_cast<int>(n) / flags.tags;
    int i = static_cast<int>(n) % flags.tags;
    char repo[32], tag[32];
    std::snprintf(repo, sizeof repo, "team/app%03d", r);
    std::snprintf(tag, sizeof tag, "build-%03d", i);
    // A layer of its own per image: distribution races when one blob is uploaded twice at once.
    testing::ImageSpec spec{api::kinds::FormatRfc3339(now - int64_t{i} * 86400 - 3600), std::string(repo) + tag,
                            false, "amd64", 64};
    Result<testing::PushedImage> pushed = testing::PushImage(*client, repo, tag, spec);
    if (!pushed.ok() && ok.exchange(false)) std::fprintf(stderr, "push: %s\n", pushed.status().ToString().c_str());
  });
  if (!pushed_all.ok()) {
    std::fprintf(stderr, "push: %s\n", pushed_all.ToString().c_str());
    return false;
  }
  return ok;
}

std::map<std::string, std::set<std::string>> Survivors(const std::string& url) {
  auto client = Connect(url);
  std::map<std::string, std::set<std::string>> out;
  std::vector<std::string> catalog = client->Catalog().value();
  for (const std::string& repo : catalog) {
    Result<std::vector<std::string>> tags = client->Tags(repo);
    if (tags.ok()) out[repo] = {tags->begin(), tags->end()};
  }
  return out;
}

// The seed's loop, corrected: every tag, one after the other: its manifest (for the digest), its
// config (for `created`), and DELETE by digest when too old.
void SequentialLoop(RegistryClient& client, int64_t cutoff, int64_t* deleted) {
  std::vector<std::string> catalog = client.Catalog().value();
  for (const std::string& repo : catalog) {
    std::vector<std::string> tags = client.Tags(repo).value();
    for (const std::string& tag : tags) {
      Result<Manifest> manifest = client.GetManifest(repo, tag);
      if (!manifest.ok()) continue;
      Result<std::string> config = client.GetBlob(repo, manifest->doc["config"]["digest"].get<std::string>());
      if (!config.ok()) continue;
      std::optional<int64_t> created = api::kinds::ParseRfc3339(json::parse(*config).value("created", ""));
      if (created && *created < cutoff && client.DeleteManifest(repo, manifest->ref.digest).ok()) ++*deleted;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    int v = std::atoi(argv[i + 1]);
    if (f == "--repositories") flags.repositories = v;
    else if (f == "--tags") flags.tags = v;
    else if (f == "--days") flags.days = v;
    else if (f == "--concurrency") flags.concurrency = v;
    else {
      std::fprintf(stderr, "usage: registry_cleanup_bench [--repositories N] [--tags N] [--days N] [--concurrency N]\n");
      return 2;
    }
  }
  if (testing::RegistryBinary().empty()) {
    std::fprintf(stderr, "docker-registry is not installed\n");
    return 1;
  }
  testing::RegistryProcess capstan_side, loop_side;
  if (!capstan_side.Start({}) || !loop_side.Start({})) {
    std::fprintf(stderr, "registry: %s%s\n", capstan_side.error().c_str(), loop_side.error().c_str());
    return 1;
  }
  std::printf("registry cleanup: %d repositories x %d tags, remove tags older than %d days\n", flags.repositories,
              flags.tags, flags.days);
  auto t0 = Clock::now();
  if (!Populate(capstan_side.url(), flags) || !Populate(loop_side.url(), flags)) {
    std::fprintf(stderr, "pushing the images failed\n");
    return 1;
  }
  std::printf("populated both registries in %.1f s\n", Seconds(Clock::now() - t0));

  RetentionPolicy policy;
  policy.newer_than_seconds = int64_t{flags.days} * 86400;
  policy.keep_in_use = false;
  auto client = Connect(capstan_side.url());
  auto start = Clock::now();
  Inventory inventory = ScanRegistry(*client, {{}, {}, flags.concurrency}).value();
  Plan plan = PlanRetention(inventory, policy, {}, api::kinds::NowEpochSeconds());
  auto planned = Clock::now();
  int64_t plan_requests = client->request_count();
  ExecutionResult result = ExecutePlan(*client, plan, {flags.concurrency});
  auto applied = Clock::now();

  auto loop_client = Connect(loop_side.url());
  int64_t loop_deleted = 0;
  auto loop_start = Clock::now();
  SequentialLoop(*loop_client, api::kinds::NowEpochSeconds() - policy.newer_than_seconds.value(), &loop_deleted);
  auto loop_end = Clock::now();

  double capstan_total = Seconds(applied - start);
  double loop_total = Seconds(loop_end - loop_start);
  std::printf("%-28s %10s %10s %10s %10s %10s\n", "", "plan s", "apply s", "total s", "requests", "deleted");
  std::printf("%-28s %10.2f %10.2f %10.2f %10lld %10lld\n", "capstan (scan+plan+execute)", Seconds(planned - start),
              Seconds(applied - planned), capstan_total, static_cast<long long>(client->request_count()),
              static_cast<long long>(result.deleted));
  std::printf("%-28s %10s %10s %10.2f %10lld %10lld\n", "sequential per-tag loop", "-", "-", loop_total,
              static_cast<long long>(loop_client->request_count()), static_cast<long long>(loop_deleted));
  std::printf("capstan plan requests: %lld; speed-up (loop / capstan): %.2fx\n", static_cast<long long>(plan_requests),
              loop_total / capstan_total);
  bool same = Survivors(capstan_side.url()) == Survivors(loop_side.url());
  std::printf("survivors identical: %s\n", same ? "yes" : "NO");
  return same ? 0 : 1;
}
