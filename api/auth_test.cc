// Bearer tokens, the two roles, the token file, and request-path parsing.
#include "api/auth.h"

#include <fstream>

#include <gtest/gtest.h>

#include "api/api_test_util.h"
#include "api/request_info.h"

namespace capstan::api {
namespace {

using testing::ApiTest;
using testing::BodyOf;
using testing::ConfigMap;
using testing::Request;

constexpr char kConfigMaps[] = "/api/v1/namespaces/default/configmaps";

class AuthTest : public ApiTest {};

TEST_F(AuthTest, NoTokenIs401ExceptHealthAndVersion) {
  for (const char* open : {"/healthz", "/livez", "/readyz", "/version"}) {
    EXPECT_EQ(Do(Request("GET", open, "", "", "")).status, 200) << open;
  }
  for (const char* closed : {"/api", "/apis", "/api/v1", "/openapi/v3", kConfigMaps}) {
    HttpResponse r = Do(Request("GET", closed, "", "", ""));
    EXPECT_EQ(r.status, 401) << closed;
    EXPECT_EQ(BodyOf(r)["reason"], "Unauthorized");
  }
  EXPECT_EQ(Do(Request("GET", kConfigMaps, "", "", "wrong-token-0123456789")).status, 401);
  HttpRequest basic = Request("GET", kConfigMaps, "", "", "");
  basic.headers.Add("Authorization", "Basic YWRtaW46YWRtaW4=");
  EXPECT_EQ(Do(basic).status, 401);
  // The scheme is case-insensitive (RFC 7235), as client libraries sometimes send "bearer".
  HttpRequest lower = Request("GET", kConfigMaps, "", "", "");
  lower.headers.Add("Authorization", std::string("bearer ") + testing::kAdminToken);
  EXPECT_EQ(Do(lower).status, 200);
}

TEST_F(AuthTest, ViewRoleReadsOnly) {
  ASSERT_EQ(Do("POST", kConfigMaps, ConfigMap("a")).status, 201);
  auto as_viewer = [&](const std::string& method, const std::string& target, const std::string& body = "") {
    return Do(Request(method, target, body, "application/json", testing::kViewToken));
  };
  EXPECT_EQ(as_viewer("GET", kConfigMaps).status, 200);
  EXPECT_EQ(as_viewer("GET", std::string(kConfigMaps) + "/a").status, 200);
  EXPECT_EQ(as_viewer("GET", "/apis/apps/v1").status, 200);
  EXPECT_EQ(as_viewer("GET", "/openapi/v3").status, 200);
  HttpResponse w = as_viewer("GET", std::string(kConfigMaps) + "?watch=1&timeoutSeconds=1");
  EXPECT_EQ(w.status, 200);
  EXPECT_NE(w.stream, nullptr);
  if (w.stream) w.stream->Close();

  HttpResponse c = as_viewer("POST", kConfigMaps, ConfigMap("b").dump());
  EXPECT_EQ(c.status, 403);
  EXPECT_EQ(BodyOf(c)["reason"], "Forbidden");
  EXPECT_EQ(BodyOf(c)["message"].get<std::string>().rfind(
                "configmaps is forbidden: User \"viewer\" cannot create resource \"configmaps\" in API group \"\" in "
                "the namespace \"default\"",
                0),
            0u)
      << c.body;
  EXPECT_EQ(as_viewer("PUT", std::string(kConfigMaps) + "/a", ConfigMap("a").dump()).status, 403);
  EXPECT_EQ(as_viewer("DELETE", std::string(kConfigMaps) + "/a").status, 403);
  EXPECT_EQ(as_viewer("POST", "/capstan/v1/backup", R"({"dir":"/tmp/x"})").status, 403);
  EXPECT_EQ(Do("GET", std::string(kConfigMaps) + "/a").status, 200);  // still there

  // The admin may do everything.
  EXPECT_EQ(Do("DELETE", std::string(kConfigMaps) + "/a").status, 200);
}

TEST_F(AuthTest, BackupIsAdminOnly) {
  std::string called;
  ApiHandlerOptions opts;
  opts.backup = [&](const std::string& dir) {
    called = dir;
    return Status::Ok();
  };
  ApiHandler h(service_.get(), &auth_, opts);
  EXPECT_EQ(h.Handle(Request("POST", "/capstan/v1/backup", R"({"dir":"/srv/b1"})")).status, 200);
  EXPECT_EQ(called, "/srv/b1");
  EXPECT_EQ(h.Handle(Request("POST", "/capstan/v1/backup", R"({"where":1})")).status, 400);
  EXPECT_EQ(h.Handle(Request("GET", "/capstan/v1/backup")).status, 405);

  // Without authentication (a development server) the endpoint still exists.
  opts.require_auth = false;
  ApiHandler open(service_.get(), nullptr, opts);
  EXPECT_EQ(open.Handle(Request("POST", "/capstan/v1/backup", R"({"dir":"/srv/b2"})", "application/json", "")).status,
            200);
  EXPECT_EQ(called, "/srv/b2");
  EXPECT_EQ(open.Handle(Request("GET", kConfigMaps, "", "", "")).status, 200);
}

TEST_F(AuthTest, TokenFile) {
  const std::string path = dir_.Sub("tokens.csv");
  {
    std::ofstream out(path);
    out << "# token,user,role\n\n"
        << "aaaaaaaaaaaaaaaa1234,alice,admin\n"
        << "  bbbbbbbbbbbbbbbb1234 , bob , view  \n";
  }
  TokenAuthenticator a;
  ASSERT_TRUE(a.LoadTokenFile(path).ok());
  EXPECT_EQ(a.size(), 2u);
  auto alice = a.Authenticate(Request("GET", "/", "", "", "aaaaaaaaaaaaaaaa1234"));
  ASSERT_TRUE(alice.has_value());
  EXPECT_EQ(alice->user, "alice");
  EXPECT_EQ(alice->role, Role::kAdmin);
  auto bob = a.Authenticate(Request("GET", "/", "", "", "bbbbbbbbbbbbbbbb1234"));
  ASSERT_TRUE(bob.has_value());
  EXPECT_EQ(bob->role, Role::kView);
  EXPECT_FALSE(a.Authenticate(Request("GET", "/", "", "", "cccccccccccccccc1234")).has_value());

  auto write = [&](const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  };
  write("aaaaaaaaaaaaaaaa1234,alice,admin\nshort,bob,view\n");
  TokenAuthenticator b;
  Status st = b.LoadTokenFile(path);
  EXPECT_EQ(st.code(), Code::kInvalid);
  EXPECT_NE(st.message().find(path + ":2:"), std::string::npos) << st.message();

  write("# c\naaaaaaaaaaaaaaaa1234,alice,root\n");
  TokenAuthenticator c;
  st = c.LoadTokenFile(path);
  EXPECT_NE(st.message().find(":2:"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("root"), std::string::npos) << st.message();

  write("aaaaaaaaaaaaaaaa1234,alice\n");
  TokenAuthenticator d;
  st = d.LoadTokenFile(path);
  EXPECT_NE(st.message().find(":1:"), std::string::npos) << st.message();

  TokenAuthenticator e;
  EXPECT_FALSE(e.LoadTokenFile(dir_.Sub("missing")).ok());
}

TEST(AuthorizedTest, Roles) {
  Identity view{"v", Role::kView}, admin{"a", Role::kAdmin};
  for (const char* verb : {"get", "list", "watch"}) {
    EXPECT_TRUE(Authorized(view, verb));
    EXPECT_TRUE(Authorized(admin, verb));
  }
  for (const char* verb : {"create", "update", "patch", "delete", "deletecollection"}) {
    EXPECT_FALSE(Authorized(view, verb)) << verb;
    EXPECT_TRUE(Authorized(admin, verb)) << verb;
  }
  auto t1 = GenerateToken();
  auto t2 = GenerateToken();
  ASSERT_TRUE(t1.ok() && t2.ok());
  EXPECT_EQ(t1->size(), 64u);
  EXPECT_NE(*t1, *t2);
}

TEST(RequestInfoTest, Paths) {
  auto parse = [](const std::string& method, const std::string& target) {
    RequestInfo info;
    bool ok = ParseRequestInfo(Request(method, target), &info);
    EXPECT_TRUE(ok) << target;
    return info;
  };
  RequestInfo a = parse("GET", "/apis/apps/v1/namespaces/ns1/deployments/web/scale");
  EXPECT_TRUE(a.is_resource);
  EXPECT_EQ(a.group, "apps");
  EXPECT_EQ(a.namespace_, "ns1");
  EXPECT_EQ(a.resource, "deployments");
  EXPECT_EQ(a.name, "web");
  EXPECT_EQ(a.subresource, "scale");
  EXPECT_EQ(a.verb, "get");

  RequestInfo ns = parse("GET", "/api/v1/namespaces/ns1");
  EXPECT_EQ(ns.resource, "namespaces");
  EXPECT_EQ(ns.name, "ns1");
  EXPECT_EQ(ns.namespace_, "");
  RequestInfo st = parse("PUT", "/api/v1/namespaces/ns1/status");
  EXPECT_EQ(st.resource, "namespaces");
  EXPECT_EQ(st.name, "ns1");
  EXPECT_EQ(st.subresource, "status");
  EXPECT_EQ(st.verb, "update");
  RequestInfo fin = parse("PUT", "/api/v1/namespaces/ns1/finalize");
  EXPECT_EQ(fin.resource, "namespaces");
  EXPECT_EQ(fin.subresource, "finalize");

  EXPECT_EQ(parse("GET", "/api/v1/pods").verb, "list");
  EXPECT_EQ(parse("GET", "/api/v1/pods?watch=true").verb, "watch");
  EXPECT_EQ(parse("GET", "/api/v1/watch/namespaces/a/pods").verb, "watch");
  EXPECT_EQ(parse("DELETE", "/api/v1/namespaces/a/pods").verb, "deletecollection");
  EXPECT_EQ(parse("DELETE", "/api/v1/namespaces/a/pods/p").verb, "delete");
  EXPECT_EQ(parse("PATCH", "/api/v1/namespaces/a/pods/p").verb, "patch");
  EXPECT_EQ(parse("POST", "/api/v1/namespaces/a/pods").verb, "create");
  EXPECT_FALSE(parse("GET", "/api/v1").is_resource);
  EXPECT_FALSE(parse("GET", "/healthz").is_resource);

  RequestInfo bad;
  EXPECT_FALSE(ParseRequestInfo(Request("GET", "/api/v1/namespaces/a/pods/p/status/extra"), &bad));
}

}  // namespace
}  // namespace capstan::api
