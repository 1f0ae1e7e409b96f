// Service admission: what a Service gets from the server's network settings and from the other
// Services, on every write (after the kind's own validation, api/kinds/service.cc):
//   * spec.clusterIP is the service address (set on create when empty; "None" = headless, no
//     listener; any other value is a 422), spec.clusterIPs / ipFamilies / ipFamilyPolicy follow it;
//   * NodePort and LoadBalancer Services get a nodePort per port from the node port range when
//     none is given (an update keeps the nodePort a port already had), and a given nodePort that
//     is new must lie in the range;
//   * LoadBalancer Services report status.loadBalancer.ingress = [{ip: public address}];
//   * every listener (ServiceListeners) is claimed (admission.h), so an address:port held by
//     another Service, or the Ingress HTTP/HTTPS listener ports on the public address, is a 422
//     naming the field (spec.ports[i].port or spec.ports[i].nodePort).
// Addresses compare exactly: 127.0.0.1:80 and 0.0.0.0:80 are different listeners (HAProxy binds
// with SO_REUSEPORT and the kernel prefers the specific address).
//
// Thread-safety: the plugin is immutable after construction; the functions are stateless.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "api/admission.h"
#include "base/status.h"

namespace capstan::api {

class ResourceService;

// The server's Service settings (the lead wires them to flags of `capstan server`). Fixed while
// the server runs; a change applies to Services written afterwards (existing clusterIPs stay).
struct ServiceNetworkOptions {
  std::string service_address = "127.0.0.1";  // ClusterIP listeners: clusterIP:port
  std::string public_address = "0.0.0.0";     // NodePort/LoadBalancer and Ingress listeners
  // status.loadBalancer.ingress of LoadBalancer Services (base/host_address.h: a wildcard public
  // address reaches nothing as an address to report); empty: the public address.
  std::string advertise_address;
  int node_port_min = 30000;                  // the node port range, inclusive
  int node_port_max = 32767;
  int ingress_http_port = 80;                 // Ingress listeners on the public address; 0: none
  int ingress_https_port = 443;
};

// kInvalid naming the bad setting: addresses must be IP literals, 1 <= min <= max <= 65535,
// ingress ports 0..65535.
Status CheckServiceNetworkOptions(const ServiceNetworkOptions& options);

// One HAProxy listener of a Service.
struct ServiceListener {
  std::string address;
  int port = 0;
  size_t port_index = 0;  // into spec.ports
  bool node_port = false; // the listener is the port's nodePort (else its port)
  std::string field;      // "spec.ports[0].port" / "spec.ports[0].nodePort"
};

// The listeners of an admitted Service, in spec.ports order: clusterIP:port unless headless;
// for NodePort and LoadBalancer also public:nodePort (when allocated); for LoadBalancer also
// public:port (the load balancer's own address, status.loadBalancer.ingress). Duplicates (the
// service and public addresses equal) are listed once.
std::vector<ServiceListener> ServiceListeners(const json& service, const ServiceNetworkOptions& options);

std::shared_ptr<AdmissionPlugin> NewServiceAdmission(ServiceNetworkOptions options);

// The default IngressClass: name `haproxy`, controller haproxy.capstan.io/ingress-controller,
// annotation ingressclass.kubernetes.io/is-default-class: "true".
inline constexpr char kHaproxyIngressClass[] = "haproxy";
inline constexpr char kHaproxyIngressController[] = "haproxy.capstan.io/ingress-controller";

// Creates the default IngressClass when no IngressClass of that name exists (a user's changes
// to it, or its deletion followed by a restart, are respected only in the first sense: a deleted
// class comes back at the next start). Called by ApiServer::Start.
Status EnsureDefaultIngressClass(ResourceService* service);

}  // namespace capstan::api
