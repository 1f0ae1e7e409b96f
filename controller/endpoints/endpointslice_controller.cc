#include "controller/endpoints/endpointslice_controller.h"

#include "base/log.h"
#include "client/json_fields.h"
#include "controller/endpoints/endpointslice_sync.h"

namespace capstan::controller::endpoints {
namespace {

constexpr char kServiceIndex[] = "endpointslice-service";
constexpr auto kWaitForCache = std::chrono::milliseconds(20);
constexpr auto kMaxWaitForCache = std::chrono::seconds(5);

std::string Meta(const json& obj, const char* key) { return client::MetaString(obj, key); }

const json& Labels(const json& obj) {
  static const json kEmpty = json::object();
  auto m = obj.find("metadata");
  if (m == obj.end() || !m->is_object()) return kEmpty;
  auto l = m->find("labels");
  return l != m->end() && l->is_object() ? *l : kEmpty;
}

std::vector<std::string> IndexByService(const json& slice) {
  const json& labels = Labels(slice);
  if (labels.value(kManagedByLabel, "") != kManagedByValue) return {};
  std::string service = labels.value(kServiceNameLabel, "");
  if (service.empty()) return {};
  return {Meta(slice, "namespace") + "/" + service};
}

std::string SlicesPath(const std::string& ns) { return "/apis/discovery.k8s.io/v1/namespaces/" + ns + "/endpointslices"; }

int64_t Revision(const json& obj) {
  const std::string rv = Meta(obj, "resourceVersion");
  return rv.empty() ? 0 : std::stoll(rv);
}

}  // namespace

EndpointSliceController::EndpointSliceController(EndpointSliceControllerOptions options)
    : QueuedController("endpointslice", options.workers) {}

EndpointSliceController::~EndpointSliceController() { Stop(); }

Status EndpointSliceController::Setup(const ControllerContext& ctx) {
  ctx_ = ctx;
  InitQueue(ctx);
  services_ = ctx.informers->ForResource("/api/v1/services");
  pods_ = ctx.informers->ForResource("/api/v1/pods");
  nodes_ = ctx.informers->ForResource("/api/v1/nodes");
  slices_ = ctx.informers->ForResource("/apis/discovery.k8s.io/v1/endpointslices");
  Status st = slices_->AddIndexer(kServiceIndex, IndexByService);
  if (!st.ok() && st.code() != Code::kAlreadyExists) return st;

  client::ResourceEventHandler service_events;
  service_events.on_add = [this](const client::ObjectPtr& s) { queue().Add(client::ObjectKey(*s)); };
  service_events.on_update = [this](const client::ObjectPtr&, const client::ObjectPtr& s) {
    queue().Add(client::ObjectKey(*s));
  };
  service_events.on_delete = [this](const client::ObjectPtr& s) {
    std::lock_guard<std::mutex> lock(mu_);
    written_.erase(client::ObjectKey(*s));
  };
  CAPSTAN_RETURN_IF_ERROR(ctx.AddEventHandler(services_, std::move(service_events)));

  client::ResourceEventHandler pod_events;
  pod_events.on_add = [this](const client::ObjectPtr& p) { OnPod(nullptr, *p); };
  pod_events.on_update = [this](const client::ObjectPtr& old, const client::ObjectPtr& p) { OnPod(old.get(), *p); };
  pod_events.on_delete = [this](const client::ObjectPtr& p) { OnPod(nullptr, *p); };
  CAPSTAN_RETURN_IF_ERROR(ctx.AddEventHandler(pods_, std::move(pod_events)));

  client::ResourceEventHandler node_events;
  node_events.on_update = [this](const client::ObjectPtr& old, const client::ObjectPtr& node) {
    if (NodeAddress(*old) == NodeAddress(*node)) return;
    for (const auto& s : services_->List()) queue().Add(client::ObjectKey(*s));
  };
  CAPSTAN_RETURN_IF_ERROR(ctx.AddEventHandler(nodes_, std::move(node_events)));

  client::ResourceEventHandler slice_events;
  auto by_owner = [this](const client::ObjectPtr& slice) {
    for (const std::string& key : IndexByService(*slice)) queue().Add(key);
  };
  slice_events.on_add = by_owner;
  slice_events.on_update = [by_owner](const client::ObjectPtr&, const client::ObjectPtr& s) { by_owner(s); };
  slice_events.on_delete = by_owner;
  return ctx.AddEventHandler(slices_, std::move(slice_events));
}

void EndpointSliceController::OnPod(const json* old_pod, const json& pod) {
  for (const auto& s : services_->ListNamespace(Meta(pod, "namespace"))) {
    if (SelectsPod(*s, pod) || (old_pod != nullptr && SelectsPod(*s, *old_pod))) queue().Add(client::ObjectKey(*s));
  }
}

bool EndpointSliceController::CacheCaughtUp(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = written_.find(key);
  if (it == written_.end()) return true;
  if (std::chrono::steady_clock::now() - it->second.first > kMaxWaitForCache) {
    written_.erase(it);  // e.g. someone deleted a slice we created before we saw it
    return true;
  }
  const std::string ns = key.substr(0, key.find('/'));
  for (const Written& w : it->second.second) {
    client::ObjectPtr cached = slices_->Get(ns + "/" + w.name);
    if (w.revision == 0 ? cached != nullptr : (cached == nullptr || Revision(*cached) < w.revision)) return false;
  }
  written_.erase(it);
  return true;
}

ReconcileResult EndpointSliceController::Reconcile(const std::string& key) {
  client::ObjectPtr service = services_->Get(key);
  if (service == nullptr) return ReconcileResult::Done();  // its slices go with it (ownerReferences)
  if (!CacheCaughtUp(key)) return ReconcileResult::RequeueAfter(kWaitForCache);
  const std::string ns = Meta(*service, "namespace");
  std::vector<client::ObjectPtr> pods = pods_->ListNamespace(ns);
  std::map<std::string, ObjectPtr> nodes;
  for (const auto& p : pods) {
    auto spec = p->find("spec");
    if (spec == p->end() || !spec->is_object()) continue;
    const std::string node = spec->value("nodeName", "");
    if (!node.empty() && nodes.count(node) == 0) nodes[node] = nodes_->Get(node);
  }
  std::vector<client::ObjectPtr> existing;
  if (auto owned = slices_->ByIndex(kServiceIndex, key); owned.ok()) existing = std::move(*owned);
  EndpointSlicePlan plan = PlanEndpointSlices(*service, pods, nodes, existing);
  if (plan.empty()) return ReconcileResult::Done();

  std::vector<Written> written;
  Status failed;
  for (const json& slice : plan.update) {
    auto r = ctx_.api->Update(SlicesPath(ns) + "/" + Meta(slice, "name"), slice);
    if (r.ok()) written.push_back({Meta(*r, "name"), Revision(*r)});
    else failed = r.status();
  }
  for (const json& slice : plan.create) {
    auto r = ctx_.api->Create(SlicesPath(ns), slice);
    if (r.ok()) written.push_back({Meta(*r, "name"), Revision(*r)});
    else failed = r.status();
  }
  for (const json& slice : plan.remove) {
    auto r = ctx_.api->Delete(SlicesPath(ns) + "/" + Meta(slice, "name"),
                              json{{"preconditions", {{"uid", Meta(slice, "uid")}}}});
    if (r.ok() || r.status().IsNotFound()) written.push_back({Meta(slice, "name"), 0});
    else failed = r.status();
  }
  if (!written.empty()) {
    std::lock_guard<std::mutex> lock(mu_);
    written_[key] = {std::chrono::steady_clock::now(), std::move(written)};
  }
  if (!failed.ok()) {
    // A conflict or a gone Service: the informer brings the news, and the retry acts on it.
    log::Warn("endpointslice sync failed", {{"service", key}, {"error", failed.ToString()}});
    return ReconcileResult::Retry(failed);
  }
  return ReconcileResult::Done();
}

}  // namespace capstan::controller::endpoints
