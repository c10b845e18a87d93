// DpdkPort: net::Port over a DPDK ethdev (see port.h).
#include "drivers/dpdk/port.h"

#include "lib/net/checksum.h"

#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "lib/base/clock.h"

namespace linetls::dpdk {

const uint8_t kSymmetricRssKey[40] = {
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
    0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a, 0x6d, 0x5a,
};

namespace {

constexpr unsigned kPoolCacheSize = 256;
constexpr uint64_t kWantRxCksum =
    RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
constexpr uint64_t kWantTxCksum =
    RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
constexpr uint64_t kWantRssHf = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP;

// "net_tap0: rte_eth_dev_configure: Invalid argument".
std::string failure(const std::string& device, const std::string& call, int err) {
  return device + ": " + call + ": " + rte_strerror(err < 0 ? -err : err);
}

// The largest 2^k - 1 not above n (a mempool of 2^k - 1 fills its ring exactly).
uint32_t pool_size(uint32_t n) {
  uint32_t p = 1;
  while (p <= (n + 1) / 2) {
    p *= 2;
  }
  return p - 1;
}

// The largest MTU rte_eth_dev_set_mtu accepts: max_mtu, further bounded by the largest
// frame the device receives less the L2 overhead (computed as ethdev computes it).
uint32_t device_max_mtu(const rte_eth_dev_info& info) {
  uint32_t overhead = RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
  if (info.max_mtu != UINT16_MAX && info.max_rx_pktlen > info.max_mtu) {
    overhead = info.max_rx_pktlen - info.max_mtu;
  }
  const uint32_t by_frame = info.max_rx_pktlen > overhead ? info.max_rx_pktlen - overhead : 0;
  return std::min<uint32_t>(info.max_mtu, by_frame);
}

}  // namespace

Result<std::unique_ptr<DpdkPort>, std::string> DpdkPort::open(const PortConfig& cfg) {
  const std::string& dev = cfg.device;
  if (cfg.num_queues == 0) {
    return fail(dev + ": num_queues must be at least 1");
  }
  uint16_t port_id = 0;
  int rc = rte_eth_dev_get_port_by_name(dev.c_str(), &port_id);
  if (rc != 0) {
    return fail(dev + ": no such ethdev (rte_eth_dev_get_port_by_name: " + rte_strerror(-rc) +
                "); is the device probed (PCI address or --vdev)?");
  }
  rte_eth_dev_info info{};
  rc = rte_eth_dev_info_get(port_id, &info);
  if (rc != 0) {
    return fail(failure(dev, "rte_eth_dev_info_get", rc));
  }
  const uint32_t max_mtu = device_max_mtu(info);
  if (cfg.mtu < info.min_mtu || cfg.mtu > max_mtu) {
    return fail(dev + ": mtu " + std::to_string(cfg.mtu) + " outside the device's range " +
                std::to_string(info.min_mtu) + ".." + std::to_string(max_mtu));
  }

  std::unique_ptr<DpdkPort> port(new DpdkPort());
  port->port_id_ = port_id;
  port->name_ = dev;
  const uint16_t nq =
      std::min<uint16_t>(cfg.num_queues, std::min(info.max_rx_queues, info.max_tx_queues));
  if (nq == 0) {
    return fail(dev + ": the device offers no RX/TX queue pair");
  }

  // Pools first: they do not depend on the device's configuration, and the destructor
  // frees whatever was made if a later step fails.
  const int dev_socket = rte_eth_dev_socket_id(port_id);
  const uint32_t nb_mbufs = pool_size(cfg.mbufs_per_queue);
  if (nb_mbufs < 2) {
    return fail(dev + ": mbufs_per_queue " + std::to_string(cfg.mbufs_per_queue) + " is too small");
  }
  // The mempool cache must not exceed 2/3 of the pool.
  const unsigned cache = std::min<unsigned>(kPoolCacheSize, nb_mbufs * 2 / 3);
  for (uint16_t q = 0; q < nq; q++) {
    const std::string pool_name = "lt_p" + std::to_string(port_id) + "_q" + std::to_string(q);
    rte_mempool* mp = rte_pktmbuf_pool_create(pool_name.c_str(), nb_mbufs, cache, 0,
                                              RTE_MBUF_DEFAULT_BUF_SIZE, dev_socket);
    if (mp == nullptr && dev_socket != SOCKET_ID_ANY) {
      mp = rte_pktmbuf_pool_create(pool_name.c_str(), nb_mbufs, cache, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                   SOCKET_ID_ANY);
    }
    if (mp == nullptr) {
      return fail(failure(
          dev, "rte_pktmbuf_pool_create " + pool_name + " (" + std::to_string(nb_mbufs) + " mbufs)",
          rte_errno));
    }
    port->pools_.push_back(mp);
  }

  rte_eth_conf conf{};
  net::PortCaps& caps = port->caps_;
  caps.driver = info.driver_name != nullptr ? info.driver_name : "unknown";
  caps.num_queues = nq;

  // Symmetric Toeplitz RSS, with the 0x6d5a pattern stretched to the device's key size.
  // net_tap advertises RSS hash types but applies them only through rte_flow RSS actions:
  // its queues are fed by the kernel's own flow hash (tun automq), which keeps a flow on
  // one queue but is not a Toeplitz hash anyone can predict, so it is not reported as RSS.
  uint8_t rss_key[256];
  const uint64_t rss_hf = kWantRssHf & info.flow_type_rss_offloads;
  const bool toeplitz_capable = caps.driver != "net_tap";
  if (nq > 1 && cfg.want_rss && rss_hf != 0 && toeplitz_capable) {
    const uint8_t key_len = info.hash_key_size != 0 ? info.hash_key_size : 40;
    for (size_t i = 0; i < key_len; i++) {
      rss_key[i] = kSymmetricRssKey[i % 2];
    }
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_key = rss_key;
    conf.rx_adv_conf.rss_conf.rss_key_len = key_len;
    conf.rx_adv_conf.rss_conf.rss_hf = rss_hf;
    caps.rss = true;
  }

  if (cfg.want_cksum_offload) {
    conf.rxmode.offloads |= kWantRxCksum & info.rx_offload_capa;
    conf.txmode.offloads |= kWantTxCksum & info.tx_offload_capa;
  }
  if (cfg.want_tso) {
    conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_TCP_TSO & info.tx_offload_capa;
  }
  conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS & info.tx_offload_capa;
  // Frames longer than one mbuf's data room arrive as chains, which needs RX scatter.
  const uint32_t max_frame = uint32_t{cfg.mtu} + RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
  if (max_frame > RTE_MBUF_DEFAULT_DATAROOM) {
    if ((info.rx_offload_capa & RTE_ETH_RX_OFFLOAD_SCATTER) == 0) {
      return fail(dev + ": mtu " + std::to_string(cfg.mtu) + " needs RX scatter (frames over " +
                  std::to_string(RTE_MBUF_DEFAULT_DATAROOM) +
                  " bytes), which the device does not offer");
    }
    conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_SCATTER;
  }
  const uint64_t rxo = conf.rxmode.offloads;
  const uint64_t txo = conf.txmode.offloads;
  caps.rx_ip_cksum = (rxo & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) != 0;
  caps.rx_l4_cksum = (rxo & RTE_ETH_RX_OFFLOAD_TCP_CKSUM) != 0;
  caps.tx_ip_cksum = (txo & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
  caps.tx_tcp_cksum = (txo & RTE_ETH_TX_OFFLOAD_TCP_CKSUM) != 0;
  caps.tx_udp_cksum = (txo & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0;
  caps.tx_tso = (txo & RTE_ETH_TX_OFFLOAD_TCP_TSO) != 0;
  caps.tx_multi_seg = (txo & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0;
  port->tx_prepare_ = (txo & (kWantTxCksum | RTE_ETH_TX_OFFLOAD_TCP_TSO)) != 0;
  port->tap_odd_segment_quirk_ =
      caps.driver == "net_tap" && (caps.tx_tcp_cksum || caps.tx_udp_cksum);
  port->tx_cksum_fixups_.assign(nq, 0);

  rc = rte_eth_dev_configure(port_id, nq, nq, &conf);
  if (rc != 0) {
    return fail(failure(dev, "rte_eth_dev_configure", rc));
  }
  port->configured_ = true;

  uint16_t rx_desc = cfg.rx_desc;
  uint16_t tx_desc = cfg.tx_desc;
  rc = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_desc, &tx_desc);
  if (rc != 0) {
    return fail(failure(dev, "rte_eth_dev_adjust_nb_rx_tx_desc", rc));
  }
  const auto queue_socket = static_cast<unsigned>(dev_socket);  // SOCKET_ID_ANY passes through
  for (uint16_t q = 0; q < nq; q++) {
    rte_eth_rxconf rxconf = info.default_rxconf;
    rxconf.offloads = rxo;
    rc = rte_eth_rx_queue_setup(port_id, q, rx_desc, queue_socket, &rxconf, port->pools_[q]);
    if (rc != 0) {
      std::string why = failure(dev, "rte_eth_rx_queue_setup " + std::to_string(q), rc);
      if (rc == -ENOMEM) {
        why += " (pool of " + std::to_string(nb_mbufs) + " mbufs for " + std::to_string(rx_desc) +
               " RX descriptors: raise mbufs_per_queue?)";
      }
      return fail(why);
    }
    rte_eth_txconf txconf = info.default_txconf;
    txconf.offloads = txo;
    rc = rte_eth_tx_queue_setup(port_id, q, tx_desc, queue_socket, &txconf);
    if (rc != 0) {
      return fail(failure(dev, "rte_eth_tx_queue_setup " + std::to_string(q), rc));
    }
  }

  rc = rte_eth_dev_set_mtu(port_id, cfg.mtu);
  if (rc != 0 && rc != -ENOTSUP) {
    return fail(failure(dev, "rte_eth_dev_set_mtu " + std::to_string(cfg.mtu), rc));
  }
  uint16_t mtu = 0;
  caps.mtu = rte_eth_dev_get_mtu(port_id, &mtu) == 0 ? mtu : cfg.mtu;

  if (cfg.promiscuous) {
    rc = rte_eth_promiscuous_enable(port_id);
    if (rc != 0) {
      return fail(failure(dev, "rte_eth_promiscuous_enable", rc));
    }
  }

  rc = rte_eth_dev_start(port_id);
  if (rc != 0) {
    return fail(failure(dev, "rte_eth_dev_start", rc));
  }
  port->started_ = true;

  rte_ether_addr addr{};
  rc = rte_eth_macaddr_get(port_id, &addr);
  if (rc != 0) {
    return fail(failure(dev, "rte_eth_macaddr_get", rc));
  }
  std::memcpy(port->mac_.b.data(), addr.addr_bytes, port->mac_.b.size());

  rte_eth_link link{};
  if (rte_eth_link_get_nowait(port_id, &link) == 0 &&
      link.link_speed != RTE_ETH_SPEED_NUM_UNKNOWN) {
    caps.link_speed_mbps = link.link_speed;
  }
  return port;
}

DpdkPort::~DpdkPort() {
  // Stop, then close (which releases the queues and the mbufs they hold), then free the
  // pools nothing refers to any more. Closing releases the ethdev itself: a vdev is gone
  // afterwards (net_tap deletes its kernel interface) until probed again.
  if (started_) {
    rte_eth_dev_stop(port_id_);
  }
  if (configured_) {
    rte_eth_dev_close(port_id_);
  }
  for (rte_mempool* mp : pools_) {
    rte_mempool_free(mp);
  }
}

std::string_view DpdkPort::name() const noexcept { return name_; }

net::MacAddr DpdkPort::mac() const noexcept { return mac_; }

const net::PortCaps& DpdkPort::caps() const noexcept { return caps_; }

uint16_t DpdkPort::rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t max) noexcept {
  return rte_eth_rx_burst(port_id_, queue, pkts, max);
}

bool fix_odd_segment_l4_cksum(rte_mbuf* m) noexcept {
  const uint64_t l4 = m->ol_flags & RTE_MBUF_F_TX_L4_MASK;
  if (m->nb_segs < 2 || (l4 != RTE_MBUF_F_TX_TCP_CKSUM && l4 != RTE_MBUF_F_TX_UDP_CKSUM) ||
      (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0) {
    return false;
  }
  bool odd = false;
  for (const rte_mbuf* s = m; s->next != nullptr; s = s->next) {
    odd = odd || (s->data_len & 1) != 0;
  }
  const auto l4_off = static_cast<uint32_t>(m->l2_len + m->l3_len);
  const uint32_t field = l4_off + (l4 == RTE_MBUF_F_TX_TCP_CKSUM ? 16 : 6);
  if (!odd || m->pkt_len <= l4_off || field + 2 > m->data_len) {
    return false;
  }
  // The field holds the pseudo-header sum (offload convention): the sum over the L4 bytes
  // with it in place is the whole checksum's sum.
  uint16_t sum = 0;
  if (!net::cksum_mbuf(m, l4_off, m->pkt_len - l4_off, &sum)) {
    return false;
  }
  uint16_t value = static_cast<uint16_t>(~sum);
  if (value == 0 && l4 == RTE_MBUF_F_TX_UDP_CKSUM) {
    value = 0xffff;  // RFC 768: a computed zero is sent as all ones
  }
  uint8_t* p = rte_pktmbuf_mtod_offset(m, uint8_t*, field);
  p[0] = static_cast<uint8_t>(value >> 8);
  p[1] = static_cast<uint8_t>(value);
  m->ol_flags &= ~RTE_MBUF_F_TX_L4_MASK;
  return true;
}

uint16_t DpdkPort::tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) noexcept {
  if (tap_odd_segment_quirk_) {
    for (uint16_t i = 0; i < n; i++) {
      tx_cksum_fixups_[queue] += fix_odd_segment_l4_cksum(pkts[i]) ? 1 : 0;
    }
  }
  if (tx_prepare_) {
    // Offloads want driver-specific fix-ups; a frame the driver rejects stops the burst
    // there and stays the caller's with everything after it.
    n = rte_eth_tx_prepare(port_id_, queue, pkts, n);
  }
  return rte_eth_tx_burst(port_id_, queue, pkts, n);
}

rte_mempool* DpdkPort::pktmbuf_pool(uint16_t queue) noexcept {
  return queue < pools_.size() ? pools_[queue] : nullptr;
}

net::PortStats DpdkPort::stats() const noexcept {
  net::PortStats s;
  rte_eth_stats st{};
  if (rte_eth_stats_get(port_id_, &st) != 0) {
    return s;
  }
  s.rx_packets = st.ipackets;
  s.rx_bytes = st.ibytes;
  s.rx_dropped = st.imissed + st.ierrors + st.rx_nombuf;
  s.tx_packets = st.opackets;
  s.tx_bytes = st.obytes;
  s.tx_dropped = st.oerrors;
  for (uint64_t n : tx_cksum_fixups_) {
    s.tx_sw_cksum = s.tx_sw_cksum + n;
  }
  return s;
}

bool DpdkPort::wait_link_up(unsigned timeout_ms) const noexcept {
  const uint64_t deadline = monotonic_ns() + uint64_t{timeout_ms} * 1000000u;
  for (;;) {
    rte_eth_link link{};
    if (rte_eth_link_get_nowait(port_id_, &link) == 0 && link.link_status == RTE_ETH_LINK_UP) {
      return true;
    }
    if (monotonic_ns() >= deadline) {
      return false;
    }
    const timespec ten_ms{0, 10 * 1000 * 1000};
    nanosleep(&ten_ms, nullptr);
  }
}

}  // namespace linetls::dpdk
