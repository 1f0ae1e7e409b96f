#include "plugins/containerd/run_status.h"

#include <gtest/gtest.h>

#include "plugins/containerd/pod_request.h"

namespace capstan::plugins::containerd {
namespace {

const std::string kId(64, 'a');

cri::ContainerStatus Status(cri::ContainerState state) {
  cri::ContainerStatus s;
  s.set_id(kId);
  s.mutable_metadata()->set_name("c0");
  s.set_state(state);
  s.set_created_at(100);
  s.mutable_image()->set_image("docker.io/capstan-test/busybox:1");
  s.set_image_ref("sha256:abc");
  (*s.mutable_annotations())[kImageAnnotation] = "capstan-test/busybox:1";
  return s;
}

TEST(ContainerdRunStatus, FullIdsOnly) {
  EXPECT_TRUE(IsFullId(kId));
  EXPECT_TRUE(IsFullId("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
  EXPECT_FALSE(IsFullId("abc")) << "a prefix would name any sandbox that starts with it";
  EXPECT_FALSE(IsFullId(std::string(64, 'A')));
  EXPECT_FALSE(IsFullId(std::string(65, 'a')));
  EXPECT_FALSE(IsFullId("capstan-conformance-no-such-run"));
}

TEST(ContainerdRunStatus, States) {
  cri::ContainerStatus running = Status(cri::CONTAINER_RUNNING);
  running.set_started_at(200);
  sdk::ContainerStatus s = StatusFromCri(running);
  EXPECT_EQ(s.name, "c0");
  EXPECT_EQ(s.id, kId);
  EXPECT_EQ(s.image, "capstan-test/busybox:1") << "as the spec named it";
  EXPECT_EQ(s.image_id, "sha256:abc");
  EXPECT_EQ(s.state, sdk::ContainerState::kRunning);
  EXPECT_TRUE(s.ready);
  EXPECT_EQ(s.started_at_unix_nano, 200);
  EXPECT_FALSE(s.finished_at_unix_nano.has_value());

  cri::ContainerStatus exited = Status(cri::CONTAINER_EXITED);
  exited.set_started_at(200);
  exited.set_finished_at(300);
  exited.set_exit_code(137);
  exited.set_reason("Error");
  exited.set_message("killed");
  s = StatusFromCri(exited);
  EXPECT_EQ(s.state, sdk::ContainerState::kTerminated);
  EXPECT_FALSE(s.ready);
  EXPECT_EQ(s.exit_code, 137);
  EXPECT_EQ(s.reason, "Error");
  EXPECT_EQ(s.message, "killed");
  EXPECT_EQ(s.finished_at_unix_nano, 300);

  exited.clear_reason();
  exited.set_exit_code(0);
  EXPECT_EQ(StatusFromCri(exited).reason, "Completed");

  // Never started (containerd's StartError): terminated, with a finish time all the same.
  cri::ContainerStatus start_error = Status(cri::CONTAINER_EXITED);
  start_error.set_exit_code(128);
  start_error.set_reason("StartError");
  s = StatusFromCri(start_error);
  EXPECT_EQ(s.reason, "StartError");
  EXPECT_EQ(s.finished_at_unix_nano, 100);
  EXPECT_FALSE(s.started_at_unix_nano.has_value());

  s = StatusFromCri(Status(cri::CONTAINER_CREATED));
  EXPECT_EQ(s.state, sdk::ContainerState::kWaiting);
  EXPECT_EQ(s.reason, "ContainerCreating");
  s = StatusFromCri(Status(cri::CONTAINER_UNKNOWN));
  EXPECT_EQ(s.state, sdk::ContainerState::kWaiting);
  EXPECT_EQ(s.reason, "Unknown");

  cri::ContainerStatus no_annotation = Status(cri::CONTAINER_RUNNING);
  no_annotation.clear_annotations();
  EXPECT_EQ(StatusFromCri(no_annotation).image, "docker.io/capstan-test/busybox:1");
}

TEST(ContainerdRunStatus, HandlesListContainersInSpecOrder) {
  std::vector<cri::Container> containers(3);
  const char* names[] = {"b", "a", "c"};
  const char* index[] = {"1", "0", nullptr};
  for (int i = 0; i < 3; ++i) {
    containers[i].set_id(std::string(64, static_cast<char>('a' + i)));
    containers[i].mutable_metadata()->set_name(names[i]);
    containers[i].set_created_at(10 - i);
    if (index[i] != nullptr) (*containers[i].mutable_annotations())[kIndexAnnotation] = index[i];
  }
  SortBySpecOrder(&containers);
  cri::PodSandboxMetadata meta;
  meta.set_uid("u");
  meta.set_namespace_("ns");
  meta.set_name("p");
  const sdk::PodRunHandle h = HandleOf(kId, meta, containers);
  EXPECT_EQ(h.id, kId);
  EXPECT_EQ(h.pod.uid, "u");
  EXPECT_EQ(h.pod.namespace_name, "ns");
  EXPECT_EQ(h.pod.name, "p");
  ASSERT_EQ(h.containers.size(), 3u);
  EXPECT_EQ(h.containers[0].name, "a");
  EXPECT_EQ(h.containers[1].name, "b");
  EXPECT_EQ(h.containers[2].name, "c") << "one without an index goes last";
  EXPECT_EQ(h.containers[1].id, std::string(64, 'a'));
}

TEST(ContainerdRunStatus, OursByLabel) {
  google::protobuf::Map<std::string, std::string> labels;
  EXPECT_FALSE(IsOurs(labels));
  labels[kDriverLabel] = "docker";
  EXPECT_FALSE(IsOurs(labels));
  labels[kDriverLabel] = kDriverLabelValue;
  EXPECT_TRUE(IsOurs(labels));
}

}  // namespace
}  // namespace capstan::plugins::containerd
