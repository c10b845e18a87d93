// Scripted segment-in/segment-out tests of lib/net/tcp (packetdrill style).
#include <gtest/gtest.h>

#include "tests/unit/tcp/tcp_test_util.h"

namespace linetls::net::tcp::testing {
namespace {

class Script : public TcpHarness {};

PeerOpts all_opts() {
  PeerOpts o;
  o.mss = 1460;
  o.ws = 7;
  o.sack_perm = true;
  o.ts = std::make_pair(5000u, 0u);
  return o;
}

// ---- handshake, every option combination ----

struct OptCase {
  const char* name;
  bool mss, ws, sack, ts;
};

class Handshake : public TcpHarness, public ::testing::WithParamInterface<OptCase> {};

TEST_P(Handshake, SynAckEchoesWhatThePeerOffered) {
  const OptCase& p = GetParam();
  PeerOpts o;
  if (p.mss) o.mss = 1200;
  if (p.ws) o.ws = 3;
  o.sack_perm = p.sack;
  if (p.ts) o.ts = std::make_pair(777u, 0u);
  OutSeg sa = handshake(o);
  EXPECT_EQ(sa.flags, F_SYN | F_ACK);
  EXPECT_EQ(sa.ack, 1001u);
  ASSERT_TRUE(sa.opts.mss.has_value());  // always sent
  EXPECT_EQ(*sa.opts.mss, 1460);
  EXPECT_EQ(sa.opts.wscale.has_value(), p.ws);
  EXPECT_EQ(sa.opts.sack_permitted, p.sack);
  EXPECT_EQ(sa.opts.timestamp.has_value(), p.ts);
  if (p.ts) {
    EXPECT_EQ(sa.opts.timestamp->second, 777u);
  }
  ASSERT_EQ(h_.connected.size(), 1u);
  ConnectionInfo i = tcp_->info(h_.connected[0]);
  EXPECT_EQ(i.state, State::kEstablished);
  EXPECT_EQ(i.mss, p.mss ? 1200u : 536u);
  EXPECT_EQ(i.snd_wscale, p.ws ? 3 : 0);
  EXPECT_EQ(i.rcv_wscale, p.ws ? 7 : 0);
  EXPECT_EQ(i.sack, p.sack);
  EXPECT_EQ(i.timestamps, p.ts);
  EXPECT_EQ(i.snd_wnd, p.ws ? 65535u << 3 : 65535u);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kPassiveOpens), 1u);
}

INSTANTIATE_TEST_SUITE_P(Options, Handshake,
                         ::testing::Values(OptCase{"none", false, false, false, false},
                                           OptCase{"mss", true, false, false, false},
                                           OptCase{"ws", true, true, false, false},
                                           OptCase{"sack", true, false, true, false},
                                           OptCase{"ts", true, false, false, true},
                                           OptCase{"all", true, true, true, true}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(Script, SynToClosedPortGetsRstAck) {
  SegSpec syn;
  syn.dport = 81;
  syn.seq = 500;
  syn.flags = F_SYN;
  inject(syn);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, F_RST | F_ACK);
  EXPECT_EQ(out[0].seq, 0u);
  EXPECT_EQ(out[0].ack, 501u);
  // An ACK-bearing segment gets <SEQ=SEG.ACK><CTL=RST>.
  SegSpec ack;
  ack.dport = 81;
  ack.seq = 9;
  ack.ack = 12345;
  ack.flags = F_ACK;
  inject(ack);
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, F_RST);
  EXPECT_EQ(out[0].seq, 12345u);
  // A RST gets nothing.
  ack.flags = F_RST;
  inject(ack);
  EXPECT_TRUE(drain().empty());
}

TEST_F(Script, BadChecksumIsDropped) {
  ASSERT_TRUE(tcp_->listen(80, &h_).ok());
  SegSpec syn;
  syn.flags = F_SYN;
  syn.bad_cksum = true;
  inject(syn);
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kDropChecksum), 1u);
}

// ---- data ----

TEST_F(Script, InOrderDataIsDeliveredAndAckedEverySecondSegment) {
  handshake(all_opts());
  Connection* c = h_.connected[0];
  const Bytes a = net::testing::pattern(1448, 1), b = net::testing::pattern(1448, 2);
  SegSpec d;
  d.seq = 1001;
  d.ack = our_isn_ + 1;
  d.flags = F_ACK;
  d.opts.ts = std::make_pair(5002u, 0u);
  d.payload = a;
  inject(d);
  EXPECT_TRUE(drain().empty()) << "first full segment: delayed ACK";
  d.seq += 1448;
  d.payload = b;
  inject(d);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 1001u + 2 * 1448);
  Bytes want = a;
  want.insert(want.end(), b.begin(), b.end());
  EXPECT_EQ(h_.data[c], want);
  // A small segment: the delayed ACK timer sends it.
  d.seq += 1448;
  d.payload = Bytes(10, 7);
  inject(d);
  EXPECT_TRUE(drain().empty());
  out = advance(50 * kMs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 1001u + 2 * 1448 + 10);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kDelayedAcks), 1u);
}

