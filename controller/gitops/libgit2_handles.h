// RAII for libgit2 handles and the small helpers GitSource's files share (internal to
// controller/gitops: include only from .cc files that link libgit2).
#pragma once

#include <git2.h>

#include <map>
#include <string>

#include "base/status.h"

namespace capstan::controller::gitops::libgit2 {

inline std::string LastError(const char* what) {
  const git_error* e = git_error_last();
  return std::string(what) + ": " + (e != nullptr && e->message != nullptr ? e->message : "unknown libgit2 error");
}

// RAII for libgit2 handles.
template <typename T, void (*Free)(T*)>
struct Handle {
  T* ptr = nullptr;
  Handle() = default;
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() {
    if (ptr != nullptr) Free(ptr);
  }
};
using Repo = Handle<git_repository, git_repository_free>;
using Remote = Handle<git_remote, git_remote_free>;
using Reference = Handle<git_reference, git_reference_free>;
using Object = Handle<git_object, git_object_free>;
using Commit = Handle<git_commit, git_commit_free>;
using Tree = Handle<git_tree, git_tree_free>;
using TreeEntry = Handle<git_tree_entry, git_tree_entry_free>;
using Blob = Handle<git_blob, git_blob_free>;

struct StrArray {
  git_strarray array{nullptr, 0};
  ~StrArray() { git_strarray_dispose(&array); }
};

inline Status OpenRepo(const std::string& dir, Repo* repo) {
  if (git_repository_open_bare(&repo->ptr, dir.c_str()) != 0) {
    return Status::Internal(LastError(("cannot open the cache repository " + dir).c_str()));
  }
  return Status::Ok();
}

// refs/heads/* and refs/tags/* with the object each points to.
std::map<std::string, git_oid> BranchAndTagTargets(git_repository* repo);
// Whether a ref of `before` is gone or no longer points to a descendant of what it pointed to.
bool RefsRewritten(git_repository* repo, const std::map<std::string, git_oid>& before);

}  // namespace capstan::controller::gitops::libgit2
