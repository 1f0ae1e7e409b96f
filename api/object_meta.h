// Object helpers shared by the API's services: store keys, resourceVersion injection, and the
// metadata the server owns (uid, creationTimestamp, generation).
//
// Invariant: values in the store never contain metadata.resourceVersion; it is the store's
// mod_revision and is injected when an object is read (as Kubernetes' etcd3 storage does), so a
// value never disagrees with its revision.
#pragma once

#include <chrono>
#include <string>

#include "api/kind.h"
#include "store/store.h"

namespace capstan::api {

// "/registry/deployments.apps/default/web"; cluster-scoped: "/registry/namespaces/default".
std::string StoreKey(const KindInfo& kind, const std::string& ns, const std::string& name);
// The prefix of a kind in one namespace (or all namespaces when `ns` is empty), ending in '/'.
std::string StorePrefix(const KindInfo& kind, const std::string& ns);

// Decodes a stored value and sets metadata.resourceVersion to `revision`.
Result<json> DecodeStored(const std::string& value, int64_t revision);
// The stored form: compact JSON without metadata.resourceVersion.
std::string EncodeForStore(const json& obj);
// The stored text with "resourceVersion" spliced into its top-level metadata without parsing the
// whole object (a LIST of 10,000 objects then costs a scan and a copy per object, not a parse
// and a serialization). Empty when the text has no top-level metadata object (callers decode).
std::string EncodedWithResourceVersion(const std::string& stored, int64_t revision);

std::string NowRfc3339(std::chrono::seconds offset = std::chrono::seconds(0));
std::string NewUid();
// Kubernetes' generateName suffix: 5 characters from a consonant/digit alphabet.
std::string RandomNameSuffix();

// Returns obj["metadata"][field] as a string, or "" when absent or not a string.
std::string MetaString(const json& obj, const char* field);
int64_t ParseResourceVersion(const std::string& rv);  // -1 when malformed; 0 for ""

}  // namespace capstan::api
