#include "api/http/http_server.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <httplib.h>
#include <nlohmann/json.hpp>

#include "api/http/http_test_util.h"
#include "api/http/http_tls_test_util.h"
#include "base/log.h"

namespace capstan::api {
namespace {

using namespace std::chrono_literals;
using namespace http_test;

// Tests that run over plain HTTP and over TLS.
class HttpServerTest : public TransportTest {};
INSTANTIATE_TEST_SUITE_P(Transport, HttpServerTest, testing::Bool(), TransportName);

TEST_P(HttpServerTest, GetAndPostRoundTripDecodesPathQueryAndHeaders) {
  auto server = MustStart(Options(), [](const HttpRequest& req) {
    HttpResponse r = Json(201, {{"method", req.method},
                                {"path", req.path},
                                {"x", req.Query("x").value_or("-")},
                                {"y", req.Query("y").value_or("-")},
                                {"ny", req.query.count("y")},
                                {"hdr", req.headers.Get("x-test").value_or("-")},
                                {"body", req.body},
                                {"remote", req.remote}});
    r.headers.Add("X-Reply", "yes");
    return r;
  });
  ASSERT_TRUE(server);
  ASSERT_NE(server->port(), 0);
  httplib::Client cli = Client(server->port());
  auto res = cli.Get("/api/v1/name%20space/a%2Fb?x=hello%20world&y=p%20q&y=2", {{"X-Test", "abc"}});
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(res->get_header_value("X-Reply"), "yes");
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  auto j = nlohmann::json::parse(res->body);
  EXPECT_EQ(j["method"], "GET");
  EXPECT_EQ(j["path"], "/api/v1/name space/a/b");
  EXPECT_EQ(j["x"], "hello world");
  EXPECT_EQ(j["y"], "p q");
  EXPECT_EQ(j["ny"], 2);
  EXPECT_EQ(j["hdr"], "abc");
  EXPECT_EQ(j["remote"].get<std::string>().rfind("127.0.0.1:", 0), 0u);

  auto post = cli.Post("/things", R"({"a":1})", "application/json");
  ASSERT_TRUE(post);
  j = nlohmann::json::parse(post->body);
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["path"], "/things");
  EXPECT_EQ(j["body"], R"({"a":1})");
}

TEST_P(HttpServerTest, KeepAliveReusesOneConnection) {
  std::mutex mu;
  std::set<std::string> remotes;
  auto server = MustStart(Options(), [&](const HttpRequest& req) {
    std::lock_guard<std::mutex> l(mu);
    remotes.insert(req.remote);
    return Json(200, {{"ok", true}});
  });
  ASSERT_TRUE(server);
  httplib::Client cli = Client(server->port());
  cli.set_keep_alive(true);
  for (int i = 0; i < 50; ++i) {
    auto res = cli.Get("/ping?i=" + std::to_string(i));
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200);
  }
  EXPECT_EQ(server->open_connections(), 1);
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(remotes.size(), 1u);
}

TEST_P(HttpServerTest, BodyOverLimitIs413JsonWithoutCallingHandler) {
  std::atomic<int> calls{0};
  auto options = Options();
  options.max_body_bytes = 1024;
  auto server = MustStart(options, [&](const HttpRequest&) {
    calls++;
    return Json(200, {});
  });
  ASSERT_TRUE(server);
  httplib::Client cli = Client(server->port());
  auto res = cli.Post("/big", std::string(64 * 1024, 'x'), "application/octet-stream");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 413);
  auto j = nlohmann::json::parse(res->body);
  EXPECT_EQ(j["kind"], "Status");
  EXPECT_EQ(j["code"], 413);
  EXPECT_EQ(calls, 0);
  // A body at the limit still gets through.
  httplib::Client cli2 = Client(server->port());
  auto ok = cli2.Post("/small", std::string(1024, 'x'), "application/octet-stream");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(calls, 1);
}

