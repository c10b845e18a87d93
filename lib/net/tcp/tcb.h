// The transmission control block (RFC 9293 §3.3.1) and the worker-private state shared by
// tcp.cc (API, timers), input.cc (SEGMENT ARRIVES) and output.cc (segment building).
// Internal to lib/net/tcp.
#pragma once

#include <cstdint>
#include <optional>
#include <unordered_map>
#include <vector>

#include "lib/net/tcp/cc.h"
#include "lib/net/tcp/isn.h"
#include "lib/net/tcp/options.h"
#include "lib/net/tcp/reassembly.h"
#include "lib/net/tcp/sack.h"
#include "lib/net/tcp/send_queue.h"
#include "lib/net/tcp/seq.h"
#include "lib/net/tcp/tcp.h"
#include "lib/net/tcp/timer_wheel.h"

namespace linetls::net::tcp {

// TCP header flags.
inline constexpr uint8_t kFin = 0x01;
inline constexpr uint8_t kSyn = 0x02;
inline constexpr uint8_t kRst = 0x04;
inline constexpr uint8_t kPsh = 0x08;
inline constexpr uint8_t kAck = 0x10;
inline constexpr uint8_t kUrg = 0x20;
inline constexpr uint32_t kTcpHdrLen = 20;

enum class TimerKind : uint8_t { kRexmit, kDelack, kLong };

struct TcbTimer : TimerNode {
  Connection* owner = nullptr;
  TimerKind kind = TimerKind::kRexmit;
};

// Loss recovery phase (RFC 6675 / RFC 6582 / RFC 6298 §5).
enum class Recovery : uint8_t { kNone, kFast, kLoss };

// A parsed incoming segment; payload (headers trimmed) is owned by whoever holds it.
struct Segment {
  Seq seq;
  Seq ack;
  uint8_t flags = 0;
  uint16_t wnd = 0;  // as received (unscaled)
  TcpOptions opts;
  bool opts_ok = true;
  rte_mbuf* payload = nullptr;
  uint32_t len = 0;  // payload bytes
  // SEG.LEN: payload plus one for SYN and one for FIN.
  uint32_t seg_len() const noexcept {
    return len + ((flags & kSyn) ? 1u : 0u) + ((flags & kFin) ? 1u : 0u);
  }
};

// A per-second budget (challenge ACKs, RSTs).
struct RateLimit {
  uint64_t window_start_ns = 0;
  uint32_t used = 0;
  bool allow(uint64_t now_ns, uint32_t per_s) noexcept {
    if (now_ns - window_start_ns >= 1000000000ull) {
      window_start_ns = now_ns;
      used = 0;
    }
    if (used >= per_s) {
      return false;
    }
    used++;
    return true;
  }
};

class Connection {
 public:
  FourTuple tuple;
  State state = State::kClosed;
  Handler* handler = nullptr;
  void* user_data = nullptr;
  Connection* hash_next = nullptr;  // ConnTable bucket chain
  Connection* flush_prev = nullptr;  // Tcp's list of connections with output to do
  Connection* flush_next = nullptr;
  bool in_flush_list = false;
  bool reported = false;        // on_connected was called (or connect() returned it)
  bool passive = false;
  bool app_closed = false;      // close(): no more data to the application
  bool fin_queued = false;      // shutdown(): FIN follows the queued data
  bool fin_sent = false;
  bool peer_fin = false;        // the peer's FIN arrived in order
  bool ooo_fin = false;         // a FIN beyond rcv.nxt, at ooo_fin_seq
  bool want_writable = false;   // send() was refused or filled the buffer
  bool ack_now = false;         // an ACK must go out at the next output
  bool sack_ok = false;
  bool ts_ok = false;
  bool ws_ok = false;
  uint8_t snd_wscale = 0;  // the peer's shift (applied to windows it sends)
  uint8_t rcv_wscale = 0;  // ours (applied to windows we send)
  Recovery recovery = Recovery::kNone;
  uint8_t dupacks = 0;
  uint8_t delack_segs = 0;  // full segments received since our last ACK
  uint8_t retries = 0;      // consecutive retransmission timeouts (or persist probes)
  uint8_t backoff = 0;      // RTO exponent

