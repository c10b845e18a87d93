#include "lib/crypto/rng.h"

#include <openssl/err.h>
#include <openssl/rand.h>

#include <algorithm>
#include <climits>
#include <cstring>

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

}  // namespace

Result<void, Error> OsRng::fill(std::span<uint8_t> out) noexcept {
  return rand_fill<RAND_bytes>(out);
}

Result<void, Error> OsRng::fill_private(std::span<uint8_t> out) noexcept {
  return rand_fill<RAND_priv_bytes>(out);
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
