// ResourceService: the generic storage logic for every kind (Kubernetes' generic registry):
// create, get, list, update, patch, delete, and the status and scale subresources, over a Store.
//
// It owns the server's side of the object contract: strict decoding against the kind's schema,
// defaults, validation, server-set metadata (uid, creationTimestamp, generation), the spec/status
// split (main writes never change status; /status writes never change anything else),
// optimistic concurrency, finalizers and deletion (deletionTimestamp while finalizers remain;
// propagationPolicy recorded as the Kubernetes finalizers orphan / foregroundDeletion for the
// garbage collector), and dry runs. It knows nothing of HTTP.
//
// Thread-safety: all methods may be called concurrently; consistency comes from the store's
// revision preconditions (a read-modify-write retries on conflict unless the caller pinned a
// resourceVersion).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "api/admission.h"
#include "api/decoded_event_cache.h"
#include "api/kind.h"
#include "api/selector/selector.h"
#include "store/store.h"

namespace capstan::api {

struct WriteOptions {
  bool dry_run = false;
};

struct ListQuery {
  LabelSelector labels;
  FieldSelector fields;
  int64_t limit = 0;
  std::string continue_token;
  // The caller can use items as JSON text: when no selector needs the parsed objects, List then
  // fills ListPage::encoded instead of ListPage::items (no parse and no re-serialization).
  bool encoded_ok = false;
};

struct ListPage {
  std::vector<json> items;
  std::vector<std::string> encoded;  // see ListQuery::encoded_ok; resourceVersion included
  int64_t revision = 0;
  std::string continue_token;     // empty when complete
  int64_t remaining = -1;

  size_t size() const { return items.size() + encoded.size(); }
};

struct DeleteOptions {
  std::string propagation_policy;  // "", "Background", "Foreground", "Orphan"
  // DeleteOptions.gracePeriodSeconds (or ?gracePeriodSeconds=): for kinds with a graceful
  // deletion (Pods), how long the object's processes get; 0 deletes at once.
  std::optional<int64_t> grace_period_seconds;
  std::optional<std::string> precondition_uid;
  std::optional<std::string> precondition_rv;
  bool dry_run = false;
};

enum class PatchType { kJson, kMerge, kStrategic };

// A created object as JSON and as text, so a response can be sent without serializing again.
struct CreatedObject {
  ObjectRef object;      // with metadata.resourceVersion; never null; shared with its watch event
  std::string encoded;   // `object` as compact JSON text; empty for dry runs (serialize `object`)
};
using CreateCallback = std::function<void(Result<CreatedObject>)>;

class ResourceService {
 public:
  explicit ResourceService(store::Store* store) : store_(store) {}

  Result<json> Get(const KindInfo& kind, const std::string& ns, const std::string& name);

  // The decoded events shared by the watches over this service (decoded_event_cache.h).
  DecodedEventCache* decoded_events() { return &decoded_events_; }
  // The object a store read returned: a copy of the event that wrote it when the cache still
  // holds it (cheaper than parsing; the same object), else decoded from the value.
  Result<json> DecodeRead(const store::KeyValue& kv);
  // The same, shared (for reads that do not change it): no copy when the cache holds it.
  Result<ObjectRef> ReadShared(const store::KeyValue& kv);
  Result<ListPage> List(const KindInfo& kind, const std::string& ns, const ListQuery& q);

  // `obj` is the decoded request body. Namespaced kinds require `ns`.
  Result<json> Create(const KindInfo& kind, const std::string& ns, json obj, const WriteOptions& opts);
  // Create without waiting for the write to be durable: the checks run on the caller's thread
  // (which must allow a store read: the namespace check), then `done` gets the outcome once,
  // on the store's commit thread (see Store::TxnAsync: quick, non-blocking) or, for a failed
  // check or a dry run, on the caller's thread before CreateAsync returns.
  void CreateAsync(const KindInfo& kind, const std::string& ns, json obj, const WriteOptions& opts,
                   CreateCallback done);
  // PUT of the main resource, or of the status subresource when subresource == "status".
  Result<json> Update(const KindInfo& kind, const std::string& ns, const std::string& name,
                      const std::string& subresource, json obj, const WriteOptions& opts);
  Result<json> Patch(const KindInfo& kind, const std::string& ns, const std::string& name,
                     const std::string& subresource, PatchType type, const json& patch, const WriteOptions& opts);
  Result<json> Delete(const KindInfo& kind, const std::string& ns, const std::string& name,
                      const DeleteOptions& opts);
  // The same writes answering the object shared (never null): a write's object is also its watch
  // event's (stored_object_memo.h), so the answers above are copies of it, and these are not.
  Result<ObjectRef> UpdateShared(const KindInfo& kind, const std::string& ns, const std::string& name,
                                 const std::string& subresource, json obj, const WriteOptions& opts);
  Result<ObjectRef> PatchShared(const KindInfo& kind, const std::string& ns, const std::string& name,
                                const std::string& subresource, PatchType type, const json& patch,
                                const WriteOptions& opts);
  Result<ObjectRef> DeleteShared(const KindInfo& kind, const std::string& ns, const std::string& name,
                                 const DeleteOptions& opts);

