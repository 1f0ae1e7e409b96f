#include "client/informer.h"

#include <pthread.h>

#include <algorithm>
#include <utility>

#include "base/log.h"
#include "client/json_fields.h"

namespace capstan::client {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

// A watch that lasted this long made progress even without events: re-watch at once.
constexpr std::chrono::seconds kWatchProgressTime{1};
// How long one Next() waits; Cancel() wakes it earlier.
constexpr std::chrono::seconds kNextSlice{5};

std::string Millis(std::chrono::milliseconds d) { return std::to_string(d.count()); }

// Calls `fn`, logging instead of propagating an exception (user code: handlers, index functions).
template <typename Fn>
void Guarded(const std::string& path, const char* what, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    log::Error("informer callback threw", {{"path", path}, {"callback", what}, {"error", e.what()}});
  } catch (...) {
    log::Error("informer callback threw", {{"path", path}, {"callback", what}});
  }
}

}  // namespace

struct Informer::Change {
  enum class Kind { kNone, kAdd, kUpdate, kDelete } kind = Kind::kNone;
  ObjectPtr old_obj;  // kUpdate: the replaced object
  ObjectPtr obj;      // kAdd, kUpdate: the new object; kDelete: the last state
};

std::string ObjectKey(const json& obj) {
  std::string ns = MetaString(obj, "namespace");
  std::string name = MetaString(obj, "name");
  return ns.empty() ? name : ns + "/" + name;
}

std::vector<std::string> IndexByNamespace(const json& obj) {
  std::string ns = MetaString(obj, "namespace");
  if (ns.empty()) return {};
  return {ns};
}

std::vector<std::string> IndexByOwnerUid(const json& obj) {
  std::vector<std::string> uids;
  const json& refs = Field(Field(obj, "metadata"), "ownerReferences");
  if (!refs.is_array()) return uids;
  for (const json& ref : refs) {
    std::string uid = StringField(ref, "uid");
    if (!uid.empty() && std::find(uids.begin(), uids.end(), uid) == uids.end()) uids.push_back(std::move(uid));
  }
  return uids;
}

std::vector<std::string> IndexByNodeName(const json& obj) {
  std::string node = StringField(Field(obj, "spec"), "nodeName");
  if (node.empty()) return {};
  return {node};
}

Informer::Informer(ApiClient* client, std::string path, InformerOptions options)
    : client_(client), path_(std::move(path)), options_(std::move(options)) {}

Informer::~Informer() { Stop(); }

Status Informer::AddIndexer(const std::string& name, IndexFunc fn) {
  std::lock_guard<std::mutex> dispatch(dispatch_mu_);
  std::unique_lock<std::shared_mutex> cache(cache_mu_);
  if (index_funcs_.count(name) != 0) {
    return Status::AlreadyExists("informer " + path_ + ": index \"" + name + "\" already added");
  }
  const IndexFunc& added = index_funcs_.emplace(name, std::move(fn)).first->second;
  auto& index = indices_[name];
  for (const auto& [key, obj] : items_) {  // empty before Start()
    std::vector<std::string> values;
    Guarded(path_, name.c_str(), [&] { values = added(*obj); });
    for (const std::string& value : values) index[value].insert(key);
    index_values_[key][name] = std::move(values);
  }
  return Status::Ok();
}

Status Informer::AddEventHandler(ResourceEventHandler handler) {
  std::lock_guard<std::mutex> dispatch(dispatch_mu_);
  if (handler.on_add) {
    for (const ObjectPtr& obj : List()) Guarded(path_, "on_add", [&] { handler.on_add(obj); });
  }
  handlers_.push_back(std::move(handler));
  return Status::Ok();
}

void Informer::RemoveEventHandlers(const void* owner) {
  if (owner == nullptr) return;
  std::lock_guard<std::mutex> dispatch(dispatch_mu_);  // waits out a dispatch in flight
  std::erase_if(handlers_, [owner](const ResourceEventHandler& h) { return h.owner == owner; });
}

void Informer::Start() {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  if (started_ || stopping_) return;
  started_ = true;
  thread_ = std::thread([this] { Run(); });
  thread_id_ = thread_.get_id();
}

void Informer::Stop() {
  std::thread thread;
  {
    std::lock_guard<std::mutex> lock(lifecycle_mu_);
    stopping_ = true;
    if (current_watch_ != nullptr) current_watch_->Cancel();  // prompt: never blocks
    lifecycle_cv_.notify_all();
    // From a handler (the informer thread itself) the thread cannot be joined; the next Stop()
    // from another thread (or the destructor) joins it.
    if (thread_.joinable() && thread_id_ != std::this_thread::get_id()) thread = std::move(thread_);
  }
  if (thread.joinable()) thread.join();
  std::lock_guard<std::mutex> lock(sync_mu_);
  stopped_ = true;
  sync_cv_.notify_all();
}

