#include "plugins/containerd/image_ref.h"

#include <gtest/gtest.h>

namespace capstan::plugins::containerd {
namespace {

TEST(ContainerdImageRef, NormalisesAsContainerdDoes) {
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
}

}  // namespace
}  // namespace capstan::plugins::containerd
