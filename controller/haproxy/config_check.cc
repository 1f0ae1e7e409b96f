#include "controller/haproxy/config_check.h"

#include <regex>
#include <sstream>

#include "controller/supervisor/run_command.h"

namespace capstan::controller::haproxy {

Result<ConfigCheck> CheckHaproxyConfig(const std::string& haproxy_bin, const std::string& path) {
  auto run = supervisor::RunCommand({haproxy_bin, "-c", "-f", path});
  if (!run.ok()) return run.status();
  ConfigCheck check;
  check.valid = run->exit_code == 0;
  check.output = std::move(run->output);
  return check;
}

std::set<std::string> BlameSources(const std::string& output, const RenderedConfig& config) {
  std::set<std::string> out;
  // "parsing [FILE:LINE]" and "frontend 'x' (FILE:LINE)".
  static const std::regex line_re(R"([\[(][^\]()\s]*:(\d+)[\])])");
  static const std::regex proxy_re(R"((?:proxy|backend|frontend) '([^']+)')", std::regex::icase);
  // "unable to load certificate from file '/.../certs/ns_secret-<hash>.pem'": a file's object.
  static const std::regex file_re(R"('([^']+)')");
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find("[ALERT]") == std::string::npos) continue;
    for (std::sregex_iterator it(line.begin(), line.end(), line_re), end; it != end; ++it) {
      const size_t n = std::stoul((*it)[1].str());
      if (n >= 1 && n <= config.line_sources.size() && !config.line_sources[n - 1].empty()) {
        out.insert(config.line_sources[n - 1]);
      }
    }
    for (std::sregex_iterator it(line.begin(), line.end(), proxy_re), end; it != end; ++it) {
      auto found = config.proxy_sources.find((*it)[1].str());
      if (found != config.proxy_sources.end() && !found->second.empty()) out.insert(found->second);
    }
    for (std::sregex_iterator it(line.begin(), line.end(), file_re), end; it != end; ++it) {
      auto found = config.file_sources.find((*it)[1].str());
      if (found != config.file_sources.end() && !found->second.empty()) out.insert(found->second);
    }
  }
  return out;
}

std::string AlertSummary(const std::string& output) {
  std::string out;
  std::istringstream in(output);
  std::string line;
  while (std::getline(in, line)) {
    const size_t at = line.find("[ALERT]");
    if (at == std::string::npos) continue;
    size_t colon = line.find(" : ", at);
    std::string text = colon == std::string::npos ? line.substr(at) : line.substr(colon + 3);
    if (text.rfind("config : ", 0) == 0) text = text.substr(9);
    if (text.find("Fatal errors found") != std::string::npos || text.find("Error(s) found in") != std::string::npos) {
      continue;
    }
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out;
}

}  // namespace capstan::controller::haproxy
