#include "api/http/http_types.h"

#include <memory>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "api/http/http_internal.h"

namespace capstan::api {
namespace {

TEST(HeadersTest, GetIsCaseInsensitiveAndFirstWins) {
  Headers h;
  h.Add("Content-Type", "application/json");
  h.Add("X-Dup", "first");
  h.Add("x-dup", "second");
  EXPECT_EQ(h.Get("content-type").value_or(""), "application/json");
  EXPECT_EQ(h.Get("X-DUP").value_or(""), "first");
  EXPECT_FALSE(h.Get("missing").has_value());
  EXPECT_FALSE(h.Get("Content-Typ").has_value());
  EXPECT_EQ(h.items().size(), 3u);
}

TEST(PercentDecodeTest, DecodesEscapesAndPlus) {
  std::string out;
  ASSERT_TRUE(PercentDecode("/api/v1/a%20b%2Fc", &out, false));
  EXPECT_EQ(out, "/api/v1/a b/c");
  ASSERT_TRUE(PercentDecode("a+b%2b", &out, false));
  EXPECT_EQ(out, "a+b+");
  ASSERT_TRUE(PercentDecode("a+b%2B", &out, true));
  EXPECT_EQ(out, "a b+");
  ASSERT_TRUE(PercentDecode("%e2%9C%93", &out, false));
  EXPECT_EQ(out, "\xe2\x9c\x93");
  ASSERT_TRUE(PercentDecode("", &out, false));
  EXPECT_EQ(out, "");
}

TEST(PercentDecodeTest, RejectsMalformedEscapes) {
  std::string out = "unchanged";
  EXPECT_FALSE(PercentDecode("%", &out, false));
  EXPECT_FALSE(PercentDecode("abc%2", &out, false));
  EXPECT_FALSE(PercentDecode("%zz", &out, false));
  EXPECT_FALSE(PercentDecode("%g1", &out, false));
  EXPECT_EQ(out, "unchanged");
}

TEST(ParseQueryTest, SplitsAndDecodes) {
  std::multimap<std::string, std::string> q;
  ASSERT_TRUE(ParseQuery("a=1&b=x%20y&c=p+q&flag&&d=&labelSelector=app%3Dweb", &q));
  EXPECT_EQ(q.size(), 6u);
  EXPECT_EQ(q.find("a")->second, "1");
  EXPECT_EQ(q.find("b")->second, "x y");
  EXPECT_EQ(q.find("c")->second, "p q");
  EXPECT_EQ(q.find("flag")->second, "");
  EXPECT_EQ(q.find("d")->second, "");
  EXPECT_EQ(q.find("labelSelector")->second, "app=web");
}

TEST(ParseQueryTest, MalformedLeavesOutputUntouched) {
  std::multimap<std::string, std::string> q;
  EXPECT_FALSE(ParseQuery("a=1&b=%2", &q));
  EXPECT_TRUE(q.empty());
  EXPECT_FALSE(ParseQuery("%zz=1", &q));
  EXPECT_TRUE(q.empty());
}

TEST(HttpRequestTest, QueryReturnsFirstValue) {
  HttpRequest req;
  ASSERT_TRUE(ParseQuery("watch=true&w=2&w=1&w=3", &req.query));
  EXPECT_EQ(req.Query("watch").value_or(""), "true");
  EXPECT_EQ(req.Query("w").value_or(""), "2");
  EXPECT_FALSE(req.Query("x").has_value());
  EXPECT_FALSE(req.Query("").has_value());
}

TEST(ParseTargetTest, OriginAndAbsoluteForm) {
  HttpRequest req;
  ASSERT_TRUE(http_internal::ParseTarget("/api/v1/pods%2Fx?watch=1&labelSelector=a%3Db", &req));
  EXPECT_EQ(req.path, "/api/v1/pods/x");
  EXPECT_EQ(req.Query("watch").value_or(""), "1");
  EXPECT_EQ(req.Query("labelSelector").value_or(""), "a=b");
  HttpRequest abs;
  ASSERT_TRUE(http_internal::ParseTarget("http://example:80/healthz?x=y", &abs));
  EXPECT_EQ(abs.path, "/healthz");
  EXPECT_EQ(abs.Query("x").value_or(""), "y");
  HttpRequest bare;
  ASSERT_TRUE(http_internal::ParseTarget("https://example", &bare));
  EXPECT_EQ(bare.path, "/");
}

TEST(ParseTargetTest, RejectsOtherFormsAndBadEscapes) {
  HttpRequest req;
  EXPECT_FALSE(http_internal::ParseTarget("*", &req));
  EXPECT_FALSE(http_internal::ParseTarget("", &req));
  EXPECT_FALSE(http_internal::ParseTarget("api/v1", &req));
  EXPECT_FALSE(http_internal::ParseTarget("/a%zz", &req));
  EXPECT_FALSE(http_internal::ParseTarget("/a?b=%4", &req));
}

TEST(DefaultErrorBodyTest, IsAKubernetesStatus) {
  auto j = nlohmann::json::parse(http_internal::DefaultErrorBody(413, "too \"big\"\xff"));
  EXPECT_EQ(j["kind"], "Status");
  EXPECT_EQ(j["apiVersion"], "v1");
  EXPECT_EQ(j["status"], "Failure");
  EXPECT_EQ(j["code"], 413);
  EXPECT_EQ(j["reason"], "RequestEntityTooLarge");
  EXPECT_EQ(j["message"].get<std::string>().substr(0, 9), "too \"big\"");
  EXPECT_EQ(nlohmann::json::parse(http_internal::DefaultErrorBody(500, "x"))["reason"], "InternalError");
}

TEST(WakerTest, WakesUntilKilledAndReleasesItsFunction) {
  int calls = 0;
  auto held = std::make_shared<int>(7);
  http_internal::Waker waker([&calls, held] { ++calls; });
  held.reset();
  waker.Wake();
  waker.Wake();
  EXPECT_EQ(calls, 2);
  waker.Kill();
  waker.Wake();
  EXPECT_EQ(calls, 2);
  waker.Kill();  // idempotent
}

TEST(WakerTest, KillDestroysWhatTheFunctionHolds) {
  auto held = std::make_shared<int>(7);
  std::weak_ptr<int> weak = held;
  http_internal::Waker waker([held] {});
  held.reset();
  EXPECT_FALSE(weak.expired());
  waker.Kill();
  EXPECT_TRUE(weak.expired());
}

}  // namespace
}  // namespace capstan::api
