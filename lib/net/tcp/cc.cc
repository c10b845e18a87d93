#include "lib/net/tcp/cc.h"

#include <algorithm>
#include <cmath>

namespace linetls::net::tcp {
namespace {

constexpr uint64_t kMaxCwnd = uint64_t{1} << 30;
// RFC 9438: C = 0.4 (§5, segments per second cubed) and beta_cubic = 0.7 (§4.6).
constexpr double kC = 0.4;
constexpr double kBeta = 0.7;
// RFC 9438 §4.3: alpha_cubic = 3 * (1 - beta_cubic) / (1 + beta_cubic), the AIMD increase
// that gives CUBIC Reno's average window for the same loss rate.
constexpr double kAlphaCubic = 3.0 * (1.0 - kBeta) / (1.0 + kBeta);

uint32_t initial_window(uint32_t mss) noexcept {
  // RFC 6928 §2: "The upper bound for the initial window is: min (10*MSS, max (2*MSS,
  // 14600))".
  const uint64_t m = mss;
  return static_cast<uint32_t>(std::min<uint64_t>(10 * m, std::max<uint64_t>(2 * m, 14600)));
}

double seconds(uint64_t ns) noexcept { return static_cast<double>(ns) / 1e9; }

}  // namespace

CongestionControl::CongestionControl(CcAlgo algo, uint32_t mss) noexcept
    : algo_(algo), mss_(std::max<uint32_t>(mss, 1)), cwnd_(initial_window(mss_)) {}

void CongestionControl::set_cwnd(uint64_t bytes) noexcept {
  cwnd_ = static_cast<uint32_t>(std::clamp<uint64_t>(bytes, mss_, kMaxCwnd));
}

void CongestionControl::on_ack(uint32_t bytes_acked, uint64_t now_ns, uint64_t srtt_ns) noexcept {
  if (bytes_acked == 0) {
    return;
  }
  if (cwnd_ < ssthresh_) {
    // RFC 3465 §2.2: in slow start cwnd grows by the bytes acknowledged, "provided the
    // increase is not more than L bytes"; "TCP implementations MAY use L=2*SMSS bytes and
    // MUST NOT use L > 2*SMSS bytes."
    const uint32_t inc = std::min<uint32_t>(bytes_acked, 2 * mss_);
    const uint32_t room = ssthresh_ - cwnd_;
    if (inc < room) {
      set_cwnd(uint64_t{cwnd_} + inc);
      return;
    }
    // Reaching ssthresh ends slow start (RFC 5681 §3.1); the rest of this ACK counts
    // towards congestion avoidance.
    cwnd_ = ssthresh_;
    bytes_acked -= std::min(bytes_acked, room);
    if (bytes_acked == 0) {
      return;
    }
  }
  if (algo_ == CcAlgo::kNewReno) {
    reno_ca_ack(bytes_acked);
  } else {
    cubic_ack(bytes_acked, now_ns, srtt_ns);
  }
}

void CongestionControl::reno_ca_ack(uint32_t bytes_acked) noexcept {
  // RFC 3465 §2.1: "When bytes_acked becomes greater than or equal to the value of the
  // congestion window, bytes_acked is reduced by the value of cwnd. Next, cwnd is
  // incremented by a full-sized segment (SMSS)." At most one SMSS per ACK: RFC 5681 §3.1
  // allows no more than SMSS per RTT in congestion avoidance.
  bytes_acked_ca_ = static_cast<uint32_t>(
      std::min<uint64_t>(uint64_t{bytes_acked_ca_} + bytes_acked, 2 * uint64_t{cwnd_}));
  if (bytes_acked_ca_ >= cwnd_) {
    bytes_acked_ca_ -= cwnd_;
    set_cwnd(uint64_t{cwnd_} + mss_);
  }
}

void CongestionControl::cubic_ack(uint32_t bytes_acked, uint64_t now_ns,
                                  uint64_t srtt_ns) noexcept {
  const double mss = mss_;
  if (!in_epoch_) {
    // A congestion avoidance stage begins (RFC 9438 §4.2): cwnd_epoch = cwnd.
    in_epoch_ = true;
    epoch_start_ns_ = now_ns;
    cwnd_frac_ = 0;
    if (cwnd_ < w_max_) {
      // RFC 9438 §4.2, Figure 2: K = cubic_root((W_max - cwnd_epoch) / C), in segments.
      k_ = std::cbrt((w_max_ - cwnd_) / mss / kC);
    } else {
      // No usable W_max (first stage after an RTO, or cwnd already above it): RFC 9438
      // §4.8/§4.10 — "K is set to 0, and W_max is set to the congestion window size at
      // the beginning of the current congestion avoidance stage."
      k_ = 0;
      w_max_ = cwnd_;
    }
    // RFC 9438 §4.3: "W_est is set equal to cwnd_epoch at the start of the congestion
    // avoidance stage."
    w_est_ = cwnd_;
  }
  const double cwnd = cwnd_;
  const double t = seconds(now_ns >= epoch_start_ns_ ? now_ns - epoch_start_ns_ : 0);
  auto w_cubic = [&](double time) {
    // RFC 9438 §4.2, Figure 1: W_cubic(t) = C * (t - K)^3 + W_max (segments; here bytes).
    const double d = time - k_;
    return kC * d * d * d * mss + w_max_;
  };

  // RFC 9438 §4.3: W_est += alpha_cubic * segments_acked / cwnd. "Once W_est has grown to
  // reach the cwnd at the time of most recently setting ssthresh -- that is, W_est >=
  // cwnd_prior -- the sender SHOULD set alpha_cubic to 1".
  const double alpha = w_est_ >= cwnd_prior_ ? 1.0 : kAlphaCubic;
  w_est_ += alpha * bytes_acked * mss / cwnd;

  if (w_cubic(t) < w_est_) {
    // Reno-friendly region: "cwnd SHOULD be set to W_est".
    set_cwnd(static_cast<uint64_t>(std::max(w_est_, cwnd)));
    cwnd_frac_ = 0;
    return;
  }
  // Concave and convex regions (RFC 9438 §4.4, §4.5): the target is W_cubic one RTT ahead,
  // kept within [cwnd, 1.5 * cwnd], and "cwnd MUST be incremented by (target - cwnd) /
  // cwnd for each received new ACK" (per SMSS acknowledged, here in bytes).
  const double target = std::clamp(w_cubic(t + seconds(srtt_ns)), cwnd, 1.5 * cwnd);
  cwnd_frac_ += (target - cwnd) / cwnd * bytes_acked;
  const double whole = std::floor(cwnd_frac_);
  cwnd_frac_ -= whole;
  set_cwnd(cwnd_ + static_cast<uint64_t>(whole));
}

void CongestionControl::cubic_loss(uint64_t now_ns) noexcept {
  (void)now_ns;
  // RFC 9438 §4.7 fast convergence, before the reduction: "if (cwnd < W_max and
  // fast_convergence enabled) W_max = cwnd * (1 + beta_cubic) / 2; else W_max = cwnd".
  const double cwnd = cwnd_;
  w_max_ = cwnd < w_max_ ? cwnd * (1.0 + kBeta) / 2.0 : cwnd;
  cwnd_prior_ = cwnd_;  // RFC 9438 §4.6: "cwnd_prior = cwnd // save cwnd"
  in_epoch_ = false;    // the next congestion avoidance ACK starts a new epoch
  cwnd_frac_ = 0;
}

void CongestionControl::on_enter_recovery(uint32_t bytes_in_flight, uint64_t now_ns) noexcept {
  const uint64_t two_mss = 2 * uint64_t{mss_};
  uint64_t ss = 0;
  if (algo_ == CcAlgo::kNewReno) {
    // RFC 5681 §3.2 step 2: on the third duplicate ACK "a TCP MUST set ssthresh to no more
    // than the value given in equation (4)": ssthresh = max (FlightSize / 2, 2*SMSS).
    ss = std::max<uint64_t>(bytes_in_flight / 2, two_mss);
  } else {
    cubic_loss(now_ns);
    // RFC 9438 §4.6, Figure 5: ssthresh = flight_size * beta_cubic; cwnd = max(ssthresh,
    // 2) in segments on a loss.
    ss = std::max<uint64_t>(static_cast<uint64_t>(bytes_in_flight * kBeta), two_mss);
  }
  ssthresh_ = static_cast<uint32_t>(std::min(ss, kMaxCwnd));
  bytes_acked_ca_ = 0;
  set_cwnd(ssthresh_);
}

void CongestionControl::on_exit_recovery(uint64_t now_ns) noexcept {
  (void)now_ns;
  set_cwnd(ssthresh_);
  bytes_acked_ca_ = 0;
}

void CongestionControl::on_rto(uint32_t bytes_in_flight, uint64_t now_ns) noexcept {
  on_enter_recovery(bytes_in_flight, now_ns);
  if (algo_ == CcAlgo::kCubic) {
    // RFC 9438 §4.8: after a timeout the first congestion avoidance stage uses K = 0 and
    // W_max = cwnd at its start; clearing W_max makes cubic_ack() do exactly that.
    w_max_ = 0;
  }
  // RFC 5681 §3.1: "upon a timeout ... cwnd MUST be set to no more than the loss window,
  // LW, which equals 1 full-sized segment (regardless of the value of IW)."
  cwnd_ = mss_;
}

void CongestionControl::set_mss(uint32_t mss) noexcept {
  mss = std::max<uint32_t>(mss, 1);
  if (mss == mss_) {
    return;
  }
  const uint32_t old = mss_;
  mss_ = mss;
  if (cwnd_ == initial_window(old) && ssthresh_ == UINT32_MAX) {
    cwnd_ = initial_window(mss);
  } else {
    set_cwnd(uint64_t{cwnd_} * mss / old);
    if (ssthresh_ != UINT32_MAX) {
      ssthresh_ = static_cast<uint32_t>(
          std::clamp<uint64_t>(uint64_t{ssthresh_} * mss / old, 2 * uint64_t{mss}, kMaxCwnd));
    }
  }
  w_max_ = w_max_ * mss / old;
  w_est_ = w_est_ * mss / old;
  cwnd_prior_ = static_cast<uint32_t>(uint64_t{cwnd_prior_} * mss / old);
  in_epoch_ = false;  // K was computed in old segments
  bytes_acked_ca_ = 0;
  cwnd_frac_ = 0;
}

}  // namespace linetls::net::tcp
