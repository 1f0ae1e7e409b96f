#include "controller/scheduler/pod_info.h"

#include <gtest/gtest.h>

#include "controller/scheduler/test_util.h"

namespace capstan::controller::scheduler {
namespace {

using testing::PodJson;

constexpr int64_t kGi = 1024LL * 1024 * 1024;
constexpr int64_t kMi = 1024LL * 1024;

json Container(const std::string& name, json resources) {
  return json{{"name", name}, {"image", "busybox"}, {"resources", std::move(resources)}};
}

json PodWith(json containers, json init = json::array()) {
  json pod = PodJson("p");
  pod["spec"]["containers"] = std::move(containers);
  if (!init.empty()) pod["spec"]["initContainers"] = std::move(init);
  return pod;
}

TEST(ParseResourceListTest, Units) {
  Resources r = ParseResourceList(
      {{"cpu", "500m"}, {"memory", "1Gi"}, {"pods", "110"}, {"example.com/gpu", "2"}, {"ephemeral-storage", "1k"}});
  EXPECT_EQ(r.milli_cpu, 500);
  EXPECT_EQ(r.memory_bytes, kGi);
  EXPECT_EQ(r.pods, 110);
  EXPECT_EQ(r.Scalar("example.com/gpu"), 2);
  EXPECT_EQ(r.Scalar("ephemeral-storage"), 1000);
  EXPECT_EQ(r.Scalar("absent"), 0);
  // Sorted by name.
  ASSERT_EQ(r.scalars.size(), 2u);
  EXPECT_EQ(r.scalars[0].first, "ephemeral-storage");
  // Whole units round up, as Quantity.Value() does; cpu keeps its milli-units; numbers work too.
  EXPECT_EQ(ParseResourceList({{"memory", "500m"}}).memory_bytes, 1);
  EXPECT_EQ(ParseResourceList({{"cpu", 2}}).milli_cpu, 2000);
  EXPECT_EQ(ParseResourceList({{"cpu", "2.5"}}).milli_cpu, 2500);
}

TEST(ResourcesTest, AddSubtractMax) {
  Resources a = ParseResourceList({{"cpu", "1"}, {"memory", "1Gi"}, {"b.io/x", "1"}});
  Resources b = ParseResourceList({{"cpu", "2"}, {"a.io/y", "3"}, {"b.io/x", "4"}});
  Resources sum = a;
  sum.Add(b);
  EXPECT_EQ(sum.milli_cpu, 3000);
  EXPECT_EQ(sum.memory_bytes, kGi);
  EXPECT_EQ(sum.Scalar("a.io/y"), 3);
  EXPECT_EQ(sum.Scalar("b.io/x"), 5);
  sum.Subtract(b);
  EXPECT_EQ(sum, a) << "subtracting drops scalars that went back to zero";
  Resources max = a;
  max.SetMax(b);
  EXPECT_EQ(max.milli_cpu, 2000);
  EXPECT_EQ(max.memory_bytes, kGi);
  EXPECT_EQ(max.Scalar("b.io/x"), 4);
  EXPECT_EQ(max.Scalar("a.io/y"), 3);
}

TEST(PodRequestsTest, SumsContainers) {
  json pod = PodWith({Container("a", {{"requests", {{"cpu", "500m"}, {"memory", "1Gi"}}}}),
                      Container("b", {{"requests", {{"cpu", "250m"}, {"memory", "512Mi"}}}})});
  Resources r = PodRequests(pod);
  EXPECT_EQ(r.milli_cpu, 750);
  EXPECT_EQ(r.memory_bytes, kGi + 512 * kMi);
  EXPECT_EQ(r.pods, 1);
}

TEST(PodRequestsTest, MissingRequestsDefaultToLimits) {
  json pod = PodWith({Container("a", {{"limits", {{"cpu", "1"}, {"memory", "1Gi"}}}, {"requests", {{"cpu", "200m"}}}})});
  Resources r = PodRequests(pod);
  EXPECT_EQ(r.milli_cpu, 200) << "an explicit request wins over the limit";
  EXPECT_EQ(r.memory_bytes, kGi);
}

// The example of Kubernetes' computePodResourceRequest: init containers run one at a time, so the
// pod needs the larger of the app sum and the largest init container, per resource.
TEST(PodRequestsTest, InitContainersTakeTheMax) {
  json pod = PodWith({Container("c1", {{"requests", {{"cpu", "2"}, {"memory", "1G"}}}}),
                      Container("c2", {{"requests", {{"cpu", "1"}, {"memory", "1G"}}}})},
                     {Container("ic1", {{"requests", {{"cpu", "2"}, {"memory", "1G"}}}}),
                      Container("ic2", {{"requests", {{"cpu", "2"}, {"memory", "3G"}}}})});
  Resources r = PodRequests(pod);
  EXPECT_EQ(r.milli_cpu, 3000);
  EXPECT_EQ(r.memory_bytes, 3000000000);
}

TEST(PodRequestsTest, SidecarInitContainersAddUp) {
  json sidecar = Container("sidecar", {{"requests", {{"cpu", "1"}}}});
  sidecar["restartPolicy"] = "Always";
  json pod = PodWith({Container("app", {{"requests", {{"cpu", "1"}}}})},
                     {sidecar, Container("migrate", {{"requests", {{"cpu", "2"}}}})});
  // Running: app + sidecar = 2; init phase: migrate runs next to the sidecar = 3.
  EXPECT_EQ(PodRequests(pod).milli_cpu, 3000);
  pod["spec"]["initContainers"][1]["resources"]["requests"]["cpu"] = "500m";
  EXPECT_EQ(PodRequests(pod).milli_cpu, 2000);
}

TEST(PodRequestsTest, OverheadAndPodLevelResources) {
  json pod = PodWith({Container("a", {{"requests", {{"cpu", "500m"}, {"memory", "1Gi"}}}})});
  pod["spec"]["overhead"] = {{"cpu", "100m"}, {"memory", "64Mi"}};
  Resources r = PodRequests(pod);
  EXPECT_EQ(r.milli_cpu, 600);
  EXPECT_EQ(r.memory_bytes, kGi + 64 * kMi);
  pod["spec"]["resources"] = {{"requests", {{"cpu", "2"}}}, {"limits", {{"memory", "2Gi"}}}};
  r = PodRequests(pod);
  EXPECT_EQ(r.milli_cpu, 2100) << "pod-level request replaces the container sum, overhead still added";
  EXPECT_EQ(r.memory_bytes, 2 * kGi + 64 * kMi) << "pod-level limit stands in for a missing request";
}

TEST(PodRequestsTest, ExtendedResources) {
  json pod = PodWith({Container("a", {{"limits", {{"example.com/gpu", "1"}}}}),
                      Container("b", {{"requests", {{"example.com/gpu", "2"}, {"ephemeral-storage", "1Gi"}}}})});
  Resources r = PodRequests(pod);
  EXPECT_EQ(r.Scalar("example.com/gpu"), 3);
  EXPECT_EQ(r.Scalar("ephemeral-storage"), kGi);
  EXPECT_EQ(r.milli_cpu, 0);
}

TEST(PodRequestsTest, NonZeroDefaultsOnlyForMissingRequests) {
  json pod = PodWith({Container("besteffort", json::object()),
                      Container("zero-cpu", {{"requests", {{"cpu", "0"}, {"memory", "1Gi"}}}})});
  Resources non_zero;
  Resources r = PodRequests(pod, &non_zero);
  EXPECT_EQ(r.milli_cpu, 0);
  EXPECT_EQ(r.memory_bytes, kGi);
  EXPECT_EQ(non_zero.milli_cpu, kDefaultMilliCpuRequest) << "an explicit 0 stays 0";
  EXPECT_EQ(non_zero.memory_bytes, kDefaultMemoryRequest + kGi);
  EXPECT_EQ(non_zero.pods, 1);
}

TEST(PodRequestsTest, EmptyPod) {
  Resources non_zero;
  Resources r = PodRequests(json::object(), &non_zero);
  EXPECT_EQ(r.milli_cpu, 0);
  EXPECT_EQ(r.pods, 1);
  EXPECT_EQ(non_zero.milli_cpu, 0) << "no container, nothing to default";
}

TEST(PodInfoTest, OwnerAndKey) {
  json pod = PodJson("web-1");
  EXPECT_EQ(ControllerUid(pod), "");
  pod["metadata"]["ownerReferences"] = json::array(
      {{{"kind", "ConfigMap"}, {"name", "x"}, {"uid", "u-other"}},
       {{"kind", "ReplicaSet"}, {"name", "web"}, {"uid", "u-rs"}, {"controller", true}}});
  EXPECT_EQ(ControllerUid(pod), "u-rs");
  EXPECT_EQ(PodKey(pod), "uid-web-1");
  pod["metadata"].erase("uid");
  EXPECT_EQ(PodKey(pod), "default/web-1");
}

TEST(PodInfoTest, CompilesSchedulingFields) {
  json pod = PodJson("p", "100m");
  pod["spec"]["nodeSelector"] = {{"disk", "ssd"}};
  pod["spec"]["tolerations"] = json::array({{{"key", "k"}, {"operator", "Exists"}, {"effect", "NoSchedule"}}});
  pod["spec"]["affinity"]["nodeAffinity"] = {
      {"requiredDuringSchedulingIgnoredDuringExecution",
       {{"nodeSelectorTerms", json::array({{{"matchExpressions",
                                             json::array({{{"key", "zone"}, {"operator", "In"},
                                                           {"values", {"a", "b"}}}})}}})}}},
      {"preferredDuringSchedulingIgnoredDuringExecution",
       json::array({{{"weight", 5}, {"preference", {{"matchFields", json::array({{{"key", "metadata.name"},
                                                                                  {"operator", "In"},
                                                                                  {"values", {"n1"}}}})}}}},
                    {{"weight", 0}, {"preference", {{"matchExpressions", json::array()}}}}})}};
  PodInfo info = MakePodInfo(pod);
  EXPECT_EQ(info.requests.milli_cpu, 100);
  ASSERT_EQ(info.node_selector.size(), 1u);
  EXPECT_EQ(info.node_selector[0].second, "ssd");
  ASSERT_EQ(info.tolerations.size(), 1u);
  EXPECT_EQ(info.tolerations[0].op, "Exists");
  EXPECT_TRUE(info.has_required_affinity);
  ASSERT_EQ(info.required_terms.size(), 1u);
  EXPECT_TRUE(info.required_terms[0].valid);
  EXPECT_EQ(info.required_terms[0].expressions[0].values, (std::vector<std::string>{"a", "b"}));
  ASSERT_EQ(info.preferred_terms.size(), 1u) << "zero-weight terms are dropped";
  EXPECT_EQ(info.preferred_terms[0].weight, 5);
  EXPECT_TRUE(info.preferred_terms[0].term.valid);
}

TEST(CompileTermTest, Validity) {
  auto term = [](json expr, const char* where = "matchExpressions") {
    return CompileTerm(json{{where, json::array({std::move(expr)})}});
  };
  EXPECT_TRUE(term({{"key", "a"}, {"operator", "Exists"}}).valid);
  EXPECT_FALSE(term({{"key", "a"}, {"operator", "Exists"}, {"values", {"x"}}}).valid);
  EXPECT_FALSE(term({{"key", "a"}, {"operator", "In"}, {"values", json::array()}}).valid);
  EXPECT_FALSE(term({{"key", "a"}, {"operator", "Gt"}, {"values", {"ten"}}}).valid);
  EXPECT_FALSE(term({{"key", "a"}, {"operator", "Lt"}, {"values", {"1", "2"}}}).valid);
  EXPECT_FALSE(term({{"key", "a"}, {"operator", "Matches"}, {"values", {"1"}}}).valid);
  SelectorTerm gt = term({{"key", "a"}, {"operator", "Gt"}, {"values", {"-7"}}});
  EXPECT_TRUE(gt.valid);
  EXPECT_EQ(gt.expressions[0].number, -7);
  EXPECT_TRUE(term({{"key", "metadata.name"}, {"operator", "NotIn"}, {"values", {"n"}}}, "matchFields").valid);
  EXPECT_FALSE(term({{"key", "metadata.uid"}, {"operator", "In"}, {"values", {"n"}}}, "matchFields").valid);
  EXPECT_FALSE(term({{"key", "metadata.name"}, {"operator", "In"}, {"values", {"a", "b"}}}, "matchFields").valid);
  EXPECT_FALSE(term({{"key", "metadata.name"}, {"operator", "Exists"}}, "matchFields").valid);
  EXPECT_FALSE(CompileTerm(json::object()).valid) << "an empty term selects nothing";
}

TEST(ParseInt64Test, GoParseIntRules) {
  int64_t v = 0;
  EXPECT_TRUE(ParseInt64("42", &v));
  EXPECT_EQ(v, 42);
  EXPECT_TRUE(ParseInt64("+7", &v));
  EXPECT_EQ(v, 7);
  EXPECT_TRUE(ParseInt64("-9223372036854775808", &v));
  EXPECT_EQ(v, INT64_MIN);
  EXPECT_TRUE(ParseInt64("9223372036854775807", &v));
  EXPECT_EQ(v, INT64_MAX);
  for (const char* bad : {"", "-", "+", "1.5", " 1", "1 ", "0x10", "9223372036854775808", "1e3"}) {
    EXPECT_FALSE(ParseInt64(bad, &v)) << bad;
  }
}

}  // namespace
}  // namespace capstan::controller::scheduler
