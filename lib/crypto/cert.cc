#include "lib/crypto/cert.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "lib/base/log.h"
#include "lib/crypto/cert_cache.h"
#include "lib/crypto/ossl_util.h"
#include "lib/crypto/rng.h"

namespace linetls::crypto {
namespace {

std::span<const uint8_t> as_bytes(const std::string& s) noexcept {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Certificates are never encrypted; refuse rather than let libcrypto prompt on a terminal.
int no_password_cb(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return len > 0 ? std::string(data, static_cast<size_t>(len)) : std::string();
}

std::string asn1_string(const ASN1_STRING* s) {
  return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<size_t>(ASN1_STRING_length(s)));
}

// Maps the X509_verify_cert outcome to our Error; the libcrypto reason goes to the debug log.
Error map_verify_error(int code) noexcept {
  switch (code) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return Error::kCertificateExpired;
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return Error::kCertificateNotYetValid;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_CERT_UNTRUSTED:
      return Error::kUnknownCa;
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
    case X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
    case X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY:
      return Error::kBadCertificateSignature;
    case X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD:
    case X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD:
      return Error::kMalformedCertificate;
    case X509_V_ERR_INVALID_PURPOSE:
      return Error::kCertificateWrongPurpose;
    default:
      return Error::kCertificateVerifyFailed;
  }
}

ossl::X509Ptr parse_der(std::span<const uint8_t> der) noexcept {
  const unsigned char* p = der.data();
  ossl::X509Ptr x(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
  if (x && p != der.data() + der.size()) {
    x.reset();  // trailing bytes after the certificate
  }
  ossl::clear_errors();
  return x;
}

bool add_conf_ext(X509* x, X509V3_CTX* ctx, int nid, const char* value) noexcept {
  ossl::X509ExtensionPtr ext(X509V3_EXT_nconf_nid(nullptr, ctx, nid, value));
  return ext && X509_add_ext(x, ext.get(), -1) == 1;  // X509_add_ext copies
}

// Appends one subjectAltName: an IP entry for an IPv4/IPv6 literal, else a DNS entry.
bool add_alt_name(GENERAL_NAMES* names, std::string_view name) {
  const std::string z(name);
  ossl::GeneralNamePtr gen(GENERAL_NAME_new());
  if (!gen) {
    return false;
  }
  if (ossl::Asn1OctetStringPtr ip(a2i_IPADDRESS(z.c_str())); ip) {
    GENERAL_NAME_set0_value(gen.get(), GEN_IPADD, ip.release());
  } else {
    ossl::Asn1Ia5StringPtr dns(ASN1_IA5STRING_new());
    if (!dns || ASN1_STRING_set(dns.get(), z.data(), static_cast<int>(z.size())) != 1) {
      return false;
    }
    GENERAL_NAME_set0_value(gen.get(), GEN_DNS, dns.release());
  }
  if (sk_GENERAL_NAME_push(names, gen.get()) <= 0) {
    return false;
  }
  gen.release();  // now owned by names
  return true;
}

bool valid_name(std::string_view s, size_t max_len) noexcept {
  return !s.empty() && s.size() <= max_len && s.find('\0') == std::string_view::npos;
}

// Returns t as seconds since the epoch, or nullopt if libcrypto cannot read it.
std::optional<std::time_t> to_time_t(const ASN1_TIME* t) noexcept {
  std::tm tm = {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) {
    ossl::clear_errors();
    return std::nullopt;
  }
  return timegm(&tm);
}

// Returns the window in which the path ctx verified stays valid: the latest notBefore and
// the earliest notAfter over every certificate of it, the trust anchor included. nullopt if
// a time is unreadable (the chain is then not cached).
std::optional<std::pair<std::time_t, std::time_t>> path_window(X509_STORE_CTX* ctx) noexcept {
  const STACK_OF(X509)* path = X509_STORE_CTX_get0_chain(ctx);
  if (path == nullptr || sk_X509_num(path) <= 0) {
    return std::nullopt;
  }
  std::time_t not_before = std::numeric_limits<std::time_t>::min();
  std::time_t not_after = std::numeric_limits<std::time_t>::max();
  for (int i = 0; i < sk_X509_num(path); i++) {
    const X509* x = sk_X509_value(path, i);
    const std::optional<std::time_t> nb = to_time_t(X509_get0_notBefore(x));
    const std::optional<std::time_t> na = to_time_t(X509_get0_notAfter(x));
    if (!nb || !na) {
      return std::nullopt;
    }
    not_before = std::max(not_before, *nb);
    not_after = std::min(not_after, *na);
  }
  return std::pair(not_before, not_after);
}

// Returns whether x (by identity, not content) is a certificate of the path ctx verified.
bool in_path(X509_STORE_CTX* ctx, const X509* x) noexcept {
  const STACK_OF(X509)* path = X509_STORE_CTX_get0_chain(ctx);
  for (int i = 0; path != nullptr && i < sk_X509_num(path); i++) {
    if (sk_X509_value(path, i) == x) {
      return true;
    }
  }
  return false;
}

// Returns another PublicKey on the same libcrypto key (immutable, reference counted).
Result<PublicKey, Error> share_key(EVP_PKEY* pkey) noexcept {
  if (EVP_PKEY_up_ref(pkey) != 1) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return PublicKey::adopt(pkey);
}

}  // namespace

// ---- Certificate --------------------------------------------------------------------------

Result<Certificate, Error> Certificate::from_der(std::span<const uint8_t> der) {
  ossl::X509Ptr x = parse_der(der);
  if (!x) {
    return fail(Error::kMalformedCertificate);
  }
  return Certificate(std::unique_ptr<X509, X509Deleter>(x.release()),
                     std::vector<uint8_t>(der.begin(), der.end()));
}

Result<Certificate, Error> Certificate::adopt(X509* cert) {
  std::unique_ptr<X509, X509Deleter> x(cert);
  const int len = x ? i2d_X509(x.get(), nullptr) : -1;
  if (len <= 0) {
    ossl::clear_errors();
    return fail(Error::kMalformedCertificate);
  }
  std::vector<uint8_t> der(static_cast<size_t>(len));
  unsigned char* p = der.data();
  if (i2d_X509(x.get(), &p) != len) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return Certificate(std::move(x), std::move(der));
}

Result<PublicKey, Error> Certificate::public_key() const noexcept {
  EVP_PKEY* pkey = X509_get_pubkey(x509_.get());  // a new reference
  if (pkey == nullptr) {
    ossl::clear_errors();
    return fail(Error::kMalformedCertificate);
  }
  return PublicKey::adopt(pkey);
}

std::string Certificate::to_pem() const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), x509_.get()) != 1) {
    ossl::clear_errors();
    return {};
  }
  return bio_to_string(bio.get());
}

