#include "base/yaml.h"

#include <chrono>
#include <cmath>
#include <limits>
#include <random>

#include <gtest/gtest.h>

namespace capstan {
namespace {

using json = nlohmann::json;

json MustParse(std::string_view text) {
  auto r = ParseYaml(text);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << "\n" << text;
  return r.ok() ? *r : json();
}

TEST(ParseYaml, CoreSchemaScalars) {
  struct Case {
    const char* text;
    json want;
  };
  const Case cases[] = {
      {"v: true", true},           {"v: False", false},       {"v: TRUE", true},
      {"v: null", nullptr},        {"v: ~", nullptr},         {"v:", nullptr},
      {"v: 0", 0},                 {"v: -17", -17},           {"v: +17", 17},
      {"v: 0x1F", 31},             {"v: 0o17", 15},           {"v: 0123", 123},
      {"v: 9223372036854775807", std::numeric_limits<int64_t>::max()},
      {"v: -9223372036854775808", std::numeric_limits<int64_t>::min()},
      {"v: 18446744073709551615", std::numeric_limits<uint64_t>::max()},
      {"v: 1.5", 1.5},             {"v: -.5", -0.5},          {"v: 1e3", 1000.0},
      {"v: 2.5E-1", 0.25},         {"v: +1.", 1.0},
      {"v: yes", "yes"},           {"v: on", "on"},           {"v: No", "No"},
      {"v: 0xZZ", "0xZZ"},         {"v: 1.2.3", "1.2.3"},     {"v: 12:30", "12:30"},
      {"v: \"true\"", "true"},     {"v: '1'", "1"},           {"v: \"null\"", "null"},
      {"v: ''", ""},               {"v: !!str 42", "42"},     {"v: !!float 1", 1.0},
      {"v: nginx:1.25", "nginx:1.25"}, {"v: .infinity", ".infinity"},
      {"v: 2001-12-14", "2001-12-14"},
  };
  for (const Case& c : cases) {
    json got = MustParse(c.text);
    EXPECT_EQ(got["v"], c.want) << c.text;
    EXPECT_EQ(got["v"].type(), c.want.type()) << c.text;
  }
}

TEST(ParseYaml, InfinityAndNan) {
  json got = MustParse("a: .inf\nb: -.Inf\nc: .NaN\n");
  EXPECT_TRUE(std::isinf(got["a"].get<double>()) && got["a"].get<double>() > 0);
  EXPECT_TRUE(std::isinf(got["b"].get<double>()) && got["b"].get<double>() < 0);
  EXPECT_TRUE(std::isnan(got["c"].get<double>()));
}

TEST(ParseYaml, ExplicitTagMismatchIsAnError) {
  auto r = ParseYaml("v: !!int abc\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kBadRequest);
  EXPECT_NE(r.status().message().find("!!int"), std::string::npos) << r.status().message();
}

TEST(ParseYaml, KeysAreStrings) {
  json got = MustParse("1: a\ntrue: b\nnull: c\n\"x\": d\n");
  EXPECT_EQ(got, json({{"1", "a"}, {"true", "b"}, {"null", "c"}, {"x", "d"}}));
  auto r = ParseYaml("? [1, 2]\n: x\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("mapping keys must be strings"), std::string::npos);
  r = ParseYaml("{a: 1}: x\n");
  EXPECT_FALSE(r.ok());
}

TEST(ParseYaml, DuplicateKeyIsAnError) {
  auto r = ParseYaml("a: 1\nb: 2\na: 3\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "document 1 (line 3): mapping key \"a\" already defined");
}

TEST(ParseYaml, JsonInputWorks) {
  json got = MustParse(R"({"a": [1, 2.5, "x", null, true], "b": {"c": {}}, "d": []})");
  EXPECT_EQ(got, json::parse(R"({"a": [1, 2.5, "x", null, true], "b": {"c": {}}, "d": []})"));
}

TEST(ParseYaml, AliasesAndMergeKeys) {
  json got = MustParse(
      "base: &b\n  image: nginx\n  port: 80\n"
      "copy: *b\n"
      "merged:\n  <<: *b\n  port: 8080\n"
      "list: &l [1, 2]\nagain: *l\n");
  EXPECT_EQ(got["copy"], json({{"image", "nginx"}, {"port", 80}}));
  EXPECT_EQ(got["merged"], json({{"image", "nginx"}, {"port", 8080}}));
  EXPECT_EQ(got["again"], json({1, 2}));
  // A quoted "<<" is an ordinary key.
  EXPECT_EQ(MustParse("\"<<\": 1\n"), json({{"<<", 1}}));
}

TEST(ParseYaml, SelfReferentialAliasIsRefused) {
  auto r = ParseYaml("a: &x [1, *x]\n");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("alias"), std::string::npos) << r.status().message();
}

TEST(ParseYaml, BillionLaughsIsRefusedFast) {
  std::string doc = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n";
  for (char c = 'b'; c <= 'j'; ++c) {
    std::string prev(1, static_cast<char>(c - 1));
    doc += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) doc += (i ? ",*" : "*") + prev;
    doc += "]\n";
  }
  auto start = std::chrono::steady_clock::now();
  auto r = ParseYaml(doc);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kBadRequest);
  EXPECT_NE(r.status().message().find("nodes after alias expansion"), std::string::npos)
      << r.status().message();
  // No expansion happens before the refusal, so this is microseconds; a generous bound that
  // still fails if the nodes were actually copied (9^9 of them).
  EXPECT_LT(elapsed, std::chrono::seconds(2));

