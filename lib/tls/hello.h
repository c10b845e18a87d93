// ClientHello parsing and ServerHello / HelloRetryRequest / EncryptedExtensions writing
// (RFC 8446 §4.1.2-§4.1.4, §4.3.1).
//
// parse_client_hello() checks everything that needs no configuration: the fixed fields,
// every vector bound, the extension table (extensions.h) and the typed bodies of the
// extensions TLS 1.3 negotiation reads. The result is views into the message body, valid
// as long as the body is. Negotiation (versions, suites, groups, signature schemes, ALPN,
// PSKs) is the state machine's: it reads these fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "lib/base/bytes.h"
#include "lib/base/result.h"
#include "lib/tls/cipher_suite.h"
#include "lib/tls/errors.h"
#include "lib/tls/extensions.h"

namespace linetls::tls {

inline constexpr size_t kRandomLen = 32;
inline constexpr size_t kMaxSessionIdLen = 32;
inline constexpr uint16_t kTls12 = 0x0303;
inline constexpr uint16_t kTls13 = 0x0304;
// Abuse limits on list lengths (clients send two or three key shares and one PSK).
inline constexpr size_t kMaxKeyShares = 16;
inline constexpr size_t kMaxPskIdentities = 16;

// §4.1.3: the ServerHello.random of a HelloRetryRequest, SHA-256("HelloRetryRequest").
extern const uint8_t kHelloRetryRequestRandom[kRandomLen];

struct KeyShareEntry {
  uint16_t group = 0;
  std::span<const uint8_t> key_exchange;
};

struct PskIdentity {
  std::span<const uint8_t> identity;
  uint32_t obfuscated_ticket_age = 0;
  std::span<const uint8_t> binder;
};

struct ClientHello {
  uint16_t legacy_version = 0;
  std::span<const uint8_t> random;
  std::span<const uint8_t> legacy_session_id;
  std::span<const uint8_t> cipher_suites;  // u16 list
  std::span<const uint8_t> legacy_compression_methods;
  std::span<const uint8_t> extensions;  // the whole block, for a TLS 1.2 fallback

  uint32_t present = 0;  // bit extension_index(type) for each known extension present
  std::span<const uint8_t> server_name;         // host_name
  std::span<const uint8_t> supported_versions;  // u16 list
  std::span<const uint8_t> supported_groups;    // u16 list
  std::span<const uint8_t> signature_algorithms;
  std::span<const uint8_t> signature_algorithms_cert;
  std::span<const uint8_t> alpn;  // ProtocolNameList contents
  std::span<const uint8_t> psk_modes;
  std::span<const uint8_t> cookie;
  KeyShareEntry key_shares[kMaxKeyShares];
  size_t num_key_shares = 0;
  PskIdentity psks[kMaxPskIdentities];
  size_t num_psks = 0;
  // Bytes of the body that precede the binders list (its u16 length included): §4.2.11.2
  // binders cover Truncate(ClientHello) = header + body[0, binders_offset).
  size_t binders_offset = 0;
  uint16_t record_size_limit = 0;  // 0: absent
  bool early_data = false;

  bool has(ExtensionType t) const noexcept {
    const int i = extension_index(static_cast<uint16_t>(t));
    return i >= 0 && (present >> i & 1) != 0;
  }
  // Returns true if supported_versions lists TLS 1.3.
  bool offers_tls13() const noexcept { return u16_list_contains(supported_versions, kTls13); }
};

// Parses a ClientHello body (after the 4-byte handshake header). Errors: kDecodeError for
// truncation, trailing bytes and vector bounds; kBadCompressionMethod; the extension walk's
// errors (extensions.h); kDuplicateKeyShare, kKeyShareGroupNotOffered,
// kPskBinderCountMismatch, kTooManyListEntries, kBadServerName, kBadRecordSizeLimit.
Result<ClientHello, Error> parse_client_hello(std::span<const uint8_t> body) noexcept;

// A ClientHello parsed once and the body it was parsed from (its views point there): what the
// session facade hands the version's machine so it does not parse the message again.
struct ParsedClientHello {
  ClientHello hello;
  std::span<const uint8_t> body;
};

// §9.2 "Mandatory-to-Implement Extensions" for a ClientHello offering TLS 1.3:
// supported_versions; signature_algorithms unless a PSK is offered; supported_groups and
// key_share together; psk_key_exchange_modes with pre_shared_key (§4.2.9). Returns
// kMissingExtension when one is absent.
Result<void, Error> check_tls13_client_hello(const ClientHello& ch) noexcept;

struct ServerHelloParams {
  std::span<const uint8_t> random;  // 32 bytes
  std::span<const uint8_t> legacy_session_id_echo;
  CipherSuite cipher_suite = CipherSuite::kAes128GcmSha256;
  uint16_t key_share_group = 0;
  std::span<const uint8_t> key_share;  // our public key
  std::optional<uint16_t> selected_psk;
  // psk_ke resumption: no key_share at all (§4.2.9: "In this mode, the server MUST NOT supply
  // a "key_share" value"); key_share_group and key_share are ignored, selected_psk is needed.
  bool psk_ke = false;
};

// Writes a whole TLS 1.3 ServerHello message (header included) to w: legacy_version
// 0x0303, extensions pre_shared_key if a PSK was selected, key_share (unless psk_ke) and
// supported_versions (0x0304), in that order (RFC 8448 §3's and §4's). Returns
// kInternalError if w overflows, a length is out of range, or psk_ke is set without
// selected_psk (§4.1.3: a ServerHello has pre_shared_key or key_share, or both).
Result<void, Error> write_server_hello(ByteWriter& w, const ServerHelloParams& p) noexcept;

struct HelloRetryRequestParams {
  std::span<const uint8_t> legacy_session_id_echo;
  CipherSuite cipher_suite = CipherSuite::kAes128GcmSha256;
  uint16_t selected_group = 0;
  std::span<const uint8_t> cookie;  // empty: no cookie extension
};

// Writes a HelloRetryRequest (§4.1.4): a ServerHello with the special random, extensions
// key_share (selected_group), cookie and supported_versions, in RFC 8448 §5's order.
Result<void, Error> write_hello_retry_request(ByteWriter& w,
                                              const HelloRetryRequestParams& p) noexcept;

struct EncryptedExtensionsParams {
  std::span<const uint16_t> supported_groups;  // empty: not sent
  std::optional<uint16_t> record_size_limit;
  bool server_name_ack = false;            // RFC 6066 §3: empty server_name when the name was used
  std::span<const uint8_t> alpn_protocol;  // empty: not sent
  bool early_data = false;
};

// Writes EncryptedExtensions (§4.3.1) with extensions in the order supported_groups,
// record_size_limit, server_name, ALPN, early_data (RFC 8448 §3's order for the first three).
Result<void, Error> write_encrypted_extensions(ByteWriter& w,
                                               const EncryptedExtensionsParams& p) noexcept;

}  // namespace linetls::tls
