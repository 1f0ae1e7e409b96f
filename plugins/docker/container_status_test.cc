#include "plugins/docker/container_status.h"

#include <gtest/gtest.h>

#include "plugins/docker/container_config.h"

namespace capstan::plugins::docker {
namespace {

using json = nlohmann::json;
using sdk::ContainerState;

constexpr int64_t kNow = 1800000000000000000;

json Inspect(const std::string& state_json) {
  json j = json::parse(R"({
    "Id": "c0ffee", "Image": "sha256:abc", "Created": "2024-05-01T09:59:59.5Z",
    "Config": {"Image": "busybox:1.36", "Labels": {"driver.capstan.io/container": "app"}}})");
  j["State"] = json::parse(state_json);
  return j;
}

TEST(DockerEngineTime, ParsesDockersRfc3339) {
  EXPECT_EQ(ParseEngineTime("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseEngineTime("2024-05-01T10:00:00Z"), int64_t{1714557600} * 1000000000);
  EXPECT_EQ(ParseEngineTime("2024-05-01T10:00:00.123456789Z"), int64_t{1714557600} * 1000000000 + 123456789);
  EXPECT_EQ(ParseEngineTime("2024-05-01T10:00:00.5Z"), int64_t{1714557600} * 1000000000 + 500000000);
  EXPECT_EQ(ParseEngineTime("2024-05-01T12:00:00+02:00"), int64_t{1714557600} * 1000000000);
  EXPECT_EQ(ParseEngineTime("2024-05-01T10:00:00.1234567891Z"), int64_t{1714557600} * 1000000000 + 123456789)
      << "digits past nanoseconds are dropped";
  for (const char* none : {"0001-01-01T00:00:00Z", "", "2024-05-01", "2024-05-01T10:00:00", "2024-13-01T10:00:00Z",
                           "2024-05-01T10:00:00.Z", "2024-05-01T10:00:00Zjunk"}) {
    EXPECT_FALSE(ParseEngineTime(none).has_value()) << none;
  }
}

TEST(DockerStatusFromInspect, Running) {
  const sdk::ContainerStatus s = StatusFromInspect(
      Inspect(R"({"Status": "running", "Running": true, "ExitCode": 0, "StartedAt": "2024-05-01T10:00:00Z",
                 "FinishedAt": "0001-01-01T00:00:00Z"})"),
      kNow);
  EXPECT_EQ(s.name, "app");
  EXPECT_EQ(s.id, "c0ffee");
  EXPECT_EQ(s.image, "busybox:1.36");
  EXPECT_EQ(s.image_id, "sha256:abc");
  EXPECT_EQ(s.state, ContainerState::kRunning);
  EXPECT_TRUE(s.ready);
  EXPECT_EQ(s.started_at_unix_nano, int64_t{1714557600} * 1000000000);
  EXPECT_FALSE(s.finished_at_unix_nano.has_value());
}

TEST(DockerStatusFromInspect, CreatedIsWaiting) {
  const sdk::ContainerStatus s = StatusFromInspect(
      Inspect(R"({"Status": "created", "ExitCode": 0, "Error": "", "StartedAt": "0001-01-01T00:00:00Z"})"), kNow);
  EXPECT_EQ(s.state, ContainerState::kWaiting);
  EXPECT_EQ(s.reason, "ContainerCreating");
  EXPECT_FALSE(s.ready);
}

TEST(DockerStatusFromInspect, ExitedCompletedErrorAndOom) {
  const sdk::ContainerStatus ok = StatusFromInspect(
      Inspect(R"({"Status": "exited", "ExitCode": 0, "StartedAt": "2024-05-01T10:00:00Z",
                 "FinishedAt": "2024-05-01T10:00:05Z"})"),
      kNow);
  EXPECT_EQ(ok.state, ContainerState::kTerminated);
  EXPECT_EQ(ok.reason, "Completed");
  EXPECT_EQ(ok.exit_code, 0);
  EXPECT_EQ(ok.finished_at_unix_nano, int64_t{1714557605} * 1000000000);
  EXPECT_FALSE(ok.ready);
  const sdk::ContainerStatus killed = StatusFromInspect(
      Inspect(R"({"Status": "exited", "ExitCode": 137, "FinishedAt": "2024-05-01T10:00:05Z"})"), kNow);
  EXPECT_EQ(killed.reason, "Error");
  EXPECT_EQ(killed.exit_code, 137);
  const sdk::ContainerStatus oom = StatusFromInspect(
      Inspect(R"({"Status": "exited", "ExitCode": 137, "OOMKilled": true, "FinishedAt": "2024-05-01T10:00:05Z"})"),
      kNow);
  EXPECT_EQ(oom.reason, "OOMKilled");
  const sdk::ContainerStatus removing = StatusFromInspect(Inspect(R"({"Status": "removing", "ExitCode": 0})"), kNow);
  EXPECT_EQ(removing.state, ContainerState::kTerminated);
  EXPECT_EQ(removing.finished_at_unix_nano, kNow) << "a terminated container always has a finish time";
}

TEST(DockerStatusFromInspect, AFailedStartIsAStartError) {
  const sdk::ContainerStatus s = StatusFromInspect(
      Inspect(R"({"Status": "created", "ExitCode": 127, "StartedAt": "0001-01-01T00:00:00Z",
                 "FinishedAt": "0001-01-01T00:00:00Z",
                 "Error": "exec: \"nosuch\": executable file not found in $PATH"})"),
      kNow);
  EXPECT_EQ(s.state, ContainerState::kTerminated);
  EXPECT_EQ(s.reason, "StartError");
  EXPECT_EQ(s.exit_code, 127);
  EXPECT_NE(s.message.find("executable file not found"), std::string::npos);
  EXPECT_FALSE(s.started_at_unix_nano.has_value());
  EXPECT_EQ(s.finished_at_unix_nano, int64_t{1714557599} * 1000000000 + 500000000) << "its creation time";
  const sdk::ContainerStatus no_code =
      StatusFromInspect(Inspect(R"({"Status": "created", "ExitCode": 0, "Error": "port is already allocated"})"), kNow);
  EXPECT_EQ(no_code.exit_code, 128);
}

TEST(DockerStatusFromDieEvent, FromTheEventAlone) {
  const json event = json::parse(R"({"Type": "container", "Action": "die", "timeNano": 1714557605000000000,
    "Actor": {"ID": "c0ffee", "Attributes": {"exitCode": "143", "image": "busybox:1.36",
              "driver.capstan.io/container": "app", "driver.capstan.io/run-id": "0123456789ab"}}})");
  const sdk::ContainerStatus s = StatusFromDieEvent(event);
  EXPECT_EQ(s.name, "app");
  EXPECT_EQ(s.id, "c0ffee");
  EXPECT_EQ(s.state, ContainerState::kTerminated);
  EXPECT_EQ(s.exit_code, 143);
  EXPECT_EQ(s.reason, "Error");
  EXPECT_EQ(s.finished_at_unix_nano, 1714557605000000000);
}

}  // namespace
}  // namespace capstan::plugins::docker