std::string Certificate::subject() const {
  ossl::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio ||
      X509_NAME_print_ex(bio.get(), X509_get_subject_name(x509_.get()), 0, XN_FLAG_RFC2253) < 0) {
    ossl::clear_errors();
    return {};
  }
  return bio_to_string(bio.get());
}

std::vector<std::string> Certificate::subject_alt_names() const {
  std::vector<std::string> out;
  ossl::GeneralNamesPtr names(static_cast<GENERAL_NAMES*>(
      X509_get_ext_d2i(x509_.get(), NID_subject_alt_name, nullptr, nullptr)));
  ossl::clear_errors();
  if (!names) {
    return out;
  }
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); i++) {
    const GENERAL_NAME* gen = sk_GENERAL_NAME_value(names.get(), i);
    switch (gen->type) {
      case GEN_DNS:
        out.push_back("DNS:" + asn1_string(gen->d.dNSName));
        break;
      case GEN_EMAIL:
        out.push_back("email:" + asn1_string(gen->d.rfc822Name));
        break;
      case GEN_URI:
        out.push_back("URI:" + asn1_string(gen->d.uniformResourceIdentifier));
        break;
      case GEN_IPADD: {
        const ASN1_OCTET_STRING* ip = gen->d.iPAddress;
        const int len = ASN1_STRING_length(ip);
        char text[INET6_ADDRSTRLEN] = {};
        const int family = len == 4 ? AF_INET : len == 16 ? AF_INET6 : AF_UNSPEC;
        if (family != AF_UNSPEC &&
            inet_ntop(family, ASN1_STRING_get0_data(ip), text, sizeof(text)) != nullptr) {
          out.push_back(std::string("IP:") + text);
        }
        break;
      }
      default:
        break;  // directory names, other names: not identities we report
    }
  }
  return out;
}

