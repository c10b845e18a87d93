// ICMP echo (RFC 792) for the Stack: requests are answered in the mbuf they arrived in.
#include "lib/net/icmp.h"

#include <rte_mbuf.h>

#include "lib/base/bytes.h"
#include "lib/net/checksum.h"
#include "lib/net/ether.h"
#include "lib/net/ipv4.h"
#include "lib/net/mbuf_util.h"
#include "lib/net/stack.h"

namespace linetls::net {

void Stack::icmp_input(rte_mbuf* m, const Ipv4Info& info) noexcept {
  counters_.inc(NetCounter::kIcmpRx);
  uint8_t buf[kIcmpHdrLen];
  const auto* h =
      info.l4_len < kIcmpHdrLen
          ? nullptr
          : static_cast<const uint8_t*>(rte_pktmbuf_read(m, info.l4_offset, kIcmpHdrLen, buf));
  // RFC 792: "The checksum is the 16-bit ones's complement of the one's complement sum of
  // the ICMP message starting with the ICMP Type." All of it, payload included.
  uint16_t sum = 0;
  if (h == nullptr || !cksum_mbuf(m, info.l4_offset, info.l4_len, &sum) || sum != 0xffff) {
    drop(m, NetCounter::kDropIcmpMalformed);
    return;
  }
  if (h[0] != kIcmpEchoRequest) {
    counters_.inc(NetCounter::kIcmpOtherType);
    rte_pktmbuf_free(m);
    return;
  }
  const uint8_t tos = rte_pktmbuf_mtod_offset(m, const uint8_t*, kEtherHdrLen)[1];
  const MacAddr peer_mac = load_mac(rte_pktmbuf_mtod_offset(m, const uint8_t*, kEtherAddrLen));
  const uint16_t old_word = load_be16(h);  // type and code
  uint16_t new_cksum = cksum_update16(load_be16(h + 2), old_word, kIcmpEchoReply << 8);

  m = own_frame(m);  // the reply is written over the request's bytes
  if (m == nullptr) {
    return;
  }
  // RFC 1122 3.2.2.6: "Every host MUST implement an ICMP Echo server function that receives
  // Echo Requests and sends corresponding Echo Replies." "The IP source address in an ICMP
  // Echo Reply MUST be the same as the specific-destination address ... of the
  // corresponding ICMP Echo Request message." "Data received in an ICMP Echo Request MUST
  // be entirely included in the resulting Echo Reply." Received IP options are not echoed
  // (that part is a SHOULD, for Record Route and Timestamp only): the reply's IPv4 header
  // is rebuilt without them, in the bytes just before the ICMP message.
  const uint32_t options_len = info.l4_offset - kEtherHdrLen - kIpv4HdrLen;
  if (options_len != 0) {
    rte_pktmbuf_adj(m, static_cast<uint16_t>(options_len));  // within the first segment
  }
  const uint32_t icmp_off = kEtherHdrLen + kIpv4HdrLen;
  uint8_t icmp_head[4];
  icmp_head[0] = kIcmpEchoReply;
  icmp_head[1] = 0;
  store_be16(icmp_head + 2, new_cksum);
  mbuf_write(m, icmp_off, icmp_head, sizeof(icmp_head));
  if (new_cksum == 0) {
    // The incremental update's one ambiguous result (checksum.h): recompute in full.
    store_be16(icmp_head + 2, 0);
    mbuf_write(m, icmp_off, icmp_head, sizeof(icmp_head));
    uint16_t full = 0;
    if (cksum_mbuf(m, icmp_off, info.l4_len, &full)) {
      store_be16(icmp_head + 2, static_cast<uint16_t>(~full));
      mbuf_write(m, icmp_off, icmp_head, sizeof(icmp_head));
    }
  }

  uint8_t* p = rte_pktmbuf_mtod(m, uint8_t*);
  store_ether(p, EtherHeader{peer_mac, mac_, kEtherTypeIpv4});
  Ipv4Header ih;
  ih.tos = tos;
  ih.total_len = static_cast<uint16_t>(kIpv4HdrLen + info.l4_len);
  ih.id = ip_id_++;
  ih.ttl = cfg_.ttl;
  ih.proto = kIpProtoIcmp;
  ih.src = info.dst;
  ih.dst = info.src;
  store_ipv4(p + kEtherHdrLen, ih);
  m->ol_flags = 0;
  m->packet_type = 0;
  finish_ipv4_header(m, p + kEtherHdrLen);
  counters_.inc(NetCounter::kIcmpEchoReplied);
  send_frame(m);
}

}  // namespace linetls::net
