// WirePair: delivery, each impairment, reproducibility, NIC emulation (private copies,
// checksum offloads, TCP segmentation offload, RSS steering) and that no frame is ever leaked.
#include "drivers/wire/wire.h"

#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_thash.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace linetls::wire {
namespace {

constexpr uint32_t kPoolSize = 4095;
constexpr uint16_t kFrameLen = 64;
constexpr net::MacAddr kMacA{{0x02, 0, 0, 0, 0, 0x0a}};
constexpr net::MacAddr kMacB{{0x02, 0, 0, 0, 0, 0x0b}};

// Each test gets its own pool with no per-lcore cache, so rte_mempool_avail_count is exact
// and TearDown can prove every frame came back.
class WireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    static int n = 0;
    const std::string name = "wire_test_" + std::to_string(n++);
    pool_ = rte_pktmbuf_pool_create(name.c_str(), kPoolSize, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    wire_.reset();
    if (pool_ != nullptr) {
      EXPECT_EQ(rte_mempool_avail_count(pool_), kPoolSize) << "frames leaked";
      rte_mempool_free(pool_);
    }
  }

  WirePair& wire(const net::PortCaps& caps = WirePair::default_caps()) {
    if (!wire_) {
      wire_ = std::make_unique<WirePair>(pool_, kMacA, kMacB, caps);
    }
    return *wire_;
  }
  void use_virtual_clock() {
    wire().set_clock([this] { return now_; });
  }

  // An Ethernet frame of len bytes (ethertype 0x88b5, local experimental) whose payload
  // starts with seq and continues with a pattern derived from it.
  rte_mbuf* frame(uint32_t seq, uint16_t len = kFrameLen) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    EXPECT_NE(m, nullptr);
    auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, len));
    EXPECT_NE(p, nullptr);
    std::memcpy(p, kMacB.b.data(), 6);
    std::memcpy(p + 6, kMacA.b.data(), 6);
    p[12] = 0x88;
    p[13] = 0xb5;
    std::memcpy(p + 14, &seq, sizeof(seq));
    for (uint16_t i = 18; i < len; i++) {
      p[i] = static_cast<uint8_t>(seq * 7 + i);
    }
    return m;
  }
  // The same content as frame(seq, 3 * seg_len) but in a chain of three segments.
  rte_mbuf* chained_frame(uint32_t seq, uint16_t seg_len) {
    rte_mbuf* flat = frame(seq, static_cast<uint16_t>(3 * seg_len));
    std::vector<uint8_t> bytes = contents(flat);
    rte_pktmbuf_free(flat);
    rte_mbuf* head = nullptr;
    for (int s = 0; s < 3; s++) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, seg_len));
      std::memcpy(p, bytes.data() + s * seg_len, seg_len);
      if (head == nullptr) {
        head = m;
      } else {
        EXPECT_EQ(rte_pktmbuf_chain(head, m), 0);
      }
    }
    return head;
  }
  static std::vector<uint8_t> contents(const rte_mbuf* m) {
    std::vector<uint8_t> out(m->pkt_len);
    const void* p = rte_pktmbuf_read(m, 0, m->pkt_len, out.data());
    if (p != out.data()) {
      std::memcpy(out.data(), p, m->pkt_len);
    }
    return out;
  }
  static uint32_t seq_of(const rte_mbuf* m) {
    uint32_t seq = 0;
    std::memcpy(&seq, rte_pktmbuf_mtod_offset(m, const uint8_t*, 14), sizeof(seq));
    return seq;
  }
  void send(net::Port& p, rte_mbuf* m, uint16_t queue = 0) {
    ASSERT_EQ(p.tx_burst(queue, &m, 1), 1);
  }
  // Everything p can receive on queue right now; the caller frees it.
  static std::vector<rte_mbuf*> drain(net::Port& p, uint16_t queue = 0) {
    std::vector<rte_mbuf*> out;
    rte_mbuf* burst[32];
    uint16_t k;
    while ((k = p.rx_burst(queue, burst, 32)) > 0) {
      out.insert(out.end(), burst, burst + k);
    }
    return out;
  }
  static std::vector<uint32_t> drain_seqs(net::Port& p) {
    std::vector<uint32_t> seqs;
    for (rte_mbuf* m : drain(p)) {
      seqs.push_back(seq_of(m));
      rte_pktmbuf_free(m);
    }
    return seqs;
  }

  rte_mempool* pool_ = nullptr;
  std::unique_ptr<WirePair> wire_;
  uint64_t now_ = 0;
};

