// tls::Error and the alerts it maps to.
//
// Error says what went wrong, more precisely than the alert the peer is sent: the engine
// counts and logs Errors, the wire carries to_alert(error). RFC 8446 §6: "Whenever an
// implementation encounters a fatal error condition, it SHOULD send an appropriate fatal
// alert and MUST close the connection without sending or receiving any additional data."
// The state machines drop the half-built flight and send exactly one alert, to_alert(e).
//
// to_alert() is one exhaustive switch with no default: adding an Error without choosing its
// alert fails to compile (-Wswitch under -Werror), and tests/unit/tls/errors_test.cc pins
// every pair.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "lib/crypto/error.h"

namespace linetls::tls {

// RFC 8446 §6 AlertDescription, plus no_renegotiation (RFC 5246 §7.2.2) for TLS 1.2.
enum class AlertDescription : uint8_t {
  kCloseNotify = 0,
  kUnexpectedMessage = 10,
  kBadRecordMac = 20,
  kRecordOverflow = 22,
  kHandshakeFailure = 40,
  kBadCertificate = 42,
  kUnsupportedCertificate = 43,
  kCertificateRevoked = 44,
  kCertificateExpired = 45,
  kCertificateUnknown = 46,
  kIllegalParameter = 47,
  kUnknownCa = 48,
  kAccessDenied = 49,
  kDecodeError = 50,
  kDecryptError = 51,
  kProtocolVersion = 70,
  kInsufficientSecurity = 71,
  kInternalError = 80,
  kInappropriateFallback = 86,
  kUserCanceled = 90,
  kNoRenegotiation = 100,
  kMissingExtension = 109,
  kUnsupportedExtension = 110,
  kUnrecognizedName = 112,
  kBadCertificateStatusResponse = 113,
  kUnknownPskIdentity = 115,
  kCertificateRequired = 116,
  kNoApplicationProtocol = 120,
};

// RFC 8446 §6 AlertLevel. TLS 1.3 treats every alert but close_notify and user_canceled as
// fatal whatever its level says.
enum class AlertLevel : uint8_t { kWarning = 1, kFatal = 2 };

// Returns the RFC name of an alert ("unexpected_message"), or "unknown" for a code that is
// not an AlertDescription value (alerts arrive from the wire as bytes).
std::string_view alert_name(uint8_t description) noexcept;
inline std::string_view alert_name(AlertDescription a) noexcept {
  return alert_name(static_cast<uint8_t>(a));
}

enum class Error : uint8_t {
  // Record layer (RFC 8446 §5).
  kRecordOverflow,         // TLSCiphertext/TLSPlaintext.length above the limit
  kPlaintextOverflow,      // a decrypted TLSInnerPlaintext above 2^14 + 1 (or record_size_limit)
  kBadRecordType,          // an unknown ContentType, outer or inner
  kBadRecordVersion,       // legacy_record_version not 0x03XX (or not 0x0303 once protected)
  kEmptyFragment,          // a zero-length handshake or alert fragment (§5.1)
  kAllZeroInnerPlaintext,  // no non-zero octet in a TLSInnerPlaintext (§5.4)
  kDecryptFailed,          // AEAD open failed, or a protected record too short for a tag
  kSequenceOverflow,       // a record sequence number would wrap (§5.3)
  kUnprotectedRecord,      // application data (or a handshake record) without keys / in clear
  kBadChangeCipherSpec,    // a change_cipher_spec that is not one 0x01 byte, or protected
  kUnexpectedChangeCipherSpec,  // a change_cipher_spec outside the §5 window
  kBadAlert,                    // an alert record that is not exactly level + description
  kTooManyEmptyRecords,         // abuse limit: consecutive records with no content
  kTooManyWarningAlerts,        // abuse limit
  kTooManyKeyUpdates,           // abuse limit: KeyUpdates with no application data between them
  kAssemblyBusy,                // our bug: a second split record before the first was released
  kInterleavedRecord,           // §5.1: a non-handshake record between the fragments of a message
  // Handshake framing.
  kHandshakeMessageTooLarge,  // a handshake message longer than the configured maximum
  kHandshakeSpansKeyChange,   // §5.1: a message before a key change not record-aligned
  kUnknownHandshakeType,
  kUnexpectedMessage,  // a handshake message the state machine does not expect now
  // Message and extension syntax (RFC 8446 §4, §4.2).
  kDecodeError,           // truncated input, trailing bytes, a vector length out of range
  kBadServerName,         // RFC 6066 §3: not one host_name, or a host_name that is no DNS name
  kTooManyListEntries,    // abuse limit on extensions, key shares or PSK identities
  kIllegalParameter,      // a syntactically valid field with a value the RFC forbids
  kBadCompressionMethod,  // TLS 1.3: legacy_compression_methods other than exactly {0}
  kDuplicateExtension,
  kMisplacedExtension,       // a known extension in a message the §4.2 table does not allow
  kUnsolicitedExtension,     // an extension in a response that we did not ask for
  kPreSharedKeyNotLast,      // §4.2.11: pre_shared_key must be the last extension
  kDuplicateKeyShare,        // §4.2.8: two KeyShareEntry values for one group
  kKeyShareGroupNotOffered,  // §4.2.8: a key share for a group not in supported_groups
  kPskBinderCountMismatch,
  kBadRecordSizeLimit,  // RFC 8449 §4: a record_size_limit below 64
  kMissingExtension,    // §9.2 mandatory extensions
  // Negotiation.
  kProtocolVersion,        // no version in common / an obsolete one offered
  kInappropriateFallback,  // RFC 7507
  kNoCommonCipherSuite,
  kNoCommonGroup,
  kNoCommonSignatureScheme,
  kHandshakeFailure,       // any other failure to agree on parameters
  kNoApplicationProtocol,  // RFC 7301 §3.2
  kUnrecognizedName,
  kInsufficientSecurity,
  kDowngradeDetected,     // §4.1.3 sentinel in ServerHello.random
  kBadKeyShare,           // a peer public key that key exchange rejects
  kRenegotiationRefused,  // TLS 1.2
  // Authentication.
  kBadCertificate,
  kUnsupportedCertificate,
  kCertificateExpired,
  kCertificateUnknown,
  kUnknownCa,
  kCertificateRequired,
  kBadCertificateVerify,  // CertificateVerify signature does not verify
  kBadFinished,           // Finished verify_data mismatch
  kBadPskBinder,          // §4.2.11.2 binder mismatch
  kUnknownPskIdentity,
  // Local.
  kHandshakeTimeout,  // the handshake took longer than allowed (sent as user_canceled)
  kUserCanceled,
  kCryptoFailure,  // libcrypto failed where it should not (allocation, provider)
  kInternalError,  // any other bug or resource failure on our side
  // Keep kInternalError last: kNumErrors and the tests walk every value up to it.
};

inline constexpr size_t kNumErrors = static_cast<size_t>(Error::kInternalError) + 1;

// Returns the one alert sent for e. Exhaustive: no default.
AlertDescription to_alert(Error e) noexcept;

// Returns a short, static, lower-case description ("record overflow") for e.
std::string_view to_string(Error e) noexcept;

// Maps a lib/crypto failure met while handling peer input to the TLS error it means: a bad
// peer key share is the peer's fault (kBadKeyShare), a bad signature is kBadCertificateVerify,
// certificate verdicts keep their meaning; the rest are kCryptoFailure.
Error from_crypto(crypto::Error e) noexcept;

}  // namespace linetls::tls