  YamlLimits small;
  small.max_nodes = 50;
  EXPECT_FALSE(ParseYaml("a: &a [1,2,3,4,5,6,7,8,9,10]\nb: [*a, *a, *a, *a, *a]\n", small).ok());
  EXPECT_TRUE(ParseYaml("a: &a [1,2,3,4,5,6,7,8,9,10]\nb: [*a, *a]\n", small).ok());
}

TEST(ParseYaml, DepthLimit) {
  YamlLimits limits;
  limits.max_depth = 10;
  std::string ok = std::string(10, '[') + std::string(10, ']');
  std::string deep = std::string(11, '[') + std::string(11, ']');
  EXPECT_TRUE(ParseYaml(ok, limits).ok());
  auto r = ParseYaml(deep, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nesting deeper than 10 levels"), std::string::npos);

  // An alias does not get around the limit.
  auto aliased = ParseYaml("a: &a [[[[[[1]]]]]]\nb: [[[[[*a]]]]]\n", limits);
  ASSERT_FALSE(aliased.ok());
  EXPECT_NE(aliased.status().message().find("nesting"), std::string::npos);

  // With our limit raised, yaml-cpp's own recursion guard answers, with a clear message.
  limits.max_depth = 100000;
  std::string very_deep = std::string(5000, '[') + std::string(5000, ']');
  r = ParseYaml(very_deep, limits);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("nesting too deep"), std::string::npos) << r.status().message();
}

TEST(ParseYamlDocuments, IndexesLinesAndEmptyDocuments) {
  auto r = ParseYamlDocuments("a: 1\n---\n---\n# just a comment\n---\nkind: Pod\nx: [1]\n");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_EQ((*r)[0].value, json({{"a", 1}}));
  EXPECT_EQ((*r)[0].line, 1);
  EXPECT_TRUE((*r)[1].value.is_null());
  EXPECT_EQ((*r)[1].index, 1);
  EXPECT_EQ((*r)[1].line, 2);
  EXPECT_TRUE((*r)[2].value.is_null());
  EXPECT_EQ((*r)[3].index, 3);
  EXPECT_EQ((*r)[3].line, 5);
  EXPECT_EQ((*r)[3].value["kind"], "Pod");

  auto none = ParseYamlDocuments("");
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(ParseYamlDocuments, ErrorsNameDocumentAndLine) {
  auto r = ParseYamlDocuments("a: 1\n---\nb: 2\n---\nc: 3\nd: [1, 2\ne: 4\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kBadRequest);
  EXPECT_EQ(r.status().message().rfind("document 3 (line ", 0), 0u) << r.status().message();

  r = ParseYamlDocuments("a: 1\n---\nb: c: d\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().rfind("document 2 (line 3): ", 0), 0u) << r.status().message();
}

TEST(ParseYamlDocuments, DocumentLimit) {
  YamlLimits limits;
  limits.max_documents = 3;
  EXPECT_TRUE(ParseYamlDocuments("a: 1\n---\nb: 1\n---\nc: 1\n", limits).ok());
  auto r = ParseYamlDocuments("a: 1\n---\nb: 1\n---\nc: 1\n---\nd: 1\n", limits);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("too many documents"), std::string::npos);
}

TEST(ParseYaml, SingleDocumentRules) {
  EXPECT_FALSE(ParseYaml("").ok());
  EXPECT_FALSE(ParseYaml("# nothing\n").ok());
  auto two = ParseYaml("a: 1\n---\nb: 2\n");
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.status().message().find("single"), std::string::npos);
  EXPECT_EQ(MustParse("---\na: 1\n---\n"), json({{"a", 1}}));
}

TEST(ToYaml, KubectlShape) {
  json pod = json::parse(R"({
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web", "labels": {"app": "web"}, "annotations": {}},
    "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                             "ports": [{"containerPort": 80}], "args": []}],
             "nodeSelector": null}
  })");
  EXPECT_EQ(ToYaml(pod),
            "apiVersion: v1\n"
            "kind: Pod\n"
            "metadata:\n"
            "  annotations: {}\n"
            "  labels:\n"
            "    app: web\n"
            "  name: web\n"
            "spec:\n"
            "  containers:\n"
            "  - args: []\n"
            "    image: nginx:1.25\n"
            "    name: nginx\n"
            "    ports:\n"
            "    - containerPort: 80\n"
            "  nodeSelector: null\n");
  EXPECT_EQ(ToYaml(json::parse(R"([[1, [2]], {"a": [true]}])")), "- - 1\n  - - 2\n- a:\n  - true\n");
  EXPECT_EQ(ToYaml(json::object()), "{}\n");
  EXPECT_EQ(ToYaml(json::array()), "[]\n");
  EXPECT_EQ(ToYaml(3), "3\n");
}

