// Scripted tests of lib/net/tcp's bounds and defences: RSS source ports, out-of-order caps
// (per connection and per worker), the SACK scoreboard cap, RST and challenge-ACK rate
// limits, idle and handshake timeouts, the minimum MSS clamp, RFC 6675 IsLost, and the
// receive window with data held out of order. Every test ends with the harness's leak check.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "drivers/wire/wire.h"
#include "tests/unit/tcp/tcp_test_util.h"

namespace linetls::net::tcp::testing {
namespace {

// b as an mbuf chain of 2000-byte segments.
rte_mbuf* chain(rte_mempool* pool, const Bytes& b) {
  std::vector<size_t> splits;
  for (size_t off = 2000; off < b.size(); off += 2000) splits.push_back(off);
  return net::testing::make_mbuf(pool, b, splits);
}

class Limits : public TcpHarness {
 protected:
  // A passive open from source port sport (port 80 must be listening); returns the
  // connection.
  Connection* open(uint16_t sport, uint32_t peer_isn, const PeerOpts& o = PeerOpts{}) {
    SegSpec syn;
    syn.sport = sport;
    syn.seq = peer_isn;
    syn.flags = F_SYN;
    syn.opts = o;
    inject(syn);
    auto out = drain();
    EXPECT_EQ(out.size(), 1u);
    if (out.empty()) {
      return nullptr;
    }
    SegSpec ack;
    ack.sport = sport;
    ack.seq = peer_isn + 1;
    ack.ack = out[0].seq + 1;
    ack.flags = F_ACK;
    const size_t before = h_.connected.size();
    inject(ack);
    EXPECT_EQ(h_.connected.size(), before + 1);
    return h_.connected.empty() ? nullptr : h_.connected.back();
  }
  // Peer data at offset off (from the peer's first data byte, ISN + 1).
  void data(uint16_t sport, uint32_t peer_isn, uint32_t off, const Bytes& b) {
    SegSpec d;
    d.sport = sport;
    d.seq = peer_isn + 1 + off;
    d.ack = 0;
    d.flags = F_ACK;
    d.payload = b;
    // The ACK field must be acceptable: the connection's snd.una.
    for (Connection* c : h_.connected) {
      const bool gone = std::any_of(h_.closed.begin(), h_.closed.end(),
                                    [c](const auto& e) { return e.first == c; });
      if (!gone && tcp_->info(c).tuple.remote_port == sport) {
        d.ack = tcp_->info(c).snd_una;
      }
    }
    inject(d);
  }
};

// ---- RSS: connect() picks source ports whose return flow hashes to our queue ----

// The Toeplitz hash (Microsoft RSS specification), written out bit by bit.
uint32_t toeplitz(const Bytes& key, const Bytes& in) {
  uint32_t r = 0;
  for (size_t bit = 0; bit < in.size() * 8; bit++) {
    if ((in[bit / 8] >> (7 - bit % 8)) & 1) {
      uint32_t w = 0;
      for (size_t k = 0; k < 32; k++) {
        const size_t kb = bit + k;
        w = (w << 1) | ((key[kb / 8] >> (7 - kb % 8)) & 1);
      }
      r ^= w;
    }
  }
  return r;
}

Bytes tuple_bytes(Ipv4Addr src, Ipv4Addr dst, uint16_t sport, uint16_t dport) {
  Bytes t;
  put32(t, src.v);
  put32(t, dst.v);
  put16(t, sport);
  put16(t, dport);
  return t;
}

// The queue the NIC steers a frame src -> dst to: the symmetric key 0x6d5a..., a 128-entry
// redirection table filled round robin.
uint32_t rss_queue(Ipv4Addr src, Ipv4Addr dst, uint16_t sport, uint16_t dport, uint32_t nq) {
  Bytes key;
  for (int i = 0; i < 20; i++) key.insert(key.end(), {0x6d, 0x5a});
  return (toeplitz(key, tuple_bytes(src, dst, sport, dport)) % 128) % nq;
}

TEST(Toeplitz, ReferenceMatchesTheRssSpecificationAndIsSymmetricWithOurKey) {
  // The specification's IPv4 + TCP verification suite, first entry.
  const Bytes ms_key = {0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67,
                        0x25, 0x3d, 0x43, 0xa3, 0x8f, 0xb0, 0xd0, 0xca, 0x2b, 0xcb,
                        0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
                        0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa};
  EXPECT_EQ(toeplitz(ms_key, tuple_bytes(Ipv4Addr{0x420995bb}, Ipv4Addr{0xa18e6450}, 2794, 1766)),
            0x51ccc178u);
  EXPECT_EQ(rss_queue(Ipv4Addr{0x0a000001}, Ipv4Addr{0x0a000002}, 443, 40000, 128),
            rss_queue(Ipv4Addr{0x0a000002}, Ipv4Addr{0x0a000001}, 40000, 443, 128));
}

TEST_F(Limits, ConnectPicksSourcePortsThatHashToOurQueue) {
  for (uint16_t q = 0; q < 2; q++) {
    setup_with(test_config(), PortCaps{}, q, 2);
    std::set<uint16_t> ports;
    for (int i = 0; i < 64; i++) {
      ASSERT_TRUE(tcp_->connect(kPeerIp, 443, &h_, now_).ok());
    }
    for (const OutSeg& s : drain()) {
      ASSERT_EQ(s.flags, F_SYN);
      ports.insert(s.sport);
      EXPECT_EQ(rss_queue(kPeerIp, kOurIp, 443, s.sport, 2), q) << "port " << s.sport;
    }
    EXPECT_EQ(ports.size(), 64u);
  }
}

// End to end: a port with two RSS queues (the wire steers frames by the same hash); the
// client worker owns one queue, and every segment of its connections must come back there.
class RssWire : public ::testing::TestWithParam<uint16_t> {};

class Sink : public Handler {
 public:
  void on_connected(Connection* c) noexcept override { conns.push_back(c); }
  void on_data(Connection* c, rte_mbuf* chain, uint32_t len) noexcept override {
    received += len;
    rte_pktmbuf_free(chain);
    tcp->release(c, len);
  }
  void on_peer_closed(Connection* c) noexcept override { tcp->close(c); }
  void on_closed(Connection*, CloseReason why) noexcept override {
    closed++;
    normal += why == CloseReason::kNormal ? 1 : 0;
  }
  Tcp* tcp = nullptr;
  std::vector<Connection*> conns;
  uint64_t received = 0;
  uint32_t closed = 0, normal = 0;
};

TEST_P(RssWire, ReturnTrafficArrivesOnTheOpeningWorkersQueue) {
  const uint16_t q = GetParam();
  constexpr unsigned kPool = 8191;
  constexpr uint32_t kConns = 16;
  constexpr uint32_t kBytes = 20000;
  rte_mempool* pool = rte_pktmbuf_pool_create(("rss" + std::to_string(q)).c_str(), kPool, 0, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  ASSERT_NE(pool, nullptr);
  uint64_t now = 1000 * kMs;
  uint64_t tcp_on_other_queue = 0, tcp_on_our_queue = 0;
  {
    const MacAddr mac_a{{0x02, 0, 0, 0, 0, 0x0a}}, mac_b{{0x02, 0, 0, 0, 0, 0x0b}};
    const Ipv4Addr ip_a{0x0a000001}, ip_b{0x0a000002};
    PortCaps caps = wire::WirePair::default_caps();
    caps.num_queues = 2;
    caps.rss = true;
    wire::WirePair w(pool, mac_a, mac_b, caps);
    w.set_clock([&] { return now; });
    StackConfig sa, sb;
    sa.ip = Ipv4Cidr{ip_a, 24};
    sb.ip = Ipv4Cidr{ip_b, 24};
    Stack a(sa, mac_a, pool, caps), b(sb, mac_b, pool, caps);
    const uint8_t ka[16] = {3}, kb[16] = {4};
    TcpConfig cfg = test_config();
    Tcp ta(a, cfg, std::span<const uint8_t, 16>(ka), now, q, 2);
    Tcp tb(b, cfg, std::span<const uint8_t, 16>(kb), now);
    Sink client, server;
    client.tcp = &ta;
    server.tcp = &tb;
    ASSERT_TRUE(tb.listen(7000, &server).ok());
    for (uint32_t i = 0; i < kConns; i++) {
      ASSERT_TRUE(ta.connect(ip_b, 7000, &client, now).ok());
    }
    auto is_tcp = [](rte_mbuf* m) {
      const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
      return m->data_len >= 34 && p[12] == 0x08 && p[13] == 0x00 && p[23] == 6;
    };
    auto tx = [](Stack& s, Port& p, uint16_t queue) {
      TxQueue& tq = s.tx();
      while (!tq.empty()) {
        tq.consume(p.tx_burst(queue, tq.data(),
                              static_cast<uint16_t>(std::min<uint32_t>(tq.size(), 512))));
      }
    };
    bool sent = false;
    for (int step = 0; step < 200000 && server.closed < kConns; step++) {
      now += 50 * 1000;
      rte_mbuf* rx[64];
      // Worker A owns queue q only; ARP (not hashed) arrives on queue 0 and is taken there.
      for (uint16_t rq = 0; rq < 2; rq++) {
        const uint16_t n = w.a().rx_burst(rq, rx, 64);
        for (uint16_t i = 0; i < n; i++) {
          if (is_tcp(rx[i])) {
            if (rq == q) {
              tcp_on_our_queue++;
              a.input(rx[i], now);
            } else {
              tcp_on_other_queue++;
              rte_pktmbuf_free(rx[i]);
            }
          } else {
            a.input(rx[i], now);
          }
        }
      }
      for (uint16_t rq = 0; rq < 2; rq++) {
        const uint16_t n = w.b().rx_burst(rq, rx, 64);
        for (uint16_t i = 0; i < n; i++) b.input(rx[i], now);
      }
      if (!sent && client.conns.size() == kConns) {
        sent = true;
        for (Connection* c : client.conns) {
          ASSERT_TRUE(ta.send(c, chain(pool, net::testing::pattern(kBytes, 1))).ok());
          ta.close(c);
        }
      }
      for (auto [t, s] : {std::pair{&ta, &a}, std::pair{&tb, &b}}) {
        t->flush(now);
        if (now >= t->next_timer_ns()) t->on_timer(now);
        if (now >= s->next_timer_ns()) s->on_timer(now);
      }
      tx(a, w.a(), q);
      tx(b, w.b(), 0);
    }
    EXPECT_EQ(client.conns.size(), kConns);
    EXPECT_EQ(server.received, uint64_t{kConns} * kBytes);
    EXPECT_EQ(server.closed, kConns);
    EXPECT_EQ(server.normal, kConns);
  }
  EXPECT_EQ(tcp_on_other_queue, 0u);
  EXPECT_GT(tcp_on_our_queue, uint64_t{kConns} * 3);
  EXPECT_EQ(rte_mempool_avail_count(pool), kPool) << "mbufs leaked";
  rte_mempool_free(pool);
}

INSTANTIATE_TEST_SUITE_P(Queue, RssWire, ::testing::Values(0, 1));

// A client that opens and closes first faster than TIME_WAIT ends (a load generator) runs
// out of source ports; connect() then reuses a TIME_WAIT entry at least a second old (the
// default TIME_WAIT is 60 s). With 128 RSS queues only ~220 ports hash to ours.
class Closer : public Handler {
 public:
  void on_connected(Connection* c) noexcept override {
    opened++;
    tcp->close(c);
  }
  void on_data(Connection* c, rte_mbuf* chain, uint32_t len) noexcept override {
    rte_pktmbuf_free(chain);
    tcp->release(c, len);
  }
  void on_peer_closed(Connection* c) noexcept override { tcp->close(c); }
  void on_closed(Connection*, CloseReason why) noexcept override {
    closed++;
    normal += why == CloseReason::kNormal ? 1 : 0;
  }
  Tcp* tcp = nullptr;
  uint32_t opened = 0, closed = 0, normal = 0;
};

TEST(TimeWaitReuse, ConnectReusesOurOldTimeWaitPortsWhenNoneIsFree) {
  constexpr unsigned kPool = 8191;
  rte_mempool* pool = rte_pktmbuf_pool_create("twreuse", kPool, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                              SOCKET_ID_ANY);
  ASSERT_NE(pool, nullptr);
  uint64_t now = 1000 * kMs;
  uint32_t refused = 0, ports_of_queue = 0;
  uint64_t reused = 0;
  Closer client, server;
  {
    const MacAddr mac_a{{0x02, 0, 0, 0, 0, 0x1a}}, mac_b{{0x02, 0, 0, 0, 0, 0x1b}};
    const Ipv4Addr ip_a{0x0a000001}, ip_b{0x0a000002};
    PortCaps caps = wire::WirePair::default_caps();
    wire::WirePair w(pool, mac_a, mac_b, caps);
    w.set_clock([&] { return now; });
    StackConfig sa, sb;
    sa.ip = Ipv4Cidr{ip_a, 24};
    sb.ip = Ipv4Cidr{ip_b, 24};
    Stack a(sa, mac_a, pool, caps), b(sb, mac_b, pool, caps);
    const uint8_t ka[16] = {5}, kb[16] = {6};
    TcpConfig cfg = test_config();
    Tcp ta(a, cfg, std::span<const uint8_t, 16>(ka), now, 0, 128);
    Tcp tb(b, cfg, std::span<const uint8_t, 16>(kb), now);
    client.tcp = &ta;
    server.tcp = &tb;
    ASSERT_TRUE(tb.listen(7000, &server).ok());
    for (uint32_t p = 32768; p <= 60999; p++) {
      ports_of_queue += rss_queue(ip_b, ip_a, 7000, static_cast<uint16_t>(p), 128) == 0 ? 1 : 0;
    }
    auto tx = [](Stack& s, Port& p) {
      TxQueue& tq = s.tx();
      while (!tq.empty()) {
        tq.consume(p.tx_burst(0, tq.data(), static_cast<uint16_t>(std::min<uint32_t>(tq.size(), 512))));
      }
    };
    // 200 new connections per second for 4 s: more than the queue's ports, and slower than
    // one port per 1/220 s, so a port is always free or a TIME_WAIT at least 1 s old.
    const uint64_t end = now + 4000 * kMs;
    uint64_t next_start = now;
    uint32_t started = 0;
    while (now < end) {
      now += 50 * 1000;
      if (now >= next_start) {
        next_start += 5 * kMs;
        if (ta.connect(ip_b, 7000, &client, now).ok()) {
          started++;
        } else {
          refused++;
        }
      }
      rte_mbuf* rx[64];
      uint16_t n = w.a().rx_burst(0, rx, 64);
      for (uint16_t i = 0; i < n; i++) a.input(rx[i], now);
      n = w.b().rx_burst(0, rx, 64);
      for (uint16_t i = 0; i < n; i++) b.input(rx[i], now);
      for (auto [t, st] : {std::pair{&ta, &a}, std::pair{&tb, &b}}) {
        t->flush(now);
        if (now >= t->next_timer_ns()) t->on_timer(now);
        if (now >= st->next_timer_ns()) st->on_timer(now);
      }
      tx(a, w.a());
      tx(b, w.b());
    }
    reused = ta.counters().get(TcpCounter::kTimeWaitReused);
  }
  EXPECT_GT(ports_of_queue, 100u);
  EXPECT_LT(ports_of_queue, 400u);
  // Far more connections than ports, every one closed normally on both sides.
  EXPECT_GT(client.closed, 3 * ports_of_queue);
  EXPECT_EQ(client.normal, client.closed);
  EXPECT_EQ(client.opened, client.closed);
  EXPECT_GE(server.normal + 2, client.closed);
  EXPECT_GT(reused, 0u);
  EXPECT_EQ(refused, 0u) << "connect() ran out of ports";
  EXPECT_EQ(rte_mempool_avail_count(pool), kPool) << "mbufs leaked";
  rte_mempool_free(pool);
}

// ---- out-of-order caps ----

TEST_F(Limits, OutOfOrderBytesPerConnectionAreCappedAndCounted) {
  TcpConfig cfg = test_config();
  cfg.ooo_max_bytes = 2500;
  setup_with(cfg);
  handshake(PeerOpts{});
  Connection* c = h_.connected[0];
  const Bytes p = net::testing::pattern(7000, 5);
  auto part = [&](uint32_t off, uint32_t n) { return Bytes(p.begin() + off, p.begin() + off + n); };
  data(40000, 1000, 2000, part(2000, 1000));
  data(40000, 1000, 4000, part(4000, 1000));
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kDropOoo), 0u);
  data(40000, 1000, 6000, part(6000, 1000));  // 3000 held would exceed 2500
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kDropOoo), 1u);
  drain();
  // The holes fill: what was held is delivered, what was dropped is retransmitted.
  data(40000, 1000, 0, part(0, 2000));
  data(40000, 1000, 3000, part(3000, 1000));
  data(40000, 1000, 5000, part(5000, 2000));
  drain();
  EXPECT_EQ(h_.data[c], p);
  EXPECT_EQ(tcp_->info(c).rcv_nxt, 1001u + 7000);
}

