// The registration functions of the built-in kinds, one per file of api/kinds/. Internal to
// api/kinds: everything else calls RegisterBuiltinKinds() (api/kind.h), which calls each of these
// exactly once.
#pragma once

namespace capstan::api::kinds {

void RegisterNamespace();           // namespace.cc:        v1 Namespace
void RegisterConfigMapAndSecret();  // configmap_secret.cc: v1 ConfigMap, v1 Secret
void RegisterEvent();               // event.cc:            v1 Event
void RegisterPod();                 // pod.cc:              v1 Pod
void RegisterApps();                // apps.cc:             apps/v1 Deployment, ReplicaSet
void RegisterNode();                // node.cc:             v1 Node
void RegisterLease();               // lease.cc:            coordination.k8s.io/v1 Lease
void RegisterService();             // service.cc:          v1 Service
void RegisterEndpointSlice();       // endpointslice.cc:    discovery.k8s.io/v1 EndpointSlice
void RegisterIngress();             // ingress.cc:          networking.k8s.io/v1 Ingress, IngressClass
void RegisterRegistryCleanupPolicy();  // registry_cleanup_policy.cc: registry.capstan.io/v1alpha1 RegistryCleanupPolicy
void RegisterGitOps();              // gitops.cc:           gitops.capstan.io/v1alpha1 GitRepository, Sync

}  // namespace capstan::api::kinds
