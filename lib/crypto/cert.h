// X.509 certificates for TLS: loading a server's chain and key, generating a self-signed
// certificate for TAP mode, and verifying a client's chain against a CA bundle.
//
// Parsing and path validation are libcrypto's (X509, X509_STORE, X509_verify_cert); this
// module only wraps them and turns their outcomes into crypto::Error values that callers
// print with to_string(). All of it runs at configuration time or once per handshake, so it
// may allocate; it never throws except std::bad_alloc.
#pragma once

#include <ctime>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.h"
#include "lib/crypto/error.h"
#include "lib/crypto/hash.h"
#include "lib/crypto/key.h"
#include "lib/crypto/ossl_fwd.h"

namespace linetls::crypto {

// One parsed certificate and its DER encoding. Move-only.
class Certificate {
 public:
  // Parses one DER certificate (copied); trailing bytes are kMalformedCertificate.
  static Result<Certificate, Error> from_der(std::span<const uint8_t> der);
  // Takes ownership of cert (lib/crypto internal use).
  static Result<Certificate, Error> adopt(X509* cert);

  Certificate(Certificate&&) noexcept = default;
  Certificate& operator=(Certificate&&) noexcept = default;

  // Returns the DER bytes, owned by this object: what the TLS Certificate message carries.
  std::span<const uint8_t> der() const noexcept { return der_; }
  // Returns the certificate as PEM text (e.g. to hand a generated certificate to clients).
  std::string to_pem() const;
  // Returns the subject public key. kUnsupportedKeyType / kKeyTooSmall for keys we cannot
  // use for TLS signatures.
  Result<PublicKey, Error> public_key() const noexcept;
  // Returns the subject as an RFC 2253 string, e.g. "CN=client,O=linetls test".
  std::string subject() const;
  // Returns the subjectAltName entries as "DNS:name", "IP:addr", "email:x", "URI:x".
  std::vector<std::string> subject_alt_names() const;
  // Returns the subject's Common Name (OID 2.5.4.3) as UTF-8: the first one in the Name's
  // encoded order (as HAProxy's ssl_sock_get_remote_common_name() picks), or "" if there
  // is none or it is not a string type.
  std::string common_name() const;
  // Returns SHA-256 of der().
  Result<Digest, Error> fingerprint_sha256() const noexcept;
  // Returns ok if now lies within [notBefore, notAfter]; else kCertificateExpired,
  // kCertificateNotYetValid, or kMalformedCertificate for unreadable times.
  Result<void, Error> check_validity(std::time_t now) const noexcept;
  // Returns the borrowed libcrypto certificate (lib/crypto internal use).
  X509* native() const noexcept { return x509_.get(); }

 private:
  Certificate(std::unique_ptr<X509, X509Deleter> x509, std::vector<uint8_t> der) noexcept
      : x509_(std::move(x509)), der_(std::move(der)) {}

  std::unique_ptr<X509, X509Deleter> x509_;
  std::vector<uint8_t> der_;
};

// Parses every CERTIFICATE block of pem (borrowed), in order. Other PEM blocks are skipped.
// Errors: kNoCertificate (none found), kMalformedCertificate (a block that does not parse).
Result<std::vector<Certificate>, Error> parse_pem_certificates(std::span<const uint8_t> pem);
// The same for the file at path, plus kFileOpenFailed / kFileReadFailed.
Result<std::vector<Certificate>, Error> load_pem_certificates(std::string_view path);

// A certificate chain (leaf first) with the private key of the leaf. Move-only.
class CertifiedKey {
 public:
  // Builds from PEM text (borrowed): the chain (leaf first, then intermediates) and the
  // private key (password used only if it is encrypted). Checks, in order: the chain
  // parses, the key parses and is a supported type, every certificate is valid at now,
  // and the key matches the leaf (X509_check_private_key).
  static Result<CertifiedKey, Error> from_pem(std::span<const uint8_t> chain_pem,
                                              std::span<const uint8_t> key_pem,
                                              std::string_view password = {},
                                              std::time_t now = std::time(nullptr));
  // The same from files (the key file's contents are wiped after parsing).
  static Result<CertifiedKey, Error> load(std::string_view chain_path, std::string_view key_path,
                                          std::string_view password = {},
                                          std::time_t now = std::time(nullptr));
  // Generates a fresh ECDSA P-256 key and a self-signed X.509 v3 certificate for it:
  // subject CN=common_name, subjectAltName from subject_alt_names (each an IPv4/IPv6
  // literal, which becomes an IP entry, or else a DNS name), serverAuth, valid from one
  // hour ago for validity_days. kInvalidArgument for empty or over-long names.
  static Result<CertifiedKey, Error> self_signed(
      std::string_view common_name, std::span<const std::string_view> subject_alt_names,
      unsigned validity_days = 365);

