// DecodedEventCache: each committed store event decoded once, shared by every watch stream that
// delivers it. With 10,000 watchers of one prefix, parsing and serializing an event per watcher
// would cost 10,000 times what it costs once; this keeps the per-watcher work to a selector
// check and a string copy (HTTP watchers) or a reference count (in-process watchers, which take
// the decoded object itself).
//
// Entries are keyed by revision in a fixed ring of slots (revision mod kSlots), each with its own
// lock, so concurrent streams do not contend unless they want the same event, and the one that
// comes first decodes it while the others wait for the result. A slot holding an older revision
// is simply replaced: a watcher far behind decodes again, which is correct, only slower.
//
// Beside the ring, an index of the newest decoded object per key (weak references: it keeps
// nothing alive), which is how writes start from the object the informers already hold instead
// of reading and parsing the stored one (Latest, NewestOf; ResourceService::WriteOnGuess).
//
// Thread-safety: every method may be called from any thread; a DecodedEvent's accessors too.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "api/object_event_source.h"  // ObjectRef
#include "api/schema.h"
#include "store/store.h"

namespace capstan::api {

// One store event, decoded. The object after the change is decoded at once (every watch needs it
// for its selectors), or taken from the event's memo when the API write that made it attached one
// (stored_object_memo.h: no parse then); its serialized form and the object before the change
// are produced on first use, because in-process watchers never need the text and watchers
// without selectors never need the previous state.
class DecodedEvent {
 public:
  explicit DecodedEvent(store::EventPtr event);
  DecodedEvent(const DecodedEvent&) = delete;
  DecodedEvent& operator=(const DecodedEvent&) = delete;

  // False when the stored value did not decode (never expected).
  bool ok() const { return cur_ != nullptr; }
  // The object after the change (for deletes: the deleted object); metadata.resourceVersion is
  // the event's revision. Only when ok().
  const ObjectRef& cur() const { return cur_; }
  const std::string& cur_json() const;
  // The store key the event wrote.
  const std::string& key() const { return event_->kv.key; }
  // Whether the change had a before (a put of an existing key), without decoding it.
  bool has_prev() const { return event_->has_prev && event_->type == store::EventType::kPut; }
  // The object before the change when has_prev(), resourceVersion = the event's revision (null if
  // it did not decode, never expected); null otherwise.
  const ObjectRef& prev() const;
  // prev(), serialized; only when prev() is set.
  const std::string& prev_json() const;

 private:
  const store::EventPtr event_;
  ObjectRef cur_;
  mutable std::once_flag cur_json_once_, prev_once_, prev_json_once_;
  mutable std::string cur_json_;   // set once, under cur_json_once_
  mutable ObjectRef prev_;         // set once, under prev_once_
  mutable std::string prev_json_;  // set once, under prev_json_once_
};

// Decodes one event (what the cache does once per revision).
std::shared_ptr<const DecodedEvent> DecodeEvent(const store::EventPtr& ev);

class DecodedEventCache {
 public:
  std::shared_ptr<const DecodedEvent> Get(const store::EventPtr& ev);
  // The decoded event of `revision` when the cache holds it and it wrote `key`; null otherwise
  // (never decodes). A selector watch asks it for an update's previous state: that state is the
  // object the key's previous event decoded (with that event's resourceVersion), usually still
  // here, so the selector check before a change costs no second decode of it.
  std::shared_ptr<const DecodedEvent> Peek(int64_t revision, const std::string& key);
  // The object `key` holds at `revision` (resourceVersion included) when an event of that
  // revision was decoded here and the object is still alive somewhere (an informer's cache, a
  // writer's answer, a slot above); null otherwise (never decodes). Why: a write reads the object
  // it changes, usually one the informers hold, often longer ago than the slots reach (a Pod's
  // binding comes after thousands of other writes when 10,000 are created at once).
  ObjectRef Latest(const std::string& key, int64_t revision);
  // The newest object decoded for `key` and its revision, while someone holds it; {0, null}
  // otherwise. Not checked against the store: the store may already hold a newer revision (an
  // event not decoded yet) or none (a delete not decoded yet).
  struct Newest {
    int64_t revision = 0;
    ObjectRef object;
  };
  Newest NewestOf(const std::string& key);

 private:
  // Notes the decoded object of a put (a delete forgets the key) for Latest; never goes back to
  // an older revision (watchers decode at their own pace).
  void Remember(const store::Event& ev, const ObjectRef& cur);

  static constexpr size_t kSlots = 4096;
  struct Slot {
    std::mutex mu;
    int64_t revision = 0;                        // guarded by mu
    std::shared_ptr<const DecodedEvent> value;   // guarded by mu
  };
  std::array<Slot, kSlots> slots_;

  // Latest's index: per key, the newest revision decoded and its object, not owned (weak: the
  // index keeps no object alive). Sharded by key hash; expired entries are swept when a shard
  // has doubled since its last sweep.
  static constexpr size_t kShards = 64;
  struct LatestEntry {
    int64_t revision = 0;
    std::weak_ptr<const json> object;
  };
  struct Shard {
    std::mutex mu;
    std::unordered_map<std::string, LatestEntry> entries;  // guarded by mu
    size_t sweep_at = 1024;                                // guarded by mu
  };
  std::array<Shard, kShards> shards_;
};

}  // namespace capstan::api
