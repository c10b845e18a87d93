// Asymmetric keys for signatures: RSA (>= 2048 bits), ECDSA P-256 / P-384, Ed25519.
//
// PrivateKey is loaded from PEM (PKCS#8, traditional "RSA/EC PRIVATE KEY", encrypted PKCS#8
// or legacy encrypted PEM with a password) or generated. PublicKey comes from a certificate
// (Certificate::public_key()), from DER SubjectPublicKeyInfo, or from a PrivateKey. Both own
// one reference to a libcrypto EVP_PKEY; moving is cheap and copying is not offered.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "lib/base/result.h"
#include "lib/crypto/error.h"
#include "lib/crypto/ossl_fwd.h"

namespace linetls::crypto {

enum class KeyType : uint8_t { kRsa, kEcdsaP256, kEcdsaP384, kEd25519 };

// Returns "RSA", "ECDSA P-256", "ECDSA P-384" or "Ed25519".
std::string_view to_string(KeyType type) noexcept;

inline constexpr unsigned kMinRsaBits = 2048;

class PublicKey {
 public:
  // Parses a DER SubjectPublicKeyInfo (borrowed); trailing bytes are kMalformedKey.
  static Result<PublicKey, Error> from_der(std::span<const uint8_t> spki) noexcept;
  // Takes ownership of one reference to pkey (lib/crypto internal use). Errors:
  // kUnsupportedKeyType for anything but the four key types above.
  static Result<PublicKey, Error> adopt(EVP_PKEY* pkey) noexcept;

  PublicKey(PublicKey&&) noexcept = default;
  PublicKey& operator=(PublicKey&&) noexcept = default;

  KeyType type() const noexcept { return type_; }
  // Returns the key size in bits (modulus for RSA, field for EC, 256 for Ed25519).
  size_t bits() const noexcept;
  // Returns the borrowed libcrypto key (lib/crypto internal use; still owned by this).
  EVP_PKEY* native() const noexcept { return pkey_.get(); }
  // Returns another reference to the same key (a public key is only ever read).
  PublicKey share() const noexcept;

 private:
  friend class PrivateKey;
  PublicKey(KeyType type, std::unique_ptr<EVP_PKEY, PkeyDeleter> pkey) noexcept
      : type_(type), pkey_(std::move(pkey)) {}

  KeyType type_;
  std::unique_ptr<EVP_PKEY, PkeyDeleter> pkey_;
};

class PrivateKey {
 public:
  // Parses one PEM private key from pem (borrowed). password is used only if the key is
  // encrypted. Errors: kKeyPasswordRequired (encrypted, empty password), kWrongPassword
  // (encrypted, cannot decrypt with password), kMalformedKey (no key or bad encoding),
  // kUnsupportedKeyType, kKeyTooSmall (RSA < 2048 bits).
  static Result<PrivateKey, Error> from_pem(std::span<const uint8_t> pem,
                                            std::string_view password = {}) noexcept;
  // Reads and parses the PEM file at path; as from_pem() plus kFileOpenFailed /
  // kFileReadFailed. The file contents are wiped from memory after parsing.
  static Result<PrivateKey, Error> load_pem_file(std::string_view path,
                                                 std::string_view password = {}) noexcept;
  // Generates a key with libcrypto's private DRBG; rsa_bits (>= 2048) applies to kRsa only.
  static Result<PrivateKey, Error> generate(KeyType type, unsigned rsa_bits = 2048) noexcept;
  // Takes ownership of one reference to pkey (lib/crypto internal use); checks the type and
  // size as from_pem() does.
  static Result<PrivateKey, Error> adopt(EVP_PKEY* pkey) noexcept;

  PrivateKey(PrivateKey&&) noexcept = default;
  PrivateKey& operator=(PrivateKey&&) noexcept = default;

  KeyType type() const noexcept { return type_; }
  size_t bits() const noexcept;
  // Returns the largest signature this key can make, in bytes.
  size_t max_signature_len() const noexcept;
  // Returns the matching public key (it shares the libcrypto object, which is immutable).
  PublicKey public_key() const noexcept;
  // Returns the borrowed libcrypto key (lib/crypto internal use; still owned by this).
  EVP_PKEY* native() const noexcept { return pkey_.get(); }

 private:
  PrivateKey(KeyType type, std::unique_ptr<EVP_PKEY, PkeyDeleter> pkey) noexcept
      : type_(type), pkey_(std::move(pkey)) {}

  KeyType type_;
  std::unique_ptr<EVP_PKEY, PkeyDeleter> pkey_;
};

}  // namespace linetls::crypto
