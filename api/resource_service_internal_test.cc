// The helpers behind ResourceService's update path (resource_service_internal.h).
#include "api/resource_service_internal.h"

#include <gtest/gtest.h>

namespace capstan::api {
namespace {

TEST(SameMembersExceptTest, SkipsTheNamedMembersOnEitherSide) {
  json a = {{"apiVersion", "v1"}, {"metadata", {{"name", "a"}}}, {"spec", {{"x", 1}}}, {"status", {{"y", 2}}}};
  json b = {{"spec", {{"x", 1}}}, {"kind", "Thing"}};
  EXPECT_TRUE(SameMembersExcept(a, b, {"metadata", "status", "apiVersion", "kind"}));
  EXPECT_FALSE(SameMembersExcept(a, b, {"metadata", "status", "kind"}));  // apiVersion only in a
  b["spec"]["x"] = 2;
  EXPECT_FALSE(SameMembersExcept(a, b, {"metadata", "status", "apiVersion", "kind"}));
}

TEST(SameMembersExceptTest, AMemberOnlyOneSideHasDiffers) {
  json a = {{"metadata", {{"name", "a"}, {"resourceVersion", "5"}}}};
  json b = {{"metadata", {{"name", "a"}}}};
  EXPECT_TRUE(SameMembersExcept(a["metadata"], b["metadata"], {"resourceVersion"}));
  b["metadata"]["labels"] = {{"k", "v"}};
  EXPECT_FALSE(SameMembersExcept(a["metadata"], b["metadata"], {"resourceVersion"}));
  EXPECT_FALSE(SameMembersExcept(b["metadata"], a["metadata"], {"resourceVersion"}));
  EXPECT_TRUE(SameMembersExcept(json::object(), json::object(), {}));
  EXPECT_FALSE(SameMembersExcept(json::object(), json{{"spec", nullptr}}, {}));
}

TEST(SameMembersExceptTest, NonObjectsAreComparedWhole) {
  EXPECT_TRUE(SameMembersExcept(json::array({1, 2}), json::array({1, 2}), {"x"}));
  EXPECT_FALSE(SameMembersExcept(json(1), json::object(), {}));
}

}  // namespace
}  // namespace capstan::api
