// The field-number table against the kinds' schemas: every message reachable from a built-in kind
// has a table, every schema field a number, and every number a schema field.
#include "api/protobuf/field_numbers.h"

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "api/kind.h"

namespace capstan::api::protobuf {
namespace {

// Collects the object schemas reachable from `s`, by ref_name.
void Collect(const Schema& s, std::map<std::string, const Schema*>* out) {
  if (s.type == Type::kArray && s.items) return Collect(*s.items, out);
  if (s.type == Type::kMap && s.values) return Collect(*s.values, out);
  if (s.type != Type::kObject || !out->emplace(s.ref_name, &s).second) return;
  for (const auto& f : s.fields) Collect(*f.schema, out);
}

TEST(FieldNumbersTest, CoversEveryMessageOfTheBuiltinKinds) {
  RegisterBuiltinKinds();
  std::map<std::string, const Schema*> schemas;
  std::set<std::string> kinds;
  for (const KindInfo* k : AllKinds()) {
    // Capstan's own groups, like CRDs in Kubernetes, are JSON only: no protobuf messages exist.
    if (k->group.ends_with(".capstan.io")) continue;
    Collect(*k->schema, &schemas);
    kinds.insert(k->schema->ref_name);
  }
  ASSERT_GE(schemas.size(), 70u);
  for (const auto& [ref, schema] : schemas) {
    const ProtoMessage* m = FindProtoMessage(ref);
    ASSERT_NE(m, nullptr) << "no field numbers for " << ref;
    // Names of the fields the table covers, with inlined messages expanded.
    std::set<std::string> covered;
    std::set<int> numbers;
    for (const auto& f : m->fields) {
      EXPECT_TRUE(numbers.insert(f.number).second) << ref << " repeats number " << f.number;
      if (f.flags & kInline) {
        const ProtoMessage* inner = FindProtoMessage(f.name);
        ASSERT_NE(inner, nullptr) << f.name;
        for (const auto& g : inner->fields) covered.insert(g.name);
      } else {
        covered.insert(f.name);
      }
    }
    for (const auto& name : covered) EXPECT_NE(schema->FindField(name), nullptr) << ref << "." << name;
    for (const auto& f : schema->fields) {
      if (kinds.count(ref) && (f.name == "apiVersion" || f.name == "kind")) continue;  // from the envelope
      EXPECT_TRUE(covered.count(f.name)) << ref << "." << f.name << " has no field number";
    }
  }
}

TEST(FieldNumbersTest, SpotChecks) {
  // A few numbers checked by hand against k8s.io/api and k8s.io/apimachinery generated.proto.
  auto number = [](const char* ref, const char* field) {
    const ProtoMessage* m = FindProtoMessage(ref);
    if (m == nullptr) return -1;
    for (const auto& f : m->fields) {
      if (f.name == field) return f.number;
    }
    return -1;
  };
  EXPECT_EQ(number("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "labels"), 11);
  EXPECT_EQ(number("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta", "managedFields"), 17);
  EXPECT_EQ(number("io.k8s.api.core.v1.Secret", "type"), 3);
  EXPECT_EQ(number("io.k8s.api.core.v1.Secret", "stringData"), 4);
  EXPECT_EQ(number("io.k8s.api.core.v1.Container", "terminationMessagePolicy"), 20);
  EXPECT_EQ(number("io.k8s.api.core.v1.PodSpec", "containers"), 2);
  EXPECT_EQ(number("io.k8s.api.apps.v1.DeploymentSpec", "progressDeadlineSeconds"), 9);
  EXPECT_EQ(number("io.k8s.api.core.v1.Event", "eventTime"), 10);
}

}  // namespace
}  // namespace capstan::api::protobuf
