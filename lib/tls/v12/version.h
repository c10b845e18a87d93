// Version negotiation, the step before either handshake machine (issue 6): which of TLS 1.3
// (Server13) and TLS 1.2 (Server12) a ClientHello gets, within a configured range, and the
// refusals that belong to no machine: SSLv2-format hellos, SSL 3.0 / TLS 1.0 / 1.1, and
// TLS_FALLBACK_SCSV. It lives in lib/tls/v12 because it needs to know both versions and
// lib/tls must not depend on this layer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/base/result.h"
#include "lib/tls/errors.h"
#include "lib/tls/hello.h"

namespace linetls::tls::v12 {

// The versions a server accepts, inclusive. Only TLS 1.2 (0x0303) and TLS 1.3 (0x0304) can
// be enabled; anything older is refused whatever min says (RFC 8996).
struct VersionRange {
  uint16_t min = kTls12;
  uint16_t max = kTls13;
};

// Returns true if range is usable: min <= max, both within {TLS 1.2, TLS 1.3}.
bool valid_range(const VersionRange& range) noexcept;

// Returns the version to speak with the client of ch:
//  - RFC 8446 §4.2.1: with supported_versions, the highest version listed that range allows
//    (GREASE and unknown values ignored; legacy_version is then not consulted);
//  - without it, TLS 1.2 if legacy_version >= 0x0303 and range allows it (RFC 5246 §E.1: a
//    higher legacy_version means the client's best is at least ours).
// Errors: kInappropriateFallback (RFC 7507 §3) when the client sent TLS_FALLBACK_SCSV and
// the highest version it indicates is below range.max (also when that version is one we do
// not speak at all); otherwise kProtocolVersion when nothing acceptable is offered (SSL 3.0,
// TLS 1.0, 1.1, or a version outside range); kInternalError for an invalid range.
Result<uint16_t, Error> select_version(const ClientHello& ch, const VersionRange& range) noexcept;

// Returns true if the first bytes of a connection look like an SSL 2.0-format ClientHello
// (RFC 5246 §E.2: a 2-byte header with the high bit set, then msg_type 1), which the Deframer
// would otherwise reject as an unknown record type. The engine answers it with a
// protocol_version alert (kProtocolVersion). Needs at least 3 bytes; fewer: false.
bool is_sslv2_client_hello(std::span<const uint8_t> first_bytes) noexcept;

}  // namespace linetls::tls::v12
