// Chain operations TCP needs beyond lib/net/mbuf_util.h: removing bytes from the front
// across segments, and concatenating chains.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace linetls::net::tcp {

// Removes n bytes (< pkt_len) from the front of m, freeing segments that become empty;
// returns the new head (m's headers must be private: refcount 1).
inline rte_mbuf* mbuf_chain_adj(rte_mbuf* m, uint32_t n) noexcept {
  uint32_t pkt_len = m->pkt_len - n;
  uint16_t nb_segs = m->nb_segs;
  while (n > 0 && n >= m->data_len && m->next != nullptr) {
    n -= m->data_len;
    rte_mbuf* next = m->next;
    m->next = nullptr;
    rte_pktmbuf_free_seg(m);
    m = next;
    nb_segs--;
  }
  m->data_off = static_cast<uint16_t>(m->data_off + n);
  m->data_len = static_cast<uint16_t>(m->data_len - n);
  m->pkt_len = pkt_len;
  m->nb_segs = nb_segs;
  return m;
}

// Appends chain b after chain a (either may be nullptr); returns the head.
inline rte_mbuf* mbuf_chain_cat(rte_mbuf* a, rte_mbuf* b) noexcept {
  if (a == nullptr) {
    return b;
  }
  if (b == nullptr) {
    return a;
  }
  rte_mbuf* last = rte_pktmbuf_lastseg(a);
  last->next = b;
  a->nb_segs = static_cast<uint16_t>(a->nb_segs + b->nb_segs);
  a->pkt_len += b->pkt_len;
  return a;
}

}  // namespace linetls::net::tcp
