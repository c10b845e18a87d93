// The Stack's frame entry point, transmit queue and shared plumbing. ARP lives in arp.cc,
// IPv4 in ipv4.cc, ICMP in icmp.cc.
#include "lib/net/stack.h"

#include <rte_mbuf.h>

#include <cstring>

#include "lib/net/arp.h"
#include "lib/net/ether.h"
#include "lib/net/mbuf_util.h"

namespace linetls::net {

TxQueue::TxQueue(uint32_t capacity)
    : slots_(new rte_mbuf*[capacity == 0 ? 1 : capacity]), capacity_(capacity) {}

TxQueue::~TxQueue() {
  for (uint32_t i = 0; i < count_; i++) {
    rte_pktmbuf_free(slots_[i]);
  }
  delete[] slots_;
}

bool TxQueue::push(rte_mbuf* m) noexcept {
  if (count_ == capacity_) {
    return false;
  }
  slots_[count_++] = m;
  return true;
}

rte_mbuf** TxQueue::data() noexcept { return slots_; }

void TxQueue::consume(uint32_t n) noexcept {
  if (n >= count_) {
    count_ = 0;
    return;
  }
  // The queue is small and a burst usually drains it, so shifting beats a ring here: the
  // caller gets one contiguous array for tx_burst.
  std::memmove(slots_, slots_ + n, (count_ - n) * sizeof(rte_mbuf*));
  count_ -= n;
}

Stack::Stack(const StackConfig& cfg, MacAddr mac, rte_mempool* pool, const PortCaps& caps)
    : cfg_(cfg),
      mac_(mac),
      pool_(pool),
      caps_(caps),
      tx_(cfg.tx_queue_len),
      arp_(new ArpTable(cfg.arp_max_entries, cfg.arp_max_pending)),
      arp_retry_ns_(uint64_t{cfg.arp_retry_ms} * 1000000),
      arp_reachable_ns_(uint64_t{cfg.arp_reachable_ms} * 1000000) {}

Stack::~Stack() { delete arp_; }

void Stack::set_l4_handler(uint8_t proto, L4Handler* handler) noexcept { l4_[proto] = handler; }

void Stack::drop(rte_mbuf* m, NetCounter reason) noexcept {
  counters_.inc(reason);
  rte_pktmbuf_free(m);
}

rte_mbuf* Stack::own_frame(rte_mbuf* m) noexcept {
  if (mbuf_writable(m)) {
    return m;
  }
  rte_mbuf* copy = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
  rte_pktmbuf_free(m);
  if (copy == nullptr) {
    counters_.inc(NetCounter::kTxNoMbuf);
  }
  return copy;
}

void Stack::send_frame(rte_mbuf* m) noexcept {
  if (m->nb_segs > 1 && !caps_.tx_multi_seg && rte_pktmbuf_linearize(m) != 0) {
    drop(m, NetCounter::kTxLinearizeFailed);
    return;
  }
  if (!tx_.push(m)) {
    drop(m, NetCounter::kTxQueueFull);
    return;
  }
  counters_.inc(NetCounter::kTxFrames);
}

void Stack::input(rte_mbuf* m, uint64_t now_ns) noexcept {
  counters_.inc(NetCounter::kRxFrames);
  counters_.inc(NetCounter::kRxBytes, m->pkt_len);
  uint8_t buf[kEtherHdrLen];
  const auto* p = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, kEtherHdrLen, buf));
  if (p == nullptr) {
    drop(m, NetCounter::kDropRunt);
    return;
  }
  const EtherHeader eh = load_ether(p);
  if (eh.dst != mac_ && !eh.dst.is_broadcast()) {
    drop(m, NetCounter::kDropNotOurMac);
    return;
  }
  // IEEE 802.3: a source address is always an individual address. Answering a group
  // source would send our reply to every host on the segment.
  if (eh.src.is_multicast()) {
    drop(m, NetCounter::kDropBadSrcMac);
    return;
  }
  switch (eh.ethertype) {
    case kEtherTypeIpv4:
      ipv4_input(m, now_ns);
      return;
    case kEtherTypeArp:
      arp_input(m, now_ns, /*reply=*/true);
      return;
    default:
      drop(m, NetCounter::kDropEthertype);
      return;
  }
}

}  // namespace linetls::net
