#include "plugins/process/state_store.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>

#include "plugins/process/test_dir.h"

namespace capstan::plugins::process {
namespace {

RunRecord Record(const std::string& id, std::map<std::string, std::string> labels = {}) {
  RunRecord r;
  r.id = id;
  r.boot_id = "b";
  r.pod.uid = "uid-" + id;
  r.labels = std::move(labels);
  ContainerRecord c;
  c.name = "c0";
  c.id = ContainerId(id, "c0");
  c.pid = 100;
  c.start_ticks = 5;
  r.containers = {c};
  return r;
}

std::vector<std::string> Files(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST(ProcessStateStore, WriteLoadUpdateRemove) {
  TestDir dir;
  auto store = StateStore::Open(dir / "state");
  ASSERT_TRUE(store.ok()) << store.error().message;
  StateStore& s = *store.value();
  ASSERT_TRUE(s.Write(Record("aaa", {{"app", "x"}})).ok());

  sdk::Result<RunRecord> loaded = s.Load("aaa");
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded.value().pod.uid, "uid-aaa");
  EXPECT_EQ(loaded.value().labels.at("app"), "x");
  EXPECT_EQ(Files(s.runs_dir()), std::vector<std::string>{"aaa.json"}) << "no temporary file is left behind";
  struct stat st;
  ASSERT_EQ(::stat((s.runs_dir() + "/aaa.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "records hold environments: owner only";

  ASSERT_TRUE(s.Update("aaa", [](RunRecord* r) {
                 r->containers[0].exited = true;
                 r->containers[0].exit_code = 3;
                 return true;
               }).ok());
  EXPECT_EQ(s.Load("aaa").value().containers[0].exit_code, 3);

  ASSERT_TRUE(s.Remove("aaa").ok());
  EXPECT_EQ(s.Load("aaa").error().code, CAPSTAN_ERR_NOT_FOUND);
  EXPECT_TRUE(s.Remove("aaa").ok()) << "remove is idempotent";
  // An update of a removed run re-creates nothing.
  EXPECT_EQ(s.Update("aaa", [](RunRecord*) { return true; }).error().code, CAPSTAN_ERR_NOT_FOUND);
  EXPECT_TRUE(Files(s.runs_dir()).empty());
}

TEST(ProcessStateStore, LoadAllSkipsWhatItCannotRead) {
  TestDir dir;
  auto store = StateStore::Open(dir / "state");
  ASSERT_TRUE(store.ok());
  StateStore& s = *store.value();
  ASSERT_TRUE(s.Write(Record("aaa")).ok());
  ASSERT_TRUE(s.Write(Record("bbb")).ok());
  std::ofstream(s.runs_dir() + "/ccc.json") << "{not json";
  std::ofstream(s.runs_dir() + "/.ddd.json.tmp") << "{}";  // a write a crash interrupted
  std::ofstream(s.runs_dir() + "/README") << "hello";
  std::vector<std::string> problems;
  std::vector<RunRecord> all = s.LoadAll(&problems);
  std::set<std::string> ids;
  for (const RunRecord& r : all) ids.insert(r.id);
  EXPECT_EQ(ids, (std::set<std::string>{"aaa", "bbb"}));
  ASSERT_EQ(problems.size(), 1u);
  EXPECT_NE(problems[0].find("ccc.json"), std::string::npos) << problems[0];
}

TEST(ProcessStateStore, OneStorePerDirectory) {
  TestDir dir;
  auto a = StateStore::Open(dir / "state");
  auto b = StateStore::Open(dir.path() + "/./state/");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a.value().get(), b.value().get()) << "two spellings of one directory share one mutex";
}

TEST(ProcessStateStore, UncreatableDirectoryIsInvalidConfig) {
  TestDir dir;
  std::ofstream(dir / "file") << "x";
  auto store = StateStore::Open(dir / "file/state");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, CAPSTAN_ERR_INVALID_CONFIG);
  EXPECT_NE(store.error().message.find("stateDir"), std::string::npos) << store.error().message;
}

TEST(ProcessStateStore, AtomicWriteReplacesWholeFiles) {
  TestDir dir;
  const std::string path = dir / "f.json";
  ASSERT_TRUE(WriteFileAtomic(path, std::string(100000, 'a')).ok());
  ASSERT_TRUE(WriteFileAtomic(path, "short").ok());
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "short");
  EXPECT_EQ(Files(dir.path()), std::vector<std::string>{"f.json"});
}

}  // namespace
}  // namespace capstan::plugins::process