  // Send sequence variables (RFC 9293 §3.3.1).
  Seq iss;
  Seq snd_una;
  Seq snd_nxt;  // the highest sequence number sent + 1 (new data starts here)
  uint32_t snd_wnd = 0;
  uint32_t max_snd_wnd = 0;  // the largest window the peer offered (sender SWS)
  Seq snd_wl1;
  Seq snd_wl2;
  Seq snd_fin_seq;  // valid when fin_sent
  // Receive sequence variables.
  Seq irs;
  Seq rcv_nxt;
  Seq rcv_adv;  // the right edge we advertised (never moved left)
  Seq ooo_fin_seq;
  Seq last_ack_sent;
  Seq sack_recent;  // the segment that triggered the latest out-of-order ACK
  uint32_t rcv_unreleased = 0;  // bytes given to on_data not yet release()d

  // Loss recovery.
  Seq recover;   // RFC 6582 "recover" / RFC 6675 RecoveryPoint
  Seq rtx_nxt;   // HighRxt + 1: the next byte to retransmit
  Seq lost_end;  // retransmit unSACKed bytes in [rtx_nxt, lost_end)
  Seq rtt_seq;   // Karn timing: the segment being timed (when rtt_start_ns != 0)
  uint64_t rtt_start_ns = 0;
  uint64_t srtt_ns = 0;  // 0: no sample yet
  uint64_t rttvar_ns = 0;
  uint64_t rto_ns = 0;
  uint64_t retransmits = 0;
  uint16_t mss = 536;      // effective send MSS (payload with no options)
  uint16_t rcv_mss = 536;  // what the peer's full segments carry (delayed-ACK counting)

  // Timestamps (RFC 7323).
  uint32_t ts_offset = 0;
  uint32_t ts_recent = 0;
  uint64_t ts_recent_ns = 0;  // when ts_recent was set (RFC 7323 §5.5: 24 days)

  uint64_t last_activity_ns = 0;   // any segment from the peer (keepalive)
  uint64_t time_wait_since_ns = 0;  // when it entered TIME_WAIT (connect() may reuse it)
  uint64_t last_data_ns = 0;       // payload received or new data acknowledged (idle)
  uint64_t zero_window_since_ns = 0;  // persist: when probing a zero window began (0: not)
  uint32_t idle_timeout_ms = 0;
  uint8_t ka_probes = 0;           // keepalive probes unanswered
  RateLimit challenge_rl;  // RFC 5961 §7 challenge ACKs of this connection

  CongestionControl cc;
  SendQueue sndq;
  Reassembly ooo;
  SackScoreboard sacks;
  TcbTimer rexmit;  // RTO, SYN retransmission or persist
  TcbTimer delack;
  TcbTimer longt;   // handshake, FIN_WAIT_2, TIME_WAIT, idle

  Connection(CcAlgo algo, uint16_t mss_init) noexcept : cc(algo, mss_init) {
    rexmit.owner = delack.owner = longt.owner = this;
    rexmit.kind = TimerKind::kRexmit;
    delack.kind = TimerKind::kDelack;
    longt.kind = TimerKind::kLong;
  }

  bool synchronized() const noexcept {
    return state != State::kClosed && state != State::kListen && state != State::kSynSent &&
           state != State::kSynReceived;
  }
  // Bytes sent and not acknowledged (sequence space, SYN/FIN included).
  uint32_t in_flight() const noexcept { return static_cast<uint32_t>(snd_nxt - snd_una); }
};

struct Listener {
  uint16_t port = 0;
  Handler* handler = nullptr;
  uint32_t half_open = 0;  // connections in SYN_RECEIVED
  std::optional<uint32_t> idle_timeout_ms;  // for its connections; unset: TcpConfig's
};


}  // namespace linetls::net::tcp
