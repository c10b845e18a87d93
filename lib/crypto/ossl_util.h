// Internal to lib/crypto: owning pointers for libcrypto objects and the per-thread cache of
// fetched algorithms. Not part of the public API; public headers never include it.
#pragma once

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <string>
#include <string_view>

#include "lib/base/result.h"
#include "lib/crypto/error.h"

namespace linetls::crypto::ossl {

// Deleter calling a libcrypto free function; the unique_ptr never copies.
template <auto kFree>
struct Deleter {
  template <typename T>
  void operator()(T* p) const noexcept {
    kFree(p);
  }
};

struct X509StackDeleter {
  void operator()(STACK_OF(X509) * s) const noexcept { sk_X509_pop_free(s, X509_free); }
};
struct GeneralNamesDeleter {
  void operator()(GENERAL_NAMES* g) const noexcept { GENERAL_NAMES_free(g); }
};

using BioPtr = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using BnPtr = std::unique_ptr<BIGNUM, Deleter<BN_clear_free>>;
using BnCtxPtr = std::unique_ptr<BN_CTX, Deleter<BN_CTX_free>>;
using EcGroupPtr = std::unique_ptr<EC_GROUP, Deleter<EC_GROUP_free>>;
using EcPointPtr = std::unique_ptr<EC_POINT, Deleter<EC_POINT_clear_free>>;
using EvpMdPtr = std::unique_ptr<EVP_MD, Deleter<EVP_MD_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, Deleter<EVP_MD_CTX_free>>;
using EvpMacPtr = std::unique_ptr<EVP_MAC, Deleter<EVP_MAC_free>>;
using EvpMacCtxPtr = std::unique_ptr<EVP_MAC_CTX, Deleter<EVP_MAC_CTX_free>>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, Deleter<EVP_PKEY_CTX_free>>;
using ParamBldPtr = std::unique_ptr<OSSL_PARAM_BLD, Deleter<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, Deleter<OSSL_PARAM_free>>;
using X509Ptr = std::unique_ptr<X509, Deleter<X509_free>>;
using X509NamePtr = std::unique_ptr<X509_NAME, Deleter<X509_NAME_free>>;
using X509StorePtr = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackDeleter>;
using GeneralNamesPtr = std::unique_ptr<GENERAL_NAMES, GeneralNamesDeleter>;
using Asn1OctetStringPtr = std::unique_ptr<ASN1_OCTET_STRING, Deleter<ASN1_OCTET_STRING_free>>;
using Asn1Ia5StringPtr = std::unique_ptr<ASN1_IA5STRING, Deleter<ASN1_IA5STRING_free>>;
using GeneralNamePtr = std::unique_ptr<GENERAL_NAME, Deleter<GENERAL_NAME_free>>;
using X509ExtensionPtr = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

// Message digests lib/crypto uses. SHA-512 only appears in signature schemes.
enum class Md : uint8_t { kSha256, kSha384, kSha512 };

// Returns this thread's fetched EVP_MD for md (fetched on first use, released at thread
// exit), or nullptr if the default provider lacks it. The caller does not own the result.
const EVP_MD* md(Md md) noexcept;
// Returns this thread's fetched HMAC EVP_MAC, or nullptr. The caller does not own it.
EVP_MAC* hmac() noexcept;
// Returns this thread's EC_GROUP for P-256 (nid NID_X9_62_prime256v1) or P-384
// (NID_secp384r1), or nullptr for any other nid. The caller does not own it.
const EC_GROUP* ec_group(int nid) noexcept;

// Empties this thread's libcrypto error queue (after a failure we have mapped to an Error),
// so stale entries never confuse a later diagnosis.
inline void clear_errors() noexcept { ERR_clear_error(); }

// Reads the whole file at path (at most kMaxFileLen bytes) into *out. Errors:
// kFileOpenFailed (missing, unreadable), kFileReadFailed (I/O error or too large).
inline constexpr size_t kMaxFileLen = 16 << 20;
Result<void, Error> read_file(std::string_view path, std::string* out);

}  // namespace linetls::crypto::ossl