TEST_F(Script, OutOfOrderDataIsHeldSackedAndDeliveredWhenTheHoleFills) {
  handshake(all_opts());
  split_header = true;
  Connection* c = h_.connected[0];
  const Bytes p = net::testing::pattern(3000, 9);
  SegSpec d;
  d.ack = our_isn_ + 1;
  d.flags = F_ACK;
  d.opts.ts = std::make_pair(5002u, 0u);
  // Bytes [2000, 3000) first, then [1000, 2000): two holes reported.
  d.seq = 1001 + 2000;
  d.payload.assign(p.begin() + 2000, p.end());
  inject(d);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 1001u);
  ASSERT_EQ(out[0].opts.num_sack, 1);
  EXPECT_EQ(out[0].opts.sack[0].left.raw(), 3001u);
  EXPECT_EQ(out[0].opts.sack[0].right.raw(), 4001u);
  d.seq = 1001 + 500;  // overlaps nothing held; a second block
  d.payload.assign(p.begin() + 500, p.begin() + 1000);
  inject(d);
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].opts.num_sack, 2);
  EXPECT_EQ(out[0].opts.sack[0].left.raw(), 1501u) << "most recent block first";
  EXPECT_TRUE(h_.data[c].empty());
  // An overlapping retransmission covering [0, 2500) fills both holes.
  d.seq = 1001;
  d.payload.assign(p.begin(), p.begin() + 2500);
  inject(d);
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 4001u);
  EXPECT_EQ(out[0].opts.num_sack, 0);
  EXPECT_EQ(h_.data[c], p);
  // A duplicate of old data is ACKed and not delivered again.
  inject(d);
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 4001u);
  EXPECT_EQ(h_.data[c].size(), 3000u);
}

TEST_F(Script, SendSegmentsByMssAndRetransmitsWithBackoff) {
  handshake(all_opts());
  Connection* c = h_.connected[0];
  const Bytes p = net::testing::pattern(4000, 3);
  ASSERT_TRUE(tcp_->send(c, net::testing::make_mbuf(pool_, p, {1000, 2500})).ok());
  tcp_->flush(now_);
  auto out = drain();
  ASSERT_EQ(out.size(), 3u);  // 1448 + 1448 + 1104 (MSS 1460 less 12 bytes of timestamps)
  EXPECT_EQ(out[0].payload.size(), 1448u);
  EXPECT_EQ(out[0].seq, our_isn_ + 1);
  EXPECT_EQ(out[2].flags & F_PSH, F_PSH);
  Bytes got;
  for (auto& s : out) got.insert(got.end(), s.payload.begin(), s.payload.end());
  EXPECT_EQ(got, p);
  tcp_->abort(c);
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags & F_RST, F_RST);
  EXPECT_EQ(out[0].seq, our_isn_ + 1 + 4000);
}

TEST_F(Script, RtoBackoffDoubles) {
  handshake(all_opts());
  Connection* c = h_.connected[0];
  ASSERT_TRUE(tcp_->send(c, net::testing::make_mbuf(pool_, Bytes(100, 1))).ok());
  tcp_->flush(now_);
  ASSERT_EQ(drain().size(), 1u);
  const uint64_t t0 = now_;
  std::vector<uint64_t> at;
  while (at.size() < 4) {
    auto out = advance(1 * kMs);
    for (auto& s : out) {
      EXPECT_EQ(s.seq, our_isn_ + 1);
      EXPECT_EQ(s.payload.size(), 100u);
      at.push_back((now_ - t0) / kMs);
    }
    ASSERT_LT(now_ - t0, 100000 * kMs);
  }
  // The handshake RTT sample (0 ms) gives RTO = rto_min (200 ms); then 400, 800, 1600.
  EXPECT_EQ(at[0], 200u);
  EXPECT_EQ(at[1], 600u);
  EXPECT_EQ(at[2], 1400u);
  EXPECT_EQ(at[3], 3000u);
  tcp_->abort(c);
  ASSERT_EQ(h_.closed.size(), 1u);
  EXPECT_EQ(h_.closed[0].second, CloseReason::kAborted);
  drain();
}

