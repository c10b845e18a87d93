// The TLS 1.2 key schedule for our AEAD suites: the master secret (RFC 7627 §4 extended, or
// RFC 5246 §8.1 for a client without the extension when ServerConfig12::ems_policy allows
// it), the key block (RFC 5246 §6.3) and Finished verify_data (RFC 5246 §7.4.9).
//
//   pre_master_secret (the ECDHE shared secret, RFC 8422 §5.10)
//        |  PRF(., "extended master secret", session_hash)[0..47]            (RFC 7627)
//        |  or PRF(., "master secret", client_random + server_random)[0..47] (RFC 5246 §8.1)
//        v
//   master_secret  --PRF(., "key expansion", server_random + client_random)--> key_block
//        |
//        +--PRF(., "client finished" / "server finished", Hash(handshake_messages))[0..11]
//
// The PRF hash is the suite's (SHA-256, or SHA-384 for the _SHA384 suites, RFC 5289 §3).
// libcrypto failures are kCryptoFailure; every secret is a wiping Secret.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/base/result.h"
#include "lib/base/secret.h"
#include "lib/crypto/hash.h"
#include "lib/tls/errors.h"
#include "lib/tls/v12/cipher_suite12.h"

namespace linetls::tls::v12 {

using crypto::MasterSecret;

// RFC 7627 §4: master_secret = PRF(pre_master_secret, "extended master secret",
// session_hash)[0..47], where session_hash = Hash(handshake_messages) up to and including
// ClientKeyExchange (§3), with the suite's PRF hash.
Result<MasterSecret, Error> extended_master_secret(crypto::HashAlgo algo,
                                                   std::span<const uint8_t> pre_master_secret,
                                                   std::span<const uint8_t> session_hash) noexcept;

// RFC 5246 §8.1: master_secret = PRF(pre_master_secret, "master secret",
// ClientHello.random + ServerHello.random)[0..47]. Only for a handshake without the RFC 7627
// extension (which binds the master secret to the whole handshake; without it a man in the
// middle can synchronise two sessions, RFC 7627 §1). Randoms must be 32 bytes each (else
// kInternalError).
Result<MasterSecret, Error> master_secret(crypto::HashAlgo algo,
                                          std::span<const uint8_t> pre_master_secret,
                                          std::span<const uint8_t> client_random,
                                          std::span<const uint8_t> server_random) noexcept;

inline constexpr size_t kMaxKeyLen = 32;
inline constexpr size_t kMaxFixedIvLen = 12;

// One direction's record keys: the AEAD key and the fixed IV (the 4-byte GCM salt, or the
// 12-byte ChaCha20-Poly1305 IV). Wiped on destruction.
struct DirectionKeys {
  crypto::AeadAlgo aead = crypto::AeadAlgo::kAes128Gcm;
  Secret<kMaxKeyLen> key;
  Secret<kMaxFixedIvLen> iv;
};

struct KeyBlock {
  DirectionKeys client_write;
  DirectionKeys server_write;
};

// Returns the key block cut into its parts (RFC 5246 §6.3): key_block = PRF(master_secret,
// "key expansion", server_random + client_random), read as client_write_MAC_key,
// server_write_MAC_key (both empty for AEAD suites), client_write_key, server_write_key,
// client_write_IV, server_write_IV. Randoms must be 32 bytes each (else kInternalError).
Result<KeyBlock, Error> derive_key_block(const SuiteInfo& suite,
                                         std::span<const uint8_t> master_secret,
                                         std::span<const uint8_t> client_random,
                                         std::span<const uint8_t> server_random) noexcept;

// Returns the bytes of the key block in one piece (2 * key_len + 2 * fixed_iv_len, at most
// 88), for known-answer tests and key logs.
struct KeyBlockBytes {
  uint8_t bytes[2 * kMaxKeyLen + 2 * kMaxFixedIvLen] = {};
  size_t len = 0;
  ~KeyBlockBytes() { secure_wipe(bytes); }
};
Result<void, Error> key_block_bytes(const SuiteInfo& suite, std::span<const uint8_t> master_secret,
                                    std::span<const uint8_t> client_random,
                                    std::span<const uint8_t> server_random,
                                    KeyBlockBytes* out) noexcept;

// RFC 5246 §7.4.9: "In previous versions of TLS, the verify_data was always 12 octets long.
// In the current version of TLS, it depends on the cipher suite." Every suite we implement
// (and every suite RFC 5246 defines) uses the default of 12.
inline constexpr size_t kVerifyDataLen = 12;

struct VerifyData {
  uint8_t bytes[kVerifyDataLen] = {};
  std::span<const uint8_t> view() const noexcept { return {bytes, kVerifyDataLen}; }
};

// RFC 5246 §7.4.9: verify_data = PRF(master_secret, finished_label,
// Hash(handshake_messages))[0..verify_data_length-1], finished_label "client finished" when
// from_client, else "server finished". handshake_hash is the transcript hash with the PRF
// hash, over every handshake message up to but not including this Finished (the client's
// Finished is part of what the server's covers).
Result<VerifyData, Error> finished_verify_data(crypto::HashAlgo algo,
                                               std::span<const uint8_t> master_secret,
                                               bool from_client,
                                               std::span<const uint8_t> handshake_hash) noexcept;

// Checks a received verify_data against the expected one in constant time: kBadFinished on
// mismatch (RFC 5246 §7.4.9: "Recipients of Finished messages MUST verify that the contents
// are correct"; the alert is decrypt_error).
Result<void, Error> check_verify_data(const VerifyData& expected,
                                      std::span<const uint8_t> received) noexcept;

}  // namespace linetls::tls::v12
