// TLS 1.3 handshake message codecs beyond the hellos (RFC 8446 §4.1.3-§4.1.4 client side,
// §4.3.1, §4.4.2-§4.4.4, §4.6.1, §4.6.3), and the ClientHello writer.
//
// Writers append one whole message (4-byte header included) to a ByteWriter and return
// kInternalError if it overflows. Parsers take the body (after the header), return views
// into it, reject trailing bytes and out-of-range vectors with kDecodeError, and apply the
// §4.2 extension table through walk_extensions().
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "lib/base/bytes.h"
#include "lib/base/result.h"
#include "lib/crypto/hash.h"
#include "lib/tls/cipher_suite.h"
#include "lib/tls/errors.h"
#include "lib/tls/extensions.h"
#include "lib/tls/hello.h"

namespace linetls::tls {

// ---- ClientHello (client side) ----

struct ClientHelloParams {
  std::span<const uint8_t> random;      // 32 bytes
  std::span<const uint8_t> session_id;  // legacy_session_id, 0..32 bytes
  std::span<const uint16_t> cipher_suites;
  std::span<const uint16_t> supported_groups;
  std::span<const KeyShareEntry> key_shares;
  std::span<const uint16_t> signature_algorithms;
  std::span<const uint8_t> server_name;            // empty: not sent
  std::span<const std::span<const uint8_t>> alpn;  // empty: not sent
  std::span<const uint8_t> cookie;                 // empty: not sent (§4.2.2 echo after HRR)
  std::span<const uint8_t> psk_modes;              // empty: not sent
  bool early_data = false;                         // an empty early_data extension
  std::optional<uint16_t> record_size_limit;       // RFC 8449; not sent when empty
  // One PSK identity with a zero binder of psk_binder_len bytes (0: no pre_shared_key). The
  // binder is the last psk_binder_len bytes of the message; the caller computes and patches
  // it over everything before the last kPskBindersTail + psk_binder_len bytes.
  std::span<const uint8_t> psk_identity;
  uint32_t psk_obfuscated_age = 0;
  size_t psk_binder_len = 0;
  uint8_t compression_method = 0;                  // tests only: anything but 0 is illegal
  bool omit_supported_versions = false;            // tests only
  bool omit_signature_algorithms = false;          // tests only
  bool omit_key_share = false;                     // tests only
  bool duplicate_supported_groups = false;         // tests only
};

// Bytes after Truncate(ClientHello) besides the binder itself: the binders list length (2)
// and the binder's length (1).
inline constexpr size_t kPskBindersTail = 3;

// Writes a ClientHello offering only TLS 1.3: extensions server_name, supported_groups,
// signature_algorithms, ALPN, key_share, supported_versions, cookie, psk_key_exchange_modes,
// early_data, pre_shared_key (last, §4.2.11).
Result<void, Error> write_client_hello(ByteWriter& w, const ClientHelloParams& p) noexcept;

// ---- ServerHello / HelloRetryRequest (client side) ----

struct ServerHello {
  std::span<const uint8_t> random;
  std::span<const uint8_t> legacy_session_id_echo;
  uint16_t cipher_suite = 0;
  bool is_hello_retry_request = false;  // random == kHelloRetryRequestRandom
  uint16_t selected_version = 0;        // from supported_versions
  uint16_t key_share_group = 0;         // SH: server_share.group; HRR: selected_group
  std::span<const uint8_t> key_share;   // SH only
  std::span<const uint8_t> cookie;      // HRR only
  std::optional<uint16_t> selected_psk;
};

// Parses a ServerHello or HelloRetryRequest body. §4.1.3: legacy_version must be 0x0303
// and legacy_compression_method 0 (kIllegalParameter); supported_versions is required
// (kMissingExtension; TLS 1.2 servers are not supported by this client).
Result<ServerHello, Error> parse_server_hello(std::span<const uint8_t> body) noexcept;

// ---- EncryptedExtensions (client side) ----

struct EncryptedExtensions {
  std::span<const uint8_t> alpn_protocol;  // empty: none
  bool server_name_ack = false;
  uint16_t record_size_limit = 0;  // 0: absent
  bool early_data = false;
};

// Parses EncryptedExtensions; an ALPN list must hold exactly one name (RFC 7301 §3.1).
Result<EncryptedExtensions, Error> parse_encrypted_extensions(
    std::span<const uint8_t> body) noexcept;

// ---- Certificate (§4.4.2) ----

inline constexpr size_t kMaxCertificateEntries = 10;

struct CertificateMsg {
  std::span<const uint8_t> request_context;
  std::span<const uint8_t> entries[kMaxCertificateEntries];  // cert_data (DER), leaf first
  size_t num_entries = 0;
};

// Writes Certificate with one CertificateEntry per DER certificate (leaf first), each with
// empty extensions; request_context is empty for the server's certificate.
Result<void, Error> write_certificate(ByteWriter& w,
                                      std::span<const std::span<const uint8_t>> chain,
                                      std::span<const uint8_t> request_context = {}) noexcept;
// Parses Certificate. Entry extensions are walked under the §4.2 table (kCertificate).
// More than kMaxCertificateEntries entries is kTooManyListEntries; an empty cert_data is
// kDecodeError.
Result<CertificateMsg, Error> parse_certificate(std::span<const uint8_t> body) noexcept;

// ---- CertificateRequest (§4.3.2) ----

struct CertificateRequestParams {
  std::span<const uint8_t> request_context;        // empty in the main handshake
  std::span<const uint16_t> signature_algorithms;  // non-empty
  // DER DistinguishedNames for certificate_authorities (§4.2.4); empty: not sent. Each must
  // be non-empty.
  std::span<const std::vector<uint8_t>> certificate_authorities;
};

// Writes CertificateRequest with extensions signature_algorithms, then
// certificate_authorities if any. kInternalError if it overflows or a list is out of range.
Result<void, Error> write_certificate_request(ByteWriter& w,
                                              const CertificateRequestParams& p) noexcept;

struct CertificateRequestMsg {
  std::span<const uint8_t> request_context;
  std::span<const uint8_t> signature_algorithms;       // u16 codes, as parse_u16_list
  std::span<const uint8_t> signature_algorithms_cert;  // empty: absent
  // The DistinguishedName list's contents (each u16-prefixed); empty: absent.
  std::span<const uint8_t> certificate_authorities;
  size_t num_authorities = 0;
};

// Parses CertificateRequest. Extensions are walked under the §4.2 table (kCertificateRequest);
// unknown ones are ignored (§4.3.2: "Clients MUST ignore unrecognized extensions"), so the
// table's "unsolicited" rule does not apply here. §4.3.2: "The "signature_algorithms"
// extension MUST be specified" (kMissingExtension). certificate_authorities is
// DistinguishedName authorities<3..2^16-1> of opaque DistinguishedName<1..2^16-1>.
Result<CertificateRequestMsg, Error> parse_certificate_request(
    std::span<const uint8_t> body) noexcept;

// ---- CertificateVerify (§4.4.3) ----

// §4.4.3: 64 bytes of 0x20, the context string, one 0x00, then the transcript hash.
inline constexpr size_t kMaxCertificateVerifyContentLen = 64 + 33 + 1 + crypto::kMaxHashLen;
struct CertificateVerifyContent {
  uint8_t bytes[kMaxCertificateVerifyContentLen];
  size_t len = 0;
  std::span<const uint8_t> view() const noexcept { return {bytes, len}; }
};
// Returns the content covered by the signature: "TLS 1.3, server CertificateVerify" when
// server, else "TLS 1.3, client CertificateVerify".
CertificateVerifyContent certificate_verify_content(
    bool server, std::span<const uint8_t> transcript_hash) noexcept;

struct CertificateVerifyMsg {
  uint16_t scheme = 0;
  std::span<const uint8_t> signature;
};
Result<void, Error> write_certificate_verify(ByteWriter& w, uint16_t scheme,
                                             std::span<const uint8_t> signature) noexcept;
// signature<0..2^16-1>; an empty signature parses and fails verification.
Result<CertificateVerifyMsg, Error> parse_certificate_verify(
    std::span<const uint8_t> body) noexcept;

// ---- Finished (§4.4.4) ----

Result<void, Error> write_finished(ByteWriter& w, std::span<const uint8_t> verify_data) noexcept;
// verify_data is Hash.length bytes: any other body length is kDecodeError.
Result<std::span<const uint8_t>, Error> parse_finished(std::span<const uint8_t> body,
                                                       crypto::HashAlgo algo) noexcept;

// ---- NewSessionTicket (§4.6.1) ----

struct NewSessionTicketMsg {
  uint32_t ticket_lifetime = 0;
  uint32_t ticket_age_add = 0;
  std::span<const uint8_t> ticket_nonce;  // <0..255>
  std::span<const uint8_t> ticket;        // <1..2^16-1>
  std::optional<uint32_t> max_early_data_size;
};
// §4.6.1: "Servers MUST NOT use any value greater than 604800 seconds (7 days)."
inline constexpr uint32_t kMaxTicketLifetime = 604800;
Result<void, Error> write_new_session_ticket(ByteWriter& w, const NewSessionTicketMsg& m) noexcept;
// A lifetime above 7 days is kIllegalParameter.
Result<NewSessionTicketMsg, Error> parse_new_session_ticket(std::span<const uint8_t> body) noexcept;

// ---- KeyUpdate (§4.6.3) ----

enum class KeyUpdateRequest : uint8_t { kNotRequested = 0, kRequested = 1 };
Result<void, Error> write_key_update(ByteWriter& w, KeyUpdateRequest r) noexcept;
// §4.6.3: "If an implementation receives a KeyUpdate with request_update set to any other
// value, it MUST terminate the connection with an illegal_parameter alert."
Result<KeyUpdateRequest, Error> parse_key_update(std::span<const uint8_t> body) noexcept;

}  // namespace linetls::tls
