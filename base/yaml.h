// YAML <-> JSON for manifests, with the limits a server needs against hostile input.
//
// Parsing follows the YAML 1.2 core schema for scalars (true/false, null/~, ints, floats;
// everything else is a string), as most Kubernetes manifests assume. Aliases are expanded, but
// the expansion is budgeted (a "billion laughs" document fails fast, in small memory), and so
// are nesting depth and total size. Errors name the document index and the line.
//
// Thread-safety: stateless functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace capstan {

struct YamlLimits {
  size_t max_depth = 100;            // nesting of maps and sequences
  size_t max_nodes = 1000000;        // scalar+collection nodes after alias expansion, per call
  size_t max_documents = 1000;       // documents in one stream
};

struct YamlDocument {
  nlohmann::json value;              // null for an empty document
  int index = 0;                     // 0-based position in the stream, empty ones included
  int line = 0;                      // 1-based line where the document starts
};

// Parses a multi-document YAML stream (JSON is YAML, so JSON input works too). Empty documents
// are returned with a null value; callers usually skip them. On error: kBadRequest with
// "document N (line L): <what>", N counted from 1.
Result<std::vector<YamlDocument>> ParseYamlDocuments(std::string_view text, const YamlLimits& limits = {});

// One document; an empty input is an error. For request bodies sent as application/yaml.
Result<nlohmann::json> ParseYaml(std::string_view text, const YamlLimits& limits = {});

// Block-style YAML of a JSON value, keys in the order of the json object (sorted for
// nlohmann::json), strings quoted when they would otherwise read back as another type.
std::string ToYaml(const nlohmann::json& value);

// Parses JSON with a nesting limit (nlohmann's parser is iterative; the limit guards what later
// walks the value recursively). kBadRequest with the byte offset on error.
Result<nlohmann::json> ParseJson(std::string_view text, size_t max_depth = 100);

}  // namespace capstan