std::string Certificate::common_name() const {
  const X509_NAME* name = X509_get_subject_name(x509_.get());
  const int index = name != nullptr ? X509_NAME_get_index_by_NID(name, NID_commonName, -1) : -1;
  if (index < 0) {
    return {};
  }
  const ASN1_STRING* value = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, index));
  unsigned char* utf8 = nullptr;
  const int len = value != nullptr ? ASN1_STRING_to_UTF8(&utf8, value) : -1;
  std::string out;
  if (len > 0) {
    out.assign(reinterpret_cast<const char*>(utf8), static_cast<size_t>(len));
  }
  OPENSSL_free(utf8);
  ossl::clear_errors();
  return out;
}

namespace {

struct LeafKeyEntry {
  std::vector<uint8_t> der;
  std::optional<PublicKey> key;
  Digest sha256;
};

struct LeafKeyCache {
  std::array<LeafKeyEntry, kLeafKeyCacheEntries> entries;
  size_t next = 0;  // the entry to replace next (round robin)
};

}  // namespace

Result<LeafKey, LeafKeyError> leaf_key(std::span<const uint8_t> der) noexcept {
  thread_local LeafKeyCache cache;
  for (LeafKeyEntry& e : cache.entries) {
    if (e.key && e.der.size() == der.size() &&
        std::equal(e.der.begin(), e.der.end(), der.begin())) {
      return LeafKey{e.key->share(), e.sha256};
    }
  }
  auto cert = Certificate::from_der(der);
  if (!cert) {
    return fail(LeafKeyError{LeafKeyError::Step::kParse, cert.error()});
  }
  auto key = cert->public_key();
  if (!key) {
    return fail(LeafKeyError{LeafKeyError::Step::kKey, key.error()});
  }
  auto fp = cert->fingerprint_sha256();
  if (!fp) {
    return fail(LeafKeyError{LeafKeyError::Step::kDigest, fp.error()});
  }
  LeafKeyEntry& e = cache.entries[cache.next];
  cache.next = (cache.next + 1) % kLeafKeyCacheEntries;
  e.der.assign(der.begin(), der.end());
  e.key.emplace(key->share());
  e.sha256 = *fp;
  return LeafKey{std::move(*key), *fp};
}

Result<Digest, Error> Certificate::fingerprint_sha256() const noexcept {
  return hash(HashAlgo::kSha256, der_);
}

Result<void, Error> Certificate::check_validity(std::time_t now) const noexcept {
  // X509_cmp_time: -1 if the certificate time is <= now, 1 if later, 0 if unreadable.
  const int after = X509_cmp_time(X509_get0_notAfter(x509_.get()), &now);
  const int before = X509_cmp_time(X509_get0_notBefore(x509_.get()), &now);
  ossl::clear_errors();
  if (after == 0 || before == 0) {
    return fail(Error::kMalformedCertificate);
  }
  if (after < 0) {
    return fail(Error::kCertificateExpired);
  }
  if (before > 0) {
    return fail(Error::kCertificateNotYetValid);
  }
  return {};
}

