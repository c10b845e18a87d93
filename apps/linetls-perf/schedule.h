// When the load generator starts its next connections.
//
// Closed loop (no --rate): keep --connections in flight, a new one as soon as one ends.
// Open loop (--rate R): the k-th connection is meant to start at start + k * 1e9 / R ns,
// whatever happened to the earlier ones (wrk2): latency is measured from that intended
// time, so a server that stalls is charged for the wait of every start it delayed instead
// of the generator quietly waiting with it (coordinated omission). Intended times are
// computed from k, never accumulated, so they do not drift over hours. Starts that find
// max_in_flight connections already in flight are skipped and counted, not started later.
#pragma once

#include <cstdint>

namespace linetls::perf {

class Schedule {
 public:
  // A start returned more than this long after its intended time counts as late().
  static constexpr uint64_t kLateNs = 1'000'000;
  // Open-loop rates are kept in millionths of a connection per second (exact integers).
  static constexpr uint64_t kRateScale = 1'000'000;
  static constexpr double kMaxRate = 1e12;

  // Keeps concurrency connections in flight.
  static Schedule closed(uint32_t concurrency) noexcept;
  // rate_per_s new connections per second (clamped to [1e-6, kMaxRate]), never more than
  // max_in_flight at once.
  static Schedule open(double rate_per_s, uint32_t max_in_flight) noexcept;

  // Sets the time of start 0 (open loop) and clears the counts. Call once before due().
  void start(uint64_t now_ns) noexcept;

  // Returns how many connections to start now, given in_flight already running. Closed
  // loop: concurrency - in_flight (0 when at or above it). Open loop: the intended starts
  // at or before now_ns not yet handed out, at most max_in_flight - in_flight of them (the
  // earliest); the rest of them are skipped (skipped()) and never returned. 0 before
  // start(). The starts returned are indexes first_due() .. first_due() + n - 1.
  uint32_t due(uint64_t now_ns, uint32_t in_flight) noexcept;
  // The index of the first start the last due() returned.
  uint64_t first_due() const noexcept { return first_due_; }
  // Open loop: the intended start time of start k (k * 1e9 / R ns after start(), rounded
  // down; UINT64_MAX past the end of time). Closed loop: the now_ns of the last due().
  uint64_t intended_ns(uint64_t k) const noexcept;

  bool is_open() const noexcept { return open_; }
  // Open loop: the rate in connections per second as kept (after rounding).
  double rate() const noexcept { return static_cast<double>(rate_) / kRateScale; }
  // Closed loop: the concurrency; open loop: max_in_flight.
  uint32_t limit() const noexcept { return limit_; }

  // Starts returned by due() since start().
  uint64_t started() const noexcept { return started_; }
  // Starts returned more than kLateNs after their intended time (open loop).
  uint64_t late() const noexcept { return late_; }
  // Intended starts dropped because max_in_flight were in flight (open loop).
  uint64_t skipped() const noexcept { return skipped_; }

 private:
  Schedule(bool open, uint64_t rate, uint32_t limit) noexcept
      : open_(open), rate_(rate), limit_(limit) {}
  // How many intended starts fall at or before t (start 0 at start_ns_ included).
  uint64_t starts_until(uint64_t t) const noexcept;

  bool open_;
  bool running_ = false;
  uint64_t rate_;  // open loop: per kRateScale seconds
  uint32_t limit_;
  uint64_t start_ns_ = 0;
  uint64_t last_now_ = 0;
  uint64_t next_ = 0;  // the first start index not handed out or skipped yet
  uint64_t first_due_ = 0;
  uint64_t started_ = 0;
  uint64_t late_ = 0;
  uint64_t skipped_ = 0;
};

}  // namespace linetls::perf
