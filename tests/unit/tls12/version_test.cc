// Version negotiation before the handshake machines: supported_versions over
// legacy_version (RFC 8446 §4.2.1), the configured range, obsolete versions refused with
// protocol_version, TLS_FALLBACK_SCSV (RFC 7507) and SSLv2-format hellos (RFC 5246 §E.2).
#include "lib/tls/v12/version.h"

#include <gtest/gtest.h>

#include <optional>
#include <vector>

#include "lib/tls/v12/cipher_suite12.h"
#include "tests/unit/crypto/test_util.h"

namespace linetls::tls::v12 {
namespace {

using crypto::testing::hex;

struct Hello {
  uint16_t legacy_version = 0x0303;
  std::optional<std::vector<uint16_t>> supported_versions;  // nullopt: no extension
  bool fallback_scsv = false;
};

struct Case {
  const char* name;
  Hello hello;
  VersionRange range;
  std::optional<uint16_t> version;  // nullopt: error
  Error error;
};

std::vector<uint8_t> u16_bytes(const std::vector<uint16_t>& v) {
  std::vector<uint8_t> out;
  for (uint16_t x : v) {
    out.push_back(static_cast<uint8_t>(x >> 8));
    out.push_back(static_cast<uint8_t>(x));
  }
  return out;
}

TEST(Version, SelectVersionTable) {
  const VersionRange both{kTls12, kTls13}, only12{kTls12, kTls12}, only13{kTls13, kTls13};
  const Case cases[] = {
      {"1.2 client, no extension", {0x0303, std::nullopt, false}, both, kTls12, Error{}},
      {"TLS 1.1 client", {0x0302, std::nullopt, false}, both, std::nullopt, Error::kProtocolVersion},
      {"TLS 1.0 client", {0x0301, std::nullopt, false}, both, std::nullopt, Error::kProtocolVersion},
      {"SSL 3.0 client", {0x0300, std::nullopt, false}, both, std::nullopt, Error::kProtocolVersion},
      {"legacy_version above 1.2, no extension", {0x0304, std::nullopt, false}, both, kTls12,
       Error{}},
      {"1.2 client, 1.3-only server", {0x0303, std::nullopt, false}, only13, std::nullopt,
       Error::kProtocolVersion},
      {"1.3 and 1.2 offered", {0x0303, std::vector<uint16_t>{0x0304, 0x0303}, false}, both, kTls13,
       Error{}},
      {"order does not matter", {0x0303, std::vector<uint16_t>{0x0303, 0x0304}, false}, both,
       kTls13, Error{}},
      {"1.3 and 1.2 offered, 1.2-only server",
       {0x0303, std::vector<uint16_t>{0x0304, 0x0303}, false}, only12, kTls12, Error{}},
      {"1.3 only, 1.2-only server", {0x0303, std::vector<uint16_t>{0x0304}, false}, only12,
       std::nullopt, Error::kProtocolVersion},
      {"1.2 in the extension, 1.3-only server", {0x0303, std::vector<uint16_t>{0x0303}, false},
       only13, std::nullopt, Error::kProtocolVersion},
      {"GREASE ignored", {0x0303, std::vector<uint16_t>{0x0a0a, 0x0304}, false}, both, kTls13,
       Error{}},
      {"extension wins over legacy_version",
       {0x0303, std::vector<uint16_t>{0x0302, 0x0301}, false}, both, std::nullopt,
       Error::kProtocolVersion},
      {"a future version ignored", {0x0303, std::vector<uint16_t>{0x0305, 0x0303}, false}, both,
       kTls12, Error{}},
      {"fallback to 1.2 from a 1.3 server", {0x0303, std::nullopt, true}, both, std::nullopt,
       Error::kInappropriateFallback},
      {"fallback SCSV in the extension form", {0x0303, std::vector<uint16_t>{0x0303}, true}, both,
       std::nullopt, Error::kInappropriateFallback},
      {"fallback SCSV to a 1.2-only server is fine", {0x0303, std::nullopt, true}, only12, kTls12,
       Error{}},
      {"TLS 1.1 with fallback SCSV", {0x0302, std::nullopt, true}, both, std::nullopt,
       Error::kInappropriateFallback},
      {"SSL 3.0 with fallback SCSV", {0x0300, std::nullopt, true}, both, std::nullopt,
       Error::kInappropriateFallback},
      {"TLS 1.1 with fallback SCSV to a 1.2-only server", {0x0302, std::nullopt, true}, only12,
       std::nullopt, Error::kInappropriateFallback},
      {"1.1 and 1.0 listed with fallback SCSV",
       {0x0303, std::vector<uint16_t>{0x0302, 0x0301}, true}, both, std::nullopt,
       Error::kInappropriateFallback},
      {"fallback SCSV with 1.3 chosen is fine",
       {0x0303, std::vector<uint16_t>{0x0304, 0x0303}, true}, both, kTls13, Error{}},
      {"inverted range", {0x0303, std::nullopt, false}, VersionRange{kTls13, kTls12}, std::nullopt,
       Error::kInternalError},
      {"TLS 1.1 cannot be enabled", {0x0302, std::nullopt, false}, VersionRange{0x0302, kTls13},
       std::nullopt, Error::kInternalError},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> sv, suites = u16_bytes({0xC02B});
    if (c.hello.fallback_scsv) {
      suites = u16_bytes({0xC02B, kFallbackScsv});
    }
    ClientHello ch;
    ch.legacy_version = c.hello.legacy_version;
    ch.cipher_suites = suites;
    if (c.hello.supported_versions) {
      sv = u16_bytes(*c.hello.supported_versions);
      ch.supported_versions = sv;
      ch.present |= 1u << extension_index(static_cast<uint16_t>(ExtensionType::kSupportedVersions));
    }
    auto v = select_version(ch, c.range);
    if (c.version) {
      ASSERT_TRUE(v) << c.name << ": " << to_string(v.error());
      EXPECT_EQ(*v, *c.version) << c.name;
    } else {
      ASSERT_FALSE(v) << c.name << " chose " << std::hex << *v;
      EXPECT_EQ(v.error(), c.error) << c.name << ": " << to_string(v.error());
    }
  }
  EXPECT_EQ(to_alert(Error::kProtocolVersion), AlertDescription::kProtocolVersion);
  EXPECT_EQ(to_alert(Error::kInappropriateFallback), AlertDescription::kInappropriateFallback);
}

TEST(Version, SslV2FormatHello) {
  // What `openssl s_client -ssl2`-era clients sent: 0x80 0x2e header, msg_type 1, 0x0301.
  EXPECT_TRUE(is_sslv2_client_hello(hex("802e010301")));
  EXPECT_TRUE(is_sslv2_client_hello(hex("80fe010002")));
  EXPECT_FALSE(is_sslv2_client_hello(hex("1603010200")));  // a TLS handshake record
  EXPECT_FALSE(is_sslv2_client_hello(hex("802e")));        // too short to tell
  EXPECT_FALSE(is_sslv2_client_hello(hex("802e04")));      // not a client_hello
  EXPECT_FALSE(is_sslv2_client_hello({}));
}

}  // namespace
}  // namespace linetls::tls::v12
