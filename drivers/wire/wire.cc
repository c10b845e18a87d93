// WirePair: two net::Port ends joined by a simulated cable (see wire.h).
//
// Each direction keeps, per receiving queue, a min-heap of frames in flight ordered by
// (deliver_at_ns, seq): seq is a per-direction sequence number, so frames due at the same
// time leave in the order they were sent. The wire behaves like two NICs and a cable:
//
//   tx_burst: TSO (a TCP_SEG frame becomes MSS-sized frames, each taking the rest of the
//             path on its own) -> tail drop (max_queued) -> loss -> take a private copy if the frame is shared
//             (the sender may keep references for retransmission, the receiver modifies
//             frames in place) -> TX checksum offloads the caps promise -> one flipped bit
//             -> steer to an RX queue -> schedule (delay, jitter, reorder) -> duplicate
//   rx_burst: frames whose deliver time has come; TX metadata cleared, RX checksum flags
//             and the RSS hash set as the caps promise.
//
// Every random choice comes from one splitmix64 generator per direction, so the results
// are a function of the seed alone (no standard-library distribution whose algorithm
// varies between implementations).
#include "drivers/wire/wire.h"

#include <rte_byteorder.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_thash.h>

#include <algorithm>
#include <array>
#include <cassert>
#include <cstring>
#include <string>
#include <vector>

#include "lib/base/clock.h"

