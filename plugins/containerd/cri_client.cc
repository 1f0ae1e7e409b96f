#include "plugins/containerd/cri_client.h"

#include <utility>

namespace capstan::plugins::containerd {
namespace {

// kubelet's limit for CRI messages; ListContainers of a busy node and ExecSync output (capped at
// 16 MiB per stream by the runtime) fit.
constexpr int kMaxMessageBytes = 64 * 1024 * 1024;

const char* CodeName(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN_CODE";
  }
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& endpoint) {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  args.SetMaxSendMessageSize(kMaxMessageBytes);
  // Reconnect soon after containerd restarts (the default backoff grows to two minutes).
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 2000);
  return grpc::CreateCustomChannel(endpoint, grpc::InsecureChannelCredentials(), args);
}

}  // namespace

sdk::Error MapGrpcStatus(grpc::StatusCode code, std::string_view grpc_message, std::string_view what) {
  std::string m = std::string(what) + ": " + std::string(grpc_message) + " (" + CodeName(code) + ")";
  switch (code) {
    case grpc::StatusCode::NOT_FOUND:
      return sdk::NotFound(std::move(m));
    case grpc::StatusCode::UNAVAILABLE:
      return sdk::Unavailable(std::move(m));
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return sdk::Timeout(std::move(m));
    case grpc::StatusCode::ALREADY_EXISTS:
      return sdk::AlreadyExists(std::move(m));
    case grpc::StatusCode::FAILED_PRECONDITION:
      return sdk::Conflict(std::move(m));
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::OUT_OF_RANGE:
      return sdk::InvalidArgument(std::move(m));
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return sdk::PermissionDenied(std::move(m));
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
    case grpc::StatusCode::ABORTED:
    case grpc::StatusCode::CANCELLED:
      return sdk::RetryLater(std::move(m));
    case grpc::StatusCode::UNIMPLEMENTED:
      return sdk::Unsupported(std::move(m));
    default:
      return sdk::Internal(std::move(m));
  }
}

CriClient::CriClient(const std::string& endpoint, ms default_timeout)
    : endpoint_(endpoint),
      default_timeout_(default_timeout),
      channel_(MakeChannel(endpoint)),
      runtime_(cri::RuntimeService::NewStub(channel_)),
      images_(cri::ImageService::NewStub(channel_)) {}

CriClient::~CriClient() { Shutdown(); }

void CriClient::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shut_down_ = true;
  for (grpc::ClientContext* c : in_flight_) c->TryCancel();
}

template <typename Stub, typename Req, typename Resp>
sdk::Result<Resp> CriClient::Call(Stub* stub, grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Req&, Resp*),
                                  const char* name, const Req& request, ms timeout) {
  const std::string what = std::string("CRI ") + name + " on " + endpoint_;
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + (timeout.count() > 0 ? timeout : default_timeout_));
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return sdk::Unavailable(what + ": the driver instance is shutting down");
    in_flight_.insert(&context);
  }
  Resp response;
  const grpc::Status status = (stub->*rpc)(&context, request, &response);
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_.erase(&context);
  }
  if (!status.ok()) return MapGrpcStatus(status.error_code(), status.error_message(), what);
  return response;
}

// ---- RuntimeService -----------------------------------------------------------------------------

sdk::Result<cri::VersionResponse> CriClient::Version(ms timeout) {
  cri::VersionRequest r;
  r.set_version("v1");
  return Call(runtime_.get(), &cri::RuntimeService::Stub::Version, "Version", r, timeout);
}

sdk::Result<cri::StatusResponse> CriClient::Status(bool verbose, ms timeout) {
  cri::StatusRequest r;
  r.set_verbose(verbose);
  return Call(runtime_.get(), &cri::RuntimeService::Stub::Status, "Status", r, timeout);
}

sdk::Result<cri::RunPodSandboxResponse> CriClient::RunPodSandbox(const cri::RunPodSandboxRequest& r, ms timeout) {
  return Call(runtime_.get(), &cri::RuntimeService::Stub::RunPodSandbox, "RunPodSandbox", r, timeout);
}

sdk::Result<void> CriClient::StopPodSandbox(const std::string& sandbox_id, ms timeout) {
  cri::StopPodSandboxRequest r;
  r.set_pod_sandbox_id(sandbox_id);
  auto done = Call(runtime_.get(), &cri::RuntimeService::Stub::StopPodSandbox, "StopPodSandbox", r, timeout);
  if (!done.ok()) return done.error();
  return sdk::Ok();
}

sdk::Result<void> CriClient::RemovePodSandbox(const std::string& sandbox_id, ms timeout) {
  cri::RemovePodSandboxRequest r;
  r.set_pod_sandbox_id(sandbox_id);
  auto done = Call(runtime_.get(), &cri::RuntimeService::Stub::RemovePodSandbox, "RemovePodSandbox", r, timeout);
  if (!done.ok()) return done.error();
  return sdk::Ok();
}

