#include "controller/deployment/pod_template_hash.h"

namespace capstan::controller::deployment {
namespace {

constexpr char kSafeAlphabet[] = "bcdfghjklmnpqrstvwxz2456789";

// Drops nulls, empty objects and empty arrays from objects, recursively, so that semantically
// equal templates (one with `labels: {}`, one without) compare equal.
json Normalize(const json& value) {
  if (value.is_object()) {
    json out = json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      json v = Normalize(*it);
      if (v.is_null() || (v.is_object() && v.empty()) || (v.is_array() && v.empty())) continue;
      out[it.key()] = std::move(v);
    }
    return out;
  }
  if (value.is_array()) {
    json out = json::array();
    for (const json& v : value) out.push_back(Normalize(v));
    return out;
  }
  return value;
}

json WithoutHashLabel(const json& pod_template) {
  json copy = pod_template.is_object() ? pod_template : json::object();
  if (auto meta = copy.find("metadata"); meta != copy.end() && meta->is_object()) {
    if (auto labels = meta->find("labels"); labels != meta->end() && labels->is_object()) {
      labels->erase(kPodTemplateHashLabel);
    }
  }
  return Normalize(copy);
}

}  // namespace

uint32_t Fnv1a32(const std::string& bytes, uint32_t seed) {
  uint32_t h = seed;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 16777619u;
  }
  return h;
}

std::string ComputePodTemplateHash(const json& pod_template, std::optional<int32_t> collision_count) {
  std::string bytes = pod_template.dump();
  if (collision_count) {
    uint32_t c = static_cast<uint32_t>(*collision_count);
    for (int i = 0; i < 4; ++i) bytes.push_back(static_cast<char>((c >> (8 * i)) & 0xff));
  }
  std::string digits = std::to_string(Fnv1a32(bytes));
  std::string out;
  out.reserve(digits.size());
  constexpr size_t kAlphabetSize = sizeof(kSafeAlphabet) - 1;
  for (unsigned char c : digits) out.push_back(kSafeAlphabet[c % kAlphabetSize]);
  return out;
}

bool EqualIgnoreHash(const json& template1, const json& template2) {
  return WithoutHashLabel(template1) == WithoutHashLabel(template2);
}

}  // namespace capstan::controller::deployment