TEST_F(Limits, OutOfOrderSegmentsPerConnectionAreCapped) {
  TcpConfig cfg = test_config();
  cfg.ooo_max_segments = 2;
  setup_with(cfg);
  handshake(PeerOpts{});
  data(40000, 1000, 100, Bytes(10, 1));
  data(40000, 1000, 200, Bytes(10, 2));
  data(40000, 1000, 300, Bytes(10, 3));
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kDropOoo), 1u);
  drain();
}

TEST_F(Limits, OutOfOrderBytesPerWorkerAreSharedAndReturned) {
  TcpConfig cfg = test_config();
  cfg.ooo_max_bytes_worker = 1500;
  setup_with(cfg);
  ASSERT_TRUE(tcp_->listen(80, &h_).ok());
  Connection* c1 = open(40001, 1000);
  Connection* c2 = open(40002, 5000);
  ASSERT_NE(c1, nullptr);
  ASSERT_NE(c2, nullptr);
  data(40001, 1000, 100, Bytes(1000, 1));
  data(40002, 5000, 100, Bytes(1000, 2));  // the worker holds 1000 already
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kDropOoo), 1u);
  // c1's hole fills: its held bytes go back to the worker budget, and c2's fit now.
  data(40001, 1000, 0, Bytes(100, 1));
  EXPECT_EQ(h_.data[c1].size(), 1100u);
  data(40002, 5000, 100, Bytes(1000, 2));
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kDropOoo), 1u);
  // Aborting c2 returns its held bytes too.
  tcp_->abort(c2);
  data(40001, 1000, 1500, Bytes(1400, 3));
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kDropOoo), 1u);
  drain();
}