TEST_F(Script, DataRetriesExhaustedClosesWithTimeout) {
  TcpConfig cfg = test_config();
  cfg.data_retries = 2;
  setup_with(cfg);
  handshake(all_opts());
  Connection* c = h_.connected[0];
  ASSERT_TRUE(tcp_->send(c, net::testing::make_mbuf(pool_, Bytes(10, 1))).ok());
  tcp_->flush(now_);
  advance(10000 * kMs);
  ASSERT_EQ(h_.closed.size(), 1u);
  EXPECT_EQ(h_.closed[0].second, CloseReason::kTimeout);
  EXPECT_EQ(tcp_->num_connections(), 0u);
}

TEST_F(Script, ZeroWindowIsProbedWithBackoffAndReopens) {
  handshake(all_opts());
  Connection* c = h_.connected[0];
  // The peer closes its window.
  SegSpec w;
  w.seq = 1001;
  w.ack = our_isn_ + 1;
  w.flags = F_ACK;
  w.wnd = 0;
  w.opts.ts = std::make_pair(5003u, 0u);
  inject(w);
  drain();
  ASSERT_TRUE(tcp_->send(c, net::testing::make_mbuf(pool_, Bytes(500, 2))).ok());
  tcp_->flush(now_);
  EXPECT_TRUE(drain().empty()) << "nothing may be sent into a zero window";
  const uint64_t t0 = now_;
  std::vector<uint64_t> at;
  while (at.size() < 3) {
    for (auto& s : advance(1 * kMs)) {
      EXPECT_TRUE(s.payload.empty());
      EXPECT_EQ(s.seq, our_isn_) << "probe carries an old sequence number";
      at.push_back((now_ - t0) / kMs);
    }
    ASSERT_LT(now_ - t0, 60000 * kMs);
  }
  EXPECT_LT(at[0], at[1] - at[0]);
  EXPECT_EQ(at[2] - at[1], 2 * (at[1] - at[0]));
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kZeroWindowProbes), 3u);
  // The window opens: the data goes.
  w.wnd = 1000;
  w.opts.ts = std::make_pair(5004u, 0u);
  inject(w);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].payload.size(), 500u);
}

// ---- loss recovery ----

class Recovery : public TcpHarness, public ::testing::WithParamInterface<bool> {};

TEST_P(Recovery, LossRetransmittedOnSackOrThirdDupack) {
  const bool sack = GetParam();
  PeerOpts o = all_opts();
  o.sack_perm = sack;
  handshake(o);
  Connection* c = h_.connected[0];
  ASSERT_TRUE(tcp_->send(c, net::testing::make_mbuf(pool_, net::testing::pattern(8 * 1448), {2000, 4000, 6000, 8000, 10000})).ok());
  tcp_->flush(now_);
  auto out = drain();
  ASSERT_EQ(out.size(), 8u);
  const uint32_t base = our_isn_ + 1;
  SegSpec a;
  a.seq = 1001;
  a.ack = base;
  a.flags = F_ACK;
  for (uint32_t k = 1; k <= 3; k++) {
    a.opts.ts = std::make_pair(5001u + k, out[k].opts.timestamp->first);
    if (sack) {
      a.opts.sacks = {{base + 1448, base + 1448 * (k + 1)}};
    }
    inject(a);
    auto r = drain();
    if (k < 3) {
      EXPECT_TRUE(r.empty()) << "dupack " << k;
    } else {
      ASSERT_EQ(r.size(), 1u);
      EXPECT_EQ(r[0].seq, base);
      EXPECT_EQ(r[0].payload.size(), 1448u);
      EXPECT_EQ(r[0].payload, Bytes(out[0].payload));
    }
  }
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kFastRetrans), 1u);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kSackRecoveries), sack ? 1u : 0u);
  // A partial ACK: without SACK (RFC 6582) the next unacknowledged segment is retransmitted
  // at once; with SACK it is the hole below the newly SACKed data.
  a.ack = base + 1448 * 4;
  a.opts.sacks.clear();
  if (sack) {
    a.opts.sacks = {{base + 1448 * 5, base + 1448 * 8}};
  }
  inject(a);
  auto r = drain();
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r[0].seq, base + 1448 * 4);
  // Full ACK ends recovery.
  a.ack = base + 1448 * 8;
  a.opts.sacks.clear();
  inject(a);
  drain();
  EXPECT_EQ(tcp_->info(c).snd_una, base + 1448 * 8);
}

INSTANTIATE_TEST_SUITE_P(Sack, Recovery, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "sack" : "newreno"; });

// ---- RST and SYN (RFC 5961) ----

