// TLS 1.2 cipher suites: the six we implement and their parameters (RFC 5288, 5289, 7905),
// and the classification of everything else, checked against the OpenSSL CLI's own
// description of every TLS 1.2 suite it knows (tests/vectors/tls12/openssl_suites.txt) and
// against hand-picked registry entries this OpenSSL no longer builds (RC4, DES, export).
#include "lib/tls/v12/cipher_suite12.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/crypto/test_util.h"

namespace linetls::tls::v12 {
namespace {

using crypto::AeadAlgo;
using crypto::HashAlgo;

TEST(CipherSuite12, OurSixSuites) {
  struct Row {
    uint16_t code;
    HashAlgo hash;
    AeadAlgo aead;
    AuthKind auth;
    size_t key_len, fixed_iv_len, record_iv_len;
  } rows[] = {
      {0xC02B, HashAlgo::kSha256, AeadAlgo::kAes128Gcm, AuthKind::kEcdsa, 16, 4, 8},
      {0xC02F, HashAlgo::kSha256, AeadAlgo::kAes128Gcm, AuthKind::kRsa, 16, 4, 8},
      {0xC02C, HashAlgo::kSha384, AeadAlgo::kAes256Gcm, AuthKind::kEcdsa, 32, 4, 8},
      {0xC030, HashAlgo::kSha384, AeadAlgo::kAes256Gcm, AuthKind::kRsa, 32, 4, 8},
      {0xCCA9, HashAlgo::kSha256, AeadAlgo::kChacha20Poly1305, AuthKind::kEcdsa, 32, 12, 0},
      {0xCCA8, HashAlgo::kSha256, AeadAlgo::kChacha20Poly1305, AuthKind::kRsa, 32, 12, 0},
  };
  size_t found = 0;
  for (const Row& r : rows) {
    auto info = suite_info(r.code);
    ASSERT_TRUE(info) << std::hex << r.code;
    EXPECT_EQ(static_cast<uint16_t>(info->suite), r.code);
    EXPECT_EQ(info->hash, r.hash);
    EXPECT_EQ(info->aead, r.aead);
    EXPECT_EQ(info->auth, r.auth);
    EXPECT_EQ(info->key_len, r.key_len);
    EXPECT_EQ(info->key_len, crypto::aead_key_len(r.aead));
    EXPECT_EQ(info->fixed_iv_len, r.fixed_iv_len);
    EXPECT_EQ(info->record_iv_len, r.record_iv_len);
    EXPECT_EQ(classify_suite(r.code).kind, SuiteKind::kSupported);
    for (CipherSuite s : kAllSuites) {
      found += static_cast<uint16_t>(s) == r.code ? 1 : 0;
    }
  }
  EXPECT_EQ(found, kNumSuites);
  // The name says what the parameters say.
  EXPECT_STREQ(suite_info(CipherSuite::kEcdheRsaChacha20Poly1305Sha256).name,
               "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256");
  // TLS 1.3 suites, signalling values and neighbours are not ours.
  for (uint16_t code : {0x1301, 0x1303, 0x00FF, 0x5600, 0xC02D, 0xC031, 0xCCAA, 0x009E}) {
    EXPECT_FALSE(suite_info(code)) << std::hex << code;
  }
}

TEST(CipherSuite12, SignalingGreaseAndTls13) {
  EXPECT_EQ(classify_suite(kEmptyRenegotiationInfoScsv).kind, SuiteKind::kSignaling);
  EXPECT_EQ(classify_suite(kFallbackScsv).kind, SuiteKind::kSignaling);
  for (unsigned hi = 0; hi < 16; hi++) {
    const uint16_t g = static_cast<uint16_t>(((hi << 4 | 0xA) << 8) | (hi << 4 | 0xA));
    EXPECT_EQ(classify_suite(g).kind, SuiteKind::kGrease) << std::hex << g;
  }
  EXPECT_NE(classify_suite(0x0A1A).kind, SuiteKind::kGrease);
  for (uint16_t c = 0x1301; c <= 0x1305; c++) {
    EXPECT_EQ(classify_suite(c).kind, SuiteKind::kTls13);
  }
  // Sound but not implemented, and unassigned.
  for (uint16_t code : {0x009E, 0x009F, 0xC02D, 0xC031, 0xCCAA, 0xC0AC, 0xD001, 0x1306, 0x7777}) {
    const SuiteClass c = classify_suite(code);
    EXPECT_EQ(c.kind, SuiteKind::kUnsupported) << std::hex << code;
    EXPECT_EQ(c.flaws, 0) << std::hex << code;
  }
}

// Suites this OpenSSL build no longer knows: RC4, single DES, 3DES and export, from the
// IANA registry and RFC 2246 / RFC 4346 appendices.
TEST(CipherSuite12, RegistryEntriesOpenSslNoLongerBuilds) {
  struct Row {
    uint16_t code;
    uint16_t flaws;
    const char* name;
  } rows[] = {
      {0x0000, kFlawNull | kFlawAnonymous, "TLS_NULL_WITH_NULL_NULL"},
      {0x0003, kFlawExport | kFlawStaticRsa | kFlawRc4, "TLS_RSA_EXPORT_WITH_RC4_40_MD5"},
      {0x0004, kFlawStaticRsa | kFlawRc4, "TLS_RSA_WITH_RC4_128_MD5"},
      {0x0005, kFlawStaticRsa | kFlawRc4, "TLS_RSA_WITH_RC4_128_SHA"},
      {0x0006, kFlawExport | kFlawStaticRsa | kFlawCbc, "TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5"},
      {0x0009, kFlawStaticRsa | kFlawDes | kFlawCbc, "TLS_RSA_WITH_DES_CBC_SHA"},
      {0x000A, kFlawStaticRsa | kFlawDes | kFlawCbc, "TLS_RSA_WITH_3DES_EDE_CBC_SHA"},
      {0x0014, kFlawExport | kFlawDes | kFlawCbc, "TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA"},
      {0x0016, kFlawDes | kFlawCbc, "TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA"},
      {0x0017, kFlawExport | kFlawAnonymous | kFlawRc4, "TLS_DH_anon_EXPORT_WITH_RC4_40_MD5"},
      {0x0018, kFlawAnonymous | kFlawRc4, "TLS_DH_anon_WITH_RC4_128_MD5"},
      {0x001B, kFlawAnonymous | kFlawDes | kFlawCbc, "TLS_DH_anon_WITH_3DES_EDE_CBC_SHA"},
      {0x0028, kFlawExport | kFlawRc4, "TLS_KRB5_EXPORT_WITH_RC4_40_SHA"},
      {0x0064, kFlawExport | kFlawStaticRsa | kFlawRc4, "TLS_RSA_EXPORT1024_WITH_RC4_56_SHA"},
      {0x008A, kFlawRc4, "TLS_PSK_WITH_RC4_128_SHA"},
      {0x0093, kFlawStaticRsa | kFlawDes | kFlawCbc, "TLS_RSA_PSK_WITH_3DES_EDE_CBC_SHA"},
      {0xC007, kFlawRc4, "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"},
      {0xC008, kFlawDes | kFlawCbc, "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA"},
      {0xC011, kFlawRc4, "TLS_ECDHE_RSA_WITH_RC4_128_SHA"},
      {0xC012, kFlawDes | kFlawCbc, "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"},
      {0xC016, kFlawAnonymous | kFlawRc4, "TLS_ECDH_anon_WITH_RC4_128_SHA"},
      {0xFEFF, kFlawStaticRsa | kFlawDes | kFlawCbc, "SSL_RSA_FIPS_WITH_3DES_EDE_CBC_SHA"},
  };
  for (const Row& r : rows) {
    const SuiteClass c = classify_suite(r.code);
    EXPECT_EQ(c.kind, SuiteKind::kRefused) << r.name;
    EXPECT_EQ(c.flaws, r.flaws) << r.name;
  }
}

// What the flaws should be, read from OpenSSL's Kx/Au/Enc description of a suite.
uint16_t expected_flaws(const std::string& kx, const std::string& au, const std::string& enc) {
  uint16_t f = 0;
  if (enc == "None") {
    f |= kFlawNull;
  }
  if (au == "None") {
    f |= kFlawAnonymous;
  }
  if (kx == "RSA" || kx == "RSAPSK") {
    f |= kFlawStaticRsa;
  }
  if (enc.find("RC4") != std::string::npos) {
    f |= kFlawRc4;
  }
  if (enc.find("DES") != std::string::npos) {
    f |= kFlawDes;
  }
  const bool aead = enc.find("GCM") != std::string::npos || enc.find("CCM") != std::string::npos ||
                    enc.find("CHACHA20") != std::string::npos;
  if (!aead && enc != "None" && enc.find("RC4") == std::string::npos) {
    f |= kFlawCbc;
  }
  return f;
}

TEST(CipherSuite12, AgreesWithOpenSslOnEverySuiteItKnows) {
  const auto records = crypto::testing::read_records("tls12/openssl_suites.txt");
  ASSERT_GT(records.size(), 100u);  // the committed file lists 156
  size_t refused = 0;
  for (auto r : records) {
    const uint16_t code = static_cast<uint16_t>(std::stoul(r["code"], nullptr, 16));
    const uint16_t want = expected_flaws(r["kx"], r["au"], r["enc"]);
    const SuiteClass c = classify_suite(code);
    EXPECT_EQ(c.flaws, want) << r["name"] << " kx=" << r["kx"] << " au=" << r["au"]
                             << " enc=" << r["enc"];
    if (suite_info(code)) {
      EXPECT_EQ(c.kind, SuiteKind::kSupported) << r["name"];
    } else {
      EXPECT_EQ(c.kind, want != 0 ? SuiteKind::kRefused : SuiteKind::kUnsupported) << r["name"];
    }
    refused += want != 0 ? 1 : 0;
  }
  EXPECT_GT(refused, 50u);
}

TEST(CipherSuite12, FlawNames) {
  EXPECT_STREQ(flaw_name(kFlawRc4), "rc4");
  EXPECT_STREQ(flaw_name(kFlawStaticRsa), "static-rsa");
  EXPECT_STREQ(flaw_name(kFlawRc4 | kFlawCbc), "?");
}

}  // namespace
}  // namespace linetls::tls::v12
