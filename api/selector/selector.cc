// Label selector grammar and validation follow k8s.io/apimachinery/pkg/labels (lexer, parser,
// validation messages); field selectors follow pkg/fields (terms split on unescaped commas,
// values unescaped, `=`, `==`, `!=`).
#include "api/selector/selector.h"

#include <algorithm>
#include <set>

namespace capstan::api {

namespace {

using Op = LabelSelector::Requirement::Op;

bool IsAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'); }

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool IsQualifiedNamePart(std::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

// A lowercase RFC 1123 subdomain: dot-separated labels of [a-z0-9-], alphanumeric at both ends.
bool IsDns1123Subdomain(std::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  while (start <= s.size()) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.front() == '-' || label.back() == '-') return false;
    for (char c : label) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return true;
}

constexpr const char* kNameMessage =
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is "
    "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";

// Empty when `key` is a valid label key, else why not.
std::string KeyProblem(const std::string& key) {
  std::string_view name = key;
  size_t slash = key.find('/');
  if (slash != std::string::npos) {
    std::string_view prefix = std::string_view(key).substr(0, slash);
    name = std::string_view(key).substr(slash + 1);
    if (prefix.empty()) return "prefix part must be non-empty";
    if (prefix.size() > 253) return "prefix part must be no more than 253 characters";
    if (!IsDns1123Subdomain(prefix)) {
      return "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
             "'-' or '.', and must start and end with an alphanumeric character";
    }
    if (name.find('/') != std::string_view::npos) {
      return "a qualified name must consist of an optional DNS subdomain prefix and '/' followed by a name";
    }
  }
  if (name.empty()) return "name part must be non-empty";
  if (name.size() > 63) return "name part must be no more than 63 characters";
  if (!IsQualifiedNamePart(name)) return kNameMessage;
  return "";
}

std::string ValueProblem(const std::string& value) {
  if (value.empty()) return "";
  if (value.size() > 63) return "must be no more than 63 characters";
  if (!IsQualifiedNamePart(value)) {
    return "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and "
           "must start and end with an alphanumeric character";
  }
  return "";
}

Status CheckRequirement(const LabelSelector::Requirement& r, Code code) {
  if (std::string problem = KeyProblem(r.key); !problem.empty()) {
    return Status(code, "unable to parse requirement: invalid label key \"" + r.key + "\": " + problem);
  }
  for (const std::string& v : r.values) {
    if (std::string problem = ValueProblem(v); !problem.empty()) {
      return Status(code, "unable to parse requirement: invalid label value \"" + v + "\" for key \"" + r.key +
                              "\": " + problem);
    }
  }
  return Status::Ok();
}

// ---- The label selector lexer and parser ----

enum class Tok { kIdentifier, kNot, kEquals, kDoubleEquals, kNotEquals, kIn, kNotIn, kOpen, kClose, kComma,
                 kGreater, kLess, kEnd };

struct Token {
  Tok type;
  std::string text;
};

bool IsSpecial(char c) { return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '>' || c == '<'; }
bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::vector<Token> Lex(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  while (true) {
    while (i < s.size() && IsSpace(s[i])) ++i;
    if (i == s.size()) break;
    char c = s[i];
    if (IsSpecial(c)) {
      if ((c == '=' || c == '!') && i + 1 < s.size() && s[i + 1] == '=') {
        out.push_back({c == '=' ? Tok::kDoubleEquals : Tok::kNotEquals, std::string(1, c) + "="});
        i += 2;
        continue;
      }
      Tok t = c == '=' ? Tok::kEquals : c == '!' ? Tok::kNot : c == '(' ? Tok::kOpen : c == ')' ? Tok::kClose
              : c == ',' ? Tok::kComma : c == '>' ? Tok::kGreater : Tok::kLess;
      out.push_back({t, std::string(1, c)});
      ++i;
      continue;
    }
    size_t start = i;
    while (i < s.size() && !IsSpace(s[i]) && !IsSpecial(s[i])) ++i;
    std::string word = s.substr(start, i - start);
    Tok t = word == "in" ? Tok::kIn : word == "notin" ? Tok::kNotIn : Tok::kIdentifier;
    out.push_back({t, std::move(word)});
  }
  out.push_back({Tok::kEnd, ""});
  return out;
}

class Parser {
 public:
  explicit Parser(const std::string& text) : tokens_(Lex(text)) {}

