// net::Stack: one worker's L2/L3 — Ethernet, ARP, IPv4, ICMP echo — on one port queue.
//
// The worker calls input() for each received frame, on_timer() when next_timer_ns() is
// due, and drains tx() into Port::tx_burst. Upper layers (TCP) register an L4 handler per
// IP protocol and send with ip_output(). Every frame that is not handled is counted by
// reason and freed; nothing in here crashes on wire data.
//
// Time is passed in (now_ns, CLOCK_MONOTONIC-based, read once per poll iteration), so tests
// drive it explicitly. Not thread-safe: one Stack per worker.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

#include "lib/base/counters.h"
#include "lib/net/addr.h"
#include "lib/net/port.h"

struct rte_mbuf;
struct rte_mempool;

namespace linetls::net {

enum class NetCounter : uint16_t {
  kRxFrames,
  kRxBytes,
  kTxFrames,
  kDropRunt,            // shorter than an Ethernet header
  kDropNotOurMac,       // unicast to another MAC
  kDropEthertype,       // neither IPv4 nor ARP (IPv6 and VLAN included, for now)
  kArpRx,
  kArpRequestAnswered,  // we replied to a request for our address
  kArpLearned,          // a neighbour entry created or refreshed
  kArpRequestSent,
  kArpResolveFailed,    // retries exhausted; pending frames dropped
  kArpPendingDropped,   // pending queue for an unresolved neighbour full
  kArpTableFull,        // no room for a new neighbour
  kDropArpMalformed,    // truncated, wrong htype/ptype/hlen/plen/op
  kDropArpNotForUs,     // not for our address and from no known neighbour: nothing learned
  kIpRx,
  kDropIpTruncated,     // frame shorter than the IP header or total length says
  kDropIpVersion,       // version != 4
  kDropIpHeaderLen,     // IHL < 5, or total length < IHL * 4
  kDropIpChecksum,      // header checksum wrong (or flagged bad by the NIC)
  kDropIpNotForUs,      // destination is not our address
  kDropIpFragment,      // MF set or fragment offset != 0: counted and dropped
  kDropIpBadSource,     // source 0/8, loopback, multicast, 240/4, broadcast or ours
  kDropIpProto,         // no handler for the protocol
  kIcmpRx,
  kIcmpEchoReplied,
  kDropIcmpMalformed,   // truncated or bad checksum
  kIcmpOtherType,       // not an echo request: counted and ignored
  kDropNoRoute,         // ip_output to an address with no route
  kTxNoMbuf,            // mempool empty while building a frame
  kTxQueueFull,         // our tx queue full: frame dropped
  kDropIpHeaderSplit,   // Ethernet + IPv4 header not contiguous in the first segment
  kDropBadSrcMac,       // source MAC is a group (multicast/broadcast) address
  kTxNoHeadroom,        // ip_output: no headroom for the Ethernet and IPv4 headers
  kTxTooBig,            // ip_output: the IPv4 packet would exceed the MTU (no TSO)
  kTxLinearizeFailed,   // chained frame for a port without multi-segment TX
  kArpMirrored,         // ARP frames learned from another worker's queue
  kCount
};

inline constexpr std::array<std::string_view, static_cast<size_t>(NetCounter::kCount)>
    kNetCounterNames = {
        "rx_frames",           "rx_bytes",          "tx_frames",
        "drop_runt",           "drop_not_our_mac",  "drop_ethertype",
        "arp_rx",              "arp_request_answered", "arp_learned",
        "arp_request_sent",    "arp_resolve_failed", "arp_pending_dropped",
        "arp_table_full",      "drop_arp_malformed", "drop_arp_not_for_us",
        "ip_rx",               "drop_ip_truncated",  "drop_ip_version",
        "drop_ip_header_len",  "drop_ip_checksum",   "drop_ip_not_for_us",
        "drop_ip_fragment",    "drop_ip_bad_source", "drop_ip_proto",
        "icmp_rx",             "icmp_echo_replied",  "drop_icmp_malformed",
        "icmp_other_type",     "drop_no_route",      "tx_no_mbuf",
        "tx_queue_full",       "drop_ip_header_split", "drop_bad_src_mac",
        "tx_no_headroom",      "tx_too_big",         "tx_linearize_failed",
        "arp_mirrored",
};

using NetCounters = CounterSet<NetCounter, kNetCounterNames>;

struct StackConfig {
  Ipv4Cidr ip;                        // our address and on-link prefix
  std::optional<Ipv4Addr> gateway;    // next hop for off-link destinations
  uint8_t ttl = 64;
  uint32_t arp_reachable_ms = 60000;  // a learned entry lives this long without refresh
  uint32_t arp_retry_ms = 1000;       // resend an unanswered request after this
  uint32_t arp_max_retries = 3;       // then drop what waits and forget the entry
  uint32_t arp_max_entries = 1024;
  uint32_t arp_max_pending = 16;      // frames held per unresolved neighbour
  uint32_t tx_queue_len = 1024;
};

// What an L4 protocol sees of an accepted IPv4 packet.
struct Ipv4Info {
  Ipv4Addr src;
  Ipv4Addr dst;
  uint8_t proto = 0;
  uint8_t ttl = 0;
  uint16_t l4_offset = 0;  // from the start of the frame (the mbuf data)
  uint16_t l4_len = 0;     // bytes of L4 header + payload (Ethernet padding excluded)
  // The Ethernet and IPv4 headers (l4_offset bytes) are contiguous in the first segment;
  // the L4 header and payload may span segments.
};

class L4Handler {
 public:
  virtual ~L4Handler() = default;
  // Takes ownership of m (an mbuf whose data starts at the Ethernet header; trailing
  // Ethernet padding already trimmed). Every segment's mbuf header is the handler's
  // (refcount 1), so lengths and offsets may be changed; the bytes of an indirect or
  // external-buffer segment may be shared (mbuf_writable() in lib/net/mbuf_util.h tells).
  virtual void l4_input(rte_mbuf* m, const Ipv4Info& info, uint64_t now_ns) noexcept = 0;
};

// A bounded FIFO of frames ready to transmit.
class TxQueue {
 public:
  explicit TxQueue(uint32_t capacity);
  ~TxQueue();
  TxQueue(const TxQueue&) = delete;
  TxQueue& operator=(const TxQueue&) = delete;

