#include "api/selector/selector.h"

#include <map>

#include <gtest/gtest.h>

namespace capstan::api {
namespace {

using json = nlohmann::json;
using Op = LabelSelector::Requirement::Op;

LabelSelector MustParse(const std::string& text) {
  auto r = LabelSelector::Parse(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().ToString();
  return r.ok() ? *r : LabelSelector();
}

TEST(LabelSelector, ParsesEveryForm) {
  LabelSelector sel = MustParse("x=a, y==b ,z!=c,  w in (p, q,r),v notin(s),u,!t");
  const auto& rs = sel.requirements();
  ASSERT_EQ(rs.size(), 7u);
  // Sorted by key, as Kubernetes keeps them.
  EXPECT_EQ(rs[0].key, "t");
  EXPECT_EQ(rs[0].op, Op::kDoesNotExist);
  EXPECT_EQ(rs[1].key, "u");
  EXPECT_EQ(rs[1].op, Op::kExists);
  EXPECT_EQ(rs[2].op, Op::kNotIn);
  EXPECT_EQ(rs[2].values, std::vector<std::string>{"s"});
  EXPECT_EQ(rs[3].op, Op::kIn);
  EXPECT_EQ(rs[3].values, (std::vector<std::string>{"p", "q", "r"}));
  EXPECT_EQ(rs[4].op, Op::kEquals);
  EXPECT_EQ(rs[5].op, Op::kEquals);
  EXPECT_EQ(rs[5].values, std::vector<std::string>{"b"});
  EXPECT_EQ(rs[6].op, Op::kNotEquals);
  EXPECT_EQ(sel.ToString(), "!t,u,v notin (s),w in (p,q,r),x=a,y=b,z!=c");
}

TEST(LabelSelector, CanonicalStringRoundTrips) {
  for (const char* text : {"app=web", "app.kubernetes.io/name=web,tier in (a,b)", "!canary", "env notin (dev,qa)",
                           "a=", "k in (,x)", "example.com/k", "a!=b,a=c"}) {
    LabelSelector sel = MustParse(text);
    LabelSelector again = MustParse(sel.ToString());
    EXPECT_EQ(again.ToString(), sel.ToString()) << text;
  }
  EXPECT_EQ(MustParse("tier in (b, a, b)").ToString(), "tier in (a,b)");
  EXPECT_EQ(MustParse("a==b").ToString(), "a=b");
  EXPECT_EQ(MustParse("k in ()").requirements()[0].values, std::vector<std::string>{""});
}

TEST(LabelSelector, EmptySelectorMatchesEverything) {
  LabelSelector sel = MustParse("   ");
  EXPECT_TRUE(sel.Empty());
  EXPECT_TRUE(sel.Matches(json::object()));
  EXPECT_TRUE(sel.Matches(nullptr));
  EXPECT_TRUE(LabelSelector().Matches(json{{"a", "b"}}));
}

TEST(LabelSelector, Matching) {
  json labels = {{"app", "web"}, {"tier", "fe"}, {"empty", ""}};
  struct Case {
    const char* selector;
    bool want;
  };
  const Case cases[] = {
      {"app=web", true},         {"app=db", false},        {"app!=db", true},      {"app!=web", false},
      {"missing!=x", true},      {"missing=x", false},     {"tier in (fe,be)", true}, {"tier in (be)", false},
      {"tier notin (be)", true}, {"tier notin (fe)", false}, {"missing notin (x)", true},
      {"missing in (x)", false}, {"app", true},            {"missing", false},     {"!missing", true},
      {"!app", false},           {"empty=", true},         {"empty", true},        {"app=web,tier=be", false},
      {"app=web,tier=fe", true}, {"missing=", false},      {"empty in (,x)", true},
  };
  for (const Case& c : cases) EXPECT_EQ(MustParse(c.selector).Matches(labels), c.want) << c.selector;
  EXPECT_FALSE(MustParse("app").Matches(nullptr));
  EXPECT_TRUE(MustParse("!app").Matches(nullptr));
}

TEST(LabelSelector, SyntaxErrors) {
  std::map<std::string, std::string> cases = {
      {"a=b c", "found 'c', expected: ',' or 'end of string'"},
      {"a=b,", "found 'end of string', expected: identifier"},
      {",a", "found ',', expected: identifier"},
      {"a in b", "expected: '('"},
      {"a in (b", "found 'end of string'"},
      {"a in (b c)", "found 'c'"},
      {"a b", "found 'b', expected: in, notin, =, ==, !="},
      {"!a=b", "found '='"},
      {"a>1", "operator '>' is not supported"},
      {"=b", "found '=', expected: identifier"},
      {"a=(b)", "found '('"},
  };
  for (const auto& [text, part] : cases) {
    auto r = LabelSelector::Parse(text);
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_EQ(r.status().code(), Code::kBadRequest) << text;
    EXPECT_EQ(r.status().message().rfind("unable to parse requirement: ", 0), 0u) << r.status().message();
    EXPECT_NE(r.status().message().find(part), std::string::npos) << text << " -> " << r.status().message();
  }
}

TEST(LabelSelector, ValidatesKeysAndValues) {
  EXPECT_TRUE(LabelSelector::Parse("a.b.c/x").ok());
  EXPECT_TRUE(LabelSelector::Parse("example.com/name=v").ok());
  EXPECT_TRUE(LabelSelector::Parse("A.b-c_d=E.f").ok());
  EXPECT_TRUE(LabelSelector::Parse("k=" + std::string(63, 'v')).ok());
  EXPECT_TRUE(LabelSelector::Parse(std::string(63, 'k')).ok());
  struct Case {
    std::string text;
    std::string part;
  };
  const Case cases[] = {
      {std::string(64, 'k'), "no more than 63 characters"},
      {"k=" + std::string(64, 'v'), "no more than 63 characters"},
      {"-a=b", "name part must consist of"},
      {"a-=b", "name part must consist of"},
      {"a=-b", "a valid label must be an empty string"},
      {"a=b_", "a valid label must be an empty string"},
      {"Example.com/a", "prefix part"},
      {"/a", "prefix part must be non-empty"},
      {"ex/", "name part must be non-empty"},
      {"a/b/c", "qualified name"},
      {"a in (x, -y)", "invalid label value \"-y\""},
      {"a@b", "invalid label key \"a@b\""},
  };
  for (const Case& c : cases) {
    auto r = LabelSelector::Parse(c.text);
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_EQ(r.status().code(), Code::kBadRequest);
    EXPECT_NE(r.status().message().find(c.part), std::string::npos) << c.text << " -> " << r.status().message();
  }
}

TEST(LabelSelector, FromObject) {
  auto r = LabelSelector::FromObject(json::parse(R"({
    "matchLabels": {"app": "web"},
    "matchExpressions": [{"key": "tier", "operator": "In", "values": ["fe", "be"]},
                         {"key": "canary", "operator": "DoesNotExist"},
                         {"key": "env", "operator": "NotIn", "values": ["dev"]},
                         {"key": "zone", "operator": "Exists", "values": []}]})"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->ToString(), "app=web,!canary,env notin (dev),tier in (be,fe),zone");
  EXPECT_TRUE(r->Matches(json{{"app", "web"}, {"tier", "fe"}, {"zone", "a"}}));
  EXPECT_FALSE(r->Matches(json{{"app", "web"}, {"tier", "fe"}, {"zone", "a"}, {"canary", "1"}}));
  EXPECT_FALSE(r->Matches(json{{"app", "web"}, {"tier", "fe"}}));

  for (const json& everything : {json(nullptr), json::object(), json{{"matchLabels", json::object()}}}) {
    auto e = LabelSelector::FromObject(everything);
    ASSERT_TRUE(e.ok());
    EXPECT_TRUE(e->Empty());
  }
}

TEST(LabelSelector, FromObjectErrorsAreInvalid) {
  const char* cases[] = {
      R"({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})",
      R"({"matchExpressions": [{"key": "a", "operator": "In"}]})",
      R"({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]})",
      R"({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]})",
      R"({"matchExpressions": [{"operator": "Exists"}]})",
      R"({"matchLabels": {"a": 1}})",
      R"({"matchLabels": {"bad key": "x"}})",
      R"({"matchLabels": {"a": "-x"}})",
      R"("app=web")",
  };
  for (const char* c : cases) {
    auto r = LabelSelector::FromObject(json::parse(c));
    ASSERT_FALSE(r.ok()) << c;
    EXPECT_EQ(r.status().code(), Code::kInvalid) << c;
  }
  auto r = LabelSelector::FromObject(json::parse(R"({"matchExpressions": [{"key": "a", "operator": "Foo"}]})"));
  EXPECT_NE(r.status().message().find("\"Foo\" is not a valid label selector operator"), std::string::npos);
}

TEST(FieldSelector, ParsesOperatorsAndEscapes) {
  auto r = FieldSelector::Parse("spec.nodeName=node-1, status.phase!=Failed,metadata.name==web");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& rs = r->requirements();
  ASSERT_EQ(rs.size(), 3u);
  EXPECT_EQ(rs[0].field, "spec.nodeName");
  EXPECT_EQ(rs[0].value, "node-1");
  EXPECT_TRUE(rs[0].equals);
  EXPECT_EQ(rs[1].field, "status.phase");
  EXPECT_FALSE(rs[1].equals);
  EXPECT_EQ(rs[2].value, "web");
  EXPECT_TRUE(rs[2].equals);

  auto escaped = FieldSelector::Parse(R"(metadata.name=a\,b\=c\\d\!e,spec.x=)");
  ASSERT_TRUE(escaped.ok()) << escaped.status().ToString();
  ASSERT_EQ(escaped->requirements().size(), 2u);
  EXPECT_EQ(escaped->requirements()[0].value, "a,b=c\\d!e");
  EXPECT_EQ(escaped->requirements()[1].value, "");

  auto empty = FieldSelector::Parse("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->Empty());
}

TEST(FieldSelector, Errors) {
  for (const char* bad : {"spec.nodeName", "a=b=c", R"(a=b\x)", R"(a=b\)", "=x"}) {
    auto r = FieldSelector::Parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), Code::kBadRequest) << bad;
  }
  auto r = FieldSelector::Parse("spec.foo=x,metadata.name=y");
  ASSERT_TRUE(r.ok());
  Status st = r->CheckSupported({"metadata.name", "metadata.namespace"});
  EXPECT_EQ(st.code(), Code::kBadRequest);
  EXPECT_EQ(st.message(), "field label not supported: spec.foo");
  EXPECT_TRUE(r->CheckSupported({"metadata.name", "spec.foo"}).ok());
}

TEST(FieldSelector, MatchesWithFieldValue) {
  json pod = json::parse(R"({"metadata": {"name": "web", "labels": {"app.kubernetes.io/name": "x"}},
                             "spec": {"nodeName": "n1", "priority": 5, "hostNetwork": true},
                             "status": {}})");
  auto value_of = [&pod](const std::string& field) { return FieldValue(pod, field); };
  auto sel = [](const char* text) {
    auto r = FieldSelector::Parse(text);
    EXPECT_TRUE(r.ok()) << text;
    return r.ok() ? *r : FieldSelector();
  };
  EXPECT_TRUE(sel("spec.nodeName=n1").Matches(value_of));
  EXPECT_FALSE(sel("spec.nodeName!=n1").Matches(value_of));
  EXPECT_TRUE(sel("spec.nodeName=n1,metadata.name!=db").Matches(value_of));
  EXPECT_FALSE(sel("spec.nodeName=n1,metadata.name=db").Matches(value_of));
  // Absent is the empty string.
  EXPECT_TRUE(sel("status.phase=").Matches(value_of));
  EXPECT_TRUE(sel("status.phase!=Running").Matches(value_of));
  EXPECT_TRUE(FieldSelector().Matches(value_of));

  EXPECT_EQ(FieldValue(pod, "spec.priority"), "5");
  EXPECT_EQ(FieldValue(pod, "spec.hostNetwork"), "true");
  EXPECT_EQ(FieldValue(pod, "metadata.labels.app.kubernetes.io/name"), "x");
  EXPECT_EQ(FieldValue(pod, "spec.missing"), std::nullopt);
  EXPECT_EQ(FieldValue(pod, "spec.nodeName.deeper"), std::nullopt);
  EXPECT_EQ(FieldValue(pod, "status"), std::nullopt);
}

}  // namespace
}  // namespace capstan::api
