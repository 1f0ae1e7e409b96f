#include "controller/deployment/pod_template_hash.h"

#include <gtest/gtest.h>

namespace capstan::controller::deployment {
namespace {

const json kTemplate = json::parse(R"({"metadata":{"labels":{"app":"web"}},
    "spec":{"containers":[{"name":"web","image":"nginx:1"}]}})");

TEST(PodTemplateHashTest, Fnv1aMatchesTheReferenceVectors) {
  EXPECT_EQ(Fnv1a32(""), 0x811c9dc5u);
  EXPECT_EQ(Fnv1a32("a"), 0xe40c292cu);
  EXPECT_EQ(Fnv1a32("foobar"), 0xbf9cf968u);
}

TEST(PodTemplateHashTest, StableAcrossRunsAndKeyOrder) {
  // Pinned: a change here renames every ReplicaSet of every existing Deployment on upgrade.
  EXPECT_EQ(ComputePodTemplateHash(kTemplate, std::nullopt), "75f67448f4");
  json reordered = json::parse(R"({"spec":{"containers":[{"image":"nginx:1","name":"web"}]},
      "metadata":{"labels":{"app":"web"}}})");
  EXPECT_EQ(ComputePodTemplateHash(reordered, std::nullopt), ComputePodTemplateHash(kTemplate, std::nullopt));
}

TEST(PodTemplateHashTest, UsesTheSafeAlphabetAndDependsOnTheInputs) {
  std::string h = ComputePodTemplateHash(kTemplate, std::nullopt);
  EXPECT_EQ(h.find_first_not_of("bcdfghjklmnpqrstvwxz2456789"), std::string::npos);
  EXPECT_NE(ComputePodTemplateHash(kTemplate, 1), h);
  EXPECT_NE(ComputePodTemplateHash(kTemplate, 1), ComputePodTemplateHash(kTemplate, 2));
  EXPECT_NE(ComputePodTemplateHash(kTemplate, 0), h) << "collisionCount 0 is written, as in Kubernetes";
  json other = kTemplate;
  other["spec"]["containers"][0]["image"] = "nginx:2";
  EXPECT_NE(ComputePodTemplateHash(other, std::nullopt), h);
}

TEST(PodTemplateHashTest, EqualIgnoreHash) {
  json with_hash = kTemplate;
  with_hash["metadata"]["labels"][kPodTemplateHashLabel] = "abc";
  EXPECT_TRUE(EqualIgnoreHash(with_hash, kTemplate));
  json empty_maps = kTemplate;
  empty_maps["metadata"]["annotations"] = json::object();
  empty_maps["spec"]["volumes"] = json::array();
  empty_maps["spec"]["nodeSelector"] = nullptr;
  EXPECT_TRUE(EqualIgnoreHash(empty_maps, kTemplate));
  json other = kTemplate;
  other["spec"]["containers"][0]["image"] = "nginx:2";
  EXPECT_FALSE(EqualIgnoreHash(other, kTemplate));
  json relabeled = kTemplate;
  relabeled["metadata"]["labels"]["app"] = "api";
  EXPECT_FALSE(EqualIgnoreHash(relabeled, kTemplate));
}

}  // namespace
}  // namespace capstan::controller::deployment
