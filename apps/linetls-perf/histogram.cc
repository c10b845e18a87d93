#include "apps/linetls-perf/histogram.h"

#include <algorithm>
#include <cmath>

namespace linetls::perf {

static_assert(Histogram::bucket_of(Histogram::kLinearLimit - 1) == Histogram::kLinearLimit - 1);
static_assert(Histogram::bucket_of(Histogram::kLinearLimit) == Histogram::kLinearLimit);
static_assert(Histogram::bucket_of(Histogram::kClampFloor - 1) == Histogram::kNumBuckets - 2);
static_assert(Histogram::bucket_of(Histogram::kClampFloor) == Histogram::kNumBuckets - 1);
static_assert(Histogram::bucket_lo(Histogram::bucket_of(1000)) == 1000);
static_assert(Histogram::bucket_lo(Histogram::bucket_of(1001)) == 1000);  // width 8 there

void Histogram::record(uint64_t v) noexcept {
  counts_[bucket_of(v)]++;
  count_++;
  sum_ += v;
  min_ = std::min(min_, v);
  max_ = std::max(max_, v);
}

void Histogram::merge(const Histogram& other) noexcept {
  for (size_t i = 0; i < kNumBuckets; i++) {
    counts_[i] += other.counts_[i];
  }
  count_ += other.count_;
  sum_ += other.sum_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

void Histogram::reset() noexcept {
  counts_.fill(0);
  count_ = 0;
  min_ = UINT64_MAX;
  max_ = 0;
  sum_ = 0;
}

double Histogram::mean() const noexcept {
  return count_ == 0 ? 0.0 : static_cast<double>(sum_) / static_cast<double>(count_);
}

uint64_t Histogram::percentile(double p) const noexcept {
  if (count_ == 0) {
    return 0;
  }
  if (!(p > 0)) {  // also NaN
    return min_;
  }
  if (p >= 100) {
    return max_;
  }
  // ceil(p / 100 * count), less a relative 1e-12 so that a product that is an integer in
  // exact arithmetic (99.9% of 1000) is not rounded up past it by binary fractions.
  const double x = p / 100.0 * static_cast<double>(count_);
  const uint64_t rank =
      std::clamp<uint64_t>(static_cast<uint64_t>(std::ceil(x - x * 1e-12)), 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kNumBuckets; i++) {
    seen += counts_[i];
    if (seen >= rank) {
      return std::clamp(bucket_hi(i), min_, max_);
    }
  }
  return max_;  // not reached: the buckets hold count_ samples
}

}  // namespace linetls::perf