TEST(ToYaml, QuotesStringsThatWouldChangeMeaning) {
  struct Case {
    std::string in;
    std::string out;
  };
  const Case cases[] = {
      {"true", "\"true\""},  {"yes", "\"yes\""},   {"Off", "\"Off\""},   {"null", "\"null\""},
      {"~", "\"~\""},        {"", "\"\""},         {"12", "\"12\""},     {"0x1F", "\"0x1F\""},
      {"1e3", "\"1e3\""},    {".5", "\".5\""},     {".inf", "\".inf\""}, {" lead", "\" lead\""},
      {"trail ", "\"trail \""}, {"a: b", "\"a: b\""}, {"a #b", "\"a #b\""}, {"-x", "\"-x\""},
      {"{x}", "\"{x}\""},    {"[x", "\"[x\""},     {"*x", "\"*x\""},     {"&x", "\"&x\""},
      {"!x", "\"!x\""},      {"|x", "\"|x\""},     {">x", "\">x\""},     {"%x", "\"%x\""},
      {"@x", "\"@x\""},      {"`x", "\"`x\""},     {"'x", "\"'x\""},     {"\"x", "\"\\\"x\""},
      {"tab\there", "\"tab\\there\""}, {"bell\x07", "\"bell\\u0007\""}, {"a:", "\"a:\""},
      {"plain", "plain"},    {"nginx:1.25", "nginx:1.25"}, {"a-b_c.d/e", "a-b_c.d/e"},
      {"héllo wörld", "héllo wörld"}, {"a#b", "a#b"}, {"x:y", "x:y"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ToYaml(json({{"k", c.in}})), "k: " + c.out + "\n") << c.in;
    EXPECT_EQ(ToYaml(json({{c.in, 1}})), c.out + ": 1\n") << c.in;
  }
}

TEST(ToYaml, MultiLineStringsUseLiteralBlocks) {
  EXPECT_EQ(ToYaml(json({{"script", "echo hi\necho bye\n"}})), "script: |\n  echo hi\n  echo bye\n");
  EXPECT_EQ(ToYaml(json({{"s", "a\n\nb"}})), "s: |-\n  a\n\n  b\n");
  EXPECT_EQ(ToYaml(json::array({"x\ny"})), "- |-\n  x\n  y\n");
  // Leading indentation or trailing blanks cannot be expressed safely: quoted instead.
  EXPECT_EQ(ToYaml(json({{"s", "  a\nb"}})), "s: \"  a\\nb\"\n");
  EXPECT_EQ(ToYaml(json({{"s", "a \nb"}})), "s: \"a \\nb\"\n");
}

