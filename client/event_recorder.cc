#include "client/event_recorder.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <utility>

#include "base/log.h"
#include "client/json_fields.h"

namespace capstan::client {
namespace {


// Event names are DNS subdomains (at most 253 characters): "<object name>.<16 hex digits>".
constexpr size_t kMaxObjectNameInEventName = 253 - 17;
// Names are retried with a fresh suffix this often when another recorder took the same one.
constexpr int kCreateAttempts = 3;

json Reference(const json& obj) {
  json ref = json::object();
  auto set = [&](const char* field, std::string value) {
    if (!value.empty()) ref[field] = std::move(value);
  };
  set("kind", StringField(obj, "kind"));
  set("namespace", MetaString(obj, "namespace"));
  set("name", MetaString(obj, "name"));
  set("uid", MetaString(obj, "uid"));
  set("apiVersion", StringField(obj, "apiVersion"));
  set("resourceVersion", MetaString(obj, "resourceVersion"));
  return ref;
}

// The de-duplication key: the object's uid (kind/namespace/name for objects without one), type,
// reason and message, separated by a byte that none of them is expected to hold.
std::string DedupKey(const json& ref, const std::string& type, const std::string& reason, const std::string& message) {
  std::string id = StringField(ref, "uid");
  if (id.empty()) id = StringField(ref, "kind") + "/" + StringField(ref, "namespace") + "/" + StringField(ref, "name");
  std::string key;
  key.reserve(id.size() + type.size() + reason.size() + message.size() + 3);
  key.append(id).push_back('\x1f');
  key.append(type).push_back('\x1f');
  key.append(reason).push_back('\x1f');
  key.append(message);
  return key;
}

std::string EventsPath(const std::string& ns) { return "/api/v1/namespaces/" + ns + "/events"; }

}  // namespace

std::string FormatRfc3339(std::chrono::system_clock::time_point t) {
  std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // room for any int values, so the compiler sees no truncation
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

EventRecorder::EventRecorder(ApiClient* api, std::string component, EventRecorderOptions options)
    : api_(api), component_(std::move(component)), options_(std::move(options)) {
  thread_ = std::thread([this] { Run(); });
}

EventRecorder::~EventRecorder() { Stop(); }

void EventRecorder::Event(const json& involved_object, std::string_view type, std::string_view reason,
                          std::string message) {
  // Everything that may allocate or read the clock happens before the lock; a refused event
  // costs this much and no more.
  Pending p;
  try {
    p.reference = Reference(involved_object);
    p.ns = StringField(p.reference, "namespace");
    if (p.ns.empty()) p.ns = "default";
    p.type = std::string(type);
    p.reason = std::string(reason);
    p.message = std::move(message);
    p.at = options_.now ? options_.now() : std::chrono::system_clock::now();
  } catch (const std::exception& e) {
    log::Debug("event dropped", {{"component", component_}, {"error", e.what()}});
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.dropped;
    return;
  }
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || queue_.size() >= options_.queue_capacity) {
    ++stats_.dropped;
    return;
  }
  queue_.push_back(std::move(p));
  ++stats_.recorded;
  wake_.notify_one();
}

bool EventRecorder::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  return idle_.wait_for(lock, timeout, [&] { return queue_.empty() && !in_flight_; });
}

void EventRecorder::Stop() {
  std::lock_guard<std::mutex> stop_lock(stop_mu_);
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    wake_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

EventRecorderStats EventRecorder::Stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  EventRecorderStats s = stats_;
  s.queued = queue_.size();
  return s;
}

void EventRecorder::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) break;  // stopping, and drained
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    in_flight_ = true;
    lock.unlock();
    try {
      Send(p);
    } catch (const std::exception& e) {  // a bug, never the API's answer: keep the thread alive
      log::Debug("event not sent", {{"component", component_}, {"error", e.what()}});
    }
    lock.lock();
    in_flight_ = false;
    if (queue_.empty()) idle_.notify_all();
  }
  idle_.notify_all();
}