// ---- SACK scoreboard cap (CVE-2019-11477 class) ----

TEST_F(Limits, SackScoreboardIsCappedAndRecoveryStillCompletes) {
  TcpConfig cfg = test_config();
  cfg.sack_scoreboard_max = 3;
  setup_with(cfg);
  PeerOpts o;
  o.mss = 1460;
  o.sack_perm = true;
  handshake(o);
  Connection* c = h_.connected[0];
  constexpr uint32_t kSeg = 1460;
  ASSERT_TRUE(tcp_->send(c, chain(pool_, net::testing::pattern(10 * kSeg))).ok());
  tcp_->flush(now_);
  ASSERT_EQ(drain().size(), 10u);
  const uint32_t base = our_isn_ + 1;
  auto seg = [&](uint32_t k) { return std::make_pair(base + k * kSeg, base + (k + 1) * kSeg); };
  SegSpec a;
  a.seq = 1001;
  a.ack = base;
  a.flags = F_ACK;
  a.opts.sacks = {seg(1), seg(3), seg(5)};
  inject(a);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kSackBlocksIgnored), 0u);
  a.opts.sacks = {seg(7), seg(9)};  // two more disjoint ranges: no room
  inject(a);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kSackBlocksIgnored), 2u);
  a.opts.sacks = {seg(2)};  // merges {1} {2} {3} into one range: accepted
  inject(a);
  a.opts.sacks = {seg(7)};  // room again
  inject(a);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kSackBlocksIgnored), 2u);
  drain();
  a.opts.sacks.clear();
  a.ack = base + 10 * kSeg;
  inject(a);
  drain();
  EXPECT_EQ(tcp_->info(c).snd_una, base + 10 * kSeg);
  EXPECT_EQ(tcp_->info(c).snd_nxt, base + 10 * kSeg);
}