TEST_P(HttpServerTest, RenderErrorShapesServerErrors) {
  auto options = Options();
  options.max_body_bytes = 10;
  options.render_error = [](int status, const std::string&) {
    HttpResponse r;
    r.status = status;
    r.body = "custom-" + std::to_string(status);
    return r;
  };
  auto server = MustStart(options, [](const HttpRequest&) -> HttpResponse { throw std::runtime_error("x"); });
  ASSERT_TRUE(server);
  httplib::Client cli = Client(server->port());
  auto big = cli.Post("/", std::string(100, 'x'), "text/plain");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->body, "custom-413");
  httplib::Client cli2 = Client(server->port());
  auto boom = cli2.Get("/");
  ASSERT_TRUE(boom);
  EXPECT_EQ(boom->status, 500);
  EXPECT_EQ(boom->body, "custom-500");
}

TEST_P(HttpServerTest, ExpectContinueGets100BeforeTheBody) {
  std::atomic<size_t> got{0};
  auto server = MustStart(Options(), [&](const HttpRequest& req) {
    got = req.body.size();
    return Json(200, {{"size", req.body.size()}});
  });
  ASSERT_TRUE(server);
  auto w = Dial(server->port());
  ASSERT_TRUE(w);
  const size_t size = 64 * 1024;
  ASSERT_TRUE(w->Send("PUT /upload HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(size) +
                              "\r\nExpect: 100-continue\r\n\r\n"));
  std::string interim = w->ReadUntil("\r\n\r\n", 3s);
  EXPECT_EQ(interim.rfind("HTTP/1.1 100 Continue\r\n", 0), 0u) << interim;
  EXPECT_EQ(got, 0u);  // the handler has not run: the body was never sent
  ASSERT_TRUE(w->Send(std::string(size, 'b')));
  std::string reply = w->ReadUntil("}", 5s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("{\"size\":65536}"), std::string::npos) << reply;
  EXPECT_EQ(got, size);
}

// curl waits up to a second for "100 Continue" before sending the body anyway, so a prompt
// reply is what proves the server sent it.
TEST(HttpServerPlainTest, CurlExpectContinueIsAnsweredPromptly) {
  if (std::system("command -v curl >/dev/null 2>&1") != 0) GTEST_SKIP() << "curl not installed";
  std::atomic<size_t> got{0};
  std::atomic<bool> saw_expect{false};
  auto server = MustStart(TestOptions(), [&](const HttpRequest& req) {
    got = req.body.size();
    saw_expect = req.headers.Get("Expect").has_value();
    return Json(200, {{"size", req.body.size()}});
  });
  ASSERT_TRUE(server);
  std::string file = testing::TempDir() + "capstan_http_body_" + std::to_string(getpid());
  {
    std::FILE* f = std::fopen(file.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string body(64 * 1024, 'c');
    ASSERT_EQ(std::fwrite(body.data(), 1, body.size(), f), body.size());
    std::fclose(f);
  }
  std::string cmd = "curl -s -S --max-time 10 -H 'Expect: 100-continue' -H 'Content-Type: text/plain' "
                    "--data-binary @" + file + " http://127.0.0.1:" + std::to_string(server->port()) + "/upload";
  auto start = Clock::now();
  std::FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[256];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int rc = pclose(p);
  auto elapsed = Clock::now() - start;
  std::remove(file.c_str());
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, "{\"size\":65536}");
  EXPECT_EQ(got, 64u * 1024);
  EXPECT_TRUE(saw_expect);
  EXPECT_LT(elapsed, 900ms);
}

TEST_P(HttpServerTest, MalformedRequestsGet400) {
  std::atomic<int> calls{0};
  auto server = MustStart(Options(), [&](const HttpRequest&) {
    calls++;
    return Json(200, {});
  });
  ASSERT_TRUE(server);
  for (std::string bad : {"GARBAGE\r\n\r\n", "GET /a%zz HTTP/1.1\r\nHost: x\r\n\r\n",
                          "GET / HTTP/9.x\r\nHost: x\r\n\r\n", "GET noslash HTTP/1.1\r\nHost: x\r\n\r\n"}) {
    auto w = Dial(server->port());
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->Send(bad));
    // To EOF: a 400 closes the connection. TLS cannot half-close, so the server waits (up to 1 s)
    // for the client to leave; the reply is read to its end instead.
    std::string reply = w->ReadUntil(tls() ? "\"code\":400" : "", 3s);
    EXPECT_EQ(reply.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << bad << " -> " << reply;
    EXPECT_NE(reply.find("\"code\":400"), std::string::npos) << reply;
  }
  EXPECT_EQ(calls, 0);
}

