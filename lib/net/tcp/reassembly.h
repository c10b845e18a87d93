// The receive out-of-order queue: payload that arrived beyond rcv.nxt, held in the mbufs it
// arrived in, sorted and non-overlapping (a new segment is trimmed against what is held;
// one that covers held data replaces it). Bounded per connection (bytes and segments) and
// per worker (bytes, through a shared budget); what does not fit is dropped and counted.
#pragma once

#include <cstdint>
#include <vector>

#include "lib/net/tcp/options.h"
#include "lib/net/tcp/seq.h"

struct rte_mbuf;

namespace linetls::net::tcp {

class Reassembly {
 public:
  struct Limits {
    uint32_t max_bytes;
    uint32_t max_segments;
    uint64_t* worker_bytes;  // shared by every connection of the worker
    uint64_t max_worker_bytes;
  };

  Reassembly() noexcept = default;
  ~Reassembly();
  Reassembly(const Reassembly&) = delete;
  Reassembly& operator=(const Reassembly&) = delete;

  // Holds payload m (len bytes starting at seq, seq > rcv_nxt). Always consumes m. Returns
  // false when it was dropped for lack of room (nothing was new, or a limit was hit).
  bool insert(Seq seq, rte_mbuf* m, uint32_t len, const Limits& lim) noexcept;
  // Removes and returns the data now in order at rcv_nxt as one chain (nullptr when the
  // first held segment starts later), with *out_len its length. Data before rcv_nxt
  // (already received) is trimmed off.
  rte_mbuf* pop_in_order(Seq rcv_nxt, uint32_t* out_len, const Limits& lim) noexcept;
  // The held ranges as SACK blocks, the one containing `recent` first (RFC 2018 §4: "the
  // first SACK block ... MUST specify the contiguous block of data containing the segment
  // which triggered this ACK"), then the rest from the highest down. Returns the count.
  uint8_t sack_blocks(Seq recent, SackBlock* out, uint8_t max) const noexcept;
  bool empty() const noexcept { return segs_.empty(); }
  uint32_t bytes() const noexcept { return bytes_; }
  size_t num_segments() const noexcept { return segs_.size(); }
  void clear(const Limits& lim) noexcept;

 private:
  struct Seg {
    Seq seq;
    uint32_t len;
    rte_mbuf* m;
  };
  std::vector<Seg> segs_;
  uint32_t bytes_ = 0;
};

}  // namespace linetls::net::tcp