TEST_F(WireTest, CleanDeliveryInOrderBothWays) {
  WirePair& w = wire();
  EXPECT_EQ(w.a().caps().driver, "wire");
  EXPECT_EQ(w.a().mac(), kMacA);
  EXPECT_EQ(w.b().mac(), kMacB);
  EXPECT_EQ(w.a().pktmbuf_pool(0), pool_);

  std::vector<rte_mbuf*> burst;
  for (uint32_t i = 0; i < 100; i++) {
    burst.push_back(frame(i));
  }
  ASSERT_EQ(w.a().tx_burst(0, burst.data(), 100), 100);
  send(w.b(), frame(1000));

  std::vector<rte_mbuf*> got = drain(w.b());
  ASSERT_EQ(got.size(), 100u);
  for (uint32_t i = 0; i < 100; i++) {
    rte_mbuf* want = frame(i);
    EXPECT_EQ(contents(got[i]), contents(want)) << "frame " << i;
    rte_pktmbuf_free(want);
    rte_pktmbuf_free(got[i]);
  }
  EXPECT_EQ(drain_seqs(w.a()), std::vector<uint32_t>{1000});

  const WireStats& s = w.stats(Direction::kAtoB);
  EXPECT_EQ(s.sent, 100u);
  EXPECT_EQ(s.delivered, 100u);
  EXPECT_EQ(s.lost + s.duplicated + s.corrupted + s.reordered + s.queue_full, 0u);
  EXPECT_EQ(w.in_flight(Direction::kAtoB), 0u);
  EXPECT_EQ(w.a().stats().tx_packets, 100u);
  EXPECT_EQ(w.a().stats().tx_bytes, 100u * kFrameLen);
  EXPECT_EQ(w.b().stats().rx_packets, 100u);
  EXPECT_EQ(w.b().stats().rx_bytes, 100u * kFrameLen);
  EXPECT_EQ(w.a().stats().rx_packets, 1u);
}

TEST_F(WireTest, QueueOutOfRangeTakesNothing) {
  WirePair& w = wire();
  rte_mbuf* m = frame(1);
  EXPECT_EQ(w.a().tx_burst(1, &m, 1), 0);
  rte_mbuf* out[4];
  EXPECT_EQ(w.b().rx_burst(1, out, 4), 0);
  EXPECT_EQ(w.stats(Direction::kAtoB).sent, 0u);
  rte_pktmbuf_free(m);  // still ours
}

// Which of n frames arrive, for a loss probability and a seed.
std::vector<bool> loss_pattern(WirePair& w, rte_mempool* pool, double p, uint64_t seed,
                               uint32_t n) {
  Impairments imp;
  imp.loss = p;
  imp.seed = seed;
  w.set_impairments(Direction::kAtoB, imp);
  std::vector<bool> arrived(n, false);
  for (uint32_t i = 0; i < n; i++) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    std::memcpy(rte_pktmbuf_append(m, 18) + 14, &i, sizeof(i));
    EXPECT_EQ(w.a().tx_burst(0, &m, 1), 1);
    rte_mbuf* r = nullptr;
    while (w.b().rx_burst(0, &r, 1) == 1) {
      uint32_t seq = 0;
      std::memcpy(&seq, rte_pktmbuf_mtod_offset(r, uint8_t*, 14), sizeof(seq));
      arrived[seq] = true;
      rte_pktmbuf_free(r);
    }
  }
  return arrived;
}

TEST_F(WireTest, LossMatchesProbabilityAndFollowsTheSeed) {
  WirePair& w = wire();
  constexpr uint32_t kN = 10000;
  constexpr double kP = 0.1;
  const std::vector<bool> first = loss_pattern(w, pool_, kP, 42, kN);
  const auto lost = static_cast<uint64_t>(std::count(first.begin(), first.end(), false));
  // Binomial(10000, 0.1): mean 1000, sigma 30; 5 sigma either side.
  EXPECT_GT(lost, 850u);
  EXPECT_LT(lost, 1150u);
  EXPECT_EQ(w.stats(Direction::kAtoB).lost, lost);
  EXPECT_EQ(w.stats(Direction::kAtoB).delivered, kN - lost);
  EXPECT_EQ(w.stats(Direction::kAtoB).sent, kN);

  EXPECT_EQ(loss_pattern(w, pool_, kP, 42, kN), first) << "same seed, same losses";
  EXPECT_NE(loss_pattern(w, pool_, kP, 43, kN), first) << "another seed, other losses";
}

