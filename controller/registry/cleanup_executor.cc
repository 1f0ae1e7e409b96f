#include "controller/registry/cleanup_executor.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "controller/registry/parallel.h"

namespace capstan::registry {
namespace {

// A repository's tags as read again just before its removals: which digest each tag points at
// now. Both checks before a DELETE by digest use it: a planned tag that moved or went since
// planning is skipped, and a digest that now also carries a tag outside its planned group (pushed
// or moved there since planning) is not deleted, since the DELETE would take that tag with it.
struct RepositorySnapshot {
  std::map<std::string, std::string> digest_of_tag;           // tags that exist now
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

// Lists `repository`'s tags and HEADs each (on `concurrency` threads): the snapshot its removals
// are checked against. A tag listed but gone by its HEAD is left out.
Result<RepositorySnapshot> TakeSnapshot(RegistryClient& client, const std::string& repository, int concurrency) {
  RepositorySnapshot snapshot;
  Result<std::vector<std::string>> tags = client.Tags(repository);
  if (!tags.ok()) {
    if (tags.status().IsNotFound()) return snapshot;  // the repository has no tags left
    return tags.status().Annotate("re-listing tags");
  }
  std::vector<std::string> digests(tags->size());
  std::mutex mu;
  Status failed;  // guarded by mu
  Status heads = ParallelFor(tags->size(), concurrency, [&](size_t t) {
    Result<ManifestRef> head = client.HeadManifest(repository, (*tags)[t]);
    if (head.ok()) {
      digests[t] = head->digest;
    } else if (!head.status().IsNotFound()) {
      std::lock_guard<std::mutex> lock(mu);
      if (failed.ok()) failed = head.status().Annotate("re-reading tag " + (*tags)[t]);
    }
  });
  if (!heads.ok()) return heads;
  if (!failed.ok()) return failed;
  for (size_t t = 0; t < tags->size(); ++t) {
    if (digests[t].empty()) continue;
    snapshot.digest_of_tag[(*tags)[t]] = digests[t];
    snapshot.tags_by_digest[digests[t]].insert((*tags)[t]);
  }
  return snapshot;
}

void DeleteGroup(Run& run, const std::vector<size_t>& tags, const RepositorySnapshot& current) {
  std::vector<size_t> present;
  for (size_t i : tags) {
    if (run.StopIfRefused(i)) continue;
    const TagDecision& d = run.plan.decisions[i];
    auto now = current.digest_of_tag.find(d.tag);
    if (now == current.digest_of_tag.end()) {
      run.Set(i, Outcome::kSkippedGone);
    } else if (now->second != d.digest) {
      run.Set(i, Outcome::kSkippedMoved);
    } else {
      present.push_back(i);
    }
  }
  if (present.empty()) return;
  const TagDecision& first = run.plan.decisions[present.front()];
  // Any tag outside the group now on this digest would go with the DELETE: skip the whole group.
  if (auto on_digest = current.tags_by_digest.find(first.digest); on_digest != current.tags_by_digest.end()) {
    std::set<std::string> planned;
    for (size_t i : tags) planned.insert(run.plan.decisions[i].tag);
    for (const std::string& tag : on_digest->second) {
      if (planned.count(tag)) continue;
      for (size_t i : present) run.Set(i, Outcome::kSkippedMoved);
      return;
    }
  }
  if (run.refused) {
    for (size_t i : present) run.StopIfRefused(i);
    return;
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

// One repository's removals: manifests to delete (grouped by digest) and tags to untag.
struct RepositoryWork {
  std::string repository;
  std::vector<std::vector<size_t>> delete_groups;  // plan indices, one group per digest
  std::vector<size_t> untags;
};

// The snapshot, then the deletes checked against it, then the untags (which delete only their
// own throwaway manifests and HEAD their tag themselves). Inner loops use `concurrency` threads.
void ExecuteRepository(Run& run, const RepositoryWork& work, int concurrency) {
  if (!work.delete_groups.empty()) {
    if (run.refused) {
      for (const std::vector<size_t>& group : work.delete_groups) {
        for (size_t i : group) run.StopIfRefused(i);
      }
    } else if (Result<RepositorySnapshot> snapshot = TakeSnapshot(run.client, work.repository, concurrency);
               !snapshot.ok()) {
      // Nothing is deleted here. A refusal or an unavailable registry (retried by the client
      // already) fails the first removal and leaves the others not attempted, as a DELETE would.
      bool refusal = run.Refused(snapshot.status());
      bool first = true;
      for (const std::vector<size_t>& group : work.delete_groups) {
        for (size_t i : group) {
          if (refusal && !first && run.StopIfRefused(i)) continue;
          run.Set(i, Outcome::kFailed, snapshot.status());
          first = false;
        }
      }
    } else {
      Status deletes = ParallelFor(work.delete_groups.size(), concurrency,
                                   [&](size_t g) { DeleteGroup(run, work.delete_groups[g], *snapshot); });
      if (!deletes.ok()) throw std::runtime_error(deletes.message());
    }
  }
  Status untags = ParallelFor(work.untags.size(), concurrency, [&](size_t u) { Untag(run, work.untags[u]); });
  if (!untags.ok()) throw std::runtime_error(untags.message());
}

ExecutionResult ExecutePlan(RegistryClient& client, const Plan& plan, const ExecuteOptions& options) {
  Run run{client, plan, {}, {}, {}, {}};
  run.result.results.resize(plan.decisions.size());
  // Repositories in plan order; within each, one group per digest to delete (all its tags).
  std::vector<RepositoryWork> works;
  std::map<std::string, size_t> work_of;
  std::map<std::pair<std::string, std::string>, size_t> group_of;
  for (size_t i = 0; i < plan.decisions.size(); ++i) {
    const TagDecision& d = plan.decisions[i];
    if (d.action == Action::kKeep) continue;
    auto [it, added] = work_of.emplace(d.repository, works.size());
    if (added) works.push_back({d.repository, {}, {}});
    RepositoryWork& work = works[it->second];
    if (d.action == Action::kUntag) {
      work.untags.push_back(i);
      continue;
    }
    auto [g, new_group] = group_of.emplace(std::make_pair(d.repository, d.digest), work.delete_groups.size());
    if (new_group) work.delete_groups.emplace_back();
    work.delete_groups[g->second].push_back(i);
  }
  // Repositories run side by side, each on its share of the threads (a single large repository
  // gets them all).
  int concurrency = std::max(1, options.concurrency);
  int outer = std::max(1, std::min<int>(concurrency, static_cast<int>(works.size())));
  int inner = std::max(1, concurrency / outer);
  Status workers = ParallelFor(works.size(), outer, [&](size_t w) { ExecuteRepository(run, works[w], inner); });
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
