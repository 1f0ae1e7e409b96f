#include "api/decoded_event_cache.h"

#include "api/object_meta.h"

namespace capstan::api {

std::shared_ptr<const DecodedEvent> DecodeEvent(const store::Event& ev) {
  auto d = std::make_shared<DecodedEvent>();
  auto cur = DecodeStored(ev.kv.value, ev.revision);
  if (cur.ok()) {
    d->ok = true;
    d->cur = std::move(*cur);
    d->cur_json = d->cur.dump(-1, ' ', false, json::error_handler_t::replace);
    if (ev.has_prev && ev.type == store::EventType::kPut) {
      auto prev = DecodeStored(ev.prev.value, ev.revision);
      if (prev.ok()) {
        d->has_prev = true;
        d->prev = std::move(*prev);
        d->prev_json = d->prev.dump(-1, ' ', false, json::error_handler_t::replace);
      }
    }
  }
  return d;
}

std::shared_ptr<const DecodedEvent> DecodedEventCache::Get(const store::Event& ev) {
  Slot& slot = slots_[static_cast<size_t>(ev.revision) % kSlots];
  std::lock_guard<std::mutex> lock(slot.mu);
  if (slot.value && slot.revision == ev.revision) return slot.value;
  slot.revision = ev.revision;
  slot.value = DecodeEvent(ev);
  return slot.value;
}

}  // namespace capstan::api