namespace linetls::wire {
namespace {

constexpr uint16_t kEtherHdrLen = 14;
constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint8_t kProtoTcp = 6;
constexpr uint8_t kProtoUdp = 17;
constexpr uint16_t kTcpCksumOffset = 16;
constexpr uint16_t kUdpCksumOffset = 6;
constexpr uint16_t kTcpMinHdrLen = 20;
constexpr uint16_t kUdpHdrLen = 8;
constexpr uint8_t kTcpFin = 0x01;
constexpr uint8_t kTcpPsh = 0x08;
constexpr uint8_t kTcpCwr = 0x80;
// Frames reach RX queue reta[hash % kRetaSize], with reta[i] = i % num_queues: the default
// redirection table most PMDs install.
constexpr uint32_t kRetaSize = 128;
// The symmetric Toeplitz key drivers/dpdk programs into NICs (0x6d5a repeated), so flows
// land on the same queue index here as they would on a real port with the same queue count.
constexpr std::array<uint8_t, 40> kRssKey = [] {
  std::array<uint8_t, 40> k{};
  for (size_t i = 0; i < k.size(); i++) {
    k[i] = (i % 2 == 0) ? 0x6d : 0x5a;
  }
  return k;
}();
// Bits in ol_flags that describe the buffer rather than the packet; kept on delivery.
constexpr uint64_t kBufferFlags = RTE_MBUF_F_EXTERNAL | RTE_MBUF_F_INDIRECT;

// splitmix64 (Steele, Lea, Flood 2014): tiny, fast, and fully specified.
class Rng {
 public:
  explicit Rng(uint64_t seed) noexcept : s_(seed) {}
  uint64_t next() noexcept {
    uint64_t z = (s_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, 1) with 53 bits of precision.
  double uniform() noexcept { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  // True with probability p; draws nothing when p is 0 or 1 so a disabled impairment
  // does not shift the sequence seen by the enabled ones.
  bool chance(double p) noexcept {
    if (p <= 0) {
      return false;
    }
    if (p >= 1) {
      return true;
    }
    return uniform() < p;
  }
  // Uniform in [0, bound] (the modulo bias is below 2^-32 for bounds under 2^32 ns).
  uint64_t upto(uint64_t bound) noexcept {
    if (bound == 0) {
      return 0;
    }
    return bound == UINT64_MAX ? next() : next() % (bound + 1);
  }

 private:
  uint64_t s_;
};

struct Flight {
  uint64_t deliver_at_ns;
  uint64_t seq;
  rte_mbuf* m;
  uint32_t rss_hash;
  bool has_rss_hash;
};

// Min-heap order for std::push_heap / std::pop_heap (which build max-heaps).
bool later(const Flight& x, const Flight& y) noexcept {
  if (x.deliver_at_ns != y.deliver_at_ns) {
    return x.deliver_at_ns > y.deliver_at_ns;
  }
  return x.seq > y.seq;
}

// Where the IPv4 header and the L4 ports of an Ethernet frame are, if it carries IPv4.
struct Ipv4View {
  bool valid = false;
  uint16_t l3_off = 0;
  uint16_t ihl_len = 0;    // header length in bytes
  uint16_t total_len = 0;  // from the header
  uint8_t proto = 0;
  bool fragment = false;  // MF set or non-zero offset: no L4 header to trust
  bool has_ports = false;
  uint16_t sport = 0, dport = 0;
  alignas(8) uint8_t hdr[60] = {};  // copy of the IPv4 header (ihl_len bytes)
};

Ipv4View parse_ipv4(const rte_mbuf* m) noexcept {
  Ipv4View v;
  uint8_t eth_buf[kEtherHdrLen];
  const auto* eth = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, kEtherHdrLen, eth_buf));
  if (eth == nullptr || ((eth[12] << 8) | eth[13]) != kEtherTypeIpv4) {
    return v;
  }
  v.l3_off = kEtherHdrLen;
  uint8_t first[20];
  const auto* ip = static_cast<const uint8_t*>(rte_pktmbuf_read(m, v.l3_off, 20, first));
  if (ip == nullptr || (ip[0] >> 4) != 4 || (ip[0] & 0xf) < 5) {
    return v;
  }
  v.ihl_len = static_cast<uint16_t>((ip[0] & 0xf) * 4);
  const void* full = rte_pktmbuf_read(m, v.l3_off, v.ihl_len, v.hdr);
  if (full == nullptr) {
    return v;
  }
  if (full != v.hdr) {
    std::memcpy(v.hdr, full, v.ihl_len);
  }
  v.total_len = static_cast<uint16_t>((v.hdr[2] << 8) | v.hdr[3]);
  v.proto = v.hdr[9];
  const uint16_t frag = static_cast<uint16_t>((v.hdr[6] << 8) | v.hdr[7]);
  v.fragment = (frag & 0x3fff) != 0;
  v.valid = true;
  if (!v.fragment && (v.proto == kProtoTcp || v.proto == kProtoUdp)) {
    uint8_t ports_buf[4];
    const auto* p = static_cast<const uint8_t*>(
        rte_pktmbuf_read(m, static_cast<uint32_t>(v.l3_off + v.ihl_len), 4, ports_buf));
    if (p != nullptr) {
      v.has_ports = true;
      v.sport = static_cast<uint16_t>((p[0] << 8) | p[1]);
      v.dport = static_cast<uint16_t>((p[2] << 8) | p[3]);
    }
  }
  return v;
}

uint32_t load_be32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// The symmetric Toeplitz hash a NIC programmed with RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP
// computes: 4-tuple for unfragmented TCP, 2-tuple for other IPv4.
bool rss_hash(const Ipv4View& v, uint32_t* out_hash) noexcept {
  if (!v.valid) {
    return false;
  }
  uint32_t tuple[3] = {load_be32(v.hdr + 12), load_be32(v.hdr + 16), 0};
  uint32_t words = 2;
  if (v.proto == kProtoTcp && v.has_ports) {
    tuple[2] = (uint32_t{v.sport} << 16) | v.dport;
    words = 3;
  }
  *out_hash = rte_softrss(tuple, words, kRssKey.data());
  return true;
}

// Folds a 32-bit one's-complement sum to 16 bits.
uint16_t fold(uint32_t sum) noexcept {
  sum = (sum & 0xffff) + (sum >> 16);
  sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(sum);
}

// Non-complemented sum of the pseudo header and len bytes of L4 data at l4_off; false if
// the frame is shorter than the IPv4 header says.
bool l4_sum(const rte_mbuf* m, const rte_ipv4_hdr* ip, uint32_t l4_off, uint32_t len,
            uint16_t* out_sum) noexcept {
  if (l4_off + len > m->pkt_len) {
    return false;
  }
  uint16_t raw = 0;
  if (rte_raw_cksum_mbuf(m, l4_off, len, &raw) != 0) {
    return false;
  }
  *out_sum = fold(uint32_t{raw} + rte_ipv4_phdr_cksum(ip, 0));
  return true;
}

// Does what a NIC does for RTE_MBUF_F_TX_{IP,TCP,UDP}_CKSUM when the caps offer it. The
// DPDK contract puts the headers at l2_len / l2_len + l3_len in the first segment; a
// frame that breaks it is sent as is (the receiver sees a bad checksum).
void apply_tx_offloads(rte_mbuf* m, const net::PortCaps& caps) noexcept {
  const uint64_t f = m->ol_flags;
  const uint32_t l3_off = m->l2_len;
  const uint32_t l4_off = l3_off + m->l3_len;
  if (m->l3_len < sizeof(rte_ipv4_hdr) || l4_off > m->data_len) {
    return;
  }
  auto* ip = rte_pktmbuf_mtod_offset(m, rte_ipv4_hdr*, l3_off);
  if ((f & RTE_MBUF_F_TX_IP_CKSUM) != 0 && caps.tx_ip_cksum) {
    ip->hdr_checksum = 0;
    ip->hdr_checksum = rte_ipv4_cksum(ip);
  }
  const uint64_t l4 = f & RTE_MBUF_F_TX_L4_MASK;
  uint32_t field = 0;
  if (l4 == RTE_MBUF_F_TX_TCP_CKSUM && caps.tx_tcp_cksum) {
    field = kTcpCksumOffset;
  } else if (l4 == RTE_MBUF_F_TX_UDP_CKSUM && caps.tx_udp_cksum) {
    field = kUdpCksumOffset;
  } else {
    return;
  }
  if (l4_off + field + 2 > m->data_len) {
    return;
  }
  auto* cksum = rte_pktmbuf_mtod_offset(m, rte_be16_t*, l4_off + field);
  *cksum = 0;
  const uint16_t ip_len = rte_be_to_cpu_16(ip->total_length);
  if (ip_len < m->l3_len) {
    return;
  }
  uint16_t sum = 0;
  if (!l4_sum(m, ip, l4_off, ip_len - m->l3_len, &sum)) {
    return;
  }
  uint16_t c = static_cast<uint16_t>(~sum);
  if (c == 0 && l4 == RTE_MBUF_F_TX_UDP_CKSUM) {
    c = 0xffff;  // RFC 768: zero means "no checksum"
  }
  *cksum = c;
}

// Appends len bytes of src from offset off to the chain dst, growing it with segments
// from pool when the last one is full; false when the pool is empty or src too short.
bool append_copy(rte_mbuf* dst, rte_mempool* pool, const rte_mbuf* src, uint32_t off,
                 uint32_t len) noexcept {
  if (off + len > src->pkt_len) {
    return false;
  }
  const rte_mbuf* s = src;
  while (s != nullptr && off >= s->data_len) {
    off -= s->data_len;
    s = s->next;
  }
  rte_mbuf* last = rte_pktmbuf_lastseg(dst);
  while (len > 0 && s != nullptr) {
    if (rte_pktmbuf_tailroom(last) == 0) {
      rte_mbuf* seg = rte_pktmbuf_alloc(pool);
      if (seg == nullptr) {
        return false;
      }
      last->next = seg;
      last = seg;
      dst->nb_segs++;
    }
    const uint32_t take = std::min<uint32_t>(
        {len, uint32_t{s->data_len} - off, uint32_t{rte_pktmbuf_tailroom(last)}});
    std::memcpy(rte_pktmbuf_mtod_offset(last, uint8_t*, last->data_len),
                rte_pktmbuf_mtod_offset(s, const uint8_t*, off), take);
    last->data_len = static_cast<uint16_t>(last->data_len + take);
    dst->pkt_len += take;
    len -= take;
    off += take;
    if (off == s->data_len) {
      off = 0;
      s = s->next;
    }
  }
  return len == 0;
}

// What a NIC does with a frame flagged RTE_MBUF_F_TX_TCP_SEG (DPDK contract: l2_len,
// l3_len, l4_len and tso_segsz set, IPv4 and TCP headers in the first segment, the TCP
// checksum field holding the pseudo-header sum without the length): cuts the payload into
// tso_segsz pieces, each sent behind a copy of the headers with its own IPv4 total length,
// ID (incremented per frame), header checksum, TCP sequence number and TCP checksum; FIN
// and PSH stay on the last frame only, CWR on the first only. Appends the frames to out
// (plain frames, no TX flags left) and returns false when the frame breaks the contract
// or the pool runs dry (nothing is appended then).
bool tso_segment(const rte_mbuf* m, rte_mempool* pool, std::vector<rte_mbuf*>* out) noexcept {
  const uint32_t l3_off = m->l2_len;
  const uint32_t l4_off = l3_off + m->l3_len;
  const uint32_t hdr_len = l4_off + m->l4_len;
  const uint32_t mss = m->tso_segsz;
  if (m->l3_len < sizeof(rte_ipv4_hdr) || m->l4_len < kTcpMinHdrLen || mss == 0 ||
      hdr_len > m->data_len || hdr_len > m->pkt_len ||
      (m->ol_flags & RTE_MBUF_F_TX_IPV4) == 0) {
    return false;
  }
  const auto* ip = rte_pktmbuf_mtod_offset(m, const rte_ipv4_hdr*, l3_off);
  if (ip->next_proto_id != kProtoTcp) {
    return false;
  }
  const auto* tcp = rte_pktmbuf_mtod_offset(m, const uint8_t*, l4_off);
  const uint32_t seq0 = load_be32(tcp + 4);
  const uint8_t flags0 = tcp[13];
  const uint16_t id0 = rte_be_to_cpu_16(ip->packet_id);
  const uint32_t payload = m->pkt_len - hdr_len;
  const size_t first = out->size();
  uint32_t off = 0;
  uint16_t i = 0;
  do {
    const uint32_t take = std::min(mss, payload - off);
    rte_mbuf* f = rte_pktmbuf_alloc(pool);
    if (f == nullptr || hdr_len > rte_pktmbuf_tailroom(f)) {
      rte_pktmbuf_free(f);
      break;
    }
    out->push_back(f);
    auto* h = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(f, static_cast<uint16_t>(hdr_len)));
    std::memcpy(h, rte_pktmbuf_mtod(m, const uint8_t*), hdr_len);
    if (!append_copy(f, pool, m, hdr_len + off, take)) {
      break;
    }
    auto* fip = reinterpret_cast<rte_ipv4_hdr*>(h + l3_off);
    fip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(m->l3_len + m->l4_len + take));
    fip->packet_id = rte_cpu_to_be_16(static_cast<uint16_t>(id0 + i));
    fip->hdr_checksum = 0;
    fip->hdr_checksum = rte_ipv4_cksum(fip);
    uint8_t* th = h + l4_off;
    const uint32_t seq = seq0 + off;
    th[4] = static_cast<uint8_t>(seq >> 24);
    th[5] = static_cast<uint8_t>(seq >> 16);
    th[6] = static_cast<uint8_t>(seq >> 8);
    th[7] = static_cast<uint8_t>(seq);
    const bool last = off + take == payload;
    uint8_t fl = flags0;
    if (!last) {
      fl &= static_cast<uint8_t>(~(kTcpFin | kTcpPsh));
    }
    if (i != 0) {
      fl &= static_cast<uint8_t>(~kTcpCwr);
    }
    th[13] = fl;
    // The field already holds the pseudo-header sum without the length: the sum over the
    // segment as it is, plus the length, is the full sum.
    const uint32_t tcp_len = m->l4_len + take;
    uint16_t raw = 0;
    if (rte_raw_cksum_mbuf(f, l4_off, tcp_len, &raw) != 0) {
      break;
    }
    const uint16_t sum = fold(uint32_t{raw} + rte_cpu_to_be_16(static_cast<uint16_t>(tcp_len)));
    const uint16_t c = static_cast<uint16_t>(~sum);
    std::memcpy(th + kTcpCksumOffset, &c, 2);
    f->ol_flags = 0;
    f->tx_offload = 0;
    off += take;
    i++;
    if (last) {
      return true;
    }
  } while (true);
  for (size_t k = first; k < out->size(); k++) {
    rte_pktmbuf_free((*out)[k]);
  }
  out->resize(first);
  return false;
}

