#include "controller/haproxy/ingress_builder.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <algorithm>
#include <memory>
#include <tuple>

#include "base/base64.h"
#include "controller/haproxy/settings.h"

namespace capstan::controller::haproxy {
namespace {

using nlohmann::json;

std::string Meta(const json& obj, const char* key) {
  if (!obj.contains("metadata") || !obj["metadata"].contains(key) || !obj["metadata"][key].is_string()) return "";
  return obj["metadata"][key].get<std::string>();
}

const json* FindService(const ModelInputs& in, const std::string& ns, const std::string& name) {
  for (const auto& s : in.services) {
    if (Meta(*s, "namespace") == ns && Meta(*s, "name") == name) return s.get();
  }
  return nullptr;
}

// The Service port number an IngressServiceBackend names (by number or by name); 0 when none.
int ResolvePort(const json* svc, const json& backend_port) {
  if (svc == nullptr) return 0;
  const json ports = svc->contains("spec") ? (*svc)["spec"].value("ports", json::array()) : json::array();
  const int number = backend_port.value("number", 0);
  const std::string name = backend_port.value("name", "");
  for (const json& p : ports) {
    if (number > 0 && p.value("port", 0) == number) return number;
    if (!name.empty() && p.value("name", "") == name) return p.value("port", 0);
  }
  return 0;
}

// The backend name of an IngressBackend, or "" with *why set.
std::string BackendOf(const ModelInputs& in, const std::set<std::string>& backends, const std::string& ns,
                      const json& backend, std::string* why) {
  if (!backend.contains("service")) {
    *why = "only service backends are supported";
    return "";
  }
  const json& s = backend["service"];
  const std::string name = s.value("name", "");
  const json* svc = FindService(in, ns, name);
  if (svc == nullptr) {
    *why = "Service " + ns + "/" + name + " not found";
    return "";
  }
  const int port = ResolvePort(svc, s.value("port", json::object()));
  if (port == 0) {
    *why = "Service " + ns + "/" + name + " has no such port";
    return "";
  }
  const std::string b = ns + "_" + name + "_" + std::to_string(port);
  if (!backends.count(b)) {
    *why = "Service " + ns + "/" + name + " is not load-balanced (see its events)";
    return "";
  }
  return b;
}

api::kinds::HaproxySettings IngressSettings(const json& ing) {
  auto parsed = ParseObjectSettings(ing, api::kinds::HaproxySettingsScope::kIngress);
  return parsed.ok() ? *parsed : api::kinds::HaproxySettings{};
}

bool IsCanary(const json& ing) { return IngressSettings(ing).canary.value_or(false); }

// Whether `crt` holds a PEM certificate and `key` a PEM private key that belongs to it; else *why.
// HAProxy refuses the whole configuration over one unreadable certificate, so a bad pair must be
// left out here, blamed on its Ingress, rather than reach `haproxy -c`.
bool ValidTlsPair(const std::string& crt, const std::string& key, std::string* why) {
  auto bio = [](const std::string& s) {
    return std::unique_ptr<BIO, decltype(&BIO_free)>(BIO_new_mem_buf(s.data(), static_cast<int>(s.size())), &BIO_free);
  };
  auto crt_bio = bio(crt);
  auto key_bio = bio(key);
  std::unique_ptr<X509, decltype(&X509_free)> x509(PEM_read_bio_X509(crt_bio.get(), nullptr, nullptr, nullptr),
                                                    &X509_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(
      PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  ERR_clear_error();  // failures are reported here, not left on the thread's error queue
  if (x509 == nullptr) *why = "tls.crt is not a PEM certificate";
  else if (pkey == nullptr) *why = "tls.key is not a PEM private key (or is encrypted)";
  else if (X509_check_private_key(x509.get(), pkey.get()) != 1) *why = "tls.key does not match the certificate in tls.crt";
  else return true;
  ERR_clear_error();
  return false;
}

// Host precedence: exact hosts, then wildcards, then none.
int HostRank(const std::string& h) { return h.empty() ? 2 : (h.rfind("*.", 0) == 0 ? 1 : 0); }

}  // namespace

bool OwnsIngress(const json& ing, const ObjectList& classes) {
  std::string cls = ing.contains("spec") ? ing["spec"].value("ingressClassName", "") : "";
  // The annotation predates spec.ingressClassName and still names the class (another controller's
  // "nginx", say) where the field is unset.
  if (cls.empty() && ing.contains("metadata") && ing["metadata"].contains("annotations") &&
      ing["metadata"]["annotations"].is_object()) {
    cls = ing["metadata"]["annotations"].value("kubernetes.io/ingress.class", "");
  }
  auto ours = [](const json& c) { return c.contains("spec") && c["spec"].value("controller", "") == kIngressController; };
  if (cls.empty()) {
    // Classless: ours only while one of our classes is the cluster's default.
    for (const auto& c : classes) {
      if (!ours(*c) || !c->contains("metadata") || !(*c)["metadata"].contains("annotations")) continue;
      const json& a = (*c)["metadata"]["annotations"];
      if (a.is_object() && a.value("ingressclass.kubernetes.io/is-default-class", "") == "true") return true;
    }
    return false;
  }
  for (const auto& c : classes) {
    if (Meta(*c, "name") == cls) return ours(*c);
  }
  return cls == kIngressClassName;
}

IngressRefs IngressReferencedPorts(const ModelInputs& in) {
  IngressRefs refs;
  auto add = [&](const std::string& ns, const json& backend) {
    if (!backend.contains("service")) return;
    const std::string name = backend["service"].value("name", "");
    const int port = ResolvePort(FindService(in, ns, name), backend["service"].value("port", json::object()));
    if (port > 0) refs[ns + "/" + name].insert(port);
  };
  for (const auto& ing : in.ingresses) {
    if (!OwnsIngress(*ing, in.ingress_classes)) continue;
    const std::string ns = Meta(*ing, "namespace");
    const json spec = ing->value("spec", json::object());
    if (spec.contains("defaultBackend")) add(ns, spec["defaultBackend"]);
    for (const json& rule : spec.value("rules", json::array())) {
      if (!rule.contains("http")) continue;
      for (const json& p : rule["http"].value("paths", json::array())) add(ns, p.value("backend", json::object()));
    }
  }
  return refs;
}

IngressModel BuildIngressModel(const ModelInputs& in, const std::set<std::string>& backends, bool ssl_redirect_default,
                               std::vector<Problem>* problems) {
  IngressModel out;
  ObjectList ingresses;
  for (const auto& ing : in.ingresses) {
    if (OwnsIngress(*ing, in.ingress_classes)) ingresses.push_back(ing);
  }
  // Main Ingresses before canaries, each in namespace/name order.
  std::sort(ingresses.begin(), ingresses.end(), [](const auto& a, const auto& b) {
    return std::make_tuple(IsCanary(*a), Meta(*a, "namespace"), Meta(*a, "name")) <
           std::make_tuple(IsCanary(*b), Meta(*b, "namespace"), Meta(*b, "name"));
  });
  using RouteKey = std::tuple<std::string, std::string, PathType>;
  std::map<RouteKey, Route> routes;
  std::map<std::string, Certificate> certs;  // by file
  std::set<std::string> redirect;
  for (const auto& ing_ptr : ingresses) {
    const json& ing = *ing_ptr;
    const std::string ns = Meta(ing, "namespace");
    const std::string source = SourceName(ing);
    const bool canary = IsCanary(ing);
    auto parsed = ParseObjectSettings(ing, api::kinds::HaproxySettingsScope::kIngress);
    if (!parsed.ok()) {
      problems->push_back({ing_ptr, parsed.status().message()});
      continue;
    }
    const int weight = static_cast<int>(parsed->canary_weight.value_or(0));
    const std::string header = canary ? parsed->canary_by_header.value_or("") : "";
    const bool redirect_tls = parsed->ssl_redirect.value_or(ssl_redirect_default);
    const json spec = ing.value("spec", json::object());
    std::vector<std::string> faults;
    if (spec.contains("defaultBackend") && !canary) {
      std::string why;
      const std::string b = BackendOf(in, backends, ns, spec["defaultBackend"], &why);
      if (b.empty()) {
        faults.push_back("spec.defaultBackend: " + why);
      } else if (!out.default_backend.empty()) {
        faults.push_back("spec.defaultBackend: the default backend is already set by " + out.default_source);
      } else {
        out.default_backend = b;
        out.default_source = source;
      }
    }
    const json rules = spec.value("rules", json::array());
    for (size_t i = 0; i < rules.size(); ++i) {
      const json& rule = rules[i];
      const std::string host = rule.value("host", "");
      if (!rule.contains("http")) continue;
      const json paths = rule["http"].value("paths", json::array());
      for (size_t j = 0; j < paths.size(); ++j) {
        const json& p = paths[j];
        const std::string field = "spec.rules[" + std::to_string(i) + "].http.paths[" + std::to_string(j) + "]";
        std::string why;
        const std::string b = BackendOf(in, backends, ns, p.value("backend", json::object()), &why);
        if (b.empty()) {
          faults.push_back(field + ".backend: " + why);
          continue;
        }
        const PathType type = p.value("pathType", "Prefix") == "Exact" ? PathType::kExact : PathType::kPrefix;
        const RouteKey key{host, p.value("path", "/"), type};
        auto it = routes.find(key);
        if (canary) {
          if (it == routes.end()) {
            faults.push_back(field + ": a canary needs a main Ingress for host \"" + host + "\" and this path");
          } else if (!it->second.canary_backend.empty()) {
            faults.push_back(field + ": the canary of this host and path is already " + it->second.canary_source);
          } else {
            it->second.canary_backend = b;
            it->second.canary_weight = weight;
            it->second.canary_header = header;
            it->second.canary_source = source;
          }
          continue;
        }
        if (it != routes.end()) {
          faults.push_back(field + ": host \"" + host + "\" path \"" + std::get<1>(key) + "\" is already routed by " +
                           it->second.source);
          continue;
        }
        Route r;
        r.host = host;
        r.path = std::get<1>(key);
        r.type = type;
        r.backend = b;
        r.source = source;
        routes[key] = r;
      }
    }
    const json tls = spec.value("tls", json::array());
    for (size_t i = 0; i < tls.size() && !canary; ++i) {
      const std::string secret = tls[i].value("secretName", "");
      const std::string field = "spec.tls[" + std::to_string(i) + "].secretName";
      std::shared_ptr<const json> found;
      for (const auto& s : in.secrets) {
        if (Meta(*s, "namespace") == ns && Meta(*s, "name") == secret) found = s;
      }
      std::optional<std::string> crt, key;
      if (found != nullptr && found->contains("data")) {
        const json& data = (*found)["data"];
        if (data.contains("tls.crt") && data["tls.crt"].is_string()) crt = Base64Decode(data["tls.crt"].get<std::string>());
        if (data.contains("tls.key") && data["tls.key"].is_string()) key = Base64Decode(data["tls.key"].get<std::string>());
      }
      if (!crt || !key || crt->empty() || key->empty()) {
        faults.push_back(field + ": Secret " + ns + "/" + secret + " not found or without tls.crt and tls.key");
        continue;
      }
      if (std::string why; !ValidTlsPair(*crt, *key, &why)) {
        faults.push_back(field + ": Secret " + ns + "/" + secret + ": " + why);
        continue;
      }
      Certificate& c = certs[ns + "_" + secret + ".pem"];
      c.file = ns + "_" + secret + ".pem";
      c.pem = *crt + (crt->back() == '\n' ? "" : "\n") + *key + (key->back() == '\n' ? "" : "\n");
      c.source = SourceName(*found);
      for (const json& h : tls[i].value("hosts", json::array())) {
        if (!h.is_string()) continue;
        c.hosts.push_back(h.get<std::string>());
        if (redirect_tls) redirect.insert(h.get<std::string>());
      }
    }
    for (std::string& f : faults) problems->push_back({ing_ptr, std::move(f)});
  }
  for (auto& [key, r] : routes) out.routes.push_back(std::move(r));
  std::sort(out.routes.begin(), out.routes.end(), [](const Route& a, const Route& b) {
    return std::make_tuple(HostRank(a.host), a.host, a.type != PathType::kExact, -static_cast<long>(a.path.size()), a.path) <
           std::make_tuple(HostRank(b.host), b.host, b.type != PathType::kExact, -static_cast<long>(b.path.size()), b.path);
  });
  for (auto& [file, c] : certs) {
    std::sort(c.hosts.begin(), c.hosts.end());
    c.hosts.erase(std::unique(c.hosts.begin(), c.hosts.end()), c.hosts.end());
    out.certificates.push_back(std::move(c));
  }
  out.redirect_hosts.assign(redirect.begin(), redirect.end());
  return out;
}

}  // namespace capstan::controller::haproxy
