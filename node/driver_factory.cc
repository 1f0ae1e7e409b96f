#include "node/driver_factory.h"

#include <unistd.h>

#include <climits>
#include <filesystem>
#include <utility>

#include "node/plugin_driver.h"

namespace capstan::node {

Result<std::unique_ptr<RuntimeDriver>> MakeDriver(const std::string& name, const nlohmann::json& config,
                                                  const DriverFactoryOptions& options) {
  PluginDriverOptions plugin_options;
  if (!options.node_name.empty()) plugin_options.run_labels["capstan.io/node"] = options.node_name;
  auto loaded = LoadPluginDriver(options.plugin_dirs, name, config, std::move(plugin_options));
  if (!loaded.ok()) return loaded.status();
  return std::unique_ptr<RuntimeDriver>(std::move(loaded).value());
}

std::vector<std::string> DefaultPluginDirs() {
  char self[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) return {};
  self[n] = '\0';
  const std::filesystem::path lib = std::filesystem::path(self).parent_path().parent_path() / "lib";
  return {(lib / "capstan" / "plugins").lexically_normal().string(), lib.lexically_normal().string()};
}

}  // namespace capstan::node