// ---- rate limits ----

TEST_F(Limits, RstsForUnknownConnectionsAreRateLimited) {
  TcpConfig cfg = test_config();
  cfg.rsts_per_s = 3;
  setup_with(cfg);
  SegSpec syn;
  syn.dport = 81;
  syn.flags = F_SYN;
  for (uint32_t i = 0; i < 10; i++) {
    syn.seq = 100 * i;
    inject(syn);
  }
  auto out = drain();
  ASSERT_EQ(out.size(), 3u);
  for (auto& s : out) EXPECT_EQ(s.flags, F_RST | F_ACK);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kRstRateLimited), 7u);
  now_ += 1000 * kMs;
  inject(syn);
  EXPECT_EQ(drain().size(), 1u) << "a new second, a new budget";
}

TEST_F(Limits, ChallengeAcksAreRateLimitedPerConnection) {
  TcpConfig cfg = test_config();
  cfg.challenge_acks_per_s = 1000;
  cfg.challenge_acks_per_conn_per_s = 2;
  setup_with(cfg);
  ASSERT_TRUE(tcp_->listen(80, &h_).ok());
  ASSERT_NE(open(40001, 1000), nullptr);
  ASSERT_NE(open(40002, 5000), nullptr);
  drain();
  for (auto [sport, isn] : {std::pair<uint16_t, uint32_t>{40001, 1000}, {40002, 5000}}) {
    SegSpec r;
    r.sport = sport;
    r.seq = isn + 1 + 50;  // in window, not exact
    r.flags = F_RST;
    for (int i = 0; i < 5; i++) inject(r);
  }
  auto out = drain();
  ASSERT_EQ(out.size(), 4u) << "two per connection, well under the worker's budget";
  EXPECT_EQ(out[0].dport, 40001);
  EXPECT_EQ(out[3].dport, 40002);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kChallengeAcks), 4u);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kChallengeAcksLimited), 6u);
  EXPECT_TRUE(h_.closed.empty());
  now_ += 1000 * kMs;
  SegSpec r;
  r.sport = 40001;
  r.seq = 1001 + 50;
  r.flags = F_RST;
  inject(r);
  EXPECT_EQ(drain().size(), 1u);
}

