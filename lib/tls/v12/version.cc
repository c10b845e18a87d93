#include "lib/tls/v12/version.h"

#include "lib/base/bytes.h"
#include "lib/tls/v12/cipher_suite12.h"

namespace linetls::tls::v12 {

bool valid_range(const VersionRange& range) noexcept {
  auto known = [](uint16_t v) { return v == kTls12 || v == kTls13; };
  return known(range.min) && known(range.max) && range.min <= range.max;
}

namespace {

// The version the client indicates: the highest 0x03XX value of supported_versions (GREASE
// and other families ignored), or legacy_version without the extension.
uint16_t client_version(const ClientHello& ch) noexcept {
  if (!ch.has(ExtensionType::kSupportedVersions)) {
    return ch.legacy_version;
  }
  ByteReader r(ch.supported_versions);
  uint16_t v = 0;
  uint16_t best = 0;
  while (r.read_u16(&v)) {
    if ((v >> 8) == 0x03 && v > best) {
      best = v;
    }
  }
  return best;
}

}  // namespace

Result<uint16_t, Error> select_version(const ClientHello& ch, const VersionRange& range) noexcept {
  if (!valid_range(range)) {
    return fail(Error::kInternalError);
  }
  uint16_t chosen = 0;
  if (ch.has(ExtensionType::kSupportedVersions)) {
    // RFC 8446 §4.2.1: "If this extension is present in the ClientHello, servers MUST NOT use
    // the ClientHello.legacy_version value for version negotiation and MUST use only the
    // "supported_versions" extension to determine client preferences."
    ByteReader r(ch.supported_versions);
    uint16_t v = 0;
    while (r.read_u16(&v)) {
      if (v >= range.min && v <= range.max && v > chosen) {
        chosen = v;
      }
    }
  } else if (ch.legacy_version >= kTls12 && range.min <= kTls12) {
    chosen = kTls12;
  }
  // RFC 7507 §3: "If TLS_FALLBACK_SCSV appears in ClientHello.cipher_suites and the highest
  // protocol version supported by the server is higher than the version indicated in
  // ClientHello.client_version, the server MUST respond with a fatal inappropriate_fallback
  // alert (unless it responds with a fatal protocol_version alert because the version
  // indicated in ClientHello.client_version is unsupported)." Both are allowed for a
  // version we do not speak; the fallback is the more precise fact (the client spoke a higher
  // version before), so it wins whatever the version. The client's version is the highest
  // TLS version it lists (RFC 8446 §4.2.1), or legacy_version.
  if (u16_list_contains(ch.cipher_suites, kFallbackScsv) && client_version(ch) < range.max) {
    return fail(Error::kInappropriateFallback);
  }
  // RFC 8446 §4.2.1: "If the "supported_versions" extension in the ClientHello contains no
  // versions acceptable to the server, the server MUST abort the handshake with a
  // "protocol_version" alert"; RFC 5246 §E.1 likewise for an older legacy_version.
  if (chosen == 0) {
    return fail(Error::kProtocolVersion);
  }
  return chosen;
}

bool is_sslv2_client_hello(std::span<const uint8_t> first_bytes) noexcept {
  // RFC 5246 §E.2: uint16 msg_length with the high bit set (a 2-byte SSLv2 header), then
  // uint8 msg_type = 1 (client_hello), then the version. A TLS record's first byte is a
  // ContentType (20..23), never >= 0x80, so the two cannot be confused.
  return first_bytes.size() >= 3 && (first_bytes[0] & 0x80) != 0 && first_bytes[2] == 1;
}

}  // namespace linetls::tls::v12
