#include "client/kubeconfig.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>

#include <gtest/gtest.h>

namespace capstan::client {
namespace {

namespace fs = std::filesystem;

constexpr const char* kConfig = R"(apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: http://127.0.0.1:6443
- name: remote
  cluster:
    server: https://capstan.example:6443
    insecure-skip-tls-verify: true
    certificate-authority-data: LS0tLS1CRUdJTg==
users:
- name: admin
  user:
    token: secret-token
- name: viewer
  user:
    token: view-token
contexts:
- name: local
  context:
    cluster: local
    user: admin
    namespace: prod
- name: remote
  context:
    cluster: remote
    user: viewer
current-context: local
)";

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/capstan-kubeconfig-XXXXXX";
    path_ = ::mkdtemp(pattern);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    std::string path = path_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Restores an environment variable when the test ends.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

TEST(KubeconfigTest, ParsesCurrentContext) {
  Result<Connection> connection = ParseKubeconfig(kConfig, "");
  ASSERT_TRUE(connection.ok()) << connection.status().ToString();
  EXPECT_EQ(connection->server, "http://127.0.0.1:6443");
  EXPECT_EQ(connection->token, "secret-token");
  EXPECT_EQ(connection->namespace_name, "prod");
  EXPECT_FALSE(connection->insecure_skip_tls_verify);
}

TEST(KubeconfigTest, ParsesNamedContextWithTlsSettings) {
  Result<Connection> connection = ParseKubeconfig(kConfig, "remote");
  ASSERT_TRUE(connection.ok()) << connection.status().ToString();
  EXPECT_EQ(connection->server, "https://capstan.example:6443");
  EXPECT_EQ(connection->token, "view-token");
  EXPECT_TRUE(connection->insecure_skip_tls_verify);
  EXPECT_EQ(connection->certificate_authority_data, "-----BEGIN");
  EXPECT_EQ(connection->namespace_name, "");
}

TEST(KubeconfigTest, MissingContextIsInvalid) {
  Result<Connection> connection = ParseKubeconfig(kConfig, "nope");
  ASSERT_FALSE(connection.ok());
  EXPECT_EQ(connection.status().code(), Code::kInvalid);
  EXPECT_NE(connection.status().message().find("\"nope\""), std::string::npos);
}

TEST(KubeconfigTest, MissingCurrentContextIsInvalid) {
  Result<Connection> connection = ParseKubeconfig("apiVersion: v1\nkind: Config\n", "");
  ASSERT_FALSE(connection.ok());
  EXPECT_NE(connection.status().message().find("current-context"), std::string::npos);
}

TEST(KubeconfigTest, ResolvesFlagBeforeEnvironment) {
  TempDir dir;
  std::string from_flag = dir.Write("flag", kConfig);
  std::string other = std::string(kConfig);
  other.replace(other.find("127.0.0.1:6443"), 14, "127.0.0.1:9999");
  std::string from_env = dir.Write("env", other);
  ScopedEnv env("CAPSTAN_KUBECONFIG", from_env);

  ConnectionOverrides overrides;
  Result<Connection> via_env = ResolveConnection(overrides);
  ASSERT_TRUE(via_env.ok()) << via_env.status().ToString();
  EXPECT_EQ(via_env->server, "http://127.0.0.1:9999");
  EXPECT_EQ(via_env->source, from_env);

  overrides.kubeconfig = from_flag;
  Result<Connection> via_flag = ResolveConnection(overrides);
  ASSERT_TRUE(via_flag.ok());
  EXPECT_EQ(via_flag->server, "http://127.0.0.1:6443");
  EXPECT_EQ(via_flag->source, from_flag);
}

TEST(KubeconfigTest, DefaultPathIsUnderHome) {
  ScopedEnv env("CAPSTAN_KUBECONFIG", "");
  ScopedEnv home("HOME", "/home/someone");
  EXPECT_EQ(DefaultKubeconfigPath(), "/home/someone/.capstan/kubeconfig");
}

TEST(KubeconfigTest, ServerAndTokenFlagsOverride) {
  TempDir dir;
  ConnectionOverrides overrides;
  overrides.kubeconfig = dir.Write("config", kConfig);
  overrides.server = "http://10.0.0.1:8080";
  overrides.token = "other";
  Result<Connection> connection = ResolveConnection(overrides);
  ASSERT_TRUE(connection.ok());
  EXPECT_EQ(connection->server, "http://10.0.0.1:8080");
  EXPECT_EQ(connection->token, "other");
  EXPECT_EQ(connection->namespace_name, "prod");  // the rest still comes from the file
}

TEST(KubeconfigTest, MissingDefaultFileNeedsServerFlag) {
  TempDir dir;
  ScopedEnv env("CAPSTAN_KUBECONFIG", dir.path() + "/absent");
  ConnectionOverrides overrides;
  Result<Connection> without = ResolveConnection(overrides);
  ASSERT_FALSE(without.ok());
  EXPECT_NE(without.status().message().find("capstan server"), std::string::npos);

  overrides.server = "http://127.0.0.1:1234";
  Result<Connection> with = ResolveConnection(overrides);
  ASSERT_TRUE(with.ok()) << with.status().ToString();
  EXPECT_EQ(with->server, "http://127.0.0.1:1234");
  EXPECT_EQ(with->source, "");
}

TEST(KubeconfigTest, ExplicitMissingFileIsAnErrorEvenWithServer) {
  ConnectionOverrides overrides;
  overrides.kubeconfig = "/nonexistent/kubeconfig";
  overrides.server = "http://127.0.0.1:1234";
  Result<Connection> connection = ResolveConnection(overrides);
  ASSERT_FALSE(connection.ok());
  EXPECT_TRUE(connection.status().IsNotFound());
}

TEST(KubeconfigTest, WriteCreatesPrivateFileThatReadsBack) {
  TempDir dir;
  std::string path = dir.path() + "/nested/dir/kubeconfig";
  ASSERT_TRUE(WriteKubeconfig(path, "http://127.0.0.1:6443", "tok-123").ok());

  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat((dir.path() + "/nested/dir").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u);

  ConnectionOverrides overrides;
  overrides.kubeconfig = path;
  Result<Connection> connection = ResolveConnection(overrides);
  ASSERT_TRUE(connection.ok()) << connection.status().ToString();
  EXPECT_EQ(connection->server, "http://127.0.0.1:6443");
  EXPECT_EQ(connection->token, "tok-123");

  // Rewriting replaces the token and keeps the mode.
  ASSERT_TRUE(WriteKubeconfig(path, "http://127.0.0.1:6443", "tok-456").ok());
  connection = ResolveConnection(overrides);
  ASSERT_TRUE(connection.ok());
  EXPECT_EQ(connection->token, "tok-456");
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

}  // namespace
}  // namespace capstan::client