TEST_P(HttpServerTest, OversizedHeaderIs431) {
  auto options = Options();
  options.max_header_bytes = 2048;
  auto server = MustStart(options, [](const HttpRequest&) { return Json(200, {}); });
  ASSERT_TRUE(server);
  auto w = Dial(server->port());
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4096, 'h') + "\r\n\r\n"));
  std::string reply = w->ReadUntil(tls() ? "\r\n\r\n" : "", 3s);
  EXPECT_EQ(reply.rfind("HTTP/1.1 431 ", 0), 0u) << reply.substr(0, 100);
}

TEST_P(HttpServerTest, HandlerThrowsIs500AndServerKeepsServing) {
  auto server = MustStart(Options(), [](const HttpRequest& req) -> HttpResponse {
    if (req.path == "/boom") throw std::runtime_error("kaboom");
    if (req.path == "/boom2") throw 42;
    return Json(200, {{"ok", true}});
  });
  ASSERT_TRUE(server);
  httplib::Client cli = Client(server->port());
  for (int i = 0; i < 3; ++i) {
    auto res = cli.Get(i == 1 ? "/boom2" : "/boom");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 500);
    EXPECT_EQ(nlohmann::json::parse(res->body)["code"], 500);
    auto ok = cli.Get("/ok");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->status, 200);
  }
}

TEST(HttpServerPlainTest, SlowHandlerDoesNotStallIoThread) {
  auto options = TestOptions();
  options.io_threads = 1;
  auto server = MustStart(options, [](const HttpRequest& req) {
    if (req.path == "/slow") std::this_thread::sleep_for(1500ms);
    return Json(200, {});
  });
  ASSERT_TRUE(server);
  std::thread slow([&] {
    httplib::Client cli("127.0.0.1", server->port());
    auto res = cli.Get("/slow");
    EXPECT_TRUE(res && res->status == 200);
  });
  std::this_thread::sleep_for(100ms);
  auto start = Clock::now();
  httplib::Client cli("127.0.0.1", server->port());
  auto res = cli.Get("/fast");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_LT(Clock::now() - start, 1000ms);
  slow.join();
}

// Past max_queued_requests waiting for a handler thread, a request is answered 429 with
// Retry-After at once instead of queueing without bound.
TEST(HttpServerPlainTest, QueueBeyondTheBoundGets429WithRetryAfter) {
  auto options = TestOptions();
  options.handler_threads = 1;
  options.max_queued_requests = 1;
  std::atomic<int> entered{0};
  std::atomic<bool> release{false};
  auto server = MustStart(options, [&](const HttpRequest&) {
    ++entered;
    while (!release) std::this_thread::sleep_for(1ms);
    return Json(200, {});
  });
  ASSERT_TRUE(server);
  std::vector<std::thread> clients;
  std::atomic<int> ok{0};
  for (int i = 0; i < 2; ++i) {
    clients.emplace_back([&] {
      httplib::Client cli("127.0.0.1", server->port());
      if (auto res = cli.Get("/held"); res && res->status == 200) ++ok;
    });
    if (i == 0) {
      while (entered == 0) std::this_thread::sleep_for(1ms);  // the only handler thread is busy
    } else {
      std::this_thread::sleep_for(200ms);  // the second request now waits in the queue
    }
  }
  httplib::Client cli("127.0.0.1", server->port());
  auto res = cli.Get("/third");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(res->get_header_value("Retry-After"), "1");
  release = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(ok, 2) << "the queued request is still served once a thread is free";
}

