// The pure part of containerd_images.cc: a CRI Image as the driver reports it. (The image
// operations themselves are tested against a real containerd in containerd_plugin_test.cc.)
#include <gtest/gtest.h>

#include <string>

#include "plugins/containerd/containerd_driver.h"

namespace capstan::plugins::containerd {
namespace {

TEST(ContainerdImages, ContainerdsPinnedFlagIsKept) {
  // Image as containerd sends it: id (1), repo_tags (2), size (4), spec (7, an ImageSpec), and
  // pinned (8) true, the field numbers of k8s.io/cri-api's runtime.v1 Image.
  const std::string spec = std::string("\x0a\x05pause", 7);  // ImageSpec.image = "pause"
  const std::string wire = std::string("\x0a\x02id", 4) + std::string("\x12\x07pause:3", 9) +
                           std::string("\x20\x80\x08", 3) + "\x3a" + static_cast<char>(spec.size()) + spec +
                           std::string("\x40\x01", 2);
  cri::Image parsed;
  ASSERT_TRUE(parsed.ParseFromString(wire));
  const sdk::Image image = ImageFromCri(parsed);
  EXPECT_EQ(image.id, "id");
  EXPECT_EQ(image.tags, std::vector<std::string>{"pause:3"});
  EXPECT_EQ(image.size_bytes, 1024);
  EXPECT_TRUE(image.pinned) << "containerd's pinned flag, field 8";

  cri::Image unpinned;
  ASSERT_TRUE(unpinned.ParseFromString(wire.substr(0, wire.size() - 2)));
  EXPECT_FALSE(ImageFromCri(unpinned).pinned) << "an ImageSpec in field 7 is not the flag";
}

}  // namespace
}  // namespace capstan::plugins::containerd
