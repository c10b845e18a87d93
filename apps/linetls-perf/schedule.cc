#include "apps/linetls-perf/schedule.h"

#include <algorithm>
#include <cmath>

namespace linetls::perf {

namespace {

using u128 = unsigned __int128;

// Nanoseconds per kRateScale seconds: intended(k) = start + k * kNsScaled / rate_.
constexpr u128 kNsScaled = u128{1'000'000'000} * Schedule::kRateScale;

}  // namespace

Schedule Schedule::closed(uint32_t concurrency) noexcept { return {false, 0, concurrency}; }

Schedule Schedule::open(double rate_per_s, uint32_t max_in_flight) noexcept {
  const double r = std::isnan(rate_per_s) ? 0.0 : std::clamp(rate_per_s, 0.0, kMaxRate);
  const uint64_t rate = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::llround(r * static_cast<double>(kRateScale))));
  return {true, rate, max_in_flight};
}

void Schedule::start(uint64_t now_ns) noexcept {
  running_ = true;
  start_ns_ = now_ns;
  last_now_ = now_ns;
  next_ = 0;
  first_due_ = 0;
  started_ = 0;
  late_ = 0;
  skipped_ = 0;
}

uint64_t Schedule::starts_until(uint64_t t) const noexcept {
  if (t < start_ns_) {
    return 0;
  }
  // k is at or before t when floor(k * kNsScaled / rate_) <= d, i.e. k * kNsScaled <
  // (d + 1) * rate_: the count of such k is ceil((d + 1) * rate_ / kNsScaled).
  const u128 d1 = u128{t - start_ns_} + 1;
  const u128 n = (d1 * rate_ + kNsScaled - 1) / kNsScaled;
  return n > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(n);
}

uint64_t Schedule::intended_ns(uint64_t k) const noexcept {
  if (!open_) {
    return last_now_;
  }
  const u128 t = u128{start_ns_} + u128{k} * kNsScaled / rate_;
  return t > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(t);
}

uint32_t Schedule::due(uint64_t now_ns, uint32_t in_flight) noexcept {
  last_now_ = now_ns;
  first_due_ = next_;
  const uint32_t room = limit_ > in_flight ? limit_ - in_flight : 0;
  if (!open_) {
    next_ += room;
    started_ += room;
    return room;
  }
  if (!running_) {
    return 0;
  }
  const uint64_t until = starts_until(now_ns);
  if (until <= next_) {
    return 0;
  }
  const uint64_t avail = until - next_;
  const uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(avail, room));
  skipped_ += avail - n;
  // Of the n returned (indexes next_ ..), those intended before now - kLateNs are late.
  if (now_ns > kLateNs) {
    const uint64_t late_until = starts_until(now_ns - kLateNs - 1);
    late_ += std::min<uint64_t>(late_until, next_ + n) - std::min(late_until, next_);
  }
  started_ += n;
  next_ = until;
  return n;
}

}  // namespace linetls::perf
