#include "lib/net/icmp.h"

#include <gtest/gtest.h>

#include "tests/unit/net/net_test_util.h"

namespace linetls::net {
namespace {

using namespace linetls::net::testing;  // NOLINT

struct Echo {
  Bytes payload;
  uint16_t ident = 0x4242;
  uint16_t seq = 7;
  Ipv4Spec ip;
};

class IcmpTest : public StackTest {
 protected:
  static Bytes request(const Echo& e) {
    return ipv4_frame(e.ip, icmp_echo(e.payload, e.ident, e.seq));
  }

  // The reply RFC 792 / RFC 1122 3.2.2.6 call for, built independently: addresses swapped,
  // type 0, same identifier, sequence and data; a fresh option-less IPv4 header with our
  // TTL. The IPv4 Identification is the stack's choice, so it is taken from the reply.
  Bytes expected_reply(const Echo& e, uint16_t ip_id) const {
    Ipv4Spec s;
    s.eth_dst = e.ip.eth_src;
    s.eth_src = kOurMac;
    s.tos = e.ip.tos;
    s.id = ip_id;
    s.frag = 0;
    s.ttl = cfg_.ttl;
    s.proto = 1;
    s.src = kOurIp;
    s.dst = e.ip.src;
    s.pad_to = 0;
    return ipv4_frame(s, icmp_echo(e.payload, e.ident, e.seq, 0));
  }

  // Sends e, expects exactly one reply, checks it byte for byte, and returns its mbuf.
  rte_mbuf* ping(const Echo& e, std::vector<size_t> splits = {}) {
    input(request(e), 0, std::move(splits));
    std::vector<rte_mbuf*> ms;
    auto out = drain(&ms);
    EXPECT_EQ(out.size(), 1u);
    if (out.size() != 1) {
      for (auto* m : ms) {
        rte_pktmbuf_free(m);
      }
      return nullptr;
    }
    const Bytes& r = out[0];
    EXPECT_GE(r.size(), 34u);
    EXPECT_EQ(hex(r), hex(expected_reply(e, get16(r, 18))));
    // Both checksums verify over what was sent.
    EXPECT_EQ(ref_cksum(r.data() + 14, 20), 0);
    EXPECT_EQ(ref_cksum(r.data() + 34, r.size() - 34), 0);
    return ms[0];
  }
};

TEST_F(IcmpTest, EchoRequestGetsAnExactReply) {
  cfg_.ttl = 99;
  make_stack();
  Echo e;
  e.payload = pattern(56);
  rte_pktmbuf_free(ping(e));
  EXPECT_EQ(count(NetCounter::kIcmpRx), 1u);
  EXPECT_EQ(count(NetCounter::kIcmpEchoReplied), 1u);
  EXPECT_EQ(count(NetCounter::kTxFrames), 1u);
}

TEST_F(IcmpTest, OddAndEmptyPayloads) {
  make_stack();
  for (size_t n : {0u, 1u, 17u, 57u, 1471u}) {
    Echo e;
    e.payload = pattern(n, static_cast<uint8_t>(n));
    e.seq = static_cast<uint16_t>(n);
    rte_pktmbuf_free(ping(e));
  }
  EXPECT_EQ(count(NetCounter::kIcmpEchoReplied), 5u);
}

TEST_F(IcmpTest, AllZeroReplyGetsChecksumFfff) {
  // Identifier 0, sequence 0, no data: the reply's message is all zeros, the one case where
  // an RFC 1624 incremental update yields 0x0000 instead of 0xffff.
  make_stack();
  Echo e;
  e.ident = 0;
  e.seq = 0;
  rte_mbuf* m = ping(e);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(get16(mbuf_bytes(m), 36), 0xffff);
  rte_pktmbuf_free(m);
}

TEST_F(IcmpTest, EthernetPaddingIsNotEchoed) {
  make_stack();
  Echo e;
  e.payload = pattern(3);
  e.ip.pad_to = 60;  // 14 + 20 + 8 + 3 = 45 bytes of frame, padded to 60
  rte_mbuf* m = ping(e);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->pkt_len, 45u);
  rte_pktmbuf_free(m);
}

TEST_F(IcmpTest, ChainedRequestsWithOddSplits) {
  caps_.tx_multi_seg = true;
  make_stack();
  Echo e;
  e.payload = pattern(1001, 3);
  // Splits in the payload at odd offsets, and one inside the ICMP header.
  rte_mbuf* m = ping(e, {14 + 20 + 8 + 3, 14 + 20 + 8 + 500, 14 + 20 + 8 + 777});
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->nb_segs, 4);
  rte_pktmbuf_free(m);
  m = ping(e, {14 + 20 + 3, 14 + 20 + 5});
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->nb_segs, 3);
  rte_pktmbuf_free(m);
}

