// The Internet checksum (RFC 1071) over bytes and over possibly chained mbufs, the IPv4
// pseudo-header sum for TCP/UDP, and the RFC 1624 incremental update.
//
// Convention: a "sum" is the folded 16-bit one's complement sum, NOT inverted, expressed as
// the big-endian word value (write it with store_be16). A checksum field holds ~sum. A
// received header or message is intact when the sum over it, checksum field included, is
// 0xffff.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/net/addr.h"

struct rte_mbuf;

namespace linetls::net {

// a + b in one's complement arithmetic.
inline uint16_t cksum_add(uint16_t a, uint16_t b) noexcept {
  uint32_t s = uint32_t{a} + b;
  return static_cast<uint16_t>((s & 0xffff) + (s >> 16));
}

// The sum over len bytes at p (an odd trailing byte is padded with a zero byte).
uint16_t cksum_bytes(const void* p, size_t len) noexcept;

// The sum over bytes [off, off + len) of the packet m, following the segment chain (a
// segment boundary may fall at an odd offset). False, and *out_sum untouched, when the
// range is not inside the packet.
[[nodiscard]] bool cksum_mbuf(const rte_mbuf* m, uint32_t off, uint32_t len,
                              uint16_t* out_sum) noexcept;

// The sum of the RFC 793 / RFC 768 IPv4 pseudo-header: source, destination, zero, protocol,
// L4 length. TCP and UDP add it to the sum over their header and payload; for checksum
// offload (RTE_MBUF_F_TX_TCP_CKSUM) the L4 checksum field is preset to this value.
uint16_t ipv4_pseudo_cksum(Ipv4Addr src, Ipv4Addr dst, uint8_t proto, uint16_t l4_len) noexcept;

// The value for the checksum field of the IPv4 header at hdr (hdr_len bytes, the header
// length from IHL): ~sum over the header with the checksum field taken as zero.
uint16_t ipv4_header_cksum(const uint8_t* hdr, size_t hdr_len) noexcept;

// RFC 1624 eqn. 3: the new checksum field value when one 16-bit word covered by the
// checksum changes from old_word to new_word: HC' = ~(~HC + ~m + m'). When every word
// covered ends up zero the right field value is 0xffff but this yields 0x0000 (it cannot
// tell a -0 sum from an empty one); a caller that can meet that case recomputes on 0.
inline uint16_t cksum_update16(uint16_t field, uint16_t old_word, uint16_t new_word) noexcept {
  uint16_t s = cksum_add(static_cast<uint16_t>(~field), static_cast<uint16_t>(~old_word));
  return static_cast<uint16_t>(~cksum_add(s, new_word));
}

}  // namespace linetls::net
