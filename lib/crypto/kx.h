// Ephemeral (EC)DHE key exchange for TLS: X25519, secp256r1, secp384r1.
//
// A KeyShare holds one ephemeral private key and its encoded public key (the bytes of a TLS
// KeyShareEntry / ECPoint). derive() checks the peer's encoding strictly before using it:
// X25519 keys are exactly 32 bytes and must not give the all-zero secret (RFC 8446 §7.4.2,
// RFC 7748 §6.1); NIST keys are exactly 0x04 || X || Y on the curve (RFC 8446 §4.2.8.2), with
// compressed points, the point at infinity and off-curve points each refused with their own
// Error.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "lib/base/result.h"
#include "lib/base/secret.h"
#include "lib/crypto/error.h"
#include "lib/crypto/ossl_fwd.h"
#include "lib/crypto/rng.h"

namespace linetls::crypto {

// TLS NamedGroup code points (RFC 8446 §4.2.7).
enum class NamedGroup : uint16_t {
  kSecp256r1 = 0x0017,
  kSecp384r1 = 0x0018,
  kX25519 = 0x001d,
};

// Returns the group for a wire code, or nullopt for groups we do not implement.
std::optional<NamedGroup> named_group_from_code(uint16_t code) noexcept;
// Returns the length of an encoded public key of group: 32, 65 or 97.
size_t public_key_len(NamedGroup group) noexcept;
// Returns the length of an injected private key of group: 32, 32 or 48.
size_t private_key_len(NamedGroup group) noexcept;

inline constexpr size_t kMaxPublicKeyLen = 97;  // P-384 uncompressed: 1 + 2 * 48
inline constexpr size_t kMaxSharedSecretLen = 48;

// The (EC)DHE shared secret: 32 bytes for X25519 and P-256, 48 for P-384 (the X coordinate
// for the NIST curves, RFC 8446 §7.4.2).
using SharedSecret = Secret<kMaxSharedSecretLen>;

class KeyShare {
 public:
  // Returns a fresh key pair for group with the private key drawn from rng.fill_private()
  // (private_key_len(group) bytes per attempt; a NIST scalar out of range is redrawn).
  static Result<KeyShare, Error> generate(NamedGroup group, Rng& rng) noexcept;
  // Returns the key pair whose private key is priv (copied): X25519 as the 32-byte string of
  // RFC 7748, NIST curves as the big-endian scalar of exactly private_key_len(group) bytes
  // in [1, n-1]; kBadPrivateKey otherwise.
  static Result<KeyShare, Error> from_private(NamedGroup group,
                                              std::span<const uint8_t> priv) noexcept;

  KeyShare(KeyShare&&) noexcept = default;
  KeyShare& operator=(KeyShare&&) noexcept = default;

  NamedGroup group() const noexcept { return group_; }
  // Returns our encoded public key (raw 32 bytes for X25519, 0x04 || X || Y for NIST
  // curves); the bytes belong to this KeyShare.
  std::span<const uint8_t> public_key() const noexcept { return {public_.data(), public_len_}; }

  // Checks the peer's encoded public key (borrowed for the call) and returns the shared
  // secret. Errors: kBadPublicKeyLength, kCompressedPoint, kBadPointFormat,
  // kPointAtInfinity, kPointNotOnCurve, kLowOrderPoint, kInternal. Const, but an X25519
  // KeyShare reuses one libcrypto context: one thread at a time per KeyShare.
  Result<SharedSecret, Error> derive(std::span<const uint8_t> peer_public) const noexcept;

 private:
  KeyShare(NamedGroup group, std::unique_ptr<EVP_PKEY, PkeyDeleter> pkey,
           std::span<const uint8_t> pub,
           std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> derive_ctx = nullptr) noexcept;

  NamedGroup group_;
  // X25519: holds the private scalar only; its public half is a placeholder that nothing
  // reads (public_ below is the key's real public value). See kx.cc.
  std::unique_ptr<EVP_PKEY, PkeyDeleter> pkey_;
  // X25519: the derive context on pkey_, made once by from_private() and reused by derive().
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> derive_ctx_;
  std::array<uint8_t, kMaxPublicKeyLen> public_{};
  size_t public_len_ = 0;
};

}  // namespace linetls::crypto
