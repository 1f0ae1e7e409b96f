// ManagedRegistry against the real docker-registry (distribution 2.8): supervision, which URLs
// name it, and the read-only garbage-collection window (blobs only deleted manifests used are
// gone and the storage shrank by what was measured; shared blobs stay; pushes racing the window
// either fail or are complete).
#include "controller/registry/managed_registry.h"

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "controller/registry/registry_client.h"
#include "controller/registry/testing/image_pusher.h"
#include "controller/registry/testing/registry_process.h"
#include "e2e/process.h"

namespace capstan::registry {
namespace {

using testing::PushedImage;

class ManagedRegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::RegistryBinary().empty()) GTEST_SKIP() << "docker-registry is not installed";
    dir_ = e2e::MakeTempDir("capstan-managed-registry");
    port_ = testing::FreeLoopbackPort();
    ManagedRegistryOptions options;
    options.address = "127.0.0.1:" + std::to_string(port_);
    options.storage_dir = dir_ + "/storage";
    options.config_dir = dir_ + "/config";
    options.binary = testing::RegistryBinary();
    auto started = ManagedRegistry::Start(options);
    ASSERT_TRUE(started.ok()) << started.status().ToString();
    registry_ = std::move(started).value();
    RegistryClientOptions client_options;
    client_options.max_attempts = 1;  // a refused push must show, not be retried past the window
    client_ = std::move(RegistryClient::Create({registry_->url(), "", "", "", false}, client_options)).value();
  }
  void TearDown() override {
    registry_.reset();
    std::error_code ignored;
    if (!dir_.empty()) std::filesystem::remove_all(dir_, ignored);
  }
  PushedImage Push(const std::string& repo, const std::string& tag, const std::string& seed, size_t bytes = 64 * 1024) {
    Result<PushedImage> image =
        testing::PushImage(*client_, repo, tag, {"2024-01-01T00:00:00Z", seed, false, "amd64", bytes});
    EXPECT_TRUE(image.ok()) << image.status().ToString();
    return image.ok() ? *image : PushedImage{};
  }

  std::string dir_;
  int port_ = 0;
  std::unique_ptr<ManagedRegistry> registry_;
  std::unique_ptr<RegistryClient> client_;
};

TEST_F(ManagedRegistryTest, ServesItsOwnUrlOnly) {
  std::string port = std::to_string(port_);
  EXPECT_TRUE(registry_->Serves("http://127.0.0.1:" + port));
  EXPECT_TRUE(registry_->Serves("http://localhost:" + port + "/"));
  EXPECT_TRUE(registry_->Serves("HTTP://[::1]:" + port));
  EXPECT_FALSE(registry_->Serves("https://127.0.0.1:" + port));
  EXPECT_FALSE(registry_->Serves("http://127.0.0.1:" + std::to_string(port_ + 1)));
  EXPECT_FALSE(registry_->Serves("http://registry.example.com:" + port));
}

TEST_F(ManagedRegistryTest, RestartedAfterItDies) {
  pid_t first = registry_->pid();
  ASSERT_GT(first, 0);
  ASSERT_EQ(::kill(first, SIGKILL), 0);
  EXPECT_TRUE(e2e::WaitFor([&] { return registry_->pid() > 0 && registry_->pid() != first && client_->Ping().ok(); },
                           std::chrono::seconds(15)));
  Push("app", "after-restart", "r");
  EXPECT_TRUE(testing::PullAndVerify(*client_, "app", "after-restart").ok());
}

TEST_F(ManagedRegistryTest, GarbageCollectionFreesOnlyUnreferencedBlobs) {
  PushedImage keep = Push("app", "keep", "shared");
  PushedImage gone = Push("app", "gone", "unique");
  // Another repository's image with the same layer and config as `gone`'s: shared, so it stays.
  PushedImage twin = Push("other", "twin", "unique");
  ASSERT_EQ(twin.digest, gone.digest);
  PushedImage other_gone = Push("other", "old", "other-unique");
  ASSERT_TRUE(client_->DeleteManifest("app", gone.digest).ok());
  ASSERT_TRUE(client_->DeleteManifest("other", other_gone.digest).ok());

  int64_t before = registry_->StorageBytes();
  Result<GarbageCollectionResult> gc = registry_->CollectGarbage();
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_EQ(gc->storage_bytes_before, before);
  EXPECT_EQ(gc->storage_bytes_after, registry_->StorageBytes());
  EXPECT_EQ(gc->storage_bytes_after, DiskUsageBytes(dir_ + "/storage"));
  // other-unique's 64 KiB layer went: at least that much was freed.
  EXPECT_GE(gc->storage_bytes_before - gc->storage_bytes_after, 64 * 1024);
  EXPECT_GT(gc->read_only_window.count(), 0);
  EXPECT_GE(gc->read_only_window, gc->collect_time);

  // Survivors pull completely; the collected layer is gone (no stale cache answers for it).
  EXPECT_TRUE(testing::PullAndVerify(*client_, "app", "keep").ok());
  Status twin_pull = testing::PullAndVerify(*client_, "other", "twin");
  EXPECT_TRUE(twin_pull.ok()) << twin_pull.ToString();
  Result<Manifest> gone_manifest = client_->GetManifest("other", other_gone.digest);
  EXPECT_TRUE(gone_manifest.status().IsNotFound()) << gone_manifest.status().ToString();
  // Pushed again after the window, the deleted image is whole again.
  Push("other", "old", "other-unique");
  EXPECT_TRUE(testing::PullAndVerify(*client_, "other", "old").ok());
  EXPECT_EQ(client_->HeadManifest("app", "keep")->digest, keep.digest);
}

// Pushes racing the window: each either fails or leaves a complete image; none is lost silently.
TEST_F(ManagedRegistryTest, PushesDuringTheWindowFailOrAreComplete) {
  Push("app", "seed", "seed");
  ASSERT_TRUE(client_->DeleteManifest("app", client_->HeadManifest("app", "seed")->digest).ok());
  std::atomic<bool> done{false};
  std::atomic<int> complete{0};
  std::vector<std::string> pushed;  // tags whose push succeeded (pusher thread only until joined)
  int failed = 0;
  std::thread pusher([&] {
    for (int i = 0; i < 20000 && !done; ++i) {
      std::string tag = "t" + std::to_string(i);
      Result<PushedImage> image =
          testing::PushImage(*client_, "race", tag, {"2024-01-01T00:00:00Z", tag, false, "amd64", 4096});
      if (image.ok()) {
        pushed.push_back(tag);
        ++complete;
      } else {
        ++failed;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
  });
  // Pushes before, during and after the window.
  e2e::WaitFor([&] { return complete >= 3; }, std::chrono::seconds(10), std::chrono::milliseconds(5));
  Result<GarbageCollectionResult> gc = registry_->CollectGarbage();
  int after_window = complete;
  e2e::WaitFor([&] { return complete >= after_window + 3; }, std::chrono::seconds(10), std::chrono::milliseconds(5));
  done = true;
  pusher.join();
  ASSERT_TRUE(gc.ok()) << gc.status().ToString();
  EXPECT_GE(complete.load(), after_window + 3);  // pushes work again after the window
  EXPECT_GT(failed, 0);                          // and were refused during it
  for (const std::string& tag : pushed) {
    Status pulled = testing::PullAndVerify(*client_, "race", tag);
    EXPECT_TRUE(pulled.ok()) << tag << ": " << pulled.ToString();
  }
  std::printf("pushes: %zu complete, %d refused; window %lld ms\n", pushed.size(), failed,
              static_cast<long long>(gc->read_only_window.count()));
}

}  // namespace
}  // namespace capstan::registry
