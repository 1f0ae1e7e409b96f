// GitSource's cache compaction (git_source.h: Compact, NeedsCompaction) and the ref snapshots
// Fetch takes to notice rewritten history.
#include <filesystem>
#include <system_error>

#include "controller/gitops/git_source.h"
#include "controller/gitops/libgit2_handles.h"

namespace capstan::controller::gitops {

namespace libgit2 {

std::map<std::string, git_oid> BranchAndTagTargets(git_repository* repo) {
  std::map<std::string, git_oid> out;
  StrArray refs;
  if (git_reference_list(&refs.array, repo) != 0) return out;
  for (size_t i = 0; i < refs.array.count; ++i) {
    const std::string name = refs.array.strings[i];
    if (!name.starts_with("refs/heads/") && !name.starts_with("refs/tags/")) continue;
    git_oid oid;
    if (git_reference_name_to_id(&oid, repo, name.c_str()) == 0) out.emplace(name, oid);
  }
  return out;
}

bool RefsRewritten(git_repository* repo, const std::map<std::string, git_oid>& before) {
  for (const auto& [name, old_oid] : before) {
    git_oid now;
    if (git_reference_name_to_id(&now, repo, name.c_str()) != 0) return true;  // deleted
    if (git_oid_equal(&now, &old_oid)) continue;
    // A fast-forward keeps every old object reachable; anything else (force-push, moved tag) may not.
    if (git_graph_descendant_of(repo, &now, &old_oid) != 1) return true;
  }
  return false;
}

}  // namespace libgit2

using namespace libgit2;  // NOLINT: the handle types read as libgit2's own

bool GitSource::NeedsCompaction(size_t max_packs) const {
  if (rewritten_) return true;
  std::shared_lock<std::shared_mutex> reading(files_mu_);
  size_t packs = 0;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(cache_dir_ + "/objects/pack", ec)) {
    if (entry.path().extension() == ".pack") ++packs;
  }
  return packs > max_packs;
}

namespace {

constexpr std::string_view kKeepPrefix = "refs/capstan/artifacts/";

// Points refs/capstan/artifacts/<commit> at each of `commits` in the cache, after deleting the
// ones a previous compaction left: the refs name exactly what is in use now.
Status PinCommits(const std::string& cache_dir, const std::vector<std::string>& commits) {
  Repo repo;
  if (git_repository_open(&repo.ptr, cache_dir.c_str()) != 0) return Status::Internal(LastError("cannot open the cache"));
  StrArray refs;
  if (git_reference_list(&refs.array, repo.ptr) != 0) return Status::Internal(LastError("cannot list the cache's refs"));
  for (size_t i = 0; i < refs.array.count; ++i) {
    const std::string name = refs.array.strings[i];
    if (name.starts_with(kKeepPrefix) && git_reference_remove(repo.ptr, name.c_str()) != 0) {
      return Status::Internal(LastError(("cannot delete " + name).c_str()));
    }
  }
  for (const std::string& commit : commits) {
    git_oid oid;
    Commit c;
    if (git_oid_fromstr(&oid, commit.c_str()) != 0 || git_commit_lookup(&c.ptr, repo.ptr, &oid) != 0) continue;
    const std::string name = std::string(kKeepPrefix) + commit;
    Reference ref;
    if (git_reference_create(&ref.ptr, repo.ptr, name.c_str(), &oid, /*force=*/1, "capstan gitops: in use") != 0) {
      return Status::Internal(LastError(("cannot create " + name).c_str()));
    }
  }
  return Status::Ok();
}

}  // namespace

Status GitSource::Compact(const std::vector<std::string>& keep_commits) {
  std::lock_guard<std::mutex> lock(fetch_mu_);
  if (Status st = PinCommits(cache_dir_, keep_commits); !st.ok()) return st;
  const std::filesystem::path cache(cache_dir_);
  // Beside the cache, named with a leading "." (never a namespace or repository name, so never
  // taken for a cache); leftovers of an interrupted run are removed first.
  const std::filesystem::path fresh = cache.parent_path() / ("." + cache.filename().string() + ".compact");
  const std::filesystem::path old = cache.parent_path() / ("." + cache.filename().string() + ".old");
  std::error_code ec;
  std::filesystem::remove_all(fresh, ec);
  std::filesystem::remove_all(old, ec);
  {
    Repo repo;
    if (git_repository_init(&repo.ptr, fresh.c_str(), /*is_bare=*/1) != 0) {
      return Status::Internal(LastError(("cannot create " + fresh.string()).c_str()));
    }
    Remote remote;
    if (git_remote_create_anonymous(&remote.ptr, repo.ptr, cache_dir_.c_str()) != 0) {
      return Status::Internal(LastError("cannot open the cache as a remote"));
    }
    git_fetch_options options = GIT_FETCH_OPTIONS_INIT;
    options.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
    options.update_fetchhead = 0;
    const char* specs[] = {"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*",
                           "+refs/capstan/artifacts/*:refs/capstan/artifacts/*"};
    git_strarray refspecs{const_cast<char**>(specs), 3};
    std::shared_lock<std::shared_mutex> copying(files_mu_);  // reads of the old cache go on meanwhile
    if (git_remote_fetch(remote.ptr, &refspecs, &options, "capstan gitops compaction") != 0) {
      Status st = Status::Internal(LastError("cannot copy the cache's reachable objects"));
      std::filesystem::remove_all(fresh, ec);
      return st;
    }
  }
  std::unique_lock<std::shared_mutex> swapping(files_mu_);
  std::filesystem::rename(cache, old, ec);
  if (ec) {
    std::filesystem::remove_all(fresh, ec);
    return Status::Internal("cannot move the cache aside: " + ec.message());
  }
  std::filesystem::rename(fresh, cache, ec);
  if (ec) {
    std::error_code ignored;
    std::filesystem::rename(old, cache, ignored);  // put the old one back
    return Status::Internal("cannot move the compacted cache in place: " + ec.message());
  }
  std::filesystem::remove_all(old, ec);
  rewritten_ = false;
  return Status::Ok();
}

}  // namespace capstan::controller::gitops
