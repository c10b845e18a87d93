// libFuzzer target: arbitrary bytes as a TCP header's option list.
//
// parse_options() must never read out of bounds, and whatever it accepts must survive a
// round trip: write_options() of the parsed options gives at most 40 bytes, a multiple of
// 4, that parse back to the same options (SACK blocks cut to what fits beside the rest,
// as write_options() documents). A mismatch traps, so the fuzzer reports it as a crash.
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/net/tcp/options.h"

using linetls::net::tcp::kMaxOptionsLen;
using linetls::net::tcp::kMaxWscale;
using linetls::net::tcp::parse_options;
using linetls::net::tcp::sack_blocks_that_fit;
using linetls::net::tcp::TcpOptions;
using linetls::net::tcp::write_options;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  TcpOptions parsed;
  if (!parse_options(std::span<const uint8_t>(data, size), &parsed)) {
    return 0;
  }
  if (size > kMaxOptionsLen || parsed.num_sack > 4 ||
      (parsed.wscale && *parsed.wscale > kMaxWscale)) {
    __builtin_trap();
  }
  std::array<uint8_t, kMaxOptionsLen> buf{};
  const size_t n = write_options(parsed, buf);
  if (n > kMaxOptionsLen || n % 4 != 0) {
    __builtin_trap();
  }
  TcpOptions again;
  if (!parse_options(std::span<const uint8_t>(buf.data(), n), &again)) {
    __builtin_trap();
  }
  TcpOptions want = parsed;
  want.num_sack = sack_blocks_that_fit(parsed);
  if (!(again == want)) {
    __builtin_trap();
  }
  // Writing is deterministic: the re-parsed options write the same bytes.
  std::array<uint8_t, kMaxOptionsLen> buf2{};
  if (write_options(again, buf2) != n || buf != buf2) {
    __builtin_trap();
  }
  return 0;
}
