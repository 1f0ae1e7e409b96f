// The core/v1 PodSpec and PodTemplateSpec: schema, defaults and validation, shared by Pod and by
// the workload kinds (Deployment, ReplicaSet) whose templates are pods-to-be.
//
// Supported and enforced: containers and initContainers (names, images, ports, env, envFrom,
// resources, volumeMounts, probes, lifecycle, imagePullPolicy, terminationMessage*), volumes
// (emptyDir, hostPath, configMap, secret, persistentVolumeClaim), restartPolicy, dnsPolicy,
// nodeSelector, nodeName, affinity.nodeAffinity, tolerations, imagePullSecrets, readinessGates,
// scheduling fields. Accepted and stored but not enforced by Capstan: securityContext (pod and
// container), podAffinity/podAntiAffinity, topologySpreadConstraints, dnsConfig, hostAliases,
// other volume sources (projected, downwardAPI, nfs, csi, ephemeral, ...), ephemeralContainers,
// overhead, os, resourceClaims; they are schema'd loosely (Any) so real manifests decode.
//
// Thread-safety: schema getters build once and share; the rest are stateless functions.
#pragma once

#include <string>

#include "api/schema.h"

namespace capstan::api::kinds {

SchemaPtr ContainerSchema();        // io.k8s.api.core.v1.Container
SchemaPtr PodSpecSchema();          // io.k8s.api.core.v1.PodSpec
SchemaPtr PodTemplateSpecSchema();  // io.k8s.api.core.v1.PodTemplateSpec

// SetDefaults_PodSpec and everything below it (containers, ports, probes, volumes, fieldRefs),
// as Kubernetes does for pod templates. `spec` must be an object (it is created when null).
void DefaultPodSpec(json& spec);
// DefaultPodSpec on template.spec.
void DefaultPodTemplateSpec(json& tmpl);
// What SetDefaults_Pod adds for Pods only, on top of DefaultPodSpec: enableServiceLinks and
// container requests copied from limits where unset.
void DefaultPodOnlyFields(json& spec);

// ValidatePodSpec: errors rooted at `path` ("spec", "spec.template.spec").
void ValidatePodSpec(const json& spec, const std::string& path, FieldErrors* errors);
// ValidatePodTemplateSpec: template metadata labels/annotations and the spec.
void ValidatePodTemplateSpec(const json& tmpl, const std::string& path, FieldErrors* errors);
// Pod spec updates may only change container images, activeDeadlineSeconds (set or lower),
// tolerations (additions) and, for a scheduler binding without a binding subresource, nodeName
// when it was unset. Anything else is FieldValueForbidden at `path`.
void ValidatePodSpecUpdate(const json& spec, const json& old_spec, const std::string& path, FieldErrors* errors);

// Pod QoS class ("Guaranteed", "Burstable", "BestEffort") of a pod spec, as ComputePodQOS. A
// container's missing requests count as equal to its limits (the Pod defaults would copy them).
std::string ComputeQosClass(const json& spec);

// "Always" for images tagged "latest" or without tag and digest, else "IfNotPresent".
std::string DefaultImagePullPolicy(const std::string& image);

}  // namespace capstan::api::kinds
