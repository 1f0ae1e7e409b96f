#include "api/openapi.h"

#include <functional>
#include <map>
#include <mutex>

#include "api/discovery.h"

namespace capstan::api {
namespace {

json GvkExtension(const KindInfo& k) {
  return json::array({{{"group", k.group}, {"version", k.version}, {"kind", k.kind}}});
}

json QueryParam(const std::string& name, const std::string& type, const std::string& description) {
  return {{"name", name}, {"in", "query"}, {"description", description}, {"schema", {{"type", type}, {"uniqueItems", true}}}};
}

json PathParam(const std::string& name, const std::string& description) {
  return {{"name", name}, {"in", "path"}, {"required", true}, {"description", description},
          {"schema", {{"type", "string"}, {"uniqueItems", true}}}};
}

json WriteParams(bool patch) {
  json p = json::array({QueryParam("dryRun", "string", "When present, indicates that modifications should not be "
                                                       "persisted. Valid value: All"),
                        QueryParam("fieldManager", "string", "A name associated with the actor making these changes."),
                        QueryParam("fieldValidation", "string",
                                   "How the server handles unknown or duplicate fields. Capstan always validates "
                                   "strictly: unknown fields are rejected with their path.")});
  if (patch) p.push_back(QueryParam("force", "boolean", "Force is only meaningful for apply requests."));
  return p;
}

json ListParams() {
  return json::array({QueryParam("labelSelector", "string", "A selector to restrict the list of returned objects by their labels."),
                      QueryParam("fieldSelector", "string", "A selector to restrict the list of returned objects by their fields."),
                      QueryParam("limit", "integer", "The maximum number of items to return."),
                      QueryParam("continue", "string", "The continue token of a previous page."),
                      QueryParam("resourceVersion", "string", "Where a list or watch starts."),
                      QueryParam("watch", "boolean", "Watch for changes instead of listing."),
                      QueryParam("allowWatchBookmarks", "boolean", "Request BOOKMARK events."),
                      QueryParam("timeoutSeconds", "integer", "How long a list or watch call may last.")});
}

json Response(const std::string& ref) {
  return {{"200", {{"description", "OK"},
                   {"content", {{"application/json", {{"schema", {{"$ref", "#/components/schemas/" + ref}}}}}}}}}};
}

json Operation(const KindInfo& k, const std::string& action, const std::string& op_id, json params,
               const std::string& response_ref, bool body) {
  json op = {{"operationId", op_id},
             {"tags", {k.group.empty() ? "core_v1" : k.group + "_" + k.version}},
             {"x-kubernetes-action", action},
             {"x-kubernetes-group-version-kind", GvkExtension(k)[0]},
             {"parameters", std::move(params)},
             {"responses", Response(response_ref)}};
  if (body) {
    json content = json::object();
    if (action == "patch") {
      for (const char* ct : {"application/json-patch+json", "application/merge-patch+json",
                             "application/strategic-merge-patch+json"}) {
        content[ct] = {{"schema", {{"type", "object"}}}};
      }
    } else {
      content["application/json"] = {{"schema", {{"$ref", "#/components/schemas/" + response_ref}}}};
    }
    op["requestBody"] = {{"content", content}, {"required", true}};
  }
  return op;
}

std::string CamelKind(const KindInfo& k) {
  std::string g = k.group.empty() ? "Core" : k.group;
  g[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(g[0])));
  std::string v = k.version;
  v[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(v[0])));
  return g + v;
}

void AddKindPaths(const KindInfo& k, json* paths) {
  const std::string base = k.group.empty() ? "/api/" + k.version : "/apis/" + k.group + "/" + k.version;
  const std::string ns_part = k.namespaced ? "/namespaces/{namespace}" : "";
  const std::string coll = base + ns_part + "/" + k.plural;
  const std::string item = coll + "/{name}";
  const std::string ref = k.schema ? k.schema->ref_name : k.kind;
  const std::string list_ref = ref + "List";
  const std::string id = CamelKind(k) + (k.namespaced ? "Namespaced" : "") + k.kind;

  json common = json::array({QueryParam("pretty", "string", "If 'true', then the output is pretty printed.")});
  if (k.namespaced) common.push_back(PathParam("namespace", "object name and auth scope, such as for teams and projects"));
  json item_common = common;
  item_common.push_back(PathParam("name", "name of the " + k.kind));

  (*paths)[coll] = {{"parameters", common},
                    {"get", Operation(k, "list", "list" + id, ListParams(), list_ref, false)},
                    {"post", Operation(k, "post", "create" + id, WriteParams(false), ref, true)},
                    {"delete", Operation(k, "deletecollection", "deleteCollection" + id, ListParams(), "io.k8s.apimachinery.pkg.apis.meta.v1.Status", false)}};
  (*paths)[item] = {{"parameters", item_common},
                    {"get", Operation(k, "get", "read" + id, json::array(), ref, false)},
                    {"put", Operation(k, "put", "replace" + id, WriteParams(false), ref, true)},
                    {"patch", Operation(k, "patch", "patch" + id, WriteParams(true), ref, true)},
                    {"delete", Operation(k, "delete", "delete" + id, json::array({QueryParam("dryRun", "string", ""), QueryParam("propagationPolicy", "string", ""), QueryParam("gracePeriodSeconds", "integer", "")}), ref, false)}};
  if (k.status_subresource) {
    (*paths)[item + "/status"] = {{"parameters", item_common},
                                  {"get", Operation(k, "get", "read" + id + "Status", json::array(), ref, false)},
                                  {"put", Operation(k, "put", "replace" + id + "Status", WriteParams(false), ref, true)},
                                  {"patch", Operation(k, "patch", "patch" + id + "Status", WriteParams(true), ref, true)}};
  }
}

