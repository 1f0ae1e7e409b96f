#include "plugins/process/run_record.h"

#include <gtest/gtest.h>

#include <set>

namespace capstan::plugins::process {
namespace {

using json = nlohmann::json;

RunRecord Sample() {
  RunRecord r;
  r.id = "0123456789abcdef0123";
  r.boot_id = "boot-1";
  r.pod = {"uid-1", "default", "web"};
  r.labels = {{"app", "web"}, {"tier", "front"}};
  r.created_at_unix_nano = 1700000000000000000;
  ContainerRecord running;
  running.name = "main";
  running.id = ContainerId(r.id, "main");
  running.image = "/srv/app";
  running.image_id = "/srv/app";
  running.argv = {"sh", "-c", "echo hi"};
  running.env = {"PATH=/bin", "A=b=c"};
  running.working_dir = "/srv/app";
  running.pid = 4242;
  running.start_ticks = 987654321;
  running.started_at_unix_nano = 1700000000000000001;
  ContainerRecord failed;
  failed.name = "side.car_2";
  failed.id = ContainerId(r.id, "side.car_2");
  failed.image = "busybox:1.36";
  failed.exited = true;
  failed.exit_code = 127;
  failed.reason = "StartError";
  failed.message = "exec: nope: executable file not found";
  failed.finished_at_unix_nano = 1700000000000000002;
  r.containers = {running, failed};
  return r;
}

void ExpectEqual(const ContainerRecord& a, const ContainerRecord& b) {
  EXPECT_EQ(a.name, b.name);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.image, b.image);
  EXPECT_EQ(a.image_id, b.image_id);
  EXPECT_EQ(a.argv, b.argv);
  EXPECT_EQ(a.env, b.env);
  EXPECT_EQ(a.working_dir, b.working_dir);
  EXPECT_EQ(a.pid, b.pid);
  EXPECT_EQ(a.start_ticks, b.start_ticks);
  EXPECT_EQ(a.started_at_unix_nano, b.started_at_unix_nano);
  EXPECT_EQ(a.exited, b.exited);
  EXPECT_EQ(a.exit_code, b.exit_code);
  EXPECT_EQ(a.reason, b.reason);
  EXPECT_EQ(a.message, b.message);
  EXPECT_EQ(a.finished_at_unix_nano, b.finished_at_unix_nano);
}

TEST(ProcessRunRecord, JsonRoundTrip) {
  const RunRecord in = Sample();
  RunRecord out;
  std::string error;
  ASSERT_TRUE(FromJson(json::parse(ToJson(in).dump()), &out, &error)) << error;
  EXPECT_EQ(out.id, in.id);
  EXPECT_EQ(out.boot_id, in.boot_id);
  EXPECT_EQ(out.pod.uid, "uid-1");
  EXPECT_EQ(out.pod.namespace_name, "default");
  EXPECT_EQ(out.pod.name, "web");
  EXPECT_EQ(out.labels, in.labels);
  EXPECT_EQ(out.created_at_unix_nano, in.created_at_unix_nano);
  ASSERT_EQ(out.containers.size(), 2u);
  ExpectEqual(out.containers[0], in.containers[0]);
  ExpectEqual(out.containers[1], in.containers[1]);
}

TEST(ProcessRunRecord, RejectsWhatItCannotTrust) {
  const json good = ToJson(Sample());
  auto rejects = [&](const char* what, const std::function<void(json&)>& change) {
    json j = good;
    change(j);
    RunRecord out;
    std::string error;
    EXPECT_FALSE(FromJson(j, &out, &error)) << what;
    EXPECT_FALSE(error.empty()) << what;
  };
  rejects("another version", [](json& j) { j["version"] = 2; });
  rejects("a path in the id", [](json& j) { j["id"] = "../../etc"; });
  rejects("a path in a container name", [](json& j) { j["containers"][0]["name"] = "../x"; });
  rejects("no containers", [](json& j) { j["containers"] = json::array(); });
  rejects("pid not a number", [](json& j) { j["containers"][0]["pid"] = "4242"; });
  rejects("negative pid", [](json& j) { j["containers"][0]["pid"] = -1; });
  rejects("labels not strings", [](json& j) { j["labels"]["x"] = 1; });
  rejects("not an object", [](json& j) { j = json::array(); });
}

TEST(ProcessRunRecord, HandleNamesPodAndContainers) {
  const sdk::PodRunHandle h = HandleOf(Sample());
  EXPECT_EQ(h.id, "0123456789abcdef0123");
  EXPECT_EQ(h.pod.uid, "uid-1");
  ASSERT_EQ(h.containers.size(), 2u);
  EXPECT_EQ(h.containers[0].name, "main");
  EXPECT_EQ(h.containers[0].id, "0123456789abcdef0123.main");
}

TEST(ProcessRunRecord, LabelSelection) {
  const std::map<std::string, std::string> labels = {{"app", "web"}, {"tier", "front"}};
  EXPECT_TRUE(LabelsMatch(labels, {}));
  EXPECT_TRUE(LabelsMatch(labels, {{"app", "web"}}));
  EXPECT_TRUE(LabelsMatch(labels, {{"app", "web"}, {"tier", "front"}}));
  EXPECT_FALSE(LabelsMatch(labels, {{"app", "db"}}));
  EXPECT_FALSE(LabelsMatch(labels, {{"app", "web"}, {"zone", "a"}}));
  EXPECT_FALSE(LabelsMatch({}, {{"app", "web"}}));
  EXPECT_TRUE(LabelsMatch({}, {}));
}

TEST(ProcessRunRecord, Identifiers) {
  std::set<std::string> ids;
  for (int i = 0; i < 100; ++i) {
    const std::string id = NewRunId();
    EXPECT_EQ(id.size(), 20u);
    EXPECT_TRUE(ValidRunId(id)) << id;
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 100u) << "run ids repeat";
  EXPECT_FALSE(ValidRunId(""));
  EXPECT_FALSE(ValidRunId("../x"));
  EXPECT_FALSE(ValidRunId("ABC"));
  EXPECT_FALSE(ValidRunId("-abc"));
  EXPECT_FALSE(ValidRunId(std::string(65, 'a')));
  EXPECT_TRUE(ValidContainerName("c0"));
  EXPECT_TRUE(ValidContainerName("Web.server_1-a"));
  EXPECT_FALSE(ValidContainerName(""));
  EXPECT_FALSE(ValidContainerName(".."));
  EXPECT_FALSE(ValidContainerName("a/b"));
  EXPECT_FALSE(ValidContainerName("-a"));
  EXPECT_FALSE(ValidContainerName(std::string(254, 'a')));
}

}  // namespace
}  // namespace capstan::plugins::process