Result<std::vector<Certificate>, Error> parse_pem_certificates(std::span<const uint8_t> pem) {
  ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  std::vector<Certificate> certs;
  for (;;) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, no_password_cb, nullptr);
    if (x == nullptr) {
      const unsigned long err = ERR_peek_last_error();
      ossl::clear_errors();
      // "No start line" is how the PEM reader says it found no further block.
      if (ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE) {
        break;
      }
      return fail(Error::kMalformedCertificate);
    }
    Result<Certificate, Error> cert = Certificate::adopt(x);
    if (!cert) {
      return fail(cert.error());
    }
    certs.push_back(std::move(*cert));
  }
  if (certs.empty()) {
    return fail(Error::kNoCertificate);
  }
  return certs;
}

Result<std::vector<Certificate>, Error> load_pem_certificates(std::string_view path) {
  std::string pem;
  if (Result<void, Error> r = ossl::read_file(path, &pem); !r) {
    return fail(r.error());
  }
  return parse_pem_certificates(as_bytes(pem));
}

// ---- CertifiedKey -------------------------------------------------------------------------

Result<CertifiedKey, Error> CertifiedKey::from_pem(std::span<const uint8_t> chain_pem,
                                                   std::span<const uint8_t> key_pem,
                                                   std::string_view password, std::time_t now) {
  Result<std::vector<Certificate>, Error> chain = parse_pem_certificates(chain_pem);
  if (!chain) {
    return fail(chain.error());
  }
  Result<PrivateKey, Error> key = PrivateKey::from_pem(key_pem, password);
  if (!key) {
    return fail(key.error());
  }
  for (const Certificate& cert : *chain) {
    if (Result<void, Error> r = cert.check_validity(now); !r) {
      return fail(r.error());
    }
  }
  if (X509_check_private_key(chain->front().native(), key->native()) != 1) {
    ossl::clear_errors();
    return fail(Error::kKeyCertificateMismatch);
  }
  return CertifiedKey(std::move(*chain), std::move(*key));
}

Result<CertifiedKey, Error> CertifiedKey::load(std::string_view chain_path,
                                               std::string_view key_path, std::string_view password,
                                               std::time_t now) {
  std::string chain_pem;
  if (Result<void, Error> r = ossl::read_file(chain_path, &chain_pem); !r) {
    return fail(r.error());
  }
  std::string key_pem;
  if (Result<void, Error> r = ossl::read_file(key_path, &key_pem); !r) {
    return fail(r.error());
  }
  Result<CertifiedKey, Error> out = from_pem(as_bytes(chain_pem), as_bytes(key_pem), password, now);
  secure_wipe({reinterpret_cast<uint8_t*>(key_pem.data()), key_pem.size()});
  return out;
}

