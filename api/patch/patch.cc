// JSON Patch (RFC 6902), JSON Merge Patch (RFC 7386), the apply three-way patch and JsonContains.
// Strategic merge patch is in strategic_merge.cc.
#include "api/patch/patch.h"

#include <exception>
#include <string>
#include <vector>

namespace capstan::api {

namespace {

// Thrown only inside ApplyJsonPatch to leave an operation early; caught there.
struct OpFailure {
  Status status;
};

class JsonPatcher {
 public:
  explicit JsonPatcher(json document) : doc_(std::move(document)) {}

  json Take() { return std::move(doc_); }

  void Apply(size_t index, const json& op) {
    index_ = index;
    label_.clear();
    if (!op.is_object()) Fail("an operation must be an object");
    auto op_it = op.find("op");
    if (op_it == op.end() || !op_it->is_string()) Fail("missing or non-string \"op\"");
    const std::string& name = op_it->get_ref<const std::string&>();
    auto path_it = op.find("path");
    label_ = name + " " + (path_it != op.end() && path_it->is_string() ? path_it->get<std::string>() : "");
    if (path_it == op.end()) Fail("missing \"path\"");
    std::vector<std::string> path = ParsePointer(*path_it, "path");

    if (name == "add" || name == "replace" || name == "test") {
      auto value = op.find("value");
      if (value == op.end()) Fail("missing \"value\"");
      if (name == "add") return Add(path, *value);
      if (name == "replace") return Replace(path, *value);
      const json* current = Find(path);
      if (current == nullptr || *current != *value) {
        throw OpFailure{Status::Conflict(Prefix() + "test failed: " +
                                         (current == nullptr ? "path not found"
                                                             : "value is " + Short(*current)))};
      }
      return;
    }
    if (name == "remove") {
      Remove(path);
      return;
    }
    if (name == "move" || name == "copy") {
      auto from_it = op.find("from");
      if (from_it == op.end()) Fail("missing \"from\"");
      std::vector<std::string> from = ParsePointer(*from_it, "from");
      const json* source = Find(from);
      if (source == nullptr) Fail("\"from\" path not found");
      if (name == "copy") return Add(path, json(*source));
      if (from == path) return;
      if (from.size() < path.size() && std::equal(from.begin(), from.end(), path.begin())) {
        Fail("cannot move a value into one of its own children");
      }
      json value = Remove(from);
      return Add(path, std::move(value));
    }
    Fail("unknown operation \"" + name + "\"");
  }

 private:
  std::string Prefix() const {
    return "json patch operation " + std::to_string(index_) + (label_.empty() ? "" : " (" + label_ + ")") + ": ";
  }
  [[noreturn]] void Fail(const std::string& what) const { throw OpFailure{Status::Invalid(Prefix() + what)}; }

  static std::string Short(const json& v) {
    std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
    return s.size() > 80 ? s.substr(0, 77) + "..." : s;
  }

  std::vector<std::string> ParsePointer(const json& pointer, const char* field) const {
    if (!pointer.is_string()) Fail(std::string("\"") + field + "\" must be a string");
    const std::string& s = pointer.get_ref<const std::string&>();
    std::vector<std::string> tokens;
    if (s.empty()) return tokens;
    if (s[0] != '/') Fail("JSON pointer \"" + s + "\" must start with '/'");
    std::string token;
    for (size_t i = 1; i <= s.size(); ++i) {
      if (i == s.size() || s[i] == '/') {
        tokens.push_back(std::move(token));
        token.clear();
      } else if (s[i] == '~') {
        char next = i + 1 < s.size() ? s[i + 1] : '\0';
        if (next != '0' && next != '1') Fail("JSON pointer \"" + s + "\" has an invalid escape");
        token.push_back(next == '0' ? '~' : '/');
        ++i;
      } else {
        token.push_back(s[i]);
      }
    }
    return tokens;
  }

  // An array index: digits without leading zeros. "-" is handled by the callers that allow it.
  static bool ParseIndex(const std::string& token, size_t* out) {
    if (token.empty() || token.size() > 18 || (token.size() > 1 && token[0] == '0')) return false;
    size_t v = 0;
    for (char c : token) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<size_t>(c - '0');
    }
    *out = v;
    return true;
  }

  // The value at the first `count` tokens of `path`, or nullptr.
  json* Walk(const std::vector<std::string>& path, size_t count) {
    json* cur = &doc_;
    for (size_t i = 0; i < count; ++i) {
      const std::string& token = path[i];
      if (cur->is_object()) {
        auto it = cur->find(token);
        if (it == cur->end()) return nullptr;
        cur = &*it;
      } else if (cur->is_array()) {
        size_t index = 0;
        if (!ParseIndex(token, &index) || index >= cur->size()) return nullptr;
        cur = &(*cur)[index];
      } else {
        return nullptr;
      }
    }
    return cur;
  }
  const json* Find(const std::vector<std::string>& path) { return Walk(path, path.size()); }

