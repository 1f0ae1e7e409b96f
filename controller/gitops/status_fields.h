// Small helpers the GitOps controller's files share: conditions as Kubernetes writes them, the
// Go durations of specs, the API paths of the two kinds.
#pragma once

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

namespace capstan::controller::gitops {

inline constexpr char kGitOpsGroupVersion[] = "/apis/gitops.capstan.io/v1alpha1";

// "/apis/gitops.capstan.io/v1alpha1/namespaces/<ns>/<plural>/<name>" of "ns/name".
std::string GitOpsObjectPath(const char* plural, const std::string& ns_name);

std::string NowRfc3339();

// spec[field] as a Go duration; `fallback` when absent, malformed or not positive.
std::chrono::milliseconds DurationField(const nlohmann::json& spec, const char* field, std::chrono::milliseconds fallback);

// `conditions` with `type` set; lastTransitionTime moves only when the status does.
nlohmann::json SetCondition(nlohmann::json conditions, const std::string& type, bool status, const std::string& reason,
                            const std::string& message, int64_t generation);
nlohmann::json RemoveCondition(nlohmann::json conditions, const std::string& type);
const nlohmann::json* ReadyCondition(const nlohmann::json& obj);

// The commit of "main@sha1:<commit>"; "" when there is none.
std::string CommitOf(const std::string& revision);
std::string AnnotationOf(const nlohmann::json& obj, const char* key);
bool BoolField(const nlohmann::json& spec, const char* field);

}  // namespace capstan::controller::gitops
