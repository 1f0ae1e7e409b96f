// ToYaml: block-style YAML in the shape kubectl prints (sequences under a key are not indented,
// a map inside a list starts on the "- " line). Written by hand rather than with YAML::Emitter
// because the quoting rule is ours: a string is quoted exactly when reading it back plain would
// give something else, under our core-schema parser and under YAML 1.1 parsers (kubectl's).
#include <cmath>
#include <string>

#include "base/yaml.h"
#include "base/yaml_scalar.h"

namespace capstan {

using json = nlohmann::json;

namespace {

// yaml-cpp refuses implicit keys longer than 1024 characters; longer ones use "? key".
constexpr size_t kMaxImplicitKey = 1000;

// YAML 1.1 spellings that kubectl (YAML 1.1) would read as booleans.
bool IsYaml11Bool(const std::string& s) {
  static const char* const kWords[] = {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
                                       "on", "On", "ON", "off", "Off", "OFF"};
  for (const char* w : kWords) {
    if (s == w) return true;
  }
  return false;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Characters that YAML does not allow raw, or that some parser treats as a line break:
// C0 controls but tab/newline, DEL, C1 controls (U+0080..U+009F, incl. NEL), U+2028, U+2029,
// and the BOM U+FEFF. Returns the byte length of such a character at `i`, else 0.
size_t SpecialCharAt(const std::string& s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  if ((c < 0x20 && c != '\t' && c != '\n') || c == 0x7f) return 1;
  if (c == 0xc2 && i + 1 < s.size()) {
    unsigned char d = static_cast<unsigned char>(s[i + 1]);
    if (d >= 0x80 && d <= 0x9f) return 2;
  }
  if (c == 0xe2 && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0x80) {
    unsigned char e = static_cast<unsigned char>(s[i + 2]);
    if (e == 0xa8 || e == 0xa9) return 3;
  }
  if (c == 0xef && i + 2 < s.size() && static_cast<unsigned char>(s[i + 1]) == 0xbb &&
      static_cast<unsigned char>(s[i + 2]) == 0xbf) {
    return 3;
  }
  return 0;
}

bool HasSpecialChar(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (SpecialCharAt(s, i) != 0) return true;
  }
  return false;
}

// True when `s` written plain would not read back as the same string.
bool NeedsQuotes(const std::string& s) {
  if (s.empty()) return true;
  if (!yaml_internal::ResolvePlainScalar(s).is_string()) return true;
  if (IsYaml11Bool(s) || s == "<<" || s == "=") return true;
  char first = s[0];
  static const std::string kIndicators = "-?:,[]{}#&*!|>'\"%@` \t";
  if (kIndicators.find(first) != std::string::npos) return true;
  // Numbers, timestamps and sexagesimals of YAML 1.1 all start like this; quoting is harmless.
  if (IsDigit(first)) return true;
  if ((first == '.' || first == '+') && s.size() > 1 && (IsDigit(s[1]) || s[1] == '.')) return true;
  char last = s.back();
  if (last == ' ' || last == '\t' || last == ':') return true;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return true;
  if (s.find('\t') != std::string::npos || s.find('\n') != std::string::npos) return true;
  return HasSpecialChar(s);
}

void AppendHex4(unsigned value, std::string* out) {
  static const char kHex[] = "0123456789abcdef";
  out->append("\\u");
  for (int shift = 12; shift >= 0; shift -= 4) out->push_back(kHex[(value >> shift) & 0xf]);
}

// A YAML double-quoted scalar; the escapes used are common to YAML and JSON.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\t': out += "\\t"; continue;
      case '\r': out += "\\r"; continue;
      default: break;
    }
    size_t special = SpecialCharAt(s, i);
    if (special == 1) {
      AppendHex4(static_cast<unsigned char>(c), &out);
    } else if (special == 2) {
      AppendHex4(static_cast<unsigned char>(s[i + 1]), &out);
      i += 1;
    } else if (special == 3) {
      unsigned cp = ((static_cast<unsigned char>(s[i]) & 0x0f) << 12) |
                    ((static_cast<unsigned char>(s[i + 1]) & 0x3f) << 6) |
                    (static_cast<unsigned char>(s[i + 2]) & 0x3f);
      AppendHex4(cp, &out);
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  out += "\"";
  return out;
}

// A literal block ("|" or "|-") reproduces a multi-line string exactly when its lines carry no
// leading indentation to confuse detection, no trailing blanks and nothing that needs escaping.
bool FitsLiteralBlock(const std::string& s) {
  if (s.find('\n') == std::string::npos || HasSpecialChar(s)) return false;
  if (s.find_first_not_of('\n') == std::string::npos) return false;  // blank lines only
  if (s.find('\t') != std::string::npos || s.find('\r') != std::string::npos) return false;
  if (s.size() >= 2 && s.compare(s.size() - 2, 2, "\n\n") == 0) return false;
  bool line_start = true;
  bool seen_content = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == ' ' && (i + 1 == s.size() || s[i + 1] == '\n')) return false;  // trailing blank
    if (line_start && c == ' ' && !seen_content) return false;  // would set the indentation
    if (c != '\n') seen_content = true;
    line_start = (c == '\n');
  }
  return true;
}

