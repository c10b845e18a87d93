// SEGMENT ARRIVES (RFC 9293 §3.10.7): parsing, connection lookup, and the processing steps
// numbered as in the RFC, with RFC 5961 (blind in-window attacks), RFC 7323 (PAWS),
// RFC 6191 (TIME-WAIT reuse) and SYN cookies (RFC 4987 §3.6) where they apply.
#include <rte_mbuf.h>

#include <algorithm>

#include "lib/base/bytes.h"
#include "lib/net/checksum.h"
#include "lib/net/mbuf_util.h"
#include "lib/net/tcp/mbuf_chain.h"
#include "lib/net/tcp/tcp_impl.h"

namespace linetls::net::tcp {

namespace {

// RFC 7323 §5.5: a ts_recent older than 24 days is invalid for PAWS.
constexpr uint64_t kPawsIdleNs = 24ull * 24 * 3600 * 1000000000ull;
// RFC 6675 §2 / RFC 5681 §3.2: "DupThresh ... 3".
constexpr uint32_t kDupThresh = 3;

bool has_ts(const Segment& s) noexcept { return s.opts.timestamp.has_value(); }
uint32_t seg_tsval(const Segment& s) noexcept { return s.opts.timestamp->first; }

}  // namespace

void Tcp::Impl::input(rte_mbuf* m, const Ipv4Info& ip, uint64_t now_ns) noexcept {
  counters.inc(TcpCounter::kSegsIn);
  if (ip.l4_len < kTcpHdrLen) {
    counters.inc(TcpCounter::kDropMalformed);
    rte_pktmbuf_free(m);
    return;
  }
  uint8_t hbuf[kTcpHdrLen + kMaxOptionsLen];
  const auto* h = static_cast<const uint8_t*>(rte_pktmbuf_read(m, ip.l4_offset, kTcpHdrLen, hbuf));
  const uint32_t doff = h == nullptr ? 0 : (uint32_t{h[12]} >> 4) * 4;
  if (h == nullptr || doff < kTcpHdrLen || doff > ip.l4_len) {
    counters.inc(TcpCounter::kDropMalformed);
    rte_pktmbuf_free(m);
    return;
  }
  // RFC 9293 §3.1: the checksum covers the pseudo-header, header and data; a segment
  // that fails it is dropped (RFC 1122 4.2.2.7: "MUST" verify).
  bool verified = false;
  if (stack.caps().rx_l4_cksum) {
    const uint64_t f = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;
    if (f == RTE_MBUF_F_RX_L4_CKSUM_BAD) {
      counters.inc(TcpCounter::kDropChecksum);
      rte_pktmbuf_free(m);
      return;
    }
    verified = f == RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  }
  if (!verified) {
    uint16_t sum = 0;
    if (!cksum_mbuf(m, ip.l4_offset, ip.l4_len, &sum) ||
        cksum_add(sum, ipv4_pseudo_cksum(ip.src, ip.dst, 6, ip.l4_len)) != 0xffff) {
      counters.inc(TcpCounter::kDropChecksum);
      rte_pktmbuf_free(m);
      return;
    }
  }
  // Copy the fixed header out before the options read may reuse hbuf.
  uint8_t fixed[kTcpHdrLen];
  std::copy(h, h + kTcpHdrLen, fixed);
  Segment seg;
  const uint16_t sport = load_be16(fixed);
  const uint16_t dport = load_be16(fixed + 2);
  seg.seq = Seq(load_be32(fixed + 4));
  seg.ack = Seq(load_be32(fixed + 8));
  seg.flags = fixed[13] & 0x3f;
  seg.wnd = load_be16(fixed + 14);
  if (doff > kTcpHdrLen) {
    const auto* o = static_cast<const uint8_t*>(
        rte_pktmbuf_read(m, ip.l4_offset + kTcpHdrLen, doff - kTcpHdrLen, hbuf));
    if (o == nullptr || !parse_options(std::span<const uint8_t>(o, doff - kTcpHdrLen), &seg.opts)) {
      counters.inc(TcpCounter::kDropMalformed);
      rte_pktmbuf_free(m);
      return;
    }
  }
  if (sport == 0 || dport == 0) {
    counters.inc(TcpCounter::kDropMalformed);
    rte_pktmbuf_free(m);
    return;
  }
  seg.len = ip.l4_len - doff;
  if (seg.len > 0) {
    seg.payload = mbuf_chain_adj(m, ip.l4_offset + doff);
  } else {
    rte_pktmbuf_free(m);
  }
  const FourTuple t{ip.dst, dport, ip.src, sport};

  Connection* c = table.find(t);
  auto l = listeners.find(dport);
  // RFC 6191 §2: a SYN for a connection in TIME-WAIT may open a new incarnation when its
  // timestamp is greater than the last one seen (or, without timestamps, when its sequence
  // number is beyond rcv.nxt).
  if (c != nullptr && c->state == State::kTimeWait && (seg.flags & (kSyn | kAck | kRst)) == kSyn &&
      l != listeners.end()) {
    const bool ok = c->ts_ok && has_ts(seg) ? int32_t(seg_tsval(seg) - c->ts_recent) > 0
                                            : (!c->ts_ok && seg.seq > c->rcv_nxt);
    if (ok) {
      counters.inc(TcpCounter::kTimeWaitReused);
      finish(c, CloseReason::kNormal);
      c = nullptr;
    }
  }
  if (c != nullptr) {
    c->last_activity_ns = now_ns;
    c->ka_probes = 0;
    if (c->state == State::kSynSent) {
      syn_sent_input(c, seg, now_ns);
    } else {
      sync_input(c, seg, now_ns);
    }
    if (c->state != State::kClosed) {
      output(c, now_ns);
    }
  } else if (l != listeners.end()) {
    listen_input(l->second, t, seg, now_ns);
  } else {
    closed_input(t, seg, now_ns);
  }
  if (seg.payload != nullptr) {
    rte_pktmbuf_free(seg.payload);
  }
}

// §3.10.7.1 CLOSED: "An incoming segment containing a RST is discarded. An incoming
// segment not containing a RST causes a RST to be sent in response."
void Tcp::Impl::closed_input(const FourTuple& t, const Segment& seg, uint64_t now_ns) noexcept {
  counters.inc(TcpCounter::kDropNoListener);
  if ((seg.flags & kRst) == 0) {
    send_reset_for(t, seg, now_ns);
  }
}

void Tcp::Impl::apply_syn_options(Connection* c, const TcpOptions& o) noexcept {
  // RFC 9293 §3.7.1: without an MSS option the send MSS is 536 (RFC 9293 "SendMSS ... MUST
  // ... default of 536"); a smaller peer MSS is raised to min_peer_mss so a peer cannot make
  // us cut the stream into tiny segments (CVE-2019-11479 class).
  uint16_t peer = o.mss.value_or(536);
  peer = std::max(peer, cfg.min_peer_mss);
  c->mss = std::min(peer, our_mss);
  // RFC 7323 §2.2: window scaling is on only when both SYNs carried the option.
  c->ws_ok = o.wscale.has_value() && cfg.wscale > 0;
  c->snd_wscale = c->ws_ok ? std::min(*o.wscale, kMaxWscale) : 0;
  c->rcv_wscale = c->ws_ok ? std::min(cfg.wscale, kMaxWscale) : 0;
  c->sack_ok = o.sack_permitted && cfg.sack;
  c->ts_ok = o.timestamp.has_value() && cfg.timestamps;
  if (c->ts_ok) {
    c->ts_recent = o.timestamp->first;
  }
  const uint16_t ts_len = c->ts_ok ? 12 : 0;
  c->rcv_mss = static_cast<uint16_t>(our_mss - ts_len);
  c->cc.set_mss(c->mss - ts_len);
}

// §3.10.7.2 LISTEN.
void Tcp::Impl::listen_input(Listener& l, const FourTuple& t, Segment& seg,
                             uint64_t now_ns) noexcept {
  // "first check for an RST: An incoming RST segment could not be valid since it could not
  // have been sent in response to anything sent by this incarnation of the connection. An
  // incoming RST should be ignored."
  if (seg.flags & kRst) {
    return;
  }
  // "second, check for an ACK: Any acknowledgment is bad if it arrives on a connection
  // still in the LISTEN state. An acceptable reset segment should be formed for any
  // arriving ACK-bearing segment" -- unless it completes a SYN-cookie handshake.
  if (seg.flags & kAck) {
    if ((seg.flags & kSyn) == 0 && cfg.syn_cookies) {
      std::optional<uint32_t> tsecr;
      if (has_ts(seg)) {
        tsecr = seg.opts.timestamp->second;
      }
      const auto ck = isn.check_cookie(t, seg.seq - 1, seg.ack - 1, tsecr, now_ns);
      if (ck) {
        Connection* c = create(t, l.handler, now_ns);
  if (c != nullptr && l.idle_timeout_ms) {
    c->idle_timeout_ms = *l.idle_timeout_ms;
  }
        if (c != nullptr && l.idle_timeout_ms) {
          c->idle_timeout_ms = *l.idle_timeout_ms;
        }
        if (c == nullptr) {
          counters.inc(TcpCounter::kDropBacklog);
          return;
        }
        counters.inc(TcpCounter::kSynCookiesOk);
        counters.inc(TcpCounter::kPassiveOpens);
        c->passive = true;
        c->iss = seg.ack - 1;
        c->snd_una = c->snd_nxt = seg.ack;
        c->sndq.reset(seg.ack);
        c->irs = seg.seq - 1;
        c->rcv_nxt = seg.seq;
        c->recover = c->iss;
        c->mss = std::min(std::max(ck->mss, cfg.min_peer_mss), our_mss);
        c->ws_ok = ck->wscale.has_value() && cfg.wscale > 0;
        c->snd_wscale = c->ws_ok ? std::min(*ck->wscale, kMaxWscale) : 0;
        c->rcv_wscale = c->ws_ok ? cfg.wscale : 0;
        c->sack_ok = ck->sack_permitted && cfg.sack;
        c->ts_ok = has_ts(seg) && cfg.timestamps;
        const uint16_t ts_len = c->ts_ok ? 12 : 0;
        c->rcv_mss = static_cast<uint16_t>(our_mss - ts_len);
        c->cc.set_mss(c->mss - ts_len);
        if (c->ts_ok) {
          // Keep our TSval monotonic from the one the cookie SYN-ACK carried.
          c->ts_offset = seg.opts.timestamp->second - static_cast<uint32_t>(now_ns / kNsPerMs);
          c->ts_recent = seg_tsval(seg);
          c->ts_recent_ns = now_ns;
        }
        c->snd_wnd = uint32_t{seg.wnd} << c->snd_wscale;
        c->max_snd_wnd = c->snd_wnd;
        c->snd_wl1 = seg.seq;
        c->snd_wl2 = seg.ack;
        c->rcv_adv = c->rcv_nxt + std::min<uint32_t>(cfg.rcv_buf, 65535);
        c->last_ack_sent = c->rcv_nxt;
        set_state(c, State::kSynReceived);
        established(c, now_ns);
        if (c->state != State::kClosed) {
          sync_input(c, seg, now_ns);
        }
        if (c->state != State::kClosed) {
          output(c, now_ns);
        }
        return;
      }
      counters.inc(TcpCounter::kSynCookiesBad);
    }
    counters.inc(TcpCounter::kDropNoListener);
    send_reset_for(t, seg, now_ns);
    return;
  }
  // "third, check for a SYN".
  if ((seg.flags & kSyn) == 0) {
    return;  // "fourth, other control or text-bearing segments": drop
  }
  if (l.half_open >= cfg.backlog || table.size() >= cfg.max_connections) {
    if (!cfg.syn_cookies) {
      counters.inc(TcpCounter::kDropBacklog);
      return;
    }
    // The backlog is full: answer statelessly with a SYN cookie.
    CookieSyn syn;
    syn.mss = std::max(seg.opts.mss.value_or(536), cfg.min_peer_mss);
    const bool ts = has_ts(seg) && cfg.timestamps;
    if (ts && seg.opts.wscale && cfg.wscale > 0) {
      syn.wscale = std::min(*seg.opts.wscale, kMaxWscale);
    }
    syn.sack_permitted = ts && seg.opts.sack_permitted && cfg.sack;
    std::optional<uint32_t> base;
    if (ts) {
      base = static_cast<uint32_t>(now_ns / kNsPerMs) + (isn.isn(t, 0).raw() & ~31u);
    }
    const auto ck = isn.make_cookie(t, seg.seq, syn, now_ns, base);
    TcpOptions o;
    o.mss = our_mss;
    if (syn.wscale) {
      o.wscale = cfg.wscale;
    }
    o.sack_permitted = syn.sack_permitted;
    if (ts && ck.tsval) {
      o.timestamp = std::make_pair(*ck.tsval, seg_tsval(seg));
    }
    counters.inc(TcpCounter::kSynCookiesSent);
    send_raw(t, ck.isn, seg.seq + 1, kSyn | kAck,
             static_cast<uint16_t>(std::min<uint32_t>(cfg.rcv_buf, 65535)), o, now_ns);
    return;
  }
  Connection* c = create(t, l.handler, now_ns);
  if (c != nullptr && l.idle_timeout_ms) {
    c->idle_timeout_ms = *l.idle_timeout_ms;
  }
  if (c == nullptr) {
    counters.inc(TcpCounter::kDropBacklog);
    return;
  }
  counters.inc(TcpCounter::kPassiveOpens);
  c->passive = true;
  l.half_open++;
  // "Set RCV.NXT to SEG.SEQ+1, IRS is set to SEG.SEQ, and any other control or text should
  // be queued for processing later. ISS should be selected and a SYN segment sent of the
  // form: <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>."
  c->irs = seg.seq;
  c->rcv_nxt = seg.seq + 1;
  c->iss = isn.isn(t, now_ns);
  c->snd_una = c->snd_nxt = c->iss;
  c->recover = c->iss;
  c->sndq.reset(c->iss + 1);
  c->ts_offset = c->iss.raw() * 2654435761u;
  apply_syn_options(c, seg.opts);
  if (c->ts_ok) {
    c->ts_recent_ns = now_ns;
  }
  c->snd_wnd = seg.wnd;  // RFC 7323 §2.2: the window in a SYN is never scaled
  c->max_snd_wnd = c->snd_wnd;
  c->snd_wl1 = seg.seq;
  c->rcv_adv = c->rcv_nxt + std::min<uint32_t>(cfg.rcv_buf, 65535);
  c->last_ack_sent = c->rcv_nxt;
  set_state(c, State::kSynReceived);
  send_syn(c, now_ns);
  arm_rexmit(c, now_ns);
  arm_long(c, now_ns + uint64_t{cfg.handshake_timeout_ms} * kNsPerMs);
}

// §3.10.7.3 SYN-SENT.
void Tcp::Impl::syn_sent_input(Connection* c, Segment& seg, uint64_t now_ns) noexcept {
  // "first check the ACK bit: If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless
  // the RST bit is set, if so drop the segment and return) <SEQ=SEG.ACK><CTL=RST>".
  const bool has_ack = (seg.flags & kAck) != 0;
  if (has_ack && (seg.ack <= c->iss || seg.ack > c->snd_nxt)) {
    if ((seg.flags & kRst) == 0) {
      send_reset_for(c->tuple, seg, now_ns);
    }
    return;
  }
  // "second, check the RST bit: If the ACK was acceptable, then signal to the user
  // "error: connection reset", drop the segment, enter CLOSED state ... Otherwise (no ACK),
  // drop the segment and return."
  if (seg.flags & kRst) {
    if (has_ack) {
      counters.inc(TcpCounter::kAttemptFails);
      finish(c, CloseReason::kRefused);
    }
    return;
  }
  // "fourth, check the SYN bit".
  if ((seg.flags & kSyn) == 0) {
    return;  // "fifth, if neither of the SYN or RST bits is set, then drop the segment"
  }
  c->irs = seg.seq;
  c->rcv_nxt = seg.seq + 1;
  c->recover = c->iss;
  apply_syn_options(c, seg.opts);
  if (c->ts_ok) {
    c->ts_recent_ns = now_ns;
  }
  c->rcv_adv = c->rcv_nxt + std::min<uint32_t>(cfg.rcv_buf, 65535);
  c->snd_wnd = seg.wnd;  // never scaled in a SYN
  c->max_snd_wnd = c->snd_wnd;
  c->snd_wl1 = seg.seq;
  c->snd_wl2 = seg.ack;
  if (has_ack) {
    // "SND.UNA should be advanced to equal SEG.ACK ... If SND.UNA > ISS (our SYN has been
    // ACKed), change the connection state to ESTABLISHED, form an ACK segment
    // <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> and send it."
    c->snd_una = seg.ack;
    if (c->ts_ok && seg.opts.timestamp->second != 0 && c->retries == 0) {
      rtt_sample(c, uint64_t{tsval(c, now_ns) - seg.opts.timestamp->second} * kNsPerMs);
    } else if (c->rtt_start_ns != 0) {
      rtt_sample(c, now_ns - c->rtt_start_ns);
    }
    c->rtt_start_ns = 0;
    wheel.cancel(&c->rexmit);
    c->ack_now = true;
    established(c, now_ns);
    return;
  }
  // "Otherwise, enter SYN-RECEIVED, form a SYN,ACK segment <SEQ=ISS><ACK=RCV.NXT>
  // <CTL=SYN,ACK> and send it." (simultaneous open)
  set_state(c, State::kSynReceived);
  send_syn(c, now_ns);
  arm_rexmit(c, now_ns);
}

void Tcp::Impl::challenge_ack(Connection* c, uint64_t now_ns) noexcept {
  // RFC 5961 §7: "An implementation SHOULD include an ACK throttling mechanism". Two
  // budgets: one per connection, so one attacked (or attacking) connection cannot use up
  // the worker's; and one per worker, which bounds the total.
  if (!c->challenge_rl.allow(now_ns, cfg.challenge_acks_per_conn_per_s) ||
      !challenge_rl.allow(now_ns, cfg.challenge_acks_per_s)) {
    counters.inc(TcpCounter::kChallengeAcksLimited);
    return;
  }
  counters.inc(TcpCounter::kChallengeAcks);
  send_ack(c, now_ns);
}

// §3.10.7.4 Other states (SYN-RECEIVED and the synchronized states).
void Tcp::Impl::sync_input(Connection* c, Segment& seg, uint64_t now_ns) noexcept {
  const bool rst = (seg.flags & kRst) != 0;
  // RFC 7323 §5.3 R1 (before the acceptability test): "If there is a Timestamps option in
  // the arriving segment, SEG.TSval < TS.Recent, and if TS.Recent is valid, then treat the
  // arriving segment as not acceptable: Send an acknowledgment in reply as specified in
  // RFC 793 page 69 and drop the segment." RSTs are exempt (§5.3 R1 note).
  if (c->ts_ok && has_ts(seg) && !rst && int32_t(seg_tsval(seg) - c->ts_recent) < 0 &&
      now_ns - c->ts_recent_ns < kPawsIdleNs) {
    counters.inc(TcpCounter::kDropPaws);
    c->ack_now = true;
    return;
  }

  // "first, check sequence number": the four cases of segment length and window.
  const uint32_t rcv_wnd = static_cast<uint32_t>(std::max<int32_t>(c->rcv_adv - c->rcv_nxt, 0));
  const uint32_t seg_len = seg.seg_len();
  const Seq wnd_end = c->rcv_nxt + rcv_wnd;
  bool acceptable;
  if (seg_len == 0) {
    acceptable = rcv_wnd == 0 ? seg.seq == c->rcv_nxt : seq_in(seg.seq, c->rcv_nxt, wnd_end);
  } else {
    acceptable = rcv_wnd != 0 && (seq_in(seg.seq, c->rcv_nxt, wnd_end) ||
                                  seq_in(seg.seq + (seg_len - 1), c->rcv_nxt, wnd_end));
  }
  bool drop_text = false;
  if (!acceptable) {
    // "If the RCV.WND is zero, no segments will be acceptable, but special allowance should
    // be made to accept valid ACKs, URGs, and RSTs."
    if (rcv_wnd == 0 && seg.seq == c->rcv_nxt) {
      drop_text = true;
    } else {
      // "If an incoming segment is not acceptable, an acknowledgment should be sent in
      // reply (unless the RST bit is set, if so drop the segment and return)".
      counters.inc(TcpCounter::kDropOutOfWindow);
      if (!rst) {
        if (c->state == State::kSynReceived && (seg.flags & kSyn) && seg.seq == c->irs) {
          send_syn(c, now_ns);  // the peer lost our SYN-ACK and repeats its SYN
        } else {
          c->ack_now = true;
        }
      }
      return;
    }
  }
  const Seq orig_seq = seg.seq;
  // Trim to the window: bytes before rcv.nxt are duplicates, bytes beyond the window are
  // not ours to keep.
  if ((seg.flags & kSyn) && seg.seq < c->rcv_nxt) {
    seg.flags &= static_cast<uint8_t>(~kSyn);
    seg.seq = seg.seq + 1;
  }
  if (drop_text && seg.payload != nullptr) {
    rte_pktmbuf_free(seg.payload);
    seg.payload = nullptr;
    seg.len = 0;
    seg.flags &= static_cast<uint8_t>(~kFin);
  }
  if (seg.seq < c->rcv_nxt) {
    const uint32_t dup = static_cast<uint32_t>(c->rcv_nxt - seg.seq);
    if (dup >= seg.len) {
      if (seg.payload != nullptr) {
        rte_pktmbuf_free(seg.payload);
        seg.payload = nullptr;
      }
      if (dup > seg.len) {
        seg.flags &= static_cast<uint8_t>(~kFin);  // an old FIN
      }
      seg.len = 0;
    } else {
      seg.payload = mbuf_chain_adj(seg.payload, dup);
      seg.len -= dup;
    }
    seg.seq = c->rcv_nxt;
    c->ack_now = true;  // a retransmission: tell the peer where we are
  }
  if (seg.len > 0 && seg.seq + seg.len > wnd_end) {
    const uint32_t keep = static_cast<uint32_t>(std::max<int32_t>(wnd_end - seg.seq, 0));
    if (keep == 0) {
      rte_pktmbuf_free(seg.payload);
      seg.payload = nullptr;
    } else {
      mbuf_trim_to(seg.payload, keep);
    }
    seg.len = keep;
    seg.flags &= static_cast<uint8_t>(~kFin);
    c->ack_now = true;
  }

  // "second, check the RST bit" (RFC 5961 §3.2): "If the RST bit is set and the sequence
  // number exactly matches the next expected sequence number (RCV.NXT), then TCP MUST reset
  // the connection"; "If the RST bit is set and the sequence number does not exactly match
  // the next expected sequence value, yet is within the current receive window, TCP MUST
  // send an acknowledgment (challenge ACK)".
  if (rst) {
    if (orig_seq != c->rcv_nxt) {
      challenge_ack(c, now_ns);
      return;
    }
    if (c->state == State::kEstablished || c->state == State::kCloseWait) {
      counters.inc(TcpCounter::kEstabResets);
    }
    if (c->state == State::kSynReceived && !c->passive) {
      counters.inc(TcpCounter::kAttemptFails);
      finish(c, CloseReason::kRefused);
    } else {
      finish(c, CloseReason::kReset);
    }
    return;
  }

  // RFC 7323 §4.3 (2): "If SEG.TSval >= TS.Recent and SEG.SEQ <= Last.ACK.sent, then
  // SEG.TSval is copied to TS.Recent; otherwise, it is ignored."
  if (c->ts_ok && has_ts(seg) && int32_t(seg_tsval(seg) - c->ts_recent) >= 0 &&
      orig_seq <= c->last_ack_sent) {
    c->ts_recent = seg_tsval(seg);
    c->ts_recent_ns = now_ns;
  }

  // "fourth, check the SYN bit" (RFC 5961 §4.2): "If the SYN bit is set, irrespective of
  // the sequence number, TCP MUST send an ACK (also referred to as challenge ACK) to the
  // remote peer".
  if (seg.flags & kSyn) {
    challenge_ack(c, now_ns);
    return;
  }

  // "fifth, check the ACK field": "if the ACK bit is off, drop the segment and return".
  if ((seg.flags & kAck) == 0) {
    return;
  }
  if (c->state == State::kSynReceived) {
    // "If SND.UNA < SEG.ACK =< SND.NXT, then enter ESTABLISHED state and continue
    // processing ... If the segment acknowledgment is not acceptable, form a reset segment
    // <SEQ=SEG.ACK><CTL=RST> and send it."
    if (!(c->snd_una < seg.ack && seg.ack <= c->snd_nxt)) {
      send_reset_for(c->tuple, seg, now_ns);
      return;
    }
    if (c->ts_ok && has_ts(seg) && seg.opts.timestamp->second != 0 && c->retries == 0) {
      rtt_sample(c, uint64_t{tsval(c, now_ns) - seg.opts.timestamp->second} * kNsPerMs);
    }
    c->snd_una = seg.ack;
    c->snd_wnd = uint32_t{seg.wnd} << c->snd_wscale;
    c->max_snd_wnd = std::max(c->max_snd_wnd, c->snd_wnd);
    c->snd_wl1 = seg.seq;
    c->snd_wl2 = seg.ack;
    wheel.cancel(&c->rexmit);
    established(c, now_ns);
    if (c->state == State::kClosed) {
      return;
    }
  }
  if (!ack_input(c, seg, now_ns)) {
    return;
  }

  // "sixth, check the URG bit": urgent data is not supported; the pointer is ignored and
  // the bytes are delivered in line (RFC 6093 §6 advises against its use).

  // "seventh, process the segment text".
  if (seg.len > 0) {
    if (c->state == State::kEstablished || c->state == State::kFinWait1 ||
        c->state == State::kFinWait2) {
      text_input(c, seg, now_ns);
      if (c->state == State::kClosed) {
        return;
      }
    }
    // Other states: "This should not occur since a FIN has been received from the remote
    // side. Ignore the segment text."
  }

  // "eighth, check the FIN bit".
  if (seg.flags & kFin) {
    const Seq fin_seq = seg.seq + seg.len;
    if (fin_seq == c->rcv_nxt && !c->peer_fin) {
      fin_input(c, now_ns);
    } else if (fin_seq > c->rcv_nxt) {
      c->ooo_fin = true;  // held until the data before it arrives
      c->ooo_fin_seq = fin_seq;
      c->ack_now = true;
    } else if (c->state == State::kTimeWait) {
      // "TIME-WAIT STATE: Remain in the TIME-WAIT state. Acknowledge it, and restart the
      // 2 MSL timeout."
      c->ack_now = true;
      arm_long(c, now_ns + uint64_t{cfg.time_wait_ms} * kNsPerMs);
    }
  }
}

bool Tcp::Impl::ack_input(Connection* c, Segment& seg, uint64_t now_ns) noexcept {
  // "If the ACK acks something not yet sent (SEG.ACK > SND.NXT), then send an ACK, drop
  // the segment, and return." RFC 5961 §5.2: an ACK below SND.UNA - MAX.SND.WND is
  // equally answered with an ACK and dropped.
  if (seg.ack > c->snd_nxt || seg.ack < c->snd_una - c->max_snd_wnd) {
    c->ack_now = true;
    return false;
  }
  const uint32_t wnd = uint32_t{seg.wnd} << c->snd_wscale;
  bool progress = false;
  if (c->sack_ok) {
    for (uint8_t i = 0; i < seg.opts.num_sack; i++) {
      if (!c->sacks.add(seg.opts.sack[i], seg.ack, c->snd_nxt, cfg.sack_scoreboard_max)) {
        counters.inc(TcpCounter::kSackBlocksIgnored);
      }
    }
  }
  if (seg.ack > c->snd_una) {
    // "If SND.UNA < SEG.ACK =< SND.NXT, then set SND.UNA <- SEG.ACK. Any segments on the
    // retransmission queue that are thereby entirely acknowledged are removed."
    const uint32_t acked = static_cast<uint32_t>(seg.ack - c->snd_una);
    // RFC 7323 §4.1 RTTM with timestamps; else Karn's algorithm on one timed segment.
    if (c->ts_ok && has_ts(seg) && seg.opts.timestamp->second != 0) {
      rtt_sample(c, uint64_t{tsval(c, now_ns) - seg.opts.timestamp->second} * kNsPerMs);
    } else if (c->rtt_start_ns != 0 && seg.ack > c->rtt_seq) {
      rtt_sample(c, now_ns - c->rtt_start_ns);
      c->rtt_start_ns = 0;
    }
    c->snd_una = seg.ack;
    c->last_data_ns = now_ns;
    c->sndq.ack_to(seg.ack);
    c->sacks.ack_to(seg.ack);
    c->retries = 0;
    c->backoff = 0;
    progress = true;
    switch (c->recovery) {
      case Recovery::kNone:
        c->dupacks = 0;
        c->cc.on_ack(acked, now_ns, c->srtt_ns);
        break;
      case Recovery::kFast:
        if (seg.ack >= c->recover) {
          // RFC 6582 §3.2 step 3 / RFC 6675 §5: full acknowledgment ends recovery.
          c->recovery = Recovery::kNone;
          c->dupacks = 0;
          c->cc.on_exit_recovery(now_ns);
        } else if (!c->sack_ok) {
          // RFC 6582 §3.2 step 4 (partial acknowledgment): "retransmit the first
          // unacknowledged segment" and deflate by the amount acknowledged.
          c->rtx_nxt = c->snd_una;
          c->lost_end = c->snd_una + std::min<uint32_t>(seg_payload_max(c), c->in_flight());
          c->dupacks = 0;
        } else {
          c->rtx_nxt = seq_max(c->rtx_nxt, c->snd_una);
        }
        break;
      case Recovery::kLoss:
        c->cc.on_ack(acked, now_ns, c->srtt_ns);  // slow start again after the RTO
        if (seg.ack >= c->recover) {
          c->recovery = Recovery::kNone;
          c->dupacks = 0;
        } else {
          c->rtx_nxt = seq_max(c->rtx_nxt, c->snd_una);
        }
        break;
    }
    // RFC 6298 §5.2/5.3: stop the timer when everything is acknowledged, else restart it.
    if (c->in_flight() == 0) {
      wheel.cancel(&c->rexmit);
    } else {
      arm_rexmit(c, now_ns);
    }
  } else if (seg.ack == c->snd_una && c->in_flight() > 0 && seg.len == 0 &&
             (seg.flags & (kSyn | kFin)) == 0 && wnd == c->snd_wnd) {
    // RFC 5681 §2 "DUPLICATE ACKNOWLEDGMENT".
    counters.inc(TcpCounter::kDupAcksIn);
    if (c->dupacks < 255) {
      c->dupacks++;
    }
  }
  // "If SND.UNA =< SEG.ACK =< SND.NXT, the send window should be updated. If (SND.WL1 <
  // SEG.SEQ or (SND.WL1 = SEG.SEQ and SND.WL2 =< SEG.ACK)), set SND.WND <- SEG.WND, set
  // SND.WL1 <- SEG.SEQ, and set SND.WL2 <- SEG.ACK."
  if (c->snd_wl1 < seg.seq || (c->snd_wl1 == seg.seq && c->snd_wl2 <= seg.ack)) {
    c->snd_wnd = wnd;
    c->max_snd_wnd = std::max(c->max_snd_wnd, wnd);
    if (wnd != 0) {
      c->zero_window_since_ns = 0;  // persist ends when the window opens
    }
    c->snd_wl1 = seg.seq;
    c->snd_wl2 = seg.ack;
  }
  // Loss detection. Without SACK: three duplicate ACKs (RFC 5681 §3.2). With SACK, RFC 6675
  // §5: "(c) If DupAcks < DupThresh but IsLost (HighACK + 1) returns true -- indicating at
  // least three segments have arrived above the current cumulative acknowledgment point,
  // which is taken to indicate loss -- go to step (4)", and only the holes IsLost() marks
  // are retransmitted: a hole with fewer than DupThresh segments SACKed above it is taken
  // to be reordered, not lost. RFC 6582 §3.2 step 2: a new recovery only once snd.una is
  // past the previous recovery point.
  const Seq lost = c->sack_ok ? c->sacks.lost_boundary(c->snd_una, kDupThresh, seg_payload_max(c))
                              : c->snd_una;
  if (c->recovery == Recovery::kNone && c->in_flight() > 0 && c->snd_una > c->recover) {
    // RFC 6675 §5 "(a) ... If DupAcks >= DupThresh, go to step (4)" -- with SACK a duplicate
    // ACK that SACKs nothing new above a hole says nothing of loss, so IsLost decides.
    // A peer that negotiated SACK but sends no blocks is treated as one without.
    const bool no_sack_info = !c->sack_ok || c->sacks.empty();
    if ((c->dupacks >= kDupThresh && no_sack_info) || (c->sack_ok && lost > c->snd_una)) {
      counters.inc(TcpCounter::kFastRetrans);
      if (c->sack_ok) {
        counters.inc(TcpCounter::kSackRecoveries);
      }
      c->recovery = Recovery::kFast;
      c->recover = c->snd_nxt;
      c->cc.on_enter_recovery(c->in_flight(), now_ns);
      c->rtx_nxt = c->snd_una;
      // "(4.3) Retransmit the first data segment presumed dropped -- the segment starting
      // with sequence number HighACK + 1."
      const Seq first = c->snd_una + std::min<uint32_t>(seg_payload_max(c), c->in_flight());
      c->lost_end = c->sack_ok ? seq_max(lost, first) : first;
      c->rtt_start_ns = 0;
    }
  } else if (c->recovery == Recovery::kFast && c->sack_ok) {
    c->lost_end = seq_max(c->lost_end, lost);
  }

  const bool fin_acked = c->fin_sent && c->snd_una == c->snd_fin_seq + 1;
  switch (c->state) {
    case State::kFinWait1:
      // "In addition to the processing for the ESTABLISHED state, if the FIN segment is now
      // acknowledged, then enter FIN-WAIT-2 and continue processing in that state."
      if (fin_acked) {
        set_state(c, State::kFinWait2);
        if (c->app_closed) {
          arm_long(c, now_ns + uint64_t{cfg.fin_wait2_timeout_ms} * kNsPerMs);
        }
      }
      break;
    case State::kClosing:
      // "if the ACK acknowledges our FIN, then enter the TIME-WAIT state; otherwise, ignore
      // the segment."
      if (fin_acked) {
        enter_time_wait(c, now_ns);
      }
      return false;
    case State::kLastAck:
      // "The only thing that can arrive in this state is an acknowledgment of our FIN. If
      // our FIN is now acknowledged, delete the TCB, enter the CLOSED state, and return."
      if (fin_acked) {
        finish(c, CloseReason::kNormal);
      }
      return false;
    default:
      break;
  }
  if (progress && c->want_writable && c->reported && c->sndq.size() < cfg.snd_buf) {
    c->want_writable = false;
    c->handler->on_writable(c);
    if (c->state == State::kClosed) {
      return false;
    }
  }
  return true;
}

void Tcp::Impl::deliver(Connection* c, rte_mbuf* m, uint32_t len) noexcept {
  counters.inc(TcpCounter::kBytesIn, len);
  if (c->app_closed || !c->reported) {
    rte_pktmbuf_free(m);  // nobody reads any more: consumed at once
    return;
  }
  c->rcv_unreleased += len;
  c->handler->on_data(c, m, len);
}

void Tcp::Impl::text_input(Connection* c, Segment& seg, uint64_t now_ns) noexcept {
  rte_mbuf* m = seg.payload;
  seg.payload = nullptr;
  c->last_data_ns = now_ns;
  if (seg.seq != c->rcv_nxt) {
    // Out of order: hold it and ACK at once (RFC 5681 §4.2: "A TCP receiver SHOULD send an
    // immediate duplicate ACK when an out-of-order segment arrives").
    counters.inc(TcpCounter::kOooSegs);
    c->sack_recent = seg.seq;
    if (!c->ooo.insert(seg.seq, m, seg.len, ooo_limits())) {
      counters.inc(TcpCounter::kDropOoo);
    }
    c->ack_now = true;
    return;
  }
  const bool had_ooo = !c->ooo.empty();
  c->rcv_nxt = c->rcv_nxt + seg.len;
  uint32_t n = 0;
  rte_mbuf* more = had_ooo ? c->ooo.pop_in_order(c->rcv_nxt, &n, ooo_limits()) : nullptr;
  c->rcv_nxt = c->rcv_nxt + n;
  const uint32_t total = seg.len + n;
  m = mbuf_chain_cat(m, more);
  // RFC 9293 §3.8.6.3: "an ACK SHOULD be generated for at least every second full-sized
  // segment"; "MUST be generated within 0.5 seconds". A segment that fills a hole is
  // ACKed at once (RFC 5681 §4.2).
  if (had_ooo) {
    c->ack_now = true;
  } else if (seg.len >= c->rcv_mss) {
    if (++c->delack_segs >= 2) {
      c->ack_now = true;
    }
  }
  if (!c->ack_now && !c->delack.armed()) {
    wheel.schedule(&c->delack, now_ns + uint64_t{cfg.delayed_ack_ms} * kNsPerMs);
  }
  deliver(c, m, total);
  if (c->state == State::kClosed) {
    return;
  }
  if (c->ooo_fin && c->ooo_fin_seq == c->rcv_nxt) {
    fin_input(c, now_ns);
  }
}

void Tcp::Impl::fin_input(Connection* c, uint64_t now_ns) noexcept {
  // "If the FIN bit is set, signal the user "connection closing" ..., advance RCV.NXT over
  // the FIN, and send an acknowledgment for the FIN."
  c->rcv_nxt = c->rcv_nxt + 1;
  c->peer_fin = true;
  c->ooo_fin = false;
  c->ack_now = true;
  const bool fin_acked = c->fin_sent && c->snd_una == c->snd_fin_seq + 1;
  switch (c->state) {
    case State::kSynReceived:
    case State::kEstablished:
      set_state(c, State::kCloseWait);
      break;
    case State::kFinWait1:
      // "If our FIN has been ACKed ..., then enter TIME-WAIT, start the time-wait timer,
      // turn off the other timers; otherwise, enter the CLOSING state."
      if (!fin_acked) {
        set_state(c, State::kClosing);
      }
      break;
    default:
      break;
  }
  if (c->reported) {
    c->handler->on_peer_closed(c);
    if (c->state == State::kClosed) {
      return;
    }
  }
  if ((c->state == State::kFinWait1 && fin_acked) || c->state == State::kFinWait2) {
    enter_time_wait(c, now_ns);
  }
}

}  // namespace linetls::net::tcp
