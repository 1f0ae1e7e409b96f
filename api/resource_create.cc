// ResourceService::Create: checks on the caller's thread, then one asynchronous store write
// whose completion answers the caller (see CreateAsync in resource_service.h).
#include <future>

#include "api/object_meta.h"
#include "api/resource_service.h"
#include "api/resource_service_internal.h"
#include "api/stored_object_memo.h"

namespace capstan::api {
namespace {

// A generateName collision is retried with a fresh suffix this many times in all.
constexpr int kMaxGenerateNameTries = 8;

}  // namespace

struct ResourceService::PendingCreate {
  const KindInfo* kind = nullptr;
  std::string ns;
  json object;                 // admitted, without resourceVersion
  std::vector<store::Op> claims;  // ClaimOps; their values name the holder at commit time
  bool generated = false;      // the name came from generateName
  std::string generate_name;
};

Result<json> ResourceService::Create(const KindInfo& kind, const std::string& ns, json obj,
                                     const WriteOptions& opts) {
  std::promise<Result<CreatedObject>> answer;
  std::future<Result<CreatedObject>> answered = answer.get_future();
  CreateAsync(kind, ns, std::move(obj), opts, [&answer](Result<CreatedObject> r) { answer.set_value(std::move(r)); });
  Result<CreatedObject> r = answered.get();
  if (!r.ok()) return r.status();
  return json(*r->object);
}

void ResourceService::CreateAsync(const KindInfo& kind, const std::string& ns, json obj, const WriteOptions& opts,
                                  CreateCallback done) {
  Result<std::shared_ptr<PendingCreate>> pending = PrepareCreate(kind, ns, std::move(obj), opts);
  if (!pending.ok()) return done(pending.status());
  if (opts.dry_run) return done(CreatedObject{std::make_shared<const json>(std::move((*pending)->object)), ""});
  CommitCreate(std::move(pending).value(), 0, std::move(done));
}

Result<std::shared_ptr<ResourceService::PendingCreate>> ResourceService::PrepareCreate(
    const KindInfo& kind, const std::string& ns, json obj, const WriteOptions& opts) {
  (void)opts;
  CAPSTAN_RETURN_IF_ERROR(CheckTypeMeta(kind, obj));
  json& meta = obj["metadata"];
  if (kind.namespaced) {
    std::string body_ns = MetaString(obj, "namespace");
    if (!body_ns.empty() && body_ns != ns) {
      return Status::BadRequest("the namespace of the provided object does not match the namespace sent on the request");
    }
    if (ns.empty()) return Status::BadRequest("a namespace is required to create " + kind.resource_name());
    meta["namespace"] = ns;
  } else {
    meta.erase("namespace");
  }
  if (!MetaString(obj, "resourceVersion").empty()) {
    return Status::BadRequest("resourceVersion should not be set on objects to be created");
  }
  // Fields the server owns.
  meta.erase("resourceVersion");
  meta.erase("deletionTimestamp");
  meta.erase("deletionGracePeriodSeconds");
  meta.erase("managedFields");
  meta.erase("selfLink");
  // Strict decoding comes first, as in Kubernetes (where hooks only ever see typed objects):
  // prepare_create and generateName must not run on, or silently repair, a mistyped body.
  if (kind.schema) {
    FieldErrors errors;
    CheckStrict(*kind.schema, obj, "", &errors);
    if (!errors.empty()) return Invalid(kind, MetaString(obj, "name"), errors);
  }
  meta["uid"] = NewUid();
  meta["creationTimestamp"] = NowRfc3339();
  if (kind.has_generation) meta["generation"] = 1;
  else meta.erase("generation");
  if (kind.prepare_create) kind.prepare_create(obj);

  auto pending = std::make_shared<PendingCreate>();
  pending->kind = &kind;
  pending->ns = ns;
  pending->generate_name = MetaString(obj, "generateName");
  pending->generated = MetaString(obj, "name").empty() && !pending->generate_name.empty();
  if (pending->generated) obj["metadata"]["name"] = pending->generate_name + RandomNameSuffix();
  CAPSTAN_RETURN_IF_ERROR(Admit(kind, obj, nullptr));
  if (kind.namespaced) CAPSTAN_RETURN_IF_ERROR(CheckNamespaceActive(ns));
  auto claims = ClaimOps(kind, obj, StoreKey(kind, ns, MetaString(obj, "name")));
  if (!claims.ok()) return claims.status();
  pending->claims = std::move(*claims);
  pending->object = std::move(obj);
  return pending;
}

void ResourceService::CommitCreate(std::shared_ptr<PendingCreate> pending, int attempt, CreateCallback done) {
  const KindInfo& kind = *pending->kind;
  const std::string name = MetaString(pending->object, "name");
  const std::string uid = MetaString(pending->object, "uid");
  // The object goes with the write to its event (stored_object_memo.h), which shares it with the
  // answer; it comes back to `pending` only if the write fails, when no one else has seen it.
  auto written = std::make_shared<json>(std::move(pending->object));
  std::vector<store::Op> ops{ObjectOp(store::Op::Kind::kCreate, StoreKey(kind, pending->ns, name), written, 0)};
  std::string encoded = ops[0].value;
  for (const store::Op& claim : pending->claims) {
    ops.push_back(claim);
    ops.back().value = ClaimValue(ops[0].key, uid);
  }
  const bool claimed = !pending->claims.empty();
  store_->TxnAsync(std::move(ops), [this, pending, attempt, name, claimed, written, encoded = std::move(encoded),
                                    done = std::move(done)](Result<std::vector<store::WriteResult>> wr) mutable {
    const KindInfo& kind = *pending->kind;
    if (wr.ok()) {
      const int64_t revision = wr->front().revision;
      std::string text = EncodedWithResourceVersion(encoded, revision);
      if (text.empty()) text = written->dump(-1, ' ', false, json::error_handler_t::replace);
      return done(CreatedObject{std::move(written), std::move(text)});  // stamped with its revision
    }
    pending->object = std::move(*written);
    // The object's op comes first, so a failure that names a claim's key means the object was
    // free but a claim was taken between the check and the commit.
    if (claimed && wr.status().message().find(kClaimPrefix) != std::string::npos) {
      return done(Status::Conflict("Operation cannot be fulfilled on " + kind.resource_name() + " \"" + name +
                                   "\": a port or address it claims was taken concurrently; try again"));
    }
    if (wr.status().IsAlreadyExists()) {
      if (pending->generated && attempt + 1 < kMaxGenerateNameTries) {
        pending->object["metadata"]["name"] = pending->generate_name + RandomNameSuffix();
        return CommitCreate(std::move(pending), attempt + 1, std::move(done));
      }
      return done(Status::AlreadyExists(kind.resource_name() + " \"" + name + "\" already exists"));
    }
    done(wr.status());
  });
}

}  // namespace capstan::api