Result<CertifiedKey, Error> CertifiedKey::self_signed(
    std::string_view common_name, std::span<const std::string_view> subject_alt_names,
    unsigned validity_days) {
  constexpr size_t kMaxCommonName = 64;  // RFC 5280 ub-common-name
  constexpr size_t kMaxDnsName = 253;
  if (!valid_name(common_name, kMaxCommonName) || validity_days == 0 || validity_days > 100 * 366) {
    return fail(Error::kInvalidArgument);
  }
  for (std::string_view san : subject_alt_names) {
    if (!valid_name(san, kMaxDnsName)) {
      return fail(Error::kInvalidArgument);
    }
  }
  Result<PrivateKey, Error> key = PrivateKey::generate(KeyType::kEcdsaP256);
  if (!key) {
    return fail(key.error());
  }

  ossl::X509Ptr x(X509_new());
  uint8_t serial[16];
  if (!x || !os_rng().fill(serial)) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  serial[0] = static_cast<uint8_t>((serial[0] & 0x7f) | 0x40);  // positive, 16 bytes long
  ossl::BnPtr serial_bn(BN_bin2bn(serial, sizeof(serial), nullptr));
  X509_NAME* name = X509_get_subject_name(x.get());
  const std::string cn(common_name);
  bool ok = serial_bn != nullptr && X509_set_version(x.get(), X509_VERSION_3) == 1 &&
            BN_to_ASN1_INTEGER(serial_bn.get(), X509_get_serialNumber(x.get())) != nullptr &&
            X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600) != nullptr &&
            X509_gmtime_adj(X509_getm_notAfter(x.get()),
                            static_cast<long>(validity_days) * 86400) != nullptr &&
            X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                       reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                       0) == 1 &&
            X509_set_issuer_name(x.get(), name) == 1 &&
            X509_set_pubkey(x.get(), key->native()) == 1;

  X509V3_CTX v3;
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, x.get(), x.get(), nullptr, nullptr, 0);
  ok = ok && add_conf_ext(x.get(), &v3, NID_basic_constraints, "critical,CA:FALSE") &&
       add_conf_ext(x.get(), &v3, NID_key_usage, "critical,digitalSignature") &&
       add_conf_ext(x.get(), &v3, NID_ext_key_usage, "serverAuth") &&
       add_conf_ext(x.get(), &v3, NID_subject_key_identifier, "hash");
  if (ok && !subject_alt_names.empty()) {
    ossl::GeneralNamesPtr names(GENERAL_NAMES_new());
    ok = names != nullptr;
    for (std::string_view san : subject_alt_names) {
      ok = ok && add_alt_name(names.get(), san);
    }
    ok = ok &&
         X509_add1_ext_i2d(x.get(), NID_subject_alt_name, names.get(), 0, X509V3_ADD_DEFAULT) == 1;
  }
  const EVP_MD* sha256 = ossl::md(ossl::Md::kSha256);
  ok = ok && sha256 != nullptr && X509_sign(x.get(), key->native(), sha256) > 0;
  if (!ok) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  Result<Certificate, Error> cert = Certificate::adopt(x.release());
  if (!cert) {
    return fail(cert.error());
  }
  std::vector<Certificate> chain;
  chain.push_back(std::move(*cert));
  return CertifiedKey(std::move(chain), std::move(*key));
}

// ---- Describing a certificate -------------------------------------------------------------

Result<CertDescription, Error> describe_certificate(const Certificate& cert) {
  X509* x = cert.native();
  CertDescription out;
  // HAProxy's ssl_sock_get_cert_sig(): OBJ_nid2sn() of the signature algorithm.
  const int sig_nid = X509_get_signature_nid(x);
  if (sig_nid != NID_undef) {
    out.sig_alg = OBJ_nid2sn(sig_nid);
  } else {
    const X509_ALGOR* alg = nullptr;
    X509_get0_signature(nullptr, &alg, x);
    const ASN1_OBJECT* oid = nullptr;
    if (alg != nullptr) {
      X509_ALGOR_get0(&oid, nullptr, nullptr, alg);
    }
    char text[128] = {};
    if (oid == nullptr || OBJ_obj2txt(text, sizeof(text), oid, 1) <= 0) {
      ossl::clear_errors();
      return fail(Error::kMalformedCertificate);
    }
    out.sig_alg = text;
  }
  // HAProxy's cert_get_pkey_algo(): the key type and its size in bits.
  const EVP_PKEY* pkey = X509_get0_pubkey(x);
  if (pkey == nullptr) {
    ossl::clear_errors();
    return fail(Error::kMalformedCertificate);
  }
  const int bits = EVP_PKEY_get_bits(pkey);
  const int type = EVP_PKEY_get_base_id(pkey);
  switch (type) {
    case EVP_PKEY_RSA:
      out.key_alg = "RSA" + std::to_string(bits);
      break;
    case EVP_PKEY_EC:
      out.key_alg = "EC" + std::to_string(bits);
      break;
    case EVP_PKEY_DSA:
      out.key_alg = "DSA" + std::to_string(bits);
      break;
    default: {
      const char* sn = OBJ_nid2sn(type);
      if (type == NID_undef || sn == nullptr) {
        ossl::clear_errors();
        return fail(Error::kUnsupportedKeyType);
      }
      out.key_alg = sn;
      break;
    }
  }
  return out;
}

