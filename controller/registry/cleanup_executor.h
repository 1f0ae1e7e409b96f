// ExecutePlan: carries out a retention plan's removals against the registry, on at most
// `concurrency` threads.
//
//  - Every tag to remove is HEADed just before acting; a tag that no longer points at the
//    planned digest is skipped ("moved"), one that is gone counts as skipped ("gone").
//  - delete-manifest: one DELETE /v2/<repo>/manifests/<digest> per repository and digest, sent
//    only when at least one of its planned tags still points at it (the registry removes every
//    tag still on that digest with it). Before a repository's first DELETE its tags are listed
//    and HEADed once; a group whose digest now also carries a tag outside the group (pushed or
//    moved there since planning) is skipped as "moved" rather than taking that tag with it.
//    The remaining window: a tag put on the digest after that snapshot and before the DELETE.
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
