#include "store/batch_builder.h"

#include <map>

#include <gtest/gtest.h>

namespace capstan::store {
namespace {

// A BatchBuilder over a fixed committed state; column family handles are not needed to build.
class BatchBuilderTest : public ::testing::Test {
 protected:
  BatchBuilder Make(int64_t base) {
    return BatchBuilder(base, 1000, [this](const std::string& key) -> Result<std::optional<KeyValue>> {
      if (key == "/broken") return Status::Internal("disk on fire");
      auto it = committed_.find(key);
      if (it == committed_.end()) return std::optional<KeyValue>();
      return std::optional<KeyValue>(it->second);
    }, {});
  }
  std::map<std::string, KeyValue> committed_ = {{"/c", KeyValue{"/c", "c0", 3, 5}}};
};

TEST_F(BatchBuilderTest, LaterWritesSeeEarlierOnesOfTheSameBatch) {
  BatchBuilder b = Make(10);
  auto create = b.Add({{Op::Kind::kCreate, "/a", "a1", {}}});
  ASSERT_TRUE(create.ok());
  EXPECT_EQ(create->front().revision, 11);
  EXPECT_EQ(b.Add({{Op::Kind::kCreate, "/a", "again", {}}}).status().code(), Code::kAlreadyExists);
  auto update = b.Add({{Op::Kind::kUpdate, "/a", "a2", {11}}});
  ASSERT_TRUE(update.ok()) << update.status().ToString();
  EXPECT_EQ(update->front().prev.value, "a1");
  auto del = b.Add({{Op::Kind::kDelete, "/c", "", {5}}});
  ASSERT_TRUE(del.ok());
  EXPECT_EQ(b.Add({{Op::Kind::kUpdate, "/c", "x", {}}}).status().code(), Code::kNotFound);
  EXPECT_EQ(b.revision(), 13);
  ASSERT_EQ(b.events().size(), 3u);
  EXPECT_EQ(b.events()[1]->kv.create_revision, 11);
  EXPECT_EQ(b.events()[2]->type, EventType::kDelete);
  EXPECT_EQ(b.events()[2]->kv.value, "c0");
  // Three ops, each a kv change and a log entry, plus the meta revision.
  EXPECT_EQ(b.Finish()->Count(), 7u);
}

// Records the revisions it is stamped with.
class RecordingMemo : public WriteMemo {
 public:
  void Stamp(int64_t revision) override { stamps.push_back(revision); }
  std::vector<int64_t> stamps;
};

TEST_F(BatchBuilderTest, MemosAreStampedWithTheirRevisionAndRideOnTheirEvents) {
  BatchBuilder b = Make(10);
  auto a = std::make_shared<RecordingMemo>();
  auto c = std::make_shared<RecordingMemo>();
  auto refused = std::make_shared<RecordingMemo>();
  EXPECT_EQ(b.Add({{Op::Kind::kCreate, "/c", "again", {}, refused}}).status().code(), Code::kAlreadyExists);
  ASSERT_TRUE(b.Add({{Op::Kind::kCreate, "/a", "a1", {}, a}, {Op::Kind::kUpdate, "/c", "c1", {5}, c}}).ok());
  ASSERT_TRUE(b.Add({{Op::Kind::kCreate, "/plain", "p", {}}}).ok());
  EXPECT_EQ(a->stamps, (std::vector<int64_t>{11}));
  EXPECT_EQ(c->stamps, (std::vector<int64_t>{12}));
  EXPECT_TRUE(refused->stamps.empty()) << "a refused op is not stamped";
  ASSERT_EQ(b.events().size(), 3u);
  EXPECT_EQ(b.events()[0]->memo.get(), a.get());
  EXPECT_EQ(b.events()[1]->memo.get(), c.get());
  EXPECT_EQ(b.events()[2]->memo, nullptr);
}

TEST_F(BatchBuilderTest, FailingWriteAddsNothing) {
  BatchBuilder b = Make(10);
  EXPECT_EQ(b.Add({{Op::Kind::kCreate, "/a", "a", {}}, {Op::Kind::kUpdate, "/c", "c", {4}}}).status().code(),
            Code::kConflict);
  EXPECT_EQ(b.Add({{Op::Kind::kCreate, "/b", "b", {}}, {Op::Kind::kCreate, "/broken", "", {}}}).status().code(),
            Code::kInternal);
  EXPECT_EQ(b.ops(), 0);
  EXPECT_EQ(b.revision(), 10);
  // /a was not created by the failed write, so creating it now succeeds.
  EXPECT_TRUE(b.Add({{Op::Kind::kCreate, "/a", "a", {}}}).ok());
  EXPECT_EQ(b.Finish()->Count(), 3u);
}

}  // namespace
}  // namespace capstan::store
