#include "controller/gc/garbage_collector.h"

#include <gtest/gtest.h>

namespace capstan::controller::gc {
namespace {

using nlohmann::json;

json Pod(const std::string& rv) {
  return {{"metadata",
           {{"name", "p"},
            {"resourceVersion", rv},
            {"ownerReferences", json::array({{{"uid", "rs-1"}, {"kind", "ReplicaSet"}, {"name", "rs"}}})}}},
          {"spec", {{"nodeName", ""}}}};
}

TEST(GarbageCollectorTest, OnlyUpdatesOfOwnersDeletionOrFinalizersConcernTheCollector) {
  const json before = Pod("1");
  // A binding or a status write: owners and deletion unchanged.
  json bound = Pod("2");
  bound["spec"]["nodeName"] = "n1";
  bound["status"] = {{"phase", "Running"}};
  EXPECT_FALSE(UpdateConcernsCollector(before, bound));

  json adopted = Pod("2");
  adopted["metadata"]["ownerReferences"].push_back({{"uid", "rs-2"}});
  EXPECT_TRUE(UpdateConcernsCollector(before, adopted));
  json released = Pod("2");
  released["metadata"].erase("ownerReferences");
  EXPECT_TRUE(UpdateConcernsCollector(before, released));
  json deleting = Pod("2");
  deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z";
  EXPECT_TRUE(UpdateConcernsCollector(before, deleting));
  json finalized = Pod("2");
  finalized["metadata"]["finalizers"] = json::array({"foregroundDeletion"});
  EXPECT_TRUE(UpdateConcernsCollector(before, finalized));
  EXPECT_TRUE(UpdateConcernsCollector(finalized, Pod("3")));
}

TEST(GarbageCollectorTest, AResyncOfTheSameVersionIsAlwaysChecked) {
  // A re-list reports every object again as an update of itself: the level-triggered net.
  EXPECT_TRUE(UpdateConcernsCollector(Pod("7"), Pod("7")));
  EXPECT_TRUE(UpdateConcernsCollector(json::object(), json::object()));
}

}  // namespace
}  // namespace capstan::controller::gc
