#include "api/serving_certificates.h"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <fstream>
#include <memory>
#include <sstream>

namespace capstan::api {
namespace {

template <typename T, void (*F)(T*)>
struct Deleter {
  void operator()(T* p) const { F(p); }
};
using PKeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY, EVP_PKEY_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509, X509_free>>;
using BioPtr = std::unique_ptr<BIO, Deleter<BIO, BIO_free_all>>;

constexpr long kCaDays = 3650;
constexpr long kServingDays = 365;
constexpr long kRenewBeforeDays = 30;

std::string ReadAll(const std::string& path, bool* ok) {
  std::ifstream in(path);
  *ok = static_cast<bool>(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Status WriteFile(const std::string& path, const std::string& data, mode_t mode) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return Status::Internal("cannot write " + tmp);
    out << data;
  }
  ::chmod(tmp.c_str(), mode);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return Status::Internal("cannot create " + path);
  return Status::Ok();
}

std::string ToPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

std::string ToPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(n));
}

X509Ptr CertFromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return X509Ptr(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
}

PKeyPtr KeyFromPem(const std::string& pem) {
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  return PKeyPtr(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
}

bool AddExtension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
  return true;
}

bool IsIp(const std::string& h) {
  unsigned char buf[16];
  return inet_pton(AF_INET, h.c_str(), buf) == 1 || inet_pton(AF_INET6, h.c_str(), buf) == 1;
}

std::string SubjectAltNames(const std::vector<std::string>& hosts) {
  std::string san;
  for (const auto& h : hosts) {
    if (!san.empty()) san += ",";
    san += (IsIp(h) ? "IP:" : "DNS:") + h;
  }
  return san;
}

// A new certificate for `key`, signed by (issuer, issuer_key), or self-signed when issuer is null.
Result<X509Ptr> MakeCertificate(EVP_PKEY* key, const std::string& common_name, long days, X509* issuer,
                                EVP_PKEY* issuer_key, const std::vector<std::string>& hosts) {
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);  // tolerate small clock skew
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), days * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("capstan"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(common_name.c_str()),
                             -1, -1, 0);
  X509* signer = issuer ? issuer : cert.get();
  X509_set_issuer_name(cert.get(), X509_get_subject_name(signer));
  bool ok = true;
  if (issuer == nullptr) {
    ok = ok && AddExtension(cert.get(), cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    ok = ok && AddExtension(cert.get(), cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature");
    ok = ok && AddExtension(cert.get(), cert.get(), NID_subject_key_identifier, "hash");
  } else {
    ok = ok && AddExtension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
    ok = ok && AddExtension(cert.get(), signer, NID_key_usage, "critical,digitalSignature,keyEncipherment");
    ok = ok && AddExtension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
    ok = ok && AddExtension(cert.get(), signer, NID_subject_alt_name, SubjectAltNames(hosts));
  }
  if (!ok) return Status::Internal("cannot build certificate extensions");
  if (X509_sign(cert.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0) {
    return Status::Internal("cannot sign certificate");
  }
  return cert;
}

PKeyPtr NewKey() { return PKeyPtr(EVP_EC_gen("P-256")); }

// Whether `cert` is valid for long enough and names every host.
bool Usable(X509* cert, const std::vector<std::string>& hosts) {
  time_t soon = std::time(nullptr) + kRenewBeforeDays * 24 * 3600;
  if (X509_cmp_time(X509_get0_notAfter(cert), &soon) <= 0) return false;
  for (const auto& h : hosts) {
    int ok = IsIp(h) ? X509_check_ip_asc(cert, h.c_str(), 0) : X509_check_host(cert, h.c_str(), h.size(), 0, nullptr);
    if (ok != 1) return false;
  }
  return true;
}

}  // namespace

Result<ServingCertificates> LoadOrCreateServingCertificates(const std::string& dir,
                                                            const std::vector<std::string>& extra_hosts) {
  std::vector<std::string> hosts = {"localhost", "127.0.0.1", "::1"};
  for (const auto& h : extra_hosts) {
    if (!h.empty() && h != "0.0.0.0" && h != "::" && std::find(hosts.begin(), hosts.end(), h) == hosts.end()) {
      hosts.push_back(h);
    }
  }
  const std::string ca_crt = dir + "/ca.crt", ca_key = dir + "/ca.key";
  const std::string srv_crt = dir + "/server.crt", srv_key = dir + "/server.key";

  bool have_ca_crt = false, have_ca_key = false;
  std::string ca_pem = ReadAll(ca_crt, &have_ca_crt);
  std::string ca_key_pem = ReadAll(ca_key, &have_ca_key);
  X509Ptr ca;
  PKeyPtr ca_pkey;
  if (have_ca_crt && have_ca_key) {
    ca = CertFromPem(ca_pem);
    ca_pkey = KeyFromPem(ca_key_pem);
    if (!ca || !ca_pkey) return Status::Invalid(ca_crt + " or " + ca_key + " is unreadable; remove both to regenerate");
  } else {
    ca_pkey = NewKey();
    if (!ca_pkey) return Status::Internal("cannot generate the CA key");
    auto c = MakeCertificate(ca_pkey.get(), "capstan-ca", kCaDays, nullptr, nullptr, {});
    if (!c.ok()) return c.status();
    ca = std::move(*c);
    ca_pem = ToPem(ca.get());
    CAPSTAN_RETURN_IF_ERROR(WriteFile(ca_key, ToPem(ca_pkey.get()), 0600));
    CAPSTAN_RETURN_IF_ERROR(WriteFile(ca_crt, ca_pem, 0644));
  }

  bool have_crt = false, have_key = false;
  std::string crt_pem = ReadAll(srv_crt, &have_crt);
  std::string key_pem = ReadAll(srv_key, &have_key);
  X509Ptr srv = have_crt ? CertFromPem(crt_pem) : nullptr;
  if (!(have_crt && have_key && srv && Usable(srv.get(), hosts) &&
        X509_verify(srv.get(), X509_get0_pubkey(ca.get())) == 1)) {
    PKeyPtr key = NewKey();
    if (!key) return Status::Internal("cannot generate the serving key");
    auto c = MakeCertificate(key.get(), "capstan-apiserver", kServingDays, ca.get(), ca_pkey.get(), hosts);
    if (!c.ok()) return c.status();
    crt_pem = ToPem(c->get());
    key_pem = ToPem(key.get());
    CAPSTAN_RETURN_IF_ERROR(WriteFile(srv_key, key_pem, 0600));
    CAPSTAN_RETURN_IF_ERROR(WriteFile(srv_crt, crt_pem, 0644));
  }
  return ServingCertificates{ca_pem, crt_pem + ca_pem, key_pem};
}

}  // namespace capstan::api
