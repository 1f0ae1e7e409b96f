#include "controller/registry/cleanup_executor.h"

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>

#include "controller/registry/parallel.h"

namespace capstan::registry {
namespace {

// A repository's tags as re-read once per execution, before its first DELETE: which tags point
// at which digest now. A DELETE by digest removes every tag on that digest, also tags pushed or
// moved there since planning; this snapshot is what DeleteGroup checks them against.
struct RepositoryTags {
  std::once_flag once;
  Status status;                                     // listing or a HEAD failed: delete nothing here
  std::map<std::string, std::set<std::string>> tags_by_digest;
};

// Shared by the threads of one execution.
struct Run {
  RegistryClient& client;
  const Plan& plan;
  ExecutionResult result;
  std::mutex mu;                     // guards result's fields
  // A 405 (deletion refused) or an unavailable registry (after the client's retries) was seen:
  // attempt nothing more. Every further request would fail the same way, the unavailable ones
  // only after retrying for seconds each.
  std::atomic<bool> refused{false};
  Status refusal;                    // set once before `refused` turns true
  // Every repository with a manifest to delete; the map itself is filled before the threads start.
  std::map<std::string, std::unique_ptr<RepositoryTags>> repository_tags;

  const RepositoryTags& TagsOf(const std::string& repository) {
    RepositoryTags& snapshot = *repository_tags.at(repository);
    std::call_once(snapshot.once, [&] {
      Result<std::vector<std::string>> tags = client.Tags(repository);
      if (!tags.ok()) {
        if (!tags.status().IsNotFound()) snapshot.status = tags.status().Annotate("re-listing tags");
        return;
      }
      for (const std::string& tag : *tags) {
        Result<ManifestRef> head = client.HeadManifest(repository, tag);
        if (head.ok()) {
          snapshot.tags_by_digest[head->digest].insert(tag);
        } else if (!head.status().IsNotFound()) {
          snapshot.status = head.status().Annotate("re-reading tag " + tag);
          return;
        }
      }
    });
    return snapshot;
  }

  void Set(size_t i, Outcome outcome, const Status& status = Status::Ok()) {
    std::lock_guard<std::mutex> lock(mu);
    result.results[i].outcome = outcome;
    if (!status.ok()) {
      result.results[i].error = status.message();
      if (result.first_error.ok()) result.first_error = status;
    }
  }
  bool Refused(const Status& status) {
    if (status.code() != Code::kMethodNotAllowed && status.code() != Code::kUnavailable) return false;
    std::lock_guard<std::mutex> lock(mu);
    if (!refused) {
      refusal = status;
      refused = true;
    }
    return true;
  }
  bool StopIfRefused(size_t i) {
    if (!refused) return false;
    Status why;
    {
      std::lock_guard<std::mutex> lock(mu);
      why = Status(refusal.code(), "not attempted: " + refusal.message());
    }
    Set(i, Outcome::kNotAttempted, why);
    return true;
  }
  // Whether the tag still points at the planned digest; sets the outcome when it does not.
  bool StillThere(size_t i) {
    const TagDecision& d = plan.decisions[i];
    Result<ManifestRef> head = client.HeadManifest(d.repository, d.tag);
    if (!head.ok()) {
      if (head.status().IsNotFound()) {
        Set(i, Outcome::kSkippedGone);
      } else {
        Refused(head.status());
        Set(i, Outcome::kFailed, head.status());
      }
      return false;
    }
    if (head->digest != d.digest) {
      Set(i, Outcome::kSkippedMoved);
      return false;
    }
    return true;
  }
};

std::string UniqueToken() {
  static std::atomic<uint64_t> counter{0};
  std::random_device rd;
  return std::to_string(std::chrono::system_clock::now().time_since_epoch().count()) + "-" +
         std::to_string(rd()) + "-" + std::to_string(counter++);
}

void DeleteGroup(Run& run, const std::vector<size_t>& tags) {
  std::vector<size_t> present;
  for (size_t i : tags) {
    if (run.StopIfRefused(i)) continue;
    if (run.StillThere(i)) present.push_back(i);
  }
  if (present.empty()) return;
  const TagDecision& first = run.plan.decisions[present.front()];
  if (run.refused) {
    for (size_t i : present) run.StopIfRefused(i);
    return;
  }
  // Any tag outside the group now on this digest would go with the DELETE: skip the whole group.
  const RepositoryTags& current = run.TagsOf(first.repository);
  if (!current.status.ok()) {
    run.Refused(current.status);
    for (size_t i : present) run.Set(i, Outcome::kFailed, current.status);
    return;
  }
  if (auto on_digest = current.tags_by_digest.find(first.digest); on_digest != current.tags_by_digest.end()) {
    std::set<std::string> planned;
    for (size_t i : tags) planned.insert(run.plan.decisions[i].tag);
    for (const std::string& tag : on_digest->second) {
      if (planned.count(tag)) continue;
      for (size_t i : present) run.Set(i, Outcome::kSkippedMoved);
      return;
    }
  }
  Status deleted = run.client.DeleteManifest(first.repository, first.digest);
  if (!deleted.ok() && !deleted.IsNotFound()) {
    run.Refused(deleted);
    for (size_t i : present) run.Set(i, Outcome::kFailed, deleted);
    return;
  }
  for (size_t i : present) run.Set(i, Outcome::kDeleted);
  std::lock_guard<std::mutex> lock(run.mu);
  if (deleted.ok()) ++run.result.manifests_deleted;
}

void Untag(Run& run, size_t i) {
  if (run.StopIfRefused(i)) return;
  const TagDecision& d = run.plan.decisions[i];
  // The original bytes, to put the tag back should the throwaway not be deletable.
  Result<Manifest> original = run.client.GetManifest(d.repository, d.digest);
  if (!original.ok()) {
    run.Refused(original.status());
    return run.Set(i, Outcome::kFailed, original.status());
  }
  if (!run.StillThere(i)) return;
  json throwaway = {{"schemaVersion", 2},
                    {"mediaType", kOciIndex},
                    {"manifests", json::array()},
                    {"annotations", {{"capstan.io/untag", d.repository + ":" + d.tag + " " + UniqueToken()}}}};
  Result<std::string> placeholder = run.client.PutManifest(d.repository, d.tag, kOciIndex, throwaway.dump());
  if (!placeholder.ok()) {
    run.Refused(placeholder.status());
    return run.Set(i, Outcome::kFailed, placeholder.status());
  }
  Status deleted = run.client.DeleteManifest(d.repository, *placeholder);
  if (deleted.ok()) return run.Set(i, Outcome::kUntagged);
  run.Refused(deleted);
  Result<std::string> restored = run.client.PutManifest(d.repository, d.tag, original->ref.media_type, original->body);
  Status reported = deleted;
  if (!restored.ok()) {
    reported = Status(deleted.code(), deleted.message() + "; putting the tag back failed too (it points at a throwaway "
                                          "manifest): " + restored.status().message());
  }
  run.Set(i, Outcome::kFailed, reported);
}

}  // namespace

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kKept: return "kept";
    case Outcome::kDeleted: return "deleted";
    case Outcome::kUntagged: return "untagged";
    case Outcome::kSkippedMoved: return "skipped-moved";
    case Outcome::kSkippedGone: return "skipped-gone";
    case Outcome::kFailed: return "failed";
    case Outcome::kNotAttempted: return "not-attempted";
  }
  return "kept";
}

