// The per-thread verified-chain cache of CaStore (cert.h, cert_cache.h): what a hit returns,
// when an entry may not answer, what is never cached, the bounds, and the thread and reload
// model. Certificates come from tests/vectors/certs, plus some issued at run time from the
// test root and intermediate keys.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "lib/crypto/cert.h"
#include "lib/crypto/sig.h"
#include "tests/unit/crypto/test_util.h"

namespace linetls::crypto {
namespace {

using testing::vector_path;

using Der = std::vector<uint8_t>;
using Chain = std::vector<Der>;

std::string cert_path(const char* name) { return vector_path(std::string("certs/") + name); }

// The good vector certificates run 2024-01-01 .. 2049-12-31 23:59:59.
constexpr std::time_t k2020 = 1577836800;  // 2020-01-01
constexpr std::time_t k2023 = 1672531200;  // 2023-01-01
constexpr std::time_t k2024 = 1704067200;  // 2024-01-01
constexpr std::time_t k2049 = 2524607999;  // 2049-12-31 23:59:59
constexpr std::time_t k2030 = 1893456000;  // 2030-01-01
constexpr std::time_t k2050 = 2524608000;  // 2050-01-01
constexpr std::time_t k2060 = 2840140800;  // 2060-01-01
constexpr std::time_t kDay = 86400;

Der der_of(const char* pem_file) {
  Result<std::vector<Certificate>, Error> certs = load_pem_certificates(cert_path(pem_file));
  EXPECT_TRUE(certs) << pem_file;
  const std::span<const uint8_t> der = (*certs)[0].der();
  return {der.begin(), der.end()};
}

Certificate cert_of(const char* pem_file) {
  Result<std::vector<Certificate>, Error> certs = load_pem_certificates(cert_path(pem_file));
  EXPECT_TRUE(certs) << pem_file;
  return std::move((*certs)[0]);
}

PrivateKey key_of(const char* key_file) {
  Result<PrivateKey, Error> key = PrivateKey::load_pem_file(cert_path(key_file));
  EXPECT_TRUE(key) << key_file;
  return std::move(*key);
}

CaStore store_of(ClientChainCacheLimits limits = {}) {
  Result<CaStore, Error> s = CaStore::load(cert_path("ca.pem"), limits);
  EXPECT_TRUE(s);
  return std::move(*s);
}

std::time_t time_of(const ASN1_TIME* t) {
  std::tm tm = {};
  EXPECT_EQ(ASN1_TIME_to_tm(t, &tm), 1);
  return timegm(&tm);
}

Result<VerifiedClientChain, Error> verify(const CaStore& store, const Chain& chain,
                                          std::time_t now = k2030) {
  std::vector<std::span<const uint8_t>> spans(chain.begin(), chain.end());
  return store.verify_client_chain_and_key(spans, now);
}

Error error_of(const CaStore& store, const Chain& chain, std::time_t now = k2030) {
  Result<VerifiedClientChain, Error> r = verify(store, chain, now);
  EXPECT_FALSE(r);
  return r ? Error::kInternal : r.error();
}

// Asserts that key checks a signature made with private_key.
void expect_key_matches(const PublicKey& key, const PrivateKey& private_key) {
  const uint8_t message[] = {'c', 'a', 'c', 'h', 'e', 'd'};
  std::vector<uint8_t> sig(private_key.max_signature_len());
  Result<size_t, Error> len =
      sign(private_key, SignatureScheme::kEcdsaSecp256r1Sha256, message, sig);
  ASSERT_TRUE(len);
  sig.resize(*len);
  EXPECT_TRUE(verify(key, SignatureScheme::kEcdsaSecp256r1Sha256, message, sig));
  sig[sig.size() / 2] ^= 0x01;
  EXPECT_FALSE(verify(key, SignatureScheme::kEcdsaSecp256r1Sha256, message, sig));
}

void expect_same_identity(const VerifiedIdentity& a, const VerifiedIdentity& b) {
  EXPECT_EQ(a.subject, b.subject);
  EXPECT_EQ(a.subject_alt_names, b.subject_alt_names);
  EXPECT_EQ(testing::to_hex(a.sha256_fingerprint.view()),
            testing::to_hex(b.sha256_fingerprint.view()));
  EXPECT_EQ(a.common_name, b.common_name);
}

// Issues a certificate at run time: subject CN=cn for subject_key, signed by signer_key with
// issuer's subject as its issuer name, valid [not_before, not_after]; a client leaf
// (clientAuth) or, with ca, an intermediate CA.
struct Issue {
  const Certificate& issuer;
  EVP_PKEY* signer_key;
  EVP_PKEY* subject_key;
  std::string cn;
  long serial = 1;
  std::time_t not_before = k2024;
  std::time_t not_after = k2049;
  bool ca = false;
};

Der issue(const Issue& in) {
  X509* x = X509_new();
  EXPECT_EQ(X509_set_version(x, X509_VERSION_3), 1);
  ASN1_INTEGER_set(X509_get_serialNumber(x), in.serial);
  ASN1_TIME_set(X509_getm_notBefore(x), in.not_before);
  ASN1_TIME_set(X509_getm_notAfter(x), in.not_after);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(in.cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(in.issuer.native()));
  X509_set_pubkey(x, in.subject_key);
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, in.issuer.native(), x, nullptr, nullptr, 0);
  auto add = [&](int nid, const char* value) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    EXPECT_NE(ext, nullptr) << value;
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  };
  if (in.ca) {
    add(NID_basic_constraints, "critical,CA:TRUE");
    add(NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    add(NID_basic_constraints, "critical,CA:FALSE");
    add(NID_key_usage, "critical,digitalSignature");
    add(NID_ext_key_usage, "clientAuth");
  }
  EXPECT_GT(X509_sign(x, in.signer_key, EVP_sha256()), 0);
  unsigned char* der = nullptr;
  const int len = i2d_X509(x, &der);
  Der out(der, der + std::max(len, 0));
  OPENSSL_free(der);
  X509_free(x);
  return out;
}

PrivateKey fresh_key() {
  Result<PrivateKey, Error> key = PrivateKey::generate(KeyType::kEcdsaP256);
  EXPECT_TRUE(key);
  return std::move(*key);
}

// ---- What a hit returns -------------------------------------------------------------------

TEST(CertCache, SecondVerificationIsAHitWithTheSameIdentityAndAWorkingKey) {
  const CaStore store = store_of();
  struct Case {
    Chain chain;
    const char* key;
  };
  const Case cases[] = {{{der_of("client256.pem")}, "client256.key"},
                        {{der_of("client.pem"), der_of("int.pem")}, "client.key"}};
  uint64_t hits = 0;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.key);
    const PrivateKey private_key = key_of(c.key);
    Result<VerifiedClientChain, Error> first = verify(store, c.chain);
    ASSERT_TRUE(first) << to_string(first.error());
    ASSERT_TRUE(first->leaf_key);
    EXPECT_FALSE(first->from_cache);
    EXPECT_EQ(store.cache_stats().hits, hits);
    expect_key_matches(*first->leaf_key, private_key);