TEST_F(WireTest, DuplicateIsAnIndependentCopy) {
  WirePair& w = wire();
  Impairments imp;
  imp.duplicate = 1.0;
  w.set_impairments(Direction::kAtoB, imp);
  send(w.a(), frame(7));
  std::vector<rte_mbuf*> got = drain(w.b());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(w.stats(Direction::kAtoB).duplicated, 1u);
  EXPECT_EQ(w.stats(Direction::kAtoB).sent, 1u);
  EXPECT_EQ(w.stats(Direction::kAtoB).delivered, 2u);
  EXPECT_NE(got[0], got[1]);
  EXPECT_NE(rte_pktmbuf_mtod(got[0], uint8_t*), rte_pktmbuf_mtod(got[1], uint8_t*));
  EXPECT_EQ(rte_mbuf_refcnt_read(got[0]), 1);
  EXPECT_EQ(rte_mbuf_refcnt_read(got[1]), 1);
  const std::vector<uint8_t> original = contents(got[1]);
  EXPECT_EQ(contents(got[0]), original);
  // The receiver writes into one copy (as in-place decryption does); the other is untouched.
  std::memset(rte_pktmbuf_mtod(got[0], uint8_t*), 0xee, got[0]->data_len);
  EXPECT_EQ(contents(got[1]), original);
  rte_pktmbuf_free(got[0]);
  rte_pktmbuf_free(got[1]);
}

int bit_distance(const std::vector<uint8_t>& x, const std::vector<uint8_t>& y) {
  EXPECT_EQ(x.size(), y.size());
  int d = 0;
  for (size_t i = 0; i < std::min(x.size(), y.size()); i++) {
    d += std::popcount(static_cast<unsigned>(x[i] ^ y[i]));
  }
  return d;
}

TEST_F(WireTest, CorruptionFlipsExactlyOneBitAnywhereInAChain) {
  WirePair& w = wire();
  Impairments imp;
  imp.corrupt = 1.0;
  w.set_impairments(Direction::kAtoB, imp);
  constexpr uint16_t kSegLen = 40;
  constexpr uint32_t kN = 300;
  std::set<int> segments_hit;
  for (uint32_t i = 0; i < kN; i++) {
    send(w.a(), chained_frame(i, kSegLen));
    std::vector<rte_mbuf*> got = drain(w.b());
    ASSERT_EQ(got.size(), 1u);
    rte_mbuf* want = frame(i, 3 * kSegLen);
    const std::vector<uint8_t> x = contents(got[0]);
    const std::vector<uint8_t> y = contents(want);
    EXPECT_EQ(got[0]->nb_segs, 3);
    EXPECT_EQ(bit_distance(x, y), 1) << "frame " << i;
    for (size_t b = 0; b < x.size(); b++) {
      if (x[b] != y[b]) {
        segments_hit.insert(static_cast<int>(b / kSegLen));
      }
    }
    rte_pktmbuf_free(want);
    rte_pktmbuf_free(got[0]);
  }
  EXPECT_EQ(w.stats(Direction::kAtoB).corrupted, kN);
  EXPECT_EQ(segments_hit, (std::set<int>{0, 1, 2})) << "every segment can be hit";
}

TEST_F(WireTest, DelayHoldsFramesUntilTheClockReachesDeliverTime) {
  WirePair& w = wire();
  use_virtual_clock();
  Impairments imp;
  imp.delay_ns = 1000;
  w.set_impairments(Direction::kAtoB, imp);
  now_ = 5000;
  send(w.a(), frame(1));
  now_ = 5500;
  send(w.a(), frame(2));
  EXPECT_TRUE(drain_seqs(w.b()).empty());
  now_ = 5999;
  EXPECT_TRUE(drain_seqs(w.b()).empty());
  EXPECT_EQ(w.in_flight(Direction::kAtoB), 2u);
  now_ = 6000;
  EXPECT_EQ(drain_seqs(w.b()), std::vector<uint32_t>{1});
  now_ = 6499;
  EXPECT_TRUE(drain_seqs(w.b()).empty());
  now_ = 6500;
  EXPECT_EQ(drain_seqs(w.b()), std::vector<uint32_t>{2});
  EXPECT_EQ(w.in_flight(Direction::kAtoB), 0u);
  // The other direction is not delayed.
  send(w.b(), frame(3));
  EXPECT_EQ(drain_seqs(w.a()), std::vector<uint32_t>{3});
}

TEST_F(WireTest, JitterDelaysWithinBoundsAndKeepsOrder) {
  WirePair& w = wire();
  use_virtual_clock();
  Impairments imp;
  imp.delay_ns = 100;
  imp.jitter_ns = 1000;
  w.set_impairments(Direction::kAtoB, imp);
  for (uint32_t i = 0; i < 200; i++) {
    send(w.a(), frame(i));
  }
  EXPECT_TRUE(drain_seqs(w.b()).empty()) << "nothing before the base delay";
  std::vector<uint32_t> seqs;
  for (now_ = 100; now_ <= 1100; now_ += 10) {
    for (uint32_t s : drain_seqs(w.b())) {
      seqs.push_back(s);
    }
  }
  ASSERT_EQ(seqs.size(), 200u) << "all out by delay + jitter";
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
}

