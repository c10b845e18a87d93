// net::Port: what the stack and the engine need from a network device.
//
// Implemented by drivers/dpdk (any ethdev PMD: net_tap, net_memif, net_af_packet, PCI NICs)
// and drivers/wire (an in-process pair for tests). Ownership follows DPDK: rx_burst hands
// mbufs to the caller; tx_burst returns k and takes the first k, the rest stay the
// caller's. Each queue is used by exactly one worker thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "lib/net/addr.h"

struct rte_mbuf;
struct rte_mempool;

namespace linetls::net {

struct PortCaps {
  std::string driver;       // e.g. "net_tap", "wire"
  uint16_t num_queues = 1;  // RX/TX queue pairs configured
  bool rss = false;         // flows are spread over queues by a symmetric Toeplitz hash
  bool rx_ip_cksum = false;   // RX sets RTE_MBUF_F_RX_IP_CKSUM_{GOOD,BAD}
  bool rx_l4_cksum = false;   // RX sets RTE_MBUF_F_RX_L4_CKSUM_{GOOD,BAD}
  bool tx_ip_cksum = false;   // TX computes the IPv4 header checksum (RTE_MBUF_F_TX_IP_CKSUM)
  bool tx_tcp_cksum = false;  // TX computes the TCP checksum (RTE_MBUF_F_TX_TCP_CKSUM)
  bool tx_udp_cksum = false;
  bool tx_tso = false;        // TX segments TCP (RTE_MBUF_F_TX_TCP_SEG)
  bool tx_multi_seg = false;  // TX accepts chained mbufs
  uint16_t mtu = 1500;
  uint32_t link_speed_mbps = 0;  // 0 when unknown
};

struct PortStats {
  uint64_t rx_packets = 0, rx_bytes = 0, rx_dropped = 0;
  uint64_t tx_packets = 0, tx_bytes = 0, tx_dropped = 0;
  uint64_t tx_sw_cksum = 0;  // offloaded checksums the driver computed in software (quirks)
};

class Port {
 public:
  virtual ~Port() = default;

  virtual std::string_view name() const noexcept = 0;
  virtual MacAddr mac() const noexcept = 0;
  virtual const PortCaps& caps() const noexcept = 0;

  // Receives up to max frames from queue into pkts; the caller owns what is returned.
  virtual uint16_t rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t max) noexcept = 0;
  // Offers n frames; returns k: the first k now belong to the port, pkts[k..n) remain the
  // caller's (to retry or free).
  virtual uint16_t tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) noexcept = 0;
  // The pool that frames built for this queue are allocated from.
  virtual rte_mempool* pktmbuf_pool(uint16_t queue) noexcept = 0;

  virtual PortStats stats() const noexcept = 0;
};

}  // namespace linetls::net