    Result<VerifiedClientChain, Error> second = verify(store, c.chain);
    ASSERT_TRUE(second) << to_string(second.error());
    ASSERT_TRUE(second->leaf_key);
    EXPECT_TRUE(second->from_cache);
    EXPECT_EQ(store.cache_stats().hits, ++hits);
    expect_same_identity(first->identity, second->identity);
    EXPECT_EQ(second->leaf_key->type(), KeyType::kEcdsaP256);
    expect_key_matches(*second->leaf_key, private_key);
    // The key handed out owns its reference: it outlives the first result and the cache.
    first = fail(Error::kInternal);
    expect_key_matches(*second->leaf_key, private_key);
  }
  const ClientChainCacheStats st = store.cache_stats();
  EXPECT_EQ(st.hits, 2u);
  EXPECT_EQ(st.misses, 2u);
  EXPECT_EQ(st.entries, 2u);
  EXPECT_EQ(st.evictions, 0u);
  // The identity-only call shares the cache.
  const Der leaf = der_of("client256.pem");
  const std::span<const uint8_t> spans[] = {leaf};
  Result<VerifiedIdentity, Error> id = store.verify_client_chain(spans, k2030);
  ASSERT_TRUE(id);
  EXPECT_NE(id->subject.find("CN=client256.test"), std::string::npos);
  EXPECT_EQ(store.cache_stats().hits, 3u);
}