  // The autoscaling/v1 Scale view of an object of a kind with a scale subresource.
  Result<json> GetScale(const KindInfo& kind, const std::string& ns, const std::string& name);
  // PUT (`patch_type` empty) or PATCH of the Scale; returns the new Scale.
  Result<json> UpdateScale(const KindInfo& kind, const std::string& ns, const std::string& name,
                           std::optional<PatchType> patch_type, const json& body, const WriteOptions& opts);

  // pods/binding: sets spec.nodeName of an unbound, undeleted object from a v1 Binding
  // ({"target": {"kind": "Node", "name": ...}}) and its PodScheduled condition to True.
  // 409 when already bound to a node or being deleted; 422 for a Binding without a target name.
  Status Bind(const KindInfo& kind, const std::string& ns, const std::string& name, const json& binding,
              const WriteOptions& opts);

  // Strict checks, defaults, validation and admission plugins of a would-be object, without
  // storing anything. Used by create/update and by callers that dry-run many objects (apply,
  // GitOps). `status_only`: a /status write (old set; obj is old with a new status), checked as
  // KindInfo::validate_status says.
  Status Admit(const KindInfo& kind, json& obj, const json* old, bool status_only = false);

  // Adds an admission plugin (admission.h), run in the order added after every kind's validate.
  // Call before serving; not thread-safe against concurrent writes.
  void AddAdmissionPlugin(std::shared_ptr<AdmissionPlugin> plugin) { admission_.push_back(std::move(plugin)); }

  store::Store* store() { return store_; }

 private:
  // Applies server-owned metadata and the spec/status split to `next` given `old`, runs Admit,
  // and writes (or deletes when the last finalizer of a deleting object went away).
  Result<ObjectRef> CommitUpdate(const KindInfo& kind, const std::string& key, const json& old,
                                 int64_t old_revision, json next, bool status_only, const WriteOptions& opts);
  // A read-modify-write's first attempt, on a guess: `write(current, revision)` on the newest
  // object the decoded-event cache holds for `key` (DecodedEventCache::NewestOf), which saves
  // the store read; the write's revision precondition makes a stale guess fail, never commit.
  // Returns the outcome when the write committed; nullopt (no guess, or it did not commit: see
  // the .cc) when the caller must go on from the store as without a guess. Kubernetes'
  // GuaranteedUpdate starts from its watch cache the same way.
  std::optional<Result<ObjectRef>> WriteOnGuess(const std::string& key,
                                                const std::function<Result<ObjectRef>(const json&, int64_t)>& write);
  // The decoded object of `kv` when the decoded-event cache holds it; null otherwise.
  ObjectRef HeldObject(const store::KeyValue& kv);
  Status CheckNamespaceActive(const std::string& ns);
  // resource_create.cc
  struct PendingCreate;
  Result<std::shared_ptr<PendingCreate>> PrepareCreate(const KindInfo& kind, const std::string& ns, json obj,
                                                       const WriteOptions& opts);
  void CommitCreate(std::shared_ptr<PendingCreate> pending, int attempt, CreateCallback done);
  Status DeleteNamespaceContents(const std::string& ns);
  // resource_claims.cc: the store ops that write the claims of `obj` (stored at `key`) in the
  // object's own transaction, each conditioned on the claim's current state; 422 naming the
  // field when a live object holds one.
  Result<std::vector<store::Op>> ClaimOps(const KindInfo& kind, const json& obj, const std::string& key);

  store::Store* store_;  // not owned; outlives this
  // Every committed event decoded once, for the watches of every handler over this service; a
  // write reads the object it changes from here when the event that wrote it is still held.
  DecodedEventCache decoded_events_;
  std::vector<std::shared_ptr<AdmissionPlugin>> admission_;  // fixed once serving
};

}  // namespace capstan::api
