// DecodedEventCache: each committed store event decoded and encoded once, shared by every watch
// stream that delivers it. With 10,000 watchers of one prefix, parsing and serializing an event
// per watcher would cost 10,000 times what it costs once; this keeps the per-watcher work to a
// selector check and a string copy.
//
// Entries are keyed by revision in a fixed ring of slots (revision mod kSlots), each with its own
// lock, so concurrent streams do not contend unless they want the same event, and the one that
// comes first decodes it while the others wait for the result. A slot holding an older revision
// is simply replaced: a watcher far behind decodes again, which is correct, only slower.
//
// Thread-safety: Get() may be called from any thread.
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <string>

#include "api/schema.h"
#include "store/store.h"

namespace capstan::api {

struct DecodedEvent {
  bool ok = false;          // false when the stored value did not decode (never expected)
  json cur;                 // the object after the change (for deletes: the deleted object);
                            // metadata.resourceVersion is the event's revision
  std::string cur_json;     // cur, serialized
  bool has_prev = false;
  json prev;                // the object before the change, resourceVersion = the event's revision
  std::string prev_json;
};

// Decodes one event (what the cache does once per revision).
std::shared_ptr<const DecodedEvent> DecodeEvent(const store::Event& ev);

class DecodedEventCache {
 public:
  std::shared_ptr<const DecodedEvent> Get(const store::Event& ev);

 private:
  static constexpr size_t kSlots = 4096;
  struct Slot {
    std::mutex mu;
    int64_t revision = 0;                        // guarded by mu
    std::shared_ptr<const DecodedEvent> value;   // guarded by mu
  };
  std::array<Slot, kSlots> slots_;
};

}  // namespace capstan::api
