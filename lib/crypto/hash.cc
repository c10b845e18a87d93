// SHA-256 and SHA-384 through libcrypto's low-level functions (SHA256_Init and friends,
// deprecated in OpenSSL 3.0 but exported by every 3.x): the same block functions as the
// EVP digests (SHA-NI / AVX2 assembly), without EVP's per-init provider context (an
// allocation and free on every EVP_DigestInit_ex in 3.0) and with states that copy as plain
// structs. A TLS 1.3 handshake runs ~25 HMACs and a handful of transcript digests.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "lib/crypto/hash.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cstring>
#include <initializer_list>
#include <new>

#include "lib/crypto/ossl_util.h"

namespace linetls::crypto {

// A running SHA-256 or SHA-384 state. Plain data: copies are independent states.
struct ShaState {
  HashAlgo algo = HashAlgo::kSha256;
  union {
    SHA256_CTX s256;
    SHA512_CTX s512;
  };

  ShaState() noexcept : s512{} {}

  bool init(HashAlgo a) noexcept {
    algo = a;
    return a == HashAlgo::kSha256 ? SHA256_Init(&s256) == 1 : SHA384_Init(&s512) == 1;
  }
  bool update(const void* data, size_t len) noexcept {
    if (len == 0) {
      return true;
    }
    return algo == HashAlgo::kSha256 ? SHA256_Update(&s256, data, len) == 1
                                     : SHA384_Update(&s512, data, len) == 1;
  }
  // Writes hash_len(algo) bytes; the state is spent afterwards.
  bool final(uint8_t* out) noexcept {
    return algo == HashAlgo::kSha256 ? SHA256_Final(out, &s256) == 1
                                     : SHA384_Final(out, &s512) == 1;
  }
  void wipe() noexcept { OPENSSL_cleanse(this, sizeof(*this)); }
};

// An HMAC keyed once: the states after absorbing K0 ^ ipad and K0 ^ opad, and the running
// inner hash. Key-derived: wiped when freed.
struct HmacState {
  ShaState ipad;
  ShaState opad;
  ShaState inner;
};

void ShaStateDeleter::operator()(ShaState* s) const noexcept { delete s; }

void HmacStateDeleter::operator()(HmacState* s) const noexcept {
  if (s != nullptr) {
    OPENSSL_cleanse(s, sizeof(*s));
  }
  delete s;
}

namespace {

std::span<const uint8_t> as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

constexpr std::string_view kTls13LabelPrefix = "tls13 ";

}  // namespace

// ---- Hash ---------------------------------------------------------------------------------

Result<Hash, Error> Hash::create(HashAlgo algo) noexcept {
  std::unique_ptr<ShaState, ShaStateDeleter> state(new (std::nothrow) ShaState);
  if (!state || !state->init(algo)) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return Hash(algo, std::move(state));
}

Result<void, Error> Hash::update(std::span<const uint8_t> data) noexcept {
  if (!state_->update(data.data(), data.size())) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return {};
}

Result<Digest, Error> Hash::digest() const noexcept {
  ShaState copy = *state_;
  Digest d;
  if (!copy.final(d.bytes.data())) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  d.len = size();
  return d;
}

Result<Hash, Error> Hash::clone() const noexcept {
  std::unique_ptr<ShaState, ShaStateDeleter> copy(new (std::nothrow) ShaState(*state_));
  if (!copy) {
    return fail(Error::kInternal);
  }
  return Hash(algo_, std::move(copy));
}

Result<void, Error> Hash::reset() noexcept {
  if (!state_->init(algo_)) {
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
  ShaState st;
  Digest d;
  if (!st.init(algo) || !st.update(data.data(), data.size()) || !st.final(d.bytes.data())) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  d.len = hash_len(algo);
  return d;
}

// ---- Hmac ---------------------------------------------------------------------------------
//
// HMAC (RFC 2104 §2): K0 is the key zero-padded to the block size B (hashed first if longer
// than B); MAC = H(K0 ^ opad || H(K0 ^ ipad || m)).

namespace {

constexpr size_t block_len(HashAlgo algo) noexcept { return algo == HashAlgo::kSha256 ? 64 : 128; }
constexpr size_t kMaxBlockLen = 128;

// Sets ipad and opad to the states after K0 ^ 0x36.. and K0 ^ 0x5c.. for key.
bool key_pads(HashAlgo algo, std::span<const uint8_t> key, ShaState* ipad,
              ShaState* opad) noexcept {
  const size_t b = block_len(algo);
  uint8_t k0[kMaxBlockLen] = {};
  bool ok = true;
  if (key.size() <= b) {
    if (!key.empty()) {
      std::memcpy(k0, key.data(), key.size());
    }
  } else {
    ShaState kh;
    ok = kh.init(algo) && kh.update(key.data(), key.size()) && kh.final(k0);
    kh.wipe();
  }
  uint8_t block[kMaxBlockLen];
  for (size_t i = 0; i < b; i++) {
    block[i] = k0[i] ^ 0x36;
  }
  ok = ok && ipad->init(algo) && ipad->update(block, b);
  for (size_t i = 0; i < b; i++) {
    block[i] = k0[i] ^ 0x5c;
  }
  ok = ok && opad->init(algo) && opad->update(block, b);
  OPENSSL_cleanse(block, sizeof(block));
  OPENSSL_cleanse(k0, sizeof(k0));
  return ok;
}

// Writes H(opad state || H(inner)) to out (hash_len bytes); inner is spent.
bool finish_keyed(const ShaState& opad, ShaState* inner, uint8_t* out) noexcept {
  uint8_t ih[kMaxHashLen];
  ShaState outer = opad;
  const bool ok = inner->final(ih) && outer.update(ih, hash_len(opad.algo)) && outer.final(out);
  OPENSSL_cleanse(ih, sizeof(ih));
  outer.wipe();
  return ok;
}

// out (hash_len(algo) bytes, not aliasing the inputs) = HMAC-algo(key, parts[0] || ...).
bool hmac_oneshot(HashAlgo algo, std::span<const uint8_t> key,
                  std::initializer_list<std::span<const uint8_t>> parts, uint8_t* out) noexcept {
  ShaState inner;
  ShaState opad;
  bool ok = key_pads(algo, key, &inner, &opad);
  for (std::span<const uint8_t> p : parts) {
    ok = ok && inner.update(p.data(), p.size());
  }
  ok = ok && finish_keyed(opad, &inner, out);
  inner.wipe();
  opad.wipe();
  if (!ok) {
    ossl::clear_errors();
  }
  return ok;
}

}  // namespace

Result<Hmac, Error> Hmac::create(HashAlgo algo, std::span<const uint8_t> key) noexcept {
  Hmac h(algo);
  h.state_.reset(new (std::nothrow) HmacState);
  if (!h.state_ || !key_pads(algo, key, &h.state_->ipad, &h.state_->opad)) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  h.state_->inner = h.state_->ipad;
  return h;
}

Result<void, Error> Hmac::update(std::span<const uint8_t> data) noexcept {
  if (!state_->inner.update(data.data(), data.size())) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return {};
}

Result<void, Error> Hmac::finish(std::span<uint8_t> out) noexcept {
  if (out.size() < size()) {
    return fail(Error::kOutputTooSmall);
  }
  const bool ok = finish_keyed(state_->opad, &state_->inner, out.data());
  state_->inner = state_->ipad;  // rearm the same key for the next message
  if (!ok) {
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

namespace {

// HKDF-Expand's block chain (RFC 5869 §2.3): T(0) = empty; T(i) = HMAC(PRK, T(i-1) | info |
// i); OKM = the first L bytes of T(1) | T(2) ... mac(prev, counter, t) writes T(i) (n bytes)
// to t from T(i-1) = prev. out is wiped on failure.
template <class Mac>
Result<void, Error> expand_blocks(size_t n, std::span<uint8_t> out, Mac&& mac) noexcept {
  uint8_t t[kMaxHashLen];
  size_t t_len = 0;
  size_t done = 0;
  Result<void, Error> result;
  for (uint8_t i = 1; done < out.size(); i++) {
    const uint8_t counter[1] = {i};
    if (!mac(std::span<const uint8_t>(t, t_len), std::span<const uint8_t>(counter), t)) {
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

}  // namespace

Result<void, Error> hkdf_expand(HashAlgo algo, std::span<const uint8_t> prk,
                                std::span<const uint8_t> info, std::span<uint8_t> out) noexcept {
  const size_t n = hash_len(algo);
  // RFC 5869 §2.3: PRK is "at least HashLen octets"; L <= 255*HashLen.
  if (prk.size() < n || out.size() > 255 * n) {
    return fail(Error::kInvalidArgument);
  }
  // TLS 1.3 asks for at most one block at a time, so each block is a one-shot MAC.
  return expand_blocks(n, out, [&](std::span<const uint8_t> prev,
                                   std::span<const uint8_t> counter, uint8_t* t) {
    return hmac_oneshot(algo, prk, {prev, info, counter}, t);
  });
}

namespace {

// The HkdfLabel structure of RFC 8446 §7.1 for out_len bytes, written to buf; returns its
// length, or 0 if the prefixed label exceeds 255 bytes, context exceeds 255 bytes, or
// out_len exceeds 65535.
// struct { uint16 length; opaque label<7..255> = "tls13 " + Label; opaque context<0..255>; }
constexpr size_t kMaxHkdfLabelLen = 2 + 1 + 255 + 1 + 255;
size_t hkdf_label(uint8_t (&buf)[kMaxHkdfLabelLen], std::string_view label,
                  std::span<const uint8_t> context, size_t out_len) noexcept {
  if (kTls13LabelPrefix.size() + label.size() > 255 || context.size() > 255 ||
      out_len > 0xffff) {
    return 0;
  }
  size_t pos = 0;
  buf[pos++] = static_cast<uint8_t>(out_len >> 8);
  buf[pos++] = static_cast<uint8_t>(out_len);
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
  return pos;
}

}  // namespace

Result<void, Error> hkdf_expand_label(HashAlgo algo, std::span<const uint8_t> secret,
                                      std::string_view label, std::span<const uint8_t> context,
                                      std::span<uint8_t> out) noexcept {
  uint8_t buf[kMaxHkdfLabelLen];
  const size_t len = hkdf_label(buf, label, context, out.size());
  if (len == 0) {
    return fail(Error::kInvalidArgument);
  }
  return hkdf_expand(algo, secret, {buf, len}, out);
}

Result<void, Error> hkdf_expand_label(Hmac& prk, std::string_view label,
                                      std::span<const uint8_t> context,
                                      std::span<uint8_t> out) noexcept {
  uint8_t buf[kMaxHkdfLabelLen];
  const size_t len = hkdf_label(buf, label, context, out.size());
  const size_t n = prk.size();
  if (len == 0 || out.size() > 255 * n) {
    return fail(Error::kInvalidArgument);
  }
  // As hkdf_expand(), on pads computed once for the PRK.
  return expand_blocks(n, out, [&](std::span<const uint8_t> prev,
                                   std::span<const uint8_t> counter, uint8_t* t) {
    return prk.update(prev) && prk.update({buf, len}) && prk.update(counter) &&
           prk.finish(std::span<uint8_t>(t, n));
  });
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

Result<HashSecret, Error> derive_secret(Hmac& secret, std::string_view label,
                                        std::span<const uint8_t> transcript_hash) noexcept {
  HashSecret out;
  if (Result<void, Error> r =
          hkdf_expand_label(secret, label, transcript_hash, out.resize(secret.size()));
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
