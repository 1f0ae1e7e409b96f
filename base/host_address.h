// Which address of this host to tell clients about when a listener binds a wildcard: what
// status.loadBalancer.ingress of a LoadBalancer Service or a served Ingress reports (kubectl's
// EXTERNAL-IP and ADDRESS columns). "0.0.0.0" there reaches nothing; Kubernetes' node-local load
// balancers (k3s' ServiceLB, ingress controllers without a publish address) report the node's IP.
//
// Thread-safety: stateless functions; the address lookup reads /proc and the interfaces each call.
#pragma once

#include <string>

namespace capstan::base {

// 0.0.0.0, ::, [::].
bool IsWildcardAddress(const std::string& address);

// The interface of the IPv4 default route in the text of /proc/net/route (columns Iface,
// Destination, ..., Mask, hex); empty when there is none.
std::string DefaultRouteInterface(const std::string& proc_net_route);

// `listen_address` itself when it is not a wildcard; else the IPv4 address of the default route's
// interface, else of the first interface that is up and not loopback, else 127.0.0.1.
std::string AdvertisedAddress(const std::string& listen_address);

}  // namespace capstan::base
