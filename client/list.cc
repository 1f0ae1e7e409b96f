#include "client/list.h"
#include "client/json_fields.h"

namespace capstan::client {

using nlohmann::json;

Result<json> ListAll(const RestClient& client, const ResourceInfo& resource, const std::string& path,
                     const ListOptions& options) {
  json merged;
  std::string continue_token;
  // A server that ignores `limit` returns everything at once and no token: one iteration.
  for (int page = 0;; ++page) {
    Query query;
    if (!options.label_selector.empty()) query.emplace_back("labelSelector", options.label_selector);
    if (!options.field_selector.empty()) query.emplace_back("fieldSelector", options.field_selector);
    if (options.chunk_size > 0) query.emplace_back("limit", std::to_string(options.chunk_size));
    if (!continue_token.empty()) query.emplace_back("continue", continue_token);
    Result<json> answer = client.Get(path, query, options.as_table ? kAcceptTable : "");
    if (!answer.ok()) return answer.status();
    json& doc = *answer;
    if (!doc.is_object()) return Status::Internal("list " + path + ": the server answered with a non-object");

    // Tables carry rows, lists carry items; a server that cannot print tables answers a list.
    const char* entries = StringField(doc, "kind") == "Table" ? "rows" : "items";
    if (!doc.contains(entries) || !doc[entries].is_array()) doc[entries] = json::array();
    if (std::string(entries) == "items") {
      for (json& item : doc["items"]) {
        if (!item.is_object()) continue;
        if (!item.contains("apiVersion")) item["apiVersion"] = resource.ApiVersion();
        if (!item.contains("kind")) item["kind"] = resource.kind;
      }
    }
    if (page == 0) {
      merged = std::move(doc);
    } else {
      for (json& entry : doc[entries]) merged[entries].push_back(std::move(entry));
      if (doc.contains("metadata")) merged["metadata"] = std::move(doc["metadata"]);
    }
    continue_token.clear();
    if (merged.contains("metadata") && merged["metadata"].is_object()) {
      json& metadata = merged["metadata"];
      if (metadata.contains("continue") && metadata["continue"].is_string()) continue_token = metadata["continue"];
      metadata.erase("continue");
      metadata.erase("remainingItemCount");
    }
    if (continue_token.empty()) break;
    if (page > 100000) return Status::Internal("list " + path + ": the server keeps returning continue tokens");
  }
  return merged;
}

}  // namespace capstan::client
