// HttpApiClient against a real ApiServer over HTTPS on 127.0.0.1:0: requests and their errors,
// a watch (events, the server's end, Cancel), and an informer over HTTP.
#include "client/http_api_client.h"

#include <gtest/gtest.h>

#include "api/api_server.h"
#include "client/informer.h"
#include "client/informer_test_util.h"
#include "store/store_test_util.h"

namespace capstan::client {
namespace {

using namespace std::chrono_literals;
using api::testing::ConfigMap;
using testing::EventRecorder;
using testing::WaitUntil;

constexpr char kConfigMaps[] = "/api/v1/namespaces/default/configmaps";

class HttpApiClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api::ApiServerOptions o;
    o.data_dir = dir_.Sub("data");
    o.port = 0;
    o.handler_threads = 4;
    o.io_threads = 1;
    auto server = api::ApiServer::Start(o);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(server).value();
    Connection c;
    c.server = server_->url();
    c.token = server_->admin_token();
    c.certificate_authority_data = server_->ca_pem();
    auto rest = RestClient::Create(c);
    ASSERT_TRUE(rest.ok()) << rest.status().ToString();
    rest_ = std::move(rest).value();
    client_ = std::make_unique<HttpApiClient>(rest_.get());
  }
  void TearDown() override {
    client_.reset();
    rest_.reset();
    if (server_) server_->Stop(2s);
    server_.reset();
  }

  store::testing::TempDir dir_;
  std::unique_ptr<api::ApiServer> server_;
  std::unique_ptr<RestClient> rest_;
  std::unique_ptr<HttpApiClient> client_;
};

TEST_F(HttpApiClientTest, RequestsAndErrors) {
  auto created = client_->Create(kConfigMaps, ConfigMap("a"));
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(client_->Create(kConfigMaps, ConfigMap("a")).status().code(), Code::kAlreadyExists);
  auto missing = client_->Get(std::string(kConfigMaps) + "/nope");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  EXPECT_NE(missing.status().message().find("nope"), std::string::npos) << missing.status().message();
  EXPECT_EQ(client_->Create(kConfigMaps, ConfigMap("Bad_Name")).status().code(), Code::kInvalid);
  auto list = client_->List(kConfigMaps, {{"limit", "10"}});
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  EXPECT_EQ((*list)["items"].size(), 1u);
  auto patched = client_->Patch(std::string(kConfigMaps) + "/a", PatchType::kMerge, {{"data", {{"key", "v2"}}}});
  ASSERT_TRUE(patched.ok()) << patched.status().ToString();
  EXPECT_EQ(client_->Update(std::string(kConfigMaps) + "/a", *created).status().code(), Code::kConflict);
  EXPECT_TRUE(client_->Delete(std::string(kConfigMaps) + "/a").ok());
}

TEST_F(HttpApiClientTest, WatchDeliversEventsEndsAndCancels) {
  auto created = client_->Create(kConfigMaps, ConfigMap("w"));
  ASSERT_TRUE(created.ok());
  const std::string rv = MetaString(*created, "resourceVersion");
  auto watch = client_->Watch(kConfigMaps, {{"resourceVersion", rv}, {"timeoutSeconds", "1"}});
  ASSERT_TRUE(watch.ok());
  ASSERT_TRUE(client_->Patch(std::string(kConfigMaps) + "/w", PatchType::kMerge, {{"data", {{"key", "2"}}}}).ok());
  auto modified = (*watch)->Next(5s);
  ASSERT_TRUE(modified.ok()) << modified.status().ToString();
  ASSERT_TRUE(modified->has_value());
  EXPECT_EQ((**modified)["type"], "MODIFIED");
  auto start = std::chrono::steady_clock::now();
  while (!(*watch)->Ended() && std::chrono::steady_clock::now() - start < 10s) {
    auto e = (*watch)->Next(1s);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
  }
  EXPECT_TRUE((*watch)->Ended());  // the server ended it after timeoutSeconds

  auto idle = client_->Watch(kConfigMaps, {{"resourceVersion", rv}, {"timeoutSeconds", "2"}});
  ASSERT_TRUE(idle.ok());
  auto first = (*idle)->Next(5s);  // the MODIFIED above, replayed
  ASSERT_TRUE(first.ok() && first->has_value());
  WatchEvents* w = idle->get();
  std::thread canceller([w] {
    std::this_thread::sleep_for(50ms);
    w->Cancel();
  });
  start = std::chrono::steady_clock::now();
  auto none = w->Next(10s);
  canceller.join();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  EXPECT_TRUE(w->Ended());
  idle->reset();  // joins the reader: by the server's 2 s timeout at the latest
}

TEST_F(HttpApiClientTest, InformerOverHttp) {
  InformerOptions opts;
  opts.watch_timeout = 1s;  // bounds Stop(): see http_api_client.h
  Informer informer(client_.get(), kConfigMaps, opts);
  EventRecorder rec;
  ASSERT_TRUE(informer.AddEventHandler(rec.Handler()).ok());
  ASSERT_TRUE(client_->Create(kConfigMaps, ConfigMap("before")).ok());
  informer.Start();
  ASSERT_TRUE(informer.WaitForSync(10s));
  EXPECT_NE(informer.Get("default/before"), nullptr);
  ASSERT_TRUE(client_->Create(kConfigMaps, ConfigMap("after")).ok());
  ASSERT_TRUE(WaitUntil([&] { return informer.Get("default/after") != nullptr; }));
  ASSERT_TRUE(client_->Delete(std::string(kConfigMaps) + "/before").ok());
  ASSERT_TRUE(WaitUntil([&] { return informer.Get("default/before") == nullptr; }));
  EXPECT_EQ(rec.Count("add "), 2u);
  EXPECT_EQ(rec.Count("delete default/before"), 1u);
  auto start = std::chrono::steady_clock::now();
  informer.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

}  // namespace
}  // namespace capstan::client
