// ARP: the neighbour table and the Stack's ARP input (RFC 826, with RFC 1122 2.3.2).
#include "lib/net/arp.h"

#include <rte_mbuf.h>

#include <algorithm>
#include <new>

#include "lib/base/bytes.h"
#include "lib/net/ether.h"
#include "lib/net/ipv4.h"
#include "lib/net/mbuf_util.h"
#include "lib/net/stack.h"

namespace linetls::net {

bool parse_arp(const uint8_t* p, ArpPacket* out) noexcept {
  if (load_be16(p) != kArpHtypeEthernet || load_be16(p + 2) != kEtherTypeIpv4 ||
      p[4] != kEtherAddrLen || p[5] != 4) {
    return false;
  }
  uint16_t op = load_be16(p + 6);
  if (op != kArpOpRequest && op != kArpOpReply) {
    return false;
  }
  out->op = op;
  out->sha = load_mac(p + 8);
  out->spa = Ipv4Addr{load_be32(p + 14)};
  out->tha = load_mac(p + 18);
  out->tpa = Ipv4Addr{load_be32(p + 24)};
  return true;
}

void store_arp(uint8_t* p, const ArpPacket& pkt) noexcept {
  store_be16(p, kArpHtypeEthernet);
  store_be16(p + 2, kEtherTypeIpv4);
  p[4] = kEtherAddrLen;
  p[5] = 4;
  store_be16(p + 6, pkt.op);
  store_mac(p + 8, pkt.sha);
  store_be32(p + 14, pkt.spa.v);
  store_mac(p + 18, pkt.tha);
  store_be32(p + 24, pkt.tpa.v);
}

// ---------------------------------------------------------------------------------------
// ArpTable

namespace {

constexpr uint32_t kMaxEntriesLimit = 1u << 22;

}  // namespace

ArpTable::ArpTable(uint32_t max_entries, uint32_t max_pending)
    : max_entries_(std::clamp<uint32_t>(max_entries, 1, kMaxEntriesLimit)),
      max_pending_(max_pending) {
  uint32_t bits = 4;
  while ((1u << bits) < 2 * max_entries_) {
    bits++;
  }
  index_mask_ = (1u << bits) - 1;
  index_shift_ = 32 - bits;
  entries_ = new Entry[max_entries_];
  index_ = new uint32_t[index_mask_ + 1]();
  uint64_t want = uint64_t{max_entries_} * max_pending_;
  num_nodes_ = static_cast<uint32_t>(std::min<uint64_t>(want, kMaxPendingTotal));
  nodes_ = new Node[num_nodes_ == 0 ? 1 : num_nodes_];
  for (uint32_t i = 0; i < num_nodes_; i++) {
    nodes_[i].next = i + 1 < num_nodes_ ? i + 1 : kNil;
  }
  free_node_ = num_nodes_ == 0 ? kNil : 0;
}

ArpTable::~ArpTable() {
  while (num_entries_ > 0) {
    erase(&entries_[num_entries_ - 1]);
  }
  delete[] nodes_;
  delete[] index_;
  delete[] entries_;
}

uint32_t ArpTable::slot_of(Ipv4Addr ip) const noexcept {
  // Fibonacci hashing: the multiply spreads the low (host) bits into the high bits kept.
  return (ip.v * 0x9e3779b1u) >> index_shift_;
}

uint32_t ArpTable::index_slot(Ipv4Addr ip) const noexcept {
  for (uint32_t s = slot_of(ip);; s = (s + 1) & index_mask_) {
    uint32_t v = index_[s];
    if (v == 0) {
      return kNil;
    }
    if (entries_[v - 1].ip == ip) {
      return s;
    }
  }
}

ArpTable::Entry* ArpTable::find(Ipv4Addr ip) noexcept {
  uint32_t s = index_slot(ip);
  return s == kNil ? nullptr : &entries_[index_[s] - 1];
}

const ArpTable::Entry* ArpTable::find(Ipv4Addr ip) const noexcept {
  uint32_t s = index_slot(ip);
  return s == kNil ? nullptr : &entries_[index_[s] - 1];
}

ArpTable::Entry* ArpTable::insert(Ipv4Addr ip) noexcept {
  if (num_entries_ == max_entries_) {
    return nullptr;
  }
  uint32_t s = slot_of(ip);
  while (index_[s] != 0) {
    s = (s + 1) & index_mask_;  // at most half full, so this ends
  }
  Entry* e = &entries_[num_entries_];
  *e = Entry{};
  e->ip = ip;
  index_[s] = ++num_entries_;
  return e;
}

uint32_t ArpTable::erase(Entry* e) noexcept {
  uint32_t freed = 0;
  while (rte_mbuf* m = pop(e)) {
    rte_pktmbuf_free(m);
    freed++;
  }
  // Backward-shift deletion keeps every probe sequence unbroken without tombstones: move
  // each later entry of the cluster into the hole unless its home slot lies cyclically in
  // (hole, its slot].
  uint32_t hole = index_slot(e->ip);
  index_[hole] = 0;
  for (uint32_t j = (hole + 1) & index_mask_; index_[j] != 0; j = (j + 1) & index_mask_) {
    uint32_t home = slot_of(entries_[index_[j] - 1].ip);
    bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (!stays) {
      index_[hole] = index_[j];
      index_[j] = 0;
      hole = j;
    }
  }
  // Keep entries_ dense: the last entry moves into e's place.
  uint32_t i = static_cast<uint32_t>(e - entries_);
  uint32_t last = num_entries_ - 1;
  if (i != last) {
    entries_[i] = entries_[last];
    index_[index_slot(entries_[i].ip)] = i + 1;
  }
  num_entries_--;
  return freed;
}

bool ArpTable::hold(Entry* e, rte_mbuf* m) noexcept {
  if (e->num_pending >= max_pending_ || free_node_ == kNil) {
    return false;
  }
  uint32_t n = free_node_;
  free_node_ = nodes_[n].next;
  nodes_[n] = Node{m, kNil};
  if (e->pending_tail == kNil) {
    e->pending_head = n;
  } else {
    nodes_[e->pending_tail].next = n;
  }
  e->pending_tail = n;
  e->num_pending++;
  return true;
}

rte_mbuf* ArpTable::pop(Entry* e) noexcept {
  uint32_t n = e->pending_head;
  if (n == kNil) {
    return nullptr;
  }
  rte_mbuf* m = nodes_[n].m;
  e->pending_head = nodes_[n].next;
  if (e->pending_head == kNil) {
    e->pending_tail = kNil;
  }
  e->num_pending--;
  nodes_[n] = Node{nullptr, free_node_};
  free_node_ = n;
  return m;
}

std::optional<MacAddr> ArpTable::lookup(Ipv4Addr ip) const noexcept {
  const Entry* e = find(ip);
  if (e == nullptr || e->state != ArpState::kReachable) {
    return std::nullopt;
  }
  return e->mac;
}

uint32_t ArpTable::num_pending(Ipv4Addr ip) const noexcept {
  const Entry* e = find(ip);
  return e == nullptr ? 0 : e->num_pending;
}

void ArpTable::recompute_deadline() noexcept {
  uint64_t next = UINT64_MAX;
  for (uint32_t i = 0; i < num_entries_; i++) {
    next = std::min(next, entries_[i].deadline_ns);
  }
  next_deadline_ns_ = next;
}

// ---------------------------------------------------------------------------------------
// Stack: ARP input and neighbour resolution

bool Stack::arp_may_learn(Ipv4Addr ip) const noexcept {
  if (ipv4_bad_peer(ip, cfg_.ip)) {
    return false;
  }
  return cfg_.ip.contains(ip) || (cfg_.gateway && *cfg_.gateway == ip);
}

void Stack::arp_confirm(ArpEntry* e, const MacAddr& mac, uint64_t now_ns) noexcept {
  e->mac = mac;
  e->state = ArpState::kReachable;
  e->retries = 0;
  e->deadline_ns = now_ns + arp_reachable_ns_;
  arp_->note_deadline(e->deadline_ns);
  counters_.inc(NetCounter::kArpLearned);
  while (rte_mbuf* m = arp_->pop(e)) {
    // ip_output prepended the Ethernet header into the first segment.
    store_mac(rte_pktmbuf_mtod(m, uint8_t*), mac);
    send_frame(m);
  }
}

void Stack::arp_learn(rte_mbuf* m, uint64_t now_ns) noexcept {
  counters_.inc(NetCounter::kArpMirrored);
  arp_input(m, now_ns, /*reply=*/false);
}

void Stack::arp_input(rte_mbuf* m, uint64_t now_ns, bool reply) noexcept {
  if (reply) {
    counters_.inc(NetCounter::kArpRx);
  }
  uint8_t buf[kArpLen];
  const auto* p = static_cast<const uint8_t*>(rte_pktmbuf_read(m, kEtherHdrLen, kArpLen, buf));
  ArpPacket a;
  if (p == nullptr || !parse_arp(p, &a) || a.sha.is_multicast() || a.sha.is_zero()) {
    if (reply) {
      drop(m, NetCounter::kDropArpMalformed);
    } else {
      rte_pktmbuf_free(m);  // the receiving worker counted it
    }
    return;
  }
  const Ipv4Addr ours = cfg_.ip.addr;
  const bool for_us = a.tpa == ours;

  // RFC 826, "Packet Reception":
  //   If the pair <protocol type, sender protocol address> is already in my translation
  //   table, update the sender hardware address field of the entry with the new
  //   information in the packet and set Merge_flag to true.
  //   ?Am I the target protocol address?
  //   Yes:
  //     If Merge_flag is false, add the triplet <protocol type, sender protocol address,
  //     sender hardware address> to the translation table.
  //     ?Is the opcode ares_op$REQUEST? Yes: swap hardware and protocol fields, putting
  //     the local hardware and protocol addresses in the sender fields; set the opcode to
  //     ares_op$REPLY; send the packet to the (new) target hardware address.
  // A gratuitous ARP (spa == tpa, another host's address) therefore only refreshes an
  // entry we already have. Senders that are not valid on-link unicast addresses (0.0.0.0
  // in an RFC 5227 probe, our own address, broadcast) are answered but never learned.
  bool counted = false;  // learned something, or counted why not
  if (arp_may_learn(a.spa)) {
    ArpEntry* e = arp_->find(a.spa);
    if (e == nullptr && for_us) {
      e = arp_->insert(a.spa);
      if (e == nullptr) {
        counters_.inc(NetCounter::kArpTableFull);
        counted = true;
      }
    }
    if (e != nullptr) {
      arp_confirm(e, a.sha, now_ns);
      counted = true;
    }
  }

  if (reply && for_us && a.op == kArpOpRequest && a.spa != ours) {
    m = own_frame(m);
    if (m == nullptr) {
      return;
    }
    uint8_t out[kEtherHdrLen + kArpLen];
    store_ether(out, EtherHeader{a.sha, mac_, kEtherTypeArp});
    store_arp(out + kEtherHdrLen, ArpPacket{kArpOpReply, mac_, ours, a.sha, a.spa});
    mbuf_trim_to(m, sizeof(out));  // drops Ethernet padding and anything after the packet
    mbuf_write(m, 0, out, sizeof(out));
    m->ol_flags = 0;
    m->packet_type = 0;
    counters_.inc(NetCounter::kArpRequestAnswered);
    send_frame(m);
    return;
  }
  if (counted || !reply) {
    rte_pktmbuf_free(m);  // a mirrored frame was counted (and dropped, if need be) by its receiver
  } else {
    drop(m, NetCounter::kDropArpNotForUs);
  }
}

void Stack::send_arp_request(Ipv4Addr target, const MacAddr& dst) noexcept {
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  if (m == nullptr) {
    counters_.inc(NetCounter::kTxNoMbuf);
    return;
  }
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, kEtherHdrLen + kArpLen));
  if (p == nullptr) {
    rte_pktmbuf_free(m);
    counters_.inc(NetCounter::kTxNoMbuf);
    return;
  }
  store_ether(p, EtherHeader{dst, mac_, kEtherTypeArp});
  store_arp(p + kEtherHdrLen, ArpPacket{kArpOpRequest, mac_, cfg_.ip.addr, MacAddr{}, target});
  counters_.inc(NetCounter::kArpRequestSent);
  send_frame(m);
}

