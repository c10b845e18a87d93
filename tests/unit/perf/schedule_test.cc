#include "apps/linetls-perf/schedule.h"

#include <random>

#include <gtest/gtest.h>

namespace linetls::perf {
namespace {

constexpr uint64_t kSec = 1'000'000'000;
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kT0 = 5 * kSec;  // an arbitrary clock value at start()

TEST(Schedule, ClosedLoopFillsUpToConcurrency) {
  Schedule s = Schedule::closed(64);
  EXPECT_FALSE(s.is_open());
  EXPECT_EQ(s.limit(), 64u);
  s.start(kT0);
  EXPECT_EQ(s.due(kT0, 0), 64u);
  EXPECT_EQ(s.first_due(), 0u);
  EXPECT_EQ(s.due(kT0 + 1, 60), 4u);
  EXPECT_EQ(s.first_due(), 64u);
  EXPECT_EQ(s.intended_ns(64), kT0 + 1);  // closed loop: the time of the last due()
  EXPECT_EQ(s.due(kT0 + 2, 64), 0u);
  EXPECT_EQ(s.due(kT0 + 3, 100), 0u);  // above the concurrency: never negative
  EXPECT_EQ(s.started(), 68u);
  EXPECT_EQ(s.late(), 0u);
  EXPECT_EQ(s.skipped(), 0u);
}

TEST(Schedule, OpenLoopReturnsNothingBeforeStart) {
  Schedule s = Schedule::open(1000, 100);
  EXPECT_TRUE(s.is_open());
  EXPECT_EQ(s.due(kT0, 0), 0u);
  s.start(kT0);
  EXPECT_EQ(s.due(kT0 - 1, 0), 0u);  // a clock before start: nothing yet
  EXPECT_EQ(s.due(kT0, 0), 1u);      // start 0 is due at start
}

TEST(Schedule, OnePerSecond) {
  Schedule s = Schedule::open(1, 10);
  s.start(kT0);
  EXPECT_EQ(s.due(kT0, 0), 1u);
  EXPECT_EQ(s.first_due(), 0u);
  EXPECT_EQ(s.due(kT0 + kSec - 1, 0), 0u);
  EXPECT_EQ(s.due(kT0 + kSec, 0), 1u);
  EXPECT_EQ(s.first_due(), 1u);
  EXPECT_EQ(s.intended_ns(1), kT0 + kSec);
  EXPECT_EQ(s.due(kT0 + kSec, 0), 0u);  // already handed out
  EXPECT_EQ(s.due(kT0 + 3 * kSec + kSec / 2, 0), 2u);
  EXPECT_EQ(s.first_due(), 2u);
  EXPECT_EQ(s.started(), 4u);
}

// Steps the clock from start to start + total_ns by step_ns and checks that every start is
// handed out exactly once, in order, at or after its intended time and no later than the
// first step that reaches it.
void simulate(double rate, uint64_t step_ns, uint64_t total_ns, uint64_t want_total) {
  Schedule s = Schedule::open(rate, UINT32_MAX);
  s.start(kT0);
  uint64_t next = 0;
  uint64_t prev_now = 0;
  for (uint64_t t = 0; t <= total_ns; t += step_ns) {
    const uint64_t now = kT0 + t;
    const uint32_t n = s.due(now, 0);
    if (n > 0) {
      ASSERT_EQ(s.first_due(), next);
      ASSERT_LE(s.intended_ns(next + n - 1), now);
      if (t > 0) {
        ASSERT_GT(s.intended_ns(next), prev_now);
      }
    }
    ASSERT_GT(s.intended_ns(next + n), now);
    next += n;
    prev_now = now;
  }
  EXPECT_EQ(next, want_total) << "rate " << rate;
  EXPECT_EQ(s.started(), want_total);
  EXPECT_EQ(s.skipped(), 0u);
}

TEST(Schedule, ExactCountsAtSeveralRates) {
  // Starts at 0, 1/R, ..., total: total * R + 1 of them.
  simulate(1, 10 * kMs, 60 * kSec, 61);
  simulate(1000, 100'000, 10 * kSec, 10'001);
  simulate(1e6, kMs, 2 * kSec, 2'000'001);
  simulate(1e6, 333'333, kSec - 1, 1'000'000);
  simulate(0.5, 100 * kMs, 10 * kSec, 6);
  simulate(3, 5 * kMs, kSec, 4);  // 0, 1/3, 2/3 and 1 s
  simulate(3, 7 * kMs, kSec, 3);  // the last step is at 994 ms
}

TEST(Schedule, IntendedTimesAreExact) {
  Schedule s = Schedule::open(3, 1);
  s.start(kT0);
  EXPECT_EQ(s.intended_ns(0), kT0);
  EXPECT_EQ(s.intended_ns(1), kT0 + 333'333'333);
  EXPECT_EQ(s.intended_ns(2), kT0 + 666'666'666);
  EXPECT_EQ(s.intended_ns(3), kT0 + kSec);
  // An hour later, still on the exact third of a second (no accumulated rounding).
  EXPECT_EQ(s.intended_ns(3 * 3600), kT0 + 3600 * kSec);
  EXPECT_EQ(s.intended_ns(3 * 3600 + 1), kT0 + 3600 * kSec + 333'333'333);

  Schedule half = Schedule::open(0.5, 1);
  half.start(0);
  EXPECT_DOUBLE_EQ(half.rate(), 0.5);
  EXPECT_EQ(half.intended_ns(1), 2 * kSec);
  EXPECT_EQ(Schedule::open(1000, 1).rate(), 1000.0);
}

// 1e9 simulated seconds (31 years) in steps, at rates whose period is not a whole number of
// nanoseconds: the count handed out is exactly rate * time + 1 at the end.
TEST(Schedule, NoDriftOverABillionSeconds) {
  const uint64_t total_s = 1'000'000'000;
  for (double rate : {3.0, 7.0, 1000.0, 1e6}) {
    Schedule s = Schedule::open(rate, UINT32_MAX);
    s.start(kT0);
    const uint64_t step = 1000 * kSec;
    uint64_t handed = 0;
    for (uint64_t t = 0; t <= total_s * kSec; t += step) {
      handed += s.due(kT0 + t, 0);
    }
    const uint64_t want = static_cast<uint64_t>(rate) * total_s + 1;
    EXPECT_EQ(handed, want) << rate;
    EXPECT_EQ(s.intended_ns(want - 1), kT0 + total_s * kSec) << rate;
    EXPECT_EQ(s.skipped(), 0u);
  }
}

TEST(Schedule, NoDriftWithIrregularSteps) {
  std::mt19937_64 rng(11);
  std::uniform_int_distribution<uint64_t> step(1, 10 * kSec);
  Schedule s = Schedule::open(7, UINT32_MAX);
  s.start(kT0);
  uint64_t t = 0;
  uint64_t handed = 0;
  const uint64_t end = 1'000'000 * kSec;
  while (t < end) {
    t = std::min(end, t + step(rng));
    handed += s.due(kT0 + t, 0);
  }
  EXPECT_EQ(handed, 7'000'001u);
}

TEST(Schedule, StartsBeyondTheCapAreSkipped) {
  Schedule s = Schedule::open(1000, 10);
  EXPECT_EQ(s.limit(), 10u);
  s.start(kT0);
  // One second in one step: starts 0..1000 are due; 10 fit; the earliest are returned.
  EXPECT_EQ(s.due(kT0 + kSec, 0), 10u);
  EXPECT_EQ(s.first_due(), 0u);
  EXPECT_EQ(s.skipped(), 991u);
  EXPECT_EQ(s.late(), 10u);  // intended 0..9 ms, returned at 1 s
  // Still at the cap: the next start due is skipped, never returned later.
  EXPECT_EQ(s.due(kT0 + kSec + kMs, 10), 0u);
  EXPECT_EQ(s.skipped(), 992u);
  EXPECT_EQ(s.due(kT0 + kSec + kMs, 0), 0u);  // nothing new due
  // Room for 3, 2 due: both returned, from where the schedule is now.
  EXPECT_EQ(s.due(kT0 + kSec + 3 * kMs, 7), 2u);
  EXPECT_EQ(s.first_due(), 1002u);
  EXPECT_EQ(s.intended_ns(1002), kT0 + kSec + 2 * kMs);
  EXPECT_EQ(s.skipped(), 992u);
  EXPECT_EQ(s.started(), 12u);
  // Above the cap (in_flight may exceed it after a --connections change): no room.
  EXPECT_EQ(s.due(kT0 + 2 * kSec, 11), 0u);
  EXPECT_EQ(s.skipped(), 992u + 997u);
}

TEST(Schedule, ZeroCapSkipsEverything) {
  Schedule s = Schedule::open(10, 0);
  s.start(kT0);
  EXPECT_EQ(s.due(kT0 + kSec, 0), 0u);
  EXPECT_EQ(s.skipped(), 11u);
}

TEST(Schedule, LateMeansMoreThanOneMillisecondAfterIntended) {
  Schedule s = Schedule::open(1000, 100);
  s.start(kT0);
  // Start 0 exactly 1 ms late and start 1 on time: neither is late.
  EXPECT_EQ(s.due(kT0 + kMs, 0), 2u);
  EXPECT_EQ(s.late(), 0u);
  // Start 2 is 1 ms + 1 ns late, start 3 on time.
  EXPECT_EQ(s.due(kT0 + 3 * kMs + 1, 0), 2u);
  EXPECT_EQ(s.late(), 1u);
  // Starts 4..10 returned at 10 ms: 4..8 are late (9 is exactly 1 ms late, 10 on time).
  EXPECT_EQ(s.due(kT0 + 10 * kMs, 0), 7u);
  EXPECT_EQ(s.late(), 1u + 5u);
}

TEST(Schedule, StartResetsTheCounts) {
  Schedule s = Schedule::open(1000, 1);
  s.start(kT0);
  EXPECT_EQ(s.due(kT0 + kSec, 0), 1u);
  EXPECT_GT(s.skipped(), 0u);
  s.start(kT0 + 2 * kSec);
  EXPECT_EQ(s.skipped(), 0u);
  EXPECT_EQ(s.late(), 0u);
  EXPECT_EQ(s.started(), 0u);
  EXPECT_EQ(s.due(kT0 + 2 * kSec, 0), 1u);
  EXPECT_EQ(s.first_due(), 0u);
}

}  // namespace
}  // namespace linetls::perf
