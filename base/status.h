// Status and Result<T>: the error values that cross every module boundary in Capstan.
//
// Contract: no exception crosses a module boundary, a thread's top frame, the HTTP boundary or the
// plugin ABI; functions that can fail return Status or Result<T>. The codes are the ones a
// Kubernetes client needs to see (each maps to one HTTP status and Status.reason in api/), so a
// store or admission error reaches the user without translation tables in between.
//
// Thread-safety: values; safe to copy and move between threads.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace capstan {

enum class Code {
  kOk = 0,
  kBadRequest,          // 400 malformed input
  kUnauthorized,        // 401
  kForbidden,           // 403
  kNotFound,            // 404
  kMethodNotAllowed,    // 405
  kNotAcceptable,       // 406
  kAlreadyExists,       // 409 AlreadyExists
  kConflict,            // 409 Conflict: a precondition (resourceVersion, uid) failed
  kExpired,             // 410 Expired: a revision that compaction removed
  kTooLarge,            // 413
  kUnsupportedMediaType,// 415
  kInvalid,             // 422 Invalid: semantic validation failed
  kTooManyRequests,     // 429
  kInternal,            // 500
  kUnavailable,         // 503: shutting down, or try again later
  kTimeout,             // 504
};

const char* CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  static Status BadRequest(std::string m) { return {Code::kBadRequest, std::move(m)}; }
  static Status Unauthorized(std::string m) { return {Code::kUnauthorized, std::move(m)}; }
  static Status Forbidden(std::string m) { return {Code::kForbidden, std::move(m)}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status Conflict(std::string m) { return {Code::kConflict, std::move(m)}; }
  static Status Expired(std::string m) { return {Code::kExpired, std::move(m)}; }
  static Status TooLarge(std::string m) { return {Code::kTooLarge, std::move(m)}; }
  static Status Invalid(std::string m) { return {Code::kInvalid, std::move(m)}; }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsAlreadyExists() const { return code_ == Code::kAlreadyExists; }
  bool IsConflict() const { return code_ == Code::kConflict; }
  bool IsExpired() const { return code_ == Code::kExpired; }

  // "NotFound: pods \"web\" not found"; "OK" for success.
  std::string ToString() const;

  // Prefixes the message with context, keeping the code and details: "reading x: <message>".
  Status Annotate(const std::string& context) const;

  // Optional machine-readable details (a JSON text) that travel with the error to the API
  // boundary, e.g. a Kubernetes StatusDetails with one cause per invalid field.
  const std::string& details() const { return details_; }
  Status WithDetails(std::string details) const {
    Status s = *this;
    s.details_ = std::move(details);
    return s;
  }

 private:
  Code code_ = Code::kOk;
  std::string message_;
  std::string details_;
};

// Either a T or a non-OK Status. Accessing value() of an error is a programming error (asserts).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}                    // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }
  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace capstan

// Returns early from the enclosing function when `expr` (a Status) is not OK.
#define CAPSTAN_RETURN_IF_ERROR(expr)                \
  do {                                               \
    ::capstan::Status capstan_status_ = (expr);      \
    if (!capstan_status_.ok()) return capstan_status_; \
  } while (0)
