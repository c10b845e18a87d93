#include "lib/crypto/hash.h"

#include <openssl/core_names.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>

#include "lib/crypto/ossl_util.h"

namespace linetls::crypto {
namespace {

ossl::Md to_md(HashAlgo algo) noexcept {
  return algo == HashAlgo::kSha256 ? ossl::Md::kSha256 : ossl::Md::kSha384;
}

std::span<const uint8_t> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

constexpr std::string_view kTls13LabelPrefix = "tls13 ";

}  // namespace

// ---- Hash ---------------------------------------------------------------------------------

Result<Hash, Error> Hash::create(HashAlgo algo) noexcept {
  const EVP_MD* md = ossl::md(to_md(algo));
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> ctx(EVP_MD_CTX_new());
  if (md == nullptr || !ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return Hash(algo, std::move(ctx));
}

Result<void, Error> Hash::update(std::span<const uint8_t> data) noexcept {
  if (data.empty()) {
    return {};
  }
  if (EVP_DigestUpdate(ctx_.get(), data.data(), data.size()) != 1) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return {};
}

Result<Digest, Error> Hash::digest() const noexcept {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> copy(EVP_MD_CTX_new());
  Digest d;
  unsigned int len = 0;
  if (!copy || EVP_MD_CTX_copy_ex(copy.get(), ctx_.get()) != 1 ||
      EVP_DigestFinal_ex(copy.get(), d.bytes.data(), &len) != 1 || len != size()) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  d.len = len;
  return d;
}

Result<Hash, Error> Hash::clone() const noexcept {
  std::unique_ptr<EVP_MD_CTX, MdCtxDeleter> copy(EVP_MD_CTX_new());
  if (!copy || EVP_MD_CTX_copy_ex(copy.get(), ctx_.get()) != 1) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return Hash(algo_, std::move(copy));
}

Result<void, Error> Hash::reset() noexcept {
  const EVP_MD* md = ossl::md(to_md(algo_));
  if (md == nullptr || EVP_DigestInit_ex(ctx_.get(), md, nullptr) != 1) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return {};
}

Result<void, Error> restart_with_message_hash(Transcript* transcript) noexcept {
  Result<Digest, Error> ch1 = transcript->digest();
  if (!ch1) {
    return fail(ch1.error());
  }
  // struct { HandshakeType msg_type = message_hash(254); uint24 length = Hash.length; ... }
  const uint8_t header[4] = {254, 0, 0, static_cast<uint8_t>(ch1->len)};
  if (Result<void, Error> r = transcript->reset(); !r) {
    return r;
  }
  if (Result<void, Error> r = transcript->update(header); !r) {
    return r;
  }
  return transcript->update(ch1->view());
}

Result<Digest, Error> hash(HashAlgo algo, std::span<const uint8_t> data) noexcept {
  const EVP_MD* md = ossl::md(to_md(algo));
  Digest d;
  unsigned int len = 0;
  if (md == nullptr ||
      EVP_Digest(data.data(), data.size(), d.bytes.data(), &len, md, nullptr) != 1 ||
      len != hash_len(algo)) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  d.len = len;
  return d;
}

// ---- Hmac ---------------------------------------------------------------------------------
//
// HMAC (RFC 2104 §2) built on the thread's fetched EVP_MD: K0 is the key zero-padded to the
// block size B (hashed first if longer than B); MAC = H(K0 ^ opad || H(K0 ^ ipad || m)).

namespace {

constexpr size_t block_len(HashAlgo algo) noexcept { return algo == HashAlgo::kSha256 ? 64 : 128; }
constexpr size_t kMaxBlockLen = 128;

// Writes K0 for key into k0 (block_len(algo) bytes).
bool make_k0(HashAlgo algo, const EVP_MD* md, std::span<const uint8_t> key,
             std::span<uint8_t> k0) noexcept {
  std::memset(k0.data(), 0, k0.size());
  if (key.size() <= k0.size()) {
    if (!key.empty()) {
      std::memcpy(k0.data(), key.data(), key.size());
    }
    return true;
  }
  unsigned int len = 0;
  return EVP_Digest(key.data(), key.size(), k0.data(), &len, md, nullptr) == 1 &&
         len == hash_len(algo);
}

// Restarts ctx as H(K0 ^ pad || ...).
bool start_keyed(EVP_MD_CTX* ctx, const EVP_MD* md, std::span<const uint8_t> k0,
                 uint8_t pad) noexcept {
  uint8_t block[kMaxBlockLen];
  for (size_t i = 0; i < k0.size(); i++) {
    block[i] = k0[i] ^ pad;
  }
  const bool ok = EVP_DigestInit_ex(ctx, md, nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, block, k0.size()) == 1;
  secure_wipe(block);
  return ok;
}

// Finishes the MAC whose inner hash is in inner, using outer as scratch; writes
// hash_len(algo) bytes to out.
bool finish_keyed(HashAlgo algo, EVP_MD_CTX* inner, EVP_MD_CTX* outer, const EVP_MD* md,
                  std::span<const uint8_t> k0, uint8_t* out) noexcept {
  uint8_t ih[kMaxHashLen];
  unsigned int len = 0;
  unsigned int out_len = 0;
  const bool ok = EVP_DigestFinal_ex(inner, ih, &len) == 1 && len == hash_len(algo) &&
                  start_keyed(outer, md, k0, 0x5c) && EVP_DigestUpdate(outer, ih, len) == 1 &&
                  EVP_DigestFinal_ex(outer, out, &out_len) == 1 && out_len == len;
  secure_wipe(ih);
  return ok;
}

// Two digest contexts per thread for one-shot MACs (HKDF, hmac()): each call leaves them
// ready for the next, so the key schedule allocates nothing per MAC.
struct MacScratch {
  ossl::EvpMdCtxPtr inner{EVP_MD_CTX_new()};
  ossl::EvpMdCtxPtr outer{EVP_MD_CTX_new()};
};

// out (hash_len(algo) bytes, not aliasing the inputs) = HMAC-algo(key, parts[0] || ...).
bool hmac_oneshot(HashAlgo algo, std::span<const uint8_t> key,
                  std::initializer_list<std::span<const uint8_t>> parts, uint8_t* out) noexcept {
  thread_local MacScratch scratch;
  const EVP_MD* md = ossl::md(to_md(algo));
  uint8_t k0[kMaxBlockLen];
  const std::span<uint8_t> k0_view(k0, block_len(algo));
  bool ok = md != nullptr && scratch.inner && scratch.outer && make_k0(algo, md, key, k0_view) &&
            start_keyed(scratch.inner.get(), md, k0_view, 0x36);
  for (std::span<const uint8_t> p : parts) {
    ok = ok && (p.empty() || EVP_DigestUpdate(scratch.inner.get(), p.data(), p.size()) == 1);
  }
  ok = ok && finish_keyed(algo, scratch.inner.get(), scratch.outer.get(), md, k0_view, out);
  secure_wipe(k0);
  if (!ok) {
    ossl::clear_errors();
  }
  return ok;
}

}  // namespace

Result<Hmac, Error> Hmac::create(HashAlgo algo, std::span<const uint8_t> key) noexcept {
  const EVP_MD* md = ossl::md(to_md(algo));
  Hmac h(algo);
  h.inner_.reset(EVP_MD_CTX_new());
  h.outer_.reset(EVP_MD_CTX_new());
  if (md == nullptr || !h.inner_ || !h.outer_ ||
      !make_k0(algo, md, key, h.k0_.resize(block_len(algo))) ||
      !start_keyed(h.inner_.get(), md, h.k0_.view(), 0x36)) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return h;
}

Result<void, Error> Hmac::update(std::span<const uint8_t> data) noexcept {
  if (data.empty()) {
    return {};
  }
  if (EVP_DigestUpdate(inner_.get(), data.data(), data.size()) != 1) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return {};
}

Result<void, Error> Hmac::finish(std::span<uint8_t> out) noexcept {
  if (out.size() < size()) {
    return fail(Error::kOutputTooSmall);
  }
  const EVP_MD* md = ossl::md(to_md(algo_));
  // Then rearm the same key for the next message.
  if (md == nullptr ||
      !finish_keyed(algo_, inner_.get(), outer_.get(), md, k0_.view(), out.data()) ||
      !start_keyed(inner_.get(), md, k0_.view(), 0x36)) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return {};
}

Result<Digest, Error> Hmac::finish() noexcept {
  Digest d;
  if (Result<void, Error> r = finish(d.bytes); !r) {
    return fail(r.error());
  }
  d.len = size();
  return d;
}

Result<Digest, Error> hmac(HashAlgo algo, std::span<const uint8_t> key,
                           std::span<const uint8_t> data) noexcept {
  Digest d;
  if (!hmac_oneshot(algo, key, {data}, d.bytes.data())) {
    return fail(Error::kInternal);
  }
  d.len = hash_len(algo);
  return d;
}

// ---- HKDF (RFC 5869) ----------------------------------------------------------------------

Result<HashSecret, Error> hkdf_extract(HashAlgo algo, std::span<const uint8_t> salt,
                                       std::span<const uint8_t> ikm) noexcept {
  // RFC 5869 §2.2: "if not provided, [salt] is set to a string of HashLen zeros".
  const uint8_t zeros[kMaxHashLen] = {};
  if (salt.empty()) {
    salt = std::span<const uint8_t>(zeros, hash_len(algo));
  }
  HashSecret prk;
  if (!hmac_oneshot(algo, salt, {ikm}, prk.resize(hash_len(algo)).data())) {
    return fail(Error::kInternal);
  }
  return prk;
}

Result<void, Error> hkdf_expand(HashAlgo algo, std::span<const uint8_t> prk,
                                std::span<const uint8_t> info, std::span<uint8_t> out) noexcept {
  const size_t n = hash_len(algo);
  // RFC 5869 §2.3: PRK is "at least HashLen octets"; L <= 255*HashLen.
  if (prk.size() < n || out.size() > 255 * n) {
    return fail(Error::kInvalidArgument);
  }
  // T(0) = empty; T(i) = HMAC(PRK, T(i-1) | info | i); OKM = first L bytes of T(1) | T(2)...
  // TLS 1.3 asks for at most one block at a time, so each block is a one-shot MAC.
  uint8_t t[kMaxHashLen];
  size_t t_len = 0;
  size_t done = 0;
  Result<void, Error> result;
  for (uint8_t i = 1; done < out.size(); i++) {
    const uint8_t counter[1] = {i};
    if (!hmac_oneshot(algo, prk, {{t, t_len}, info, counter}, t)) {
      result = fail(Error::kInternal);
      break;
    }
    t_len = n;
    const size_t take = std::min(n, out.size() - done);
    std::memcpy(out.data() + done, t, take);
    done += take;
  }
  secure_wipe(t);
  if (!result) {
    secure_wipe(out);
  }
  return result;
}

Result<void, Error> hkdf_expand_label(HashAlgo algo, std::span<const uint8_t> secret,
                                      std::string_view label, std::span<const uint8_t> context,
                                      std::span<uint8_t> out) noexcept {
  // struct { uint16 length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255>; }
  if (kTls13LabelPrefix.size() + label.size() > 255 || context.size() > 255 ||
      out.size() > 0xffff) {
    return fail(Error::kInvalidArgument);
  }
  uint8_t buf[2 + 1 + 255 + 1 + 255];
  size_t pos = 0;
  buf[pos++] = static_cast<uint8_t>(out.size() >> 8);
  buf[pos++] = static_cast<uint8_t>(out.size());
  buf[pos++] = static_cast<uint8_t>(kTls13LabelPrefix.size() + label.size());
  std::memcpy(buf + pos, kTls13LabelPrefix.data(), kTls13LabelPrefix.size());
  pos += kTls13LabelPrefix.size();
  if (!label.empty()) {
    std::memcpy(buf + pos, label.data(), label.size());
    pos += label.size();
  }
  buf[pos++] = static_cast<uint8_t>(context.size());
  if (!context.empty()) {
    std::memcpy(buf + pos, context.data(), context.size());
    pos += context.size();
  }
  return hkdf_expand(algo, secret, {buf, pos}, out);
}

Result<HashSecret, Error> derive_secret(HashAlgo algo, std::span<const uint8_t> secret,
                                        std::string_view label,
                                        std::span<const uint8_t> transcript_hash) noexcept {
  HashSecret out;
  if (Result<void, Error> r =
          hkdf_expand_label(algo, secret, label, transcript_hash, out.resize(hash_len(algo)));
      !r) {
    return fail(r.error());
  }
  return out;
}

// ---- TLS 1.2 PRF (RFC 5246 §5) ------------------------------------------------------------

Result<void, Error> tls12_prf(HashAlgo algo, std::span<const uint8_t> secret,
                              std::string_view label, std::span<const uint8_t> seed_a,
                              std::span<const uint8_t> seed_b, std::span<uint8_t> out) noexcept {
  const size_t n = hash_len(algo);
  Result<Hmac, Error> h = Hmac::create(algo, secret);
  if (!h) {
    return fail(h.error());
  }
  // P_hash(secret, seed) = HMAC(secret, A(1) + seed) + HMAC(secret, A(2) + seed) + ...
  // with A(0) = seed, A(i) = HMAC(secret, A(i-1)), and here seed = label + seed_a + seed_b.
  uint8_t a[kMaxHashLen];
  uint8_t block[kMaxHashLen];
  Result<void, Error> result;
  if ((result = h->update(as_bytes(label))) && (result = h->update(seed_a)) &&
      (result = h->update(seed_b))) {
    result = h->finish(a);  // A(1)
  }
  size_t done = 0;
  while (result && done < out.size()) {
    if (!(result = h->update({a, n})) || !(result = h->update(as_bytes(label))) ||
        !(result = h->update(seed_a)) || !(result = h->update(seed_b)) ||
        !(result = h->finish(block))) {
      break;
    }
    const size_t take = std::min(n, out.size() - done);
    std::memcpy(out.data() + done, block, take);
    done += take;
    if (done < out.size() && (!(result = h->update({a, n})) || !(result = h->finish(a)))) {
      break;
    }
  }
  secure_wipe(a);
  secure_wipe(block);
  if (!result) {
    secure_wipe(out);
  }
  return result;
}

Result<void, Error> tls12_prf(HashAlgo algo, std::span<const uint8_t> secret,
                              std::string_view label, std::span<const uint8_t> seed,
                              std::span<uint8_t> out) noexcept {
  return tls12_prf(algo, secret, label, seed, {}, out);
}

Result<MasterSecret, Error> tls12_extended_master_secret(
    HashAlgo algo, std::span<const uint8_t> pre_master_secret,
    std::span<const uint8_t> session_hash) noexcept {
  MasterSecret ms;
  if (Result<void, Error> r = tls12_prf(algo, pre_master_secret, "extended master secret",
                                        session_hash, ms.resize(kTls12MasterSecretLen));
      !r) {
    return fail(r.error());
  }
  return ms;
}

}  // namespace linetls::crypto
