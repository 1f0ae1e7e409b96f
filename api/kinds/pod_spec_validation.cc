// PodSpec validation as k8s.io/kubernetes/pkg/apis/core/validation.ValidatePodSpec and
// ValidatePodUpdate, for the fields Capstan supports; same paths and messages.
#include <set>

#include "api/kinds/meta.h"
#include "api/kinds/pod_container_validation.h"
#include "api/kinds/pod_spec.h"
#include "api/kinds/validation.h"

namespace capstan::api::kinds {
namespace {

constexpr int64_t kMaxInt32 = 2147483647;

void ValidateVolumes(const json& volumes, const std::string& path, std::set<std::string>* names,
                     FieldErrors* errors) {
  for (size_t i = 0; i < volumes.size(); ++i) {
    const json& v = volumes[i];
    std::string ip = Index(path, i);
    std::string name = GetString(v, "name");
    if (name.empty()) {
      AddRequired(errors, Child(ip, "name"));
    } else {
      AddInvalidEach(errors, Child(ip, "name"), name, CheckDns1123Label(name));
    }
    if (!name.empty() && !names->insert(name).second) AddDuplicate(errors, Child(ip, "name"), name);
    int sources = 0;
    for (auto it = v.begin(); v.is_object() && it != v.end(); ++it) {
      if (it.key() == "name" || it->is_null()) continue;
      std::string sp = Child(ip, it.key());
      if (sources++ > 0) {
        AddForbidden(errors, sp, "may not specify more than 1 volume type");
        continue;
      }
      const json& src = *it;
      const std::string& kind = it.key();
      if (kind == "hostPath") {
        if (GetString(src, "path").empty()) AddRequired(errors, Child(sp, "path"));
        static const std::vector<std::string> kTypes = {"",     "DirectoryOrCreate", "Directory",  "FileOrCreate",
                                                         "File", "Socket",            "CharDevice", "BlockDevice"};
        std::string type = GetString(src, "type");
        bool ok = false;
        for (const auto& t : kTypes) ok = ok || t == type;
        if (!ok) AddNotSupported(errors, Child(sp, "type"), type, kTypes);
      } else if (kind == "secret" || kind == "configMap") {
        const char* ref = kind == "secret" ? "secretName" : "name";
        if (GetString(src, ref).empty()) AddRequired(errors, Child(sp, ref));
        if (const json* mode = Get(src, "defaultMode"); mode != nullptr && mode->is_number()) {
          int64_t m = mode->get<int64_t>();
          if (m < 0 || m > 0777) {
            AddInvalid(errors, Child(sp, "defaultMode"), m, "must be a number between 0 and 0777 (octal), both inclusive");
          }
        }
        const json& items = GetArray(src, "items");
        for (size_t j = 0; j < items.size(); ++j) {
          std::string kp = Index(Child(sp, "items"), j);
          if (GetString(items[j], "key").empty()) AddRequired(errors, Child(kp, "key"));
          if (GetString(items[j], "path").empty()) AddRequired(errors, Child(kp, "path"));
        }
      } else if (kind == "persistentVolumeClaim") {
        if (GetString(src, "claimName").empty()) AddRequired(errors, Child(sp, "claimName"));
      }
    }
    if (sources == 0) AddRequired(errors, ip, "must specify a volume type");
  }
}

void ValidateTolerations(const json& tolerations, const std::string& path, FieldErrors* errors) {
  for (size_t i = 0; i < tolerations.size(); ++i) {
    const json& t = tolerations[i];
    std::string ip = Index(path, i);
    std::string key = GetString(t, "key");
    std::string op = GetString(t, "operator");
    std::string effect = GetString(t, "effect");
    if (!key.empty()) AddInvalidEach(errors, Child(ip, "key"), key, CheckQualifiedName(key));
    if (key.empty() && op != "Exists") {
      AddInvalid(errors, Child(ip, "operator"), op,
                 "operator must be Exists when `key` is empty, which means \"match all values and all keys\"");
    }
    if (Get(t, "tolerationSeconds") != nullptr && effect != "NoExecute") {
      AddInvalid(errors, Child(ip, "effect"), effect, "effect must be 'NoExecute' when `tolerationSeconds` is set");
    }
    if (op.empty() || op == "Equal") {
      std::string value = GetString(t, "value");
      auto msgs = CheckLabelValue(value);
      if (!msgs.empty()) {
        std::string joined;
        for (const auto& m : msgs) joined += (joined.empty() ? "" : ";") + m;
        AddInvalid(errors, Child(ip, "operator"), value, joined);
      }
    } else if (op == "Exists") {
      if (!GetString(t, "value").empty()) {
        AddInvalid(errors, Child(ip, "operator"), t, "value must be empty when `operator` is 'Exists'");
      }
    } else {
      AddNotSupported(errors, Child(ip, "operator"), op, {"Equal", "Exists"});
    }
    if (!effect.empty() && effect != "NoSchedule" && effect != "PreferNoSchedule" && effect != "NoExecute") {
      AddNotSupported(errors, Child(ip, "effect"), effect, {"NoSchedule", "PreferNoSchedule", "NoExecute"});
    }
  }
}

void ValidateNodeSelectorTerm(const json& term, const std::string& path, FieldErrors* errors) {
  const json& exprs = GetArray(term, "matchExpressions");
  for (size_t j = 0; j < exprs.size(); ++j) {
    std::string p = Index(Child(path, "matchExpressions"), j);
    std::string op = GetString(exprs[j], "operator");
    size_t n = GetArray(exprs[j], "values").size();
    if (op == "In" || op == "NotIn") {
      if (n == 0) AddRequired(errors, Child(p, "values"), "must be specified when `operator` is 'In' or 'NotIn'");
    } else if (op == "Exists" || op == "DoesNotExist") {
      if (n > 0) {
        AddForbidden(errors, Child(p, "values"), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'");
      }
    } else if (op == "Gt" || op == "Lt") {
      if (n != 1) AddRequired(errors, Child(p, "values"), "must be specified single value when `operator` is 'Lt' or 'Gt'");
    } else {
      AddNotSupported(errors, Child(p, "operator"), op, {"In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"});
    }
    std::string key = GetString(exprs[j], "key");
    AddInvalidEach(errors, Child(p, "key"), key, CheckQualifiedName(key));
  }
  const json& fields = GetArray(term, "matchFields");
  for (size_t j = 0; j < fields.size(); ++j) {
    std::string p = Index(Child(path, "matchFields"), j);
    std::string op = GetString(fields[j], "operator");
    if (op == "In" || op == "NotIn") {
      if (GetArray(fields[j], "values").size() != 1) {
        AddRequired(errors, Child(p, "values"),
                    "must be only one value when `operator` is 'In' or 'NotIn' for node field selector");
      }
    } else {
      AddNotSupported(errors, Child(p, "operator"), op, {"In", "NotIn"});
    }
    std::string key = GetString(fields[j], "key");
    if (key != "metadata.name") AddNotSupported(errors, Child(p, "key"), key, {"metadata.name"});
  }
}

void ValidateAffinity(const json& affinity, const std::string& path, FieldErrors* errors) {
  const json* node = Get(affinity, "nodeAffinity");
  if (node == nullptr) return;
  std::string np = Child(path, "nodeAffinity");
  if (const json* req = Get(*node, "requiredDuringSchedulingIgnoredDuringExecution")) {
    std::string tp = Child(Child(np, "requiredDuringSchedulingIgnoredDuringExecution"), "nodeSelectorTerms");
    const json& terms = GetArray(*req, "nodeSelectorTerms");
    if (terms.empty()) AddRequired(errors, tp, "must have at least one node selector term");
    for (size_t i = 0; i < terms.size(); ++i) ValidateNodeSelectorTerm(terms[i], Index(tp, i), errors);
  }
  const json& preferred = GetArray(*node, "preferredDuringSchedulingIgnoredDuringExecution");
  for (size_t i = 0; i < preferred.size(); ++i) {
    std::string pp = Index(Child(np, "preferredDuringSchedulingIgnoredDuringExecution"), i);
    int64_t weight = GetInt(preferred[i], "weight");
    if (weight <= 0 || weight > 100) AddInvalid(errors, Child(pp, "weight"), weight, "must be in the range 1-100");
    if (const json* pref = Get(preferred[i], "preference")) ValidateNodeSelectorTerm(*pref, Child(pp, "preference"), errors);
  }
}

void CheckOptionalName(const json& spec, const char* field, bool label, const std::string& path, FieldErrors* errors) {
  std::string v = GetString(spec, field);
  if (v.empty()) return;
  AddInvalidEach(errors, Child(path, field), v, label ? CheckDns1123Label(v) : CheckDns1123Subdomain(v));
}

}  // namespace

void ValidatePodSpec(const json& spec, const std::string& path, FieldErrors* errors) {
  std::set<std::string> volume_names;
  ValidateVolumes(GetArray(spec, "volumes"), Child(path, "volumes"), &volume_names, errors);

  ContainerContext ctx;
  ctx.volume_names = &volume_names;
  ctx.grace_period = GetInt(spec, "terminationGracePeriodSeconds", 30);
  ctx.host_network = GetBool(spec, "hostNetwork");

  std::set<std::string> container_names;
  const json& containers = GetArray(spec, "containers");
  if (containers.empty()) AddRequired(errors, Child(path, "containers"));
  for (size_t i = 0; i < containers.size(); ++i) {
    std::string ip = Index(Child(path, "containers"), i);
    ValidateContainer(containers[i], ContainerRole::kRegular, ctx, ip, errors);
    std::string name = GetString(containers[i], "name");
    if (!name.empty() && !container_names.insert(name).second) AddDuplicate(errors, Child(ip, "name"), name);
  }
  const json& inits = GetArray(spec, "initContainers");
  for (size_t i = 0; i < inits.size(); ++i) {
    std::string ip = Index(Child(path, "initContainers"), i);
    ContainerRole role =
        GetString(inits[i], "restartPolicy") == "Always" ? ContainerRole::kSidecar : ContainerRole::kInit;
    ValidateContainer(inits[i], role, ctx, ip, errors);
    std::string name = GetString(inits[i], "name");
    if (!name.empty() && !container_names.insert(name).second) AddDuplicate(errors, Child(ip, "name"), name);
  }

  std::string restart = GetString(spec, "restartPolicy");
  if (restart.empty()) {
    AddRequired(errors, Child(path, "restartPolicy"));
  } else if (restart != "Always" && restart != "OnFailure" && restart != "Never") {
    AddNotSupported(errors, Child(path, "restartPolicy"), restart, {"Always", "OnFailure", "Never"});
  }
  std::string dns = GetString(spec, "dnsPolicy");
  if (dns.empty()) {
    AddRequired(errors, Child(path, "dnsPolicy"));
  } else if (dns != "ClusterFirstWithHostNet" && dns != "ClusterFirst" && dns != "Default" && dns != "None") {
    AddNotSupported(errors, Child(path, "dnsPolicy"), dns, {"ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"});
  } else if (dns == "None" && Get(spec, "dnsConfig") == nullptr) {
    AddRequired(errors, Child(path, "dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None");
  }
  if (const json* ns = Get(spec, "nodeSelector")) ValidateLabels(*ns, Child(path, "nodeSelector"), errors);
  CheckOptionalName(spec, "serviceAccountName", false, path, errors);
  CheckOptionalName(spec, "nodeName", false, path, errors);
  CheckOptionalName(spec, "hostname", true, path, errors);
  CheckOptionalName(spec, "subdomain", true, path, errors);
  CheckOptionalName(spec, "priorityClassName", false, path, errors);
  CheckOptionalName(spec, "schedulerName", false, path, errors);
  if (const json* ads = Get(spec, "activeDeadlineSeconds"); ads != nullptr && ads->is_number()) {
    int64_t v = ads->get<int64_t>();
    if (v < 1 || v > kMaxInt32) {
      AddInvalid(errors, Child(path, "activeDeadlineSeconds"), v, "must be between 1 and 2147483647, inclusive");
    }
  }
  CheckNonNegative(spec, "terminationGracePeriodSeconds", path, errors);
  ValidateTolerations(GetArray(spec, "tolerations"), Child(path, "tolerations"), errors);
  if (const json* aff = Get(spec, "affinity")) ValidateAffinity(*aff, Child(path, "affinity"), errors);
  const json& gates = GetArray(spec, "readinessGates");
  for (size_t i = 0; i < gates.size(); ++i) {
    std::string ct = GetString(gates[i], "conditionType");
    AddInvalidEach(errors, Child(Index(Child(path, "readinessGates"), i), "conditionType"), ct, CheckQualifiedName(ct));
  }
}

void ValidatePodTemplateSpec(const json& tmpl, const std::string& path, FieldErrors* errors) {
  std::string mp = Child(path, "metadata");
  if (const json* meta = Get(tmpl, "metadata")) {
    if (const json* l = Get(*meta, "labels")) ValidateLabels(*l, Child(mp, "labels"), errors);
    if (const json* a = Get(*meta, "annotations")) ValidateAnnotations(*a, Child(mp, "annotations"), errors);
  }
  static const json kEmpty = json::object();
  const json* spec = Get(tmpl, "spec");
  ValidatePodSpec(spec != nullptr ? *spec : kEmpty, Child(path, "spec"), errors);
  if (spec != nullptr && !GetArray(*spec, "ephemeralContainers").empty()) {
    AddForbidden(errors, Child(Child(path, "spec"), "ephemeralContainers"), "ephemeral containers not allowed in pod template");
  }
}

namespace {

// Drops null members recursively, so that "absent" and "null" compare equal.
json WithoutNulls(const json& v) {
  if (v.is_object()) {
    json out = json::object();
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (!it->is_null()) out[it.key()] = WithoutNulls(*it);
    }
    return out;
  }
  if (v.is_array()) {
    json out = json::array();
    for (const auto& e : v) out.push_back(WithoutNulls(e));
    return out;
  }
  return v;
}

}  // namespace

void ValidatePodSpecUpdate(const json& spec_in, const json& old_in, const std::string& path, FieldErrors* errors) {
  json spec = WithoutNulls(spec_in);
  json old = WithoutNulls(old_in);
  if (!spec.is_object() || !old.is_object()) return;
  json munged = spec;
  for (const char* list : {"containers", "initContainers"}) {
    const json& now = GetArray(spec, list);
    const json& before = GetArray(old, list);
    if (now.size() != before.size()) {
      AddForbidden(errors, Child(path, list), "pod updates may not add or remove containers");
      return;
    }
    for (size_t i = 0; i < now.size(); ++i) {
      if (GetString(now[i], "image").empty()) AddRequired(errors, Child(Index(Child(path, list), i), "image"));
      if (munged[list][i].is_object() && before[i].is_object()) {
        if (before[i].contains("image")) {
          munged[list][i]["image"] = before[i]["image"];
        } else {
          munged[list][i].erase("image");
        }
      }
    }
  }
  // activeDeadlineSeconds may be set or lowered, never raised or removed.
  const json* ads = Get(spec, "activeDeadlineSeconds");
  const json* old_ads = Get(old, "activeDeadlineSeconds");
  if (old_ads != nullptr && ads == nullptr) {
    AddInvalid(errors, Child(path, "activeDeadlineSeconds"), nullptr, "must not update from a positive integer to nil value");
  } else if (old_ads != nullptr && ads != nullptr &&
             GetInt(spec, "activeDeadlineSeconds") > GetInt(old, "activeDeadlineSeconds")) {
    AddInvalid(errors, Child(path, "activeDeadlineSeconds"), *ads, "must be less than or equal to previous value");
  }
  auto copy_old = [&](const char* field) {
    if (old.contains(field)) {
      munged[field] = old[field];
    } else {
      munged.erase(field);
    }
  };
  copy_old("activeDeadlineSeconds");
  // Tolerations may only be added (existing ones may lower tolerationSeconds).
  const json& tol = GetArray(spec, "tolerations");
  const json& old_tol = GetArray(old, "tolerations");
  for (const json& o : old_tol) {
    bool kept = false;
    for (const json& n : tol) {
      json a = o, b = n;
      a.erase("tolerationSeconds");
      b.erase("tolerationSeconds");
      kept = kept || (a == b && GetInt(n, "tolerationSeconds", INT64_MAX) <= GetInt(o, "tolerationSeconds", INT64_MAX));
    }
    if (!kept) {
      AddForbidden(errors, Child(path, "tolerations"), "existing toleration can not be modified except its tolerationSeconds");
      break;
    }
  }
  copy_old("tolerations");
  // Scheduling gates may only be removed.
  copy_old("schedulingGates");
  // Kubernetes binds through pods/binding; Capstan's scheduler may bind with an update instead, so
  // setting nodeName on an unbound pod is allowed (changing it once set is not).
  if (GetString(old, "nodeName").empty()) copy_old("nodeName");
  if (munged != old) {
    std::string changed;
    for (auto it = munged.begin(); it != munged.end(); ++it) {
      if (!old.contains(it.key()) || old[it.key()] != *it) changed += (changed.empty() ? "" : ", ") + Child(path, it.key());
    }
    for (auto it = old.begin(); it != old.end(); ++it) {
      if (!munged.contains(it.key())) changed += (changed.empty() ? "" : ", ") + Child(path, it.key());
    }
    AddForbidden(errors, path,
                 "pod updates may not change fields other than `spec.containers[*].image`,"
                 "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions "
                 "to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                 "previously negative)\nchanged: " + changed);
  }
}

}  // namespace capstan::api::kinds
