// Informer: a local, indexed cache of one resource collection, kept current by LIST + WATCH, with
// callbacks on every change. Controllers read through informers and write through ApiClient.
//
// The informer thread (Start) runs:
//   1. LIST the collection in pages (limit = page_size, continue), replace the cache with the
//      result and call the handlers for the differences: add for new keys, update for every key
//      present before and after (even when its resourceVersion did not change: a re-list is a
//      resync, and controllers rely on it), delete for keys gone. After the first LIST has been
//      applied and its callbacks ran, HasSynced() is true.
//   2. WATCH from the list's resourceVersion with allowWatchBookmarks=true and timeoutSeconds.
//      Each event updates the cache, then the handlers. When the stream ends (timeout, server
//      restart) the informer watches again from the last resourceVersion seen (events and
//      bookmarks advance it), so nothing is lost or repeated.
//   3. On 410 Expired (the watch's revision was compacted away, or the watcher fell behind) it
//      goes back to 1; the re-list reconciles the cache, so an object deleted during the gap
//      gets its delete callback. Other errors are logged and retried with exponential backoff
//      (backoff_initial doubling to backoff_max); a LIST failure retries the LIST, a WATCH
//      failure the WATCH.
//
// Cache invariants: keys are "namespace/name" ("name" for cluster-scoped objects); values are
// std::shared_ptr<const json>, immutable once cached: the informer replaces an object, never
// changes it, and callers must never mutate a cached object (copy it first, as a reconcile must
// before writing). Indexes always agree with the cached objects.
//
// Thread-safety: every public method may be called from any thread. Handlers run one at a time,
// in event order and after the cache already reflects the event, on the informer thread; they
// must not block for long (compute a key and enqueue it) and must not call Stop() or add or
// remove handlers or indexes. An exception from a handler is logged, never propagated. Start()
// once; Stop() is final and is also done by the destructor.
//
// Handlers and indexes may be added after Start() (one informer shared by parts of a process that
// start at different times, as client-go allows): a late index is built from the cache at once; a
// late handler first gets an add for every object cached, on the calling thread, and then every
// later change on the informer thread, none missed or repeated.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "client/api_client.h"

namespace capstan::client {

// A cached object (ObjectPtr, api_client.h). Immutable: see "Cache invariants" above.

// Index function: the index values of an object (none, one or several). Must be pure.
using IndexFunc = std::function<std::vector<std::string>(const nlohmann::json& obj)>;

// The cache key of an object: "namespace/name", or "name" without a namespace.
std::string ObjectKey(const nlohmann::json& obj);

// Ready-made index functions, with the names controllers conventionally register them under.
inline constexpr char kNamespaceIndex[] = "namespace";
inline constexpr char kOwnerUidIndex[] = "ownerUid";
inline constexpr char kNodeNameIndex[] = "nodeName";
// metadata.namespace (nothing for cluster-scoped objects).
std::vector<std::string> IndexByNamespace(const nlohmann::json& obj);
// Every metadata.ownerReferences[].uid.
std::vector<std::string> IndexByOwnerUid(const nlohmann::json& obj);
// spec.nodeName (nothing while unset or empty: unbound Pods are not indexed).
std::vector<std::string> IndexByNodeName(const nlohmann::json& obj);

// Callbacks for cache changes; any may be empty. `old_obj` is the replaced cached object; for a
// delete, `obj` is the object's last state (from the DELETED event, or the cached one when a
// re-list found it gone).
struct ResourceEventHandler {
  std::function<void(const ObjectPtr& obj)> on_add;
  std::function<void(const ObjectPtr& old_obj, const ObjectPtr& new_obj)> on_update;
  std::function<void(const ObjectPtr& obj)> on_delete;
  // Who added it, so that RemoveEventHandlers(owner) can take it out again: a part of the process
  // that stops before the informer does (a ControllerManager, a NodeAgent). Null: it stays as
  // long as the informer.
  const void* owner = nullptr;
};

struct InformerOptions {
  std::string label_selector;   // labelSelector of every LIST and WATCH; empty: none
  std::string field_selector;   // fieldSelector; empty: none
  int64_t page_size = 500;      // LIST page size (limit); 0: one unpaginated LIST
  std::chrono::seconds watch_timeout{300};  // timeoutSeconds of each WATCH (>= 1)
  std::chrono::milliseconds backoff_initial{100};  // first retry delay after an error
  std::chrono::milliseconds backoff_max{10000};    // the delay doubles up to this
};

class Informer {
 public:
  // `client` is borrowed and must outlive the informer. `path` is a collection path,
  // "/apis/apps/v1/replicasets" (all namespaces) or ".../namespaces/web/replicasets".
  Informer(ApiClient* client, std::string path, InformerOptions options = {});
  ~Informer();  // Stop()

  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  // kAlreadyExists for a name already added (informers shared through a factory: a second
  // controller adding a ready-made index under its conventional name may treat kAlreadyExists as
  // success). After Start() the index covers the objects cached so far before this returns.
  Status AddIndexer(const std::string& name, IndexFunc fn);
  // After Start(), `handler.on_add` is called for every object cached so far before this returns
  // (see "Handlers and indexes may be added after Start()" above).
  Status AddEventHandler(ResourceEventHandler handler);
  // Takes out every handler added with `owner` (none for null). When this returns none of them
  // runs or will run again, so what they refer to may go.
  void RemoveEventHandlers(const void* owner);

