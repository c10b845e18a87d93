#include "lib/crypto/sig.h"

#include <openssl/rsa.h>

#include "lib/crypto/ossl_util.h"

namespace linetls::crypto {
namespace {

enum class Padding : uint8_t { kNone, kPkcs1, kPss };

struct SchemeInfo {
  const EVP_MD* md;  // nullptr for Ed25519 (it hashes internally)
  Padding padding;
};

Result<SchemeInfo, Error> scheme_info(SignatureScheme scheme) noexcept {
  SchemeInfo info{nullptr, Padding::kNone};
  switch (scheme) {
    case SignatureScheme::kEd25519:
      return info;
    case SignatureScheme::kEcdsaSecp256r1Sha256:
      info.md = ossl::md(ossl::Md::kSha256);
      break;
    case SignatureScheme::kEcdsaSecp384r1Sha384:
      info.md = ossl::md(ossl::Md::kSha384);
      break;
    case SignatureScheme::kRsaPkcs1Sha256:
      info = {ossl::md(ossl::Md::kSha256), Padding::kPkcs1};
      break;
    case SignatureScheme::kRsaPkcs1Sha384:
      info = {ossl::md(ossl::Md::kSha384), Padding::kPkcs1};
      break;
    case SignatureScheme::kRsaPkcs1Sha512:
      info = {ossl::md(ossl::Md::kSha512), Padding::kPkcs1};
      break;
    case SignatureScheme::kRsaPssRsaeSha256:
      info = {ossl::md(ossl::Md::kSha256), Padding::kPss};
      break;
    case SignatureScheme::kRsaPssRsaeSha384:
      info = {ossl::md(ossl::Md::kSha384), Padding::kPss};
      break;
    case SignatureScheme::kRsaPssRsaeSha512:
      info = {ossl::md(ossl::Md::kSha512), Padding::kPss};
      break;
  }
  if (info.md == nullptr) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return info;
}

// Sets RSA padding on the signing/verifying context: RFC 8446 §4.2.3 requires MGF1 with the
// scheme's hash and a salt as long as the digest.
bool set_padding(EVP_PKEY_CTX* pctx, const SchemeInfo& info) noexcept {
  switch (info.padding) {
    case Padding::kNone:
      return true;
    case Padding::kPkcs1:
      return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
    case Padding::kPss:
      return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
             EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
             EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, info.md) == 1;
  }
  return false;
}

// libcrypto wants a non-null pointer even for an empty message.
const uint8_t* message_ptr(std::span<const uint8_t> message) noexcept {
  static const uint8_t kEmpty = 0;
  return message.empty() ? &kEmpty : message.data();
}

// ECDSA signing context kept per thread for the last key it signed with: EVP_DigestSignInit
// fetches the signature algorithm and the digest by name on every call, so ECDSA instead
// hashes with the thread's fetched EVP_MD and signs the digest on a context initialised
// once. The cache holds its own reference to the key, so the pointer it compares cannot be
// reused by another key while cached. Only this thread touches it.
struct EcdsaSignCache {
  ossl::EvpPkeyPtr key;
  ossl::EvpPkeyCtxPtr ctx;
};

EVP_PKEY_CTX* ecdsa_sign_ctx(EVP_PKEY* key) noexcept {
  thread_local EcdsaSignCache cache;
  if (cache.key.get() == key && cache.ctx) {
    return cache.ctx.get();
  }
  cache.ctx.reset();
  cache.key.reset();
  ossl::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || EVP_PKEY_up_ref(key) != 1) {
    return nullptr;
  }
  cache.key.reset(key);
  cache.ctx = std::move(ctx);
  return cache.ctx.get();
}

bool is_ecdsa(SignatureScheme scheme) noexcept {
  return scheme == SignatureScheme::kEcdsaSecp256r1Sha256 ||
         scheme == SignatureScheme::kEcdsaSecp384r1Sha384;
}

constexpr SignatureScheme kRsaPreference[] = {
    SignatureScheme::kRsaPssRsaeSha256, SignatureScheme::kRsaPssRsaeSha384,
    SignatureScheme::kRsaPssRsaeSha512, SignatureScheme::kRsaPkcs1Sha256,
    SignatureScheme::kRsaPkcs1Sha384,   SignatureScheme::kRsaPkcs1Sha512,
};

}  // namespace

std::optional<SignatureScheme> signature_scheme_from_code(uint16_t code) noexcept {
  switch (code) {
    case 0x0401:
    case 0x0501:
    case 0x0601:
    case 0x0403:
    case 0x0503:
    case 0x0804:
    case 0x0805:
    case 0x0806:
    case 0x0807:
      return static_cast<SignatureScheme>(code);
    default:
      return std::nullopt;
  }
}

std::string_view to_string(SignatureScheme scheme) noexcept {
  switch (scheme) {
    case SignatureScheme::kRsaPkcs1Sha256:
      return "rsa_pkcs1_sha256";
    case SignatureScheme::kRsaPkcs1Sha384:
      return "rsa_pkcs1_sha384";
    case SignatureScheme::kRsaPkcs1Sha512:
      return "rsa_pkcs1_sha512";
    case SignatureScheme::kEcdsaSecp256r1Sha256:
      return "ecdsa_secp256r1_sha256";
    case SignatureScheme::kEcdsaSecp384r1Sha384:
      return "ecdsa_secp384r1_sha384";
    case SignatureScheme::kRsaPssRsaeSha256:
      return "rsa_pss_rsae_sha256";
    case SignatureScheme::kRsaPssRsaeSha384:
      return "rsa_pss_rsae_sha384";
    case SignatureScheme::kRsaPssRsaeSha512:
      return "rsa_pss_rsae_sha512";
    case SignatureScheme::kEd25519:
      return "ed25519";
  }
  return "unknown";
}

