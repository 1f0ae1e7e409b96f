// The text of `capstan describe`: kubectl's layout (Name, Namespace, Labels, Annotations,
// CreationTimestamp, the kind's fields, Conditions, Events) rendered generically from the
// object, so a new kind describes readably without code here.
//
// Thread-safety: stateless functions.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace capstan::cli {

// `events` are core/v1 Events about the object (any order); `now` makes ages testable.
std::string DescribeObject(const nlohmann::json& object, const std::vector<nlohmann::json>& events, std::time_t now);

// "minReadySeconds" → "Min Ready Seconds".
std::string TitleCase(const std::string& key);

}  // namespace capstan::cli