TEST_F(WireTest, ReorderingLetsLaterFramesOvertakeAndDeliversAll) {
  WirePair& w = wire();
  use_virtual_clock();
  Impairments imp;
  imp.reorder = 0.2;
  imp.reorder_delay_ns = 50;
  imp.seed = 9;
  w.set_impairments(Direction::kAtoB, imp);
  constexpr uint32_t kN = 1000;
  std::vector<uint32_t> seqs;
  for (uint32_t i = 0; i < kN; i++) {
    now_ = i * 10;
    send(w.a(), frame(i));
    for (uint32_t s : drain_seqs(w.b())) {
      seqs.push_back(s);
    }
  }
  now_ += 1000;
  for (uint32_t s : drain_seqs(w.b())) {
    seqs.push_back(s);
  }
  ASSERT_EQ(seqs.size(), kN);
  std::vector<uint32_t> sorted = seqs;
  std::sort(sorted.begin(), sorted.end());
  for (uint32_t i = 0; i < kN; i++) {
    ASSERT_EQ(sorted[i], i) << "every frame arrives exactly once";
  }
  size_t inversions = 0;
  for (size_t i = 1; i < seqs.size(); i++) {
    inversions += seqs[i] < seqs[i - 1] ? 1 : 0;
  }
  const uint64_t reordered = w.stats(Direction::kAtoB).reordered;
  EXPECT_GT(reordered, 120u);
  EXPECT_LT(reordered, 280u);
  EXPECT_GT(inversions, 100u) << "reordered frames were overtaken";
}

TEST_F(WireTest, TailDropBeyondMaxQueued) {
  WirePair& w = wire();
  use_virtual_clock();
  Impairments imp;
  imp.delay_ns = 100;
  imp.max_queued = 10;
  w.set_impairments(Direction::kAtoB, imp);
  std::vector<rte_mbuf*> burst;
  for (uint32_t i = 0; i < 15; i++) {
    burst.push_back(frame(i));
  }
  EXPECT_EQ(w.a().tx_burst(0, burst.data(), 15), 15) << "the wire takes every frame";
  EXPECT_EQ(w.in_flight(Direction::kAtoB), 10u);
  EXPECT_EQ(w.stats(Direction::kAtoB).queue_full, 5u);
  EXPECT_EQ(w.a().stats().tx_dropped, 5u);
  now_ = 100;
  const std::vector<uint32_t> seqs = drain_seqs(w.b());
  ASSERT_EQ(seqs.size(), 10u);
  for (uint32_t i = 0; i < 10; i++) {
    EXPECT_EQ(seqs[i], i) << "the tail is dropped, not the head";
  }
}

TEST_F(WireTest, DestructorFreesFramesInFlight) {
  {
    WirePair w(pool_, kMacA, kMacB);
    w.set_clock([] { return uint64_t{0}; });
    Impairments imp;
    imp.delay_ns = 1000000000;
    imp.duplicate = 0.5;
    w.set_impairments(Direction::kAtoB, imp);
    w.set_impairments(Direction::kBtoA, imp);
    for (uint32_t i = 0; i < 50; i++) {
      send(w.a(), frame(i));
      send(w.b(), chained_frame(i, 30));
    }
    EXPECT_GE(w.in_flight(Direction::kAtoB), 50u);
    EXPECT_GE(w.in_flight(Direction::kBtoA), 50u);
    EXPECT_LT(rte_mempool_avail_count(pool_), kPoolSize - 200);
  }
  EXPECT_EQ(rte_mempool_avail_count(pool_), kPoolSize);
}

TEST_F(WireTest, SharedFramesAreCopiedSoTheSendersReferenceStaysIntact) {
  WirePair& w = wire();
  Impairments imp;
  imp.corrupt = 1.0;
  w.set_impairments(Direction::kAtoB, imp);
  rte_mbuf* m = frame(5);
  const std::vector<uint8_t> original = contents(m);
  rte_mbuf_refcnt_update(m, 1);  // the sender keeps it for retransmission
  send(w.a(), m);
  EXPECT_EQ(rte_mbuf_refcnt_read(m), 1) << "the wire released its reference";
  std::vector<rte_mbuf*> got = drain(w.b());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_NE(got[0], m);
  EXPECT_EQ(bit_distance(contents(got[0]), original), 1);
  std::memset(rte_pktmbuf_mtod(got[0], uint8_t*), 0, got[0]->data_len);
  EXPECT_EQ(contents(m), original) << "corruption and the receiver never touch the sender's";
  rte_pktmbuf_free(got[0]);
  rte_pktmbuf_free(m);
}

