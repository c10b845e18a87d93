// What the PROXY v2 SSL TLV says about certificates: describe_certificate() (signature and
// key algorithm, in HAProxy's words) and the subject Common Name, read from the certificate
// and recovered from its RFC 2253 subject string.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <string>
#include <string_view>
#include <vector>

#include "lib/crypto/cert.h"
#include "tests/unit/crypto/test_util.h"

namespace linetls::crypto {
namespace {

using testing::vector_path;

std::string cert_path(const char* name) { return vector_path(std::string("certs/") + name); }

Certificate leaf_of(const char* pem_file) {
  Result<std::vector<Certificate>, Error> certs = load_pem_certificates(cert_path(pem_file));
  EXPECT_TRUE(certs) << pem_file;
  return std::move((*certs)[0]);
}

// A certificate for key, self-signed with md (nullptr for Ed25519), whose subject is the
// given (field, UTF-8 value) entries in encoded order.
Certificate self_signed(const PrivateKey& key, const EVP_MD* md,
                        const std::vector<std::pair<std::string, std::string>>& subject) {
  X509* x = X509_new();
  EXPECT_NE(x, nullptr);
  X509_NAME* name = X509_get_subject_name(x);
  for (const auto& [field, value] : subject) {
    EXPECT_EQ(X509_NAME_add_entry_by_txt(name, field.c_str(), MBSTRING_UTF8,
                                         reinterpret_cast<const unsigned char*>(value.data()),
                                         static_cast<int>(value.size()), -1, 0),
              1)
        << field;
  }
  EXPECT_EQ(X509_set_version(x, X509_VERSION_3), 1);
  EXPECT_EQ(ASN1_INTEGER_set(X509_get_serialNumber(x), 1), 1);
  EXPECT_NE(X509_gmtime_adj(X509_getm_notBefore(x), 0), nullptr);
  EXPECT_NE(X509_gmtime_adj(X509_getm_notAfter(x), 86400), nullptr);
  EXPECT_EQ(X509_set_issuer_name(x, name), 1);
  EXPECT_EQ(X509_set_pubkey(x, key.native()), 1);
  EXPECT_GT(X509_sign(x, key.native(), md), 0);
  Result<Certificate, Error> cert = Certificate::adopt(x);
  EXPECT_TRUE(cert);
  return std::move(*cert);
}

PrivateKey key_from(const char* key_file) {
  Result<PrivateKey, Error> key = PrivateKey::load_pem_file(cert_path(key_file));
  EXPECT_TRUE(key) << key_file;
  return std::move(*key);
}

// ---- describe_certificate -----------------------------------------------------------------

TEST(CertDescription, TestLeavesAsOpenSslPrintsThem) {
  // `openssl x509 -text`: every leaf is signed by the ECDSA P-256 root with SHA-256.
  struct Case {
    const char* chain;
    const char* key;
    const char* sig_alg;
    const char* key_alg;
  };
  for (const Case& c : {Case{"ecdsa256_chain.pem", "ecdsa256.key", "ecdsa-with-SHA256", "EC256"},
                        Case{"ecdsa384_chain.pem", "ecdsa384.key", "ecdsa-with-SHA256", "EC384"},
                        Case{"rsa2048_chain.pem", "rsa2048.key", "ecdsa-with-SHA256", "RSA2048"},
                        Case{"ed25519_chain.pem", "ed25519.key", "ecdsa-with-SHA256", "ED25519"}}) {
    SCOPED_TRACE(c.chain);
    Result<CertifiedKey, Error> ck = CertifiedKey::load(cert_path(c.chain), cert_path(c.key));
    ASSERT_TRUE(ck) << to_string(ck.error());
    Result<CertDescription, Error> d = describe_certificate(*ck);
    ASSERT_TRUE(d) << to_string(d.error());
    EXPECT_EQ(d->sig_alg, c.sig_alg);
    EXPECT_EQ(d->key_alg, c.key_alg);
  }
}

TEST(CertDescription, SignatureAlgorithmOfSelfSignedCertificates) {
  const PrivateKey rsa = key_from("rsa2048.key");
  Result<CertDescription, Error> d =
      describe_certificate(self_signed(rsa, EVP_sha256(), {{"CN", "rsa.test"}}));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->sig_alg, "RSA-SHA256");
  EXPECT_EQ(d->key_alg, "RSA2048");

  d = describe_certificate(self_signed(rsa, EVP_sha384(), {{"CN", "rsa.test"}}));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->sig_alg, "RSA-SHA384");

  const PrivateKey ec = key_from("ecdsa384.key");
  d = describe_certificate(self_signed(ec, EVP_sha384(), {{"CN", "ec.test"}}));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->sig_alg, "ecdsa-with-SHA384");
  EXPECT_EQ(d->key_alg, "EC384");

  const PrivateKey ed = key_from("ed25519.key");
  d = describe_certificate(self_signed(ed, nullptr, {{"CN", "ed.test"}}));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->sig_alg, "ED25519");
  EXPECT_EQ(d->key_alg, "ED25519");
}

