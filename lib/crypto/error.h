// crypto::Error: every way the libcrypto-backed half of lib/crypto can fail.
//
// One enum for hashing, key exchange, signatures, keys, certificates and randomness. It is
// more specific than a TLS alert: the TLS layer maps each value to one alert, and callers that
// report configuration problems print to_string() as a one-line reason.
#pragma once

#include <cstdint>
#include <string_view>

namespace linetls::crypto {

enum class Error : uint8_t {
  // General.
  kInternal,         // libcrypto reported a failure we did not expect (allocation, provider)
  kInvalidArgument,  // a length or parameter out of the range the function accepts
  kOutputTooSmall,   // the caller's output buffer cannot hold the result
  // Randomness.
  kRngFailed,     // the OS CSPRNG (via libcrypto) did not deliver bytes
  kRngExhausted,  // a scripted test source ran out of bytes
  // Key exchange.
  kUnsupportedGroup,
  kBadPrivateKey,  // injected private key of the wrong length or out of range
  kBadPublicKeyLength,
  kCompressedPoint,  // compressed EC points are not allowed in TLS 1.3 / RFC 8422
  kBadPointFormat,   // an EC point whose first byte is not 0x04
  kPointAtInfinity,
  kPointNotOnCurve,
  kLowOrderPoint,  // X25519 peer key giving the all-zero shared secret
  // Signatures.
  kUnsupportedScheme,
  kSchemeKeyMismatch,  // the key cannot make or check this signature scheme
  kNoCommonScheme,     // nothing in the peer's list is something our key can make
  kBadSignature,       // verification failed: wrong key, modified message, malformed signature
  // Keys.
  kFileOpenFailed,
  kFileReadFailed,
  kMalformedKey,
  kKeyPasswordRequired,
  kWrongPassword,
  kUnsupportedKeyType,
  kKeyTooSmall,
  kKeyCertificateMismatch,
  // Certificates.
  kNoCertificate,
  kMalformedCertificate,
  kCertificateExpired,
  kCertificateNotYetValid,
  kUnknownCa,
  kBadCertificateSignature,
  kCertificateWrongPurpose,
  kNoCaCertificates,
  kCertificateVerifyFailed,  // any other X509_verify_cert failure (see the log for details)
  // Keep kCertificateVerifyFailed last: the tests walk every value up to it.
};

// Returns a short, static, lower-case reason ("certificate has expired") for e.
std::string_view to_string(Error e) noexcept;

}  // namespace linetls::crypto
