#include "lib/net/checksum_simd.h"

// GCC 12's AVX-512 intrinsics start from _mm*_undefined_*() values, which
// -Wmaybe-uninitialized reports once they are inlined (a known false positive: no undefined
// lane is ever read).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cstring>

// Why this works: a 32-bit little-endian word w = lo + 2^16 * hi, and 2^16 = 1 (mod 0xffff),
// so the one's complement sum of the 16-bit words is the sum of any wider words folded
// mod 0xffff (RFC 1071 section 2). The vector loops split each 32-bit lane into its low
// and high 16 bits and add those into 32-bit lanes: each add is at most 0xffff, so a lane
// takes 2^16 adds before it could carry out, and the loops stop well before that (kBlock).

namespace linetls::net::simd {

namespace {

// Folds a 64-bit sum to 16 bits, keeping its value mod 0xffff (and 0 only for 0).
inline uint16_t fold64(uint64_t s) noexcept {
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffffffu) + (s >> 32);
  s = (s & 0xffffu) + (s >> 16);
  s = (s & 0xffffu) + (s >> 16);
  s = (s & 0xffffu) + (s >> 16);
  return static_cast<uint16_t>(s);
}

inline uint64_t load64(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

inline uint32_t load32(const uint8_t* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return v;
}

// The unfolded sum of the words of [p, p + len), as 32-bit halves added into 64 bits: fine
// for any length below 2^34 bytes.
inline uint64_t scalar_acc(const uint8_t* p, size_t len) noexcept {
  uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  while (len >= 32) {
    uint64_t w0 = load64(p), w1 = load64(p + 8), w2 = load64(p + 16), w3 = load64(p + 24);
    a0 += (w0 & 0xffffffffu) + (w0 >> 32);
    a1 += (w1 & 0xffffffffu) + (w1 >> 32);
    a2 += (w2 & 0xffffffffu) + (w2 >> 32);
    a3 += (w3 & 0xffffffffu) + (w3 >> 32);
    p += 32;
    len -= 32;
  }
  uint64_t s = a0 + a1 + a2 + a3;
  while (len >= 8) {
    uint64_t w = load64(p);
    s += (w & 0xffffffffu) + (w >> 32);
    p += 8;
    len -= 8;
  }
  if (len >= 4) {
    s += load32(p);
    p += 4;
    len -= 4;
  }
  if (len >= 2) {
    uint16_t w;
    std::memcpy(&w, p, sizeof(w));
    s += w;
    p += 2;
    len -= 2;
  }
  if (len == 1) {
    s += *p;  // the low byte of a little-endian word whose high byte is the zero pad
  }
  return s;
}

// At most this many vectors per accumulator lane between folds (well under 2^16).
constexpr size_t kBlock = 1u << 14;

__attribute__((target("avx2"))) inline uint64_t hsum_avx2(__m256i lo, __m256i hi) noexcept {
  // Each lane of lo and hi is below 2^31: fold each to 17 bits so that adding them and then
  // the eight lanes cannot carry out of 32 bits.
  const __m256i mask = _mm256_set1_epi32(0xffff);
  lo = _mm256_add_epi32(_mm256_and_si256(lo, mask), _mm256_srli_epi32(lo, 16));
  hi = _mm256_add_epi32(_mm256_and_si256(hi, mask), _mm256_srli_epi32(hi, 16));
  __m256i v = _mm256_add_epi32(lo, hi);
  __m128i x = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(1, 0, 3, 2)));
  x = _mm_add_epi32(x, _mm_shuffle_epi32(x, _MM_SHUFFLE(2, 3, 0, 1)));
  return static_cast<uint32_t>(_mm_cvtsi128_si32(x));
}

__attribute__((target("avx512f"))) inline uint64_t hsum_avx512(__m512i lo, __m512i hi) noexcept {
  const __m512i mask = _mm512_set1_epi32(0xffff);
  lo = _mm512_add_epi32(_mm512_and_si512(lo, mask), _mm512_srli_epi32(lo, 16));
  hi = _mm512_add_epi32(_mm512_and_si512(hi, mask), _mm512_srli_epi32(hi, 16));
  return static_cast<uint32_t>(_mm512_reduce_add_epi32(_mm512_add_epi32(lo, hi)));
}

}  // namespace