TEST(ToYaml, NumbersReadBackAsNumbers) {
  json v = {{"i", -5},
            {"u", std::numeric_limits<uint64_t>::max()},
            {"f", 1.0},
            {"g", 1e100},
            {"h", -0.001},
            {"inf", std::numeric_limits<double>::infinity()}};
  std::string text = ToYaml(v);
  EXPECT_NE(text.find("f: 1.0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("inf: .inf\n"), std::string::npos) << text;
  json back = MustParse(text);
  EXPECT_EQ(back, v);
  EXPECT_TRUE(back["f"].is_number_float());
  EXPECT_TRUE(back["u"].is_number_unsigned());
}

void ExpectRoundTrip(const json& v) {
  std::string text = ToYaml(v);
  // Through ParseYamlDocuments: ParseYaml refuses a lone null as an empty document.
  auto back = ParseYamlDocuments(text);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n--- value: " << v.dump() << "\n--- yaml:\n" << text;
  ASSERT_EQ(back->size(), 1u) << text;
  EXPECT_EQ((*back)[0].value, v) << "\n--- yaml:\n" << text;
}

TEST(ToYaml, RoundTripHandPicked) {
  const char* cases[] = {
      R"({"a": {"b": {"c": {}}}, "d": [[], {}, [[]], [{}]], "e": [{"f": []}, {"g": {}}]})",
      R"({"": "", " ": " ", "-": "-", "?": "?", ":": ":", "#": "#", "---": "---", "...": "..."})",
      R"({"multi": "line1\nline2\n", "crlf": "a\r\nb", "only": "\n", "two": "x\n\n", "lead": "\nx"})",
      R"({"uni": "日本語 😀 é", "nel": "a\u0085b", "ls": "a\u2028b", "bom": "\ufeffx", "del": "\u007f"})",
      R"({"esc": "back\\slash \"quote\" \u0001 \t", "k: v": {"# c": [" ", "- x", "a: b"]}})",
      R"([1, -1, 0, 1.5, -0.0, 1e-300, 123456789012345, true, false, null, "1", "true", "null"])",
      R"({"list": [[1, [2, [3, {"a": [4, {"b": "5\n6"}]}]]]]})",
      R"({"<<": {"a": 1}, "=": "=", "y": "n", "NULL": "~", "0o17": "0x10", "+1": "-.inf"})",
      R"({"script": "#!/bin/sh\nset -e\n  indented\n\ttab\nend"})",
      R"({"trail": "a\n ", "spaces": "a\n  \nb", "colon": "a:\nb: c\n"})",
  };
  for (const char* c : cases) ExpectRoundTrip(json::parse(c));
  ExpectRoundTrip(json({{std::string(1500, 'k'), {{"x", 1}}}, {std::string(1200, ':'), json::array({1})}}));
}

// Random JSON over an alphabet of YAML-significant fragments.
class RandomJson {
 public:
  explicit RandomJson(uint32_t seed) : rng_(seed) {}

  json Value(int depth) {
    int kind = Pick(depth > 4 ? 6 : 9);
    switch (kind) {
      case 0: return nullptr;
      case 1: return Pick(2) == 0;
      case 2: return static_cast<int64_t>(rng_()) - (1LL << 31);
      case 3: return static_cast<double>(static_cast<int32_t>(rng_())) / 1024.0;
      case 4:
      case 5: return String();
      case 6:
      case 7: {
        json obj = json::object();
        int n = Pick(4);
        for (int i = 0; i < n; ++i) obj[String()] = Value(depth + 1);
        return obj;
      }
      default: {
        json arr = json::array();
        int n = Pick(4);
        for (int i = 0; i < n; ++i) arr.push_back(Value(depth + 1));
        return arr;
      }
    }
  }

  std::string String() {
    static const char* const kParts[] = {
        "a", "b", "x y", " ", "  ", ":", ": ", "#", " #", "-", "- ", "?", "{", "}", "[", "]", ",",
        "'", "\"", "\\", "|", ">", "&", "*", "!", "%", "@", "`", "~", "\n", "\t", "\r", "0", "1",
        ".", "e", "x", "0x", "0o", "true", "null", "yes", "on", ".inf", ".nan", "é", "日本", "😀",
        "\xc2\x85", "\xe2\x80\xa8", "\x7f", "\x01", "---", "...", "<<", "=",
    };
    std::string s;
    int n = Pick(5);
    for (int i = 0; i < n; ++i) s += kParts[Pick(sizeof(kParts) / sizeof(kParts[0]))];
    return s;
  }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }
  std::mt19937 rng_;
};

TEST(ToYaml, RoundTripRandom) {
  RandomJson gen(20240611);
  for (int i = 0; i < 3000; ++i) {
    json v = gen.Value(0);
    ExpectRoundTrip(v);
    if (HasFailure()) break;  // one counterexample is enough to read
  }
}

TEST(ParseJson, ParsesAndLimitsDepth) {
  auto r = ParseJson(R"({"a": [1, {"b": null}]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)["a"][1], json({{"b", nullptr}}));

  EXPECT_TRUE(ParseJson(std::string(5, '[') + std::string(5, ']'), 5).ok());
  auto deep = ParseJson(std::string(6, '[') + std::string(6, ']'), 5);
  ASSERT_FALSE(deep.ok());
  EXPECT_EQ(deep.status().code(), Code::kBadRequest);
  EXPECT_NE(deep.status().message().find("deeper than 5"), std::string::npos);

  // Far deeper than anything recursive should see, refused without trouble.
  EXPECT_FALSE(ParseJson(std::string(1000000, '[')).ok());
}

TEST(ParseJson, SyntaxErrorNamesByteOffset) {
  auto r = ParseJson(R"({"a": 1,})");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kBadRequest);
  EXPECT_NE(r.status().message().find("byte offset 9"), std::string::npos) << r.status().message();
  EXPECT_EQ(r.status().message().find("[json.exception"), std::string::npos) << r.status().message();
  EXPECT_FALSE(ParseJson("").ok());
  EXPECT_FALSE(ParseJson("{} extra").ok());
}

}  // namespace
}  // namespace capstan
