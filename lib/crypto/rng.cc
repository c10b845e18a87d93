#include "lib/crypto/rng.h"

#include <openssl/err.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <climits>
#include <cstring>

#include "lib/base/secret.h"

#include "lib/crypto/hash.h"

namespace linetls::crypto {
namespace {

// RAND_bytes takes an int length; larger requests are split.
template <int (*kRand)(unsigned char*, int)>
Result<void, Error> rand_fill(std::span<uint8_t> out) noexcept {
  while (!out.empty()) {
    const size_t n = std::min<size_t>(out.size(), INT_MAX);
    if (kRand(out.data(), static_cast<int>(n)) != 1) {
      ERR_clear_error();
      return fail(Error::kRngFailed);
    }
    out = out.subspan(n);
  }
  return {};
}

// Bumped in a forked child: every thread's pools are stale there (they are copies of the
// parent's, which the parent will hand out too).
std::atomic<uint64_t> g_fork_generation{0};

void on_fork_child() noexcept { g_fork_generation.fetch_add(1, std::memory_order_relaxed); }

// Bytes drawn from one libcrypto DRBG kOsRngPoolSize at a time for one thread. A byte is
// handed out once and wiped as it goes, so the pool holds only bytes nobody has seen.
template <int (*kRand)(unsigned char*, int)>
struct Pool {
  uint8_t bytes[kOsRngPoolSize];
  size_t used = kOsRngPoolSize;  // bytes[used..] are unread
  uint64_t generation = 0;

  ~Pool() { secure_wipe(bytes); }

  Result<void, Error> fill(std::span<uint8_t> out) noexcept {
    if (out.empty()) {
      return {};  // (memcpy from or to a null span is undefined)
    }
    if (out.size() > kOsRngPoolSize / 4) {
      return rand_fill<kRand>(out);  // large requests gain nothing from the pool
    }
    const uint64_t gen = g_fork_generation.load(std::memory_order_relaxed);
    if (gen != generation) {
      secure_wipe(bytes);
      used = kOsRngPoolSize;
      generation = gen;
    }
    if (kOsRngPoolSize - used < out.size()) {
      if (Result<void, Error> r = rand_fill<kRand>(bytes); !r) {
        used = kOsRngPoolSize;
        return r;
      }
      used = 0;
    }
    std::memcpy(out.data(), bytes + used, out.size());
    secure_wipe({bytes + used, out.size()});
    used += out.size();
    return {};
  }
};

template <int (*kRand)(unsigned char*, int)>
Pool<kRand>& pool() noexcept {
  static const bool registered = pthread_atfork(nullptr, nullptr, on_fork_child) == 0;
  (void)registered;
  thread_local Pool<kRand> p;
  return p;
}

}  // namespace

Result<void, Error> OsRng::fill(std::span<uint8_t> out) noexcept {
  return pool<RAND_bytes>().fill(out);
}

Result<void, Error> OsRng::fill_private(std::span<uint8_t> out) noexcept {
  return pool<RAND_priv_bytes>().fill(out);
}

OsRng& os_rng() noexcept {
  static OsRng rng;
  return rng;
}

Result<void, Error> ScriptedRng::fill(std::span<uint8_t> out) noexcept {
  if (out.size() > remaining()) {
    return fail(Error::kRngExhausted);
  }
  if (!out.empty()) {
    std::memcpy(out.data(), script_.data() + pos_, out.size());
  }
  pos_ += out.size();
  return {};
}

SeededRng::SeededRng(std::span<const uint8_t> seed) noexcept {
  Result<Digest, Error> d = hash(HashAlgo::kSha256, seed);
  if (d) {
    std::memcpy(state_, d->bytes.data(), sizeof(state_));
  }
}

SeededRng::SeededRng(uint64_t seed) noexcept {
  uint8_t be[8];
  for (int i = 0; i < 8; i++) {
    be[i] = static_cast<uint8_t>(seed >> (56 - 8 * i));
  }
  *this = SeededRng(std::span<const uint8_t>(be));
}

Result<void, Error> SeededRng::fill(std::span<uint8_t> out) noexcept {
  while (!out.empty()) {
    if (block_used_ == sizeof(block_)) {
      uint8_t input[sizeof(state_) + 8];
      std::memcpy(input, state_, sizeof(state_));
      for (int i = 0; i < 8; i++) {
        input[sizeof(state_) + i] = static_cast<uint8_t>(counter_ >> (56 - 8 * i));
      }
      Result<Digest, Error> d = hash(HashAlgo::kSha256, input);
      if (!d) {
        return fail(Error::kRngFailed);
      }
      std::memcpy(block_, d->bytes.data(), sizeof(block_));
      block_used_ = 0;
      counter_++;
    }
    const size_t take = std::min(out.size(), sizeof(block_) - block_used_);
    std::memcpy(out.data(), block_ + block_used_, take);
    block_used_ += take;
    out = out.subspan(take);
  }
  return {};
}

}  // namespace linetls::crypto
