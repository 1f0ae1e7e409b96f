#include "cli/flags.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace capstan::cli {
namespace {

Result<bool> ParseBool(const std::string& name, const std::string& value) {
  if (value == "true" || value == "1" || value == "t" || value == "TRUE" || value == "True") return true;
  if (value == "false" || value == "0" || value == "f" || value == "FALSE" || value == "False") return false;
  return Status::BadRequest("invalid argument \"" + value + "\" for \"--" + name + "\" flag: expected true or false");
}

}  // namespace

FlagSet::FlagSet(std::string command) : command_(std::move(command)) {}

void FlagSet::AddBool(std::string long_name, char short_name, bool* target, std::string help) {
  flags_.push_back({std::move(long_name), short_name, Kind::kBool, target, std::move(help)});
}

void FlagSet::AddString(std::string long_name, char short_name, std::string* target, std::string help) {
  flags_.push_back({std::move(long_name), short_name, Kind::kString, target, std::move(help)});
}

void FlagSet::AddStringList(std::string long_name, char short_name, std::vector<std::string>* target,
                            std::string help) {
  flags_.push_back({std::move(long_name), short_name, Kind::kStringList, target, std::move(help)});
}

FlagSet::Flag* FlagSet::Find(std::string_view long_name) {
  for (Flag& flag : flags_) {
    if (flag.long_name == long_name) return &flag;
  }
  return nullptr;
}

FlagSet::Flag* FlagSet::FindShort(char short_name) {
  for (Flag& flag : flags_) {
    if (flag.short_name != 0 && flag.short_name == short_name) return &flag;
  }
  return nullptr;
}

bool FlagSet::Seen(std::string_view long_name) const {
  for (const Flag& flag : flags_) {
    if (flag.long_name == long_name) return flag.seen;
  }
  return false;
}

Status FlagSet::Set(Flag* flag, const std::string& value, bool has_value) {
  flag->seen = true;
  switch (flag->kind) {
    case Kind::kBool: {
      if (!has_value) {
        *static_cast<bool*>(flag->target) = true;
        return Status::Ok();
      }
      Result<bool> parsed = ParseBool(flag->long_name, value);
      if (!parsed.ok()) return parsed.status();
      *static_cast<bool*>(flag->target) = *parsed;
      return Status::Ok();
    }
    case Kind::kString:
      *static_cast<std::string*>(flag->target) = value;
      return Status::Ok();
    case Kind::kStringList:
      static_cast<std::vector<std::string>*>(flag->target)->push_back(value);
      return Status::Ok();
  }
  return Status::Ok();
}

Status FlagSet::Parse(const std::vector<std::string>& args, std::vector<std::string>* positional) {
  bool flags_done = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_done || arg == "-" || arg.size() < 2 || arg[0] != '-') {
      positional->push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_done = true;
      continue;
    }
    if (arg[1] == '-') {
      std::string name = arg.substr(2);
      std::string value;
      bool has_value = false;
      if (size_t eq = name.find('='); eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
        has_value = true;
      }
      if (name == "help") {
        help_requested_ = true;
        continue;
      }
      Flag* flag = Find(name);
      if (flag == nullptr) return Status::BadRequest("unknown flag: --" + name);
      if (flag->kind != Kind::kBool && !has_value) {
        if (i + 1 >= args.size()) return Status::BadRequest("flag needs an argument: --" + name);
        value = args[++i];
        has_value = true;
      }
      CAPSTAN_RETURN_IF_ERROR(Set(flag, value, has_value));
      continue;
    }
    // Short flags: "-o yaml", "-oyaml", "-o=yaml", and bool clusters such as "-wA".
    if (arg == "-h") {
      help_requested_ = true;
      continue;
    }
    for (size_t pos = 1; pos < arg.size(); ++pos) {
      Flag* flag = FindShort(arg[pos]);
      if (flag == nullptr) {
        return Status::BadRequest(std::string("unknown shorthand flag: '") + arg[pos] + "' in " + arg);
      }
      if (flag->kind == Kind::kBool) {
        if (pos + 1 < arg.size() && arg[pos + 1] == '=') {
          CAPSTAN_RETURN_IF_ERROR(Set(flag, arg.substr(pos + 2), true));
          break;
        }
        CAPSTAN_RETURN_IF_ERROR(Set(flag, "", false));
        continue;
      }
      std::string value;
      if (pos + 1 < arg.size()) {
        value = arg.substr(arg[pos + 1] == '=' ? pos + 2 : pos + 1);
      } else {
        if (i + 1 >= args.size()) return Status::BadRequest(std::string("flag needs an argument: '") + arg[pos] + "' in -" + arg[pos]);
        value = args[++i];
      }
      CAPSTAN_RETURN_IF_ERROR(Set(flag, value, true));
      break;
    }
  }
  return Status::Ok();
}

std::string FlagSet::FlagHelp() const {
  std::vector<std::pair<std::string, std::string>> lines;
  size_t width = 0;
  for (const Flag& flag : flags_) {
    std::string left = flag.short_name != 0 ? std::string("  -") + flag.short_name + ", --" : "      --";
    left += flag.long_name;
    if (flag.kind != Kind::kBool) left += flag.kind == Kind::kStringList ? " strings" : " string";
    width = std::max(width, left.size());
    lines.emplace_back(left, flag.help);
  }
  lines.emplace_back("  -h, --help", "Help for this command.");
  width = std::max<size_t>(width, lines.back().first.size());
  std::string out;
  for (const auto& [left, help] : lines) out += left + std::string(width - left.size() + 3, ' ') + help + "\n";
  return out;
}

