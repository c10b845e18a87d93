#include "lib/net/ipv4.h"

#include <gtest/gtest.h>

#include "tests/unit/net/net_test_util.h"

namespace linetls::net {
namespace {

using namespace linetls::net::testing;  // NOLINT

TEST(Ipv4BadPeerTest, Classifies) {
  const Ipv4Cidr ours{kOurIp, 24};
  for (uint32_t a : {0x00000000u, 0x00010203u, 0x7f000001u, 0xe0000001u, 0xefffffffu, 0xf0000001u,
                     0xffffffffu, kOurIp.v, 0x0a0000ffu}) {
    EXPECT_TRUE(ipv4_bad_peer(Ipv4Addr{a}, ours)) << Ipv4Addr{a}.str();
  }
  for (uint32_t a : {kPeerIp.v, 0x0a000000u, 0x08080808u, 0x0a0001ffu, 0xdfffffffu}) {
    EXPECT_FALSE(ipv4_bad_peer(Ipv4Addr{a}, ours)) << Ipv4Addr{a}.str();
  }
  // A /31 has no broadcast address (RFC 3021); both ends are hosts.
  EXPECT_FALSE(ipv4_bad_peer(Ipv4Addr{0x0a000003}, Ipv4Cidr{Ipv4Addr{0x0a000002}, 31}));
}

TEST(TxQueueTest, IsABoundedFifo) {
  TxQueue q(3);
  auto* a = reinterpret_cast<rte_mbuf*>(uintptr_t{0x1000});
  auto* b = reinterpret_cast<rte_mbuf*>(uintptr_t{0x2000});
  auto* c = reinterpret_cast<rte_mbuf*>(uintptr_t{0x3000});
  auto* d = reinterpret_cast<rte_mbuf*>(uintptr_t{0x4000});
  EXPECT_TRUE(q.empty());
  EXPECT_TRUE(q.push(a));
  EXPECT_TRUE(q.push(b));
  EXPECT_TRUE(q.push(c));
  EXPECT_FALSE(q.push(d));
  EXPECT_EQ(q.size(), 3u);
  q.consume(1);
  ASSERT_EQ(q.size(), 2u);
  EXPECT_EQ(q.data()[0], b);
  EXPECT_EQ(q.data()[1], c);
  EXPECT_TRUE(q.push(d));
  EXPECT_EQ(q.data()[2], d);
  q.consume(5);  // more than there is: empties
  EXPECT_TRUE(q.empty());
}

class IpOutputTest : public StackTest {
 protected:
  void learn_peer() {
    input(arp_frame(ArpSpec{}));
    drain();
  }
  rte_mbuf* payload(size_t n) {
    rte_mbuf* m = make_mbuf(pool_, pattern(n));
    EXPECT_NE(m, nullptr);
    return m;
  }
};

TEST_F(IpOutputTest, BuildsTheHeaders) {
  cfg_.ttl = 33;
  make_stack();
  learn_peer();
  stack().ip_output(payload(100), kPeerIp, 17, 0);
  stack().ip_output(payload(7), kPeerIp, 6, 0);
  std::vector<rte_mbuf*> ms;
  auto out = drain(&ms);
  ASSERT_EQ(out.size(), 2u);
  for (int i = 0; i < 2; i++) {
    const Bytes& f = out[i];
    const size_t l4 = i == 0 ? 100 : 7;
    ASSERT_EQ(f.size(), 14 + 20 + l4);
    EXPECT_EQ(Bytes(f.begin(), f.begin() + 14), eth_header(kPeerMac, kOurMac, 0x0800));
    EXPECT_EQ(f[14], 0x45);
    EXPECT_EQ(get16(f, 16), 20 + l4);
    EXPECT_EQ(get16(f, 20), 0x4000);  // DF, not a fragment
    EXPECT_EQ(f[22], 33);
    EXPECT_EQ(f[23], i == 0 ? 17 : 6);
    EXPECT_EQ(ref_cksum(f.data() + 14, 20), 0);
    EXPECT_EQ(get32(f, 26), kOurIp.v);
    EXPECT_EQ(get32(f, 30), kPeerIp.v);
    EXPECT_EQ(Bytes(f.begin() + 34, f.end()), pattern(l4));
    EXPECT_EQ(ms[i]->l2_len, 14u);
    EXPECT_EQ(ms[i]->l3_len, 20u);
    EXPECT_EQ(ms[i]->ol_flags & RTE_MBUF_F_TX_IP_CKSUM, 0u);
    rte_pktmbuf_free(ms[i]);
  }
  EXPECT_NE(get16(out[0], 18), get16(out[1], 18));  // fresh IPv4 IDs
}

TEST_F(IpOutputTest, ChecksumOffloadKeepsTheCallersFlags) {
  caps_.tx_ip_cksum = true;
  make_stack();
  learn_peer();
  rte_mbuf* m = payload(20);
  m->ol_flags = RTE_MBUF_F_TX_TCP_CKSUM;  // what TCP would set
  stack().ip_output(m, kPeerIp, 6, 0);
  std::vector<rte_mbuf*> ms;
  auto out = drain(&ms);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(ms[0]->ol_flags, RTE_MBUF_F_TX_TCP_CKSUM | RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
  EXPECT_EQ(get16(out[0], 24), 0);
  rte_pktmbuf_free(ms[0]);
}

TEST_F(IpOutputTest, DropsWhatCannotGo) {
  caps_.mtu = 1500;
  cfg_.gateway.reset();
  make_stack();
  learn_peer();
  stack().ip_output(payload(1481), kPeerIp, 17, 0);
  EXPECT_EQ(count(NetCounter::kTxTooBig), 1u);
  stack().ip_output(payload(1480), kPeerIp, 17, 0);
  EXPECT_EQ(drain().size(), 1u);

  stack().ip_output(payload(10), Ipv4Addr{0x08080808}, 17, 0);  // off-link, no gateway
  stack().ip_output(payload(10), Ipv4Addr{0xffffffff}, 17, 0);
  stack().ip_output(payload(10), Ipv4Addr{0x0a0000ff}, 17, 0);  // subnet broadcast
  stack().ip_output(payload(10), kOurIp, 17, 0);
  stack().ip_output(payload(10), Ipv4Addr{0x7f000001}, 17, 0);
  EXPECT_EQ(count(NetCounter::kDropNoRoute), 5u);

  rte_mbuf* m = payload(10);
  m->data_off = 10;  // not enough headroom for 34 bytes of headers
  stack().ip_output(m, kPeerIp, 17, 0);
  EXPECT_EQ(count(NetCounter::kTxNoHeadroom), 1u);
  EXPECT_TRUE(drain().empty());
}

TEST_F(IpOutputTest, FullTxQueueDrops) {
  cfg_.tx_queue_len = 2;
  make_stack();
  learn_peer();
  for (int i = 0; i < 3; i++) {
    stack().ip_output(payload(10), kPeerIp, 17, 0);
  }
  EXPECT_EQ(count(NetCounter::kTxQueueFull), 1u);
  EXPECT_EQ(drain().size(), 2u);
}

TEST_F(IpOutputTest, FramesLeftInTheTxQueueAreFreedWithTheStack) {
  make_stack();
  learn_peer();
  stack().ip_output(payload(10), kPeerIp, 17, 0);
  stack().ip_output(payload(10), Ipv4Addr{0x0a000033}, 17, 0);  // held for ARP
  EXPECT_EQ(in_use(), 3u);  // two queued (frame + ARP request) and one held
  // TearDown destroys the stack and checks the pool.
}

class RecordingHandler : public L4Handler {
 public:
  void l4_input(rte_mbuf* m, const Ipv4Info& info, uint64_t now_ns) noexcept override {
    infos.push_back(info);
    mbufs.push_back(m);
    bytes.push_back(mbuf_bytes(m));
    times.push_back(now_ns);
    rte_pktmbuf_free(m);
  }
  std::vector<Ipv4Info> infos;
  std::vector<const rte_mbuf*> mbufs;  // identity only: freed on arrival
  std::vector<Bytes> bytes;
  std::vector<uint64_t> times;
};

TEST_F(IpOutputTest, HandlersGetTheirProtocolWithPaddingTrimmed) {
  make_stack();
  RecordingHandler udp;
  stack().set_l4_handler(17, &udp);
  Ipv4Spec s;
  s.proto = 17;
  s.ttl = 9;
  s.options = {1, 1, 1, 0};
  const Bytes l4 = pattern(3);
  input(ipv4_frame(s, l4), 42);  // 14 + 24 + 3 = 41 bytes, padded to 60
  ASSERT_EQ(udp.infos.size(), 1u);
  const Ipv4Info& info = udp.infos[0];
  EXPECT_EQ(info.src, kPeerIp);
  EXPECT_EQ(info.dst, kOurIp);
  EXPECT_EQ(info.proto, 17);
  EXPECT_EQ(info.ttl, 9);
  EXPECT_EQ(info.l4_offset, 14 + 24);
  EXPECT_EQ(info.l4_len, 3);
  EXPECT_EQ(udp.bytes[0].size(), 41u);
  EXPECT_EQ(Bytes(udp.bytes[0].begin() + 38, udp.bytes[0].end()), l4);
  EXPECT_EQ(udp.times[0], 42u);

  // Padding spread over a separate trailing segment is trimmed too.
  input(ipv4_frame(s, l4), 43, {40, 45});
  ASSERT_EQ(udp.infos.size(), 2u);
  EXPECT_EQ(udp.bytes[1].size(), 41u);

  stack().set_l4_handler(17, nullptr);
  input(ipv4_frame(s, l4));
  EXPECT_EQ(udp.infos.size(), 2u);
  EXPECT_EQ(count(NetCounter::kDropIpProto), 1u);
}

TEST_F(IpOutputTest, ASharedFrameIsCopiedBeforeItIsTrimmedOrHandedOver) {
  make_stack();
  RecordingHandler udp;
  stack().set_l4_handler(17, &udp);
  Ipv4Spec s;
  s.proto = 17;
  const Bytes f = ipv4_frame(s, pattern(5));  // padded to 60
  rte_mbuf* m = make_mbuf(pool_, f);
  ASSERT_NE(m, nullptr);
  rte_pktmbuf_refcnt_update(m, 1);
  stack().input(m, 0);
  ASSERT_EQ(udp.bytes.size(), 1u);
  EXPECT_EQ(udp.bytes[0].size(), 14u + 20 + 5);
  EXPECT_EQ(m->pkt_len, 60u);  // our reference still sees the frame as it arrived
  EXPECT_EQ(hex(mbuf_bytes(m)), hex(f));
  rte_pktmbuf_free(m);
}

TEST_F(IpOutputTest, AClonedFrameIsHandedOverWithoutACopy) {
  make_stack();
  RecordingHandler udp;
  stack().set_l4_handler(17, &udp);
  Ipv4Spec s;
  s.proto = 17;
  const Bytes f = ipv4_frame(s, pattern(5));  // padded to 60
  rte_mbuf* m = make_mbuf(pool_, f);
  ASSERT_NE(m, nullptr);
  rte_mbuf* clone = rte_pktmbuf_clone(m, pool_);
  ASSERT_NE(clone, nullptr);
  stack().input(clone, 0);
  ASSERT_EQ(udp.mbufs.size(), 1u);
  // The clone's header is the stack's own: trimmed in place, not copied.
  EXPECT_EQ(udp.mbufs[0], clone);
  EXPECT_EQ(udp.bytes[0].size(), 14u + 20 + 5);
  EXPECT_EQ(m->pkt_len, 60u);
  rte_pktmbuf_free(m);
}

}  // namespace
}  // namespace linetls::net
