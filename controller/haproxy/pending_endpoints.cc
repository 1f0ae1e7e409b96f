#include "controller/haproxy/pending_endpoints.h"

#include <set>

#include "client/json_fields.h"
#include "controller/endpoints/endpointslice_sync.h"

namespace capstan::controller::haproxy {
namespace {

using client::Field;
using client::MetaString;
using client::StringField;
using nlohmann::json;

const json& ReadyCondition(const json& pod) {
  static const json kNone;
  const json& conditions = Field(Field(pod, "status"), "conditions");
  if (!conditions.is_array()) return kNone;
  for (const json& c : conditions) {
    if (StringField(c, "type") == "Ready") return Field(c, "status");
  }
  return kNone;
}

const json& Label(const json& slice, const char* name) { return Field(Field(Field(slice, "metadata"), "labels"), name); }

std::string ServiceKeyOfManagedSlice(const json& slice) {
  const json& managed_by = Label(slice, endpoints::kManagedByLabel);
  const json& service = Label(slice, endpoints::kServiceNameLabel);
  if (!managed_by.is_string() || managed_by != endpoints::kManagedByValue || !service.is_string()) return "";
  return MetaString(slice, "namespace") + "/" + service.get<std::string>();
}

const std::string& RefUid(const json& endpoint) {
  static const std::string kNone;
  const json& uid = Field(Field(endpoint, "targetRef"), "uid");
  return uid.is_string() ? uid.get_ref<const std::string&>() : kNone;
}

// Ports as the model builder reads them: by name and number.
bool SamePorts(const json& a, const json& b) {
  if (!a.is_array() || !b.is_array() || a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (StringField(a[i], "name") != StringField(b[i], "name") || Field(a[i], "port") != Field(b[i], "port")) return false;
  }
  return true;
}

// The slice's entry for the Pod says what `want` says.
bool SameEntry(const json& slice, const json& entry, const endpoints::PodEndpoint& want) {
  return StringField(slice, "addressType") == want.address_type && SamePorts(Field(slice, "ports"), want.ports) &&
         Field(entry, "addresses") == want.endpoint["addresses"] &&
         Field(entry, "conditions") == want.endpoint["conditions"];
}

json SyntheticSlice(const std::string& ns, const std::string& service, const std::string& pod,
                    const endpoints::PodEndpoint& e) {
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata",
           {{"namespace", ns},
            {"name", service + "-pending-" + pod},
            {"labels", {{endpoints::kServiceNameLabel, service}, {endpoints::kManagedByLabel, kPendingManagedBy}}}}},
          {"addressType", e.address_type},
          {"ports", e.ports},
          {"endpoints", json::array({e.endpoint})}};
}

}  // namespace

bool PendingEndpoints::MayMoveEndpoint(const json& old_pod, const json& pod) {
  const json& old_meta = Field(old_pod, "metadata");
  const json& meta = Field(pod, "metadata");
  const json& old_status = Field(old_pod, "status");
  const json& status = Field(pod, "status");
  return Field(old_meta, "labels") != Field(meta, "labels") ||
         Field(old_meta, "deletionTimestamp") != Field(meta, "deletionTimestamp") ||
         Field(Field(old_pod, "spec"), "nodeName") != Field(Field(pod, "spec"), "nodeName") ||
         Field(old_status, "phase") != Field(status, "phase") || Field(old_status, "hostIP") != Field(status, "hostIP") ||
         Field(old_status, "portMappings") != Field(status, "portMappings") || ReadyCondition(old_pod) != ReadyCondition(pod);
}

void PendingEndpoints::Note(std::shared_ptr<const json> pod, bool deleted, std::vector<std::string> services,
                            Clock::time_point now) {
  if (pod == nullptr) return;
  const std::string key = MetaString(*pod, "namespace") + "/" + MetaString(*pod, "name");
  std::lock_guard<std::mutex> lock(mu_);
  pods_[key] = Entry{std::move(pod), deleted, std::move(services), now};
}

std::vector<std::string> PendingEndpoints::NodeNames() const {
  std::set<std::string> names;
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [key, e] : pods_) {
    const std::string node = StringField(Field(*e.pod, "spec"), "nodeName");
    if (!node.empty()) names.insert(node);
  }
  return {names.begin(), names.end()};
}

