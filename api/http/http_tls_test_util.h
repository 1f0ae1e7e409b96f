// Test helpers for running the HTTP server tests over plain HTTP and over TLS: a throwaway CA
// and serving certificate made with the OpenSSL API (no `openssl` binary), a raw connection
// ("Wire") that is a plain socket or a TLS client, and a fixture parametrized by transport.
// Test-only; never linked into the server.
#pragma once

#include <signal.h>

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include <gtest/gtest.h>
#include <httplib.h>

#include "api/http/http_test_util.h"

namespace capstan::api::http_test {

struct TestCerts {
  std::string ca_pem;
  std::string cert_pem;  // serving certificate, then the CA
  std::string key_pem;
  std::string ca_file;   // ca_pem on disk, for clients that only take a path
};

namespace tls_detail {

inline void Check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate: ") + what);
}

inline std::string KeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr) == 1, "write key");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

inline std::string CertPem(X509* cert) {
  BIO* bio = BIO_new(BIO_s_mem());
  Check(PEM_write_bio_X509(bio, cert) == 1, "write certificate");
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

inline void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(ext != nullptr, "extension");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// A certificate for `key`, signed by issuer_key (self-signed when issuer is null).
inline X509* MakeCert(EVP_PKEY* key, const char* cn, X509* issuer, EVP_PKEY* issuer_key, long serial) {
  X509* cert = X509_new();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, key);
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : cert;
  if (issuer == nullptr) {
    AddExt(cert, signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(cert, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    AddExt(cert, signer, NID_basic_constraints, "critical,CA:FALSE");
    AddExt(cert, signer, NID_key_usage, "critical,digitalSignature");
    AddExt(cert, signer, NID_ext_key_usage, "serverAuth");
    AddExt(cert, signer, NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1,IP:::1");
  }
  Check(X509_sign(cert, issuer_key, EVP_sha256()) > 0, "sign");
  return cert;
}

}  // namespace tls_detail

// One CA and serving certificate (ECDSA P-256, for localhost, 127.0.0.1 and ::1) per process.
inline const TestCerts& Certs() {
  static const TestCerts certs = [] {
    using namespace tls_detail;
    TestCerts c;
    EVP_PKEY* ca_key = EVP_EC_gen("P-256");
    EVP_PKEY* key = EVP_EC_gen("P-256");
    Check(ca_key && key, "generate keys");
    X509* ca = MakeCert(ca_key, "capstan-test-ca", nullptr, ca_key, 1);
    X509* cert = MakeCert(key, "capstan-test-server", ca, ca_key, 2);
    c.ca_pem = CertPem(ca);
    c.cert_pem = CertPem(cert) + c.ca_pem;
    c.key_pem = KeyPem(key);
    X509_free(cert);
    X509_free(ca);
    EVP_PKEY_free(key);
    EVP_PKEY_free(ca_key);
    c.ca_file = testing::TempDir() + "capstan_http_test_ca_" + std::to_string(getpid()) + ".crt";
    std::FILE* f = std::fopen(c.ca_file.c_str(), "wb");
    Check(f != nullptr, "write CA file");
    std::fwrite(c.ca_pem.data(), 1, c.ca_pem.size(), f);
    std::fclose(f);
    static const std::string* ca_file = new std::string(c.ca_file);  // outlives the statics
    std::atexit([] { std::remove(ca_file->c_str()); });
    return c;
  }();
  return certs;
}

// A raw client connection: what cpp-httplib cannot express (100-continue, malformed requests,
// hang-ups), over either transport.
class Wire {
 public:
  virtual ~Wire() {
    if (fd_ >= 0) close(fd_);
  }
  virtual bool Send(std::string_view data) = 0;
  // Reads until `until` appears in what was read, EOF (or close_notify), or the timeout.
  virtual std::string ReadUntil(std::string_view until, std::chrono::milliseconds timeout = 5s) = 0;
  // Closes the TCP connection (TLS: without close_notify).
  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

 protected:
  int fd_ = -1;
};

class PlainWire final : public Wire {
 public:
  explicit PlainWire(int fd) { fd_ = fd; }
  bool Send(std::string_view data) override { return SendAll(fd_, data); }
  std::string ReadUntil(std::string_view until, std::chrono::milliseconds timeout) override {
    return http_test::ReadUntil(fd_, until, timeout);
  }
};

class TlsWire final : public Wire {
 public:
  // Null when the TCP connection or the handshake fails.
  static std::unique_ptr<TlsWire> Dial(uint16_t port) {
    int fd = Connect(port);
    if (fd < 0) return nullptr;
    auto w = std::unique_ptr<TlsWire>(new TlsWire(fd));
    if (!w->Handshake()) return nullptr;
    return w;
  }
  ~TlsWire() override {
    if (ssl_) SSL_free(ssl_);
    if (ctx_) SSL_CTX_free(ctx_);
  }

  bool Send(std::string_view data) override {
    while (!data.empty()) {
      int n = SSL_write(ssl_, data.data(), static_cast<int>(data.size()));
      if (n > 0) {
        data.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (!Wait(SSL_get_error(ssl_, n), 5000)) return false;
    }
    return true;
  }

  std::string ReadUntil(std::string_view until, std::chrono::milliseconds timeout) override {
    std::string out;
    auto deadline = Clock::now() + timeout;
    while (until.empty() || out.find(until) == std::string::npos) {
      char buf[8192];
      int n = SSL_read(ssl_, buf, sizeof buf);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
        continue;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0 || !Wait(SSL_get_error(ssl_, n), static_cast<int>(left))) break;
    }
    return out;
  }

  // Sends close_notify and keeps the TCP connection open.
  void CloseNotify() { SSL_shutdown(ssl_); }

 private:
  explicit TlsWire(int fd) { fd_ = fd; }

  bool Handshake() {
    ctx_ = SSL_CTX_new(TLS_client_method());
    BIO* bio = BIO_new_mem_buf(Certs().ca_pem.data(), static_cast<int>(Certs().ca_pem.size()));
    X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
    BIO_free(bio);
    X509_STORE_add_cert(SSL_CTX_get_cert_store(ctx_), ca);
    X509_free(ca);
    SSL_CTX_set_verify(ctx_, SSL_VERIFY_PEER, nullptr);
    ssl_ = SSL_new(ctx_);
    SSL_set_fd(ssl_, fd_);
    SSL_set1_host(ssl_, "localhost");
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
    auto deadline = Clock::now() + 10s;
    for (;;) {
      int rc = SSL_connect(ssl_);
      if (rc == 1) return true;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0 || !Wait(SSL_get_error(ssl_, rc), static_cast<int>(left))) return false;
    }
  }

  // Polls for what OpenSSL asked for; false on a real error, EOF or the timeout.
  bool Wait(int ssl_error, int timeout_ms) {
    short events;
    if (ssl_error == SSL_ERROR_WANT_READ) {
      events = POLLIN;
    } else if (ssl_error == SSL_ERROR_WANT_WRITE) {
      events = POLLOUT;
    } else {
      ERR_clear_error();
      return false;
    }
    pollfd p{fd_, events, 0};
    return poll(&p, 1, timeout_ms) > 0;
  }

  SSL_CTX* ctx_ = nullptr;
  SSL* ssl_ = nullptr;
};

// Runs a test over plain HTTP (param false) and HTTPS (param true).
class TransportTest : public testing::TestWithParam<bool> {
 protected:
  // TlsWire has OpenSSL write to a plain socket, which raises SIGPIPE once the server has closed
  // the connection (it killed StopEndsOpenStreamsWithLastChunk/Tls once under ASan). The server's
  // own writes never do (asio and DirectStreamWriter send with MSG_NOSIGNAL), and `capstan
  // server` ignores SIGPIPE as network programs do; so does this test client.
  static void SetUpTestSuite() { ::signal(SIGPIPE, SIG_IGN); }

  bool tls() const { return GetParam(); }

  HttpServerOptions Options() const {
    HttpServerOptions o = TestOptions();
    if (tls()) {
      o.tls_cert_pem = Certs().cert_pem;
      o.tls_key_pem = Certs().key_pem;
    }
    return o;
  }

  // A cpp-httplib client; over TLS it verifies the server against the test CA and host.
  httplib::Client Client(uint16_t port, const std::string& host = "127.0.0.1") const {
    httplib::Client cli((tls() ? "https://" : "http://") + host + ":" + std::to_string(port));
    if (tls()) {
      cli.set_ca_cert_path(Certs().ca_file);
      cli.enable_server_certificate_verification(true);
    }
    return cli;
  }

  // A connected raw client (TLS: after the handshake); null on failure.
  std::unique_ptr<Wire> Dial(uint16_t port) const {
    if (tls()) return TlsWire::Dial(port);
    int fd = Connect(port);
    if (fd < 0) return nullptr;
    return std::make_unique<PlainWire>(fd);
  }
};

inline std::string TransportName(const testing::TestParamInfo<bool>& info) {
  return info.param ? "Tls" : "Plain";
}

}  // namespace capstan::api::http_test
