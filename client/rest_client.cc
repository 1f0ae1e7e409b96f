#include "client/rest_client.h"
#include "client/json_fields.h"

#include <httplib.h>

#include <cctype>
#include <charconv>
#include <mutex>

#include "base/log.h"

namespace capstan::client {
namespace {

bool IsSuccess(int status) { return status >= 200 && status < 300; }

Code CodeForHttp(int status, const std::string& reason) {
  switch (status) {
    case 400: return Code::kBadRequest;
    case 401: return Code::kUnauthorized;
    case 403: return Code::kForbidden;
    case 404: return Code::kNotFound;
    case 405: return Code::kMethodNotAllowed;
    case 406: return Code::kNotAcceptable;
    case 409: return reason == "AlreadyExists" ? Code::kAlreadyExists : Code::kConflict;
    case 410: return Code::kExpired;
    case 413: return Code::kTooLarge;
    case 415: return Code::kUnsupportedMediaType;
    case 422: return Code::kInvalid;
    case 429: return Code::kTooManyRequests;
    case 500: return Code::kInternal;
    case 503: return Code::kUnavailable;
    case 504: return Code::kTimeout;
    default: return status >= 500 ? Code::kInternal : Code::kBadRequest;
  }
}

std::chrono::milliseconds OrForever(std::chrono::milliseconds timeout) {
  return timeout.count() > 0 ? timeout : std::chrono::milliseconds(std::chrono::hours(24 * 365));
}

}  // namespace

// The parsed server URL and TLS settings, and the idle keep-alive connections built from them.
struct RestClient::Endpoint {
  static constexpr size_t kMaxIdle = 8;
  std::mutex mu;
  std::vector<std::unique_ptr<httplib::Client>> idle;  // guarded by mu

  // An idle connection, or a new one.
  Result<std::unique_ptr<httplib::Client>> Take(const RestClientOptions& options) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!idle.empty()) {
        std::unique_ptr<httplib::Client> c = std::move(idle.back());
        idle.pop_back();
        return c;
      }
    }
    Result<std::unique_ptr<httplib::Client>> c = Open(options, options.request_timeout);
    if (c.ok()) (*c)->set_keep_alive(true);
    return c;
  }
  // Back to the idle list after a complete exchange the server did not end with Connection: close.
  void Give(std::unique_ptr<httplib::Client> c) {
    std::lock_guard<std::mutex> lock(mu);
    if (idle.size() < kMaxIdle) idle.push_back(std::move(c));
  }

  std::string scheme_host_port;  // "http://127.0.0.1:6443"
  std::string path_prefix;       // "" or "/prefix" (no trailing slash)
  bool https = false;
  bool insecure_skip_tls_verify = false;
  std::string ca_data;
  std::string ca_file;

  Result<std::unique_ptr<httplib::Client>> Open(const RestClientOptions& options,
                                                std::chrono::milliseconds read_timeout) const {
    auto client = std::make_unique<httplib::Client>(scheme_host_port);
    if (!client->is_valid()) return Status::Invalid("invalid server URL " + scheme_host_port);
    client->set_connection_timeout(options.connect_timeout);
    client->set_read_timeout(OrForever(read_timeout));
    client->set_write_timeout(OrForever(options.request_timeout));
    client->set_keep_alive(false);
    // httplib writes a request's headers and body separately: with Nagle the body would wait for
    // the server's delayed ACK of the headers, 40 ms per request on a reused connection.
    client->set_tcp_nodelay(true);
#ifdef CPPHTTPLIB_OPENSSL_SUPPORT
    if (https) {
      if (insecure_skip_tls_verify) {
        client->enable_server_certificate_verification(false);
      } else if (!ca_data.empty()) {
        X509_STORE* store = X509_STORE_new();
        BIO* bio = BIO_new_mem_buf(ca_data.data(), static_cast<int>(ca_data.size()));
        int loaded = 0;
        while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
          loaded += X509_STORE_add_cert(store, cert);
          X509_free(cert);
        }
        BIO_free(bio);
        ERR_clear_error();  // the loop ends on a "no start line" error by design
        if (loaded == 0) {
          X509_STORE_free(store);
          return Status::Invalid("certificate-authority-data holds no PEM certificate");
        }
        client->set_ca_cert_store(store);  // the client owns it now
      } else if (!ca_file.empty()) {
        client->set_ca_cert_path(ca_file);
      }
    }
