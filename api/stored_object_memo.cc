#include "api/stored_object_memo.h"

namespace capstan::api {

void StoredObjectMemo::Stamp(int64_t revision) {
  std::lock_guard<std::mutex> lock(mu_);
  if (object_) (*object_)["metadata"]["resourceVersion"] = std::to_string(revision);
}

ObjectRef StoredObjectMemo::Take() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (!faithful_) return nullptr;
  return std::move(object_);
}

EncodedWrite EncodeWrite(const std::shared_ptr<json>& object) {
  json& obj = *object;
  if (obj.is_object()) {
    auto meta = obj.find("metadata");
    if (meta != obj.end() && meta->is_object()) meta->erase("resourceVersion");
  }
  EncodedWrite out;
  try {
    out.value = obj.dump(-1, ' ', false, json::error_handler_t::strict);
    out.memo = std::make_shared<StoredObjectMemo>(object, /*faithful=*/true);
  } catch (const json::type_error&) {
    // Invalid UTF-8: stored replaced, so the value no longer decodes to `object`.
    out.value = obj.dump(-1, ' ', false, json::error_handler_t::replace);
    out.memo = std::make_shared<StoredObjectMemo>(object, /*faithful=*/false);
  }
  return out;
}

store::Op ObjectOp(store::Op::Kind kind, const std::string& key, const std::shared_ptr<json>& object,
                   int64_t pre_revision) {
  store::Op op;
  op.kind = kind;
  op.key = key;
  op.pre = store::Precondition{pre_revision};
  if (kind == store::Op::Kind::kDelete) {
    op.memo = std::make_shared<StoredObjectMemo>(object, /*faithful=*/true);
    return op;
  }
  EncodedWrite encoded = EncodeWrite(object);
  op.value = std::move(encoded.value);
  op.memo = std::move(encoded.memo);
  return op;
}

}  // namespace capstan::api
