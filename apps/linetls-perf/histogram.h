// A log-linear latency histogram of nanosecond values (HdrHistogram's layout, wrk2's use):
// fixed memory, no per-sample storage and no allocation, so a worker records every sample
// on its data path and the control thread merges the workers' histograms for the report.
//
// Values below 128 ns each have their own bucket. Above, every power of two [2^k, 2^(k+1))
// is split into 64 equal buckets, so a bucket's upper bound is within 1/64 of any value in
// it. Values from 2^40 ns (about 18 minutes) up share the last bucket; max() stays exact.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace linetls::perf {

class Histogram {
 public:
  static constexpr uint64_t kLinearLimit = 128;  // exact buckets below this
  static constexpr unsigned kSubBucketBits = 6;  // 64 buckets per power of two
  static constexpr unsigned kMaxBits = 40;       // 2^40 ns: the last bucket's floor
  static constexpr uint64_t kClampFloor = uint64_t{1} << kMaxBits;
  static constexpr size_t kNumBuckets =
      kLinearLimit + (kMaxBits - 7) * (size_t{1} << kSubBucketBits) + 1;

  void record(uint64_t v) noexcept;
  // Adds other's samples to ours, as if each had been recorded here. other may be *this.
  void merge(const Histogram& other) noexcept;
  void reset() noexcept;

  uint64_t count() const noexcept { return count_; }
  // The smallest and largest values recorded, exact (not bucketed); 0 when empty.
  uint64_t min() const noexcept { return count_ == 0 ? 0 : min_; }
  uint64_t max() const noexcept { return max_; }
  // The mean of the values recorded, from their exact sum; 0 when empty.
  double mean() const noexcept;
  // Returns the p-th percentile, p in [0, 100] (clamped): the smallest bucket upper bound
  // with at least ceil(p / 100 * count()) samples at or below it, clamped to [min(), max()].
  // p = 0 gives min(), p = 100 gives max(); an empty histogram gives 0.
  uint64_t percentile(double p) const noexcept;

  // Calls f(lo, hi, count) for each non-empty bucket in increasing order: count samples
  // with lo <= v <= hi (inclusive bounds; the last bucket's hi is max() when values were
  // clamped into it). For CDF plots.
  template <class F>
  void for_each_bucket(F f) const {
    for (size_t i = 0; i < kNumBuckets; i++) {
      if (counts_[i] != 0) {
        f(bucket_lo(i), bucket_hi(i), counts_[i]);
      }
    }
  }

  // The bucket of v, and the inclusive bounds of bucket i (the last one's hi: see above).
  static constexpr size_t bucket_of(uint64_t v) noexcept {
    if (v < kLinearLimit) {
      return static_cast<size_t>(v);
    }
    if (v >= kClampFloor) {
      return kNumBuckets - 1;
    }
    const unsigned k = 63u - static_cast<unsigned>(std::countl_zero(v));  // 7 <= k < 40
    const uint64_t sub = (v >> (k - kSubBucketBits)) & ((uint64_t{1} << kSubBucketBits) - 1);
    return static_cast<size_t>(kLinearLimit + ((k - 7) << kSubBucketBits) + sub);
  }
  static constexpr uint64_t bucket_lo(size_t i) noexcept {
    if (i < kLinearLimit) {
      return i;
    }
    if (i == kNumBuckets - 1) {
      return kClampFloor;
    }
    const size_t j = i - kLinearLimit;
    const unsigned k = 7 + static_cast<unsigned>(j >> kSubBucketBits);
    const uint64_t sub = j & ((size_t{1} << kSubBucketBits) - 1);
    return (uint64_t{1} << k) + (sub << (k - kSubBucketBits));
  }
  uint64_t bucket_hi(size_t i) const noexcept {
    if (i == kNumBuckets - 1) {
      return max_ > kClampFloor ? max_ : kClampFloor;
    }
    return bucket_lo(i + 1) - 1;
  }

 private:
  std::array<uint64_t, kNumBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t min_ = UINT64_MAX;
  uint64_t max_ = 0;
  unsigned __int128 sum_ = 0;  // of the true values, clamped ones included
};

}  // namespace linetls::perf
