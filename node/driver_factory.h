// MakeDriver: the RuntimeDriver named by Node spec.driver.name, built from spec.driver.config —
// what `capstan server --driver NAME` calls. Every driver is a plugin behind the driver ABI
// (sdk/include/capstan/driver.h): NAME is the file capstan-driver-NAME.so in one of the plugin
// directories (the fake driver too: plugins/fake). The in-process FakeDriver stays for unit
// tests that drive time with a FakeClock.
//
// Errors: kNotFound naming the directories searched when no plugin has the name; a plugin that
// does not load (not a plugin, wrong ABI, failing create) is an error naming the file, with the
// plugin's code (see plugin_loader.h). Nothing throws.
//
// Thread-safety: stateless.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "node/runtime_driver.h"

namespace capstan::node {

struct DriverFactoryOptions {
  std::vector<std::string> plugin_dirs;  // searched in order; see DefaultPluginDirs()
  // Marks this node's runs (label capstan.io/node) so that agents sharing an engine never adopt
  // or remove each other's runs.
  std::string node_name;
};

Result<std::unique_ptr<RuntimeDriver>> MakeDriver(const std::string& name, const nlohmann::json& config,
                                                  const DriverFactoryOptions& options);

// The driver a server uses when --driver is not given, as the users expect of a host with
// Docker: "docker" when the Docker Engine answers GET /_ping on `docker_socket` within a second,
// else "process".
std::string DefaultDriverName(const std::string& docker_socket = "/var/run/docker.sock");

// `config` completed with what the server knows and the driver needs: the process driver's
// stateDir under the server's data directory (not /var/lib, so a server run by a user keeps its
// runs in its own data dir).
nlohmann::json CompleteDriverConfig(const std::string& name, nlohmann::json config, const std::string& data_dir);

// Where plugins are looked for when no --plugin-dir is given: <dir of the running binary>/../lib/
// capstan/plugins (an installed layout), then <dir of the running binary>/../lib (the build tree:
// build/bin/capstan and build/lib/capstan-driver-*.so).
std::vector<std::string> DefaultPluginDirs();

}  // namespace capstan::node
