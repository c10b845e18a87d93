#include "lib/tls/errors.h"

namespace linetls::tls {

std::string_view alert_name(uint8_t description) noexcept {
  switch (static_cast<AlertDescription>(description)) {
    case AlertDescription::kCloseNotify:
      return "close_notify";
    case AlertDescription::kUnexpectedMessage:
      return "unexpected_message";
    case AlertDescription::kBadRecordMac:
      return "bad_record_mac";
    case AlertDescription::kRecordOverflow:
      return "record_overflow";
    case AlertDescription::kHandshakeFailure:
      return "handshake_failure";
    case AlertDescription::kBadCertificate:
      return "bad_certificate";
    case AlertDescription::kUnsupportedCertificate:
      return "unsupported_certificate";
    case AlertDescription::kCertificateRevoked:
      return "certificate_revoked";
    case AlertDescription::kCertificateExpired:
      return "certificate_expired";
    case AlertDescription::kCertificateUnknown:
      return "certificate_unknown";
    case AlertDescription::kIllegalParameter:
      return "illegal_parameter";
    case AlertDescription::kUnknownCa:
      return "unknown_ca";
    case AlertDescription::kAccessDenied:
      return "access_denied";
    case AlertDescription::kDecodeError:
      return "decode_error";
    case AlertDescription::kDecryptError:
      return "decrypt_error";
    case AlertDescription::kProtocolVersion:
      return "protocol_version";
    case AlertDescription::kInsufficientSecurity:
      return "insufficient_security";
    case AlertDescription::kInternalError:
      return "internal_error";
    case AlertDescription::kInappropriateFallback:
      return "inappropriate_fallback";
    case AlertDescription::kUserCanceled:
      return "user_canceled";
    case AlertDescription::kNoRenegotiation:
      return "no_renegotiation";
    case AlertDescription::kMissingExtension:
      return "missing_extension";
    case AlertDescription::kUnsupportedExtension:
      return "unsupported_extension";
    case AlertDescription::kUnrecognizedName:
      return "unrecognized_name";
    case AlertDescription::kBadCertificateStatusResponse:
      return "bad_certificate_status_response";
    case AlertDescription::kUnknownPskIdentity:
      return "unknown_psk_identity";
    case AlertDescription::kCertificateRequired:
      return "certificate_required";
    case AlertDescription::kNoApplicationProtocol:
      return "no_application_protocol";
  }
  return "unknown";
}

AlertDescription to_alert(Error e) noexcept {
  using A = AlertDescription;
  switch (e) {
    // RFC 8446 §5.1 / §5.2: "MUST terminate the connection with a record_overflow alert".
    case Error::kRecordOverflow:
    case Error::kPlaintextOverflow:
      return A::kRecordOverflow;
    // §5: "If a TLS implementation receives an unexpected record type, it MUST terminate
    // the connection with an unexpected_message alert."
    case Error::kBadRecordType:
      return A::kUnexpectedMessage;
    case Error::kBadRecordVersion:
      return A::kProtocolVersion;
    case Error::kEmptyFragment:
      return A::kUnexpectedMessage;
    // §5.4: "If a receiving implementation does not find a non-zero octet in the cleartext,
    // it MUST terminate the connection with an unexpected_message alert."
    case Error::kAllZeroInnerPlaintext:
      return A::kUnexpectedMessage;
    // §5.2: "If the decryption fails, the receiver MUST terminate the connection with a
    // bad_record_mac alert."
    case Error::kDecryptFailed:
      return A::kBadRecordMac;
    case Error::kSequenceOverflow:
      return A::kInternalError;
    case Error::kUnprotectedRecord:
      return A::kUnexpectedMessage;
    // §5: "An implementation which receives any other change_cipher_spec value or which
    // receives a protected change_cipher_spec record MUST abort the handshake with an
    // unexpected_message alert."
    case Error::kBadChangeCipherSpec:
    case Error::kUnexpectedChangeCipherSpec:
      return A::kUnexpectedMessage;
    case Error::kBadAlert:
      return A::kDecodeError;
    case Error::kTooManyEmptyRecords:
    case Error::kTooManyWarningAlerts:
    case Error::kTooManyKeyUpdates:
      return A::kUnexpectedMessage;
    case Error::kAssemblyBusy:
      return A::kInternalError;
    // §5.1: "Handshake messages MUST NOT be interleaved with other record types. That is, if
    // a handshake message is split over two or more records, there MUST NOT be any other
    // records between them." The record type is unexpected there (§5: unexpected_message).
    case Error::kInterleavedRecord:
      return A::kUnexpectedMessage;
    case Error::kHandshakeMessageTooLarge:
      return A::kDecodeError;
    // §5.1: "... if not, then they MUST terminate the connection with an
    // unexpected_message alert."
    case Error::kHandshakeSpansKeyChange:
    case Error::kUnknownHandshakeType:
    case Error::kUnexpectedMessage:
      return A::kUnexpectedMessage;
    case Error::kDecodeError:
    case Error::kTooManyListEntries:
      return A::kDecodeError;
    case Error::kIllegalParameter:
      return A::kIllegalParameter;
    // A server_name list that decodes but breaks RFC 6066 §3 ("The ServerNameList MUST NOT
    // contain more than one name of the same name_type"; "HostName" is a DNS hostname "without
    // a trailing dot"): §6.2 illegal_parameter, "a field in the handshake was incorrect or
    // inconsistent with other fields" (a malformed list is kDecodeError). unrecognized_name
    // is for a name we do not serve, which we never refuse.
    case Error::kBadServerName:
      return A::kIllegalParameter;
    // §4.1.2: "If a TLS 1.3 ClientHello is received with any other value in this field, the
    // server MUST abort the handshake with an illegal_parameter alert."
    case Error::kBadCompressionMethod:
      return A::kIllegalParameter;
    case Error::kDuplicateExtension:
      return A::kIllegalParameter;
    // §4.2: "If an implementation receives an extension which it recognizes and which is not
    // specified for the message in which it appears, it MUST abort the handshake with an
    // illegal_parameter alert."
    case Error::kMisplacedExtension:
      return A::kIllegalParameter;
    // §4.2: "Upon receiving such an extension, an endpoint MUST abort the handshake with an
    // unsupported_extension alert."
    case Error::kUnsolicitedExtension:
      return A::kUnsupportedExtension;
    // §4.2.11: "Servers MUST check that it is the last extension and otherwise fail the
    // handshake with an illegal_parameter alert."
    case Error::kPreSharedKeyNotLast:
    case Error::kDuplicateKeyShare:
    case Error::kKeyShareGroupNotOffered:
    case Error::kPskBinderCountMismatch:
      return A::kIllegalParameter;
    // RFC 8449 §4: "An endpoint MUST treat receipt of a smaller value as a fatal error and
    // generate an illegal_parameter alert."
    case Error::kBadRecordSizeLimit:
      return A::kIllegalParameter;
    case Error::kMissingExtension:
      return A::kMissingExtension;
    case Error::kProtocolVersion:
      return A::kProtocolVersion;
    case Error::kInappropriateFallback:
      return A::kInappropriateFallback;
    case Error::kNoCommonCipherSuite:
    case Error::kNoCommonGroup:
    case Error::kNoCommonSignatureScheme:
    case Error::kHandshakeFailure:
      return A::kHandshakeFailure;
    case Error::kNoApplicationProtocol:
      return A::kNoApplicationProtocol;
    case Error::kUnrecognizedName:
      return A::kUnrecognizedName;
    case Error::kInsufficientSecurity:
      return A::kInsufficientSecurity;
    // §4.1.3: "... MUST abort the handshake with an illegal_parameter alert."
    case Error::kDowngradeDetected:
    case Error::kBadKeyShare:
      return A::kIllegalParameter;
    case Error::kRenegotiationRefused:
      return A::kNoRenegotiation;
    case Error::kBadCertificate:
      return A::kBadCertificate;
    case Error::kUnsupportedCertificate:
      return A::kUnsupportedCertificate;
    case Error::kCertificateExpired:
      return A::kCertificateExpired;
    case Error::kCertificateUnknown:
      return A::kCertificateUnknown;
    case Error::kUnknownCa:
      return A::kUnknownCa;
    case Error::kCertificateRequired:
      return A::kCertificateRequired;
    // §4.4.3, §4.4.4: "MUST terminate the connection with a decrypt_error alert".
    case Error::kBadCertificateVerify:
    case Error::kBadFinished:
    case Error::kBadPskBinder:
      return A::kDecryptError;
    case Error::kUnknownPskIdentity:
      return A::kUnknownPskIdentity;
    case Error::kHandshakeTimeout:
    case Error::kUserCanceled:
      return A::kUserCanceled;
    case Error::kCryptoFailure:
    case Error::kInternalError:
      return A::kInternalError;
  }
  return A::kInternalError;  // unreachable for valid enum values
}

std::string_view to_string(Error e) noexcept {
  switch (e) {
    case Error::kRecordOverflow:
      return "record overflow";
    case Error::kPlaintextOverflow:
      return "decrypted record over the plaintext limit";
    case Error::kBadRecordType:
      return "unknown record content type";
    case Error::kBadRecordVersion:
      return "bad legacy record version";
    case Error::kEmptyFragment:
      return "zero-length handshake or alert fragment";
    case Error::kAllZeroInnerPlaintext:
      return "inner plaintext has no content type";
    case Error::kDecryptFailed:
      return "record decryption failed";
    case Error::kSequenceOverflow:
      return "record sequence number exhausted";
    case Error::kUnprotectedRecord:
      return "record not protected where it must be";
    case Error::kBadChangeCipherSpec:
      return "malformed or protected change_cipher_spec";
    case Error::kUnexpectedChangeCipherSpec:
      return "change_cipher_spec outside the handshake";
    case Error::kBadAlert:
      return "malformed alert record";
    case Error::kTooManyEmptyRecords:
      return "too many empty records";
    case Error::kTooManyWarningAlerts:
      return "too many warning alerts";
    case Error::kTooManyKeyUpdates:
      return "too many key updates";
    case Error::kAssemblyBusy:
      return "record assembly buffer still in use";
    case Error::kInterleavedRecord:
      return "record between the fragments of a handshake message";
    case Error::kHandshakeMessageTooLarge:
      return "handshake message too large";
    case Error::kHandshakeSpansKeyChange:
      return "handshake message spans a key change";
    case Error::kUnknownHandshakeType:
      return "unknown handshake message type";
    case Error::kUnexpectedMessage:
      return "unexpected handshake message";
    case Error::kDecodeError:
      return "malformed message";
    case Error::kBadServerName:
      return "server_name is not one valid host_name";
    case Error::kTooManyListEntries:
      return "too many list entries";
    case Error::kIllegalParameter:
      return "illegal parameter";
    case Error::kBadCompressionMethod:
      return "bad compression methods";
    case Error::kDuplicateExtension:
      return "duplicate extension";
    case Error::kMisplacedExtension:
      return "extension not allowed in this message";
    case Error::kUnsolicitedExtension:
      return "unsolicited extension";
    case Error::kPreSharedKeyNotLast:
      return "pre_shared_key is not the last extension";
    case Error::kDuplicateKeyShare:
      return "duplicate key share group";
    case Error::kKeyShareGroupNotOffered:
      return "key share for a group not in supported_groups";
    case Error::kPskBinderCountMismatch:
      return "psk identities and binders differ in number";
    case Error::kBadRecordSizeLimit:
      return "record_size_limit below 64";
    case Error::kMissingExtension:
      return "missing mandatory extension";
    case Error::kProtocolVersion:
      return "no acceptable protocol version";
    case Error::kInappropriateFallback:
      return "inappropriate fallback";
    case Error::kNoCommonCipherSuite:
      return "no common cipher suite";
    case Error::kNoCommonGroup:
      return "no common group";
    case Error::kNoCommonSignatureScheme:
      return "no common signature scheme";
    case Error::kHandshakeFailure:
      return "handshake failure";
    case Error::kNoApplicationProtocol:
      return "no common application protocol";
    case Error::kUnrecognizedName:
      return "unrecognized server name";
    case Error::kInsufficientSecurity:
      return "insufficient security";
    case Error::kDowngradeDetected:
      return "downgrade sentinel in server random";
    case Error::kBadKeyShare:
      return "invalid key share";
    case Error::kRenegotiationRefused:
      return "renegotiation refused";
    case Error::kBadCertificate:
      return "bad certificate";
    case Error::kUnsupportedCertificate:
      return "unsupported certificate";
    case Error::kCertificateExpired:
      return "certificate expired or not yet valid";
    case Error::kCertificateUnknown:
      return "certificate unknown";
    case Error::kUnknownCa:
      return "unknown certificate authority";
    case Error::kCertificateRequired:
      return "certificate required";
    case Error::kBadCertificateVerify:
      return "certificate verify signature invalid";
    case Error::kBadFinished:
      return "finished verify_data mismatch";
    case Error::kBadPskBinder:
      return "psk binder mismatch";
    case Error::kUnknownPskIdentity:
      return "unknown psk identity";
    case Error::kHandshakeTimeout:
      return "handshake timeout";
    case Error::kUserCanceled:
      return "canceled";
    case Error::kCryptoFailure:
      return "crypto library failure";
    case Error::kInternalError:
      return "internal error";
  }
  return "?";
}

Error from_crypto(crypto::Error e) noexcept {
  using C = crypto::Error;
  switch (e) {
    case C::kUnsupportedGroup:
    case C::kBadPublicKeyLength:
    case C::kCompressedPoint:
    case C::kBadPointFormat:
    case C::kPointAtInfinity:
    case C::kPointNotOnCurve:
    case C::kLowOrderPoint:
      return Error::kBadKeyShare;
    case C::kBadSignature:
    case C::kSchemeKeyMismatch:
      return Error::kBadCertificateVerify;
    case C::kUnsupportedScheme:
    case C::kNoCommonScheme:
      return Error::kNoCommonSignatureScheme;
    case C::kNoCertificate:
      return Error::kCertificateRequired;
    case C::kMalformedCertificate:
    case C::kBadCertificateSignature:
      return Error::kBadCertificate;
    case C::kCertificateExpired:
    case C::kCertificateNotYetValid:
      return Error::kCertificateExpired;
    case C::kUnknownCa:
      return Error::kUnknownCa;
    case C::kCertificateWrongPurpose:
      return Error::kUnsupportedCertificate;
    case C::kCertificateVerifyFailed:
      return Error::kCertificateUnknown;
    case C::kInternal:
    case C::kInvalidArgument:
    case C::kOutputTooSmall:
    case C::kRngFailed:
    case C::kRngExhausted:
    case C::kBadPrivateKey:
    case C::kFileOpenFailed:
    case C::kFileReadFailed:
    case C::kMalformedKey:
    case C::kKeyPasswordRequired:
    case C::kWrongPassword:
    case C::kUnsupportedKeyType:
    case C::kKeyTooSmall:
    case C::kKeyCertificateMismatch:
    case C::kNoCaCertificates:
      return Error::kCryptoFailure;
  }
  return Error::kCryptoFailure;
}

}  // namespace linetls::tls
