#include "lib/crypto/aead_once.h"

#include <climits>

#include "lib/base/secret.h"
#include "lib/crypto/ossl_util.h"

namespace linetls::crypto {

namespace {

using EvpCipherPtr = std::unique_ptr<EVP_CIPHER, ossl::Deleter<EVP_CIPHER_free>>;
using EvpCipherCtxPtr = std::unique_ptr<EVP_CIPHER_CTX, ossl::Deleter<EVP_CIPHER_CTX_free>>;

const char* cipher_name(AeadAlgo algo) noexcept {
  switch (algo) {
    case AeadAlgo::kAes128Gcm:
      return "AES-128-GCM";
    case AeadAlgo::kAes256Gcm:
      return "AES-256-GCM";
    case AeadAlgo::kChacha20Poly1305:
      return "ChaCha20-Poly1305";
  }
  return nullptr;
}

AeadStatus open(AeadAlgo algo, std::span<const uint8_t> key, const AeadNonce& nonce,
                std::span<const uint8_t> aad, std::span<uint8_t> data,
                const uint8_t* tag) noexcept {
  if (key.size() != aead_key_len(algo) || tag == nullptr || data.size() > INT_MAX ||
      aad.size() > INT_MAX) {
    return AeadStatus::kInvalid;
  }
  EvpCipherPtr cipher(EVP_CIPHER_fetch(nullptr, cipher_name(algo), nullptr));
  EvpCipherCtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  if (!cipher || !ctx ||
      EVP_DecryptInit_ex2(ctx.get(), cipher.get(), key.data(), nonce.data(), nullptr) != 1 ||
      (!aad.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &len, aad.data(),
                                         static_cast<int>(aad.size())) != 1) ||
      (!data.empty() && EVP_DecryptUpdate(ctx.get(), data.data(), &len, data.data(),
                                          static_cast<int>(data.size())) != 1) ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kAeadTagLen,
                          const_cast<uint8_t*>(tag)) != 1) {
    return AeadStatus::kInvalid;
  }
  // GCM and ChaCha20-Poly1305 are stream modes: Final writes nothing, it checks the tag.
  uint8_t unused[32];
  if (EVP_DecryptFinal_ex(ctx.get(), unused, &len) != 1) {
    return AeadStatus::kAuthFailed;
  }
  return AeadStatus::kOk;
}

}  // namespace

AeadStatus aead_open_once(AeadAlgo algo, std::span<const uint8_t> key, const AeadNonce& nonce,
                          std::span<const uint8_t> aad, std::span<uint8_t> data,
                          const uint8_t* tag) noexcept {
  const AeadStatus status = open(algo, key, nonce, aad, data, tag);
  if (status != AeadStatus::kOk) {
    ERR_clear_error();
    secure_wipe(data);  // unauthenticated plaintext is never left behind
  }
  return status;
}

}  // namespace linetls::crypto