TEST(CertCache, ADifferentChainIsAMiss) {
  const CaStore store = store_of();
  ASSERT_TRUE(verify(store, {der_of("client256.pem")}));
  ASSERT_TRUE(verify(store, {der_of("client.pem"), der_of("int.pem")}));
  // The same leaf with an extra (unused) certificate is another chain as sent.
  ASSERT_TRUE(verify(store, {der_of("client256.pem"), der_of("int.pem")}));
  ASSERT_TRUE(verify(store, {der_of("client.pem"), der_of("int.pem"), der_of("ca.pem")}));
  ClientChainCacheStats st = store.cache_stats();
  EXPECT_EQ(st.hits, 0u);
  EXPECT_EQ(st.misses, 4u);
  EXPECT_EQ(st.entries, 4u);
  ASSERT_TRUE(verify(store, {der_of("client256.pem"), der_of("int.pem")}));
  EXPECT_EQ(store.cache_stats().hits, 1u);
}

// ---- When a hit may not answer ------------------------------------------------------------

TEST(CertCache, AnEntryAnswersOnlyInsideItsWindow) {
  const CaStore store = store_of();
  const CaStore uncached = store_of({.chains = 0, .intermediates = 0});
  const Certificate leaf = cert_of("client256.pem");
  const std::time_t not_before = time_of(X509_get0_notBefore(leaf.native()));
  const std::time_t not_after = time_of(X509_get0_notAfter(leaf.native()));
  const Chain chain = {der_of("client256.pem")};

  ASSERT_TRUE(verify(store, chain, k2030));
  EXPECT_EQ(error_of(store, chain, not_after + kDay), Error::kCertificateExpired);
  ClientChainCacheStats st = store.cache_stats();
  EXPECT_EQ(st.hits, 0u);
  EXPECT_EQ(st.stale, 1u);
  EXPECT_EQ(st.entries, 0u);  // dropped, and a refusal is not cached

  ASSERT_TRUE(verify(store, chain, k2030));
  EXPECT_EQ(error_of(store, chain, not_before - kDay), Error::kCertificateNotYetValid);
  EXPECT_EQ(store.cache_stats().stale, 2u);

  // At and around the edges the cache answers exactly as libcrypto does without it.
  for (const std::time_t now : {not_before - 1, not_before, not_before + 1, k2030, not_after - 1,
                                not_after, not_after + 1}) {
    SCOPED_TRACE(now);
    ASSERT_TRUE(verify(store, chain, k2030));  // cached again
    Result<VerifiedClientChain, Error> want = verify(uncached, chain, now);
    Result<VerifiedClientChain, Error> got = verify(store, chain, now);
    ASSERT_EQ(got.ok(), want.ok());
    if (!want) {
      EXPECT_EQ(got.error(), want.error());
    }
  }
  EXPECT_EQ(uncached.cache_stats().misses, 0u);  // caches nothing, counts nothing
}

