// Tcp::Impl: one worker's TCP state. tcp.cc holds the API, connection lifetime and timers;
// input.cc the RFC 9293 §3.10.7 SEGMENT ARRIVES processing; output.cc segment building,
// the send loop (windows, congestion control, loss recovery) and reset generation.
#pragma once

#include "lib/net/rss.h"

#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "lib/net/stack.h"
#include "lib/net/tcp/conn_table.h"
#include "lib/net/tcp/tcb.h"
#include "lib/net/tcp/tcp.h"
#include "lib/net/tcp/timer_wheel.h"

namespace linetls::net::tcp {

inline constexpr uint64_t kNsPerMs = 1000000;
inline constexpr uint16_t kEphemeralLo = 32768;
inline constexpr uint16_t kEphemeralHi = 60999;
// How old a TIME_WAIT entry of ours must be before connect() reuses its port when no port
// is free (Linux's tcp_tw_reuse uses one second too).
inline constexpr uint64_t kTimeWaitReuseNs = 1'000'000'000;

using net::kRssRetaSize;
using net::kSymmetricRssKey;

struct Tcp::Impl {
  Impl(Stack& s, const TcpConfig& c, std::span<const uint8_t, 16> secret, uint64_t now_ns,
       uint16_t q, uint16_t nq);
  ~Impl();

  // ---- tcp.cc: lifetime, timers, helpers ----
  Connection* create(const FourTuple& t, Handler* h, uint64_t now_ns) noexcept;
  // Ends c: reports on_closed(why) if the application knew it, removes it from the table
  // and frees it once the current entry point returns.
  void finish(Connection* c, CloseReason why) noexcept;
  // Moves c to TIME_WAIT (the application is told the connection closed normally).
  void enter_time_wait(Connection* c, uint64_t now_ns) noexcept;
  void set_state(Connection* c, State s) noexcept;
  void established(Connection* c, uint64_t now_ns) noexcept;
  void timer_fired(TcbTimer* t, uint64_t now_ns) noexcept;
  void arm_rexmit(Connection* c, uint64_t now_ns) noexcept;
  void arm_long(Connection* c, uint64_t at_ns) noexcept;
  // The long timer of a synchronized connection: the earlier of its idle deadline and its
  // next keepalive probe (none: disarmed).
  void arm_established(Connection* c, uint64_t now_ns) noexcept;
  // That timer fired: reset an idle connection, probe or give up a silent peer.
  void established_timer(Connection* c, uint64_t now_ns) noexcept;
  void rtt_sample(Connection* c, uint64_t rtt_ns) noexcept;
  uint64_t current_rto(const Connection* c) const noexcept;
  void schedule_output(Connection* c) noexcept;
  void unlink_flush(Connection* c) noexcept;
  void reap() noexcept;  // frees finished connections when no entry point is active
  Reassembly::Limits ooo_limits() noexcept {
    return Reassembly::Limits{cfg.ooo_max_bytes, cfg.ooo_max_segments, &ooo_worker_bytes,
                              cfg.ooo_max_bytes_worker};
  }
  uint32_t tsval(const Connection* c, uint64_t now_ns) const noexcept {
    return static_cast<uint32_t>(now_ns / kNsPerMs) + c->ts_offset;
  }
  bool rss_ok(const FourTuple& t) const noexcept;
  void gauge(TcpCounter k, int delta) noexcept {
    // CounterSet only adds: a decrement is the modular add of 2^64 - 1.
    counters.inc(k, static_cast<uint64_t>(static_cast<int64_t>(delta)));
  }

  // ---- input.cc ----
  void input(rte_mbuf* m, const Ipv4Info& ip, uint64_t now_ns) noexcept;
  void closed_input(const FourTuple& t, const Segment& seg, uint64_t now_ns) noexcept;
  void listen_input(Listener& l, const FourTuple& t, Segment& seg, uint64_t now_ns) noexcept;
  void syn_sent_input(Connection* c, Segment& seg, uint64_t now_ns) noexcept;
  void sync_input(Connection* c, Segment& seg, uint64_t now_ns) noexcept;
  // Step five for an acceptable ACK; false when processing of the segment stops.
  bool ack_input(Connection* c, Segment& seg, uint64_t now_ns) noexcept;
  void text_input(Connection* c, Segment& seg, uint64_t now_ns) noexcept;
  void fin_input(Connection* c, uint64_t now_ns) noexcept;
  void deliver(Connection* c, rte_mbuf* m, uint32_t len) noexcept;
  void challenge_ack(Connection* c, uint64_t now_ns) noexcept;
  void apply_syn_options(Connection* c, const TcpOptions& o) noexcept;

  // ---- output.cc ----
  // Sends what c may send now: retransmissions, new data, FIN, and a pending ACK.
  void output(Connection* c, uint64_t now_ns) noexcept;
  // Builds and sends one segment of c: [seq, seq + len) of the send queue with flags.
  bool send_segment(Connection* c, Seq seq, uint32_t len, uint8_t flags,
                    uint64_t now_ns) noexcept;
  void send_ack(Connection* c, uint64_t now_ns) noexcept;
  void send_syn(Connection* c, uint64_t now_ns) noexcept;  // SYN, or SYN-ACK when passive
  // A segment with no TCB (RST, cookie SYN-ACK).
  void send_raw(const FourTuple& t, Seq seq, Seq ack, uint8_t flags, uint16_t wnd,
                const TcpOptions& opts, uint64_t now_ns) noexcept;
  // RFC 9293 §3.10.7.1 reset generation for a segment that has no connection.
  void send_reset_for(const FourTuple& t, const Segment& seg, uint64_t now_ns) noexcept;
  uint32_t rcv_window(Connection* c) noexcept;  // what to advertise (bytes), updates rcv_adv
  // Receive buffer bytes neither unreleased by the application nor held out of order.
  uint32_t rcv_buf_free(const Connection* c) const noexcept;
  uint32_t pipe(const Connection* c) const noexcept;
  uint16_t seg_payload_max(const Connection* c) const noexcept;
  // The most payload one send_segment may carry: seg_payload_max, or with TSO a whole
  // number of those up to cfg.tso_max_segs (and within an IPv4 datagram).
  uint32_t seg_send_max(const Connection* c) const noexcept;

  Stack& stack;
  TcpConfig cfg;
  IsnGenerator isn;
  TimerWheel wheel;
  ConnTable table;
  std::unordered_map<uint16_t, Listener> listeners;
  TcpCounters counters;
  RateLimit challenge_rl;
  RateLimit rst_rl;
  uint64_t ooo_worker_bytes = 0;
  uint16_t queue;
  uint16_t num_queues;
  uint16_t port_cursor = kEphemeralLo;
  uint16_t our_mss;  // advertised MSS: min(cfg.mss, mtu - 40)
  bool tso;          // cfg.tso and the port can segment (see TcpConfig::tso)
  Connection* flush_head = nullptr;
  std::vector<Connection*> dead;
  int depth = 0;  // nesting of entry points (frees wait until it is 0)

  // Depth guard for entry points: frees finished connections on the way out.
  class Guard {
   public:
    explicit Guard(Impl& t) noexcept : t_(t) { t_.depth++; }
    ~Guard() {
      if (--t_.depth == 0) {
        t_.reap();
      }
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;

   private:
    Impl& t_;
  };
};

}  // namespace linetls::net::tcp