// RTE_MBUF_F_RX_{IP,L4}_CKSUM_* for a received frame, as a checksumming NIC reports them.
uint64_t rx_cksum_flags(const rte_mbuf* m, const Ipv4View& v, const net::PortCaps& caps) noexcept {
  if (!v.valid) {
    return 0;
  }
  uint64_t flags = 0;
  if (caps.rx_ip_cksum) {
    flags |= rte_raw_cksum(v.hdr, v.ihl_len) == 0xffff ? RTE_MBUF_F_RX_IP_CKSUM_GOOD
                                                       : RTE_MBUF_F_RX_IP_CKSUM_BAD;
  }
  if (!caps.rx_l4_cksum || v.fragment || (v.proto != kProtoTcp && v.proto != kProtoUdp)) {
    return flags;
  }
  const uint32_t l4_off = uint32_t{v.l3_off} + v.ihl_len;
  const uint16_t min_len = v.proto == kProtoTcp ? kTcpMinHdrLen : kUdpHdrLen;
  if (v.total_len < v.ihl_len + min_len) {
    return flags | RTE_MBUF_F_RX_L4_CKSUM_BAD;
  }
  const uint32_t l4_len = uint32_t{v.total_len} - v.ihl_len;
  if (v.proto == kProtoUdp) {
    uint8_t c[2];
    const auto* p =
        static_cast<const uint8_t*>(rte_pktmbuf_read(m, l4_off + kUdpCksumOffset, 2, c));
    if (p != nullptr && p[0] == 0 && p[1] == 0) {
      return flags;  // UDP without checksum: nothing to verify
    }
  }
  uint16_t sum = 0;
  const auto* ip = reinterpret_cast<const rte_ipv4_hdr*>(v.hdr);
  const bool good = l4_sum(m, ip, l4_off, l4_len, &sum) && sum == 0xffff;
  return flags | (good ? RTE_MBUF_F_RX_L4_CKSUM_GOOD : RTE_MBUF_F_RX_L4_CKSUM_BAD);
}

