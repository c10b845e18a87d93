#include "lib/base/clock.h"

#include <gtest/gtest.h>

namespace linetls {
namespace {

TEST(Clock, TscAdvancesAndCalibrates) {
  const uint64_t hz = tsc_hz();
  EXPECT_GT(hz, 100'000'000u);  // any x86 TSC this code runs on ticks faster than 100 MHz
  const uint64_t a = tsc();
  const uint64_t b = tsc();
  EXPECT_GE(b, a);
}

TEST(Clock, ConversionsRoundTrip) {
  const uint64_t hz = 2'500'000'000u;
  EXPECT_EQ(tsc_to_ns(hz, hz), 1'000'000'000u);
  EXPECT_EQ(ns_to_tsc(1'000, hz), 2'500u);
  // No overflow for an hour of ticks.
  EXPECT_EQ(tsc_to_ns(hz * 3600, hz), 3600'000'000'000u);
}

TEST(Clock, MonotonicNeverGoesBack) {
  uint64_t prev = monotonic_ns();
  for (int i = 0; i < 1000; i++) {
    uint64_t now = monotonic_ns();
    ASSERT_GE(now, prev);
    prev = now;
  }
}

}  // namespace
}  // namespace linetls