TEST_F(Script, RstInWindowButNotExactGetsChallengeAck) {
  handshake(PeerOpts{});
  SegSpec r;
  r.seq = 1001 + 100;
  r.flags = F_RST;
  inject(r);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, F_ACK);
  EXPECT_EQ(out[0].ack, 1001u);
  EXPECT_TRUE(h_.closed.empty());
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kChallengeAcks), 1u);
  // Out of window: silently dropped.
  r.seq = 1001 + 10000000;
  inject(r);
  EXPECT_TRUE(drain().empty());
  // Exact: the connection is reset.
  r.seq = 1001;
  inject(r);
  EXPECT_TRUE(drain().empty());
  ASSERT_EQ(h_.closed.size(), 1u);
  EXPECT_EQ(h_.closed[0].second, CloseReason::kReset);
  EXPECT_EQ(tcp_->num_connections(), 0u);
}

TEST_F(Script, SynInEstablishedGetsChallengeAck) {
  handshake(PeerOpts{});
  SegSpec s;
  s.seq = 77777;
  s.flags = F_SYN;
  inject(s);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, F_ACK);
  EXPECT_EQ(out[0].ack, 1001u);
  EXPECT_TRUE(h_.closed.empty());
}

TEST_F(Script, ChallengeAcksAreRateLimited) {
  TcpConfig cfg = test_config();
  cfg.challenge_acks_per_s = 2;
  setup_with(cfg);
  handshake(PeerOpts{});
  SegSpec r;
  r.seq = 1001 + 5;
  r.flags = F_RST;
  for (int i = 0; i < 5; i++) inject(r);
  EXPECT_EQ(drain().size(), 2u);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kChallengeAcksLimited), 3u);
}

// ---- FIN in every state ----

TEST_F(Script, PassiveCloseCloseWaitLastAck) {
  handshake(PeerOpts{});
  Connection* c = h_.connected[0];
  SegSpec f;
  f.seq = 1001;
  f.ack = our_isn_ + 1;
  f.flags = F_FIN | F_ACK;
  inject(f);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 1002u);
  EXPECT_EQ(h_.peer_closed.size(), 1u);
  EXPECT_EQ(tcp_->info(c).state, State::kCloseWait);
  tcp_->close(c);
  tcp_->flush(now_);
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, F_FIN | F_ACK);
  EXPECT_EQ(tcp_->info(c).state, State::kLastAck);
  SegSpec a;
  a.seq = 1002;
  a.ack = our_isn_ + 2;
  a.flags = F_ACK;
  inject(a);
  ASSERT_EQ(h_.closed.size(), 1u);
  EXPECT_EQ(h_.closed[0].second, CloseReason::kNormal);
  EXPECT_EQ(tcp_->num_connections(), 0u);
}

TEST_F(Script, ActiveCloseFinWait1FinWait2TimeWait) {
  handshake(PeerOpts{});
  Connection* c = h_.connected[0];
  tcp_->close(c);
  tcp_->flush(now_);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, F_FIN | F_ACK);
  EXPECT_EQ(tcp_->info(c).state, State::kFinWait1);
  SegSpec a;
  a.seq = 1001;
  a.ack = our_isn_ + 2;
  a.flags = F_ACK;
  inject(a);
  EXPECT_EQ(tcp_->info(c).state, State::kFinWait2);
  a.flags = F_FIN | F_ACK;
  inject(a);
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 1002u);
  ASSERT_EQ(h_.closed.size(), 1u);
  EXPECT_EQ(h_.closed[0].second, CloseReason::kNormal);
  EXPECT_EQ(tcp_->num_connections(), 1u) << "TIME-WAIT keeps the tuple";
  // A retransmitted FIN in TIME-WAIT is ACKed again.
  inject(a);
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, F_ACK);
  advance(60001 * kMs);
  EXPECT_EQ(tcp_->num_connections(), 0u);
}

TEST_F(Script, SimultaneousCloseGoesThroughClosing) {
  handshake(PeerOpts{});
  Connection* c = h_.connected[0];
  tcp_->close(c);
  tcp_->flush(now_);
  drain();
  SegSpec f;  // the peer's FIN crosses ours (it has not seen our FIN)
  f.seq = 1001;
  f.ack = our_isn_ + 1;
  f.flags = F_FIN | F_ACK;
  inject(f);
  EXPECT_EQ(tcp_->info(c).state, State::kClosing);
  ASSERT_EQ(drain().size(), 1u);
  f.seq = 1002;
  f.ack = our_isn_ + 2;
  f.flags = F_ACK;
  inject(f);
  ASSERT_EQ(h_.closed.size(), 1u);
  EXPECT_EQ(h_.closed[0].second, CloseReason::kNormal);
}

