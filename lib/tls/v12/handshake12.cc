#include "lib/tls/v12/handshake12.h"

#include "lib/tls/extensions.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/hello.h"

namespace linetls::tls::v12 {

Certificate12 Certificate12::from(const crypto::CertifiedKey& key) {
  Certificate12 c;
  for (const crypto::Certificate& cert : key.chain()) {
    c.chain.push_back(cert.der());
  }
  c.key = &key.key();
  for (const std::string& san : key.leaf().subject_alt_names()) {
    if (san.starts_with("DNS:")) {
      c.names.push_back(san.substr(4));
    }
  }
  return c;
}

bool key_serves(crypto::KeyType type, AuthKind auth) noexcept {
  switch (type) {
    case crypto::KeyType::kEcdsaP256:
    case crypto::KeyType::kEcdsaP384:
      return auth == AuthKind::kEcdsa;
    case crypto::KeyType::kRsa:
      return auth == AuthKind::kRsa;
    case crypto::KeyType::kEd25519:
      // RFC 8422 §5.1.3: Ed25519 certificates serve ECDHE_ECDSA suites with the ed25519
      // SignatureScheme.
      return auth == AuthKind::kEcdsa;
  }
  return false;
}

std::vector<uint16_t> u16_values(std::span<const uint8_t> list) {
  std::vector<uint16_t> out(list.size() / 2);
  for (size_t i = 0; i < out.size(); i++) {
    out[i] = static_cast<uint16_t>(list[2 * i] << 8 | list[2 * i + 1]);
  }
  return out;
}

Result<void, Error> write_client_hello12(ByteWriter& w, const ClientHelloParams12& p) noexcept {
  if (p.random.size() != kRandomLen || p.session_id.size() > kMaxSessionIdLen) {
    return fail(Error::kInternalError);
  }
  auto code = [](ExtensionType t) { return static_cast<uint16_t>(t); };
  w.put_u8(static_cast<uint8_t>(HandshakeType::kClientHello));
  auto msg = w.begin_prefixed(3);
  w.put_u16(p.legacy_version);
  w.put_bytes(p.random);
  auto sid = w.begin_prefixed(1);
  w.put_bytes(p.session_id);
  w.end_prefixed(sid);
  auto suites = w.begin_prefixed(2);
  for (uint16_t s : p.cipher_suites) {
    w.put_u16(s);
  }
  w.end_prefixed(suites);
  auto cms = w.begin_prefixed(1);
  if (p.compression_methods.empty()) {
    w.put_u8(0);
  } else {
    w.put_bytes(p.compression_methods);
  }
  w.end_prefixed(cms);
  auto exts = w.begin_prefixed(2);
  if (!p.server_name.empty()) {
    w.put_u16(code(ExtensionType::kServerName));
    auto ext = w.begin_prefixed(2);
    auto list = w.begin_prefixed(2);
    w.put_u8(0);  // host_name
    auto name = w.begin_prefixed(2);
    w.put_bytes(p.server_name);
    w.end_prefixed(name);
    w.end_prefixed(list);
    w.end_prefixed(ext);
  }
  auto u16_ext = [&](ExtensionType t, std::span<const uint16_t> values) {
    w.put_u16(code(t));
    auto ext = w.begin_prefixed(2);
    auto list = w.begin_prefixed(2);
    for (uint16_t v : values) {
      w.put_u16(v);
    }
    w.end_prefixed(list);
    w.end_prefixed(ext);
  };
  if (!p.supported_groups.empty()) {
    u16_ext(ExtensionType::kSupportedGroups, p.supported_groups);
  }
  if (p.ec_point_formats) {
    w.put_u16(code(ExtensionType::kEcPointFormats));
    w.put_u16(2);
    w.put_u8(1);
    w.put_u8(0);
  }
  if (!p.signature_algorithms.empty()) {
    u16_ext(ExtensionType::kSignatureAlgorithms, p.signature_algorithms);
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
  if (p.session_ticket) {
    w.put_u16(code(ExtensionType::kSessionTicket));
    auto ext = w.begin_prefixed(2);
    w.put_bytes(p.ticket);
    w.end_prefixed(ext);
  }
  if (p.extended_master_secret) {
    w.put_u16(code(ExtensionType::kExtendedMasterSecret));
    w.put_u16(0);
  }
  if (p.renegotiation_info) {
    w.put_u16(code(ExtensionType::kRenegotiationInfo));
    auto ext = w.begin_prefixed(2);
    auto rc = w.begin_prefixed(1);
    w.put_bytes(p.renegotiated_connection);
    w.end_prefixed(rc);
    w.end_prefixed(ext);
  }
  w.end_prefixed(exts);
  w.end_prefixed(msg);
  if (!w.ok()) {
    return fail(Error::kInternalError);
  }
  return {};
}

}  // namespace linetls::tls::v12
