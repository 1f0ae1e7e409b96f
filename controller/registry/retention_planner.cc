#include "controller/registry/retention_planner.h"

#include <algorithm>

namespace capstan::registry {
namespace {

const ImageInfo* FindImage(const RepositoryInventory& repo, const std::string& digest) {
  auto it = repo.images.find(digest);
  return it == repo.images.end() ? nullptr : &it->second;
}

// Before 2000-01-01T00:00:00Z a `created` is a placeholder (reproducible builds set 1970 or 1980),
// not when the image was built: it counts as no created time.
constexpr int64_t kEarliestUsableCreated = 946'684'800;

std::optional<int64_t> UsableCreated(const ImageInfo* image) {
  if (image == nullptr || !image->created_seconds || *image->created_seconds < kEarliestUsableCreated) {
    return std::nullopt;
  }
  return image->created_seconds;
}

// The digests of the keep.newest newest images among the repository's tagged images.
std::set<std::string> NewestImages(const RepositoryInventory& repo, int64_t n) {
  std::vector<std::pair<int64_t, std::string>> ranked;
  std::set<std::string> seen;
  for (const TagInfo& tag : repo.tags) {
    if (!seen.insert(tag.digest).second) continue;
    if (std::optional<int64_t> created = UsableCreated(FindImage(repo, tag.digest))) {
      ranked.emplace_back(*created, tag.digest);
    }
  }
  // Newest first; equal times by digest, so that the choice does not depend on tag order.
  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  std::set<std::string> out;
  for (size_t i = 0; i < ranked.size() && static_cast<int64_t>(i) < n; ++i) out.insert(ranked[i].second);
  return out;
}

// Whether a Pod runs `image` (or a child of it) as Docker reports it: by config digest.
bool ConfigInUse(const RepositoryInventory& repo, const ImageInfo* image, const InUseSet& in_use, int depth = 0) {
  if (image == nullptr || depth > 2) return false;
  if (!image->is_index) {
    return !image->config_digest.empty() && in_use.count(InUseConfigKey(repo.name, image->config_digest)) > 0;
  }
  for (const std::string& child : image->children) {
    if (ConfigInUse(repo, FindImage(repo, child), in_use, depth + 1)) return true;
  }
  return false;
}

std::vector<std::string> KeepReasons(const RepositoryInventory& repo, const TagInfo& tag, const ImageInfo* image,
                                     const RetentionPolicy& policy, const InUseSet& in_use,
                                     const std::set<std::string>& newest, int64_t now) {
  std::vector<std::string> reasons;
  if (policy.keep_in_use &&
      (in_use.count(repo.name + ":" + tag.tag) || in_use.count(repo.name + "@" + tag.digest) ||
       ConfigInUse(repo, image, in_use))) {
    reasons.push_back("in-use");
  }
  for (const std::regex& pattern : policy.keep_tags) {
    if (std::regex_match(tag.tag, pattern)) {
      reasons.push_back("tag-regex");
      break;
    }
  }
  if (newest.count(tag.digest)) reasons.push_back("newest");
  std::optional<int64_t> created = UsableCreated(image);
  if (created && policy.newer_than_seconds && *created > now - *policy.newer_than_seconds) {
    reasons.push_back("newer-than");
  }
  if (!created) reasons.push_back("no-created-time");
  return reasons;
}

std::string Join(const std::vector<std::string>& parts) {
  std::string out;
  for (const std::string& p : parts) out += (out.empty() ? "" : ",") + p;
  return out;
}

}  // namespace

const char* ActionName(Action action) {
  switch (action) {
    case Action::kKeep: return "keep";
    case Action::kDeleteManifest: return "delete-manifest";
    case Action::kUntag: return "untag";
  }
  return "keep";
}

Plan PlanRetention(const Inventory& inventory, const RetentionPolicy& policy, const InUseSet& in_use,
                   int64_t now_seconds) {
  Plan plan;
  std::set<std::string> deleted_manifests;   // "repo@digest"
  std::vector<const RepositoryInventory*> scanned_repos;
  for (const RepositoryInventory& repo : inventory.repositories) {
    if (!repo.error.empty()) continue;
    scanned_repos.push_back(&repo);
    std::set<std::string> newest = NewestImages(repo, policy.keep_newest);
    size_t first = plan.decisions.size();
    std::vector<std::vector<std::string>> reasons;
    for (const TagInfo& tag : repo.tags) {
      const ImageInfo* image = FindImage(repo, tag.digest);
      TagDecision d;
      d.repository = repo.name;
      d.tag = tag.tag;
      d.digest = tag.digest;
      if (image) {
        d.media_type = image->media_type;
        d.created = image->created;
        d.size = image->size;
      }
      // A tag left on an untag's throwaway manifest has nothing to keep: the untag is finished.
      bool leftover = image && image->untag_leftover;
      reasons.push_back(leftover ? std::vector<std::string>{}
                                 : KeepReasons(repo, tag, image, policy, in_use, newest, now_seconds));
      plan.decisions.push_back(std::move(d));
    }
    // Children of indexes that a kept tag points at, and the digests kept tags point at.
    std::set<std::string> kept_children;
    std::map<std::string, std::string> kept_tag_by_digest;
    for (size_t i = 0; i < repo.tags.size(); ++i) {
      if (reasons[i].empty()) continue;
      kept_tag_by_digest.emplace(repo.tags[i].digest, repo.tags[i].tag);
      if (const ImageInfo* image = FindImage(repo, repo.tags[i].digest)) {
        kept_children.insert(image->children.begin(), image->children.end());
      }
    }
    for (size_t i = 0; i < repo.tags.size(); ++i) {
      if (reasons[i].empty() && kept_children.count(repo.tags[i].digest)) {
        reasons[i].push_back("child-of-kept-index");
        kept_tag_by_digest.emplace(repo.tags[i].digest, repo.tags[i].tag);
      }
    }
    for (size_t i = 0; i < repo.tags.size(); ++i) {
      TagDecision& d = plan.decisions[first + i];
      ++plan.scanned;
      if (!reasons[i].empty()) {
        d.action = Action::kKeep;
        d.reason = Join(reasons[i]);
        ++plan.kept_by_reason[reasons[i].front()];
        continue;
      }
      auto shared = kept_tag_by_digest.find(d.digest);
      if (shared != kept_tag_by_digest.end()) {
        d.action = Action::kUntag;
        d.reason = "digest shared with kept tag " + shared->second;
        ++plan.to_untag;
      } else {
        d.action = Action::kDeleteManifest;
        const ImageInfo* image = FindImage(repo, d.digest);
        d.reason = image && image->untag_leftover ? "left on an untag's throwaway manifest" : "no keep rule holds";
        ++plan.to_delete;
        deleted_manifests.insert(repo.name + "@" + d.digest);
      }
    }
  }

  // Blobs that only deleted manifests reference. Every other manifest survives (kept tags,
  // untagged ones, index children), and so do its blobs.
  std::map<std::string, int64_t> candidate_blobs;
  std::set<std::string> surviving_blobs;
  for (const RepositoryInventory* repo : scanned_repos) {
    for (const auto& [digest, image] : repo->images) {
      bool deleted = deleted_manifests.count(repo->name + "@" + digest) > 0;
      for (const BlobRef& blob : image.blobs) {
        if (deleted) candidate_blobs.emplace(blob.digest, blob.size);
        else surviving_blobs.insert(blob.digest);
      }
    }
  }
  for (const RepositoryInventory& repo : inventory.repositories) {
    if (repo.error.empty()) continue;  // unscanned repositories may hold anything: count as surviving
    for (const auto& [digest, image] : repo.images) {
      for (const BlobRef& blob : image.blobs) surviving_blobs.insert(blob.digest);
    }
  }
  for (const auto& [digest, size] : candidate_blobs) {
    if (!surviving_blobs.count(digest)) plan.bytes_reclaimable += size;
  }
  return plan;
}

}  // namespace capstan::registry