sdk::Result<cri::PodSandboxStatusResponse> CriClient::PodSandboxStatus(const std::string& sandbox_id, ms timeout) {
  cri::PodSandboxStatusRequest r;
  r.set_pod_sandbox_id(sandbox_id);
  return Call(runtime_.get(), &cri::RuntimeService::Stub::PodSandboxStatus, "PodSandboxStatus", r, timeout);
}

sdk::Result<cri::ListPodSandboxResponse> CriClient::ListPodSandbox(const cri::PodSandboxFilter& filter, ms timeout) {
  cri::ListPodSandboxRequest r;
  *r.mutable_filter() = filter;
  return Call(runtime_.get(), &cri::RuntimeService::Stub::ListPodSandbox, "ListPodSandbox", r, timeout);
}

sdk::Result<cri::CreateContainerResponse> CriClient::CreateContainer(const cri::CreateContainerRequest& r, ms timeout) {
  return Call(runtime_.get(), &cri::RuntimeService::Stub::CreateContainer, "CreateContainer", r, timeout);
}

sdk::Result<void> CriClient::StartContainer(const std::string& container_id, ms timeout) {
  cri::StartContainerRequest r;
  r.set_container_id(container_id);
  auto done = Call(runtime_.get(), &cri::RuntimeService::Stub::StartContainer, "StartContainer", r, timeout);
  if (!done.ok()) return done.error();
  return sdk::Ok();
}

sdk::Result<void> CriClient::StopContainer(const std::string& container_id, int64_t stop_timeout_s, ms timeout) {
  cri::StopContainerRequest r;
  r.set_container_id(container_id);
  r.set_timeout(stop_timeout_s);
  auto done = Call(runtime_.get(), &cri::RuntimeService::Stub::StopContainer, "StopContainer", r, timeout);
  if (!done.ok()) return done.error();
  return sdk::Ok();
}

sdk::Result<void> CriClient::RemoveContainer(const std::string& container_id, ms timeout) {
  cri::RemoveContainerRequest r;
  r.set_container_id(container_id);
  auto done = Call(runtime_.get(), &cri::RuntimeService::Stub::RemoveContainer, "RemoveContainer", r, timeout);
  if (!done.ok()) return done.error();
  return sdk::Ok();
}

sdk::Result<cri::ListContainersResponse> CriClient::ListContainers(const cri::ContainerFilter& filter, ms timeout) {
  cri::ListContainersRequest r;
  *r.mutable_filter() = filter;
  return Call(runtime_.get(), &cri::RuntimeService::Stub::ListContainers, "ListContainers", r, timeout);
}

sdk::Result<cri::ContainerStatusResponse> CriClient::ContainerStatus(const std::string& container_id, bool verbose,
                                                                     ms timeout) {
  cri::ContainerStatusRequest r;
  r.set_container_id(container_id);
  r.set_verbose(verbose);
  return Call(runtime_.get(), &cri::RuntimeService::Stub::ContainerStatus, "ContainerStatus", r, timeout);
}

sdk::Result<cri::ExecSyncResponse> CriClient::ExecSync(const cri::ExecSyncRequest& r, ms timeout) {
  return Call(runtime_.get(), &cri::RuntimeService::Stub::ExecSync, "ExecSync", r, timeout);
}

// ---- ImageService -------------------------------------------------------------------------------

sdk::Result<cri::ListImagesResponse> CriClient::ListImages(ms timeout) {
  return Call(images_.get(), &cri::ImageService::Stub::ListImages, "ListImages", cri::ListImagesRequest(), timeout);
}

sdk::Result<cri::ImageStatusResponse> CriClient::ImageStatus(const std::string& image, ms timeout) {
  cri::ImageStatusRequest r;
  r.mutable_image()->set_image(image);
  return Call(images_.get(), &cri::ImageService::Stub::ImageStatus, "ImageStatus", r, timeout);
}

sdk::Result<cri::PullImageResponse> CriClient::PullImage(const cri::PullImageRequest& r, ms timeout) {
  return Call(images_.get(), &cri::ImageService::Stub::PullImage, "PullImage", r, timeout);
}

sdk::Result<void> CriClient::RemoveImage(const std::string& image, ms timeout) {
  cri::RemoveImageRequest r;
  r.mutable_image()->set_image(image);
  auto done = Call(images_.get(), &cri::ImageService::Stub::RemoveImage, "RemoveImage", r, timeout);
  if (!done.ok()) return done.error();
  return sdk::Ok();
}

sdk::Result<cri::ImageFsInfoResponse> CriClient::ImageFsInfo(ms timeout) {
  return Call(images_.get(), &cri::ImageService::Stub::ImageFsInfo, "ImageFsInfo", cri::ImageFsInfoRequest(), timeout);
}

}  // namespace capstan::plugins::containerd