json ListSchema(const KindInfo& k, const std::string& item_ref) {
  return {{"type", "object"},
          {"description", k.list_kind + " is a list of " + k.kind + " objects."},
          {"required", {"items"}},
          {"properties",
           {{"apiVersion", {{"type", "string"}}},
            {"kind", {{"type", "string"}}},
            {"metadata", {{"type", "object"}, {"x-kubernetes-preserve-unknown-fields", true}}},
            {"items", {{"type", "array"}, {"items", {{"allOf", {{{"$ref", "#/components/schemas/" + item_ref}}}}}}}}}},
          {"x-kubernetes-group-version-kind", json::array({{{"group", k.group}, {"version", k.version}, {"kind", k.list_kind}}})}};
}

json BuildDocument(const std::string& group, const std::string& version) {
  json paths = json::object();
  json components = json::object();
  for (const KindInfo* k : AllKinds()) {
    if (k->group != group || k->version != version || !k->schema) continue;
    ToOpenApi(*k->schema, &components);
    const std::string& ref = k->schema->ref_name;
    if (!ref.empty() && components.contains(ref)) {
      components[ref]["x-kubernetes-group-version-kind"] = GvkExtension(*k);
      components[ref + "List"] = ListSchema(*k, ref);
    }
    AddKindPaths(*k, &paths);
  }
  components["io.k8s.apimachinery.pkg.apis.meta.v1.Status"] = {
      {"type", "object"}, {"description", "Status is a return value for calls that don't return other objects."},
      {"x-kubernetes-preserve-unknown-fields", true}};
  return {{"openapi", "3.0.0"},
          {"info", {{"title", "Capstan"}, {"version", std::string("v") + kKubernetesCompatVersion + ".0"}}},
          {"paths", paths},
          {"components", {{"schemas", components}}}};
}

struct Cache {
  std::once_flag once;
  std::map<std::string, json> docs;    // "apis/apps/v1" -> document
  std::map<std::string, std::string> hashes;
};

Cache& TheCache() {
  static Cache* c = new Cache();
  std::call_once(c->once, [] {
    std::map<std::string, std::pair<std::string, std::string>> gvs;
    for (const KindInfo* k : AllKinds()) {
      std::string path = k->group.empty() ? "api/" + k->version : "apis/" + k->group + "/" + k->version;
      gvs[path] = {k->group, k->version};
    }
    for (const auto& [path, gv] : gvs) {
      c->docs[path] = BuildDocument(gv.first, gv.second);
      char buf[20];
      std::snprintf(buf, sizeof buf, "%016zX", std::hash<std::string>{}(c->docs[path].dump()));
      c->hashes[path] = buf;
    }
  });
  return *c;
}

}  // namespace

namespace {

// Protobuf wire encoding of a length-delimited field (wire type 2).
void PutBytesField(std::string* out, int field, const std::string& bytes) {
  uint64_t tag = (static_cast<uint64_t>(field) << 3) | 2;
  for (uint64_t v : {tag, static_cast<uint64_t>(bytes.size())}) {
    while (v >= 0x80) {
      out->push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out->push_back(static_cast<char>(v));
  }
  *out += bytes;
}

}  // namespace

std::string OpenApiV2Protobuf() {
  // gnostic openapi.v2.Document: swagger = 1, info = 2 (Info: title = 1, version = 2), paths = 8.
  std::string info;
  PutBytesField(&info, 1, "Capstan");
  PutBytesField(&info, 2, std::string("v") + kKubernetesCompatVersion + ".0");
  std::string doc;
  PutBytesField(&doc, 1, "2.0");
  PutBytesField(&doc, 2, info);
  PutBytesField(&doc, 8, "");
  return doc;
}

json OpenApiV2Json() {
  return {{"swagger", "2.0"},
          {"info", {{"title", "Capstan"}, {"version", std::string("v") + kKubernetesCompatVersion + ".0"}}},
          {"paths", json::object()},
          {"definitions", json::object()}};
}

json OpenApiV3Index() {
  json paths = json::object();
  for (const auto& [path, hash] : TheCache().hashes) {
    paths[path] = {{"serverRelativeURL", "/openapi/v3/" + path + "?hash=" + hash}};
  }
  return {{"paths", paths}};
}

const json& OpenApiV3Document(const std::string& gv_path) {
  static const json kNull = nullptr;
  auto& docs = TheCache().docs;
  auto it = docs.find(gv_path);
  return it == docs.end() ? kNull : it->second;
}

std::string OpenApiV3Hash(const std::string& gv_path) {
  auto& h = TheCache().hashes;
  auto it = h.find(gv_path);
  return it == h.end() ? "" : it->second;
}

}  // namespace capstan::api
