// net::tcp::Tcp — one worker's TCP (RFC 9293): listeners, connections, timers.
//
// Registered with the worker's Stack as the L4 handler for protocol 6. Received segments
// arrive through l4_input(); segments leave through Stack::ip_output(). Applications see
// connections through Handler callbacks and act on them with the methods below; every
// call is made on the worker's thread.
//
// Buffers (ARCHITECTURE.md "Buffers"): received payload is handed to the application as
// the mbufs it arrived in (headers trimmed off, out-of-order data held as mbufs until it
// can be delivered in order). The send side takes mbuf chains and keeps references until
// acknowledged; segments are cut with rte_pktmbuf_clone/attach-style references, never by
// copying payload, except where a port cannot take chained mbufs (counted).
//
// Flow control: bytes handed to on_data() count against the receive window until the
// application calls release(); an application that cannot keep up simply releases later
// and the peer is told to slow down. On the send side, send() takes a chain only if it
// fits in send_space(); otherwise the application waits for on_writable().
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "lib/base/counters.h"
#include "lib/base/result.h"
#include "lib/net/stack.h"
#include "lib/net/tcp/cc.h"
#include "lib/net/tcp/isn.h"

struct rte_mbuf;

namespace linetls::net::tcp {

enum class Error : uint8_t {
  kPortInUse,        // listen(): a listener exists on that port
  kNoPorts,          // connect(): no free source port maps back to this worker
  kTooManyConnections,
  kWouldBlock,       // send(): the chain does not fit in send_space()
  kNotConnected,     // send()/shutdown() on a connection that cannot send any more
  kInvalidArgument,
};
std::string_view to_string(Error e) noexcept;

// Why a connection ended; given to Handler::on_closed.
enum class CloseReason : uint8_t {
  kNormal,          // both FINs exchanged and acknowledged (or we closed after the peer)
  kReset,           // the peer sent an acceptable RST
  kAborted,         // abort() by the application
  kTimeout,         // retransmissions exhausted (SYN or data), or the idle/handshake timeout
  kRefused,         // connect(): the peer answered the SYN with RST
};

// RFC 9293 §3.3.2 states.
enum class State : uint8_t {
  kClosed, kListen, kSynSent, kSynReceived, kEstablished, kFinWait1, kFinWait2,
  kCloseWait, kClosing, kLastAck, kTimeWait,
};
std::string_view to_string(State s) noexcept;

class Connection;  // a TCB; the pointer stays valid until on_closed() returns

// Application callbacks. One Handler object may serve many connections (use
// set_user_data for per-connection state).
class Handler {
 public:
  virtual ~Handler() = default;
  // Established: a passive open completed (after the final ACK) or connect() succeeded.
  virtual void on_connected(Connection* c) noexcept = 0;
  // In-order payload: a chain of len bytes (pkt_len == len), now the application's. The
  // bytes count against the receive window until release(c, n).
  virtual void on_data(Connection* c, rte_mbuf* chain, uint32_t len) noexcept = 0;
  // send_space() grew after a send() was refused or filled the buffer.
  virtual void on_writable(Connection* c) noexcept { (void)c; }
  // The peer sent FIN: no more data will arrive (we may still send).
  virtual void on_peer_closed(Connection* c) noexcept { (void)c; }
  // The connection is gone; c is invalid once this returns. Called exactly once per
  // connection that was reported by on_connected() (or returned by connect()).
  virtual void on_closed(Connection* c, CloseReason why) noexcept = 0;
};

struct TcpConfig {
  uint16_t mss = 1460;             // advertised; also capped by the port MTU - 40
  uint16_t min_peer_mss = 536;     // a peer's smaller MSS option is raised to this
  uint8_t wscale = 7;              // our window scale shift when the peer offers scaling
  uint32_t rcv_buf = 1u << 20;     // receive window per connection, bytes
  uint32_t snd_buf = 1u << 20;     // queued (unsent + unacknowledged) bytes per connection
  bool sack = true;
  bool timestamps = true;
  bool nagle = false;
  // TCP segmentation offload: hand the port up to tso_max_segs segments' worth of payload
  // as one frame. Used only when the port offers TSO together with IPv4 and TCP checksum
  // offload and chained mbufs.
  bool tso = true;
  uint16_t tso_max_segs = 16;
  CcAlgo cc = CcAlgo::kCubic;
  uint32_t rto_initial_ms = 1000;  // RFC 6298 §2.1
  uint32_t rto_min_ms = 200;
  uint32_t rto_max_ms = 60000;
  uint32_t syn_retries = 6;
  uint32_t data_retries = 15;
  uint32_t delayed_ack_ms = 40;
  uint32_t fin_wait2_timeout_ms = 60000;
  uint32_t time_wait_ms = 60000;   // 2*MSL
  uint32_t handshake_timeout_ms = 30000;  // SYN_RECEIVED lifetime
  // Idle: no payload received and no new data acknowledged for this long resets the
  // connection (0: never); set_idle_timeout() overrides it per connection.
  uint32_t idle_timeout_ms = 0;
  // Keepalive: after keepalive_ms without any segment from the peer, probe every
  // keepalive_intvl_ms; keepalive_probes unanswered probes reset the connection (0: off).
  uint32_t keepalive_ms = 0;
  uint32_t keepalive_intvl_ms = 10000;
  uint32_t keepalive_probes = 5;
  // Persist: a peer whose window stays zero this long while data waits is given up on (RST;
  // Linux bounds the same by tcp_retries2 probes). 0: probe forever.
  uint32_t persist_timeout_ms = 120000;
  uint32_t max_connections = 65536;
  uint32_t backlog = 1024;         // half-open connections per listener before SYN cookies
  bool syn_cookies = true;
  uint32_t ooo_max_bytes = 1u << 20;        // out-of-order data held per connection
  uint32_t ooo_max_bytes_worker = 256u << 20;
  uint32_t ooo_max_segments = 512;          // per connection (bounds mbuf count)
  uint32_t sack_scoreboard_max = 256;       // SACKed ranges remembered per connection
  uint32_t challenge_acks_per_s = 1000;     // RFC 5961 §7, per worker
  uint32_t challenge_acks_per_conn_per_s = 10;  // and per connection
  uint32_t rsts_per_s = 1000;               // RSTs for segments to unknown connections
};

enum class TcpCounter : uint16_t {
  kSegsIn, kSegsOut, kBytesIn, kBytesOut, kRetransSegs, kFastRetrans, kRtoFired,
  kActiveOpens, kPassiveOpens, kAttemptFails, kEstabResets, kCurrEstab,
  kDropChecksum, kDropMalformed, kDropNoListener, kDropOutOfWindow, kDropPaws,
  kDropBacklog, kDropOoo, kDropNoMbuf,
  kRstSent, kRstRateLimited, kChallengeAcks, kChallengeAcksLimited,
  kSynCookiesSent, kSynCookiesOk, kSynCookiesBad,
  kOooSegs, kDupAcksIn, kSackRecoveries, kZeroWindowProbes, kDelayedAcks,
  kTimeWaitReused, kTimeouts, kSackBlocksIgnored,
  kIdleTimeouts, kKeepaliveProbes, kKeepaliveTimeouts, kPersistTimeouts,
  kCount
};
inline constexpr std::array<std::string_view, static_cast<size_t>(TcpCounter::kCount)>
    kTcpCounterNames = {
        "segs_in", "segs_out", "bytes_in", "bytes_out", "retrans_segs", "fast_retrans",
        "rto_fired", "active_opens", "passive_opens", "attempt_fails", "estab_resets",
        "curr_estab", "drop_checksum", "drop_malformed", "drop_no_listener",
        "drop_out_of_window", "drop_paws", "drop_backlog", "drop_ooo", "drop_no_mbuf",
        "rst_sent", "rst_rate_limited", "challenge_acks", "challenge_acks_limited",
        "syn_cookies_sent", "syn_cookies_ok", "syn_cookies_bad", "ooo_segs", "dup_acks_in",
        "sack_recoveries", "zero_window_probes", "delayed_acks", "time_wait_reused",
        "timeouts", "sack_blocks_ignored", "idle_timeouts", "keepalive_probes",
        "keepalive_timeouts", "persist_timeouts",
};
using TcpCounters = CounterSet<TcpCounter, kTcpCounterNames>;

// Read-only view of a connection for applications, tests and stats.
struct ConnectionInfo {
  FourTuple tuple;
  State state = State::kClosed;
  uint32_t snd_una = 0, snd_nxt = 0, snd_wnd = 0, rcv_nxt = 0, rcv_wnd = 0;
  uint32_t cwnd = 0, ssthresh = 0, mss = 0;
  uint64_t srtt_us = 0, rto_ms = 0;
  uint8_t snd_wscale = 0, rcv_wscale = 0;
  bool sack = false, timestamps = false;
  uint64_t retransmits = 0;
};

class Tcp final : public L4Handler {
 public:
  // isn_secret: 16 random bytes (per worker). queue/num_queues/rss_key: how the port
  // spreads flows, so connect() picks source ports that hash back to this worker's queue
  // (num_queues == 1: any port).
  Tcp(Stack& stack, const TcpConfig& cfg, std::span<const uint8_t, 16> isn_secret,
      uint64_t now_ns, uint16_t queue = 0, uint16_t num_queues = 1);
  ~Tcp() override;  // frees every connection and buffered mbuf without callbacks
  Tcp(const Tcp&) = delete;
  Tcp& operator=(const Tcp&) = delete;

