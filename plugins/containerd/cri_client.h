// CriClient: the Kubernetes CRI (runtime.v1 RuntimeService and ImageService) over gRPC on one
// endpoint (containerd's socket), one small method per RPC the driver uses. Nothing else of the
// driver sees gRPC: every method returns an sdk::Result, its error already mapped to the SDK's
// codes (MapGrpcStatus below) with a message naming the RPC.
//
// Deadlines: every call has one. A method's `timeout` of 0 means the client's default (the
// driver's configured call timeout); callers pass longer ones for calls that wait on purpose
// (StopContainer with a grace period, PullImage, ExecSync).
//
// Connection: the channel is made at construction and connects lazily, so constructing never
// blocks on the engine; a call while containerd is down fails at once with UNAVAILABLE (gRPC's
// fail-fast), not at its deadline.
//
// Thread-safety: every method is thread-safe (the generated stubs are). Shutdown cancels every call
// in flight, from any thread, and makes every later call fail with UNAVAILABLE: the driver uses it
// so that its destructor never waits out a deadline.
#pragma once

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "capstan/driver_sdk.hpp"
#include "plugins/containerd/cri/runtime_v1.grpc.pb.h"

namespace capstan::plugins::containerd {

namespace cri = ::runtime::v1;

// The SDK error for a failed gRPC call: NOT_FOUND -> NotFound, UNAVAILABLE -> Unavailable,
// DEADLINE_EXCEEDED -> Timeout, ALREADY_EXISTS -> AlreadyExists, FAILED_PRECONDITION -> Conflict,
// INVALID_ARGUMENT and OUT_OF_RANGE -> InvalidArgument, PERMISSION_DENIED and UNAUTHENTICATED ->
// PermissionDenied, RESOURCE_EXHAUSTED, ABORTED and CANCELLED -> RetryLater, UNIMPLEMENTED ->
// Unsupported, anything else -> Internal. The message is "<what>: <gRPC message> (<CODE>)".
sdk::Error MapGrpcStatus(grpc::StatusCode code, std::string_view grpc_message, std::string_view what);

class CriClient {
 public:
  // `endpoint`: a gRPC target, "unix:///run/containerd/containerd.sock". `default_timeout` > 0.
  CriClient(const std::string& endpoint, std::chrono::milliseconds default_timeout);
  ~CriClient();
  CriClient(const CriClient&) = delete;
  CriClient& operator=(const CriClient&) = delete;

  const std::string& endpoint() const { return endpoint_; }

  using ms = std::chrono::milliseconds;

  // RuntimeService.
  sdk::Result<cri::VersionResponse> Version(ms timeout = ms(0));
  sdk::Result<cri::StatusResponse> Status(bool verbose, ms timeout = ms(0));
  sdk::Result<cri::RunPodSandboxResponse> RunPodSandbox(const cri::RunPodSandboxRequest& r, ms timeout = ms(0));
  sdk::Result<void> StopPodSandbox(const std::string& sandbox_id, ms timeout = ms(0));
  sdk::Result<void> RemovePodSandbox(const std::string& sandbox_id, ms timeout = ms(0));
  sdk::Result<cri::PodSandboxStatusResponse> PodSandboxStatus(const std::string& sandbox_id, ms timeout = ms(0));
  sdk::Result<cri::ListPodSandboxResponse> ListPodSandbox(const cri::PodSandboxFilter& filter, ms timeout = ms(0));
  sdk::Result<cri::CreateContainerResponse> CreateContainer(const cri::CreateContainerRequest& r, ms timeout = ms(0));
  sdk::Result<void> StartContainer(const std::string& container_id, ms timeout = ms(0));
  // `stop_timeout_s`: the CRI's grace period in seconds (then SIGKILL). The call's deadline must
  // be longer: the driver passes the grace period plus its call timeout.
  sdk::Result<void> StopContainer(const std::string& container_id, int64_t stop_timeout_s, ms timeout);
  sdk::Result<void> RemoveContainer(const std::string& container_id, ms timeout = ms(0));
  sdk::Result<cri::ListContainersResponse> ListContainers(const cri::ContainerFilter& filter, ms timeout = ms(0));
  // verbose: also the runtime's "info" map (containerd puts the pid there).
  sdk::Result<cri::ContainerStatusResponse> ContainerStatus(const std::string& container_id, bool verbose = false,
                                                            ms timeout = ms(0));
  sdk::Result<cri::ExecSyncResponse> ExecSync(const cri::ExecSyncRequest& r, ms timeout);

  // ImageService. ImageStatus of an image that is not there is OK with no `image` in the response.
  sdk::Result<cri::ListImagesResponse> ListImages(ms timeout = ms(0));
  sdk::Result<cri::ImageStatusResponse> ImageStatus(const std::string& image, ms timeout = ms(0));
  sdk::Result<cri::PullImageResponse> PullImage(const cri::PullImageRequest& r, ms timeout);
  sdk::Result<void> RemoveImage(const std::string& image, ms timeout = ms(0));
  sdk::Result<cri::ImageFsInfoResponse> ImageFsInfo(ms timeout = ms(0));

  // Cancels the calls in flight; every later call fails with UNAVAILABLE. Idempotent.
  void Shutdown();

 private:
  // One unary call through `rpc` of `stub` with a deadline, registered for Shutdown.
  template <typename Stub, typename Req, typename Resp>
  sdk::Result<Resp> Call(Stub* stub, grpc::Status (Stub::*rpc)(grpc::ClientContext*, const Req&, Resp*),
                         const char* name, const Req& request, ms timeout);

  // Constant after construction.
  const std::string endpoint_;
  const ms default_timeout_;
  const std::shared_ptr<grpc::Channel> channel_;
  const std::unique_ptr<cri::RuntimeService::Stub> runtime_;
  const std::unique_ptr<cri::ImageService::Stub> images_;

  std::mutex mu_;
  bool shut_down_ = false;                    // guarded by mu_
  std::set<grpc::ClientContext*> in_flight_;  // guarded by mu_; each registered for its call only
};

}  // namespace capstan::plugins::containerd
