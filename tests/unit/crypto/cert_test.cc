#include "lib/crypto/cert.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "lib/crypto/sig.h"
#include "tests/unit/crypto/test_util.h"

namespace linetls::crypto {
namespace {

using testing::bytes_of;
using testing::read_text;
using testing::to_hex;
using testing::vector_path;

std::string cert_path(const char* name) { return vector_path(std::string("certs/") + name); }

// Unix times for check_validity: the good certificates run 2024-01-01 .. 2049-12-31.
constexpr std::time_t k2023 = 1672531200;  // 2023-01-01
constexpr std::time_t k2030 = 1893456000;  // 2030-01-01
constexpr std::time_t k2050 = 2524608000;  // 2050-01-01

std::vector<uint8_t> der_of(const char* pem_file, size_t index = 0) {
  Result<std::vector<Certificate>, Error> certs = load_pem_certificates(cert_path(pem_file));
  EXPECT_TRUE(certs) << pem_file;
  const std::span<const uint8_t> der = (*certs)[index].der();
  return {der.begin(), der.end()};
}

Error load_error(const char* chain, const char* key, std::string_view password = {}) {
  Result<CertifiedKey, Error> ck = CertifiedKey::load(cert_path(chain), cert_path(key), password);
  EXPECT_FALSE(ck) << chain << " + " << key;
  return ck ? Error::kInternal : ck.error();
}

// ---- Loading a server identity ------------------------------------------------------------

TEST(Cert, LoadsEveryLeafTypeWithItsChain) {
  struct Case {
    const char* chain;
    const char* key;
    KeyType type;
    const char* san;
  };
  const std::vector<uint8_t> ca_der = der_of("ca.pem");
  for (const Case& c :
       {Case{"rsa2048_chain.pem", "rsa2048.key", KeyType::kRsa, "DNS:rsa.test"},
        Case{"ecdsa256_chain.pem", "ecdsa256.key", KeyType::kEcdsaP256, "DNS:ecdsa256.test"},
        Case{"ecdsa384_chain.pem", "ecdsa384.key", KeyType::kEcdsaP384, "DNS:ecdsa384.test"},
        Case{"ed25519_chain.pem", "ed25519.key", KeyType::kEd25519, "DNS:ed25519.test"}}) {
    SCOPED_TRACE(c.chain);
    Result<CertifiedKey, Error> ck = CertifiedKey::load(cert_path(c.chain), cert_path(c.key));
    ASSERT_TRUE(ck) << to_string(ck.error());
    EXPECT_EQ(ck->key().type(), c.type);
    ASSERT_EQ(ck->chain().size(), 2u);
    EXPECT_EQ(ck->leaf().der()[0], 0x30);  // DER SEQUENCE
    EXPECT_EQ(to_hex(ck->chain()[1].der()), to_hex(ca_der));
    EXPECT_EQ(ck->leaf().subject_alt_names().at(0), c.san);
    Result<PublicKey, Error> pub = ck->leaf().public_key();
    ASSERT_TRUE(pub);
    EXPECT_EQ(pub->type(), c.type);
    // The loaded key signs what the certificate's key verifies.
    const SignatureScheme scheme = schemes_for_key(c.type, TlsVersion::kTls13).items[0];
    std::vector<uint8_t> sig(ck->key().max_signature_len());
    Result<size_t, Error> n = sign(ck->key(), scheme, bytes_of("hello"), sig);
    ASSERT_TRUE(n);
    EXPECT_TRUE(verify(*pub, scheme, bytes_of("hello"), std::span(sig).first(*n)));
  }
}

TEST(Cert, DerMatchesTheOpensslCli) {
  // The DER we hand out is the certificate itself: its SHA-256 is the usual fingerprint.
  Result<std::vector<Certificate>, Error> certs = load_pem_certificates(cert_path("rsa2048.pem"));
  ASSERT_TRUE(certs);
  unsigned char md[32];
  unsigned int len = 0;
  ASSERT_EQ(X509_digest((*certs)[0].native(), EVP_sha256(), md, &len), 1);
  EXPECT_EQ(to_hex((*certs)[0].fingerprint_sha256()->view()), to_hex({md, len}));
  EXPECT_NE((*certs)[0].subject().find("CN=rsa.test"), std::string::npos);
  EXPECT_EQ((*certs)[0].subject_alt_names(),
            (std::vector<std::string>{"DNS:rsa.test", "IP:10.99.0.2"}));
  // Round trip through DER and PEM.
  Result<Certificate, Error> again = Certificate::from_der((*certs)[0].der());
  ASSERT_TRUE(again);
  EXPECT_EQ(to_hex(again->der()), to_hex((*certs)[0].der()));
  Result<std::vector<Certificate>, Error> from_pem =
      parse_pem_certificates(bytes_of((*certs)[0].to_pem()));
  ASSERT_TRUE(from_pem);
  EXPECT_EQ(to_hex((*from_pem)[0].der()), to_hex((*certs)[0].der()));
}

TEST(Cert, EncryptedKeyWithPassword) {
  EXPECT_TRUE(CertifiedKey::load(cert_path("ecdsa256_chain.pem"),
                                 cert_path("ecdsa256_enc_pkcs8.key"), "linetls-test"));
  EXPECT_TRUE(CertifiedKey::load(cert_path("rsa2048.pem"), cert_path("rsa2048_enc_legacy.key"),
                                 "linetls-test"));
  EXPECT_EQ(load_error("ecdsa256_chain.pem", "ecdsa256_enc_pkcs8.key", "nope"),
            Error::kWrongPassword);
  EXPECT_EQ(load_error("ecdsa256_chain.pem", "ecdsa256_enc_pkcs8.key"),
            Error::kKeyPasswordRequired);
  EXPECT_EQ(load_error("rsa2048.pem", "rsa2048_enc_legacy.key", "nope"), Error::kWrongPassword);
}

TEST(Cert, EveryLoadError) {
  EXPECT_EQ(load_error("ecdsa256.pem", "mismatch.key"), Error::kKeyCertificateMismatch);
  EXPECT_EQ(load_error("rsa2048.pem", "ecdsa256.key"), Error::kKeyCertificateMismatch);
  EXPECT_EQ(load_error("ecdsa384.pem", "ecdsa256.key"), Error::kKeyCertificateMismatch);
  EXPECT_EQ(load_error("expired.pem", "expired.key"), Error::kCertificateExpired);
  EXPECT_EQ(load_error("notyet.pem", "notyet.key"), Error::kCertificateNotYetValid);
  EXPECT_EQ(load_error("malformed.pem", "ecdsa256.key"), Error::kMalformedCertificate);
  EXPECT_EQ(load_error("garbage.pem", "ecdsa256.key"), Error::kMalformedCertificate);
  EXPECT_EQ(load_error("nocert.pem", "ecdsa256.key"), Error::kNoCertificate);
  EXPECT_EQ(load_error("ecdsa256.key", "ecdsa256.key"), Error::kNoCertificate);
  EXPECT_EQ(load_error("missing.pem", "ecdsa256.key"), Error::kFileOpenFailed);
  EXPECT_EQ(load_error("ecdsa256.pem", "missing.key"), Error::kFileOpenFailed);
  EXPECT_EQ(load_error("ecdsa256.pem", "nocert.pem"), Error::kMalformedKey);
  EXPECT_EQ(load_error("ecdsa256.pem", "rsa1024.key"), Error::kKeyTooSmall);
  EXPECT_EQ(load_error("ecdsa256.pem", "p521.key"), Error::kUnsupportedKeyType);
  // A good leaf behind a malformed intermediate is still a malformed chain.
  std::string chain = read_text(cert_path("ecdsa256.pem")) + read_text(cert_path("malformed.pem"));
  Result<CertifiedKey, Error> ck =
      CertifiedKey::from_pem(bytes_of(chain), bytes_of(read_text(cert_path("ecdsa256.key"))));
  ASSERT_FALSE(ck);
  EXPECT_EQ(ck.error(), Error::kMalformedCertificate);
  // An expired certificate anywhere in the chain is refused.
  chain = read_text(cert_path("ecdsa256.pem")) + read_text(cert_path("expired.pem"));
  ck = CertifiedKey::from_pem(bytes_of(chain), bytes_of(read_text(cert_path("ecdsa256.key"))));
  ASSERT_FALSE(ck);
  EXPECT_EQ(ck.error(), Error::kCertificateExpired);
}

TEST(Cert, ValidityWindowAtChosenTimes) {
  Result<std::vector<Certificate>, Error> certs = load_pem_certificates(cert_path("ecdsa256.pem"));
  ASSERT_TRUE(certs);
  const Certificate& c = (*certs)[0];
  EXPECT_TRUE(c.check_validity(k2030));
  Result<void, Error> r = c.check_validity(k2023);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Error::kCertificateNotYetValid);
  r = c.check_validity(k2050);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Error::kCertificateExpired);
  // CertifiedKey::from_pem honours its time argument too.
  const std::string pem = read_text(cert_path("ecdsa256.pem"));
  const std::string key = read_text(cert_path("ecdsa256.key"));
  Result<CertifiedKey, Error> ck = CertifiedKey::from_pem(bytes_of(pem), bytes_of(key), {}, k2050);
  ASSERT_FALSE(ck);
  EXPECT_EQ(ck.error(), Error::kCertificateExpired);
}

