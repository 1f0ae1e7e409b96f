// Semantic versions and ranges for GitRepository refs (declared in git_source.h).
#include <cctype>
#include <string>
#include <vector>

#include "controller/gitops/git_source.h"

namespace capstan::controller::gitops {

// ---- semver ------------------------------------------------------------------------------------

bool SemVer::Parse(std::string_view text, SemVer* out) {
  if (text.starts_with("v") || text.starts_with("V")) text.remove_prefix(1);
  if (size_t plus = text.find('+'); plus != std::string_view::npos) text = text.substr(0, plus);
  SemVer v;
  if (size_t dash = text.find('-'); dash != std::string_view::npos) {
    v.prerelease = std::string(text.substr(dash + 1));
    if (v.prerelease.empty()) return false;
    text = text.substr(0, dash);
  }
  int* parts[] = {&v.major, &v.minor, &v.patch};
  for (int i = 0; i < 3; ++i) {
    size_t digits = 0;
    while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
    if (digits == 0 || digits > 9) return false;
    *parts[i] = std::stoi(std::string(text.substr(0, digits)));
    text.remove_prefix(digits);
    if (i < 2) {
      if (!text.starts_with(".")) return false;
      text.remove_prefix(1);
    }
  }
  if (!text.empty()) return false;
  *out = v;
  return true;
}

int SemVer::Compare(const SemVer& o) const {
  if (major != o.major) return major < o.major ? -1 : 1;
  if (minor != o.minor) return minor < o.minor ? -1 : 1;
  if (patch != o.patch) return patch < o.patch ? -1 : 1;
  if (prerelease == o.prerelease) return 0;
  if (prerelease.empty()) return 1;  // a release sorts after its pre-releases
  if (o.prerelease.empty()) return -1;
  return prerelease < o.prerelease ? -1 : 1;
}

namespace {

// One comparator ("^1.2", ">=1.0.0", "1.x") as a half-open interval [low, high) plus exactness.
Result<bool> MatchComparator(std::string_view c, const SemVer& v) {
  std::string op;
  while (!c.empty() && (c[0] == '>' || c[0] == '<' || c[0] == '=' || c[0] == '^' || c[0] == '~')) {
    op += c[0];
    c.remove_prefix(1);
  }
  if (c.starts_with("v")) c.remove_prefix(1);
  if (c == "*" || c == "x" || c == "X") return op.empty() || op == ">=" || op == "=";
  // Partial versions: "1", "1.2", "1.x", "1.2.x".
  int nums[3] = {0, 0, 0};
  int given = 0;
  std::string_view rest = c;
  std::string pre;
  if (size_t dash = rest.find('-'); dash != std::string_view::npos) {
    pre = std::string(rest.substr(dash + 1));
    rest = rest.substr(0, dash);
  }
  while (!rest.empty() && given < 3) {
    if (rest[0] == 'x' || rest[0] == 'X' || rest[0] == '*') {
      rest.remove_prefix(1);
      if (!rest.empty() && !rest.starts_with(".")) return Status::BadRequest("bad version \"" + std::string(c) + "\"");
      if (!rest.empty()) rest.remove_prefix(1);
      break;
    }
    size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    if (digits == 0 || digits > 9) return Status::BadRequest("bad version \"" + std::string(c) + "\" in the semver range");
    nums[given++] = std::stoi(std::string(rest.substr(0, digits)));
    rest.remove_prefix(digits);
    if (rest.starts_with(".")) rest.remove_prefix(1);
  }
  if (given == 0) return op.empty() || op == ">=";  // "x.x"
  SemVer low{nums[0], nums[1], nums[2], pre};
  // Pre-releases only match a comparator that names a pre-release of the same version.
  if (!v.prerelease.empty() && !(pre.size() > 0 && v.major == low.major && v.minor == low.minor && v.patch == low.patch)) {
    return false;
  }
  SemVer high = low;
  high.prerelease.clear();
  bool partial = given < 3;
  if (op == "^") {
    if (low.major > 0 || given == 1) high = {low.major + 1, 0, 0, ""};
    else if (low.minor > 0 || given == 2) high = {0, low.minor + 1, 0, ""};
    else high = {0, 0, low.patch + 1, ""};
    return v.Compare(low) >= 0 && v.Compare(high) < 0;
  }
  if (op == "~" || ((op.empty() || op == "=") && partial)) {
    if (given == 1) high = {low.major + 1, 0, 0, ""};
    else high = {low.major, low.minor + 1, 0, ""};
    if (!partial && op == "~") high = {low.major, low.minor + 1, 0, ""};
    return v.Compare(low) >= 0 && v.Compare(high) < 0;
  }
  int cmp = v.Compare(low);
  if (op.empty() || op == "=") return cmp == 0;
  if (op == ">=") return cmp >= 0;
  if (op == "<=") return partial ? v.Compare(SemVer{given == 1 ? low.major + 1 : low.major, given == 1 ? 0 : low.minor + 1, 0, ""}) < 0 : cmp <= 0;
  if (op == ">") return partial ? v.Compare(SemVer{given == 1 ? low.major + 1 : low.major, given == 1 ? 0 : low.minor + 1, 0, ""}) >= 0 : cmp > 0;
  if (op == "<") return cmp < 0;
  return Status::BadRequest("unknown operator \"" + op + "\" in the semver range");
}

}  // namespace

Result<bool> SemVerMatches(std::string_view range, const SemVer& version) {
  std::string text(range);
  size_t start = 0;
  bool any_alternative = false;
  while (start <= text.size()) {
    size_t bar = text.find("||", start);
    std::string alternative = text.substr(start, bar == std::string::npos ? std::string::npos : bar - start);
    start = bar == std::string::npos ? text.size() + 1 : bar + 2;
    // ">= 1.2" is one comparator: glue an operator to the version after it.
    std::vector<std::string> comparators;
    std::string pending;
    size_t i = 0;
    while (i < alternative.size()) {
      while (i < alternative.size() && std::isspace(static_cast<unsigned char>(alternative[i]))) ++i;
      size_t j = i;
      while (j < alternative.size() && !std::isspace(static_cast<unsigned char>(alternative[j]))) ++j;
      if (j > i) {
        std::string token = alternative.substr(i, j - i);
        if (token.find_first_not_of("<>=^~") == std::string::npos) {
          pending += token;
        } else {
          comparators.push_back(pending + token);
          pending.clear();
        }
      }
      i = j;
    }
    if (!pending.empty()) return Status::BadRequest("semver range \"" + text + "\" ends with an operator");
    if (comparators.empty()) return Status::BadRequest("empty semver range \"" + text + "\"");
    bool all = true;
    for (const std::string& c : comparators) {
      Result<bool> m = MatchComparator(c, version);
      if (!m.ok()) return m.status();
      all = all && *m;
    }
    any_alternative = any_alternative || all;
  }
  return any_alternative;
}

}  // namespace capstan::controller::gitops
