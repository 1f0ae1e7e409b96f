// Shared fixture of the API layer's unit tests: a real RocksStore in a temporary directory, a
// ResourceService and an ApiHandler over it, and helpers to build HttpRequests, read JSON
// responses and drive watch streams without sockets.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "api/api_handler.h"
#include "api/object_event_source.h"
#include "api/kind.h"
#include "api/resource_service.h"
#include "store/store_test_util.h"

namespace capstan::api::testing {

inline constexpr char kAdminToken[] = "admin-token-0123456789abcdef";
inline constexpr char kViewToken[] = "view-token-0123456789abcdef";

inline json Deployment(const std::string& name, int replicas = 2) {
  json d = json::parse(R"({
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"labels": {"app": "web"}},
    "spec": {"selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "app", "image": "nginx:1.25"},
                                                  {"name": "sidecar", "image": "busybox:1.36"}]}}}
  })");
  d["metadata"]["name"] = name;
  d["spec"]["replicas"] = replicas;
  return d;
}

// A ConfigMap (no spec, no status subresource) with the given labels.
inline json ConfigMap(const std::string& name, const json& labels = json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"labels", labels}}},
          {"data", {{"key", "value"}}}};
}

inline json NamespaceObj(const std::string& name) {
  return {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}};
}

// Builds a request: `target` may carry a query string ("/api/v1/pods?limit=2").
inline HttpRequest Request(const std::string& method, const std::string& target, const std::string& body = "",
                           const std::string& content_type = "application/json",
                           const std::string& token = kAdminToken) {
  HttpRequest req;
  req.method = method;
  auto q = target.find('?');
  req.path = target.substr(0, q);
  if (q != std::string::npos) {
    bool ok = ParseQuery(std::string_view(target).substr(q + 1), &req.query);
    EXPECT_TRUE(ok) << target;
  }
  if (!token.empty()) req.headers.Add("Authorization", std::string("Bearer ") + token);
  if (!body.empty() && !content_type.empty()) req.headers.Add("Content-Type", content_type);
  req.body = body;
  req.remote = "127.0.0.1:40000";
  return req;
}

// Asserts that `r` is a Kubernetes Status failure with this code and reason.
inline void ExpectStatus(const HttpResponse& r, int code, const std::string& reason) {
  EXPECT_EQ(r.status, code) << r.body;
  json b = json::parse(r.body, nullptr, false);
  ASSERT_FALSE(b.is_discarded()) << r.body;
  EXPECT_EQ(b["kind"], "Status");
  EXPECT_EQ(b["apiVersion"], "v1");
  EXPECT_EQ(b["status"], "Failure");
  EXPECT_EQ(b["code"], code);
  EXPECT_EQ(b["reason"], reason) << r.body;
}

inline json BodyOf(const HttpResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << "not JSON: " << r.body;
  return j;
}

// Collects what a ResponseStream produces, waiting on its notify callback between reads.
class StreamReader {
 public:
  // `as_objects`: read through ObjectEventSource::ReadObjects (as in-process clients do) and
  // keep each event's shared object in objects().
  explicit StreamReader(std::shared_ptr<ResponseStream> stream, bool as_objects = false)
      : stream_(std::move(stream)), as_objects_(as_objects) {
    stream_->SetNotify([this] {
      std::lock_guard<std::mutex> l(mu_);
      notified_ = true;
      cv_.notify_all();
    });
  }
  ~StreamReader() {
    stream_->SetNotify(nullptr);
    stream_->Close();
  }