  // Starts the informer thread. Idempotent; a no-op after Stop().
  void Start();
  // Cancels the open LIST/WATCH and joins the thread. Prompt with InProcessApiClient; with
  // HttpApiClient it waits as long as destroying a WatchEvents does (see http_api_client.h)
  // and for an in-flight LIST. Idempotent. The cache stays readable.
  void Stop();

  // True once the first LIST has been applied and its callbacks have run.
  bool HasSynced() const;
  // Waits for HasSynced(); false on timeout or when the informer was stopped first.
  bool WaitForSync(std::chrono::milliseconds timeout) const;
  // The resourceVersion the cache reflects: of the last LIST, event or bookmark applied.
  std::string LastSyncResourceVersion() const;

  // Cache reads: snapshots of immutable objects, in key order.
  ObjectPtr Get(const std::string& key) const;  // null when absent
  std::vector<ObjectPtr> List() const;
  // The objects of namespace `ns`; "" means all (Kubernetes' NamespaceAll), as List().
  std::vector<ObjectPtr> ListNamespace(const std::string& ns) const;
  // Objects whose index `name` has `value`; kNotFound for an index that was never added.
  Result<std::vector<ObjectPtr>> ByIndex(const std::string& name, const std::string& value) const;
  // Values of index `name` that currently have objects (for tests and debugging).
  std::vector<std::string> IndexValues(const std::string& name) const;

  const std::string& path() const { return path_; }
  const InformerOptions& options() const { return options_; }

 private:
  struct Change;  // one cache change to report to the handlers

  void Run() noexcept;
  void Loop();
  // LIST every page and reconcile the cache with it.
  Status ListAndReplace();
  // One WATCH from rv_ until it ends; *progressed when it applied an event or lasted long.
  Status WatchOnce(bool* progressed);
  Status ApplyEvent(WatchEvent event);
  void Dispatch(const Change& change);
  bool Stopping() const;
  // Sleeps `delay` or until Stop(); false when stopping.
  bool SleepUnlessStopped(std::chrono::milliseconds delay);
  Query SelectorQuery() const;

  // Index maintenance; cache_mu_ held exclusively. IndexRemove uses the values IndexAdd stored,
  // so an index function is called once per cached object version.
  void IndexAdd(const std::string& key, const nlohmann::json& obj);
  // A new version of a cached object: only the indexes whose values changed are touched.
  void IndexUpdate(const std::string& key, const nlohmann::json& obj);
  void IndexRemove(const std::string& key);

  // Constant after construction.
  ApiClient* const client_;
  const std::string path_;
  const InformerOptions options_;

  // Held from a change to the cache until its handlers returned (by the informer thread), and
  // while a handler or an index is added: a late handler or index sees each change exactly once.
  // Order: dispatch_mu_ before cache_mu_; never taken while holding lifecycle_mu_.
  std::mutex dispatch_mu_;
  std::map<std::string, IndexFunc> index_funcs_;  // guarded by dispatch_mu_ and cache_mu_ (both to write)
  std::vector<ResourceEventHandler> handlers_;    // guarded by dispatch_mu_

  mutable std::mutex lifecycle_mu_;
  std::condition_variable lifecycle_cv_;  // signals stopping_
  bool started_ = false;                  // guarded by lifecycle_mu_
  bool stopping_ = false;                 // guarded by lifecycle_mu_
  WatchEvents* current_watch_ = nullptr;  // guarded by lifecycle_mu_; the open watch, if any
  std::thread thread_;                    // set by Start(), joined by Stop()
  std::thread::id thread_id_;             // guarded by lifecycle_mu_

  mutable std::shared_mutex cache_mu_;
  std::map<std::string, ObjectPtr> items_;  // guarded by cache_mu_; key -> object
  // guarded by cache_mu_; index name -> value -> keys. Empty value sets are erased.
  std::map<std::string, std::map<std::string, std::set<std::string>>> indices_;
  // guarded by cache_mu_; key -> index name -> the values it was indexed under.
  std::map<std::string, std::map<std::string, std::vector<std::string>>> index_values_;
  std::string rv_;                          // guarded by cache_mu_; see LastSyncResourceVersion

  mutable std::mutex sync_mu_;
  mutable std::condition_variable sync_cv_;
  bool synced_ = false;   // guarded by sync_mu_
  bool stopped_ = false;  // guarded by sync_mu_; wakes WaitForSync on Stop()
};

}  // namespace capstan::client
