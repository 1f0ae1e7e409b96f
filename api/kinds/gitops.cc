// gitops.capstan.io/v1alpha1 GitRepository and Sync (docs/gitops.md): a git source fetched at an
// interval, and the manifests under a path of it applied, pruned and kept free of drift.
//
// Both are namespaced, with a status subresource written only by the GitOps controller; spec
// changes count in metadata.generation. Defaults: ref.branch "main" when no ref is given,
// interval 1m (GitRepository) / 5m (Sync), timeout 60s / 5m, path "./", sourceRef.kind
// GitRepository. A Sync's name plus its namespace must fit one label value ("<ns>.<name>" ≤ 63
// characters): that is how applied objects name their owner (gitops.capstan.io/sync).
#include "api/kind.h"
#include "api/kinds/kinds.h"
#include "api/kinds/meta.h"
#include "api/kinds/printing.h"
#include "api/kinds/validation.h"
#include "base/duration.h"

namespace capstan::api::kinds {
namespace {

using namespace s;  // NOLINT: schema builders read as a DSL

constexpr char kGroup[] = "gitops.capstan.io";
std::string Ref(const char* name) { return std::string("io.capstan.gitops.v1alpha1.") + name; }

const json& SpecOf(const json& o) {
  static const json kEmpty = json::object();
  const json* spec = Get(o, "spec");
  return spec != nullptr && spec->is_object() ? *spec : kEmpty;
}

SchemaPtr LocalRef(const char* name) {
  return Object(Ref(name), {R("name", String("Name of the referent."))});
}

SchemaPtr Conditions() {
  return ConditionsArray(ConditionSchema(Ref("Condition"), {F("observedGeneration", Integer())}));
}

void SetIfUnset(json& obj, const char* key, json value) {
  if (obj.find(key) == obj.end() || obj[key].is_null()) obj[key] = std::move(value);
}

void CheckDuration(const json& spec, const char* field, FieldErrors* errors, bool allow_zero = false) {
  const json* v = Get(spec, field);
  if (v == nullptr || v->is_null()) return;
  auto d = v->is_string() ? ParseDuration(v->get<std::string>()) : std::nullopt;
  if (!d || (!allow_zero && d->count() <= 0)) {
    AddInvalid(errors, Child("spec", field), *v, "must be a positive duration such as \"30s\", \"5m\" or \"1h\"");
  }
}

void CheckSecretRef(const json& spec, const char* field, const std::string& path, FieldErrors* errors) {
  const json* ref = Get(spec, field);
  if (ref == nullptr || !ref->is_object()) return;
  std::string name = GetString(*ref, "name");
  if (name.empty()) AddRequired(errors, Child(path, "name"));
  else AddInvalidEach(errors, Child(path, "name"), name, CheckDns1123Subdomain(name));
}

json ReadyCell(const json& o, const char* what) {
  const json* status = Get(o, "status");
  if (status == nullptr) return "";
  for (const json& c : GetArray(*status, "conditions")) {
    if (GetString(c, "type") == "Ready") return GetString(c, what);
  }
  return "";
}

// ---- GitRepository ------------------------------------------------------------------------------

SchemaPtr GitRepositorySchema() {
  auto ref = Object(Ref("GitRepositoryRef"),
                    {F("branch", String("Branch to follow. Defaults to main when no ref is given.")),
                     F("tag", String("Tag to use.")),
                     F("semver", String("Semver range over the tags; the highest match is used (\">=1.0.0 <2.0.0\", \"^1.2\").")),
                     F("commit", String("A full 40-hex commit sha1."))});
  auto verify = Object(Ref("GitRepositoryVerification"),
                       {F("mode", String("What to verify: HEAD, the resolved commit (the only mode).")),
                        F("secretRef", LocalRef("LocalObjectReference"))},
                       "The resolved commit must be signed by one of the OpenPGP public keys in the Secret.");
  auto spec = Object(Ref("GitRepositorySpec"),
                     {R("url", String("file://, git://, http://, https:// or ssh:// URL of the repository.")),
                      F("ref", ref),
                      F("interval", String("How often to fetch. Defaults to 1m.")),
                      F("timeout", String("Limit of one fetch. Defaults to 60s.")),
                      F("secretRef", LocalRef("LocalObjectReference")),
                      F("verify", verify),
                      F("webhook", Object(Ref("GitRepositoryWebhook"), {F("secretRef", LocalRef("LocalObjectReference"))},
                                          "POST to status.webhookPath signed with the Secret's token fetches now.")),
                      F("suspend", Bool("Stop fetching while true."))});
  auto artifact = Object(Ref("GitArtifact"),
                         {F("revision", String("branch@sha1:<commit>, tag@sha1:<commit> or sha1:<commit>.")),
                          F("lastUpdateTime", Time())});
  auto status = Object(Ref("GitRepositoryStatus"),
                       {F("observedGeneration", Integer()), F("conditions", Conditions()), F("artifact", artifact),
                        F("lastFetchTime", Time()), F("lastHandledReconcileAt", String()),
                        F("webhookPath", String("With spec.webhook: the receiver's path on the API server, "
                                                "/hooks/gitops/<hex HMAC-SHA256 of the uid keyed with the token>."))});
  return KindSchema(Ref("GitRepository"), {F("spec", spec), F("status", status)},
                    "GitRepository is a git repository fetched at an interval into a cache of the server.");
}

void DefaultGitRepository(json& obj) {
  json& spec = Ensure(obj, "spec");
  json& ref = Ensure(spec, "ref");
  if (GetString(ref, "branch").empty() && GetString(ref, "tag").empty() && GetString(ref, "semver").empty() &&
      GetString(ref, "commit").empty()) {
    ref["branch"] = "main";
  }
  SetIfUnset(spec, "interval", "1m");
  SetIfUnset(spec, "timeout", "60s");
}

void ValidateGitRepository(const json& obj, const json* /*old*/, FieldErrors* errors) {
  ValidateMetadataOf(obj, true, errors);
  const json& spec = SpecOf(obj);
  std::string url = GetString(spec, "url");
  if (url.empty()) {
    AddRequired(errors, "spec.url");
  } else if (!url.starts_with("file://") && !url.starts_with("git://") && !url.starts_with("http://") &&
             !url.starts_with("https://") && !url.starts_with("ssh://")) {
    AddInvalid(errors, "spec.url", url, "must start with file://, git://, http://, https:// or ssh://");
  }
  if (const json* ref = Get(spec, "ref"); ref != nullptr && ref->is_object()) {
    int set = 0;
    for (const char* f : {"branch", "tag", "semver", "commit"}) set += GetString(*ref, f).empty() ? 0 : 1;
    if (set > 1) AddInvalid(errors, "spec.ref", *ref, "set only one of branch, tag, semver and commit");
    std::string commit = GetString(*ref, "commit");
    if (!commit.empty() && (commit.size() != 40 || commit.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)) {
      AddInvalid(errors, "spec.ref.commit", commit, "must be a full 40-hex sha1");
    }
  }
  CheckDuration(spec, "interval", errors);
  CheckDuration(spec, "timeout", errors);
  CheckSecretRef(spec, "secretRef", "spec.secretRef", errors);
  if (const json* hook = Get(spec, "webhook"); hook != nullptr && hook->is_object()) {
    CheckSecretRef(*hook, "secretRef", "spec.webhook.secretRef", errors);
  }
  if (const json* verify = Get(spec, "verify"); verify != nullptr && verify->is_object()) {
    CheckSecretRef(*verify, "secretRef", "spec.verify.secretRef", errors);
  }
}

void RegisterGitRepository() {
  KindInfo k;
  k.group = kGroup;
  k.version = "v1alpha1";
  k.kind = "GitRepository";
  k.plural = "gitrepositories";
  k.singular = "gitrepository";
  k.short_names = {"gitrepo"};
  k.categories = {"gitops"};
  k.status_subresource = true;
  k.has_generation = true;
  k.schema = GitRepositorySchema();
  k.defaults = DefaultGitRepository;
  k.prepare_create = [](json& o) { o["status"] = json::object(); };
  k.validate = ValidateGitRepository;
  k.columns = {
      PrinterColumn{"URL", "string", "", 0, "The repository's URL",
                    [](const json& o) -> json { return GetString(SpecOf(o), "url"); }},
      PrinterColumn{"Ready", "string", "", 0, "Ready condition", [](const json& o) { return ReadyCell(o, "status"); }},
      PrinterColumn{"Status", "string", "", 0, "Ready condition's message",
                    [](const json& o) { return ReadyCell(o, "message"); }},
      PrinterColumn{"Age", "string", "", 0, "CreationTimestamp", AgeCell},
  };
  RegisterKind(std::move(k));
}

// ---- Sync ---------------------------------------------------------------------------------------

SchemaPtr SyncSchema() {
  auto source = Object(Ref("SourceReference"),
                       {F("kind", String("GitRepository (the default).")), R("name", String()),
                        F("namespace", String("Defaults to the Sync's namespace."))});
  auto dependency = Object(Ref("DependencyReference"), {R("name", String()), F("namespace", String())});
  auto spec = Object(
      Ref("SyncSpec"),
      {R("sourceRef", source),
       F("path", String("Directory of the repository holding the manifests. Defaults to ./ (the root).")),
       F("interval", String("How often to re-apply and look for drift. Defaults to 5m.")),
       F("prune", Bool("Delete objects this Sync applied that the commit no longer declares.")),
       F("selfHeal", Bool("Revert drift (changes made by hand) at every interval.")),
       F("targetNamespace", String("Namespace for namespaced objects that declare none.")),
       F("dependsOn", AtomicArray(dependency, "Syncs that must be Ready before this one runs.")),
       F("wait", Bool("After applying, report Progressing until Deployments are available and Pods ready, HealthCheckFailed after timeout.")),
       F("timeout", String("Limit of the health wait. Defaults to 5m.")),
       F("suspend", Bool("Stop syncing while true.")),
       F("allowEmpty", Bool("Accept a path with no objects (and so prune everything)."))});
  auto entry = Object(Ref("InventoryEntry"),
                      {F("apiVersion", String()), F("kind", String()), F("namespace", String()), F("name", String()),
                       F("resourceVersion", String("The object's resourceVersion when last seen as declared: "
                                                   "unmoved, it needs no comparison."))});
  auto inventory = Object(Ref("Inventory"), {F("entries", AtomicArray(entry))});
  auto run = Object(Ref("SyncRun"),
                    {F("revision", String()), F("reason", String()), F("message", String()), F("time", Time()),
                     F("durationMilliseconds", Integer())});
  auto drift = Object(Ref("DriftEntry"),
                      {F("apiVersion", String()), F("kind", String()), F("namespace", String()), F("name", String()),
                       F("patch", String("The merge patch that would revert it."))});
  auto status = Object(Ref("SyncStatus"),
                       {F("observedGeneration", Integer()), F("conditions", Conditions()),
                        F("lastAppliedRevision", String()), F("lastAttemptedRevision", String()),
                        F("lastHandledReconcileAt", String()), F("inventory", inventory),
                        F("history", AtomicArray(run, "The last 5 runs, newest first.")),
                        F("drift", AtomicArray(drift, "Objects whose live state differs from the commit."))});
  return KindSchema(Ref("Sync"), {F("spec", spec), F("status", status)},
                    "Sync applies the manifests under a path of a GitRepository, prunes and heals drift.");
}

void DefaultSync(json& obj) {
  json& spec = Ensure(obj, "spec");
  json& source = Ensure(spec, "sourceRef");
  if (GetString(source, "kind").empty()) source["kind"] = "GitRepository";
  SetIfUnset(spec, "path", "./");
  SetIfUnset(spec, "interval", "5m");
  SetIfUnset(spec, "timeout", "5m");
}

void ValidateSync(const json& obj, const json* /*old*/, FieldErrors* errors) {
  ValidateMetadataOf(obj, true, errors);
  const json* meta = Get(obj, "metadata");
  if (meta != nullptr) {
    std::string owner = GetString(*meta, "namespace") + "." + GetString(*meta, "name");
    if (owner.size() > 63) {
      AddInvalid(errors, "metadata.name", GetString(*meta, "name"),
                 "namespace + \".\" + name must be at most 63 characters (it is the value of the "
                 "gitops.capstan.io/sync label)");
    }
  }
  const json& spec = SpecOf(obj);
  const json* source = Get(spec, "sourceRef");
  if (source == nullptr || !source->is_object()) {
    AddRequired(errors, "spec.sourceRef");
  } else {
    std::string kind = GetString(*source, "kind");
    if (!kind.empty() && kind != "GitRepository") AddNotSupported(errors, "spec.sourceRef.kind", kind, {"GitRepository"});
    std::string name = GetString(*source, "name");
    if (name.empty()) AddRequired(errors, "spec.sourceRef.name");
    else AddInvalidEach(errors, "spec.sourceRef.name", name, CheckDns1123Subdomain(name));
  }
  std::string path = GetString(spec, "path");
  if (path == ".." || path.starts_with("../") || path.find("/../") != std::string::npos || path.ends_with("/..")) {
    AddInvalid(errors, "spec.path", path, "must not leave the repository (\"..\")");
  }
  if (std::string ns = GetString(spec, "targetNamespace"); !ns.empty()) {
    AddInvalidEach(errors, "spec.targetNamespace", ns, CheckDns1123Label(ns));
  }
  const json& deps = GetArray(spec, "dependsOn");
  for (size_t i = 0; i < deps.size(); ++i) {
    std::string name = GetString(deps[i], "name");
    if (name.empty()) AddRequired(errors, Child(Index("spec.dependsOn", i), "name"));
  }
  CheckDuration(spec, "interval", errors);
  CheckDuration(spec, "timeout", errors);
}

void RegisterSync() {
  KindInfo k;
  k.group = kGroup;
  k.version = "v1alpha1";
  k.kind = "Sync";
  k.plural = "syncs";
  k.singular = "sync";
  k.categories = {"gitops"};
  k.status_subresource = true;
  k.has_generation = true;
  k.schema = SyncSchema();
  k.defaults = DefaultSync;
  k.prepare_create = [](json& o) { o["status"] = json::object(); };
  k.validate = ValidateSync;
  k.columns = {
      PrinterColumn{"Source", "string", "", 0, "The GitRepository",
                    [](const json& o) -> json {
                      const json* s = Get(SpecOf(o), "sourceRef");
                      return s != nullptr ? GetString(*s, "name") : "";
                    }},
      PrinterColumn{"Path", "string", "", 0, "Path in the repository",
                    [](const json& o) -> json { return GetString(SpecOf(o), "path"); }},
      PrinterColumn{"Revision", "string", "", 0, "Last applied revision",
                    [](const json& o) -> json {
                      const json* s = Get(o, "status");
                      return s != nullptr ? GetString(*s, "lastAppliedRevision") : "";
                    }},
      PrinterColumn{"Ready", "string", "", 0, "Ready condition", [](const json& o) { return ReadyCell(o, "status"); }},
      PrinterColumn{"Status", "string", "", 1, "Ready condition's message",
                    [](const json& o) { return ReadyCell(o, "message"); }},
      PrinterColumn{"Age", "string", "", 0, "CreationTimestamp", AgeCell},
  };
  RegisterKind(std::move(k));
}

}  // namespace

void RegisterGitOps() {
  RegisterGitRepository();
  RegisterSync();
}

}  // namespace capstan::api::kinds
