// X.509 certificates for TLS: loading a server's chain and key, generating a self-signed
// certificate for TAP mode, and verifying a client's chain against a CA bundle.
//
// Parsing and path validation are libcrypto's (X509, X509_STORE, X509_verify_cert); this
// module only wraps them and turns their outcomes into crypto::Error values that callers
// print with to_string(). All of it runs at configuration time or once per handshake, so it
// may allocate; it never throws except std::bad_alloc.
#pragma once

#include <cstddef>
#include <cstdint>
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

// A peer's leaf certificate as a TLS client uses it: the subject key (to check the
// server's CertificateVerify or ServerKeyExchange) and the SHA-256 of its DER.
struct LeafKey {
  PublicKey key;
  Digest sha256;
};
// What failed in leaf_key(): parsing the DER, taking its key, or hashing it.
struct LeafKeyError {
  enum class Step : uint8_t { kParse, kKey, kDigest };
  Step step = Step::kParse;
  Error error = Error::kInternal;
};
inline constexpr size_t kLeafKeyCacheEntries = 8;
// Parses the leaf der (borrowed) and returns its key and fingerprint, as
// Certificate::from_der(), public_key() and fingerprint_sha256() would. The last
// kLeafKeyCacheEntries distinct leaves of the calling thread are kept: the same bytes again
// (the same server, connection after connection, as the load generator meets it) cost a
// compare instead of a parse (~100 us for a P-256 certificate in OpenSSL 3.0), and the key
// comes back as another reference to the same libcrypto key. Failures are not cached.
Result<LeafKey, LeafKeyError> leaf_key(std::span<const uint8_t> der) noexcept;

// A client chain that verified, with what a handshake needs next: who the peer is and the
// leaf's key for its CertificateVerify, so the leaf is never parsed a second time.
struct VerifiedClientChain {
  VerifiedIdentity identity;
  // The leaf's subject public key, or why it cannot check TLS signatures
  // (kUnsupportedKeyType, kKeyTooSmall, kMalformedCertificate) although the chain verified:
  // the caller refuses such a peer with its own alert.
  Result<PublicKey, Error> leaf_key;
  // True when the calling thread's cache answered (no parsing, no X509_verify_cert).
  bool from_cache = false;
};

// Default bounds of the per-thread caches of one CaStore (see CaStore). A chain entry is
// about 250 bytes plus the identity's strings, and one reference to the leaf's key (an
// EVP_PKEY shared with the handshakes that use it); a cached intermediate is one parsed X509
// (a few KB). So at most about 1 MB per thread and CaStore.
inline constexpr size_t kClientChainCacheCapacity = 1024;
inline constexpr size_t kIntermediateCacheCapacity = 128;
// How many CaStores one thread keeps caches for at once (one per TLS profile with a client
// CA, twice that across a reload); the least recently used is dropped beyond that.
inline constexpr size_t kMaxCachedCaStoresPerThread = 8;

struct ClientChainCacheLimits {
  size_t chains = kClientChainCacheCapacity;          // 0: no chain is cached
  size_t intermediates = kIntermediateCacheCapacity;  // 0: no intermediate is cached
};

// The calling thread's counters for one CaStore's cache. They start at zero when the thread
// first verifies a chain with that CaStore.
struct ClientChainCacheStats {
  uint64_t hits = 0;       // chains answered from the cache, without libcrypto
  uint64_t misses = 0;     // chains verified by X509_verify_cert (including refusals)
  uint64_t stale = 0;      // entries found but dropped: now outside their window (also misses)
  uint64_t evictions = 0;  // entries dropped to make room for a newer chain
  uint64_t intermediate_hits = 0;    // intermediates taken parsed from the cache
  uint64_t intermediate_misses = 0;  // intermediates parsed from DER
  uint64_t intermediate_evictions = 0;
  size_t entries = 0;        // chains cached now
  size_t intermediates = 0;  // intermediates cached now
};

namespace cert_cache {
struct StoreTag;  // the identity of one CaStore, for its per-thread caches (cert_cache.h)
}  // namespace cert_cache