TEST_F(IcmpTest, ChainedReplyIsLinearizedForAPortWithoutMultiSegmentTx) {
  caps_.tx_multi_seg = false;
  make_stack();
  Echo e;
  e.payload = pattern(999, 5);
  rte_mbuf* m = ping(e, {14 + 20 + 8 + 1, 14 + 20 + 8 + 600});
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->nb_segs, 1);
  rte_pktmbuf_free(m);
}

TEST_F(IcmpTest, IpOptionsAreNotEchoed) {
  make_stack();
  Echo e;
  e.payload = pattern(21);
  e.ip.options = {0x01, 0x01, 0x01, 0x00, 0x01, 0x01, 0x01, 0x00};  // NOPs and EOL
  e.ip.tos = 0x10;
  rte_pktmbuf_free(ping(e));
}

TEST_F(IcmpTest, TxChecksumOffloadLeavesTheFieldToTheNic) {
  caps_.tx_ip_cksum = true;
  make_stack();
  Echo e;
  e.payload = pattern(8);
  input(request(e));
  std::vector<rte_mbuf*> ms;
  auto out = drain(&ms);
  ASSERT_EQ(out.size(), 1u);
  rte_mbuf* m = ms[0];
  EXPECT_EQ(get16(out[0], 24), 0);  // IPv4 checksum field
  EXPECT_EQ(m->ol_flags & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM),
            RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM);
  EXPECT_EQ(m->l2_len, 14u);
  EXPECT_EQ(m->l3_len, 20u);
  EXPECT_EQ(ref_cksum(out[0].data() + 34, out[0].size() - 34), 0);  // ICMP is ours to do
  rte_pktmbuf_free(m);
}

TEST_F(IcmpTest, RxChecksumFlagsAreTrustedWhenThePortHasTheOffload) {
  caps_.rx_ip_cksum = true;
  make_stack();
  Echo e;
  e.payload = pattern(8);
  e.ip.corrupt_cksum = true;
  auto feed = [&](const Ipv4Spec& ip, uint64_t flags) {
    Echo x = e;
    x.ip = ip;
    rte_mbuf* m = make_mbuf(pool_, request(x));
    ASSERT_NE(m, nullptr);
    m->ol_flags = flags;
    stack().input(m, 0);
  };
  feed(e.ip, RTE_MBUF_F_RX_IP_CKSUM_GOOD);  // the NIC vouches for the header
  EXPECT_EQ(drain().size(), 1u);
  feed(e.ip, RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN);  // no verdict: software finds it bad
  EXPECT_TRUE(drain().empty());
  Ipv4Spec good = e.ip;
  good.corrupt_cksum = false;
  feed(good, RTE_MBUF_F_RX_IP_CKSUM_BAD);  // the NIC's verdict wins
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(count(NetCounter::kDropIpChecksum), 2u);
  EXPECT_EQ(count(NetCounter::kIcmpEchoReplied), 1u);
}

TEST_F(IcmpTest, OtherTypesAreCountedAndIgnored) {
  make_stack();
  input(ipv4_frame(Ipv4Spec{}, icmp_echo(pattern(8), 1, 1, kIcmpEchoReply)));
  input(ipv4_frame(Ipv4Spec{}, icmp_echo(pattern(30), 1, 1, 3, 3)));  // port unreachable
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(count(NetCounter::kIcmpRx), 2u);
  EXPECT_EQ(count(NetCounter::kIcmpOtherType), 2u);
  EXPECT_EQ(count(NetCounter::kIcmpEchoReplied), 0u);
}

TEST_F(IcmpTest, ASharedRequestIsCopiedNotEditedInPlace) {
  make_stack();
  Echo e;
  e.payload = pattern(64);
  const Bytes req = request(e);
  rte_mbuf* m = make_mbuf(pool_, req);
  ASSERT_NE(m, nullptr);
  rte_pktmbuf_refcnt_update(m, 1);  // someone else (a capture, a duplicating wire) holds it too
  stack().input(m, 0);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(hex(out[0]), hex(expected_reply(e, get16(out[0], 18))));
  EXPECT_EQ(hex(mbuf_bytes(m)), hex(req));
  rte_pktmbuf_free(m);
}

TEST_F(IcmpTest, AClonedRequestIsCopiedNotEditedInPlace) {
  make_stack();
  Echo e;
  e.payload = pattern(64);
  const Bytes req = request(e);
  rte_mbuf* m = make_mbuf(pool_, req);
  ASSERT_NE(m, nullptr);
  // An indirect mbuf: its own header, the original's bytes.
  rte_mbuf* clone = rte_pktmbuf_clone(m, pool_);
  ASSERT_NE(clone, nullptr);
  stack().input(clone, 0);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(hex(out[0]), hex(expected_reply(e, get16(out[0], 18))));
  EXPECT_EQ(hex(mbuf_bytes(m)), hex(req));
  rte_pktmbuf_free(m);
}

}  // namespace
}  // namespace linetls::net
