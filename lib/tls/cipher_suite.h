// TLS 1.3 cipher suites (RFC 8446 §B.4) and what each one means to the key schedule and the
// record layer: the HKDF hash, the AEAD, and the traffic key and IV that §7.3 derives.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>

#include "lib/base/secret.h"
#include "lib/crypto/aead.h"
#include "lib/crypto/hash.h"

namespace linetls::tls {

enum class CipherSuite : uint16_t {
  kAes128GcmSha256 = 0x1301,
  kAes256GcmSha384 = 0x1302,
  kChacha20Poly1305Sha256 = 0x1303,
};

struct SuiteInfo {
  CipherSuite suite;
  crypto::HashAlgo hash;
  crypto::AeadAlgo aead;
  const char* name;  // the IANA name, "TLS_AES_128_GCM_SHA256"
};

// Returns the description of a TLS 1.3 suite code, or nullopt for any other code (including
// TLS 1.2 suites and GREASE values).
std::optional<SuiteInfo> suite_info(uint16_t code) noexcept;
inline SuiteInfo suite_info(CipherSuite s) noexcept {
  return *suite_info(static_cast<uint16_t>(s));
}

// §5.3: "the IV length is set to max(8 bytes, N_MIN) for the AEAD algorithm", 12 for all
// three suites.
inline constexpr size_t kIvLen = 12;
inline constexpr size_t kMaxAeadKeyLen = 32;

// The write key and IV of one direction for one traffic secret (§7.3). Wiped on
// destruction.
struct TrafficKeys {
  crypto::AeadAlgo aead = crypto::AeadAlgo::kAes128Gcm;
  Secret<kMaxAeadKeyLen> key;
  Secret<kIvLen> iv;
};

// §5.5: "For AES-GCM, up to 2^24.5 full-size records (about 24 million) may be encrypted on
// a given connection while keeping a safety margin of approximately 2^-57 for
// Authenticated Encryption (AE) security. For ChaCha20/Poly1305, the record sequence number
// would wrap before the safety limit is reached." Returns the number of records one key may
// seal before a KeyUpdate is due.
constexpr uint64_t record_limit(crypto::AeadAlgo algo) noexcept {
  return algo == crypto::AeadAlgo::kChacha20Poly1305 ? UINT64_MAX : uint64_t{23726566};
}

}  // namespace linetls::tls