Result<int64_t> ParseIntFlag(const std::string& flag, const std::string& text) {
  int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) {
    return Status::BadRequest("invalid argument \"" + text + "\" for \"--" + flag + "\" flag: not an integer");
  }
  return value;
}

Result<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  if (text.empty()) return Status::BadRequest("empty duration");
  bool all_digits = std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (all_digits) {
    long long seconds = 0;
    std::from_chars(text.data(), text.data() + text.size(), seconds);
    return std::chrono::milliseconds(seconds * 1000);
  }
  double total_ms = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t n = 0;
    while (n < rest.size() && ((rest[n] >= '0' && rest[n] <= '9') || rest[n] == '.')) ++n;
    if (n == 0) return Status::BadRequest("invalid duration \"" + std::string(text) + "\"");
    double number = 0;
    try {
      number = std::stod(std::string(rest.substr(0, n)));
    } catch (const std::exception&) {
      return Status::BadRequest("invalid duration \"" + std::string(text) + "\"");
    }
    rest.remove_prefix(n);
    size_t u = 0;
    while (u < rest.size() && rest[u] >= 'a' && rest[u] <= 'z') ++u;
    std::string_view unit = rest.substr(0, u);
    rest.remove_prefix(u);
    if (unit == "ms") total_ms += number;
    else if (unit == "s") total_ms += number * 1000;
    else if (unit == "m") total_ms += number * 60000;
    else if (unit == "h") total_ms += number * 3600000;
    else return Status::BadRequest("invalid duration \"" + std::string(text) + "\": unit must be ms, s, m or h");
  }
  return std::chrono::milliseconds(static_cast<long long>(total_ms));
}

Status ExtractGlobalFlags(std::vector<std::string>* args, GlobalOptions* options) {
  struct Global {
    const char* long_name;
    char short_name;
  };
  static const Global kGlobals[] = {{"kubeconfig", 0}, {"context", 0},   {"server", 's'},         {"token", 0},
                                    {"namespace", 'n'}, {"v", 'v'},      {"request-timeout", 0}};
  std::vector<std::string> rest;
  size_t i = 0;
  for (; i < args->size(); ++i) {
    const std::string& arg = (*args)[i];
    if (arg == "--") break;
    const Global* match = nullptr;
    std::string value;
    bool has_value = false;
    for (const Global& global : kGlobals) {
      std::string long_form = std::string("--") + global.long_name;
      if (arg == long_form) {
        match = &global;
      } else if (arg.rfind(long_form + "=", 0) == 0) {
        match = &global;
        value = arg.substr(long_form.size() + 1);
        has_value = true;
      } else if (global.short_name != 0 && arg.size() >= 2 && arg[0] == '-' && arg[1] == global.short_name) {
        match = &global;
        if (arg.size() > 2) {
          value = arg.substr(arg[2] == '=' ? 3 : 2);
          has_value = true;
        }
      }
      if (match != nullptr) break;
    }
    if (match == nullptr) {
      rest.push_back(arg);
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args->size()) return Status::BadRequest(std::string("flag needs an argument: --") + match->long_name);
      value = (*args)[++i];
    }
    std::string name = match->long_name;
    if (name == "kubeconfig") options->connection.kubeconfig = value;
    else if (name == "context") options->connection.context = value;
    else if (name == "server") options->connection.server = value;
    else if (name == "token") options->connection.token = value;
    else if (name == "namespace") {
      if (value.empty()) return Status::BadRequest("--namespace must not be empty");
      options->namespace_name = value;
    } else if (name == "v") {
      int level = 0;
      auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), level);
      if (ec != std::errc() || ptr != value.data() + value.size()) {
        return Status::BadRequest("invalid argument \"" + value + "\" for \"-v\": expected a number (0-9)");
      }
      options->verbosity = level;
    } else if (name == "request-timeout") {
      Result<std::chrono::milliseconds> timeout = ParseDuration(value);
      if (!timeout.ok()) return Status::BadRequest("--request-timeout: " + timeout.status().message());
      options->request_timeout = *timeout;
      options->request_timeout_set = true;
    }
  }
  for (; i < args->size(); ++i) rest.push_back((*args)[i]);
  *args = std::move(rest);
  return Status::Ok();
}

std::string GlobalFlagHelp() {
  return "Global flags (anywhere on the line):\n"
         "      --kubeconfig string        Kubeconfig file (default $CAPSTAN_KUBECONFIG, else ~/.capstan/kubeconfig).\n"
         "      --context string           Kubeconfig context to use (default: current-context).\n"
         "  -s, --server string            API server URL; overrides the kubeconfig.\n"
         "      --token string             Bearer token; overrides the kubeconfig.\n"
         "  -n, --namespace string         Namespace for this request.\n"
         "      --request-timeout string   Time to wait for one request (\"30s\", \"1m\"; 0 = no limit).\n"
         "  -v, --v int                    Log verbosity (4 or more: debug, shows requests).\n";
}

}  // namespace capstan::cli