// ---- timeouts ----

TEST_F(Limits, IdleConnectionIsResetAfterTheIdleTimeout) {
  TcpConfig cfg = test_config();
  cfg.idle_timeout_ms = 5000;
  setup_with(cfg);
  handshake(PeerOpts{});
  Connection* c = h_.connected[0];
  EXPECT_TRUE(advance(4000 * kMs).empty());
  data(40000, 1000, 0, Bytes(10, 1));  // activity restarts the clock
  advance(4000 * kMs);
  EXPECT_TRUE(h_.closed.empty());
  EXPECT_EQ(tcp_->info(c).state, State::kEstablished);
  auto out = advance(1500 * kMs);
  ASSERT_EQ(h_.closed.size(), 1u);
  EXPECT_EQ(h_.closed[0].second, CloseReason::kTimeout);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags & F_RST, F_RST);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kTimeouts), 1u);
  EXPECT_EQ(tcp_->num_connections(), 0u);
}

// Idle means no data: bare ACKs (a peer keeping a connection open for free) do not reset
// the clock, and set_idle_timeout() changes one connection's limit.
TEST_F(Limits, IdleTimeoutCountsDataNotBareAcks) {
  TcpConfig cfg = test_config();
  cfg.idle_timeout_ms = 5000;
  setup_with(cfg);
  handshake(PeerOpts{});
  Connection* c = h_.connected[0];
  SegSpec ack;
  ack.sport = 40000;
  ack.seq = 1001;
  ack.ack = tcp_->info(c).snd_una;
  ack.flags = F_ACK;
  ack.wnd = 65535;
  for (int i = 0; i < 4; i++) {
    advance(1000 * kMs);
    inject(ack);  // duplicate ACKs: activity, but no data
  }
  advance(1100 * kMs);
  ASSERT_EQ(h_.closed.size(), 1u);
  EXPECT_EQ(h_.closed[0].second, CloseReason::kTimeout);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kIdleTimeouts), 1u);
}

