#include "lib/tls/v12/key_schedule12.h"

namespace linetls::tls::v12 {

namespace {

constexpr size_t kRandomLen = 32;

Error crypto_error(crypto::Error e) noexcept {
  // Every input here is ours (secrets we derived, hashes we computed): a failure is
  // libcrypto's or our bug, never the peer's.
  return e == crypto::Error::kInvalidArgument ? Error::kInternalError : Error::kCryptoFailure;
}

}  // namespace

Result<MasterSecret, Error> extended_master_secret(crypto::HashAlgo algo,
                                                   std::span<const uint8_t> pre_master_secret,
                                                   std::span<const uint8_t> session_hash) noexcept {
  if (session_hash.size() != crypto::hash_len(algo)) {
    return fail(Error::kInternalError);
  }
  auto ms = crypto::tls12_extended_master_secret(algo, pre_master_secret, session_hash);
  if (!ms) {
    return fail(crypto_error(ms.error()));
  }
  return std::move(ms).value();
}

Result<MasterSecret, Error> master_secret(crypto::HashAlgo algo,
                                          std::span<const uint8_t> pre_master_secret,
                                          std::span<const uint8_t> client_random,
                                          std::span<const uint8_t> server_random) noexcept {
  if (client_random.size() != kRandomLen || server_random.size() != kRandomLen) {
    return fail(Error::kInternalError);
  }
  // §8.1: "master_secret = PRF(pre_master_secret, "master secret", ClientHello.random +
  // ServerHello.random) [0..47];"
  MasterSecret ms;
  auto ok = crypto::tls12_prf(algo, pre_master_secret, "master secret", client_random,
                              server_random, ms.resize(crypto::kTls12MasterSecretLen));
  if (!ok) {
    return fail(crypto_error(ok.error()));
  }
  return ms;
}

Result<void, Error> key_block_bytes(const SuiteInfo& suite, std::span<const uint8_t> master_secret,
                                    std::span<const uint8_t> client_random,
                                    std::span<const uint8_t> server_random,
                                    KeyBlockBytes* out) noexcept {
  if (client_random.size() != kRandomLen || server_random.size() != kRandomLen ||
      master_secret.size() != crypto::kTls12MasterSecretLen || suite.key_len > kMaxKeyLen ||
      suite.fixed_iv_len > kMaxFixedIvLen) {
    return fail(Error::kInternalError);
  }
  // §6.3: "key_block = PRF(SecurityParameters.master_secret, "key expansion",
  // SecurityParameters.server_random + SecurityParameters.client_random);" AEAD suites have
  // mac_key_length 0 (§6.2.3.3), so the block is two keys and two fixed IVs.
  out->len = 2 * suite.key_len + 2 * suite.fixed_iv_len;
  auto ok = crypto::tls12_prf(suite.hash, master_secret, "key expansion", server_random,
                              client_random, {out->bytes, out->len});
  if (!ok) {
    return fail(crypto_error(ok.error()));
  }
  return {};
}

Result<KeyBlock, Error> derive_key_block(const SuiteInfo& suite,
                                         std::span<const uint8_t> master_secret,
                                         std::span<const uint8_t> client_random,
                                         std::span<const uint8_t> server_random) noexcept {
  KeyBlockBytes block;
  if (auto ok = key_block_bytes(suite, master_secret, client_random, server_random, &block); !ok) {
    return fail(ok.error());
  }
  std::span<const uint8_t> b(block.bytes, block.len);
  const size_t k = suite.key_len;
  const size_t iv = suite.fixed_iv_len;
  KeyBlock kb;
  kb.client_write.aead = suite.aead;
  kb.server_write.aead = suite.aead;
  kb.client_write.key.assign(b.subspan(0, k));
  kb.server_write.key.assign(b.subspan(k, k));
  kb.client_write.iv.assign(b.subspan(2 * k, iv));
  kb.server_write.iv.assign(b.subspan(2 * k + iv, iv));
  return kb;
}

Result<VerifyData, Error> finished_verify_data(crypto::HashAlgo algo,
                                               std::span<const uint8_t> master_secret,
                                               bool from_client,
                                               std::span<const uint8_t> handshake_hash) noexcept {
  if (master_secret.size() != crypto::kTls12MasterSecretLen ||
      handshake_hash.size() != crypto::hash_len(algo)) {
    return fail(Error::kInternalError);
  }
  VerifyData vd;
  auto ok = crypto::tls12_prf(algo, master_secret, from_client ? "client finished" : "server finished",
                              handshake_hash, {vd.bytes, kVerifyDataLen});
  if (!ok) {
    return fail(crypto_error(ok.error()));
  }
  return vd;
}

Result<void, Error> check_verify_data(const VerifyData& expected,
                                      std::span<const uint8_t> received) noexcept {
  if (!constant_time_equal(expected.view(), received)) {
    return fail(Error::kBadFinished);
  }
  return {};
}

}  // namespace linetls::tls::v12
