// TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018): parsing and writing.
//
// parse_options() never fails as a whole on unknown options (RFC 9293 §3.2: "implementations
// MUST ignore unknown options"), but it rejects a malformed option list (a length byte < 2
// or running past the header): RFC 9293 §3.2 lets a receiver drop such a segment, which is
// what the caller does.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <utility>

#include "lib/net/tcp/seq.h"

namespace linetls::net::tcp {

inline constexpr uint8_t kOptEnd = 0;
inline constexpr uint8_t kOptNop = 1;
inline constexpr uint8_t kOptMss = 2;
inline constexpr uint8_t kOptWscale = 3;
inline constexpr uint8_t kOptSackPermitted = 4;
inline constexpr uint8_t kOptSack = 5;
inline constexpr uint8_t kOptTimestamp = 8;

inline constexpr uint8_t kMaxWscale = 14;  // RFC 7323 §2.3
inline constexpr size_t kMaxSackBlocks = 4;
inline constexpr size_t kMaxOptionsLen = 40;

struct SackBlock {
  Seq left;
  Seq right;  // exclusive
  friend constexpr bool operator==(const SackBlock&, const SackBlock&) = default;
};

struct TcpOptions {
  std::optional<uint16_t> mss;
  std::optional<uint8_t> wscale;  // as received (values > 14 are clamped to 14 by the parser)
  bool sack_permitted = false;
  std::optional<std::pair<uint32_t, uint32_t>> timestamp;  // (TSval, TSecr)
  std::array<SackBlock, kMaxSackBlocks> sack{};
  uint8_t num_sack = 0;

  // Equal options: the same fields present with the same values, and the same first
  // num_sack blocks (blocks past num_sack are ignored).
  friend bool operator==(const TcpOptions& a, const TcpOptions& b) noexcept;
};

// Parses the option bytes of a TCP header (data offset * 4 - 20 bytes). Options that are
// only legal on SYN (MSS, window scale, SACK-permitted) are parsed anyway; the caller
// decides what to honour. Returns false on a malformed list: more than kMaxOptionsLen
// bytes, a length byte < 2 or missing, an option running past the end, or a known option
// with the wrong length (MSS 4, window scale 3, SACK-permitted 2, timestamps 10, SACK
// 2 + 8n with n = 1..4). Parsing stops at End of Option List. A repeated option
// overwrites the earlier one. *out is written only on success.
[[nodiscard]] bool parse_options(std::span<const uint8_t> bytes, TcpOptions* out) noexcept;

// How many SACK blocks write_options() emits beside opts' other options: what fits in the
// 40 bytes (4 alone, 3 with timestamps, fewer on a SYN with everything), capped by
// opts.num_sack.
uint8_t sack_blocks_that_fit(const TcpOptions& opts) noexcept;

// Writes opts into out (which has room for kMaxOptionsLen bytes), padded with NOPs to a
// multiple of 4, in the order and alignment Linux uses (MSS, SACK-permitted+TS, NOP+WS on
// SYN; NOP NOP TS, then NOP NOP SACK blocks otherwise). SACK blocks beyond what fits with
// the timestamp (3 with, 4 without) are left out (see sack_blocks_that_fit()); a window
// scale above kMaxWscale is written as kMaxWscale. Returns the number of bytes written
// (a multiple of 4, at most kMaxOptionsLen).
size_t write_options(const TcpOptions& opts, std::span<uint8_t, kMaxOptionsLen> out) noexcept;

}  // namespace linetls::net::tcp
