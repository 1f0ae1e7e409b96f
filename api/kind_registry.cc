#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "api/kind.h"

namespace capstan::api {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

// Kinds live for the whole process; pointers into the registry stay valid because entries are
// individually heap-allocated and never removed.
struct Registry {
  std::mutex mu;
  std::vector<std::unique_ptr<KindInfo>> owned;
  std::vector<const KindInfo*> all;
};

Registry& TheRegistry() {
  static Registry* r = new Registry();  // never destroyed: used from static destructors' era too
  return *r;
}

}  // namespace

void RegisterKind(KindInfo info) {
  Registry& r = TheRegistry();
  std::lock_guard<std::mutex> lock(r.mu);
  if (info.list_kind.empty()) info.list_kind = info.kind + "List";
  if (info.singular.empty()) info.singular = Lower(info.kind);
  for (const KindInfo* k : r.all) {
    if (k->group == info.group && k->version == info.version && k->plural == info.plural) {
      std::fprintf(stderr, "fatal: kind %s/%s registered twice\n", info.api_version().c_str(), info.plural.c_str());
      std::abort();
    }
  }
  r.owned.push_back(std::make_unique<KindInfo>(std::move(info)));
  r.all.push_back(r.owned.back().get());
}

const std::vector<const KindInfo*>& AllKinds() {
  return TheRegistry().all;
}

const KindInfo* FindKind(const std::string& group, const std::string& version, const std::string& plural) {
  for (const KindInfo* k : AllKinds()) {
    if (k->group == group && k->version == version && k->plural == plural) return k;
  }
  return nullptr;
}

const KindInfo* FindKindByKind(const std::string& api_version, const std::string& kind) {
  for (const KindInfo* k : AllKinds()) {
    if (k->api_version() == api_version && k->kind == kind) return k;
  }
  return nullptr;
}

const KindInfo* ResolveKind(const std::string& name_in) {
  std::string name = Lower(name_in);
  std::string group_suffix;
  // "deployments.apps" / "deploy.apps": a resource name qualified by its group.
  if (auto dot = name.find('.'); dot != std::string::npos) {
    group_suffix = name.substr(dot + 1);
    name = name.substr(0, dot);
  }
  for (const KindInfo* k : AllKinds()) {
    if (!group_suffix.empty() && k->group != group_suffix) continue;
    if (k->plural == name || k->singular == name || Lower(k->kind) == name) return k;
    for (const auto& sn : k->short_names) {
      if (sn == name) return k;
    }
  }
  return nullptr;
}

}  // namespace capstan::api