TEST(Cert, FromDerRejectsTruncationAndTrailingBytes) {
  std::vector<uint8_t> der = der_of("ecdsa256.pem");
  std::vector<uint8_t> longer = der;
  longer.push_back(0);
  Result<Certificate, Error> c = Certificate::from_der(longer);
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), Error::kMalformedCertificate);
  c = Certificate::from_der(std::span(der).first(der.size() - 1));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error(), Error::kMalformedCertificate);
  c = Certificate::from_der({});
  ASSERT_FALSE(c);
}

// ---- Self-signed certificate for TAP mode -------------------------------------------------

TEST(Cert, SelfSignedP256) {
  const std::string_view sans[] = {"localhost", "10.99.0.2", "::1"};
  Result<CertifiedKey, Error> ck = CertifiedKey::self_signed("linetls", sans, 30);
  ASSERT_TRUE(ck) << to_string(ck.error());
  EXPECT_EQ(ck->key().type(), KeyType::kEcdsaP256);
  ASSERT_EQ(ck->chain().size(), 1u);
  const Certificate& leaf = ck->leaf();
  EXPECT_EQ(leaf.subject(), "CN=linetls");
  EXPECT_EQ(leaf.subject_alt_names(),
            (std::vector<std::string>{"DNS:localhost", "IP:10.99.0.2", "IP:::1"}));
  EXPECT_TRUE(leaf.check_validity(std::time(nullptr)));
  EXPECT_FALSE(leaf.check_validity(std::time(nullptr) + 31 * 86400));
  EXPECT_EQ(X509_check_private_key(leaf.native(), ck->key().native()), 1);
  EXPECT_EQ(X509_verify(leaf.native(), ck->key().native()), 1);  // self-signature is good
  EXPECT_EQ(X509_get_version(leaf.native()), X509_VERSION_3);
  EXPECT_EQ(X509_get_extended_key_usage(leaf.native()) & XKU_SSL_SERVER, XKU_SSL_SERVER);
  // Its PEM form loads back as a server identity with the same key.
  Result<CaStore, Error> as_ca = CaStore::from_pem(bytes_of(leaf.to_pem()));
  EXPECT_TRUE(as_ca);
  // Two generations differ (fresh key and serial).
  Result<CertifiedKey, Error> other = CertifiedKey::self_signed("linetls", sans);
  ASSERT_TRUE(other);
  EXPECT_NE(to_hex(other->leaf().der()), to_hex(leaf.der()));
}

