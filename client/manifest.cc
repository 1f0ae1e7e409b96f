#include "client/manifest.h"
#include "client/json_fields.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "base/yaml.h"

namespace capstan::client {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

bool IsManifestFile(const fs::path& path) {
  std::string ext = path.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

// What is wrong with one declared object, or "" when it has what apply needs.
std::string CheckObject(const json& object) {
  if (!object.is_object()) return "not an object (a mapping with apiVersion, kind and metadata)";
  auto api_version = object.find("apiVersion");
  if (api_version == object.end() || !api_version->is_string() || api_version->get<std::string>().empty()) {
    return "missing apiVersion";
  }
  auto kind = object.find("kind");
  if (kind == object.end() || !kind->is_string() || kind->get<std::string>().empty()) return "missing kind";
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return "missing metadata.name";
  auto name = metadata->find("name");
  if (name == metadata->end() || !name->is_string() || name->get<std::string>().empty()) {
    return "missing metadata.name";
  }
  if (auto ns = metadata->find("namespace"); ns != metadata->end() && !ns->is_string()) {
    return "metadata.namespace must be a string";
  }
  return "";
}

Status ReadFile(const std::string& path, std::string* text) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound(path + ": cannot read the file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  *text = buffer.str();
  return Status::Ok();
}

Status CollectFiles(const std::string& source, bool recursive, std::vector<std::string>* files) {
  std::error_code ec;
  fs::file_status status = fs::status(source, ec);
  if (ec || !fs::exists(status)) return Status::NotFound("the path \"" + source + "\" does not exist");
  if (!fs::is_directory(status)) {
    files->push_back(source);
    return Status::Ok();
  }
  std::vector<fs::directory_entry> entries;
  for (fs::directory_iterator it(source, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(*it);
  if (ec) return Status::BadRequest(source + ": " + ec.message());
  std::sort(entries.begin(), entries.end(),
            [](const fs::directory_entry& a, const fs::directory_entry& b) { return a.path() < b.path(); });
  for (const fs::directory_entry& entry : entries) {
    if (entry.is_directory(ec)) {
      if (recursive) CAPSTAN_RETURN_IF_ERROR(CollectFiles(entry.path().string(), recursive, files));
    } else if (IsManifestFile(entry.path())) {
      files->push_back(entry.path().string());
    }
  }
  return Status::Ok();
}

}  // namespace

std::string Manifest::Location() const {
  return source + ": document " + std::to_string(document) + " (line " + std::to_string(line) + ")";
}

std::string Manifest::Describe() const {
  std::string kind = object.is_object() ? StringField(object, "kind") : "";
  std::string name;
  if (object.is_object() && object.contains("metadata") && object["metadata"].is_object()) {
    name = StringField(object["metadata"], "name");
  }
  return kind + " " + name;
}

Result<std::vector<Manifest>> ParseManifests(const std::string& source, std::string_view text) {
  Result<std::vector<YamlDocument>> documents = ParseYamlDocuments(text);
  if (!documents.ok()) return Status::BadRequest(source + ": " + (documents.status().message()));
  std::vector<Manifest> manifests;
  for (YamlDocument& document : *documents) {
    if (document.value.is_null()) continue;
    Manifest base;
    base.source = source;
    base.document = document.index + 1;
    base.line = document.line;

    // kubectl accepts a List (v1 List, or any *List with items) and applies its items.
    std::vector<json> objects;
    if (document.value.is_object() && document.value.contains("items") && document.value["items"].is_array() &&
        StringField(document.value, "kind").ends_with("List")) {
      for (json& item : document.value["items"]) objects.push_back(std::move(item));
    } else {
      objects.push_back(std::move(document.value));
    }
    for (json& object : objects) {
      Manifest manifest = base;
      manifest.object = std::move(object);
      if (std::string problem = CheckObject(manifest.object); !problem.empty()) {
        return Status::BadRequest(manifest.Location() + ": " + problem);
      }
      manifests.push_back(std::move(manifest));
    }
  }
  return manifests;
}

Result<std::vector<Manifest>> LoadManifests(const std::vector<std::string>& sources, bool recursive,
                                            std::istream* stdin_stream) {
  std::vector<Manifest> all;
  bool stdin_used = false;
  for (const std::string& source : sources) {
    std::vector<std::pair<std::string, std::string>> texts;  // (name, text)
    if (source == "-") {
      if (stdin_used || stdin_stream == nullptr) return Status::BadRequest("standard input (-) can be read only once");
      stdin_used = true;
      std::ostringstream buffer;
      buffer << stdin_stream->rdbuf();
      texts.emplace_back("STDIN", buffer.str());
    } else {
      std::vector<std::string> files;
      CAPSTAN_RETURN_IF_ERROR(CollectFiles(source, recursive, &files));
      for (const std::string& file : files) {
        std::string text;
        CAPSTAN_RETURN_IF_ERROR(ReadFile(file, &text));
        texts.emplace_back(file, std::move(text));
      }
    }
    for (const auto& [name, text] : texts) {
      Result<std::vector<Manifest>> parsed = ParseManifests(name, text);
      if (!parsed.ok()) return parsed.status();
      for (Manifest& manifest : *parsed) all.push_back(std::move(manifest));
    }
  }
  return all;
}

}  // namespace capstan::client