// True when nobody else can see this frame's bytes: every segment is a direct mbuf (or a
// pinned external buffer) with one reference.
bool is_private(const rte_mbuf* m) noexcept {
  for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
    if (rte_mbuf_refcnt_read(s) != 1) {
      return false;
    }
    if (!RTE_MBUF_DIRECT(s) && !RTE_MBUF_HAS_PINNED_EXTBUF(s)) {
      return false;
    }
  }
  return true;
}

// Flips bit `bit` of the frame data, walking the segment chain.
void flip_bit(rte_mbuf* m, uint64_t bit) noexcept {
  uint64_t off = bit / 8;
  rte_mbuf* s = m;
  while (s != nullptr && off >= s->data_len) {
    off -= s->data_len;
    s = s->next;
  }
  assert(s != nullptr);
  if (s == nullptr) {
    return;
  }
  *rte_pktmbuf_mtod_offset(s, uint8_t*, off) ^= static_cast<uint8_t>(1u << (bit % 8));
}

// a + b, stopping at UINT64_MAX (a delay of "forever" must not wrap to "now").
uint64_t sat_add(uint64_t a, uint64_t b) noexcept {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

uint64_t dir_seed(Direction d, uint64_t seed) noexcept {
  // Distinct streams per direction even when both use the same seed.
  return d == Direction::kAtoB ? seed : seed ^ 0xa5a5a5a5a5a5a5a5ULL;
}

}  // namespace

