// TLS signature schemes (RFC 8446 §4.2.3): sign with a PrivateKey, verify with a PublicKey.
//
// The message is the whole content to be signed (the TLS 1.3 CertificateVerify content or
// the TLS 1.2 ServerKeyExchange params); it is hashed here with the scheme's hash, except
// for Ed25519 which signs it directly. ECDSA signatures are DER ECDSA-Sig-Value as TLS sends
// them; RSA-PSS uses MGF1 with the scheme's hash and a salt as long as the hash, and
// verification insists on that salt length. A failed verification is Error::kBadSignature,
// never a crash, whatever the signature bytes.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "lib/base/result.h"
#include "lib/crypto/error.h"
#include "lib/crypto/key.h"

namespace linetls::crypto {

// SignatureScheme code points (RFC 8446 §4.2.3).
enum class SignatureScheme : uint16_t {
  kRsaPkcs1Sha256 = 0x0401,
  kRsaPkcs1Sha384 = 0x0501,
  kRsaPkcs1Sha512 = 0x0601,
  kEcdsaSecp256r1Sha256 = 0x0403,
  kEcdsaSecp384r1Sha384 = 0x0503,
  kRsaPssRsaeSha256 = 0x0804,
  kRsaPssRsaeSha384 = 0x0805,
  kRsaPssRsaeSha512 = 0x0806,
  kEd25519 = 0x0807,
};

enum class TlsVersion : uint8_t { kTls12, kTls13 };

// Returns the scheme for a wire code, or nullopt for schemes we do not implement.
std::optional<SignatureScheme> signature_scheme_from_code(uint16_t code) noexcept;
// Returns the IANA name, e.g. "rsa_pss_rsae_sha256".
std::string_view to_string(SignatureScheme scheme) noexcept;
// Returns whether version may use scheme for handshake signatures: TLS 1.3 forbids
// rsa_pkcs1_* in CertificateVerify (RFC 8446 §4.2.3); TLS 1.2 allows all of ours.
bool scheme_allowed(SignatureScheme scheme, TlsVersion version) noexcept;
// Returns whether a key of type can make (and check) scheme. ECDSA schemes are bound to
// their curve as in TLS 1.3: P-256 only with 0x0403, P-384 only with 0x0503.
bool key_supports_scheme(KeyType type, SignatureScheme scheme) noexcept;

inline constexpr size_t kMaxSchemesPerKey = 6;

// A short list of schemes, best first.
struct SchemeList {
  std::array<SignatureScheme, kMaxSchemesPerKey> items{};
  size_t count = 0;

  std::span<const SignatureScheme> view() const& noexcept { return {items.data(), count}; }
  // A view of a temporary list would dangle (e.g. in a range-for); keep the list first.
  std::span<const SignatureScheme> view() const&& = delete;
};

// Returns the schemes a key of type can make under version, in our order of preference
// (RSA: PSS SHA-256/384/512, then for TLS 1.2 PKCS#1 SHA-256/384/512).
SchemeList schemes_for_key(KeyType type, TlsVersion version) noexcept;

// Returns the first scheme in our preference order for key that also appears in
// peer_schemes (wire codes, as received; unknown codes are skipped), or kNoCommonScheme.
Result<SignatureScheme, Error> choose_scheme(const PrivateKey& key,
                                             std::span<const uint16_t> peer_schemes,
                                             TlsVersion version) noexcept;

// Signs message (borrowed) with key under scheme, writing the signature to the front of
// out and returning its length. out should hold key.max_signature_len() bytes
// (kOutputTooSmall otherwise). kSchemeKeyMismatch if the key cannot make the scheme.
// out must not alias message.
Result<size_t, Error> sign(const PrivateKey& key, SignatureScheme scheme,
                           std::span<const uint8_t> message, std::span<uint8_t> out) noexcept;

// Checks signature over message (both borrowed) with key under scheme. Returns
// kSchemeKeyMismatch if the key type cannot make the scheme, kBadSignature if the signature
// is wrong, truncated or malformed.
Result<void, Error> verify(const PublicKey& key, SignatureScheme scheme,
                           std::span<const uint8_t> message,
                           std::span<const uint8_t> signature) noexcept;

}  // namespace linetls::crypto
