#include "client/manifest.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace capstan::client {
namespace {

namespace fs = std::filesystem;

class ManifestDir : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/capstan-manifest-XXXXXX";
    root_ = ::mkdtemp(pattern);
  }
  void TearDown() override { fs::remove_all(root_); }
  std::string Write(const std::string& relative, const std::string& text) {
    fs::path path = fs::path(root_) / relative;
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
    return path.string();
  }
  std::vector<std::string> Names(const std::vector<Manifest>& manifests) {
    std::vector<std::string> names;
    for (const Manifest& m : manifests) names.push_back(m.object["metadata"]["name"]);
    return names;
  }
  std::string root_;
};

std::string ConfigMap(const std::string& name) {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n";
}

TEST(ManifestTest, ParsesMultipleDocumentsSkippingEmptyOnes) {
  std::string text = "---\n" + ConfigMap("a") + "---\n---\n# only a comment\n---\n" + ConfigMap("b");
  Result<std::vector<Manifest>> manifests = ParseManifests("app.yaml", text);
  ASSERT_TRUE(manifests.ok()) << manifests.status().ToString();
  ASSERT_EQ(manifests->size(), 2u);
  EXPECT_EQ((*manifests)[0].object["metadata"]["name"], "a");
  EXPECT_EQ((*manifests)[1].object["metadata"]["name"], "b");
  EXPECT_EQ((*manifests)[0].document, 1);
  EXPECT_GT((*manifests)[1].document, 2);  // empty documents count in the numbering
  EXPECT_EQ((*manifests)[1].Describe(), "ConfigMap b");
  EXPECT_EQ((*manifests)[1].source, "app.yaml");
}

TEST(ManifestTest, ParsesJson) {
  Result<std::vector<Manifest>> manifests =
      ParseManifests("cm.json", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"j"},"data":{"k":"v"}})");
  ASSERT_TRUE(manifests.ok()) << manifests.status().ToString();
  ASSERT_EQ(manifests->size(), 1u);
  EXPECT_EQ((*manifests)[0].object["data"]["k"], "v");
}

TEST(ManifestTest, ExpandsLists) {
  std::string text = "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: x\n"
                     "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: y\n";
  Result<std::vector<Manifest>> manifests = ParseManifests("list.yaml", text);
  ASSERT_TRUE(manifests.ok()) << manifests.status().ToString();
  ASSERT_EQ(manifests->size(), 2u);
  EXPECT_EQ((*manifests)[1].object["metadata"]["name"], "y");
}

TEST(ManifestTest, MissingFieldsNameDocumentAndLine) {
  std::string text = ConfigMap("ok") + "---\napiVersion: apps/v1\nmetadata:\n  name: web\n";
  Result<std::vector<Manifest>> manifests = ParseManifests("deploy.yaml", text);
  ASSERT_FALSE(manifests.ok());
  EXPECT_EQ(manifests.status().message(), "deploy.yaml: document 2 (line 5): missing kind");

  EXPECT_EQ(ParseManifests("f.yaml", "kind: ConfigMap\nmetadata: {name: a}\n").status().message(),
            "f.yaml: document 1 (line 1): missing apiVersion");
  EXPECT_EQ(ParseManifests("f.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n").status().message(),
            "f.yaml: document 1 (line 1): missing metadata.name");
  EXPECT_EQ(ParseManifests("f.yaml", "- a\n- b\n").status().message(),
            "f.yaml: document 1 (line 1): not an object (a mapping with apiVersion, kind and metadata)");
}

TEST(ManifestTest, YamlSyntaxErrorsNameFileDocumentAndLine) {
  std::string text = ConfigMap("a") + "---\n" + "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n";
  Result<std::vector<Manifest>> manifests = ParseManifests("bad.yaml", text);
  ASSERT_FALSE(manifests.ok());
  const std::string& message = manifests.status().message();
  EXPECT_EQ(message.rfind("bad.yaml: document 2 (line ", 0), 0u) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line: " << message;
}

TEST_F(ManifestDir, DirectoryReadsManifestFilesInNameOrder) {
  Write("b.yaml", ConfigMap("b"));
  Write("a.yml", ConfigMap("a"));
  Write("c.json", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}})");
  Write("notes.txt", "not a manifest");
  Write("sub/d.yaml", ConfigMap("d"));
  Result<std::vector<Manifest>> flat = LoadManifests({root_}, false, nullptr);
  ASSERT_TRUE(flat.ok()) << flat.status().ToString();
  EXPECT_EQ(Names(*flat), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ((*flat)[0].source, root_ + "/a.yml");

  Result<std::vector<Manifest>> recursive = LoadManifests({root_}, true, nullptr);
  ASSERT_TRUE(recursive.ok());
  EXPECT_EQ(Names(*recursive), (std::vector<std::string>{"a", "b", "c", "d"}));
}

TEST_F(ManifestDir, AnyBrokenFileFailsTheWholeLoad) {
  Write("a.yaml", ConfigMap("a"));
  Write("sub/z.yaml", "apiVersion: v1\nkind: ConfigMap\n");
  Result<std::vector<Manifest>> manifests = LoadManifests({root_}, true, nullptr);
  ASSERT_FALSE(manifests.ok());
  EXPECT_EQ(manifests.status().message(), root_ + "/sub/z.yaml: document 1 (line 1): missing metadata.name");
}

TEST_F(ManifestDir, ReadsStdinAndExplicitFilesOfAnyName) {
  std::string file = Write("manifest.txt", ConfigMap("from-file"));
  std::istringstream in(ConfigMap("from-stdin"));
  Result<std::vector<Manifest>> manifests = LoadManifests({file, "-"}, false, &in);
  ASSERT_TRUE(manifests.ok()) << manifests.status().ToString();
  EXPECT_EQ(Names(*manifests), (std::vector<std::string>{"from-file", "from-stdin"}));
  EXPECT_EQ((*manifests)[1].source, "STDIN");
}

TEST(ManifestTest, MissingPathIsNotFound) {
  Result<std::vector<Manifest>> manifests = LoadManifests({"/nonexistent/x.yaml"}, false, nullptr);
  ASSERT_FALSE(manifests.ok());
  EXPECT_TRUE(manifests.status().IsNotFound());
  EXPECT_NE(manifests.status().message().find("/nonexistent/x.yaml"), std::string::npos);
}

}  // namespace
}  // namespace capstan::client
