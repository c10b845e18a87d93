// engine::Worker: one pinned lcore's poll loop over one port queue.
//
// The loop is a flat list of named phases, each timed with the TSC (ARCHITECTURE.md "One
// worker, one core"): rx_burst -> net input -> tx drain -> timers. Later issues insert the
// TLS open/seal batches and application callbacks between input and tx. The worker owns
// its Stack, counters and phase clocks; nothing in here is shared with another worker.
//
// Idle behaviour: busy-poll (benchmarks) or adaptive back-off (tests, laptops): after
// `spin_polls` empty polls the loop pauses, then sleeps, doubling from min_sleep_us up to
// max_sleep_us; any received frame or pending work resets it.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>

#include "lib/base/counters.h"
#include "lib/net/port.h"
#include "lib/net/stack.h"

namespace linetls::engine {

struct IdleConfig {
  bool busy_poll = false;
  uint32_t spin_polls = 64;      // empty polls before backing off
  uint32_t min_sleep_us = 10;
  uint32_t max_sleep_us = 1000;  // worst added latency for the first frame after idling
};

struct WorkerConfig {
  uint16_t id = 0;     // worker index, also the port queue it polls
  uint16_t burst = 32;
  net::StackConfig stack;
  IdleConfig idle;
};

enum class Phase : uint16_t { kRx, kNetInput, kTx, kTimers, kIdle, kCount };
inline constexpr std::array<std::string_view, static_cast<size_t>(Phase::kCount)> kPhaseNames = {
    "rx", "net_input", "tx", "timers", "idle"};
using PhaseCycles = CounterSet<Phase, kPhaseNames>;

enum class WorkerCounter : uint16_t {
  kLoops,
  kBusyLoops,   // loops that did any work
  kRxFrames,
  kTxFrames,
  kTxRetries,   // tx_burst took fewer than offered; the rest stayed queued
  kSleeps,
  kCount
};
inline constexpr std::array<std::string_view, static_cast<size_t>(WorkerCounter::kCount)>
    kWorkerCounterNames = {"loops", "busy_loops", "rx_frames", "tx_frames", "tx_retries",
                           "sleeps"};
using WorkerCounters = CounterSet<WorkerCounter, kWorkerCounterNames>;

class alignas(64) Worker {
 public:
  // port must outlive the worker; the worker polls queue cfg.id only.
  Worker(const WorkerConfig& cfg, net::Port& port);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Polls until stop becomes true, then flushes what it can.
  void run(const std::atomic<bool>& stop) noexcept;

  // One loop iteration at time now_ns; returns true if it did any work. For tests and for
  // run().
  bool poll_once(uint64_t now_ns) noexcept;

  net::Stack& stack() noexcept { return *stack_; }
  const net::Stack& stack() const noexcept { return *stack_; }
  const WorkerCounters& counters() const noexcept { return counters_; }
  const PhaseCycles& phase_cycles() const noexcept { return phase_cycles_; }
  uint16_t id() const noexcept { return cfg_.id; }

 private:
  bool drain_tx() noexcept;
  void idle(uint32_t* empty_polls, uint32_t* sleep_us) noexcept;

  WorkerConfig cfg_;
  net::Port& port_;
  std::unique_ptr<net::Stack> stack_;
  uint64_t next_timer_ns_ = 0;
  WorkerCounters counters_;
  PhaseCycles phase_cycles_;
};

}  // namespace linetls::engine
