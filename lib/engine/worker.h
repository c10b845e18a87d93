// engine::Worker: one pinned lcore's poll loop over one port queue.
//
// The loop is a flat list of named phases, each timed with the TSC (ARCHITECTURE.md "One
// worker, one core"): rx_burst -> net input -> tls_open -> apps -> tls_seal -> tcp output
// -> tx drain -> timers. tls_open and tls_seal (TlsEngine, tls_service.h) exist when the
// worker serves a tls:APP service; the application callbacks tls_open runs are timed as
// apps. The worker owns its Stack, TCP, the streams over them (TcpStreams, TlsEngine), one
// app per service (apps.h), a timer wheel for the apps and the engine's own timeouts,
// counters and phase clocks; nothing in here is shared with another worker. It is the apps'
// Context (stream.h): they open backend connections and arm timers through it.
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
#include <vector>

#include "lib/base/counters.h"
#include "lib/net/port.h"
#include "lib/engine/apps.h"
#include "lib/engine/stream.h"
#include "lib/engine/tcp_streams.h"
#include "lib/engine/tls_service.h"
#include "lib/net/stack.h"
#include "lib/net/tcp/tcp.h"

struct rte_ring;

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
  uint16_t num_queues = 1;  // queues of the port (for RSS-aware source ports)
  net::StackConfig stack;
  net::tcp::TcpConfig tcp;
  std::vector<ServiceSpec> services;  // listeners this worker serves
  IdleConfig idle;
  TlsSettings tls;  // used when a service is tls:APP, or with tls_client
  // A TLS engine even without a tls: service, for Context::connect_tls (the load generator).
  bool tls_client = false;
  // Software RSS for a peer whose port cannot steer (memif): with N > 1 this one worker owns
  // all N queue pairs of the port, polls every RX queue, and sends each frame on the queue
  // the symmetric Toeplitz hash of its flow selects (net::rss_queue_of_frame), so a server
  // with N workers on the other end gets each flow on the worker RSS would give it.
  uint16_t soft_rss_queues = 0;
  // The clock the worker's TCP and timers start from (poll_once's now_ns continues it);
  // 0: CLOCK_MONOTONIC now. Tests that drive virtual time set it.
  uint64_t start_ns = 0;
};

enum class Phase : uint16_t {
  kRx, kNetInput, kTlsOpen, kApps, kTlsSeal, kTcpOutput, kTx, kTimers, kIdle, kCount
};
inline constexpr std::array<std::string_view, static_cast<size_t>(Phase::kCount)> kPhaseNames = {
    "rx", "net_input", "tls_open", "apps", "tls_seal", "tcp_output", "tx", "timers", "idle"};
using PhaseCycles = CounterSet<Phase, kPhaseNames>;

enum class WorkerCounter : uint16_t {
  kLoops,
  kBusyLoops,   // loops that did any work
  kRxFrames,
  kTxFrames,
  kTxRetries,   // tx_burst took fewer than offered; the rest stayed queued
  kSleeps,
  kArpMirrorSent,     // ARP frames cloned to peer workers
  kArpMirrorDropped,  // a peer's ring was full or no mbuf for the clone
  kBusyCycles,  // TSC cycles of loops that did work: server CPU = busy_cycles / tsc_hz
  kPortPoolPeak,    // the most mbufs of the port pool (this queue's) in use, sampled every 10 ms
  kRecordPoolPeak,  // the same for the big-record pool
  kCount
};
inline constexpr std::array<std::string_view, static_cast<size_t>(WorkerCounter::kCount)>
    kWorkerCounterNames = {"loops", "busy_loops", "rx_frames", "tx_frames", "tx_retries",
                           "sleeps",    "arp_mirror_sent", "arp_mirror_dropped",
                           "busy_cycles", "port_pool_peak", "record_pool_peak"};
using WorkerCounters = CounterSet<WorkerCounter, kWorkerCounterNames>;