TEST_F(Script, FinWait2TimesOutAfterClose) {
  TcpConfig cfg = test_config();
  cfg.fin_wait2_timeout_ms = 5000;
  setup_with(cfg);
  handshake(PeerOpts{});
  Connection* c = h_.connected[0];
  tcp_->close(c);
  tcp_->flush(now_);
  drain();
  SegSpec a;
  a.seq = 1001;
  a.ack = our_isn_ + 2;
  a.flags = F_ACK;
  inject(a);
  EXPECT_EQ(tcp_->info(c).state, State::kFinWait2);
  advance(6000 * kMs);
  ASSERT_EQ(h_.closed.size(), 1u);
  EXPECT_EQ(h_.closed[0].second, CloseReason::kTimeout);
}

TEST_F(Script, TimeWaitReusedByASynWithHigherTimestamp) {
  PeerOpts o = all_opts();
  handshake(o);
  Connection* c = h_.connected[0];
  tcp_->close(c);
  tcp_->flush(now_);
  drain();
  SegSpec f;
  f.seq = 1001;
  f.ack = our_isn_ + 2;
  f.flags = F_FIN | F_ACK;
  f.opts.ts = std::make_pair(6000u, 0u);
  inject(f);
  drain();
  ASSERT_EQ(tcp_->num_connections(), 1u);
  // An older timestamp: not a new incarnation (challenge ACK from TIME-WAIT).
  SegSpec syn;
  syn.seq = 50;
  syn.flags = F_SYN;
  syn.opts = o;
  syn.opts.ts = std::make_pair(5999u, 0u);
  inject(syn);
  for (auto& s : drain()) EXPECT_EQ(s.flags & F_SYN, 0);
  syn.opts.ts = std::make_pair(7000u, 0u);
  inject(syn);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, F_SYN | F_ACK);
  EXPECT_EQ(out[0].ack, 51u);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kTimeWaitReused), 1u);
}

// ---- PAWS ----

TEST_F(Script, PawsDropsSegmentsWithOldTimestamps) {
  handshake(all_opts());
  Connection* c = h_.connected[0];
  SegSpec d;
  d.seq = 1001;
  d.ack = our_isn_ + 1;
  d.flags = F_ACK;
  d.opts.ts = std::make_pair(9000u, 0u);
  d.payload = Bytes(10, 1);
  inject(d);
  advance(100 * kMs);
  d.seq = 1011;
  d.opts.ts = std::make_pair(8000u, 0u);  // older than TS.Recent
  inject(d);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u) << "an ACK answers the dropped segment";
  EXPECT_EQ(out[0].ack, 1011u);
  EXPECT_EQ(h_.data[c].size(), 10u);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kDropPaws), 1u);
}

// ---- SYN cookies ----

TEST_F(Script, SynCookieRoundTripWhenBacklogFull) {
  TcpConfig cfg = test_config();
  cfg.backlog = 0;
  setup_with(cfg);
  PeerOpts o = all_opts();
  OutSeg sa = handshake(o);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kSynCookiesSent), 1u);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kSynCookiesOk), 1u);
  ASSERT_EQ(h_.connected.size(), 1u);
  ConnectionInfo i = tcp_->info(h_.connected[0]);
  EXPECT_EQ(i.state, State::kEstablished);
  EXPECT_EQ(i.mss, 1460u);
  EXPECT_TRUE(i.sack);
  EXPECT_TRUE(i.timestamps);
  EXPECT_EQ(i.snd_wscale, 7);
  EXPECT_EQ(i.snd_una, sa.seq + 1);
  // Data flows on the cookie connection.
  SegSpec d;
  d.seq = 1001;
  d.ack = sa.seq + 1;
  d.flags = F_ACK | F_PSH;
  d.opts.ts = std::make_pair(5003u, sa.opts.timestamp->first);
  d.payload = Bytes(5, 9);
  inject(d);
  EXPECT_EQ(h_.data[h_.connected[0]].size(), 5u);
}

TEST_F(Script, ForgedOrStaleCookiesAreRejected) {
  TcpConfig cfg = test_config();
  cfg.backlog = 0;
  setup_with(cfg);
  ASSERT_TRUE(tcp_->listen(80, &h_).ok());
  SegSpec syn;
  syn.seq = 1000;
  syn.flags = F_SYN;
  syn.opts.mss = 1460;
  inject(syn);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  const uint32_t cookie = out[0].seq;
  SegSpec ack;
  ack.seq = 1001;
  ack.ack = cookie + 1 + 1;  // forged: off by one
  ack.flags = F_ACK;
  inject(ack);
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, F_RST);
  EXPECT_TRUE(h_.connected.empty());
  // Stale: the right cookie three minutes later.
  now_ += 180000 * kMs;
  ack.ack = cookie + 1;
  inject(ack);
  EXPECT_TRUE(h_.connected.empty());
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kSynCookiesBad), 2u);
  drain();
}

