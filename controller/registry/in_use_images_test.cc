#include "controller/registry/in_use_images.h"

#include <gtest/gtest.h>

namespace capstan::registry {
namespace {

using json = nlohmann::json;

TEST(InUseImagesTest, RegistryHostOfAUrl) {
  EXPECT_EQ(RegistryHostOf("http://127.0.0.1:5000"), "127.0.0.1:5000");
  EXPECT_EQ(RegistryHostOf("https://registry.example.com/"), "registry.example.com");
  EXPECT_EQ(RegistryHostOf("https://registry-1.docker.io"), "docker.io");
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
