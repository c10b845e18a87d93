// The sender's SACK scoreboard (RFC 6675 §3): the ranges above snd.una the peer reported
// holding, sorted and merged. Bounded (TcpConfig::sack_scoreboard_max): a peer sending
// many tiny disjoint blocks (the CVE-2019-11477 class) cannot make it grow without limit;
// blocks that do not fit are ignored, which only makes recovery retransmit more.
#pragma once

#include <cstdint>
#include <vector>

#include "lib/net/tcp/options.h"
#include "lib/net/tcp/seq.h"

namespace linetls::net::tcp {

class SackScoreboard {
 public:
  // Adds a reported block, clipped to [una, nxt). Returns false when it was ignored
  // because the scoreboard is full.
  bool add(SackBlock b, Seq una, Seq nxt, uint32_t max_ranges) noexcept;
  // Forgets everything below una (acknowledged cumulatively).
  void ack_to(Seq una) noexcept;
  void clear() noexcept;
  bool empty() const noexcept { return ranges_.empty(); }
  // Bytes SACKed in total.
  uint32_t sacked_bytes() const noexcept { return sacked_; }
  // The highest SACKed sequence number + 1 (HighSACK + 1); una when empty.
  Seq high_sacked(Seq una) const noexcept { return ranges_.empty() ? una : ranges_.back().right; }
  // Whether seq is SACKed; if not, *out_next_sacked is where the next SACKed range starts
  // (or `limit` when none before it).
  bool is_sacked(Seq seq, Seq limit, Seq* out_next_sacked) const noexcept;
  // RFC 6675 §4 IsLost as a boundary: every unSACKed sequence number below the returned
  // one is lost, because at least dup_thresh discontiguous SACKed ranges, or more than
  // (dup_thresh - 1) * smss SACKed bytes, lie above it; none at or above it is. Returns una
  // when nothing is lost (IsLost(una) is false).
  Seq lost_boundary(Seq una, uint32_t dup_thresh, uint32_t smss) const noexcept;
  // Bytes in [lo, hi) not SACKed.
  uint32_t unsacked_in(Seq lo, Seq hi) const noexcept;
  size_t num_ranges() const noexcept { return ranges_.size(); }

 private:
  std::vector<SackBlock> ranges_;
  uint32_t sacked_ = 0;
};

}  // namespace linetls::net::tcp