  // False (and m not taken) when full.
  bool push(rte_mbuf* m) noexcept;
  // The frames in order, contiguous; valid until the next push/consume.
  rte_mbuf** data() noexcept;
  uint32_t size() const noexcept { return count_; }
  bool empty() const noexcept { return count_ == 0; }
  // Removes the first n frames (they were taken by tx_burst).
  void consume(uint32_t n) noexcept;

 private:
  rte_mbuf** slots_;
  uint32_t capacity_;
  uint32_t count_ = 0;
};

class ArpTable;  // arp.h
struct ArpEntry;

class Stack {
 public:
  Stack(const StackConfig& cfg, MacAddr mac, rte_mempool* pool, const PortCaps& caps);
  ~Stack();
  Stack(const Stack&) = delete;
  Stack& operator=(const Stack&) = delete;

  // Processes one received frame; always consumes m.
  void input(rte_mbuf* m, uint64_t now_ns) noexcept;

  // Learns from an ARP frame that another worker of the same port received (NIC RSS
  // delivers ARP to one queue only, but every worker keeps its own neighbour table). Never
  // replies and never counts the frame as received here. m is read only (it may be a clone
  // sharing data with the receiving worker); always consumes m.
  void arp_learn(rte_mbuf* m, uint64_t now_ns) noexcept;

  // Sends an IPv4 packet. m's data starts at the L4 header and must have headroom for the
  // Ethernet and IPv4 headers (RTE_PKTMBUF_HEADROOM is enough); this prepends both, sets
  // the checksum (offloaded when caps allow) and queues the frame, or holds it while ARP
  // resolves. Always consumes m (dropping it with a counter if it cannot go).
  void ip_output(rte_mbuf* m, Ipv4Addr dst, uint8_t proto, uint64_t now_ns) noexcept;

  // Runs ARP retries and expiry.
  void on_timer(uint64_t now_ns) noexcept;
  // When on_timer next has work (UINT64_MAX if never).
  uint64_t next_timer_ns() const noexcept;

  void set_l4_handler(uint8_t proto, L4Handler* handler) noexcept;

  TxQueue& tx() noexcept { return tx_; }
  const NetCounters& counters() const noexcept { return counters_; }
  NetCounters& counters() noexcept { return counters_; }
  const StackConfig& config() const noexcept { return cfg_; }
  MacAddr mac() const noexcept { return mac_; }
  rte_mempool* pool() noexcept { return pool_; }
  // What the port offers (checksum offloads, multi-segment TX, MTU), for L4 output.
  const PortCaps& caps() const noexcept { return caps_; }
  const ArpTable& arp() const noexcept { return *arp_; }

 private:
  // Implementation detail; see stack.cc, arp.cc, ipv4.cc, icmp.cc.
  // reply: answer requests for our address (false for frames mirrored from a peer).
  void arp_input(rte_mbuf* m, uint64_t now_ns, bool reply) noexcept;
  void ipv4_input(rte_mbuf* m, uint64_t now_ns) noexcept;
  void icmp_input(rte_mbuf* m, const Ipv4Info& info) noexcept;
  void send_frame(rte_mbuf* m) noexcept;
  void drop(rte_mbuf* m, NetCounter reason) noexcept;
  // m itself when it may be edited in place, else a private copy (m freed); nullptr (m
  // freed, kTxNoMbuf counted) when the copy cannot be allocated.
  rte_mbuf* own_frame(rte_mbuf* m) noexcept;
  // Sends an ARP request for target to dst (broadcast, or the known MAC for a refresh).
  void send_arp_request(Ipv4Addr target, const MacAddr& dst) noexcept;
  // Records sender -> mac as REACHABLE in e and sends the frames that waited for it.
  void arp_confirm(ArpEntry* e, const MacAddr& mac, uint64_t now_ns) noexcept;
  // Sends a frame whose Ethernet destination is still to be filled in to next_hop.
  void neighbour_output(rte_mbuf* m, Ipv4Addr next_hop, uint64_t now_ns) noexcept;
  // Whether ARP may create or update an entry for ip: a valid unicast source that is
  // on-link or the gateway.
  bool arp_may_learn(Ipv4Addr ip) const noexcept;
  // Sets the checksum of the 20-byte IPv4 header at ip (the first segment of m, after a
  // 14-byte Ethernet header), in software or by requesting the TX offload.
  void finish_ipv4_header(rte_mbuf* m, uint8_t* ip) noexcept;

  StackConfig cfg_;
  MacAddr mac_;
  rte_mempool* pool_;
  PortCaps caps_;
  TxQueue tx_;
  ArpTable* arp_;
  std::array<L4Handler*, 256> l4_{};
  NetCounters counters_;
  uint64_t arp_retry_ns_;
  uint64_t arp_reachable_ns_;
  uint16_t ip_id_ = 0;  // IPv4 Identification of the next packet we originate
};

}  // namespace linetls::net