TEST(Cert, SelfSignedRejectsBadNames) {
  const std::string_view ok[] = {"localhost"};
  const std::string_view empty_san[] = {""};
  EXPECT_EQ(CertifiedKey::self_signed("", ok).error(), Error::kInvalidArgument);
  EXPECT_EQ(CertifiedKey::self_signed(std::string(65, 'a'), ok).error(), Error::kInvalidArgument);
  EXPECT_EQ(CertifiedKey::self_signed("x", empty_san).error(), Error::kInvalidArgument);
  EXPECT_EQ(CertifiedKey::self_signed("x", ok, 0).error(), Error::kInvalidArgument);
  EXPECT_TRUE(CertifiedKey::self_signed("x", {}));
}

// ---- Client chain verification ------------------------------------------------------------

class ClientChain : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<CaStore, Error> s = CaStore::load(cert_path("ca.pem"));
    ASSERT_TRUE(s) << to_string(s.error());
    store_.emplace(std::move(*s));
  }

  Result<VerifiedIdentity, Error> verify_chain(const std::vector<std::vector<uint8_t>>& ders,
                                               std::time_t now = std::time(nullptr)) {
    std::vector<std::span<const uint8_t>> spans(ders.begin(), ders.end());
    return store_->verify_client_chain(spans, now);
  }
  Error chain_error(const std::vector<std::vector<uint8_t>>& ders,
                    std::time_t now = std::time(nullptr)) {
    Result<VerifiedIdentity, Error> id = verify_chain(ders, now);
    EXPECT_FALSE(id);
    return id ? Error::kInternal : id.error();
  }

  std::optional<CaStore> store_;
};

