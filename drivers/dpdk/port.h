// DpdkPort: net::Port over any DPDK ethdev (net_tap, net_memif, net_af_packet, PCI NICs).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lib/base/result.h"
#include "lib/net/port.h"

namespace linetls::dpdk {

struct PortConfig {
  // The ethdev name as DPDK knows it after EAL init: a PCI address ("0000:3b:00.0") or the
  // vdev name ("net_tap0", "net_memif0").
  std::string device;
  uint16_t num_queues = 1;
  uint16_t rx_desc = 1024;
  uint16_t tx_desc = 1024;
  uint32_t mbufs_per_queue = 8192;  // pool size per queue (rounded to 2^n - 1)
  uint16_t mtu = 1500;
  bool want_rss = true;           // symmetric Toeplitz RSS over IPv4/TCP when offered
  bool want_cksum_offload = true;  // IPv4/TCP/UDP checksum offload when offered
  bool want_tso = false;
  bool promiscuous = false;
};

class DpdkPort final : public net::Port {
 public:
  // Configures and starts the device. One pool per queue on the device's NUMA socket.
  static Result<std::unique_ptr<DpdkPort>, std::string> open(const PortConfig& cfg);
  ~DpdkPort() override;  // stops and closes the device

  std::string_view name() const noexcept override;
  net::MacAddr mac() const noexcept override;
  const net::PortCaps& caps() const noexcept override;
  uint16_t rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t max) noexcept override;
  uint16_t tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) noexcept override;
  rte_mempool* pktmbuf_pool(uint16_t queue) noexcept override;
  net::PortStats stats() const noexcept override;

  uint16_t port_id() const noexcept { return port_id_; }
  // True when the link reports up; waits up to timeout_ms.
  bool wait_link_up(unsigned timeout_ms) const noexcept;

 private:
  DpdkPort() = default;
  uint16_t port_id_ = 0;
  std::string name_;
  net::MacAddr mac_;
  net::PortCaps caps_;
  std::vector<rte_mempool*> pools_;
  bool configured_ = false;  // rte_eth_dev_configure succeeded: close on destruction
  bool started_ = false;     // rte_eth_dev_start succeeded: stop on destruction
  bool tx_prepare_ = false;  // TX offloads on: run rte_eth_tx_prepare before tx_burst
  // net_tap (DPDK 22.11) sums an offloaded L4 checksum segment by segment without carrying
  // the byte phase across an odd-length segment: such frames get their checksum in
  // software before tx_burst (counted in tx_cksum_fixups).
  bool tap_odd_segment_quirk_ = false;
  std::vector<uint64_t> tx_cksum_fixups_;  // per queue: each is touched by its worker only
};

// Computes in software the offloaded TCP/UDP checksum of m when the chain has a non-final
// segment of odd length (the net_tap defect above) and clears the L4 offload flag; returns
// true if it did. Exposed for tests.
bool fix_odd_segment_l4_cksum(rte_mbuf* m) noexcept;

// The symmetric Toeplitz key (0x6d5a repeated): a flow and its reverse hash alike.
extern const uint8_t kSymmetricRssKey[40];

}  // namespace linetls::dpdk
