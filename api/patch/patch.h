// Patches as Kubernetes applies them: JSON Patch (RFC 6902), JSON Merge Patch (RFC 7386) and
// strategic merge patch (lists of objects merged by their merge key, directives $patch,
// $retainKeys, $deleteFromPrimitiveList/..., $setElementOrder/...), plus the three-way patch
// `capstan apply` computes.
//
// Thread-safety: stateless functions. None of them throws.
#pragma once

#include <string>

#include "api/schema.h"
#include "base/status.h"

namespace capstan::api {

// RFC 6902. `patch` must be an array of operations; a failing "test" is kConflict
// (Kubernetes answers 422 for other failures: kInvalid, naming the operation index).
Result<json> ApplyJsonPatch(const json& document, const json& patch);

// RFC 7386: objects merge recursively, null deletes, anything else replaces.
json ApplyMergePatch(const json& document, const json& patch);

// Strategic merge patch guided by `schema` (the whole object's schema; nullptr or kAny parts fall
// back to merge-patch semantics, which is what Kubernetes does for unstructured data).
// Lists whose schema has a merge_key merge by that key; lists with patch_strategy "merge" of
// primitives are unions; every other list is replaced. kBadRequest for malformed directives.
Result<json> ApplyStrategicMergePatch(const json& document, const json& patch, const Schema* schema);

// The merge patch that turns `current` into what the user now declares (`modified`), given what
// they declared last time (`original`, the last-applied configuration; null the first time):
//   * fields in `original` but not in `modified` are deleted (null),
//   * fields in `modified` whose value is not already contained in `current` are set.
// "Contained" means: equal scalars; objects whose every key in `modified` is contained in
// `current`'s value; lists of the same length contained element by element. So fields that the
// server defaulted or a controller filled in are not differences. Returns an empty object when
// nothing changes. Lists are sent whole (merge patch semantics).
json CreateThreeWayMergePatch(const json& original, const json& modified, const json& current);

// True when `part` is contained in `whole` in the sense above.
bool JsonContains(const json& whole, const json& part);

}  // namespace capstan::api
