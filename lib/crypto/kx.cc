#include "lib/crypto/kx.h"

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>

#include <cstring>

#include "lib/crypto/ossl_util.h"

namespace linetls::crypto {
namespace {

constexpr int kMaxKeygenAttempts = 16;

bool is_nist(NamedGroup group) noexcept { return group != NamedGroup::kX25519; }

int curve_nid(NamedGroup group) noexcept {
  return group == NamedGroup::kSecp256r1 ? NID_X9_62_prime256v1 : NID_secp384r1;
}

// The group name libcrypto's EC key manager accepts.
const char* curve_name(NamedGroup group) noexcept {
  return group == NamedGroup::kSecp256r1 ? "prime256v1" : "secp384r1";
}

using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// Builds an EC EVP_PKEY from the encoded public point and, if priv is non-null, the scalar.
Result<Pkey, Error> ec_pkey_from_data(NamedGroup group, std::span<const uint8_t> pub,
                                      const BIGNUM* priv) noexcept {
  ossl::ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, curve_name(group),
                                      0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, pub.data(),
                                       pub.size()) != 1 ||
      (priv != nullptr && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_PRIV_KEY, priv) != 1)) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  ossl::ParamPtr params(OSSL_PARAM_BLD_to_param(bld.get()));
  ossl::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr));
  EVP_PKEY* raw = nullptr;
  if (!params || !ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, priv != nullptr ? EVP_PKEY_KEYPAIR : EVP_PKEY_PUBLIC_KEY,
                        params.get()) != 1) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return Pkey(raw);
}

// RFC 8446 §4.2.8.2 / RFC 8422 §5.4.1: the peer's point must be the uncompressed form of a
// point on the curve. Each way it can be wrong has its own error.
Result<void, Error> check_nist_point(NamedGroup group, std::span<const uint8_t> peer) noexcept {
  if (peer.empty()) {
    return fail(Error::kBadPublicKeyLength);
  }
  switch (peer[0]) {
    case 0x00:
      return fail(Error::kPointAtInfinity);  // SEC 1 §2.3.3: the single byte 00
    case 0x02:
    case 0x03:
      return fail(Error::kCompressedPoint);
    case 0x04:
      break;
    default:
      return fail(Error::kBadPointFormat);  // hybrid (06/07) or garbage
  }
  if (peer.size() != public_key_len(group)) {
    return fail(Error::kBadPublicKeyLength);
  }
  const EC_GROUP* g = ossl::ec_group(curve_nid(group));
  ossl::EcPointPtr point(g != nullptr ? EC_POINT_new(g) : nullptr);
  if (!point) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  // Rejects coordinates >= p and points that do not satisfy the curve equation. The curves
  // have cofactor 1, so every point on them (other than infinity) has prime order.
  if (EC_POINT_oct2point(g, point.get(), peer.data(), peer.size(), nullptr) != 1 ||
      EC_POINT_is_on_curve(g, point.get(), nullptr) != 1) {
    ossl::clear_errors();
    return fail(Error::kPointNotOnCurve);
  }
  return {};
}

// X25519 objects kept per thread so that a key exchange fetches nothing by name: a context
// ready for EVP_PKEY_fromdata (our private keys) and one public-only key that each derive()
// overwrites with the peer's point. Only this thread touches them.
struct X25519Cache {
  ossl::EvpPkeyCtxPtr fromdata;
  Pkey peer;
};

X25519Cache& x25519_cache() noexcept {
  thread_local X25519Cache cache;
  if (!cache.fromdata) {
    ossl::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, "X25519", nullptr));
    if (ctx && EVP_PKEY_fromdata_init(ctx.get()) == 1) {
      cache.fromdata = std::move(ctx);
    }
  }
  return cache;
}

// The base point u = 9 (RFC 7748 §4.1) as a public key, made once and never changed, so
// any thread may hand it to a derive context. Deliberately never freed.
EVP_PKEY* x25519_base_point() noexcept {
  static EVP_PKEY* const base = [] {
    uint8_t u[32] = {9};
    return EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, u, sizeof(u));
  }();
  return base;
}

