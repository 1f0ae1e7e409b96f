// Capstan's Kubernetes API: ConfigMaps in a namespace, watched as newline-delimited JSON events.
#include <nlohmann/json.hpp>

#include "bench/backend.h"

namespace capstan::bench {
namespace {

class CapstanBackend : public Backend {
 public:
  using Backend::Backend;

  const char* name() const override { return "capstan"; }

  std::string PrepareGroup(httplib::Client& c, const std::string& group) const override {
    if (group == "default") return "";  // exists from the start
    std::string body = R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" + group + "\"}}";
    auto res = c.Post("/api/v1/namespaces", body, "application/json");
    if (!res) return "POST /api/v1/namespaces: " + ErrorText(res.error());
    if (res->status != 201 && res->status != 409) {
      return "POST /api/v1/namespaces -> " + std::to_string(res->status) + " " + res->body;
    }
    return "";
  }

  HttpCall Create(const std::string& group, const std::string&, const std::string& object) const override {
    return {"POST", Collection(group), object};
  }

  HttpCall Get(const std::string& group, const std::string& name) const override {
    return {"GET", Collection(group) + "/" + name, ""};
  }

  bool Found(const std::string&) const override { return true; }  // absence is a 404

  HttpCall List(const std::string& group) const override { return {"GET", Collection(group), ""}; }

  long ListCount(const std::string& body) const override {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded() || !j.contains("items") || !j["items"].is_array()) return -1;
    return static_cast<long>(j["items"].size());
  }

  std::string WatchRequest(httplib::Client& c, const std::string& group, std::string* error) const override {
    // Start at the current revision: without one, a Kubernetes watch first replays every object.
    const std::string probe = Collection(group) + "?limit=1";
    auto res = c.Get(probe.c_str());
    if (!res || res->status != 200) {
      *error = "GET " + probe + " -> " +
               (res ? std::to_string(res->status) + " " + res->body : ErrorText(res.error()));
      return "";
    }
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    std::string rv;
    if (!j.is_discarded() && j.contains("metadata") && j["metadata"].contains("resourceVersion") &&
        j["metadata"]["resourceVersion"].is_string()) {
      rv = j["metadata"]["resourceVersion"].get<std::string>();
    }
    if (rv.empty()) {
      *error = "GET " + probe + ": no metadata.resourceVersion in " + res->body.substr(0, 300);
      return "";
    }
    return "GET " + Collection(group) + "?watch=1&resourceVersion=" + rv + " HTTP/1.1\r\n" + CommonHeaders() +
           "Accept: application/json\r\n\r\n";
  }

  bool EstablishedOnHeaders() const override { return true; }
  bool IsCreatedMessage(std::string_view) const override { return false; }

  bool IsErrorMessage(std::string_view line) const override {
    return line.find(R"("type":"ERROR")") != std::string_view::npos;
  }

  void Markers(std::string_view line, std::string_view marker, std::vector<long>* out) const override {
    // The name is in the event's object (metadata.name); the payload is letters only.
    for (size_t at = line.find(marker); at != std::string_view::npos; at = line.find(marker, at + 1)) {
      long n = LeadingNumber(line.substr(at + marker.size()));
      if (n >= 0) out->push_back(n);
    }
  }

 private:
  static std::string Collection(const std::string& group) {
    return "/api/v1/namespaces/" + group + "/configmaps";
  }
};

}  // namespace

std::unique_ptr<Backend> NewCapstanBackend(std::string host, int port, std::string token) {
  return std::make_unique<CapstanBackend>(std::move(host), port, std::move(token));
}

}  // namespace capstan::bench
