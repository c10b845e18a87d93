// The symmetric Toeplitz RSS of the ports (drivers/dpdk programs the same key): which
// queue a NIC steers an IPv4/TCP flow to. Used where software has to agree with it: TCP's
// source ports for the connections a worker opens (the return flow must reach it), and a
// worker that steers its own transmissions to the queue its peer's RSS would pick (the load
// generator on memif, which has no RSS of its own).
#pragma once

#include <rte_mbuf.h>
#include <rte_thash.h>

#include <cstdint>

namespace linetls::net {

// 0x6d,0x5a repeated (40 bytes): with it the hash of a flow is the same both ways.
inline constexpr uint8_t kSymmetricRssKey[40] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a};
// A NIC's redirection table, filled round robin: queue = (hash % 128) % queues.
inline constexpr uint32_t kRssRetaSize = 128;

// The queue of the flow src:sport -> dst:dport (either direction gives the same) among nq.
inline uint16_t rss_queue(uint32_t src_ip, uint32_t dst_ip, uint16_t sport, uint16_t dport,
                          uint16_t nq) noexcept {
  if (nq <= 1) {
    return 0;
  }
  uint32_t tuple[3] = {src_ip, dst_ip, (uint32_t{sport} << 16) | dport};
  const uint32_t h = rte_softrss(tuple, 3, kSymmetricRssKey);
  return static_cast<uint16_t>((h % kRssRetaSize) % nq);
}

// The queue of an Ethernet frame: IPv4/TCP (ports in the first segment) by its flow,
// anything else (ARP, fragments, ICMP) on queue 0.
inline uint16_t rss_queue_of_frame(const rte_mbuf* m, uint16_t nq) noexcept {
  if (nq <= 1 || m->data_len < 14 + 20 + 4) {
    return 0;
  }
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  if (p[12] != 0x08 || p[13] != 0x00 || p[14 + 9] != 6) {
    return 0;
  }
  const size_t ihl = size_t{p[14] & 0x0fu} * 4;
  if (ihl < 20 || m->data_len < 14 + ihl + 4 || (p[14 + 6] & 0x3f) != 0 || p[14 + 7] != 0) {
    return 0;  // options past the segment, or a fragment
  }
  const auto be32 = [](const uint8_t* b) {
    return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
  };
  const uint8_t* l4 = p + 14 + ihl;
  return rss_queue(be32(p + 26), be32(p + 30), static_cast<uint16_t>(l4[0] << 8 | l4[1]),
                   static_cast<uint16_t>(l4[2] << 8 | l4[3]), nq);
}

}  // namespace linetls::net
