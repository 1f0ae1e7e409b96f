// Reusable validation predicates and field-error builders for the built-in kinds.
//
// The predicates mirror k8s.io/apimachinery/pkg/util/validation: each Check* returns Kubernetes'
// own messages (empty when the value is valid), so errors read exactly as a Kubernetes user
// expects; the Is* forms are the boolean shorthands. The Add* builders append a FieldError whose
// message is Kubernetes' field.Error.ErrorBody() ("Invalid value: \"x\": <detail>"), which is what
// the API puts into Status causes.
//
// Thread-safety: stateless functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/schema.h"
#include "base/status.h"

namespace capstan::api::kinds {

// ---- Names and keys -------------------------------------------------------------------------
std::vector<std::string> CheckDns1123Label(std::string_view value);      // ≤63, [a-z0-9]([-a-z0-9]*[a-z0-9])?
std::vector<std::string> CheckDns1123Subdomain(std::string_view value);  // ≤253, labels joined by '.'
// "[prefix/]name": prefix a DNS-1123 subdomain, name ≤63 of ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9].
std::vector<std::string> CheckQualifiedName(std::string_view value);
std::vector<std::string> CheckLabelValue(std::string_view value);        // "" or a qualified name part
std::vector<std::string> CheckPortName(std::string_view value);          // IANA_SVC_NAME
std::vector<std::string> CheckPortNumber(int64_t port);                  // 1..65535
std::vector<std::string> CheckEnvVarName(std::string_view value);        // [-._a-zA-Z][-._a-zA-Z0-9]*
std::vector<std::string> CheckConfigMapKey(std::string_view value);      // [-._a-zA-Z0-9]+, ≤253
// A metadata.name checker: `prefix` is true for generateName, whose trailing '-' is allowed.
std::vector<std::string> CheckNameAsSubdomain(std::string_view value, bool prefix);
std::vector<std::string> CheckNameAsLabel(std::string_view value, bool prefix);

inline bool IsDns1123Label(std::string_view v) { return CheckDns1123Label(v).empty(); }
inline bool IsDns1123Subdomain(std::string_view v) { return CheckDns1123Subdomain(v).empty(); }
inline bool IsQualifiedName(std::string_view v) { return CheckQualifiedName(v).empty(); }
inline bool IsValidLabelValue(std::string_view v) { return CheckLabelValue(v).empty(); }
inline bool IsValidPortName(std::string_view v) { return CheckPortName(v).empty(); }
inline bool IsValidPortNumber(int64_t p) { return CheckPortNumber(p).empty(); }
inline bool IsEnvVarName(std::string_view v) { return CheckEnvVarName(v).empty(); }
inline bool IsConfigMapKey(std::string_view v) { return CheckConfigMapKey(v).empty(); }

// ---- Values ---------------------------------------------------------------------------------
// A Kubernetes resource.Quantity ("100m", "1Gi", "1e3", "0.5", "-2", "1.5E") in milli-units,
// rounded up as Quantity.MilliValue() does. A JSON number is accepted too. kInvalid with
// Kubernetes' message on bad syntax; kInvalid "quantity too large" when it does not fit int64.
Result<int64_t> ParseQuantity(std::string_view text);
Result<int64_t> ParseQuantity(const json& value);

// Standard base64 with padding (Go's base64.StdEncoding; CR/LF ignored). On error *error_offset is
// the offending input byte, as in Go's "illegal base64 data at input byte N".
bool DecodeBase64(std::string_view in, std::string* out, size_t* error_offset = nullptr);
std::string EncodeBase64(std::string_view in);

// "25%" -> 25; std::nullopt unless the string is digits followed by '%'.
std::optional<int64_t> ParsePercent(std::string_view value);

// ---- Field paths ----------------------------------------------------------------------------
// Kubernetes' field.Path rendering: Child("spec","replicas") -> "spec.replicas",
// Index("spec.containers", 0) -> "spec.containers[0]", Key("data", "a.b") -> "data[a.b]".
std::string Child(const std::string& path, const std::string& name);
std::string Index(const std::string& path, size_t i);
std::string Key(const std::string& path, const std::string& key);

// ---- Field errors (message = Kubernetes ErrorBody) -----------------------------------------
void AddRequired(FieldErrors* errors, const std::string& path, const std::string& detail = "");
void AddInvalid(FieldErrors* errors, const std::string& path, const json& value, const std::string& detail);
void AddNotSupported(FieldErrors* errors, const std::string& path, const json& value,
                     const std::vector<std::string>& supported);
void AddDuplicate(FieldErrors* errors, const std::string& path, const json& value);
void AddForbidden(FieldErrors* errors, const std::string& path, const std::string& detail);
void AddTooLong(FieldErrors* errors, const std::string& path, size_t max_bytes);
// FieldValueNotFound (a reference to something absent, e.g. a volumeMount's volume).
void AddNotFound(FieldErrors* errors, const std::string& path, const json& value);
// One FieldValueInvalid per message of a Check* result.
void AddInvalidEach(FieldErrors* errors, const std::string& path, const json& value,
                    const std::vector<std::string>& messages);
// ValidateNonnegativeField: "must be greater than or equal to 0".
void CheckNonNegative(const json& obj, const char* field, const std::string& path, FieldErrors* errors);

// ---- JSON access (objects arrive schema-checked, but be defensive) ---------------------------
// The member `key` of `obj` when obj is an object and the member is present and not null.
const json* Get(const json& obj, std::string_view key);
std::string GetString(const json& obj, std::string_view key);
int64_t GetInt(const json& obj, std::string_view key, int64_t def = 0);
bool GetBool(const json& obj, std::string_view key, bool def = false);
// The array member `key`, or an empty array.
const json& GetArray(const json& obj, std::string_view key);
// obj[key] as an object, creating it (and turning obj into an object) when absent or null.
json& Ensure(json& obj, const char* key);

}  // namespace capstan::api::kinds
