#include "lib/tls/ticket13.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "lib/base/bytes.h"
#include "lib/base/secret.h"

namespace linetls::tls {

namespace {

constexpr uint8_t kContentsVersion = 2;

std::span<const uint8_t> as_bytes(const std::string& s) noexcept {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

uint32_t load_u32(std::span<const uint8_t> b) noexcept {
  return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
}

}  // namespace

size_t ticket_identity_len(const crypto::VerifiedIdentity& id) noexcept {
  size_t n = 2 + id.subject.size() + 2 + 1 + id.sha256_fingerprint.len;
  for (const std::string& san : id.subject_alt_names) {
    n += 2 + san.size();
  }
  return n;
}

std::vector<uint8_t> encode_ticket_contents(const TicketContents& c) {
  const size_t id_len = c.client_identity ? ticket_identity_len(*c.client_identity) : 0;
  if (id_len > kMaxTicketIdentityLen) {
    return {};
  }
  std::vector<uint8_t> out(33 + c.psk.view().size() + c.alpn.size() + c.server_name.size() +
                           id_len);
  ByteWriter w(out);
  w.put_u8(kContentsVersion);
  w.put_u16(static_cast<uint16_t>(c.suite));
  w.put_u64(c.issued_ms);
  w.put_u32(c.lifetime_s);
  w.put_u32(c.age_add);
  auto p = w.begin_prefixed(1);
  w.put_bytes(c.psk.view());
  w.end_prefixed(p);
  auto a = w.begin_prefixed(1);
  w.put_bytes(c.alpn);
  w.end_prefixed(a);
  auto s = w.begin_prefixed(2);
  w.put_bytes(c.server_name);
  w.end_prefixed(s);
  // client_identity: present (1) or not (0); subject<0..2^16-1>,
  // subject_alt_names<0..2^16-1> of san<0..2^16-1>, fingerprint<0..255>.
  w.put_u8(c.client_identity ? 1 : 0);
  if (c.client_identity) {
    const crypto::VerifiedIdentity& id = *c.client_identity;
    auto subject = w.begin_prefixed(2);
    w.put_bytes(as_bytes(id.subject));
    w.end_prefixed(subject);
    auto sans = w.begin_prefixed(2);
    for (const std::string& san : id.subject_alt_names) {
      auto one = w.begin_prefixed(2);
      w.put_bytes(as_bytes(san));
      w.end_prefixed(one);
    }
    w.end_prefixed(sans);
    auto fp = w.begin_prefixed(1);
    w.put_bytes(id.sha256_fingerprint.view());
    w.end_prefixed(fp);
  }
  if (!w.ok()) {
    return {};
  }
  out.resize(w.size());
  return out;
}

std::optional<TicketContents> decode_ticket_contents(std::span<const uint8_t> plain) {
  ByteReader r(plain);
  uint8_t version = 0;
  uint16_t suite = 0;
  TicketContents c;
  ByteReader psk, alpn, sni;
  uint8_t has_identity = 0;
  if (!r.read_u8(&version) || version != kContentsVersion || !r.read_u16(&suite) ||
      !r.read_u64(&c.issued_ms) || !r.read_u32(&c.lifetime_s) || !r.read_u32(&c.age_add) ||
      !r.read_u8_prefixed(&psk) || !r.read_u8_prefixed(&alpn) || !r.read_u16_prefixed(&sni) ||
      !r.read_u8(&has_identity) || has_identity > 1) {
    return std::nullopt;
  }
  if (has_identity == 1) {
    ByteReader subject, sans, fp;
    if (!r.read_u16_prefixed(&subject) || !r.read_u16_prefixed(&sans) || !r.read_u8_prefixed(&fp) ||
        fp.remaining() != 32) {
      return std::nullopt;
    }
    crypto::VerifiedIdentity id;
    id.subject.assign(subject.rest().begin(), subject.rest().end());
    while (!sans.empty()) {
      ByteReader san;
      if (!sans.read_u16_prefixed(&san)) {
        return std::nullopt;
      }
      id.subject_alt_names.emplace_back(san.rest().begin(), san.rest().end());
    }
    std::copy(fp.rest().begin(), fp.rest().end(), id.sha256_fingerprint.bytes.begin());
    id.sha256_fingerprint.len = fp.remaining();
    c.client_identity = std::move(id);
  }
  if (!r.empty()) {
    return std::nullopt;
  }
  auto info = suite_info(suite);
  if (!info || psk.remaining() != crypto::hash_len(info->hash)) {
    return std::nullopt;
  }
  c.suite = info->suite;
  c.psk.assign(psk.rest());
  c.alpn.assign(alpn.rest().begin(), alpn.rest().end());
  c.server_name.assign(sni.rest().begin(), sni.rest().end());
  return c;
}

Result<void, Error> TicketKeys::rotate() noexcept {
  uint8_t material[32];
  uint8_t id[kTicketKeyIdLen];
  if (!rng_.fill(material) || !rng_.fill(id)) {
    return fail(Error::kCryptoFailure);
  }
  auto key = batch_.make_key(crypto::AeadAlgo::kAes256Gcm, material);
  secure_wipe(std::span<uint8_t>(material));
  if (!key) {
    return fail(Error::kCryptoFailure);
  }
  uint32_t new_id = load_u32(id);
  if (keys_[0].key && new_id == keys_[0].id) {
    new_id ^= 1;  // never let the previous key's id collide with the new one
  }
  keys_[1] = std::move(keys_[0]);
  keys_[0] = Key{new_id, std::move(*key)};
  return {};
}

Result<TicketKeys::Key, Error> TicketKeys::derive(uint32_t epoch,
                                                  std::span<const uint8_t, 32> master) const noexcept {
  static constexpr char kLabel[] = "linetls ticket key";
  constexpr size_t kLabelLen = sizeof(kLabel) - 1;
  uint8_t info[kLabelLen + 4];
  std::memcpy(info, kLabel, kLabelLen);
  store_be32(info + kLabelLen, epoch);
  auto prk = crypto::hkdf_extract(crypto::HashAlgo::kSha256, {}, master);
  if (!prk) {
    return fail(Error::kCryptoFailure);
  }
  uint8_t material[32];
  if (!crypto::hkdf_expand(crypto::HashAlgo::kSha256, prk->view(), info, material)) {
    return fail(Error::kCryptoFailure);
  }
  auto key = batch_.make_key(crypto::AeadAlgo::kAes256Gcm, material);
  secure_wipe(std::span<uint8_t>(material));
  if (!key) {
    return fail(Error::kCryptoFailure);
  }
  return Key{epoch, std::move(*key)};
}

Result<void, Error> TicketKeys::rotate_to(uint32_t epoch,
                                          std::span<const uint8_t, 32> master) noexcept {
  if (keys_[0].key && keys_[0].id == epoch) {
    return {};
  }
  auto current = derive(epoch, master);
  if (!current) {
    return fail(current.error());
  }
  if (keys_[0].key && keys_[0].id + 1 == epoch) {
    keys_[1] = std::move(keys_[0]);
    keys_[0] = std::move(*current);
    return {};
  }
  auto previous = derive(epoch - 1, master);
  if (!previous) {
    return fail(previous.error());
  }
  keys_[0] = std::move(*current);
  keys_[1] = std::move(*previous);
  return {};
}

Result<ExplicitTicketKey, Error> derive_explicit_ticket_key(
    std::span<const uint8_t> entry) noexcept {
  if (entry.empty()) {
    return fail(Error::kInternalError);
  }
  static constexpr char kLabel[] = "linetls ticket file key";
  auto prk = crypto::hkdf_extract(crypto::HashAlgo::kSha256, {}, entry);
  if (!prk) {
    return fail(Error::kCryptoFailure);
  }
  uint8_t okm[kTicketKeyIdLen + 32];
  if (!crypto::hkdf_expand(crypto::HashAlgo::kSha256, prk->view(),
                           std::span(reinterpret_cast<const uint8_t*>(kLabel), sizeof(kLabel) - 1),
                           okm)) {
    return fail(Error::kCryptoFailure);
  }
  ExplicitTicketKey k;
  k.id = load_u32(okm);
  k.key.assign(std::span<const uint8_t>(okm).subspan(kTicketKeyIdLen));
  secure_wipe(std::span<uint8_t>(okm));
  return k;
}

Result<void, Error> TicketKeys::install(std::span<const ExplicitTicketKey> keys,
                                        size_t seal_index) noexcept {
  if (keys.empty() || seal_index >= keys.size()) {
    return fail(Error::kInternalError);
  }
  std::vector<Key> made;
  made.reserve(keys.size());
  for (const ExplicitTicketKey& k : keys) {
    for (const Key& other : made) {
      if (other.id == k.id) {
        return fail(Error::kInternalError);  // a ticket could not say which key sealed it
      }
    }
    if (k.key.size() != 32) {
      return fail(Error::kInternalError);
    }
    auto key = batch_.make_key(crypto::AeadAlgo::kAes256Gcm, k.key.view());
    if (!key) {
      return fail(Error::kCryptoFailure);
    }
    made.push_back(Key{k.id, std::move(*key)});
  }
  explicit_ = std::move(made);
  seal_index_ = seal_index;
  return {};
}

Result<std::vector<uint8_t>, Error> TicketKeys::seal(const TicketContents& contents) const {
  const Key& sealing = sealing_key();
  if (!sealing.key) {
    return fail(Error::kInternalError);
  }
  std::vector<uint8_t> plain = encode_ticket_contents(contents);
  if (plain.empty()) {
    return fail(Error::kInternalError);
  }
  std::vector<uint8_t> t(kTicketOverhead + plain.size());
  ByteWriter w(t);
  w.put_u32(sealing.id);
  crypto::AeadNonce nonce;
  if (!rng_.fill(nonce)) {
    secure_wipe(std::span<uint8_t>(plain));
    return fail(Error::kCryptoFailure);
  }
  w.put_bytes(nonce);
  w.put_bytes(plain);
  secure_wipe(std::span<uint8_t>(plain));
  const size_t body_at = kTicketKeyIdLen + crypto::kAeadNonceLen;
  const crypto::IoSeg seg{t.data() + body_at, static_cast<uint32_t>(plain.size())};
  batch_.clear();
  const bool added = batch_.add_seal(*sealing.key, nonce, std::span(t).first(kTicketKeyIdLen),
                                     std::span(&seg, 1), t.data() + body_at + plain.size());
  const bool ok = added && batch_.run() == 1;
  batch_.clear();
  if (!ok) {
    return fail(Error::kCryptoFailure);
  }
  return t;
}

std::optional<TicketContents> TicketKeys::open(std::span<const uint8_t> ticket) const {
  if (ticket.size() <= kTicketOverhead) {
    return std::nullopt;
  }
  const uint32_t id = load_u32(ticket);
  const Key* key = nullptr;
  if (explicit_.empty()) {
    for (const Key& k : keys_) {
      if (k.key && k.id == id) {
        key = &k;
      }
    }
  } else {
    for (const Key& k : explicit_) {
      if (k.id == id) {
        key = &k;
      }
    }
  }
  if (key == nullptr) {
    return std::nullopt;
  }
  crypto::AeadNonce nonce;
  std::memcpy(nonce.data(), ticket.data() + kTicketKeyIdLen, nonce.size());
  const size_t body_at = kTicketKeyIdLen + crypto::kAeadNonceLen;
  std::vector<uint8_t> plain(ticket.begin() + body_at, ticket.end() - crypto::kAeadTagLen);
  const crypto::IoSeg seg{plain.data(), static_cast<uint32_t>(plain.size())};
  batch_.clear();
  const bool added = batch_.add_open(*key->key, nonce, ticket.first(kTicketKeyIdLen),
                                     std::span(&seg, 1), ticket.data() + ticket.size() - 16);
  const bool ok = added && batch_.run() == 1;
  batch_.clear();
  std::optional<TicketContents> c;
  if (ok) {
    c = decode_ticket_contents(plain);
  }
  secure_wipe(std::span<uint8_t>(plain));
  return c;
}

}  // namespace linetls::tls
