#include "api/decoded_event_cache.h"

#include <algorithm>

#include "api/object_meta.h"
#include "api/stored_object_memo.h"

namespace capstan::api {
namespace {

std::string Serialize(const json& obj) { return obj.dump(-1, ' ', false, json::error_handler_t::replace); }

}  // namespace

DecodedEvent::DecodedEvent(store::EventPtr event) : event_(std::move(event)) {
  // The object the writer encoded, when it came with the event and no one took it yet.
  if (const auto* memo = dynamic_cast<const StoredObjectMemo*>(event_->memo.get()); memo != nullptr) {
    cur_ = memo->Take();
    if (cur_) return;
  }
  auto cur = DecodeStored(event_->kv.value, event_->revision);
  if (cur.ok()) cur_ = std::make_shared<const json>(std::move(*cur));
}

const std::string& DecodedEvent::cur_json() const {
  std::call_once(cur_json_once_, [this] {
    if (cur_) cur_json_ = Serialize(*cur_);
  });
  return cur_json_;
}

const ObjectRef& DecodedEvent::prev() const {
  std::call_once(prev_once_, [this] {
    if (!cur_ || !has_prev()) return;
    auto prev = DecodeStored(event_->prev.value, event_->revision);
    if (prev.ok()) prev_ = std::make_shared<const json>(std::move(*prev));
  });
  return prev_;
}

const std::string& DecodedEvent::prev_json() const {
  std::call_once(prev_json_once_, [this] {
    if (prev()) prev_json_ = Serialize(*prev());
  });
  return prev_json_;
}

std::shared_ptr<const DecodedEvent> DecodeEvent(const store::EventPtr& ev) {
  return std::make_shared<const DecodedEvent>(ev);
}

std::shared_ptr<const DecodedEvent> DecodedEventCache::Get(const store::EventPtr& ev) {
  Slot& slot = slots_[static_cast<size_t>(ev->revision) % kSlots];
  std::shared_ptr<const DecodedEvent> replaced;  // destroyed after the unlock: it may be large
  std::lock_guard<std::mutex> lock(slot.mu);
  // The key too: one etcd transaction writes several keys at one revision.
  if (slot.value && slot.revision == ev->revision && slot.value->key() == ev->kv.key) return slot.value;
  slot.revision = ev->revision;
  replaced = std::move(slot.value);
  slot.value = DecodeEvent(ev);
  if (slot.value->ok()) Remember(*ev, slot.value->cur());
  return slot.value;
}

void DecodedEventCache::Remember(const store::Event& ev, const ObjectRef& cur) {
  Shard& shard = shards_[std::hash<std::string>{}(ev.kv.key) % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.entries.find(ev.kv.key);
  if (it != shard.entries.end() && it->second.revision >= ev.revision) return;
  if (ev.type == store::EventType::kDelete) {
    if (it != shard.entries.end()) shard.entries.erase(it);
    return;
  }
  if (it != shard.entries.end()) {
    it->second = LatestEntry{ev.revision, cur};
    return;
  }
  shard.entries.emplace(ev.kv.key, LatestEntry{ev.revision, cur});
  if (shard.entries.size() < shard.sweep_at) return;
  // Keys whose objects no one holds any more (kinds no informer caches): forgotten.
  for (auto e = shard.entries.begin(); e != shard.entries.end();) {
    e = e->second.object.expired() ? shard.entries.erase(e) : std::next(e);
  }
  shard.sweep_at = std::max<size_t>(1024, 2 * shard.entries.size());
}

DecodedEventCache::Newest DecodedEventCache::NewestOf(const std::string& key) {
  Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end()) return {};
  ObjectRef object = it->second.object.lock();
  if (!object) return {};
  return {it->second.revision, std::move(object)};
}

ObjectRef DecodedEventCache::Latest(const std::string& key, int64_t revision) {
  Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.entries.find(key);
  if (it == shard.entries.end() || it->second.revision != revision) return nullptr;
  return it->second.object.lock();
}

std::shared_ptr<const DecodedEvent> DecodedEventCache::Peek(int64_t revision, const std::string& key) {
  if (revision <= 0) return nullptr;
  Slot& slot = slots_[static_cast<size_t>(revision) % kSlots];
  std::lock_guard<std::mutex> lock(slot.mu);
  if (!slot.value || slot.revision != revision || slot.value->key() != key) return nullptr;
  return slot.value;
}

}  // namespace capstan::api
