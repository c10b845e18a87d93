#include "lib/tls/v12/resumption12.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "lib/base/bytes.h"
#include "lib/base/secret.h"

namespace linetls::tls::v12 {

namespace {

// Version 2 added the extended_master_secret flag (RFC 7627 §5.3 needs it): version 1
// sessions no longer decode.
constexpr uint8_t kEncodingVersion = 2;
constexpr size_t kMaxNames = 64;

std::span<const uint8_t> as_bytes(const std::string& s) noexcept {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

Session12 Session12::clone() const {
  Session12 s;
  s.suite = suite;
  s.master.assign(master.view());
  s.extended_master_secret = extended_master_secret;
  s.created_s = created_s;
  s.lifetime_s = lifetime_s;
  s.server_name = server_name;
  s.client_identity = client_identity;
  return s;
}

std::vector<uint8_t> encode_session12(const Session12& s) {
  size_t need = 64 + s.master.view().size() + s.server_name.size();
  if (s.client_identity) {
    // As for TLS 1.3 tickets (ticket13.h): a larger identity is not carried, and neither are
    // more names than decode_session12 takes back.
    if (ticket_identity_len(*s.client_identity) > kMaxTicketIdentityLen ||
        s.client_identity->subject_alt_names.size() > kMaxNames) {
      return {};
    }
    need += 64 + s.client_identity->subject.size();
    for (const std::string& n : s.client_identity->subject_alt_names) {
      need += 2 + n.size();
    }
  }
  std::vector<uint8_t> out(need);
  ByteWriter w(out);
  w.put_u8(kEncodingVersion);
  w.put_u8(s.extended_master_secret ? 1 : 0);
  w.put_u16(static_cast<uint16_t>(s.suite));
  auto m = w.begin_prefixed(1);
  w.put_bytes(s.master.view());
  w.end_prefixed(m);
  w.put_u64(s.created_s);
  w.put_u32(s.lifetime_s);
  auto sni = w.begin_prefixed(2);
  w.put_bytes(s.server_name);
  w.end_prefixed(sni);
  w.put_u8(s.client_identity ? 1 : 0);
  if (s.client_identity) {
    const crypto::VerifiedIdentity& id = *s.client_identity;
    auto fp = w.begin_prefixed(1);
    w.put_bytes(id.sha256_fingerprint.view());
    w.end_prefixed(fp);
    auto subject = w.begin_prefixed(2);
    w.put_bytes(as_bytes(id.subject));
    w.end_prefixed(subject);
    auto sans = w.begin_prefixed(2);
    for (const std::string& n : id.subject_alt_names) {
      auto one = w.begin_prefixed(2);
      w.put_bytes(as_bytes(n));
      w.end_prefixed(one);
    }
    w.end_prefixed(sans);
  }
  if (!w.ok()) {
    return {};
  }
  out.resize(w.size());
  return out;
}

std::optional<Session12> decode_session12(std::span<const uint8_t> plain) {
  ByteReader r(plain);
  uint8_t version = 0;
  uint8_t ems = 0;
  uint16_t suite = 0;
  uint8_t has_identity = 0;
  ByteReader master, sni;
  Session12 s;
  if (!r.read_u8(&version) || version != kEncodingVersion || !r.read_u8(&ems) || ems > 1 ||
      !r.read_u16(&suite) || !r.read_u8_prefixed(&master) || !r.read_u64(&s.created_s) ||
      !r.read_u32(&s.lifetime_s) || !r.read_u16_prefixed(&sni) || !r.read_u8(&has_identity) ||
      has_identity > 1) {
    return std::nullopt;
  }
  const auto info = suite_info(suite);
  if (!info || master.remaining() != crypto::kTls12MasterSecretLen) {
    return std::nullopt;
  }
  s.suite = info->suite;
  s.master.assign(master.rest());
  s.extended_master_secret = ems == 1;
  s.server_name.assign(sni.rest().begin(), sni.rest().end());
  if (has_identity == 1) {
    ByteReader fp, subject, sans;
    if (!r.read_u8_prefixed(&fp) || fp.remaining() > crypto::kMaxHashLen ||
        !r.read_u16_prefixed(&subject) || !r.read_u16_prefixed(&sans)) {
      return std::nullopt;
    }
    crypto::VerifiedIdentity id;
    std::copy(fp.rest().begin(), fp.rest().end(), id.sha256_fingerprint.bytes.begin());
    id.sha256_fingerprint.len = fp.remaining();
    id.subject.assign(subject.rest().begin(), subject.rest().end());
    while (!sans.empty()) {
      ByteReader one;
      if (!sans.read_u16_prefixed(&one) || id.subject_alt_names.size() >= kMaxNames) {
        return std::nullopt;
      }
      id.subject_alt_names.emplace_back(one.rest().begin(), one.rest().end());
    }
    s.client_identity = std::move(id);
  }
  if (!r.empty()) {
    return std::nullopt;
  }
  return s;
}

Result<std::vector<uint8_t>, Error> seal_ticket12(const TicketKeys& keys, crypto::Rng& rng,
                                                  const Session12& s) {
  TicketContents c;
  uint8_t filler[32];
  if (!rng.fill(filler)) {
    return fail(Error::kCryptoFailure);
  }
  c.suite = tls::CipherSuite::kAes128GcmSha256;
  c.psk.assign(filler);
  secure_wipe(std::span<uint8_t>(filler));
  c.alpn.assign(std::begin(kTicket12Marker), std::end(kTicket12Marker));
  c.server_name = encode_session12(s);
  if (c.server_name.empty()) {
    return fail(Error::kInternalError);
  }
  c.issued_ms = s.created_s * 1000;
  c.lifetime_s = s.lifetime_s;
  auto t = keys.seal(c);
  secure_wipe(std::span<uint8_t>(c.server_name));
  return t;
}

std::optional<Session12> open_ticket12(const TicketDecoder& keys,
                                       std::span<const uint8_t> ticket) {
  auto c = keys.open(ticket);
  if (!c || c->alpn.size() != sizeof(kTicket12Marker) ||
      std::memcmp(c->alpn.data(), kTicket12Marker, sizeof(kTicket12Marker)) != 0) {
    return std::nullopt;
  }
  auto s = decode_session12(c->server_name);
  secure_wipe(std::span<uint8_t>(c->server_name));
  return s;
}

// ---- SessionCache12.

void SessionCache12::insert(std::span<const uint8_t> id, Session12 s) {
  if (id.size() != kSessionIdLen || slots_.empty()) {
    return;
  }
  std::string key(id.begin(), id.end());
  if (auto it = index_.find(key); it != index_.end()) {
    Slot& slot = slots_[it->second];
    slot.session = std::move(s);
    slot.referenced = true;
    return;
  }
  // CLOCK: the first free slot, or the first one whose reference bit is clear (clearing
  // the bits the hand passes over).
  size_t chosen = slots_.size();
  for (size_t steps = 0; steps < 2 * slots_.size() + 1; steps++) {
    Slot& slot = slots_[hand_];
    const size_t here = hand_;
    hand_ = (hand_ + 1) % slots_.size();
    if (!slot.used || !slot.referenced) {
      chosen = here;
      break;
    }
    slot.referenced = false;
  }
  Slot& slot = slots_[chosen];
  if (slot.used) {
    index_.erase(slot.id);
    evictions_++;
  }
  slot.id = key;
  slot.session = std::move(s);
  slot.used = true;
  slot.referenced = false;
  index_[std::move(key)] = chosen;
}

std::optional<Session12> SessionCache12::find(std::span<const uint8_t> id, uint64_t now_s) {
  if (id.size() != kSessionIdLen) {
    return std::nullopt;
  }
  const std::string key(id.begin(), id.end());
  auto it = index_.find(key);
  if (it == index_.end()) {
    return std::nullopt;
  }
  Slot& slot = slots_[it->second];
  if (!slot.session.fresh(now_s)) {
    erase(id);
    return std::nullopt;
  }
  slot.referenced = true;
  return slot.session.clone();
}

void SessionCache12::erase(std::span<const uint8_t> id) {
  const std::string key(id.begin(), id.end());
  auto it = index_.find(key);
  if (it == index_.end()) {
    return;
  }
  Slot& slot = slots_[it->second];
  slot.used = false;
  slot.referenced = false;
  slot.session = Session12{};
  slot.id.clear();
  index_.erase(it);
}

}  // namespace linetls::tls::v12