bool Informer::Stopping() const {
  std::lock_guard<std::mutex> lock(lifecycle_mu_);
  return stopping_;
}

bool Informer::SleepUnlessStopped(std::chrono::milliseconds delay) {
  std::unique_lock<std::mutex> lock(lifecycle_mu_);
  lifecycle_cv_.wait_for(lock, delay, [this] { return stopping_; });
  return !stopping_;
}

bool Informer::HasSynced() const {
  std::lock_guard<std::mutex> lock(sync_mu_);
  return synced_;
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> lock(sync_mu_);
  sync_cv_.wait_for(lock, timeout, [this] { return synced_ || stopped_; });
  return synced_;
}

std::string Informer::LastSyncResourceVersion() const {
  std::shared_lock<std::shared_mutex> lock(cache_mu_);
  return rv_;
}

ObjectPtr Informer::Get(const std::string& key) const {
  std::shared_lock<std::shared_mutex> lock(cache_mu_);
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Informer::List() const {
  std::shared_lock<std::shared_mutex> lock(cache_mu_);
  std::vector<ObjectPtr> out;
  out.reserve(items_.size());
  for (const auto& [key, obj] : items_) out.push_back(obj);
  return out;
}

std::vector<ObjectPtr> Informer::ListNamespace(const std::string& ns) const {
  if (ns.empty()) return List();
  const std::string prefix = ns + "/";
  std::shared_lock<std::shared_mutex> lock(cache_mu_);
  std::vector<ObjectPtr> out;
  for (auto it = items_.lower_bound(prefix); it != items_.end() && it->first.starts_with(prefix); ++it) {
    out.push_back(it->second);
  }
  return out;
}

Result<std::vector<ObjectPtr>> Informer::ByIndex(const std::string& name, const std::string& value) const {
  std::shared_lock<std::shared_mutex> lock(cache_mu_);
  auto index = indices_.find(name);
  if (index == indices_.end()) return Status::NotFound("informer " + path_ + ": no index \"" + name + "\"");
  std::vector<ObjectPtr> out;
  auto keys = index->second.find(value);
  if (keys == index->second.end()) return out;
  for (const std::string& key : keys->second) {
    auto it = items_.find(key);
    if (it != items_.end()) out.push_back(it->second);
  }
  return out;
}

std::vector<std::string> Informer::IndexValues(const std::string& name) const {
  std::shared_lock<std::shared_mutex> lock(cache_mu_);
  std::vector<std::string> out;
  auto index = indices_.find(name);
  if (index == indices_.end()) return out;
  for (const auto& [value, keys] : index->second) out.push_back(value);
  return out;
}

void Informer::IndexAdd(const std::string& key, const json& obj) {
  auto& stored = index_values_[key];
  for (const auto& [name, fn] : index_funcs_) {
    std::vector<std::string> values;
    Guarded(path_, name.c_str(), [&] { values = fn(obj); });
    auto& index = indices_[name];
    for (const std::string& value : values) index[value].insert(key);
    stored[name] = std::move(values);
  }
}

namespace {

// Takes `key` out of `index` under each of `values`, dropping values left without keys.
void EraseFromIndex(std::map<std::string, std::set<std::string>>& index, const std::vector<std::string>& values,
                    const std::string& key) {
  for (const std::string& value : values) {
    auto keys = index.find(value);
    if (keys == index.end()) continue;
    keys->second.erase(key);
    if (keys->second.empty()) index.erase(keys);
  }
}

}  // namespace

void Informer::IndexUpdate(const std::string& key, const json& obj) {
  auto stored = index_values_.find(key);
  if (stored == index_values_.end()) return IndexAdd(key, obj);
  for (const auto& [name, fn] : index_funcs_) {
    std::vector<std::string> values;
    Guarded(path_, name.c_str(), [&] { values = fn(obj); });
    std::vector<std::string>& was = stored->second[name];
    if (values == was) continue;  // most updates (status) move no index entry
    auto& index = indices_[name];
    EraseFromIndex(index, was, key);
    for (const std::string& value : values) index[value].insert(key);
    was = std::move(values);
  }
}

void Informer::IndexRemove(const std::string& key) {
  auto stored = index_values_.find(key);
  if (stored == index_values_.end()) return;
  for (const auto& [name, values] : stored->second) EraseFromIndex(indices_[name], values, key);
  index_values_.erase(stored);
}

Query Informer::SelectorQuery() const {
  Query q;
  if (!options_.label_selector.empty()) q.emplace_back("labelSelector", options_.label_selector);
  if (!options_.field_selector.empty()) q.emplace_back("fieldSelector", options_.field_selector);
  return q;
}

void Informer::Run() noexcept {
  {
    // The thread's name in top, perf and /proc: "i:" and the collection's last path segment.
    std::string name = "i:" + path_.substr(path_.rfind('/') + 1);
    if (!options_.field_selector.empty() || !options_.label_selector.empty()) name += "*";
    name.resize(std::min<size_t>(name.size(), 15));
    pthread_setname_np(pthread_self(), name.c_str());
  }
  while (!Stopping()) {
    try {
      Loop();
      return;
    } catch (const std::exception& e) {
      log::Error("informer failed; restarting with a re-list", {{"path", path_}, {"error", e.what()}});
    } catch (...) {
      log::Error("informer failed; restarting with a re-list", {{"path", path_}});
    }
    try {
      SleepUnlessStopped(options_.backoff_max);
    } catch (...) {
      return;  // a mutex error: nothing sensible is left to do on this thread
    }
  }
}

void Informer::Loop() {
  std::chrono::milliseconds delay = options_.backoff_initial;
  // Waits the current backoff delay and doubles it; false when stopping.
  auto back_off = [&] {
    bool go_on = SleepUnlessStopped(delay);
    delay = std::min(delay * 2, std::max(options_.backoff_max, options_.backoff_initial));
    return go_on;
  };
  bool need_list = true;
  while (!Stopping()) {
    if (need_list) {
      Status listed = ListAndReplace();
      if (Stopping()) break;
      if (!listed.ok()) {
        log::Warn("informer list failed; retrying",
                  {{"path", path_}, {"error", listed.ToString()}, {"retry_ms", Millis(delay)}});
        if (!back_off()) break;
        continue;
      }
      need_list = false;
      delay = options_.backoff_initial;
    }
    bool progressed = false;
    Status watched = WatchOnce(&progressed);
    if (Stopping()) break;
    if (watched.IsExpired()) {
      log::Info("informer resourceVersion expired; re-listing", {{"path", path_}, {"error", watched.ToString()}});
      need_list = true;
      // A watch that expires at once, again and again, must not spin list after list.
      if (!progressed && !back_off()) break;
      continue;
    }
    if (!watched.ok()) {
      log::Warn("informer watch failed; retrying",
                {{"path", path_}, {"error", watched.ToString()}, {"retry_ms", Millis(delay)}});
      if (!back_off()) break;
      continue;
    }
    if (progressed) {
      delay = options_.backoff_initial;
    } else if (!back_off()) {
      break;  // a watch that ends at once without events: do not spin either
    }
  }
}

Status Informer::ListAndReplace() {
  std::map<std::string, ObjectPtr> fresh;
  std::string rv;
  std::string token;
  do {
    Query q = SelectorQuery();
    if (options_.page_size > 0) q.emplace_back("limit", std::to_string(options_.page_size));
    if (!token.empty()) q.emplace_back("continue", token);
    Result<json> page = client_->List(path_, q);
    if (!page.ok()) return page.status().Annotate("list " + path_);
    if (rv.empty()) rv = MetaString(*page, "resourceVersion");
    // Kubernetes leaves apiVersion and kind out of list items; watch events carry them.
    const std::string api_version = StringField(*page, "apiVersion");
    std::string kind = StringField(*page, "kind");
    if (kind.ends_with("List")) kind.resize(kind.size() - 4);
    for (json& item : (*page)["items"]) {
      if (!item.is_object()) continue;
      if (!item.contains("apiVersion") && !api_version.empty()) item["apiVersion"] = api_version;
      if (!item.contains("kind") && !kind.empty()) item["kind"] = kind;
      std::string key = ObjectKey(item);
      fresh[key] = std::make_shared<const json>(std::move(item));
    }
    token = MetaString(*page, "continue");
    if (Stopping()) return Status::Unavailable("informer " + path_ + " is stopping");
  } while (!token.empty());
  if (rv.empty()) return Status::Internal("list " + path_ + ": the answer has no metadata.resourceVersion");

  // Reconcile: walk both sorted maps together.
  std::vector<Change> changes;
  std::unique_lock<std::mutex> dispatch(dispatch_mu_);
  {
    std::unique_lock<std::shared_mutex> lock(cache_mu_);
    auto old_it = items_.begin();
    auto new_it = fresh.begin();
    while (old_it != items_.end() || new_it != fresh.end()) {
      if (new_it == fresh.end() || (old_it != items_.end() && old_it->first < new_it->first)) {
        changes.push_back({Change::Kind::kDelete, nullptr, old_it->second});
        ++old_it;
      } else if (old_it == items_.end() || new_it->first < old_it->first) {
        changes.push_back({Change::Kind::kAdd, nullptr, new_it->second});
        ++new_it;
      } else {
        // Also when unchanged: a re-list is a resync.
        changes.push_back({Change::Kind::kUpdate, old_it->second, new_it->second});
        ++old_it;
        ++new_it;
      }
    }
    items_.swap(fresh);
    for (auto& [name, values] : indices_) values.clear();
    index_values_.clear();
    for (const auto& [key, obj] : items_) IndexAdd(key, *obj);
    rv_ = rv;
  }
  log::Debug("informer listed", {{"path", path_}, {"changes", std::to_string(changes.size())}, {"resourceVersion", rv}});
  for (const Change& change : changes) Dispatch(change);
  dispatch.unlock();
  std::lock_guard<std::mutex> lock(sync_mu_);
  if (!synced_) {
    synced_ = true;
    sync_cv_.notify_all();
  }
  return Status::Ok();
}

Status Informer::WatchOnce(bool* progressed) {
  *progressed = false;
  Query q = SelectorQuery();
  q.emplace_back("resourceVersion", LastSyncResourceVersion());
  q.emplace_back("allowWatchBookmarks", "true");
  q.emplace_back("timeoutSeconds", std::to_string(std::max<int64_t>(1, options_.watch_timeout.count())));
  const auto started = Clock::now();
  Result<std::unique_ptr<WatchEvents>> opened = client_->Watch(path_, q);
  if (!opened.ok()) return opened.status().Annotate("watch " + path_);
  std::unique_ptr<WatchEvents> events = std::move(opened).value();
  {
    std::lock_guard<std::mutex> lock(lifecycle_mu_);
    if (stopping_) return Status::Ok();
    current_watch_ = events.get();
  }
  Status status;
  for (;;) {
    Result<std::optional<WatchEvent>> next = events->NextEvent(kNextSlice);
    if (!next.ok()) {
      status = next.status().Annotate("watch " + path_);
      break;
    }
    if (!next->has_value()) {
      if (events->Ended() || Stopping()) break;
      continue;
    }
    *progressed = true;
    status = ApplyEvent(std::move(**next));
    if (!status.ok()) break;
  }
  {
    std::lock_guard<std::mutex> lock(lifecycle_mu_);
    current_watch_ = nullptr;
  }
  if (Clock::now() - started >= kWatchProgressTime) *progressed = true;
  return status;
}

Status Informer::ApplyEvent(WatchEvent event) {
  const std::string& type = event.type;
  const json& object = *event.object;
  if (type == "ERROR") return StatusFromWatchError(object);  // a fake client may pass these on
  if (!object.is_object()) return Status::Internal("watch " + path_ + ": a " + type + " event without an object");
  const std::string rv = MetaString(object, "resourceVersion");
  if (type == "BOOKMARK") {
    std::unique_lock<std::shared_mutex> lock(cache_mu_);
    if (!rv.empty()) rv_ = rv;
    return Status::Ok();
  }
  if (type != "ADDED" && type != "MODIFIED" && type != "DELETED") {
    log::Warn("informer ignores an unknown watch event type", {{"path", path_}, {"type", type}});
    return Status::Ok();
  }
  // Shared with the transport (in-process: with the server's decoded event), never copied.
  ObjectPtr obj = std::move(event.object);
  const std::string key = ObjectKey(*obj);
  Change change;
  std::lock_guard<std::mutex> dispatch(dispatch_mu_);
  {
    std::unique_lock<std::shared_mutex> lock(cache_mu_);
    auto found = items_.find(key);
    ObjectPtr old = found == items_.end() ? nullptr : found->second;
    if (type == "DELETED") {
      if (old) {
        IndexRemove(key);
        items_.erase(found);
        change = {Change::Kind::kDelete, nullptr, obj};
      }
    } else {
      items_[key] = obj;
      if (old) IndexUpdate(key, *obj);
      else IndexAdd(key, *obj);
      change = old ? Change{Change::Kind::kUpdate, old, obj} : Change{Change::Kind::kAdd, nullptr, obj};
    }
    if (!rv.empty()) rv_ = rv;
  }
  Dispatch(change);
  return Status::Ok();
}

void Informer::Dispatch(const Change& change) {
  for (const ResourceEventHandler& h : handlers_) {
    switch (change.kind) {
      case Change::Kind::kNone:
        return;
      case Change::Kind::kAdd:
        if (h.on_add) Guarded(path_, "on_add", [&] { h.on_add(change.obj); });
        break;
      case Change::Kind::kUpdate:
        if (h.on_update) Guarded(path_, "on_update", [&] { h.on_update(change.old_obj, change.obj); });
        break;
      case Change::Kind::kDelete:
        if (h.on_delete) Guarded(path_, "on_delete", [&] { h.on_delete(change.obj); });
        break;
    }
  }
}

}  // namespace capstan::client