Result<CertDescription, Error> describe_certificate(const CertifiedKey& key) {
  return describe_certificate(key.leaf());
}

std::string common_name_from_rfc2253(std::string_view subject) {
  // XN_FLAG_RFC2253 output: type=value pairs separated by ',' (or '+' inside a multi-valued
  // RDN), most specific first. In a value, a backslash escapes one of , + " \ < > ; (and a
  // leading '#' or space, a trailing space), or starts two hex digits for a control or
  // non-ASCII byte; an unescaped leading '#' and more starts a hex dump of a non-string
  // value.
  auto hex_digit = [](char c) -> int {
    if (c >= '0' && c <= '9') {
      return c - '0';
    }
    if (c >= 'A' && c <= 'F') {
      return c - 'A' + 10;
    }
    if (c >= 'a' && c <= 'f') {
      return c - 'a' + 10;
    }
    return -1;
  };
  std::string found;
  size_t i = 0;
  while (i < subject.size()) {
    // The attribute type runs to '=' (never escaped in a type).
    const size_t eq = subject.find('=', i);
    if (eq == std::string_view::npos) {
      break;
    }
    const std::string_view type = subject.substr(i, eq - i);
    std::string value;
    // A one-character "#" is the name "#": OpenSSL leaves a value's only character
    // unescaped unless it is a space, and a hex dump is never that short.
    const bool dump = eq + 2 < subject.size() && subject[eq + 1] == '#' && subject[eq + 2] != ',' &&
                      subject[eq + 2] != '+';
    i = eq + 1;
    while (i < subject.size() && subject[i] != ',' && subject[i] != '+') {
      if (subject[i] == '\\' && i + 1 < subject.size()) {
        const int hi = hex_digit(subject[i + 1]);
        const int lo = i + 2 < subject.size() ? hex_digit(subject[i + 2]) : -1;
        if (hi >= 0 && lo >= 0) {
          value.push_back(static_cast<char>(hi * 16 + lo));
          i += 3;
        } else {
          value.push_back(subject[i + 1]);
          i += 2;
        }
      } else {
        value.push_back(subject[i]);
        i++;
      }
    }
    if (type == "CN") {
      found = dump ? std::string() : std::move(value);
    }
    i++;  // past the separator
  }
  return found;
}

// ---- CaStore ------------------------------------------------------------------------------

Result<CaStore, Error> CaStore::from_pem(std::span<const uint8_t> ca_bundle_pem,
                                         ClientChainCacheLimits limits) {
  Result<std::vector<Certificate>, Error> certs = parse_pem_certificates(ca_bundle_pem);
  if (!certs) {
    return fail(certs.error() == Error::kNoCertificate ? Error::kNoCaCertificates : certs.error());
  }
  std::unique_ptr<X509_STORE, X509StoreDeleter> store(X509_STORE_new());
  if (!store) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  std::vector<std::vector<uint8_t>> names;
  for (const Certificate& cert : *certs) {
    if (X509_STORE_add_cert(store.get(), cert.native()) != 1) {  // takes its own reference
      ossl::clear_errors();
      return fail(Error::kInternal);
    }
    const X509_NAME* subject = X509_get_subject_name(cert.native());
    const int len = subject != nullptr ? i2d_X509_NAME(subject, nullptr) : -1;
    if (len <= 0) {
      ossl::clear_errors();
      return fail(Error::kMalformedCertificate);
    }
    std::vector<uint8_t> der(static_cast<size_t>(len));
    uint8_t* out = der.data();
    if (i2d_X509_NAME(subject, &out) != len) {
      ossl::clear_errors();
      return fail(Error::kInternal);
    }
    names.push_back(std::move(der));
  }
  return CaStore(std::move(store), std::move(names), cert_cache::new_tag(limits));
}

