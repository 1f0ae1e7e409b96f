// Manifests: the objects a user declares in files, as `capstan apply -f` and `delete -f` read them.
//
// A source is a file (YAML, multi-document, or JSON), a directory (its .yaml/.yml/.json files in
// name order; subdirectories only when recursive) or "-" (standard input). Empty documents are
// skipped; a v1 List document contributes its items. Every object must have apiVersion, kind
// and metadata.name: loading checks all of them first, so a broken file is reported before
// anything reaches the server.
//
// Thread-safety: stateless functions.
#pragma once

#include <istream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace capstan::client {

struct Manifest {
  std::string source;    // the file as the user named it (or found it in a directory); "STDIN"
  int document = 0;      // 1-based position in the file, empty documents included
  int line = 0;          // 1-based line where the document starts
  nlohmann::json object;

  // "deploy.yaml: document 2 (line 14)": where to point the user.
  std::string Location() const;
  // "Deployment web".
  std::string Describe() const;
};

// Loads every source in order. `stdin_stream` is read for "-" (may be null if "-" is not used).
// On error, kBadRequest with one line naming the place: "deploy.yaml: document 2 (line 14): missing kind".
Result<std::vector<Manifest>> LoadManifests(const std::vector<std::string>& sources, bool recursive,
                                            std::istream* stdin_stream);

// Parses one file's text; `source` names it in errors.
Result<std::vector<Manifest>> ParseManifests(const std::string& source, std::string_view text);

}  // namespace capstan::client
