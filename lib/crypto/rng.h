// Randomness: the OS CSPRNG through libcrypto, and deterministic sources for tests.
//
// Everything that needs random bytes (TLS randoms, ephemeral keys, self-signed certificate
// serials) takes an Rng&, so a test can inject a script and replay a trace such as RFC 8448
// byte for byte. Production code uses OsRng.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "lib/base/result.h"
#include "lib/crypto/error.h"

namespace linetls::crypto {

class Rng {
 public:
  virtual ~Rng() = default;

  // Fills out with random bytes that may become public (randoms, nonces, serials).
  // On failure the contents of out are unspecified and must not be used.
  virtual Result<void, Error> fill(std::span<uint8_t> out) noexcept = 0;
  // Fills out with random bytes that become private key material.
  virtual Result<void, Error> fill_private(std::span<uint8_t> out) noexcept = 0;
};

// Bytes OsRng draws from libcrypto at a time, per thread and per kind (public, private).
inline constexpr size_t kOsRngPoolSize = 4096;

// The OS-seeded CSPRNG of libcrypto: RAND_bytes for public values, RAND_priv_bytes (a
// separate DRBG instance) for keys. libcrypto keeps its DRBGs per thread. A call costs about
// the same for 32 bytes as for 4 KiB, and a handshake draws several small pieces, so requests
// up to kOsRngPoolSize / 4 are served from a per-thread pool of each kind, refilled
// kOsRngPoolSize bytes at a time: each byte is handed out once and wiped from the pool as it
// goes, public and private bytes never share a pool, and a forked child drops the pools it
// inherited (pthread_atfork) rather than repeat its parent's bytes. The pools hold bytes
// that have not been used yet, as libcrypto's DRBG state determines the ones it has not
// produced yet. The object itself has no state, so one instance may be shared.
class OsRng final : public Rng {
 public:
  Result<void, Error> fill(std::span<uint8_t> out) noexcept override;
  Result<void, Error> fill_private(std::span<uint8_t> out) noexcept override;
};

// Returns a process-wide OsRng (it has no state of its own).
OsRng& os_rng() noexcept;

// Test source that hands out a fixed script of bytes in order; fill() and fill_private()
// draw from the same script. A request larger than what is left fails with kRngExhausted
// and consumes nothing.
class ScriptedRng final : public Rng {
 public:
  ScriptedRng() = default;
  // Copies script.
  explicit ScriptedRng(std::span<const uint8_t> script) : script_(script.begin(), script.end()) {}

  // Appends more bytes (copied) to the end of the script.
  void append(std::span<const uint8_t> bytes) {
    script_.insert(script_.end(), bytes.begin(), bytes.end());
  }
  // Returns the number of bytes not yet handed out.
  size_t remaining() const noexcept { return script_.size() - pos_; }

  Result<void, Error> fill(std::span<uint8_t> out) noexcept override;
  Result<void, Error> fill_private(std::span<uint8_t> out) noexcept override { return fill(out); }

 private:
  std::vector<uint8_t> script_;
  size_t pos_ = 0;
};

// Test source producing an endless deterministic stream from a seed: block i is
// SHA-256(seed_state || be64(i)). Reproducible across runs and machines; never use it for
// real keys.
class SeededRng final : public Rng {
 public:
  // seed is hashed into the 32-byte state, so any length works.
  explicit SeededRng(std::span<const uint8_t> seed) noexcept;
  explicit SeededRng(uint64_t seed) noexcept;

  Result<void, Error> fill(std::span<uint8_t> out) noexcept override;
  Result<void, Error> fill_private(std::span<uint8_t> out) noexcept override { return fill(out); }

 private:
  uint8_t state_[32] = {};
  uint64_t counter_ = 0;
  uint8_t block_[32] = {};
  size_t block_used_ = sizeof(block_);  // bytes of block_ already handed out
};

}  // namespace linetls::crypto
