// ExecutePlan: carries out a retention plan's removals against the registry, repository by
// repository (several side by side), on at most `concurrency` threads in all.
//
//  - Just before a repository's removals its tags are listed again and every tag is HEADed (one
//    snapshot per repository and run). Against it:
//      * a tag to remove that no longer points at the planned digest is skipped ("moved"), one
//        that is gone counts as skipped ("gone"): the re-HEAD before acting;
//      * a digest that now also carries a tag outside its planned group (pushed or moved there
//        since planning) is not deleted, its planned tags are "moved": a DELETE by digest would
//        take that tag with it.
//    The snapshot is the re-check of both: one HEAD per tag serves as the moved check of the tags
//    to remove and as the shared-digest check of all, so each tag is HEADed once per run, not
//    once per check. The remaining window: a tag moved or put on the digest after the snapshot
//    and before the DELETE, i.e. during this repository's own removals (the registry offers no
//    conditional delete to close it).
//  - delete-manifest: one DELETE /v2/<repo>/manifests/<digest> per repository and digest (the
//    registry removes every tag on it).
//  - untag (distribution 2.8 cannot delete a tag): the tag is pointed at a unique throwaway
//    manifest (an empty OCI index carrying a capstan.io/untag annotation) and that manifest is
//    deleted by digest. Should the delete fail, the tag is put back on its original manifest,
//    so that a failure never leaves a tag on the throwaway.
//  - The first 405 (deletion disabled or read-only) or kUnavailable (the registry unreachable
//    after the client's retries) stops further removals: they are reported as not attempted
//    rather than failing one by one (an unreachable registry would cost each of them seconds of
//    retries).
//
// Thread-safety: stateless; uses `client` from several threads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "controller/registry/registry_client.h"
#include "controller/registry/retention_planner.h"

namespace capstan::registry {

enum class Outcome { kKept, kDeleted, kUntagged, kSkippedMoved, kSkippedGone, kFailed, kNotAttempted };
const char* OutcomeName(Outcome outcome);  // "kept", "deleted", "untagged", "skipped-moved", ...

struct TagResult {
  Outcome outcome = Outcome::kKept;
  std::string error;  // kFailed / kNotAttempted: why
};

struct ExecutionResult {
  std::vector<TagResult> results;  // parallel to plan.decisions
  int64_t deleted = 0;             // tags removed by deleting their manifest
  int64_t manifests_deleted = 0;   // DELETE requests that succeeded
  int64_t untagged = 0;
  int64_t skipped = 0;             // moved or gone since planning
  int64_t failed = 0;              // failed or not attempted
  Status first_error;              // OK when nothing failed
};

struct ExecuteOptions {
  int concurrency = 8;
};

ExecutionResult ExecutePlan(RegistryClient& client, const Plan& plan, const ExecuteOptions& options = {});

}  // namespace capstan::registry
