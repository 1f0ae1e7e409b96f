#include "bench/lb_capstan.h"

#include "client/kubeconfig.h"

namespace capstan::bench {

using nlohmann::json;

Result<std::unique_ptr<CapstanLb>> CapstanLb::Connect(const std::string& kubeconfig, std::string workload_bin,
                                                      std::string marker) {
  client::ConnectionOverrides o;
  o.kubeconfig = kubeconfig;
  auto conn = client::ResolveConnection(o);
  if (!conn.ok()) return conn.status();
  client::RestClientOptions ropts;
  ropts.request_timeout = std::chrono::milliseconds(30000);
  auto rest = client::RestClient::Create(*conn, ropts);
  if (!rest.ok()) return rest.status();
  return std::unique_ptr<CapstanLb>(new CapstanLb(std::move(rest).value(), std::move(workload_bin), std::move(marker)));
}

CapstanLb::CapstanLb(std::unique_ptr<client::RestClient> rest, std::string workload_bin, std::string marker)
    : rest_(std::move(rest)), workload_bin_(std::move(workload_bin)), marker_(std::move(marker)) {}

CapstanLb::~CapstanLb() {
  stop_ = true;
  for (std::thread& t : watchers_) t.join();
}

json CapstanLb::Deployment(const std::string& name, int replicas) const {
  json container = {
      {"name", "app"},
      {"image", "none"},
      {"command", {workload_bin_}},
      {"ports", json::array({{{"name", "http"}, {"containerPort", 8080}}})},
      {"env", json::array({{{"name", "POD_NAME"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}},
                           {{"name", "LB_BENCH_MARK"}, {"value", marker_}},
                           {{"name", "LB_WORKLOAD_MAX_SECONDS"}, {"value", "900"}}})},
      {"readinessProbe", {{"httpGet", {{"path", "/health"}, {"port", "http"}}}, {"periodSeconds", 1}}}};
  if (pre_stop_sleep_ > 0) {
    container["lifecycle"] = {
        {"preStop", {{"exec", {{"command", {"/bin/sleep", std::to_string(pre_stop_sleep_)}}}}}}};
  }
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}}},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template",
             {{"metadata", {{"labels", {{"app", name}}}}},
              {"spec",
               {{"terminationGracePeriodSeconds", 5 + pre_stop_sleep_}, {"containers", json::array({container})}}}}}}}};
}

Status CapstanLb::Create(const std::string& name, int port, int replicas, const std::string& check_interval) {
  json svc = {{"apiVersion", "v1"},
              {"kind", "Service"},
              {"metadata", {{"name", name}}},
              {"spec",
               {{"selector", {{"app", name}}},
                {"ports", json::array({{{"name", "http"}, {"port", port}, {"targetPort", "http"}}})}}}};
  if (!check_interval.empty()) svc["metadata"]["annotations"] = {{"haproxy.capstan.io/check-interval", check_interval}};
  auto s = rest_->Create("/api/v1/namespaces/" + ns_ + "/services", svc);
  if (!s.ok()) return s.status();
  auto d = rest_->Create("/apis/apps/v1/namespaces/" + ns_ + "/deployments", Deployment(name, replicas));
  return d.status();
}

Status CapstanLb::Scale(const std::string& name, int replicas) {
  return rest_
      ->Patch("/apis/apps/v1/namespaces/" + ns_ + "/deployments/" + name, client::PatchType::kMerge,
              {{"spec", {{"replicas", replicas}}}})
      .status();
}

Status CapstanLb::Restart(const std::string& name, const std::string& revision) {
  json patch = {{"spec", {{"template", {{"metadata", {{"annotations", {{"bench.capstan.io/revision", revision}}}}}}}}}};
  return rest_->Patch("/apis/apps/v1/namespaces/" + ns_ + "/deployments/" + name, client::PatchType::kMerge, patch)
      .status();
}

Result<int> CapstanLb::CountPods(const std::string& name) {
  auto list = rest_->Get("/api/v1/namespaces/" + ns_ + "/pods", {{"labelSelector", "app=" + name}});
  if (!list.ok()) return list.status();
  return static_cast<int>((*list)["items"].size());
}

Result<bool> CapstanLb::RolledOut(const std::string& name, int replicas) {
  auto d = rest_->Get("/apis/apps/v1/namespaces/" + ns_ + "/deployments/" + name);
  if (!d.ok()) return d.status();
  const json& st = d->value("status", json::object());
  const bool done = st.value("observedGeneration", int64_t{0}) >= (*d)["metadata"].value("generation", int64_t{0}) &&
                    st.value("updatedReplicas", 0) == replicas && st.value("availableReplicas", 0) == replicas &&
                    st.value("replicas", 0) == replicas;
  if (!done) return false;
  auto pods = CountPods(name);
  if (!pods.ok()) return pods.status();
  return *pods == replicas;
}

