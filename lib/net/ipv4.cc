// IPv4 input and output for the Stack (RFC 791, with the host requirements of RFC 1122).
#include "lib/net/ipv4.h"

#include <rte_mbuf.h>

#include "lib/base/bytes.h"
#include "lib/net/checksum.h"
#include "lib/net/ether.h"
#include "lib/net/mbuf_util.h"
#include "lib/net/stack.h"

namespace linetls::net {

void store_ipv4(uint8_t* p, const Ipv4Header& h) noexcept {
  p[0] = 0x45;
  p[1] = h.tos;
  store_be16(p + 2, h.total_len);
  store_be16(p + 4, h.id);
  store_be16(p + 6, h.frag);
  p[8] = h.ttl;
  p[9] = h.proto;
  store_be16(p + 10, 0);
  store_be32(p + 12, h.src.v);
  store_be32(p + 16, h.dst.v);
}

bool ipv4_bad_peer(Ipv4Addr a, const Ipv4Cidr& ours) noexcept {
  const uint8_t first = static_cast<uint8_t>(a.v >> 24);
  if (first == 0 || first == 127 || first >= 224) {
    return true;
  }
  if (a == ours.addr) {
    return true;
  }
  // A /31 (RFC 3021) or /32 has no directed broadcast address.
  return ours.prefix_len <= 30 && ours.contains(a) && (a.v | ours.mask()) == ~uint32_t{0};
}

void Stack::finish_ipv4_header(rte_mbuf* m, uint8_t* ip) noexcept {
  m->l2_len = kEtherHdrLen;
  m->l3_len = kIpv4HdrLen;
  m->ol_flags |= RTE_MBUF_F_TX_IPV4;
  if (caps_.tx_ip_cksum) {
    m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;  // the field stays zero for the NIC to fill
  } else {
    store_be16(ip + 10, ipv4_header_cksum(ip, kIpv4HdrLen));
  }
}

void Stack::ipv4_input(rte_mbuf* m, uint64_t now_ns) noexcept {
  counters_.inc(NetCounter::kIpRx);
  const uint32_t frame_len = m->pkt_len;
  uint8_t buf[kIpv4HdrLen];
  const auto* h = static_cast<const uint8_t*>(rte_pktmbuf_read(m, kEtherHdrLen, kIpv4HdrLen, buf));
  if (h == nullptr) {
    drop(m, NetCounter::kDropIpTruncated);
    return;
  }
  // RFC 1122 3.2.1.1: "A datagram whose version number is not 4 MUST be silently
  // discarded."
  if ((h[0] >> 4) != 4) {
    drop(m, NetCounter::kDropIpVersion);
    return;
  }
  const uint32_t hdr_len = uint32_t{h[0] & 0x0fu} * 4;
  if (hdr_len < kIpv4HdrLen) {
    drop(m, NetCounter::kDropIpHeaderLen);
    return;
  }
  if (kEtherHdrLen + hdr_len > frame_len) {
    drop(m, NetCounter::kDropIpTruncated);
    return;
  }
  const uint32_t total_len = load_be16(h + 2);
  if (total_len < hdr_len) {
    drop(m, NetCounter::kDropIpHeaderLen);
    return;
  }
  if (kEtherHdrLen + total_len > frame_len) {
    drop(m, NetCounter::kDropIpTruncated);
    return;
  }
  // From here on the headers are read in place: every PMD delivers them in the first
  // segment, and L4 handlers rely on it (Ipv4Info).
  const uint32_t l4_offset = kEtherHdrLen + hdr_len;
  if (rte_pktmbuf_data_len(m) < l4_offset) {
    drop(m, NetCounter::kDropIpHeaderSplit);
    return;
  }
  const uint8_t* ip = rte_pktmbuf_mtod_offset(m, const uint8_t*, kEtherHdrLen);

  // RFC 1122 3.2.1.2: "A host MUST verify the IP header checksum on every received
  // datagram and silently discard every datagram that has a bad checksum." A port that
  // verifies it for us says so in ol_flags.
  bool verified = false;
  if (caps_.rx_ip_cksum) {
    const uint64_t f = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;
    if (f == RTE_MBUF_F_RX_IP_CKSUM_BAD) {
      drop(m, NetCounter::kDropIpChecksum);
      return;
    }
    // NONE: "the IP checksum is not correct in the packet, but the integrity of the IP
    // header is verified" (rte_mbuf_core.h).
    verified = f == RTE_MBUF_F_RX_IP_CKSUM_GOOD || f == RTE_MBUF_F_RX_IP_CKSUM_NONE;
  }
  if (!verified && cksum_bytes(ip, hdr_len) != 0xffff) {
    drop(m, NetCounter::kDropIpChecksum);
    return;
  }

  // RFC 1122 3.2.1.3: "A host MUST silently discard an incoming datagram that is not
  // destined for the host." We have one address; broadcasts and multicast carry nothing
  // this stack serves.
  const Ipv4Addr src{load_be32(ip + 12)};
  const Ipv4Addr dst{load_be32(ip + 16)};
  if (dst != cfg_.ip.addr) {
    drop(m, NetCounter::kDropIpNotForUs);
    return;
  }
  // RFC 1122 3.2.1.3: "A host MUST silently discard an incoming datagram containing an IP
  // source address that is invalid by the rules of this section."
  if (ipv4_bad_peer(src, cfg_.ip)) {
    drop(m, NetCounter::kDropIpBadSource);
    return;
  }
  // RFC 1122 3.3.2 asks hosts to reassemble; this stack does not (TCP sets DF and sizes
  // segments by MSS), so fragments are counted and dropped rather than half-handled.
  if ((load_be16(ip + 6) & (kIpv4FlagMf | kIpv4FragOffsetMask)) != 0) {
    drop(m, NetCounter::kDropIpFragment);
    return;
  }

  // The trim below, and the handlers after it, change the mbuf headers: a frame whose
  // headers someone else also holds is copied first. (Data in an external buffer, as some
  // PMDs deliver, stays where it is: only its headers need to be ours.)
  if (!mbuf_header_private(m)) {
    m = own_frame(m);
    if (m == nullptr) {
      return;
    }
  }
  // Ethernet pads short frames (RFC 894); the IP total length is the truth.
  mbuf_trim_to(m, kEtherHdrLen + total_len);

  Ipv4Info info;
  info.src = src;
  info.dst = dst;
  info.proto = ip[9];
  info.ttl = ip[8];
  info.l4_offset = static_cast<uint16_t>(l4_offset);
  info.l4_len = static_cast<uint16_t>(total_len - hdr_len);
  if (info.proto == kIpProtoIcmp) {
    icmp_input(m, info);
    return;
  }
  L4Handler* handler = l4_[info.proto];
  if (handler == nullptr) {
    drop(m, NetCounter::kDropIpProto);
    return;
  }
  handler->l4_input(m, info, now_ns);
}

void Stack::ip_output(rte_mbuf* m, Ipv4Addr dst, uint8_t proto, uint64_t now_ns) noexcept {
  const uint32_t l4_len = m->pkt_len;
  const bool tso = (m->ol_flags & RTE_MBUF_F_TX_TCP_SEG) != 0;
  if (kIpv4HdrLen + l4_len > 0xffff || (!tso && kIpv4HdrLen + l4_len > caps_.mtu)) {
    drop(m, NetCounter::kTxTooBig);
    return;
  }
  // Next hop: on-link destinations directly, everything else through the gateway.
  Ipv4Addr next_hop = dst;
  if (ipv4_bad_peer(dst, cfg_.ip)) {
    drop(m, NetCounter::kDropNoRoute);
    return;
  }
  if (!cfg_.ip.contains(dst)) {
    if (!cfg_.gateway) {
      drop(m, NetCounter::kDropNoRoute);
      return;
    }
    next_hop = *cfg_.gateway;
  }
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_prepend(m, kEtherHdrLen + kIpv4HdrLen));
  if (p == nullptr) {
    drop(m, NetCounter::kTxNoHeadroom);
    return;
  }
  // The destination MAC is filled in once ARP knows it.
  store_ether(p, EtherHeader{MacAddr{}, mac_, kEtherTypeIpv4});
  Ipv4Header h;
  h.total_len = static_cast<uint16_t>(kIpv4HdrLen + l4_len);
  // RFC 6864 4.1: the ID of an atomic datagram (DF set, not fragmented) carries no
  // meaning; a per-worker counter is enough.
  h.id = ip_id_++;
  h.frag = kIpv4FlagDf;
  h.ttl = cfg_.ttl;
  h.proto = proto;
  h.src = cfg_.ip.addr;
  h.dst = dst;
  store_ipv4(p + kEtherHdrLen, h);
  finish_ipv4_header(m, p + kEtherHdrLen);
  neighbour_output(m, next_hop, now_ns);
}

}  // namespace linetls::net
