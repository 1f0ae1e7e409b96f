#include "plugins/common/image_ref.h"

#include <gtest/gtest.h>

namespace capstan::plugins {
namespace {

TEST(PluginImageRef, DefaultTagOnlyWithoutTagOrDigest) {
  EXPECT_EQ(WithDefaultTag("busybox"), "busybox:latest");
  EXPECT_EQ(WithDefaultTag("busybox:1.36"), "busybox:1.36");
  EXPECT_EQ(WithDefaultTag("library/busybox"), "library/busybox:latest");
  EXPECT_EQ(WithDefaultTag("localhost:5000/app"), "localhost:5000/app:latest");
  EXPECT_EQ(WithDefaultTag("127.0.0.1:5000/team/app:v2"), "127.0.0.1:5000/team/app:v2");
  EXPECT_EQ(WithDefaultTag("app@sha256:0123"), "app@sha256:0123");
  EXPECT_EQ(WithDefaultTag("localhost:5000/app@sha256:0123"), "localhost:5000/app@sha256:0123");
  EXPECT_EQ(WithDefaultTag("sha256:0123"), "sha256:0123") << "an image id";
}

TEST(PluginImageRef, NormalisesAsContainerdDoes) {
  EXPECT_EQ(NormalizeImageRef("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(NormalizeImageRef("busybox:1.36"), "docker.io/library/busybox:1.36");
  EXPECT_EQ(NormalizeImageRef("capstan-test/pause:1"), "docker.io/capstan-test/pause:1");
  EXPECT_EQ(NormalizeImageRef("docker.io/capstan-test/pause:1"), "docker.io/capstan-test/pause:1");
  EXPECT_EQ(NormalizeImageRef("registry.k8s.io/pause:3.6"), "registry.k8s.io/pause:3.6");
  EXPECT_EQ(NormalizeImageRef("localhost/x"), "localhost/x:latest");
  EXPECT_EQ(NormalizeImageRef("127.0.0.1:5000/team/app"), "127.0.0.1:5000/team/app:latest");
  EXPECT_EQ(NormalizeImageRef("127.0.0.1:5000/app:2"), "127.0.0.1:5000/app:2");
  EXPECT_EQ(NormalizeImageRef("busybox@sha256:0123"), "docker.io/library/busybox@sha256:0123");
  EXPECT_EQ(NormalizeImageRef("busybox:1@sha256:0123"), "docker.io/library/busybox:1@sha256:0123");
  EXPECT_EQ(NormalizeImageRef("sha256:0123"), "sha256:0123") << "an image id";
  EXPECT_EQ(NormalizeImageRef("index.docker.io/me/app"), "docker.io/me/app:latest");
  EXPECT_EQ(NormalizeImageRef("index.docker.io/busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(NormalizeImageRef("docker.io/busybox:1"), "docker.io/library/busybox:1");
  EXPECT_EQ(NormalizeImageRef("docker.io/library/busybox:1.36"), "docker.io/library/busybox:1.36");
  EXPECT_EQ(NormalizeImageRef("reg.example.com/a/b@sha256:abc"), "reg.example.com/a/b@sha256:abc");
}

}  // namespace
}  // namespace capstan::plugins
