// Tcp: the public API, connection lifetime and timers. Segment input is in input.cc,
// segment output in output.cc.
#include "lib/net/tcp/tcp.h"

#include <rte_mbuf.h>
#include <rte_thash.h>

#include <algorithm>
#include <cstring>

#include "lib/net/mbuf_util.h"
#include "lib/net/tcp/tcp_impl.h"

namespace linetls::net::tcp {

std::string_view to_string(Error e) noexcept {
  switch (e) {
    case Error::kPortInUse:
      return "port in use";
    case Error::kNoPorts:
      return "no free source port";
    case Error::kTooManyConnections:
      return "too many connections";
    case Error::kWouldBlock:
      return "would block";
    case Error::kNotConnected:
      return "not connected";
    case Error::kInvalidArgument:
      return "invalid argument";
  }
  return "?";
}

std::string_view to_string(State s) noexcept {
  switch (s) {
    case State::kClosed:
      return "CLOSED";
    case State::kListen:
      return "LISTEN";
    case State::kSynSent:
      return "SYN-SENT";
    case State::kSynReceived:
      return "SYN-RECEIVED";
    case State::kEstablished:
      return "ESTABLISHED";
    case State::kFinWait1:
      return "FIN-WAIT-1";
    case State::kFinWait2:
      return "FIN-WAIT-2";
    case State::kCloseWait:
      return "CLOSE-WAIT";
    case State::kClosing:
      return "CLOSING";
    case State::kLastAck:
      return "LAST-ACK";
    case State::kTimeWait:
      return "TIME-WAIT";
  }
  return "?";
}

namespace {

uint64_t seed_from(std::span<const uint8_t, 16> s) noexcept {
  uint64_t v = 0;
  std::memcpy(&v, s.data() + 8, sizeof(v));
  return v ^ 0x5bd1e9955bd1e995ull;
}

}  // namespace

Tcp::Impl::Impl(Stack& s, const TcpConfig& c, std::span<const uint8_t, 16> secret,
                uint64_t now_ns, uint16_t q, uint16_t nq)
    : stack(s),
      cfg(c),
      isn(secret),
      wheel(now_ns),
      table(c.max_connections, seed_from(secret)),
      queue(q),
      num_queues(nq == 0 ? 1 : nq),
      our_mss(static_cast<uint16_t>(
          std::min<uint32_t>(c.mss, s.caps().mtu > 40 ? s.caps().mtu - 40u : 536u))),
      tso(c.tso && c.tso_max_segs > 1 && s.caps().tx_tso && s.caps().tx_ip_cksum &&
          s.caps().tx_tcp_cksum && s.caps().tx_multi_seg) {
  // Spread the first ephemeral port per worker.
  port_cursor = static_cast<uint16_t>(kEphemeralLo + (seed_from(secret) % 4096) + q * 7);
}

Tcp::Impl::~Impl() {
  auto free_conn = [this](Connection* c) {
    wheel.cancel(&c->rexmit);
    wheel.cancel(&c->delack);
    wheel.cancel(&c->longt);
    c->ooo.clear(ooo_limits());
    delete c;
  };
  std::vector<Connection*> all;
  table.for_each([&](Connection* c) { all.push_back(c); });
  for (Connection* c : all) {
    free_conn(c);
  }
  for (Connection* c : dead) {
    delete c;
  }
}

bool Tcp::Impl::rss_ok(const FourTuple& t) const noexcept {
  if (num_queues <= 1) {
    return true;
  }
  // The tuple as the NIC sees the peer's packets: source = remote, destination = local.
  // The key is symmetric, so our own packets hash the same.
  uint32_t tuple[3] = {t.remote_ip.v, t.local_ip.v,
                       (uint32_t{t.remote_port} << 16) | t.local_port};
  const uint32_t h = rte_softrss(tuple, 3, kSymmetricRssKey);
  return (h % kRssRetaSize) % num_queues == queue;
}

Connection* Tcp::Impl::create(const FourTuple& t, Handler* h, uint64_t now_ns) noexcept {
  if (table.size() >= cfg.max_connections) {
    return nullptr;
  }
  auto* c = new (std::nothrow) Connection(cfg.cc, our_mss);
  if (c == nullptr) {
    return nullptr;
  }
  c->tuple = t;
  c->handler = h;
  c->last_activity_ns = now_ns;
  c->last_data_ns = now_ns;
  c->idle_timeout_ms = cfg.idle_timeout_ms;
  c->rto_ns = uint64_t{cfg.rto_initial_ms} * kNsPerMs;
  c->rcv_wscale = 0;
  table.insert(c);
  return c;
}

void Tcp::Impl::unlink_flush(Connection* c) noexcept {
  if (!c->in_flush_list) {
    return;
  }
  if (c->flush_prev != nullptr) {
    c->flush_prev->flush_next = c->flush_next;
  } else {
    flush_head = c->flush_next;
  }
  if (c->flush_next != nullptr) {
    c->flush_next->flush_prev = c->flush_prev;
  }
  c->flush_prev = c->flush_next = nullptr;
  c->in_flush_list = false;
}

void Tcp::Impl::schedule_output(Connection* c) noexcept {
  if (c->in_flush_list || c->state == State::kClosed) {
    return;
  }
  c->flush_prev = nullptr;
  c->flush_next = flush_head;
  if (flush_head != nullptr) {
    flush_head->flush_prev = c;
  }
  flush_head = c;
  c->in_flush_list = true;
}

void Tcp::Impl::set_state(Connection* c, State s) noexcept {
  const bool was_estab = c->state == State::kEstablished || c->state == State::kCloseWait;
  const bool is_estab = s == State::kEstablished || s == State::kCloseWait;
  if (was_estab != is_estab) {
    gauge(TcpCounter::kCurrEstab, is_estab ? 1 : -1);
  }
  c->state = s;
}

void Tcp::Impl::finish(Connection* c, CloseReason why) noexcept {
  if (c->state == State::kClosed) {
    return;  // already finished
  }
  if (c->state == State::kSynReceived && c->passive) {
    auto it = listeners.find(c->tuple.local_port);
    if (it != listeners.end() && it->second.half_open > 0) {
      it->second.half_open--;
    }
  }
  set_state(c, State::kClosed);
  wheel.cancel(&c->rexmit);
  wheel.cancel(&c->delack);
  wheel.cancel(&c->longt);
  unlink_flush(c);
  table.erase(c);
  c->sndq.clear();
  c->ooo.clear(ooo_limits());
  c->sacks.clear();
  dead.push_back(c);
  if (c->reported) {
    c->reported = false;
    c->handler->on_closed(c, why);
  }
}

void Tcp::Impl::enter_time_wait(Connection* c, uint64_t now_ns) noexcept {
  set_state(c, State::kTimeWait);
  c->time_wait_since_ns = now_ns;
  wheel.cancel(&c->rexmit);
  wheel.cancel(&c->delack);
  c->sndq.clear();
  c->ooo.clear(ooo_limits());
  c->sacks.clear();
  arm_long(c, now_ns + uint64_t{cfg.time_wait_ms} * kNsPerMs);
  if (c->reported) {
    c->reported = false;
    c->handler->on_closed(c, CloseReason::kNormal);
  }
}

void Tcp::Impl::established(Connection* c, uint64_t now_ns) noexcept {
  if (c->state == State::kSynReceived && c->passive) {
    auto it = listeners.find(c->tuple.local_port);
    if (it != listeners.end() && it->second.half_open > 0) {
      it->second.half_open--;
    }
  }
  set_state(c, State::kEstablished);
  c->retries = 0;
  c->backoff = 0;
  c->last_data_ns = now_ns;
  arm_established(c, now_ns);
  c->reported = true;
  c->handler->on_connected(c);
}

uint64_t Tcp::Impl::current_rto(const Connection* c) const noexcept {
  const uint64_t max = uint64_t{cfg.rto_max_ms} * kNsPerMs;
  uint64_t rto = c->rto_ns;
  for (uint8_t i = 0; i < c->backoff && rto < max; i++) {
    rto *= 2;
  }
  return std::min(rto, max);
}

void Tcp::Impl::arm_rexmit(Connection* c, uint64_t now_ns) noexcept {
  wheel.schedule(&c->rexmit, now_ns + current_rto(c));
}

void Tcp::Impl::arm_long(Connection* c, uint64_t at_ns) noexcept { wheel.schedule(&c->longt, at_ns); }

void Tcp::Impl::arm_established(Connection* c, uint64_t now_ns) noexcept {
  uint64_t next = UINT64_MAX;
  if (c->idle_timeout_ms != 0) {
    next = c->last_data_ns + uint64_t{c->idle_timeout_ms} * kNsPerMs;
  }
  if (cfg.keepalive_ms != 0) {
    next = std::min(next, c->last_activity_ns + uint64_t{cfg.keepalive_ms} * kNsPerMs +
                              uint64_t{c->ka_probes} * cfg.keepalive_intvl_ms * kNsPerMs);
  }
  if (next == UINT64_MAX) {
    wheel.cancel(&c->longt);
  } else {
    arm_long(c, std::max(next, now_ns));
  }
}

void Tcp::Impl::established_timer(Connection* c, uint64_t now_ns) noexcept {
  if (c->idle_timeout_ms != 0 &&
      now_ns >= c->last_data_ns + uint64_t{c->idle_timeout_ms} * kNsPerMs) {
    counters.inc(TcpCounter::kIdleTimeouts);
    counters.inc(TcpCounter::kTimeouts);
    send_segment(c, c->snd_nxt, 0, kRst | kAck, now_ns);
    finish(c, CloseReason::kTimeout);
    return;
  }
  // RFC 9293 §3.8.4 / RFC 1122 §4.2.3.6 keep-alives: "an old sequence number" (SND.UNA - 1)
  // with no data, which an alive peer answers with an ACK.
  if (cfg.keepalive_ms != 0 &&
      now_ns >= c->last_activity_ns + uint64_t{cfg.keepalive_ms} * kNsPerMs +
                    uint64_t{c->ka_probes} * cfg.keepalive_intvl_ms * kNsPerMs) {
    if (c->ka_probes >= cfg.keepalive_probes) {
      counters.inc(TcpCounter::kKeepaliveTimeouts);
      counters.inc(TcpCounter::kTimeouts);
      send_segment(c, c->snd_nxt, 0, kRst | kAck, now_ns);
      finish(c, CloseReason::kTimeout);
      return;
    }
    counters.inc(TcpCounter::kKeepaliveProbes);
    send_segment(c, c->snd_una - 1, 0, kAck, now_ns);
    c->ka_probes++;
  }
  arm_established(c, now_ns);
}

void Tcp::Impl::rtt_sample(Connection* c, uint64_t r) noexcept {
  // RFC 6298 §2.2: the first measurement R: SRTT <- R, RTTVAR <- R/2.
  // §2.3: RTTVAR <- 3/4 RTTVAR + 1/4 |SRTT - R'|, SRTT <- 7/8 SRTT + 1/8 R'.
  if (c->srtt_ns == 0) {
    c->srtt_ns = std::max<uint64_t>(r, 1);
    c->rttvar_ns = r / 2;
  } else {
    const uint64_t diff = c->srtt_ns > r ? c->srtt_ns - r : r - c->srtt_ns;
    c->rttvar_ns = (3 * c->rttvar_ns + diff) / 4;
    c->srtt_ns = std::max<uint64_t>((7 * c->srtt_ns + r) / 8, 1);
  }
  // RTO <- SRTT + max(G, K*RTTVAR), K = 4, G = the timer granularity (1 ms); §2.4: "Whenever
  // RTO is computed, if it is less than 1 second, then the RTO SHOULD be rounded up to 1
  // second" -- relaxed to rto_min_ms as every modern stack does; §2.5: a maximum.
  const uint64_t rto = c->srtt_ns + std::max<uint64_t>(kNsPerMs, 4 * c->rttvar_ns);
  c->rto_ns = std::clamp<uint64_t>(rto, uint64_t{cfg.rto_min_ms} * kNsPerMs,
                                   uint64_t{cfg.rto_max_ms} * kNsPerMs);
}

void Tcp::Impl::timer_fired(TcbTimer* t, uint64_t now_ns) noexcept {
  Connection* c = t->owner;
  if (c->state == State::kClosed) {
    return;
  }
  switch (t->kind) {
    case TimerKind::kDelack:
      counters.inc(TcpCounter::kDelayedAcks);
      send_ack(c, now_ns);
      return;
    case TimerKind::kLong:
      switch (c->state) {
        case State::kTimeWait:
          finish(c, CloseReason::kNormal);
          return;
        case State::kSynReceived:  // handshake timeout
        case State::kFinWait2:     // the peer never closed its side
          counters.inc(TcpCounter::kTimeouts);
          finish(c, CloseReason::kTimeout);
          return;
        default:
          established_timer(c, now_ns);
          return;
      }
    case TimerKind::kRexmit:
      break;
  }
  if (c->state == State::kSynSent || c->state == State::kSynReceived) {
    if (++c->retries > cfg.syn_retries) {
      counters.inc(TcpCounter::kAttemptFails);
      counters.inc(TcpCounter::kTimeouts);
      finish(c, CloseReason::kTimeout);
      return;
    }
    c->backoff = static_cast<uint8_t>(std::min<int>(c->backoff + 1, 30));
    c->retransmits++;
    counters.inc(TcpCounter::kRetransSegs);
    c->rtt_start_ns = 0;  // Karn: no sample from a retransmitted SYN
    send_syn(c, now_ns);
    arm_rexmit(c, now_ns);
    return;
  }
  if (c->in_flight() == 0) {
    // Persist timer (RFC 9293 §3.8.6.1): the peer's window is zero and data waits. "The
    // transmitting host SHOULD send the first zero-window probe when a zero window has
    // existed for the retransmission timeout period, and SHOULD increase exponentially the
    // interval between successive probes." The probe is an old sequence number, which the
    // peer answers with an ACK carrying its current window.
    if (c->sndq.size() > 0 || (c->fin_queued && !c->fin_sent)) {
      if (cfg.persist_timeout_ms != 0) {
        if (c->zero_window_since_ns == 0) {
          c->zero_window_since_ns = now_ns;
        } else if (now_ns - c->zero_window_since_ns >= uint64_t{cfg.persist_timeout_ms} * kNsPerMs) {
          counters.inc(TcpCounter::kPersistTimeouts);
          counters.inc(TcpCounter::kTimeouts);
          send_segment(c, c->snd_nxt, 0, kRst | kAck, now_ns);
          finish(c, CloseReason::kTimeout);
          return;
        }
      }
      counters.inc(TcpCounter::kZeroWindowProbes);
      send_segment(c, c->snd_una - 1, 0, kAck, now_ns);
      c->backoff = static_cast<uint8_t>(std::min<int>(c->backoff + 1, 30));
      arm_rexmit(c, now_ns);
    }
    return;
  }
  // RFC 6298 §5.4-5.6: retransmit the earliest unacknowledged segment, back off the timer
  // (RTO <- RTO * 2, capped), and restart it.
  if (++c->retries > cfg.data_retries) {
    counters.inc(TcpCounter::kTimeouts);
    send_segment(c, c->snd_nxt, 0, kRst | kAck, now_ns);
    finish(c, CloseReason::kTimeout);
    return;
  }
  counters.inc(TcpCounter::kRtoFired);
  c->backoff = static_cast<uint8_t>(std::min<int>(c->backoff + 1, 30));
  // RFC 5681 §3.1: "when a TCP sender detects segment loss using the retransmission timer
  // and the given segment has not yet been resent by way of the retransmission timer, the
  // value of ssthresh MUST be set to no more than [max(FlightSize/2, 2*SMSS)]". Later
  // timeouts of the same segment keep ssthresh (and CUBIC's saved window) as they are and
  // only hold cwnd at the loss window.
  if (c->backoff == 1) {
    c->cc.on_rto(c->in_flight(), now_ns);
  } else {
    c->cc.on_repeated_rto();
  }
  // RFC 6675 §5.1: "In order to avoid memory deadlocks, the TCP receiver is allowed to
  // discard data that has already been selectively acknowledged. As a result, [RFC2018]
  // suggests that a TCP sender SHOULD expunge the SACK information gathered from a receiver
  // upon a retransmission timeout (RTO) 'since the timeout might indicate that the data
  // receiver has reneged.' Additionally, a TCP sender MUST 'ignore prior SACK information
  // in determining which data to retransmit.'" So the scoreboard goes, and everything from
  // snd.una is resent, SACKed before or not; SACKs arriving from now on are used again
  // ("a SACK TCP sender SHOULD utilize all SACK information made available during the
  // loss recovery following an RTO"). "If an RTO occurs during loss recovery [...]
  // RecoveryPoint MUST be set to HighData": recover.
  c->sacks.clear();
  c->recovery = Recovery::kLoss;
  c->recover = c->snd_nxt;
  c->rtx_nxt = c->snd_una;
  c->lost_end = c->snd_nxt;
  c->dupacks = 0;
  c->rtt_start_ns = 0;
  output(c, now_ns);
  if (c->state != State::kClosed) {
    arm_rexmit(c, now_ns);
  }
}

void Tcp::Impl::reap() noexcept {
  for (Connection* c : dead) {
    delete c;
  }
  dead.clear();
}

// ---- Tcp ----

Tcp::Tcp(Stack& stack, const TcpConfig& cfg, std::span<const uint8_t, 16> isn_secret,
         uint64_t now_ns, uint16_t queue, uint16_t num_queues)
    : impl_(std::make_unique<Impl>(stack, cfg, isn_secret, now_ns, queue, num_queues)) {
  stack.set_l4_handler(6, this);
}

Tcp::~Tcp() { impl_->stack.set_l4_handler(6, nullptr); }

Result<void, Error> Tcp::listen(uint16_t port, Handler* handler,
                                std::optional<uint32_t> idle_timeout_ms) noexcept {
  if (port == 0 || handler == nullptr) {
    return fail(Error::kInvalidArgument);
  }
  if (impl_->listeners.count(port) != 0) {
    return fail(Error::kPortInUse);
  }
  impl_->listeners[port] = Listener{port, handler, 0, idle_timeout_ms};
  return {};
}

Result<Connection*, Error> Tcp::connect(Ipv4Addr dst, uint16_t port, Handler* handler,
                                        uint64_t now_ns) noexcept {
  Impl& t = *impl_;
  Impl::Guard g(t);
  if (port == 0 || handler == nullptr) {
    return fail(Error::kInvalidArgument);
  }
  if (t.table.size() >= t.cfg.max_connections) {
    return fail(Error::kTooManyConnections);
  }
  FourTuple tuple{t.stack.config().ip.addr, 0, dst, port};
  const uint32_t range = kEphemeralHi - kEphemeralLo + 1;
  bool found = false;
  for (uint32_t i = 0; i < range; i++) {
    uint16_t p = t.port_cursor;
    t.port_cursor = p >= kEphemeralHi ? kEphemeralLo : static_cast<uint16_t>(p + 1);
    tuple.local_port = p;
    if (t.listeners.count(p) == 0 && t.table.find(tuple) == nullptr && t.rss_ok(tuple)) {
      found = true;
      break;
    }
  }
  if (!found) {
    // Every port is taken, most likely by our own TIME_WAIT entries (a client that closes
    // first at thousands of connections per second fills the range within seconds). As
    // Linux's tcp_tw_reuse: an entry at least kTimeWaitReuseNs old gives its port to a new
    // connection. We closed first, so the peer holds no TIME_WAIT for the tuple; the risk
    // left is a duplicate of the old incarnation still in flight after a second, the one
    // tcp_tw_reuse accepts too (our ISNs grow with time, RFC 6528).
    for (uint32_t i = 0; i < range && !found; i++) {
      uint16_t p = t.port_cursor;
      t.port_cursor = p >= kEphemeralHi ? kEphemeralLo : static_cast<uint16_t>(p + 1);
      tuple.local_port = p;
      Connection* old = t.table.find(tuple);
      if (old != nullptr && old->state == State::kTimeWait &&
          now_ns - old->time_wait_since_ns >= kTimeWaitReuseNs && t.listeners.count(p) == 0 &&
          t.rss_ok(tuple)) {
        t.finish(old, CloseReason::kNormal);
        t.counters.inc(TcpCounter::kTimeWaitReused);
        found = true;
      }
    }
  }
  if (!found) {
    return fail(Error::kNoPorts);
  }
  Connection* c = t.create(tuple, handler, now_ns);
  if (c == nullptr) {
    return fail(Error::kTooManyConnections);
  }
  t.counters.inc(TcpCounter::kActiveOpens);
  c->iss = t.isn.isn(tuple, now_ns);
  c->snd_una = c->snd_nxt = c->iss;
  c->sndq.reset(c->iss + 1);
  c->ts_offset = c->iss.raw() * 2654435761u;
  c->rcv_wscale = t.cfg.wscale;
  t.set_state(c, State::kSynSent);
  c->reported = true;
  t.send_syn(c, now_ns);
  t.arm_rexmit(c, now_ns);
  return c;
}

uint32_t Tcp::send_space(const Connection* c) const noexcept {
  const uint32_t used = c->sndq.size();
  return used >= impl_->cfg.snd_buf ? 0 : impl_->cfg.snd_buf - used;
}

Result<void, Error> Tcp::send(Connection* c, rte_mbuf* chain) noexcept {
  Impl& t = *impl_;
  const bool can_send = c->state == State::kEstablished || c->state == State::kCloseWait ||
                        c->state == State::kSynSent || c->state == State::kSynReceived;
  if (!can_send || c->fin_queued) {
    return fail(Error::kNotConnected);
  }
  if (chain == nullptr) {
    return fail(Error::kInvalidArgument);
  }
  if (chain->pkt_len > send_space(c)) {
    c->want_writable = true;
    return fail(Error::kWouldBlock);
  }
  if (!mbuf_header_private(chain)) {
    // The queue edits segment headers (lengths, links): take private ones.
    rte_mbuf* clone = rte_pktmbuf_clone(chain, t.stack.pool());
    if (clone == nullptr) {
      t.counters.inc(TcpCounter::kDropNoMbuf);
      return fail(Error::kWouldBlock);
    }
    rte_pktmbuf_free(chain);
    chain = clone;
  }
  c->sndq.append(chain);
  if (send_space(c) == 0) {
    c->want_writable = true;
  }
  t.schedule_output(c);
  return {};
}

void Tcp::want_writable(Connection* c) noexcept { c->want_writable = true; }

void Tcp::release(Connection* c, uint32_t n) noexcept {
  if (c->state == State::kClosed) {
    return;
  }
  const uint32_t before = c->rcv_unreleased;
  c->rcv_unreleased -= std::min(n, c->rcv_unreleased);
  if (before == c->rcv_unreleased || !c->synchronized()) {
    return;
  }
  // A window update goes out at once when it opens the window by at least two segments
  // or half the buffer (RFC 9293 §3.8.6.2.2 receiver SWS avoidance decides the edge).
  const uint32_t advertised = static_cast<uint32_t>(std::max<int32_t>(c->rcv_adv - c->rcv_nxt, 0));
  const uint32_t avail = impl_->rcv_buf_free(c);
  if (avail >= advertised + std::min<uint32_t>(2u * c->rcv_mss, impl_->cfg.rcv_buf / 2)) {
    c->ack_now = true;
    impl_->schedule_output(c);
  }
}

void Tcp::shutdown(Connection* c) noexcept {
  switch (c->state) {
    case State::kSynSent:
    case State::kSynReceived:
    case State::kEstablished:
    case State::kCloseWait:
      if (!c->fin_queued) {
        c->fin_queued = true;
        impl_->schedule_output(c);
      }
      return;
    default:
      return;
  }
}

void Tcp::close(Connection* c) noexcept {
  if (c->state == State::kClosed) {
    return;
  }
  c->app_closed = true;
  shutdown(c);
  if (c->state == State::kFinWait2) {
    impl_->arm_long(c, c->last_activity_ns + uint64_t{impl_->cfg.fin_wait2_timeout_ms} * kNsPerMs);
  }
}

void Tcp::abort(Connection* c) noexcept {
  Impl& t = *impl_;
  if (c->state == State::kClosed) {
    return;
  }
  Impl::Guard g(t);
  if (c->state != State::kSynSent && c->state != State::kTimeWait) {
    // RFC 9293 §3.10.5 ABORT: "Send a reset segment: <SEQ=SND.NXT><CTL=RST>".
    t.send_segment(c, c->snd_nxt, 0, kRst | kAck, c->last_activity_ns);
  }
  if (c->state == State::kEstablished || c->state == State::kCloseWait) {
    t.counters.inc(TcpCounter::kEstabResets);
  }
  t.finish(c, CloseReason::kAborted);
}

uint32_t Tcp::drop_out_of_order(Connection* c) noexcept {
  const uint32_t n = c->ooo.bytes();
  c->ooo.clear(impl_->ooo_limits());
  return n;
}

void Tcp::set_idle_timeout(Connection* c, uint32_t ms) noexcept {
  c->idle_timeout_ms = ms;
  if (c->state == State::kEstablished || c->state == State::kCloseWait) {
    impl_->arm_established(c, c->last_activity_ns);
  }
}

void Tcp::set_user_data(Connection* c, void* p) noexcept { c->user_data = p; }
void* Tcp::user_data(const Connection* c) const noexcept { return c->user_data; }

ConnectionInfo Tcp::info(const Connection* c) const noexcept {
  ConnectionInfo i;
  i.tuple = c->tuple;
  i.state = c->state;
  i.snd_una = c->snd_una.raw();
  i.snd_nxt = c->snd_nxt.raw();
  i.snd_wnd = c->snd_wnd;
  i.rcv_nxt = c->rcv_nxt.raw();
  i.rcv_wnd = static_cast<uint32_t>(std::max<int32_t>(c->rcv_adv - c->rcv_nxt, 0));
  i.cwnd = c->cc.cwnd();
  i.ssthresh = c->cc.ssthresh();
  i.mss = c->mss;
  i.srtt_us = c->srtt_ns / 1000;
  i.rto_ms = impl_->current_rto(c) / kNsPerMs;
  i.snd_wscale = c->snd_wscale;
  i.rcv_wscale = c->rcv_wscale;
  i.sack = c->sack_ok;
  i.timestamps = c->ts_ok;
  i.retransmits = c->retransmits;
  return i;
}

void Tcp::l4_input(rte_mbuf* m, const Ipv4Info& ip, uint64_t now_ns) noexcept {
  Impl::Guard g(*impl_);
  impl_->input(m, ip, now_ns);
}

void Tcp::flush(uint64_t now_ns) noexcept {
  Impl& t = *impl_;
  Impl::Guard g(t);
  while (t.flush_head != nullptr) {
    Connection* c = t.flush_head;
    t.unlink_flush(c);
    t.output(c, now_ns);
  }
}

void Tcp::on_timer(uint64_t now_ns) noexcept {
  Impl& t = *impl_;
  Impl::Guard g(t);
  t.wheel.advance(now_ns, [&](TimerNode* n) { t.timer_fired(static_cast<TcbTimer*>(n), now_ns); });
}

uint64_t Tcp::next_timer_ns() const noexcept {
  return impl_->flush_head != nullptr ? 0 : impl_->wheel.next_expiry_ns();
}

uint32_t Tcp::num_connections() const noexcept { return impl_->table.size(); }
const TcpCounters& Tcp::counters() const noexcept { return impl_->counters; }
const TcpConfig& Tcp::config() const noexcept { return impl_->cfg; }

}  // namespace linetls::net::tcp
