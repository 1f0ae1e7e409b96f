// Test-only helpers shared by the node/ driver tests.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace capstan::node::testing {

// A v1 Pod "web-<uid>" in "default" with `containers` containers c0, c1, ... of nginx:1.25.
inline nlohmann::json DriverTestPod(const std::string& uid, int containers = 1) {
  nlohmann::json p = {{"apiVersion", "v1"},
                      {"kind", "Pod"},
                      {"metadata", {{"name", "web-" + uid}, {"namespace", "default"}, {"uid", uid}}},
                      {"spec", {{"containers", nlohmann::json::array()}}}};
  for (int i = 0; i < containers; ++i) {
    p["spec"]["containers"].push_back({{"name", "c" + std::to_string(i)}, {"image", "nginx:1.25"}});
  }
  return p;
}

}  // namespace capstan::node::testing
