// drivers/wire: an in-process pair of ports joined by a simulated cable, for tests.
//
// Frames sent on one end arrive at the other end's rx_burst, after the impairments of that
// direction: loss, duplication, corruption (one flipped bit), delay with jitter, and
// reordering (a reordered frame is held back by reorder_delay_ns beyond its normal delay,
// so later frames overtake it). Every random choice comes from a per-direction generator
// seeded from Impairments::seed, so a run is reproducible.
//
// Time comes from a clock function (default CLOCK_MONOTONIC); tests that want virtual time
// install their own with set_clock(). Single-threaded: both ends are polled by one thread.
//
// The ends behave like NICs, as far as the caps they report promise:
//  - tx_burst always takes all n frames (tail-dropped and lost ones are freed and counted).
//    A frame someone else still references (refcnt > 1, indirect or shared external
//    buffer, e.g. held by a retransmit queue) is copied first, so neither corruption nor
//    the receiver's in-place writes ever reach the sender's buffer.
//  - TX IPv4/TCP/UDP checksum offloads in caps are computed by the wire (DPDK contract:
//    l2_len/l3_len set, headers in the first segment); RX checksum caps make rx_burst set
//    RTE_MBUF_F_RX_{IP,L4}_CKSUM_{GOOD,BAD}.
//  - With caps.tx_tso, a frame flagged RTE_MBUF_F_TX_TCP_SEG is segmented as a NIC does it
//    (DPDK contract: l2_len/l3_len/l4_len/tso_segsz set, headers in the first segment, the
//    TCP checksum field preset to the pseudo-header sum without the length): tso_segsz
//    payload bytes per frame, headers copied with per-frame IPv4 total length, ID + i,
//    header checksum, TCP sequence number and checksum; FIN/PSH only on the last frame, CWR
//    only on the first. The impairments then apply to each resulting frame. A frame that
//    breaks the contract is dropped (tso_bad).
//  - With caps.num_queues > 1 and caps.rss, IPv4 frames are steered by the symmetric
//    Toeplitz hash (key 0x6d5a..., RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP: 4-tuple for TCP,
//    2-tuple otherwise) to RX queue (hash % 128) % num_queues, with the hash in
//    mbuf->hash.rss; other frames go to queue 0. Without rss a frame arrives on the queue
//    index it was sent on. A queue index >= num_queues sends and receives nothing.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>

#include "lib/net/port.h"

namespace linetls::wire {

struct Impairments {
  double loss = 0;         // probability a frame is dropped
  double duplicate = 0;    // probability a frame is delivered twice
  double corrupt = 0;      // probability one random bit of the frame is flipped
  double reorder = 0;      // probability a frame is held back by reorder_delay_ns
  uint64_t delay_ns = 0;   // base one-way delay
  uint64_t jitter_ns = 0;  // uniform extra delay in [0, jitter_ns] (keeps FIFO order)
  uint64_t reorder_delay_ns = 200000;
  uint32_t max_queued = 65536;  // frames in flight in this direction; beyond: tail drop
  uint64_t seed = 1;
};

struct WireStats {
  uint64_t sent = 0;        // frames offered to tx_burst and accepted (a TSO frame once)
  uint64_t delivered = 0;   // frames handed out by the far end's rx_burst
  uint64_t lost = 0;
  uint64_t duplicated = 0;
  uint64_t corrupted = 0;
  uint64_t reordered = 0;
  uint64_t queue_full = 0;  // tail drops
  uint64_t tso_frames = 0;    // of sent: frames flagged RTE_MBUF_F_TX_TCP_SEG (with tx_tso)
  uint64_t tso_segments = 0;  // the frames they were cut into
  uint64_t tso_bad = 0;       // TSO frames dropped for breaking the contract
};

enum class Direction { kAtoB, kBtoA };

class WirePair {
 public:
  // Both ends allocate from pool (which must outlive the pair). caps are reported by both
  // ends (driver "wire"); defaults: one queue, no offloads.
  WirePair(rte_mempool* pool, net::MacAddr mac_a, net::MacAddr mac_b,
           const net::PortCaps& caps = default_caps());
  ~WirePair();  // frees every frame still in flight
  WirePair(const WirePair&) = delete;
  WirePair& operator=(const WirePair&) = delete;

  net::Port& a() noexcept;
  net::Port& b() noexcept;

  void set_impairments(Direction d, const Impairments& imp);
  void set_clock(std::function<uint64_t()> now_ns);
  const WireStats& stats(Direction d) const noexcept;
  // Frames in flight in direction d (not yet handed to rx_burst).
  size_t in_flight(Direction d) const noexcept;

  static net::PortCaps default_caps();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace linetls::wire
