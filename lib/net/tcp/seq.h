// TCP sequence numbers: 32-bit modular arithmetic with wrap-aware comparison
// (RFC 9293 §3.4: "the comparisons are done modulo 2**32"). A distinct type, so a
// sequence number is never compared with a plain integer or a length by accident.
#pragma once

#include <cstdint>

namespace linetls::net::tcp {

class Seq {
 public:
  constexpr Seq() noexcept = default;
  constexpr explicit Seq(uint32_t v) noexcept : v_(v) {}
  constexpr uint32_t raw() const noexcept { return v_; }

  constexpr Seq operator+(uint32_t n) const noexcept { return Seq(v_ + n); }
  constexpr Seq operator-(uint32_t n) const noexcept { return Seq(v_ - n); }
  constexpr Seq& operator+=(uint32_t n) noexcept {
    v_ += n;
    return *this;
  }
  // The signed distance from b to a (a - b), valid while |a - b| < 2^31.
  friend constexpr int32_t operator-(Seq a, Seq b) noexcept {
    return static_cast<int32_t>(a.v_ - b.v_);
  }
  friend constexpr bool operator==(Seq a, Seq b) noexcept { return a.v_ == b.v_; }
  friend constexpr bool operator<(Seq a, Seq b) noexcept { return (a - b) < 0; }
  friend constexpr bool operator<=(Seq a, Seq b) noexcept { return (a - b) <= 0; }
  friend constexpr bool operator>(Seq a, Seq b) noexcept { return (a - b) > 0; }
  friend constexpr bool operator>=(Seq a, Seq b) noexcept { return (a - b) >= 0; }

 private:
  uint32_t v_ = 0;
};

// lo <= s < hi, modulo 2^32 (an empty range when lo == hi).
constexpr bool seq_in(Seq s, Seq lo, Seq hi) noexcept { return lo <= s && s < hi; }
constexpr Seq seq_max(Seq a, Seq b) noexcept { return a < b ? b : a; }
constexpr Seq seq_min(Seq a, Seq b) noexcept { return a < b ? a : b; }

}  // namespace linetls::net::tcp