Status CapstanLb::Delete(const std::string& name) {
  Status a = rest_->Delete("/apis/apps/v1/namespaces/" + ns_ + "/deployments/" + name).status();
  Status b = rest_->Delete("/api/v1/namespaces/" + ns_ + "/services/" + name).status();
  return a.ok() ? b : a;
}

void CapstanLb::WatchPods() {
  const std::string pods = "/api/v1/namespaces/" + ns_ + "/pods";
  const std::string slices = "/apis/discovery.k8s.io/v1/namespaces/" + ns_ + "/endpointslices";
  for (const auto delay : {std::chrono::milliseconds(0), std::chrono::milliseconds(1000)}) {
    auto after = [this, delay] {
      for (auto end = LbClock::now() + delay; LbClock::now() < end && !stop_;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
    };
    watchers_.emplace_back([this, pods, after] {
      after();
      WatchLoop(pods, [this](const json& e, auto at) { OnPod(e, at); });
    });
    watchers_.emplace_back([this, slices, after] {
      after();
      WatchLoop(slices, [this](const json& e, auto at) { OnSlice(e, at); });
    });
  }
}

void CapstanLb::WatchLoop(const std::string& path,
                          const std::function<void(const json&, LbClock::time_point)>& on_event) {
  std::string rv;
  while (!stop_) {
    if (rv.empty()) {
      auto list = rest_->Get(path);
      if (!list.ok()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        continue;
      }
      rv = (*list)["metadata"].value("resourceVersion", "");
    }
    // A short timeoutSeconds: the loop notices stop_ within it.
    Status s = rest_->Watch(
        path, {{"watch", "true"}, {"resourceVersion", rv}, {"allowWatchBookmarks", "true"}, {"timeoutSeconds", "2"}},
        [&](const json& event) {
          const LbClock::time_point at = LbClock::now();
          rv = event["object"]["metadata"].value("resourceVersion", rv);
          if (event.value("type", "") != "BOOKMARK") on_event(event, at);
          return !stop_.load();
        },
        "", std::chrono::seconds(10));
    if (s.code() == Code::kExpired) rv.clear();
    else if (!s.ok()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void CapstanLb::OnPod(const json& event, LbClock::time_point at) {
  const json& obj = event["object"];
  const json& meta = obj["metadata"];
  bool ready = false;
  for (const json& c : obj.value("status", json::object()).value("conditions", json::array())) {
    if (c.value("type", "") == "Ready" && c.value("status", "") == "True") ready = true;
  }
  std::lock_guard<std::mutex> lock(mu_);
  PodSeen& p = pods_[meta.value("name", "")];
  if (meta.contains("labels")) p.app = meta["labels"].value("app", p.app);
  if (ready && (!p.ready || at < *p.ready)) p.ready = at;
  if (event.value("type", "") == "DELETED" || meta.contains("deletionTimestamp")) p.deleted = true;
}

void CapstanLb::OnSlice(const json& event, LbClock::time_point at) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const json& ep : event["object"].value("endpoints", json::array())) {
    if (!ep.value("conditions", json::object()).value("ready", false) || !ep.contains("targetRef")) continue;
    auto [it, fresh] = endpoint_ready_.emplace(ep["targetRef"].value("name", ""), at);
    if (!fresh && at < it->second) it->second = at;
  }
}

std::optional<LbClock::time_point> CapstanLb::EndpointReadyAt(const std::string& pod) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = endpoint_ready_.find(pod);
  if (it == endpoint_ready_.end()) return std::nullopt;
  return it->second;
}

std::optional<LbClock::time_point> CapstanLb::ReadyAt(const std::string& pod) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = pods_.find(pod);
  if (it == pods_.end()) return std::nullopt;
  return it->second.ready;
}

std::set<std::string> CapstanLb::ReadyPods(const std::string& name) const {
  std::lock_guard<std::mutex> lock(mu_);
  std::set<std::string> out;
  for (const auto& [pod, p] : pods_) {
    if (p.app == name && p.ready && !p.deleted) out.insert(pod);
  }
  return out;
}

std::optional<std::pair<std::string, LbClock::time_point>> CapstanLb::WaitNewReady(
    const std::string& name, const std::set<std::string>& known, std::chrono::milliseconds timeout) const {
  const auto end = LbClock::now() + timeout;
  while (LbClock::now() < end) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& [pod, p] : pods_) {
        if (p.app == name && p.ready && !p.deleted && !known.count(pod)) return std::make_pair(pod, *p.ready);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return std::nullopt;
}

}  // namespace capstan::bench
