// TLS 1.2 handshake message codecs (RFC 5246 §7.4, RFC 8422 §5 for ECDHE, RFC 5077 §3.3
// for NewSessionTicket) and the RFC 8446 §4.1.3 downgrade sentinel. The ClientHello is
// shared with TLS 1.3 (lib/tls/hello.h parses both).
//
// Writers append one whole message (4-byte handshake header included) to a ByteWriter and
// return kInternalError if it overflows or a field is out of range: their inputs are ours.
// Parsers take the body (after the header), return views into it (valid as long as the
// body is), and are strict: a truncated field, a vector length outside its RFC range or a
// trailing byte is kDecodeError; a well-formed value the RFC forbids is kIllegalParameter;
// extensions go through the one legality table (walk_extensions with
// ExtMessage::kServerHello12), so an extension a 1.2 ServerHello may not carry is
// kMisplacedExtension and an unknown one kUnsolicitedExtension (RFC 5246 §7.4.1.4: "If a
// client receives an extension type in ServerHello that it did not request in the
// associated ClientHello, it MUST abort the handshake with an unsupported_extension fatal
// alert"; whether we asked for a known one is the client machine's check).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/base/bytes.h"
#include "lib/base/result.h"
#include "lib/crypto/kx.h"
#include "lib/tls/errors.h"
#include "lib/tls/extensions.h"
#include "lib/tls/hello.h"
#include "lib/tls/v12/cipher_suite12.h"
#include "lib/tls/v12/key_schedule12.h"

