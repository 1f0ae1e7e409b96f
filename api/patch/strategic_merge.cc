// Strategic merge patch, following k8s.io/apimachinery/pkg/util/strategicpatch (mergeMap,
// mergeSlice) with these deliberate differences, all toward less surprising results:
//   * a value absent from the original is merged into an empty value rather than copied raw, so
//     directives and nulls inside it are honoured instead of being stored literally;
//   * `$patch: delete` on a nested map removes the key (apimachinery leaves `{}` behind); on the
//     whole object it yields {};
//   * `$patch: merge` is accepted (as a no-op) in maps and list elements, where apimachinery
//     rejects it in maps;
//   * `$setElementOrder/<field>` is applied: the listed elements take the listed order, in the
//     positions they occupy; elements not listed (added by the server) keep their positions;
//   * `$retainKeys` drops the original's keys that are not listed; it does not check the list
//     against the patch.
#include <algorithm>
#include <exception>
#include <string>
#include <vector>

#include "api/patch/patch.h"

namespace capstan::api {

namespace {

constexpr char kPatch[] = "$patch";
constexpr char kRetainKeys[] = "$retainKeys";
constexpr std::string_view kDeleteFromPrimitiveList = "$deleteFromPrimitiveList/";
constexpr std::string_view kSetElementOrder = "$setElementOrder/";

const Schema* Known(const Schema* schema) {
  return schema != nullptr && schema->type != Type::kAny ? schema : nullptr;
}

const Schema* ChildSchema(const Schema* schema, const std::string& key) {
  if (schema == nullptr) return nullptr;
  if (schema->type == Type::kMap) return Known(schema->values.get());
  if (schema->type != Type::kObject) return nullptr;
  const Field* field = schema->FindField(key);
  return field != nullptr ? Known(field->schema.get()) : nullptr;
}

bool HasStrategy(const Schema* schema, std::string_view strategy) {
  return schema != nullptr && schema->patch_strategy.find(strategy) != std::string::npos;
}

std::string Join(const std::string& path, const std::string& key) { return path.empty() ? key : path + "." + key; }

class Merger {
 public:
  // Merges `patch` (an object) into `*original` (an object). Sets *remove when the patch says the
  // whole map goes (`$patch: delete`).
  Status MergeMap(json* original, const json& patch, const Schema* schema, const std::string& path,
                  bool* remove) {
    *remove = false;
    if (auto directive = patch.find(kPatch); directive != patch.end()) {
      std::string d = directive->is_string() ? directive->get<std::string>() : directive->dump();
      if (d == "delete") {
        *original = json::object();
        *remove = true;
        return Status::Ok();
      }
      if (d == "replace") {
        json rest = patch;
        rest.erase(kPatch);
        *original = json::object();
        return MergeMap(original, rest, schema, path, remove);
      }
      if (d != "merge") return Bad(path, "unknown $patch directive \"" + d + "\"");
    }
    if (auto retain = patch.find(kRetainKeys); retain != patch.end()) {
      CAPSTAN_RETURN_IF_ERROR(RetainKeys(original, *retain, path));
    }
    // Deletions from primitive lists come before the merge of the same field.
    for (auto it = patch.begin(); it != patch.end(); ++it) {
      if (it.key().rfind(kDeleteFromPrimitiveList, 0) != 0) continue;
      std::string field = it.key().substr(kDeleteFromPrimitiveList.size());
      if (!it->is_array()) return Bad(Join(path, it.key()), "must be a list");
      auto target = original->find(field);
      if (target == original->end() || !target->is_array()) continue;
      auto& items = target->get_ref<json::array_t&>();
      items.erase(std::remove_if(items.begin(), items.end(),
                                 [&](const json& v) { return std::find(it->begin(), it->end(), v) != it->end(); }),
                  items.end());
    }
    for (auto it = patch.begin(); it != patch.end(); ++it) {
      const std::string& key = it.key();
      if (key == kPatch || key == kRetainKeys || key.rfind(kDeleteFromPrimitiveList, 0) == 0 ||
          key.rfind(kSetElementOrder, 0) == 0) {
        continue;
      }
      if (it->is_null()) {
        original->erase(key);
        continue;
      }
      json& target = (*original)[key];
      bool remove_child = false;
      CAPSTAN_RETURN_IF_ERROR(MergeValue(&target, *it, ChildSchema(schema, key), Join(path, key), &remove_child));
      if (remove_child) original->erase(key);
    }
    for (auto it = patch.begin(); it != patch.end(); ++it) {
      if (it.key().rfind(kSetElementOrder, 0) != 0) continue;
      std::string field = it.key().substr(kSetElementOrder.size());
      if (!it->is_array()) return Bad(Join(path, it.key()), "must be a list");
      auto target = original->find(field);
      if (target == original->end() || !target->is_array()) continue;
      const Schema* list = ChildSchema(schema, field);
      ApplyOrder(&*target, *it, list != nullptr ? list->merge_key : "");
    }
    return Status::Ok();
  }

 private:
  static Status Bad(const std::string& path, const std::string& what) {
    return Status::BadRequest("strategic merge patch" + (path.empty() ? "" : " at " + path) + ": " + what);
  }

  Status MergeValue(json* target, const json& patch, const Schema* schema, const std::string& path, bool* remove) {
    *remove = false;
    if (HasStrategy(schema, "replace") && !patch.is_null()) {
      *target = patch;
      return Status::Ok();
    }
    if (patch.is_object()) {
      if (!target->is_object()) *target = json::object();
      return MergeMap(target, patch, schema, path, remove);
    }
    if (patch.is_array()) {
      if (!target->is_array()) *target = json::array();
      return MergeList(target, patch, schema, path);
    }
    *target = patch;
    return Status::Ok();
  }

