#include "node/own_status_writes.h"

#include <gtest/gtest.h>

namespace capstan::node {
namespace {

TEST(OwnStatusWritesTest, TheAgentsOwnWriteIsRecognisedOnce) {
  OwnStatusWrites w;
  w.Record("default/a", "7", "9");
  EXPECT_FALSE(w.IsOwnWrite("default/b", "7", "9"));  // another Pod
  EXPECT_FALSE(w.IsOwnWrite("default/a", "8", "9"));  // another writer in between (8)
  EXPECT_TRUE(w.IsOwnWrite("default/a", "7", "9"));
  EXPECT_FALSE(w.IsOwnWrite("default/a", "7", "9"));  // once
  EXPECT_EQ(w.size(), 0u);
}

TEST(OwnStatusWritesTest, OtherWritesAndGonePodsAreNotSkipped) {
  OwnStatusWrites w;
  w.Record("default/a", "7", "9");
  EXPECT_FALSE(w.IsOwnWrite("default/a", "9", "10"));  // HAProxy's condition after ours
  EXPECT_FALSE(w.IsOwnWrite("default/a", "7", "10"));  // a re-list folding ours and another
  w.Record("default/a", "10", "11");                   // the latest write replaces the last
  EXPECT_TRUE(w.IsOwnWrite("default/a", "10", "11"));
  w.Record("default/b", "", "3");                      // no base: never matched
  EXPECT_FALSE(w.IsOwnWrite("default/b", "", "3"));
  w.Forget("default/b");
  EXPECT_EQ(w.size(), 0u);
}

}  // namespace
}  // namespace capstan::node
