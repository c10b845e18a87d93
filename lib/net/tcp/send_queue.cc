#include "lib/net/tcp/send_queue.h"

#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>

namespace linetls::net::tcp {

SendQueue::~SendQueue() { clear(); }

void SendQueue::clear() noexcept {
  while (head_ != nullptr) {
    rte_mbuf* next = head_->next;
    head_->next = nullptr;
    rte_pktmbuf_free_seg(head_);
    head_ = next;
  }
  tail_ = cur_ = nullptr;
  head_seq_ = head_seq_ + len_;
  len_ = 0;
}

void SendQueue::reset(Seq first) noexcept {
  clear();
  head_seq_ = first;
}

void SendQueue::append(rte_mbuf* chain) noexcept {
  while (chain != nullptr) {
    rte_mbuf* seg = chain;
    chain = seg->next;
    seg->next = nullptr;
    if (seg->data_len == 0) {
      rte_pktmbuf_free_seg(seg);
      continue;
    }
    // Each segment stands alone from here on.
    seg->nb_segs = 1;
    seg->pkt_len = seg->data_len;
    if (tail_ == nullptr) {
      head_ = tail_ = seg;
      cur_ = nullptr;
    } else {
      tail_->next = seg;
      tail_ = seg;
    }
    len_ += seg->data_len;
  }
}

void SendQueue::ack_to(Seq seq) noexcept {
  uint32_t n = static_cast<uint32_t>(std::clamp<int32_t>(seq - head_seq_, 0, int32_t(len_)));
  len_ -= n;
  head_seq_ += n;
  while (n > 0 && head_ != nullptr) {
    if (n < head_->data_len) {
      // Indirect mbufs already cut from this segment keep their own offsets.
      head_->data_off = static_cast<uint16_t>(head_->data_off + n);
      head_->data_len = static_cast<uint16_t>(head_->data_len - n);
      head_->pkt_len = head_->data_len;
      break;
    }
    n -= head_->data_len;
    rte_mbuf* next = head_->next;
    if (cur_ == head_) {
      cur_ = nullptr;
    }
    head_->next = nullptr;
    rte_pktmbuf_free_seg(head_);
    head_ = next;
  }
  if (head_ == nullptr) {
    tail_ = nullptr;
  }
  if (cur_ != nullptr && cur_seq_ < head_seq_) {
    cur_ = nullptr;  // cur_ is the (trimmed) head now; restart from head_
  }
}

rte_mbuf* SendQueue::find(Seq seq, uint32_t* out_off) noexcept {
  rte_mbuf* s = head_;
  Seq s_seq = head_seq_;
  if (cur_ != nullptr && cur_seq_ <= seq) {
    s = cur_;
    s_seq = cur_seq_;
  }
  while (s != nullptr && seq - s_seq >= int32_t(s->data_len)) {
    s_seq += s->data_len;
    s = s->next;
  }
  if (s != nullptr) {
    cur_ = s;
    cur_seq_ = s_seq;
    *out_off = static_cast<uint32_t>(seq - s_seq);
  }
  return s;
}

bool SendQueue::attach(Seq seq, uint32_t len, rte_mempool* pool, rte_mbuf* hdr) noexcept {
  uint32_t off = 0;
  rte_mbuf* s = find(seq, &off);
  rte_mbuf* last = rte_pktmbuf_lastseg(hdr);
  while (len > 0 && s != nullptr) {
    const uint32_t take = std::min<uint32_t>(len, s->data_len - off);
    rte_mbuf* mi = rte_pktmbuf_alloc(pool);
    if (mi == nullptr) {
      return false;
    }
    rte_pktmbuf_attach(mi, s);
    mi->data_off = static_cast<uint16_t>(mi->data_off + off);
    mi->data_len = static_cast<uint16_t>(take);
    mi->pkt_len = take;
    last->next = mi;
    last = mi;
    hdr->nb_segs++;
    hdr->pkt_len += take;
    len -= take;
    off = 0;
    s = s->next;
  }
  return len == 0;
}

void SendQueue::copy(Seq seq, uint32_t len, uint8_t* dst) noexcept {
  uint32_t off = 0;
  rte_mbuf* s = find(seq, &off);
  while (len > 0 && s != nullptr) {
    const uint32_t take = std::min<uint32_t>(len, s->data_len - off);
    std::memcpy(dst, rte_pktmbuf_mtod_offset(s, const uint8_t*, off), take);
    dst += take;
    len -= take;
    off = 0;
    s = s->next;
  }
}

}  // namespace linetls::net::tcp
