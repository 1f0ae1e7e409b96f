#include "client/discovery.h"
#include "client/api_client.h"
#include "client/json_fields.h"

#include <algorithm>
#include <cctype>

namespace capstan::client {
namespace {

// Connection failures already say everything ("cannot connect to ..."); server answers get the
// context of which discovery document failed.
Status InContext(const Status& status, const std::string& context) {
  if (status.code() == Code::kUnavailable || status.code() == Code::kTimeout) return status;
  return status.Annotate(context);
}

// "v1", "v1beta2", "v2alpha1": what a Kubernetes version looks like.
bool LooksLikeVersion(std::string_view text) {
  if (text.size() < 2 || text[0] != 'v' || !std::isdigit(static_cast<unsigned char>(text[1]))) return false;
  size_t i = 1;
  while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
  if (i == text.size()) return true;
  std::string_view rest = text.substr(i);
  for (std::string_view stage : {"alpha", "beta"}) {
    if (rest.substr(0, stage.size()) == stage) {
      rest.remove_prefix(stage.size());
      return !rest.empty() && std::all_of(rest.begin(), rest.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    }
  }
  return false;
}

std::vector<std::string> StringList(const json& object, const char* key) {
  std::vector<std::string> out;
  auto it = object.find(key);
  if (it == object.end() || !it->is_array()) return out;
  for (const json& item : *it) {
    if (item.is_string()) out.push_back(item.get<std::string>());
  }
  return out;
}

bool Matches(const ResourceInfo& resource, const std::string& lower) {
  if (resource.plural == lower || resource.singular == lower || ToLower(resource.kind) == lower) return true;
  return std::find(resource.short_names.begin(), resource.short_names.end(), lower) != resource.short_names.end();
}

}  // namespace

std::string ToLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string ResourceInfo::ApiVersion() const { return group.empty() ? version : group + "/" + version; }

std::string ResourceInfo::DisplayKind() const {
  std::string lower = ToLower(kind);
  return group.empty() ? lower : lower + "." + group;
}

std::string ResourceInfo::DisplayResource() const { return group.empty() ? plural : plural + "." + group; }

bool ResourceInfo::HasVerb(std::string_view verb) const {
  return std::find(verbs.begin(), verbs.end(), verb) != verbs.end();
}

Discovery::Discovery(const RestClient* client)
    : get_([client](const std::string& path) { return client->Get(path); }) {}

Discovery::Discovery(ApiClient* api) : get_([api](const std::string& path) { return api->Get(path); }) {}

Status Discovery::LoadGroups() {
  if (groups_loaded_) return Status::Ok();
  Result<json> core = get_("/api");
  if (!core.ok()) return InContext(core.status(), "discovering the core API group");
  Group core_group;
  core_group.versions = StringList(*core, "versions");
  if (!core_group.versions.empty()) {
    core_group.preferred_version = core_group.versions.front();
    groups_.push_back(std::move(core_group));
  }

  Result<json> apis = get_("/apis");
  if (!apis.ok() && !apis.status().IsNotFound()) return InContext(apis.status(), "discovering API groups");
  if (apis.ok() && apis->contains("groups") && (*apis)["groups"].is_array()) {
    for (const json& entry : (*apis)["groups"]) {
      if (!entry.is_object()) continue;
      Group group;
      group.name = StringField(entry, "name");
      if (auto versions = entry.find("versions"); versions != entry.end() && versions->is_array()) {
        for (const json& v : *versions) {
          if (v.is_object() && v.contains("version") && v["version"].is_string()) group.versions.push_back(v["version"]);
        }
      }
      if (auto preferred = entry.find("preferredVersion"); preferred != entry.end() && preferred->is_object()) {
        group.preferred_version = StringField(*preferred, "version");
      }
      if (group.preferred_version.empty() && !group.versions.empty()) group.preferred_version = group.versions.front();
      if (group.name.empty() || group.preferred_version.empty()) continue;
      groups_.push_back(std::move(group));
    }
  }
  groups_loaded_ = true;
  return Status::Ok();
}

Result<const std::vector<ResourceInfo>*> Discovery::GroupVersion(const std::string& group, const std::string& version) {
  std::string key = group.empty() ? version : group + "/" + version;
  if (auto it = group_versions_.find(key); it != group_versions_.end()) return &it->second;

  std::string path = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  Result<json> list = get_(path);
  std::vector<ResourceInfo> resources;
  if (!list.ok()) {
    if (!list.status().IsNotFound()) return InContext(list.status(), "discovering " + key);
  } else if (list->contains("resources") && (*list)["resources"].is_array()) {
    for (const json& entry : (*list)["resources"]) {
      if (!entry.is_object()) continue;
      ResourceInfo info;
      info.plural = StringField(entry, "name");
      // "pods/status", "deployments/scale": subresources, not things a user lists.
      if (info.plural.empty() || info.plural.find('/') != std::string::npos) continue;
      info.group = group;
      info.version = version;
      info.kind = StringField(entry, "kind");
      info.singular = StringField(entry, "singularName");
      if (info.singular.empty()) info.singular = ToLower(info.kind);
      info.namespaced = BoolField(entry, "namespaced");
      info.verbs = StringList(entry, "verbs");
      info.short_names = StringList(entry, "shortNames");
      resources.push_back(std::move(info));
    }
  }
  auto [it, inserted] = group_versions_.emplace(key, std::move(resources));
  return &it->second;
}

Result<ResourceInfo> Discovery::Resolve(std::string_view typed) {
  std::string lower = ToLower(typed);
  std::string name = lower;
  std::string group_filter;
  std::string version_filter;
  bool qualified = false;
  if (size_t dot = lower.find('.'); dot != std::string::npos) {
    qualified = true;
    name = lower.substr(0, dot);
    std::string qualifier = lower.substr(dot + 1);
    size_t second = qualifier.find('.');
    std::string first_part = qualifier.substr(0, second);
    if (LooksLikeVersion(first_part)) {
      version_filter = first_part;
      group_filter = second == std::string::npos ? "" : qualifier.substr(second + 1);
    } else {
      group_filter = qualifier;
    }
  }
  CAPSTAN_RETURN_IF_ERROR(LoadGroups());
  for (const Group& group : groups_) {
    if (qualified && group.name != group_filter) continue;
    std::string version = version_filter.empty() ? group.preferred_version : version_filter;
    if (!version_filter.empty() && std::find(group.versions.begin(), group.versions.end(), version) == group.versions.end()) {
      continue;
    }
    Result<const std::vector<ResourceInfo>*> resources = GroupVersion(group.name, version);
    if (!resources.ok()) return resources.status();
    for (const ResourceInfo& resource : **resources) {
      if (Matches(resource, name)) return resource;
    }
  }
  return Status::NotFound("the server doesn't have a resource type \"" + std::string(typed) + "\"");
}

Result<ResourceInfo> Discovery::ResolveKind(const std::string& api_version, const std::string& kind) {
  std::string group;
  std::string version = api_version;
  if (size_t slash = api_version.find('/'); slash != std::string::npos) {
    group = api_version.substr(0, slash);
    version = api_version.substr(slash + 1);
  }
  Result<const std::vector<ResourceInfo>*> resources = GroupVersion(group, version);
  if (!resources.ok()) return resources.status();
  for (const ResourceInfo& resource : **resources) {
    if (resource.kind == kind) return resource;
  }
  return Status::NotFound("no matches for kind \"" + kind + "\" in version \"" + api_version + "\"");
}

Result<std::vector<ResourceInfo>> Discovery::ServerPreferredResources() {
  CAPSTAN_RETURN_IF_ERROR(LoadGroups());
  std::vector<ResourceInfo> all;
  for (const Group& group : groups_) {
    Result<const std::vector<ResourceInfo>*> resources = GroupVersion(group.name, group.preferred_version);
    if (!resources.ok()) return resources.status();
    all.insert(all.end(), (*resources)->begin(), (*resources)->end());
  }
  return all;
}

std::string CollectionPath(const ResourceInfo& resource, const std::string& namespace_name) {
  std::string path = resource.group.empty() ? "/api/" + resource.version : "/apis/" + resource.group + "/" + resource.version;
  if (resource.namespaced && !namespace_name.empty()) path += "/namespaces/" + namespace_name;
  return path + "/" + resource.plural;
}

std::string ObjectPath(const ResourceInfo& resource, const std::string& namespace_name, const std::string& name) {
  return CollectionPath(resource, namespace_name) + "/" + name;
}

}  // namespace capstan::client
