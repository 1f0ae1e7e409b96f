// coordination.k8s.io/v1 Lease (namespaced): a lock with a holder and an expiry, used for leader
// election (compare-and-swap on metadata.resourceVersion) and node heartbeats (one Lease per node
// in kube-node-lease).
//
// Validation as Kubernetes' ValidateLease: leaseDurationSeconds > 0 and leaseTransitions ≥ 0 when
// set. acquireTime and renewTime are metav1.MicroTime, which Kubernetes decodes with the layout
// 2006-01-02T15:04:05.000000Z07:00: exactly six fractional digits (Kubernetes answers 400 at
// decoding; Capstan answers 422 with the field's path). No defaults, no status, no generation.
// The CoordinatedLeaderElection fields (strategy, preferredHolder; Kubernetes 1.31+, behind a
// feature gate) are not supported.
#include "api/kind.h"
#include "api/kinds/kinds.h"
#include "api/kinds/meta.h"
#include "api/kinds/printing.h"
#include "api/kinds/validation.h"

namespace capstan::api::kinds {
namespace {

using namespace s;  // NOLINT: schema builders read as a DSL

SchemaPtr LeaseSchema() {
  auto spec = Object(
      "io.k8s.api.coordination.v1.LeaseSpec",
      {F("holderIdentity", String("The identity of the holder of a current lease.")),
       F("leaseDurationSeconds", Int32("Duration that candidates for a lease need to wait to force acquire it, "
                                       "measured against the time of the last observed renewTime.")),
       F("acquireTime", Time("When the current lease was acquired (MicroTime: 2006-01-02T15:04:05.000000Z).")),
       F("renewTime", Time("When the current holder last updated the lease (MicroTime: 2006-01-02T15:04:05.000000Z).")),
       F("leaseTransitions", Int32("The number of transitions of a lease between holders."))},
      "LeaseSpec is a specification of a Lease.");
  return KindSchema("io.k8s.api.coordination.v1.Lease", {F("spec", spec)}, "Lease defines a lease concept.");
}

// metav1.MicroTime's JSON form: RFC 3339 with exactly six fractional digits, "Z" or an offset.
bool IsMicroTime(const std::string& v) {
  if (!ParseRfc3339(v)) return false;  // also checks the ranges of the date and time parts
  if (v.size() < 27 || v[19] != '.') return false;
  for (size_t i = 20; i < 26; ++i) {
    if (v[i] < '0' || v[i] > '9') return false;
  }
  return v[26] == 'Z' || v[26] == '+' || v[26] == '-';
}

void Validate(const json& obj, const json* /*old*/, FieldErrors* errors) {
  ValidateMetadataOf(obj, /*namespaced=*/true, errors);
  const json* spec = Get(obj, "spec");
  if (spec == nullptr) return;
  if (const json* d = Get(*spec, "leaseDurationSeconds"); d != nullptr && d->is_number() && d->get<double>() <= 0) {
    AddInvalid(errors, "spec.leaseDurationSeconds", *d, "must be greater than 0");
  }
  CheckNonNegative(*spec, "leaseTransitions", "spec", errors);
  for (const char* field : {"acquireTime", "renewTime"}) {
    const json* t = Get(*spec, field);
    if (t != nullptr && t->is_string() && !IsMicroTime(t->get<std::string>())) {
      AddInvalid(errors, Child("spec", field), *t,
                 "must be a MicroTime: an RFC 3339 time with exactly six fractional digits "
                 "(2006-01-02T15:04:05.000000Z07:00)");
    }
  }
}

}  // namespace

void RegisterLease() {
  KindInfo k;
  k.group = "coordination.k8s.io";
  k.version = "v1";
  k.kind = "Lease";
  k.plural = "leases";
  k.singular = "lease";
  k.schema = LeaseSchema();
  k.validate = Validate;
  k.columns = {PrinterColumn{"Holder", "string", "", 0, "The identity of the holder of a current lease.",
                             [](const json& o) -> json {
                               const json* spec = Get(o, "spec");
                               return spec != nullptr ? GetString(*spec, "holderIdentity") : "";
                             }}};
  RegisterKind(std::move(k));
}

}  // namespace capstan::api::kinds