// Ethernet + IPv4 + TCP with payload_len bytes of payload; checksums left zero.
rte_mbuf* tcp_frame(rte_mempool* pool, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                    uint16_t payload_len) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  const uint16_t len = static_cast<uint16_t>(14 + 20 + 20 + payload_len);
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, len));
  if (p == nullptr) {
    ADD_FAILURE() << "no room for the frame";
    return m;
  }
  std::memset(p, 0, len);
  std::memcpy(p, kMacB.b.data(), 6);
  std::memcpy(p + 6, kMacA.b.data(), 6);
  p[12] = 0x08;
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + 14);
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(40 + payload_len));
  ip->time_to_live = 64;
  ip->next_proto_id = 6;
  ip->src_addr = rte_cpu_to_be_32(src);
  ip->dst_addr = rte_cpu_to_be_32(dst);
  uint8_t* tcp = p + 34;
  tcp[0] = static_cast<uint8_t>(sport >> 8);
  tcp[1] = static_cast<uint8_t>(sport);
  tcp[2] = static_cast<uint8_t>(dport >> 8);
  tcp[3] = static_cast<uint8_t>(dport);
  tcp[12] = 5 << 4;
  tcp[13] = 0x18;  // PSH|ACK
  for (uint16_t i = 0; i < payload_len; i++) {
    p[54 + i] = static_cast<uint8_t>(i * 13);
  }
  m->l2_len = 14;
  m->l3_len = 20;
  return m;
}

TEST_F(WireTest, ChecksumOffloadsAreEmulatedWhenTheCapsOfferThem) {
  net::PortCaps caps = WirePair::default_caps();
  caps.tx_ip_cksum = caps.tx_tcp_cksum = caps.rx_ip_cksum = caps.rx_l4_cksum = true;
  WirePair& w = wire(caps);
  EXPECT_FALSE(w.a().caps().tx_tso) << "TSO is reported only when asked for";
  EXPECT_TRUE(w.a().caps().tx_tcp_cksum);

  rte_mbuf* m = tcp_frame(pool_, 0x0a000001, 0x0a000002, 1234, 443, 100);
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, 14);
  auto* tcp_cksum = rte_pktmbuf_mtod_offset(m, uint16_t*, 34 + 16);
  *tcp_cksum = rte_ipv4_phdr_cksum(ip, RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_TCP_CKSUM);
  m->ol_flags |= RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
  send(w.a(), m);
  std::vector<rte_mbuf*> got = drain(w.b());
  ASSERT_EQ(got.size(), 1u);
  rte_mbuf* r = got[0];
  const auto* rip = rte_pktmbuf_mtod_offset(r, const rte_ipv4_hdr*, 14);
  EXPECT_EQ(rte_raw_cksum(rip, 20), 0xffff) << "IPv4 header checksum filled in";
  const uint16_t l4 = rte_raw_cksum(rte_pktmbuf_mtod_offset(r, const uint8_t*, 34), 120);
  uint32_t sum = uint32_t{l4} + rte_ipv4_phdr_cksum(rip, 0);
  sum = (sum & 0xffff) + (sum >> 16);
  EXPECT_EQ(sum, 0xffffu) << "TCP checksum filled in";
  EXPECT_EQ(r->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
  EXPECT_EQ(r->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
  EXPECT_EQ(r->ol_flags & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK), 0u)
      << "TX metadata does not survive the wire";
  rte_pktmbuf_free(r);

  // Without the TX flags the checksums stay zero, and the receiver is told they are bad.
  send(w.a(), tcp_frame(pool_, 0x0a000001, 0x0a000002, 1234, 443, 10));
  got = drain(w.b());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_BAD);
  EXPECT_EQ(got[0]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_BAD);
  rte_pktmbuf_free(got[0]);
}

