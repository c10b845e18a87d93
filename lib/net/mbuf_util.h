// Small helpers over chained mbufs that the DPDK API lacks: bounded writes at an offset,
// trimming to an exact length, and a writability check before editing a frame in place.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <cstring>

namespace linetls::net {

// Copies len bytes from src into the packet at offset off, across segments. False (and
// nothing written) when [off, off + len) is not inside the packet.
inline bool mbuf_write(rte_mbuf* m, uint32_t off, const void* src, uint32_t len) noexcept {
  if (off > m->pkt_len || len > m->pkt_len - off) {
    return false;
  }
  const auto* p = static_cast<const uint8_t*>(src);
  for (rte_mbuf* seg = m; seg != nullptr && len > 0; seg = seg->next) {
    if (off >= seg->data_len) {
      off -= seg->data_len;
      continue;
    }
    uint32_t n = seg->data_len - off;
    if (n > len) {
      n = len;
    }
    std::memcpy(rte_pktmbuf_mtod_offset(seg, uint8_t*, off), p, n);
    p += n;
    len -= n;
    off = 0;
  }
  return len == 0;
}

// Shortens the packet to len bytes (len <= pkt_len), freeing segments that end up empty
// beyond the new end. Unlike rte_pktmbuf_trim() this works when the bytes to remove span
// more than the last segment.
inline void mbuf_trim_to(rte_mbuf* m, uint32_t len) noexcept {
  if (len >= m->pkt_len) {
    return;
  }
  uint32_t kept = 0;
  uint16_t nb_segs = 0;
  rte_mbuf* seg = m;
  for (;;) {
    nb_segs++;
    if (kept + seg->data_len >= len || seg->next == nullptr) {
      seg->data_len = static_cast<uint16_t>(len - kept);
      break;
    }
    kept += seg->data_len;
    seg = seg->next;
  }
  if (seg->next != nullptr) {
    rte_pktmbuf_free(seg->next);
    seg->next = nullptr;
  }
  m->nb_segs = nb_segs;
  m->pkt_len = len;
}

// True when every segment's mbuf header is referenced only by us, so its metadata (lengths,
// offsets, flags, chain) may be changed without another holder seeing it.
inline bool mbuf_header_private(const rte_mbuf* m) noexcept {
  for (const rte_mbuf* seg = m; seg != nullptr; seg = seg->next) {
    if (rte_mbuf_refcnt_read(seg) != 1) {
      return false;
    }
  }
  return true;
}

// True when, in addition, every segment is a direct mbuf (not a clone attached to another
// mbuf's data, not an external buffer), so its bytes may be rewritten in place.
inline bool mbuf_writable(const rte_mbuf* m) noexcept {
  for (const rte_mbuf* seg = m; seg != nullptr; seg = seg->next) {
    if (!RTE_MBUF_DIRECT(seg) || rte_mbuf_refcnt_read(seg) != 1) {
      return false;
    }
  }
  return true;
}

}  // namespace linetls::net