TEST(CertCache, TheWindowIsThePathsNotTheLeafs) {
  // A leaf under int valid 2020 .. 2060, beyond int's own 2024 .. 2049: the path holds only
  // while int does.
  const Certificate int_cert = cert_of("int.pem");
  const PrivateKey int_key = key_of("int.key");
  const PrivateKey leaf_key = fresh_key();
  const Der leaf = issue({.issuer = int_cert,
                          .signer_key = int_key.native(),
                          .subject_key = leaf_key.native(),
                          .cn = "long-lived.test",
                          .not_before = k2020,
                          .not_after = k2060});
  const Chain chain = {leaf, der_of("int.pem")};
  const CaStore store = store_of();

  ASSERT_TRUE(verify(store, chain, k2030));
  ASSERT_TRUE(verify(store, chain, k2030));
  EXPECT_EQ(store.cache_stats().hits, 1u);
  // The leaf alone would still be valid in 2050 and in 2023; the intermediate is not.
  EXPECT_EQ(error_of(store, chain, k2050), Error::kCertificateExpired);
  ASSERT_TRUE(verify(store, chain, k2030));
  EXPECT_EQ(error_of(store, chain, k2023), Error::kCertificateNotYetValid);
  const ClientChainCacheStats st = store.cache_stats();
  EXPECT_EQ(st.hits, 1u);
  EXPECT_EQ(st.stale, 2u);
  EXPECT_EQ(st.entries, 0u);
}

// Returns a self-signed root CA for key, valid [not_before, not_after].
Certificate root_ca(const PrivateKey& key, std::time_t not_before, std::time_t not_after) {
  X509* x = X509_new();
  X509_set_version(x, X509_VERSION_3);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  ASN1_TIME_set(X509_getm_notBefore(x), not_before);
  ASN1_TIME_set(X509_getm_notAfter(x), not_after);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("short root"), -1, -1, 0);
  X509_set_issuer_name(x, X509_get_subject_name(x));
  X509_set_pubkey(x, key.native());
  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_basic_constraints, "critical,CA:TRUE"},
                            std::pair{NID_key_usage, "critical,keyCertSign,cRLSign"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &v3, nid, value);
    EXPECT_NE(ext, nullptr);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  EXPECT_GT(X509_sign(x, key.native(), EVP_sha256()), 0);
  Result<Certificate, Error> cert = Certificate::adopt(x);
  EXPECT_TRUE(cert);
  return std::move(*cert);
}

TEST(CertCache, TheWindowIncludesTheTrustAnchor) {
  // A root that ends in 2040 over a leaf that runs to 2049.
  const PrivateKey root_key = fresh_key();
  const std::time_t k2040 = k2030 + 3653 * kDay;
  const Certificate root = root_ca(root_key, k2024, k2040);
  const PrivateKey leaf_key = fresh_key();
  const Chain chain = {issue({.issuer = root,
                              .signer_key = root_key.native(),
                              .subject_key = leaf_key.native(),
                              .cn = "under-short-root.test"})};
  const std::string pem = root.to_pem();
  Result<CaStore, Error> store =
      CaStore::from_pem({reinterpret_cast<const uint8_t*>(pem.data()), pem.size()});
  ASSERT_TRUE(store);
  ASSERT_TRUE(verify(*store, chain, k2030));
  ASSERT_TRUE(verify(*store, chain, k2030));
  EXPECT_EQ(store->cache_stats().hits, 1u);
  EXPECT_EQ(error_of(*store, chain, k2040 + kDay), Error::kCertificateExpired);
  EXPECT_EQ(store->cache_stats().stale, 1u);
}

// ---- What is never cached -----------------------------------------------------------------

