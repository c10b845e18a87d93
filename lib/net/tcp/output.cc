// Segment output: header and options, checksum (software or offloaded), payload by
// reference from the send queue, and the send loop that decides what goes out now under
// the peer's window, the congestion window and loss recovery (RFC 5681, RFC 6675,
// RFC 6582), with sender silly-window avoidance (RFC 9293 §3.8.6.2.1).
#include <rte_mbuf.h>

#include <algorithm>

#include "lib/base/bytes.h"
#include "lib/net/checksum.h"
#include "lib/net/tcp/tcp_impl.h"

namespace linetls::net::tcp {

namespace {

// Writes the TCP header with opts at p (20 + options bytes); returns its length.
uint32_t write_header(uint8_t* p, const FourTuple& t, Seq seq, Seq ack, uint8_t flags,
                      uint16_t wnd, const uint8_t* opts, size_t opt_len) noexcept {
  const uint32_t hdr_len = kTcpHdrLen + static_cast<uint32_t>(opt_len);
  store_be16(p, t.local_port);
  store_be16(p + 2, t.remote_port);
  store_be32(p + 4, seq.raw());
  store_be32(p + 8, (flags & kAck) ? ack.raw() : 0);
  p[12] = static_cast<uint8_t>((hdr_len / 4) << 4);
  p[13] = flags;
  store_be16(p + 14, wnd);
  store_be16(p + 16, 0);
  store_be16(p + 18, 0);
  std::copy(opts, opts + opt_len, p + kTcpHdrLen);
  return hdr_len;
}

}  // namespace

// Sets the checksum of the segment m (data starts at the TCP header of hdr_len bytes).
// tso_segsz > 0 asks the port to cut m into segments of that many payload bytes.
static void finish_checksum(rte_mbuf* m, const FourTuple& t, uint32_t hdr_len, bool offload,
                            uint16_t tso_segsz = 0) noexcept {
  auto* p = rte_pktmbuf_mtod(m, uint8_t*);
  if (tso_segsz > 0) {
    // DPDK TSO contract (rte_ipv4_phdr_cksum with RTE_MBUF_F_TX_TCP_SEG): the field holds
    // the pseudo-header sum without the length, which differs per segment. The IPv4
    // header checksum is left to the port too (Stack::finish_ipv4_header; TSO is only used
    // with tx_ip_cksum).
    store_be16(p + 16, ipv4_pseudo_cksum(t.local_ip, t.remote_ip, 6, 0));
    m->ol_flags |= RTE_MBUF_F_TX_TCP_SEG | RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4;
    m->l4_len = hdr_len;
    m->tso_segsz = tso_segsz;
    return;
  }
  const uint16_t pseudo =
      ipv4_pseudo_cksum(t.local_ip, t.remote_ip, 6, static_cast<uint16_t>(m->pkt_len));
  if (offload) {
    // DPDK TX offload contract: the field holds the pseudo-header sum, l4_len is set.
    store_be16(p + 16, pseudo);
    m->ol_flags |= RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4;
    m->l4_len = hdr_len;
    return;
  }
  uint16_t sum = 0;
  if (!cksum_mbuf(m, 0, m->pkt_len, &sum)) {
    sum = 0;
  }
  store_be16(p + 16, static_cast<uint16_t>(~cksum_add(sum, pseudo)));
}

uint16_t Tcp::Impl::seg_payload_max(const Connection* c) const noexcept {
  return static_cast<uint16_t>(c->mss - (c->ts_ok ? 12 : 0));
}

uint32_t Tcp::Impl::seg_send_max(const Connection* c) const noexcept {
  const uint32_t maxp = seg_payload_max(c);
  if (!tso) {
    return maxp;
  }
  // The whole frame must stay one IPv4 datagram: 20 bytes of IPv4 and up to 60 of TCP.
  const uint32_t lim = std::min<uint32_t>(uint32_t{cfg.tso_max_segs} * maxp, 0xffff - 80);
  return std::max(maxp, lim - lim % maxp);
}

uint32_t Tcp::Impl::rcv_buf_free(const Connection* c) const noexcept {
  // RFC 9293 §3.8.6.2.2: the window offered is the buffer space the receiver has free. Bytes
  // handed to the application and not yet released, and bytes held out of order, both
  // occupy the buffer (the latter until the hole before them fills).
  const uint64_t used = uint64_t{c->rcv_unreleased} + c->ooo.bytes();
  return used >= cfg.rcv_buf ? 0 : cfg.rcv_buf - static_cast<uint32_t>(used);
}

uint32_t Tcp::Impl::rcv_window(Connection* c) noexcept {
  const uint32_t avail = rcv_buf_free(c);
  const Seq edge = c->rcv_nxt + avail;
  // RFC 9293 §3.8.6.2.2: keep RCV.NXT + RCV.WND fixed until the window can move right by
  // min(Fr * RCV.BUFF, Eff.snd.MSS) with Fr = 1/2; and never move the edge left (§3.8.6.2.2
  // "SHOULD NOT shrink").
  if (edge > c->rcv_adv &&
      (static_cast<uint32_t>(edge - c->rcv_adv) >= std::min<uint32_t>(cfg.rcv_buf / 2, c->rcv_mss) ||
       c->rcv_adv <= c->rcv_nxt)) {
    c->rcv_adv = edge;
  }
  const uint32_t wnd = static_cast<uint32_t>(std::max<int32_t>(c->rcv_adv - c->rcv_nxt, 0));
  // The field carries wnd >> rcv_wscale, rounded up so the edge we state is never left of
  // the one we promised.
  const uint32_t unit = 1u << c->rcv_wscale;
  uint32_t field = std::min<uint32_t>((wnd + unit - 1) >> c->rcv_wscale, 65535);
  c->rcv_adv = seq_max(c->rcv_adv, c->rcv_nxt + (field << c->rcv_wscale));
  return field;
}

bool Tcp::Impl::send_segment(Connection* c, Seq seq, uint32_t len, uint8_t flags,
                             uint64_t now_ns) noexcept {
  rte_mbuf* m = rte_pktmbuf_alloc(stack.pool());
  if (m == nullptr) {
    counters.inc(TcpCounter::kDropNoMbuf);
    return false;
  }
  TcpOptions o;
  const bool syn = (flags & kSyn) != 0;
  if (syn) {
    o.mss = our_mss;
    if (c->state == State::kSynSent) {
      // Active open: offer everything configured (RFC 7323 §2.2, RFC 2018 §2).
      if (cfg.wscale > 0) {
        o.wscale = c->rcv_wscale;
      }
      o.sack_permitted = cfg.sack;
      if (cfg.timestamps) {
        o.timestamp = std::make_pair(tsval(c, now_ns), 0u);
      }
    } else {
      if (c->ws_ok) {
        o.wscale = c->rcv_wscale;
      }
      o.sack_permitted = c->sack_ok;
      if (c->ts_ok) {
        o.timestamp = std::make_pair(tsval(c, now_ns), c->ts_recent);
      }
    }
  } else if (c->ts_ok) {
    o.timestamp = std::make_pair(tsval(c, now_ns), c->ts_recent);
  }
  bool sack_sent = false;
  if (!syn && c->sack_ok && !c->ooo.empty() && (flags & kRst) == 0) {
    // RFC 2018 §4: as many blocks as fit in the option space and in the segment.
    const uint32_t base = c->mss - (c->ts_ok ? 12u : 0u);
    const uint32_t room = base > len ? base - len : 0;
    uint8_t max_blocks = static_cast<uint8_t>(room >= 4 ? std::min<uint32_t>((room - 4) / 8, 4) : 0);
    max_blocks = std::min<uint8_t>(max_blocks, c->ts_ok ? 3 : 4);
    o.num_sack = c->ooo.sack_blocks(c->sack_recent, o.sack.data(), max_blocks);
    sack_sent = o.num_sack > 0;
  }
  std::array<uint8_t, kMaxOptionsLen> obuf{};
  const size_t opt_len = write_options(o, std::span<uint8_t, kMaxOptionsLen>(obuf));
  uint16_t wnd;
  if (syn) {
    wnd = static_cast<uint16_t>(std::min<uint32_t>(cfg.rcv_buf, 65535));  // never scaled
  } else if (flags & kRst) {
    wnd = 0;
  } else {
    wnd = static_cast<uint16_t>(rcv_window(c));
  }
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(kTcpHdrLen + opt_len)));
  const uint32_t hdr_len =
      write_header(p, c->tuple, seq, c->rcv_nxt, flags, wnd, obuf.data(), opt_len);
  if (len > 0) {
    if (stack.caps().tx_multi_seg) {
      if (!c->sndq.attach(seq, len, stack.pool(), m)) {
        counters.inc(TcpCounter::kDropNoMbuf);
        rte_pktmbuf_free(m);
        return false;
      }
    } else {
      // The port takes one segment per frame: the payload is copied.
      auto* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(len)));
      if (d == nullptr) {
        counters.inc(TcpCounter::kDropNoMbuf);
        rte_pktmbuf_free(m);
        return false;
      }
      c->sndq.copy(seq, len, d);
    }
  }
  // A payload beyond one segment goes out as TSO (output() sizes it by seg_send_max, so
  // only when tso is on): the port cuts it into segments of what fits beside the options
  // of this header (no SACK blocks then: they only go where the payload leaves room).
  const uint32_t segsz = c->mss - static_cast<uint32_t>(opt_len);
  const bool tso_frame = tso && !syn && len > segsz;
  finish_checksum(m, c->tuple, hdr_len, stack.caps().tx_tcp_cksum,
                  tso_frame ? static_cast<uint16_t>(segsz) : 0);
  if (flags & kAck) {
    c->last_ack_sent = c->rcv_nxt;
    if (c->ooo.empty() || !c->sack_ok || sack_sent) {
      c->ack_now = false;
    }
    c->delack_segs = 0;
    wheel.cancel(&c->delack);
  }
  if (flags & kRst) {
    counters.inc(TcpCounter::kRstSent);
  }
  // Segments as the peer sees them: a TSO frame counts once per segment it becomes.
  counters.inc(TcpCounter::kSegsOut, tso_frame ? (len + segsz - 1) / segsz : 1);
  counters.inc(TcpCounter::kBytesOut, len);
  stack.ip_output(m, c->tuple.remote_ip, 6, now_ns);
  return true;
}

