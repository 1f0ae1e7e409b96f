// Command-line flags for `capstan` verbs: a small pflag-like parser.
//
// Accepted forms: --name=value, --name value, -n value, -nvalue (short flags with a value),
// --flag / --flag=true|false for booleans, and "--" to end the flags. Flags may appear anywhere
// among the positional arguments, as kubectl allows. Global flags (connection, namespace,
// logging) are taken out of the argument list first, wherever they are, by ExtractGlobalFlags.
//
// Thread-safety: none needed (used from main only).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "client/kubeconfig.h"

namespace capstan::cli {

class FlagSet {
 public:
  // `command` ("capstan get") names the command in error messages and usage.
  explicit FlagSet(std::string command);

  // `short_name` 0 for none. Targets are not owned and must outlive Parse.
  void AddBool(std::string long_name, char short_name, bool* target, std::string help);
  void AddString(std::string long_name, char short_name, std::string* target, std::string help);
  // Repeatable: each occurrence appends ("-f a -f b").
  void AddStringList(std::string long_name, char short_name, std::vector<std::string>* target, std::string help);

  // Sets the targets and appends the positional arguments, in order. kBadRequest on an unknown
  // flag or a missing/invalid value. -h/--help sets help_requested() and is never an error.
  Status Parse(const std::vector<std::string>& args, std::vector<std::string>* positional);

  bool help_requested() const { return help_requested_; }
  // True when the flag appeared on the command line (to tell "--x=" from not given).
  bool Seen(std::string_view long_name) const;
  // One line per flag, aligned: "  -o, --output string   Output format ...".
  std::string FlagHelp() const;

 private:
  enum class Kind { kBool, kString, kStringList };
  struct Flag {
    std::string long_name;
    char short_name = 0;
    Kind kind = Kind::kBool;
    void* target = nullptr;
    std::string help;
    bool seen = false;
  };
  Flag* Find(std::string_view long_name);
  Flag* FindShort(char short_name);
  Status Set(Flag* flag, const std::string& value, bool has_value);

  std::string command_;
  std::vector<Flag> flags_;
  bool help_requested_ = false;
};

// Flags every verb accepts, anywhere on the command line.
struct GlobalOptions {
  client::ConnectionOverrides connection;  // --kubeconfig, --context, --server, --token
  std::string namespace_name;              // -n/--namespace; empty: not given
  std::chrono::milliseconds request_timeout{0};  // --request-timeout; 0: the client's default
  bool request_timeout_set = false;
  int verbosity = 0;                       // -v/--v=LEVEL (kubectl numbers; 4+ is debug)
};

// Removes the global flags (and their values) from `args`, stopping at "--". Returns
// kBadRequest for a malformed value (e.g. --request-timeout=abc).
Status ExtractGlobalFlags(std::vector<std::string>* args, GlobalOptions* options);

// The global flags' help, for usage texts.
std::string GlobalFlagHelp();

// The value of an integer flag; kBadRequest as pflag words it: invalid argument "x" for "--replicas"
// flag: not an integer.
Result<int64_t> ParseIntFlag(const std::string& flag, const std::string& text);

// kubectl durations: "0", "30" (seconds), "30s", "1m", "500ms", "1h30m".
Result<std::chrono::milliseconds> ParseDuration(std::string_view text);

}  // namespace capstan::cli
