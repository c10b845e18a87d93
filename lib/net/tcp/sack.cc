#include "lib/net/tcp/sack.h"

#include <algorithm>

namespace linetls::net::tcp {

bool SackScoreboard::add(SackBlock b, Seq una, Seq nxt, uint32_t max_ranges) noexcept {
  b.left = seq_max(b.left, una);
  b.right = seq_min(b.right, nxt);
  if (b.right <= b.left) {
    return true;
  }
  // First range that ends at or after b.left (could merge).
  auto it = std::find_if(ranges_.begin(), ranges_.end(),
                         [&](const SackBlock& r) { return r.right >= b.left; });
  if (it == ranges_.end() || it->left > b.right) {
    if (ranges_.size() >= max_ranges) {
      return false;
    }
    ranges_.insert(it, b);
    sacked_ += static_cast<uint32_t>(b.right - b.left);
    return true;
  }
  // Merge b with every range it touches.
  Seq l = seq_min(it->left, b.left);
  Seq r = b.right;
  auto last = it;
  while (last != ranges_.end() && last->left <= b.right) {
    r = seq_max(r, last->right);
    sacked_ -= static_cast<uint32_t>(last->right - last->left);
    ++last;
  }
  *it = SackBlock{l, r};
  ranges_.erase(it + 1, last);
  sacked_ += static_cast<uint32_t>(r - l);
  return true;
}

void SackScoreboard::ack_to(Seq una) noexcept {
  size_t drop = 0;
  for (SackBlock& r : ranges_) {
    if (r.right <= una) {
      sacked_ -= static_cast<uint32_t>(r.right - r.left);
      drop++;
      continue;
    }
    if (r.left < una) {
      sacked_ -= static_cast<uint32_t>(una - r.left);
      r.left = una;
    }
    break;
  }
  ranges_.erase(ranges_.begin(), ranges_.begin() + static_cast<ptrdiff_t>(drop));
}

void SackScoreboard::clear() noexcept {
  ranges_.clear();
  sacked_ = 0;
}

bool SackScoreboard::is_sacked(Seq seq, Seq limit, Seq* out_next_sacked) const noexcept {
  for (const SackBlock& r : ranges_) {
    if (seq < r.left) {
      *out_next_sacked = seq_min(r.left, limit);
      return false;
    }
    if (seq < r.right) {
      *out_next_sacked = r.right;  // the end of the SACKed run
      return true;
    }
  }
  *out_next_sacked = limit;
  return false;
}

Seq SackScoreboard::lost_boundary(Seq una, uint32_t dup_thresh, uint32_t smss) const noexcept {
  // RFC 6675 §4 IsLost(SeqNum): "returns true when either DupThresh discontiguous SACKed
  // sequences have arrived above 'SeqNum' or more than (DupThresh - 1) * SMSS bytes with
  // sequence numbers greater than 'SeqNum' have been SACKed." Walking down from the highest
  // range, the first range at whose left edge either holds is the boundary: the ranges are
  // discontiguous, so every unSACKed byte below it has that range and those above it above.
  uint64_t bytes = 0;
  uint32_t count = 0;
  const uint64_t byte_thresh = uint64_t{dup_thresh > 0 ? dup_thresh - 1 : 0} * smss;
  for (auto it = ranges_.rbegin(); it != ranges_.rend(); ++it) {
    bytes += static_cast<uint32_t>(it->right - it->left);
    count++;
    if (count >= dup_thresh || bytes > byte_thresh) {
      return seq_max(it->left, una);
    }
  }
  return una;
}

uint32_t SackScoreboard::unsacked_in(Seq lo, Seq hi) const noexcept {
  if (hi <= lo) {
    return 0;
  }
  uint32_t n = static_cast<uint32_t>(hi - lo);
  for (const SackBlock& r : ranges_) {
    const Seq l = seq_max(r.left, lo);
    const Seq rr = seq_min(r.right, hi);
    if (l < rr) {
      n -= static_cast<uint32_t>(rr - l);
    }
  }
  return n;
}

}  // namespace linetls::net::tcp
