#include <gtest/gtest.h>

#include "api/kinds/kinds_test_util.h"
#include "api/kinds/printing.h"

namespace capstan::api::kinds {
namespace {

using namespace testing;  // NOLINT

json SampleEvent() {
  int64_t now = NowEpochSeconds();
  return json{{"apiVersion", "v1"},
              {"kind", "Event"},
              {"metadata", {{"name", "web.17a2b3c4d5"}, {"namespace", "default"}}},
              {"involvedObject",
               {{"kind", "Deployment"}, {"namespace", "default"}, {"name", "web"}, {"apiVersion", "apps/v1"}}},
              {"reason", "ScalingReplicaSet"},
              {"message", "Scaled up replica set web-5d4f8 to 3\n"},
              {"source", {{"component", "deployment-controller"}}},
              {"firstTimestamp", FormatRfc3339(now - 600)},
              {"lastTimestamp", FormatRfc3339(now - 30)},
              {"count", 4},
              {"type", "Normal"}};
}

TEST(EventTest, StrictRejectsUnknownAndMistyped) {
  const KindInfo& k = Kind("ev");
  json e = SampleEvent();
  e["involvedObject"]["nam"] = "x";
  auto errs = Strict(k, e);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "involvedObject.nam");
  e = SampleEvent();
  e["count"] = "4";
  errs = Strict(k, e);
  ASSERT_EQ(errs.size(), 1u);
  EXPECT_EQ(errs[0].field, "count");
  EXPECT_EQ(errs[0].type, "FieldValueTypeInvalid");
}

TEST(EventTest, ValidCreate) {
  json e = SampleEvent();
  auto errs = Create(Kind("events"), &e);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
}

TEST(EventTest, NamespaceMustMatchInvolvedObject) {
  json e = SampleEvent();
  e["involvedObject"]["namespace"] = "other";
  auto errs = Create(Kind("events"), &e);
  EXPECT_TRUE(Has(errs, "involvedObject.namespace", "FieldValueInvalid", "does not match event.namespace"));
  // Events about cluster-scoped objects go to "default".
  json node = SampleEvent();
  node["involvedObject"] = {{"kind", "Node"}, {"name", "n1"}};
  EXPECT_TRUE(Create(Kind("events"), &node).empty());
}

TEST(EventTest, NewStyleEventsNeedReportingFields) {
  json e = SampleEvent();
  e["eventTime"] = FormatRfc3339(NowEpochSeconds());
  e["type"] = "Info";
  auto errs = Create(Kind("events"), &e);
  EXPECT_TRUE(Has(errs, "reportingComponent", "FieldValueRequired")) << Dump(errs);
  EXPECT_TRUE(Has(errs, "reportingInstance", "FieldValueRequired"));
  EXPECT_TRUE(Has(errs, "action", "FieldValueRequired"));
  EXPECT_TRUE(Has(errs, "type", "FieldValueNotSupported"));
  e["reportingComponent"] = "capstan.io/scheduler";
  e["reportingInstance"] = "node-1";
  e["action"] = "Binding";
  e["type"] = "Warning";
  errs = Create(Kind("events"), &e);
  EXPECT_TRUE(errs.empty()) << Dump(errs);
}

TEST(EventTest, PrinterLikeKubectl) {
  const KindInfo& k = Kind("ev");
  std::vector<std::string> normal = {"Last Seen", "Type", "Reason", "Object", "Message"};
  EXPECT_EQ(ColumnNames(k, 0), normal);
  std::vector<std::string> wide = {"Last Seen", "Type",       "Reason", "Object", "Subobject",
                                   "Source",    "Message",    "First Seen", "Count", "Name"};
  EXPECT_EQ(ColumnNames(k, 1), wide);
  json e = SampleEvent();
  std::string last = Cell(k, "Last Seen", e).get<std::string>();
  EXPECT_TRUE(last == "30s" || last == "31s") << last;
  EXPECT_EQ(Cell(k, "First Seen", e), "10m");
  EXPECT_EQ(Cell(k, "Object", e), "deployment/web");
  EXPECT_EQ(Cell(k, "Message", e), "Scaled up replica set web-5d4f8 to 3");
  EXPECT_EQ(Cell(k, "Source", e), "deployment-controller");
  EXPECT_EQ(Cell(k, "Count", e), 4);
  EXPECT_EQ(Cell(k, "Name", e), "web.17a2b3c4d5");
  // New-style: series wins; no count means 1; reporting fields feed SOURCE.
  json n = SampleEvent();
  n.erase("count");
  n.erase("source");
  n["reportingComponent"] = "kubelet";
  n["reportingInstance"] = "node-1";
  EXPECT_EQ(Cell(k, "Count", n), 1);
  EXPECT_EQ(Cell(k, "Source", n), "kubelet, node-1");
  n["series"] = {{"count", 7}, {"lastObservedTime", FormatRfc3339(NowEpochSeconds() - 3600 * 5)}};
  EXPECT_EQ(Cell(k, "Count", n), 7);
  EXPECT_EQ(Cell(k, "Last Seen", n), "5h");
  json no_name = SampleEvent();
  no_name["involvedObject"].erase("name");
  EXPECT_EQ(Cell(k, "Object", no_name), "deployment");
}

TEST(EventTest, FieldSelectors) {
  const KindInfo& k = Kind("ev");
  for (const char* f : {"involvedObject.kind", "involvedObject.name", "involvedObject.uid", "reason", "type",
                        "source", "reportingComponent"}) {
    EXPECT_NE(std::find(k.field_selectors.begin(), k.field_selectors.end(), f), k.field_selectors.end()) << f;
  }
}

}  // namespace
}  // namespace capstan::api::kinds
