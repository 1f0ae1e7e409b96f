#include "controller/gitops/git_source.h"

#include <git2.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "base/base64.h"
#include "controller/gitops/ignore_rules.h"
#include "controller/gitops/known_hosts.h"
#include "controller/gitops/libgit2_handles.h"

namespace capstan::controller::gitops {
namespace {

using namespace libgit2;  // NOLINT: the handle types read as libgit2's own

void InitLibgit2() {
  static std::once_flag once;
  std::call_once(once, [] { git_libgit2_init(); });  // never shut down: other threads may still use it
}

struct FetchContext {
  const FetchRequest* request;
  std::chrono::steady_clock::time_point deadline;
  bool timed_out = false;
  bool credentials_tried = false;
  std::string certificate_error;  // why the server's certificate was refused
  std::string host_key_error;     // why an SSH server's host key was refused
  std::string ssh_host;           // of an ssh:// URL, as known_hosts names it with ssh_port
  int ssh_port = 22;
};

// Host and port of "ssh://[user@]host[:port]/path" ("[v6]" hosts unbracketed); false otherwise.
bool ParseSshUrl(const std::string& url, std::string* host, int* port) {
  if (!url.starts_with("ssh://")) return false;
  std::string authority = url.substr(6, url.find('/', 6) == std::string::npos ? std::string::npos : url.find('/', 6) - 6);
  if (size_t at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);
  std::string port_text;
  if (authority.starts_with("[")) {
    size_t close = authority.find(']');
    if (close == std::string::npos) return false;
    *host = authority.substr(1, close - 1);
    if (close + 1 < authority.size() && authority[close + 1] == ':') port_text = authority.substr(close + 2);
  } else {
    size_t colon = authority.find(':');
    *host = authority.substr(0, colon);
    if (colon != std::string::npos) port_text = authority.substr(colon + 1);
  }
  *port = 22;
  if (!port_text.empty()) {
    if (port_text.size() > 5 || port_text.find_first_not_of("0123456789") != std::string::npos) return false;
    *port = std::stoi(port_text);
  }
  return !host->empty();
}

int CheckDeadline(FetchContext* ctx) {
  if (std::chrono::steady_clock::now() < ctx->deadline) return 0;
  ctx->timed_out = true;
  return -1;  // aborts the transfer
}

int OnCredentials(git_credential** out, const char* /*url*/, const char* username_from_url, unsigned int allowed,
                  void* payload) {
  auto* ctx = static_cast<FetchContext*>(payload);
  const GitCredentials& creds = ctx->request->credentials;
  const std::string ssh_user = username_from_url != nullptr && *username_from_url != '\0' ? username_from_url
                               : !creds.username.empty()                                    ? creds.username
                                                                                            : "git";
  if ((allowed & GIT_CREDENTIAL_SSH_MEMORY) && !creds.ssh_private_key.empty()) {
    if (ctx->credentials_tried) return GIT_PASSTHROUGH;  // the key was refused
    ctx->credentials_tried = true;
    // No public key: libssh2 derives it from the private one.
    return git_credential_ssh_key_memory_new(out, ssh_user.c_str(), nullptr, creds.ssh_private_key.c_str(),
                                             creds.password.empty() ? nullptr : creds.password.c_str());
  }
  if ((allowed & GIT_CREDENTIAL_USERNAME) && !creds.ssh_private_key.empty()) {
    return git_credential_username_new(out, ssh_user.c_str());
  }
  // Asked again after our answer: the remote refused it. Returning an error stops the loop.
  if (ctx->credentials_tried || creds.password.empty() || !(allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
    return GIT_PASSTHROUGH;
  }
  ctx->credentials_tried = true;
  std::string user = !creds.username.empty() ? creds.username
                     : username_from_url != nullptr ? username_from_url
                                                    : "git";
  return git_credential_userpass_plaintext_new(out, user.c_str(), creds.password.c_str());
}

// Whether the DER certificate `der` chains to a CA of `ca_pem` and names `host`; "" when it does.
std::string CheckAgainstCa(const unsigned char* der, size_t len, const std::string& ca_pem, const std::string& host) {
  X509* leaf = d2i_X509(nullptr, &der, static_cast<long>(len));
  if (leaf == nullptr) return "the server's certificate does not parse";
  X509_STORE* store = X509_STORE_new();
  BIO* bio = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  int cas = 0;
  while (X509* ca = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    X509_STORE_add_cert(store, ca);
    X509_free(ca);
    ++cas;
  }
  BIO_free(bio);
  std::string error;
  if (cas == 0) {
    error = "the secret's ca.crt holds no PEM certificate";
  } else {
    X509_STORE_CTX* ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, leaf, nullptr);
    if (X509_verify_cert(ctx) != 1) {
      error = std::string("the server's certificate is not signed by the given CA: ") +
              X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx));
    } else if (X509_check_host(leaf, host.c_str(), host.size(), 0, nullptr) != 1 &&
               X509_check_ip_asc(leaf, host.c_str(), 0) != 1) {
      error = "the server's certificate does not name " + host;
    }
    X509_STORE_CTX_free(ctx);
  }
  X509_STORE_free(store);
  X509_free(leaf);
  return error;
}

