#include "controller/replicaset/object_util.h"

#include <gtest/gtest.h>

namespace capstan::controller::replicaset {
namespace {

json Pod() {
  return json::parse(R"({"metadata": {"name": "p", "resourceVersion": "5", "labels": {"app": "web"},
                          "ownerReferences": [{"uid": "u1", "controller": true}]},
                         "spec": {"nodeName": ""}, "status": {"phase": "Pending"}})");
}

TEST(StatusOnlyChangeTest, StatusAndResourceVersionAreStatusOnly) {
  json cur = Pod();
  cur["status"]["phase"] = "Running";
  cur["metadata"]["resourceVersion"] = "6";
  EXPECT_TRUE(StatusOnlyChange(Pod(), cur));
  EXPECT_TRUE(StatusOnlyChange(Pod(), Pod()));
}

TEST(StatusOnlyChangeTest, SpecOrMetadataThatControllersActOnIsNot) {
  auto changed = [](auto edit) {
    json cur = Pod();
    edit(cur);
    return StatusOnlyChange(Pod(), cur);
  };
  EXPECT_FALSE(changed([](json& p) { p["spec"]["nodeName"] = "n1"; }));
  EXPECT_FALSE(changed([](json& p) { p["metadata"]["labels"]["app"] = "db"; }));
  EXPECT_FALSE(changed([](json& p) { p["metadata"]["annotations"] = {{"a", "b"}}; }));
  EXPECT_FALSE(changed([](json& p) { p["metadata"]["ownerReferences"] = json::array(); }));
  EXPECT_FALSE(changed([](json& p) { p["metadata"]["finalizers"] = {"f"}; }));
  EXPECT_FALSE(changed([](json& p) { p["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"; }));
  EXPECT_FALSE(changed([](json& p) { p["metadata"]["generation"] = 2; }));
}

TEST(StatusOnlyChangeTest, ABindingWithOrWithoutStatusIsBatchableForTheOwner) {
  json bound = Pod();
  bound["spec"]["nodeName"] = "n1";
  bound["status"]["conditions"] = json::array({{{"type", "PodScheduled"}, {"status", "True"}}});
  EXPECT_TRUE(BindingOrStatusOnlyChange(Pod(), bound));
  json unset = Pod();
  unset["spec"].erase("nodeName");
  EXPECT_TRUE(BindingOrStatusOnlyChange(unset, bound));  // nodeName absent before
  json running = bound;
  running["status"]["phase"] = "Running";
  EXPECT_TRUE(BindingOrStatusOnlyChange(bound, running));
  EXPECT_TRUE(BindingOrStatusOnlyChange(Pod(), Pod()));

  // Anything else in the spec, or metadata the owner acts on, is not.
  json other = bound;
  other["spec"]["schedulerName"] = "x";
  EXPECT_FALSE(BindingOrStatusOnlyChange(Pod(), other));
  EXPECT_FALSE(BindingOrStatusOnlyChange(other, bound));
  json relabelled = bound;
  relabelled["metadata"]["labels"]["app"] = "db";
  EXPECT_FALSE(BindingOrStatusOnlyChange(Pod(), relabelled));
  json deleting = bound;
  deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  EXPECT_FALSE(BindingOrStatusOnlyChange(Pod(), deleting));
  json orphaned = bound;
  orphaned["metadata"]["ownerReferences"] = json::array();
  EXPECT_FALSE(BindingOrStatusOnlyChange(Pod(), orphaned));
}

}  // namespace
}  // namespace capstan::controller::replicaset
