// v1 ConfigMap and v1 Secret: key/value data with Kubernetes' key rules, size limit (1 MiB) and
// `immutable` honoured on update.
//
// Secret.stringData is write-only: defaults() base64-encodes it into data (overwriting equal keys,
// as Kubernetes' conversion does) and removes it. Secret.type defaults to Opaque, is immutable,
// and the well-known types require their keys (tls.crt/tls.key, .dockerconfigjson, ...).
#include <map>

#include "api/kind.h"
#include "api/kinds/kinds.h"
#include "api/kinds/meta.h"
#include "api/kinds/validation.h"

namespace capstan::api::kinds {
namespace {

using namespace s;  // NOLINT: schema builders read as a DSL

constexpr size_t kMaxDataSize = 1024 * 1024;  // api.MaxSecretSize, also used for ConfigMaps

json CountCell(const json& obj, std::initializer_list<const char*> fields) {
  int64_t n = 0;
  for (const char* f : fields) {
    if (const json* d = Get(obj, f); d != nullptr && d->is_object()) n += static_cast<int64_t>(d->size());
  }
  return n;
}

void CheckKeys(const json& data, const char* field, FieldErrors* errors) {
  for (auto it = data.begin(); it != data.end(); ++it) {
    AddInvalidEach(errors, Key(field, it.key()), it.key(), CheckConfigMapKey(it.key()));
  }
}

// Updates of an immutable object may not change `fields` nor unset `immutable`.
void CheckImmutable(const json& obj, const json& old, std::initializer_list<const char*> fields, FieldErrors* errors) {
  if (!GetBool(old, "immutable")) return;
  if (!GetBool(obj, "immutable")) AddForbidden(errors, "immutable", "field is immutable when `immutable` is set");
  for (const char* f : fields) {
    const json* now = Get(obj, f);
    const json* before = Get(old, f);
    bool same = (now == nullptr || now->empty()) ? (before == nullptr || before->empty())
                                                 : (before != nullptr && *now == *before);
    if (!same) AddForbidden(errors, f, "field is immutable when `immutable` is set");
  }
}

// ---- ConfigMap ----------------------------------------------------------------------------------

void ValidateConfigMap(const json& obj, const json* old, FieldErrors* errors) {
  ValidateMetadataOf(obj, true, errors);
  const json* data = Get(obj, "data");
  const json* binary = Get(obj, "binaryData");
  size_t total = 0;
  if (data != nullptr && data->is_object()) {
    CheckKeys(*data, "data", errors);
    for (auto it = data->begin(); it != data->end(); ++it) {
      if (binary != nullptr && binary->contains(it.key())) {
        AddInvalid(errors, Key("data", it.key()), it.key(), "duplicate of key present in binaryData");
      }
      if (it->is_string()) total += it->get_ref<const std::string&>().size();
    }
  }
  if (binary != nullptr && binary->is_object()) {
    CheckKeys(*binary, "binaryData", errors);
    for (auto it = binary->begin(); it != binary->end(); ++it) {
      if (data != nullptr && data->contains(it.key())) {
        AddInvalid(errors, Key("binaryData", it.key()), it.key(), "duplicate of key present in data");
      }
      std::string decoded;
      size_t at = 0;
      if (!it->is_string() || !DecodeBase64(it->get<std::string>(), &decoded, &at)) {
        AddInvalid(errors, Key("binaryData", it.key()), "<binary>", "illegal base64 data at input byte " + std::to_string(at));
      }
      total += decoded.size();
    }
  }
  if (total > kMaxDataSize) AddTooLong(errors, "", kMaxDataSize);
  if (old != nullptr) CheckImmutable(obj, *old, {"data", "binaryData"}, errors);
}

void RegisterConfigMap() {
  KindInfo k;
  k.version = "v1";
  k.kind = "ConfigMap";
  k.plural = "configmaps";
  k.singular = "configmap";
  k.short_names = {"cm"};
  k.schema = KindSchema("io.k8s.api.core.v1.ConfigMap",
                        {F("data", StringMap("Configuration data; keys are [-._a-zA-Z0-9]+.")),
                         F("binaryData", Map(Bytes(), "Binary data, base64-encoded.")),
                         F("immutable", Bool("If true, data cannot be updated (only the object deleted)."))},
                        "ConfigMap holds configuration data for pods to consume.");
  k.validate = ValidateConfigMap;
  k.columns = {PrinterColumn{"Data", "integer", "", 0, "Number of keys",
                             [](const json& o) -> json { return CountCell(o, {"data", "binaryData"}); }}};
  RegisterKind(std::move(k));
}

// ---- Secret -------------------------------------------------------------------------------------

void DefaultSecret(json& obj) {
  if (GetString(obj, "type").empty()) obj["type"] = "Opaque";
  if (const json* sd = Get(obj, "stringData"); sd != nullptr && sd->is_object()) {
    json& data = Ensure(obj, "data");
    for (auto it = sd->begin(); it != sd->end(); ++it) {
      if (it->is_string()) data[it.key()] = EncodeBase64(it->get<std::string>());
    }
  }
  if (obj.is_object()) obj.erase("stringData");
}

void ValidateSecret(const json& obj, const json* old, FieldErrors* errors) {
  ValidateMetadataOf(obj, true, errors);
  static const json kEmpty = json::object();
  const json* data_ptr = Get(obj, "data");
  const json& data = data_ptr != nullptr && data_ptr->is_object() ? *data_ptr : kEmpty;
  CheckKeys(data, "data", errors);
  size_t total = 0;
  std::map<std::string, std::string> decoded;
  for (auto it = data.begin(); it != data.end(); ++it) {
    std::string bytes;
    size_t at = 0;
    if (!it->is_string() || !DecodeBase64(it->get<std::string>(), &bytes, &at)) {
      // Never echo secret contents in an error.
      AddInvalid(errors, Key("data", it.key()), "<secret contents redacted>",
                 "illegal base64 data at input byte " + std::to_string(at));
    }
    total += bytes.size();
    decoded[it.key()] = std::move(bytes);
  }
  if (total > kMaxDataSize) AddTooLong(errors, "data", kMaxDataSize);

  std::string type = GetString(obj, "type");
  auto require = [&](const char* key) {
    if (!data.contains(key)) AddRequired(errors, Key("data", key));
  };
  auto require_json = [&](const char* key) {
    if (!data.contains(key)) return AddRequired(errors, Key("data", key));
    if (!json::accept(decoded[key])) {
      AddInvalid(errors, Key("data", key), "<secret contents redacted>", "invalid JSON");
    }
  };
  if (type == "kubernetes.io/service-account-token") {
    const json* meta = Get(obj, "metadata");
    const json* ann = meta != nullptr ? Get(*meta, "annotations") : nullptr;
    if (ann == nullptr || GetString(*ann, "kubernetes.io/service-account.name").empty()) {
      AddRequired(errors, "metadata.annotations[kubernetes.io/service-account.name]");
    }
  } else if (type == "kubernetes.io/dockercfg") {
    require_json(".dockercfg");
  } else if (type == "kubernetes.io/dockerconfigjson") {
    require_json(".dockerconfigjson");
  } else if (type == "kubernetes.io/basic-auth") {
    if (!data.contains("username") && !data.contains("password")) {
      require("username");
      require("password");
    }
  } else if (type == "kubernetes.io/ssh-auth") {
    if (decoded["ssh-privatekey"].empty()) AddRequired(errors, Key("data", "ssh-privatekey"));
  } else if (type == "kubernetes.io/tls") {
    require("tls.crt");
    require("tls.key");
  }
  if (old != nullptr) {
    std::string old_type = GetString(*old, "type");
    if (type != old_type) AddInvalid(errors, "type", type, "field is immutable");
    CheckImmutable(obj, *old, {"data"}, errors);
  }
}

void RegisterSecret() {
  KindInfo k;
  k.version = "v1";
  k.kind = "Secret";
  k.plural = "secrets";
  k.singular = "secret";
  k.schema = KindSchema(
      "io.k8s.api.core.v1.Secret",
      {F("data", Map(Bytes(), "Secret data, base64-encoded; keys are [-._a-zA-Z0-9]+.")),
       F("stringData", StringMap("Write-only convenience: plain strings merged into data on write.")),
       F("type", String("Used to facilitate programmatic handling of secret data. Defaults to Opaque.")),
       F("immutable", Bool("If true, data cannot be updated (only the object deleted)."))},
      "Secret holds secret data of a certain type.");
  k.defaults = DefaultSecret;
  k.validate = ValidateSecret;
  k.field_selectors = {"type"};
  k.columns = {PrinterColumn{"Type", "string", "", 0, "The type of the secret",
                             [](const json& o) -> json { return GetString(o, "type"); }},
               PrinterColumn{"Data", "integer", "", 0, "Number of keys",
                             [](const json& o) -> json { return CountCell(o, {"data"}); }}};
  RegisterKind(std::move(k));
}

}  // namespace

void RegisterConfigMapAndSecret() {
  RegisterConfigMap();
  RegisterSecret();
}

}  // namespace capstan::api::kinds
