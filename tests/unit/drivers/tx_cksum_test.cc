// fix_odd_segment_l4_cksum: the software fallback for net_tap's offloaded L4 checksum over
// chains with odd-length segments. Builds Ethernet/IPv4/TCP frames split at odd and even
// offsets with the offload convention (pseudo-header sum preset in the field) and checks
// the result against an independent computation over the flattened frame.
#include <rte_mbuf.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "drivers/dpdk/port.h"
#include "lib/net/checksum.h"

namespace linetls::dpdk {
namespace {

net::Ipv4Addr addr_at(const uint8_t* p) {
  return net::Ipv4Addr{uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | p[3]};
}

rte_mempool* pool() {
  static rte_mempool* p = rte_pktmbuf_pool_create("cksum_test", 255, 0, 0,
                                                  RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  return p;
}

constexpr uint32_t kL2 = 14, kL3 = 20, kL4Hdr = 20;

// A frame of payload_len bytes cut into segments of the given lengths (the first includes
// the headers); the TCP checksum field holds the pseudo-header sum, offload flags set.
rte_mbuf* make_frame(const std::vector<uint16_t>& seg_lens, std::vector<uint8_t>* flat) {
  uint32_t total = 0;
  for (uint16_t l : seg_lens) {
    total += l;
  }
  flat->assign(total, 0);
  for (uint32_t i = kL2 + kL3 + kL4Hdr; i < total; i++) {
    (*flat)[i] = static_cast<uint8_t>(i * 37 + 11);
  }
  uint8_t* ip = flat->data() + kL2;
  ip[0] = 0x45;
  ip[9] = 6;
  const uint8_t src[4] = {10, 99, 0, 2}, dst[4] = {10, 99, 0, 1};
  std::memcpy(ip + 12, src, 4);
  std::memcpy(ip + 16, dst, 4);
  uint8_t* tcp = ip + kL3;
  tcp[12] = 5 << 4;
  const uint16_t l4_len = static_cast<uint16_t>(total - kL2 - kL3);
  const uint16_t pseudo = net::ipv4_pseudo_cksum(addr_at(src),
                                                 addr_at(dst), 6, l4_len);
  tcp[16] = static_cast<uint8_t>(pseudo >> 8);
  tcp[17] = static_cast<uint8_t>(pseudo);
  rte_mbuf* head = nullptr;
  rte_mbuf* last = nullptr;
  uint32_t at = 0;
  for (uint16_t l : seg_lens) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool());
    EXPECT_NE(m, nullptr);
    std::memcpy(rte_pktmbuf_append(m, l), flat->data() + at, l);
    at += l;
    if (head == nullptr) {
      head = m;
    } else {
      last->next = m;
      head->nb_segs++;
      head->pkt_len += l;
    }
    last = m;
  }
  head->l2_len = kL2;
  head->l3_len = kL3;
  head->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM;
  return head;
}

// The checksum field value computed over the flat frame from scratch.
uint16_t expected_field(std::vector<uint8_t> flat) {
  const uint8_t* ip = flat.data() + kL2;
  const uint16_t l4_len = static_cast<uint16_t>(flat.size() - kL2 - kL3);
  flat[kL2 + kL3 + 16] = 0;
  flat[kL2 + kL3 + 17] = 0;
  uint16_t pseudo = net::ipv4_pseudo_cksum(addr_at(ip + 12),
                                           addr_at(ip + 16), 6, l4_len);
  return static_cast<uint16_t>(
      ~net::cksum_add(pseudo, net::cksum_bytes(flat.data() + kL2 + kL3, l4_len)));
}

uint16_t field_of(const rte_mbuf* m) {
  const uint8_t* p = rte_pktmbuf_mtod_offset(m, const uint8_t*, kL2 + kL3 + 16);
  return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

TEST(TxCksumQuirk, OddSegmentsGetTheChecksumInSoftware) {
  for (const auto& lens : std::vector<std::vector<uint16_t>>{
           {54 + 127, 579},          // a TLS flight: odd first record
           {54, 1, 2, 3, 500},       // several odd pieces
           {55, 1000, 3},            // odd header segment
           {54 + 11, 13, 17, 1}}) {  // odd, odd, odd, last odd
    std::vector<uint8_t> flat;
    rte_mbuf* m = make_frame(lens, &flat);
    ASSERT_TRUE(fix_odd_segment_l4_cksum(m));
    EXPECT_EQ(field_of(m), expected_field(flat));
    EXPECT_EQ(m->ol_flags & RTE_MBUF_F_TX_L4_MASK, 0u) << "L4 offload left on";
    EXPECT_NE(m->ol_flags & RTE_MBUF_F_TX_IP_CKSUM, 0u) << "IP offload must stay";
    rte_pktmbuf_free(m);
  }
}

TEST(TxCksumQuirk, EvenSegmentsAndSingleSegmentsKeepTheOffload) {
  for (const auto& lens : std::vector<std::vector<uint16_t>>{
           {54 + 100}, {54, 1000}, {54 + 2, 998, 7}}) {  // a last segment may be odd
    std::vector<uint8_t> flat;
    rte_mbuf* m = make_frame(lens, &flat);
    const uint16_t before = field_of(m);
    EXPECT_FALSE(fix_odd_segment_l4_cksum(m));
    EXPECT_EQ(field_of(m), before);
    EXPECT_EQ(m->ol_flags & RTE_MBUF_F_TX_L4_MASK, RTE_MBUF_F_TX_TCP_CKSUM);
    rte_pktmbuf_free(m);
  }
}

}  // namespace
}  // namespace linetls::dpdk
