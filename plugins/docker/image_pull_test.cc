#include "plugins/docker/image_pull.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace capstan::plugins::docker {
namespace {

TEST(DockerBase64Url, Rfc4648Vectors) {
  EXPECT_EQ(Base64Url(""), "");
  EXPECT_EQ(Base64Url("f"), "Zg==");
  EXPECT_EQ(Base64Url("fo"), "Zm8=");
  EXPECT_EQ(Base64Url("foo"), "Zm9v");
  EXPECT_EQ(Base64Url("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Url("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Url("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Url("\xfb\xff\xbf"), "-_-_") << "the URL-safe alphabet";
}

TEST(DockerRegistryAuthHeader, DockersAuthConfigJson) {
  sdk::RegistryAuth auth;
  auth.username = "ci";
  auth.password = "s3cret";
  auth.server_address = "registry.example:5000";
  // {"password":"s3cret","serveraddress":"registry.example:5000","username":"ci"}
  const std::string header = RegistryAuthHeader(auth);
  EXPECT_EQ(header, Base64Url(R"({"password":"s3cret","serveraddress":"registry.example:5000","username":"ci"})"));
  EXPECT_EQ(header.find_first_of("+/"), std::string::npos);
  sdk::RegistryAuth token;
  token.identity_token = "tok";
  EXPECT_EQ(RegistryAuthHeader(token), Base64Url(R"({"identitytoken":"tok"})"));
}

TEST(DockerPullError, ClassifiesTheEnginesMessages) {
  auto code = [](const char* m) { return PullError(m, "pull x").code; };
  EXPECT_EQ(code("pull access denied for x, repository does not exist or may require 'docker login': denied: "
                 "requested access to the resource is denied"),
            CAPSTAN_ERR_PERMISSION_DENIED);
  EXPECT_EQ(code("Head \"https://r/v2/x/manifests/latest\": unauthorized: authentication required"),
            CAPSTAN_ERR_PERMISSION_DENIED);
  EXPECT_EQ(code("manifest for r/x:latest not found: manifest unknown: manifest unknown"), CAPSTAN_ERR_NOT_FOUND);
  EXPECT_EQ(code("Get \"https://r/v2/\": dial tcp 10.0.0.1:443: connect: connection refused"),
            CAPSTAN_ERR_UNAVAILABLE);
  EXPECT_EQ(code("Get \"https://nowhere/v2/\": dial tcp: lookup nowhere: no such host"), CAPSTAN_ERR_UNAVAILABLE);
  EXPECT_EQ(code("failed to register layer: devmapper"), CAPSTAN_ERR_INTERNAL);
  EXPECT_EQ(PullError("manifest unknown", "pull x").message, "pull x: manifest unknown");
}

}  // namespace
}  // namespace capstan::plugins::docker