TEST(CertCache, RefusedChainsAreNeverCached) {
  const CaStore store = store_of();
  ASSERT_TRUE(verify(store, {der_of("client256.pem")}));
  const size_t entries = store.cache_stats().entries;
  const Chain unknown = {der_of("other_client.pem")};
  const Chain unknown_with_root = {der_of("other_client.pem"), der_of("other_ca.pem")};
  const Chain expired = {der_of("expired.pem")};
  for (int i = 0; i < 3; i++) {
    EXPECT_EQ(error_of(store, unknown), Error::kUnknownCa);
    EXPECT_EQ(error_of(store, unknown_with_root), Error::kUnknownCa);
    EXPECT_EQ(error_of(store, expired), Error::kCertificateExpired);
  }
  const ClientChainCacheStats st = store.cache_stats();
  EXPECT_EQ(st.entries, entries);
  EXPECT_EQ(st.hits, 0u);
  EXPECT_EQ(st.misses, 1u + 9u);
  EXPECT_EQ(st.intermediates, 0u);  // other_ca is in no verified path
}

TEST(CertCache, ABadIntermediateAfterAGoodChainFailsAsBefore) {
  const CaStore store = store_of();
  const Der client = der_of("client.pem");
  const Der client256 = der_of("client256.pem");
  ASSERT_TRUE(verify(store, {client256}));
  ASSERT_TRUE(verify(store, {client, der_of("int.pem")}));
  ASSERT_EQ(store.cache_stats().intermediates, 1u);

  const Der junk = {0x30, 0x03, 0x02, 0x01, 0x00};
  EXPECT_EQ(error_of(store, {client256, junk}), Error::kMalformedCertificate);
  EXPECT_EQ(error_of(store, {client, junk}), Error::kMalformedCertificate);
  Der tampered = der_of("int.pem");
  tampered[tampered.size() - 3] ^= 0x01;  // inside the signature
  EXPECT_EQ(error_of(store, {client, tampered}), Error::kBadCertificateSignature);
  EXPECT_EQ(error_of(store, {client, der_of("other_ca.pem")}), Error::kUnknownCa);
  // A cached intermediate is only used when the peer sends it: never as an anchor.
  EXPECT_EQ(error_of(store, {client}), Error::kUnknownCa);
  // Every refusal left the good entries alone.
  EXPECT_EQ(store.cache_stats().entries, 2u);
  ASSERT_TRUE(verify(store, {client, der_of("int.pem")}));
  EXPECT_EQ(store.cache_stats().hits, 1u);
}

TEST(CertCache, ALeafKeyWeCannotUseIsReportedAndNotCached) {
  // P-521 is not a TLS signature key of ours, but the chain itself is fine.
  const Certificate ca = cert_of("ca.pem");
  const PrivateKey ca_key = key_of("ca.key");
  EVP_PKEY* p521 = EVP_EC_gen("P-521");
  ASSERT_NE(p521, nullptr);
  const Der leaf =
      issue({.issuer = ca, .signer_key = ca_key.native(), .subject_key = p521, .cn = "p521.test"});
  EVP_PKEY_free(p521);
  const CaStore store = store_of();
  for (int i = 0; i < 2; i++) {
    Result<VerifiedClientChain, Error> r = verify(store, {leaf});
    ASSERT_TRUE(r) << to_string(r.error());
    ASSERT_FALSE(r->leaf_key);
    EXPECT_EQ(r->leaf_key.error(), Error::kUnsupportedKeyType);
    EXPECT_EQ(r->identity.common_name, "p521.test");
  }
  EXPECT_EQ(store.cache_stats().entries, 0u);
  EXPECT_EQ(store.cache_stats().hits, 0u);
}

// ---- Intermediates ------------------------------------------------------------------------

