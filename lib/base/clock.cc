#include "lib/base/clock.h"

#include <time.h>

namespace linetls {

uint64_t monotonic_ns() noexcept {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

namespace {
uint64_t calibrate() noexcept {
  const uint64_t t0 = monotonic_ns();
  const uint64_t c0 = tsc();
  timespec req{0, 20 * 1000 * 1000};
  nanosleep(&req, nullptr);
  const uint64_t t1 = monotonic_ns();
  const uint64_t c1 = tsc();
  const uint64_t dt = t1 - t0;
  return dt == 0 ? 1 : static_cast<uint64_t>(static_cast<unsigned __int128>(c1 - c0) *
                                              1000000000u / dt);
}
}  // namespace

uint64_t tsc_hz() noexcept {
  static const uint64_t hz = calibrate();  // Start-up only; thread-safe init.
  return hz;
}

}  // namespace linetls
