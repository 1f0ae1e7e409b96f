#include "controller/gitops/ignore_rules.h"

#include <gtest/gtest.h>

namespace capstan::controller::gitops {
namespace {

TEST(IgnoreRulesTest, HiddenAlwaysIgnoredAndEmptyRulesKeepTheRest) {
  IgnoreRules none = IgnoreRules::Parse("");
  EXPECT_TRUE(none.Ignored(".secret.yaml", false));
  EXPECT_TRUE(none.Ignored("apps/.git", true));
  EXPECT_FALSE(none.Ignored("apps/web.yaml", false));
}

TEST(IgnoreRulesTest, NamesAnchoredPathsDirectoriesAndNegation) {
  IgnoreRules rules = IgnoreRules::Parse(
      "# comment\n\n*.json\n!keep.json\n/drafts/\ntest/*.yaml\n**/kustomization.yaml\nlocal/\n");
  EXPECT_TRUE(rules.Ignored("a.json", false));
  EXPECT_TRUE(rules.Ignored("deep/b.json", false)) << "a pattern without / matches names at any depth";
  EXPECT_FALSE(rules.Ignored("keep.json", false)) << "the last matching line wins";
  EXPECT_TRUE(rules.Ignored("drafts", true));
  EXPECT_FALSE(rules.Ignored("drafts", false)) << "a trailing / matches directories only";
  EXPECT_FALSE(rules.Ignored("x/drafts", true)) << "a leading / anchors at the Sync's path";
  EXPECT_TRUE(rules.Ignored("test/a.yaml", false));
  EXPECT_FALSE(rules.Ignored("test/sub/a.yaml", false)) << "* does not cross /";
  EXPECT_TRUE(rules.Ignored("kustomization.yaml", false));
  EXPECT_TRUE(rules.Ignored("a/b/kustomization.yaml", false));
  EXPECT_TRUE(rules.Ignored("x/local", true));
  EXPECT_FALSE(rules.Ignored("web.yaml", false));
}

}  // namespace
}  // namespace capstan::controller::gitops
