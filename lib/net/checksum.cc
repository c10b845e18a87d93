#include "lib/net/checksum.h"

#include <rte_byteorder.h>
#include <rte_mbuf.h>

#include "lib/base/bytes.h"
#include "lib/net/checksum_simd.h"

namespace linetls::net {

namespace {

// simd::native_sum sums native (little-endian) 16-bit words (AVX-512, AVX2 or 64-bit
// scalar) at ~80-100 bytes/ns in cache at any optimisation level; rte_raw_cksum gets there
// only where the compiler vectorises it (-O3), 6 bytes/ns at -O2 (docs/PERFORMANCE.md,
// "Checksums"). The one's complement sum of byte-swapped words is the byte-swapped sum
// (RFC 1071 section 2(B)), so one swap at the end yields the big-endian value.
inline uint16_t native_sum(const void* p, size_t len) noexcept { return simd::native_sum(p, len); }

inline uint16_t native_to_be(uint16_t s) noexcept { return rte_bswap16(s); }

}  // namespace

uint16_t cksum_bytes(const void* p, size_t len) noexcept {
  return native_to_be(native_sum(p, len));
}

// rte_raw_cksum_mbuf() in DPDK 22.11 truncates an unfolded 32-bit segment sum to 16 bits
// before byte-swapping a segment that starts at an odd offset, so it is wrong for such
// segments longer than a few bytes; this walks the chain itself and folds first.
bool cksum_mbuf(const rte_mbuf* m, uint32_t off, uint32_t len, uint16_t* out_sum) noexcept {
  if (off > m->pkt_len || len > m->pkt_len - off) {
    return false;
  }
  if (len == 0) {
    *out_sum = 0;
    return true;
  }
  const rte_mbuf* seg = m;
  while (seg != nullptr && off >= seg->data_len) {
    off -= seg->data_len;
    seg = seg->next;
  }
  uint32_t acc = 0;
  uint32_t done = 0;
  while (done < len) {
    if (seg == nullptr) {
      return false;  // pkt_len disagrees with the chain: treat as out of range
    }
    uint32_t avail = seg->data_len - off;
    uint32_t n = avail < len - done ? avail : len - done;
    uint16_t s = native_sum(rte_pktmbuf_mtod_offset(seg, const uint8_t*, off), n);
    if ((done & 1) != 0) {
      s = rte_bswap16(s);
    }
    acc += s;
    done += n;
    off = 0;
    seg = seg->next;
  }
  acc = (acc & 0xffff) + (acc >> 16);
  acc = (acc & 0xffff) + (acc >> 16);
  *out_sum = native_to_be(static_cast<uint16_t>(acc));
  return true;
}

uint16_t ipv4_pseudo_cksum(Ipv4Addr src, Ipv4Addr dst, uint8_t proto, uint16_t l4_len) noexcept {
  uint32_t s = (src.v >> 16) + (src.v & 0xffff) + (dst.v >> 16) + (dst.v & 0xffff) + proto + l4_len;
  s = (s & 0xffff) + (s >> 16);
  s = (s & 0xffff) + (s >> 16);
  return static_cast<uint16_t>(s);
}

uint16_t ipv4_header_cksum(const uint8_t* hdr, size_t hdr_len) noexcept {
  // Bytes 10..11 are the checksum field itself.
  uint16_t s = cksum_add(cksum_bytes(hdr, 10), cksum_bytes(hdr + 12, hdr_len - 12));
  return static_cast<uint16_t>(~s);
}

}  // namespace linetls::net