  json* Parent(const std::vector<std::string>& path) {
    json* parent = Walk(path, path.size() - 1);
    if (parent == nullptr) Fail("path not found");
    if (!parent->is_object() && !parent->is_array()) Fail("parent is neither an object nor an array");
    return parent;
  }

  void Add(const std::vector<std::string>& path, json value) {
    if (path.empty()) {
      doc_ = std::move(value);
      return;
    }
    json* parent = Parent(path);
    const std::string& last = path.back();
    if (parent->is_object()) {
      (*parent)[last] = std::move(value);
      return;
    }
    if (last == "-") {
      parent->push_back(std::move(value));
      return;
    }
    size_t index = 0;
    if (!ParseIndex(last, &index)) Fail("invalid array index \"" + last + "\"");
    if (index > parent->size()) Fail("array index " + last + " out of range");
    auto& array = parent->get_ref<json::array_t&>();
    array.insert(array.begin() + static_cast<std::ptrdiff_t>(index), std::move(value));
  }

  json Remove(const std::vector<std::string>& path) {
    if (path.empty()) Fail("cannot remove the whole document");
    json* parent = Parent(path);
    const std::string& last = path.back();
    if (parent->is_object()) {
      auto it = parent->find(last);
      if (it == parent->end()) Fail("path not found");
      json removed = std::move(*it);
      parent->erase(it);
      return removed;
    }
    size_t index = 0;
    if (!ParseIndex(last, &index) || index >= parent->size()) Fail("array index \"" + last + "\" out of range");
    auto& array = parent->get_ref<json::array_t&>();
    json removed = std::move(array[index]);
    array.erase(array.begin() + static_cast<std::ptrdiff_t>(index));
    return removed;
  }

  void Replace(const std::vector<std::string>& path, const json& value) {
    json* target = Walk(path, path.size());
    if (target == nullptr) Fail("path not found");
    *target = value;
  }

  json doc_;
  size_t index_ = 0;
  std::string label_;
};

}  // namespace

Result<json> ApplyJsonPatch(const json& document, const json& patch) {
  if (!patch.is_array()) return Status::BadRequest("json patch must be an array of operations");
  try {
    JsonPatcher patcher(document);
    for (size_t i = 0; i < patch.size(); ++i) patcher.Apply(i, patch[i]);
    return patcher.Take();
  } catch (const OpFailure& failure) {
    return failure.status;
  } catch (const std::exception& e) {
    return Status::Internal(std::string("applying json patch: ") + e.what());
  }
}

json ApplyMergePatch(const json& document, const json& patch) {
  if (!patch.is_object()) return patch;
  json result = document.is_object() ? document : json::object();
  for (auto it = patch.begin(); it != patch.end(); ++it) {
    if (it->is_null()) {
      result.erase(it.key());
      continue;
    }
    auto existing = result.find(it.key());
    json merged = ApplyMergePatch(existing == result.end() ? json() : *existing, *it);
    result[it.key()] = std::move(merged);
  }
  return result;
}

bool JsonContains(const json& whole, const json& part) {
  // What the user left empty (or null) the server may drop entirely, as Go's omitempty does.
  if (part.is_null() || ((part.is_object() || part.is_array()) && part.empty())) {
    if (whole.is_null()) return true;
  }
  if (part.is_object()) {
    if (!whole.is_object()) return false;
    for (auto it = part.begin(); it != part.end(); ++it) {
      auto found = whole.find(it.key());
      if (!JsonContains(found == whole.end() ? json() : *found, *it)) return false;
    }
    return true;
  }
  if (part.is_array()) {
    if (!whole.is_array() || whole.size() != part.size()) return false;
    for (size_t i = 0; i < part.size(); ++i) {
      if (!JsonContains(whole[i], part[i])) return false;
    }
    return true;
  }
  return whole == part;
}

json CreateThreeWayMergePatch(const json& original, const json& modified, const json& current) {
  json patch = json::object();
  if (!modified.is_object()) return patch;
  // Deletions: declared last time, not any more, and still there.
  if (original.is_object()) {
    for (auto it = original.begin(); it != original.end(); ++it) {
      if (modified.contains(it.key())) continue;
      if (current.is_object() && current.contains(it.key())) patch[it.key()] = nullptr;
    }
  }
  for (auto it = modified.begin(); it != modified.end(); ++it) {
    const json& want = *it;
    auto live = current.is_object() ? current.find(it.key()) : current.end();
    bool present = current.is_object() && live != current.end();
    const json& have = present ? *live : json();
    if (want.is_object() && have.is_object()) {
      auto before = original.is_object() ? original.find(it.key()) : original.end();
      bool had_before = original.is_object() && before != original.end();
      json sub = CreateThreeWayMergePatch(had_before ? *before : json(), want, have);
      if (!sub.empty()) patch[it.key()] = std::move(sub);
      continue;
    }
    if (!JsonContains(have, want)) patch[it.key()] = want;
  }
  return patch;
}

}  // namespace capstan::api
