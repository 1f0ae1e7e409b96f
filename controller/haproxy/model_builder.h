// BuildHaproxyModel: from Services, EndpointSlices, Ingresses, IngressClasses, Secrets and the
// defaults ConfigMap (the JSON shapes of k8s.io/api core/v1, discovery/v1, networking/v1) to the
// model, plus one Problem per object that could not be used. A pure function: no I/O, no clock.
//
// One invalid object never blocks the others: it is left out (an Ingress path that names a
// missing Service, a Service with a bad annotation, a listener port another Service holds) and
// reported; everything else applies.
//
// Services: ClusterIP, NodePort and LoadBalancer with TCP ports (headless and ExternalName
// Services are not load-balanced). Each port is a backend "<ns>_<name>_<port>" and a listener on
// the service address at `port`; NodePort and LoadBalancer also listen on the public address at
// `nodePort` (when allocated), LoadBalancer also at `port` (api::ServiceListeners' rule). A port is HTTP (mode http) when its
// appProtocol is "http", its name is "http" or starts with "http-", or an Ingress routes to it;
// else TCP. Endpoints come from the EndpointSlices labelled kubernetes.io/service-name, matched
// by port name; ready endpoints serve, serving+terminating ones drain, others are left out.
//
// Slots: an endpoint keeps the slot it had in `previous` (by address and port), new ones take
// the lowest free slots, and a backend's slot count is max(previous, SlotCount(endpoints)), so
// endpoint churn never renumbers servers and slot counts never shrink while the process runs.
//
// Ingresses: ours when spec.ingressClassName (else the annotation kubernetes.io/ingress.class)
// names an IngressClass whose spec.controller is kIngressController (or no IngressClass by that
// name exists and the name is "haproxy"); with neither, only while an IngressClass of ours has
// ingressclass.kubernetes.io/is-default-class "true". Routes are sorted by precedence: exact hosts, wildcard hosts, no host; within a
// host Exact paths, then longer prefixes first. Two Ingresses claiming one host+path+type: the
// first by namespace/name wins, the other is reported. Canary Ingresses
// (haproxy.capstan.io/canary "true", canary-weight 0..100, canary-by-header NAME) attach to the
// main route of the same host+path. TLS hosts get their Secret's certificate (SNI) and plain
// HTTP is redirected unless haproxy.capstan.io/ssl-redirect (or the defaults' ssl-redirect) is
// "false". An Ingress's backend settings annotations apply to the backends of its Services only
// through the Services' own annotations (one backend serves both).
#pragma once

#include <map>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "controller/haproxy/haproxy_model.h"

namespace capstan::controller::haproxy {

using ObjectList = std::vector<std::shared_ptr<const nlohmann::json>>;

inline constexpr char kIngressController[] = "haproxy.capstan.io/ingress-controller";
inline constexpr char kIngressClassName[] = "haproxy";

struct ModelInputs {
  ObjectList services, endpoint_slices, ingresses, ingress_classes, secrets;
  std::shared_ptr<const nlohmann::json> defaults;  // the defaults ConfigMap, or null
  // "<ns>/<service>" -> the HTTP check from its Pods' readinessProbe.httpGet (the controller
  // reads it from the Pod template); an annotation overrides it.
  std::map<std::string, HealthCheck> probe_checks;
  // "<ns>/<service>" -> uids of its Pods that are Ready, not terminating, and whose own
  // readinessProbe is exactly the Service's probe check, run against the Pod itself (no
  // httpGet.host): each has just passed the check HAProxy would run (ServerSlot::probed).
  std::map<std::string, std::set<std::string>> probe_checked_pods;
  // The model applied now (slot assignment and counts are kept from it); null at first.
  const HaproxyModel* previous = nullptr;
  std::string service_address = "127.0.0.1";
  std::string public_address = "0.0.0.0";
  // HAProxy's threads unless the defaults ConfigMap sets `threads` (HaproxyControllerOptions).
  int threads = 0;
};

// An object left out, in whole or in part, and why ("spec.ports[1].port: ...").
struct Problem {
  std::shared_ptr<const nlohmann::json> object;
  std::string message;
};

struct ModelResult {
  HaproxyModel model;
  std::vector<Problem> problems;  // in input order of kinds, then objects
};

ModelResult BuildHaproxyModel(const ModelInputs& inputs);

// "Service default/web": the name of an object in RenderedConfig sources and Problems.
std::string SourceName(const nlohmann::json& object);

// The HTTP check of a Pod's readinessProbe.httpGet, when it has one (any container).
bool CheckFromPod(const nlohmann::json& pod, HealthCheck* check);

}  // namespace capstan::controller::haproxy