TEST(CertCache, ANewLeafUnderAKnownIntermediateReusesItParsed) {
  const Certificate int_cert = cert_of("int.pem");
  const PrivateKey int_key = key_of("int.key");
  const PrivateKey key_a = fresh_key();
  const PrivateKey key_b = fresh_key();
  const Der leaf_a = issue({.issuer = int_cert,
                            .signer_key = int_key.native(),
                            .subject_key = key_a.native(),
                            .cn = "a.test",
                            .serial = 10});
  // Claims int as its issuer but is signed by another key.
  const PrivateKey forger = fresh_key();
  const Der forged = issue({.issuer = int_cert,
                            .signer_key = forger.native(),
                            .subject_key = key_b.native(),
                            .cn = "forged.test",
                            .serial = 11});
  const CaStore store = store_of();
  ASSERT_TRUE(verify(store, {der_of("client.pem"), der_of("int.pem")}));
  ClientChainCacheStats st = store.cache_stats();
  EXPECT_EQ(st.intermediate_misses, 1u);
  EXPECT_EQ(st.intermediates, 1u);

  Result<VerifiedClientChain, Error> a = verify(store, {leaf_a, der_of("int.pem")});
  ASSERT_TRUE(a) << to_string(a.error());
  EXPECT_EQ(a->identity.common_name, "a.test");
  expect_key_matches(*a->leaf_key, key_a);
  st = store.cache_stats();
  EXPECT_EQ(st.hits, 0u);
  EXPECT_EQ(st.intermediate_hits, 1u);
  EXPECT_EQ(st.intermediate_misses, 1u);

  // The cached intermediate's signature over the leaf is still checked.
  EXPECT_EQ(error_of(store, {forged, der_of("int.pem")}), Error::kBadCertificateSignature);
  EXPECT_EQ(store.cache_stats().intermediate_hits, 2u);
  // And so is its path to the root: out of its window it fails as a parsed one does.
  EXPECT_EQ(error_of(store, {leaf_a, der_of("int.pem")}, k2050), Error::kCertificateExpired);
}

// ---- Bounds -------------------------------------------------------------------------------

TEST(CertCache, NeverHoldsMoreThanItsBound) {
  static_assert(kClientChainCacheCapacity == 1024);
  constexpr size_t kChains = 4;
  constexpr size_t kIntermediates = 2;
  const CaStore store = store_of({.chains = kChains, .intermediates = kIntermediates});
  const Certificate ca = cert_of("ca.pem");
  const PrivateKey ca_key = key_of("ca.key");
  // Three intermediates under ca, and a leaf under each of them and under ca directly.
  std::vector<Chain> chains;
  for (int i = 0; i < 3; i++) {
    const PrivateKey int_key = fresh_key();
    const Der int_der = issue({.issuer = ca,
                               .signer_key = ca_key.native(),
                               .subject_key = int_key.native(),
                               .cn = "int" + std::to_string(i) + ".test",
                               .serial = 100 + i,
                               .ca = true});
    Result<Certificate, Error> int_cert = Certificate::from_der(int_der);
    ASSERT_TRUE(int_cert);
    const PrivateKey leaf_key = fresh_key();
    chains.push_back({issue({.issuer = *int_cert,
                             .signer_key = int_key.native(),
                             .subject_key = leaf_key.native(),
                             .cn = "leaf-under-int" + std::to_string(i) + ".test",
                             .serial = 200 + i}),
                      int_der});
  }
  for (int i = 0; i < 7; i++) {
    const PrivateKey leaf_key = fresh_key();
    chains.push_back({issue({.issuer = ca,
                             .signer_key = ca_key.native(),
                             .subject_key = leaf_key.native(),
                             .cn = "leaf" + std::to_string(i) + ".test",
                             .serial = 300 + i})});
  }
  for (const Chain& chain : chains) {
    ASSERT_TRUE(verify(store, chain));
    const ClientChainCacheStats st = store.cache_stats();
    EXPECT_LE(st.entries, kChains);
    EXPECT_LE(st.intermediates, kIntermediates);
  }
  ClientChainCacheStats st = store.cache_stats();
  EXPECT_EQ(st.entries, kChains);
  EXPECT_EQ(st.evictions, chains.size() - kChains);
  EXPECT_EQ(st.intermediates, kIntermediates);
  EXPECT_EQ(st.intermediate_evictions, 1u);
  // The newest entry survived; a chain used since the last sweep survives the next one.
  ASSERT_TRUE(verify(store, chains.back()));
  EXPECT_EQ(store.cache_stats().hits, 1u);
  const PrivateKey leaf_key = fresh_key();
  ASSERT_TRUE(verify(store, {issue({.issuer = ca,
                                    .signer_key = ca_key.native(),
                                    .subject_key = leaf_key.native(),
                                    .cn = "one-more.test",
                                    .serial = 400})}));
  ASSERT_TRUE(verify(store, chains.back()));
  EXPECT_EQ(store.cache_stats().hits, 2u);
  EXPECT_EQ(store.cache_stats().entries, kChains);
}