bool scheme_allowed(SignatureScheme scheme, TlsVersion version) noexcept {
  switch (scheme) {
    case SignatureScheme::kRsaPkcs1Sha256:
    case SignatureScheme::kRsaPkcs1Sha384:
    case SignatureScheme::kRsaPkcs1Sha512:
      return version == TlsVersion::kTls12;
    case SignatureScheme::kEcdsaSecp256r1Sha256:
    case SignatureScheme::kEcdsaSecp384r1Sha384:
    case SignatureScheme::kRsaPssRsaeSha256:
    case SignatureScheme::kRsaPssRsaeSha384:
    case SignatureScheme::kRsaPssRsaeSha512:
    case SignatureScheme::kEd25519:
      return true;
  }
  return false;
}

bool key_supports_scheme(KeyType type, SignatureScheme scheme) noexcept {
  switch (scheme) {
    case SignatureScheme::kRsaPkcs1Sha256:
    case SignatureScheme::kRsaPkcs1Sha384:
    case SignatureScheme::kRsaPkcs1Sha512:
    case SignatureScheme::kRsaPssRsaeSha256:
    case SignatureScheme::kRsaPssRsaeSha384:
    case SignatureScheme::kRsaPssRsaeSha512:
      return type == KeyType::kRsa;
    case SignatureScheme::kEcdsaSecp256r1Sha256:
      return type == KeyType::kEcdsaP256;
    case SignatureScheme::kEcdsaSecp384r1Sha384:
      return type == KeyType::kEcdsaP384;
    case SignatureScheme::kEd25519:
      return type == KeyType::kEd25519;
  }
  return false;
}

SchemeList schemes_for_key(KeyType type, TlsVersion version) noexcept {
  SchemeList list;
  switch (type) {
    case KeyType::kRsa:
      for (SignatureScheme s : kRsaPreference) {
        if (scheme_allowed(s, version)) {
          list.items[list.count++] = s;
        }
      }
      break;
    case KeyType::kEcdsaP256:
      list.items[list.count++] = SignatureScheme::kEcdsaSecp256r1Sha256;
      break;
    case KeyType::kEcdsaP384:
      list.items[list.count++] = SignatureScheme::kEcdsaSecp384r1Sha384;
      break;
    case KeyType::kEd25519:
      list.items[list.count++] = SignatureScheme::kEd25519;
      break;
  }
  return list;
}

Result<SignatureScheme, Error> choose_scheme(const PrivateKey& key,
                                             std::span<const uint16_t> peer_schemes,
                                             TlsVersion version) noexcept {
  const SchemeList ours = schemes_for_key(key.type(), version);
  for (SignatureScheme s : ours.view()) {
    for (uint16_t code : peer_schemes) {
      if (code == static_cast<uint16_t>(s)) {
        return s;
      }
    }
  }
  return fail(Error::kNoCommonScheme);
}

Result<size_t, Error> sign(const PrivateKey& key, SignatureScheme scheme,
                           std::span<const uint8_t> message, std::span<uint8_t> out) noexcept {
  if (!key_supports_scheme(key.type(), scheme)) {
    return fail(Error::kSchemeKeyMismatch);
  }
  if (out.size() < key.max_signature_len()) {
    return fail(Error::kOutputTooSmall);
  }
  Result<SchemeInfo, Error> info = scheme_info(scheme);
  if (!info) {
    return fail(info.error());
  }
  size_t len = out.size();
  if (is_ecdsa(scheme)) {
    // ECDSA signs Hash(message) (RFC 8446 §4.2.3 names the hash with the scheme).
    uint8_t digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    EVP_PKEY_CTX* pctx = ecdsa_sign_ctx(key.native());
    if (pctx == nullptr ||
        EVP_Digest(message_ptr(message), message.size(), digest, &digest_len, info->md,
                   nullptr) != 1 ||
        EVP_PKEY_sign(pctx, out.data(), &len, digest, digest_len) != 1) {
      ossl::clear_errors();
      return fail(Error::kInternal);
    }
    return len;
  }
  ossl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, info->md, nullptr, key.native()) != 1 ||
      !set_padding(pctx, *info) ||
      EVP_DigestSign(ctx.get(), out.data(), &len, message_ptr(message), message.size()) != 1) {
    ossl::clear_errors();
    // An RSA key too small for PSS with this hash (modulus < 2 * hash + 2 bytes) lands here.
    return fail(key.type() == KeyType::kRsa ? Error::kSchemeKeyMismatch : Error::kInternal);
  }
  return len;
}

Result<void, Error> verify(const PublicKey& key, SignatureScheme scheme,
                           std::span<const uint8_t> message,
                           std::span<const uint8_t> signature) noexcept {
  if (!key_supports_scheme(key.type(), scheme)) {
    return fail(Error::kSchemeKeyMismatch);
  }
  Result<SchemeInfo, Error> info = scheme_info(scheme);
  if (!info) {
    return fail(info.error());
  }
  ossl::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), &pctx, info->md, nullptr, key.native()) != 1 ||
      !set_padding(pctx, *info)) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  if (signature.empty()) {
    return fail(Error::kBadSignature);
  }
  // 1 is a good signature; 0 a bad one; negative a malformed one. Only 1 passes.
  const int rc = EVP_DigestVerify(ctx.get(), signature.data(), signature.size(),
                                  message_ptr(message), message.size());
  if (rc != 1) {
    ossl::clear_errors();
    return fail(Error::kBadSignature);
  }
  return {};
}

}  // namespace linetls::crypto
