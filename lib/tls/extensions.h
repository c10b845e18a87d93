// TLS extensions (RFC 8446 §4.2): one table of the extensions we know and the messages each
// may appear in, the walk over an extension block that enforces it, and typed parsers for
// the extension bodies a ClientHello carries.
//
// The table is the RFC's (§4.2, plus RFC 8449 record_size_limit and the TLS 1.2 extensions
// of issue 6). walk_extensions() applies it once for every message: "There MUST NOT be more
// than one extension of the same type in a given extension block"; a recognised extension
// in a message the table does not list is illegal_parameter (§4.2); an unknown one is
// ignored in a ClientHello ("servers MUST ignore unrecognized extensions", §4.1.2) and a
// CertificateRequest (§4.3.2, likewise for clients) and unsolicited (unsupported_extension)
// in anything else a server sends; pre_shared_key must be
// last in a ClientHello (§4.2.11).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/base/bytes.h"
#include "lib/base/result.h"
#include "lib/tls/errors.h"

namespace linetls::tls {

enum class ExtensionType : uint16_t {
  kServerName = 0,
  kMaxFragmentLength = 1,
  kStatusRequest = 5,
  kSupportedGroups = 10,
  kEcPointFormats = 11,  // TLS 1.2 (RFC 8422)
  kSignatureAlgorithms = 13,
  kUseSrtp = 14,
  kHeartbeat = 15,
  kAlpn = 16,
  kSignedCertificateTimestamp = 18,
  kClientCertificateType = 19,
  kServerCertificateType = 20,
  kPadding = 21,
  kExtendedMasterSecret = 23,  // TLS 1.2 (RFC 7627)
  kRecordSizeLimit = 28,       // RFC 8449
  kSessionTicket = 35,         // TLS 1.2 (RFC 5077)
  kPreSharedKey = 41,
  kEarlyData = 42,
  kSupportedVersions = 43,
  kCookie = 44,
  kPskKeyExchangeModes = 45,
  kCertificateAuthorities = 47,
  kOidFilters = 48,
  kPostHandshakeAuth = 49,
  kSignatureAlgorithmsCert = 50,
  kKeyShare = 51,
  kRenegotiationInfo = 0xff01,  // TLS 1.2 (RFC 5746)
};

// The messages that carry extensions (§4.2's CH, SH, HRR, EE, CT, CR, NST) and the TLS 1.2
// ServerHello.
enum class ExtMessage : uint8_t {
  kClientHello,
  kServerHello,
  kHelloRetryRequest,
  kEncryptedExtensions,
  kCertificate,
  kCertificateRequest,
  kNewSessionTicket,
  kServerHello12,
};

struct ExtensionInfo {
  ExtensionType type;
  const char* name;
  uint8_t allowed;  // bit (1 << ExtMessage) for each message it may appear in
};

// Returns the table row of a known extension type, or nullptr.
const ExtensionInfo* find_extension(uint16_t type) noexcept;
// Returns the row index (0 .. kNumKnownExtensions-1) of a known type, or -1.
int extension_index(uint16_t type) noexcept;
inline constexpr size_t kNumKnownExtensions = 27;
// Returns true if the table lets a known type appear in msg.
bool extension_allowed(uint16_t type, ExtMessage msg) noexcept;

// At most this many extensions in one block (duplicate detection stays cheap); real clients
// send about twenty.
inline constexpr size_t kMaxExtensions = 128;

// One extension as found in a block: type and body (a view into the message).
struct RawExtension {
  uint16_t type;
  std::span<const uint8_t> data;
};

// Walks the contents of an extensions block (the bytes inside its u16 length) for msg,
// enforcing the table, duplicates and pre_shared_key's position, and calls
// visit(const RawExtension&) -> Result<void, Error> for each extension that is known and
// allowed. Returns the first error. Unknown extensions in a ClientHello or a
// CertificateRequest are skipped.
Result<void, Error> check_extension_block(std::span<const uint8_t> block, ExtMessage msg,
                                          RawExtension* out, size_t* out_num) noexcept;

template <typename Visit>
Result<void, Error> walk_extensions(std::span<const uint8_t> block, ExtMessage msg,
                                    Visit&& visit) noexcept {
  RawExtension exts[kMaxExtensions];
  size_t n = 0;
  if (auto ok = check_extension_block(block, msg, exts, &n); !ok) {
    return ok;
  }
  for (size_t i = 0; i < n; i++) {
    if (auto ok = visit(exts[i]); !ok) {
      return ok;
    }
  }
  return {};
}

// Typed parsers. Each takes an extension body and rejects trailing bytes or a vector length
// outside its RFC range with kDecodeError unless noted.

// RFC 6066 §3 server_name: returns the host_name (empty when the list holds only names of
// other types, which are skipped). A list that does not decode, or an empty HostName, is
// kDecodeError; two names of one type, or a host_name that is not a DNS name (a trailing
// dot, an empty or 64-byte label, NUL, space, non-ASCII, more than 253 bytes) is
// kBadServerName (illegal_parameter).
Result<std::span<const uint8_t>, Error> parse_server_name(std::span<const uint8_t> d) noexcept;
// A u8- or u16-length-prefixed list of u16 values, non-empty: supported_versions (u8),
// supported_groups, signature_algorithms(_cert) (u16). Returns the list bytes.
Result<std::span<const uint8_t>, Error> parse_u16_list(std::span<const uint8_t> d,
                                                       size_t prefix_len) noexcept;
// RFC 7301 §3.1 ProtocolNameList<2..2^16-1> of ProtocolName<1..2^8-1>. Returns the list.
Result<std::span<const uint8_t>, Error> parse_alpn(std::span<const uint8_t> d) noexcept;
// §4.2.9 PskKeyExchangeMode ke_modes<1..255>.
Result<std::span<const uint8_t>, Error> parse_psk_modes(std::span<const uint8_t> d) noexcept;
// §4.2.2 Cookie: opaque cookie<1..2^16-1>.
Result<std::span<const uint8_t>, Error> parse_cookie(std::span<const uint8_t> d) noexcept;
// RFC 8449 §4: uint16 RecordSizeLimit, at least 64 (else kBadRecordSizeLimit).
Result<uint16_t, Error> parse_record_size_limit(std::span<const uint8_t> d) noexcept;
// An extension whose body must be empty (early_data in CH/EE, server_name in EE, ...).
Result<void, Error> parse_empty(std::span<const uint8_t> d) noexcept;

// Returns true if the u16 list (as parse_u16_list returns it) contains v.
bool u16_list_contains(std::span<const uint8_t> list, uint16_t v) noexcept;

}  // namespace linetls::tls
