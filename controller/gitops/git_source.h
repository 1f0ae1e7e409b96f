// GitSource: one GitRepository's bare cache repository and what GitOps reads from it.
//
// Fetch() brings the cache (a bare repository under the data directory, created on first use) up
// to date with the remote using forced refspecs (+refs/heads/*:refs/heads/*,
// +refs/tags/*:refs/tags/*), so a force-push or rewritten history simply moves the local ref to
// the new head, and deletes local branches and tags the remote no longer has. It then resolves
// the requested ref (branch, tag, highest tag matching a semver range, or a commit) to a commit.
// Files are read from that commit's tree, never from a checkout.
//
// libgit2 1.5 has no network timeouts of its own: the deadline is enforced from the transfer and
// progress callbacks (an idle connection that sends nothing is bounded only by the OS). Objects
// that only dropped commits referenced stay in the cache until Compact() (libgit2 has no gc).
//
// Thread-safety: libgit2 is initialised once per process. Every call opens its own repository
// object, so ReadManifests may run on several threads while one Fetch runs; Fetch calls on one
// GitSource are serialised by its mutex (the GitRepository owns the fetch, Syncs only read).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "base/status.h"

namespace capstan::controller::gitops {

// Exactly one field set; all empty means branch "main" (the kind defaults it too).
struct GitRef {
  std::string branch;
  std::string tag;
  std::string semver;  // a range over tags: ">=1.2.0 <2.0.0", "^1.2", "~1.2.3", "1.x", "*", "1.2.3"
  std::string commit;  // a full 40-hex sha1
};

// Credentials for HTTP(S): basic auth (username + password) or a token (sent as the password,
// with username "git" when none is given); `ca_pem`, when set, is the CA bundle an https server's
// certificate must chain to (checked with OpenSSL, host name or IP included) instead of the
// system's. For ssh:// (libgit2 with libssh2): the private key (OpenSSH or PEM text) with its
// passphrase (`password`), the user of the URL (else `username`, else "git"), and the known_hosts
// text the server's host key must be in (known_hosts.h); without it nothing is fetched.
struct GitCredentials {
  std::string username;
  std::string password;
  std::string ca_pem;
  std::string ssh_private_key;
  std::string ssh_known_hosts;
};

struct FetchRequest {
  std::string url;  // file://, git://, http://, https://, ssh://
  GitRef ref;
  GitCredentials credentials;
  std::chrono::milliseconds timeout{60000};
};

struct GitRevision {
  std::string commit;  // 40 hex digits
  // What status shows: "main@sha1:<commit>", "v1.2.0@sha1:<commit>", or "sha1:<commit>".
  std::string name;
};

struct ManifestFile {
  std::string path;  // relative to the repository root: "apps/web.yaml"
  std::string text;
};

class GitSource {
 public:
  // Opens (creating it if needed) the bare cache repository at `cache_dir`.
  static Result<std::unique_ptr<GitSource>> Open(std::string cache_dir);

  // Fetches and resolves. kUnavailable for network and remote errors (message from libgit2),
  // kUnauthorized when the remote refused the credentials, kForbidden when an SSH server's host
  // key is not trusted by known_hosts (nothing was sent to it), kInvalid for an ssh:// URL
  // without known_hosts or key, kNotFound when the ref does not exist (or no tag matches the
  // range), kBadRequest for a malformed ref or range.
  Result<GitRevision> Fetch(const FetchRequest& request);

  // Every manifest file (.yaml, .yml, .json) under `path` (relative to the repository root; ""
  // or "." or "./" for the root) in `commit`'s tree, sorted by path, skipping hidden files and
  // directories and what `path`/.capstanignore excludes (ignore_rules.h). kNotFound when the
  // path does not exist in the commit (a vanished path is not an empty one).
  Result<std::vector<ManifestFile>> ReadManifests(const std::string& commit, const std::string& path) const;

  // Verifies `commit`'s OpenPGP signature (libgit2 extracts it, Debian's gpgv checks it) against
  // `public_keys`: one or more public keys, all ASCII-armored or all binary, concatenated. kUnauthorized
  // when the commit is unsigned or its signature is not by one of the keys (gpgv's words in the
  // message); kUnavailable when gpgv cannot run.
  Status VerifyCommit(const std::string& commit, const std::string& public_keys) const;

  // git_compaction.cc. Rewrites the cache with only what its branches and tags reach, as one pack:
  // what a force-push or a deleted branch or tag dropped goes, and the pack each incremental fetch
  // added is merged. libgit2 has no gc: this is a local fetch from the cache into a fresh bare
  // repository, which then replaces it (renames; a failure keeps the old one). Fetches and reads
  // wait for it.
  // `keep_commits` (40-hex; ones not in the cache are skipped) stay readable even when no branch
  // or tag reaches them any more: the artifact a refused (unverified) newer commit left in use,
  // a pinned ref.commit. Each gets a ref refs/capstan/artifacts/<commit> that the compacted cache
  // carries; the set is replaced on every compaction, so a commit no longer in use goes next time.
  Status Compact(const std::vector<std::string>& keep_commits = {});
  // Whether Compact would help: a fetch rewrote or deleted a ref since the last one, or the cache
  // holds more than `max_packs` packs.
  bool NeedsCompaction(size_t max_packs = 16) const;

  const std::string& cache_dir() const { return cache_dir_; }

 private:
  explicit GitSource(std::string cache_dir) : cache_dir_(std::move(cache_dir)) {}

  const std::string cache_dir_;
  std::mutex fetch_mu_;  // one Fetch (or Compact) at a time
  // Shared by Fetch, ReadManifests and VerifyCommit; exclusive while Compact swaps the directory.
  mutable std::shared_mutex files_mu_;
  std::atomic<bool> rewritten_{false};  // a fetch moved a ref to a non-descendant or deleted one
};

// Semantic versions for `semver` refs: "v1.2.3" and "1.2.3" (pre-releases sort before their
// release; build metadata ignored). Exposed for tests.
struct SemVer {
  int major = 0, minor = 0, patch = 0;
  std::string prerelease;
  static bool Parse(std::string_view text, SemVer* out);
  int Compare(const SemVer& other) const;
};
// Whether `version` satisfies `range` (space-separated comparators that must all hold: =, >, >=,
// <, <=, ^, ~, x-ranges; "||" alternatives). kBadRequest for a range that does not parse.
Result<bool> SemVerMatches(std::string_view range, const SemVer& version);

}  // namespace capstan::controller::gitops