// ---- active open ----

TEST_F(Script, ActiveOpenRefusedAndSynRetries) {
  auto r = tcp_->connect(kPeerIp, 443, &h_, now_);
  ASSERT_TRUE(r.ok());
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, F_SYN);
  EXPECT_TRUE(out[0].opts.mss && out[0].opts.wscale && out[0].opts.sack_permitted &&
              out[0].opts.timestamp);
  // Retransmitted after 1 s, then 2 s.
  auto re = advance(1000 * kMs);
  ASSERT_EQ(re.size(), 1u);
  EXPECT_EQ(re[0].seq, out[0].seq);
  SegSpec rst;
  rst.sport = 443;
  rst.dport = out[0].sport;
  rst.ack = out[0].seq + 1;
  rst.flags = F_RST | F_ACK;
  inject(rst);
  ASSERT_EQ(h_.closed.size(), 1u);
  EXPECT_EQ(h_.closed[0].second, CloseReason::kRefused);
}

TEST_F(Script, ActiveOpenEstablishes) {
  auto r = tcp_->connect(kPeerIp, 443, &h_, now_);
  ASSERT_TRUE(r.ok());
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  SegSpec sa;
  sa.sport = 443;
  sa.dport = out[0].sport;
  sa.seq = 90000;
  sa.ack = out[0].seq + 1;
  sa.flags = F_SYN | F_ACK;
  sa.opts.mss = 1400;
  inject(sa);
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags, F_ACK);
  EXPECT_EQ(out[0].ack, 90001u);
  ASSERT_EQ(h_.connected.size(), 1u);
  EXPECT_EQ(tcp_->info(*r).mss, 1400u);
  EXPECT_FALSE(tcp_->info(*r).sack);
}

// ---- SACK information and the retransmission timer (RFC 6675 §5.1) ----

// A peer that negotiated SACK (MSS 1460, no timestamps: segments of exactly 1460 bytes),
// acknowledging with chosen SACK blocks.
class SackRto : public TcpHarness {
 protected:
  static constexpr uint32_t kSeg = 1460;

  // Establishes the connection and sends n full segments; returns the connection.
  Connection* send_segments(uint32_t n) {
    PeerOpts o;
    o.mss = 1460;
    o.sack_perm = true;
    handshake(o);
    Connection* c = h_.connected[0];
    base_ = our_isn_ + 1;
    std::vector<size_t> splits;
    for (size_t off = 2000; off < n * kSeg; off += 2000) {
      splits.push_back(off);
    }
    EXPECT_TRUE(
        tcp_->send(c, net::testing::make_mbuf(pool_, net::testing::pattern(n * kSeg), splits))
            .ok());
    tcp_->flush(now_);
    EXPECT_EQ(drain().size(), n);
    return c;
  }
  // The first byte of segment k.
  uint32_t at(uint32_t k) const { return base_ + k * kSeg; }
  // The peer acknowledges everything below ack and SACKs segments [from, to) of each pair.
  std::vector<OutSeg> ack(uint32_t ack_seq, std::vector<std::pair<uint32_t, uint32_t>> sacked) {
    SegSpec a;
    a.seq = 1001;
    a.ack = ack_seq;
    a.flags = F_ACK;
    for (auto [from, to] : sacked) {
      a.opts.sacks.emplace_back(at(from), at(to));
    }
    inject(a);
    return drain();
  }
  // Advances time until the retransmission timer fires; returns what it sent.
  std::vector<OutSeg> until_rto() {
    const uint64_t rto_before = tcp_->counters().get(TcpCounter::kRtoFired);
    std::vector<OutSeg> out;
    for (int i = 0; i < 5000 && tcp_->counters().get(TcpCounter::kRtoFired) == rto_before; i++) {
      auto o = advance(1 * kMs);
      out.insert(out.end(), o.begin(), o.end());
    }
    EXPECT_EQ(tcp_->counters().get(TcpCounter::kRtoFired), rto_before + 1);
    return out;
  }
  static std::vector<uint32_t> data_seqs(const std::vector<OutSeg>& segs) {
    std::vector<uint32_t> seqs;
    for (const OutSeg& s : segs) {
      if (!s.payload.empty()) {
        EXPECT_EQ(s.payload.size(), kSeg);
        seqs.push_back(s.seq);
      }
    }
    return seqs;
  }

