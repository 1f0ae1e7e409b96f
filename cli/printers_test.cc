#include "cli/printers.h"

#include <gtest/gtest.h>

namespace capstan::cli {
namespace {

// A Deployment Table as Kubernetes sends it (includeObject=Metadata).
const char* kDeploymentTable = R"({
  "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": "42"},
  "columnDefinitions": [
    {"name": "Name", "type": "string", "format": "name", "description": "", "priority": 0},
    {"name": "Ready", "type": "string", "format": "", "description": "", "priority": 0},
    {"name": "Up-to-date", "type": "integer", "format": "", "description": "", "priority": 0},
    {"name": "Available", "type": "integer", "format": "", "description": "", "priority": 0},
    {"name": "Age", "type": "string", "format": "", "description": "", "priority": 0},
    {"name": "Containers", "type": "string", "format": "", "description": "", "priority": 1},
    {"name": "Images", "type": "string", "format": "", "description": "", "priority": 1}
  ],
  "rows": [
    {"cells": ["web", "3/3", 3, 3, "5m", "nginx", "nginx:1.25"],
     "object": {"kind": "PartialObjectMetadata", "metadata": {"name": "web", "namespace": "default",
                "labels": {"tier": "fe", "app": "web"}}}},
    {"cells": ["api-server", "0/1", 1, 0, "12s", "api", "example/api:v2"],
     "object": {"kind": "PartialObjectMetadata", "metadata": {"name": "api-server", "namespace": "prod"}}}
  ]
})";

TEST(TablePrinterTest, AlignsLikeKubectl) {
  Result<TextTable> table = TableFromServer(json::parse(kDeploymentTable), {});
  ASSERT_TRUE(table.ok()) << table.status().ToString();
  EXPECT_EQ(FormatTable(*table),
            "NAME         READY   UP-TO-DATE   AVAILABLE   AGE\n"
            "web          3/3     3            3           5m\n"
            "api-server   0/1     1            0           12s\n");
}

TEST(TablePrinterTest, WideShowsPriorityColumns) {
  TableOptions options;
  options.wide = true;
  Result<TextTable> table = TableFromServer(json::parse(kDeploymentTable), options);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->header, (std::vector<std::string>{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES"}));
  EXPECT_EQ(table->rows[1].back(), "example/api:v2");
}

TEST(TablePrinterTest, NamespaceColumnLabelsAndNamePrefix) {
  TableOptions options;
  options.with_namespace = true;
  options.show_labels = true;
  options.name_prefix = "deployment.apps/";
  Result<TextTable> table = TableFromServer(json::parse(kDeploymentTable), options);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(FormatTable(*table),
            "NAMESPACE   NAME                         READY   UP-TO-DATE   AVAILABLE   AGE   LABELS\n"
            "default     deployment.apps/web          3/3     3            3           5m    app=web,tier=fe\n"
            "prod        deployment.apps/api-server   0/1     1            0           12s   <none>\n");
}

TEST(TablePrinterTest, MinimumWidthAndNoHeaders) {
  TextTable table;
  table.header = {"A", "B"};
  table.rows = {{"x", "y"}};
  EXPECT_EQ(FormatTable(table), "A     B\nx     y\n");
  EXPECT_EQ(FormatTable(table, false), "x     y\n");
}

TEST(TablePrinterTest, RejectsNonTables) {
  EXPECT_FALSE(TableFromServer(json::parse(R"({"kind":"PodList","items":[]})"), {}).ok());
}

TEST(TablePrinterTest, ObjectsFallbackShowsNameAndAge) {
  std::vector<json> objects = {json::parse(R"({"metadata":{"name":"a","creationTimestamp":"2024-01-01T00:00:00Z"}})")};
  int64_t epoch = 0;
  ASSERT_TRUE(ParseTimestamp("2024-01-01T00:05:00Z", &epoch));
  TextTable table = TableFromObjects(objects, {}, static_cast<std::time_t>(epoch));
  EXPECT_EQ(FormatTable(table), "NAME   AGE\na      5m\n");
}

TEST(HumanDurationTest, MatchesKubectl) {
  EXPECT_EQ(HumanDuration(-5), "<invalid>");
  EXPECT_EQ(HumanDuration(0), "0s");
  EXPECT_EQ(HumanDuration(119), "119s");
  EXPECT_EQ(HumanDuration(150), "2m30s");
  EXPECT_EQ(HumanDuration(300), "5m");
  EXPECT_EQ(HumanDuration(3600), "60m");
  EXPECT_EQ(HumanDuration(4 * 3600 + 120), "4h2m");
  EXPECT_EQ(HumanDuration(20 * 3600), "20h");
  EXPECT_EQ(HumanDuration(3 * 86400 + 3600), "3d1h");
  EXPECT_EQ(HumanDuration(100 * 86400), "100d");
  EXPECT_EQ(HumanDuration(3 * 365 * 86400), "3y");
}

TEST(TimestampTest, ParsesRfc3339) {
  int64_t t = 0;
  ASSERT_TRUE(ParseTimestamp("1970-01-01T00:01:00Z", &t));
  EXPECT_EQ(t, 60);
  ASSERT_TRUE(ParseTimestamp("1970-01-01T01:00:00.123456+01:00", &t));
  EXPECT_EQ(t, 0);
  EXPECT_FALSE(ParseTimestamp("yesterday", &t));
  EXPECT_FALSE(ParseTimestamp("1970-01-01T00:00:00", &t));
  EXPECT_EQ(FormatTimestampRfc1123("2024-01-02T15:04:05Z"), "Tue, 02 Jan 2024 15:04:05 +0000");
  EXPECT_EQ(AgeOf("", 0), "<unknown>");
}

}  // namespace
}  // namespace capstan::cli
