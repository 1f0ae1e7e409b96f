// The resource arguments kubectl verbs take: "TYPE[,TYPE...] [NAME...]" or "TYPE/NAME ...",
// resolved through discovery.
//
// Thread-safety: uses a Session (main thread only).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "cli/session.h"
#include "client/discovery.h"

namespace capstan::cli {

struct ResourceTarget {
  client::ResourceInfo resource;
  std::vector<std::string> names;  // empty: the whole collection
};

// kBadRequest for an empty or mixed form; the discovery error (kNotFound "the server doesn't
// have a resource type") for an unknown type.
Result<std::vector<ResourceTarget>> ResolveTargets(Session& session, const std::vector<std::string>& args);

// Prints a ResolveTargets failure as kubectl does: an unknown type, though the server's answer, as
// a local "error: the server doesn't have a resource type ..."; a transport failure as PrintError.
void PrintTargetError(const Status& status);

}  // namespace capstan::cli
