#include "controller/deployment/rollback.h"

#include <gtest/gtest.h>

#include "controller/deployment/rollout_sim_test_util.h"

namespace capstan::controller::deployment {
namespace {

using replicaset::Meta;
using testing::Cluster;
using testing::MakeDeployment;

std::string Image(const json& pod_template) { return pod_template["spec"]["containers"][0]["image"]; }

// A Deployment rolled out through nginx:1, nginx:2, nginx:3 (revisions 1, 2, 3), each with a
// change-cause as `kubectl annotate` / `--record` would leave it.
Cluster ThreeRevisions() {
  Cluster c(MakeDeployment("web", 2));
  for (int v = 1; v <= 3; ++v) {
    c.Update([v](json& d) {
      d["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:" + std::to_string(v);
      d["metadata"]["annotations"][kChangeCauseAnnotation] = "set image nginx:" + std::to_string(v);
    });
    EXPECT_GT(c.RunUntilConverged(), 0);
  }
  return c;
}

TEST(RollbackTest, UndoGoesToThePreviousRevision) {
  Cluster c = ThreeRevisions();
  Result<json> tmpl = RollbackTemplate(c.deployment(), c.ReplicaSetList(), 0);
  ASSERT_TRUE(tmpl.ok()) << tmpl.status().ToString();
  EXPECT_EQ(Image(*tmpl), "nginx:2");
  EXPECT_FALSE((*tmpl)["metadata"]["labels"].contains(kPodTemplateHashLabel));
  EXPECT_EQ((*tmpl)["metadata"]["labels"]["app"], "web");
  EXPECT_EQ(PlanRollback(c.deployment(), c.ReplicaSetList(), 0)->revision, 2);
}

TEST(RollbackTest, UndoToARevisionRestoresItsAnnotationsAndTheControllerReusesItsReplicaSet) {
  Cluster c = ThreeRevisions();
  Result<RollbackPlan> plan = PlanRollback(c.deployment(), c.ReplicaSetList(), 1);
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->revision, 1);
  EXPECT_FALSE(plan->skipped);
  EXPECT_EQ(plan->Message(), "rolled back");
  EXPECT_EQ(Image(plan->pod_template), "nginx:1");
  EXPECT_EQ(plan->annotations[kChangeCauseAnnotation], "set image nginx:1");
  EXPECT_EQ(plan->annotations[kRevisionAnnotation], "3") << "the controller's annotations stay";
  json patch = plan->JsonPatch();
  ASSERT_EQ(patch.size(), 2u);
  EXPECT_EQ(patch[0]["path"], "/spec/template");
  EXPECT_EQ(patch[1]["path"], "/metadata/annotations");

  // What kubectl's PATCH does, then the controller: revision 1's ReplicaSet becomes revision 4.
  const std::string rs1 = plan->replicaset;
  c.Update([&](json& d) {
    d["spec"]["template"] = plan->pod_template;
    d["metadata"]["annotations"] = plan->annotations;
  });
  ASSERT_GT(c.RunUntilConverged(), 0);
  EXPECT_EQ(Meta(*c.NewReplicaSet(), "name"), rs1) << "no new ReplicaSet for an old template";
  EXPECT_EQ(c.replicasets().size(), 3u);
  const json& ann = c.NewReplicaSet()->at("metadata").at("annotations");
  EXPECT_EQ(ann[kRevisionAnnotation], "4");
  EXPECT_EQ(ann[kRevisionHistoryAnnotation], "1");
  EXPECT_EQ(c.deployment()["metadata"]["annotations"][kRevisionAnnotation], "4");

  std::vector<RevisionInfo> history = RevisionHistory(c.ReplicaSetList());
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[0].revision, 2);
  EXPECT_EQ(history[2].revision, 4);
  EXPECT_EQ(history[2].change_cause, "set image nginx:1");
  EXPECT_EQ(FormatRevisionHistory(history),
            "REVISION  CHANGE-CAUSE\n"
            "2         set image nginx:2\n"
            "3         set image nginx:3\n"
            "4         set image nginx:1\n");
}

TEST(RollbackTest, UnknownRevisionIsKubectlsError) {
  Cluster c = ThreeRevisions();
  Result<json> tmpl = RollbackTemplate(c.deployment(), c.ReplicaSetList(), 7);
  ASSERT_FALSE(tmpl.ok());
  EXPECT_EQ(tmpl.status().code(), Code::kNotFound);
  EXPECT_EQ(tmpl.status().message(), "unable to find specified revision 7 in history");
  EXPECT_EQ(RollbackTemplate(c.deployment(), c.ReplicaSetList(), -1).status().message(),
            "unable to find specified revision -1 in history");
}

TEST(RollbackTest, NoHistoryAndPausedAreErrors) {
  Cluster c(MakeDeployment("web", 1));
  ASSERT_GT(c.RunUntilConverged(), 0);
  Result<RollbackPlan> none = PlanRollback(c.deployment(), c.ReplicaSetList(), 0);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().message(), "no rollout history found for deployment \"web\"");

  json paused = c.deployment();
  paused["spec"]["paused"] = true;
  Result<RollbackPlan> p = PlanRollback(paused, c.ReplicaSetList(), 0);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(),
            "you cannot rollback a paused deployment; resume it first with 'kubectl rollout resume' and try again");
}

TEST(RollbackTest, RollingBackToTheCurrentTemplateIsSkipped) {
  Cluster c = ThreeRevisions();
  Result<RollbackPlan> plan = PlanRollback(c.deployment(), c.ReplicaSetList(), 3);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->skipped);
  EXPECT_EQ(plan->Message(), "skipped rollback (current template already matches revision 3)");
}

TEST(RollbackTest, HistoryFormatting) {
  EXPECT_EQ(FormatRevisionHistory({}), "No rollout history found.\n");
  std::vector<RevisionInfo> h(1);
  h[0].revision = 12;
  EXPECT_EQ(FormatRevisionHistory(h), "REVISION  CHANGE-CAUSE\n12        <none>\n");
}

}  // namespace
}  // namespace capstan::controller::deployment
