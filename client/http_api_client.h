// HttpApiClient: ApiClient over HTTP(S), through RestClient.
//
// Requests map one to one onto RestClient calls. A watch runs RestClient::Watch (blocking,
// callback-based) on a thread owned by the returned WatchEvents; events pass through a bounded
// queue (HttpApiClientOptions::watch_queue). When the queue is full the reader stops reading, so
// a slow consumer pushes back on the server (whose watch then ends with 410 Expired: re-list).
//
// Latency of Cancel(): Next() returns at once, but the reader thread can stop only when the
// server sends something (an event or, with allowWatchBookmarks, a bookmark about every 60 s),
// when the read is idle for the idle timeout (min of watch_idle_timeout and timeoutSeconds + 5 s
// when the query has timeoutSeconds), or when the server ends the stream at timeoutSeconds. The
// WatchEvents destructor joins the reader, so it may block that long: callers that must stop
// promptly pass a short timeoutSeconds. (RestClient::Watch has no way to abort a blocked read;
// a cancel hook there would make this prompt.)
//
// Thread-safety: as ApiClient. Lifetime: the RestClient must outlive this client and its watches.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "client/api_client.h"
#include "client/rest_client.h"

namespace capstan::client {

struct HttpApiClientOptions {
  // Events buffered between the reader thread and Next() (default 1024).
  size_t watch_queue = 1024;
  // Read timeout between bytes of a watch (default 90 s, longer than the server's 60 s bookmark
  // interval). An idle timeout ends the watch normally (the caller re-watches).
  std::chrono::milliseconds watch_idle_timeout{90000};
};

class HttpApiClient : public ApiClient {
 public:
  // `rest` is borrowed.
  explicit HttpApiClient(const RestClient* rest, HttpApiClientOptions options = {});

  Result<nlohmann::json> Get(const std::string& path, const Query& query = {}) override;
  Result<nlohmann::json> List(const std::string& path, const Query& query = {}) override;
  Result<nlohmann::json> Create(const std::string& path, const nlohmann::json& body, const Query& query = {}) override;
  Result<nlohmann::json> Update(const std::string& path, const nlohmann::json& body, const Query& query = {}) override;
  Result<nlohmann::json> Patch(const std::string& path, PatchType type, const nlohmann::json& patch,
                               const Query& query = {}) override;
  Result<nlohmann::json> Delete(const std::string& path, const nlohmann::json& options = nullptr,
                                const Query& query = {}) override;
  // Never fails here: the server's answer (and any error) arrives through Next().
  Result<std::unique_ptr<WatchEvents>> Watch(const std::string& path, const Query& query = {}) override;

 private:
  // Constant after construction.
  const RestClient* const rest_;
  const HttpApiClientOptions options_;
};

}  // namespace capstan::client
