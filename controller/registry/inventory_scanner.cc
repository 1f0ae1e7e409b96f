#include "controller/registry/inventory_scanner.h"

#include <map>
#include <mutex>

#include "api/kinds/printing.h"
#include "controller/registry/parallel.h"

namespace capstan::registry {
namespace {

bool Glob(const char* p, const char* s) {
  for (; *p; ++p) {
    if (p[0] == '*' && p[1] == '*') {
      for (const char* t = s;; ++t) {
        if (Glob(p + 2, t)) return true;
        if (!*t) return false;
      }
    }
    if (*p == '*') {
      for (const char* t = s;; ++t) {
        if (Glob(p + 1, t)) return true;
        if (!*t || *t == '/') return false;
      }
    }
    if (!*s || (*p == '?' ? *s == '/' : *p != *s)) return false;
    ++s;
  }
  return !*s;
}

const json kEmptyArray = json::array();

// `object[key]` when `object` is an object and that is a string; "" otherwise.
std::string StringAt(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// `object["size"]` when it is a non-negative integer; 0 otherwise.
int64_t SizeAt(const json& object) {
  if (!object.is_object()) return 0;
  auto it = object.find("size");
  if (it == object.end() || !it->is_number_integer()) return 0;
  int64_t size = it->get<int64_t>();
  return size > 0 ? size : 0;
}

const json* ArrayAt(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_array() ? &*it : nullptr;
}

// One repository's scan state; manifests by digest are shared by the threads scanning its tags.
struct RepoScan {
  RepositoryInventory inventory;
  std::mutex mu;
  std::vector<std::string> tag_digests;       // guarded by mu: per tag, "" when the tag vanished
  std::string error;                          // guarded by mu
};

void RecordError(RepoScan& repo, const Status& status) {
  std::lock_guard<std::mutex> lock(repo.mu);
  if (repo.error.empty()) repo.error = status.message();
}

// Fills repo.inventory.images[digest] from its manifest (fetching configs and children).
Status Describe(RegistryClient& client, RepoScan& repo, const Manifest& manifest, int depth) {
  const std::string& digest = manifest.ref.digest;
  {
    std::lock_guard<std::mutex> lock(repo.mu);
    if (repo.inventory.images.count(digest)) return Status::Ok();
  }
  // A manifest is whatever the registry holds: every field is checked, never assumed (json's
  // value() throws on a non-object or a value of another type).
  if (!manifest.doc.is_object()) return Status::Invalid("manifest " + digest + " is not a JSON object");
  ImageInfo image;
  image.digest = digest;
  image.media_type = manifest.ref.media_type;
  image.is_index = IsIndexMediaType(image.media_type) || manifest.doc.contains("manifests");
  if (image.is_index) {
    if (depth > 2) return Status::Invalid("index " + digest + " nests too deep");
    const json* children = ArrayAt(manifest.doc, "manifests");
    if (children == nullptr) return Status::Invalid("index " + digest + ": manifests is not an array");
    if (auto annotations = manifest.doc.find("annotations"); annotations != manifest.doc.end()) {
      image.untag_leftover = !StringAt(*annotations, "capstan.io/untag").empty();
    }
    for (const json& child : *children) {
      std::string child_digest = StringAt(child, "digest");
      if (child_digest.empty()) return Status::Invalid("index " + digest + ": a child without a digest");
      image.children.push_back(child_digest);
      Result<Manifest> child_manifest = client.GetManifest(repo.inventory.name, child_digest);
      if (!child_manifest.ok()) return child_manifest.status();
      CAPSTAN_RETURN_IF_ERROR(Describe(client, repo, *child_manifest, depth + 1));
      std::lock_guard<std::mutex> lock(repo.mu);
      const ImageInfo& c = repo.inventory.images[child_digest];
      image.size += c.size;
      if (c.created_seconds && (!image.created_seconds || *c.created_seconds > *image.created_seconds)) {
        image.created_seconds = c.created_seconds;
        image.created = c.created;
      }
    }
  } else {
    auto config = manifest.doc.find("config");
    std::string config_digest = config == manifest.doc.end() ? "" : StringAt(*config, "digest");
    if (!config_digest.empty()) {
      image.blobs.push_back({config_digest, SizeAt(*config)});
      image.config_digest = config_digest;
      Result<std::string> blob = client.GetBlob(repo.inventory.name, config_digest);
      if (!blob.ok()) return blob.status();
      json doc = json::parse(*blob, nullptr, /*allow_exceptions=*/false);
      // A config that is not JSON, or without a string `created`, has no creation time: the image
      // is kept and reported.
      image.created = StringAt(doc, "created");
      if (!image.created.empty()) image.created_seconds = api::kinds::ParseRfc3339(image.created);
    }
    const json* layers = manifest.doc.contains("layers") ? ArrayAt(manifest.doc, "layers") : &kEmptyArray;
    if (layers == nullptr) return Status::Invalid("manifest " + digest + ": layers is not an array");
    for (const json& layer : *layers) image.blobs.push_back({StringAt(layer, "digest"), SizeAt(layer)});
    for (const BlobRef& blob : image.blobs) image.size += blob.size;
  }
  std::lock_guard<std::mutex> lock(repo.mu);
  repo.inventory.images.emplace(digest, std::move(image));
  return Status::Ok();
}

}  // namespace

bool RepositoryMatches(const std::string& glob, const std::string& repository) {
  return Glob(glob.c_str(), repository.c_str());
}

Result<Inventory> ScanRegistry(RegistryClient& client, const ScanOptions& options) {
  Result<std::vector<std::string>> catalog = client.Catalog();
  if (!catalog.ok()) return catalog.status();
  std::vector<std::unique_ptr<RepoScan>> repos;
  for (const std::string& name : *catalog) {
    bool included = options.include.empty();
    for (const std::string& g : options.include) included = included || RepositoryMatches(g, name);
    for (const std::string& g : options.exclude) included = included && !RepositoryMatches(g, name);
    if (!included) continue;
    repos.push_back(std::make_unique<RepoScan>());
    repos.back()->inventory.name = name;
  }

  Status listed = ParallelFor(repos.size(), options.concurrency, [&](size_t i) {
    RepoScan& repo = *repos[i];
    Result<std::vector<std::string>> tags = client.Tags(repo.inventory.name);
    if (!tags.ok()) {
      if (!tags.status().IsNotFound()) repo.error = tags.status().message();
      return;  // a repository without tags (NAME_UNKNOWN) has nothing to clean
    }
    for (const std::string& tag : *tags) repo.inventory.tags.push_back({tag, ""});
    repo.tag_digests.assign(tags->size(), "");
  });
  if (!listed.ok()) return listed.Annotate("listing tags");

  std::vector<std::pair<size_t, size_t>> work;  // (repository, tag)
  for (size_t r = 0; r < repos.size(); ++r) {
    for (size_t t = 0; t < repos[r]->inventory.tags.size(); ++t) work.emplace_back(r, t);
  }
  Status described = ParallelFor(work.size(), options.concurrency, [&](size_t w) {
    RepoScan& repo = *repos[work[w].first];
    const std::string& tag = repo.inventory.tags[work[w].second].tag;
    Result<Manifest> manifest = client.GetManifest(repo.inventory.name, tag);
    if (!manifest.ok()) {
      if (!manifest.status().IsNotFound()) RecordError(repo, manifest.status().Annotate("tag " + tag));
      return;  // a tag removed since the listing is simply gone
    }
    {
      std::lock_guard<std::mutex> lock(repo.mu);
      repo.tag_digests[work[w].second] = manifest->ref.digest;
    }
    Status status = Describe(client, repo, *manifest, 0);
    if (!status.ok()) RecordError(repo, status.Annotate("tag " + tag));
  });
  if (!described.ok()) return described.Annotate("reading manifests");

  Inventory inventory;
  for (auto& repo : repos) {
    RepositoryInventory& inv = repo->inventory;
    inv.error = repo->error;
    std::vector<TagInfo> tags;
    for (size_t t = 0; t < inv.tags.size(); ++t) {
      if (!repo->tag_digests[t].empty()) tags.push_back({inv.tags[t].tag, repo->tag_digests[t]});
    }
    inv.tags = std::move(tags);
    inventory.repositories.push_back(std::move(inv));
  }
  return inventory;
}

}  // namespace capstan::registry
