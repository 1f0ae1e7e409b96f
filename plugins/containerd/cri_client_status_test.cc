// The pure part of cri_client.h: gRPC status codes to the SDK's. (The calls themselves are tested
// against a real containerd in cri_client_test.cc.)
#include <gtest/gtest.h>

#include "plugins/containerd/cri_client.h"

namespace capstan::plugins::containerd {
namespace {

TEST(ContainerdCriStatus, GrpcCodesMapToSdkCodes) {
  const std::pair<grpc::StatusCode, int32_t> cases[] = {
      {grpc::StatusCode::NOT_FOUND, CAPSTAN_ERR_NOT_FOUND},
      {grpc::StatusCode::UNAVAILABLE, CAPSTAN_ERR_UNAVAILABLE},
      {grpc::StatusCode::DEADLINE_EXCEEDED, CAPSTAN_ERR_TIMEOUT},
      {grpc::StatusCode::ALREADY_EXISTS, CAPSTAN_ERR_ALREADY_EXISTS},
      {grpc::StatusCode::FAILED_PRECONDITION, CAPSTAN_ERR_CONFLICT},
      {grpc::StatusCode::INVALID_ARGUMENT, CAPSTAN_ERR_INVALID_ARGUMENT},
      {grpc::StatusCode::OUT_OF_RANGE, CAPSTAN_ERR_INVALID_ARGUMENT},
      {grpc::StatusCode::PERMISSION_DENIED, CAPSTAN_ERR_PERMISSION_DENIED},
      {grpc::StatusCode::UNAUTHENTICATED, CAPSTAN_ERR_PERMISSION_DENIED},
      {grpc::StatusCode::RESOURCE_EXHAUSTED, CAPSTAN_ERR_RETRY_LATER},
      {grpc::StatusCode::ABORTED, CAPSTAN_ERR_RETRY_LATER},
      {grpc::StatusCode::CANCELLED, CAPSTAN_ERR_RETRY_LATER},
      {grpc::StatusCode::UNIMPLEMENTED, CAPSTAN_ERR_UNSUPPORTED},
      {grpc::StatusCode::UNKNOWN, CAPSTAN_ERR_INTERNAL},
      {grpc::StatusCode::INTERNAL, CAPSTAN_ERR_INTERNAL},
      {grpc::StatusCode::DATA_LOSS, CAPSTAN_ERR_INTERNAL},
  };
  for (const auto& [code, want] : cases) {
    const sdk::Error e = MapGrpcStatus(code, "boom", "CRI Version on unix:///x.sock");
    EXPECT_EQ(e.code, want) << static_cast<int>(code);
  }
  const sdk::Error e = MapGrpcStatus(grpc::StatusCode::NOT_FOUND, "no such container", "CRI ContainerStatus");
  EXPECT_EQ(e.message, "CRI ContainerStatus: no such container (NOT_FOUND)");
}

TEST(ContainerdCriStatus, AnUnreachableEndpointIsUnavailableAtOnce) {
  CriClient client("unix:///nonexistent/capstan-containerd-test.sock", std::chrono::seconds(20));
  const auto begin = std::chrono::steady_clock::now();
  sdk::Result<cri::VersionResponse> v = client.Version();
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, CAPSTAN_ERR_UNAVAILABLE) << v.error().message;
  EXPECT_NE(v.error().message.find("Version"), std::string::npos) << v.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(10)) << "fail-fast, not the deadline";
  client.Shutdown();
  sdk::Result<cri::VersionResponse> after = client.Version();
  ASSERT_FALSE(after.ok());
  EXPECT_EQ(after.error().code, CAPSTAN_ERR_UNAVAILABLE);
  EXPECT_NE(after.error().message.find("shutting down"), std::string::npos) << after.error().message;
}

}  // namespace
}  // namespace capstan::plugins::containerd