Result<CaStore, Error> CaStore::load(std::string_view ca_bundle_path,
                                     ClientChainCacheLimits limits) {
  std::string pem;
  if (Result<void, Error> r = ossl::read_file(ca_bundle_path, &pem); !r) {
    return fail(r.error());
  }
  return from_pem(as_bytes(pem), limits);
}

Result<VerifiedClientChain, Error> CaStore::verify_client_chain_and_key(
    std::span<const std::span<const uint8_t>> chain_der, std::time_t now) const {
  constexpr int kMaxChainDepth = 8;
  if (chain_der.empty()) {
    return fail(Error::kNoCertificate);
  }
  cert_cache::StoreCaches* cache = cert_cache::caches_for(tag_);
  std::optional<cert_cache::Key> chain_key;
  if (cache != nullptr) {
    if (cache->chains.capacity() > 0) {
      if (Result<cert_cache::Key, Error> k = cert_cache::chain_key(chain_der); k) {
        chain_key = *k;
      }
    }
    if (chain_key) {
      if (const cert_cache::ChainEntry* e = cache->chains.find(*chain_key); e != nullptr) {
        // The window is libcrypto's: valid from notBefore on, expired at notAfter
        // (X509_cmp_time counts an equal time as earlier).
        if (e->not_before <= now && now < e->not_after) {
          Result<PublicKey, Error> key = share_key(e->leaf_key.get());
          if (key) {
            cache->stats.hits++;
            return VerifiedClientChain{e->identity, std::move(key), true};
          }
        } else {
          // Verified again below, so an out-of-date chain gets libcrypto's exact refusal.
          cache->chains.erase(*chain_key);
          cache->stats.stale++;
        }
      }
    }
    cache->stats.misses++;
  }

  Result<Certificate, Error> leaf = Certificate::from_der(chain_der.front());
  if (!leaf) {
    return fail(leaf.error());
  }
  ossl::X509StackPtr untrusted(sk_X509_new_null());
  if (!untrusted) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  // Intermediates parsed here (owned by untrusted), kept parsed if the verified path uses
  // them: only those can have come from our CAs.
  std::vector<std::pair<cert_cache::Key, X509*>> parsed;
  for (std::span<const uint8_t> der : chain_der.subspan(1)) {
    ossl::X509Ptr x;
    std::optional<cert_cache::Key> der_key;
    if (cache != nullptr && cache->intermediates.capacity() > 0) {
      if (Result<cert_cache::Key, Error> k = cert_cache::der_key(der); k) {
        der_key = *k;
        ossl::X509Ptr* cached = cache->intermediates.find(*k);
        if (cached != nullptr && X509_up_ref(cached->get()) == 1) {
          // The same DER parses to the same certificate; X509_verify_cert still checks its
          // signature and its issuer's, as for one parsed now.
          x.reset(cached->get());
          cache->stats.intermediate_hits++;
        }
      }
    }
    if (!x) {
      x = parse_der(der);
      if (!x) {
        return fail(Error::kMalformedCertificate);
      }
      if (der_key) {
        parsed.emplace_back(*der_key, x.get());
        cache->stats.intermediate_misses++;
      }
    }
    if (sk_X509_push(untrusted.get(), x.get()) <= 0) {
      ossl::clear_errors();
      return fail(Error::kInternal);
    }
    x.release();  // now owned by the stack
  }

  ossl::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store_.get(), leaf->native(), untrusted.get()) != 1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_CLIENT) != 1) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, now);
  X509_VERIFY_PARAM_set_depth(param, kMaxChainDepth);
  if (X509_verify_cert(ctx.get()) != 1) {
    const int code = X509_STORE_CTX_get_error(ctx.get());
    ossl::clear_errors();
    LT_DEBUG("client certificate rejected: %s (depth %d)", X509_verify_cert_error_string(code),
             X509_STORE_CTX_get_error_depth(ctx.get()));
    return fail(map_verify_error(code));
  }
  Result<Digest, Error> fingerprint = leaf->fingerprint_sha256();
  if (!fingerprint) {
    return fail(fingerprint.error());
  }
  VerifiedIdentity id;
  id.subject = leaf->subject();
  id.subject_alt_names = leaf->subject_alt_names();
  id.sha256_fingerprint = *fingerprint;
  id.common_name = leaf->common_name();
  Result<PublicKey, Error> leaf_key = leaf->public_key();

  if (cache != nullptr) {
    for (const auto& [key, x] : parsed) {
      if (in_path(ctx.get(), x) && X509_up_ref(x) == 1 &&
          cache->intermediates.insert(key, ossl::X509Ptr(x))) {
        cache->stats.intermediate_evictions++;
      }
    }
    // A leaf whose key we cannot use is refused by every caller; not worth a slot.
    const auto window = chain_key && leaf_key ? path_window(ctx.get()) : std::nullopt;
    if (window && EVP_PKEY_up_ref(leaf_key->native()) == 1) {
      cert_cache::ChainEntry entry{id, ossl::EvpPkeyPtr(leaf_key->native()), window->first,
                                   window->second};
      if (cache->chains.insert(*chain_key, std::move(entry))) {
        cache->stats.evictions++;
      }
    }
  }
  return VerifiedClientChain{std::move(id), std::move(leaf_key)};
}