namespace linetls::tls::v12 {

// ---- Downgrade protection (RFC 8446 §4.1.3) ----

// "If negotiating TLS 1.2, TLS 1.3 servers MUST set the last 8 bytes of their ServerHello.Random
// value to the bytes: 44 4F 57 4E 47 52 44 01"; for TLS 1.1 or below the last byte is 00.
inline constexpr uint8_t kDowngradeSentinelTls12[8] = {0x44, 0x4F, 0x57, 0x4E,
                                                       0x47, 0x52, 0x44, 0x01};
inline constexpr uint8_t kDowngradeSentinelTls11[8] = {0x44, 0x4F, 0x57, 0x4E,
                                                       0x47, 0x52, 0x44, 0x00};
// Overwrites the last 8 bytes of a 32-byte server random with the TLS 1.2 sentinel.
void set_downgrade_sentinel(std::span<uint8_t> server_random) noexcept;
// Returns true if a 32-byte server random ends in either sentinel (a TLS 1.3 client that
// receives it in a 1.2 ServerHello aborts with kDowngradeDetected, illegal_parameter).
bool has_downgrade_sentinel(std::span<const uint8_t> server_random) noexcept;

// ---- ServerHello (§7.4.1.3) ----

struct ServerHelloParams {
  std::span<const uint8_t> random;      // 32 bytes
  std::span<const uint8_t> session_id;  // 0..32 bytes
  CipherSuite cipher_suite = CipherSuite::kEcdheEcdsaAes128GcmSha256;
  // Extensions, written in this order when present.
  // RFC 5746 §3.6: the server "MUST include an empty "renegotiation_info" extension" when the
  // client signalled support; renegotiated_connection is empty on the initial handshake.
  bool renegotiation_info = false;
  std::span<const uint8_t> renegotiated_connection;
  bool extended_master_secret = false;     // RFC 7627 §5.1: empty
  bool ec_point_formats = false;           // RFC 8422 §5.2: {uncompressed}
  std::span<const uint8_t> alpn_protocol;  // RFC 7301 §3.1: empty means not sent
  bool session_ticket = false;             // RFC 5077 §3.2: empty, a ticket will follow
  bool server_name_ack = false;            // RFC 6066 §3: empty
  uint16_t record_size_limit = 0;          // RFC 8449: 0 means not sent
};

// Writes a TLS 1.2 ServerHello: server_version 0x0303, compression_method null, extensions
// (the block is omitted when there are none, §7.4.1.4).
Result<void, Error> write_server_hello(ByteWriter& w, const ServerHelloParams& p) noexcept;

struct ServerHello {
  std::span<const uint8_t> random;
  std::span<const uint8_t> session_id;
  uint16_t cipher_suite = 0;
  bool renegotiation_info = false;  // the extension was present
  std::span<const uint8_t> renegotiated_connection;
  bool extended_master_secret = false;
  bool ec_point_formats = false;  // present (and listing uncompressed)
  std::span<const uint8_t> alpn_protocol;
  bool session_ticket = false;
  bool server_name_ack = false;
  uint16_t record_size_limit = 0;
};

// Parses a TLS 1.2 ServerHello body. server_version other than 0x0303 is kProtocolVersion;
// a session_id above 32 bytes kDecodeError; a compression_method other than null
// kIllegalParameter; a non-empty extended_master_secret, session_ticket or server_name, an
// ALPN list of other than one name, or a renegotiated_connection over 255 bytes is
// kDecodeError; ec_point_formats without uncompressed is kIllegalParameter (RFC 8422 §5.1.2).
// The cipher suite is returned as sent (the client checks it offered it).
Result<ServerHello, Error> parse_server_hello(std::span<const uint8_t> body) noexcept;

// ---- Certificate (§7.4.2, §7.4.6) ----

inline constexpr size_t kMaxCertificates = 10;

struct CertificateList {
  std::span<const uint8_t> certs[kMaxCertificates];  // DER, sender's own first
  size_t num_certs = 0;
};

// Writes Certificate: certificate_list<0..2^24-1> of ASN.1Cert<1..2^24-1>. An empty chain
// is the client's "no certificate" answer to a CertificateRequest (§7.4.6).
Result<void, Error> write_certificate(ByteWriter& w,
                                      std::span<const std::span<const uint8_t>> chain) noexcept;
// Parses Certificate. An empty list parses (the machine decides whether that is allowed);
// an empty ASN.1Cert is kDecodeError; more than kMaxCertificates is kTooManyListEntries.
Result<CertificateList, Error> parse_certificate(std::span<const uint8_t> body) noexcept;

// ---- ServerKeyExchange, ECDHE (RFC 8422 §5.4) ----

// ECCurveType named_curve; explicit_prime (1) and explicit_char2 (2) are deprecated.
inline constexpr uint8_t kNamedCurve = 3;

// What the server signs (RFC 8422 §5.4): ClientHello.random + ServerHello.random +
// ServerECDHParams, where ServerECDHParams = curve_type, namedcurve, ECPoint point<1..255>.
inline constexpr size_t kMaxSignedParamsLen = 2 * kRandomLen + 4 + crypto::kMaxPublicKeyLen;
struct SignedParams {
  uint8_t bytes[kMaxSignedParamsLen] = {};
  size_t len = 0;
  std::span<const uint8_t> view() const noexcept { return {bytes, len}; }
};
// Returns the signed content for group and point; kInternalError if a random is not 32
// bytes or the point is empty or longer than kMaxPublicKeyLen.
Result<SignedParams, Error> server_key_exchange_signed_content(
    std::span<const uint8_t> client_random, std::span<const uint8_t> server_random,
    uint16_t group, std::span<const uint8_t> point) noexcept;

struct ServerKeyExchange {
  uint16_t group = 0;                // NamedCurve, as sent
  std::span<const uint8_t> point;    // the server's ephemeral public key
  std::span<const uint8_t> params;   // the ServerECDHParams bytes (the signed part)
  uint16_t scheme = 0;               // SignatureAndHashAlgorithm, as sent
  std::span<const uint8_t> signature;
};

// Writes ServerKeyExchange: ServerECDHParams (named_curve), then the
// SignatureAndHashAlgorithm (TLS 1.2 §7.4.1.4.1; our SignatureScheme codes) and
// signature<0..2^16-1>.
Result<void, Error> write_server_key_exchange(ByteWriter& w, uint16_t group,
                                              std::span<const uint8_t> point, uint16_t scheme,
                                              std::span<const uint8_t> signature) noexcept;
// Parses ServerKeyExchange. A curve_type other than named_curve is kIllegalParameter; an
// empty point is kDecodeError. Whether the group was offered, the point is valid and the
// signature verifies is the client machine's check.
Result<ServerKeyExchange, Error> parse_server_key_exchange(std::span<const uint8_t> body) noexcept;

// ---- CertificateRequest (§7.4.4) ----

// ClientCertificateType values we ask for (RFC 5246 §7.4.4, RFC 8422 §5.5).
inline constexpr uint8_t kCertTypeRsaSign = 1;
inline constexpr uint8_t kCertTypeEcdsaSign = 64;

struct CertificateRequestParams {
  std::span<const uint8_t> certificate_types;       // <1..2^8-1>
  std::span<const uint16_t> signature_algorithms;   // <2..2^16-2>
  std::span<const std::span<const uint8_t>> certificate_authorities;  // DER DNs, may be empty
};
Result<void, Error> write_certificate_request(ByteWriter& w,
                                              const CertificateRequestParams& p) noexcept;

struct CertificateRequest {
  std::span<const uint8_t> certificate_types;
  std::span<const uint8_t> signature_algorithms;  // the u16 list's bytes (u16_list_contains)
  std::span<const uint8_t> certificate_authorities;  // the DistinguishedName list's bytes
  size_t num_authorities = 0;
};
// Parses CertificateRequest: certificate_types<1..2^8-1>,
// supported_signature_algorithms<2..2^16-2> (even), certificate_authorities<0..2^16-1> of
// DistinguishedName<1..2^16-1>. Anything else is kDecodeError.
Result<CertificateRequest, Error> parse_certificate_request(std::span<const uint8_t> body) noexcept;

// ---- ServerHelloDone (§7.4.5), HelloRequest (§7.4.1.1) ----

Result<void, Error> write_server_hello_done(ByteWriter& w) noexcept;
// Both bodies are empty; anything else is kDecodeError.
Result<void, Error> parse_server_hello_done(std::span<const uint8_t> body) noexcept;
Result<void, Error> parse_hello_request(std::span<const uint8_t> body) noexcept;

// ---- ClientKeyExchange, ECDHE (RFC 8422 §5.7) ----

// ClientECDiffieHellmanPublic in its explicit form: ECPoint ecdh_Yc (opaque point<1..2^8-1>).
// The implicit form (empty) only exists for fixed-ECDH client certificates, which we do not
// support.
Result<void, Error> write_client_key_exchange(ByteWriter& w,
                                              std::span<const uint8_t> point) noexcept;
// Returns the client's point; an empty vector, a short body or a trailing byte is
// kDecodeError (the point itself is checked by key exchange: kBadKeyShare).
Result<std::span<const uint8_t>, Error> parse_client_key_exchange(
    std::span<const uint8_t> body) noexcept;

// ---- CertificateVerify (§7.4.8) ----

// The TLS 1.2 form: digitally-signed struct { opaque handshake_messages[...]; }, i.e. a
// SignatureAndHashAlgorithm and signature<0..2^16-1>. The signature covers the handshake
// messages themselves (hashed with the scheme's hash, not the PRF's), not a transcript hash.
struct CertificateVerify {
  uint16_t scheme = 0;
  std::span<const uint8_t> signature;
};
Result<void, Error> write_certificate_verify(ByteWriter& w, uint16_t scheme,
                                             std::span<const uint8_t> signature) noexcept;
// An empty signature parses (and fails verification later).
Result<CertificateVerify, Error> parse_certificate_verify(std::span<const uint8_t> body) noexcept;

// ---- Finished (§7.4.9) ----

Result<void, Error> write_finished(ByteWriter& w, const VerifyData& verify_data) noexcept;
// Returns the 12-byte verify_data; any other body length is kDecodeError.
Result<std::span<const uint8_t>, Error> parse_finished(std::span<const uint8_t> body) noexcept;

// ---- NewSessionTicket (RFC 5077 §3.3) ----

struct NewSessionTicket {
  uint32_t lifetime_hint = 0;  // seconds; 0 means unspecified
  std::span<const uint8_t> ticket;  // <0..2^16-1>; empty: the server changed its mind
};
Result<void, Error> write_new_session_ticket(ByteWriter& w, const NewSessionTicket& t) noexcept;
Result<NewSessionTicket, Error> parse_new_session_ticket(std::span<const uint8_t> body) noexcept;

// ---- ChangeCipherSpec (§7.1) ----

// The change_cipher_spec protocol message: one byte, 1. Returns ok for exactly {1}, else
// kBadChangeCipherSpec (unexpected_message).
Result<void, Error> parse_change_cipher_spec(std::span<const uint8_t> fragment) noexcept;

}  // namespace linetls::tls::v12