void Tcp::Impl::send_ack(Connection* c, uint64_t now_ns) noexcept {
  send_segment(c, c->snd_nxt, 0, kAck, now_ns);
}

void Tcp::Impl::send_syn(Connection* c, uint64_t now_ns) noexcept {
  const uint8_t flags = c->state == State::kSynSent ? kSyn : (kSyn | kAck);
  if (c->retries == 0) {
    c->rtt_seq = c->iss;
    c->rtt_start_ns = now_ns;
  }
  c->snd_nxt = seq_max(c->snd_nxt, c->iss + 1);
  send_segment(c, c->iss, 0, flags, now_ns);
}

void Tcp::Impl::send_raw(const FourTuple& t, Seq seq, Seq ack, uint8_t flags, uint16_t wnd,
                         const TcpOptions& opts, uint64_t now_ns) noexcept {
  rte_mbuf* m = rte_pktmbuf_alloc(stack.pool());
  if (m == nullptr) {
    counters.inc(TcpCounter::kDropNoMbuf);
    return;
  }
  std::array<uint8_t, kMaxOptionsLen> obuf{};
  const size_t opt_len = write_options(opts, std::span<uint8_t, kMaxOptionsLen>(obuf));
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, static_cast<uint16_t>(kTcpHdrLen + opt_len)));
  const uint32_t hdr_len = write_header(p, t, seq, ack, flags, wnd, obuf.data(), opt_len);
  finish_checksum(m, t, hdr_len, stack.caps().tx_tcp_cksum);
  if (flags & kRst) {
    counters.inc(TcpCounter::kRstSent);
  }
  counters.inc(TcpCounter::kSegsOut);
  stack.ip_output(m, t.remote_ip, 6, now_ns);
}

