// ApiClient: what controllers need from the Kubernetes-style API, independent of the transport.
//
// Controllers, informers and the node agent talk to the API only through this interface, exactly
// as a remote client would, so they can run in the server's process (InProcessApiClient, which
// calls the ApiHandler directly) or in another one (HttpApiClient, over RestClient).
//
// Paths are server-relative and unencoded ("/apis/apps/v1/namespaces/default/replicasets");
// query parameters are encoded by the implementation. Bodies and answers are JSON. A non-2xx
// answer is a Status whose code follows the HTTP status as RestClient maps it (404 kNotFound; 409
// kAlreadyExists or kConflict from the Status reason; 410 kExpired; 422 kInvalid; ...) and whose
// message is the server's Status.message.
//
// Thread-safety: every ApiClient method may be called from several threads at once. A
// WatchEvents is consumed by one thread at a time (Next); Cancel() may be called from any thread.
// Lifetime: every WatchEvents must be destroyed before the ApiClient that made it.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "client/rest_client.h"  // Query, PatchType

namespace capstan::client {

// An object shared, not copied, and so immutable: what watches and informers hand around, and
// what the *Shared writes answer.
using ObjectPtr = std::shared_ptr<const nlohmann::json>;

// One watch event with its object shared, not copied: what informers cache.
struct WatchEvent {
  std::string type;    // ADDED, MODIFIED, DELETED or BOOKMARK
  ObjectPtr object;    // never null
};

// One open watch: the events of one watch response, in order.
//
// Events are {"type": "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK", "object": {...}}. A watch
// never yields an ERROR event: the Status it carries ends the watch as an error instead (410 ->
// kExpired: the caller must list again).
class WatchEvents {
 public:
  // Cancels the watch and releases what it holds (see each implementation for how long that may
  // take).
  virtual ~WatchEvents() = default;

  // Waits up to `timeout` for the next event. Returns
  //   - an event;
  //   - nullopt when no event came within `timeout`, or when the watch has ended normally (the
  //     server closed the stream, or Cancel() was called): Ended() tells the two apart;
  //   - an error Status when the watch ended with one (an ERROR event, a transport error, an
  //     unparsable event). Sticky: every later call returns the same error.
  // Events received before the end are all returned first (except after Cancel(), which drops
  // them). Call from one thread at a time.
  virtual Result<std::optional<nlohmann::json>> Next(std::chrono::milliseconds timeout) = 0;

  // As Next(), with the event split into its type and a shared object. The default builds it
  // from Next(); a transport that already holds the object as a shared one (in-process) hands it
  // over without a copy. Use one of Next() and NextEvent() per watch, not both.
  virtual Result<std::optional<WatchEvent>> NextEvent(std::chrono::milliseconds timeout);

  // True once the watch is over and Next() has nothing more to return but nullopt or the error.
  virtual bool Ended() const = 0;

  // Ends the watch: a Next() blocked in another thread returns nullopt promptly, and every later
  // Next() returns nullopt with Ended() true. Thread-safe and idempotent.
  virtual void Cancel() = 0;
};

class ApiClient {
 public:
  virtual ~ApiClient() = default;

  // GET of one object (or of anything else that answers JSON).
  virtual Result<nlohmann::json> Get(const std::string& path, const Query& query = {}) = 0;
  // GET of a collection: one page, a List object with "items" (an array) and
  // metadata.resourceVersion / continue. The caller pages with limit and continue.
  virtual Result<nlohmann::json> List(const std::string& path, const Query& query = {}) = 0;
  virtual Result<nlohmann::json> Create(const std::string& path, const nlohmann::json& body,
                                        const Query& query = {}) = 0;  // POST
  virtual Result<nlohmann::json> Update(const std::string& path, const nlohmann::json& body,
                                        const Query& query = {}) = 0;  // PUT
  virtual Result<nlohmann::json> Patch(const std::string& path, PatchType type, const nlohmann::json& patch,
                                       const Query& query = {}) = 0;
  // The same writes, taking the body: a transport that hands bodies on as values
  // (InProcessApiClient) moves it rather than copying it; the others send it as above.
  Result<nlohmann::json> Create(const std::string& path, nlohmann::json&& body, const Query& query = {}) {
    return CreateTaking(path, std::move(body), query);
  }
  Result<nlohmann::json> Update(const std::string& path, nlohmann::json&& body, const Query& query = {}) {
    return UpdateTaking(path, std::move(body), query);
  }
  Result<nlohmann::json> Patch(const std::string& path, PatchType type, nlohmann::json&& patch,
                               const Query& query = {}) {
    return PatchTaking(path, type, std::move(patch), query);
  }
  // `options` is a DeleteOptions object, or null for no body.
  virtual Result<nlohmann::json> Delete(const std::string& path, const nlohmann::json& options = nullptr,
                                        const Query& query = {}) = 0;

