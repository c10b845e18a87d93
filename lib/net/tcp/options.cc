#include "lib/net/tcp/options.h"

#include <algorithm>

#include "lib/base/bytes.h"

namespace linetls::net::tcp {
namespace {

constexpr uint8_t kLenMss = 4;
constexpr uint8_t kLenWscale = 3;
constexpr uint8_t kLenSackPermitted = 2;
constexpr uint8_t kLenTimestamp = 10;
constexpr size_t kSackBlockLen = 8;
// Bytes write_options() spends on a SACK option besides its blocks: NOP NOP kind len.
constexpr size_t kSackOverhead = 4;

// The bytes write_options() spends on everything except SACK blocks.
size_t fixed_options_len(const TcpOptions& o) noexcept {
  size_t n = 0;
  if (o.mss) {
    n += 4;  // 02 04 mss
  }
  if (o.timestamp) {
    n += 12;  // 04 02 08 0a ... or 01 01 08 0a ...
  } else if (o.sack_permitted) {
    n += 4;  // 01 01 04 02
  }
  if (o.wscale) {
    n += 4;  // 01 03 03 ws
  }
  return n;
}

}  // namespace

bool operator==(const TcpOptions& a, const TcpOptions& b) noexcept {
  if (a.mss != b.mss || a.wscale != b.wscale || a.sack_permitted != b.sack_permitted ||
      a.timestamp != b.timestamp || a.num_sack != b.num_sack) {
    return false;
  }
  const size_t n = std::min<size_t>(a.num_sack, kMaxSackBlocks);
  return std::equal(a.sack.begin(), a.sack.begin() + n, b.sack.begin());
}

bool parse_options(std::span<const uint8_t> bytes, TcpOptions* out) noexcept {
  // The data offset is 4 bits of 32-bit words, so a header carries at most 40 option bytes.
  if (bytes.size() > kMaxOptionsLen) {
    return false;
  }
  TcpOptions o;
  ByteReader r(bytes);
  while (!r.empty()) {
    uint8_t kind = 0;
    if (!r.read_u8(&kind)) {
      return false;
    }
    // RFC 9293 §3.1: End of Option List "indicates the end of the option list"; what
    // follows is padding and is not read.
    if (kind == kOptEnd) {
      break;
    }
    if (kind == kOptNop) {
      continue;
    }
    // RFC 9293 §3.1: "All TCP Options except End of Option List Option and No-Operation
    // MUST have length fields" and "TCP implementations MUST be prepared to handle an
    // illegal option length (e.g., zero)" (MUST-7). The length counts the kind and length
    // bytes, so one below 2, or one running past the header, makes the list malformed and
    // the caller drops the segment.
    uint8_t len = 0;
    std::span<const uint8_t> body;
    if (!r.read_u8(&len) || len < 2 || !r.read_bytes(len - 2u, &body)) {
      return false;
    }
    ByteReader b(body);
    switch (kind) {
      case kOptMss: {
        uint16_t mss = 0;
        if (len != kLenMss || !b.read_u16(&mss)) {
          return false;
        }
        o.mss = mss;
        break;
      }
      case kOptWscale: {
        uint8_t shift = 0;
        if (len != kLenWscale || !b.read_u8(&shift)) {
          return false;
        }
        // RFC 7323 §2.3: "If a Window Scale option is received with a shift.cnt value
        // larger than 14, the TCP SHOULD log the error but MUST use 14 instead of the
        // specified value." (The caller counts it; logging per segment would be a DoS.)
        o.wscale = std::min(shift, kMaxWscale);
        break;
      }
      case kOptSackPermitted:
        if (len != kLenSackPermitted) {
          return false;
        }
        o.sack_permitted = true;
        break;
      case kOptTimestamp: {
        uint32_t tsval = 0, tsecr = 0;
        if (len != kLenTimestamp || !b.read_u32(&tsval) || !b.read_u32(&tsecr)) {
          return false;
        }
        o.timestamp = std::make_pair(tsval, tsecr);
        break;
      }
      case kOptSack: {
        // RFC 2018 §3: "Length: Variable" = 2 + 8 * n; "a SACK option that specifies n
        // blocks will have a length of 8*n+2 bytes, so the 40 bytes available for TCP
        // options can specify a maximum of 4 blocks."
        const size_t n = (len - 2u) / kSackBlockLen;
        if ((len - 2u) % kSackBlockLen != 0 || n == 0 || n > kMaxSackBlocks) {
          return false;
        }
        for (size_t i = 0; i < n; i++) {
          uint32_t left = 0, right = 0;
          if (!b.read_u32(&left) || !b.read_u32(&right)) {
            return false;
          }
          o.sack[i] = SackBlock{Seq(left), Seq(right)};
        }
        o.num_sack = static_cast<uint8_t>(n);
        break;
      }
      default:
        // RFC 9293 §3.1: "A TCP implementation MUST ignore without error any TCP Option
        // it does not implement, assuming that the option has a length field" (MUST-6).
        break;
    }
  }
  *out = o;
  return true;
}

uint8_t sack_blocks_that_fit(const TcpOptions& opts) noexcept {
  const size_t used = fixed_options_len(opts);
  const size_t room = kMaxOptionsLen - used;
  const size_t fit =
      room < kSackOverhead + kSackBlockLen ? 0 : (room - kSackOverhead) / kSackBlockLen;
  return static_cast<uint8_t>(std::min({fit, size_t{opts.num_sack}, kMaxSackBlocks}));
}

size_t write_options(const TcpOptions& opts, std::span<uint8_t, kMaxOptionsLen> out) noexcept {
  ByteWriter w(out);
  // Linux's layout (tcp_options_write): every option 4-byte aligned, NOPs in front.
  if (opts.mss) {
    w.put_u8(kOptMss);
    w.put_u8(kLenMss);
    w.put_u16(*opts.mss);
  }
  if (opts.timestamp) {
    if (opts.sack_permitted) {
      w.put_u8(kOptSackPermitted);
      w.put_u8(kLenSackPermitted);
    } else {
      w.put_u8(kOptNop);
      w.put_u8(kOptNop);
    }
    w.put_u8(kOptTimestamp);
    w.put_u8(kLenTimestamp);
    w.put_u32(opts.timestamp->first);
    w.put_u32(opts.timestamp->second);
  } else if (opts.sack_permitted) {
    w.put_u8(kOptNop);
    w.put_u8(kOptNop);
    w.put_u8(kOptSackPermitted);
    w.put_u8(kLenSackPermitted);
  }
  if (opts.wscale) {
    w.put_u8(kOptNop);
    w.put_u8(kOptWscale);
    w.put_u8(kLenWscale);
    w.put_u8(std::min(*opts.wscale, kMaxWscale));
  }
  const uint8_t n = sack_blocks_that_fit(opts);
  if (n > 0) {
    w.put_u8(kOptNop);
    w.put_u8(kOptNop);
    w.put_u8(kOptSack);
    w.put_u8(static_cast<uint8_t>(2 + kSackBlockLen * n));
    for (size_t i = 0; i < n; i++) {
      w.put_u32(opts.sack[i].left.raw());
      w.put_u32(opts.sack[i].right.raw());
    }
  }
  // Every piece above is a multiple of 4 and sack_blocks_that_fit() keeps the total within
  // 40 bytes, so the writer cannot overflow.
  return w.ok() ? w.size() : 0;
}

}  // namespace linetls::net::tcp
