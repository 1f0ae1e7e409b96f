// IgnoreRules: which files under a Sync's path are not manifests, from its `.capstanignore`.
//
// A deliberately small subset of gitignore, documented in docs/gitops.md:
//   - one pattern per line; blank lines and lines starting with "#" are skipped;
//   - "!pattern" re-includes what an earlier pattern excluded (the last matching line wins);
//   - a pattern ending in "/" matches directories only (and so everything below them);
//   - a pattern containing "/" (other than a trailing one) is anchored at the Sync's path and
//     matched against the whole relative path; one without is matched against every name;
//   - "*", "?" and "[...]" as in fnmatch(3), where "*" does not cross "/"; "**/" matches any
//     number of leading directories.
// Hidden files and directories (names starting with ".") are always skipped, whatever the rules.
//
// Thread-safety: immutable after Parse; Ignored() may be called from several threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace capstan::controller::gitops {

class IgnoreRules {
 public:
  static IgnoreRules Parse(std::string_view text);

  // `relative` is the path below the Sync's path ("apps/web.yaml"), with "/" separators.
  bool Ignored(const std::string& relative, bool is_directory) const;

 private:
  struct Rule {
    std::string pattern;
    bool negate = false;
    bool directory_only = false;
    bool anchored = false;
  };
  std::vector<Rule> rules_;
};

}  // namespace capstan::controller::gitops