void AppendLiteralBlock(const std::string& s, int indent, std::string* out) {
  bool keep_newline = !s.empty() && s.back() == '\n';
  out->append(keep_newline ? "|\n" : "|-\n");
  std::string body = keep_newline ? s.substr(0, s.size() - 1) : s;
  size_t start = 0;
  while (true) {
    size_t end = body.find('\n', start);
    std::string line = body.substr(start, end == std::string::npos ? std::string::npos : end - start);
    if (!line.empty()) out->append(static_cast<size_t>(indent), ' ').append(line);
    out->push_back('\n');
    if (end == std::string::npos) break;
    start = end + 1;
  }
}

std::string Number(const json& v) {
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isnan(d)) return ".nan";
    if (std::isinf(d)) return d > 0 ? ".inf" : "-.inf";
  }
  return v.dump();
}

// A scalar or empty collection after "key: " or "- ", with its newline. `indent` is the column a
// block scalar's lines start at.
void AppendInline(const json& v, int indent, std::string* out) {
  switch (v.type()) {
    case json::value_t::null: out->append("null\n"); return;
    case json::value_t::boolean: out->append(v.get<bool>() ? "true\n" : "false\n"); return;
    case json::value_t::object: out->append("{}\n"); return;
    case json::value_t::array: out->append("[]\n"); return;
    case json::value_t::string: {
      const std::string& s = v.get_ref<const std::string&>();
      if (FitsLiteralBlock(s)) {
        AppendLiteralBlock(s, indent, out);
      } else {
        out->append(NeedsQuotes(s) ? Quote(s) : s).push_back('\n');
      }
      return;
    }
    default: out->append(Number(v)).push_back('\n'); return;
  }
}

bool IsBlockCollection(const json& v) { return (v.is_object() || v.is_array()) && !v.empty(); }

void AppendMap(const json& obj, int indent, bool first_inline, std::string* out);
void AppendSeq(const json& arr, int indent, bool first_inline, std::string* out);

void AppendMap(const json& obj, int indent, bool first_inline, std::string* out) {
  bool first = true;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (!(first && first_inline)) out->append(static_cast<size_t>(indent), ' ');
    first = false;
    const std::string& key = it.key();
    std::string key_text = NeedsQuotes(key) ? Quote(key) : key;
    const json& value = it.value();
    if (key_text.size() > kMaxImplicitKey) {
      out->append("? ").append(key_text).push_back('\n');
      out->append(static_cast<size_t>(indent), ' ').append(":");
      if (value.is_object() && !value.empty()) {
        out->push_back('\n');
        AppendMap(value, indent + 2, false, out);
      } else if (value.is_array() && !value.empty()) {
        out->push_back('\n');
        AppendSeq(value, indent + 2, false, out);
      } else {
        out->push_back(' ');
        AppendInline(value, indent + 2, out);
      }
      continue;
    }
    out->append(key_text).push_back(':');
    if (value.is_object() && !value.empty()) {
      out->push_back('\n');
      AppendMap(value, indent + 2, false, out);
    } else if (value.is_array() && !value.empty()) {
      out->push_back('\n');
      AppendSeq(value, indent, false, out);  // kubectl style: "- " at the key's column
    } else {
      out->push_back(' ');
      AppendInline(value, indent + 2, out);
    }
  }
}

void AppendSeq(const json& arr, int indent, bool first_inline, std::string* out) {
  bool first = true;
  for (const json& item : arr) {
    if (!(first && first_inline)) out->append(static_cast<size_t>(indent), ' ');
    first = false;
    out->append("- ");
    if (item.is_object() && !item.empty()) {
      AppendMap(item, indent + 2, true, out);
    } else if (item.is_array() && !item.empty()) {
      AppendSeq(item, indent + 2, true, out);
    } else {
      AppendInline(item, indent + 2, out);
    }
  }
}

}  // namespace

std::string ToYaml(const json& value) {
  std::string out;
  if (value.is_object() && IsBlockCollection(value)) {
    AppendMap(value, 0, false, &out);
  } else if (value.is_array() && IsBlockCollection(value)) {
    AppendSeq(value, 0, false, &out);
  } else {
    AppendInline(value, 2, &out);
  }
  return out;
}

}  // namespace capstan
