// libFuzzer target: arbitrary bytes as a ClientHello body.
//
// Whatever parse_client_hello() accepts must be self-consistent: every view lies inside
// the input, list lengths are within their limits, and a ServerHello echoing its session id
// and first key share is written and passes the ServerHello column of the extension table.
// A violation traps.
#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/base/bytes.h"
#include "lib/tls/hello.h"

using namespace linetls;
using namespace linetls::tls;

namespace {

void inside(std::span<const uint8_t> outer, std::span<const uint8_t> v) {
  if (!v.empty() &&
      (v.data() < outer.data() || v.data() + v.size() > outer.data() + outer.size())) {
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> body(data, size);
  auto ch = parse_client_hello(body);
  if (!ch) {
    (void)to_alert(ch.error());
    return 0;
  }
  for (auto v : {ch->random, ch->legacy_session_id, ch->cipher_suites,
                 ch->legacy_compression_methods, ch->extensions, ch->server_name,
                 ch->supported_versions, ch->supported_groups, ch->signature_algorithms,
                 ch->signature_algorithms_cert, ch->alpn, ch->psk_modes, ch->cookie}) {
    inside(body, v);
  }
  if (ch->random.size() != kRandomLen || ch->legacy_session_id.size() > kMaxSessionIdLen ||
      ch->cipher_suites.empty() || ch->cipher_suites.size() % 2 != 0 ||
      ch->num_key_shares > kMaxKeyShares || ch->num_psks > kMaxPskIdentities ||
      (ch->num_psks != 0 && ch->binders_offset >= size) ||
      (ch->record_size_limit != 0 && ch->record_size_limit < 64)) {
    __builtin_trap();
  }
  for (size_t i = 0; i < ch->num_psks; i++) {
    inside(body, ch->psks[i].identity);
    inside(body, ch->psks[i].binder);
    if (ch->psks[i].binder.size() < 32) {
      __builtin_trap();
    }
  }
  (void)check_tls13_client_hello(*ch);

  ServerHelloParams p;
  const uint8_t random[kRandomLen] = {};
  p.random = random;
  p.legacy_session_id_echo = ch->legacy_session_id;
  if (ch->num_key_shares != 0) {
    p.key_share_group = ch->key_shares[0].group;
    p.key_share = ch->key_shares[0].key_exchange;
  }
  static uint8_t buf[1 << 17];
  ByteWriter w(buf);
  if (!write_server_hello(w, p)) {
    __builtin_trap();  // the buffer holds any key share a ClientHello can carry
  }
  ByteReader r(w.written().subspan(4 + 2 + kRandomLen));
  ByteReader sid, exts;
  uint16_t suite = 0;
  uint8_t comp = 0;
  RawExtension out[kMaxExtensions];
  size_t n = 0;
  if (!r.read_u8_prefixed(&sid) || !r.read_u16(&suite) || !r.read_u8(&comp) ||
      !r.read_u16_prefixed(&exts) || !r.empty() ||
      !check_extension_block(exts.rest(), ExtMessage::kServerHello, out, &n) || n != 2) {
    __builtin_trap();
  }
  return 0;
}