TEST_F(ClientChain, GoodChainThroughIntermediate) {
  const std::vector<uint8_t> leaf = der_of("client.pem");
  Result<VerifiedIdentity, Error> id = verify_chain({leaf, der_of("int.pem")});
  ASSERT_TRUE(id) << to_string(id.error());
  EXPECT_NE(id->subject.find("CN=client.test"), std::string::npos);
  EXPECT_NE(id->subject.find("O=linetls test"), std::string::npos);
  EXPECT_EQ(id->subject_alt_names,
            (std::vector<std::string>{"DNS:client.test", "email:client@linetls.test"}));
  unsigned char md[32];
  unsigned int len = 0;
  Result<std::vector<Certificate>, Error> certs = load_pem_certificates(cert_path("client.pem"));
  ASSERT_TRUE(certs);
  ASSERT_EQ(X509_digest((*certs)[0].native(), EVP_sha256(), md, &len), 1);
  EXPECT_EQ(to_hex(id->sha256_fingerprint.view()), to_hex({md, len}));
}

TEST_F(ClientChain, LeafSignedDirectlyByTheRoot) {
  EXPECT_TRUE(verify_chain({der_of("client_ca.pem")}));
}

TEST_F(ClientChain, UnknownCa) {
  EXPECT_EQ(chain_error({der_of("client.pem")}), Error::kUnknownCa);  // intermediate missing
  EXPECT_EQ(chain_error({der_of("other_client.pem")}), Error::kUnknownCa);
  EXPECT_EQ(chain_error({der_of("other_client.pem"), der_of("other_ca.pem")}), Error::kUnknownCa);
  EXPECT_EQ(chain_error({der_of("other_ca.pem")}), Error::kUnknownCa);  // self-signed stranger
}

TEST_F(ClientChain, OutOfDate) {
  EXPECT_EQ(chain_error({der_of("expired.pem")}), Error::kCertificateExpired);
  EXPECT_EQ(chain_error({der_of("notyet.pem")}), Error::kCertificateNotYetValid);
  EXPECT_EQ(chain_error({der_of("client.pem"), der_of("int.pem")}, k2050),
            Error::kCertificateExpired);
  EXPECT_EQ(chain_error({der_of("client.pem"), der_of("int.pem")}, k2023),
            Error::kCertificateNotYetValid);
}

