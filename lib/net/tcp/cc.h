// Congestion control behind one small value type embedded in each TCB.
//
// CUBIC (RFC 9438) is the default, NewReno (RFC 5681 / RFC 6582 window rules) the other.
// The TCB tells it what happened (bytes newly acknowledged, entry into and exit from loss
// recovery, a retransmission timeout); it answers with cwnd and ssthresh in bytes. Loss
// detection itself (dupacks, SACK, RTO) stays in the TCB.
//
// Slow start (both algorithms) uses RFC 3465 Appropriate Byte Counting with L = 2: each
// ACK grows cwnd by the bytes it acknowledges, at most 2 * mss. Congestion avoidance:
// NewReno adds one mss per cwnd of acknowledged bytes (RFC 3465 §2.1); CUBIC follows
// W_cubic(t + RTT) with C = 0.4, beta = 0.7, fast convergence and the Reno-friendly
// estimate W_est (RFC 9438 §4.2–§4.7). Windows are capped at 1 GiB.
#pragma once

#include <cstdint>

namespace linetls::net::tcp {

enum class CcAlgo : uint8_t { kCubic, kNewReno };

class CongestionControl {
 public:
  // RFC 6928 initial window: min(10 * mss, max(2 * mss, 14600)). mss must be > 0.
  CongestionControl(CcAlgo algo, uint32_t mss) noexcept;

  CcAlgo algo() const noexcept { return algo_; }
  uint32_t cwnd() const noexcept { return cwnd_; }
  uint32_t ssthresh() const noexcept { return ssthresh_; }
  uint32_t mss() const noexcept { return mss_; }
  bool in_slow_start() const noexcept { return cwnd_ < ssthresh_; }

  // New data acknowledged outside loss recovery. srtt_ns: the smoothed RTT (0 unknown).
  void on_ack(uint32_t bytes_acked, uint64_t now_ns, uint64_t srtt_ns) noexcept;
  // A loss detected by dupacks/SACK: sets ssthresh (CUBIC: beta 0.7 and fast
  // convergence; NewReno: max(flight/2, 2*mss)) and cwnd = ssthresh.
  void on_enter_recovery(uint32_t bytes_in_flight, uint64_t now_ns) noexcept;
  // Recovery ended (snd.una passed the recovery point): cwnd = ssthresh.
  void on_exit_recovery(uint64_t now_ns) noexcept;
  // RTO: ssthresh as on loss, cwnd = 1 mss (RFC 5681 loss window); CUBIC restarts its epoch.
  // Call it for the first timeout of a segment only: RFC 5681 §3.1 lowers ssthresh when
  // the segment "has not yet been resent by way of the retransmission timer", so a
  // backed-off repeat must not halve it again.
  void on_rto(uint32_t bytes_in_flight, uint64_t now_ns) noexcept;
  // A further RTO of a segment already retransmitted by timeout: cwnd stays at the loss
  // window (1 mss); ssthresh and CUBIC's epoch state are left alone (RFC 5681 §3.1).
  void on_repeated_rto() noexcept { cwnd_ = mss_; }
  // The path MSS changed (after the handshake, from the peer's MSS option). An untouched
  // initial window becomes the initial window for the new mss; otherwise cwnd and
  // ssthresh keep their size in segments.
  void set_mss(uint32_t mss) noexcept;

  // CUBIC internals for tests and stats (RFC 9438 names; windows in bytes, K in seconds).
  double cubic_w_max() const noexcept { return w_max_; }
  double cubic_k() const noexcept { return k_; }
  double cubic_w_est() const noexcept { return w_est_; }

 private:
  void reno_ca_ack(uint32_t bytes_acked) noexcept;
  void cubic_ack(uint32_t bytes_acked, uint64_t now_ns, uint64_t srtt_ns) noexcept;
  void cubic_loss(uint64_t now_ns) noexcept;
  void set_cwnd(uint64_t bytes) noexcept;

  CcAlgo algo_;
  uint32_t mss_;
  uint32_t cwnd_;
  uint32_t ssthresh_ = UINT32_MAX;
  uint32_t bytes_acked_ca_ = 0;  // NewReno appropriate byte counting in CA
  // CUBIC state (RFC 9438 §4), windows in bytes.
  bool in_epoch_ = false;        // a congestion avoidance stage has started
  uint64_t epoch_start_ns_ = 0;  // when it started
  double w_max_ = 0;
  double k_ = 0;
  double w_est_ = 0;
  double cwnd_frac_ = 0;  // growth below one byte, carried to the next ACK
  uint32_t cwnd_prior_ = 0;
};

}  // namespace linetls::net::tcp
