// Certificates made at run time with libcrypto, for tests that need sizes the committed
// vectors do not have: a client certificate from the test root (tests/vectors/certs/ca.pem
// and ca.key) whose verified identity (subject and subjectAltNames) is several KiB, and
// self-signed CA certificates with long subjects, so a bundle of them has more than 64 KiB
// of names. Not for anything but tests: serials are small counters, validity an hour back
// and a day ahead.
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lib/crypto/cert.h"
#include "lib/crypto/key.h"
#include "tests/unit/crypto/test_util.h"

namespace linetls::tls::issued {

inline std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// PEM of an X509 or of a private key.
inline std::string pem_of(X509* x) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}
inline std::string pem_of(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

inline void add_ext(X509* x, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  EXPECT_NE(ext, nullptr) << value;
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
}

inline void add_name(X509_NAME* name, const char* field, const std::string& value) {
  X509_NAME_add_entry_by_txt(name, field, MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
}

// A P-256 certificate for key: subject CN=cn plus organizationalUnit entries ous, signed by
// issuer_key as issuer (nullptr: self-signed); a CA, or a client leaf with dns_sans.
inline X509* make_cert(EVP_PKEY* key, const std::string& cn, const std::vector<std::string>& ous,
                       X509* issuer, EVP_PKEY* issuer_key, bool ca,
                       const std::vector<std::string>& dns_sans, long serial) {
  X509* x = X509_new();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_NAME* name = X509_get_subject_name(x);
  add_name(name, "CN", cn);
  for (const std::string& ou : ous) {
    add_name(name, "OU", ou);
  }
  X509_set_issuer_name(x, issuer != nullptr ? X509_get_subject_name(issuer) : name);
  X509_set_pubkey(x, key);
  X509* ctx_issuer = issuer != nullptr ? issuer : x;
  if (ca) {
    add_ext(x, ctx_issuer, NID_basic_constraints, "critical,CA:TRUE");
    add_ext(x, ctx_issuer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add_ext(x, ctx_issuer, NID_basic_constraints, "CA:FALSE");
    add_ext(x, ctx_issuer, NID_key_usage, "critical,digitalSignature");
    add_ext(x, ctx_issuer, NID_ext_key_usage, "clientAuth");
    std::string sans;
    for (const std::string& n : dns_sans) {
      sans += (sans.empty() ? "DNS:" : ",DNS:") + n;
    }
    if (!sans.empty()) {
      add_ext(x, ctx_issuer, NID_subject_alt_name, sans);
    }
  }
  EXPECT_GT(X509_sign(x, issuer_key != nullptr ? issuer_key : key, EVP_sha256()), 0);
  return x;
}

// A client certificate from the test root whose identity is large: ous organizationalUnit
// entries of 60 characters in the subject (RFC 5280's upper bound for one is 64) and
// num_sans DNS names of 70 characters.
inline crypto::CertifiedKey big_identity_client(size_t ous, size_t num_sans) {
  using crypto::testing::read_text;
  using crypto::testing::vector_path;
  auto root = crypto::load_pem_certificates(vector_path("certs/ca.pem"));
  auto root_key = crypto::PrivateKey::load_pem_file(vector_path("certs/ca.key"));
  auto key = crypto::PrivateKey::generate(crypto::KeyType::kEcdsaP256);
  EXPECT_TRUE(root && root_key && key);
  std::vector<std::string> units;
  for (size_t i = 0; i < ous; i++) {
    units.push_back(std::string(57, 'u') + std::to_string(100 + i));
  }
  std::vector<std::string> sans;
  for (size_t i = 0; i < num_sans; i++) {
    sans.push_back("n" + std::to_string(100 + i) + std::string(52, 'x') + ".example.test");
  }
  X509* x = make_cert(key->native(), "big identity client", units, (*root)[0].native(),
                      root_key->native(), false, sans, 4242);
  const std::string chain = pem_of(x);
  const std::string key_pem = pem_of(key->native());
  X509_free(x);
  auto ck = crypto::CertifiedKey::from_pem(as_bytes(chain), as_bytes(key_pem));
  EXPECT_TRUE(ck) << crypto::to_string(ck.error());
  return std::move(ck).value();
}

// A PEM bundle of the test root followed by count self-signed CAs, each with four 60-byte
// organizationalUnit entries: about 300 bytes of subject name each.
inline std::string ca_bundle_with_long_names(size_t count) {
  std::string bundle = crypto::testing::read_text(crypto::testing::vector_path("certs/ca.pem"));
  auto key = crypto::PrivateKey::generate(crypto::KeyType::kEcdsaP256);
  EXPECT_TRUE(key);
  for (size_t i = 0; i < count; i++) {
    const std::vector<std::string> ous(4, std::string(60, static_cast<char>('a' + i % 26)));
    X509* x = make_cert(key->native(), "extra CA " + std::to_string(i), ous, nullptr, nullptr, true,
                        {}, static_cast<long>(1000 + i));
    bundle += pem_of(x);
    X509_free(x);
  }
  return bundle;
}

}  // namespace linetls::tls::issued
