// InProcessApiClient against a scripted handler: the requests it builds, the Status errors it
// maps, and how it drives a ResponseStream (partial lines, notify, Deadline, ERROR events,
// Cancel, Close).
#include "client/in_process_api_client.h"

#include <atomic>
#include <thread>

#include <gtest/gtest.h>

namespace capstan::client {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A ResponseStream the test feeds. Read/Deadline/Close come from the client (serialized by it);
// Feed/Finish from the test thread.
class ScriptedStream : public api::ResponseStream {
 public:
  void SetNotify(std::function<void()> notify) override {
    std::lock_guard<std::mutex> lock(mu_);
    notify_ = std::move(notify);
  }
  std::string Read(bool* done) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (Clock::now() >= deadline_ && !on_deadline_.empty()) {
      pending_ += on_deadline_;
      on_deadline_.clear();
      deadline_ = Clock::time_point::max();
    }
    *done = finished_ || closed_;
    return std::exchange(pending_, std::string());
  }
  Clock::time_point Deadline() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return deadline_;
  }
  void Close() override {
    std::function<void()> notify;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
      notify = notify_;
    }
    if (notify) notify();  // as a store watch may on Cancel()
  }

  void Feed(const std::string& bytes, bool finish = false) {
    std::function<void()> notify;
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_ += bytes;
      finished_ = finished_ || finish;
      notify = notify_;
    }
    if (notify) notify();
  }
  // Makes `bytes` readable at `when`, without a notify: only Deadline() brings the reader back.
  void FeedAt(Clock::time_point when, const std::string& bytes) {
    std::lock_guard<std::mutex> lock(mu_);
    deadline_ = when;
    on_deadline_ = bytes;
  }
  bool closed() const {
    std::lock_guard<std::mutex> lock(mu_);
    return closed_;
  }

 private:
  mutable std::mutex mu_;
  std::function<void()> notify_;
  std::string pending_;
  std::string on_deadline_;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool finished_ = false;
  bool closed_ = false;
};

std::string StatusBody(int code, const std::string& reason, const std::string& message) {
  return json{{"kind", "Status"}, {"apiVersion", "v1"}, {"status", "Failure"}, {"reason", reason},
              {"message", message}, {"code", code}}
      .dump();
}

