// Initial sequence numbers (RFC 6528) and SYN cookies (RFC 4987 §3.6), from one keyed hash.
//
// ISN = M + F(localip, localport, remoteip, remoteport, secret): M a 4 µs timer, F SipHash
// keyed with a per-worker random secret (libcrypto's EVP_MAC "SIPHASH" — we do not write
// the PRF ourselves).
//
// A SYN cookie is the ISN we answer a SYN with when the backlog is full: 24 bits of MAC
// over the 4-tuple, the peer's ISN and a 64-second time slot, plus the index of the MSS
// in a small table. When timestamps are on, the window scale (4 bits) and SACK-permitted
// (1 bit) are carried in the low bits of our TSval, as Linux does; without timestamps
// the connection proceeds without window scaling and SACK. A cookie is accepted for the
// current and the previous time slot only.
//
// Cookie layout (our ISN): bits 31..8 the top 24 bits of SipHash(tuple, peer ISN, full
// slot number, MSS index, option bits), bits 7..2 the slot number mod 64, bits 1..0 the
// MSS index. The option bits (when timestamps are on: 1 << 5 | SACK << 4 | wscale, with
// wscale 15 for "none"; otherwise 0) are authenticated by the MAC, so a peer cannot
// change them in the echoed TSval. A forgery passes with probability 2^-24.
//
// Not thread-safe: one generator per worker (it holds a libcrypto MAC context).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>

#include "lib/net/addr.h"
#include "lib/net/tcp/seq.h"

namespace linetls::net::tcp {

struct FourTuple {
  Ipv4Addr local_ip;
  uint16_t local_port = 0;
  Ipv4Addr remote_ip;
  uint16_t remote_port = 0;
  friend constexpr bool operator==(const FourTuple&, const FourTuple&) = default;
};

// The MSS values a cookie can encode (the largest one <= the peer's MSS is used; 536 when
// the peer's is smaller still).
inline constexpr std::array<uint16_t, 4> kCookieMssTable = {536, 1300, 1440, 1460};
// A cookie's time slot; one is accepted during its own slot and the next.
inline constexpr uint64_t kCookieSlotNs = 64'000'000'000;
// The low bits of our TSval that carry window scale and SACK-permitted in a cookie.
inline constexpr uint32_t kCookieTsBits = 5;

struct CookieSyn {
  uint16_t mss = 536;
  std::optional<uint8_t> wscale;  // only when the peer sent timestamps
  bool sack_permitted = false;    // only when the peer sent timestamps
};

class IsnGenerator {
 public:
  // secret: 16 bytes of key from the CSPRNG (tests pass fixed bytes); copied. Aborts if
  // libcrypto offers no SIPHASH (a broken installation: the stack must not run with
  // predictable sequence numbers).
  explicit IsnGenerator(std::span<const uint8_t, 16> secret);
  ~IsnGenerator();
  IsnGenerator(const IsnGenerator&) = delete;
  IsnGenerator& operator=(const IsnGenerator&) = delete;

  // RFC 6528 ISN for t at time now_ns: (now_ns / 4000) + low 32 bits of SipHash(t).
  Seq isn(const FourTuple& t, uint64_t now_ns) const noexcept;

  // Our ISN for a cookie SYN-ACK answering peer_isn, and (when the peer sent timestamps)
  // the TSval carrying wscale/SACK in its low 5 bits (base_tsval's high bits are kept;
  // when that would put the TSval ahead of base_tsval it is moved back by 32 ticks, so
  // our timestamps never run backwards once the connection uses the real clock).
  // syn.wscale and syn.sack_permitted are dropped when base_tsval is nullopt; a wscale
  // above 14 is encoded as 14.
  struct Cookie {
    Seq isn;
    std::optional<uint32_t> tsval;
  };
  Cookie make_cookie(const FourTuple& t, Seq peer_isn, const CookieSyn& syn, uint64_t now_ns,
                     std::optional<uint32_t> base_tsval) const noexcept;

  // Checks the ACK completing a cookie handshake: ack_seq - 1 must be a cookie for t and
  // peer_isn (= seq - 1) from this or the previous time slot. tsecr is the echoed TSval
  // when the ACK carries timestamps. nullopt for a stale or forged cookie.
  std::optional<CookieSyn> check_cookie(const FourTuple& t, Seq peer_isn, Seq cookie_isn,
                                        std::optional<uint32_t> tsecr,
                                        uint64_t now_ns) const noexcept;

 private:
  uint64_t mac(const FourTuple& t, uint64_t extra) const noexcept;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace linetls::net::tcp
