#include "client/api_client.h"

#include "client/json_fields.h"

namespace capstan::client {

Result<std::optional<WatchEvent>> WatchEvents::NextEvent(std::chrono::milliseconds timeout) {
  Result<std::optional<nlohmann::json>> next = Next(timeout);
  if (!next.ok()) return next.status();
  if (!next->has_value()) return std::optional<WatchEvent>();
  nlohmann::json& event = **next;
  WatchEvent out;
  if (event.is_object()) {
    out.type = StringField(event, "type");
    auto object = event.find("object");
    if (object != event.end()) {
      out.object = std::make_shared<const nlohmann::json>(std::move(*object));
    }
  }
  if (!out.object) out.object = std::make_shared<const nlohmann::json>();
  return std::optional<WatchEvent>(std::move(out));
}

Result<ObjectPtr> ApiClient::WriteShared(SharedWrite verb, const std::string& path, PatchType type,
                                          nlohmann::json&& body, const Query& query) {
  Result<nlohmann::json> r = Status::Internal("unknown write");
  switch (verb) {
    case SharedWrite::kCreate: r = CreateTaking(path, std::move(body), query); break;
    case SharedWrite::kUpdate: r = UpdateTaking(path, std::move(body), query); break;
    case SharedWrite::kPatch: r = PatchTaking(path, type, std::move(body), query); break;
    case SharedWrite::kDelete: r = Delete(path, body, query); break;
  }
  if (!r.ok()) return r.status();
  return ObjectPtr(std::make_shared<const nlohmann::json>(std::move(*r)));
}

Query WithWatchParam(Query query) {
  for (const auto& [key, value] : query) {
    if (key == "watch") return query;
  }
  query.emplace_back("watch", "true");
  return query;
}

Status StatusFromWatchError(const nlohmann::json& object) {
  int code = object.is_object() ? static_cast<int>(IntField(object, "code", 500)) : 500;
  if (code < 400 || code > 599) code = 500;
  return StatusFromResponse(code, object.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

Status CheckListShape(const std::string& path, const nlohmann::json& list) {
  if (!Field(list, "items").is_array()) {
    return Status::Internal("list " + path + ": the server's answer has no \"items\" array");
  }
  return Status::Ok();
}

}  // namespace capstan::client
