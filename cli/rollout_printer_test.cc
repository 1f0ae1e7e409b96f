#include "cli/rollout_printer.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace capstan::cli {
namespace {

using nlohmann::json;

// A Deployment "web" wanting `wanted` replicas, whose controller has seen generation
// `observed` of 2, with the given status counts.
json Web(int wanted, int observed, int replicas, int updated, int available) {
  return json{{"metadata", {{"name", "web"}, {"generation", 2}}},
              {"spec", {{"replicas", wanted}}},
              {"status",
               {{"observedGeneration", observed},
                {"replicas", replicas},
                {"updatedReplicas", updated},
                {"availableReplicas", available}}}};
}

std::string Message(const json& deployment, bool* done = nullptr, int64_t revision = 0) {
  Result<RolloutStatus> status = DeploymentRolloutStatus(deployment, revision);
  EXPECT_TRUE(status.ok()) << status.status().message();
  if (!status.ok()) return "";
  if (done != nullptr) *done = status->done;
  return status->message;
}

TEST(RolloutStatusTest, KubectlMessagesInKubectlOrder) {
  bool done = true;
  EXPECT_EQ(Message(Web(3, 2, 3, 1, 1), &done),
            "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated...\n");
  EXPECT_FALSE(done);
  EXPECT_EQ(Message(Web(3, 2, 5, 3, 3), &done),
            "Waiting for deployment \"web\" rollout to finish: 2 old replicas are pending termination...\n");
  EXPECT_FALSE(done);
  EXPECT_EQ(Message(Web(3, 2, 3, 3, 1), &done),
            "Waiting for deployment \"web\" rollout to finish: 1 of 3 updated replicas are available...\n");
  EXPECT_FALSE(done);
  EXPECT_EQ(Message(Web(3, 2, 3, 3, 3), &done), "deployment \"web\" successfully rolled out\n");
  EXPECT_TRUE(done);
}

TEST(RolloutStatusTest, WaitsUntilTheSpecIsObserved) {
  bool done = true;
  // Everything else looks finished, but the controller has not seen generation 2 yet.
  EXPECT_EQ(Message(Web(3, 1, 3, 3, 3), &done), "Waiting for deployment spec update to be observed...\n");
  EXPECT_FALSE(done);
  // A new object without any status yet.
  json fresh = {{"metadata", {{"name", "web"}, {"generation", 1}}}, {"spec", {{"replicas", 1}}}};
  EXPECT_EQ(Message(fresh, &done), "Waiting for deployment spec update to be observed...\n");
  EXPECT_FALSE(done);
}

TEST(RolloutStatusTest, ScaledToZeroWithoutSpecReplicasAndEmptyStatus) {
  bool done = false;
  EXPECT_EQ(Message(Web(0, 2, 0, 0, 0), &done), "deployment \"web\" successfully rolled out\n");
  EXPECT_TRUE(done);
  json no_replicas = Web(0, 2, 0, 0, 0);
  no_replicas["spec"].erase("replicas");  // not checked, as in kubectl (nil pointer)
  EXPECT_EQ(Message(no_replicas, &done), "deployment \"web\" successfully rolled out\n");
}

TEST(RolloutStatusTest, ProgressDeadlineExceededIsAnError) {
  json d = Web(3, 2, 3, 3, 0);
  d["status"]["conditions"] = json::array(
      {{{"type", "Available"}, {"status", "False"}, {"reason", "MinimumReplicasUnavailable"}},
       {{"type", "Progressing"}, {"status", "False"}, {"reason", "ProgressDeadlineExceeded"}}});
  Result<RolloutStatus> status = DeploymentRolloutStatus(d);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().message(), "deployment \"web\" exceeded its progress deadline");
  // Only once the controller has observed the current spec (kubectl's order).
  d["status"]["observedGeneration"] = 1;
  EXPECT_EQ(Message(d), "Waiting for deployment spec update to be observed...\n");
  // Progressing for another reason is not an error.
  d["status"]["observedGeneration"] = 2;
  d["status"]["conditions"][1]["reason"] = "ReplicaSetUpdated";
  EXPECT_EQ(Message(d), "Waiting for deployment \"web\" rollout to finish: 0 of 3 updated replicas are available...\n");
}

