#include "client/fake_api_server.h"

#include <chrono>

#include "api/patch/patch.h"

namespace capstan::client::testing {
namespace {

using nlohmann::json;

struct FakeResource {
  const char* prefix;  // "/api/v1"
  const char* plural;
  const char* kind;
  bool namespaced;
  std::vector<std::string> short_names;
};

const std::vector<FakeResource>& Resources() {
  static const std::vector<FakeResource> kResources = {
      {"/api/v1", "pods", "Pod", true, {"po"}},
      {"/api/v1", "namespaces", "Namespace", false, {"ns"}},
      {"/api/v1", "configmaps", "ConfigMap", true, {"cm"}},
      {"/api/v1", "events", "Event", true, {"ev"}},
      {"/api/v1", "services", "Service", true, {"svc"}},
      {"/apis/apps/v1", "deployments", "Deployment", true, {"deploy"}},
      {"/apis/apps/v1", "replicasets", "ReplicaSet", true, {"rs"}},
  };
  return kResources;
}

json ResourceList(const std::string& prefix, const std::string& group_version) {
  json resources = json::array();
  for (const FakeResource& r : Resources()) {
    if (r.prefix != prefix) continue;
    std::string singular = r.kind;
    for (char& c : singular) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    resources.push_back({{"name", r.plural}, {"singularName", singular}, {"namespaced", r.namespaced},
                         {"kind", r.kind}, {"verbs", {"create", "delete", "get", "list", "patch", "update", "watch"}},
                         {"shortNames", r.short_names}});
    // Subresources appear in discovery but are not resources a user names.
    resources.push_back({{"name", std::string(r.plural) + "/status"}, {"singularName", ""}, {"namespaced", r.namespaced},
                         {"kind", r.kind}, {"verbs", {"get", "patch", "update"}}});
  }
  return {{"kind", "APIResourceList"}, {"apiVersion", "v1"}, {"groupVersion", group_version}, {"resources", resources}};
}

void SendJson(httplib::Response& response, int status, const json& body) {
  response.status = status;
  response.set_content(body.dump(), "application/json");
}

void SendStatus(httplib::Response& response, int code, const std::string& reason, const std::string& message) {
  SendJson(response, code,
           {{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"}, {"message", message}, {"reason", reason},
            {"code", code}});
}

}  // namespace

FakeApiServer::FakeApiServer() {
  server_.Get("/api", [this](const httplib::Request& req, httplib::Response& res) {
    Record(req);
    SendJson(res, 200, {{"kind", "APIVersions"}, {"versions", {"v1"}}});
  });
  server_.Get("/api/v1", [this](const httplib::Request& req, httplib::Response& res) {
    Record(req);
    SendJson(res, 200, ResourceList("/api/v1", "v1"));
  });
  server_.Get("/apis", [this](const httplib::Request& req, httplib::Response& res) {
    Record(req);
    json apps = {{"name", "apps"},
                 {"versions", {{{"groupVersion", "apps/v1"}, {"version", "v1"}}}},
                 {"preferredVersion", {{"groupVersion", "apps/v1"}, {"version", "v1"}}}};
    SendJson(res, 200, {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", {apps}}});
  });
  server_.Get("/apis/apps/v1", [this](const httplib::Request& req, httplib::Response& res) {
    Record(req);
    SendJson(res, 200, ResourceList("/apis/apps/v1", "apps/v1"));
  });
  for (const char* prefix : {"/api/v1", "/apis/apps/v1"}) {
    std::string pattern = std::string(prefix) + "/(.+)";
    auto handler = [this, prefix](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      HandleResource(prefix, req, res);
    };
    server_.Get(pattern, handler);
    server_.Post(pattern, handler);
    server_.Patch(pattern, handler);
    server_.Put(pattern, handler);
    server_.Delete(pattern, handler);
  }
}

FakeApiServer::~FakeApiServer() {
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

void FakeApiServer::Start() {
  port_ = server_.bind_to_any_port("127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  for (int i = 0; i < 500 && !server_.is_running(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(2));
}

void FakeApiServer::Record(const httplib::Request& request) {
  RecordedRequest recorded;
  recorded.method = request.method;
  recorded.path = request.path;
  for (const auto& [k, v] : request.params) recorded.query[k] = v;
  recorded.body = request.body;
  recorded.content_type = request.get_header_value("Content-Type");
  recorded.accept = request.get_header_value("Accept");
  recorded.authorization = request.get_header_value("Authorization");
  std::lock_guard<std::mutex> lock(mu_);
  requests_.push_back(std::move(recorded));
}

std::vector<RecordedRequest> FakeApiServer::Requests() {
  std::lock_guard<std::mutex> lock(mu_);
  return requests_;
}

std::vector<RecordedRequest> FakeApiServer::ObjectRequests() {
  std::vector<RecordedRequest> out;
  for (RecordedRequest& r : Requests()) {
    bool discovery = r.method == "GET" && (r.path == "/api" || r.path == "/apis" || r.path == "/api/v1" || r.path == "/apis/apps/v1");
    if (!discovery) out.push_back(std::move(r));
  }
  return out;
}

void FakeApiServer::ClearRequests() {
  std::lock_guard<std::mutex> lock(mu_);
  requests_.clear();
}

void FakeApiServer::Seed(const json& object) {
  std::string api_version = object["apiVersion"];
  std::string prefix = api_version == "v1" ? "/api/v1" : "/apis/" + api_version;
  for (const FakeResource& r : Resources()) {
    if (r.prefix != prefix || object["kind"] != r.kind) continue;
    std::string path = prefix;
    if (r.namespaced) path += "/namespaces/" + object["metadata"].value("namespace", std::string("default"));
    path += std::string("/") + r.plural + "/" + object["metadata"]["name"].get<std::string>();
    std::lock_guard<std::mutex> lock(mu_);
    objects_[path] = object;
    return;
  }
}

std::optional<json> FakeApiServer::Object(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = objects_.find(path);
  if (it == objects_.end()) return std::nullopt;
  return it->second;
}

void FakeApiServer::HandleResource(const std::string& prefix, const httplib::Request& req, httplib::Response& res) {
  // rest: "namespaces/NS/PLURAL[/NAME]" or "PLURAL[/NAME]".
  std::string rest = req.path.substr(prefix.size() + 1);
  std::vector<std::string> parts;
  for (size_t start = 0; start <= rest.size();) {
    size_t slash = rest.find('/', start);
    parts.push_back(rest.substr(start, slash == std::string::npos ? std::string::npos : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  std::string ns;
  if (parts.size() >= 3 && parts[0] == "namespaces") {
    ns = parts[1];
    parts.erase(parts.begin(), parts.begin() + 2);
  }
  const FakeResource* resource = nullptr;
  for (const FakeResource& r : Resources()) {
    if (r.prefix == prefix && parts[0] == r.plural) resource = &r;
  }
  if (resource == nullptr || parts.size() > 2) {
    SendStatus(res, 404, "NotFound", "the server could not find the requested resource");
    return;
  }
  std::string collection = prefix + (resource->namespaced && !ns.empty() ? "/namespaces/" + ns : "") + "/" + resource->plural;
  std::string name = parts.size() == 2 ? parts[1] : "";
  std::string path = collection + (name.empty() ? "" : "/" + name);
  bool dry_run = req.get_param_value("dryRun") == "All";
  std::string what = std::string(resource->plural) + (prefix == "/api/v1" ? "" : ".apps");

  std::lock_guard<std::mutex> lock(mu_);
  if (req.method == "GET" && name.empty()) {
    std::vector<json> items;
    for (const auto& [p, object] : objects_) {
      bool in_collection = resource->namespaced && ns.empty()
                               ? p.rfind(prefix + "/namespaces/", 0) == 0 &&
                                     p.find(std::string("/") + resource->plural + "/") != std::string::npos
                               : p.rfind(collection + "/", 0) == 0;
      std::string selector = req.get_param_value("labelSelector");
      if (in_collection && !selector.empty()) {
        size_t eq = selector.find('=');
        const json& labels = object["metadata"].contains("labels") ? object["metadata"]["labels"] : json::object();
        in_collection = labels.value(selector.substr(0, eq), std::string()) == selector.substr(eq + 1);
      }
      if (in_collection) items.push_back(object);
    }
    size_t offset = req.has_param("continue") ? std::stoul(req.get_param_value("continue")) : 0;
    size_t limit = req.has_param("limit") ? std::stoul(req.get_param_value("limit")) : items.size();
    json page = json::array();
    for (size_t i = offset; i < items.size() && i < offset + limit; ++i) page.push_back(items[i]);
    json metadata = {{"resourceVersion", std::to_string(resource_version_)}};
    if (offset + limit < items.size()) metadata["continue"] = std::to_string(offset + limit);
    if (req.get_header_value("Accept").find("as=Table") != std::string::npos) {
      json rows = json::array();
      for (const json& item : page) {
        rows.push_back({{"cells", {item["metadata"]["name"], "x"}},
                        {"object", {{"kind", "PartialObjectMetadata"}, {"metadata", item["metadata"]}}}});
      }
      SendJson(res, 200,
               {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", metadata},
                {"columnDefinitions",
                 {{{"name", "Name"}, {"type", "string"}, {"format", "name"}, {"priority", 0}},
                  {{"name", "Extra"}, {"type", "string"}, {"format", ""}, {"priority", 1}}}},
                {"rows", rows}});
      return;
    }
    // Items without apiVersion/kind, as Kubernetes sends them.
    for (json& item : page) {
      item.erase("apiVersion");
      item.erase("kind");
    }
    SendJson(res, 200, {{"kind", std::string(resource->kind) + "List"}, {"apiVersion", "v1"}, {"metadata", metadata}, {"items", page}});
    return;
  }
  auto existing = objects_.find(path);
  if (req.method == "GET") {
    if (existing == objects_.end()) return SendStatus(res, 404, "NotFound", what + " \"" + name + "\" not found");
    return SendJson(res, 200, existing->second);
  }
  if (req.method == "POST") {
    json object = json::parse(req.body);
    std::string object_name = object["metadata"]["name"];
    std::string object_path = collection + "/" + object_name;
    if (objects_.count(object_path) != 0) {
      return SendStatus(res, 409, "AlreadyExists", what + " \"" + object_name + "\" already exists");
    }
    object["metadata"]["uid"] = "uid-" + std::to_string(next_uid_++);
    object["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
    object["metadata"]["creationTimestamp"] = "2024-01-02T15:04:05Z";
    if (std::string(resource->kind) == "Deployment" && !object["spec"].contains("replicas")) object["spec"]["replicas"] = 1;
    if (!dry_run) objects_[object_path] = object;
    return SendJson(res, 201, object);
  }
  if (req.method == "PATCH") {
    if (existing == objects_.end()) return SendStatus(res, 404, "NotFound", what + " \"" + name + "\" not found");
    if (req.get_header_value("Content-Type") != "application/merge-patch+json") {
      return SendStatus(res, 415, "UnsupportedMediaType", "only merge patches here");
    }
    json patched = api::ApplyMergePatch(existing->second, json::parse(req.body));
    if (patched["metadata"].value("name", std::string()) == "invalid-on-patch") {
      return SendStatus(res, 422, "Invalid", "Deployment.apps \"invalid-on-patch\" is invalid: spec.replicas: must be >= 0");
    }
    patched["metadata"]["resourceVersion"] = std::to_string(++resource_version_);
    if (!dry_run) existing->second = patched;
    return SendJson(res, 200, patched);
  }
  if (req.method == "DELETE") {
    if (existing == objects_.end()) return SendStatus(res, 404, "NotFound", what + " \"" + name + "\" not found");
    json object = existing->second;
    if (!dry_run) objects_.erase(existing);
    return SendJson(res, 200, object);
  }
  SendStatus(res, 405, "MethodNotAllowed", "method not allowed");
}

}  // namespace capstan::client::testing