#endif
    return client;
  }
};

const char* PatchContentType(PatchType type) {
  switch (type) {
    case PatchType::kMerge: return "application/merge-patch+json";
    case PatchType::kStrategic: return "application/strategic-merge-patch+json";
    case PatchType::kJson: return "application/json-patch+json";
  }
  return "application/merge-patch+json";
}

std::string EncodeQuery(const Query& query) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  auto encode = [&](const std::string& text) {
    for (unsigned char c : text) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out.push_back(static_cast<char>(c));
      } else {
        out.push_back('%');
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 15]);
      }
    }
  };
  for (const auto& [key, value] : query) {
    if (!out.empty()) out.push_back('&');
    encode(key);
    out.push_back('=');
    encode(value);
  }
  return out;
}

Status StatusFromResponse(int http_status, const std::string& body) {
  std::string reason;
  std::string message;
  try {
    json parsed = json::parse(body);
    if (parsed.is_object() && StringField(parsed, "kind") == "Status") {
      reason = StringField(parsed, "reason");
      message = StringField(parsed, "message");
    }
  } catch (const std::exception&) {
    // Not JSON: a proxy's HTML page or plain text; the raw body is shown below.
  }
  if (message.empty()) {
    std::string snippet = body.substr(0, 200);
    while (!snippet.empty() && std::isspace(static_cast<unsigned char>(snippet.back()))) snippet.pop_back();
    message = "the server responded with HTTP " + std::to_string(http_status);
    if (!snippet.empty()) message += ": " + snippet;
  }
  return Status(CodeForHttp(http_status, reason), message);
}

Result<std::unique_ptr<RestClient>> RestClient::Create(const Connection& connection, const RestClientOptions& options) {
  const std::string& url = connection.server;
  auto endpoint = std::make_unique<Endpoint>();
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return Status::Invalid("server URL \"" + url + "\" has no scheme (http:// or https://)");
  std::string scheme = url.substr(0, scheme_end);
  if (scheme != "http" && scheme != "https") return Status::Invalid("server URL \"" + url + "\": unsupported scheme " + scheme);
  endpoint->https = scheme == "https";
#ifndef CPPHTTPLIB_OPENSSL_SUPPORT
  if (endpoint->https) {
    return Status::BadRequest("server URL \"" + url + "\" uses https, but this capstan was built without TLS support");
  }
#endif
  size_t host_start = scheme_end + 3;
  size_t path_start = url.find('/', host_start);
  std::string host_port = url.substr(host_start, path_start == std::string::npos ? std::string::npos : path_start - host_start);
  if (host_port.empty()) return Status::Invalid("server URL \"" + url + "\" has no host");
  endpoint->scheme_host_port = scheme + "://" + host_port;
  if (path_start != std::string::npos) {
    endpoint->path_prefix = url.substr(path_start);
    while (!endpoint->path_prefix.empty() && endpoint->path_prefix.back() == '/') endpoint->path_prefix.pop_back();
  }
  endpoint->insecure_skip_tls_verify = connection.insecure_skip_tls_verify;
  endpoint->ca_data = connection.certificate_authority_data;
  endpoint->ca_file = connection.certificate_authority;
  std::string server = url;
  while (server.size() > host_start && server.back() == '/') server.pop_back();
  return std::unique_ptr<RestClient>(new RestClient(std::move(endpoint), server, connection.token, options));
}

