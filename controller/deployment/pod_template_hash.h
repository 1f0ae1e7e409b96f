// The pod-template-hash that names a Deployment's ReplicaSets, and template identity.
//
// A Deployment owns one ReplicaSet per distinct pod template. The new ReplicaSet is named
// "<deployment>-<hash>" and its selector, labels and Pod labels carry pod-template-hash=<hash>,
// so the ReplicaSets of one Deployment never select each other's Pods.
//
// The hash: FNV-1a (32 bit) over the template's canonical JSON (nlohmann's dump(): keys sorted,
// no whitespace), followed — when the Deployment's status.collisionCount is set — by that count
// as 4 little-endian bytes; the 32-bit sum is printed in decimal and each digit mapped through
// Kubernetes' "safe" alphabet (rand.SafeEncodeString: bcdfghjklmnpqrstvwxz2456789, which has no
// vowels, so no words). This mirrors controller.ComputeHash step for step except the input bytes:
// Kubernetes hashes Go's object printer output (DeepHashObject over the typed struct), which we
// cannot reproduce over JSON. So our hashes differ from Kubernetes' for the same template.
// That is fine: the hash is only a name and a label value. Which ReplicaSet is "the new one" is
// decided by EqualIgnoreHash (template equality), never by recomputing a hash and comparing, and
// ReplicaSets created by another implementation keep working because their own hash label is
// part of their own selector. What must hold — and does — is that the value is stable across
// runs, builds and machines (the serialization is canonical and FNV has no seed), and that a
// collisionCount bump yields a different name (the escape from a name taken by a foreign object).
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace capstan::controller::deployment {

using json = nlohmann::json;

// The label (and selector key) Kubernetes uses: apps.DefaultDeploymentUniqueLabelKey.
inline constexpr char kPodTemplateHashLabel[] = "pod-template-hash";

uint32_t Fnv1a32(const std::string& bytes, uint32_t seed = 2166136261u);

// The hash of `pod_template` (a PodTemplateSpec) with the optional collision count.
std::string ComputePodTemplateHash(const json& pod_template, std::optional<int32_t> collision_count);

// deploymentutil.EqualIgnoreHash: the two PodTemplateSpecs are equal once the pod-template-hash
// label is removed from both. Like apimachinery's semantic equality, a null field, an empty
// object and an empty array compare equal to an absent one.
bool EqualIgnoreHash(const json& template1, const json& template2);

}  // namespace capstan::controller::deployment