TEST(CertCache, AZeroBoundCachesNothing) {
  const CaStore store = store_of({.chains = 0, .intermediates = 0});
  const Chain chain = {der_of("client.pem"), der_of("int.pem")};
  for (int i = 0; i < 2; i++) {
    Result<VerifiedClientChain, Error> r = verify(store, chain);
    ASSERT_TRUE(r);
    expect_key_matches(*r->leaf_key, key_of("client.key"));
  }
  const ClientChainCacheStats st = store.cache_stats();
  EXPECT_EQ(st.hits + st.misses + st.entries + st.intermediates, 0u);
}

// ---- Reloads and threads ------------------------------------------------------------------

TEST(CertCache, ANewCaStoreStartsEmpty) {
  const Chain chain = {der_of("client.pem"), der_of("int.pem")};
  const CaStore first = store_of();
  ASSERT_TRUE(verify(first, chain));
  ASSERT_TRUE(verify(first, chain));
  EXPECT_EQ(first.cache_stats().hits, 1u);

  const CaStore reloaded = store_of();  // the same PEM, as a reload builds it
  ClientChainCacheStats st = reloaded.cache_stats();
  EXPECT_EQ(st.entries, 0u);
  EXPECT_EQ(st.intermediates, 0u);
  ASSERT_TRUE(verify(reloaded, chain));
  st = reloaded.cache_stats();
  EXPECT_EQ(st.hits, 0u);
  EXPECT_EQ(st.misses, 1u);
  EXPECT_EQ(st.intermediate_hits, 0u);
  EXPECT_EQ(first.cache_stats().hits, 1u);

  // A CaStore moved into place keeps its own cache; the moved-from one has none.
  CaStore moved = store_of();
  ASSERT_TRUE(verify(moved, chain));
  CaStore target = std::move(moved);
  ASSERT_TRUE(verify(target, chain));
  EXPECT_EQ(target.cache_stats().hits, 1u);
  EXPECT_EQ(moved.cache_stats().entries, 0u);  // NOLINT(bugprone-use-after-move): on purpose
}

TEST(CertCache, ADestroyedCaStoresEntriesNeverAnswerForAnother) {
  // Stores come and go (reloads); whichever reuses an address, it starts empty.
  const Chain chain = {der_of("client256.pem")};
  for (int i = 0; i < 3 * static_cast<int>(kMaxCachedCaStoresPerThread); i++) {
    std::optional<CaStore> store(store_of());
    EXPECT_EQ(store->cache_stats().entries, 0u);
    ASSERT_TRUE(verify(*store, chain));
    ASSERT_TRUE(verify(*store, chain));
    EXPECT_EQ(store->cache_stats().hits, 1u);
    EXPECT_EQ(store->cache_stats().misses, 1u);
  }
}

TEST(CertCache, AThreadKeepsCachesForABoundedNumberOfStores) {
  const Chain chain = {der_of("client256.pem")};
  std::vector<CaStore> stores;
  for (size_t i = 0; i < kMaxCachedCaStoresPerThread + 1; i++) {
    stores.push_back(store_of());
    ASSERT_TRUE(verify(stores.back(), chain));
  }
  // The least recently used store's cache was dropped for the last one.
  EXPECT_EQ(stores.front().cache_stats().entries, 0u);
  for (size_t i = 1; i < stores.size(); i++) {
    EXPECT_EQ(stores[i].cache_stats().entries, 1u) << i;
  }
  ASSERT_TRUE(verify(stores.front(), chain));
  EXPECT_EQ(stores.front().cache_stats().hits, 0u);
}

