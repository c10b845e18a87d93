#include "lib/tls/ticket13.h"

#include <cstring>

#include "lib/base/bytes.h"
#include "lib/base/secret.h"

namespace linetls::tls {

namespace {

constexpr uint8_t kContentsVersion = 1;

uint32_t load_u32(std::span<const uint8_t> b) noexcept {
  return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | b[3];
}

}  // namespace

std::vector<uint8_t> encode_ticket_contents(const TicketContents& c) {
  std::vector<uint8_t> out(32 + c.psk.view().size() + c.alpn.size() + c.server_name.size());
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
  if (!r.read_u8(&version) || version != kContentsVersion || !r.read_u16(&suite) ||
      !r.read_u64(&c.issued_ms) || !r.read_u32(&c.lifetime_s) || !r.read_u32(&c.age_add) ||
      !r.read_u8_prefixed(&psk) || !r.read_u8_prefixed(&alpn) || !r.read_u16_prefixed(&sni) ||
      !r.empty()) {
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

Result<std::vector<uint8_t>, Error> TicketKeys::seal(const TicketContents& contents) const {
  if (!keys_[0].key) {
    return fail(Error::kInternalError);
  }
  std::vector<uint8_t> plain = encode_ticket_contents(contents);
  if (plain.empty()) {
    return fail(Error::kInternalError);
  }
  std::vector<uint8_t> t(kTicketOverhead + plain.size());
  ByteWriter w(t);
  w.put_u32(keys_[0].id);
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
  const bool added = batch_.add_seal(*keys_[0].key, nonce, std::span(t).first(kTicketKeyIdLen),
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
  for (const Key& k : keys_) {
    if (k.key && k.id == id) {
      key = &k;
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