api::HttpResponse Answer(int status, std::string body) {
  api::HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

TEST(InProcessApiClientTest, BuildsTheRequestAnHttpServerWouldDecode) {
  api::HttpRequest seen;
  InProcessApiClient client(
      [&](const api::HttpRequest& req) {
        seen = req;
        return Answer(201, R"({"kind":"ConfigMap","metadata":{"name":"a b"}})");
      },
      "secret-token");
  auto r = client.Patch("/api/v1/namespaces/default/configmaps/a%20b", PatchType::kStrategic,
                        {{"data", {{"k", "v"}}}}, {{"labelSelector", "app in (a,b)"}, {"x", "y&z=1"}});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ((*r)["metadata"]["name"], "a b");
  EXPECT_EQ(seen.method, "PATCH");
  EXPECT_EQ(seen.path, "/api/v1/namespaces/default/configmaps/a b");
  EXPECT_EQ(seen.Query("labelSelector"), "app in (a,b)");
  EXPECT_EQ(seen.Query("x"), "y&z=1");
  EXPECT_EQ(seen.headers.Get("authorization"), "Bearer secret-token");
  EXPECT_EQ(seen.headers.Get("content-type"), "application/strategic-merge-patch+json");
  // The body travels as a value, not as text, and the handler is asked for a value back.
  EXPECT_TRUE(seen.body.empty());
  ASSERT_NE(seen.decoded_body, nullptr);
  EXPECT_EQ(*seen.decoded_body, json({{"data", {{"k", "v"}}}}));
  EXPECT_TRUE(seen.decoded_response);

  // A body given by value is moved into the request; one given by reference is copied.
  json kept = {{"data", {{"k", "kept"}}}};
  ASSERT_TRUE(client.Update("/api/v1/namespaces/default/configmaps/x", kept).ok());
  EXPECT_EQ(kept["data"]["k"], "kept");
  EXPECT_EQ((*seen.decoded_body)["data"]["k"], "kept");
  json given = {{"data", {{"k", "given"}}}};
  const json* given_data = &given["data"];
  ASSERT_TRUE(client.Update("/api/v1/namespaces/default/configmaps/x", std::move(given)).ok());
  EXPECT_EQ(seen.method, "PUT");
  EXPECT_EQ(&(*seen.decoded_body)["data"], given_data) << "the caller's object itself, not a copy";
  EXPECT_EQ((*seen.decoded_body)["data"]["k"], "given");

  ASSERT_TRUE(client.Delete("/api/v1/namespaces/default/configmaps/x").ok());
  EXPECT_EQ(seen.method, "DELETE");
  EXPECT_TRUE(seen.body.empty());
  EXPECT_EQ(seen.decoded_body, nullptr);
  EXPECT_FALSE(seen.headers.Get("content-type").has_value());

  auto listed = client.List("/api/v1/configmaps");  // the answer above is no list
  EXPECT_EQ(listed.status().code(), Code::kInternal);
  EXPECT_EQ(client.Get("/bad%zzpath").status().code(), Code::kBadRequest);
}

// A handler that answers with a decoded value is taken at its word (no text to parse); one that
// answers with text, as every error does, is parsed as before.
TEST(InProcessApiClientTest, TakesADecodedAnswerAsIs) {
  InProcessApiClient client(
      [](const api::HttpRequest& req) {
        if (req.method == "PUT") return Answer(200, R"({"kind":"ConfigMap","from":"text"})");
        api::HttpResponse r;
        r.status = 201;
        r.decoded_body = std::make_shared<json>(json{{"kind", "ConfigMap"}, {"from", "value"}});
        return r;
      },
      "");
  auto created = client.Create("/api/v1/namespaces/default/configmaps", json{{"kind", "ConfigMap"}});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ((*created)["from"], "value");
  auto updated = client.Update("/api/v1/namespaces/default/configmaps/a", json{{"kind", "ConfigMap"}});
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  EXPECT_EQ((*updated)["from"], "text");
}

// The *Shared writes hand over a shared answer (the written object, which its watch event
// carries too) as it is; the plain writes copy it, since their callers may change their answer.
// Each verb goes out as its method; a decoded or text answer is shared too, and errors are errors.
TEST(InProcessApiClientTest, SharedWritesTakeASharedAnswerWithoutACopy) {
  auto written = std::make_shared<const json>(json{{"kind", "Pod"}, {"metadata", {{"resourceVersion", "7"}}}});
  std::vector<std::string> methods;
  InProcessApiClient client(
      [&](const api::HttpRequest& req) {
        methods.push_back(req.method);
        api::HttpResponse r;
        if (req.path.find("/missing") != std::string::npos) return Answer(404, StatusBody(404, "NotFound", "gone"));
        if (req.path.find("/text") != std::string::npos) return Answer(200, R"({"from":"text"})");
        r.status = req.method == "POST" ? 201 : 200;
        r.shared_body = written;
        return r;
      },
      "");
  const std::string pods = "/api/v1/namespaces/default/pods";
  auto created = client.CreateShared(pods, json{{"kind", "Pod"}});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->get(), written.get()) << "the written object itself";
  auto updated = client.UpdateShared(pods + "/p/status", json{{"kind", "Pod"}});
  auto patched = client.PatchShared(pods + "/p/status", PatchType::kStrategic, json{{"status", json::object()}});
  auto deleted = client.DeleteShared(pods + "/p", json{{"gracePeriodSeconds", 0}});
  ASSERT_TRUE(updated.ok() && patched.ok() && deleted.ok());
  EXPECT_EQ(updated->get(), written.get());
  EXPECT_EQ(patched->get(), written.get());
  EXPECT_EQ(deleted->get(), written.get());
  EXPECT_EQ(methods, (std::vector<std::string>{"POST", "PUT", "PATCH", "DELETE"}));

  auto copied = client.Patch(pods + "/p", PatchType::kMerge, json::object());
  ASSERT_TRUE(copied.ok());
  EXPECT_EQ(*copied, *written) << "a plain write's answer is a copy, the caller's to change";
  auto text = client.UpdateShared(pods + "/text", json::object());
  ASSERT_TRUE(text.ok());
  EXPECT_EQ((**text)["from"], "text");
  EXPECT_TRUE(client.DeleteShared(pods + "/missing").status().IsNotFound());
}

TEST(InProcessApiClientTest, MapsErrorsLikeRestClient) {
  struct Case {
    int http;
    std::string reason;
    Code code;
  };
  for (const Case& c : std::vector<Case>{{404, "NotFound", Code::kNotFound},
                                         {409, "AlreadyExists", Code::kAlreadyExists},
                                         {409, "Conflict", Code::kConflict},
                                         {410, "Expired", Code::kExpired},
                                         {422, "Invalid", Code::kInvalid},
                                         {403, "Forbidden", Code::kForbidden}}) {
    InProcessApiClient client([&](const api::HttpRequest&) { return Answer(c.http, StatusBody(c.http, c.reason, "said " + c.reason)); },
                              "");
    auto r = client.Create("/api/v1/namespaces/default/configmaps", {{"kind", "ConfigMap"}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), c.code) << c.http << " " << c.reason;
    EXPECT_EQ(r.status().message(), "said " + c.reason);
  }
  InProcessApiClient thrower([](const api::HttpRequest&) -> api::HttpResponse { throw std::runtime_error("bug"); }, "");
  EXPECT_EQ(thrower.Get("/api").status().code(), Code::kInternal);
}

struct WatchSetup {
  std::shared_ptr<ScriptedStream> stream = std::make_shared<ScriptedStream>();
  api::HttpRequest request;
  std::unique_ptr<InProcessApiClient> client;
  WatchSetup() {
    client = std::make_unique<InProcessApiClient>(
        [this](const api::HttpRequest& req) {
          request = req;
          api::HttpResponse r;
          r.stream = stream;
          return r;
        },
        "t");
  }
};