size_t PendingEndpoints::size() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pods_.size();
}

ObjectList PendingEndpoints::Overlay(const ObjectList& services, const ObjectList& slices, const NodeMap& nodes,
                                     Clock::time_point now) {
  std::map<std::string, Entry> noted;
  {
    std::lock_guard<std::mutex> lock(mu_);
    std::erase_if(pods_, [&](const auto& kv) { return now - kv.second.noted > max_age_; });
    noted = pods_;
  }
  if (noted.empty()) return slices;
  std::set<std::string> namespaces;
  for (const auto& [key, e] : noted) namespaces.insert(key.substr(0, key.find('/')));
  // The Services with a selector in those namespaces, their managed slices, and which Services'
  // slices name each Pod (by uid).
  std::map<std::string, const json*> selecting;
  for (const auto& s : services) {
    const json& selector = Field(Field(*s, "spec"), "selector");
    if (namespaces.count(MetaString(*s, "namespace")) && selector.is_object() && !selector.empty()) {
      selecting[MetaString(*s, "namespace") + "/" + MetaString(*s, "name")] = s.get();
    }
  }
  std::map<std::string, std::vector<size_t>> managed;
  std::map<std::string, std::set<std::string>> named_by;  // Pod uid -> Services whose slices name it
  for (size_t i = 0; i < slices.size(); ++i) {
    std::string key = ServiceKeyOfManagedSlice(*slices[i]);
    if (key.empty() || !selecting.count(key)) continue;
    managed[key].push_back(i);
    const json& list = Field(*slices[i], "endpoints");
    if (!list.is_array()) continue;
    for (const json& entry : list) {
      if (!RefUid(entry).empty()) named_by[RefUid(entry)].insert(key);
    }
  }

  ObjectList out = slices;
  std::map<size_t, std::set<std::string>> strip;  // slice index -> Pod uids to take out of it
  std::vector<std::pair<std::string, std::shared_ptr<const json>>> caught_up;
  for (const auto& [key, e] : noted) {
    const std::string ns = key.substr(0, key.find('/'));
    const std::string& uid = MetaString(*e.pod, "uid");
    bool behind = false;
    std::set<std::string> concerned(e.services.begin(), e.services.end());
    if (auto named = named_by.find(uid); named != named_by.end()) concerned.insert(named->second.begin(), named->second.end());
    for (const std::string& service_key : concerned) {
      auto it = selecting.find(service_key);
      if (it == selecting.end()) continue;  // gone, or its selector with it
      endpoints::PodEndpoint want;
      const bool wanted = !e.deleted && endpoints::EndpointForPod(*it->second, *e.pod, nodes, &want);
      int entries = 0;
      bool same = false;
      std::vector<size_t> holding;
      for (size_t i : managed[it->first]) {
        const json& list = Field(*slices[i], "endpoints");
        if (!list.is_array()) continue;
        bool holds = false;
        for (const json& entry : list) {
          if (uid.empty() || RefUid(entry) != uid) continue;
          ++entries;
          holds = true;
          same = wanted && SameEntry(*slices[i], entry, want);
        }
        if (holds) holding.push_back(i);
      }
      if (wanted ? (entries == 1 && same) : entries == 0) continue;  // the slices say it already
      behind = true;
      for (size_t i : holding) strip[i].insert(uid);
      if (wanted) {
        const std::string service = it->first.substr(ns.size() + 1);
        out.push_back(std::make_shared<const json>(SyntheticSlice(ns, service, MetaString(*e.pod, "name"), want)));
      }
    }
    if (!behind) caught_up.emplace_back(key, e.pod);
  }
  for (const auto& [i, uids] : strip) {
    json copy = *slices[i];
    json& list = copy["endpoints"];
    json kept = json::array();
    for (json& entry : list) {
      if (!uids.count(RefUid(entry))) kept.push_back(std::move(entry));
    }
    list = std::move(kept);
    out[i] = std::make_shared<const json>(std::move(copy));
  }
  if (!caught_up.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, pod] : caught_up) {
      // Not when the Pod changed again meanwhile: that change is not in the slices yet.
      if (auto it = pods_.find(key); it != pods_.end() && it->second.pod == pod) pods_.erase(it);
    }
  }
  return out;
}

}  // namespace capstan::controller::haproxy