  uint32_t base_ = 0;
};

TEST_F(SackRto, TimeoutDiscardsSackInformationGatheredBeforeIt) {
  // RFC 6675 §5.1: "a TCP sender MUST 'ignore prior SACK information in determining which
  // data to retransmit.'" Segment 2 is SACKed (one segment above the hole: not lost yet),
  // then nothing more arrives.
  Connection* c = send_segments(4);
  EXPECT_TRUE(data_seqs(ack(at(0), {{2, 3}})).empty());
  // The timeout retransmits from snd.una, with the loss window of one segment.
  EXPECT_EQ(data_seqs(until_rto()), std::vector<uint32_t>{at(0)});
  // The peer took segment 0 but no longer holds segment 2 (it reports no SACK block). The
  // SACK gathered before the timeout is gone: segment 2 is sent again with segment 1,
  // not skipped for segment 3.
  EXPECT_EQ(data_seqs(ack(at(1), {})), (std::vector<uint32_t>{at(1), at(2)}));
  EXPECT_EQ(data_seqs(ack(at(3), {})), std::vector<uint32_t>{at(3)});
  ack(at(4), {});
  EXPECT_EQ(tcp_->info(c).snd_una, at(4));
  EXPECT_EQ(tcp_->info(c).state, State::kEstablished);
}

TEST_F(SackRto, SackInformationArrivingAfterTheTimeoutIsUsed) {
  // RFC 6675 §5.1: "a SACK TCP sender SHOULD utilize all SACK information made available
  // during the loss recovery following an RTO."
  Connection* c = send_segments(4);
  EXPECT_TRUE(data_seqs(ack(at(0), {{2, 3}})).empty());
  EXPECT_EQ(data_seqs(until_rto()), std::vector<uint32_t>{at(0)});
  // This time the peer still holds segment 2 and says so: it is skipped.
  EXPECT_EQ(data_seqs(ack(at(1), {{2, 3}})), (std::vector<uint32_t>{at(1), at(3)}));
  ack(at(4), {});
  EXPECT_EQ(tcp_->info(c).snd_una, at(4));
}

TEST_F(SackRto, RenegingReceiverDoesNotStallTheConnection) {
  // The peer SACKs segments 2-9, so 0 and 1 are lost (RFC 6675 IsLost) and retransmitted.
  Connection* c = send_segments(10);
  const std::vector<uint32_t> fast = data_seqs(ack(at(0), {{2, 10}}));
  ASSERT_FALSE(fast.empty());
  EXPECT_EQ(fast[0], at(0));
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kFastRetrans), 1u);
  // It reneges (RFC 2018 §8): it acknowledges up to segment 2 but has dropped 2-9 and no
  // longer SACKs them. Nothing tells the sender yet.
  std::vector<uint32_t> sent = data_seqs(ack(at(2), {}));
  EXPECT_TRUE(sent.empty());
  // The timeout discards the stale SACKs and resends from snd.una; the peer acknowledges
  // each retransmission until all ten segments are in.
  sent = data_seqs(until_rto());
  ASSERT_EQ(sent, std::vector<uint32_t>{at(2)});
  std::vector<uint32_t> resent = sent;
  uint32_t una = at(2);
  for (int round = 0; round < 20 && una != at(10); round++) {
    for (uint32_t seq : sent) {
      if (seq == una) {
        una += kSeg;
      }
    }
    sent = data_seqs(ack(una, {}));
    resent.insert(resent.end(), sent.begin(), sent.end());
  }
  EXPECT_EQ(tcp_->info(c).snd_una, at(10));
  EXPECT_EQ(resent, (std::vector<uint32_t>{at(2), at(3), at(4), at(5), at(6), at(7), at(8),
                                           at(9)}));
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kRtoFired), 1u);
  EXPECT_TRUE(h_.closed.empty());
}

// ---- TCP segmentation offload ----

// A port with TSO: drain() checks each TSO frame against DPDK's contract and cuts it into
// the segments the peer would see.
class Tso : public TcpHarness {
 protected:
  void SetUp() override {
    PortCaps caps;
    caps.tx_tso = caps.tx_ip_cksum = caps.tx_tcp_cksum = caps.tx_multi_seg = true;
    setup_with(test_config(), caps);
  }
  // An ACK from the peer for everything below ack, echoing seg's timestamp.
  void ack(uint32_t ack_seq, const OutSeg& seg, uint32_t tsval) {
    SegSpec a;
    a.seq = 1001;
    a.ack = ack_seq;
    a.flags = F_ACK;
    a.opts.ts = std::make_pair(tsval, seg.opts.timestamp ? seg.opts.timestamp->first : 0u);
    inject(a);
  }
};