TEST(InProcessApiClientTest, WatchBuffersPartialLinesAndEndsWithTheErrorEvent) {
  WatchSetup s;
  auto watch = s.client->Watch("/api/v1/pods", {{"resourceVersion", "5"}});
  ASSERT_TRUE(watch.ok()) << watch.status().ToString();
  EXPECT_EQ(s.request.Query("watch"), "true");
  EXPECT_EQ(s.request.Query("resourceVersion"), "5");
  WatchEvents& w = **watch;

  auto none = w.Next(20ms);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_FALSE(w.Ended());

  s.stream->Feed(R"({"type":"ADDED","obj)");
  std::thread feeder([&] {
    std::this_thread::sleep_for(30ms);
    s.stream->Feed("ect\":{\"metadata\":{\"name\":\"a\"}}}\n{\"type\":\"MODIFIED\",\"object\":{}}\n");
  });
  auto start = Clock::now();
  auto first = w.Next(5s);
  feeder.join();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(first->has_value());
  EXPECT_EQ((**first)["type"], "ADDED");
  EXPECT_EQ((**first)["object"]["metadata"]["name"], "a");
  EXPECT_LT(Clock::now() - start, 2s);  // woken by the notify, not by the 5 s timeout
  auto second = w.Next(1s);
  ASSERT_TRUE(second.ok() && second->has_value());
  EXPECT_EQ((**second)["type"], "MODIFIED");

  s.stream->Feed(R"({"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}})"
                 "\n{\"type\":\"ADDED\",\"object\":{}}\n");
  auto err = w.Next(1s);
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().code(), Code::kExpired);
  EXPECT_EQ(err.status().message(), "too old");
  EXPECT_EQ(w.Next(1s).status().code(), Code::kExpired);  // sticky; the later event is dropped
  EXPECT_TRUE(w.Ended());
  EXPECT_TRUE(s.stream->closed());
}

TEST(InProcessApiClientTest, WatchEndsNormallyAfterTheLastEvents) {
  WatchSetup s;
  auto watch = s.client->Watch("/api/v1/pods");
  ASSERT_TRUE(watch.ok());
  s.stream->Feed("{\"type\":\"ADDED\",\"object\":{}}\n{\"type\":\"DELETED\",\"object\":{}}", /*finish=*/true);
  auto a = (*watch)->Next(1s);
  ASSERT_TRUE(a.ok() && a->has_value());
  auto d = (*watch)->Next(1s);  // the last line had no newline
  ASSERT_TRUE(d.ok() && d->has_value());
  EXPECT_EQ((**d)["type"], "DELETED");
  auto end = (*watch)->Next(1s);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
  EXPECT_TRUE((*watch)->Ended());
}

TEST(InProcessApiClientTest, WatchWakesAtTheStreamDeadline) {
  WatchSetup s;
  auto watch = s.client->Watch("/api/v1/pods");
  ASSERT_TRUE(watch.ok());
  auto start = Clock::now();
  s.stream->FeedAt(start + 100ms, "{\"type\":\"BOOKMARK\",\"object\":{}}\n");
  auto bookmark = (*watch)->Next(5s);
  ASSERT_TRUE(bookmark.ok() && bookmark->has_value());
  EXPECT_EQ((**bookmark)["type"], "BOOKMARK");
  EXPECT_LT(Clock::now() - start, 2s);
}

TEST(InProcessApiClientTest, CancelWakesABlockedNextAndClosesTheStream) {
  WatchSetup s;
  auto watch = s.client->Watch("/api/v1/pods");
  ASSERT_TRUE(watch.ok());
  WatchEvents* w = watch->get();
  std::thread canceller([&] {
    std::this_thread::sleep_for(50ms);
    w->Cancel();
  });
  auto start = Clock::now();
  auto r = w->Next(10s);
  canceller.join();
  EXPECT_LT(Clock::now() - start, 1s);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->has_value());
  EXPECT_TRUE(w->Ended());
  EXPECT_TRUE(s.stream->closed());
  watch->reset();  // destruction after Cancel is harmless
}

TEST(InProcessApiClientTest, WatchRefusedOrAnsweredWithoutAStream) {
  InProcessApiClient refused([](const api::HttpRequest&) { return Answer(403, StatusBody(403, "Forbidden", "no")); },
                             "");
  auto w = refused.Watch("/api/v1/pods");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), Code::kForbidden);

  InProcessApiClient plain(
      [](const api::HttpRequest&) { return Answer(200, "{\"type\":\"ADDED\",\"object\":{}}\n"); }, "");
  auto p = plain.Watch("/api/v1/pods");
  ASSERT_TRUE(p.ok());
  auto e = (*p)->Next(1s);
  ASSERT_TRUE(e.ok() && e->has_value());
  auto end = (*p)->Next(1s);
  ASSERT_TRUE(end.ok());
  EXPECT_FALSE(end->has_value());
  EXPECT_TRUE((*p)->Ended());
}

}  // namespace
}  // namespace capstan::client
