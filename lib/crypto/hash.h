// Hashing, HMAC, HKDF and the TLS 1.2 PRF over libcrypto.
//
// Hash is the incremental, cloneable digest the TLS transcript uses; digest() reads the
// running value without finalising it. Hmac is keyed once and reused. HKDF (RFC 5869),
// HKDF-Expand-Label / Derive-Secret (RFC 8446 §7.1) and the TLS 1.2 PRF (RFC 5246 §5) are
// built here on Hmac: they are protocol constructions, not primitives.
//
// SHA-256 / SHA-384 are libcrypto's (its low-level functions: see hash.cc); every state
// belongs to one object, so nothing mutable is shared. Functions are noexcept and report
// libcrypto failures as Error::kInternal.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>

#include "lib/base/result.h"
#include "lib/base/secret.h"
#include "lib/crypto/error.h"
#include "lib/crypto/ossl_fwd.h"

namespace linetls::crypto {

enum class HashAlgo : uint8_t { kSha256, kSha384 };

inline constexpr size_t kMaxHashLen = 48;

// Returns the output length of algo in bytes (32 or 48).
constexpr size_t hash_len(HashAlgo algo) noexcept { return algo == HashAlgo::kSha256 ? 32 : 48; }

// lib/crypto internal: a running SHA-256 / SHA-384 state and an HMAC's keyed states.
struct ShaState;
struct HmacState;
struct ShaStateDeleter {
  void operator()(ShaState* s) const noexcept;
};
struct HmacStateDeleter {
  void operator()(HmacState* s) const noexcept;  // wipes it first
};

// A hash or MAC value that is not itself key material: transcript hashes, fingerprints,
// Finished verify_data. Compare MACs with constant_time_equal().
struct Digest {
  std::array<uint8_t, kMaxHashLen> bytes{};
  size_t len = 0;

  std::span<const uint8_t> view() const noexcept { return {bytes.data(), len}; }
};

// Key material the size of a hash output: PRKs, handshake and traffic secrets.
using HashSecret = Secret<kMaxHashLen>;

// An incremental SHA-256 / SHA-384 computation. Move-only; clone() copies explicitly.
class Hash {
 public:
  // Returns a fresh hash of algo, or kInternal if libcrypto cannot provide it.
  static Result<Hash, Error> create(HashAlgo algo) noexcept;

  Hash(Hash&&) noexcept = default;
  Hash& operator=(Hash&&) noexcept = default;

  HashAlgo algo() const noexcept { return algo_; }
  size_t size() const noexcept { return hash_len(algo_); }

  // Absorbs data (borrowed for the call only).
  Result<void, Error> update(std::span<const uint8_t> data) noexcept;
  // Returns the hash of everything absorbed so far; the running state is left untouched,
  // so more data may follow.
  Result<Digest, Error> digest() const noexcept;
  // Returns an independent copy of the running state.
  Result<Hash, Error> clone() const noexcept;
  // Forgets everything absorbed; the hash is as if newly created.
  Result<void, Error> reset() noexcept;

 private:
  Hash(HashAlgo algo, std::unique_ptr<ShaState, ShaStateDeleter> state) noexcept
      : algo_(algo), state_(std::move(state)) {}

  HashAlgo algo_;
  std::unique_ptr<ShaState, ShaStateDeleter> state_;
};

// The TLS handshake transcript is a running Hash of the handshake messages.
using Transcript = Hash;

// RFC 8446 §4.4.1: after a HelloRetryRequest, replaces the transcript of ClientHello1 with
// the synthetic message_hash message (type 254, 00 00, Hash.length, Hash(ClientHello1)).
// *transcript must hold exactly ClientHello1 when called.
Result<void, Error> restart_with_message_hash(Transcript* transcript) noexcept;

// Returns Hash(data) in one call.
Result<Digest, Error> hash(HashAlgo algo, std::span<const uint8_t> data) noexcept;

// HMAC (RFC 2104) keyed once. Move-only.
class Hmac {
 public:
  // Returns an HMAC-algo keyed with key (copied into libcrypto's context; the caller keeps
  // and wipes its own copy). An empty key is allowed.
  static Result<Hmac, Error> create(HashAlgo algo, std::span<const uint8_t> key) noexcept;

  Hmac(Hmac&&) noexcept = default;
  Hmac& operator=(Hmac&&) noexcept = default;

  HashAlgo algo() const noexcept { return algo_; }
  size_t size() const noexcept { return hash_len(algo_); }