TEST_P(HttpServerTest, StopWaitsForInFlightHandler) {
  std::atomic<bool> entered{false};
  auto server = MustStart(Options(), [&](const HttpRequest&) {
    entered = true;
    std::this_thread::sleep_for(300ms);
    return Json(200, {{"done", true}});
  });
  ASSERT_TRUE(server);
  int status = 0;
  std::string connection;
  std::thread client([&] {
    httplib::Client cli = Client(server->port());
    if (auto res = cli.Get("/slow")) {
      status = res->status;
      connection = res->get_header_value("Connection");
    }
  });
  while (!entered) std::this_thread::sleep_for(1ms);
  server->Stop(5000ms);
  client.join();
  EXPECT_EQ(status, 200);
  EXPECT_EQ(connection, "close");
}

// The grace expires while a handler still runs: Stop() closes the connection, waits for the
// handler (user code cannot be interrupted) and drops the suspended connection coroutine.
TEST_P(HttpServerTest, StopAfterGraceDropsRequestThatOutlivesIt) {
  std::atomic<bool> entered{false};
  auto server = MustStart(Options(), [&](const HttpRequest&) {
    entered = true;
    std::this_thread::sleep_for(1500ms);  // longer than Stop's 1 s unwind wait
    return Json(200, {});
  });
  ASSERT_TRUE(server);
  auto w = Dial(server->port());
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  while (!entered) std::this_thread::sleep_for(1ms);
  auto start = Clock::now();
  server->Stop(50ms);
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_EQ(w->ReadUntil("", 2s), "");  // closed without a response
}

// The async handler takes POSTs and answers them later from a thread of its own; it declines the
// rest, which reach the pool handler unchanged. A second answer is ignored; Stop() waits for an
// answer still owed.
TEST_P(HttpServerTest, AsyncHandlerAnswersFromAnotherThreadAndDeclinesTheRest) {
  std::mutex mu;
  std::vector<HttpResponder> owed;  // guarded by mu
  std::atomic<int> pool_calls{0};
  HttpServerOptions options = Options();
  options.async_handler = [&](HttpRequest& req, const HttpResponder& respond) {
    if (req.method != "POST") return false;
    std::lock_guard<std::mutex> lock(mu);
    owed.push_back(respond);
    return true;
  };
  auto server = MustStart(options, [&](const HttpRequest& req) {
    ++pool_calls;
    return Json(200, {{"path", req.path}, {"query", req.Query("q").value_or("")}});
  });
  ASSERT_TRUE(server);
  // The answering side: a thread that is neither an I/O thread nor the pool's.
  std::atomic<bool> stop{false};
  std::thread answerer([&] {
    while (!stop) {
      std::vector<HttpResponder> batch;
      {
        std::lock_guard<std::mutex> lock(mu);
        batch.swap(owed);
      }
      for (auto& respond : batch) {
        respond(Json(201, {{"async", true}}));
        respond(Json(500, {}));  // ignored
      }
      std::this_thread::sleep_for(1ms);
    }
  });
  httplib::Client cli = Client(server->port());
  for (int i = 0; i < 20; ++i) {
    auto posted = cli.Post("/things", "{}", "application/json");
    ASSERT_TRUE(posted);
    EXPECT_EQ(posted->status, 201);
    EXPECT_EQ(nlohmann::json::parse(posted->body)["async"], true);
  }
  auto got = cli.Get("/things?q=x%20y");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->status, 200);
  EXPECT_EQ(nlohmann::json::parse(got->body)["query"], "x y") << "a declined request reaches the pool intact";
  EXPECT_EQ(pool_calls, 1);
  stop = true;
  answerer.join();

  // One answer still owed when Stop() starts: Stop waits for it rather than destroying the
  // connection's pending completion.
  std::thread client([&] {
    httplib::Client c = Client(server->port());
    (void)c.Post("/late", "{}", "application/json");
  });
  for (int i = 0; i < 5000; ++i) {
    std::lock_guard<std::mutex> lock(mu);
    if (!owed.empty()) break;
    std::this_thread::sleep_for(1ms);
  }
  std::thread late([&] {
    std::this_thread::sleep_for(200ms);
    std::lock_guard<std::mutex> lock(mu);
    for (auto& respond : owed) respond(Json(201, {}));
  });
  const auto start = Clock::now();
  server->Stop(50ms);
  EXPECT_GE(Clock::now() - start, 150ms) << "Stop returned while an answer was still owed";
  late.join();
  client.join();
}

