// drivers/ossl: crypto::AeadBatch over OpenSSL EVP, one op at a time.
//
// The reference implementation for cross-checks and the baseline in benchmarks. It does what
// an OpenSSL-based TLS stack does per record: each key owns an EVP_CIPHER_CTX keyed once
// (the key schedule is expanded in make_key); each op re-initialises only the nonce and
// direction (EVP_CipherInit_ex2 with no cipher and no key), feeds the AAD and every segment
// in place through EVP_CipherUpdate, and gets or sets the tag around EVP_CipherFinal_ex
// (whose tag check is constant time). The three EVP_CIPHERs are fetched once per batch
// object. Because a key holds cipher state, it must not be used by two threads at once.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <memory>
#include <span>

#include "lib/base/result.h"
#include "lib/crypto/aead.h"

namespace linetls::ossl {

class OsslAeadBatch final : public crypto::AeadBatch {
 public:
  // Returns a batch holding up to capacity ops, or kBadCapacity for capacity 0, kBackend if
  // a cipher cannot be fetched from the default provider, kNoMemory if allocation fails.
  static Result<std::unique_ptr<OsslAeadBatch>, crypto::AeadError> create(
      uint32_t capacity = crypto::kAeadDefaultCapacity) noexcept;
  ~OsslAeadBatch() override;

  const char* impl_name() const noexcept override { return impl_name_; }

  Result<crypto::AeadKeyPtr, crypto::AeadError> make_key(
      crypto::AeadAlgo algo, std::span<const uint8_t> key) noexcept override;

 private:
  OsslAeadBatch() noexcept;
  void process(std::span<Op> ops) noexcept override;
  // Runs one valid op and returns its status.
  crypto::AeadStatus process_one(const Op& op) noexcept;
  // Puts the ciphertext of an open whose tag did not verify back in place; false if
  // libcrypto failed (the caller wipes instead).
  bool restore(const Op& op) noexcept;

  std::array<EVP_CIPHER*, crypto::kNumAeadAlgos> ciphers_ = {};
  char impl_name_[64] = {};
};

}  // namespace linetls::ossl