  // Absorbs data (borrowed for the call only).
  Result<void, Error> update(std::span<const uint8_t> data) noexcept;
  // Writes the MAC (size() bytes) to the front of out, which must hold at least size()
  // bytes (else kOutputTooSmall), then rearms the same key for the next message.
  Result<void, Error> finish(std::span<uint8_t> out) noexcept;
  // Returns the MAC, then rearms the same key for the next message.
  Result<Digest, Error> finish() noexcept;

 private:
  Hmac(HashAlgo algo) noexcept : algo_(algo) {}

  HashAlgo algo_;
  // RFC 2104 over SHA states rather than EVP_MAC (libcrypto 3.0's HMAC provider fetches its
  // digest by name on every EVP_MAC_init): the states after K0 ^ ipad and K0 ^ opad are kept,
  // so each MAC costs its message blocks and two final blocks.
  std::unique_ptr<HmacState, HmacStateDeleter> state_;
};

// Returns HMAC-algo(key, data) in one call.
Result<Digest, Error> hmac(HashAlgo algo, std::span<const uint8_t> key,
                           std::span<const uint8_t> data) noexcept;

// HKDF-Extract(salt, IKM) (RFC 5869 §2.2). An empty salt means Hash.length zero bytes.
// Returns the PRK (Hash.length bytes).
Result<HashSecret, Error> hkdf_extract(HashAlgo algo, std::span<const uint8_t> salt,
                                       std::span<const uint8_t> ikm) noexcept;

// HKDF-Expand(PRK, info, L) (RFC 5869 §2.3) with L = out.size(), written to out.
// kInvalidArgument if L > 255 * Hash.length or prk is shorter than Hash.length.
// out must not alias prk or info.
Result<void, Error> hkdf_expand(HashAlgo algo, std::span<const uint8_t> prk,
                                std::span<const uint8_t> info, std::span<uint8_t> out) noexcept;

// HKDF-Expand-Label(Secret, Label, Context, Length) (RFC 8446 §7.1) with Length =
// out.size(). label is given without the "tls13 " prefix, which is added here.
// kInvalidArgument if the prefixed label exceeds 255 bytes, context exceeds 255 bytes, or
// Length exceeds 65535. out must not alias secret or context.
Result<void, Error> hkdf_expand_label(HashAlgo algo, std::span<const uint8_t> secret,
                                      std::string_view label, std::span<const uint8_t> context,
                                      std::span<uint8_t> out) noexcept;

// Derive-Secret(Secret, Label, Messages) (RFC 8446 §7.1) where transcript_hash is
// Transcript-Hash(Messages). Returns Hash.length bytes.
Result<HashSecret, Error> derive_secret(HashAlgo algo, std::span<const uint8_t> secret,
                                        std::string_view label,
                                        std::span<const uint8_t> transcript_hash) noexcept;

// The same two, with the secret already keyed into prk (Hmac::create(algo, secret)): when
// several labels are expanded from one secret (a traffic secret's key and iv, a key
// schedule stage's secrets), its HMAC pads are computed once instead of per label. prk is
// rearmed after each call.
Result<void, Error> hkdf_expand_label(Hmac& prk, std::string_view label,
                                      std::span<const uint8_t> context,
                                      std::span<uint8_t> out) noexcept;
Result<HashSecret, Error> derive_secret(Hmac& secret, std::string_view label,
                                        std::span<const uint8_t> transcript_hash) noexcept;

// The TLS 1.2 PRF (RFC 5246 §5): P_<hash>(secret, label + seed), writing out.size() bytes.
// out must not alias the inputs.
Result<void, Error> tls12_prf(HashAlgo algo, std::span<const uint8_t> secret,
                              std::string_view label, std::span<const uint8_t> seed,
                              std::span<uint8_t> out) noexcept;
// The same with seed = seed_a + seed_b (e.g. client_random + server_random).
Result<void, Error> tls12_prf(HashAlgo algo, std::span<const uint8_t> secret,
                              std::string_view label, std::span<const uint8_t> seed_a,
                              std::span<const uint8_t> seed_b, std::span<uint8_t> out) noexcept;

inline constexpr size_t kTls12MasterSecretLen = 48;
using MasterSecret = Secret<kTls12MasterSecretLen>;

// RFC 7627 §4: master_secret = PRF(pre_master_secret, "extended master secret",
// session_hash)[0..47], where session_hash is the transcript hash up to and including
// ClientKeyExchange.
Result<MasterSecret, Error> tls12_extended_master_secret(
    HashAlgo algo, std::span<const uint8_t> pre_master_secret,
    std::span<const uint8_t> session_hash) noexcept;

}  // namespace linetls::crypto