struct WirePair::Impl {
  class End final : public net::Port {
   public:
    End(Impl* w, std::string name, net::MacAddr mac, Direction tx_dir, Direction rx_dir)
        : w_(w), name_(std::move(name)), mac_(mac), tx_dir_(tx_dir), rx_dir_(rx_dir) {}

    std::string_view name() const noexcept override { return name_; }
    net::MacAddr mac() const noexcept override { return mac_; }
    const net::PortCaps& caps() const noexcept override { return w_->caps; }
    uint16_t rx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t max) noexcept override {
      return w_->receive(*this, queue, pkts, max);
    }
    uint16_t tx_burst(uint16_t queue, rte_mbuf** pkts, uint16_t n) noexcept override {
      return w_->transmit(*this, queue, pkts, n);
    }
    rte_mempool* pktmbuf_pool(uint16_t /*queue*/) noexcept override { return w_->pool; }
    // tx_* count the frames tx_burst put on the cable (after TSO) and tx_dropped its tail
    // drops and malformed TSO frames; rx_* count what rx_burst
    // handed out. Frames lost on the cable are seen by neither NIC: see WireStats.
    net::PortStats stats() const noexcept override { return stats_; }

   private:
    friend struct Impl;
    Impl* w_;
    std::string name_;
    net::MacAddr mac_;
    Direction tx_dir_;
    Direction rx_dir_;
    net::PortStats stats_;
  };

  struct Lane {
    Impairments imp;
    Rng rng{dir_seed(Direction::kAtoB, Impairments{}.seed)};
    std::vector<std::vector<Flight>> queues;  // one heap per receiving queue
    WireStats stats;
    uint64_t next_seq = 0;
    uint64_t fifo_floor_ns = 0;  // latest deliver time of a frame that was not reordered
    size_t in_flight = 0;
  };

  Impl(rte_mempool* p, net::MacAddr mac_a, net::MacAddr mac_b, const net::PortCaps& c)
      : pool(p),
        caps(c),
        end_a(this, "wire-a", mac_a, Direction::kAtoB, Direction::kBtoA),
        end_b(this, "wire-b", mac_b, Direction::kBtoA, Direction::kAtoB),
        clock(monotonic_ns) {
    caps.driver = "wire";
    caps.num_queues = std::max<uint16_t>(caps.num_queues, 1);
    for (Direction d : {Direction::kAtoB, Direction::kBtoA}) {
      Lane& l = lane(d);
      l.rng = Rng(dir_seed(d, l.imp.seed));
      l.queues.resize(caps.num_queues);
    }
  }

  ~Impl() {
    for (Lane& l : lanes) {
      for (auto& q : l.queues) {
        for (Flight& f : q) {
          rte_pktmbuf_free(f.m);
        }
        q.clear();
      }
      l.in_flight = 0;
    }
  }

  Lane& lane(Direction d) noexcept { return lanes[d == Direction::kAtoB ? 0 : 1]; }
  const Lane& lane(Direction d) const noexcept { return lanes[d == Direction::kAtoB ? 0 : 1]; }

  // The RX queue a frame reaches: by RSS hash when the caps promise RSS, else the queue
  // index it was sent on.
  uint16_t steer(const rte_mbuf* m, uint16_t tx_queue, Flight* f) const noexcept {
    if (caps.num_queues == 1) {
      return 0;
    }
    if (!caps.rss) {
      return tx_queue;
    }
    uint32_t h = 0;
    if (!rss_hash(parse_ipv4(m), &h)) {
      return 0;
    }
    f->rss_hash = h;
    f->has_rss_hash = true;
    return static_cast<uint16_t>((h % kRetaSize) % caps.num_queues);
  }

  void enqueue(Lane& l, uint16_t rxq, const Flight& f) noexcept {
    auto& q = l.queues[rxq];
    q.push_back(f);
    std::push_heap(q.begin(), q.end(), later);
    l.in_flight++;
  }

  uint16_t transmit(End& end, uint16_t queue, rte_mbuf** pkts, uint16_t n) noexcept {
    if (queue >= caps.num_queues) {
      return 0;
    }
    Lane& l = lane(end.tx_dir_);
    const uint64_t now = clock();
    for (uint16_t i = 0; i < n; i++) {
      rte_mbuf* m = pkts[i];
      l.stats.sent++;
      if (caps.tx_tso && (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0) {
        // The NIC segments first; each resulting frame then meets the cable on its own.
        l.stats.tso_frames++;
        tso_out.clear();
        const bool ok = tso_segment(m, pool, &tso_out);
        rte_pktmbuf_free(m);
        if (!ok) {
          l.stats.tso_bad++;
          end.stats_.tx_dropped++;
          continue;
        }
        l.stats.tso_segments += tso_out.size();
        for (rte_mbuf* f : tso_out) {
          put_on_wire(end, l, queue, now, f);
        }
        continue;
      }
      put_on_wire(end, l, queue, now, m);
    }
    return n;
  }

  // One frame as the NIC puts it on the cable: tail drop, loss, a private copy, checksum
  // offloads, corruption, steering, scheduling and duplication.
  void put_on_wire(End& end, Lane& l, uint16_t queue, uint64_t now, rte_mbuf* m) noexcept {
    end.stats_.tx_packets++;
    end.stats_.tx_bytes += m->pkt_len;
    if (l.in_flight >= l.imp.max_queued) {
      l.stats.queue_full++;
      end.stats_.tx_dropped++;
      rte_pktmbuf_free(m);
      return;
    }
    if (l.rng.chance(l.imp.loss)) {
      l.stats.lost++;
      rte_pktmbuf_free(m);
      return;
    }
    if (!is_private(m)) {
      rte_mbuf* c = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
      rte_pktmbuf_free(m);
      if (c == nullptr) {
        l.stats.lost++;  // no buffer at the receiver: dropped like an RX no-mbuf miss
        return;
      }
      m = c;
    }
    apply_tx_offloads(m, caps);
    if (m->pkt_len > 0 && l.rng.chance(l.imp.corrupt)) {
      flip_bit(m, l.rng.next() % (uint64_t{m->pkt_len} * 8));
      l.stats.corrupted++;
    }
    Flight f{0, 0, m, 0, false};
    const uint16_t rxq = steer(m, queue, &f);
    const uint64_t base = std::max(
        sat_add(sat_add(now, l.imp.delay_ns), l.rng.upto(l.imp.jitter_ns)), l.fifo_floor_ns);
    if (l.rng.chance(l.imp.reorder)) {
      f.deliver_at_ns = sat_add(base, l.imp.reorder_delay_ns);
      l.stats.reordered++;
    } else {
      f.deliver_at_ns = base;
      l.fifo_floor_ns = base;
    }
    f.seq = l.next_seq++;
    enqueue(l, rxq, f);
    if (l.rng.chance(l.imp.duplicate)) {
      if (l.in_flight >= l.imp.max_queued) {
        l.stats.queue_full++;
        return;
      }
      rte_mbuf* c = rte_pktmbuf_copy(m, pool, 0, UINT32_MAX);
      if (c == nullptr) {
        return;  // no buffer for the copy: the frame simply is not duplicated
      }
      Flight dup = f;
      dup.m = c;
      dup.seq = l.next_seq++;
      enqueue(l, rxq, dup);
      l.stats.duplicated++;
    }
  }

  uint16_t receive(End& end, uint16_t queue, rte_mbuf** pkts, uint16_t max) noexcept {
    if (queue >= caps.num_queues) {
      return 0;
    }
    Lane& l = lane(end.rx_dir_);
    auto& q = l.queues[queue];
    if (q.empty()) {
      return 0;
    }
    const uint64_t now = clock();
    uint16_t k = 0;
    while (k < max && !q.empty() && q.front().deliver_at_ns <= now) {
      std::pop_heap(q.begin(), q.end(), later);
      const Flight f = q.back();
      q.pop_back();
      l.in_flight--;
      rte_mbuf* m = f.m;
      // A fresh RX descriptor: no TX metadata, only what the receiving NIC reports.
      m->ol_flags &= kBufferFlags;
      m->tx_offload = 0;
      m->packet_type = 0;
      if (caps.rx_ip_cksum || caps.rx_l4_cksum) {
        m->ol_flags |= rx_cksum_flags(m, parse_ipv4(m), caps);
      }
      if (f.has_rss_hash) {
        m->hash.rss = f.rss_hash;
        m->ol_flags |= RTE_MBUF_F_RX_RSS_HASH;
      }
      l.stats.delivered++;
      end.stats_.rx_packets++;
      end.stats_.rx_bytes += m->pkt_len;
      pkts[k++] = m;
    }
    return k;
  }

  rte_mempool* pool;
  net::PortCaps caps;
  End end_a;
  End end_b;
  std::function<uint64_t()> clock;
  std::array<Lane, 2> lanes;
  std::vector<rte_mbuf*> tso_out;  // scratch: the frames one TSO frame became
};

WirePair::WirePair(rte_mempool* pool, net::MacAddr mac_a, net::MacAddr mac_b,
                   const net::PortCaps& caps)
    : impl_(std::make_unique<Impl>(pool, mac_a, mac_b, caps)) {}

WirePair::~WirePair() = default;

net::Port& WirePair::a() noexcept { return impl_->end_a; }
net::Port& WirePair::b() noexcept { return impl_->end_b; }

void WirePair::set_impairments(Direction d, const Impairments& imp) {
  Impl::Lane& l = impl_->lane(d);
  l.imp = imp;
  l.rng = Rng(dir_seed(d, imp.seed));
}

void WirePair::set_clock(std::function<uint64_t()> now_ns) {
  impl_->clock = now_ns ? std::move(now_ns) : std::function<uint64_t()>(monotonic_ns);
}

const WireStats& WirePair::stats(Direction d) const noexcept { return impl_->lane(d).stats; }

size_t WirePair::in_flight(Direction d) const noexcept { return impl_->lane(d).in_flight; }

net::PortCaps WirePair::default_caps() {
  net::PortCaps c;
  c.driver = "wire";
  c.num_queues = 1;
  return c;
}

}  // namespace linetls::wire