  // Passive open on our address:port; accepted connections report to handler, with
  // idle_timeout_ms as their idle timeout when given (else TcpConfig's).
  Result<void, Error> listen(uint16_t port, Handler* handler,
                             std::optional<uint32_t> idle_timeout_ms = std::nullopt) noexcept;
  // Active open to dst:port. The connection reports on_connected or on_closed(kRefused /
  // kTimeout) later.
  Result<Connection*, Error> connect(Ipv4Addr dst, uint16_t port, Handler* handler,
                                     uint64_t now_ns) noexcept;

  // Queues chain (pkt_len bytes) for sending. Takes it only if it fits in send_space();
  // otherwise returns kWouldBlock and the chain stays the caller's.
  Result<void, Error> send(Connection* c, rte_mbuf* chain) noexcept;
  uint32_t send_space(const Connection* c) const noexcept;
  // Asks for on_writable() at the next acknowledgement that frees send space (for an
  // application that stopped below send_space() by a limit of its own).
  void want_writable(Connection* c) noexcept;
  // The application is done with n bytes it was given by on_data (window reopens).
  void release(Connection* c, uint32_t n) noexcept;
  // Sends FIN after the queued data (half-close).
  void shutdown(Connection* c) noexcept;
  // shutdown() and stop delivering data; on_closed still comes.
  void close(Connection* c) noexcept;
  // Sends RST and ends the connection now; on_closed(kAborted) is called before return.
  void abort(Connection* c) noexcept;
  // Discards the payload c holds out of order (beyond rcv.nxt), which this end may already
  // have SACKed: "reneging", which RFC 2018 §8 allows a receiver short of buffers. Later
  // ACKs stop SACKing it and the peer sends it again. Returns the bytes dropped. For
  // memory pressure, and to test a peer's recovery from it.
  uint32_t drop_out_of_order(Connection* c) noexcept;

  // This connection's idle timeout (TcpConfig::idle_timeout_ms); 0: never.
  void set_idle_timeout(Connection* c, uint32_t ms) noexcept;

  void set_user_data(Connection* c, void* p) noexcept;
  void* user_data(const Connection* c) const noexcept;
  ConnectionInfo info(const Connection* c) const noexcept;

  // L4Handler.
  void l4_input(rte_mbuf* m, const Ipv4Info& ip, uint64_t now_ns) noexcept override;

  // Sends what the application queued during this poll iteration (the worker calls it
  // after the application phase) and pending ACKs.
  void flush(uint64_t now_ns) noexcept;
  // Runs due timers (RTO, delayed ACK, persist, keepalive, FIN_WAIT_2, TIME_WAIT, idle).
  void on_timer(uint64_t now_ns) noexcept;
  uint64_t next_timer_ns() const noexcept;

  uint32_t num_connections() const noexcept;
  const TcpCounters& counters() const noexcept;
  const TcpConfig& config() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace linetls::net::tcp
