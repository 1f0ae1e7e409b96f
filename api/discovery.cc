#include "api/discovery.h"

#include <map>
#include <set>

namespace capstan::api {
namespace {

json Verbs(const KindInfo& k) {
  (void)k;
  return json::array({"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"});
}

std::map<std::string, std::set<std::string>> GroupVersions() {
  std::map<std::string, std::set<std::string>> out;
  for (const KindInfo* k : AllKinds()) {
    if (!k->group.empty()) out[k->group].insert(k->version);
  }
  return out;
}

json GroupDoc(const std::string& group, const std::set<std::string>& versions) {
  json vs = json::array();
  for (const auto& v : versions) vs.push_back({{"groupVersion", group + "/" + v}, {"version", v}});
  // One version per group for now; the newest listed is preferred.
  return {{"name", group}, {"versions", vs}, {"preferredVersion", vs.back()}};
}

}  // namespace

json CoreApiVersions(const std::string& server_address) {
  return {{"kind", "APIVersions"},
          {"versions", json::array({"v1"})},
          {"serverAddressByClientCIDRs", json::array({{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", server_address}}})}};
}

json ApiGroupList() {
  json groups = json::array();
  for (const auto& [g, versions] : GroupVersions()) groups.push_back(GroupDoc(g, versions));
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
}

json ApiGroup(const std::string& group) {
  auto gv = GroupVersions();
  auto it = gv.find(group);
  if (it == gv.end()) return nullptr;
  json doc = GroupDoc(group, it->second);
  doc["kind"] = "APIGroup";
  doc["apiVersion"] = "v1";
  return doc;
}

json ApiResourceList(const std::string& group, const std::string& version) {
  json resources = json::array();
  bool any = false;
  for (const KindInfo* k : AllKinds()) {
    if (k->group != group || k->version != version) continue;
    any = true;
    json r = {{"name", k->plural},         {"singularName", k->singular}, {"namespaced", k->namespaced},
              {"kind", k->kind},           {"verbs", Verbs(*k)}};
    if (!k->short_names.empty()) r["shortNames"] = k->short_names;
    if (!k->categories.empty()) r["categories"] = k->categories;
    resources.push_back(r);
    if (k->status_subresource) {
      resources.push_back({{"name", k->plural + "/status"}, {"singularName", ""}, {"namespaced", k->namespaced},
                           {"kind", k->kind}, {"verbs", {"get", "patch", "update"}}});
    }
    if (k->binding_subresource) {
      resources.push_back({{"name", k->plural + "/binding"}, {"singularName", ""}, {"namespaced", k->namespaced},
                           {"kind", "Binding"}, {"verbs", {"create"}}});
    }
    if (k->pod_streams) {
      resources.push_back({{"name", k->plural + "/exec"}, {"singularName", ""}, {"namespaced", k->namespaced},
                           {"kind", "PodExecOptions"}, {"verbs", {"create", "get"}}});
      resources.push_back({{"name", k->plural + "/log"}, {"singularName", ""}, {"namespaced", k->namespaced},
                           {"kind", k->kind}, {"verbs", {"get"}}});
    }
    if (k->scale) {
      resources.push_back({{"name", k->plural + "/scale"}, {"singularName", ""}, {"namespaced", k->namespaced},
                           {"group", "autoscaling"}, {"version", "v1"}, {"kind", "Scale"},
                           {"verbs", {"get", "patch", "update"}}});
    }
  }
  if (!any) return nullptr;
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", group.empty() ? version : group + "/" + version},
          {"resources", resources}};
}

json VersionInfo() {
  std::string compat = kKubernetesCompatVersion;
  auto dot = compat.find('.');
  return {{"major", compat.substr(0, dot)},
          {"minor", compat.substr(dot + 1)},
          {"gitVersion", "v" + compat + ".0+capstan-" CAPSTAN_VERSION},
          {"gitCommit", ""},
          {"gitTreeState", "clean"},
          {"buildDate", __DATE__},
          {"goVersion", "n/a (C++20)"},
          {"compiler", "gcc"},
          {"platform", "linux/amd64"},
          {"capstanVersion", CAPSTAN_VERSION}};
}

}  // namespace capstan::api
