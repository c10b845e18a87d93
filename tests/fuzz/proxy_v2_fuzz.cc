// libFuzzer target: arbitrary bytes as the start of a connection that must begin with a
// PROXY protocol v2 header.
//
// decode_proxy_v2() must never read out of bounds, and what it accepts must hold together:
// the header fits the input, one byte less is kNeedMoreBytes, and a PROXY header for TCP
// over IPv4 whose facts the encoder accepts survives a round trip: encode_proxy_v2() of
// the decoded facts decodes to the same facts, and where the input is canonical (its TLVs
// are exactly the ones the encoder writes, byte for byte) the re-encoded header is the
// input's header. A mismatch traps, so the fuzzer reports it as a crash.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "lib/proxy/proxy_v2.h"

using linetls::Result;
using linetls::proxy::Command;
using linetls::proxy::decode_proxy_v2;
using linetls::proxy::encode_proxy_v2;
using linetls::proxy::Error;
using linetls::proxy::Family;
using linetls::proxy::kFixedHeaderLen;
using linetls::proxy::kMaxHeaderLen;
using linetls::proxy::proxy_v2_size;
using linetls::proxy::ProxyV2Header;
using linetls::proxy::Transport;

namespace {

bool same_bytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> in(data, size);
  Result<ProxyV2Header, Error> h = decode_proxy_v2(in);
  if (!h) {
    // A complete header is never longer than kMaxHeaderLen.
    if (h.error() == Error::kNeedMoreBytes && size >= kMaxHeaderLen) {
      __builtin_trap();
    }
    return 0;
  }
  if (h->header_len < kFixedHeaderLen || h->header_len > size || h->header_len > kMaxHeaderLen) {
    __builtin_trap();
  }
  // The header alone decodes the same; one byte less is incomplete, not wrong.
  Result<ProxyV2Header, Error> alone = decode_proxy_v2(in.first(h->header_len));
  if (!alone || alone->header_len != h->header_len || !(alone->info == h->info)) {
    __builtin_trap();
  }
  Result<ProxyV2Header, Error> cut = decode_proxy_v2(in.first(h->header_len - 1));
  if (cut || cut.error() != Error::kNeedMoreBytes) {
    __builtin_trap();
  }

  if (h->command != Command::kProxy || h->family != Family::kInet ||
      h->transport != Transport::kStream) {
    return 0;
  }
  Result<size_t, Error> want = proxy_v2_size(h->info);
  if (!want) {
    return 0;  // facts we never send, e.g. a CN without a verified certificate
  }
  std::vector<uint8_t> out(*want);
  Result<size_t, Error> n = encode_proxy_v2(h->info, out);
  if (!n || *n != *want) {
    __builtin_trap();
  }
  Result<ProxyV2Header, Error> again = decode_proxy_v2(out);
  if (!again || again->header_len != out.size() || !(again->info == h->info)) {
    __builtin_trap();
  }
  // Canonical input: the same TLV bytes as the encoder's. Then the addresses and the fixed
  // part must match too, so the whole header is identical.
  if (same_bytes(again->tlvs.bytes(), h->tlvs.bytes()) &&
      !same_bytes(out, in.first(h->header_len))) {
    __builtin_trap();
  }
  return 0;
}
