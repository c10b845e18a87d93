#include "lib/tls/v12/messages12.h"

#include <algorithm>
#include <cstring>

#include "lib/tls/handshake_msg.h"

namespace linetls::tls::v12 {

namespace {

uint16_t code(ExtensionType t) noexcept { return static_cast<uint16_t>(t); }

Result<void, Error> done(const ByteWriter& w) noexcept {
  if (!w.ok()) {
    return fail(Error::kInternalError);
  }
  return {};
}

ByteWriter::Prefix begin_message(ByteWriter& w, HandshakeType type) noexcept {
  w.put_u8(static_cast<uint8_t>(type));
  return w.begin_prefixed(3);
}

void put_empty_ext(ByteWriter& w, ExtensionType t) noexcept {
  w.put_u16(code(t));
  w.put_u16(0);
}

// RFC 7301 §3.1: "The "extension_data" field of the [server's] extension ... MUST contain
// exactly one "ProtocolName"".
Result<std::span<const uint8_t>, Error> parse_one_alpn(std::span<const uint8_t> d) noexcept {
  auto list = parse_alpn(d);
  if (!list) {
    return fail(list.error());
  }
  ByteReader r(*list);
  ByteReader name;
  if (!r.read_u8_prefixed(&name) || !r.empty()) {
    return fail(Error::kDecodeError);
  }
  return name.rest();
}

Result<void, Error> parse_server_hello_extension(const RawExtension& e, ServerHello* sh) noexcept {
  switch (static_cast<ExtensionType>(e.type)) {
    case ExtensionType::kRenegotiationInfo: {
      // RFC 5746 §3.2: opaque renegotiated_connection<0..255>.
      ByteReader r(e.data);
      ByteReader rc;
      if (!r.read_u8_prefixed(&rc) || !r.empty()) {
        return fail(Error::kDecodeError);
      }
      sh->renegotiation_info = true;
      sh->renegotiated_connection = rc.rest();
      return {};
    }
    case ExtensionType::kExtendedMasterSecret:
      // RFC 7627 §5.1: "The "extension_data" field of this extension is empty."
      sh->extended_master_secret = true;
      return parse_empty(e.data);
    case ExtensionType::kEcPointFormats: {
      // RFC 8422 §5.1.2: ECPointFormat ec_point_format_list<1..2^8-1>; uncompressed (0) MUST
      // be supported.
      ByteReader r(e.data);
      ByteReader list;
      if (!r.read_u8_prefixed(&list) || !r.empty() || list.empty()) {
        return fail(Error::kDecodeError);
      }
      const auto formats = list.rest();
      if (std::find(formats.begin(), formats.end(), uint8_t{0}) == formats.end()) {
        return fail(Error::kIllegalParameter);
      }
      sh->ec_point_formats = true;
      return {};
    }
    case ExtensionType::kAlpn: {
      auto name = parse_one_alpn(e.data);
      if (!name) {
        return fail(name.error());
      }
      sh->alpn_protocol = *name;
      return {};
    }
    case ExtensionType::kSessionTicket:
      // RFC 5077 §3.2: "the server ... sends an empty SessionTicket extension".
      sh->session_ticket = true;
      return parse_empty(e.data);
    case ExtensionType::kServerName:
      // RFC 6066 §3: "the "extension_data" field of this extension SHALL be empty".
      sh->server_name_ack = true;
      return parse_empty(e.data);
    case ExtensionType::kRecordSizeLimit: {
      auto limit = parse_record_size_limit(e.data);
      if (!limit) {
        return fail(limit.error());
      }
      sh->record_size_limit = *limit;
      return {};
    }
    default:
      // The table lets nothing else into a 1.2 ServerHello; reaching here means the table
      // and this switch disagree.
      return fail(Error::kInternalError);
  }
}

}  // namespace

// ---- Downgrade protection ----

void set_downgrade_sentinel(std::span<uint8_t> server_random) noexcept {
  std::memcpy(server_random.data() + kRandomLen - 8, kDowngradeSentinelTls12, 8);
}

bool has_downgrade_sentinel(std::span<const uint8_t> server_random) noexcept {
  if (server_random.size() != kRandomLen) {
    return false;
  }
  const uint8_t* tail = server_random.data() + kRandomLen - 8;
  return std::memcmp(tail, kDowngradeSentinelTls12, 8) == 0 ||
         std::memcmp(tail, kDowngradeSentinelTls11, 8) == 0;
}

// ---- ServerHello ----

Result<void, Error> write_server_hello(ByteWriter& w, const ServerHelloParams& p) noexcept {
  if (p.random.size() != kRandomLen || p.session_id.size() > kMaxSessionIdLen ||
      p.renegotiated_connection.size() > 255 || p.alpn_protocol.size() > 255) {
    return fail(Error::kInternalError);
  }
  auto msg = begin_message(w, HandshakeType::kServerHello);
  w.put_u16(kTls12);
  w.put_bytes(p.random);
  auto sid = w.begin_prefixed(1);
  w.put_bytes(p.session_id);
  w.end_prefixed(sid);
  w.put_u16(static_cast<uint16_t>(p.cipher_suite));
  w.put_u8(0);  // CompressionMethod null
  const bool any = p.renegotiation_info || p.extended_master_secret || p.ec_point_formats ||
                   !p.alpn_protocol.empty() || p.session_ticket || p.server_name_ack ||
                   p.record_size_limit != 0;
  if (any) {
    auto exts = w.begin_prefixed(2);
    if (p.renegotiation_info) {
      w.put_u16(code(ExtensionType::kRenegotiationInfo));
      auto ext = w.begin_prefixed(2);
      auto rc = w.begin_prefixed(1);
      w.put_bytes(p.renegotiated_connection);
      w.end_prefixed(rc);
      w.end_prefixed(ext);
    }
    if (p.extended_master_secret) {
      put_empty_ext(w, ExtensionType::kExtendedMasterSecret);
    }
    if (p.ec_point_formats) {
      w.put_u16(code(ExtensionType::kEcPointFormats));
      w.put_u16(2);
      w.put_u8(1);
      w.put_u8(0);  // uncompressed
    }
    if (!p.alpn_protocol.empty()) {
      w.put_u16(code(ExtensionType::kAlpn));
      auto ext = w.begin_prefixed(2);
      auto list = w.begin_prefixed(2);
      auto name = w.begin_prefixed(1);
      w.put_bytes(p.alpn_protocol);
      w.end_prefixed(name);
      w.end_prefixed(list);
      w.end_prefixed(ext);
    }
    if (p.session_ticket) {
      put_empty_ext(w, ExtensionType::kSessionTicket);
    }
    if (p.server_name_ack) {
      put_empty_ext(w, ExtensionType::kServerName);
    }
    if (p.record_size_limit != 0) {
      w.put_u16(code(ExtensionType::kRecordSizeLimit));
      w.put_u16(2);
      w.put_u16(p.record_size_limit);
    }
    w.end_prefixed(exts);
  }
  w.end_prefixed(msg);
  return done(w);
}

Result<ServerHello, Error> parse_server_hello(std::span<const uint8_t> body) noexcept {
  ServerHello sh;
  ByteReader r(body);
  uint16_t version = 0;
  ByteReader sid;
  uint8_t compression = 0;
  if (!r.read_u16(&version) || !r.read_bytes(kRandomLen, &sh.random) ||
      !r.read_u8_prefixed(&sid) || !r.read_u16(&sh.cipher_suite) || !r.read_u8(&compression)) {
    return fail(Error::kDecodeError);
  }
  // SessionID session_id<0..32>.
  if (sid.remaining() > kMaxSessionIdLen) {
    return fail(Error::kDecodeError);
  }
  sh.session_id = sid.rest();
  if (version != kTls12) {
    return fail(Error::kProtocolVersion);
  }
  if (compression != 0) {
    return fail(Error::kIllegalParameter);
  }
  // §7.4.1.3: the extensions block is present only if extensions are; when present it must
  // fill the rest of the message exactly.
  if (r.empty()) {
    return sh;
  }
  ByteReader exts;
  if (!r.read_u16_prefixed(&exts) || !r.empty()) {
    return fail(Error::kDecodeError);
  }
  auto ok = walk_extensions(exts.rest(), ExtMessage::kServerHello12,
                            [&sh](const RawExtension& e) -> Result<void, Error> {
                              return parse_server_hello_extension(e, &sh);
                            });
  if (!ok) {
    return fail(ok.error());
  }
  return sh;
}

// ---- Certificate ----

Result<void, Error> write_certificate(ByteWriter& w,
                                      std::span<const std::span<const uint8_t>> chain) noexcept {
  auto msg = begin_message(w, HandshakeType::kCertificate);
  auto list = w.begin_prefixed(3);
  for (auto der : chain) {
    if (der.empty()) {
      return fail(Error::kInternalError);
    }
    auto d = w.begin_prefixed(3);
    w.put_bytes(der);
    w.end_prefixed(d);
  }
  w.end_prefixed(list);
  w.end_prefixed(msg);
  return done(w);
}

Result<CertificateList, Error> parse_certificate(std::span<const uint8_t> body) noexcept {
  CertificateList c;
  ByteReader r(body);
  ByteReader list;
  if (!r.read_u24_prefixed(&list) || !r.empty()) {
    return fail(Error::kDecodeError);
  }
  while (!list.empty()) {
    ByteReader der;
    if (!list.read_u24_prefixed(&der) || der.empty()) {
      return fail(Error::kDecodeError);
    }
    if (c.num_certs == kMaxCertificates) {
      return fail(Error::kTooManyListEntries);
    }
    c.certs[c.num_certs++] = der.rest();
  }
  return c;
}

// ---- ServerKeyExchange ----

Result<SignedParams, Error> server_key_exchange_signed_content(
    std::span<const uint8_t> client_random, std::span<const uint8_t> server_random,
    uint16_t group, std::span<const uint8_t> point) noexcept {
  if (client_random.size() != kRandomLen || server_random.size() != kRandomLen ||
      point.empty() || point.size() > crypto::kMaxPublicKeyLen) {
    return fail(Error::kInternalError);
  }
  SignedParams sp;
  ByteWriter w({sp.bytes, kMaxSignedParamsLen});
  w.put_bytes(client_random);
  w.put_bytes(server_random);
  w.put_u8(kNamedCurve);
  w.put_u16(group);
  auto pt = w.begin_prefixed(1);
  w.put_bytes(point);
  w.end_prefixed(pt);
  if (!w.ok()) {
    return fail(Error::kInternalError);
  }
  sp.len = w.size();
  return sp;
}

Result<void, Error> write_server_key_exchange(ByteWriter& w, uint16_t group,
                                              std::span<const uint8_t> point, uint16_t scheme,
                                              std::span<const uint8_t> signature) noexcept {
  if (point.empty() || point.size() > 255) {
    return fail(Error::kInternalError);
  }
  auto msg = begin_message(w, HandshakeType::kServerKeyExchange);
  w.put_u8(kNamedCurve);
  w.put_u16(group);
  auto pt = w.begin_prefixed(1);
  w.put_bytes(point);
  w.end_prefixed(pt);
  w.put_u16(scheme);
  auto sig = w.begin_prefixed(2);
  w.put_bytes(signature);
  w.end_prefixed(sig);
  w.end_prefixed(msg);
  return done(w);
}

Result<ServerKeyExchange, Error> parse_server_key_exchange(std::span<const uint8_t> body) noexcept {
  ServerKeyExchange ske;
  ByteReader r(body);
  uint8_t curve_type = 0;
  if (!r.read_u8(&curve_type)) {
    return fail(Error::kDecodeError);
  }
  // RFC 8422 §5.4: explicit_prime and explicit_char2 "are deprecated"; only named_curve.
  if (curve_type != kNamedCurve) {
    return fail(Error::kIllegalParameter);
  }
  ByteReader point, sig;
  if (!r.read_u16(&ske.group) || !r.read_u8_prefixed(&point) || point.empty()) {
    return fail(Error::kDecodeError);
  }
  ske.point = point.rest();
  ske.params = body.first(body.size() - r.remaining());
  if (!r.read_u16(&ske.scheme) || !r.read_u16_prefixed(&sig) || !r.empty()) {
    return fail(Error::kDecodeError);
  }
  ske.signature = sig.rest();
  return ske;
}

// ---- CertificateRequest ----

Result<void, Error> write_certificate_request(ByteWriter& w,
                                              const CertificateRequestParams& p) noexcept {
  if (p.certificate_types.empty() || p.signature_algorithms.empty()) {
    return fail(Error::kInternalError);
  }
  auto msg = begin_message(w, HandshakeType::kCertificateRequest);
  auto types = w.begin_prefixed(1);
  w.put_bytes(p.certificate_types);
  w.end_prefixed(types);
  auto algs = w.begin_prefixed(2);
  for (uint16_t a : p.signature_algorithms) {
    w.put_u16(a);
  }
  w.end_prefixed(algs);
  auto cas = w.begin_prefixed(2);
  for (auto dn : p.certificate_authorities) {
    if (dn.empty()) {
      return fail(Error::kInternalError);
    }
    auto d = w.begin_prefixed(2);
    w.put_bytes(dn);
    w.end_prefixed(d);
  }
  w.end_prefixed(cas);
  w.end_prefixed(msg);
  return done(w);
}

Result<CertificateRequest, Error> parse_certificate_request(std::span<const uint8_t> body) noexcept {
  CertificateRequest cr;
  ByteReader r(body);
  ByteReader types, algs, cas;
  if (!r.read_u8_prefixed(&types) || types.empty() || !r.read_u16_prefixed(&algs) ||
      algs.empty() || algs.remaining() % 2 != 0 || !r.read_u16_prefixed(&cas) || !r.empty()) {
    return fail(Error::kDecodeError);
  }
  cr.certificate_types = types.rest();
  cr.signature_algorithms = algs.rest();
  cr.certificate_authorities = cas.rest();
  while (!cas.empty()) {
    ByteReader dn;
    if (!cas.read_u16_prefixed(&dn) || dn.empty()) {
      return fail(Error::kDecodeError);
    }
    cr.num_authorities++;
  }
  return cr;
}

// ---- ServerHelloDone, HelloRequest ----

Result<void, Error> write_server_hello_done(ByteWriter& w) noexcept {
  auto msg = begin_message(w, HandshakeType::kServerHelloDone);
  w.end_prefixed(msg);
  return done(w);
}

Result<void, Error> parse_server_hello_done(std::span<const uint8_t> body) noexcept {
  if (!body.empty()) {
    return fail(Error::kDecodeError);
  }
  return {};
}

Result<void, Error> parse_hello_request(std::span<const uint8_t> body) noexcept {
  return parse_server_hello_done(body);  // struct { } HelloRequest; likewise
}

// ---- ClientKeyExchange ----

Result<void, Error> write_client_key_exchange(ByteWriter& w,
                                              std::span<const uint8_t> point) noexcept {
  if (point.empty() || point.size() > 255) {
    return fail(Error::kInternalError);
  }
  auto msg = begin_message(w, HandshakeType::kClientKeyExchange);
  auto pt = w.begin_prefixed(1);
  w.put_bytes(point);
  w.end_prefixed(pt);
  w.end_prefixed(msg);
  return done(w);
}

Result<std::span<const uint8_t>, Error> parse_client_key_exchange(
    std::span<const uint8_t> body) noexcept {
  ByteReader r(body);
  ByteReader point;
  if (!r.read_u8_prefixed(&point) || point.empty() || !r.empty()) {
    return fail(Error::kDecodeError);
  }
  return point.rest();
}

// ---- CertificateVerify ----

Result<void, Error> write_certificate_verify(ByteWriter& w, uint16_t scheme,
                                             std::span<const uint8_t> signature) noexcept {
  auto msg = begin_message(w, HandshakeType::kCertificateVerify);
  w.put_u16(scheme);
  auto sig = w.begin_prefixed(2);
  w.put_bytes(signature);
  w.end_prefixed(sig);
  w.end_prefixed(msg);
  return done(w);
}

Result<CertificateVerify, Error> parse_certificate_verify(std::span<const uint8_t> body) noexcept {
  CertificateVerify cv;
  ByteReader r(body);
  ByteReader sig;
  if (!r.read_u16(&cv.scheme) || !r.read_u16_prefixed(&sig) || !r.empty()) {
    return fail(Error::kDecodeError);
  }
  cv.signature = sig.rest();
  return cv;
}

// ---- Finished ----

Result<void, Error> write_finished(ByteWriter& w, const VerifyData& verify_data) noexcept {
  auto msg = begin_message(w, HandshakeType::kFinished);
  w.put_bytes(verify_data.view());
  w.end_prefixed(msg);
  return done(w);
}

Result<std::span<const uint8_t>, Error> parse_finished(std::span<const uint8_t> body) noexcept {
  if (body.size() != kVerifyDataLen) {
    return fail(Error::kDecodeError);
  }
  return body;
}

// ---- NewSessionTicket ----

Result<void, Error> write_new_session_ticket(ByteWriter& w, const NewSessionTicket& t) noexcept {
  auto msg = begin_message(w, HandshakeType::kNewSessionTicket);
  w.put_u32(t.lifetime_hint);
  auto ticket = w.begin_prefixed(2);
  w.put_bytes(t.ticket);
  w.end_prefixed(ticket);
  w.end_prefixed(msg);
  return done(w);
}

Result<NewSessionTicket, Error> parse_new_session_ticket(std::span<const uint8_t> body) noexcept {
  NewSessionTicket t;
  ByteReader r(body);
  ByteReader ticket;
  if (!r.read_u32(&t.lifetime_hint) || !r.read_u16_prefixed(&ticket) || !r.empty()) {
    return fail(Error::kDecodeError);
  }
  t.ticket = ticket.rest();
  return t;
}

// ---- ChangeCipherSpec ----

Result<void, Error> parse_change_cipher_spec(std::span<const uint8_t> fragment) noexcept {
  // §7.1: struct { enum { change_cipher_spec(1), (255) } type; } ChangeCipherSpec;
  if (fragment.size() != 1 || fragment[0] != 1) {
    return fail(Error::kBadChangeCipherSpec);
  }
  return {};
}

}  // namespace linetls::tls::v12
