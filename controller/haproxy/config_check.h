// `haproxy -c` on a rendered config, and blame: which objects the errors point at.
#pragma once

#include <set>
#include <string>

#include "base/status.h"
#include "controller/haproxy/renderer.h"

namespace capstan::controller::haproxy {

struct ConfigCheck {
  bool valid = false;
  std::string output;  // haproxy's own words (its [ALERT] lines)
};

// Runs `haproxy_bin -c -q -f path`. kNotFound when the binary cannot run; a config HAProxy
// rejects is a ConfigCheck with valid = false, not an error.
Result<ConfigCheck> CheckHaproxyConfig(const std::string& haproxy_bin, const std::string& path);

// The objects (RenderedConfig sources) the [ALERT] lines of `output` point at: by
// "[FILE:LINE]" through line_sources, and by "proxy 'NAME'" / "backend 'NAME'" / "frontend
// 'NAME'" through proxy_sources, and by a quoted file path through file_sources ("unable to load
// certificate from file '...'"). Capstan's own lines have no source and are not returned.
std::set<std::string> BlameSources(const std::string& output, const RenderedConfig& config);

// The [ALERT] lines of `output`, without the "[ALERT]    (pid) : " prefix, joined with "; " — a
// message for an Event.
std::string AlertSummary(const std::string& output);

}  // namespace capstan::controller::haproxy