// Trust anchors for verifying client certificates. Immutable after load; libcrypto's
// X509_STORE is safe to share between threads for verification. Move-only.
//
// Verified chains are cached per thread and per CaStore: the key is SHA-256 over the chain
// exactly as sent (each DER with its length), the value the identity, the leaf's key and the
// validity window of the path X509_verify_cert built (latest notBefore, earliest notAfter,
// trust anchor included). A hit is used only while now lies in that window; any other time
// the chain is verified again, so expiry is reported as without the cache. Only chains that
// verify are cached, so a peer can only insert chains our CAs vouch for. Intermediates of
// verified paths are also kept parsed (by SHA-256 of their DER), so a new leaf under a known
// intermediate skips its parsing; X509_verify_cert still checks every signature. Each
// CaStore gets a process-unique id at load: a reload builds a new CaStore, whose caches start
// empty and never answer for the old one, and a thread drops the caches of a CaStore that no
// longer exists the next time it verifies a chain. Per thread, so no lock is taken.
class CaStore {
 public:
  // Loads every certificate of the PEM bundle at path as a trust anchor. Errors: as
  // load_pem_certificates(), with kNoCaCertificates instead of kNoCertificate.
  static Result<CaStore, Error> load(std::string_view ca_bundle_path,
                                     ClientChainCacheLimits limits = {});
  // The same from PEM text (borrowed).
  static Result<CaStore, Error> from_pem(std::span<const uint8_t> ca_bundle_pem,
                                         ClientChainCacheLimits limits = {});

  CaStore(CaStore&&) noexcept = default;
  CaStore& operator=(CaStore&&) noexcept = default;

  // Verifies a client's chain, as sent in a TLS Certificate message (leaf first, then
  // intermediates; each DER borrowed), for TLS client authentication at time now, and
  // extracts the leaf's key. Errors: kNoCertificate (empty chain), kMalformedCertificate,
  // kUnknownCa, kCertificateExpired, kCertificateNotYetValid, kBadCertificateSignature,
  // kCertificateWrongPurpose, kCertificateVerifyFailed (anything else libcrypto refuses).
  Result<VerifiedClientChain, Error> verify_client_chain_and_key(
      std::span<const std::span<const uint8_t>> chain_der,
      std::time_t now = std::time(nullptr)) const;
  // The same without the leaf's key (which may then be unusable for signatures).
  Result<VerifiedIdentity, Error> verify_client_chain(
      std::span<const std::span<const uint8_t>> chain_der,
      std::time_t now = std::time(nullptr)) const;

  // Verifies a server's chain (leaf first, as in a TLS Certificate message; DER borrowed)
  // for TLS server authentication at time now and, when name is not empty, that the leaf
  // names it (a DNS name against the DNS SANs, or a dotted IPv4 address against the IP
  // SANs). No cache: what a client (the load generator's --verify) checks once per
  // connection. Errors as verify_client_chain_and_key(); a name mismatch is
  // kCertificateVerifyFailed.
  Result<void, Error> verify_server_chain(std::span<const std::span<const uint8_t>> chain_der,
                                          std::string_view name,
                                          std::time_t now = std::time(nullptr)) const;

  // Returns the calling thread's cache counters for this CaStore (zero if this thread has
  // not verified a chain with it, or dropped its cache).
  ClientChainCacheStats cache_stats() const noexcept;

  // Returns the DER-encoded subject Name of each trust anchor, in bundle order, owned by
  // this object: what a CertificateRequest's certificate_authorities lists (RFC 8446
  // §4.2.4, RFC 5246 §7.4.4).
  std::span<const std::vector<uint8_t>> subject_names() const noexcept { return subject_names_; }

 private:
  CaStore(std::unique_ptr<X509_STORE, X509StoreDeleter> store,
          std::vector<std::vector<uint8_t>> subject_names,
          std::shared_ptr<const cert_cache::StoreTag> tag) noexcept
      : store_(std::move(store)), subject_names_(std::move(subject_names)), tag_(std::move(tag)) {}

  std::unique_ptr<X509_STORE, X509StoreDeleter> store_;
  std::vector<std::vector<uint8_t>> subject_names_;
  // Names this CaStore to the per-thread caches; they hold it weakly, so its expiry tells
  // them the CaStore is gone.
  std::shared_ptr<const cert_cache::StoreTag> tag_;
};

}  // namespace linetls::crypto