void EventRecorder::Send(Pending& event) {
  const std::string key = DedupKey(event.reference, event.type, event.reason, event.message);
  auto found = lru_index_.find(key);
  if (found != lru_index_.end()) {
    Seen& seen = *found->second;
    if (event.at - seen.last <= options_.dedup_window && seen.ns == event.ns) {
      lru_.splice(lru_.begin(), lru_, found->second);  // most recently used
      const int64_t count = seen.count + 1;
      const std::string now = FormatRfc3339(event.at);
      json patch = {{"count", count}, {"lastTimestamp", now}, {"message", event.message}};
      auto r = api_->PatchShared(EventsPath(seen.ns) + "/" + seen.name, PatchType::kStrategic, std::move(patch));
      bool ok = r.ok();
      if (!ok && r.status().IsNotFound()) {
        // The Event expired or was deleted: write it again under its name, count kept.
        json body = {{"apiVersion", "v1"},
                     {"kind", "Event"},
                     {"metadata", {{"name", seen.name}, {"namespace", seen.ns}}},
                     {"involvedObject", event.reference},
                     {"reason", event.reason},
                     {"message", event.message},
                     {"source", {{"component", component_}}},
                     {"firstTimestamp", seen.first_timestamp},
                     {"lastTimestamp", now},
                     {"count", count},
                     {"type", event.type},
                     {"reportingComponent", component_}};
        if (!options_.host.empty()) {
          body["source"]["host"] = options_.host;
          body["reportingInstance"] = options_.host;
        }
        r = api_->CreateShared(EventsPath(seen.ns), std::move(body));
        ok = r.ok();
      }
      if (ok) {
        seen.count = count;
        seen.last = event.at;
      }
      std::lock_guard<std::mutex> lock(mu_);
      if (ok) {
        ++stats_.patched;
      } else {
        ++stats_.failed;
        log::Debug("event patch failed", {{"component", component_}, {"event", seen.name},
                                          {"error", r.status().ToString()}});
      }
      return;
    }
    // Outside the window: forget it; a new Event follows.
    lru_.erase(found->second);
    lru_index_.erase(found);
  }
  Seen seen;
  seen.key = key;
  if (!Create(event, &seen)) return;
  lru_.push_front(std::move(seen));
  lru_index_[key] = lru_.begin();
  while (lru_.size() > std::max<size_t>(options_.cache_size, 1)) {
    lru_index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

bool EventRecorder::Create(const Pending& event, Seen* seen) {
  const std::string now = FormatRfc3339(event.at);
  json body = {{"apiVersion", "v1"},
               {"kind", "Event"},
               {"metadata", {{"namespace", event.ns}}},
               {"involvedObject", event.reference},
               {"reason", event.reason},
               {"message", event.message},
               {"source", {{"component", component_}}},
               {"firstTimestamp", now},
               {"lastTimestamp", now},
               {"count", 1},
               {"type", event.type},
               {"reportingComponent", component_}};
  if (!options_.host.empty()) {
    body["source"]["host"] = options_.host;
    body["reportingInstance"] = options_.host;
  }
  Status error;
  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    std::string name = NewName(StringField(event.reference, "name"), event.at);
    body["metadata"]["name"] = name;
    auto r = api_->CreateShared(EventsPath(event.ns), body);
    if (r.ok()) {
      seen->ns = event.ns;
      seen->name = std::move(name);
      seen->count = 1;
      seen->first_timestamp = now;
      seen->last = event.at;
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.created;
      return true;
    }
    error = r.status();
    if (!error.IsAlreadyExists()) break;  // another recorder took the name: try the next one
  }
  std::lock_guard<std::mutex> lock(mu_);
  ++stats_.failed;
  log::Debug("event create failed", {{"component", component_}, {"reason", event.reason},
                                     {"error", error.ToString()}});
  return false;
}

std::string EventRecorder::NewName(const std::string& object_name, std::chrono::system_clock::time_point at) {
  // client-go names events "<name>.<hex UnixNano>"; the suffix here also grows strictly, so two
  // events recorded at one instant (or under a clock that stands still) never collide.
  int64_t nanos = std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
  last_suffix_ = std::max(nanos, last_suffix_ + 1);
  char hex[24];
  std::snprintf(hex, sizeof(hex), "%llx", static_cast<unsigned long long>(last_suffix_));
  std::string base = object_name.empty() ? "event" : object_name.substr(0, kMaxObjectNameInEventName);
  while (!base.empty() && (base.back() == '.' || base.back() == '-')) base.pop_back();  // stays a DNS name
  if (base.empty()) base = "event";
  return base + "." + hex;
}

}  // namespace capstan::client
