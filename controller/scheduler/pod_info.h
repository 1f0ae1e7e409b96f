// PodInfo: what the scheduler needs to know about one Pod, computed once per scheduling attempt so
// that filtering and scoring a hundred nodes never re-reads the Pod's JSON or re-parses a quantity.
//
// Contents, all copied out of the Pod (a PodInfo holds no pointer into the JSON it came from):
//   - requests: Kubernetes' PodRequests (k8s.io/component-helpers/resource): the sum of the app
//     containers' requests; restartable init containers (restartPolicy: Always, "sidecars") are
//     added to that sum; the result is raised to the largest single init container (plus the
//     sidecars started before it), because init containers run one at a time; pod-level
//     spec.resources.requests override cpu and memory; spec.overhead is added last; pods = 1.
//     A container's missing request defaults to its limit, as SetDefaults_Pod already does for
//     stored Pods (repeated here so a Pod that skipped the API defaults is counted the same).
//   - non_zero: the same sum where a container's missing cpu / memory request counts as 100m /
//     200Mi (Kubernetes' DefaultMilliCPURequest / DefaultMemoryRequest). Only scoring uses it, so
//     that BestEffort pods still spread instead of all looking free.
//   - the controller owner's uid, tolerations and the compiled node selector / node affinity.
//
// Units: cpu in milli-cores, memory in bytes, every other resource (ephemeral-storage, hugepages-*,
// extended resources such as example.com/gpu) in whole units (Quantity.Value(), rounded up).
// Unparsable quantities count as 0: stored objects were validated by the API.
//
// Thread-safety: values and stateless functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace capstan::controller::scheduler {

using json = nlohmann::json;

// Kubernetes' defaults for a container without a cpu / memory request, used only when scoring.
inline constexpr int64_t kDefaultMilliCpuRequest = 100;
inline constexpr int64_t kDefaultMemoryRequest = 200 * 1024 * 1024;

// A resource vector. Invariant: `scalars` is sorted by name with unique names.
struct Resources {
  int64_t milli_cpu = 0;
  int64_t memory_bytes = 0;
  int64_t pods = 0;
  std::vector<std::pair<std::string, int64_t>> scalars;  // every other resource, whole units

  // Per-resource sum / difference / maximum. Sums saturate instead of overflowing.
  void Add(const Resources& other);
  void Subtract(const Resources& other);
  void SetMax(const Resources& other);
  // The amount of a scalar resource (0 when absent).
  int64_t Scalar(std::string_view name) const;
  void SetScalar(std::string_view name, int64_t value);

  bool operator==(const Resources&) const = default;
};

// A ResourceList ({"cpu": "500m", "memory": "1Gi", "pods": "110"}) in Resources units.
Resources ParseResourceList(const json& list);

// The Pod's requests as described above; `non_zero` (optional) receives the scoring variant.
Resources PodRequests(const json& pod, Resources* non_zero = nullptr);

// metadata.ownerReferences[controller=true].uid, or "" when the Pod has no controller.
std::string ControllerUid(const json& pod);

// The identity under which a NodeInfo tracks a Pod: metadata.uid, or "namespace/name" when the
// Pod has no uid yet (objects built by hand in tests).
std::string PodKey(const json& pod);

// A spec.tolerations entry. An empty `op` means Equal, an empty `effect` matches every effect.
struct Toleration {
  std::string key;
  std::string op;
  std::string value;
  std::string effect;
};

// One NodeSelectorRequirement, compiled. For kGt/kLt, `number` holds the parsed values[0].
enum class SelectorOp { kIn, kNotIn, kExists, kDoesNotExist, kGt, kLt };
struct Requirement {
  std::string key;
  SelectorOp op = SelectorOp::kIn;
  std::vector<std::string> values;
  int64_t number = 0;
};

// One NodeSelectorTerm: matchExpressions (node labels) and matchFields (metadata.name), ANDed.
// `valid` is false when a requirement could not be compiled (unknown operator, a Gt/Lt value that
// is not an integer, a matchFields key other than metadata.name, ...); Kubernetes treats such a
// term, and a term with no requirement at all, as matching no node.
struct SelectorTerm {
  std::vector<Requirement> expressions;
  std::vector<Requirement> fields;
  bool valid = true;
};

struct PreferredTerm {
  int64_t weight = 0;
  SelectorTerm term;
};

struct PodInfo {
  std::string key;        // PodKey()
  std::string owner_uid;  // ControllerUid()
  Resources requests;     // what the Filter checks against free allocatable
  Resources non_zero;     // what LeastAllocated scores
  std::vector<std::pair<std::string, std::string>> node_selector;  // spec.nodeSelector, all must match
  // requiredDuringSchedulingIgnoredDuringExecution: the terms are ORed. Without the field every
  // node passes; with it, only nodes matching one valid term do.
  bool has_required_affinity = false;
  std::vector<SelectorTerm> required_terms;
  std::vector<PreferredTerm> preferred_terms;  // preferredDuringSchedulingIgnoredDuringExecution
  std::vector<Toleration> tolerations;
};

// Compiles everything above from a Pod object (any JSON: missing fields read as empty).
PodInfo MakePodInfo(const json& pod);

// A NodeSelectorTerm compiled (exposed for tests and for callers that match nodes themselves).
SelectorTerm CompileTerm(const json& term);

// strconv.ParseInt(s, 10, 64): an optional sign and decimal digits, nothing else, no overflow.
bool ParseInt64(std::string_view text, int64_t* out);

}  // namespace capstan::controller::scheduler
