#include "api/auth.h"

#include <fcntl.h>
#include <unistd.h>

#include <cctype>
#include <fstream>
#include <sstream>

namespace capstan::api {
namespace {

// Compares in time independent of where the strings differ, so a token cannot be guessed byte
// by byte from response times.
bool ConstantTimeEquals(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

}  // namespace

void TokenAuthenticator::AddToken(std::string token, Identity identity) {
  tokens_.emplace_back(std::move(token), std::move(identity));
}

Status TokenAuthenticator::LoadTokenFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::Invalid("cannot read token file " + path);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    line = Trim(line);
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string col;
    while (std::getline(ss, col, ',')) cols.push_back(Trim(col));
    if (cols.size() < 3 || cols[0].size() < 16 || cols[1].empty()) {
      return Status::Invalid(path + ":" + std::to_string(n) +
                             ": expected \"token,user,role\" with a token of at least 16 characters");
    }
    Identity id{cols[1], Role::kView};
    if (cols[2] == "admin") id.role = Role::kAdmin;
    else if (cols[2] != "view") {
      return Status::Invalid(path + ":" + std::to_string(n) + ": role must be admin or view, not \"" + cols[2] + "\"");
    }
    AddToken(cols[0], id);
  }
  return Status::Ok();
}

std::optional<Identity> TokenAuthenticator::Authenticate(const HttpRequest& req) const {
  auto h = req.headers.Get("Authorization");
  if (!h) return std::nullopt;
  // The scheme name is case-insensitive (RFC 7235 section 2.1); some clients send "bearer".
  static const std::string kBearer = "bearer ";
  if (h->size() <= kBearer.size()) return std::nullopt;
  for (size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>((*h)[i])) != kBearer[i]) return std::nullopt;
  }
  std::string token = Trim(h->substr(kBearer.size()));
  if (token.empty()) return std::nullopt;
  std::optional<Identity> found;
  for (const auto& [t, id] : tokens_) {
    if (ConstantTimeEquals(t, token)) found = id;
  }
  return found;
}

bool Authorized(const Identity& who, const std::string& verb) {
  if (who.role == Role::kAdmin) return true;
  return verb == "get" || verb == "list" || verb == "watch";
}

Result<std::string> GenerateToken() {
  unsigned char buf[32];
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Internal("cannot open /dev/urandom");
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n != static_cast<ssize_t>(sizeof buf)) return Status::Internal("short read from /dev/urandom");
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : buf) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

}  // namespace capstan::api