TEST_F(ClientChain, BadSignature) {
  std::vector<uint8_t> leaf = der_of("client_ca.pem");  // RSA key, ECDSA signature by the CA
  leaf[leaf.size() - 3] ^= 0x01;                        // inside the signature's INTEGER s
  ASSERT_TRUE(Certificate::from_der(leaf));             // still parses
  EXPECT_EQ(chain_error({leaf}), Error::kBadCertificateSignature);
  std::vector<uint8_t> intermediate = der_of("int.pem");
  intermediate[intermediate.size() - 3] ^= 0x01;
  EXPECT_EQ(chain_error({der_of("client.pem"), intermediate}), Error::kBadCertificateSignature);
}

TEST_F(ClientChain, WrongPurpose) {
  // A server certificate (serverAuth only) is not a client certificate.
  EXPECT_EQ(chain_error({der_of("rsa2048.pem")}), Error::kCertificateWrongPurpose);
}

TEST_F(ClientChain, MalformedOrEmpty) {
  EXPECT_EQ(chain_error({}), Error::kNoCertificate);
  std::vector<uint8_t> leaf = der_of("client.pem");
  leaf.resize(leaf.size() / 2);
  EXPECT_EQ(chain_error({leaf}), Error::kMalformedCertificate);
  std::vector<uint8_t> junk_int = {0x30, 0x03, 0x02, 0x01, 0x00};
  EXPECT_EQ(chain_error({der_of("client.pem"), junk_int}), Error::kMalformedCertificate);
}

// Issues a fresh P-256 client certificate from the test root (ca.pem / ca.key) at run time,
// with a critical extension no verifier understands. RFC 5280 §4.2: a verifier MUST reject
// a certificate with an unrecognised critical extension.
std::vector<uint8_t> issue_with_unknown_critical_extension() {
  Result<std::vector<Certificate>, Error> ca = load_pem_certificates(cert_path("ca.pem"));
  Result<PrivateKey, Error> ca_key = PrivateKey::load_pem_file(cert_path("ca.key"));
  Result<PrivateKey, Error> key = PrivateKey::generate(KeyType::kEcdsaP256);
  EXPECT_TRUE(ca && ca_key && key);
  X509* x = X509_new();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 77);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("odd.test"), -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name((*ca)[0].native()));
  X509_set_pubkey(x, key->native());
  ASN1_OBJECT* oid = OBJ_txt2obj("1.3.6.1.4.1.55555.1", 1);
  ASN1_OCTET_STRING* value = ASN1_OCTET_STRING_new();
  ASN1_OCTET_STRING_set(value, reinterpret_cast<const unsigned char*>("\x05\x00"), 2);
  X509_EXTENSION* ext = X509_EXTENSION_create_by_OBJ(nullptr, oid, 1, value);
  EXPECT_NE(ext, nullptr);
  X509_add_ext(x, ext, -1);
  EXPECT_GT(X509_sign(x, ca_key->native(), EVP_sha256()), 0);
  unsigned char* der = nullptr;
  const int len = i2d_X509(x, &der);
  std::vector<uint8_t> out(der, der + std::max(len, 0));
  OPENSSL_free(der);
  X509_EXTENSION_free(ext);
  ASN1_OCTET_STRING_free(value);
  ASN1_OBJECT_free(oid);
  X509_free(x);
  return out;
}

TEST_F(ClientChain, AnyOtherRefusalIsVerifyFailed) {
  const std::vector<uint8_t> der = issue_with_unknown_critical_extension();
  ASSERT_TRUE(Certificate::from_der(der));
  EXPECT_EQ(chain_error({der}), Error::kCertificateVerifyFailed);
}