TEST(CertDescription, GeneratedSelfSignedCertificate) {
  const std::string_view sans[] = {"10.99.0.2"};
  Result<CertifiedKey, Error> ck = CertifiedKey::self_signed("linetls", sans);
  ASSERT_TRUE(ck);
  Result<CertDescription, Error> d = describe_certificate(*ck);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->sig_alg, "ecdsa-with-SHA256");
  EXPECT_EQ(d->key_alg, "EC256");
  EXPECT_EQ(ck->leaf().common_name(), "linetls");
}

// ---- Common Name --------------------------------------------------------------------------

TEST(CommonName, OfTheTestCertificates) {
  EXPECT_EQ(leaf_of("client.pem").common_name(), "client.test");
  EXPECT_EQ(leaf_of("client_ca.pem").common_name(), "client-direct.test");
  EXPECT_EQ(leaf_of("ca.pem").common_name(), "linetls test root");
}

TEST(CommonName, VerifiedIdentityCarriesIt) {
  Result<CaStore, Error> store = CaStore::load(cert_path("ca.pem"));
  ASSERT_TRUE(store);
  const Certificate leaf = leaf_of("client.pem");
  const Certificate intermediate = leaf_of("int.pem");
  const std::span<const uint8_t> chain[] = {leaf.der(), intermediate.der()};
  Result<VerifiedIdentity, Error> id = store->verify_client_chain(chain);
  ASSERT_TRUE(id) << to_string(id.error());
  EXPECT_EQ(id->common_name, "client.test");
  // What a session ticket keeps (the subject string) gives the same name back.
  EXPECT_EQ(common_name_from_rfc2253(id->subject), "client.test");
}

TEST(CommonName, FromRfc2253Strings) {
  EXPECT_EQ(common_name_from_rfc2253("CN=client.test,O=linetls test"), "client.test");
  EXPECT_EQ(common_name_from_rfc2253("O=linetls test,CN=last"), "last");
  EXPECT_EQ(common_name_from_rfc2253("O=linetls test"), "");
  EXPECT_EQ(common_name_from_rfc2253(""), "");
  EXPECT_EQ(common_name_from_rfc2253("CN="), "");
  // The reversed order: the last CN in the string is the first in the certificate.
  EXPECT_EQ(common_name_from_rfc2253("CN=b,CN=a,O=x"), "a");
  // Multi-valued RDNs.
  EXPECT_EQ(common_name_from_rfc2253("CN=x+UID=7,O=y"), "x");
  EXPECT_EQ(common_name_from_rfc2253("UID=7+CN=x"), "x");
  // Escapes.
  EXPECT_EQ(common_name_from_rfc2253("CN=a\\,b\\+c\\\\d\\\"e\\<f\\>g\\;h"), "a,b+c\\d\"e<f>g;h");
  EXPECT_EQ(common_name_from_rfc2253("CN=\\#x\\ "), "#x ");
  EXPECT_EQ(common_name_from_rfc2253("CN=J\\C3\\BCrgen"), "J\xC3\xBCrgen");
  EXPECT_EQ(common_name_from_rfc2253("CN=a\\0Ab"), "a\nb");
  // A hex dump of a non-string value is no name.
  EXPECT_EQ(common_name_from_rfc2253("CN=#020101"), "");
  EXPECT_EQ(common_name_from_rfc2253("CN=#020101,O=x"), "");
  // ... but OpenSSL prints a CN of one '#' unescaped.
  EXPECT_EQ(common_name_from_rfc2253("CN=#"), "#");
  EXPECT_EQ(common_name_from_rfc2253("CN=#,O=x"), "#");
  // Cut short: never reads past the end; a dangling backslash stays.
  EXPECT_EQ(common_name_from_rfc2253("CN=a\\"), "a\\");
  EXPECT_EQ(common_name_from_rfc2253("CN=a\\C"), "aC");
  EXPECT_EQ(common_name_from_rfc2253("CN"), "");
}

TEST(CommonName, SubjectStringRoundTripsWhatTheCertificateHolds) {
  const PrivateKey key = key_from("ecdsa256.key");
  const std::vector<std::vector<std::pair<std::string, std::string>>> subjects = {
      {{"CN", "plain.test"}},
      {{"O", "linetls test"}, {"CN", "after.o"}},
      {{"CN", "first"}, {"CN", "second"}, {"O", "o"}},
      {{"CN", "a,b+c\\d\"e<f>g;h=i"}},
      {{"CN", "#leading hash"}},
      {{"CN", " spaces at both ends "}},
      {{"CN", "J\xC3\xBCrgen \xE6\x97\xA5\xE6\x9C\xAC"}},
      {{"CN", std::string("ctl\x01\x1F\x7F", 6)}},
      {{"O", "no common name"}},
      {{"CN", "#"}},
      {{"CN", "x"}, {"O", "y,z"}},
  };
  for (const auto& subject : subjects) {
    const Certificate cert = self_signed(key, EVP_sha256(), subject);
    const std::string direct = cert.common_name();
    SCOPED_TRACE(cert.subject());
    std::string want;
    for (const auto& [field, value] : subject) {
      if (field == "CN" && want.empty()) {
        want = value;
      }
    }
    EXPECT_EQ(direct, want);
    EXPECT_EQ(common_name_from_rfc2253(cert.subject()), direct);
  }
}

}  // namespace
}  // namespace linetls::crypto
