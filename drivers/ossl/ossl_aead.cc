#include "drivers/ossl/ossl_aead.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <climits>
#include <cstdio>
#include <new>

#include "lib/base/secret.h"

namespace linetls::ossl {

using crypto::AeadAlgo;
using crypto::AeadError;
using crypto::AeadKeyPtr;
using crypto::AeadStatus;
using crypto::IoSeg;
using crypto::kAeadTagLen;

namespace {

constexpr uint32_t kBackendId = 0x4f53534c;  // "OSSL"

// Each segment is at most kAeadMaxLen bytes, which EVP_CipherUpdate's int length holds.
static_assert(crypto::kAeadMaxLen <= INT_MAX);

constexpr const char* kCipherNames[crypto::kNumAeadAlgos] = {"AES-128-GCM", "AES-256-GCM",
                                                             "ChaCha20-Poly1305"};

struct OsslKey final : crypto::AeadKey {
  OsslKey(AeadAlgo algo, EVP_CIPHER_CTX* c) noexcept : AeadKey(algo, kBackendId), ctx(c) {}
  ~OsslKey() override { EVP_CIPHER_CTX_free(ctx); }  // cleanses the key schedule

  EVP_CIPHER_CTX* ctx;
};

}  // namespace

OsslAeadBatch::OsslAeadBatch() noexcept : AeadBatch(kBackendId) {}

OsslAeadBatch::~OsslAeadBatch() {
  for (EVP_CIPHER* c : ciphers_) {
    EVP_CIPHER_free(c);
  }
}

Result<std::unique_ptr<OsslAeadBatch>, AeadError> OsslAeadBatch::create(
    uint32_t capacity) noexcept {
  if (capacity == 0) {
    return fail(AeadError::kBadCapacity);
  }
  std::unique_ptr<OsslAeadBatch> batch(new (std::nothrow) OsslAeadBatch());
  if (batch == nullptr || !batch->reserve(capacity)) {
    return fail(AeadError::kNoMemory);
  }
  for (size_t i = 0; i < crypto::kNumAeadAlgos; i++) {
    batch->ciphers_[i] = EVP_CIPHER_fetch(nullptr, kCipherNames[i], nullptr);
    if (batch->ciphers_[i] == nullptr) {
      ERR_clear_error();
      return fail(AeadError::kBackend);
    }
  }
  std::snprintf(batch->impl_name_, sizeof(batch->impl_name_), "%s EVP",
                OpenSSL_version(OPENSSL_VERSION));
  return batch;
}

Result<AeadKeyPtr, AeadError> OsslAeadBatch::make_key(AeadAlgo algo,
                                                      std::span<const uint8_t> key) noexcept {
  if (key.size() != crypto::aead_key_len(algo)) {
    return fail(AeadError::kBadKeyLength);
  }
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) {
    return fail(AeadError::kNoMemory);
  }
  // Expands the key now; every op later supplies only the nonce and the direction.
  if (EVP_CipherInit_ex2(ctx, ciphers_[static_cast<size_t>(algo)], key.data(), nullptr, 1,
                         nullptr) != 1) {
    EVP_CIPHER_CTX_free(ctx);
    ERR_clear_error();
    return fail(AeadError::kBackend);
  }
  auto* k = new (std::nothrow) OsslKey(algo, ctx);
  if (k == nullptr) {
    EVP_CIPHER_CTX_free(ctx);
    return fail(AeadError::kNoMemory);
  }
  return AeadKeyPtr(k);
}

void OsslAeadBatch::process(std::span<Op> ops) noexcept {
  for (Op& op : ops) {
    if (op.status != AeadStatus::kPending) {
      continue;
    }
    op.status = process_one(op);
    // aead.h: a failed open gets its ciphertext back (the keystream applied a second time);
    // anything else that went wrong is wiped.
    if (op.dir == Dir::kOpen && op.status != AeadStatus::kOk &&
        (op.status != AeadStatus::kAuthFailed || !restore(op))) {
      for (const IoSeg& seg : op.segs) {
        secure_wipe({seg.data, seg.len});
      }
    }
  }
}

bool OsslAeadBatch::restore(const Op& op) noexcept {
  // GCM and ChaCha20-Poly1305 encrypt and decrypt with the same keystream XOR: encrypting the
  // wrongly decrypted bytes under the same key and nonce gives the ciphertext again. The tag
  // this computes is discarded.
  EVP_CIPHER_CTX* ctx = static_cast<const OsslKey*>(op.key)->ctx;
  int out_len = 0;
  if (EVP_CipherInit_ex2(ctx, nullptr, nullptr, op.nonce.data(), 1, nullptr) != 1) {
    ERR_clear_error();
    return false;
  }
  for (const IoSeg& seg : op.segs) {
    if (seg.len != 0 &&
        EVP_CipherUpdate(ctx, seg.data, &out_len, seg.data, static_cast<int>(seg.len)) != 1) {
      ERR_clear_error();
      return false;
    }
  }
  uint8_t unused[32];
  if (EVP_CipherFinal_ex(ctx, unused, &out_len) != 1) {
    ERR_clear_error();
    return false;
  }
  return true;
}

AeadStatus OsslAeadBatch::process_one(const Op& op) noexcept {
  EVP_CIPHER_CTX* ctx = static_cast<const OsslKey*>(op.key)->ctx;
  const bool seal = op.dir == Dir::kSeal;
  int out_len = 0;
  if (EVP_CipherInit_ex2(ctx, nullptr, nullptr, op.nonce.data(), seal ? 1 : 0, nullptr) != 1) {
    ERR_clear_error();
    return AeadStatus::kInvalid;
  }
  if (!op.aad.empty() && EVP_CipherUpdate(ctx, nullptr, &out_len, op.aad.data(),
                                          static_cast<int>(op.aad.size())) != 1) {
    ERR_clear_error();
    return AeadStatus::kInvalid;
  }
  for (const IoSeg& seg : op.segs) {
    if (seg.len != 0 &&
        EVP_CipherUpdate(ctx, seg.data, &out_len, seg.data, static_cast<int>(seg.len)) != 1) {
      ERR_clear_error();
      return AeadStatus::kInvalid;
    }
  }
  if (!seal && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, kAeadTagLen, op.tag) != 1) {
    ERR_clear_error();
    return AeadStatus::kInvalid;
  }
  // GCM and ChaCha20-Poly1305 are stream modes: Final writes no bytes (the block is a guard).
  uint8_t unused[32];
  if (EVP_CipherFinal_ex(ctx, unused, &out_len) != 1) {
    ERR_clear_error();
    return seal ? AeadStatus::kInvalid : AeadStatus::kAuthFailed;
  }
  if (seal && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, kAeadTagLen, op.tag) != 1) {
    ERR_clear_error();
    return AeadStatus::kInvalid;
  }
  return AeadStatus::kOk;
}

}  // namespace linetls::ossl
