#include "lib/net/tcp/cc.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <vector>

namespace linetls::net::tcp {
namespace {

constexpr uint32_t kMss = 1460;
constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kSec = 1'000'000'000;

// One round trip: the whole cwnd is acknowledged in ACKs of acked_per_ack bytes, spread
// evenly over rtt_ns starting at *now. Returns cwnd afterwards.
uint32_t run_rtt(CongestionControl& cc, uint64_t* now, uint64_t rtt_ns,
                 uint32_t acked_per_ack = kMss) {
  const uint32_t window = cc.cwnd();
  const uint32_t acks = std::max<uint32_t>(1, window / acked_per_ack);
  for (uint32_t i = 0; i < acks; i++) {
    cc.on_ack(acked_per_ack, *now + rtt_ns * i / acks, rtt_ns);
  }
  *now += rtt_ns;
  return cc.cwnd();
}

class CcBoth : public ::testing::TestWithParam<CcAlgo> {};

TEST_P(CcBoth, InitialWindowPerRfc6928) {
  EXPECT_EQ(CongestionControl(GetParam(), 1460).cwnd(), 14600u);  // 10 segments
  EXPECT_EQ(CongestionControl(GetParam(), 536).cwnd(), 5360u);
  EXPECT_EQ(CongestionControl(GetParam(), 1000).cwnd(), 10000u);
  EXPECT_EQ(CongestionControl(GetParam(), 4000).cwnd(), 14600u);  // the 14600 byte cap
  EXPECT_EQ(CongestionControl(GetParam(), 9000).cwnd(), 18000u);  // but never below 2 mss
  CongestionControl cc(GetParam(), kMss);
  EXPECT_EQ(cc.ssthresh(), UINT32_MAX);
  EXPECT_TRUE(cc.in_slow_start());
  EXPECT_EQ(cc.algo(), GetParam());
}

TEST_P(CcBoth, SlowStartDoublesPerRtt) {
  CongestionControl cc(GetParam(), kMss);
  uint64_t now = kSec;
  uint32_t w = cc.cwnd();
  for (int rtt = 0; rtt < 5; rtt++) {
    EXPECT_EQ(run_rtt(cc, &now, 50 * kMs), 2 * w);
    w *= 2;
  }
}

TEST_P(CcBoth, SlowStartWithDelayedAcksStillDoubles) {
  // One ACK per two segments: ABC with L = 2 counts both.
  CongestionControl cc(GetParam(), kMss);
  uint64_t now = kSec;
  const uint32_t w = cc.cwnd();
  EXPECT_EQ(run_rtt(cc, &now, 50 * kMs, 2 * kMss), 2 * w);
}

TEST_P(CcBoth, SlowStartCapsStretchAcksAtTwoMss) {
  // RFC 3465 §2.2: L = 2 * SMSS at most, so an ACK for 4 segments grows cwnd by 2.
  CongestionControl cc(GetParam(), kMss);
  const uint32_t w = cc.cwnd();
  cc.on_ack(4 * kMss, kSec, 0);
  EXPECT_EQ(cc.cwnd(), w + 2 * kMss);
  cc.on_ack(100, kSec, 0);
  EXPECT_EQ(cc.cwnd(), w + 2 * kMss + 100);
  cc.on_ack(0, kSec, 0);
  EXPECT_EQ(cc.cwnd(), w + 2 * kMss + 100);
}

TEST_P(CcBoth, RtoResetsToOneMssThenSlowStartsToSsthresh) {
  CongestionControl cc(GetParam(), kMss);
  uint64_t now = kSec;
  for (int i = 0; i < 3; i++) {
    run_rtt(cc, &now, 50 * kMs);
  }
  const uint32_t flight = cc.cwnd();  // 80 segments
  cc.on_rto(flight, now);
  EXPECT_EQ(cc.cwnd(), kMss);
  const uint32_t want_ss =
      GetParam() == CcAlgo::kNewReno ? flight / 2 : static_cast<uint32_t>(flight * 0.7);
  EXPECT_EQ(cc.ssthresh(), want_ss);
  EXPECT_TRUE(cc.in_slow_start());
  // Slow start from 1 mss stops at ssthresh: never more than one ACK's worth beyond it.
  while (cc.in_slow_start()) {
    const uint32_t before = cc.cwnd();
    cc.on_ack(kMss, now, 50 * kMs);
    EXPECT_LE(cc.cwnd(), before + kMss);
    now += kMs;
  }
  EXPECT_GE(cc.cwnd(), cc.ssthresh());
  EXPECT_LT(cc.cwnd(), cc.ssthresh() + kMss);
}

TEST_P(CcBoth, LossFloorIsTwoMss) {
  CongestionControl cc(GetParam(), kMss);
  cc.on_enter_recovery(kMss, kSec);
  EXPECT_EQ(cc.ssthresh(), 2 * kMss);
  EXPECT_EQ(cc.cwnd(), 2 * kMss);
  cc.on_rto(0, kSec);
  EXPECT_EQ(cc.ssthresh(), 2 * kMss);
  EXPECT_EQ(cc.cwnd(), kMss);
}

TEST_P(CcBoth, ExitRecoverySetsCwndToSsthresh) {
  CongestionControl cc(GetParam(), kMss);
  cc.on_enter_recovery(40 * kMss, kSec);
  const uint32_t ss = cc.ssthresh();
  EXPECT_EQ(cc.cwnd(), ss);
  cc.on_exit_recovery(kSec + 100 * kMs);
  EXPECT_EQ(cc.cwnd(), ss);
  EXPECT_FALSE(cc.in_slow_start());
}

TEST_P(CcBoth, SetMssRecomputesAnUntouchedInitialWindow) {
  CongestionControl cc(GetParam(), kMss);
  cc.set_mss(536);
  EXPECT_EQ(cc.mss(), 536u);
  EXPECT_EQ(cc.cwnd(), 5360u);
  CongestionControl big(GetParam(), kMss);
  big.set_mss(4000);
  EXPECT_EQ(big.cwnd(), 14600u);
}

TEST_P(CcBoth, SetMssKeepsSegmentsOnceGrown) {
  CongestionControl cc(GetParam(), kMss);
  uint64_t now = kSec;
  run_rtt(cc, &now, 50 * kMs);  // 20 segments
  ASSERT_EQ(cc.cwnd(), 20 * kMss);
  cc.set_mss(1000);
  EXPECT_EQ(cc.cwnd(), 20000u);
  cc.on_enter_recovery(20000, now);
  const uint32_t ss = cc.ssthresh();
  cc.set_mss(500);
  EXPECT_EQ(cc.ssthresh(), ss / 2);
  cc.set_mss(500);  // unchanged: no-op
  EXPECT_EQ(cc.ssthresh(), ss / 2);
}

TEST_P(CcBoth, WindowIsCapped) {
  CongestionControl cc(GetParam(), kMss);
  for (int i = 0; i < 2'000'000; i++) {
    cc.on_ack(2 * kMss, kSec + i, 0);
  }
  EXPECT_LE(cc.cwnd(), 1u << 30);
  EXPECT_GE(cc.cwnd(), (1u << 30) - 2 * kMss);
}

INSTANTIATE_TEST_SUITE_P(Algos, CcBoth, ::testing::Values(CcAlgo::kNewReno, CcAlgo::kCubic));

TEST(NewReno, LossHalvesFlight) {
  CongestionControl cc(CcAlgo::kNewReno, kMss);
  cc.on_enter_recovery(100 * kMss, kSec);
  EXPECT_EQ(cc.ssthresh(), 50 * kMss);
  EXPECT_EQ(cc.cwnd(), 50 * kMss);
  // Based on the flight, not cwnd (RFC 5681 eq. 4).
  CongestionControl cc2(CcAlgo::kNewReno, kMss);
  cc2.on_enter_recovery(7 * kMss, kSec);
  EXPECT_EQ(cc2.ssthresh(), 3 * kMss + kMss / 2);
}

TEST(NewReno, CongestionAvoidanceAddsOneMssPerRtt) {
  CongestionControl cc(CcAlgo::kNewReno, kMss);
  cc.on_enter_recovery(100 * kMss, kSec);
  cc.on_exit_recovery(kSec);
  uint64_t now = kSec;
  for (uint32_t rtt = 1; rtt <= 20; rtt++) {
    EXPECT_EQ(run_rtt(cc, &now, 50 * kMs), (50 + rtt) * kMss) << rtt;
  }
  // Fewer bytes than a window: no growth yet.
  const uint32_t w = cc.cwnd();
  cc.on_ack(w - 1, now, 0);
  EXPECT_EQ(cc.cwnd(), w);
  cc.on_ack(1, now, 0);
  EXPECT_EQ(cc.cwnd(), w + kMss);
}

// CUBIC after a loss at W_max = 100 segments, with acks spread over each RTT.
struct CubicRun {
  std::vector<double> t;     // seconds since the epoch began
  std::vector<double> cwnd;  // segments
};

CubicRun run_cubic(uint64_t rtt, double seconds, CongestionControl* cc) {
  uint64_t now = 10 * kSec;
  cc->on_enter_recovery(100 * kMss, now);
  cc->on_exit_recovery(now);
  const uint64_t start = now;
  CubicRun r;
  while (now - start < static_cast<uint64_t>(seconds * kSec)) {
    r.t.push_back(static_cast<double>(now - start) / kSec);
    r.cwnd.push_back(static_cast<double>(cc->cwnd()) / kMss);
    run_rtt(*cc, &now, rtt);
  }
  return r;
}

double cwnd_at(const CubicRun& r, double t) {
  for (size_t i = 0; i < r.t.size(); i++) {
    if (r.t[i] >= t) {
      return r.cwnd[i];
    }
  }
  return r.cwnd.back();
}

TEST(Cubic, LossReducesToBetaAndRemembersWmax) {
  CongestionControl cc(CcAlgo::kCubic, kMss);
  cc.on_enter_recovery(100 * kMss, kSec);
  EXPECT_EQ(cc.ssthresh(), 70 * kMss);
  EXPECT_EQ(cc.cwnd(), 70 * kMss);
  EXPECT_DOUBLE_EQ(cc.cubic_w_max(), 14600.0);  // cwnd (the IW) at the loss
}

TEST(Cubic, FastConvergenceLowersWmax) {
  CongestionControl cc(CcAlgo::kCubic, kMss);
  uint64_t now = kSec;
  for (int i = 0; i < 4; i++) {
    run_rtt(cc, &now, 10 * kMs);  // 160 segments
  }
  cc.on_enter_recovery(cc.cwnd(), now);
  EXPECT_DOUBLE_EQ(cc.cubic_w_max(), 160.0 * kMss);
  cc.on_exit_recovery(now);
  // A second loss below W_max: W_max = cwnd * (1 + 0.7) / 2.
  const double cwnd = cc.cwnd();
  cc.on_enter_recovery(cc.cwnd(), now + kSec);
  EXPECT_DOUBLE_EQ(cc.cubic_w_max(), cwnd * 1.7 / 2);
  EXPECT_EQ(cc.cwnd(), static_cast<uint32_t>(cwnd * 0.7));
}

TEST(Cubic, KIsTimeToRegainWmax) {
  CongestionControl cc(CcAlgo::kCubic, kMss);
  uint64_t now = kSec;
  for (int i = 0; i < 4; i++) {
    run_rtt(cc, &now, 10 * kMs);  // 160 segments
  }
  cc.on_enter_recovery(cc.cwnd(), now);
  cc.on_exit_recovery(now);
  cc.on_ack(kMss, now, 100 * kMs);  // the epoch starts with the first ACK
  // K = cbrt((W_max - cwnd_epoch) / C) = cbrt(48 / 0.4).
  EXPECT_NEAR(cc.cubic_k(), std::cbrt(48.0 / 0.4), 1e-9);
}

TEST(Cubic, ConcaveThenConvexAroundWmax) {
  CongestionControl cc(CcAlgo::kCubic, kMss);
  // Grow to 100 segments first so that W_max = 100 at the loss.
  uint64_t now = kSec;
  while (cc.cwnd() < 100 * kMss) {
    cc.on_ack(kMss, now, 0);
  }
  CongestionControl at100 = cc;
  ASSERT_EQ(at100.cwnd(), 100 * kMss);
  const CubicRun r = run_cubic(100 * kMs, 9.0, &at100);
  const double k = std::cbrt(30.0 / 0.4);  // ~4.22 s
  EXPECT_NEAR(at100.cubic_k(), k, 1e-9);
  // At t = K the window is back at W_max (within 2%), and it was below before.
  EXPECT_NEAR(cwnd_at(r, k), 100.0, 2.0);
  EXPECT_LT(cwnd_at(r, k - 1.0), 100.0);
  EXPECT_GT(cwnd_at(r, k + 2.0), 101.0);
  // Concave before K: growth slows as the window nears W_max.
  const double early = cwnd_at(r, 1.0) - cwnd_at(r, 0.0);
  const double late = cwnd_at(r, k) - cwnd_at(r, k - 1.0);
  EXPECT_GT(early, 3 * late);
  // Convex after K: growth speeds up again.
  const double after1 = cwnd_at(r, k + 1.0) - cwnd_at(r, k);
  const double after3 = cwnd_at(r, k + 4.0) - cwnd_at(r, k + 3.0);
  EXPECT_GT(after3, 3 * after1);
  // Never shrinks in congestion avoidance.
  for (size_t i = 1; i < r.cwnd.size(); i++) {
    EXPECT_GE(r.cwnd[i], r.cwnd[i - 1]);
  }
}

TEST(Cubic, RenoFriendlyRegionOnShortRtts) {
  // With a 1 ms RTT the cubic curve barely moves per RTT; W_est grows by alpha_cubic =
  // 3 * 0.3 / 1.7 segments per RTT until it reaches cwnd_prior (100), then by 1.
  CongestionControl cc(CcAlgo::kCubic, kMss);
  uint64_t now = kSec;
  while (cc.cwnd() < 100 * kMss) {
    cc.on_ack(kMss, now, 0);
  }
  const CubicRun r = run_cubic(1 * kMs, 0.09, &cc);
  const double alpha = 3 * 0.3 / 1.7;
  // 20 RTTs in: 70 + 20 * alpha.
  EXPECT_NEAR(cwnd_at(r, 0.020), 70 + 20 * alpha, 1.0);
  EXPECT_NEAR(cc.cubic_w_est() / kMss, static_cast<double>(cc.cwnd()) / kMss, 1.0);
  // Past 100 segments (about 57 RTTs), one segment per RTT.
  const double per_rtt = (cwnd_at(r, 0.085) - cwnd_at(r, 0.075)) / 10;
  EXPECT_NEAR(per_rtt, 1.0, 0.15);
  // Well above what the cubic curve alone gives after 90 ms (about 72 segments).
  EXPECT_GT(r.cwnd.back(), 100.0);
}

TEST(Cubic, AfterRtoTheCurveStartsAtCwndWithKZero) {
  CongestionControl cc(CcAlgo::kCubic, kMss);
  uint64_t now = kSec;
  while (cc.cwnd() < 100 * kMss) {
    cc.on_ack(kMss, now, 0);
  }
  cc.on_rto(100 * kMss, now);
  EXPECT_EQ(cc.cwnd(), kMss);
  EXPECT_EQ(cc.ssthresh(), 70 * kMss);
  while (cc.in_slow_start()) {
    cc.on_ack(kMss, now, 0);
  }
  cc.on_ack(kMss, now, 100 * kMs);  // first congestion avoidance ACK: the epoch starts
  EXPECT_EQ(cc.cubic_k(), 0.0);
  EXPECT_NEAR(cc.cubic_w_max(), 70.0 * kMss, kMss);
}

}  // namespace
}  // namespace linetls::net::tcp