class alignas(64) Worker final : public Context {
 public:
  // port must outlive the worker; the worker polls queue cfg.id only. Fails (one line)
  // when a service cannot listen.
  static Result<std::unique_ptr<Worker>, std::string> create(const WorkerConfig& cfg,
                                                               net::Port& port);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Joins this worker to its peers on the same port: ARP frames this worker receives are
  // cloned onto each peer's inbox, and frames on our inbox teach our neighbour table. With
  // one worker nothing is needed. inbox: a multi-producer, single-consumer ring owned by
  // the caller; peers: the other workers' inboxes.
  void set_arp_peers(rte_ring* inbox, std::vector<rte_ring*> peers);

  // Polls until stop becomes true, then flushes what it can.
  void run(const std::atomic<bool>& stop) noexcept;

  // One loop iteration at time now_ns; returns true if it did any work. For tests and for
  // run().
  bool poll_once(uint64_t now_ns) noexcept;

  net::Stack& stack() noexcept { return *stack_; }
  net::tcp::Tcp& tcp() noexcept { return *tcp_; }
  const net::tcp::Tcp& tcp() const noexcept { return *tcp_; }
  const net::Stack& stack() const noexcept { return *stack_; }
  const WorkerCounters& counters() const noexcept { return counters_; }
  const PhaseCycles& phase_cycles() const noexcept { return phase_cycles_; }
  uint16_t id() const noexcept { return cfg_.id; }
  // The TLS engine, or nullptr when the worker serves no tls:APP service.
  const TlsEngine* tls() const noexcept { return tls_.get(); }
  // Offers new TLS material to this worker (TlsEngine::offer); any thread. Nothing without
  // a tls: service.
  void offer_tls(std::shared_ptr<const TlsGeneration> generation) noexcept {
    if (tls_ != nullptr) {
      tls_->offer(std::move(generation));
    }
  }
  const TcpStreams& tcp_streams() const noexcept { return *tcp_streams_; }
  // The apps, one per service in cfg.services order.
  const std::vector<std::unique_ptr<ServiceApp>>& apps() const noexcept { return apps_; }

  // Context.
  Result<Stream*, std::string_view> connect(net::Ipv4Addr dst, uint16_t port, App* app,
                                            uint32_t timeout_ms) noexcept override;
  Result<Stream*, std::string_view> connect_tls(net::Ipv4Addr dst, uint16_t port, App* app,
                                                uint32_t timeout_ms,
                                                const tls::ClientSessionConfig& config) noexcept override;
  net::tcp::TimerWheel& timers() noexcept override { return timers_; }
  uint64_t now_ns() const noexcept override { return now_ns_; }
  rte_mempool* pool() const noexcept override;

 private:
  Worker(const WorkerConfig& cfg, net::Port& port);
  bool drain_tx() noexcept;
  void mirror_arp(rte_mbuf* m) noexcept;
  bool drain_arp_inbox(uint64_t now_ns) noexcept;
  void idle(uint32_t* empty_polls, uint32_t* sleep_us) noexcept;

  WorkerConfig cfg_;
  net::Port& port_;
  std::unique_ptr<net::Stack> stack_;
  std::unique_ptr<net::tcp::Tcp> tcp_;
  net::tcp::TimerWheel timers_;
  uint64_t now_ns_ = 0;
  uint64_t next_sample_ns_ = 0;  // pool peaks
  std::unique_ptr<TcpStreams> tcp_streams_;
  std::unique_ptr<TlsEngine> tls_;
  std::vector<std::unique_ptr<ServiceApp>> apps_;
  std::vector<std::vector<rte_mbuf*>> soft_tx_;  // per queue, frames waiting (soft RSS)
  rte_ring* arp_inbox_ = nullptr;
  std::vector<rte_ring*> arp_peers_;
  WorkerCounters counters_;
  PhaseCycles phase_cycles_;
};

}  // namespace linetls::engine