uint16_t sum_scalar(const void* p, size_t len) noexcept {
  return fold64(scalar_acc(static_cast<const uint8_t*>(p), len));
}

__attribute__((target("avx2"))) uint16_t sum_avx2(const void* vp, size_t len) noexcept {
  const auto* p = static_cast<const uint8_t*>(vp);
  const __m256i mask = _mm256_set1_epi32(0xffff);
  uint64_t s = 0;
  while (len >= 64) {
    size_t pairs = len / 64 < kBlock ? len / 64 : kBlock;
    __m256i lo0 = _mm256_setzero_si256(), hi0 = _mm256_setzero_si256();
    __m256i lo1 = _mm256_setzero_si256(), hi1 = _mm256_setzero_si256();
    for (size_t i = 0; i < pairs; i++) {
      __m256i v0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
      __m256i v1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 32));
      lo0 = _mm256_add_epi32(lo0, _mm256_and_si256(v0, mask));
      hi0 = _mm256_add_epi32(hi0, _mm256_srli_epi32(v0, 16));
      lo1 = _mm256_add_epi32(lo1, _mm256_and_si256(v1, mask));
      hi1 = _mm256_add_epi32(hi1, _mm256_srli_epi32(v1, 16));
      p += 64;
    }
    len -= pairs * 64;
    s += hsum_avx2(_mm256_add_epi32(lo0, lo1), _mm256_add_epi32(hi0, hi1));
  }
  return fold64(s + scalar_acc(p, len));
}

__attribute__((target("avx512f"))) uint16_t sum_avx512(const void* vp, size_t len) noexcept {
  const auto* p = static_cast<const uint8_t*>(vp);
  const __m512i mask = _mm512_set1_epi32(0xffff);
  uint64_t s = 0;
  while (len >= 128) {
    size_t pairs = len / 128 < kBlock ? len / 128 : kBlock;
    __m512i lo0 = _mm512_setzero_si512(), hi0 = _mm512_setzero_si512();
    __m512i lo1 = _mm512_setzero_si512(), hi1 = _mm512_setzero_si512();
    for (size_t i = 0; i < pairs; i++) {
      __m512i v0 = _mm512_loadu_si512(p);
      __m512i v1 = _mm512_loadu_si512(p + 64);
      lo0 = _mm512_add_epi32(lo0, _mm512_and_si512(v0, mask));
      hi0 = _mm512_add_epi32(hi0, _mm512_srli_epi32(v0, 16));
      lo1 = _mm512_add_epi32(lo1, _mm512_and_si512(v1, mask));
      hi1 = _mm512_add_epi32(hi1, _mm512_srli_epi32(v1, 16));
      p += 128;
    }
    len -= pairs * 128;
    s += hsum_avx512(_mm512_add_epi32(lo0, lo1), _mm512_add_epi32(hi0, hi1));
  }
  if (len >= 64) {
    // One more 64-byte vector; what is left below 64 bytes goes to the scalar tail.
    __m512i v = _mm512_loadu_si512(p);
    s += hsum_avx512(_mm512_and_si512(v, mask), _mm512_srli_epi32(v, 16));
    p += 64;
    len -= 64;
  }
  return fold64(s + scalar_acc(p, len));
}

bool has_avx2() noexcept { return __builtin_cpu_supports("avx2") != 0; }

bool has_avx512() noexcept { return __builtin_cpu_supports("avx512f") != 0; }

namespace {

using SumFn = uint16_t (*)(const void*, size_t) noexcept;

struct Choice {
  SumFn fn;
  const char* name;
};

const Choice& choice() noexcept {
  static const Choice c = [] {
    if (has_avx512()) {
      return Choice{sum_avx512, "avx512"};
    }
    if (has_avx2()) {
      return Choice{sum_avx2, "avx2"};
    }
    return Choice{sum_scalar, "scalar"};
  }();
  return c;
}

}  // namespace

uint16_t native_sum(const void* p, size_t len) noexcept {
  if (len < 64) {
    return sum_scalar(p, len);  // headers and small segments: no vector set-up
  }
  return choice().fn(p, len);
}

const char* native_sum_impl() noexcept { return choice().name; }

}  // namespace linetls::net::simd