// RFC 1122 2.3.2.1: "a mechanism to prevent ARP flooding (repeatedly sending an ARP
// Request for the same IP address, at a high rate) MUST be included. The recommended
// maximum rate is 1 per second per destination." One request when an entry is created,
// then one per arp_retry_ms from the timer; frames sent meanwhile only wait.
// RFC 1122 2.3.2.2: "The link layer SHOULD save (rather than discard) at least one (the
// latest) packet of each set of packets destined to the same unresolved IP address" -- we
// keep the first arp_max_pending, in order.
void Stack::neighbour_output(rte_mbuf* m, Ipv4Addr next_hop, uint64_t now_ns) noexcept {
  ArpEntry* e = arp_->find(next_hop);
  if (e != nullptr && e->state == ArpState::kReachable) {
    if (now_ns < e->deadline_ns) {
      // RFC 1122 2.3.2.1 (2) "Unicast Poll": refresh an entry in use shortly before it
      // expires with a point-to-point request, so a live flow never waits for ARP.
      if (e->retries == 0 && now_ns + arp_retry_ns_ >= e->deadline_ns) {
        e->retries = 1;
        send_arp_request(next_hop, e->mac);
      }
      store_mac(rte_pktmbuf_mtod(m, uint8_t*), e->mac);
      send_frame(m);
      return;
    }
    // Expired but not yet collected by the timer: resolve again, holding this frame.
    e->state = ArpState::kIncomplete;
    e->retries = 0;
    e->deadline_ns = now_ns + arp_retry_ns_;
    arp_->note_deadline(e->deadline_ns);
    send_arp_request(next_hop, MacAddr::broadcast());
  } else if (e == nullptr) {
    e = arp_->insert(next_hop);
    if (e == nullptr) {
      drop(m, NetCounter::kArpTableFull);
      return;
    }
    e->deadline_ns = now_ns + arp_retry_ns_;
    arp_->note_deadline(e->deadline_ns);
    send_arp_request(next_hop, MacAddr::broadcast());
  }
  if (!arp_->hold(e, m)) {
    drop(m, NetCounter::kArpPendingDropped);
  }
}

void Stack::on_timer(uint64_t now_ns) noexcept {
  if (now_ns < arp_->next_deadline_ns()) {
    return;
  }
  for (uint32_t i = 0; i < arp_->size();) {
    ArpEntry& e = arp_->at(i);
    if (e.deadline_ns > now_ns) {
      i++;
      continue;
    }
    if (e.state == ArpState::kReachable) {
      arp_->erase(&e);  // the last entry moved into slot i: look at it next
      continue;
    }
    if (e.retries < cfg_.arp_max_retries) {
      e.retries++;
      e.deadline_ns = now_ns + arp_retry_ns_;
      send_arp_request(e.ip, MacAddr::broadcast());
      i++;
      continue;
    }
    counters_.inc(NetCounter::kArpResolveFailed);
    arp_->erase(&e);
  }
  arp_->recompute_deadline();
}

uint64_t Stack::next_timer_ns() const noexcept { return arp_->next_deadline_ns(); }

}  // namespace linetls::net
