#include "cli/resource_args.h"

namespace capstan::cli {

Result<std::vector<ResourceTarget>> ResolveTargets(Session& session, const std::vector<std::string>& args) {
  if (args.empty()) return Status::BadRequest("you must specify the type of resource");
  std::vector<ResourceTarget> targets;
  if (args.front().find('/') != std::string::npos) {
    for (const std::string& arg : args) {
      size_t slash = arg.find('/');
      if (slash == std::string::npos || slash == 0 || slash + 1 == arg.size()) {
        return Status::BadRequest("there is no need to specify a resource type as a separate argument when passing "
                                  "arguments in resource/name form (e.g. 'capstan get resource/<resource_name>' instead of "
                                  "'capstan get resource resource/<resource_name>'): " + arg);
      }
      Result<client::ResourceInfo> resource = session.discovery->Resolve(arg.substr(0, slash));
      if (!resource.ok()) return resource.status();
      std::string name = arg.substr(slash + 1);
      if (!targets.empty() && targets.back().resource.plural == resource->plural &&
          targets.back().resource.group == resource->group) {
        targets.back().names.push_back(name);
      } else {
        targets.push_back({*resource, {name}});
      }
    }
    return targets;
  }
  std::vector<std::string> names(args.begin() + 1, args.end());
  for (const std::string& name : names) {
    if (name.find('/') != std::string::npos) {
      return Status::BadRequest("arguments in resource/name form must have a single resource and name: " + name);
    }
  }
  const std::string& types = args.front();
  size_t start = 0;
  while (start <= types.size()) {
    size_t comma = types.find(',', start);
    std::string type = types.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    start = comma == std::string::npos ? types.size() + 1 : comma + 1;
    if (type.empty()) continue;
    Result<client::ResourceInfo> resource = session.discovery->Resolve(type);
    if (!resource.ok()) return resource.status();
    targets.push_back({*resource, names});
  }
  if (targets.empty()) return Status::BadRequest("you must specify the type of resource");
  return targets;
}

void PrintTargetError(const Status& status) {
  if (IsServerAnswer(status)) PrintLocalError(status.message());
  else PrintError(status);
}

}  // namespace capstan::cli