TEST_F(Limits, IdleTimeoutIsSetPerConnection) {
  TcpConfig cfg = test_config();
  cfg.idle_timeout_ms = 5000;
  setup_with(cfg);
  handshake(PeerOpts{});
  Connection* c = h_.connected[0];
  tcp_->set_idle_timeout(c, 60000);
  advance(30000 * kMs);
  EXPECT_TRUE(h_.closed.empty());
  tcp_->set_idle_timeout(c, 0);  // never
  advance(600000 * kMs);
  EXPECT_TRUE(h_.closed.empty());
  EXPECT_EQ(tcp_->info(c).state, State::kEstablished);
  tcp_->set_idle_timeout(c, 1000);  // already idle longer than that: reset at once
  advance(1 * kMs);
  ASSERT_EQ(h_.closed.size(), 1u);
  EXPECT_EQ(h_.closed[0].second, CloseReason::kTimeout);
}

// A listener's own idle timeout (a service's override) applies to what it accepts.
TEST_F(Limits, ListenerIdleTimeoutOverridesTheConfig) {
  TcpConfig cfg = test_config();
  cfg.idle_timeout_ms = 0;  // never, unless the listener says
  setup_with(cfg);
  ASSERT_TRUE(tcp_->listen(80, &h_, 3000u).ok());
  SegSpec syn;
  syn.sport = 40000;
  syn.seq = 1000;
  syn.flags = F_SYN;
  inject(syn);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  SegSpec ack;
  ack.sport = 40000;
  ack.seq = 1001;
  ack.ack = out[0].seq + 1;
  ack.flags = F_ACK;
  ack.wnd = 65535;
  inject(ack);
  ASSERT_EQ(h_.connected.size(), 1u);
  advance(2900 * kMs);
  EXPECT_TRUE(h_.closed.empty());
  advance(200 * kMs);
  ASSERT_EQ(h_.closed.size(), 1u);
  EXPECT_EQ(h_.closed[0].second, CloseReason::kTimeout);
}

// RFC 1122 §4.2.3.6 keep-alive: after keepalive_ms of silence, probes with SND.UNA - 1 and no
// data every keepalive_intvl_ms; an answer resets the count; keepalive_probes unanswered
// probes reset the connection.
TEST_F(Limits, KeepaliveProbesASilentPeerThenGivesUp) {
  TcpConfig cfg = test_config();
  cfg.keepalive_ms = 20000;
  cfg.keepalive_intvl_ms = 5000;
  cfg.keepalive_probes = 3;
  setup_with(cfg);
  handshake(PeerOpts{});
  Connection* c = h_.connected[0];
  EXPECT_TRUE(advance(19990 * kMs).empty());
  auto out = advance(20 * kMs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].payload.empty());
  EXPECT_EQ(out[0].seq, our_isn_) << "a keep-alive carries SND.UNA - 1";
  // The peer answers: the count starts over, the next probe comes keepalive_ms later.
  SegSpec ack;
  ack.sport = 40000;
  ack.seq = 1001;
  ack.ack = tcp_->info(c).snd_una;
  ack.flags = F_ACK;
  ack.wnd = 65535;
  inject(ack);
  drain();
  EXPECT_TRUE(advance(19900 * kMs).empty());
  // Now silence: three probes 5 s apart, then a RST.
  std::vector<OutSeg> probes = advance(15000 * kMs);
  ASSERT_EQ(probes.size(), 3u);
  EXPECT_TRUE(h_.closed.empty());
  out = advance(200 * kMs);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].flags & F_RST, F_RST);
  ASSERT_EQ(h_.closed.size(), 1u);
  EXPECT_EQ(h_.closed[0].second, CloseReason::kTimeout);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kKeepaliveProbes), 4u);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kKeepaliveTimeouts), 1u);
}