TEST(HttpServerPlainTest, PortZeroPicksAFreePortAndAddressInUseIsUnavailable) {
  auto server = MustStart(TestOptions(), [](const HttpRequest&) { return Json(200, {}); });
  ASSERT_TRUE(server);
  EXPECT_NE(server->port(), 0);
  auto options = TestOptions();
  options.port = server->port();
  auto second = HttpServer::Start(options, [](const HttpRequest&) { return Json(200, {}); });
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kUnavailable);
  options.host = "not-an-address";
  auto bad = HttpServer::Start(options, [](const HttpRequest&) { return Json(200, {}); });
  EXPECT_FALSE(bad.ok());
}

TEST(HttpServerPlainTest, ServesIpv6LoopbackAndLocalhost) {
  auto options = TestOptions();
  options.host = "localhost";
  auto local = MustStart(options, [](const HttpRequest& req) { return Json(200, {{"remote", req.remote}}); });
  ASSERT_TRUE(local);
  httplib::Client cli("localhost", local->port());
  auto res = cli.Get("/");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);

  options.host = "::1";
  auto v6 = HttpServer::Start(options, [](const HttpRequest& req) { return Json(200, {{"remote", req.remote}}); });
  if (!v6.ok()) GTEST_SKIP() << "no IPv6 loopback: " << v6.status().ToString();
  int fd = Connect((*v6)->port(), /*v6=*/true);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "GET /v6 HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n"));
  std::string reply = ReadUntil(fd, "", 3s);
  close(fd);
  EXPECT_EQ(reply.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << reply;
  EXPECT_NE(reply.find("\"remote\":\"[::1]:"), std::string::npos) << reply;
}

TEST_P(HttpServerTest, LogsOneDebugLinePerRequest) {
  auto server = MustStart(Options(), [](const HttpRequest&) { return Json(202, {{"k", "v"}}); });
  ASSERT_TRUE(server);
  log::SetLevel(log::Level::kDebug);
  testing::internal::CaptureStderr();
  httplib::Client cli = Client(server->port());
  auto res = cli.Get("/logged/path?q=1");
  server->Stop();
  std::string err = testing::internal::GetCapturedStderr();
  log::SetLevel(log::Level::kInfo);
  ASSERT_TRUE(res);
  EXPECT_NE(err.find("http request method=GET path=/logged/path status=202 duration_ms="), std::string::npos)
      << err;
  EXPECT_NE(err.find(" bytes=9 "), std::string::npos) << err;
}

// --- TLS only ---

TEST(HttpServerTlsTest, BadPemIsInvalidAndNeverFallsBackToPlainHttp) {
  auto handler = [](const HttpRequest&) { return Json(200, {}); };
  struct Case {
    std::string name, cert, key;
  };
  const TestCerts& c = Certs();
  std::string other_key = [] {
    EVP_PKEY* k = EVP_EC_gen("P-256");
    std::string pem = tls_detail::KeyPem(k);
    EVP_PKEY_free(k);
    return pem;
  }();
  for (const Case& tc : std::vector<Case>{
           {"truncated", "-----BEGIN CERTIFICATE-----", "-----BEGIN PRIVATE KEY-----"},
           {"garbage cert", "not a pem", c.key_pem},
           {"garbage key", c.cert_pem, "not a pem"},
           {"key of another certificate", c.cert_pem, other_key},
           {"cert only", c.cert_pem, ""},
           {"key only", "", c.key_pem},
       }) {
    auto options = TestOptions();
    options.tls_cert_pem = tc.cert;
    options.tls_key_pem = tc.key;
    auto server = HttpServer::Start(options, handler);
    ASSERT_FALSE(server.ok()) << tc.name;
    EXPECT_EQ(server.status().code(), Code::kInvalid) << tc.name;
    EXPECT_NE(server.status().ToString().find("tls_"), std::string::npos) << server.status().ToString();
  }
}

