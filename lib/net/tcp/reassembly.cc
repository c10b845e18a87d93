#include "lib/net/tcp/reassembly.h"

#include <rte_mbuf.h>

#include <algorithm>

#include "lib/net/mbuf_util.h"
#include "lib/net/tcp/mbuf_chain.h"

namespace linetls::net::tcp {

Reassembly::~Reassembly() {
  for (Seg& s : segs_) {
    rte_pktmbuf_free(s.m);
  }
}

void Reassembly::clear(const Limits& lim) noexcept {
  for (Seg& s : segs_) {
    rte_pktmbuf_free(s.m);
  }
  *lim.worker_bytes -= bytes_;
  segs_.clear();
  segs_.shrink_to_fit();
  bytes_ = 0;
}

bool Reassembly::insert(Seq seq, rte_mbuf* m, uint32_t len, const Limits& lim) noexcept {
  Seq end = seq + len;
  // Trim against held segments: the first one that ends after seq.
  auto it = std::find_if(segs_.begin(), segs_.end(),
                         [&](const Seg& s) { return s.seq + s.len > seq; });
  // Drop held segments entirely covered by the new one.
  while (it != segs_.end() && seq <= it->seq && it->seq + it->len <= end) {
    rte_pktmbuf_free(it->m);
    bytes_ -= it->len;
    *lim.worker_bytes -= it->len;
    it = segs_.erase(it);
  }
  if (it != segs_.end() && it->seq <= seq) {
    // Overlaps the start of the new one (or covers it).
    const uint32_t held_end_off = static_cast<uint32_t>((it->seq + it->len) - seq);
    if (held_end_off >= len) {
      rte_pktmbuf_free(m);
      return false;  // nothing new
    }
    m = mbuf_chain_adj(m, held_end_off);
    seq = seq + held_end_off;
    len -= held_end_off;
    ++it;
  }
  if (it != segs_.end() && it->seq < end) {
    // Overlaps the start of the next held one: keep only what precedes it.
    len = static_cast<uint32_t>(it->seq - seq);
    mbuf_trim_to(m, len);
    end = seq + len;
  }
  if (len == 0) {
    rte_pktmbuf_free(m);
    return false;
  }
  if (bytes_ + len > lim.max_bytes || segs_.size() >= lim.max_segments ||
      *lim.worker_bytes + len > lim.max_worker_bytes) {
    rte_pktmbuf_free(m);
    return false;
  }
  segs_.insert(it, Seg{seq, len, m});
  bytes_ += len;
  *lim.worker_bytes += len;
  return true;
}

rte_mbuf* Reassembly::pop_in_order(Seq rcv_nxt, uint32_t* out_len, const Limits& lim) noexcept {
  rte_mbuf* head = nullptr;
  uint32_t total = 0;
  while (!segs_.empty()) {
    Seg s = segs_.front();
    if (s.seq > rcv_nxt) {
      break;
    }
    segs_.erase(segs_.begin());
    bytes_ -= s.len;
    *lim.worker_bytes -= s.len;
    const uint32_t dup = static_cast<uint32_t>(rcv_nxt - s.seq);
    if (dup >= s.len) {
      rte_pktmbuf_free(s.m);
      continue;
    }
    rte_mbuf* m = dup > 0 ? mbuf_chain_adj(s.m, dup) : s.m;
    const uint32_t n = s.len - dup;
    rcv_nxt = rcv_nxt + n;
    total += n;
    head = mbuf_chain_cat(head, m);
  }
  *out_len = total;
  return head;
}

uint8_t Reassembly::sack_blocks(Seq recent, SackBlock* out, uint8_t max) const noexcept {
  // Merge adjacent held segments into ranges.
  struct Range {
    Seq l, r;
  };
  uint8_t n = 0;
  std::optional<Range> first;
  Range ranges[kMaxSackBlocks];
  uint8_t num_ranges = 0;
  for (size_t i = segs_.size(); i-- > 0;) {
    Seq r = segs_[i].seq + segs_[i].len;
    Seq l = segs_[i].seq;
    while (i > 0 && segs_[i - 1].seq + segs_[i - 1].len == l) {
      --i;
      l = segs_[i].seq;
    }
    if (seq_in(recent, l, r) && !first) {
      first = Range{l, r};
    } else if (num_ranges < kMaxSackBlocks) {
      ranges[num_ranges++] = Range{l, r};
    }
  }
  if (first && n < max) {
    out[n++] = SackBlock{first->l, first->r};
  }
  for (uint8_t i = 0; i < num_ranges && n < max; i++) {
    out[n++] = SackBlock{ranges[i].l, ranges[i].r};
  }
  return n;
}

}  // namespace linetls::net::tcp
