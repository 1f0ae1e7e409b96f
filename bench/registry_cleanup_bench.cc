// registry_cleanup_bench: Capstan's registry cleanup (scan, plan, execute on N threads) against the
// seed's approach, on identical registries (Debian's docker-registry on 127.0.0.1, started here;
// one is filled, the others get a copy of its storage). Two peers, each a sequential per-tag loop
// corrected to delete by digest:
//  - "seed": the seed's shell script, corrected (bench/registry_cleanup_seed.sh: curl and jq per
//    request, as the seed runs), the peer;
//  - "loop": the same requests in-process with Capstan's HTTP client (keep-alive connections), to
//    show what is left without the shell's cost.
// All sides apply the same rule (remove tags older than --days), so the survivors must be equal.
// With --auth 1 (default, as the seed's registry) the registries require htpasswd Basic auth.
// Prints times, requests by kind, registry and client CPU, the ratios, and whether the survivors
// match. It measures; it asserts nothing. See bench/registry_cleanup.sh.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "api/kinds/printing.h"
#include "bench/proc_stats.h"
#include "controller/registry/cleanup_executor.h"
#include "controller/registry/inventory_scanner.h"
#include "controller/registry/parallel.h"
#include "controller/registry/registry_client.h"
#include "controller/registry/retention_planner.h"
#include "controller/registry/testing/image_pusher.h"
#include "controller/registry/testing/registry_process.h"
#include "e2e/process.h"

