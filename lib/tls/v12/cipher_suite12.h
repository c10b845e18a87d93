// TLS 1.2 cipher suites: the six ECDHE AEAD suites we implement, what each means to the key
// schedule and the record layer, and the classification of every other code a ClientHello
// may offer (what negotiation refuses, and why).
//
// RFC 5246 §A.5 names suites by key exchange, authentication, cipher and PRF hash. We
// implement ECDHE (RFC 8422) with ECDSA or RSA certificates, and AES-GCM (RFC 5288, RFC
// 5289) or ChaCha20-Poly1305 (RFC 7905). Everything else is either refused for a known
// weakness (classify_suite() says which) or simply not implemented.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "lib/crypto/aead.h"
#include "lib/crypto/hash.h"

namespace linetls::tls::v12 {

enum class CipherSuite : uint16_t {
  kEcdheEcdsaAes128GcmSha256 = 0xC02B,
  kEcdheEcdsaAes256GcmSha384 = 0xC02C,
  kEcdheRsaAes128GcmSha256 = 0xC02F,
  kEcdheRsaAes256GcmSha384 = 0xC030,
  kEcdheRsaChacha20Poly1305Sha256 = 0xCCA8,
  kEcdheEcdsaChacha20Poly1305Sha256 = 0xCCA9,
};

inline constexpr size_t kNumSuites = 6;
// Every suite we implement, in our order of preference (ChaCha20 after AES-GCM; the server
// may prefer ChaCha20 for clients that list it first, a negotiation decision).
extern const CipherSuite kAllSuites[kNumSuites];

// RFC 5746 §3.3 and RFC 7507 §2: signalling values, never negotiated.
inline constexpr uint16_t kEmptyRenegotiationInfoScsv = 0x00FF;
inline constexpr uint16_t kFallbackScsv = 0x5600;

// The certificate key a suite needs (RFC 8422 §2: ECDHE_ECDSA, ECDHE_RSA).
enum class AuthKind : uint8_t { kEcdsa, kRsa };

struct SuiteInfo {
  CipherSuite suite;
  crypto::HashAlgo hash;  // the PRF hash (RFC 5246 §5; RFC 5289 §3 for the SHA-384 suites)
  crypto::AeadAlgo aead;
  AuthKind auth;
  size_t key_len;           // enc_key_length: 16 or 32
  size_t fixed_iv_len;      // 4 (GCM salt, RFC 5288 §3) or 12 (ChaCha20 IV, RFC 7905 §2)
  size_t record_iv_len;     // explicit nonce per record: 8 for GCM, 0 for ChaCha20
  const char* name;         // the IANA name, "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
};

// Returns the description of one of our six suites, or nullopt for any other code.
std::optional<SuiteInfo> suite_info(uint16_t code) noexcept;
inline SuiteInfo suite_info(CipherSuite s) noexcept { return *suite_info(static_cast<uint16_t>(s)); }

// Why a suite is refused. A set of bits: TLS_RSA_EXPORT_WITH_RC4_40_MD5 is export, static
// RSA and RC4 at once.
enum SuiteFlaw : uint16_t {
  kFlawNull = 1u << 0,       // no encryption (NULL cipher, or integrity-only)
  kFlawExport = 1u << 1,     // export-grade (40/56-bit) key exchange or cipher
  kFlawAnonymous = 1u << 2,  // no server authentication (DH_anon, ECDH_anon, NULL_WITH_NULL)
  kFlawStaticRsa = 1u << 3,  // RSA key transport (TLS_RSA_*, TLS_RSA_PSK_*): no forward secrecy
  kFlawRc4 = 1u << 4,        // RFC 7465: "TLS clients MUST NOT include RC4 cipher suites"
  kFlawDes = 1u << 5,        // single DES or 3DES (64-bit block)
  kFlawCbc = 1u << 6,        // a block cipher in CBC mode (MAC-then-encrypt, RFC 7366 territory)
};

enum class SuiteKind : uint8_t {
  kSupported,    // one of our six
  kRefused,      // flaws != 0
  kUnsupported,  // no listed flaw but not implemented (DHE, static ECDH, PSK, CCM, ARIA, ...)
                 // or unassigned
  kSignaling,    // TLS_EMPTY_RENEGOTIATION_INFO_SCSV, TLS_FALLBACK_SCSV
  kGrease,       // RFC 8701 0x?A?A
  kTls13,        // 0x1301..0x1305: TLS 1.3 suites, meaningless in a 1.2 handshake
};

struct SuiteClass {
  SuiteKind kind = SuiteKind::kUnsupported;
  uint16_t flaws = 0;  // SuiteFlaw bits; non-zero exactly when kind == kRefused
};

// Classifies a cipher suite code from a ClientHello by the IANA registry's assignments (and
// the historical SSL 3.0 / draft-export codes some clients still send: 0x0060-0x0066,
// 0xFEFE, 0xFEFF, 0xFFE0, 0xFFE1). Codes not in the registry are kUnsupported.
SuiteClass classify_suite(uint16_t code) noexcept;

// Returns a short static name for one flaw bit ("rc4"), or "?" for anything else.
const char* flaw_name(uint16_t flaw) noexcept;

}  // namespace linetls::tls::v12