  Status Parse(std::vector<LabelSelector::Requirement>* out) {
    if (Peek().type == Tok::kEnd) return Status::Ok();
    while (true) {
      LabelSelector::Requirement r;
      CAPSTAN_RETURN_IF_ERROR(ParseRequirement(&r));
      CAPSTAN_RETURN_IF_ERROR(CheckRequirement(r, Code::kBadRequest));
      out->push_back(std::move(r));
      const Token& t = Next();
      if (t.type == Tok::kEnd) return Status::Ok();
      if (t.type != Tok::kComma) return Unexpected(t, "',' or 'end of string'");
    }
  }

 private:
  const Token& Peek() const { return tokens_[pos_]; }
  const Token& Next() { return tokens_[pos_ < tokens_.size() - 1 ? pos_++ : pos_]; }
  static bool IsWord(const Token& t) { return t.type == Tok::kIdentifier || t.type == Tok::kIn || t.type == Tok::kNotIn; }

  static Status Unexpected(const Token& t, const std::string& expected) {
    std::string found = t.type == Tok::kEnd ? "end of string" : t.text;
    return Status::BadRequest("unable to parse requirement: found '" + found + "', expected: " + expected);
  }

  Status ParseRequirement(LabelSelector::Requirement* r) {
    bool negated = false;
    if (Peek().type == Tok::kNot) {
      Next();
      negated = true;
    }
    const Token& key = Next();
    if (key.type != Tok::kIdentifier) return Unexpected(key, "identifier");
    r->key = key.text;
    Tok after = Peek().type;
    if (after == Tok::kEnd || after == Tok::kComma) {
      r->op = negated ? Op::kDoesNotExist : Op::kExists;
      return Status::Ok();
    }
    if (negated) return Unexpected(Peek(), "',' or 'end of string'");
    const Token& op = Next();
    switch (op.type) {
      case Tok::kEquals:
      case Tok::kDoubleEquals:
      case Tok::kNotEquals: {
        r->op = op.type == Tok::kNotEquals ? Op::kNotEquals : Op::kEquals;
        const Token& value = Peek();
        if (value.type == Tok::kEnd || value.type == Tok::kComma) {
          r->values = {""};
        } else if (IsWord(value)) {
          r->values = {Next().text};
        } else {
          return Unexpected(value, "identifier");
        }
        return Status::Ok();
      }
      case Tok::kIn:
      case Tok::kNotIn:
        r->op = op.type == Tok::kIn ? Op::kIn : Op::kNotIn;
        return ParseSet(r);
      case Tok::kGreater:
      case Tok::kLess:
        return Status::BadRequest("unable to parse requirement: operator '" + op.text + "' is not supported");
      default:
        return Unexpected(op, "in, notin, =, ==, !=");
    }
  }

