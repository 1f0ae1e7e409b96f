// ContainerdDriver's image operations (containerd_driver.h): pull (only what is missing), list,
// and remove (refused while a container uses the image), over the CRI ImageService.
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>
#include <string_view>

#include "plugins/containerd/containerd_driver.h"

namespace capstan::plugins::containerd {
namespace {

bool Contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

}  // namespace

// ---- Images -------------------------------------------------------------------------------------

sdk::Image ImageFromCri(const cri::Image& i) {
  sdk::Image image;
  image.id = i.id();
  image.tags.assign(i.repo_tags().begin(), i.repo_tags().end());
  image.size_bytes = static_cast<int64_t>(i.size());
  image.digests.assign(i.repo_digests().begin(), i.repo_digests().end());
  image.pinned = i.pinned();
  return image;
}

sdk::Error ContainerdDriver::PullError(const sdk::Error& e, const std::string& image) {
  if (e.code != CAPSTAN_ERR_INTERNAL) return e;
  // containerd reports registry failures as UNKNOWN; its message says which they are.
  const std::string& m = e.message;
  if (Contains(m, "401 Unauthorized") || Contains(m, "403 Forbidden") || Contains(m, "unauthorized") ||
      Contains(m, "denied")) {
    return sdk::PermissionDenied("pulling " + image + ": " + m);
  }
  if (Contains(m, "not found")) return sdk::NotFound("pulling " + image + ": " + m);
  if (Contains(m, "dial tcp") || Contains(m, "no such host") || Contains(m, "connection refused") ||
      Contains(m, "i/o timeout") || Contains(m, "network is unreachable")) {
    return sdk::Unavailable("pulling " + image + ": " + m);
  }
  return e;
}

sdk::Result<sdk::PullImageResult> ContainerdDriver::PullImage(const sdk::PullImageRequest& request) {
  // Present already: nothing to fetch (and nothing leaves the host).
  sdk::Result<cri::ImageStatusResponse> status = cri_->ImageStatus(request.image);
  if (!status.ok()) return status.error();
  if (status.value().has_image()) return sdk::PullImageResult{status.value().image().id()};
  cri::PullImageRequest r;
  r.mutable_image()->set_image(request.image);
  if (request.auth.has_value()) {
    const sdk::RegistryAuth& a = *request.auth;
    cri::AuthConfig* auth = r.mutable_auth();
    auth->set_username(a.username);
    auth->set_password(a.password);
    auth->set_auth(a.auth);
    auth->set_server_address(a.server_address);
    auth->set_identity_token(a.identity_token);
    auth->set_registry_token(a.registry_token);
  }
  sdk::Result<cri::PullImageResponse> pulled = cri_->PullImage(r, config_.pull_timeout);
  if (!pulled.ok()) return PullError(pulled.error(), request.image);
  return sdk::PullImageResult{pulled.value().image_ref()};
}

sdk::Result<std::vector<sdk::Image>> ContainerdDriver::ListImages() {
  sdk::Result<cri::ListImagesResponse> listed = cri_->ListImages();
  if (!listed.ok()) return listed.error();
  std::vector<sdk::Image> out;
  for (const cri::Image& i : listed.value().images()) out.push_back(ImageFromCri(i));
  // The sandbox image: containerd needs it for every pod, so garbage collection leaves it, whether
  // containerd pins it or not.
  std::string sandbox = config_.sandbox_image;
  if (sandbox.empty()) {
    sdk::Result<cri::StatusResponse> runtime = cri_->Status(true);
    if (runtime.ok()) sandbox = ContainerdSandboxImage(runtime.value());
  }
  if (!sandbox.empty()) {
    sdk::Result<cri::ImageStatusResponse> status = cri_->ImageStatus(sandbox);
    if (status.ok() && status.value().has_image()) {
      for (sdk::Image& image : out) image.pinned = image.pinned || image.id == status.value().image().id();
    }
  }
  return out;
}

sdk::Result<sdk::ImageFsInfo> ContainerdDriver::GetImageFsInfo() {
  sdk::Result<cri::ImageFsInfoResponse> info = cri_->ImageFsInfo();
  if (!info.ok()) return info.error();
  if (info.value().image_filesystems().empty()) return sdk::Internal("containerd's ImageFsInfo names no filesystem");
  const cri::FilesystemUsage& usage = info.value().image_filesystems(0);
  const std::string mount = usage.fs_id().mountpoint();
  struct statvfs fs {};
  if (mount.empty() || ::statvfs(mount.c_str(), &fs) != 0) {
    return sdk::Unavailable("statvfs " + mount + " (containerd's image filesystem): " +
                            (mount.empty() ? "no mount point" : std::strerror(errno)));
  }
  sdk::ImageFsInfo out;
  out.capacity_bytes = static_cast<int64_t>(fs.f_blocks) * static_cast<int64_t>(fs.f_frsize);
  out.available_bytes = static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
  if (usage.has_used_bytes()) out.used_bytes = static_cast<int64_t>(usage.used_bytes().value());
  out.path = mount;
  if (out.capacity_bytes <= 0) return sdk::Internal("statvfs " + mount + ": a filesystem of size 0");
  return out;
}

sdk::Result<void> ContainerdDriver::RemoveImage(const std::string& image) {
  sdk::Result<cri::ImageStatusResponse> status = cri_->ImageStatus(image);
  if (!status.ok()) return status.error();
  if (!status.value().has_image()) return sdk::Ok();
  const std::string id = status.value().image().id();
  // The CRI removes an image in use without a word; a container not removed (ours or anyone's)
  // keeps it.
  sdk::Result<cri::ListContainersResponse> containers = cri_->ListContainers(cri::ContainerFilter());
  if (!containers.ok()) return containers.error();
  for (const cri::Container& c : containers.value().containers()) {
    if (c.image_ref() == id || c.image().image() == id) {
      return sdk::Conflict("containerd driver: image " + image + " (" + id + ") is used by container " +
                           c.metadata().name() + " of sandbox " + c.pod_sandbox_id());
    }
  }
  return cri_->RemoveImage(id);
}

}  // namespace capstan::plugins::containerd
