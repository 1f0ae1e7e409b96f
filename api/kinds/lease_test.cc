#include <gtest/gtest.h>

#include "api/kinds/kinds_test_util.h"
#include "api/kinds/printing.h"

namespace capstan::api::kinds {
namespace {

using namespace testing;  // NOLINT

// A node heartbeat, as a node agent writes it into kube-node-lease.
json SampleLease() {
  return Yaml(R"(
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata:
  name: worker-2
  namespace: kube-node-lease
spec:
  holderIdentity: worker-2
  leaseDurationSeconds: 40
  acquireTime: "2026-11-23T10:00:00.000000Z"
  renewTime: "2026-11-23T10:00:10.123456Z"
  leaseTransitions: 0
)");
}

TEST(LeaseTest, Registration) {
  const KindInfo& k = Kind("leases");
  EXPECT_EQ(k.group, "coordination.k8s.io");
  EXPECT_EQ(k.api_version(), "coordination.k8s.io/v1");
  EXPECT_EQ(k.resource_name(), "leases.coordination.k8s.io");
  EXPECT_EQ(&Kind("lease"), &k);
  EXPECT_EQ(&Kind("leases.coordination.k8s.io"), &k);
  EXPECT_TRUE(k.namespaced);
  EXPECT_FALSE(k.status_subresource);
  EXPECT_FALSE(k.has_generation);
  EXPECT_TRUE(k.short_names.empty());  // Kubernetes has none
  EXPECT_EQ(k.schema->ref_name, "io.k8s.api.coordination.v1.Lease");
  EXPECT_EQ(ColumnNames(k, 1), std::vector<std::string>{"Holder"});  // AGE is appended by the table
  EXPECT_EQ(FindKindByKind("coordination.k8s.io/v1", "Lease"), &k);
}

TEST(LeaseTest, StrictRejectsUnknownAndMistypedWithPath) {
  const KindInfo& k = Kind("leases");
  json l = SampleLease();
  l["spec"]["holder"] = "x";
  auto errs = Strict(k, l);
  ASSERT_EQ(errs.size(), 1u) << Dump(errs);
  EXPECT_EQ(errs[0].field, "spec.holder");
  EXPECT_EQ(errs[0].type, "FieldValueUnknown");
  l = SampleLease();
  l["spec"]["leaseDurationSeconds"] = "40";
  l["spec"]["renewTime"] = "yesterday";
  l["status"] = json::object();  // a Lease has no status
  errs = Strict(k, l);
  EXPECT_TRUE(Has(errs, "spec.leaseDurationSeconds", "FieldValueTypeInvalid")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "spec.renewTime", "FieldValueInvalid", "RFC 3339")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "status", "FieldValueUnknown")) << Dump(errs);
  l = SampleLease();
  l["spec"]["leaseTransitions"] = 3000000000LL;
  errs = Strict(k, l);
  EXPECT_TRUE(Has(errs, "spec.leaseTransitions", "FieldValueInvalid", "int32")) << Dump(errs);
}

TEST(LeaseTest, ValidCreateHasNoDefaults) {
  const KindInfo& k = Kind("leases");
  json l = SampleLease();
  const json before = l;
  auto errs = Create(k, &l);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
  EXPECT_EQ(l, before);
  // An empty spec (a lock nobody holds yet) is valid.
  json empty = {{"metadata", {{"name", "capstan-controller-manager"}, {"namespace", "kube-system"}}},
                {"spec", json::object()}};
  errs = Create(k, &empty);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
}

TEST(LeaseTest, MetadataIsNamespacedSubdomain) {
  json l = SampleLease();
  l["metadata"].erase("namespace");
  l["metadata"]["name"] = "Worker_2";
  auto errs = Create(Kind("leases"), &l);
  EXPECT_TRUE(Has(errs, "metadata.namespace", "FieldValueRequired")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "metadata.name", "FieldValueInvalid", "RFC 1123 subdomain")) << Dump(errs);
}

TEST(LeaseTest, DurationAndTransitions) {
  const KindInfo& k = Kind("leases");
  for (int bad : {0, -15}) {
    json l = SampleLease();
    l["spec"]["leaseDurationSeconds"] = bad;
    auto errs = Create(k, &l);
    EXPECT_TRUE(Has(errs, "spec.leaseDurationSeconds", "FieldValueInvalid", "must be greater than 0")) << Dump(errs);
    EXPECT_EQ(errs.size(), 1u) << Dump(errs);
  }
  json l = SampleLease();
  l["spec"]["leaseTransitions"] = -1;
  auto errs = Create(k, &l);
  EXPECT_TRUE(Has(errs, "spec.leaseTransitions", "FieldValueInvalid", "must be greater than or equal to 0"))
      << Dump(errs);
  l["spec"]["leaseTransitions"] = 7;
  l["spec"]["leaseDurationSeconds"] = 1;
  errs = Create(k, &l);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
}

TEST(LeaseTest, TimesAreMicroTimes) {
  const KindInfo& k = Kind("leases");
  for (const char* good : {"2026-11-23T10:00:00.123456Z", "2026-11-23T10:00:00.000000+02:00",
                           "2026-02-28T23:59:59.999999-05:30"}) {
    json l = SampleLease();
    l["spec"]["renewTime"] = good;
    l["spec"]["acquireTime"] = good;
    auto errs = Create(k, &l);
    EXPECT_TRUE(errs.empty()) << good << Dump(errs);
  }
  // Kubernetes parses MicroTime with the layout 2006-01-02T15:04:05.000000Z07:00.
  for (const char* bad : {"2026-11-23T10:00:00Z", "2026-11-23T10:00:00.123Z", "2026-11-23T10:00:00.1234567Z",
                          "2026-13-23T10:00:00.123456Z", "2026-11-23T25:00:00.123456Z"}) {
    json l = SampleLease();
    l["spec"]["renewTime"] = bad;
    FieldErrors errs = Create(k, &l);  // RFC 3339 enough for the schema; refused by validation
    EXPECT_TRUE(Has(errs, "spec.renewTime", "FieldValueInvalid", "MicroTime")) << bad << Dump(errs);
    EXPECT_EQ(errs.size(), 1u) << bad << Dump(errs);
  }
  json l = SampleLease();
  l["spec"]["acquireTime"] = "2026-11-23T10:00:00Z";
  auto errs = Create(k, &l);
  EXPECT_TRUE(Has(errs, "spec.acquireTime", "FieldValueInvalid",
                  "Invalid value: \"2026-11-23T10:00:00Z\": must be a MicroTime"))
      << Dump(errs);
}

TEST(LeaseTest, HolderColumn) {
  const KindInfo& k = Kind("leases");
  json l = SampleLease();
  EXPECT_EQ(Cell(k, "Holder", l), "worker-2");
  l["spec"].erase("holderIdentity");
  EXPECT_EQ(Cell(k, "Holder", l), "");
  l.erase("spec");
  EXPECT_EQ(Cell(k, "Holder", l), "");
}

}  // namespace
}  // namespace capstan::api::kinds