namespace {

using namespace capstan;
using namespace capstan::registry;
using Clock = std::chrono::steady_clock;

struct Flags {
  int repositories = 100;
  int tags = 100;
  int days = 30;          // remove what is older
  int concurrency = 8;
  int auth = 1;           // htpasswd Basic auth on the registries, as the seed's registry:2
  std::string peers = "seed,loop";
  std::string seed_script;  // default: registry_cleanup_seed.sh beside this source, via argv
};

constexpr char kUser[] = "bench";
constexpr char kPassword[] = "bench-secret";

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

bool g_auth = true;
std::unique_ptr<RegistryClient> Connect(const std::string& url) {
  return std::move(RegistryClient::Create({url, g_auth ? kUser : "", g_auth ? kPassword : "", "", false}, {})).value();
}

double ProcessCpu(int who) {
  rusage usage{};
  getrusage(who, &usage);
  return static_cast<double>(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
         static_cast<double>(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

std::string Kinds(const std::map<std::string, int64_t>& counts) {
  std::string out;
  for (const auto& [kind, n] : counts) out += (out.empty() ? "" : ", ") + kind + " " + std::to_string(n);
  return out;
}

struct Side {
  std::string name;
  double plan_s = -1, apply_s = -1, total_s = 0;
  int64_t requests = 0, deleted = 0;
  double registry_cpu = 0, client_cpu = 0;
};

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
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // progress shows while it runs, also into a file
  Flags flags;
  std::string self = argv[0];
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string f = argv[i];
    std::string value = argv[i + 1];
    int v = std::atoi(value.c_str());
    if (f == "--repositories") flags.repositories = v;
    else if (f == "--tags") flags.tags = v;
    else if (f == "--days") flags.days = v;
    else if (f == "--concurrency") flags.concurrency = v;
    else if (f == "--auth") flags.auth = v;
    else if (f == "--peers") flags.peers = value;
    else if (f == "--seed-script") flags.seed_script = value;
    else {
      std::fprintf(stderr, "usage: registry_cleanup_bench [--repositories N] [--tags N] [--days N] [--concurrency N] "
                           "[--auth 0|1] [--peers seed,loop] [--seed-script FILE]\n");
      return 2;
    }
  }
  g_auth = flags.auth != 0;
  bool run_seed = flags.peers.find("seed") != std::string::npos;
  bool run_loop = flags.peers.find("loop") != std::string::npos;
  if (testing::RegistryBinary().empty()) {
    std::fprintf(stderr, "docker-registry is not installed\n");
    return 1;
  }
  if (run_seed && (flags.seed_script.empty() || e2e::Run({"sh", "-c", "command -v curl && command -v jq"}).exit_code != 0)) {
    std::fprintf(stderr, "the seed peer needs --seed-script, curl and jq\n");
    return 1;
  }
  testing::RegistryOptions options;
  if (g_auth) options.users = {{kUser, kPassword}};
  testing::RegistryProcess capstan_side, loop_side, seed_side;
  if (!capstan_side.Start(options)) {
    std::fprintf(stderr, "registry: %s\n", capstan_side.error().c_str());
    return 1;
  }
  std::printf("registry cleanup: %d repositories x %d tags, remove tags older than %d days, auth %s\n",
              flags.repositories, flags.tags, flags.days, g_auth ? "htpasswd (bcrypt)" : "none");
  auto t0 = Clock::now();
  if (!Populate(capstan_side.url(), flags)) {
    std::fprintf(stderr, "pushing the images failed\n");
    return 1;
  }
  // The peers' registries get a copy of the same storage: identical content, one fill.
  capstan_side.Stop();
  for (testing::RegistryProcess* peer : {&loop_side, &seed_side}) {
    std::error_code ec;
    std::filesystem::copy(capstan_side.storage_dir(), peer->storage_dir(),
                          std::filesystem::copy_options::recursive | std::filesystem::copy_options::copy_symlinks, ec);
    if (ec || !peer->Start(options)) {
      std::fprintf(stderr, "copying the storage or starting a peer's registry failed: %s %s\n", ec.message().c_str(),
                   peer->error().c_str());
      return 1;
    }
  }
  if (!capstan_side.Start(options)) {
    std::fprintf(stderr, "registry: %s\n", capstan_side.error().c_str());
    return 1;
  }
  std::printf("populated in %.1f s\n", Seconds(Clock::now() - t0));

  RetentionPolicy policy;
  policy.newer_than_seconds = int64_t{flags.days} * 86400;
  policy.keep_in_use = false;
  std::vector<Side> sides;

  Side capstan{"capstan (scan+plan+execute)"};
  auto client = Connect(capstan_side.url());
  double registry_cpu0 = bench::ProcCpuSeconds(capstan_side.pid());
  double cpu0 = ProcessCpu(RUSAGE_SELF);
  auto start = Clock::now();
  Inventory inventory = ScanRegistry(*client, {{}, {}, flags.concurrency}).value();
  Plan plan = PlanRetention(inventory, policy, {}, api::kinds::NowEpochSeconds());
  auto planned = Clock::now();
  int64_t plan_requests = client->request_count();
  ExecutionResult result = ExecutePlan(*client, plan, {flags.concurrency});
  auto applied = Clock::now();
  capstan.plan_s = Seconds(planned - start);
  capstan.apply_s = Seconds(applied - planned);
  capstan.total_s = Seconds(applied - start);
  capstan.requests = client->request_count();
  capstan.deleted = result.deleted;
  capstan.registry_cpu = bench::ProcCpuSeconds(capstan_side.pid()) - registry_cpu0;
  capstan.client_cpu = ProcessCpu(RUSAGE_SELF) - cpu0;
  sides.push_back(capstan);
  std::printf("capstan requests: plan %lld, apply %lld; by kind: %s\n", static_cast<long long>(plan_requests),
              static_cast<long long>(capstan.requests - plan_requests), Kinds(client->request_counts()).c_str());

  if (run_loop) {
    Side loop{"in-process sequential loop"};
    auto loop_client = Connect(loop_side.url());
    registry_cpu0 = bench::ProcCpuSeconds(loop_side.pid());
    cpu0 = ProcessCpu(RUSAGE_SELF);
    auto loop_start = Clock::now();
    SequentialLoop(*loop_client, api::kinds::NowEpochSeconds() - policy.newer_than_seconds.value(), &loop.deleted);
    loop.total_s = Seconds(Clock::now() - loop_start);
    loop.requests = loop_client->request_count();
    loop.registry_cpu = bench::ProcCpuSeconds(loop_side.pid()) - registry_cpu0;
    loop.client_cpu = ProcessCpu(RUSAGE_SELF) - cpu0;
    sides.push_back(loop);
    std::printf("loop requests by kind: %s\n", Kinds(loop_client->request_counts()).c_str());
  }
  if (run_seed) {
    Side seed{"seed script (curl, jq)"};
    registry_cpu0 = bench::ProcCpuSeconds(seed_side.pid());
    cpu0 = ProcessCpu(RUSAGE_CHILDREN);
    auto seed_start = Clock::now();
    std::vector<std::string> argv = {"bash", flags.seed_script, seed_side.url(), std::to_string(flags.days)};
    if (g_auth) argv.push_back(std::string(kUser) + ":" + kPassword);
    e2e::RunResult ran = e2e::Run(argv, "", {}, std::chrono::hours(2));
    seed.total_s = Seconds(Clock::now() - seed_start);
    seed.registry_cpu = bench::ProcCpuSeconds(seed_side.pid()) - registry_cpu0;
    seed.client_cpu = ProcessCpu(RUSAGE_CHILDREN) - cpu0;
    long long requests = 0, deleted = 0;
    if (ran.exit_code != 0 || std::sscanf(ran.out.c_str(), "requests %lld deleted %lld", &requests, &deleted) != 2) {
      std::fprintf(stderr, "seed script failed (%d): %s %s\n", ran.exit_code, ran.out.c_str(), ran.err.c_str());
    }
    seed.requests = requests;
    seed.deleted = deleted;
    sides.push_back(seed);
  }

  std::printf("%-30s %8s %8s %8s %9s %8s %12s %10s\n", "", "plan s", "apply s", "total s", "requests", "deleted",
              "registry CPU", "client CPU");
  for (const Side& side : sides) {
    char plan_s[16] = "-", apply_s[16] = "-";
    if (side.plan_s >= 0) std::snprintf(plan_s, sizeof plan_s, "%.2f", side.plan_s);
    if (side.apply_s >= 0) std::snprintf(apply_s, sizeof apply_s, "%.2f", side.apply_s);
    std::printf("%-30s %8s %8s %8.2f %9lld %8lld %12.2f %10.2f\n", side.name.c_str(), plan_s, apply_s, side.total_s,
                static_cast<long long>(side.requests), static_cast<long long>(side.deleted), side.registry_cpu,
                side.client_cpu);
  }
  for (size_t i = 1; i < sides.size(); ++i) {
    std::printf("speed-up over the %s: %.2fx\n", sides[i].name.c_str(), sides[i].total_s / capstan.total_s);
  }
  auto survivors = Survivors(capstan_side.url());
  bool same = true;
  if (run_loop) same = same && survivors == Survivors(loop_side.url());
  if (run_seed) same = same && survivors == Survivors(seed_side.url());
  std::printf("survivors identical: %s\n", same ? "yes" : "NO");
  return same ? 0 : 1;
}