TEST(HttpServerTlsTest, HttpsClientVerifiesServerAndUntrustedCaFails) {
  auto options = TestOptions();
  options.tls_cert_pem = Certs().cert_pem;
  options.tls_key_pem = Certs().key_pem;
  auto server = MustStart(options, [](const HttpRequest& req) { return Json(200, {{"path", req.path}}); });
  ASSERT_TRUE(server);
  for (std::string host : {"127.0.0.1", "localhost"}) {
    httplib::SSLClient cli(host, server->port());
    cli.set_ca_cert_path(Certs().ca_file);
    cli.enable_server_certificate_verification(true);
    auto res = cli.Get("/secure");
    ASSERT_TRUE(res) << host << ": " << httplib::to_string(res.error());
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(nlohmann::json::parse(res->body)["path"], "/secure");
  }
  // Without the CA the client refuses the server: the certificate really is checked.
  httplib::SSLClient untrusted("127.0.0.1", server->port());
  untrusted.enable_server_certificate_verification(true);
  untrusted.set_ca_cert_path(testing::TempDir() + "no-such-ca.crt");
  EXPECT_FALSE(untrusted.Get("/secure"));
  // The server kept serving after that failed handshake.
  httplib::SSLClient again("127.0.0.1", server->port());
  again.set_ca_cert_path(Certs().ca_file);
  again.enable_server_certificate_verification(true);
  auto res = again.Get("/again");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST(HttpServerTlsTest, PlainHttpToTlsPortFailsCleanly) {
  std::atomic<int> calls{0};
  auto options = TestOptions();
  options.tls_cert_pem = Certs().cert_pem;
  options.tls_key_pem = Certs().key_pem;
  auto server = MustStart(options, [&](const HttpRequest&) {
    calls++;
    return Json(200, {});
  });
  ASSERT_TRUE(server);
  httplib::Client plain("127.0.0.1", server->port());
  plain.set_read_timeout(3, 0);
  auto start = Clock::now();
  auto res = plain.Get("/");
  EXPECT_TRUE(!res || res->status != 200);
  EXPECT_LT(Clock::now() - start, 2s);  // the server hangs up; the client does not time out
  int fd = Connect(server->port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, "GET / HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_EQ(ReadUntil(fd, "HTTP/1.1", 2s).find("HTTP/1.1"), std::string::npos);  // never an HTTP reply
  close(fd);
  EXPECT_EQ(calls, 0);
  for (int i = 0; i < 100 && server->open_connections() != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server->open_connections(), 0);
  httplib::SSLClient cli("127.0.0.1", server->port());
  cli.set_ca_cert_path(Certs().ca_file);
  cli.enable_server_certificate_verification(true);
  auto ok = cli.Get("/");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error());
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(calls, 1);
}

TEST(HttpServerTlsTest, HandshakeThatNeverCompletesTimesOut) {
  auto options = TestOptions();
  options.tls_cert_pem = Certs().cert_pem;
  options.tls_key_pem = Certs().key_pem;
  options.read_timeout = std::chrono::seconds(1);
  auto server = MustStart(options, [](const HttpRequest&) { return Json(200, {}); });
  ASSERT_TRUE(server);
  int fd = Connect(server->port());  // connects and says nothing
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 100 && server->open_connections() != 1; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server->open_connections(), 1);
  EXPECT_EQ(ReadUntil(fd, "", 3s), "");  // closed by the server
  close(fd);
  for (int i = 0; i < 100 && server->open_connections() != 0; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(server->open_connections(), 0);
}

}  // namespace
}  // namespace capstan::api