  // "(a, b, c)"; empty members are the empty string, as in Kubernetes ("()" is {""}).
  Status ParseSet(LabelSelector::Requirement* r) {
    const Token& open = Next();
    if (open.type != Tok::kOpen) return Unexpected(open, "'('");
    std::set<std::string> values;
    bool expect_value = true;
    while (true) {
      const Token& t = Next();
      if (IsWord(t) && expect_value) {
        values.insert(t.text);
        expect_value = false;
      } else if (t.type == Tok::kComma) {
        if (expect_value) values.insert("");
        expect_value = true;
      } else if (t.type == Tok::kClose) {
        if (expect_value) values.insert("");
        break;
      } else {
        return Unexpected(t, expect_value ? "identifier, ',' or ')'" : "',' or ')'");
      }
    }
    r->values.assign(values.begin(), values.end());
    return Status::Ok();
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
};

void SortByKey(std::vector<LabelSelector::Requirement>* requirements) {
  std::stable_sort(requirements->begin(), requirements->end(),
                   [](const auto& a, const auto& b) { return a.key < b.key; });
}

}  // namespace

Result<LabelSelector> LabelSelector::Parse(const std::string& text) {
  LabelSelector selector;
  CAPSTAN_RETURN_IF_ERROR(Parser(text).Parse(&selector.requirements_));
  SortByKey(&selector.requirements_);
  return selector;
}

Result<LabelSelector> LabelSelector::FromObject(const nlohmann::json& object) {
  LabelSelector selector;
  if (object.is_null()) return selector;
  if (!object.is_object()) return Status::Invalid("selector: Invalid value: must be an object");
  if (auto labels = object.find("matchLabels"); labels != object.end() && !labels->is_null()) {
    if (!labels->is_object()) return Status::Invalid("selector.matchLabels: Invalid value: must be an object");
    for (auto it = labels->begin(); it != labels->end(); ++it) {
      if (!it->is_string()) {
        return Status::Invalid("selector.matchLabels." + it.key() + ": Invalid value: must be a string");
      }
      Requirement r{Op::kEquals, it.key(), {it->get<std::string>()}};
      CAPSTAN_RETURN_IF_ERROR(CheckRequirement(r, Code::kInvalid));
      selector.requirements_.push_back(std::move(r));
    }
  }
  if (auto exprs = object.find("matchExpressions"); exprs != object.end() && !exprs->is_null()) {
    if (!exprs->is_array()) return Status::Invalid("selector.matchExpressions: Invalid value: must be a list");
    for (size_t i = 0; i < exprs->size(); ++i) {
      const nlohmann::json& e = (*exprs)[i];
      std::string path = "selector.matchExpressions[" + std::to_string(i) + "]";
      if (!e.is_object() || !e.contains("key") || !e["key"].is_string()) {
        return Status::Invalid(path + ".key: Required value");
      }
      std::string op = e.contains("operator") && e["operator"].is_string() ? e["operator"].get<std::string>() : "";
      Requirement r;
      r.key = e["key"].get<std::string>();
      if (op == "In") r.op = Op::kIn;
      else if (op == "NotIn") r.op = Op::kNotIn;
      else if (op == "Exists") r.op = Op::kExists;
      else if (op == "DoesNotExist") r.op = Op::kDoesNotExist;
      else return Status::Invalid(path + ".operator: Invalid value: \"" + op + "\" is not a valid label selector operator");
      std::set<std::string> values;
      if (auto v = e.find("values"); v != e.end() && !v->is_null()) {
        if (!v->is_array()) return Status::Invalid(path + ".values: Invalid value: must be a list of strings");
        for (const auto& item : *v) {
          if (!item.is_string()) return Status::Invalid(path + ".values: Invalid value: must be a list of strings");
          values.insert(item.get<std::string>());
        }
      }
      bool is_set = r.op == Op::kIn || r.op == Op::kNotIn;
      if (is_set && values.empty()) {
        return Status::Invalid(path + ".values: Required value: must be specified when `operator` is 'In' or 'NotIn'");
      }
      if (!is_set && !values.empty()) {
        return Status::Invalid(path + ".values: Forbidden: may not be specified when `operator` is 'Exists' or "
                               "'DoesNotExist'");
      }
      r.values.assign(values.begin(), values.end());
      CAPSTAN_RETURN_IF_ERROR(CheckRequirement(r, Code::kInvalid));
      selector.requirements_.push_back(std::move(r));
    }
  }
  SortByKey(&selector.requirements_);
  return selector;
}

bool LabelSelector::Matches(const nlohmann::json& labels) const {
  for (const Requirement& r : requirements_) {
    std::optional<std::string> value;
    if (labels.is_object()) {
      if (auto it = labels.find(r.key); it != labels.end() && !it->is_null()) {
        value = it->is_string() ? it->get<std::string>() : it->dump();
      }
    }
    auto in_values = [&] { return value && std::find(r.values.begin(), r.values.end(), *value) != r.values.end(); };
    bool ok = false;
    switch (r.op) {
      case Op::kEquals:
      case Op::kIn: ok = in_values(); break;
      case Op::kNotEquals:
      case Op::kNotIn: ok = !in_values(); break;  // an absent label is not equal to anything
      case Op::kExists: ok = value.has_value(); break;
      case Op::kDoesNotExist: ok = !value.has_value(); break;
    }
    if (!ok) return false;
  }
  return true;
}

std::string LabelSelector::ToString() const {
  std::string out;
  for (const Requirement& r : requirements_) {
    if (!out.empty()) out += ",";
    auto set = [&r] {
      std::string s = "(";
      for (size_t i = 0; i < r.values.size(); ++i) s += (i ? "," : "") + r.values[i];
      return s + ")";
    };
    std::string first = r.values.empty() ? "" : r.values[0];
    switch (r.op) {
      case Op::kEquals: out += r.key + "=" + first; break;
      case Op::kNotEquals: out += r.key + "!=" + first; break;
      case Op::kIn: out += r.key + " in " + set(); break;
      case Op::kNotIn: out += r.key + " notin " + set(); break;
      case Op::kExists: out += r.key; break;
      case Op::kDoesNotExist: out += "!" + r.key; break;
    }
  }
  return out;
}

// ---- Field selectors ----

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && IsSpace(s.front())) s.remove_prefix(1);
  while (!s.empty() && IsSpace(s.back())) s.remove_suffix(1);
  return s;
}

