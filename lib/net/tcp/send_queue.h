// The send side of a connection: the application's mbuf segments, linked into one chain
// from snd.una to the last byte queued, kept (by reference) until acknowledged.
//
// Segments to transmit are cut by reference: each payload piece is an indirect mbuf
// attached to the queued segment (rte_pktmbuf_attach), so no payload byte is copied; a port
// that cannot take chains gets the bytes copied into the header mbuf instead (counted by
// the caller). Acknowledged bytes are trimmed from the front and whole segments freed (an
// indirect clone still on the wire keeps its own reference).
#pragma once

#include <cstdint>

#include "lib/net/tcp/seq.h"

struct rte_mbuf;
struct rte_mempool;

namespace linetls::net::tcp {

class SendQueue {
 public:
  SendQueue() noexcept = default;
  ~SendQueue();
  SendQueue(const SendQueue&) = delete;
  SendQueue& operator=(const SendQueue&) = delete;

  // The sequence number of the first queued byte (snd.una once data flows).
  void reset(Seq first) noexcept;
  Seq head_seq() const noexcept { return head_seq_; }
  Seq end_seq() const noexcept { return head_seq_ + len_; }
  uint32_t size() const noexcept { return len_; }

  // Appends every segment of chain (takes ownership; empty segments are freed).
  void append(rte_mbuf* chain) noexcept;
  // Drops the bytes before seq (acknowledged).
  void ack_to(Seq seq) noexcept;
  // A chain of indirect mbufs for [seq, seq + len), allocated from pool and appended to
  // hdr (whose pkt_len/nb_segs are updated). False when an mbuf could not be allocated
  // (hdr keeps what was attached; the caller frees it).
  [[nodiscard]] bool attach(Seq seq, uint32_t len, rte_mempool* pool, rte_mbuf* hdr) noexcept;
  // Copies [seq, seq + len) to dst.
  void copy(Seq seq, uint32_t len, uint8_t* dst) noexcept;
  // Frees everything.
  void clear() noexcept;

 private:
  // The segment holding seq, and the offset of seq in it.
  rte_mbuf* find(Seq seq, uint32_t* out_off) noexcept;

  rte_mbuf* head_ = nullptr;
  rte_mbuf* tail_ = nullptr;
  Seq head_seq_;
  uint32_t len_ = 0;
  // A cursor into the chain: cur_ starts at cur_seq_ (sequential sends walk from here).
  rte_mbuf* cur_ = nullptr;
  Seq cur_seq_;
};

}  // namespace linetls::net::tcp
