#include "store/rocks_codec.h"

#include <gtest/gtest.h>

namespace capstan::store::codec {
namespace {

TEST(RocksCodecTest, RevisionKeysSortInRevisionOrder) {
  std::vector<int64_t> revisions = {1, 2, 255, 256, 65535, 65536, int64_t{1} << 40};
  for (size_t i = 1; i < revisions.size(); ++i) {
    EXPECT_LT(EncodeRevision(revisions[i - 1]), EncodeRevision(revisions[i])) << revisions[i];
  }
  for (int64_t r : revisions) EXPECT_EQ(*DecodeRevision(EncodeRevision(r)), r);
  EXPECT_FALSE(DecodeRevision("short").ok());
}

TEST(RocksCodecTest, StoredValueRoundTrips) {
  KeyValue kv{"/k", std::string("a\0b", 3), 7, 9};
  auto back = DecodeStoredValue("/k", EncodeStoredValue(kv));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->value, kv.value);
  EXPECT_EQ(back->create_revision, 7);
  EXPECT_EQ(back->mod_revision, 9);
  EXPECT_EQ(DecodeStoredValue("/k", "tiny").status().code(), Code::kInternal);
}

TEST(RocksCodecTest, EventRoundTripsAndExposesCommitTime) {
  Event e;
  e.type = EventType::kDelete;
  e.revision = 12;
  e.kv = KeyValue{"/k", "gone", 3, 12};
  e.has_prev = true;
  e.prev = KeyValue{"/k", "gone", 3, 10};
  std::string encoded = EncodeEvent(e, 1700000000123);
  EXPECT_EQ(*PeekEventCommitTime(encoded), 1700000000123);
  auto back = DecodeEvent(12, encoded);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->type, EventType::kDelete);
  EXPECT_EQ(back->revision, 12);
  EXPECT_EQ(back->kv.value, "gone");
  EXPECT_TRUE(back->has_prev);
  EXPECT_EQ(back->prev.mod_revision, 10);
  EXPECT_FALSE(DecodeEvent(12, encoded.substr(0, encoded.size() - 1)).ok());
  EXPECT_FALSE(DecodeEvent(12, encoded + "x").ok());
}

}  // namespace
}  // namespace capstan::store::codec
