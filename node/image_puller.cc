#include "node/image_puller.h"

#include "plugins/common/image_ref.h"

#include <algorithm>

#include "base/base64.h"
#include "client/json_fields.h"

namespace capstan::node {

using json = nlohmann::json;
using client::Field;
using client::StringField;

namespace {

bool IsRegistryHost(const std::string& first) {
  return first.find('.') != std::string::npos || first.find(':') != std::string::npos || first == "localhost";
}

std::string TrimRegistryKey(std::string key) {
  for (const char* scheme : {"https://", "http://"}) {
    if (key.rfind(scheme, 0) == 0) key = key.substr(std::char_traits<char>::length(scheme));
  }
  key = key.substr(0, key.find('/'));
  return key == "index.docker.io" || key == "registry-1.docker.io" ? "docker.io" : key;
}

}  // namespace

std::string ImageRegistry(const std::string& image) {
  const auto slash = image.find('/');
  if (slash == std::string::npos) return "docker.io";
  const std::string first = image.substr(0, slash);
  if (!IsRegistryHost(first)) return "docker.io";
  return first == "index.docker.io" ? "docker.io" : first;
}

std::optional<ImagePullAuth> AuthForRegistry(const json& dockerconfig, const std::string& registry) {
  const json& auths = Field(dockerconfig, "auths").is_object() ? Field(dockerconfig, "auths") : dockerconfig;
  if (!auths.is_object()) return std::nullopt;
  for (auto it = auths.begin(); it != auths.end(); ++it) {
    if (TrimRegistryKey(it.key()) != registry || !it->is_object()) continue;
    ImagePullAuth a;
    a.username = StringField(*it, "username");
    a.password = StringField(*it, "password");
    a.auth = StringField(*it, "auth");
    a.identity_token = StringField(*it, "identitytoken");
    a.registry_token = StringField(*it, "registrytoken");
    a.server_address = it.key();
    if (a.username.empty() && !a.auth.empty()) {
      if (auto decoded = Base64Decode(a.auth, /*lenient=*/true)) {
        const auto colon = decoded->find(':');
        if (colon != std::string::npos) {
          a.username = decoded->substr(0, colon);
          a.password = decoded->substr(colon + 1);
        }
      }
    }
    return a;
  }
  return std::nullopt;
}

ImagePuller::ImagePuller(RuntimeDriver* driver, ImagePullerOptions options)
    : driver_(driver),
      options_(options),
      clock_(options.clock != nullptr ? options.clock : controller::Clock::Real()) {}

bool ImagePuller::Present(const std::string& normalized) {
  uint64_t generation = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (present_.count(normalized) != 0) return true;
    if (refs_known_ && clock_->Now() - refs_at_ < options_.refs_max_age) return false;
    generation = refs_generation_;
  }
  auto refs = driver_->ImageRefs();
  std::lock_guard<std::mutex> lock(mu_);
  if (!refs.ok()) return false;  // unknown: pull, which says more
  if (generation != refs_generation_) {
    // Images were removed meanwhile: the answer may name one of them; answer, but do not keep it.
    for (const std::string& r : *refs) {
      if (plugins::NormalizeImageRef(r) == normalized) return true;
    }
    return false;
  }
  present_.clear();
  for (const std::string& r : *refs) present_.insert(plugins::NormalizeImageRef(r));
  refs_at_ = clock_->Now();
  refs_known_ = true;
  return present_.count(normalized) != 0;
}

ImagePuller::Outcome ImagePuller::Ensure(const json& pod, const PullSecretsFn& secrets) {
  Outcome out;
  if (!driver_->PullsImages()) return out;
  const std::string uid = client::MetaString(pod, "uid");
  const json& spec = Field(pod, "spec");
  for (const char* list : {"initContainers", "containers"}) {
    const json& containers = Field(spec, list);
    if (!containers.is_array()) continue;
    for (const json& c : containers) {
      const std::string image = StringField(c, "image");
      const std::string name = StringField(c, "name");
      std::string policy = StringField(c, "imagePullPolicy");
      if (image.empty()) {
        return {false, "InvalidImageName", "container " + name + " has no image", name, options_.backoff_max};
      }
      const std::string ref = plugins::NormalizeImageRef(image);
      if (policy.empty()) policy = "IfNotPresent";
      if (policy != "Always" && Present(ref)) continue;
      if (policy == "Never") {
        return {false, "ErrImageNeverPull",
                "Container image \"" + image + "\" is not present with pull policy of Never", name,
                options_.backoff_initial};
      }
      const std::string key = uid + " " + image;
      {
        std::lock_guard<std::mutex> lock(mu_);
        auto it = backoff_.find(key);
        if (it != backoff_.end() && clock_->Now() < it->second.until) {
          return {false, "ImagePullBackOff", "Back-off pulling image \"" + image + "\": " + it->second.last_error,
                  name, std::chrono::ceil<std::chrono::milliseconds>(it->second.until - clock_->Now())};
        }
      }
      std::optional<ImagePullAuth> auth;
      if (secrets) {
        const std::string registry = ImageRegistry(image);
        for (const json& doc : secrets(pod)) {
          if ((auth = AuthForRegistry(doc, registry))) break;
        }
      }
      auto pulled = driver_->PullImage(image, auth);
      std::lock_guard<std::mutex> lock(mu_);
      ++pulls_;
      if (pulled.ok()) {
        present_.insert(ref);
        backoff_.erase(key);
        continue;
      }
      Backoff& b = backoff_[key];
      auto delay = options_.backoff_initial;
      for (int i = 0; i < b.failures && delay < options_.backoff_max; ++i) delay *= 2;
      delay = std::min(delay, options_.backoff_max);
      ++b.failures;
      b.until = clock_->Now() + delay;
      b.last_error = pulled.status().message();
      return {false, "ErrImagePull", pulled.status().message(), name, delay};
    }
  }
  return out;
}

void ImagePuller::Forget(const std::string& pod_uid) {
  std::lock_guard<std::mutex> lock(mu_);
  const std::string prefix = pod_uid + " ";
  for (auto it = backoff_.lower_bound(prefix); it != backoff_.end() && it->first.rfind(prefix, 0) == 0;) {
    it = backoff_.erase(it);
  }
}

void ImagePuller::ImagesRemoved() {
  std::lock_guard<std::mutex> lock(mu_);
  present_.clear();
  refs_known_ = false;
  ++refs_generation_;
}

uint64_t ImagePuller::Pulls() const {
  std::lock_guard<std::mutex> lock(mu_);
  return pulls_;
}

}  // namespace capstan::node
