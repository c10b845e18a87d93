// The load generator's reading of an HTTP/1.1 response head (untrusted: the server under
// test writes it). Only what the generator needs: the status, the body length, whether the
// server will close. Strict: a head without Content-Length, with two, or with a length that
// does not parse is refused (the generator counts an "http" error), as is any line without
// its CRLF.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace linetls::perf {

struct ResponseHead {
  unsigned status = 0;          // 100..599
  uint64_t content_length = 0;  // at most kMaxContentLength
  bool close = false;           // "Connection: close" (any case)
};

inline constexpr uint64_t kMaxContentLength = uint64_t{1} << 50;

// head: the bytes of one response head up to and including the empty line ("\r\n\r\n").
std::optional<ResponseHead> parse_response_head(std::string_view head) noexcept;

}  // namespace linetls::perf