RestClient::RestClient(std::unique_ptr<Endpoint> endpoint, std::string server, std::string token, RestClientOptions options)
    : endpoint_(std::move(endpoint)), server_(std::move(server)), token_(std::move(token)), options_(std::move(options)) {}

RestClient::~RestClient() = default;

namespace {

Status TransportError(httplib::Error error, const std::string& server, const std::string& method, const std::string& path) {
  switch (error) {
    case httplib::Error::Connection:
    case httplib::Error::BindIPAddress:
      return Status::Unavailable("cannot connect to the Capstan server at " + server + ": is `capstan server` running?");
    case httplib::Error::ConnectionTimeout:
      return Status(Code::kTimeout, "timed out connecting to the Capstan server at " + server);
    case httplib::Error::Read:
      return Status(Code::kTimeout, method + " " + path + ": no complete answer from " + server +
                                        " (timed out or connection closed)");
    default:
      return Status::Unavailable(method + " " + path + " to " + server + ": " + httplib::to_string(error));
  }
}

}  // namespace

Result<RawResponse> RestClient::Do(const std::string& method, const std::string& path, const Query& query,
                                   const std::string& body, const std::string& content_type,
                                   const std::string& accept) const {
  Result<std::unique_ptr<httplib::Client>> client = endpoint_->Take(options_);
  if (!client.ok()) return client.status();
  httplib::Request request;
  request.method = method;
  request.path = endpoint_->path_prefix + path;
  if (!query.empty()) request.path += "?" + EncodeQuery(query);
  request.headers.emplace("Accept", accept.empty() ? "application/json" : accept);
  request.headers.emplace("User-Agent", options_.user_agent);
  if (!token_.empty()) request.headers.emplace("Authorization", "Bearer " + token_);
  if (!body.empty()) {
    request.headers.emplace("Content-Type", content_type);
    request.body = body;
  }
  log::Debug("request", {{"method", method}, {"url", server_ + request.path}});
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  bool sent = false;
  try {
    sent = (*client)->send(request, response, error);
  } catch (const std::exception& e) {
    return Status::Internal(method + " " + path + ": " + e.what());
  }
  if (!sent) return TransportError(error, server_, method, path);
  // httplib reconnects by itself when the server has closed an idle connection meanwhile.
  if (response.get_header_value("Connection") != "close") endpoint_->Give(std::move(*client));
  log::Debug("response", {{"method", method}, {"url", server_ + request.path}, {"status", std::to_string(response.status)}});
  RawResponse raw;
  raw.status = response.status;
  raw.content_type = response.get_header_value("Content-Type");
  raw.body = std::move(response.body);
  return raw;
}

Result<json> RestClient::DoJson(const std::string& method, const std::string& path, const Query& query,
                                const std::string& body, const std::string& content_type,
                                const std::string& accept) const {
  Result<RawResponse> response = Do(method, path, query, body, content_type, accept);
  if (!response.ok()) return response.status();
  if (!IsSuccess(response->status)) return StatusFromResponse(response->status, response->body);
  if (response->body.empty()) return json::object();
  try {
    return json::parse(response->body);
  } catch (const std::exception& e) {
    return Status::Internal(method + " " + path + ": the server answered with invalid JSON: " + e.what());
  }
}

Result<json> RestClient::Get(const std::string& path, const Query& query, const std::string& accept) const {
  return DoJson("GET", path, query, "", "", accept);
}

Result<json> RestClient::Create(const std::string& path, const json& body, const Query& query) const {
  return DoJson("POST", path, query, body.dump(), "application/json", "");
}

Result<json> RestClient::Update(const std::string& path, const json& body, const Query& query) const {
  return DoJson("PUT", path, query, body.dump(), "application/json", "");
}

Result<json> RestClient::Patch(const std::string& path, PatchType type, const json& patch, const Query& query) const {
  return DoJson("PATCH", path, query, patch.dump(), PatchContentType(type), "");
}

Result<json> RestClient::Delete(const std::string& path, const json& options, const Query& query) const {
  return DoJson("DELETE", path, query, options.is_null() ? "" : options.dump(), "application/json", "");
}

