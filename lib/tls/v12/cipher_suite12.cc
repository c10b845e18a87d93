#include "lib/tls/v12/cipher_suite12.h"

#include <algorithm>

namespace linetls::tls::v12 {

const CipherSuite kAllSuites[kNumSuites] = {
    CipherSuite::kEcdheEcdsaAes128GcmSha256,       CipherSuite::kEcdheRsaAes128GcmSha256,
    CipherSuite::kEcdheEcdsaAes256GcmSha384,       CipherSuite::kEcdheRsaAes256GcmSha384,
    CipherSuite::kEcdheEcdsaChacha20Poly1305Sha256, CipherSuite::kEcdheRsaChacha20Poly1305Sha256,
};

std::optional<SuiteInfo> suite_info(uint16_t code) noexcept {
  using crypto::AeadAlgo;
  using crypto::HashAlgo;
  // RFC 5288 §3: AES-GCM "fixed_iv_length" (the salt) is 4 and "record_iv_length" (the
  // explicit nonce) 8. RFC 7905 §2: ChaCha20-Poly1305 has fixed_iv_length 12 and
  // record_iv_length 0.
  switch (code) {
    case 0xC02B:
      return SuiteInfo{CipherSuite::kEcdheEcdsaAes128GcmSha256, HashAlgo::kSha256,
                       AeadAlgo::kAes128Gcm, AuthKind::kEcdsa, 16, 4, 8,
                       "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"};
    case 0xC02C:
      return SuiteInfo{CipherSuite::kEcdheEcdsaAes256GcmSha384, HashAlgo::kSha384,
                       AeadAlgo::kAes256Gcm, AuthKind::kEcdsa, 32, 4, 8,
                       "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"};
    case 0xC02F:
      return SuiteInfo{CipherSuite::kEcdheRsaAes128GcmSha256, HashAlgo::kSha256,
                       AeadAlgo::kAes128Gcm, AuthKind::kRsa, 16, 4, 8,
                       "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"};
    case 0xC030:
      return SuiteInfo{CipherSuite::kEcdheRsaAes256GcmSha384, HashAlgo::kSha384,
                       AeadAlgo::kAes256Gcm, AuthKind::kRsa, 32, 4, 8,
                       "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"};
    case 0xCCA8:
      return SuiteInfo{CipherSuite::kEcdheRsaChacha20Poly1305Sha256, HashAlgo::kSha256,
                       AeadAlgo::kChacha20Poly1305, AuthKind::kRsa, 32, 12, 0,
                       "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"};
    case 0xCCA9:
      return SuiteInfo{CipherSuite::kEcdheEcdsaChacha20Poly1305Sha256, HashAlgo::kSha256,
                       AeadAlgo::kChacha20Poly1305, AuthKind::kEcdsa, 32, 12, 0,
                       "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"};
    default:
      return std::nullopt;
  }
}

namespace {

constexpr uint16_t N = kFlawNull;
constexpr uint16_t E = kFlawExport;
constexpr uint16_t A = kFlawAnonymous;
constexpr uint16_t R = kFlawStaticRsa;
constexpr uint16_t C4 = kFlawRc4;
constexpr uint16_t D = kFlawDes;
constexpr uint16_t B = kFlawCbc;

struct FlawRange {
  uint16_t first;
  uint16_t last;
  uint16_t flaws;
};

// The IANA TLS Cipher Suites registry, read by key exchange and bulk cipher; codes not
// listed have no flaw we refuse for (they are kUnsupported unless they are ours). Sorted,
// non-overlapping (tests/unit/tls12/cipher_suite12_test.cc checks both, and checks the
// table against the OpenSSL CLI's own description of every suite it knows).
constexpr FlawRange kFlawTable[] = {
    {0x0000, 0x0000, N | A},           // NULL_WITH_NULL_NULL
    {0x0001, 0x0002, N | R},           // RSA_WITH_NULL_{MD5,SHA}
    {0x0003, 0x0003, E | R | C4},      // RSA_EXPORT_WITH_RC4_40_MD5
    {0x0004, 0x0005, R | C4},          // RSA_WITH_RC4_128_{MD5,SHA}
    {0x0006, 0x0006, E | R | B},       // RSA_EXPORT_WITH_RC2_CBC_40_MD5
    {0x0007, 0x0007, R | B},           // RSA_WITH_IDEA_CBC_SHA
    {0x0008, 0x0008, E | R | D | B},   // RSA_EXPORT_WITH_DES40_CBC_SHA
    {0x0009, 0x000A, R | D | B},       // RSA_WITH_{DES,3DES_EDE}_CBC_SHA
    {0x000B, 0x000B, E | D | B},       // DH_DSS_EXPORT_WITH_DES40_CBC_SHA
    {0x000C, 0x000D, D | B},           // DH_DSS_WITH_{DES,3DES_EDE}_CBC_SHA
    {0x000E, 0x000E, E | D | B},       // DH_RSA_EXPORT_...
    {0x000F, 0x0010, D | B},
    {0x0011, 0x0011, E | D | B},       // DHE_DSS_EXPORT_...
    {0x0012, 0x0013, D | B},
    {0x0014, 0x0014, E | D | B},       // DHE_RSA_EXPORT_...
    {0x0015, 0x0016, D | B},
    {0x0017, 0x0017, E | A | C4},      // DH_anon_EXPORT_WITH_RC4_40_MD5
    {0x0018, 0x0018, A | C4},          // DH_anon_WITH_RC4_128_MD5
    {0x0019, 0x0019, E | A | D | B},   // DH_anon_EXPORT_WITH_DES40_CBC_SHA
    {0x001A, 0x001B, A | D | B},       // DH_anon_WITH_{DES,3DES_EDE}_CBC_SHA
    {0x001C, 0x001C, N},               // SSL 3.0 FORTEZZA_KEA_WITH_NULL_SHA
    {0x001D, 0x001D, B},               // SSL 3.0 FORTEZZA_KEA_WITH_FORTEZZA_CBC_SHA
    {0x001E, 0x001F, D | B},           // KRB5_WITH_{DES,3DES_EDE}_CBC_SHA
    {0x0020, 0x0020, C4},              // KRB5_WITH_RC4_128_SHA
    {0x0021, 0x0021, B},               // KRB5_WITH_IDEA_CBC_SHA
    {0x0022, 0x0023, D | B},           // KRB5_WITH_{DES,3DES_EDE}_CBC_MD5
    {0x0024, 0x0024, C4},              // KRB5_WITH_RC4_128_MD5
    {0x0025, 0x0025, B},               // KRB5_WITH_IDEA_CBC_MD5
    {0x0026, 0x0026, E | D | B},       // KRB5_EXPORT_WITH_DES_CBC_40_SHA
    {0x0027, 0x0027, E | B},           // KRB5_EXPORT_WITH_RC2_CBC_40_SHA
    {0x0028, 0x0028, E | C4},          // KRB5_EXPORT_WITH_RC4_40_SHA
    {0x0029, 0x0029, E | D | B},       // ..._MD5
    {0x002A, 0x002A, E | B},
    {0x002B, 0x002B, E | C4},
    {0x002C, 0x002D, N},               // {PSK,DHE_PSK}_WITH_NULL_SHA
    {0x002E, 0x002E, N | R},           // RSA_PSK_WITH_NULL_SHA
    {0x002F, 0x002F, R | B},           // RSA_WITH_AES_128_CBC_SHA
    {0x0030, 0x0033, B},               // DH_DSS, DH_RSA, DHE_DSS, DHE_RSA AES_128_CBC_SHA
    {0x0034, 0x0034, A | B},           // DH_anon_WITH_AES_128_CBC_SHA
    {0x0035, 0x0035, R | B},           // RSA_WITH_AES_256_CBC_SHA
    {0x0036, 0x0039, B},
    {0x003A, 0x003A, A | B},           // DH_anon_WITH_AES_256_CBC_SHA
    {0x003B, 0x003B, N | R},           // RSA_WITH_NULL_SHA256
    {0x003C, 0x003D, R | B},           // RSA_WITH_AES_{128,256}_CBC_SHA256
    {0x003E, 0x0040, B},
    {0x0041, 0x0041, R | B},           // RSA_WITH_CAMELLIA_128_CBC_SHA
    {0x0042, 0x0045, B},
    {0x0046, 0x0046, A | B},           // DH_anon_WITH_CAMELLIA_128_CBC_SHA
    {0x0060, 0x0060, E | R | C4},      // draft RSA_EXPORT1024_WITH_RC4_56_MD5
    {0x0061, 0x0061, E | R | B},       // draft RSA_EXPORT1024_WITH_RC2_CBC_56_MD5
    {0x0062, 0x0062, E | R | D | B},   // draft RSA_EXPORT1024_WITH_DES_CBC_SHA
    {0x0063, 0x0063, E | D | B},       // draft DHE_DSS_EXPORT1024_WITH_DES_CBC_SHA
    {0x0064, 0x0064, E | R | C4},      // draft RSA_EXPORT1024_WITH_RC4_56_SHA
    {0x0065, 0x0065, E | C4},          // draft DHE_DSS_EXPORT1024_WITH_RC4_56_SHA
    {0x0066, 0x0066, C4},              // draft DHE_DSS_WITH_RC4_128_SHA
    {0x0067, 0x006B, B},               // DHE_RSA / DH_DSS / DH_RSA / DHE_DSS / DHE_RSA CBC
    {0x006C, 0x006D, A | B},           // DH_anon_WITH_AES_{128,256}_CBC_SHA256
    {0x0084, 0x0084, R | B},           // RSA_WITH_CAMELLIA_256_CBC_SHA
    {0x0085, 0x0088, B},
    {0x0089, 0x0089, A | B},           // DH_anon_WITH_CAMELLIA_256_CBC_SHA
    {0x008A, 0x008A, C4},              // PSK_WITH_RC4_128_SHA
    {0x008B, 0x008B, D | B},           // PSK_WITH_3DES_EDE_CBC_SHA
    {0x008C, 0x008D, B},
    {0x008E, 0x008E, C4},              // DHE_PSK_WITH_RC4_128_SHA
    {0x008F, 0x008F, D | B},
    {0x0090, 0x0091, B},
    {0x0092, 0x0092, R | C4},          // RSA_PSK_WITH_RC4_128_SHA
    {0x0093, 0x0093, R | D | B},
    {0x0094, 0x0095, R | B},
    {0x0096, 0x0096, R | B},           // RSA_WITH_SEED_CBC_SHA
    {0x0097, 0x009A, B},
    {0x009B, 0x009B, A | B},           // DH_anon_WITH_SEED_CBC_SHA
    {0x009C, 0x009D, R},               // RSA_WITH_AES_{128,256}_GCM
    {0x00A6, 0x00A7, A},               // DH_anon_WITH_AES_{128,256}_GCM
    {0x00AC, 0x00AD, R},               // RSA_PSK_WITH_AES_{128,256}_GCM
    {0x00AE, 0x00AF, B},               // PSK CBC SHA256/384
    {0x00B0, 0x00B1, N},               // PSK_WITH_NULL_SHA256/384
    {0x00B2, 0x00B3, B},
    {0x00B4, 0x00B5, N},               // DHE_PSK_WITH_NULL
    {0x00B6, 0x00B7, R | B},
    {0x00B8, 0x00B9, N | R},           // RSA_PSK_WITH_NULL
    {0x00BA, 0x00BA, R | B},           // RSA_WITH_CAMELLIA_128_CBC_SHA256
    {0x00BB, 0x00BE, B},
    {0x00BF, 0x00BF, A | B},
    {0x00C0, 0x00C0, R | B},           // RSA_WITH_CAMELLIA_256_CBC_SHA256
    {0x00C1, 0x00C4, B},
    {0x00C5, 0x00C5, A | B},
    {0xC001, 0xC001, N},               // ECDH_ECDSA_WITH_NULL_SHA
    {0xC002, 0xC002, C4},
    {0xC003, 0xC003, D | B},
    {0xC004, 0xC005, B},
    {0xC006, 0xC006, N},               // ECDHE_ECDSA_WITH_NULL_SHA
    {0xC007, 0xC007, C4},
    {0xC008, 0xC008, D | B},
    {0xC009, 0xC00A, B},
    {0xC00B, 0xC00B, N},               // ECDH_RSA_WITH_NULL_SHA
    {0xC00C, 0xC00C, C4},
    {0xC00D, 0xC00D, D | B},
    {0xC00E, 0xC00F, B},
    {0xC010, 0xC010, N},               // ECDHE_RSA_WITH_NULL_SHA
    {0xC011, 0xC011, C4},
    {0xC012, 0xC012, D | B},
    {0xC013, 0xC014, B},
    {0xC015, 0xC015, A | N},           // ECDH_anon_WITH_NULL_SHA
    {0xC016, 0xC016, A | C4},
    {0xC017, 0xC017, A | D | B},
    {0xC018, 0xC019, A | B},
    {0xC01A, 0xC01C, D | B},           // SRP_SHA_*_WITH_3DES_EDE_CBC_SHA
    {0xC01D, 0xC02A, B},               // SRP AES CBC; EC AES CBC SHA256/384
    {0xC033, 0xC033, C4},              // ECDHE_PSK_WITH_RC4_128_SHA
    {0xC034, 0xC034, D | B},
    {0xC035, 0xC038, B},
    {0xC039, 0xC03B, N},               // ECDHE_PSK_WITH_NULL
    {0xC03C, 0xC03D, R | B},           // RSA_WITH_ARIA_*_CBC
    {0xC03E, 0xC045, B},
    {0xC046, 0xC047, A | B},           // DH_anon_WITH_ARIA_*_CBC
    {0xC048, 0xC04F, B},
    {0xC050, 0xC051, R},               // RSA_WITH_ARIA_*_GCM
    {0xC05A, 0xC05B, A},               // DH_anon_WITH_ARIA_*_GCM
    {0xC064, 0xC067, B},               // PSK / DHE_PSK ARIA CBC
    {0xC068, 0xC069, R | B},           // RSA_PSK ARIA CBC
    {0xC06E, 0xC06F, R},               // RSA_PSK ARIA GCM
    {0xC070, 0xC079, B},               // ECDHE_PSK ARIA CBC; EC CAMELLIA CBC
    {0xC07A, 0xC07B, R},               // RSA_WITH_CAMELLIA_*_GCM
    {0xC084, 0xC085, A},               // DH_anon_WITH_CAMELLIA_*_GCM
    {0xC092, 0xC093, R},               // RSA_PSK CAMELLIA GCM
    {0xC094, 0xC097, B},               // PSK / DHE_PSK CAMELLIA CBC
    {0xC098, 0xC099, R | B},           // RSA_PSK CAMELLIA CBC
    {0xC09A, 0xC09B, B},               // ECDHE_PSK CAMELLIA CBC
    {0xC09C, 0xC09D, R},               // RSA_WITH_AES_*_CCM
    {0xC0A0, 0xC0A1, R},               // RSA_WITH_AES_*_CCM_8
    {0xC0B4, 0xC0B5, N},               // RFC 9150 integrity-only
    {0xCCAE, 0xCCAE, R},               // RSA_PSK_WITH_CHACHA20_POLY1305
    {0xFEFE, 0xFEFF, R | D | B},       // SSL_RSA_FIPS_WITH_{DES,3DES_EDE}_CBC_SHA (Netscape)
    {0xFFE0, 0xFFE1, R | D | B},       // the same, older codes
};

constexpr bool table_sorted() {
  for (size_t i = 0; i < std::size(kFlawTable); i++) {
    if (kFlawTable[i].first > kFlawTable[i].last || kFlawTable[i].flaws == 0) {
      return false;
    }
    if (i > 0 && kFlawTable[i - 1].last >= kFlawTable[i].first) {
      return false;
    }
  }
  return true;
}
static_assert(table_sorted(), "kFlawTable must be sorted, non-overlapping, with flaws");

uint16_t flaws_of(uint16_t code) noexcept {
  const auto* end = std::end(kFlawTable);
  const auto* it = std::lower_bound(std::begin(kFlawTable), end, code,
                                    [](const FlawRange& r, uint16_t c) { return r.last < c; });
  return it != end && it->first <= code ? it->flaws : 0;
}

}  // namespace

SuiteClass classify_suite(uint16_t code) noexcept {
  if (suite_info(code)) {
    return {SuiteKind::kSupported, 0};
  }
  if (code == kEmptyRenegotiationInfoScsv || code == kFallbackScsv) {
    return {SuiteKind::kSignaling, 0};
  }
  // RFC 8701 §2: cipher suite GREASE values are {0x0A,0x0A}, {0x1A,0x1A}, ... {0xFA,0xFA}.
  if ((code & 0x0F0F) == 0x0A0A && (code >> 8) == (code & 0xFF)) {
    return {SuiteKind::kGrease, 0};
  }
  if (code >= 0x1301 && code <= 0x1305) {
    return {SuiteKind::kTls13, 0};
  }
  const uint16_t flaws = flaws_of(code);
  return {flaws != 0 ? SuiteKind::kRefused : SuiteKind::kUnsupported, flaws};
}

const char* flaw_name(uint16_t flaw) noexcept {
  switch (flaw) {
    case kFlawNull:
      return "null";
    case kFlawExport:
      return "export";
    case kFlawAnonymous:
      return "anonymous";
    case kFlawStaticRsa:
      return "static-rsa";
    case kFlawRc4:
      return "rc4";
    case kFlawDes:
      return "des";
    case kFlawCbc:
      return "cbc";
    default:
      return "?";
  }
}

}  // namespace linetls::tls::v12
