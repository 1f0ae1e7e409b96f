#include "controller/gitops/git_source.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "controller/gitops/git_http_test_server.h"
#include "controller/gitops/git_test_util.h"

namespace capstan::controller::gitops {
namespace {

using testing::GitAvailable;
using testing::GitDaemon;
using testing::GitFixtureRepo;

class GitSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!GitAvailable()) GTEST_SKIP() << "git is not installed";
    root_ = std::filesystem::temp_directory_path() /
            ("capstan-gitsource-" + std::to_string(::getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(root_);
    repo_ = std::make_unique<GitFixtureRepo>(root_.string());
    auto source = GitSource::Open((root_ / "cache").string());
    ASSERT_TRUE(source.ok()) << source.status().ToString();
    source_ = std::move(*source);
  }
  void TearDown() override {
    source_.reset();
    std::filesystem::remove_all(root_);
  }
  Result<GitRevision> Fetch(GitRef ref = {}) {
    FetchRequest r;
    r.url = repo_->Url();
    r.ref = std::move(ref);
    r.timeout = std::chrono::seconds(20);
    return source_->Fetch(r);
  }
  std::vector<std::string> Paths(const std::string& commit, const std::string& path) {
    auto files = source_->ReadManifests(commit, path);
    EXPECT_TRUE(files.ok()) << files.status().ToString();
    std::vector<std::string> out;
    if (files.ok()) {
      for (const auto& f : *files) out.push_back(f.path);
    }
    return out;
  }

  std::filesystem::path root_;
  std::unique_ptr<GitFixtureRepo> repo_;
  std::unique_ptr<GitSource> source_;
};

TEST_F(GitSourceTest, FetchesTheBranchAndReadsManifestsFromTheCommitsTree) {
  repo_->Write("apps/web.yaml", "kind: A\n");
  repo_->Write("apps/db.json", "{}");
  repo_->Write("apps/sub/cache.yml", "kind: B\n");
  repo_->Write("apps/.hidden.yaml", "kind: C\n");
  repo_->Write("apps/.github/ci.yaml", "kind: D\n");
  repo_->Write("apps/README.md", "# docs\n");
  repo_->Write("apps/drafts/wip.yaml", "kind: E\n");
  repo_->Write("apps/.capstanignore", "drafts/\n*.json\n");
  repo_->Write("other/x.yaml", "kind: F\n");
  std::string head = repo_->Commit("first");
  auto rev = Fetch();
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  EXPECT_EQ(rev->commit, head);
  EXPECT_EQ(rev->name, "main@sha1:" + head);
  EXPECT_EQ(Paths(head, "./apps"), (std::vector<std::string>{"apps/sub/cache.yml", "apps/web.yaml"}));
  EXPECT_EQ(Paths(head, "").size(), 5u) << "the root: the root has no .capstanignore";
  auto web = source_->ReadManifests(head, "apps/");
  ASSERT_TRUE(web.ok());
  EXPECT_EQ((*web)[1].text, "kind: A\n");
  EXPECT_TRUE(source_->ReadManifests(head, "./missing").status().IsNotFound());
  EXPECT_FALSE(std::filesystem::exists(root_ / "cache" / "apps")) << "a bare cache, never a checkout";
}

TEST_F(GitSourceTest, ForcePushMovesToTheNewHeadAndDeletedBranchesArePruned) {
  repo_->Write("a.yaml", "v: 1\n");
  std::string first = repo_->Commit("first");
  repo_->Write("a.yaml", "v: 2\n");
  std::string second = repo_->Commit("second");
  repo_->Git("push -q origin HEAD:refs/heads/feature 2>/dev/null");
  ASSERT_TRUE(Fetch().ok());
  ASSERT_TRUE(Fetch({.branch = "feature"}).ok());
  // Rewrite history: a different second commit, force-pushed; the feature branch deleted.
  repo_->Git("reset -q --hard " + first);
  repo_->Write("a.yaml", "v: 3\n");
  std::string rewritten = repo_->Commit("rewritten", /*force=*/true);
  repo_->Git("push -q origin :refs/heads/feature 2>/dev/null");
  auto rev = Fetch();
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  EXPECT_EQ(rev->commit, rewritten);
  EXPECT_NE(rewritten, second);
  auto files = source_->ReadManifests(rev->commit, ".");
  ASSERT_TRUE(files.ok());
  EXPECT_EQ((*files)[0].text, "v: 3\n");
  EXPECT_TRUE(Fetch({.branch = "feature"}).status().IsNotFound()) << "the deleted branch is gone from the cache";
}

TEST_F(GitSourceTest, TagsSemverRangesAndCommits) {
  std::string c1 = repo_->Commit("one");
  repo_->Git("tag v1.0.0");
  std::string c2 = repo_->Commit("two");
  repo_->Git("tag v1.2.0");
  std::string c3 = repo_->Commit("three");
  repo_->Git("tag -a v2.0.0-rc.1 -m rc");
  repo_->Git("tag v2.0.0");
  repo_->Git("push -q --tags origin 2>/dev/null");
  auto tag = Fetch({.tag = "v1.0.0"});
  ASSERT_TRUE(tag.ok()) << tag.status().ToString();
  EXPECT_EQ(tag->name, "v1.0.0@sha1:" + c1);
  auto range = Fetch({.semver = ">=1.0.0 <2.0.0"});
  ASSERT_TRUE(range.ok()) << range.status().ToString();
  EXPECT_EQ(range->name, "v1.2.0@sha1:" + c2);
  auto caret = Fetch({.semver = "^2"});
  ASSERT_TRUE(caret.ok());
  EXPECT_EQ(caret->commit, c3) << "an annotated tag peels to its commit";
  EXPECT_EQ(caret->name, "v2.0.0@sha1:" + c3);
  auto commit = Fetch({.commit = c2});
  ASSERT_TRUE(commit.ok());
  EXPECT_EQ(commit->name, "sha1:" + c2);
  EXPECT_TRUE(Fetch({.semver = ">=3"}).status().IsNotFound());
  EXPECT_EQ(Fetch({.semver = ">>1"}).status().code(), Code::kBadRequest);
  EXPECT_TRUE(Fetch({.tag = "nope"}).status().IsNotFound());
}

TEST_F(GitSourceTest, GitDaemonFetchAndUnreachableRemote) {
  repo_->Write("a.yaml", "v: 1\n");
  std::string head = repo_->Commit("first");
  int port = testing::FreePort();
  GitDaemon daemon(root_.string(), port);
  ASSERT_TRUE(daemon.Start()) << "git daemon did not start";
  FetchRequest r;
  r.url = "git://127.0.0.1:" + std::to_string(port) + "/remote.git";
  r.timeout = std::chrono::seconds(20);
  auto rev = source_->Fetch(r);
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  EXPECT_EQ(rev->commit, head);
  daemon.Stop();
  auto down = source_->Fetch(r);
  EXPECT_EQ(down.status().code(), Code::kUnavailable) << down.status().ToString();
  auto missing = Fetch();
  EXPECT_TRUE(missing.ok()) << "file:// still works";
}

TEST_F(GitSourceTest, SmartHttpWithBasicAuthAndRefusedCredentials) {
  repo_->Write("a.yaml", "v: 1\n");
  std::string head = repo_->Commit("first");
  testing::GitHttpServer http(root_.string(), "alice", "s3cret");
  FetchRequest r;
  r.url = http.Url("remote.git");
  r.timeout = std::chrono::seconds(20);
  auto anonymous = source_->Fetch(r);
  EXPECT_EQ(anonymous.status().code(), Code::kUnauthorized) << anonymous.status().ToString();
  r.credentials = {"alice", "wrong"};
  auto wrong = source_->Fetch(r);
  EXPECT_EQ(wrong.status().code(), Code::kUnauthorized) << wrong.status().ToString();
  EXPECT_NE(wrong.status().message().find("refused the credentials"), std::string::npos) << wrong.status().ToString();
  r.credentials = {"alice", "s3cret"};
  auto rev = source_->Fetch(r);
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  EXPECT_EQ(rev->commit, head);
  r.credentials = {"", "s3cret"};  // a token alone goes as the password with user "git"
  EXPECT_EQ(source_->Fetch(r).status().code(), Code::kUnauthorized) << "alice's password is not git's";
}

// https with a private CA: refused without it (and with another CA), accepted with it.
TEST_F(GitSourceTest, HttpsWithAPrivateCa) {
  if (std::system("openssl version >/dev/null 2>&1") != 0) GTEST_SKIP() << "openssl CLI missing";
  const std::string d = root_.string();
  auto make_ca = [&](const std::string& name) {
    return GitFixtureRepo::Sh("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=" + name + " -keyout " + d + "/" +
                              name + ".key -out " + d + "/" + name + ".crt 2>/dev/null") == 0;
  };
  ASSERT_TRUE(make_ca("ca") && make_ca("other"));
  ASSERT_EQ(GitFixtureRepo::Sh("cd " + d + " && printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && "
                               "openssl req -newkey rsa:2048 -nodes -subj /CN=git -keyout server.key -out server.csr 2>/dev/null && "
                               "openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 1 "
                               "-extfile san.ext -out server.crt 2>/dev/null"),
            0);
  auto read = [&](const std::string& f) {
    std::ifstream in(d + "/" + f);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  repo_->Write("a.yaml", "v: 1\n");
  std::string head = repo_->Commit("first");
  testing::GitHttpServer https(d, "alice", "s3cret", d + "/server.crt", d + "/server.key");
  FetchRequest r;
  r.url = https.Url("remote.git");
  r.timeout = std::chrono::seconds(20);
  r.credentials = {"alice", "s3cret", ""};
  EXPECT_FALSE(source_->Fetch(r).ok()) << "the system's CAs do not know ours";
  r.credentials.ca_pem = read("other.crt");
  auto other = source_->Fetch(r);
  EXPECT_NE(other.status().message().find("not signed by the given CA"), std::string::npos) << other.status().ToString();
  r.credentials.ca_pem = read("ca.crt");
  auto rev = source_->Fetch(r);
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  EXPECT_EQ(rev->commit, head);
}

// Signed commits: libgit2 extracts the signature, gpgv checks it against the trusted keys.
TEST_F(GitSourceTest, CommitSignaturesAreVerifiedWithGpgv) {
  if (!testing::GpgAvailable()) GTEST_SKIP() << "gpg or gpgv missing";
  const std::string home = (root_ / "gnupg").string();
  const std::string alice = testing::MakeGpgKey(home, "alice");
  const std::string mallory = testing::MakeGpgKey(home, "mallory");
  ASSERT_NE(alice.find("BEGIN PGP PUBLIC KEY BLOCK"), std::string::npos) << alice;
  repo_->Write("a.yaml", "v: 1\n");
  std::string unsigned_commit = repo_->Commit("unsigned");
  repo_->Write("a.yaml", "v: 2\n");
  std::string signed_commit = repo_->CommitSigned("signed", "alice@example.com", home);
  ASSERT_NE(signed_commit, unsigned_commit);
  ASSERT_TRUE(Fetch().ok());

  EXPECT_TRUE(source_->VerifyCommit(signed_commit, alice).ok());
  EXPECT_TRUE(source_->VerifyCommit(signed_commit, mallory + alice).ok()) << "any trusted key";
  Status wrong_key = source_->VerifyCommit(signed_commit, mallory);
  EXPECT_EQ(wrong_key.code(), Code::kUnauthorized);
  EXPECT_NE(wrong_key.message().find("does not verify"), std::string::npos) << wrong_key.ToString();
  Status unsigned_status = source_->VerifyCommit(unsigned_commit, alice);
  EXPECT_EQ(unsigned_status.code(), Code::kUnauthorized);
  EXPECT_NE(unsigned_status.message().find("is not signed"), std::string::npos) << unsigned_status.ToString();
  testing::StopGpgAgent(home);
}

TEST_F(GitSourceTest, SshWithAKeyAndKnownHostsAndARefusedHostKey) {
  if (!testing::SshdAvailable()) GTEST_SKIP() << "sshd (openssh-server), ssh-keygen or git-shell missing";
  repo_->Write("apps/web.yaml", "kind: A\n");
  const std::string commit = repo_->Commit("first");
  testing::SshGitServer sshd((root_ / "ssh").string());
  ASSERT_TRUE(sshd.Start()) << sshd.log();
  FetchRequest r;
  r.url = sshd.Url(repo_->Bare());
  r.timeout = std::chrono::seconds(20);
  r.credentials.ssh_private_key = sshd.ClientKey();

  Result<GitRevision> rev = source_->Fetch(r);
  EXPECT_EQ(rev.status().code(), Code::kInvalid) << "no known_hosts: refused before connecting";

  r.credentials.ssh_known_hosts = sshd.WrongKnownHosts();
  rev = source_->Fetch(r);
  ASSERT_EQ(rev.status().code(), Code::kForbidden) << rev.status().ToString();
  EXPECT_NE(rev.status().message().find("does not match"), std::string::npos) << rev.status().message();

  r.credentials.ssh_known_hosts = sshd.KnownHosts();
  rev = source_->Fetch(r);
  ASSERT_TRUE(rev.ok()) << rev.status().ToString() << "\n" << sshd.log();
  EXPECT_EQ(rev->commit, commit);
  EXPECT_EQ(Paths(rev->commit, "apps"), std::vector<std::string>{"apps/web.yaml"});

  testing::SshGitServer other((root_ / "other").string());  // a key the server does not know
  ASSERT_TRUE(other.Start());
  r.credentials.ssh_private_key = other.ClientKey();
  rev = source_->Fetch(r);
  EXPECT_EQ(rev.status().code(), Code::kUnauthorized) << rev.status().ToString();
}

TEST_F(GitSourceTest, CompactionDropsWhatAForcePushLeftBehind) {
  repo_->Write("apps/a.yaml", "kind: A\n");
  const std::string c1 = repo_->Commit("first");
  ASSERT_TRUE(Fetch().ok());
  const std::string dropped = "kind: Dropped\nname: only-in-the-rewritten-commit\n";
  repo_->Write("apps/dropped.yaml", dropped);
  repo_->Commit("second");
  ASSERT_TRUE(Fetch().ok());
  EXPECT_FALSE(source_->NeedsCompaction()) << "a fast-forward drops nothing";
  const std::string blob = GitFixtureRepo::Output("printf '" + dropped + "' | git hash-object --stdin");
  const std::string in_cache = "git -C " + source_->cache_dir() + " cat-file -e " + blob + " 2>/dev/null";
  ASSERT_EQ(GitFixtureRepo::Sh(in_cache), 0);

  repo_->Git("reset -q --hard " + c1);
  repo_->Write("apps/b.yaml", "kind: B\n");
  const std::string rewritten = repo_->Commit("rewritten", /*force=*/true);
  Result<GitRevision> rev = Fetch();
  ASSERT_TRUE(rev.ok());
  EXPECT_TRUE(source_->NeedsCompaction()) << "a force-push";
  ASSERT_TRUE(source_->Compact().ok());
  EXPECT_FALSE(source_->NeedsCompaction());
  EXPECT_NE(GitFixtureRepo::Sh(in_cache), 0) << "the dropped commit's blob is gone";
  EXPECT_EQ(Paths(rewritten, "apps"), (std::vector<std::string>{"apps/a.yaml", "apps/b.yaml"}));
  repo_->Write("apps/c.yaml", "kind: C\n");
  const std::string next = repo_->Commit("after the compaction");
  rev = Fetch();
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  EXPECT_EQ(rev->commit, next);
  EXPECT_EQ(Paths(next, "apps").size(), 3u);
}

// A refused (unverified) newer commit leaves the previous artifact in use; after a force-push no
// branch reaches it, and compaction must keep it readable while it is in use, and only then.
TEST_F(GitSourceTest, CompactionKeepsTheCommitsStillInUse) {
  repo_->Write("apps/a.yaml", "kind: A\n");
  const std::string c1 = repo_->Commit("first");
  repo_->Write("apps/old.yaml", "kind: Old\n");
  const std::string in_use = repo_->Commit("the artifact");
  ASSERT_TRUE(Fetch().ok());
  repo_->Git("reset -q --hard " + c1);
  repo_->Write("apps/b.yaml", "kind: B\n");
  const std::string rewritten = repo_->Commit("force-pushed", /*force=*/true);
  Result<GitRevision> rev = Fetch();
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  ASSERT_EQ(rev->commit, rewritten);

  ASSERT_TRUE(source_->Compact({in_use, "", std::string(40, 'a')}).ok()) << "empty and unknown commits are skipped";
  EXPECT_EQ(Paths(in_use, "apps"), (std::vector<std::string>{"apps/a.yaml", "apps/old.yaml"}));
  EXPECT_EQ(Paths(rewritten, "apps"), (std::vector<std::string>{"apps/a.yaml", "apps/b.yaml"}));
  rev = Fetch();
  ASSERT_TRUE(rev.ok()) << rev.status().ToString();
  EXPECT_FALSE(source_->NeedsCompaction()) << "the kept ref is no branch or tag a fetch could rewrite";
  ASSERT_TRUE(source_->Compact({in_use}).ok()) << "a second compaction keeps it too";
  EXPECT_TRUE(source_->ReadManifests(in_use, "apps").ok());

  ASSERT_TRUE(source_->Compact().ok());
  Result<std::vector<ManifestFile>> gone = source_->ReadManifests(in_use, "apps");
  EXPECT_EQ(gone.status().code(), Code::kNotFound) << "no longer in use: dropped";
  EXPECT_EQ(Paths(rewritten, "apps").size(), 2u);
}

TEST(SemVerTest, ParseCompareAndRanges) {
  SemVer a, b;
  ASSERT_TRUE(SemVer::Parse("v1.2.3", &a));
  ASSERT_TRUE(SemVer::Parse("1.2.3-rc.1", &b));
  EXPECT_GT(a.Compare(b), 0);
  EXPECT_FALSE(SemVer::Parse("1.2", &a));
  EXPECT_FALSE(SemVer::Parse("latest", &a));
  SemVer v;
  ASSERT_TRUE(SemVer::Parse("1.4.2", &v));
  EXPECT_TRUE(*SemVerMatches("^1.2", v));
  EXPECT_TRUE(*SemVerMatches("~1.4", v));
  EXPECT_FALSE(*SemVerMatches("~1.3.0", v));
  EXPECT_TRUE(*SemVerMatches("1.x", v));
  EXPECT_TRUE(*SemVerMatches("*", v));
  EXPECT_TRUE(*SemVerMatches(">= 1.0.0 < 2.0.0", v));
  EXPECT_FALSE(*SemVerMatches(">=2.0.0", v));
  EXPECT_TRUE(*SemVerMatches("<1.0.0 || >=1.4.0", v));
  EXPECT_TRUE(*SemVerMatches("1.4.2", v));
  SemVer pre;
  ASSERT_TRUE(SemVer::Parse("2.0.0-rc.1", &pre));
  EXPECT_FALSE(*SemVerMatches(">=1.0.0", pre)) << "pre-releases only when the range names one";
  EXPECT_FALSE(SemVerMatches(">=", v).ok());
}

}  // namespace
}  // namespace capstan::controller::gitops
