#include "controller/scheduler/pod_info.h"

#include <algorithm>
#include <limits>

#include "api/kinds/validation.h"

namespace capstan::controller::scheduler {

using api::kinds::Get;
using api::kinds::GetArray;
using api::kinds::GetString;

namespace {

int64_t SatAdd(int64_t a, int64_t b) {
  int64_t out = 0;
  if (!__builtin_add_overflow(a, b, &out)) return out;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

// Milli-units of a quantity; 0 when it does not parse (the API validated stored objects).
int64_t Milli(const json& quantity) {
  Result<int64_t> milli = api::kinds::ParseQuantity(quantity);
  return milli.ok() ? *milli : 0;
}

// Quantity.Value(): whole units, rounded up (towards +infinity).
int64_t Units(const json& quantity) {
  int64_t m = Milli(quantity);
  return m / 1000 + (m % 1000 > 0 ? 1 : 0);
}

// Merges b into a, name by name, with `op(a_value, b_value)` (absent values read as 0).
template <typename Op>
void MergeScalars(std::vector<std::pair<std::string, int64_t>>* a,
                  const std::vector<std::pair<std::string, int64_t>>& b, Op op) {
  if (b.empty()) return;
  std::vector<std::pair<std::string, int64_t>> out;
  out.reserve(a->size() + b.size());
  size_t i = 0, j = 0;
  while (i < a->size() || j < b.size()) {
    if (j == b.size() || (i < a->size() && (*a)[i].first < b[j].first)) {
      out.emplace_back((*a)[i].first, op((*a)[i].second, 0));
      ++i;
    } else if (i == a->size() || b[j].first < (*a)[i].first) {
      out.emplace_back(b[j].first, op(0, b[j].second));
      ++j;
    } else {
      out.emplace_back((*a)[i].first, op((*a)[i].second, b[j].second));
      ++i;
      ++j;
    }
  }
  *a = std::move(out);
}

// Adds one ResourceList entry to `r`. `count_pods` is false for container requests, where a
// "pods" entry means nothing (a Pod always counts as exactly one pod).
void AddEntry(Resources* r, const std::string& name, const json& quantity, bool count_pods) {
  if (name == "cpu") {
    r->milli_cpu = SatAdd(r->milli_cpu, Milli(quantity));
  } else if (name == "memory") {
    r->memory_bytes = SatAdd(r->memory_bytes, Units(quantity));
  } else if (name == "pods") {
    if (count_pods) r->pods = SatAdd(r->pods, Units(quantity));
  } else {
    r->SetScalar(name, SatAdd(r->Scalar(name), Units(quantity)));
  }
}

// One container's requests, with missing requests taken from its limits (SetDefaults_Pod), and
// the scoring variant where missing cpu / memory requests get Kubernetes' non-zero defaults.
void ContainerRequests(const json& container, Resources* req, Resources* non_zero) {
  *req = Resources();
  bool has_cpu = false, has_memory = false;
  const json* resources = Get(container, "resources");
  const json* requests = resources != nullptr ? Get(*resources, "requests") : nullptr;
  const json* limits = resources != nullptr ? Get(*resources, "limits") : nullptr;
  auto take = [&](const json* list, const json* unless_in) {
    if (list == nullptr || !list->is_object()) return;
    for (auto it = list->begin(); it != list->end(); ++it) {
      if (unless_in != nullptr && unless_in->is_object() && unless_in->contains(it.key())) continue;
      AddEntry(req, it.key(), *it, /*count_pods=*/false);
      has_cpu = has_cpu || it.key() == "cpu";
      has_memory = has_memory || it.key() == "memory";
    }
  };
  take(requests, nullptr);
  take(limits, requests);
  *non_zero = *req;
  if (!has_cpu) non_zero->milli_cpu = kDefaultMilliCpuRequest;
  if (!has_memory) non_zero->memory_bytes = kDefaultMemoryRequest;
}

// The aggregation of PodRequests, run in lockstep for the real and the non-zero requests.
struct Aggregate {
  Resources sum;          // app containers plus sidecars
  Resources sidecars;     // restartable init containers seen so far
  Resources init_max;     // the largest init-phase footprint

  void AddContainer(const Resources& r) { sum.Add(r); }
  void AddInit(const Resources& r, bool restartable) {
    Resources phase;
    if (restartable) {
      // A sidecar keeps running next to the app containers and every later init container.
      sum.Add(r);
      sidecars.Add(r);
      phase = sidecars;
    } else {
      phase = r;
      phase.Add(sidecars);
    }
    init_max.SetMax(phase);
  }
  Resources Finish() {
    sum.SetMax(init_max);
    return std::move(sum);
  }
};

// Pod-level spec.resources: a request (or, without one, a limit) for cpu / memory replaces the
// container aggregate for that resource.
void ApplyPodLevel(const json& spec, Resources* req, Resources* non_zero) {
  const json* resources = Get(spec, "resources");
  if (resources == nullptr) return;
  const json* requests = Get(*resources, "requests");
  const json* limits = Get(*resources, "limits");
  auto pick = [&](const char* name) -> const json* {
    if (requests != nullptr && requests->is_object() && requests->contains(name)) return &(*requests)[name];
    if (limits != nullptr && limits->is_object() && limits->contains(name)) return &(*limits)[name];
    return nullptr;
  };
  if (const json* cpu = pick("cpu")) req->milli_cpu = non_zero->milli_cpu = Milli(*cpu);
  if (const json* memory = pick("memory")) req->memory_bytes = non_zero->memory_bytes = Units(*memory);
}

std::vector<std::string> StringValues(const json& values) {
  std::vector<std::string> out;
  if (!values.is_array()) return out;
  out.reserve(values.size());
  for (const json& v : values) out.push_back(v.is_string() ? v.get<std::string>() : v.dump());
  return out;
}

// Compiles one requirement; false when Kubernetes' selector construction would reject it.
bool CompileRequirement(const json& in, bool field, Requirement* out) {
  out->key = GetString(in, "key");
  out->values = StringValues(GetArray(in, "values"));
  const std::string op = GetString(in, "operator");
  size_t n = out->values.size();
  if (field) {
    // nodeSelectorRequirementsAsFieldSelector: metadata.name only, In/NotIn with one value.
    if (out->key != "metadata.name" || n != 1) return false;
    if (op == "In") {
      out->op = SelectorOp::kIn;
    } else if (op == "NotIn") {
      out->op = SelectorOp::kNotIn;
    } else {
      return false;
    }
    return true;
  }
  if (op == "In" || op == "NotIn") {
    out->op = op == "In" ? SelectorOp::kIn : SelectorOp::kNotIn;
    return n > 0;
  }
  if (op == "Exists" || op == "DoesNotExist") {
    out->op = op == "Exists" ? SelectorOp::kExists : SelectorOp::kDoesNotExist;
    return n == 0;
  }
  if (op == "Gt" || op == "Lt") {
    out->op = op == "Gt" ? SelectorOp::kGt : SelectorOp::kLt;
    return n == 1 && ParseInt64(out->values[0], &out->number);
  }
  return false;
}

}  // namespace

// ---- Resources --------------------------------------------------------------------------------

void Resources::Add(const Resources& o) {
  milli_cpu = SatAdd(milli_cpu, o.milli_cpu);
  memory_bytes = SatAdd(memory_bytes, o.memory_bytes);
  pods = SatAdd(pods, o.pods);
  MergeScalars(&scalars, o.scalars, [](int64_t a, int64_t b) { return SatAdd(a, b); });
}

void Resources::Subtract(const Resources& o) {
  milli_cpu = SatAdd(milli_cpu, -o.milli_cpu);
  memory_bytes = SatAdd(memory_bytes, -o.memory_bytes);
  pods = SatAdd(pods, -o.pods);
  MergeScalars(&scalars, o.scalars, [](int64_t a, int64_t b) { return SatAdd(a, -b); });
  // Drop entries that went back to zero so that adding and removing a pod restores equality.
  std::erase_if(scalars, [](const auto& e) { return e.second == 0; });
}

void Resources::SetMax(const Resources& o) {
  milli_cpu = std::max(milli_cpu, o.milli_cpu);
  memory_bytes = std::max(memory_bytes, o.memory_bytes);
  pods = std::max(pods, o.pods);
  MergeScalars(&scalars, o.scalars, [](int64_t a, int64_t b) { return std::max(a, b); });
}

int64_t Resources::Scalar(std::string_view name) const {
  auto it = std::lower_bound(scalars.begin(), scalars.end(), name,
                             [](const auto& e, std::string_view n) { return e.first < n; });
  return it != scalars.end() && it->first == name ? it->second : 0;
}

void Resources::SetScalar(std::string_view name, int64_t value) {
  auto it = std::lower_bound(scalars.begin(), scalars.end(), name,
                             [](const auto& e, std::string_view n) { return e.first < n; });
  if (it != scalars.end() && it->first == name) {
    it->second = value;
  } else {
    scalars.emplace(it, std::string(name), value);
  }
}

Resources ParseResourceList(const json& list) {
  Resources r;
  if (!list.is_object()) return r;
  for (auto it = list.begin(); it != list.end(); ++it) AddEntry(&r, it.key(), *it, /*count_pods=*/true);
  return r;
}

// ---- Pods -------------------------------------------------------------------------------------

Resources PodRequests(const json& pod, Resources* non_zero) {
  static const json kEmpty = json::object();
  const json* spec_ptr = Get(pod, "spec");
  const json& spec = spec_ptr != nullptr ? *spec_ptr : kEmpty;
  Aggregate req, nz;
  Resources c_req, c_nz;
  for (const json& c : GetArray(spec, "containers")) {
    ContainerRequests(c, &c_req, &c_nz);
    req.AddContainer(c_req);
    nz.AddContainer(c_nz);
  }
  for (const json& c : GetArray(spec, "initContainers")) {
    ContainerRequests(c, &c_req, &c_nz);
    bool restartable = GetString(c, "restartPolicy") == "Always";
    req.AddInit(c_req, restartable);
    nz.AddInit(c_nz, restartable);
  }
  Resources out = req.Finish();
  Resources out_nz = nz.Finish();
  ApplyPodLevel(spec, &out, &out_nz);
  if (const json* overhead = Get(spec, "overhead")) {
    Resources o = ParseResourceList(*overhead);
    o.pods = 0;
    out.Add(o);
    out_nz.Add(o);
  }
  out.pods = out_nz.pods = 1;
  if (non_zero != nullptr) *non_zero = std::move(out_nz);
  return out;
}

std::string ControllerUid(const json& pod) {
  const json* meta = Get(pod, "metadata");
  if (meta == nullptr) return "";
  for (const json& ref : GetArray(*meta, "ownerReferences")) {
    if (api::kinds::GetBool(ref, "controller")) return GetString(ref, "uid");
  }
  return "";
}

std::string PodKey(const json& pod) {
  const json* meta = Get(pod, "metadata");
  if (meta == nullptr) return "";
  std::string uid = GetString(*meta, "uid");
  if (!uid.empty()) return uid;
  return GetString(*meta, "namespace") + "/" + GetString(*meta, "name");
}

SelectorTerm CompileTerm(const json& term) {
  SelectorTerm out;
  for (const json& r : GetArray(term, "matchExpressions")) {
    out.expressions.emplace_back();
    out.valid = CompileRequirement(r, /*field=*/false, &out.expressions.back()) && out.valid;
  }
  for (const json& r : GetArray(term, "matchFields")) {
    out.fields.emplace_back();
    out.valid = CompileRequirement(r, /*field=*/true, &out.fields.back()) && out.valid;
  }
  // An empty term selects nothing (NodeSelectorTerm semantics), not everything.
  if (out.expressions.empty() && out.fields.empty()) out.valid = false;
  return out;
}

PodInfo MakePodInfo(const json& pod) {
  PodInfo info;
  info.key = PodKey(pod);
  info.owner_uid = ControllerUid(pod);
  info.requests = PodRequests(pod, &info.non_zero);
  const json* spec = Get(pod, "spec");
  if (spec == nullptr) return info;
  if (const json* selector = Get(*spec, "nodeSelector"); selector != nullptr && selector->is_object()) {
    for (auto it = selector->begin(); it != selector->end(); ++it) {
      info.node_selector.emplace_back(it.key(), it->is_string() ? it->get<std::string>() : it->dump());
    }
  }
  const json* affinity = Get(*spec, "affinity");
  const json* node_affinity = affinity != nullptr ? Get(*affinity, "nodeAffinity") : nullptr;
  if (node_affinity != nullptr) {
    if (const json* required = Get(*node_affinity, "requiredDuringSchedulingIgnoredDuringExecution")) {
      info.has_required_affinity = true;
      for (const json& term : GetArray(*required, "nodeSelectorTerms")) info.required_terms.push_back(CompileTerm(term));
    }
    for (const json& p : GetArray(*node_affinity, "preferredDuringSchedulingIgnoredDuringExecution")) {
      int64_t weight = api::kinds::GetInt(p, "weight");
      const json* preference = Get(p, "preference");
      if (weight == 0 || preference == nullptr) continue;  // Kubernetes skips zero-weight terms
      info.preferred_terms.push_back(PreferredTerm{weight, CompileTerm(*preference)});
    }
  }
  for (const json& t : GetArray(*spec, "tolerations")) {
    info.tolerations.push_back(Toleration{GetString(t, "key"), GetString(t, "operator"), GetString(t, "value"),
                                          GetString(t, "effect")});
  }
  return info;
}

bool ParseInt64(std::string_view text, int64_t* out) {
  size_t i = 0;
  bool negative = false;
  if (!text.empty() && (text[0] == '+' || text[0] == '-')) {
    negative = text[0] == '-';
    i = 1;
  }
  if (i == text.size()) return false;
  // Accumulate negatively so that INT64_MIN parses without overflow.
  int64_t value = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    if (__builtin_mul_overflow(value, 10, &value) || __builtin_sub_overflow(value, c - '0', &value)) return false;
  }
  if (!negative) {
    if (value == std::numeric_limits<int64_t>::min()) return false;
    value = -value;
  }
  *out = value;
  return true;
}

}  // namespace capstan::controller::scheduler