  // The writes above answering the object shared rather than as the caller's own value: the
  // in-process transport then hands over the written object itself, which the write's watch event
  // carries too, where a plain write's answer must be a copy of it. For callers that only read the
  // answer (the hot writers: status writes, creates of Pods and Events).
  Result<ObjectPtr> CreateShared(const std::string& path, nlohmann::json body, const Query& query = {}) {
    return WriteShared(SharedWrite::kCreate, path, PatchType::kMerge, std::move(body), query);
  }
  Result<ObjectPtr> UpdateShared(const std::string& path, nlohmann::json body, const Query& query = {}) {
    return WriteShared(SharedWrite::kUpdate, path, PatchType::kMerge, std::move(body), query);
  }
  Result<ObjectPtr> PatchShared(const std::string& path, PatchType type, nlohmann::json patch,
                                const Query& query = {}) {
    return WriteShared(SharedWrite::kPatch, path, type, std::move(patch), query);
  }
  Result<ObjectPtr> DeleteShared(const std::string& path, nlohmann::json options = nullptr, const Query& query = {}) {
    return WriteShared(SharedWrite::kDelete, path, PatchType::kMerge, std::move(options), query);
  }

  // Opens a watch of the collection (or object) at `path`; "watch=true" is added to `query`
  // unless present. The caller sets resourceVersion, allowWatchBookmarks, timeoutSeconds and
  // selectors. An error may come back here (the server refused the request) or, for transports
  // that learn the answer later, from the first Next().
  virtual Result<std::unique_ptr<WatchEvents>> Watch(const std::string& path, const Query& query = {}) = 0;

 protected:
  enum class SharedWrite { kCreate, kUpdate, kPatch, kDelete };
  // Serves the *Shared writes (`type` only for kPatch; `body` null: none, for kDelete). The
  // default makes the plain write and shares its answer.
  virtual Result<ObjectPtr> WriteShared(SharedWrite verb, const std::string& path, PatchType type,
                                        nlohmann::json&& body, const Query& query);

  virtual Result<nlohmann::json> CreateTaking(const std::string& path, nlohmann::json&& body, const Query& query) {
    return Create(path, static_cast<const nlohmann::json&>(body), query);
  }
  virtual Result<nlohmann::json> UpdateTaking(const std::string& path, nlohmann::json&& body, const Query& query) {
    return Update(path, static_cast<const nlohmann::json&>(body), query);
  }
  virtual Result<nlohmann::json> PatchTaking(const std::string& path, PatchType type, nlohmann::json&& patch,
                                             const Query& query) {
    return Patch(path, type, static_cast<const nlohmann::json&>(patch), query);
  }
};

// `query` with ("watch", "true") appended unless it already has a "watch" parameter.
Query WithWatchParam(Query query);

// The Status of a watch ERROR event's object (a Kubernetes Status): code from its "code" (500
// when absent; 410 -> kExpired), message from its "message".
Status StatusFromWatchError(const nlohmann::json& object);

// Checks that a list answer is an object with an "items" array; kInternal otherwise.
Status CheckListShape(const std::string& path, const nlohmann::json& list);

}  // namespace capstan::client