TEST(CaStore, LoadErrors) {
  auto err = [](const char* file) {
    Result<CaStore, Error> s = CaStore::load(cert_path(file));
    EXPECT_FALSE(s) << file;
    return s ? Error::kInternal : s.error();
  };
  EXPECT_EQ(err("nocert.pem"), Error::kNoCaCertificates);
  EXPECT_EQ(err("malformed.pem"), Error::kMalformedCertificate);
  EXPECT_EQ(err("missing.pem"), Error::kFileOpenFailed);
}

TEST(CaStore, BundleWithSeveralRoots) {
  const std::string bundle = read_text(cert_path("other_ca.pem")) + read_text(cert_path("ca.pem"));
  Result<CaStore, Error> s = CaStore::from_pem(bytes_of(bundle));
  ASSERT_TRUE(s);
  const std::vector<uint8_t> a = der_of("other_client.pem");
  const std::vector<uint8_t> b = der_of("client_ca.pem");
  const std::span<const uint8_t> chain_a[] = {a};
  const std::span<const uint8_t> chain_b[] = {b};
  EXPECT_TRUE(s->verify_client_chain(chain_a));
  EXPECT_TRUE(s->verify_client_chain(chain_b));
}

// ---- A client's leaf keys, parsed once per thread -------------------------------------------

TEST(LeafKey, SameLeafAgainIsTheSameKeyWithoutParsing) {
  const std::vector<uint8_t> der = der_of("ecdsa256.pem");
  auto a = leaf_key(der);
  ASSERT_TRUE(a);
  auto b = leaf_key(der);
  ASSERT_TRUE(b);
  EXPECT_EQ(a->key.native(), b->key.native());  // the cached key, shared
  EXPECT_EQ(a->key.type(), KeyType::kEcdsaP256);
  auto parsed = Certificate::from_der(der);
  ASSERT_TRUE(parsed);
  auto fp = parsed->fingerprint_sha256();
  ASSERT_TRUE(fp);
  EXPECT_TRUE(std::equal(b->sha256.view().begin(), b->sha256.view().end(), fp->view().begin(),
                         fp->view().end()));
  // The shared key verifies what the certificate's own key verifies.
  auto ck = CertifiedKey::load(cert_path("ecdsa256.pem"), cert_path("ecdsa256.key"));
  ASSERT_TRUE(ck);
  const std::vector<uint8_t> msg = {1, 2, 3};
  std::vector<uint8_t> sig(ck->key().max_signature_len());
  auto n = sign(ck->key(), SignatureScheme::kEcdsaSecp256r1Sha256, msg, sig);
  ASSERT_TRUE(n);
  sig.resize(*n);
  EXPECT_TRUE(verify(b->key, SignatureScheme::kEcdsaSecp256r1Sha256, msg, sig));
  // A key handed out outlives the cache's turnover: nine other leaves push it out.
  const char* others[] = {"rsa2048.pem", "ecdsa384.pem", "ed25519.pem", "client.pem",
                          "client256.pem", "other_client.pem", "int.pem", "ca.pem", "expired.pem"};
  for (const char* o : others) {
    ASSERT_TRUE(leaf_key(der_of(o))) << o;
  }
  EXPECT_TRUE(verify(b->key, SignatureScheme::kEcdsaSecp256r1Sha256, msg, sig));
  auto c = leaf_key(der);  // parsed again: a new key
  ASSERT_TRUE(c);
  EXPECT_NE(c->key.native(), a->key.native());
}

TEST(LeafKey, FailuresSayWhichStep) {
  std::vector<uint8_t> der = der_of("ecdsa256.pem");
  der.push_back(0);  // trailing byte
  for (int i = 0; i < 2; i++) {
    auto r = leaf_key(der);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().step, LeafKeyError::Step::kParse);
    EXPECT_EQ(r.error().error, Error::kMalformedCertificate);
  }
}

}  // namespace
}  // namespace linetls::crypto