int OnCertificate(git_cert* cert, int valid, const char* host, void* payload) {
  auto* ctx = static_cast<FetchContext*>(payload);
  if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
    // Checked before any credential is sent; nothing but known_hosts makes a host trusted.
    const auto* key = reinterpret_cast<const git_cert_hostkey*>(cert);
    if (!(key->type & GIT_CERT_SSH_RAW) || key->hostkey == nullptr) {
      ctx->host_key_error = "the SSH library did not give the server's host key";
    } else {
      ctx->host_key_error = CheckKnownHost(ctx->request->credentials.ssh_known_hosts, ctx->ssh_host, ctx->ssh_port,
                                           std::string_view(key->hostkey, key->hostkey_len));
    }
    return ctx->host_key_error.empty() ? 0 : -1;
  }
  const std::string& ca = ctx->request->credentials.ca_pem;
  if (ca.empty() || cert->cert_type != GIT_CERT_X509) return valid ? 0 : GIT_PASSTHROUGH;
  const auto* x509 = reinterpret_cast<const git_cert_x509*>(cert);
  ctx->certificate_error =
      CheckAgainstCa(static_cast<const unsigned char*>(x509->data), x509->len, ca, host != nullptr ? host : "");
  return ctx->certificate_error.empty() ? 0 : -1;
}

int OnTransfer(const git_indexer_progress*, void* payload) { return CheckDeadline(static_cast<FetchContext*>(payload)); }
int OnSideband(const char*, int, void* payload) { return CheckDeadline(static_cast<FetchContext*>(payload)); }

std::string ToLowerHex(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool IsHex40(const std::string& s) {
  return s.size() == 40 && std::all_of(s.begin(), s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); });
}

// The commit a reference name peels to.
Result<std::string> PeelToCommit(git_repository* repo, const std::string& refname) {
  Reference ref;
  if (git_reference_lookup(&ref.ptr, repo, refname.c_str()) != 0) return Status::NotFound(refname + " not found");
  Object obj;
  if (git_reference_peel(&obj.ptr, ref.ptr, GIT_OBJECT_COMMIT) != 0) {
    return Status::NotFound(LastError((refname + " does not point to a commit").c_str()));
  }
  char hex[GIT_OID_HEXSZ + 1] = {0};
  git_oid_tostr(hex, sizeof(hex), git_object_id(obj.ptr));
  return std::string(hex);
}