  Status RetainKeys(json* original, const json& retain, const std::string& path) {
    if (!retain.is_array()) return Bad(path, "$retainKeys must be a list of strings");
    for (const json& k : retain) {
      if (!k.is_string()) return Bad(path, "$retainKeys must be a list of strings");
    }
    for (auto it = original->begin(); it != original->end();) {
      if (std::find(retain.begin(), retain.end(), json(it.key())) == retain.end()) {
        it = original->erase(it);
      } else {
        ++it;
      }
    }
    return Status::Ok();
  }

  Status MergeList(json* original, const json& patch, const Schema* schema, const std::string& path) {
    const std::string merge_key = schema != nullptr ? schema->merge_key : "";
    bool atomic = schema == nullptr || schema->list_type == "atomic" || HasStrategy(schema, "replace") ||
                  (merge_key.empty() && !HasStrategy(schema, "merge"));
    // Directive elements first: they change how the rest is read.
    bool replace = false;
    std::vector<json> delete_keys;
    std::vector<const json*> elements;
    for (const json& element : patch) {
      auto directive = element.is_object() ? element.find(kPatch) : element.end();
      if (!element.is_object() || directive == element.end()) {
        elements.push_back(&element);
        continue;
      }
      std::string d = directive->is_string() ? directive->get<std::string>() : directive->dump();
      if (d == "replace") {
        replace = true;
      } else if (d == "delete") {
        if (merge_key.empty()) return Bad(path, "$patch: delete in a list without a merge key");
        auto key = element.find(merge_key);
        if (key == element.end()) return Bad(path, "$patch: delete element lacks the merge key \"" + merge_key + "\"");
        delete_keys.push_back(*key);
      } else if (d == "merge") {
        if (element.size() > 1) elements.push_back(&element);
      } else {
        return Bad(path, "unknown $patch directive \"" + d + "\"");
      }
    }
    if (replace || atomic) {
      json result = json::array();
      for (const json* element : elements) {
        json value = *element;
        if (value.is_object()) value.erase(kPatch);
        result.push_back(std::move(value));
      }
      *original = std::move(result);
      return Status::Ok();
    }
    auto& items = original->get_ref<json::array_t&>();
    if (merge_key.empty()) {  // a set of primitives: union, original order first
      for (const json* element : elements) {
        if (std::find(items.begin(), items.end(), *element) == items.end()) items.push_back(*element);
      }
      return Status::Ok();
    }
    auto matches = [&merge_key](const json& item, const json& key) {
      if (!item.is_object()) return false;
      auto k = item.find(merge_key);
      return k != item.end() && *k == key;
    };
    for (const json& key : delete_keys) {
      items.erase(std::remove_if(items.begin(), items.end(), [&](const json& item) { return matches(item, key); }),
                  items.end());
    }
    const Schema* item_schema = Known(schema->items.get());
    for (const json* element : elements) {
      if (!element->is_object()) return Bad(path, "list elements must be objects with the merge key \"" + merge_key + "\"");
      auto key = element->find(merge_key);
      if (key == element->end()) return Bad(path, "list element does not contain the merge key \"" + merge_key + "\"");
      std::string element_path = path + "[" + merge_key + "=" + (key->is_string() ? key->get<std::string>() : key->dump()) + "]";
      auto found = std::find_if(items.begin(), items.end(), [&](const json& item) { return matches(item, *key); });
      json merged = found != items.end() ? *found : json::object();
      bool remove = false;
      CAPSTAN_RETURN_IF_ERROR(MergeMap(&merged, *element, item_schema, element_path, &remove));
      if (found != items.end()) {
        *found = std::move(merged);
      } else {
        items.push_back(std::move(merged));
      }
    }
    return Status::Ok();
  }

  // Elements named in `order` take that order, in the positions such elements already occupy.
  static void ApplyOrder(json* list, const json& order, const std::string& merge_key) {
    auto identity = [&merge_key](const json& v) -> json {
      if (!merge_key.empty() && v.is_object()) {
        auto k = v.find(merge_key);
        return k != v.end() ? *k : json();
      }
      return v;
    };
    std::vector<json> wanted;
    for (const json& o : order) wanted.push_back(identity(o));
    auto rank = [&wanted](const json& id) -> size_t {
      return static_cast<size_t>(std::find(wanted.begin(), wanted.end(), id) - wanted.begin());
    };
    auto& items = list->get_ref<json::array_t&>();
    std::vector<size_t> positions;
    std::vector<json> listed;
    for (size_t i = 0; i < items.size(); ++i) {
      if (rank(identity(items[i])) < wanted.size()) {
        positions.push_back(i);
        listed.push_back(items[i]);
      }
    }
    std::stable_sort(listed.begin(), listed.end(),
                     [&](const json& a, const json& b) { return rank(identity(a)) < rank(identity(b)); });
    for (size_t i = 0; i < positions.size(); ++i) items[positions[i]] = std::move(listed[i]);
  }
};

}  // namespace

Result<json> ApplyStrategicMergePatch(const json& document, const json& patch, const Schema* schema) {
  if (!patch.is_object()) return Status::BadRequest("strategic merge patch must be a JSON object");
  try {
    json result = document.is_object() ? document : json::object();
    bool remove = false;
    CAPSTAN_RETURN_IF_ERROR(Merger().MergeMap(&result, patch, Known(schema), "", &remove));
    return result;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("applying strategic merge patch: ") + e.what());
  }
}

}  // namespace capstan::api
