#include "apps/linetls-perf/histogram.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <memory>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace linetls::perf {
namespace {

// The exact percentile of a sorted sample: the ceil(p / 100 * n)-th smallest value (the
// same rank the histogram uses), min for p = 0.
uint64_t exact_percentile(const std::vector<uint64_t>& sorted, double p) {
  if (p <= 0) {
    return sorted.front();
  }
  const double x = p / 100.0 * static_cast<double>(sorted.size());
  size_t rank = static_cast<size_t>(std::ceil(x - x * 1e-12));
  rank = std::clamp<size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

// Histograms are 18 KB: on the heap, as a report holds them.
std::unique_ptr<Histogram> make() { return std::make_unique<Histogram>(); }

TEST(Histogram, EmptyReportsZeros) {
  auto h = make();
  EXPECT_EQ(h->count(), 0u);
  EXPECT_EQ(h->min(), 0u);
  EXPECT_EQ(h->max(), 0u);
  EXPECT_EQ(h->mean(), 0.0);
  EXPECT_EQ(h->percentile(0), 0u);
  EXPECT_EQ(h->percentile(50), 0u);
  EXPECT_EQ(h->percentile(100), 0u);
  int buckets = 0;
  h->for_each_bucket([&](uint64_t, uint64_t, uint64_t) { buckets++; });
  EXPECT_EQ(buckets, 0);
}

TEST(Histogram, SmallValuesAreExact) {
  auto h = make();
  for (uint64_t v = 0; v < Histogram::kLinearLimit; v++) {
    h->record(v);
  }
  EXPECT_EQ(h->count(), 128u);
  EXPECT_EQ(h->min(), 0u);
  EXPECT_EQ(h->max(), 127u);
  EXPECT_DOUBLE_EQ(h->mean(), 63.5);
  // The k-th smallest of 0..127 is k - 1: rank ceil(p * 128 / 100).
  EXPECT_EQ(h->percentile(50), 63u);
  EXPECT_EQ(h->percentile(25), 31u);
  EXPECT_EQ(h->percentile(1), 1u);  // rank ceil(1.28) = 2
  EXPECT_EQ(h->percentile(100), 127u);
  uint64_t expect_lo = 0;
  h->for_each_bucket([&](uint64_t lo, uint64_t hi, uint64_t count) {
    EXPECT_EQ(lo, expect_lo);
    EXPECT_EQ(hi, lo);
    EXPECT_EQ(count, 1u);
    expect_lo++;
  });
  EXPECT_EQ(expect_lo, 128u);
}

TEST(Histogram, SingleValue) {
  auto h = make();
  h->record(123456);
  EXPECT_EQ(h->percentile(0), 123456u);
  EXPECT_EQ(h->percentile(50), 123456u);  // the bucket bound, clamped to [min, max]
  EXPECT_EQ(h->percentile(100), 123456u);
  EXPECT_DOUBLE_EQ(h->mean(), 123456.0);
}

TEST(Histogram, ZeroAndHundredAreMinAndMax) {
  auto h = make();
  for (uint64_t v : {5000u, 7777u, 1000003u, 999u}) {
    h->record(v);
  }
  EXPECT_EQ(h->percentile(0), 999u);
  EXPECT_EQ(h->percentile(-3), 999u);
  EXPECT_EQ(h->percentile(std::nan("")), 999u);
  EXPECT_EQ(h->percentile(100), 1000003u);
  EXPECT_EQ(h->percentile(250), 1000003u);
  EXPECT_EQ(h->min(), 999u);
  EXPECT_EQ(h->max(), 1000003u);
}

// Every bucket's bounds: contiguous, widths 1 below 128 then 2^(k-6) in [2^k, 2^(k+1)),
// and bucket_of() maps both bounds back to the bucket.
TEST(Histogram, BucketsTileTheRange) {
  uint64_t next = 0;
  const auto h = make();
  for (size_t i = 0; i + 1 < Histogram::kNumBuckets; i++) {
    const uint64_t lo = Histogram::bucket_lo(i);
    const uint64_t hi = h->bucket_hi(i);
    ASSERT_EQ(lo, next) << i;
    ASSERT_GE(hi, lo);
    ASSERT_EQ(Histogram::bucket_of(lo), i);
    ASSERT_EQ(Histogram::bucket_of(hi), i);
    if (lo >= Histogram::kLinearLimit) {
      // Relative width below 1/64: the bound reported is within 1/64 of any value in it.
      ASSERT_LT(static_cast<double>(hi - lo) / static_cast<double>(lo), 1.0 / 64) << i;
      ASSERT_EQ((hi - lo + 1) * 64, uint64_t{1} << (std::bit_width(lo) - 1)) << i;
    } else {
      ASSERT_EQ(hi, lo);
    }
    next = hi + 1;
  }
  EXPECT_EQ(next, Histogram::kClampFloor);
  EXPECT_EQ(Histogram::bucket_lo(Histogram::kNumBuckets - 1), Histogram::kClampFloor);
}

TEST(Histogram, HugeValuesAreClampedButMaxIsExact) {
  auto h = make();
  const uint64_t huge = uint64_t{1} << 50;
  h->record(100);
  h->record(huge);
  h->record(UINT64_MAX);
  EXPECT_EQ(h->count(), 3u);
  EXPECT_EQ(h->max(), UINT64_MAX);
  EXPECT_EQ(h->percentile(100), UINT64_MAX);
  // Rank 2 of 3 falls in the clamped bucket: reported as its upper bound, the true max.
  EXPECT_EQ(h->percentile(60), UINT64_MAX);
  EXPECT_EQ(h->percentile(30), 100u);
  std::vector<std::array<uint64_t, 3>> buckets;
  h->for_each_bucket([&](uint64_t lo, uint64_t hi, uint64_t count) {
    buckets.push_back({lo, hi, count});
  });
  ASSERT_EQ(buckets.size(), 2u);
  EXPECT_EQ(buckets[1][0], Histogram::kClampFloor);
  EXPECT_EQ(buckets[1][1], UINT64_MAX);
  EXPECT_EQ(buckets[1][2], 2u);
  // The mean is of the true values, clamped ones included.
  EXPECT_NEAR(h->mean(), (100.0 + std::ldexp(1.0, 50) + 18446744073709551615.0) / 3, 1e6);
}

TEST(Histogram, ExactlyTheClampFloor) {
  auto h = make();
  h->record(Histogram::kClampFloor);
  h->record(Histogram::kClampFloor - 1);
  EXPECT_EQ(h->percentile(100), Histogram::kClampFloor);
  EXPECT_EQ(h->percentile(50), Histogram::kClampFloor - 1);
  h->for_each_bucket([&](uint64_t lo, uint64_t hi, uint64_t) {
    if (lo == Histogram::kClampFloor) {
      EXPECT_EQ(hi, Histogram::kClampFloor);  // no larger value: the floor itself
    }
  });
}

// Percentiles against a sorted reference: never below the true value, and above it by less
// than 1/64 of it (or exact below 128).
void check_against_reference(const std::vector<uint64_t>& values, const char* what) {
  auto h = make();
  for (uint64_t v : values) {
    h->record(v);
  }
  std::vector<uint64_t> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  ASSERT_EQ(h->count(), sorted.size());
  EXPECT_EQ(h->min(), sorted.front()) << what;
  EXPECT_EQ(h->max(), sorted.back()) << what;
  long double sum = 0;
  for (uint64_t v : values) {
    sum += v;
  }
  EXPECT_NEAR(h->mean(), static_cast<double>(sum / values.size()), h->mean() * 1e-9) << what;
  for (double p : {0.0, 1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99, 100.0}) {
    const uint64_t want = exact_percentile(sorted, p);
    const uint64_t got = h->percentile(p);
    EXPECT_GE(got, want) << what << " p" << p;
    if (want < Histogram::kLinearLimit) {
      EXPECT_EQ(got, want) << what << " p" << p;
    } else {
      EXPECT_LT(static_cast<double>(got - want) / static_cast<double>(want), 1.0 / 64)
          << what << " p" << p << " got " << got << " want " << want;
    }
  }
  EXPECT_EQ(h->percentile(100), sorted.back());
}

TEST(Histogram, PercentilesWithinRelativeErrorOfSortedReference) {
  std::mt19937_64 rng(20240601);
  const size_t n = 200000;
  {
    std::uniform_int_distribution<uint64_t> d(0, 10'000'000);
    std::vector<uint64_t> v(n);
    for (auto& x : v) {
      x = d(rng);
    }
    check_against_reference(v, "uniform");
  }
  {
    std::exponential_distribution<double> d(1.0 / 50'000);  // mean 50 us
    std::vector<uint64_t> v(n);
    for (auto& x : v) {
      x = static_cast<uint64_t>(d(rng));
    }
    check_against_reference(v, "exponential");
  }
  {
    // Bimodal: resumed handshakes around 30 us, full ones around 400 us, a slow tail.
    std::normal_distribution<double> fast(30'000, 3'000);
    std::normal_distribution<double> slow(400'000, 40'000);
    std::bernoulli_distribution pick_slow(0.3);
    std::bernoulli_distribution tail(0.001);
    std::vector<uint64_t> v(n);
    for (auto& x : v) {
      double t = pick_slow(rng) ? slow(rng) : fast(rng);
      if (tail(rng)) {
        t *= 100;
      }
      x = static_cast<uint64_t>(std::max(0.0, t));
    }
    check_against_reference(v, "bimodal");
  }
  {
    // Log-uniform from 1 ns to 2^40 ns: every bucket group.
    std::uniform_real_distribution<double> e(0, 40);
    std::vector<uint64_t> v(n);
    for (auto& x : v) {
      x = static_cast<uint64_t>(std::exp2(e(rng)));
    }
    check_against_reference(v, "log-uniform");
  }
  {
    std::uniform_int_distribution<uint64_t> d(0, 127);
    std::vector<uint64_t> v(1001);
    for (auto& x : v) {
      x = d(rng);
    }
    check_against_reference(v, "small");
  }
}

TEST(Histogram, MergeEqualsRecordingBoth) {
  std::mt19937_64 rng(7);
  std::exponential_distribution<double> d(1.0 / 1e6);
  auto a = make();
  auto b = make();
  auto both = make();
  for (int i = 0; i < 50000; i++) {
    const uint64_t v = static_cast<uint64_t>(d(rng));
    (i % 3 == 0 ? a : b)->record(v);
    both->record(v);
  }
  b->record(UINT64_MAX);
  both->record(UINT64_MAX);
  a->merge(*b);
  EXPECT_EQ(a->count(), both->count());
  EXPECT_EQ(a->min(), both->min());
  EXPECT_EQ(a->max(), both->max());
  EXPECT_DOUBLE_EQ(a->mean(), both->mean());
  for (double p : {0.0, 50.0, 90.0, 99.0, 99.9, 100.0}) {
    EXPECT_EQ(a->percentile(p), both->percentile(p)) << p;
  }
  std::vector<std::array<uint64_t, 3>> ba, bb;
  a->for_each_bucket([&](uint64_t lo, uint64_t hi, uint64_t c) { ba.push_back({lo, hi, c}); });
  both->for_each_bucket([&](uint64_t lo, uint64_t hi, uint64_t c) { bb.push_back({lo, hi, c}); });
  EXPECT_EQ(ba, bb);
}

TEST(Histogram, MergeWithEmptyAndIntoEmpty) {
  auto a = make();
  auto empty = make();
  a->record(42);
  a->record(4200);
  a->merge(*empty);
  EXPECT_EQ(a->count(), 2u);
  EXPECT_EQ(a->min(), 42u);
  empty->merge(*a);
  EXPECT_EQ(empty->count(), 2u);
  EXPECT_EQ(empty->min(), 42u);
  EXPECT_EQ(empty->max(), 4200u);
  a->merge(*a);  // with itself: every sample twice
  EXPECT_EQ(a->count(), 4u);
  EXPECT_EQ(a->percentile(50), 42u);
}

TEST(Histogram, ResetEmpties) {
  auto h = make();
  h->record(5);
  h->record(uint64_t{1} << 45);
  h->reset();
  EXPECT_EQ(h->count(), 0u);
  EXPECT_EQ(h->min(), 0u);
  EXPECT_EQ(h->max(), 0u);
  EXPECT_EQ(h->percentile(99), 0u);
  h->record(7);
  EXPECT_EQ(h->min(), 7u);
  EXPECT_EQ(h->max(), 7u);
}

TEST(Histogram, BucketsInOrderAndCountsSum) {
  auto h = make();
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<uint64_t> d(0, 1'000'000'000);
  for (int i = 0; i < 10000; i++) {
    h->record(d(rng));
  }
  uint64_t total = 0;
  uint64_t last_hi = 0;
  bool first = true;
  h->for_each_bucket([&](uint64_t lo, uint64_t hi, uint64_t count) {
    EXPECT_GT(count, 0u);
    if (!first) {
      EXPECT_GT(lo, last_hi);
    }
    first = false;
    last_hi = hi;
    total += count;
  });
  EXPECT_EQ(total, 10000u);
}

}  // namespace
}  // namespace linetls::perf