Result<GitRevision> Resolve(git_repository* repo, const GitRef& ref) {
  GitRevision rev;
  if (!ref.commit.empty()) {
    if (!IsHex40(ref.commit)) return Status::BadRequest("ref.commit must be a full 40-hex sha1, not \"" + ref.commit + "\"");
    git_oid oid;
    Commit commit;
    if (git_oid_fromstr(&oid, ref.commit.c_str()) != 0 || git_commit_lookup(&commit.ptr, repo, &oid) != 0) {
      return Status::NotFound("commit " + ref.commit + " is not on any fetched branch or tag");
    }
    rev.commit = ToLowerHex(ref.commit);
    rev.name = "sha1:" + rev.commit;
    return rev;
  }
  if (!ref.tag.empty()) {
    Result<std::string> c = PeelToCommit(repo, "refs/tags/" + ref.tag);
    if (!c.ok()) return Status::NotFound("tag \"" + ref.tag + "\" not found");
    rev.commit = *c;
    rev.name = ref.tag + "@sha1:" + rev.commit;
    return rev;
  }
  if (!ref.semver.empty()) {
    StrArray tags;
    if (git_tag_list(&tags.array, repo) != 0) return Status::Internal(LastError("cannot list tags"));
    std::string best_tag;
    SemVer best;
    for (size_t i = 0; i < tags.array.count; ++i) {
      SemVer v;
      if (!SemVer::Parse(tags.array.strings[i], &v)) continue;
      Result<bool> ok = SemVerMatches(ref.semver, v);
      if (!ok.ok()) return ok.status();
      if (*ok && (best_tag.empty() || v.Compare(best) > 0)) {
        best = v;
        best_tag = tags.array.strings[i];
      }
    }
    if (best_tag.empty()) return Status::NotFound("no tag matches the semver range \"" + ref.semver + "\"");
    Result<std::string> c = PeelToCommit(repo, "refs/tags/" + best_tag);
    if (!c.ok()) return c.status();
    rev.commit = *c;
    rev.name = best_tag + "@sha1:" + rev.commit;
    return rev;
  }
  std::string branch = ref.branch.empty() ? "main" : ref.branch;
  Result<std::string> c = PeelToCommit(repo, "refs/heads/" + branch);
  if (!c.ok()) return Status::NotFound("branch \"" + branch + "\" not found");
  rev.commit = *c;
  rev.name = branch + "@sha1:" + rev.commit;
  return rev;
}

// Deletes local branches and tags the remote no longer advertises (forced refspecs move refs
// but never delete them).
Status PruneRefs(git_repository* repo, git_remote* remote) {
  const git_remote_head** heads = nullptr;
  size_t count = 0;
  if (git_remote_ls(&heads, &count, remote) != 0) return Status::Unavailable(LastError("cannot list the remote's refs"));
  std::set<std::string> advertised;
  for (size_t i = 0; i < count; ++i) advertised.insert(heads[i]->name);
  StrArray refs;
  if (git_reference_list(&refs.array, repo) != 0) return Status::Internal(LastError("cannot list local refs"));
  for (size_t i = 0; i < refs.array.count; ++i) {
    std::string name = refs.array.strings[i];
    if (!name.starts_with("refs/heads/") && !name.starts_with("refs/tags/")) continue;
    if (advertised.count(name) != 0) continue;
    if (git_reference_remove(repo, name.c_str()) != 0) return Status::Internal(LastError(("cannot delete " + name).c_str()));
  }
  return Status::Ok();
}