// Returns a key holding the 32-byte private key priv and, as its public half, 32 zero bytes
// that nothing reads. Importing a private key alone makes libcrypto 3.0 compute the public
// key with its portable fixed-base code (ref10, 32-bit limbs), which here is slower than the
// mulx/adx Montgomery ladder that EVP_PKEY_derive runs (keygen 36.2 -> 34.1 us with this
// path, the context made for it then serving the handshake's derive); from_private() gets
// the public key from that ladder instead (RFC 7748 §6.1: it is X25519(a, 9)). Were the
// placeholder ever used as a peer value it would be the all-zero point, which derive()
// refuses (kLowOrderPoint).
Pkey x25519_import_private(std::span<const uint8_t> priv) noexcept {
  X25519Cache& cache = x25519_cache();
  if (!cache.fromdata) {
    return Pkey();
  }
  uint8_t placeholder[32] = {};
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PRIV_KEY,
                                        const_cast<uint8_t*>(priv.data()), priv.size()),
      OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, placeholder,
                                        sizeof(placeholder)),
      OSSL_PARAM_construct_end(),
  };
  EVP_PKEY* raw = nullptr;
  if (EVP_PKEY_fromdata(cache.fromdata.get(), &raw, EVP_PKEY_KEYPAIR, params) != 1) {
    return Pkey();
  }
  return Pkey(raw);
}

// Returns this thread's peer key holding peer (32 bytes), or nullptr. The key stays the
// cache's: the caller must be done with it before the next call on this thread.
EVP_PKEY* x25519_peer(std::span<const uint8_t> peer) noexcept {
  X25519Cache& cache = x25519_cache();
  if (!cache.peer) {
    cache.peer.reset(
        EVP_PKEY_new_raw_public_key_ex(nullptr, "X25519", nullptr, peer.data(), peer.size()));
    return cache.peer.get();
  }
  if (EVP_PKEY_set1_encoded_public_key(cache.peer.get(), peer.data(), peer.size()) != 1) {
    cache.peer.reset();  // start afresh next time
    return nullptr;
  }
  return cache.peer.get();
}

// Points ctx (a derive context on one of our keys) at peer and runs X25519 into out (32
// bytes). Returns kInternal if the peer cannot be set, kLowOrderPoint if libcrypto refuses
// the result: for X25519 it refuses exactly one thing, a result of all zeros, which is what
// a low-order peer point gives (RFC 7748 §6.1). The context keeps the peer only for the
// call: it is pointed back at the immutable base point afterwards, so it never holds on to
// a thread's reusable peer key.
Result<void, Error> x25519_derive(EVP_PKEY_CTX* ctx, EVP_PKEY* peer, uint8_t out[32]) noexcept {
  size_t len = 32;
  if (EVP_PKEY_derive_set_peer_ex(ctx, peer, 0) != 1) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  const bool ok = EVP_PKEY_derive(ctx, out, &len) == 1 && len == 32;
  if (peer != x25519_base_point()) {
    EVP_PKEY_derive_set_peer_ex(ctx, x25519_base_point(), 0);
  }
  if (!ok) {
    ossl::clear_errors();
    return fail(Error::kLowOrderPoint);
  }
  return {};
}

bool all_zero(std::span<const uint8_t> b) noexcept {
  uint8_t acc = 0;
  for (uint8_t x : b) {
    acc |= x;
  }
  return acc == 0;
}

}  // namespace

std::optional<NamedGroup> named_group_from_code(uint16_t code) noexcept {
  switch (code) {
    case static_cast<uint16_t>(NamedGroup::kX25519):
      return NamedGroup::kX25519;
    case static_cast<uint16_t>(NamedGroup::kSecp256r1):
      return NamedGroup::kSecp256r1;
    case static_cast<uint16_t>(NamedGroup::kSecp384r1):
      return NamedGroup::kSecp384r1;
    default:
      return std::nullopt;
  }
}

size_t public_key_len(NamedGroup group) noexcept {
  switch (group) {
    case NamedGroup::kX25519:
      return 32;
    case NamedGroup::kSecp256r1:
      return 65;
    case NamedGroup::kSecp384r1:
      return 97;
  }
  return 0;
}

size_t private_key_len(NamedGroup group) noexcept {
  return group == NamedGroup::kSecp384r1 ? 48 : 32;
}

KeyShare::KeyShare(NamedGroup group, std::unique_ptr<EVP_PKEY, PkeyDeleter> pkey,
                   std::span<const uint8_t> pub,
                   std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> derive_ctx) noexcept
    : group_(group), pkey_(std::move(pkey)), derive_ctx_(std::move(derive_ctx)),
      public_len_(pub.size()) {
  std::memcpy(public_.data(), pub.data(), pub.size());
}

