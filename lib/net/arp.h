// ARP (RFC 826) for IPv4 over Ethernet: the packet format and the neighbour table.
//
// ArpTable is a bounded map Ipv4Addr -> neighbour entry. An entry is INCOMPLETE while a
// request is outstanding (frames for it wait in a bounded per-entry queue) and REACHABLE
// once a reply or a request from the neighbour told us its MAC. The table holds data and
// enforces bounds; the Stack (stack.h) decides what to send and counts what happens.
#pragma once

#include <cstdint>
#include <optional>

#include "lib/net/addr.h"

struct rte_mbuf;

namespace linetls::net {

inline constexpr size_t kArpLen = 28;  // the Ethernet/IPv4 ARP packet
inline constexpr uint16_t kArpHtypeEthernet = 1;
inline constexpr uint16_t kArpOpRequest = 1;
inline constexpr uint16_t kArpOpReply = 2;

struct ArpPacket {
  uint16_t op = 0;
  MacAddr sha;   // sender hardware address
  Ipv4Addr spa;  // sender protocol address
  MacAddr tha;   // target hardware address
  Ipv4Addr tpa;  // target protocol address
};

// Parses the 28 bytes at p. False unless hrd is Ethernet (1), pro is IPv4 (0x0800), hln is 6,
// pln is 4 and op is request or reply: this stack speaks only that pair.
bool parse_arp(const uint8_t* p, ArpPacket* out) noexcept;
// Writes pkt as 28 bytes at p (Ethernet/IPv4 fixed fields included).
void store_arp(uint8_t* p, const ArpPacket& pkt) noexcept;

enum class ArpState : uint8_t { kIncomplete, kReachable };

inline constexpr uint32_t kArpNil = UINT32_MAX;

struct ArpEntry {
  Ipv4Addr ip;
  MacAddr mac;  // valid when kReachable
  ArpState state = ArpState::kIncomplete;
  // INCOMPLETE: requests re-sent since the entry went INCOMPLETE. REACHABLE: unicast
  // refresh polls sent since the entry was last confirmed (0 or 1).
  uint32_t retries = 0;
  uint64_t deadline_ns = 0;  // INCOMPLETE: next retry (or failure); REACHABLE: expiry
  uint32_t pending_head = kArpNil;
  uint32_t pending_tail = kArpNil;
  uint32_t num_pending = 0;
};

class ArpTable {
 public:
  using Entry = ArpEntry;
  static constexpr uint32_t kNil = kArpNil;

  // At most max_entries neighbours, at most max_pending frames held per INCOMPLETE entry
  // (and at most kMaxPendingTotal over the whole table).
  ArpTable(uint32_t max_entries, uint32_t max_pending);
  ~ArpTable();  // frees every held frame
  ArpTable(const ArpTable&) = delete;
  ArpTable& operator=(const ArpTable&) = delete;

  static constexpr uint32_t kMaxPendingTotal = 65536;

  // The entry for ip, or nullptr. Pointers stay valid until the next insert or erase.
  Entry* find(Ipv4Addr ip) noexcept;
  const Entry* find(Ipv4Addr ip) const noexcept;
  // A new INCOMPLETE entry for ip (which must not be present), or nullptr when full.
  Entry* insert(Ipv4Addr ip) noexcept;
  // Removes e, freeing its held frames; returns how many were freed.
  uint32_t erase(Entry* e) noexcept;

  // Appends m to e's queue; false (m not taken) when the queue or the node pool is full.
  bool hold(Entry* e, rte_mbuf* m) noexcept;
  // Removes and returns the oldest frame held for e, or nullptr.
  rte_mbuf* pop(Entry* e) noexcept;

  uint32_t size() const noexcept { return num_entries_; }
  uint32_t capacity() const noexcept { return max_entries_; }
  // Entries in no particular order, for timers and inspection: index < size().
  Entry& at(uint32_t i) noexcept { return entries_[i]; }
  const Entry& at(uint32_t i) const noexcept { return entries_[i]; }

  // The MAC of a REACHABLE entry for ip (expiry not checked), else nullopt.
  std::optional<MacAddr> lookup(Ipv4Addr ip) const noexcept;
  // Frames held for ip (0 when absent).
  uint32_t num_pending(Ipv4Addr ip) const noexcept;

  // Earliest deadline over the entries, possibly early (never late); UINT64_MAX when empty.
  uint64_t next_deadline_ns() const noexcept { return next_deadline_ns_; }
  // Lowers the cached next deadline to cover a deadline just set on an entry.
  void note_deadline(uint64_t ns) noexcept {
    if (ns < next_deadline_ns_) {
      next_deadline_ns_ = ns;
    }
  }
  // Recomputes the exact next deadline (a scan; run from the timer, not per packet).
  void recompute_deadline() noexcept;

 private:
  struct Node {
    rte_mbuf* m = nullptr;
    uint32_t next = kNil;
  };

  uint32_t slot_of(Ipv4Addr ip) const noexcept;     // hash slot where ip's probe starts
  uint32_t index_slot(Ipv4Addr ip) const noexcept;  // slot holding ip, or kNil

  uint32_t max_entries_;
  uint32_t max_pending_;
  Entry* entries_;  // dense, [0, num_entries_)
  uint32_t num_entries_ = 0;
  uint32_t* index_;  // open addressing, linear probing: entry index + 1, 0 = empty
  uint32_t index_mask_;
  uint32_t index_shift_;
  Node* nodes_;  // pending frames, linked per entry; free list through next
  uint32_t num_nodes_;
  uint32_t free_node_ = kNil;
  uint64_t next_deadline_ns_ = UINT64_MAX;
};

}  // namespace linetls::net
