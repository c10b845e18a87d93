#include "lib/crypto/error.h"

namespace linetls::crypto {

std::string_view to_string(Error e) noexcept {
  switch (e) {
    case Error::kInternal:
      return "internal libcrypto failure";
    case Error::kInvalidArgument:
      return "invalid argument";
    case Error::kOutputTooSmall:
      return "output buffer too small";
    case Error::kRngFailed:
      return "random number generator failed";
    case Error::kRngExhausted:
      return "scripted random source exhausted";
    case Error::kUnsupportedGroup:
      return "unsupported key exchange group";
    case Error::kBadPrivateKey:
      return "invalid private key for the group";
    case Error::kBadPublicKeyLength:
      return "peer public key has the wrong length";
    case Error::kCompressedPoint:
      return "compressed EC point not allowed";
    case Error::kBadPointFormat:
      return "EC point is not in uncompressed form";
    case Error::kPointAtInfinity:
      return "EC point is the point at infinity";
    case Error::kPointNotOnCurve:
      return "EC point is not on the curve";
    case Error::kLowOrderPoint:
      return "X25519 peer key has low order (all-zero shared secret)";
    case Error::kUnsupportedScheme:
      return "unsupported signature scheme";
    case Error::kSchemeKeyMismatch:
      return "key cannot be used with this signature scheme";
    case Error::kNoCommonScheme:
      return "no signature scheme in common with the peer";
    case Error::kBadSignature:
      return "signature verification failed";
    case Error::kFileOpenFailed:
      return "cannot open file";
    case Error::kFileReadFailed:
      return "cannot read file";
    case Error::kMalformedKey:
      return "malformed private key";
    case Error::kKeyPasswordRequired:
      return "private key is encrypted and no password was given";
    case Error::kWrongPassword:
      return "wrong password for encrypted private key";
    case Error::kUnsupportedKeyType:
      return "unsupported key type (need RSA, ECDSA P-256/P-384 or Ed25519)";
    case Error::kKeyTooSmall:
      return "RSA key smaller than 2048 bits";
    case Error::kKeyCertificateMismatch:
      return "private key does not match the certificate";
    case Error::kNoCertificate:
      return "no certificate found";
    case Error::kMalformedCertificate:
      return "malformed certificate";
    case Error::kCertificateExpired:
      return "certificate has expired";
    case Error::kCertificateNotYetValid:
      return "certificate is not yet valid";
    case Error::kUnknownCa:
      return "certificate issued by an unknown CA";
    case Error::kBadCertificateSignature:
      return "bad certificate signature";
    case Error::kCertificateWrongPurpose:
      return "certificate not valid for this purpose";
    case Error::kNoCaCertificates:
      return "no CA certificates in bundle";
    case Error::kCertificateVerifyFailed:
      return "certificate verification failed";
  }
  return "unknown crypto error";
}

}  // namespace linetls::crypto