Result<KeyShare, Error> KeyShare::from_private(NamedGroup group,
                                               std::span<const uint8_t> priv) noexcept {
  if (priv.size() != private_key_len(group)) {
    return fail(Error::kBadPrivateKey);
  }
  if (!is_nist(group)) {
    Pkey pkey = x25519_import_private(priv);
    std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter> ctx(
        pkey ? EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr) : nullptr);
    uint8_t pub[32];
    if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 || x25519_base_point() == nullptr ||
        !x25519_derive(ctx.get(), x25519_base_point(), pub)) {  // never low order: clamped
      ossl::clear_errors();
      return fail(Error::kInternal);
    }
    return KeyShare(group, std::move(pkey), pub, std::move(ctx));
  }

  const EC_GROUP* g = ossl::ec_group(curve_nid(group));
  ossl::BnCtxPtr bn_ctx(BN_CTX_secure_new());
  ossl::BnPtr scalar(BN_secure_new());
  ossl::EcPointPtr point(g != nullptr ? EC_POINT_new(g) : nullptr);
  if (!bn_ctx || !scalar || !point) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  BN_set_flags(scalar.get(), BN_FLG_CONSTTIME);
  if (BN_bin2bn(priv.data(), static_cast<int>(priv.size()), scalar.get()) == nullptr) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  // SEC 1 §3.2.1: the private key is an integer in [1, n-1].
  if (BN_is_zero(scalar.get()) || BN_cmp(scalar.get(), EC_GROUP_get0_order(g)) >= 0) {
    return fail(Error::kBadPrivateKey);
  }
  uint8_t pub[kMaxPublicKeyLen];
  const size_t pub_len = public_key_len(group);
  if (EC_POINT_mul(g, point.get(), scalar.get(), nullptr, nullptr, bn_ctx.get()) != 1 ||
      EC_POINT_point2oct(g, point.get(), POINT_CONVERSION_UNCOMPRESSED, pub, sizeof(pub),
                         bn_ctx.get()) != pub_len) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  Result<Pkey, Error> pkey = ec_pkey_from_data(group, {pub, pub_len}, scalar.get());
  if (!pkey) {
    return fail(pkey.error());
  }
  return KeyShare(group, std::move(*pkey), {pub, pub_len});
}

Result<KeyShare, Error> KeyShare::generate(NamedGroup group, Rng& rng) noexcept {
  Secret<kMaxSharedSecretLen> priv;
  for (int attempt = 0; attempt < kMaxKeygenAttempts; attempt++) {
    if (Result<void, Error> r = rng.fill_private(priv.resize(private_key_len(group))); !r) {
      return fail(r.error());
    }
    Result<KeyShare, Error> ks = from_private(group, priv.view());
    // A NIST scalar of 0 or >= n (probability about 2^-32 for P-256) is drawn again.
    if (ks || ks.error() != Error::kBadPrivateKey) {
      return ks;
    }
  }
  return fail(Error::kRngFailed);
}

Result<SharedSecret, Error> KeyShare::derive(std::span<const uint8_t> peer_public) const noexcept {
  Pkey owned_peer;
  EVP_PKEY* peer = nullptr;
  if (is_nist(group_)) {
    if (Result<void, Error> r = check_nist_point(group_, peer_public); !r) {
      return fail(r.error());
    }
    Result<Pkey, Error> p = ec_pkey_from_data(group_, peer_public, nullptr);
    if (!p) {
      return fail(p.error());
    }
    owned_peer = std::move(*p);
    peer = owned_peer.get();
  } else {
    if (peer_public.size() != public_key_len(group_)) {
      return fail(Error::kBadPublicKeyLength);
    }
    peer = x25519_peer(peer_public);
    if (peer == nullptr || !derive_ctx_) {
      ossl::clear_errors();
      return fail(Error::kInternal);
    }
    uint8_t buf[32];
    if (Result<void, Error> r = x25519_derive(derive_ctx_.get(), peer, buf); !r) {
      secure_wipe(buf);
      return fail(r.error());
    }
    SharedSecret out(std::span<const uint8_t>(buf, sizeof(buf)));
    secure_wipe(buf);
    if (all_zero(out.view())) {
      return fail(Error::kLowOrderPoint);  // RFC 8446 §7.4.2: MUST check, MUST abort
    }
    return out;
  }

  ossl::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey_.get(), nullptr));
  // The peer point was checked above; libcrypto's own full check (an extra scalar
  // multiplication by the order) adds nothing on these cofactor-1 curves.
  if (!ctx || EVP_PKEY_derive_init(ctx.get()) != 1 ||
      EVP_PKEY_derive_set_peer_ex(ctx.get(), peer, 0) != 1) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  uint8_t buf[kMaxSharedSecretLen];
  size_t len = sizeof(buf);
  if (EVP_PKEY_derive(ctx.get(), buf, &len) != 1) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  SharedSecret out(std::span<const uint8_t>(buf, len));
  secure_wipe(buf);
  return out;
}

}  // namespace linetls::crypto