Status WalkTree(git_repository* repo, git_tree* tree, const std::string& repo_prefix, const std::string& relative_prefix,
                const IgnoreRules& rules, std::vector<ManifestFile>* out) {
  size_t n = git_tree_entrycount(tree);
  for (size_t i = 0; i < n; ++i) {
    const git_tree_entry* entry = git_tree_entry_byindex(tree, i);
    std::string name = git_tree_entry_name(entry);
    std::string relative = relative_prefix + name;
    git_object_t type = git_tree_entry_type(entry);
    if (type == GIT_OBJECT_TREE) {
      if (rules.Ignored(relative, true)) continue;
      Tree sub;
      if (git_tree_lookup(&sub.ptr, repo, git_tree_entry_id(entry)) != 0) return Status::Internal(LastError("tree"));
      CAPSTAN_RETURN_IF_ERROR(WalkTree(repo, sub.ptr, repo_prefix + name + "/", relative + "/", rules, out));
      continue;
    }
    if (type != GIT_OBJECT_BLOB) continue;  // submodules (commits) are not followed
    std::string ext = std::filesystem::path(name).extension().string();
    if (ext != ".yaml" && ext != ".yml" && ext != ".json") continue;
    if (rules.Ignored(relative, false)) continue;
    Blob blob;
    if (git_blob_lookup(&blob.ptr, repo, git_tree_entry_id(entry)) != 0) return Status::Internal(LastError("blob"));
    out->push_back({repo_prefix + name, std::string(static_cast<const char*>(git_blob_rawcontent(blob.ptr)),
                                                    static_cast<size_t>(git_blob_rawsize(blob.ptr)))});
  }
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<GitSource>> GitSource::Open(std::string cache_dir) {
  InitLibgit2();
  std::error_code ec;
  std::filesystem::create_directories(cache_dir, ec);
  if (ec) return Status::Internal("cannot create " + cache_dir + ": " + ec.message());
  Repo repo;
  if (git_repository_open_bare(&repo.ptr, cache_dir.c_str()) != 0 &&
      git_repository_init(&repo.ptr, cache_dir.c_str(), /*is_bare=*/1) != 0) {
    return Status::Internal(LastError(("cannot create the cache repository " + cache_dir).c_str()));
  }
  return std::unique_ptr<GitSource>(new GitSource(std::move(cache_dir)));
}

Result<GitRevision> GitSource::Fetch(const FetchRequest& request) {
  std::lock_guard<std::mutex> lock(fetch_mu_);
  std::shared_lock<std::shared_mutex> reading(files_mu_);
  Repo repo;
  CAPSTAN_RETURN_IF_ERROR(OpenRepo(cache_dir_, &repo));
  Remote remote;
  if (git_remote_create_anonymous(&remote.ptr, repo.ptr, request.url.c_str()) != 0) {
    return Status::BadRequest(LastError(("invalid url \"" + request.url + "\"").c_str()));
  }
  FetchContext ctx{&request, std::chrono::steady_clock::now() + request.timeout};
  if (request.url.starts_with("ssh://")) {
    if (!(git_libgit2_features() & GIT_FEATURE_SSH)) return Status::Unavailable("this libgit2 was built without SSH");
    if (!ParseSshUrl(request.url, &ctx.ssh_host, &ctx.ssh_port)) {
      return Status::BadRequest("invalid ssh URL \"" + request.url + "\": expected ssh://[user@]host[:port]/path");
    }
    if (request.credentials.ssh_known_hosts.empty()) {
      return Status::Invalid("an ssh:// URL needs known_hosts in the secretRef Secret: the server's host key is never trusted blindly");
    }
    if (request.credentials.ssh_private_key.empty()) return Status::Invalid("an ssh:// URL needs identity (a private key) in the secretRef Secret");
  }
  git_fetch_options options = GIT_FETCH_OPTIONS_INIT;
  options.callbacks.credentials = OnCredentials;
  options.callbacks.certificate_check = OnCertificate;
  options.callbacks.transfer_progress = OnTransfer;
  options.callbacks.sideband_progress = OnSideband;
  options.callbacks.payload = &ctx;
  options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;  // the tag refspec below fetches them all
  options.update_fetchhead = 0;
  const std::map<std::string, git_oid> before = BranchAndTagTargets(repo.ptr);
  const char* specs[] = {"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"};
  git_strarray refspecs{const_cast<char**>(specs), 2};
  if (git_remote_fetch(remote.ptr, &refspecs, &options, "capstan gitops fetch") != 0) {
    if (ctx.timed_out) {
      return Status::Unavailable("fetching " + request.url + " took longer than the timeout of " +
                                 std::to_string(request.timeout.count() / 1000) + "s");
    }
    if (!ctx.certificate_error.empty()) return Status::Unavailable("cannot fetch " + request.url + ": " + ctx.certificate_error);
    if (!ctx.host_key_error.empty()) return Status::Forbidden("cannot fetch " + request.url + ": " + ctx.host_key_error);
    const git_error* e = git_error_last();
    std::string message = LastError(("cannot fetch " + request.url).c_str());
    bool auth = ctx.credentials_tried || (e != nullptr && e->klass == GIT_ERROR_HTTP &&
                                          message.find("401") != std::string::npos) ||
                message.find("authentication") != std::string::npos;
    if (auth) return Status::Unauthorized(message + " (the remote refused the credentials)");
    return Status::Unavailable(message);
  }
  CAPSTAN_RETURN_IF_ERROR(PruneRefs(repo.ptr, remote.ptr));
  if (RefsRewritten(repo.ptr, before)) rewritten_ = true;
  return Resolve(repo.ptr, request.ref);
}

Result<std::vector<ManifestFile>> GitSource::ReadManifests(const std::string& commit, const std::string& path) const {
  std::shared_lock<std::shared_mutex> reading(files_mu_);
  Repo repo;
  CAPSTAN_RETURN_IF_ERROR(OpenRepo(cache_dir_, &repo));
  git_oid oid;
  Commit c;
  if (git_oid_fromstr(&oid, commit.c_str()) != 0 || git_commit_lookup(&c.ptr, repo.ptr, &oid) != 0) {
    return Status::NotFound("commit " + commit + " is not in the cache");
  }
  Tree root;
  if (git_commit_tree(&root.ptr, c.ptr) != 0) return Status::Internal(LastError("cannot read the commit's tree"));

  // "./apps/", "apps", "/apps" all name the same directory.
  std::string clean = path;
  while (clean.starts_with("./")) clean.erase(0, 2);
  while (clean.starts_with("/")) clean.erase(0, 1);
  while (clean.ends_with("/")) clean.pop_back();
  if (clean == ".") clean.clear();

  Tree dir;
  git_tree* start = root.ptr;
  if (!clean.empty()) {
    TreeEntry entry;
    if (git_tree_entry_bypath(&entry.ptr, root.ptr, clean.c_str()) != 0 ||
        git_tree_entry_type(entry.ptr) != GIT_OBJECT_TREE) {
      return Status::NotFound("path \"" + path + "\" does not exist in commit " + commit.substr(0, 12));
    }
    if (git_tree_lookup(&dir.ptr, repo.ptr, git_tree_entry_id(entry.ptr)) != 0) return Status::Internal(LastError("tree"));
    start = dir.ptr;
  }
  IgnoreRules rules;
  if (const git_tree_entry* ignore = git_tree_entry_byname(start, ".capstanignore");
      ignore != nullptr && git_tree_entry_type(ignore) == GIT_OBJECT_BLOB) {
    Blob blob;
    if (git_blob_lookup(&blob.ptr, repo.ptr, git_tree_entry_id(ignore)) == 0) {
      rules = IgnoreRules::Parse(std::string_view(static_cast<const char*>(git_blob_rawcontent(blob.ptr)),
                                                  static_cast<size_t>(git_blob_rawsize(blob.ptr))));
    }
  }
  std::vector<ManifestFile> files;
  CAPSTAN_RETURN_IF_ERROR(WalkTree(repo.ptr, start, clean.empty() ? "" : clean + "/", "", rules, &files));
  std::sort(files.begin(), files.end(), [](const ManifestFile& a, const ManifestFile& b) { return a.path < b.path; });
  return files;
}

// ---- signatures --------------------------------------------------------------------------------

namespace {

// OpenPGP keys as gpgv reads a keyring: binary packets. Armored blocks are decoded (the base64
// between the header's blank line and the "=" checksum line); anything else is taken as binary.
std::string Dearmor(const std::string& keys) {
  if (keys.find("-----BEGIN PGP PUBLIC KEY BLOCK-----") == std::string::npos) return keys;
  std::string binary;
  size_t pos = 0;
  while ((pos = keys.find("-----BEGIN PGP PUBLIC KEY BLOCK-----", pos)) != std::string::npos) {
    size_t body = keys.find("\n\n", pos);
    size_t crlf = keys.find("\r\n\r\n", pos);
    if (crlf != std::string::npos && (body == std::string::npos || crlf < body)) body = crlf + 2;
    size_t end = keys.find("-----END PGP PUBLIC KEY BLOCK-----", pos);
    if (body == std::string::npos || end == std::string::npos || body > end) break;
    std::string b64;
    size_t line_start = body + 2;
    while (line_start < end) {
      size_t eol = keys.find('\n', line_start);
      if (eol == std::string::npos || eol > end) eol = end;
      std::string line = keys.substr(line_start, eol - line_start);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.starts_with("=")) break;  // the CRC-24 checksum
      b64 += line;
      line_start = eol + 1;
    }
    binary += Base64Decode(b64).value_or("");
    pos = end + 1;
  }
  return binary;
}

}  // namespace