  // Reads until `n` events arrived, the stream ended, or `timeout` passed. Returns every event
  // read so far (also earlier calls' leftovers are not repeated).
  std::vector<json> ReadEvents(size_t n, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000)) {
    std::vector<json> out;
    auto end = std::chrono::steady_clock::now() + timeout;
    while (out.size() < n && !done_ && std::chrono::steady_clock::now() < end) {
      ReadOnce(&out);
      if (out.size() >= n || done_) break;
      std::unique_lock<std::mutex> l(mu_);
      auto wake = std::min(end, std::min(stream_->Deadline(), std::chrono::steady_clock::now() +
                                                                   std::chrono::milliseconds(50)));
      cv_.wait_until(l, wake, [this] { return notified_; });
      notified_ = false;
    }
    return out;
  }

  // Reads until the stream says it is done or `timeout` passes; true when it ended.
  bool WaitDone(std::chrono::milliseconds timeout, std::vector<json>* events) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (!done_ && std::chrono::steady_clock::now() < end) {
      ReadOnce(events);
      if (done_) break;
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait_until(l, std::min(end, std::chrono::steady_clock::now() + std::chrono::milliseconds(50)),
                     [this] { return notified_; });
      notified_ = false;
    }
    return done_;
  }

  bool done() const { return done_; }
  const std::vector<ObjectRef>& objects() const { return objects_; }

 private:
  void ReadOnce(std::vector<json>* out) {
    bool done = false;
    if (as_objects_) {
      auto* source = dynamic_cast<ObjectEventSource*>(stream_.get());
      EXPECT_NE(source, nullptr) << "not an ObjectEventSource";
      if (source == nullptr) return;
      for (ObjectEvent& ev : source->ReadObjects(&done)) {
        out->push_back(json{{"type", ev.type}, {"object", *ev.object}});
        objects_.push_back(std::move(ev.object));
      }
      done_ = done_ || done;
      return;
    }
    buffer_ += stream_->Read(&done);
    done_ = done_ || done;
    size_t nl;
    while ((nl = buffer_.find('\n')) != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      if (line.empty()) continue;
      json ev = json::parse(line, nullptr, false);
      EXPECT_FALSE(ev.is_discarded()) << line;
      out->push_back(std::move(ev));
    }
  }

  std::shared_ptr<ResponseStream> stream_;
  const bool as_objects_;
  std::vector<ObjectRef> objects_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool notified_ = false;  // guarded by mu_
  std::string buffer_;
  bool done_ = false;
};

// A store, service and handler over a fresh directory, with the built-in kinds registered and
// the "default" namespace created.
class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    RegisterBuiltinKinds();
    store_ = store::testing::OpenOrDie(dir_.Sub("store"), StoreOptions());
    ASSERT_NE(store_, nullptr);
    service_ = std::make_unique<ResourceService>(store_.get());
    auth_.AddToken(kAdminToken, Identity{"admin", Role::kAdmin});
    auth_.AddToken(kViewToken, Identity{"viewer", Role::kView});
    ApiHandlerOptions opts;
    opts.server_address = "127.0.0.1:7420";
    handler_ = std::make_unique<ApiHandler>(service_.get(), &auth_, opts);
    ASSERT_TRUE(CreateNamespace("default").ok());
  }

  void TearDown() override {
    handler_.reset();
    service_.reset();
    if (store_) store_->Shutdown();
    store_.reset();
  }

  virtual store::RocksStoreOptions StoreOptions() {
    store::RocksStoreOptions o;
    o.compaction_interval = std::chrono::milliseconds(0);
    return o;
  }

  const KindInfo& Kind(const std::string& group, const std::string& plural) {
    const KindInfo* k = FindKind(group, "v1", plural);
    EXPECT_NE(k, nullptr) << plural;
    return *k;
  }
  const KindInfo& Deployments() { return Kind("apps", "deployments"); }
  const KindInfo& ConfigMaps() { return Kind("", "configmaps"); }
  const KindInfo& Namespaces() { return Kind("", "namespaces"); }

  Result<json> CreateNamespace(const std::string& name) {
    return service_->Create(Namespaces(), "", NamespaceObj(name), WriteOptions{});
  }

  json MustCreate(const KindInfo& kind, const std::string& ns, const json& obj) {
    auto r = service_->Create(kind, ns, obj, WriteOptions{});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : json();
  }

  HttpResponse Do(const HttpRequest& req) { return handler_->Handle(req); }
  HttpResponse Do(const std::string& method, const std::string& target, const json& body = nullptr,
                  const std::string& content_type = "application/json") {
    return handler_->Handle(Request(method, target, body.is_null() ? "" : body.dump(), content_type));
  }

  store::testing::TempDir dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<ResourceService> service_;
  TokenAuthenticator auth_;
  std::unique_ptr<ApiHandler> handler_;
};

}  // namespace capstan::api::testing
