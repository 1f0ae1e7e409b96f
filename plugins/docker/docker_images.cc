// DockerDriver's image operations: pull (with credentials), list, remove, and the image
// filesystem.
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

#include "plugins/docker/docker_driver.h"
#include "plugins/common/image_ref.h"
#include "plugins/docker/image_pull.h"
#include "plugins/docker/json_fields.h"

namespace capstan::plugins::docker {
namespace {

using json = nlohmann::json;

}  // namespace

sdk::Result<sdk::PullImageResult> DockerDriver::PullImage(const sdk::PullImageRequest& request) {
  const std::string ref = WithDefaultTag(request.image);
  const std::string what = "pull " + request.image;
  HttpRequest pull{"POST", "/images/create?fromImage=" + UrlEncode(ref), "", {}};
  if (request.auth.has_value()) pull.headers.emplace_back("X-Registry-Auth", RegistryAuthHeader(*request.auth));
  sdk::Result<std::unique_ptr<ResponseStream>> stream = client_->Stream(pull, what);
  if (!stream.ok()) {
    // An error status: the engine's message says what kind (a 404 may be "access denied").
    const sdk::Error& e = stream.error();
    if (e.code == CAPSTAN_ERR_UNAVAILABLE || e.code == CAPSTAN_ERR_TIMEOUT) return e;
    return PullError(e.message, what);
  }
  // The progress stream: one JSON document per line; a failure is a line with "error". It may be
  // quiet for long (a large layer): only a silence of a whole request timeout is one.
  const std::chrono::milliseconds idle_limit = client_->default_timeout();
  auto last_news = std::chrono::steady_clock::now();
  std::string pending;
  while (true) {
    sdk::Result<ResponseStream::ReadResult> r = stream.value()->Read(std::chrono::milliseconds(500), &pending);
    if (!r.ok()) return sdk::Unavailable(what + ": " + r.error().message);
    if (r.value() == ResponseStream::ReadResult::kIdle) {
      if (std::chrono::steady_clock::now() - last_news > idle_limit) {
        return sdk::Timeout(what + ": no progress for " + std::to_string(idle_limit.count()) + " ms");
      }
      continue;
    }
    last_news = std::chrono::steady_clock::now();
    size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      const json line = json::parse(pending.substr(0, newline), nullptr, false);
      pending.erase(0, newline + 1);
      if (!line.is_object()) continue;
      std::string error = JsonString(line, "error");
      if (error.empty() && line.contains("errorDetail")) error = JsonString(line["errorDetail"], "message");
      if (!error.empty()) return PullError(error, what);
    }
    if (r.value() == ResponseStream::ReadResult::kEnd) break;
  }
  sdk::Result<json> image = client_->Json({"GET", "/images/" + UrlEncode(ref, true) + "/json", "", {}},
                                          "inspect image " + ref);
  if (!image.ok()) return image.error();
  sdk::PullImageResult out;
  out.image_id = JsonString(image.value(), "Id");
  if (out.image_id.empty()) return sdk::Internal(what + ": the pulled image has no id");
  return out;
}

sdk::Result<std::vector<sdk::Image>> DockerDriver::ListImages() {
  sdk::Result<json> listed = client_->Json({"GET", "/images/json", "", {}}, "list images");
  if (!listed.ok()) return listed.error();
  std::vector<sdk::Image> out;
  for (const json& i : listed.value().is_array() ? listed.value() : json::array()) {
    sdk::Image image;
    image.id = JsonString(i, "Id");
    if (i.contains("RepoTags") && i["RepoTags"].is_array()) {
      for (const json& t : i["RepoTags"]) {
        if (t.is_string() && t.get<std::string>() != "<none>:<none>") image.tags.push_back(t.get<std::string>());
      }
    }
    if (i.contains("Size") && i["Size"].is_number_integer()) image.size_bytes = i["Size"].get<int64_t>();
    if (i.contains("RepoDigests") && i["RepoDigests"].is_array()) {
      for (const json& d : i["RepoDigests"]) {
        if (d.is_string() && d.get<std::string>() != "<none>@<none>") image.digests.push_back(d.get<std::string>());
      }
    }
    if (i.contains("Created") && i["Created"].is_number_integer()) {
      image.created_unix_nano = i["Created"].get<int64_t>() * 1000000000;
    }
    out.push_back(std::move(image));
  }
  return out;
}

sdk::Result<void> DockerDriver::RemoveImage(const std::string& image) {
  // Without force: docker refuses (409) to remove an image a container uses, which is the
  // contract's CONFLICT; an image docker does not know is already removed.
  sdk::Result<HttpResponse> r = client_->Do({"DELETE", "/images/" + UrlEncode(image, true), "", {}});
  if (!r.ok()) return r.error();
  if (r.value().status == 200 || r.value().status == 404) return sdk::Ok();
  return ErrorFromResponse(r.value(), "remove image " + image);
}

sdk::Result<sdk::ImageFsInfo> DockerDriver::GetImageFsInfo() {
  sdk::Result<json> info = client_->Json({"GET", "/info", "", {}}, "docker info");
  if (!info.ok()) return info.error();
  const std::string root = JsonString(info.value(), "DockerRootDir");
  if (root.empty()) return sdk::Internal("docker info: no DockerRootDir");
  struct statvfs fs {};
  if (::statvfs(root.c_str(), &fs) != 0) {
    return sdk::Unavailable("statvfs " + root + " (the engine's DockerRootDir): " + std::strerror(errno));
  }
  sdk::ImageFsInfo out;
  out.capacity_bytes = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
  out.available_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  out.path = root;
  if (out.capacity_bytes <= 0) return sdk::Internal("statvfs " + root + ": a filesystem of size 0");
  return out;
}

}  // namespace capstan::plugins::docker