void Tcp::Impl::send_reset_for(const FourTuple& t, const Segment& seg, uint64_t now_ns) noexcept {
  if (!rst_rl.allow(now_ns, cfg.rsts_per_s)) {
    counters.inc(TcpCounter::kRstRateLimited);
    return;
  }
  // RFC 9293 §3.10.7.1: "If the ACK bit is off, sequence number zero is used,
  // <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. If the ACK bit is on, <SEQ=SEG.ACK><CTL=RST>".
  if (seg.flags & kAck) {
    send_raw(t, seg.ack, Seq(0), kRst, 0, TcpOptions{}, now_ns);
  } else {
    send_raw(t, Seq(0), seg.seq + seg.seg_len(), kRst | kAck, 0, TcpOptions{}, now_ns);
  }
}

uint32_t Tcp::Impl::pipe(const Connection* c) const noexcept {
  // RFC 6675 §4 "pipe": bytes outstanding, less those SACKed and those deemed lost and not
  // yet retransmitted. Without SACK, each duplicate ACK in recovery stands for one segment
  // that left the network (the NewReno window inflation of RFC 6582, expressed as pipe).
  const uint32_t out = c->in_flight();
  uint32_t gone = c->sack_ok ? c->sacks.sacked_bytes()
                             : (c->recovery == Recovery::kFast ? c->dupacks * uint32_t{c->mss} : 0);
  if (c->recovery != Recovery::kNone) {
    gone += c->sacks.unsacked_in(c->rtx_nxt, c->lost_end);
  }
  return out > gone ? out - gone : 0;
}