TEST_F(WireTest, RssSteersBothDirectionsOfAFlowToTheSameQueue) {
  net::PortCaps caps = WirePair::default_caps();
  caps.num_queues = 4;
  caps.rss = true;
  WirePair& w = wire(caps);
  std::set<uint16_t> used;
  for (uint16_t sport = 40000; sport < 40064; sport++) {
    send(w.a(), tcp_frame(pool_, 0x0a000001, 0x0a000002, sport, 443, 0));
    send(w.b(), tcp_frame(pool_, 0x0a000002, 0x0a000001, 443, sport, 0));
    int fwd_queue = -1, rev_queue = -1;
    uint32_t fwd_hash = 0, rev_hash = 1;
    for (uint16_t q = 0; q < 4; q++) {
      for (rte_mbuf* m : drain(w.b(), q)) {
        fwd_queue = q;
        EXPECT_NE(m->ol_flags & RTE_MBUF_F_RX_RSS_HASH, 0u);
        fwd_hash = m->hash.rss;
        rte_pktmbuf_free(m);
      }
      for (rte_mbuf* m : drain(w.a(), q)) {
        rev_queue = q;
        rev_hash = m->hash.rss;
        rte_pktmbuf_free(m);
      }
    }
    ASSERT_GE(fwd_queue, 0);
    EXPECT_EQ(fwd_queue, rev_queue) << "sport " << sport;
    EXPECT_EQ(fwd_hash, rev_hash) << "symmetric key, symmetric hash";
    uint8_t key[40];
    for (size_t i = 0; i < sizeof(key); i++) {
      key[i] = i % 2 == 0 ? 0x6d : 0x5a;
    }
    uint32_t tuple[3] = {0x0a000001, 0x0a000002, (uint32_t{sport} << 16) | 443};
    EXPECT_EQ(fwd_hash, rte_softrss(tuple, 3, key)) << "Toeplitz over the TCP 4-tuple";
    EXPECT_EQ(static_cast<uint32_t>(fwd_queue), (fwd_hash % 128) % 4);
    used.insert(static_cast<uint16_t>(fwd_queue));
  }
  EXPECT_EQ(used.size(), 4u) << "64 flows spread over all four queues";

  // A frame that is not IPv4 has no hash and goes to queue 0.
  send(w.a(), frame(1), 3);
  EXPECT_EQ(drain_seqs(w.b()), std::vector<uint32_t>{1});
}

TEST_F(WireTest, WithoutRssFramesKeepTheirQueueIndex) {
  net::PortCaps caps = WirePair::default_caps();
  caps.num_queues = 2;
  WirePair& w = wire(caps);
  send(w.a(), frame(10), 1);
  send(w.a(), frame(20), 0);
  std::vector<rte_mbuf*> q1 = drain(w.b(), 1);
  ASSERT_EQ(q1.size(), 1u);
  EXPECT_EQ(seq_of(q1[0]), 10u);
  rte_pktmbuf_free(q1[0]);
  EXPECT_EQ(drain_seqs(w.b()), std::vector<uint32_t>{20});
}

// ---- TCP segmentation offload ----

constexpr uint32_t kTsoSeq = 0xfffff000;  // close to wrapping: the per-frame seq wraps too
constexpr uint16_t kTsoIpId = 0xfffe;     // and so does the IPv4 ID
constexpr uint16_t kTsoOptLen = 12;       // NOP NOP timestamp: l4_len includes options

uint8_t tso_byte(uint32_t i) { return static_cast<uint8_t>(i * 31 + (i >> 8)); }

// A frame as a TCP stack hands it to a TSO port: Ethernet + IPv4 + TCP (with a timestamp
// option) in the first segment, payload_len bytes of payload in 1000-byte segments after
// it, the DPDK TSO metadata set and the TCP checksum field holding the pseudo-header sum
// without the length.
rte_mbuf* tso_frame(rte_mempool* pool, uint32_t payload_len, uint16_t segsz, uint8_t flags) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  const uint16_t l4_len = 20 + kTsoOptLen;
  const uint16_t hdr = static_cast<uint16_t>(14 + 20 + l4_len);
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, hdr));
  if (p == nullptr) {
    ADD_FAILURE() << "no room for the headers";
    return m;
  }
  std::memset(p, 0, hdr);
  std::memcpy(p, kMacB.b.data(), 6);
  std::memcpy(p + 6, kMacA.b.data(), 6);
  p[12] = 0x08;
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + 14);
  ip->version_ihl = 0x45;
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(20 + l4_len + payload_len));
  ip->packet_id = rte_cpu_to_be_16(kTsoIpId);
  ip->fragment_offset = rte_cpu_to_be_16(0x4000);  // DF
  ip->time_to_live = 64;
  ip->next_proto_id = 6;
  ip->src_addr = rte_cpu_to_be_32(0x0a000001);
  ip->dst_addr = rte_cpu_to_be_32(0x0a000002);
  uint8_t* tcp = p + 34;
  tcp[0] = 0x04;  // port 1234
  tcp[1] = 0xd2;
  tcp[2] = 0x01;  // port 443
  tcp[3] = 0xbb;
  for (int i = 0; i < 4; i++) {
    tcp[4 + i] = static_cast<uint8_t>(kTsoSeq >> (24 - 8 * i));
    tcp[8 + i] = static_cast<uint8_t>(0x11223344u >> (24 - 8 * i));
  }
  tcp[12] = static_cast<uint8_t>((l4_len / 4) << 4);
  tcp[13] = flags;
  tcp[14] = 0xff;
  tcp[15] = 0xff;
  const uint8_t ts[kTsoOptLen] = {1, 1, 8, 10, 0, 0, 0, 7, 0, 0, 0, 9};
  std::memcpy(tcp + 20, ts, kTsoOptLen);
  const uint64_t ol = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM |
                      RTE_MBUF_F_TX_TCP_SEG;
  const uint16_t phdr = rte_ipv4_phdr_cksum(ip, ol);
  std::memcpy(tcp + 16, &phdr, 2);
  for (uint32_t off = 0; off < payload_len; off += 1000) {
    const uint16_t k = static_cast<uint16_t>(std::min<uint32_t>(1000, payload_len - off));
    rte_mbuf* s = rte_pktmbuf_alloc(pool);
    auto* d = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(s, k));
    for (uint16_t i = 0; i < k; i++) {
      d[i] = tso_byte(off + i);
    }
    EXPECT_EQ(rte_pktmbuf_chain(m, s), 0);
  }
  m->ol_flags |= ol;
  m->l2_len = 14;
  m->l3_len = 20;
  m->l4_len = l4_len;
  m->tso_segsz = segsz;
  return m;
}

