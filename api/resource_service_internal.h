// Helpers shared by the files that implement ResourceService. Not part of its contract.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>

#include "api/admission.h"
#include "api/kind.h"
#include "api/resource_service.h"
#include "api/schema.h"
#include "base/status.h"

namespace capstan::api {

Status NotFoundError(const KindInfo& kind, const std::string& name);
Status ConflictError(const KindInfo& kind, const std::string& name);
bool HasFinalizers(const json& obj);
// 422 Invalid for `name` of `kind` with one cause per error.
Status Invalid(const KindInfo& kind, const std::string& name, const FieldErrors& errors);
// The body must be an object naming this kind (or leaving apiVersion/kind out: they are filled
// in); ensures metadata is an object.
Status CheckTypeMeta(const KindInfo& kind, json& obj);
// ApplyJsonPatch with Kubernetes' status codes: 422 when the patch cannot be applied (a failed
// "test" included), 413 beyond 10,000 operations.
Result<json> ApplyJsonPatchAsKubernetes(const json& document, const json& patch);

// Whether `a` and `b` have the same members apart from those named in `skip`; non-objects are
// compared whole. Walks both in key order without copying (every update compares the whole
// object twice: for a spec change and for a no-op).
bool SameMembersExcept(const json& a, const json& b, std::initializer_list<std::string_view> skip);

// Where claims live in the store (admission.h): outside /registry/, so no kind's prefix, watch or
// list ever sees them.
inline constexpr char kClaimPrefix[] = "/capstan/claims/";

// A claim's stored value: who holds it.
std::string ClaimValue(const std::string& holder_key, const std::string& holder_uid);

// An ObjectReader over a ResourceService (admission plugins' view of the store).
class StoreObjectReader : public ObjectReader {
 public:
  explicit StoreObjectReader(ResourceService* service) : service_(service) {}
  Result<json> Get(const KindInfo& kind, const std::string& ns, const std::string& name) override;
  Result<std::vector<json>> List(const KindInfo& kind, const std::string& ns) override;

 private:
  ResourceService* service_;
};

}  // namespace capstan::api
