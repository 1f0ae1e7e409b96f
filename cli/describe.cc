// capstan describe: a readable account of objects, with their conditions and recent events.
#include <cstdio>
#include <ctime>

#include "cli/describe_printer.h"
#include "cli/resource_args.h"
#include "cli/session.h"
#include "cli/verbs.h"
#include "client/json_fields.h"
#include "client/list.h"

namespace capstan::cli {
namespace {

using client::MetaString;
using client::ResourceInfo;
using nlohmann::json;

constexpr const char* kUsage =
    "Show details of a specific resource or group of resources, with its recent events.\n\n"
    "Usage:\n"
    "  capstan describe TYPE [NAME...] [-l SELECTOR] [flags]\n"
    "  capstan describe TYPE/NAME ... [flags]\n\n"
    "Examples:\n"
    "  capstan describe deploy web\n"
    "  capstan describe pods -l app=web\n\n"
    "Flags:\n";

// Events about `object` (by uid), oldest first; none when the server has no events or refuses.
std::vector<json> EventsFor(Session& session, const ResourceInfo& resource, const json& object) {
  std::string uid = MetaString(object, "uid");
  if (uid.empty()) return {};
  client::ResourceInfo events;
  events.version = "v1";
  events.plural = "events";
  events.kind = "Event";
  events.namespaced = true;
  // Events about cluster-scoped objects may be in any namespace.
  std::string ns = resource.namespaced ? MetaString(object, "namespace") : "";
  client::ListOptions options;
  options.field_selector = "involvedObject.uid=" + uid;
  Result<json> list = client::ListAll(*session.client, events, client::CollectionPath(events, ns), options);
  if (!list.ok()) return {};
  std::vector<json> out;
  for (const json& item : client::Field(*list, "items")) {
    // A server ignoring the field selector must not show other objects' events.
    if (client::StringField(client::Field(item, "involvedObject"), "uid") == uid) out.push_back(item);
  }
  return out;
}

// A Service's endpoints, from its EndpointSlices (none when the server has no such kind), and
// the HAProxy servers behind it.
std::vector<DescribeTable> KindTables(Session& session, const ResourceInfo& resource, const json& object) {
  if (resource.kind != "Service" || !resource.group.empty()) return {};
  client::ResourceInfo slices;
  slices.group = "discovery.k8s.io";
  slices.version = "v1";
  slices.plural = "endpointslices";
  slices.kind = "EndpointSlice";
  slices.namespaced = true;
  client::ListOptions options;
  options.label_selector = "kubernetes.io/service-name=" + MetaString(object, "name");
  Result<json> list =
      client::ListAll(*session.client, slices, client::CollectionPath(slices, MetaString(object, "namespace")), options);
  std::vector<json> items;
  if (list.ok()) {
    for (const json& item : client::Field(*list, "items")) items.push_back(item);
  }
  // The load balancer's view: Capstan's own endpoint (api/load_balancer_status.h); a server
  // without it (a Kubernetes cluster, an older Capstan) says so instead of failing.
  Result<json> lb = session.client->Get("/capstan/v1/namespaces/" + MetaString(object, "namespace") + "/services/" +
                                        MetaString(object, "name") + "/loadbalancer");
  json status = lb.ok() ? *lb : json{{"message", "the server did not answer: " + lb.status().message()}};
  if (!lb.ok() && lb.status().IsNotFound()) status["message"] = "this server has no Capstan load balancer";
  return {ServiceEndpointsTable(items), ServiceLoadBalancerTable(status)};
}

}  // namespace

int RunDescribe(const GlobalOptions& global, const Args& args) {
  std::string selector;
  bool all_namespaces = false;
  FlagSet flag_set("capstan describe");
  flag_set.AddString("selector", 'l', &selector, "Describe the objects of TYPE matching this label selector.");
  flag_set.AddBool("all-namespaces", 'A', &all_namespaces, "With TYPE alone or -l: across all namespaces.");
  std::vector<std::string> positional;
  if (Status parsed = flag_set.Parse(args, &positional); !parsed.ok()) return UsageError("describe", parsed.message());
  if (flag_set.help_requested()) {
    std::printf("%s%s\n%s", kUsage, flag_set.FlagHelp().c_str(), GlobalFlagHelp().c_str());
    return 0;
  }
  if (positional.empty()) return UsageError("describe", "you must specify the type of resource to describe");

  Result<std::unique_ptr<Session>> session_or = OpenSession(global);
  if (!session_or.ok()) {
    PrintLocalError(session_or.status().message());
    return 1;
  }
  Session& session = **session_or;
  Result<std::vector<ResourceTarget>> targets = ResolveTargets(session, positional);
  if (!targets.ok()) {
    PrintTargetError(targets.status());
    return 1;
  }

  int exit_code = 0;
  size_t described = 0;
  std::time_t now = std::time(nullptr);
  for (const ResourceTarget& target : *targets) {
    std::vector<json> objects;
    if (!target.names.empty()) {
      for (const std::string& name : target.names) {
        Result<json> object = session.client->Get(client::ObjectPath(target.resource, session.namespace_name, name));
        if (!object.ok()) {
          PrintError(object.status());
          exit_code = 1;
          continue;
        }
        objects.push_back(std::move(*object));
      }
    } else {
      client::ListOptions options;
      options.label_selector = selector;
      std::string ns = all_namespaces ? "" : session.namespace_name;
      Result<json> list = client::ListAll(*session.client, target.resource, client::CollectionPath(target.resource, ns), options);
      if (!list.ok()) {
        PrintError(list.status());
        exit_code = 1;
        continue;
      }
      for (const json& item : client::Field(*list, "items")) objects.push_back(item);
    }
    for (const json& object : objects) {
      if (described++ > 0) std::printf("\n\n");
      std::string text = DescribeObject(object, EventsFor(session, target.resource, object), now,
                                        KindTables(session, target.resource, object));
      std::fwrite(text.data(), 1, text.size(), stdout);
    }
  }
  if (described == 0 && exit_code == 0) {
    std::fprintf(stderr, "No resources found in %s namespace.\n", session.namespace_name.c_str());
  }
  return exit_code;
}

}  // namespace capstan::cli