// A peer that keeps its window at zero forever (and answers every probe) is given up on
// after persist_timeout_ms; one whose window opens in time is not.
TEST_F(Limits, ZeroWindowPeerIsGivenUpAfterThePersistTimeout) {
  TcpConfig cfg = test_config();
  cfg.persist_timeout_ms = 30000;
  setup_with(cfg);
  handshake(PeerOpts{});
  Connection* c = h_.connected[0];
  SegSpec w;
  w.sport = 40000;
  w.seq = 1001;
  w.ack = tcp_->info(c).snd_una;
  w.flags = F_ACK;
  w.wnd = 0;
  inject(w);
  ASSERT_TRUE(tcp_->send(c, net::testing::make_mbuf(pool_, Bytes(500, 2))).ok());
  tcp_->flush(now_);
  drain();
  const uint64_t t0 = now_;
  while (h_.closed.empty() && now_ - t0 < 120000 * kMs) {
    for (auto& s : advance(100 * kMs)) {
      if ((s.flags & F_RST) == 0) {
        inject(w);  // every probe answered, the window still zero
      }
    }
  }
  ASSERT_EQ(h_.closed.size(), 1u);
  EXPECT_EQ(h_.closed[0].second, CloseReason::kTimeout);
  const uint64_t lived = (now_ - t0) / kMs;
  EXPECT_GE(lived, 30000u);
  EXPECT_LT(lived, 30000u + 60000u);  // the probe after the deadline, at most rto_max later
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kPersistTimeouts), 1u);
}

TEST_F(Limits, HalfOpenConnectionTimesOutAndFreesItsBacklogSlot) {
  TcpConfig cfg = test_config();
  cfg.handshake_timeout_ms = 3000;
  cfg.backlog = 1;
  setup_with(cfg);
  ASSERT_TRUE(tcp_->listen(80, &h_).ok());
  SegSpec syn;
  syn.seq = 1000;
  syn.flags = F_SYN;
  inject(syn);
  ASSERT_EQ(drain().size(), 1u);
  advance(2900 * kMs);  // SYN-ACK retransmissions only
  EXPECT_EQ(tcp_->num_connections(), 1u);
  advance(200 * kMs);
  EXPECT_EQ(tcp_->num_connections(), 0u);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kTimeouts), 1u);
  EXPECT_TRUE(h_.closed.empty()) << "never reported, so never closed";
  // The backlog slot is free again: the next SYN gets a TCB, not a cookie.
  syn.sport = 40001;
  inject(syn);
  ASSERT_EQ(drain().size(), 1u);
  EXPECT_EQ(tcp_->num_connections(), 1u);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kSynCookiesSent), 0u);
}

// ---- minimum MSS clamp (CVE-2019-11479 class) ----

struct MssCase {
  const char* name;
  uint16_t min_peer_mss;
  bool cookie;
};

class MinMss : public TcpHarness, public ::testing::WithParamInterface<MssCase> {};

TEST_P(MinMss, TinyPeerMssIsRaised) {
  const MssCase& p = GetParam();
  TcpConfig cfg = test_config();
  cfg.min_peer_mss = p.min_peer_mss;
  cfg.backlog = p.cookie ? 0 : 16;
  setup_with(cfg);
  PeerOpts o;
  o.mss = 64;
  handshake(o);
  ASSERT_EQ(h_.connected.size(), 1u);
  Connection* c = h_.connected[0];
  EXPECT_EQ(tcp_->info(c).mss, p.min_peer_mss);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kSynCookiesOk), p.cookie ? 1u : 0u);
  ASSERT_TRUE(tcp_->send(c, net::testing::make_mbuf(pool_, Bytes(3000, 4), {1500})).ok());
  tcp_->flush(now_);
  auto out = drain();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].payload.size(), p.min_peer_mss);
}

INSTANTIATE_TEST_SUITE_P(Clamp, MinMss,
                         ::testing::Values(MssCase{"default", 536, false},
                                           MssCase{"configured", 1000, false},
                                           MssCase{"cookie", 536, true}),
                         [](const auto& info) { return std::string(info.param.name); });

// ---- RFC 6675 IsLost ----