  CertifiedKey(CertifiedKey&&) noexcept = default;
  CertifiedKey& operator=(CertifiedKey&&) noexcept = default;

  const PrivateKey& key() const noexcept { return key_; }
  const Certificate& leaf() const noexcept { return chain_.front(); }
  // Returns the chain, leaf first, owned by this object.
  std::span<const Certificate> chain() const noexcept { return chain_; }

 private:
  CertifiedKey(std::vector<Certificate> chain, PrivateKey key) noexcept
      : chain_(std::move(chain)), key_(std::move(key)) {}

  std::vector<Certificate> chain_;
  PrivateKey key_;
};

// What a PROXY protocol v2 SSL TLV says about a certificate (PP2_SUBTYPE_SSL_SIG_ALG and
// PP2_SUBTYPE_SSL_KEY_ALG), in HAProxy's words.
struct CertDescription {
  // The algorithm that signed the certificate: OpenSSL's short name of its signature NID,
  // e.g. "ecdsa-with-SHA256", "RSA-SHA256", "RSASSA-PSS", "ED25519" (the dotted OID for an
  // algorithm libcrypto has no name for).
  std::string sig_alg;
  // The certificate's key: "RSA2048", "EC256", "DSA2048" (HAProxy's cert_get_pkey_algo()),
  // and, where HAProxy sends nothing, the key type's short name: "ED25519", "ED448".
  std::string key_alg;
};

// Describes cert for the PROXY SSL TLV. Errors: kMalformedCertificate (no readable key or
// signature algorithm), kUnsupportedKeyType (a key type libcrypto has no name for).
Result<CertDescription, Error> describe_certificate(const Certificate& cert);
// Describes the leaf of key: our own certificate, as the frontend presents it.
Result<CertDescription, Error> describe_certificate(const CertifiedKey& key);

// Returns the Common Name in an RFC 2253 subject string as Certificate::subject() prints
// it ("CN=client,O=linetls test"), unescaped to the bytes the certificate holds: the same
// string as Certificate::common_name() of that certificate. That string lists the Name in
// reverse, so this is its last CN attribute. "" if there is none, or if its value is a
// '#' hex dump (a non-string type). For identities that crossed a session ticket, which
// carries the subject but not the Common Name.
std::string common_name_from_rfc2253(std::string_view subject);

// Who a verified client certificate chain says the peer is.
struct VerifiedIdentity {
  std::string subject;                         // RFC 2253, e.g. "CN=client,O=linetls test"
  std::vector<std::string> subject_alt_names;  // as Certificate::subject_alt_names()
  Digest sha256_fingerprint;                   // SHA-256 of the leaf's DER
  // The leaf's subject Common Name, as Certificate::common_name(); "" if none. Session
  // tickets do not carry it: after resumption it is "", and
  // common_name_from_rfc2253(subject) gives it back.
  std::string common_name;
};

// Trust anchors for verifying client certificates. Immutable after load; libcrypto's
// X509_STORE is safe to share between threads for verification. Move-only.
class CaStore {
 public:
  // Loads every certificate of the PEM bundle at path as a trust anchor. Errors: as
  // load_pem_certificates(), with kNoCaCertificates instead of kNoCertificate.
  static Result<CaStore, Error> load(std::string_view ca_bundle_path);
  // The same from PEM text (borrowed).
  static Result<CaStore, Error> from_pem(std::span<const uint8_t> ca_bundle_pem);

  CaStore(CaStore&&) noexcept = default;
  CaStore& operator=(CaStore&&) noexcept = default;

  // Verifies a client's chain, as sent in a TLS Certificate message (leaf first, then
  // intermediates; each DER borrowed), for TLS client authentication at time now. Errors:
  // kNoCertificate (empty chain), kMalformedCertificate, kUnknownCa, kCertificateExpired,
  // kCertificateNotYetValid, kBadCertificateSignature, kCertificateWrongPurpose,
  // kCertificateVerifyFailed (anything else libcrypto refuses).
  Result<VerifiedIdentity, Error> verify_client_chain(
      std::span<const std::span<const uint8_t>> chain_der,
      std::time_t now = std::time(nullptr)) const;

  // Returns the DER-encoded subject Name of each trust anchor, in bundle order, owned by
  // this object: what a CertificateRequest's certificate_authorities lists (RFC 8446
  // §4.2.4, RFC 5246 §7.4.4).
  std::span<const std::vector<uint8_t>> subject_names() const noexcept { return subject_names_; }

 private:
  CaStore(std::unique_ptr<X509_STORE, X509StoreDeleter> store,
          std::vector<std::vector<uint8_t>> subject_names) noexcept
      : store_(std::move(store)), subject_names_(std::move(subject_names)) {}

  std::unique_ptr<X509_STORE, X509StoreDeleter> store_;
  std::vector<std::vector<uint8_t>> subject_names_;
};

}  // namespace linetls::crypto