Status GitSource::VerifyCommit(const std::string& commit, const std::string& public_keys) const {
  std::shared_lock<std::shared_mutex> reading(files_mu_);
  Repo repo;
  CAPSTAN_RETURN_IF_ERROR(OpenRepo(cache_dir_, &repo));
  git_oid oid;
  if (git_oid_fromstr(&oid, commit.c_str()) != 0) return Status::BadRequest("bad commit id " + commit);
  git_buf signature = GIT_BUF_INIT;
  git_buf signed_data = GIT_BUF_INIT;
  if (git_commit_extract_signature(&signature, &signed_data, repo.ptr, &oid, nullptr) != 0) {
    git_buf_dispose(&signature);
    git_buf_dispose(&signed_data);
    return Status::Unauthorized("commit " + commit.substr(0, 12) + " is not signed");
  }
  char pattern[] = "/tmp/capstan-gpgv-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) return Status::Unavailable("cannot create a temporary directory for gpgv");
  const std::string dir = pattern;
  std::ofstream(dir + "/keyring.gpg", std::ios::binary) << Dearmor(public_keys);
  std::ofstream(dir + "/commit.sig", std::ios::binary) << std::string(signature.ptr, signature.size);
  std::ofstream(dir + "/commit.data", std::ios::binary) << std::string(signed_data.ptr, signed_data.size);
  git_buf_dispose(&signature);
  git_buf_dispose(&signed_data);
  // --homedir keeps gpgv away from any user's ~/.gnupg; the paths are ours (no shell quoting needed).
  std::string command = "gpgv --homedir " + dir + " --keyring " + dir + "/keyring.gpg " + dir + "/commit.sig " + dir +
                        "/commit.data 2>&1";
  std::string output;
  int rc = -1;
  if (FILE* f = ::popen(command.c_str(), "r")) {
    char buf[512];
    while (std::fgets(buf, sizeof(buf), f) != nullptr) output += buf;
    rc = ::pclose(f);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (rc == 0) return Status::Ok();
  if (rc == -1 || (WIFEXITED(rc) && WEXITSTATUS(rc) == 127)) return Status::Unavailable("cannot run gpgv");
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  for (char& c : output) {
    if (c == '\n') c = ' ';
  }
  return Status::Unauthorized("the signature of commit " + commit.substr(0, 12) +
                              " does not verify against the trusted keys: " + output);
}

}  // namespace capstan::controller::gitops
