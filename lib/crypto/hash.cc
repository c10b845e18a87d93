#include "lib/crypto/hash.h"

#include <openssl/core_names.h>

#include <algorithm>
#include <cstring>

#include "lib/crypto/ossl_util.h"

namespace linetls::crypto {
namespace {

ossl::Md to_md(HashAlgo algo) noexcept {
  return algo == HashAlgo::kSha256 ? ossl::Md::kSha256 : ossl::Md::kSha384;
}

const char* md_name(HashAlgo algo) noexcept {
  return algo == HashAlgo::kSha256 ? "SHA2-256" : "SHA2-384";
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

Result<Hmac, Error> Hmac::create(HashAlgo algo, std::span<const uint8_t> key) noexcept {
  EVP_MAC* mac = ossl::hmac();
  if (mac == nullptr) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  std::unique_ptr<EVP_MAC_CTX, MacCtxDeleter> ctx(EVP_MAC_CTX_new(mac));
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, const_cast<char*>(md_name(algo)), 0),
      OSSL_PARAM_construct_end(),
  };
  // A null key asks libcrypto to reuse the previous one, so an empty key still needs a
  // non-null pointer.
  static const uint8_t kEmptyKey = 0;
  const uint8_t* key_ptr = key.empty() ? &kEmptyKey : key.data();
  if (!ctx || EVP_MAC_init(ctx.get(), key_ptr, key.size(), params) != 1) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return Hmac(algo, std::move(ctx));
}

Result<void, Error> Hmac::update(std::span<const uint8_t> data) noexcept {
  if (data.empty()) {
    return {};
  }
  if (EVP_MAC_update(ctx_.get(), data.data(), data.size()) != 1) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return {};
}

Result<void, Error> Hmac::finish(std::span<uint8_t> out) noexcept {
  if (out.size() < size()) {
    return fail(Error::kOutputTooSmall);
  }
  size_t len = 0;
  // EVP_MAC_init with a null key re-initialises HMAC with the key it already holds.
  if (EVP_MAC_final(ctx_.get(), out.data(), &len, out.size()) != 1 || len != size() ||
      EVP_MAC_init(ctx_.get(), nullptr, 0, nullptr) != 1) {
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
  Result<Hmac, Error> h = Hmac::create(algo, key);
  if (!h) {
    return fail(h.error());
  }
  if (Result<void, Error> r = h->update(data); !r) {
    return fail(r.error());
  }
  return h->finish();
}

// ---- HKDF (RFC 5869) ----------------------------------------------------------------------

Result<HashSecret, Error> hkdf_extract(HashAlgo algo, std::span<const uint8_t> salt,
                                       std::span<const uint8_t> ikm) noexcept {
  // RFC 5869 §2.2: "if not provided, [salt] is set to a string of HashLen zeros".
  const uint8_t zeros[kMaxHashLen] = {};
  if (salt.empty()) {
    salt = std::span<const uint8_t>(zeros, hash_len(algo));
  }
  Result<Hmac, Error> h = Hmac::create(algo, salt);
  if (!h) {
    return fail(h.error());
  }
  if (Result<void, Error> r = h->update(ikm); !r) {
    return fail(r.error());
  }
  HashSecret prk;
  if (Result<void, Error> r = h->finish(prk.resize(hash_len(algo))); !r) {
    return fail(r.error());
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
  Result<Hmac, Error> h = Hmac::create(algo, prk);
  if (!h) {
    return fail(h.error());
  }
  // T(0) = empty; T(i) = HMAC(PRK, T(i-1) | info | i); OKM = first L bytes of T(1) | T(2)...
  uint8_t t[kMaxHashLen];
  size_t t_len = 0;
  size_t done = 0;
  Result<void, Error> result;
  for (uint8_t i = 1; done < out.size(); i++) {
    const uint8_t counter[1] = {i};
    if (!(result = h->update({t, t_len})) || !(result = h->update(info)) ||
        !(result = h->update(counter)) || !(result = h->finish(t))) {
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
