// Time: the TSC for the data path, CLOCK_MONOTONIC for everything else.
//
// The TSC is read with rdtsc (invariant TSC assumed, as DPDK does). tsc_hz() is calibrated
// once against CLOCK_MONOTONIC on first use; call it at start-up, not on the data path.
#pragma once

#include <x86intrin.h>

#include <cstdint>

namespace linetls {

inline uint64_t tsc() noexcept { return __rdtsc(); }

// Ticks per second, calibrated once (about 20 ms the first time).
uint64_t tsc_hz() noexcept;

// CLOCK_MONOTONIC in nanoseconds.
uint64_t monotonic_ns() noexcept;

inline uint64_t tsc_to_ns(uint64_t ticks, uint64_t hz) noexcept {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(ticks) * 1000000000u / hz);
}
inline uint64_t ns_to_tsc(uint64_t ns, uint64_t hz) noexcept {
  return static_cast<uint64_t>(static_cast<unsigned __int128>(ns) * hz / 1000000000u);
}

}  // namespace linetls
