#include "controller/gitops/known_hosts.h"

#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/base64.h"

namespace capstan::controller::gitops {
namespace {

// Two made-up key blobs (only their bytes matter here) and their base64 as known_hosts has it.
const std::string kKey = std::string("\0\0\0\x0bssh-ed25519\0\0\0\x20", 19) + std::string(32, 'k');
const std::string kOther = std::string("\0\0\0\x0bssh-ed25519\0\0\0\x20", 19) + std::string(32, 'o');

std::string Line(const std::string& hosts, const std::string& blob) { return hosts + " ssh-ed25519 " + Base64Encode(blob) + "\n"; }

std::string Hashed(const std::string& name, const std::string& salt) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha1(), salt.data(), static_cast<int>(salt.size()), reinterpret_cast<const unsigned char*>(name.data()),
       name.size(), mac, &len);
  return "|1|" + Base64Encode(salt) + "|" + Base64Encode(std::string(reinterpret_cast<char*>(mac), len));
}

TEST(KnownHostsTest, TrustsOnlyTheListedKeyForTheHostAndPort) {
  const std::string hosts = "# comment\n\n" + Line("git.example.com,10.0.0.1", kKey) + Line("[127.0.0.1]:2222", kKey);
  EXPECT_EQ(CheckKnownHost(hosts, "git.example.com", 22, kKey), "");
  EXPECT_EQ(CheckKnownHost(hosts, "GIT.example.com", 22, kKey), "") << "host names are case-insensitive";
  EXPECT_EQ(CheckKnownHost(hosts, "10.0.0.1", 22, kKey), "");
  EXPECT_EQ(CheckKnownHost(hosts, "127.0.0.1", 2222, kKey), "");
  std::string wrong_port = CheckKnownHost(hosts, "127.0.0.1", 2223, kKey);
  EXPECT_NE(wrong_port.find("[127.0.0.1]:2223"), std::string::npos) << wrong_port;
  EXPECT_NE(wrong_port.find("is not in known_hosts"), std::string::npos) << wrong_port;
  std::string other = CheckKnownHost(hosts, "git.example.com", 22, kOther);
  EXPECT_NE(other.find("does not match"), std::string::npos) << other;
  EXPECT_NE(other.find(Sha256Fingerprint(kOther)), std::string::npos) << other;
  EXPECT_EQ(Sha256Fingerprint(kKey).rfind("SHA256:", 0), 0u);
  EXPECT_EQ(Sha256Fingerprint(kKey).find('='), std::string::npos);
}

TEST(KnownHostsTest, HashedNamesWildcardsNegationsAndRevocation) {
  EXPECT_EQ(CheckKnownHost(Line(Hashed("[127.0.0.1]:2222", "0123456789abcdefghij"), kKey), "127.0.0.1", 2222, kKey), "");
  EXPECT_NE(CheckKnownHost(Line(Hashed("[127.0.0.1]:2222", "0123456789abcdefghij"), kKey), "127.0.0.2", 2222, kKey), "");
  EXPECT_EQ(CheckKnownHost(Line("*.example.com,!bad.example.com", kKey), "git.example.com", 22, kKey), "");
  EXPECT_NE(CheckKnownHost(Line("*.example.com,!bad.example.com", kKey), "bad.example.com", 22, kKey), "");
  std::string revoked = CheckKnownHost(Line("git.example.com", kKey) + "@revoked " + Line("*", kKey), "git.example.com", 22, kKey);
  EXPECT_NE(revoked.find("@revoked"), std::string::npos) << revoked;
  EXPECT_NE(CheckKnownHost("@cert-authority " + Line("*", kKey), "git.example.com", 22, kKey), "");
  EXPECT_NE(CheckKnownHost("", "git.example.com", 22, kKey), "");
}

}  // namespace
}  // namespace capstan::controller::gitops
