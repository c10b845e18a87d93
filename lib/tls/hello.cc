#include "lib/tls/hello.h"

#include <algorithm>

namespace linetls::tls {

const uint8_t kHelloRetryRequestRandom[kRandomLen] = {
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c};

namespace {

uint16_t ext_code(ExtensionType t) { return static_cast<uint16_t>(t); }

// §4.2.8 KeyShareClientHello: KeyShareEntry client_shares<0..2^16-1>, each
// NamedGroup group + opaque key_exchange<1..2^16-1>.
Result<void, Error> parse_key_shares(std::span<const uint8_t> d, ClientHello* ch) noexcept {
  ByteReader r(d);
  ByteReader list;
  if (!r.read_u16_prefixed(&list) || !r.empty()) {
    return fail(Error::kDecodeError);
  }
  while (!list.empty()) {
    KeyShareEntry e;
    ByteReader key;
    if (!list.read_u16(&e.group) || !list.read_u16_prefixed(&key) || key.empty()) {
      return fail(Error::kDecodeError);
    }
    if (ch->num_key_shares == kMaxKeyShares) {
      return fail(Error::kTooManyListEntries);
    }
    // §4.2.8: "Clients MUST NOT offer multiple KeyShareEntry values for the same group."
    for (size_t i = 0; i < ch->num_key_shares; i++) {
      if (ch->key_shares[i].group == e.group) {
        return fail(Error::kDuplicateKeyShare);
      }
    }
    e.key_exchange = key.rest();
    ch->key_shares[ch->num_key_shares++] = e;
  }
  return {};
}

// §4.2.11 OfferedPsks: PskIdentity identities<7..2^16-1>; PskBinderEntry binders<33..2^16-1>.
Result<void, Error> parse_pre_shared_key(std::span<const uint8_t> d, std::span<const uint8_t> body,
                                         ClientHello* ch) noexcept {
  ByteReader r(d);
  ByteReader ids;
  if (!r.read_u16_prefixed(&ids) || ids.remaining() < 7) {
    return fail(Error::kDecodeError);
  }
  const size_t binders_at = static_cast<size_t>(r.rest().data() - body.data());
  ByteReader binders;
  if (!r.read_u16_prefixed(&binders) || !r.empty() || binders.remaining() < 33) {
    return fail(Error::kDecodeError);
  }
  while (!ids.empty()) {
    PskIdentity p;
    ByteReader id;
    if (!ids.read_u16_prefixed(&id) || id.empty() || !ids.read_u32(&p.obfuscated_ticket_age)) {
      return fail(Error::kDecodeError);
    }
    if (ch->num_psks == kMaxPskIdentities) {
      return fail(Error::kTooManyListEntries);
    }
    p.identity = id.rest();
    ch->psks[ch->num_psks++] = p;
  }
  size_t num_binders = 0;
  while (!binders.empty()) {
    ByteReader b;
    // PskBinderEntry opaque<32..255>.
    if (!binders.read_u8_prefixed(&b) || b.remaining() < 32) {
      return fail(Error::kDecodeError);
    }
    if (num_binders < ch->num_psks) {
      ch->psks[num_binders].binder = b.rest();
    }
    num_binders++;
  }
  if (num_binders != ch->num_psks) {
    return fail(Error::kPskBinderCountMismatch);
  }
  ch->binders_offset = binders_at;
  return {};
}

Result<void, Error> parse_one(const RawExtension& e, std::span<const uint8_t> body,
                              ClientHello* ch) noexcept {
  auto take = [](auto r, std::span<const uint8_t>* out) -> Result<void, Error> {
    if (!r) {
      return fail(r.error());
    }
    *out = *r;
    return {};
  };
  switch (static_cast<ExtensionType>(e.type)) {
    case ExtensionType::kServerName:
      return take(parse_server_name(e.data), &ch->server_name);
    case ExtensionType::kSupportedVersions:
      // §4.2.1: ProtocolVersion versions<2..254>.
      return take(parse_u16_list(e.data, 1), &ch->supported_versions);
    case ExtensionType::kSupportedGroups:
      return take(parse_u16_list(e.data, 2), &ch->supported_groups);
    case ExtensionType::kSignatureAlgorithms:
      return take(parse_u16_list(e.data, 2), &ch->signature_algorithms);
    case ExtensionType::kSignatureAlgorithmsCert:
      return take(parse_u16_list(e.data, 2), &ch->signature_algorithms_cert);
    case ExtensionType::kAlpn:
      return take(parse_alpn(e.data), &ch->alpn);
    case ExtensionType::kPskKeyExchangeModes:
      return take(parse_psk_modes(e.data), &ch->psk_modes);
    case ExtensionType::kCookie:
      return take(parse_cookie(e.data), &ch->cookie);
    case ExtensionType::kKeyShare:
      return parse_key_shares(e.data, ch);
    case ExtensionType::kPreSharedKey:
      return parse_pre_shared_key(e.data, body, ch);
    case ExtensionType::kRecordSizeLimit: {
      auto l = parse_record_size_limit(e.data);
      if (!l) {
        return fail(l.error());
      }
      ch->record_size_limit = *l;
      return {};
    }
    case ExtensionType::kEarlyData:
      ch->early_data = true;
      return parse_empty(e.data);
    // Known extensions whose bodies TLS 1.3 negotiation does not read here (TLS 1.2 ones
    // are parsed by the 1.2 machine from ClientHello::extensions).
    case ExtensionType::kMaxFragmentLength:
    case ExtensionType::kStatusRequest:
    case ExtensionType::kEcPointFormats:
    case ExtensionType::kUseSrtp:
    case ExtensionType::kHeartbeat:
    case ExtensionType::kSignedCertificateTimestamp:
    case ExtensionType::kClientCertificateType:
    case ExtensionType::kServerCertificateType:
    case ExtensionType::kPadding:
    case ExtensionType::kExtendedMasterSecret:
    case ExtensionType::kSessionTicket:
    case ExtensionType::kCertificateAuthorities:
    case ExtensionType::kOidFilters:
    case ExtensionType::kPostHandshakeAuth:
    case ExtensionType::kRenegotiationInfo:
      return {};
  }
  return {};
}

}  // namespace

Result<ClientHello, Error> parse_client_hello(std::span<const uint8_t> body) noexcept {
  ClientHello ch;
  ByteReader r(body);
  ByteReader sid, suites, comp;
  if (!r.read_u16(&ch.legacy_version) || !r.read_bytes(kRandomLen, &ch.random) ||
      !r.read_u8_prefixed(&sid) || !r.read_u16_prefixed(&suites) || !r.read_u8_prefixed(&comp)) {
    return fail(Error::kDecodeError);
  }
  // legacy_session_id<0..32>; cipher_suites<2..2^16-2>; legacy_compression_methods<1..2^8-1>.
  if (sid.remaining() > kMaxSessionIdLen || suites.empty() || suites.remaining() % 2 != 0 ||
      comp.empty()) {
    return fail(Error::kDecodeError);
  }
  ch.legacy_session_id = sid.rest();
  ch.cipher_suites = suites.rest();
  ch.legacy_compression_methods = comp.rest();
  // A TLS 1.2 ClientHello may end here; TLS 1.3 requires extensions (§9.2 below).
  if (!r.empty()) {
    ByteReader exts;
    if (!r.read_u16_prefixed(&exts) || !r.empty()) {
      return fail(Error::kDecodeError);
    }
    ch.extensions = exts.rest();
    auto ok = walk_extensions(ch.extensions, ExtMessage::kClientHello,
                              [&](const RawExtension& e) -> Result<void, Error> {
                                ch.present |= uint32_t{1} << extension_index(e.type);
                                return parse_one(e, body, &ch);
                              });
    if (!ok) {
      return fail(ok.error());
    }
  }
  // §4.1.2: "For every TLS 1.3 ClientHello, this vector MUST contain exactly one byte, set to
  // zero ... If a TLS 1.3 ClientHello is received with any other value in this field, the
  // server MUST abort the handshake with an illegal_parameter alert." RFC 5246 §7.4.1.2:
  // a TLS 1.2 one "MUST contain ... CompressionMethod.null".
  const auto& cm = ch.legacy_compression_methods;
  if (ch.offers_tls13() ? (cm.size() != 1 || cm[0] != 0)
                        : std::find(cm.begin(), cm.end(), uint8_t{0}) == cm.end()) {
    return fail(Error::kBadCompressionMethod);
  }
  // §4.2.8: "Each KeyShareEntry value MUST correspond to a group offered in the
  // supported_groups extension" (servers MAY check, with illegal_parameter).
  if (ch.has(ExtensionType::kSupportedGroups)) {
    for (size_t i = 0; i < ch.num_key_shares; i++) {
      if (!u16_list_contains(ch.supported_groups, ch.key_shares[i].group)) {
        return fail(Error::kKeyShareGroupNotOffered);
      }
    }
  }
  return ch;
}

Result<void, Error> check_tls13_client_hello(const ClientHello& ch) noexcept {
  // §9.2: "If containing a supported_groups extension, it MUST also contain a key_share
  // extension, and vice versa." "If not containing a pre_shared_key extension, it MUST
  // contain both a signature_algorithms extension and a supported_groups extension."
  // "Servers receiving a ClientHello which does not conform to these requirements MUST
  // abort the handshake with a missing_extension alert."
  const bool psk = ch.has(ExtensionType::kPreSharedKey);
  if (!ch.has(ExtensionType::kSupportedVersions) ||
      ch.has(ExtensionType::kSupportedGroups) != ch.has(ExtensionType::kKeyShare) ||
      (!psk && (!ch.has(ExtensionType::kSignatureAlgorithms) ||
                !ch.has(ExtensionType::kSupportedGroups))) ||
      (psk && !ch.has(ExtensionType::kPskKeyExchangeModes))) {
    return fail(Error::kMissingExtension);
  }
  return {};
}

namespace {

// Writes the ServerHello skeleton common to SH and HRR up to the extensions block; returns
// the prefixes to close.
struct Open {
  ByteWriter::Prefix msg;
  ByteWriter::Prefix exts;
};

Open begin_server_hello(ByteWriter& w, std::span<const uint8_t> random,
                        std::span<const uint8_t> session_id, CipherSuite suite) noexcept {
  w.put_u8(2);  // server_hello
  Open o;
  o.msg = w.begin_prefixed(3);
  w.put_u16(kTls12);  // legacy_version
  if (random.size() != kRandomLen || session_id.size() > kMaxSessionIdLen) {
    w.reserve(SIZE_MAX);  // sets the sticky error
  }
  w.put_bytes(random);
  auto sid = w.begin_prefixed(1);
  w.put_bytes(session_id);
  w.end_prefixed(sid);
  w.put_u16(static_cast<uint16_t>(suite));
  w.put_u8(0);  // legacy_compression_method
  o.exts = w.begin_prefixed(2);
  return o;
}

void put_supported_versions_13(ByteWriter& w) noexcept {
  w.put_u16(ext_code(ExtensionType::kSupportedVersions));
  w.put_u16(2);
  w.put_u16(kTls13);
}

Result<void, Error> finish(ByteWriter& w, const Open& o) noexcept {
  w.end_prefixed(o.exts);
  w.end_prefixed(o.msg);
  if (!w.ok()) {
    return fail(Error::kInternalError);
  }
  return {};
}

}  // namespace

Result<void, Error> write_server_hello(ByteWriter& w, const ServerHelloParams& p) noexcept {
  // §4.1.3: "Current ServerHello messages additionally contain either the "pre_shared_key"
  // extension or the "key_share" extension, or both".
  if (p.psk_ke && !p.selected_psk) {
    return fail(Error::kInternalError);
  }
  Open o = begin_server_hello(w, p.random, p.legacy_session_id_echo, p.cipher_suite);
  if (p.selected_psk) {
    // §4.2.11: uint16 selected_identity.
    w.put_u16(ext_code(ExtensionType::kPreSharedKey));
    w.put_u16(2);
    w.put_u16(*p.selected_psk);
  }
  if (!p.psk_ke) {
    // §4.2.8 KeyShareServerHello: KeyShareEntry server_share.
    w.put_u16(ext_code(ExtensionType::kKeyShare));
    auto ks = w.begin_prefixed(2);
    w.put_u16(p.key_share_group);
    auto key = w.begin_prefixed(2);
    w.put_bytes(p.key_share);
    w.end_prefixed(key);
    w.end_prefixed(ks);
  }
  put_supported_versions_13(w);
  return finish(w, o);
}

Result<void, Error> write_hello_retry_request(ByteWriter& w,
                                              const HelloRetryRequestParams& p) noexcept {
  Open o =
      begin_server_hello(w, kHelloRetryRequestRandom, p.legacy_session_id_echo, p.cipher_suite);
  // §4.2.8 KeyShareHelloRetryRequest: NamedGroup selected_group.
  w.put_u16(ext_code(ExtensionType::kKeyShare));
  w.put_u16(2);
  w.put_u16(p.selected_group);
  if (!p.cookie.empty()) {
    w.put_u16(ext_code(ExtensionType::kCookie));
    auto ext = w.begin_prefixed(2);
    auto c = w.begin_prefixed(2);
    w.put_bytes(p.cookie);
    w.end_prefixed(c);
    w.end_prefixed(ext);
  }
  put_supported_versions_13(w);
  return finish(w, o);
}

Result<void, Error> write_encrypted_extensions(ByteWriter& w,
                                               const EncryptedExtensionsParams& p) noexcept {
  w.put_u8(8);  // encrypted_extensions
  auto msg = w.begin_prefixed(3);
  auto exts = w.begin_prefixed(2);
  if (!p.supported_groups.empty()) {
    w.put_u16(ext_code(ExtensionType::kSupportedGroups));
    auto ext = w.begin_prefixed(2);
    auto list = w.begin_prefixed(2);
    for (uint16_t g : p.supported_groups) {
      w.put_u16(g);
    }
    w.end_prefixed(list);
    w.end_prefixed(ext);
  }
  if (p.record_size_limit) {
    w.put_u16(ext_code(ExtensionType::kRecordSizeLimit));
    w.put_u16(2);
    w.put_u16(*p.record_size_limit);
  }
  if (p.server_name_ack) {
    w.put_u16(ext_code(ExtensionType::kServerName));
    w.put_u16(0);
  }
  if (!p.alpn_protocol.empty()) {
    // RFC 7301 §3.1: the server's ProtocolNameList holds exactly one name.
    w.put_u16(ext_code(ExtensionType::kAlpn));
    auto ext = w.begin_prefixed(2);
    auto list = w.begin_prefixed(2);
    auto name = w.begin_prefixed(1);
    w.put_bytes(p.alpn_protocol);
    w.end_prefixed(name);
    w.end_prefixed(list);
    w.end_prefixed(ext);
  }
  if (p.early_data) {
    w.put_u16(ext_code(ExtensionType::kEarlyData));
    w.put_u16(0);
  }
  w.end_prefixed(exts);
  w.end_prefixed(msg);
  if (!w.ok()) {
    return fail(Error::kInternalError);
  }
  return {};
}

}  // namespace linetls::tls