// Checks that frames are what a NIC makes of tso_frame(payload_len, segsz, flags): every
// field and checksum verified from the bytes alone.
void expect_tso_frames(const std::vector<rte_mbuf*>& frames, uint32_t payload_len,
                       uint16_t segsz, uint8_t flags) {
  const size_t want = (payload_len + segsz - 1) / segsz;
  ASSERT_EQ(frames.size(), want);
  constexpr uint32_t kHdr = 14 + 20 + 20 + kTsoOptLen;
  for (size_t i = 0; i < frames.size(); i++) {
    SCOPED_TRACE("frame " + std::to_string(i));
    const uint32_t off = static_cast<uint32_t>(i) * segsz;
    const uint32_t take = std::min<uint32_t>(segsz, payload_len - off);
    std::vector<uint8_t> b(frames[i]->pkt_len);
    const void* r = rte_pktmbuf_read(frames[i], 0, frames[i]->pkt_len, b.data());
    if (r != b.data()) {
      std::memcpy(b.data(), r, b.size());
    }
    ASSERT_EQ(b.size(), kHdr + take);
    const uint8_t* ip = b.data() + 14;
    EXPECT_EQ((ip[2] << 8) | ip[3], static_cast<int>(20 + 20 + kTsoOptLen + take));
    EXPECT_EQ((ip[4] << 8) | ip[5], static_cast<uint16_t>(kTsoIpId + i));
    EXPECT_EQ((ip[6] << 8) | ip[7], 0x4000) << "DF kept";
    EXPECT_EQ(rte_raw_cksum(ip, 20), 0xffff) << "IPv4 header checksum";
    const uint8_t* tcp = ip + 20;
    const uint32_t seq = (uint32_t{tcp[4]} << 24) | (uint32_t{tcp[5]} << 16) |
                         (uint32_t{tcp[6]} << 8) | tcp[7];
    EXPECT_EQ(seq, kTsoSeq + off);
    uint8_t want_flags = flags;
    if (i + 1 != frames.size()) {
      want_flags &= static_cast<uint8_t>(~0x09);  // FIN, PSH: last frame only
    }
    if (i != 0) {
      want_flags &= static_cast<uint8_t>(~0x80);  // CWR: first frame only
    }
    EXPECT_EQ(tcp[13], want_flags);
    EXPECT_EQ(tcp[12], ((20 + kTsoOptLen) / 4) << 4);
    EXPECT_EQ(tcp[21], 1);
    EXPECT_EQ(tcp[22], 8) << "options copied";
    // Independent TCP checksum: pseudo header built by hand, then RFC 1071 over it all.
    const uint32_t tcp_len = 20 + kTsoOptLen + take;
    std::vector<uint8_t> ph(12 + tcp_len);
    std::memcpy(ph.data(), ip + 12, 8);
    ph[8] = 0;
    ph[9] = 6;
    ph[10] = static_cast<uint8_t>(tcp_len >> 8);
    ph[11] = static_cast<uint8_t>(tcp_len);
    std::memcpy(ph.data() + 12, tcp, tcp_len);
    uint32_t sum = 0;
    for (size_t k = 0; k + 1 < ph.size(); k += 2) {
      sum += (uint32_t{ph[k]} << 8) | ph[k + 1];
    }
    if (ph.size() % 2 != 0) {
      sum += uint32_t{ph.back()} << 8;
    }
    while (sum > 0xffff) {
      sum = (sum & 0xffff) + (sum >> 16);
    }
    EXPECT_EQ(sum, 0xffffu) << "TCP checksum";
    bool payload_ok = true;
    for (uint32_t k = 0; k < take; k++) {
      payload_ok = payload_ok && b[kHdr + k] == tso_byte(off + k);
    }
    EXPECT_TRUE(payload_ok) << "payload bytes in place";
    EXPECT_EQ(frames[i]->ol_flags & RTE_MBUF_F_TX_TCP_SEG, 0u);
    EXPECT_EQ(frames[i]->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK, RTE_MBUF_F_RX_L4_CKSUM_GOOD);
    EXPECT_EQ(frames[i]->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK, RTE_MBUF_F_RX_IP_CKSUM_GOOD);
  }
}