// Kubernetes escapes '\', ',' and '=' in values with a backslash; we also accept "\!".
Result<std::string> UnescapeValue(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\') {
      if (i + 1 == s.size()) return Status::BadRequest("invalid field selector value: invalid escape sequence: \\");
      char next = s[++i];
      if (next != '\\' && next != ',' && next != '=' && next != '!') {
        return Status::BadRequest(std::string("invalid field selector value: invalid escape sequence: \\") + next);
      }
      out.push_back(next);
    } else if (c == ',' || c == '=') {
      return Status::BadRequest(std::string("invalid field selector value: unescaped character '") + c + "'");
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

Result<FieldSelector> FieldSelector::Parse(const std::string& text) {
  std::vector<std::string_view> terms;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\') {
      ++i;  // an escaped character never splits; a trailing '\\' is reported by UnescapeValue
    } else if (text[i] == ',') {
      terms.push_back(std::string_view(text).substr(start, i - start));
      start = i + 1;
    }
  }
  terms.push_back(std::string_view(text).substr(start));
  FieldSelector selector;
  for (std::string_view raw : terms) {
    std::string_view term = Trim(raw);
    if (term.empty()) continue;
    size_t op_at = std::string_view::npos;
    size_t op_len = 0;
    bool equals = true;
    for (size_t i = 0; i < term.size() && op_at == std::string_view::npos; ++i) {
      if (term[i] == '\\') {
        ++i;
      } else if (term.substr(i, 2) == "!=" || term.substr(i, 2) == "==") {
        op_at = i;
        op_len = 2;
        equals = term[i] == '=';
      } else if (term[i] == '=') {
        op_at = i;
        op_len = 1;
      }
    }
    std::string quoted = "'" + std::string(term) + "'";
    if (op_at == std::string_view::npos) {
      return Status::BadRequest("invalid selector: " + quoted + "; can't understand " + quoted);
    }
    std::string_view field = Trim(term.substr(0, op_at));
    if (field.empty()) return Status::BadRequest("invalid selector: " + quoted + "; missing field name");
    auto value = UnescapeValue(Trim(term.substr(op_at + op_len)));
    if (!value.ok()) return value.status();
    selector.requirements_.push_back(Requirement{std::string(field), std::move(*value), equals});
  }
  return selector;
}

Status FieldSelector::CheckSupported(const std::vector<std::string>& supported) const {
  for (const Requirement& r : requirements_) {
    if (std::find(supported.begin(), supported.end(), r.field) == supported.end()) {
      return Status::BadRequest("field label not supported: " + r.field);
    }
  }
  return Status::Ok();
}

bool FieldSelector::Matches(
    const std::function<std::optional<std::string>(const std::string& field)>& value_of) const {
  for (const Requirement& r : requirements_) {
    std::string value = value_of(r.field).value_or("");
    if ((value == r.value) != r.equals) return false;
  }
  return true;
}

std::optional<std::string> FieldValue(const nlohmann::json& obj, const std::string& dotted_path) {
  const nlohmann::json* cur = &obj;
  std::string_view rest = dotted_path;
  while (!rest.empty()) {
    if (!cur->is_object()) return std::nullopt;
    // Keys may themselves contain dots (label keys); prefer the longest key that matches.
    const nlohmann::json* next = nullptr;
    size_t consumed = 0;
    for (size_t end = rest.size(); end != std::string_view::npos && end > 0; end = rest.rfind('.', end - 1)) {
      auto it = cur->find(std::string(rest.substr(0, end)));
      if (it != cur->end()) {
        next = &*it;
        consumed = end;
        break;
      }
      if (end == 0) break;
    }
    if (next == nullptr) return std::nullopt;
    cur = next;
    rest = consumed < rest.size() ? rest.substr(consumed + 1) : std::string_view();
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_boolean()) return cur->get<bool>() ? "true" : "false";
  if (cur->is_number()) return cur->dump();
  return std::nullopt;
}

}  // namespace capstan::api
