#include "controller/registry/in_use_images.h"

#include <gtest/gtest.h>

namespace capstan::registry {
namespace {

using json = nlohmann::json;

TEST(InUseImagesTest, RegistryHostOfAUrl) {
  EXPECT_EQ(RegistryHostOf("http://127.0.0.1:5000"), "localhost:5000");
  EXPECT_EQ(RegistryHostOf("https://registry.example.com/"), "registry.example.com");
  EXPECT_EQ(RegistryHostOf("https://registry-1.docker.io"), "docker.io");
  EXPECT_EQ(RegistryHostOf("HTTPS://Registry.Example.COM:443/v2/"), "registry.example.com");
  EXPECT_EQ(RegistryHostOf("http://r.example.com:80"), "r.example.com");
  EXPECT_EQ(RegistryHostOf("http://r.example.com:443"), "r.example.com:443");  // not http's default
  EXPECT_EQ(RegistryHostOf("http://[::1]:5000"), "localhost:5000");
}

TEST(InUseImagesTest, HostsMatchWhateverSpellingTheReferenceUses) {
  for (const char* url : {"http://127.0.0.1:5000", "http://localhost:5000", "http://[::1]:5000"}) {
    InUseSet in_use;
    for (const char* image : {"localhost:5000/a:1", "127.0.0.1:5000/b:2", "[::1]:5000/c:3", "LocalHost:5000/d:4",
                              "localhost:5001/e:5", "localhost/f:6"}) {
      AddImageRef(image, RegistryHostOf(url), &in_use);
    }
    EXPECT_EQ(in_use, (InUseSet{"a:1", "b:2", "c:3", "d:4"})) << url;
  }
  InUseSet tls;
  for (const char* image : {"registry.example.com:443/a:1", "Registry.example.com/b:2", "registry.example.com:8443/c:3"}) {
    AddImageRef(image, RegistryHostOf("https://registry.example.com"), &tls);
  }
  EXPECT_EQ(tls, (InUseSet{"a:1", "b:2"}));
}

TEST(InUseImagesTest, ABareConfigDigestFromDockerCountsForTheStatusImagesRepository) {
  json pod = {{"spec", {{"containers", {{{"name", "c"}, {"image", "127.0.0.1:5000/app/web:v1"}}}}}},
              {"status", {{"containerStatuses", {{{"image", "127.0.0.1:5000/app/web:v1"}, {"imageID", "sha256:cfg"}},
                                                 {{"image", "busybox"}, {"imageID", "sha256:other"}}}}}}};
  InUseSet in_use;
  AddWorkloadImages(pod, RegistryHostOf("http://localhost:5000"), &in_use);
  EXPECT_EQ(in_use, (InUseSet{"app/web:v1", InUseConfigKey("app/web", "sha256:cfg")}));
}

TEST(InUseImagesTest, ReferencesOnTheRegistryByTagAndDigest) {
  InUseSet in_use;
  AddImageRef("127.0.0.1:5000/app/web:v1", "127.0.0.1:5000", &in_use);
  AddImageRef("127.0.0.1:5000/app/api", "127.0.0.1:5000", &in_use);  // :latest
  AddImageRef("127.0.0.1:5000/app/db:v2@sha256:abc", "127.0.0.1:5000", &in_use);
  AddImageRef("127.0.0.1:5000/tools@sha256:def", "127.0.0.1:5000", &in_use);
  AddImageRef("127.0.0.1:5001/app/web:v9", "127.0.0.1:5000", &in_use);  // another registry
  AddImageRef("busybox", "127.0.0.1:5000", &in_use);
  EXPECT_EQ(in_use, (InUseSet{"app/web:v1", "app/api:latest", "app/db:v2", "app/db@sha256:abc", "tools@sha256:def"}));
  InUseSet hub;
  AddImageRef("busybox:1.36", "docker.io", &hub);
  EXPECT_EQ(hub, InUseSet{"library/busybox:1.36"});
}

TEST(InUseImagesTest, PodsAndTemplatesWithEveryContainerList) {
  json deployment = {{"spec", {{"template", {{"spec", {{"containers", {{{"image", "r.io/a:1"}}}},
                                                        {"initContainers", {{{"image", "r.io/init:2"}}}}}}}}}}};
  json pod = {{"spec", {{"containers", {{{"image", "r.io/b:3"}}}}}},
              {"status", {{"containerStatuses", {{{"imageID", "docker-pullable://r.io/b@sha256:123"}}}}}}};
  InUseSet in_use;
  AddWorkloadImages(deployment, "r.io", &in_use);
  AddWorkloadImages(pod, "r.io", &in_use);
  EXPECT_EQ(in_use, (InUseSet{"a:1", "init:2", "b:3", "b@sha256:123"}));
}

}  // namespace
}  // namespace capstan::registry
