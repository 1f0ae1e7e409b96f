#include "controller/registry/registry_credentials.h"

#include <gtest/gtest.h>

#include "base/base64.h"

namespace capstan::registry {
namespace {

using json = nlohmann::json;

TEST(RegistryCredentialsTest, BasicAuthSecret) {
  json secret = {{"metadata", {{"name", "auth"}}},
                 {"type", "kubernetes.io/basic-auth"},
                 {"data", {{"username", Base64Encode("alice")}, {"password", Base64Encode("s3cret")}}}};
  RegistryEndpoint endpoint{"http://127.0.0.1:5000", "", "", "", false};
  ASSERT_TRUE(ApplyCredentialsSecret(secret, &endpoint).ok());
  EXPECT_EQ(endpoint.username, "alice");
  EXPECT_EQ(endpoint.password, "s3cret");
  secret["data"].erase("password");
  Status missing = ApplyCredentialsSecret(secret, &endpoint);
  EXPECT_NE(missing.message().find("auth: needs data.username and data.password"), std::string::npos);
}

TEST(RegistryCredentialsTest, DockerConfigJsonPicksTheRegistrysEntry) {
  json config = {{"auths",
                  {{"https://other.example.com", {{"username", "x"}, {"password", "y"}}},
                   {"http://127.0.0.1:5000/v2/", {{"auth", Base64Encode("bob:pw:with:colons")}}}}}};
  json secret = {{"metadata", {{"name", "pull"}}},
                 {"type", "kubernetes.io/dockerconfigjson"},
                 {"data", {{".dockerconfigjson", Base64Encode(config.dump())}}}};
  RegistryEndpoint endpoint{"http://127.0.0.1:5000", "", "", "", false};
  ASSERT_TRUE(ApplyCredentialsSecret(secret, &endpoint).ok());
  EXPECT_EQ(endpoint.username, "bob");
  EXPECT_EQ(endpoint.password, "pw:with:colons");
  RegistryEndpoint elsewhere{"https://nope.example.com", "", "", "", false};
  Status none = ApplyCredentialsSecret(secret, &elsewhere);
  EXPECT_NE(none.message().find("no auths entry for nope.example.com"), std::string::npos) << none.message();
}

TEST(RegistryCredentialsTest, CaSecret) {
  RegistryEndpoint endpoint;
  ASSERT_TRUE(ApplyCaSecret({{"data", {{"ca.crt", Base64Encode("-----BEGIN CERTIFICATE-----")}}}}, &endpoint).ok());
  EXPECT_EQ(endpoint.ca_pem, "-----BEGIN CERTIFICATE-----");
  EXPECT_FALSE(ApplyCaSecret({{"metadata", {{"name", "ca"}}}, {"data", json::object()}}, &endpoint).ok());
}

}  // namespace
}  // namespace capstan::registry