Result<VerifiedIdentity, Error> CaStore::verify_client_chain(
    std::span<const std::span<const uint8_t>> chain_der, std::time_t now) const {
  Result<VerifiedClientChain, Error> chain = verify_client_chain_and_key(chain_der, now);
  if (!chain) {
    return fail(chain.error());
  }
  return std::move(chain->identity);
}

Result<void, Error> CaStore::verify_server_chain(
    std::span<const std::span<const uint8_t>> chain_der, std::string_view name,
    std::time_t now) const {
  constexpr int kMaxChainDepth = 8;
  if (chain_der.empty()) {
    return fail(Error::kNoCertificate);
  }
  ossl::X509Ptr leaf = parse_der(chain_der.front());
  if (!leaf) {
    return fail(Error::kMalformedCertificate);
  }
  ossl::X509StackPtr untrusted(sk_X509_new_null());
  if (!untrusted) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  for (std::span<const uint8_t> der : chain_der.subspan(1)) {
    ossl::X509Ptr x = parse_der(der);
    if (!x) {
      return fail(Error::kMalformedCertificate);
    }
    if (sk_X509_push(untrusted.get(), x.get()) <= 0) {
      ossl::clear_errors();
      return fail(Error::kInternal);
    }
    x.release();  // now owned by the stack
  }
  ossl::X509StoreCtxPtr ctx(X509_STORE_CTX_new());
  if (!ctx || X509_STORE_CTX_init(ctx.get(), store_.get(), leaf.get(), untrusted.get()) != 1 ||
      X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER) != 1) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  X509_VERIFY_PARAM_set_time(param, now);
  X509_VERIFY_PARAM_set_depth(param, kMaxChainDepth);
  if (!name.empty()) {
    const std::string n(name);
    // An IPv4 address is matched against the IP SANs, anything else as a DNS name.
    const bool ok = X509_VERIFY_PARAM_set1_ip_asc(param, n.c_str()) == 1 ||
                    X509_VERIFY_PARAM_set1_host(param, n.data(), n.size()) == 1;
    if (!ok) {
      ossl::clear_errors();
      return fail(Error::kInternal);
    }
  }
  if (X509_verify_cert(ctx.get()) != 1) {
    const int code = X509_STORE_CTX_get_error(ctx.get());
    ossl::clear_errors();
    LT_DEBUG("server certificate rejected: %s (depth %d)", X509_verify_cert_error_string(code),
             X509_STORE_CTX_get_error_depth(ctx.get()));
    return fail(map_verify_error(code));
  }
  return {};
}

ClientChainCacheStats CaStore::cache_stats() const noexcept {
  return cert_cache::stats_of(tag_.get());
}

}  // namespace linetls::crypto
