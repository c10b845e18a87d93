// The one's complement sum over bytes, in native (little-endian) 16-bit words, as several
// implementations: a portable 64-bit one and AVX2 / AVX-512 ones chosen at run time by what
// the CPU has. lib/net/checksum.cc calls native_sum(); the others are here for the tests
// (each checked against a byte-wise reference for every length and alignment) and the
// benchmarks.
//
// Every function returns the folded 16-bit sum of the little-endian 16-bit words at p, an
// odd trailing byte padded with a zero byte after it (so it is the low byte of its word).
// The result is 0 only when every byte is 0 (a non-zero sum that is a multiple of 0xffff is
// 0xffff), the same as DPDK's rte_raw_cksum.
#pragma once

#include <cstddef>
#include <cstdint>

namespace linetls::net::simd {

// The portable one: 64-bit loads, 32-bit halves summed into 64-bit accumulators.
uint16_t sum_scalar(const void* p, size_t len) noexcept;

// Only when has_avx2() / has_avx512() (AVX-512 Foundation) say the CPU runs them.
uint16_t sum_avx2(const void* p, size_t len) noexcept;
uint16_t sum_avx512(const void* p, size_t len) noexcept;
bool has_avx2() noexcept;
bool has_avx512() noexcept;

// The best of the above for this CPU (decided once) and its name for logs and benchmarks:
// "avx512", "avx2" or "scalar".
uint16_t native_sum(const void* p, size_t len) noexcept;
const char* native_sum_impl() noexcept;

}  // namespace linetls::net::simd
