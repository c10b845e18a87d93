// Pins every Error to its alert (RFC 8446 §6 and the sections quoted in errors.cc), so a
// change of mapping is a visible, reviewed change; and walks every value so a new Error
// cannot be added without a pinned alert and a description.
#include "lib/tls/errors.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <utility>
#include <vector>

namespace linetls::tls {
namespace {

using A = AlertDescription;

const std::vector<std::pair<Error, A>>& pinned() {
  static const std::vector<std::pair<Error, A>> kPairs = {
      {Error::kRecordOverflow, A::kRecordOverflow},
      {Error::kPlaintextOverflow, A::kRecordOverflow},
      {Error::kBadRecordType, A::kUnexpectedMessage},
      {Error::kBadRecordVersion, A::kProtocolVersion},
      {Error::kEmptyFragment, A::kUnexpectedMessage},
      {Error::kAllZeroInnerPlaintext, A::kUnexpectedMessage},
      {Error::kDecryptFailed, A::kBadRecordMac},
      {Error::kSequenceOverflow, A::kInternalError},
      {Error::kUnprotectedRecord, A::kUnexpectedMessage},
      {Error::kBadChangeCipherSpec, A::kUnexpectedMessage},
      {Error::kUnexpectedChangeCipherSpec, A::kUnexpectedMessage},
      {Error::kBadAlert, A::kDecodeError},
      {Error::kTooManyEmptyRecords, A::kUnexpectedMessage},
      {Error::kTooManyWarningAlerts, A::kUnexpectedMessage},
      {Error::kTooManyKeyUpdates, A::kUnexpectedMessage},
      {Error::kAssemblyBusy, A::kInternalError},
      {Error::kInterleavedRecord, A::kUnexpectedMessage},
      {Error::kHandshakeMessageTooLarge, A::kDecodeError},
      {Error::kHandshakeSpansKeyChange, A::kUnexpectedMessage},
      {Error::kUnknownHandshakeType, A::kUnexpectedMessage},
      {Error::kUnexpectedMessage, A::kUnexpectedMessage},
      {Error::kDecodeError, A::kDecodeError},
      {Error::kBadServerName, A::kIllegalParameter},
      {Error::kTooManyListEntries, A::kDecodeError},
      {Error::kIllegalParameter, A::kIllegalParameter},
      {Error::kBadCompressionMethod, A::kIllegalParameter},
      {Error::kDuplicateExtension, A::kIllegalParameter},
      {Error::kMisplacedExtension, A::kIllegalParameter},
      {Error::kUnsolicitedExtension, A::kUnsupportedExtension},
      {Error::kPreSharedKeyNotLast, A::kIllegalParameter},
      {Error::kDuplicateKeyShare, A::kIllegalParameter},
      {Error::kKeyShareGroupNotOffered, A::kIllegalParameter},
      {Error::kPskBinderCountMismatch, A::kIllegalParameter},
      {Error::kBadRecordSizeLimit, A::kIllegalParameter},
      {Error::kMissingExtension, A::kMissingExtension},
      {Error::kProtocolVersion, A::kProtocolVersion},
      {Error::kInappropriateFallback, A::kInappropriateFallback},
      {Error::kNoCommonCipherSuite, A::kHandshakeFailure},
      {Error::kNoCommonGroup, A::kHandshakeFailure},
      {Error::kNoCommonSignatureScheme, A::kHandshakeFailure},
      {Error::kHandshakeFailure, A::kHandshakeFailure},
      {Error::kNoApplicationProtocol, A::kNoApplicationProtocol},
      {Error::kUnrecognizedName, A::kUnrecognizedName},
      {Error::kInsufficientSecurity, A::kInsufficientSecurity},
      {Error::kDowngradeDetected, A::kIllegalParameter},
      {Error::kBadKeyShare, A::kIllegalParameter},
      {Error::kRenegotiationRefused, A::kNoRenegotiation},
      {Error::kBadCertificate, A::kBadCertificate},
      {Error::kUnsupportedCertificate, A::kUnsupportedCertificate},
      {Error::kCertificateExpired, A::kCertificateExpired},
      {Error::kCertificateUnknown, A::kCertificateUnknown},
      {Error::kUnknownCa, A::kUnknownCa},
      {Error::kCertificateRequired, A::kCertificateRequired},
      {Error::kBadCertificateVerify, A::kDecryptError},
      {Error::kBadFinished, A::kDecryptError},
      {Error::kBadPskBinder, A::kDecryptError},
      {Error::kUnknownPskIdentity, A::kUnknownPskIdentity},
      {Error::kHandshakeTimeout, A::kUserCanceled},
      {Error::kUserCanceled, A::kUserCanceled},
      {Error::kCryptoFailure, A::kInternalError},
      {Error::kInternalError, A::kInternalError},
  };
  return kPairs;
}

TEST(TlsErrors, EveryErrorHasItsPinnedAlert) {
  for (const auto& [e, alert] : pinned()) {
    EXPECT_EQ(to_alert(e), alert) << to_string(e);
  }
}

TEST(TlsErrors, EveryValueIsPinnedOnceAndDescribed) {
  ASSERT_EQ(pinned().size(), kNumErrors);
  std::set<Error> seen;
  std::set<std::string_view> descriptions;
  for (const auto& [e, alert] : pinned()) {
    EXPECT_TRUE(seen.insert(e).second) << "pinned twice: " << to_string(e);
  }
  for (size_t i = 0; i < kNumErrors; i++) {
    const auto e = static_cast<Error>(i);
    EXPECT_EQ(seen.count(e), 1u) << "not pinned: " << i;
    const std::string_view s = to_string(e);
    EXPECT_NE(s, "?") << i;
    EXPECT_TRUE(descriptions.insert(s).second) << "description reused: " << s;
    EXPECT_NE(alert_name(to_alert(e)), "unknown") << s;
  }
}

TEST(TlsErrors, AlertCodesAreTheRfcNumbers) {
  // RFC 8446 §6: a few values spot-checked against the registry, plus the names table.
  EXPECT_EQ(static_cast<int>(A::kCloseNotify), 0);
  EXPECT_EQ(static_cast<int>(A::kBadRecordMac), 20);
  EXPECT_EQ(static_cast<int>(A::kRecordOverflow), 22);
  EXPECT_EQ(static_cast<int>(A::kDecodeError), 50);
  EXPECT_EQ(static_cast<int>(A::kMissingExtension), 109);
  EXPECT_EQ(static_cast<int>(A::kCertificateRequired), 116);
  EXPECT_EQ(static_cast<int>(A::kNoApplicationProtocol), 120);
  EXPECT_EQ(alert_name(A::kNoApplicationProtocol), "no_application_protocol");
  EXPECT_EQ(alert_name(uint8_t{21}), "unknown");  // decryption_failed_RESERVED
  EXPECT_EQ(alert_name(uint8_t{255}), "unknown");
}

TEST(TlsErrors, CryptoFailuresMapByWhoseFaultTheyAre) {
  EXPECT_EQ(from_crypto(crypto::Error::kLowOrderPoint), Error::kBadKeyShare);
  EXPECT_EQ(from_crypto(crypto::Error::kPointNotOnCurve), Error::kBadKeyShare);
  EXPECT_EQ(from_crypto(crypto::Error::kBadSignature), Error::kBadCertificateVerify);
  EXPECT_EQ(from_crypto(crypto::Error::kCertificateExpired), Error::kCertificateExpired);
  EXPECT_EQ(from_crypto(crypto::Error::kCertificateNotYetValid), Error::kCertificateExpired);
  EXPECT_EQ(from_crypto(crypto::Error::kUnknownCa), Error::kUnknownCa);
  EXPECT_EQ(from_crypto(crypto::Error::kInternal), Error::kCryptoFailure);
  EXPECT_EQ(from_crypto(crypto::Error::kRngFailed), Error::kCryptoFailure);
}

}  // namespace
}  // namespace linetls::tls