Status RestClient::Stream(const std::string& path, const Query& query, const std::string& accept,
                          const std::function<bool(std::string_view data)>& on_data,
                          std::chrono::milliseconds idle_timeout) const {
  Result<std::unique_ptr<httplib::Client>> client = endpoint_->Open(options_, idle_timeout);
  if (!client.ok()) return client.status();

  int http_status = 0;
  std::string error_body;  // the body of a non-2xx answer
  bool stopped_by_caller = false;
  httplib::Request request;
  request.method = "GET";
  request.path = endpoint_->path_prefix + path;
  if (!query.empty()) request.path += "?" + EncodeQuery(query);
  request.headers.emplace("Accept", accept.empty() ? "application/json" : accept);
  request.headers.emplace("User-Agent", options_.user_agent);
  if (!token_.empty()) request.headers.emplace("Authorization", "Bearer " + token_);
  request.response_handler = [&](const httplib::Response& response) {
    http_status = response.status;
    return true;
  };
  request.content_receiver = [&](const char* data, size_t length, uint64_t, uint64_t) -> bool {
    if (!IsSuccess(http_status)) {
      if (error_body.size() < 65536) error_body.append(data, length);
      return true;
    }
    if (on_data(std::string_view(data, length))) return true;
    stopped_by_caller = true;
    return false;
  };

  log::Debug("stream", {{"url", server_ + request.path}});
  httplib::Response response;
  httplib::Error error = httplib::Error::Success;
  bool sent = false;
  try {
    sent = (*client)->send(request, response, error);
  } catch (const std::exception& e) {
    return Status::Internal("GET " + path + ": " + e.what());
  }
  if (stopped_by_caller) return Status::Ok();
  if (http_status != 0 && !IsSuccess(http_status)) return StatusFromResponse(http_status, error_body);
  if (!sent) {
    // The server closing a long stream is its normal end; a read error after a 200 is that.
    if (http_status != 0 && error == httplib::Error::Read) return Status::Ok();
    return TransportError(error, server_, "GET", path);
  }
  return Status::Ok();
}

Status RestClient::Watch(const std::string& path, const Query& query,
                         const std::function<bool(const json& event)>& on_event, const std::string& accept,
                         std::chrono::milliseconds idle_timeout) const {
  std::string pending;   // bytes after the last newline, waiting for the rest of their line
  Status watch_status;   // set by an ERROR event or an unparsable line
  bool stopped = false;  // by the caller or by watch_status

  // Returns false to stop reading.
  auto handle_line = [&](std::string_view line) -> bool {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) return true;
    json event;
    try {
      event = json::parse(line);
    } catch (const std::exception& e) {
      watch_status = Status::Internal("watch " + path + ": invalid event from the server: " + e.what());
      return false;
    }
    if (event.is_object() && StringField(event, "type") == "ERROR") {
      const json& object = event.contains("object") ? event["object"] : json();
      int code = object.is_object() ? static_cast<int>(IntField(object, "code", 500)) : 500;
      watch_status = StatusFromResponse(code, object.dump());
      return false;
    }
    return on_event(event);
  };
  Status s = Stream(path, query, accept, [&](std::string_view data) {
    pending.append(data);
    size_t start = 0;
    for (size_t newline = pending.find('\n'); newline != std::string::npos; newline = pending.find('\n', start)) {
      bool go_on = handle_line(std::string_view(pending).substr(start, newline - start));
      start = newline + 1;
      if (!go_on) {
        stopped = true;
        return false;
      }
    }
    pending.erase(0, start);
    return true;
  }, idle_timeout);
  if (!watch_status.ok()) return watch_status;
  if (!s.ok() || stopped) return s;
  // A last event not followed by a newline.
  if (!pending.empty() && !handle_line(pending)) return watch_status;
  return Status::Ok();
}

}  // namespace capstan::client
