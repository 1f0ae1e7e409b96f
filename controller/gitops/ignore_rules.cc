#include "controller/gitops/ignore_rules.h"

#include <fnmatch.h>

namespace capstan::controller::gitops {
namespace {

bool Matches(const std::string& pattern, const std::string& text) {
  if (fnmatch(pattern.c_str(), text.c_str(), FNM_PATHNAME) == 0) return true;
  // "**/x" also matches "x" at the top and "a/b/x" below: try every suffix after a "/".
  if (pattern.starts_with("**/")) {
    std::string rest = pattern.substr(3);
    if (fnmatch(rest.c_str(), text.c_str(), FNM_PATHNAME) == 0) return true;
    for (size_t slash = text.find('/'); slash != std::string::npos; slash = text.find('/', slash + 1)) {
      if (fnmatch(rest.c_str(), text.c_str() + slash + 1, FNM_PATHNAME) == 0) return true;
    }
  }
  return false;
}

}  // namespace

IgnoreRules IgnoreRules::Parse(std::string_view text) {
  IgnoreRules rules;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(start, end - start));
    start = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    Rule rule;
    if (line[0] == '!') {
      rule.negate = true;
      line.erase(0, 1);
    }
    if (!line.empty() && line.back() == '/') {
      rule.directory_only = true;
      line.pop_back();
    }
    if (!line.empty() && line[0] == '/') {
      rule.anchored = true;
      line.erase(0, 1);
    }
    if (line.find('/') != std::string::npos) rule.anchored = true;
    if (line.empty()) continue;
    rule.pattern = std::move(line);
    rules.rules_.push_back(std::move(rule));
  }
  return rules;
}

bool IgnoreRules::Ignored(const std::string& relative, bool is_directory) const {
  std::string name = relative.substr(relative.rfind('/') == std::string::npos ? 0 : relative.rfind('/') + 1);
  if (name.starts_with(".")) return true;
  bool ignored = false;
  for (const Rule& rule : rules_) {
    if (rule.directory_only && !is_directory) continue;
    bool hit = rule.anchored ? Matches(rule.pattern, relative) : Matches(rule.pattern, name);
    if (hit) ignored = !rule.negate;
  }
  return ignored;
}

}  // namespace capstan::controller::gitops
