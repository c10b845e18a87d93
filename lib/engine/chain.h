// Mbuf chain helpers for apps that move bytes between streams: append, and take a prefix
// of an exact length (splitting a segment by reference, never by copying payload).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

namespace linetls::engine {

// Appends chain b after chain a (either may be nullptr); returns the head.
inline rte_mbuf* chain_append(rte_mbuf* a, rte_mbuf* b) noexcept {
  if (a == nullptr) {
    return b;
  }
  if (b == nullptr) {
    return a;
  }
  rte_pktmbuf_lastseg(a)->next = b;
  a->pkt_len += b->pkt_len;
  a->nb_segs = static_cast<uint16_t>(a->nb_segs + b->nb_segs);
  return a;
}

// Detaches the first min(n, pkt_len) bytes of *chain and returns them as a chain; *chain
// keeps the rest (nullptr when all went). A segment cut in two keeps its head part and the
// tail becomes an indirect mbuf (from pool) attached to the same data. Returns nullptr when
// n == 0, *chain is nullptr, or no mbuf is left for the split (nothing changes then).
// Every segment header of *chain must be ours (refcount 1).
inline rte_mbuf* chain_take(rte_mbuf** chain, uint32_t n, rte_mempool* pool) noexcept {
  rte_mbuf* head = *chain;
  if (head == nullptr || n == 0) {
    return nullptr;
  }
  if (n >= head->pkt_len) {
    *chain = nullptr;
    return head;
  }
  // Find the segment holding byte n.
  uint32_t before = 0;
  uint16_t segs = 0;
  rte_mbuf* last = nullptr;
  rte_mbuf* s = head;
  while (before + s->data_len <= n) {
    before += s->data_len;
    segs++;
    last = s;
    s = s->next;
  }
  rte_mbuf* rest = nullptr;
  const uint32_t cut = n - before;  // bytes of s that go with the head part
  if (cut == 0) {
    rest = s;
    last->next = nullptr;
  } else {
    rte_mbuf* tail = rte_pktmbuf_alloc(pool);
    if (tail == nullptr) {
      return nullptr;
    }
    rte_pktmbuf_attach(tail, s);
    tail->data_off = static_cast<uint16_t>(s->data_off + cut);
    tail->data_len = static_cast<uint16_t>(s->data_len - cut);
    tail->next = s->next;
    s->data_len = static_cast<uint16_t>(cut);
    s->next = nullptr;
    segs++;
    rest = tail;
  }
  rest->pkt_len = head->pkt_len - n;
  rest->nb_segs = static_cast<uint16_t>(head->nb_segs - segs + (cut != 0 ? 1 : 0));
  head->pkt_len = n;
  head->nb_segs = segs;
  *chain = rest;
  return head;
}

}  // namespace linetls::engine
