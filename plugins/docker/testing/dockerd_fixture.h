// DockerdFixture: a private Docker engine for one test process (testing/dockerd-fixture.sh: its
// own dockerd on a unix socket in a fresh /tmp/cdk.XXXXXX, a registry on 127.0.0.1 holding the
// busybox test image, a bridge network), stopped and removed with everything in it when the
// fixture is destroyed, or by the script's watchdog if the process dies first.
//
// Tests get the process's fixture from DockerdEnvironment (a GoogleTest environment: started
// before the first test, stopped after the last) through the REQUIRE_DOCKERD() macro, which skips
// the test when dockerd is not installed and fails it when the engine could not be started.
//
// Thread-safety: a fixture is immutable after Start; Docker() may be called from any thread.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace capstan::plugins::docker::testing {

class DockerdFixture {
 public:
  struct Options {
    bool tls = false;  // also listen on tcp://127.0.0.1:<port> with TLS and client certificates
  };
  enum class Outcome { kStarted, kNotInstalled, kFailed };

  // Starts a fixture. On kNotInstalled / kFailed, `why` says why and the result is null.
  static std::unique_ptr<DockerdFixture> Start(const Options& options, Outcome* outcome, std::string* why);
  ~DockerdFixture();  // stops the engine and removes the directory
  DockerdFixture(const DockerdFixture&) = delete;
  DockerdFixture& operator=(const DockerdFixture&) = delete;

  // A value of the fixture's env file ("" when absent): see dockerd-fixture.sh.
  std::string Get(const std::string& key) const;
  const std::string& dir() const { return dir_; }
  std::string endpoint() const { return Get("CAPSTAN_DOCKER_ENDPOINT"); }  // unix://.../docker.sock
  std::string image() const { return Get("CAPSTAN_TEST_IMAGE"); }          // busybox, with every applet
  std::string network() const { return Get("CAPSTAN_TEST_NETWORK"); }      // a user-defined bridge
  std::string registry() const { return Get("CAPSTAN_TEST_REGISTRY"); }    // 127.0.0.1:<port>

  // Stops dockerd (its containers die) and starts it again on the same state, as a reboot of the
  // engine would; false (with the script's messages on stderr) when it did not come back.
  bool RestartEngine() const;

  // Runs `/usr/bin/docker -H <endpoint> args...`; returns its exit status, stdout in *out (trailing
  // newline removed) when out is given. stderr goes to the test's stderr.
  int Docker(const std::vector<std::string>& args, std::string* out = nullptr) const;
  // Docker(), failing the test on a non-zero status; returns stdout.
  std::string MustDocker(const std::vector<std::string>& args) const;

 private:
  DockerdFixture(std::string dir, std::map<std::string, std::string> env) : dir_(std::move(dir)), env_(std::move(env)) {}

  const std::string dir_;
  const std::map<std::string, std::string> env_;
};

// The process's fixture, as a GoogleTest environment. Register one per test binary:
//   static auto* const kDockerd = ::testing::AddGlobalTestEnvironment(new DockerdEnvironment({}));
class DockerdEnvironment : public ::testing::Environment {
 public:
  explicit DockerdEnvironment(DockerdFixture::Options options) : options_(options) {}
  void SetUp() override;
  void TearDown() override;

  // The fixture of the running test binary (null when not started); why it is not.
  static DockerdFixture* fixture();
  static DockerdFixture::Outcome outcome();
  static const std::string& why();

 private:
  DockerdFixture::Options options_;
};

// Free TCP port on 127.0.0.1 (bound once and released; good enough between tests on one host).
int FreeLoopbackPort();

// An HTTP GET of `path` on 127.0.0.1:port; the whole answer (status line, headers, body), "" when
// it cannot connect.
std::string HttpGetLoopback(int port, const std::string& path);

}  // namespace capstan::plugins::docker::testing

// Skips the test without dockerd; fails it when the engine could not be started.
#define REQUIRE_DOCKERD()                                                                                    \
  do {                                                                                                       \
    using ::capstan::plugins::docker::testing::DockerdEnvironment;                                           \
    using ::capstan::plugins::docker::testing::DockerdFixture;                                               \
    if (DockerdEnvironment::outcome() == DockerdFixture::Outcome::kNotInstalled) {                           \
      GTEST_SKIP() << "dockerd is not installed (Debian: docker.io, busybox-static): " << DockerdEnvironment::why(); \
    }                                                                                                        \
    ASSERT_NE(DockerdEnvironment::fixture(), nullptr) << "the test engine did not start: " << DockerdEnvironment::why(); \
  } while (0)