TEST(CertCache, EachThreadHasItsOwnCache) {
  const CaStore store = store_of();
  const Chain chain = {der_of("client.pem"), der_of("int.pem")};
  ASSERT_TRUE(verify(store, chain));
  ASSERT_TRUE(verify(store, chain));
  ASSERT_EQ(store.cache_stats().hits, 1u);

  ClientChainCacheStats before;
  ClientChainCacheStats after_first;
  ClientChainCacheStats after_second;
  bool first_ok = false;
  bool second_ok = false;
  std::thread other([&] {
    before = store.cache_stats();
    first_ok = static_cast<bool>(verify(store, chain));
    after_first = store.cache_stats();
    second_ok = static_cast<bool>(verify(store, chain));
    after_second = store.cache_stats();
  });
  other.join();
  EXPECT_TRUE(first_ok);
  EXPECT_TRUE(second_ok);
  EXPECT_EQ(before.entries, 0u);
  EXPECT_EQ(after_first.hits, 0u);
  EXPECT_EQ(after_first.misses, 1u);
  EXPECT_EQ(after_first.intermediate_hits, 0u);
  EXPECT_EQ(after_second.hits, 1u);
  // This thread's counters did not move.
  const ClientChainCacheStats mine = store.cache_stats();
  EXPECT_EQ(mine.hits, 1u);
  EXPECT_EQ(mine.misses, 1u);
}

}  // namespace
}  // namespace linetls::crypto

// ---- CaStore::verify_server_chain (the client side: linetls-perf --verify) ----

namespace linetls::crypto {
namespace {

Result<void, Error> verify_server(const CaStore& store, const std::vector<Der>& chain,
                                  std::string_view name, std::time_t now = k2030) {
  std::vector<std::span<const uint8_t>> spans(chain.begin(), chain.end());
  return store.verify_server_chain(spans, name, now);
}

TEST(ServerChain, AServerCertificateOfOurRootWithItsNamePasses) {
  const CaStore store = store_of();
  EXPECT_TRUE(verify_server(store, {der_of("ecdsa256.pem")}, "ecdsa256.test"));
  EXPECT_TRUE(verify_server(store, {der_of("ecdsa256.pem")}, ""));  // no name asked
}

TEST(ServerChain, EveryRefusalHasItsError) {
  const CaStore store = store_of();
  const Der leaf = der_of("ecdsa256.pem");
  EXPECT_EQ(verify_server(store, {leaf}, "other.test").error(), Error::kCertificateVerifyFailed);
  EXPECT_EQ(verify_server(store, {leaf}, "10.0.0.1").error(), Error::kCertificateVerifyFailed);
  EXPECT_EQ(verify_server(store, {leaf}, "ecdsa256.test", k2060).error(),
            Error::kCertificateExpired);
  EXPECT_EQ(verify_server(store, {leaf}, "ecdsa256.test", k2020).error(),
            Error::kCertificateNotYetValid);
  // A client certificate (clientAuth only) is not a server's.
  EXPECT_EQ(verify_server(store, {der_of("client256.pem")}, "").error(),
            Error::kCertificateWrongPurpose);
  EXPECT_EQ(verify_server(store, {}, "").error(), Error::kNoCertificate);
  const Der junk = {0x30, 0x03, 0x01, 0x01, 0xff};
  EXPECT_EQ(verify_server(store, {junk}, "").error(), Error::kMalformedCertificate);
  Result<CaStore, Error> other = CaStore::load(cert_path("other_ca.pem"));
  ASSERT_TRUE(other);
  EXPECT_EQ(verify_server(*other, {leaf}, "ecdsa256.test").error(), Error::kUnknownCa);
}

}  // namespace
}  // namespace linetls::crypto
