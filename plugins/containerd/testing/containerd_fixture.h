// A private containerd for tests: ContainerdEnv runs testing/containerd_env.sh (start in a fresh
// short temporary directory, stop and remove it at the end), and ContainerdTest is the GoogleTest
// fixture that gives each test suite one, skipping (with the reason) when containerd is not
// installed. Nothing is shared between two environments, so test processes may run at once.
//
// Thread-safety: an environment is owned by one test suite; its accessors are constant.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "plugins/containerd/cri_client.h"

namespace capstan::plugins::containerd {

class ContainerdEnv {
 public:
  // Starts containerd with the test images imported. On failure returns null and sets `*skip`
  // (containerd is not installed: the caller skips) or `*error` (anything else: the caller fails).
  static std::unique_ptr<ContainerdEnv> Start(std::string* skip, std::string* error);
  ~ContainerdEnv();  // stops containerd and every shim, removes the directory
  ContainerdEnv(const ContainerdEnv&) = delete;
  ContainerdEnv& operator=(const ContainerdEnv&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& endpoint() const { return endpoint_; }      // unix://<dir>/containerd.sock
  const std::string& test_image() const { return test_image_; }  // busybox and its applets
  const std::string& pause_image() const { return pause_image_; }

  // Runs `ctr -a <socket> -n k8s.io <args>`; returns its exit status, its output in `*out`.
  int Ctr(const std::vector<std::string>& args, std::string* out = nullptr) const;
  // Builds an image NAME (busybox, command CMD) and imports it; true on success.
  bool ImportImage(const std::string& name, const std::vector<std::string>& cmd) const;

 private:
  ContainerdEnv() = default;

  std::string dir_, endpoint_, socket_, test_image_, pause_image_;
};

// Runs `argv` (no shell), returning its exit status (-1 when it could not run) and its output
// (stdout and stderr) in `*out`.
int RunCommand(const std::vector<std::string>& argv, std::string* out);

class ContainerdTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;     // skips or fails as the environment says
  void TearDown() override;  // fails if a sandbox or container of the driver is left in containerd

  static ContainerdEnv& env() { return *env_; }
  // A CRI client of the environment, for looking behind the driver's back.
  CriClient& cri();

 private:
  static std::unique_ptr<ContainerdEnv> env_;
  static std::string skip_, error_;
  std::unique_ptr<CriClient> cri_;
};

}  // namespace capstan::plugins::containerd