TEST_F(Limits, OnlyHolesWithDupThreshSegmentsSackedAboveAreRetransmitted) {
  PeerOpts o;
  o.mss = 1460;
  o.sack_perm = true;
  o.ts = std::make_pair(5000u, 0u);
  handshake(o);
  Connection* c = h_.connected[0];
  constexpr uint32_t kSeg = 1448;
  ASSERT_TRUE(tcp_->send(c, chain(pool_, net::testing::pattern(8 * kSeg))).ok());
  tcp_->flush(now_);
  auto sent = drain();
  ASSERT_EQ(sent.size(), 8u);
  const uint32_t base = our_isn_ + 1;
  auto segs = [&](uint32_t from, uint32_t to) {
    return std::make_pair(base + from * kSeg, base + to * kSeg);
  };
  SegSpec a;
  a.seq = 1001;
  a.ack = base;
  a.flags = F_ACK;
  uint32_t ts = 5001;
  auto ack_with = [&](std::vector<std::pair<uint32_t, uint32_t>> sacks) {
    a.opts.ts = std::make_pair(ts++, sent[0].opts.timestamp->first);
    a.opts.sacks = std::move(sacks);
    inject(a);
    std::vector<uint32_t> seqs;
    for (auto& s : drain()) {
      if (!s.payload.empty()) seqs.push_back(s.seq);
    }
    return seqs;
  };
  // Segments 1-3 and 5 arrived. Segment 0 has three segments SACKed above it: lost. Segment
  // 4 has one: reordered, perhaps -- not retransmitted.
  EXPECT_EQ(ack_with({segs(5, 6), segs(1, 4)}), std::vector<uint32_t>{base});
  // Segment 6 arrives: two segments (2 * SMSS, not more) above segment 4: still not lost.
  EXPECT_TRUE(ack_with({segs(5, 7), segs(1, 4)}).empty());
  // Segment 7: three above it, more than (DupThresh - 1) * SMSS bytes: lost now.
  EXPECT_EQ(ack_with({segs(5, 8), segs(1, 4)}), std::vector<uint32_t>{base + 4 * kSeg});
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kFastRetrans), 1u);
  a.opts.sacks.clear();
  a.ack = base + 8 * kSeg;
  inject(a);
  drain();
  EXPECT_EQ(tcp_->info(c).snd_una, base + 8 * kSeg);
}

TEST_F(Limits, DuplicatedAcksWithTwoSegmentsSackedDoNotStartRecovery) {
  PeerOpts o;
  o.mss = 1460;
  o.sack_perm = true;
  handshake(o);
  Connection* c = h_.connected[0];
  constexpr uint32_t kSeg = 1460;
  ASSERT_TRUE(tcp_->send(c, chain(pool_, net::testing::pattern(6 * kSeg))).ok());
  tcp_->flush(now_);
  ASSERT_EQ(drain().size(), 6u);
  const uint32_t base = our_isn_ + 1;
  SegSpec a;
  a.seq = 1001;
  a.ack = base;
  a.flags = F_ACK;
  // Two discontiguous single segments: two ranges, 2 * SMSS bytes, reported by an ACK the
  // network duplicated twice. Three duplicate ACKs, but they SACK nothing new: not a loss
  // (RFC 6675 §2: a duplicate ACK "SACKs ... new data").
  a.opts.sacks = {{base + 3 * kSeg, base + 4 * kSeg}, {base + kSeg, base + 2 * kSeg}};
  for (int i = 0; i < 3; i++) inject(a);
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kFastRetrans), 0u);
  // A third discontiguous range, 100 bytes of segment 5: DupThresh ranges, and more than
  // 2 * SMSS bytes, above segment 0: it is lost.
  a.opts.sacks = {{base + 5 * kSeg, base + 5 * kSeg + 100},
                  {base + 3 * kSeg, base + 4 * kSeg},
                  {base + kSeg, base + 2 * kSeg}};
  inject(a);
  auto out = drain();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out[0].seq, base);
  EXPECT_EQ(tcp_->counters().get(TcpCounter::kFastRetrans), 1u);
  a.opts.sacks.clear();
  a.ack = base + 6 * kSeg;
  inject(a);
  drain();
  EXPECT_EQ(tcp_->info(c).snd_una, base + 6 * kSeg);
}

// ---- receive window ----

TEST_F(Limits, BytesHeldOutOfOrderAreNotOfferedAgain) {
  handshake(PeerOpts{});  // no window scaling: the field is in bytes
  Connection* c = h_.connected[0];
  h_.auto_release = false;
  for (uint32_t k = 0; k < 4; k++) data(40000, 1000, 1000 * k, Bytes(1000, 1));
  for (uint32_t k = 6; k < 10; k++) data(40000, 1000, 1000 * k, Bytes(1000, 2));
  auto out = drain();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back().wnd, 65535u - 4000) << "the right edge stays where it was";
  // The application releases what it read; 4000 bytes are still held out of order, so
  // the buffer has no more room than the window already offers: no window update.
  tcp_->release(c, 4000);
  tcp_->flush(now_);
  EXPECT_TRUE(drain().empty());
  data(40000, 1000, 12000, Bytes(1000, 3));  // 5000 held out of order now
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].wnd, 65535u - 4000);
  // The hole fills: 6000 bytes are delivered (unreleased), 1000 stay held.
  data(40000, 1000, 4000, Bytes(2000, 4));
  out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].ack, 1001u + 10000);
  EXPECT_EQ(out[0].wnd, 65535u - 6000 - 1000);
  EXPECT_EQ(h_.data[c].size(), 10000u);
}

}  // namespace
}  // namespace linetls::net::tcp::testing
