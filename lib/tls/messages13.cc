#include "lib/tls/messages13.h"

#include <algorithm>
#include <cstring>

#include "lib/tls/handshake_msg.h"

namespace linetls::tls {

namespace {

uint16_t code(ExtensionType t) { return static_cast<uint16_t>(t); }

Result<void, Error> done(const ByteWriter& w) noexcept {
  if (!w.ok()) {
    return fail(Error::kInternalError);
  }
  return {};
}

void put_u16_list_ext(ByteWriter& w, ExtensionType t, std::span<const uint16_t> list,
                      size_t prefix) noexcept {
  w.put_u16(code(t));
  auto ext = w.begin_prefixed(2);
  auto l = w.begin_prefixed(prefix);
  for (uint16_t v : list) {
    w.put_u16(v);
  }
  w.end_prefixed(l);
  w.end_prefixed(ext);
}

}  // namespace

Result<void, Error> write_client_hello(ByteWriter& w, const ClientHelloParams& p) noexcept {
  w.put_u8(static_cast<uint8_t>(HandshakeType::kClientHello));
  auto msg = w.begin_prefixed(3);
  w.put_u16(kTls12);  // §4.1.2 legacy_version
  if (p.random.size() != kRandomLen || p.session_id.size() > kMaxSessionIdLen) {
    return fail(Error::kInternalError);
  }
  w.put_bytes(p.random);
  auto sid = w.begin_prefixed(1);
  w.put_bytes(p.session_id);
  w.end_prefixed(sid);
  auto suites = w.begin_prefixed(2);
  for (uint16_t s : p.cipher_suites) {
    w.put_u16(s);
  }
  w.end_prefixed(suites);
  w.put_u8(1);
  w.put_u8(p.compression_method);
  auto exts = w.begin_prefixed(2);
  if (!p.server_name.empty()) {
    // RFC 6066 §3 ServerNameList with one host_name.
    w.put_u16(code(ExtensionType::kServerName));
    auto ext = w.begin_prefixed(2);
    auto list = w.begin_prefixed(2);
    w.put_u8(0);
    auto name = w.begin_prefixed(2);
    w.put_bytes(p.server_name);
    w.end_prefixed(name);
    w.end_prefixed(list);
    w.end_prefixed(ext);
  }
  put_u16_list_ext(w, ExtensionType::kSupportedGroups, p.supported_groups, 2);
  if (p.duplicate_supported_groups) {
    put_u16_list_ext(w, ExtensionType::kSupportedGroups, p.supported_groups, 2);
  }
  if (!p.omit_signature_algorithms) {
    put_u16_list_ext(w, ExtensionType::kSignatureAlgorithms, p.signature_algorithms, 2);
  }
  if (!p.alpn.empty()) {
    w.put_u16(code(ExtensionType::kAlpn));
    auto ext = w.begin_prefixed(2);
    auto list = w.begin_prefixed(2);
    for (auto name : p.alpn) {
      auto n = w.begin_prefixed(1);
      w.put_bytes(name);
      w.end_prefixed(n);
    }
    w.end_prefixed(list);
    w.end_prefixed(ext);
  }
  if (!p.omit_key_share) {
    w.put_u16(code(ExtensionType::kKeyShare));
    auto ks_ext = w.begin_prefixed(2);
    auto ks_list = w.begin_prefixed(2);
    for (const KeyShareEntry& e : p.key_shares) {
      w.put_u16(e.group);
      auto k = w.begin_prefixed(2);
      w.put_bytes(e.key_exchange);
      w.end_prefixed(k);
    }
    w.end_prefixed(ks_list);
    w.end_prefixed(ks_ext);
  }
  if (!p.omit_supported_versions) {
    const uint16_t v[] = {kTls13};
    put_u16_list_ext(w, ExtensionType::kSupportedVersions, v, 1);
  }
  if (!p.cookie.empty()) {
    w.put_u16(code(ExtensionType::kCookie));
    auto ext = w.begin_prefixed(2);
    auto c = w.begin_prefixed(2);
    w.put_bytes(p.cookie);
    w.end_prefixed(c);
    w.end_prefixed(ext);
  }
  if (!p.psk_modes.empty()) {
    w.put_u16(code(ExtensionType::kPskKeyExchangeModes));
    auto ext = w.begin_prefixed(2);
    auto modes = w.begin_prefixed(1);
    w.put_bytes(p.psk_modes);
    w.end_prefixed(modes);
    w.end_prefixed(ext);
  }
  if (p.record_size_limit) {
    w.put_u16(code(ExtensionType::kRecordSizeLimit));
    w.put_u16(2);
    w.put_u16(*p.record_size_limit);
  }
  if (p.early_data) {
    w.put_u16(code(ExtensionType::kEarlyData));
    w.put_u16(0);
  }
  if (p.psk_binder_len != 0) {
    w.put_u16(code(ExtensionType::kPreSharedKey));
    auto ext = w.begin_prefixed(2);
    auto ids = w.begin_prefixed(2);
    auto id = w.begin_prefixed(2);
    w.put_bytes(p.psk_identity);
    w.end_prefixed(id);
    w.put_u32(p.psk_obfuscated_age);
    w.end_prefixed(ids);
    auto binders = w.begin_prefixed(2);
    auto binder = w.begin_prefixed(1);
    w.put_zeros(p.psk_binder_len);
    w.end_prefixed(binder);
    w.end_prefixed(binders);
    w.end_prefixed(ext);
  }
  w.end_prefixed(exts);
  w.end_prefixed(msg);
  return done(w);
}

Result<ServerHello, Error> parse_server_hello(std::span<const uint8_t> body) noexcept {
  ServerHello sh;
  ByteReader r(body);
  uint16_t legacy_version = 0;
  ByteReader sid, exts;
  uint8_t compression = 0;
  if (!r.read_u16(&legacy_version) || !r.read_bytes(kRandomLen, &sh.random) ||
      !r.read_u8_prefixed(&sid) || sid.remaining() > kMaxSessionIdLen ||
      !r.read_u16(&sh.cipher_suite) || !r.read_u8(&compression) || !r.read_u16_prefixed(&exts) ||
      !r.empty()) {
    return fail(Error::kDecodeError);
  }
  sh.legacy_session_id_echo = sid.rest();
  sh.is_hello_retry_request =
      std::memcmp(sh.random.data(), kHelloRetryRequestRandom, kRandomLen) == 0;
  // §4.1.3: legacy_version "MUST be set to 0x0303"; legacy_compression_method "MUST have
  // the value 0".
  if (legacy_version != kTls12 || compression != 0) {
    return fail(Error::kIllegalParameter);
  }
  const ExtMessage where =
      sh.is_hello_retry_request ? ExtMessage::kHelloRetryRequest : ExtMessage::kServerHello;
  bool have_key_share = false;
  auto ok = walk_extensions(exts.rest(), where, [&](const RawExtension& e) -> Result<void, Error> {
    ByteReader d(e.data);
    switch (static_cast<ExtensionType>(e.type)) {
      case ExtensionType::kSupportedVersions:
        if (!d.read_u16(&sh.selected_version) || !d.empty()) {
          return fail(Error::kDecodeError);
        }
        return {};
      case ExtensionType::kKeyShare: {
        have_key_share = true;
        if (!d.read_u16(&sh.key_share_group)) {
          return fail(Error::kDecodeError);
        }
        if (!sh.is_hello_retry_request) {
          ByteReader key;
          if (!d.read_u16_prefixed(&key) || key.empty()) {
            return fail(Error::kDecodeError);
          }
          sh.key_share = key.rest();
        }
        return d.empty() ? Result<void, Error>{} : fail(Error::kDecodeError);
      }
      case ExtensionType::kCookie: {
        auto c = parse_cookie(e.data);
        if (!c) {
          return fail(c.error());
        }
        sh.cookie = *c;
        return {};
      }
      case ExtensionType::kPreSharedKey: {
        uint16_t id = 0;
        if (!d.read_u16(&id) || !d.empty()) {
          return fail(Error::kDecodeError);
        }
        sh.selected_psk = id;
        return {};
      }
      default:
        return {};
    }
  });
  if (!ok) {
    return fail(ok.error());
  }
  if (sh.selected_version == 0) {
    return fail(Error::kMissingExtension);
  }
  if (!have_key_share && !sh.selected_psk && !sh.is_hello_retry_request) {
    return fail(Error::kMissingExtension);
  }
  return sh;
}

Result<EncryptedExtensions, Error> parse_encrypted_extensions(
    std::span<const uint8_t> body) noexcept {
  EncryptedExtensions ee;
  ByteReader r(body);
  ByteReader exts;
  if (!r.read_u16_prefixed(&exts) || !r.empty()) {
    return fail(Error::kDecodeError);
  }
  auto ok =
      walk_extensions(exts.rest(), ExtMessage::kEncryptedExtensions,
                      [&](const RawExtension& e) -> Result<void, Error> {
                        switch (static_cast<ExtensionType>(e.type)) {
                          case ExtensionType::kAlpn: {
                            auto l = parse_alpn(e.data);
                            if (!l) {
                              return fail(l.error());
                            }
                            ByteReader names(*l);
                            ByteReader name;
                            if (!names.read_u8_prefixed(&name) || name.empty() || !names.empty()) {
                              return fail(Error::kDecodeError);
                            }
                            ee.alpn_protocol = name.rest();
                            return {};
                          }
                          case ExtensionType::kServerName:
                            ee.server_name_ack = true;
                            return parse_empty(e.data);
                          case ExtensionType::kEarlyData:
                            ee.early_data = true;
                            return parse_empty(e.data);
                          case ExtensionType::kRecordSizeLimit: {
                            auto l = parse_record_size_limit(e.data);
                            if (!l) {
                              return fail(l.error());
                            }
                            ee.record_size_limit = *l;
                            return {};
                          }
                          default:
                            return {};
                        }
                      });
  if (!ok) {
    return fail(ok.error());
  }
  return ee;
}

Result<void, Error> write_certificate(ByteWriter& w,
                                      std::span<const std::span<const uint8_t>> chain,
                                      std::span<const uint8_t> request_context) noexcept {
  w.put_u8(static_cast<uint8_t>(HandshakeType::kCertificate));
  auto msg = w.begin_prefixed(3);
  auto ctx = w.begin_prefixed(1);
  w.put_bytes(request_context);
  w.end_prefixed(ctx);
  auto list = w.begin_prefixed(3);
  for (auto der : chain) {
    auto d = w.begin_prefixed(3);
    w.put_bytes(der);
    w.end_prefixed(d);
    w.put_u16(0);  // Extension extensions<0..2^16-1>
  }
  w.end_prefixed(list);
  w.end_prefixed(msg);
  return done(w);
}

Result<CertificateMsg, Error> parse_certificate(std::span<const uint8_t> body) noexcept {
  CertificateMsg m;
  ByteReader r(body);
  ByteReader ctx, list;
  if (!r.read_u8_prefixed(&ctx) || !r.read_u24_prefixed(&list) || !r.empty()) {
    return fail(Error::kDecodeError);
  }
  m.request_context = ctx.rest();
  while (!list.empty()) {
    ByteReader der, exts;
    // opaque cert_data<1..2^24-1>; Extension extensions<0..2^16-1>.
    if (!list.read_u24_prefixed(&der) || der.empty() || !list.read_u16_prefixed(&exts)) {
      return fail(Error::kDecodeError);
    }
    if (auto ok = walk_extensions(exts.rest(), ExtMessage::kCertificate,
                                  [](const RawExtension&) -> Result<void, Error> { return {}; });
        !ok) {
      return fail(ok.error());
    }
    if (m.num_entries == kMaxCertificateEntries) {
      return fail(Error::kTooManyListEntries);
    }
    m.entries[m.num_entries++] = der.rest();
  }
  return m;
}

Result<void, Error> write_certificate_request(ByteWriter& w,
                                              const CertificateRequestParams& p) noexcept {
  // SignatureScheme supported_signature_algorithms<2..2^16-2>; opaque
  // certificate_request_context<0..2^8-1>; DistinguishedName authorities<3..2^16-1>.
  if (p.signature_algorithms.empty() || p.request_context.size() > 0xff) {
    return fail(Error::kInternalError);
  }
  w.put_u8(static_cast<uint8_t>(HandshakeType::kCertificateRequest));
  auto msg = w.begin_prefixed(3);
  auto ctx = w.begin_prefixed(1);
  w.put_bytes(p.request_context);
  w.end_prefixed(ctx);
  auto exts = w.begin_prefixed(2);
  put_u16_list_ext(w, ExtensionType::kSignatureAlgorithms, p.signature_algorithms, 2);
  if (!p.certificate_authorities.empty()) {
    w.put_u16(code(ExtensionType::kCertificateAuthorities));
    auto ext = w.begin_prefixed(2);
    auto list = w.begin_prefixed(2);
    for (const std::vector<uint8_t>& dn : p.certificate_authorities) {
      if (dn.empty() || dn.size() > 0xffff) {
        return fail(Error::kInternalError);
      }
      auto d = w.begin_prefixed(2);
      w.put_bytes(dn);
      w.end_prefixed(d);
    }
    w.end_prefixed(list);
    w.end_prefixed(ext);
  }
  w.end_prefixed(exts);
  w.end_prefixed(msg);
  return done(w);
}

Result<CertificateRequestMsg, Error> parse_certificate_request(
    std::span<const uint8_t> body) noexcept {
  CertificateRequestMsg m;
  ByteReader r(body);
  ByteReader ctx, exts;
  if (!r.read_u8_prefixed(&ctx) || !r.read_u16_prefixed(&exts) || !r.empty()) {
    return fail(Error::kDecodeError);
  }
  m.request_context = ctx.rest();
  auto ok =
      walk_extensions(exts.rest(), ExtMessage::kCertificateRequest,
                      [&](const RawExtension& e) -> Result<void, Error> {
                        switch (static_cast<ExtensionType>(e.type)) {
                          case ExtensionType::kSignatureAlgorithms:
                          case ExtensionType::kSignatureAlgorithmsCert: {
                            auto l = parse_u16_list(e.data, 2);
                            if (!l) {
                              return fail(l.error());
                            }
                            (e.type == code(ExtensionType::kSignatureAlgorithms)
                                 ? m.signature_algorithms
                                 : m.signature_algorithms_cert) = *l;
                            return {};
                          }
                          case ExtensionType::kCertificateAuthorities: {
                            ByteReader d(e.data);
                            ByteReader list;
                            if (!d.read_u16_prefixed(&list) || list.remaining() < 3 || !d.empty()) {
                              return fail(Error::kDecodeError);
                            }
                            m.certificate_authorities = list.rest();
                            while (!list.empty()) {
                              ByteReader dn;
                              if (!list.read_u16_prefixed(&dn) || dn.empty()) {
                                return fail(Error::kDecodeError);
                              }
                              m.num_authorities++;
                            }
                            return {};
                          }
                          default:
                            return {};
                        }
                      });
  if (!ok) {
    return fail(ok.error());
  }
  if (m.signature_algorithms.empty()) {
    return fail(Error::kMissingExtension);
  }
  return m;
}

CertificateVerifyContent certificate_verify_content(
    bool server, std::span<const uint8_t> transcript_hash) noexcept {
  // §4.4.3: "The digital signature is then computed over the concatenation of:
  //  - A string that consists of octet 32 (0x20) repeated 64 times
  //  - The context string
  //  - A single 0 byte which serves as the separator
  //  - The content to be signed"
  static constexpr char kServer[] = "TLS 1.3, server CertificateVerify";
  static constexpr char kClient[] = "TLS 1.3, client CertificateVerify";
  CertificateVerifyContent c;
  std::memset(c.bytes, 0x20, 64);
  const char* ctx = server ? kServer : kClient;
  std::memcpy(c.bytes + 64, ctx, sizeof(kServer));  // includes the terminating 0x00
  const size_t n = std::min(transcript_hash.size(), crypto::kMaxHashLen);
  std::memcpy(c.bytes + 64 + sizeof(kServer), transcript_hash.data(), n);
  c.len = 64 + sizeof(kServer) + n;
  return c;
}

Result<void, Error> write_certificate_verify(ByteWriter& w, uint16_t scheme,
                                             std::span<const uint8_t> signature) noexcept {
  w.put_u8(static_cast<uint8_t>(HandshakeType::kCertificateVerify));
  auto msg = w.begin_prefixed(3);
  w.put_u16(scheme);
  auto sig = w.begin_prefixed(2);
  w.put_bytes(signature);
  w.end_prefixed(sig);
  w.end_prefixed(msg);
  return done(w);
}

Result<CertificateVerifyMsg, Error> parse_certificate_verify(
    std::span<const uint8_t> body) noexcept {
  CertificateVerifyMsg m;
  ByteReader r(body);
  ByteReader sig;
  if (!r.read_u16(&m.scheme) || !r.read_u16_prefixed(&sig) || !r.empty()) {
    return fail(Error::kDecodeError);
  }
  m.signature = sig.rest();
  return m;
}

Result<void, Error> write_finished(ByteWriter& w, std::span<const uint8_t> verify_data) noexcept {
  w.put_u8(static_cast<uint8_t>(HandshakeType::kFinished));
  auto msg = w.begin_prefixed(3);
  w.put_bytes(verify_data);
  w.end_prefixed(msg);
  return done(w);
}

Result<std::span<const uint8_t>, Error> parse_finished(std::span<const uint8_t> body,
                                                       crypto::HashAlgo algo) noexcept {
  if (body.size() != crypto::hash_len(algo)) {
    return fail(Error::kDecodeError);
  }
  return body;
}

Result<void, Error> write_new_session_ticket(ByteWriter& w, const NewSessionTicketMsg& m) noexcept {
  w.put_u8(static_cast<uint8_t>(HandshakeType::kNewSessionTicket));
  auto msg = w.begin_prefixed(3);
  w.put_u32(m.ticket_lifetime);
  w.put_u32(m.ticket_age_add);
  auto nonce = w.begin_prefixed(1);
  w.put_bytes(m.ticket_nonce);
  w.end_prefixed(nonce);
  auto ticket = w.begin_prefixed(2);
  w.put_bytes(m.ticket);
  w.end_prefixed(ticket);
  auto exts = w.begin_prefixed(2);
  if (m.max_early_data_size) {
    w.put_u16(code(ExtensionType::kEarlyData));
    w.put_u16(4);
    w.put_u32(*m.max_early_data_size);
  }
  w.end_prefixed(exts);
  w.end_prefixed(msg);
  if (m.ticket.empty() || m.ticket_lifetime > kMaxTicketLifetime) {
    return fail(Error::kInternalError);
  }
  return done(w);
}

Result<NewSessionTicketMsg, Error> parse_new_session_ticket(
    std::span<const uint8_t> body) noexcept {
  NewSessionTicketMsg m;
  ByteReader r(body);
  ByteReader nonce, ticket, exts;
  if (!r.read_u32(&m.ticket_lifetime) || !r.read_u32(&m.ticket_age_add) ||
      !r.read_u8_prefixed(&nonce) || !r.read_u16_prefixed(&ticket) || ticket.empty() ||
      !r.read_u16_prefixed(&exts) || !r.empty()) {
    return fail(Error::kDecodeError);
  }
  if (m.ticket_lifetime > kMaxTicketLifetime) {
    return fail(Error::kIllegalParameter);
  }
  m.ticket_nonce = nonce.rest();
  m.ticket = ticket.rest();
  auto ok = walk_extensions(exts.rest(), ExtMessage::kNewSessionTicket,
                            [&](const RawExtension& e) -> Result<void, Error> {
                              if (e.type == code(ExtensionType::kEarlyData)) {
                                ByteReader d(e.data);
                                uint32_t v = 0;
                                if (!d.read_u32(&v) || !d.empty()) {
                                  return fail(Error::kDecodeError);
                                }
                                m.max_early_data_size = v;
                              }
                              return {};
                            });
  if (!ok) {
    return fail(ok.error());
  }
  return m;
}

Result<void, Error> write_key_update(ByteWriter& w, KeyUpdateRequest req) noexcept {
  w.put_u8(static_cast<uint8_t>(HandshakeType::kKeyUpdate));
  w.put_u24(1);
  w.put_u8(static_cast<uint8_t>(req));
  return done(w);
}

Result<KeyUpdateRequest, Error> parse_key_update(std::span<const uint8_t> body) noexcept {
  if (body.size() != 1) {
    return fail(Error::kDecodeError);
  }
  if (body[0] > 1) {
    return fail(Error::kIllegalParameter);
  }
  return static_cast<KeyUpdateRequest>(body[0]);
}

}  // namespace linetls::tls
