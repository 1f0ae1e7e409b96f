// InProcessApiClient: ApiClient that calls the API handler in the same process, without sockets.
//
// Each call builds the HttpRequest an HTTP client would send and the HTTP server would decode:
// the method, the percent-decoded path, the query encoded then parsed back (EncodeQuery, then
// ParseQuery), "Authorization: Bearer <token>", Accept and Content-Type. So the very same server
// code (authentication, authorization, admission, watch streams) runs for in-process
// controllers as for remote ones, and they could move to another process unchanged. The one
// shortcut: bodies travel as JSON values, not text, both ways (HttpRequest::decoded_body and
// decoded_response), since serializing and parsing within one process is most of a
// controller's write cost; the *Shared writes get the written object itself (shared_body).
// Errors still come back as Status text, exactly as over HTTP.
//
// A watch reads the handler's ResponseStream as the HTTP server does: SetNotify wakes Next()
// through a condition variable, Deadline() bounds each wait (bookmarks, the stream's timeout),
// and the stream is Close()d on Cancel() and on destruction. The body is newline-delimited JSON
// events; partial lines are buffered. Cancel() and the destructor are prompt: they never wait
// for the server.
//
// Thread-safety: as ApiClient. Lifetime: the handler (and what it calls) must outlive this client
// and every WatchEvents it returned.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "api/http/http_types.h"
#include "client/api_client.h"

namespace capstan::client {

class InProcessApiClient : public ApiClient {
 public:
  using Handler = std::function<api::HttpResponse(const api::HttpRequest&)>;

  // `handler` is usually [&h](const api::HttpRequest& r) { return h.Handle(r); } for an
  // api::ApiHandler h. `token` empty sends no Authorization header.
  InProcessApiClient(Handler handler, std::string token, std::string user_agent = "capstan-in-process");

  Result<nlohmann::json> Get(const std::string& path, const Query& query = {}) override;
  Result<nlohmann::json> List(const std::string& path, const Query& query = {}) override;
  Result<nlohmann::json> Create(const std::string& path, const nlohmann::json& body, const Query& query = {}) override;
  Result<nlohmann::json> Update(const std::string& path, const nlohmann::json& body, const Query& query = {}) override;
  Result<nlohmann::json> Patch(const std::string& path, PatchType type, const nlohmann::json& patch,
                               const Query& query = {}) override;
  Result<nlohmann::json> Delete(const std::string& path, const nlohmann::json& options = nullptr,
                                const Query& query = {}) override;
  Result<std::unique_ptr<WatchEvents>> Watch(const std::string& path, const Query& query = {}) override;
  using ApiClient::Create;  // the body-taking overloads
  using ApiClient::Patch;
  using ApiClient::Update;

 protected:
  Result<ObjectPtr> WriteShared(SharedWrite verb, const std::string& path, PatchType type, nlohmann::json&& body,
                                const Query& query) override;
  Result<nlohmann::json> CreateTaking(const std::string& path, nlohmann::json&& body, const Query& query) override;
  Result<nlohmann::json> UpdateTaking(const std::string& path, nlohmann::json&& body, const Query& query) override;
  Result<nlohmann::json> PatchTaking(const std::string& path, PatchType type, nlohmann::json&& patch,
                                     const Query& query) override;

 private:
  // The request as the HTTP server would hand it to the handler; kBadRequest for a path with a
  // malformed percent-escape.
  // `body` (may be null) is moved into the request.
  Result<api::HttpRequest> MakeRequest(const std::string& method, const std::string& path, const Query& query,
                                       nlohmann::json* body, const std::string& content_type) const;
  // Makes the request and calls the handler: a 2xx answer without a stream, or its error.
  // `body` (may be null) is moved into the request.
  Result<api::HttpResponse> DoTaking(const std::string& method, const std::string& path, const Query& query,
                                     nlohmann::json* body, const std::string& content_type) const;
  // Calls the handler; no exception escapes.
  Result<api::HttpResponse> Call(const api::HttpRequest& request) const;
  Result<nlohmann::json> DoJson(const std::string& method, const std::string& path, const Query& query,
                                const nlohmann::json* body, const std::string& content_type) const;
  // The same, moving `body` (may be null) into the request.
  Result<nlohmann::json> DoJsonTaking(const std::string& method, const std::string& path, const Query& query,
                                      nlohmann::json* body, const std::string& content_type) const;

  // Constant after construction.
  const Handler handler_;
  const std::string token_;
  const std::string user_agent_;
};

}  // namespace capstan::client
