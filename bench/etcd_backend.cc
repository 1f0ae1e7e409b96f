// etcd v3 through its HTTP/JSON gRPC gateway (/v3/kv/put, /v3/kv/range, /v3/watch): keys
// /bench/<group>/<name>, values the same ConfigMap JSON text capstan stores.
#include <nlohmann/json.hpp>

#include "bench/backend.h"
#include "base/base64.h"

namespace capstan::bench {
namespace {

class EtcdBackend : public Backend {
 public:
  EtcdBackend(std::string host, int port) : Backend(std::move(host), port, "") {}

  const char* name() const override { return "etcd"; }

  std::string PrepareGroup(httplib::Client&, const std::string&) const override { return ""; }

  HttpCall Create(const std::string& group, const std::string& name, const std::string& object) const override {
    return {"POST", "/v3/kv/put",
            R"({"key":")" + Base64Encode(Key(group, name)) + R"(","value":")" + Base64Encode(object) + "\"}"};
  }

  HttpCall Get(const std::string& group, const std::string& name) const override {
    return {"POST", "/v3/kv/range", R"({"key":")" + Base64Encode(Key(group, name)) + "\"}"};
  }

  bool Found(const std::string& body) const override { return body.find("\"kvs\"") != std::string::npos; }

  HttpCall List(const std::string& group) const override {
    return {"POST", "/v3/kv/range", PrefixJson(group)};
  }

  long ListCount(const std::string& body) const override {
    auto j = nlohmann::json::parse(body, nullptr, false);
    if (j.is_discarded()) return -1;
    if (!j.contains("kvs")) return 0;  // protobuf JSON omits empty lists
    return j["kvs"].is_array() ? static_cast<long>(j["kvs"].size()) : -1;
  }

  std::string WatchRequest(httplib::Client&, const std::string& group, std::string*) const override {
    const std::string body = R"({"create_request":)" + PrefixJson(group) + "}";
    return "POST /v3/watch HTTP/1.1\r\n" + CommonHeaders() + "Content-Type: application/json\r\nContent-Length: " +
           std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  bool EstablishedOnHeaders() const override { return false; }

  bool IsCreatedMessage(std::string_view line) const override {
    return line.find(R"("created":true)") != std::string_view::npos;
  }

  bool IsErrorMessage(std::string_view line) const override {
    return line.rfind(R"({"error")", 0) == 0 || line.find(R"("canceled":true)") != std::string_view::npos;
  }

  void Markers(std::string_view line, std::string_view marker, std::vector<long>* out) const override {
    // One message may carry several events; each names its object by the base64 of its key.
    constexpr std::string_view kKey = R"("key":")";
    std::string key;
    for (size_t at = line.find(kKey); at != std::string_view::npos; at = line.find(kKey, at + 1)) {
      size_t start = at + kKey.size(), end = line.find('"', start);
      if (end == std::string_view::npos) break;
      auto decoded = Base64Decode(line.substr(start, end - start));
      if (!decoded) continue;
      key = std::move(*decoded);
      if (size_t m = key.find(marker); m != std::string::npos) {
        long n = LeadingNumber(std::string_view(key).substr(m + marker.size()));
        if (n >= 0) out->push_back(n);
      }
    }
  }

 private:
  static std::string Key(const std::string& group, const std::string& name) { return "/bench/" + group + "/" + name; }

  // {"key": "/bench/<group>/", "range_end": "/bench/<group>0"}: every key under the prefix.
  static std::string PrefixJson(const std::string& group) {
    return R"({"key":")" + Base64Encode("/bench/" + group + "/") + R"(","range_end":")" +
           Base64Encode("/bench/" + group + "0") + "\"}";
  }
};

}  // namespace

std::unique_ptr<Backend> NewEtcdBackend(std::string host, int port) {
  return std::make_unique<EtcdBackend>(std::move(host), port);
}

}  // namespace capstan::bench