TEST(RolloutStatusTest, PinnedRevision) {
  json d = Web(3, 2, 3, 3, 3);
  d["metadata"]["annotations"] = {{"deployment.kubernetes.io/revision", "3"}};
  EXPECT_EQ(Message(d, nullptr, 3), "deployment \"web\" successfully rolled out\n");
  Result<RolloutStatus> status = DeploymentRolloutStatus(d, 2);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.status().message(), "desired revision (2) is different from the running revision (3)");
  d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "x";
  status = DeploymentRolloutStatus(d, 2);
  ASSERT_FALSE(status.ok());
  EXPECT_NE(status.status().message().find("cannot get the revision of deployment \"web\""), std::string::npos);
}

TEST(RolloutPatchTest, PauseAndResumeWithKubectlRefusals) {
  json running = {{"spec", {{"replicas", 1}}}};
  json paused = {{"spec", {{"paused", true}}}};
  Result<json> patch = PausePatch(running, true);
  ASSERT_TRUE(patch.ok());
  EXPECT_EQ(*patch, json::parse(R"({"spec":{"paused":true}})"));
  patch = PausePatch(paused, false);
  ASSERT_TRUE(patch.ok());
  EXPECT_EQ(*patch, json::parse(R"({"spec":{"paused":false}})"));
  EXPECT_EQ(PausePatch(paused, true).status().message(), "is already paused");
  EXPECT_EQ(PausePatch(running, false).status().message(), "is not paused");
}

TEST(RolloutPatchTest, RestartSetsRestartedAtUnlessPaused) {
  Result<json> patch = RestartPatch(json{{"spec", json::object()}}, "2024-01-02T15:04:05Z");
  ASSERT_TRUE(patch.ok());
  EXPECT_EQ(*patch, json::parse(R"({"spec":{"template":{"metadata":{"annotations":
                                    {"kubectl.kubernetes.io/restartedAt":"2024-01-02T15:04:05Z"}}}}})"));
  EXPECT_EQ(RestartPatch(json{{"spec", {{"paused", true}}}}, "t").status().message(),
            "can't restart paused deployment (run rollout resume first)");
}

TEST(RolloutPatchTest, Rfc3339LikeGo) {
  const char* old_tz = std::getenv("TZ");
  std::string saved = old_tz ? old_tz : "";
  setenv("TZ", "UTC", 1);
  tzset();
  EXPECT_EQ(Rfc3339Local(1704207845), "2024-01-02T15:04:05Z");
  setenv("TZ", "XYZ-5:30", 1);  // POSIX: five and a half hours east of UTC
  tzset();
  EXPECT_EQ(Rfc3339Local(1704207845), "2024-01-02T20:34:05+05:30");
  setenv("TZ", "XYZ+3", 1);
  tzset();
  EXPECT_EQ(Rfc3339Local(1704207845), "2024-01-02T12:04:05-03:00");
  if (old_tz) setenv("TZ", saved.c_str(), 1);
  else unsetenv("TZ");
  tzset();
}

std::vector<controller::deployment::RevisionInfo> History() {
  controller::deployment::RevisionInfo one;
  one.revision = 1;
  one.replicaset = "web-1";
  one.pod_template = json::parse(R"({"metadata":{"labels":{"app":"web","pod-template-hash":"h1"}},
                                     "spec":{"containers":[{"name":"web","image":"nginx:1.25"}]}})");
  controller::deployment::RevisionInfo two = one;
  two.revision = 2;
  two.change_cause = "image 1.26";
  two.pod_template["spec"]["containers"][0]["image"] = "nginx:1.26";
  return {one, two};
}

TEST(RolloutHistoryTest, TableAsKubectlPrintsIt) {
  Result<std::string> text = FormatRolloutHistory("deployment.apps/web", History(), 0);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text,
            "deployment.apps/web \n"
            "REVISION  CHANGE-CAUSE\n"
            "1         <none>\n"
            "2         image 1.26\n"
            "\n");
  text = FormatRolloutHistory("deployment.apps/web", {}, 0);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "deployment.apps/web \nNo rollout history found.\n");
}

TEST(RolloutHistoryTest, OneRevisionShowsItsTemplate) {
  Result<std::string> text = FormatRolloutHistory("deployment.apps/web", History(), 2);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->rfind("deployment.apps/web with revision #2\nPod Template:\n", 0), 0u) << *text;
  EXPECT_NE(text->find("\n  spec:\n    containers:\n    - image: nginx:1.26\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("kubernetes.io/change-cause: image 1.26"), std::string::npos) << *text;
  EXPECT_EQ(text->find("nginx:1.25"), std::string::npos) << *text;
  Result<std::string> missing = FormatRolloutHistory("deployment.apps/web", History(), 7);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message(), "unable to find the specified revision");
}

}  // namespace
}  // namespace capstan::cli