void Tcp::Impl::output(Connection* c, uint64_t now_ns) noexcept {
  switch (c->state) {
    case State::kClosed:
      return;
    case State::kSynSent:
    case State::kSynReceived:
    case State::kTimeWait:
    case State::kFinWait2:
    case State::kListen:
      if (c->ack_now) {
        send_ack(c, now_ns);
      }
      if (c->state != State::kFinWait2) {
        return;
      }
      break;
    default:
      break;
  }
  const uint16_t maxp = seg_payload_max(c);
  const uint32_t send_max = seg_send_max(c);  // > maxp with TSO
  const Seq data_end = c->sndq.end_seq();
  const bool may_send_new =
      c->state == State::kEstablished || c->state == State::kCloseWait;
  for (int guard = 0; guard < 4096; guard++) {
    const uint32_t cwnd = c->cc.cwnd();
    const uint32_t in_pipe = pipe(c);
    const uint32_t budget = cwnd > in_pipe ? cwnd - in_pipe : 0;
    // 1) Retransmissions (RFC 6675 §5 NextSeg rule 1; after an RTO, everything unSACKed).
    if (c->recovery != Recovery::kNone && c->rtx_nxt < c->lost_end) {
      if (budget == 0 && in_pipe > 0) {
        break;
      }
      Seq s = seq_max(c->rtx_nxt, c->snd_una);
      Seq next = c->lost_end;
      while (s < c->lost_end && c->sacks.is_sacked(s, c->lost_end, &next)) {
        s = next;
      }
      if (s >= c->lost_end) {
        c->rtx_nxt = c->lost_end;
        continue;
      }
      const Seq run_end = seq_min(next, c->lost_end);
      uint8_t flags = kAck;
      uint32_t len;
      if (c->fin_sent && s == c->snd_fin_seq) {
        len = 0;
        flags |= kFin;
      } else {
        len = std::min<uint32_t>({send_max, static_cast<uint32_t>(run_end - s),
                                  static_cast<uint32_t>(std::max<int32_t>(data_end - s, 0))});
        if (len > maxp) {
          // TSO: as many whole segments as cwnd allows (at least one, as without TSO).
          const uint32_t room = std::max<uint32_t>(budget, maxp);
          len = std::min(len, room - room % maxp);
        }
        if (c->fin_sent && s + len == c->snd_fin_seq && run_end > c->snd_fin_seq) {
          flags |= kFin;
        }
      }
      if (len == 0 && (flags & kFin) == 0) {
        c->rtx_nxt = c->lost_end;
        continue;
      }
      if (!send_segment(c, s, len, flags, now_ns)) {
        break;
      }
      const uint32_t nsegs = len > maxp ? (len + maxp - 1) / maxp : 1;
      c->retransmits += nsegs;
      counters.inc(TcpCounter::kRetransSegs, nsegs);
      c->rtt_start_ns = 0;  // Karn
      c->rtx_nxt = s + len + ((flags & kFin) ? 1 : 0);
      if (!c->rexmit.armed()) {
        arm_rexmit(c, now_ns);
      }
      continue;
    }
    // 2) New data, within the peer's window and cwnd.
    if (may_send_new && !c->fin_sent && c->snd_nxt < data_end) {
      const uint32_t avail = static_cast<uint32_t>(data_end - c->snd_nxt);
      const int32_t win_left = (c->snd_una + c->snd_wnd) - c->snd_nxt;
      if (win_left <= 0) {
        break;  // window closed: persist timer below
      }
      uint32_t len = std::min<uint32_t>({avail, maxp, static_cast<uint32_t>(win_left)});
      if (send_max > maxp) {
        // TSO: several segments in one frame, within the window and cwnd. Only the last
        // of all queued data may be short, and (with Nagle) only with nothing in flight:
        // otherwise whole segments, as the rules below would send them one by one.
        uint32_t big =
            std::min<uint32_t>({avail, send_max, static_cast<uint32_t>(win_left), budget});
        if (big > maxp) {
          if (big < avail || (cfg.nagle && c->in_flight() > 0)) {
            big -= big % maxp;
          }
          len = big;
        }
      }
      if (len > budget && in_pipe > 0) {
        break;  // cwnd full
      }
      // Sender SWS avoidance (RFC 9293 §3.8.6.2.1): send a full segment; or all that is
      // queued when nothing is unacknowledged (or Nagle is off); or at least half the
      // largest window the peer offered. Otherwise wait for an ACK.
      const bool full = len >= maxp;
      const bool all = len == avail && (!cfg.nagle || c->in_flight() == 0);
      const bool half = len >= c->max_snd_wnd / 2;
      if (!full && !all && !half && c->in_flight() > 0) {
        break;
      }
      uint8_t flags = kAck;
      if (len == avail) {
        flags |= kPsh;
        if (c->fin_queued) {
          flags |= kFin;  // piggyback the FIN on the last segment
        }
      }
      if (!c->ts_ok && c->rtt_start_ns == 0 && c->recovery == Recovery::kNone) {
        c->rtt_seq = c->snd_nxt;
        c->rtt_start_ns = now_ns;
      }
      if (!send_segment(c, c->snd_nxt, len, flags, now_ns)) {
        break;
      }
      c->snd_nxt = c->snd_nxt + len;
      if (flags & kFin) {
        c->fin_sent = true;
        c->snd_fin_seq = c->snd_nxt;
        c->snd_nxt = c->snd_nxt + 1;
        set_state(c, c->state == State::kEstablished ? State::kFinWait1 : State::kLastAck);
      }
      if (!c->rexmit.armed()) {
        arm_rexmit(c, now_ns);
      }
      continue;
    }
    // 3) A FIN on its own once everything queued has been sent.
    if (may_send_new && c->fin_queued && !c->fin_sent && c->snd_nxt == data_end) {
      if (!send_segment(c, c->snd_nxt, 0, kAck | kFin, now_ns)) {
        break;
      }
      c->fin_sent = true;
      c->snd_fin_seq = c->snd_nxt;
      c->snd_nxt = c->snd_nxt + 1;
      set_state(c, c->state == State::kEstablished ? State::kFinWait1 : State::kLastAck);
      if (!c->rexmit.armed()) {
        arm_rexmit(c, now_ns);
      }
    }
    break;
  }
  if (c->ack_now) {
    send_ack(c, now_ns);
  }
  // Persist (RFC 9293 §3.8.6.1): nothing in flight, something to send, window closed.
  if (c->in_flight() == 0) {
    const bool pending = c->snd_nxt < data_end;
    if (pending && !c->rexmit.armed()) {
      arm_rexmit(c, now_ns);
    } else if (!pending && c->rexmit.armed()) {
      wheel.cancel(&c->rexmit);
    }
  }
}

}  // namespace linetls::net::tcp