ExecutionResult ExecutePlan(RegistryClient& client, const Plan& plan, const ExecuteOptions& options) {
  Run run{client, plan, {}, {}, {}, {}, {}};
  run.result.results.resize(plan.decisions.size());
  for (const TagDecision& d : plan.decisions) {
    if (d.action == Action::kDeleteManifest && !run.repository_tags.count(d.repository)) {
      run.repository_tags.emplace(d.repository, std::make_unique<RepositoryTags>());
    }
  }
  // One unit of work per manifest to delete (all its tags) and per tag to untag.
  std::map<std::pair<std::string, std::string>, std::vector<size_t>> groups;
  std::vector<std::vector<size_t>> units;
  std::vector<bool> is_untag;
  for (size_t i = 0; i < plan.decisions.size(); ++i) {
    const TagDecision& d = plan.decisions[i];
    if (d.action == Action::kDeleteManifest) groups[{d.repository, d.digest}].push_back(i);
    if (d.action == Action::kUntag) {
      units.push_back({i});
      is_untag.push_back(true);
    }
  }
  for (auto& [key, tags] : groups) {
    units.push_back(std::move(tags));
    is_untag.push_back(false);
  }
  Status workers = ParallelFor(units.size(), options.concurrency, [&](size_t u) {
    if (is_untag[u]) Untag(run, units[u].front());
    else DeleteGroup(run, units[u]);
  });
  if (!workers.ok()) {
    // Removals a failed worker left without an outcome: reported failed, never as kept.
    for (size_t i = 0; i < plan.decisions.size(); ++i) {
      if (plan.decisions[i].action != Action::kKeep && run.result.results[i].outcome == Outcome::kKept) {
        run.Set(i, Outcome::kFailed, workers);
      }
    }
  }
  for (const TagResult& r : run.result.results) {
    switch (r.outcome) {
      case Outcome::kDeleted: ++run.result.deleted; break;
      case Outcome::kUntagged: ++run.result.untagged; break;
      case Outcome::kSkippedMoved:
      case Outcome::kSkippedGone: ++run.result.skipped; break;
      case Outcome::kFailed:
      case Outcome::kNotAttempted: ++run.result.failed; break;
      case Outcome::kKept: break;
    }
  }
  return std::move(run.result);
}

}  // namespace capstan::registry
