// Admission plugins: checks and server-assigned fields that need more than the object itself
// (server settings, other stored objects), run by ResourceService after a kind's defaults and
// validate(), on every create, update, patch and /status write (dry runs included).
//
// Uniqueness across objects (one Service per listener address:port) is enforced with claims: a
// plugin names the keys an object holds once stored, and ResourceService writes each claim
// (/capstan/claims/<key> -> {holder key, uid}) in the SAME store transaction as the object, with a
// precondition on the claim's revision. Two writers racing for one key therefore cannot both
// commit: the loser's transaction fails (an update is retried and then sees the winner: 422; a
// create answers 409 Conflict, "try again"). A claim outlives its holder's deletion or change
// (nothing removes it), but it is only honoured while its holder exists with the same uid and
// still claims the key; otherwise the next claimant takes it over (again under a precondition).
//
// Thread-safety: plugins are added before serving and called concurrently afterwards.
#pragma once

#include <string>
#include <vector>

#include "api/kind.h"
#include "base/status.h"

namespace capstan::api {

// Read-only access to stored objects for admission.
class ObjectReader {
 public:
  virtual ~ObjectReader() = default;
  // kNotFound when absent.
  virtual Result<json> Get(const KindInfo& kind, const std::string& ns, const std::string& name) = 0;
  // Every object of `kind` (all namespaces when ns is empty).
  virtual Result<std::vector<json>> List(const KindInfo& kind, const std::string& ns) = 0;
};

// A key only one object may hold at a time.
struct Claim {
  std::string key;     // "listener/127.0.0.1:80"
  std::string field;   // named in the 422 when taken: "spec.ports[0].port"
  json value;          // the value named in the 422: 80
  std::string detail;  // "127.0.0.1:80 is already used by" (the holder's namespace/name follows)
};

class AdmissionPlugin {
 public:
  virtual ~AdmissionPlugin() = default;
  virtual bool Handles(const KindInfo& kind) const = 0;
  // Called after kind.defaults and kind.validate passed; may set server-assigned fields in `obj`
  // and append errors (ResourceService answers 422 with them). `old` is null on create.
  virtual void Admit(const KindInfo& kind, json& obj, const json* old, ObjectReader& reader,
                     FieldErrors* errors) = 0;
  // The claims `obj` (admitted) holds. Must be a function of the object alone, since it is also
  // asked about the current holder of a claim to tell whether the claim is still held.
  virtual std::vector<Claim> Claims(const KindInfo& kind, const json& obj) const = 0;
};

}  // namespace capstan::api
