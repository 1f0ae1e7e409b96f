// The text of `capstan describe`: kubectl's layout (Name, Namespace, Labels, Annotations,
// CreationTimestamp, the kind's fields, Conditions, Events) rendered generically from the
// object, so a new kind describes readably without code here.
//
// Thread-safety: stateless functions.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace capstan::cli {

// A table a verb adds for a kind (a Service's endpoints), printed after the status, before Events.
struct DescribeTable {
  std::string title;
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;  // none: "<title>: <none>"
  std::string none = "<none>";                  // what stands for no rows
};

// `events` are core/v1 Events about the object (any order); `now` makes ages testable.
std::string DescribeObject(const nlohmann::json& object, const std::vector<nlohmann::json>& events, std::time_t now,
                           const std::vector<DescribeTable>& tables = {});

// The endpoints of a Service's EndpointSlices: one row per endpoint address and slice port
// (ADDRESS:PORT, the Service port's name, READY, SERVING, TERMINATING, NODE, POD), in slice order.
DescribeTable ServiceEndpointsTable(const std::vector<nlohmann::json>& slices);

// The HAProxy servers of a Service from GET .../services/NAME/loadbalancer (a
// ServiceLoadBalancerStatus; api/load_balancer_status.h): one row per server (PORT, SERVER,
// ADDRESS, STATUS, SESSIONS, CHECK, LAST CHANGE); without servers, the answer's message.
DescribeTable ServiceLoadBalancerTable(const nlohmann::json& status);

// "minReadySeconds" → "Min Ready Seconds".
std::string TitleCase(const std::string& key);

}  // namespace capstan::cli