net::PortCaps tso_caps() {
  net::PortCaps caps = WirePair::default_caps();
  caps.tx_ip_cksum = caps.tx_tcp_cksum = caps.rx_ip_cksum = caps.rx_l4_cksum = true;
  caps.tx_multi_seg = caps.tx_tso = true;
  return caps;
}

void free_all(const std::vector<rte_mbuf*>& v) {
  for (rte_mbuf* m : v) {
    rte_pktmbuf_free(m);
  }
}

TEST_F(WireTest, TsoFrameOfTenSegmentsArrivesAsTenCorrectFrames) {
  WirePair& w = wire(tso_caps());
  EXPECT_TRUE(w.a().caps().tx_tso);
  send(w.a(), tso_frame(pool_, 10 * 1448, 1448, 0x18 | 0x80));  // PSH ACK CWR
  const std::vector<rte_mbuf*> got = drain(w.b());
  expect_tso_frames(got, 10 * 1448, 1448, 0x18 | 0x80);
  free_all(got);
  EXPECT_EQ(w.stats(Direction::kAtoB).sent, 1u);
  EXPECT_EQ(w.stats(Direction::kAtoB).tso_frames, 1u);
  EXPECT_EQ(w.stats(Direction::kAtoB).tso_segments, 10u);
  EXPECT_EQ(w.stats(Direction::kAtoB).delivered, 10u);
  EXPECT_EQ(w.a().stats().tx_packets, 10u) << "the NIC counts frames on the cable";
}

TEST_F(WireTest, TsoOddLastSegmentAndFinOnlyOnTheLastFrame) {
  WirePair& w = wire(tso_caps());
  send(w.a(), tso_frame(pool_, 7 * 1000 + 333, 1000, 0x19));  // FIN PSH ACK
  std::vector<rte_mbuf*> got = drain(w.b());
  expect_tso_frames(got, 7 * 1000 + 333, 1000, 0x19);
  free_all(got);
  // A payload that fits in one segment still leaves as one finished frame.
  send(w.a(), tso_frame(pool_, 500, 1448, 0x11));
  got = drain(w.b());
  expect_tso_frames(got, 500, 1448, 0x11);
  free_all(got);
}

TEST_F(WireTest, TsoFramesMeetTheImpairmentsOneByOne) {
  WirePair& w = wire(tso_caps());
  Impairments imp;
  imp.loss = 0.5;
  imp.seed = 3;
  w.set_impairments(Direction::kAtoB, imp);
  send(w.a(), tso_frame(pool_, 40 * 1000, 1000, 0x10));
  const std::vector<rte_mbuf*> got = drain(w.b());
  const WireStats& st = w.stats(Direction::kAtoB);
  EXPECT_EQ(st.tso_segments, 40u);
  EXPECT_EQ(st.lost + st.delivered, 40u);
  EXPECT_GT(st.lost, 0u);
  EXPECT_GT(st.delivered, 0u);
  free_all(got);
}

TEST_F(WireTest, TsoFrameBreakingTheContractIsDropped) {
  WirePair& w = wire(tso_caps());
  rte_mbuf* m = tso_frame(pool_, 3000, 1000, 0x10);
  m->tso_segsz = 0;
  send(w.a(), m);
  EXPECT_TRUE(drain(w.b()).empty());
  EXPECT_EQ(w.stats(Direction::kAtoB).tso_bad, 1u);
}

TEST_F(WireTest, WithoutTsoCapsATsoFlaggedFrameIsNotSegmented) {
  net::PortCaps caps = tso_caps();
  caps.tx_tso = false;
  WirePair& w = wire(caps);
  send(w.a(), tso_frame(pool_, 3000, 1000, 0x10));
  const std::vector<rte_mbuf*> got = drain(w.b());
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0]->pkt_len, 14u + 20 + 32 + 3000);
  free_all(got);
}

}  // namespace
}  // namespace linetls::wire