TEST_F(Tso, OneFrameCarriesTheInitialWindowAndRetransmissionsUseItToo) {
  handshake(all_opts());
  Connection* c = h_.connected[0];
  const uint64_t segs0 = tcp_->counters().get(TcpCounter::kSegsOut);
  const uint64_t frames0 = frames_out_;
  const Bytes p = net::testing::pattern(20000, 5);
  std::vector<size_t> splits;
  for (size_t off = 1500; off < p.size(); off += 1500) {
    splits.push_back(off);
  }
  ASSERT_TRUE(tcp_->send(c, net::testing::make_mbuf(pool_, p, splits)).ok());
  tcp_->flush(now_);
  auto out = drain();
  // The initial window (RFC 6928: 10 segments of 1448) leaves as one frame.
  EXPECT_EQ(frames_out_ - frames0, 1u);
  EXPECT_EQ(tso_frames_out_, 1u);
  ASSERT_EQ(out.size(), 10u);
  const uint32_t base = our_isn_ + 1;
  for (size_t i = 0; i < out.size(); i++) {
    EXPECT_TRUE(out[i].from_tso);
    EXPECT_EQ(out[i].seq, base + 1448 * i);
    EXPECT_EQ(out[i].payload, Bytes(p.begin() + static_cast<long>(1448 * i),
                                    p.begin() + static_cast<long>(1448 * (i + 1))));
    EXPECT_EQ(out[i].flags, F_ACK) << "not the end of the queued data: no PSH";
    EXPECT_TRUE(out[i].opts.timestamp.has_value());
  }
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kSegsOut) - segs0, 10u) << "segments, not frames";

  // Nothing is acknowledged: the RTO resends one segment (the loss window is one MSS).
  auto r = advance(250 * kMs);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].from_tso);
  EXPECT_EQ(r[0].seq, base);
  EXPECT_EQ(r[0].payload.size(), 1448u);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kRetransSegs), 1u);
  // Its ACK doubles cwnd (slow start): the next two lost segments go out as one frame.
  const uint64_t tso0 = tso_frames_out_;
  ack(base + 1448, r[0], 5002);
  r = drain();
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(tso_frames_out_ - tso0, 1u);
  EXPECT_TRUE(r[0].from_tso && r[1].from_tso);
  EXPECT_EQ(r[0].seq, base + 1448);
  EXPECT_EQ(r[1].seq, base + 2 * 1448);
  EXPECT_EQ(r[1].payload, Bytes(p.begin() + 2 * 1448, p.begin() + 3 * 1448));
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kRetransSegs), 3u);

  // Everything sent is acknowledged: the rest of the data, 5520 bytes, ends with a short
  // segment carrying PSH, and the FIN after shutdown() rides on it.
  tcp_->shutdown(c);
  ack(base + 14480, r[1], 5003);
  r = drain();
  Bytes rest;
  for (const OutSeg& s : r) {
    rest.insert(rest.end(), s.payload.begin(), s.payload.end());
  }
  EXPECT_EQ(rest, Bytes(p.begin() + 14480, p.end()));
  ASSERT_FALSE(r.empty());
  EXPECT_EQ(r.back().payload.size(), 20000u - 14480 - 3 * 1448);
  EXPECT_EQ(r.back().flags, F_ACK | F_PSH | F_FIN);
  for (size_t i = 0; i + 1 < r.size(); i++) {
    EXPECT_EQ(r[i].flags, F_ACK) << "FIN and PSH only on the last segment";
  }
  tcp_->abort(c);
  drain();
}

TEST_F(Tso, SwitchedOffByConfig) {
  TcpConfig cfg = test_config();
  cfg.tso = false;
  PortCaps caps;
  caps.tx_tso = caps.tx_ip_cksum = caps.tx_tcp_cksum = caps.tx_multi_seg = true;
  setup_with(cfg, caps);
  handshake(all_opts());
  ASSERT_TRUE(tcp_->send(h_.connected[0], net::testing::make_mbuf(pool_, net::testing::pattern(6000),
                                                                  {1500, 3000, 4500}))
                  .ok());
  tcp_->flush(now_);
  auto out = drain();
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(tso_frames_out_, 0u);
  for (const OutSeg& s : out) {
    EXPECT_FALSE(s.from_tso);
  }
  tcp_->abort(h_.connected[0]);
  drain();
}

}  // namespace
}  // namespace linetls::net::tcp::testing
