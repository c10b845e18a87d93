#include "lib/tls/extensions.h"

#include <algorithm>

namespace linetls::tls {

namespace {

constexpr uint8_t bit(ExtMessage m) { return static_cast<uint8_t>(1u << static_cast<uint8_t>(m)); }
constexpr uint8_t CH = bit(ExtMessage::kClientHello);
constexpr uint8_t SH = bit(ExtMessage::kServerHello);
constexpr uint8_t HRR = bit(ExtMessage::kHelloRetryRequest);
constexpr uint8_t EE = bit(ExtMessage::kEncryptedExtensions);
constexpr uint8_t CT = bit(ExtMessage::kCertificate);
constexpr uint8_t CR = bit(ExtMessage::kCertificateRequest);
constexpr uint8_t NST = bit(ExtMessage::kNewSessionTicket);
constexpr uint8_t SH12 = bit(ExtMessage::kServerHello12);

// RFC 8446 §4.2: "The table below indicates the messages where a given extension may
// appear". Rows in type order. SH12 marks what a TLS 1.2 ServerHello may answer (issue 6).
constexpr ExtensionInfo kTable[kNumKnownExtensions] = {
    {ExtensionType::kServerName, "server_name", CH | EE | SH12},
    {ExtensionType::kMaxFragmentLength, "max_fragment_length", CH | EE},
    {ExtensionType::kStatusRequest, "status_request", CH | CR | CT},
    {ExtensionType::kSupportedGroups, "supported_groups", CH | EE},
    {ExtensionType::kEcPointFormats, "ec_point_formats", CH | SH12},
    {ExtensionType::kSignatureAlgorithms, "signature_algorithms", CH | CR},
    {ExtensionType::kUseSrtp, "use_srtp", CH | EE},
    {ExtensionType::kHeartbeat, "heartbeat", CH | EE},
    {ExtensionType::kAlpn, "application_layer_protocol_negotiation", CH | EE | SH12},
    {ExtensionType::kSignedCertificateTimestamp, "signed_certificate_timestamp", CH | CR | CT},
    {ExtensionType::kClientCertificateType, "client_certificate_type", CH | EE},
    {ExtensionType::kServerCertificateType, "server_certificate_type", CH | EE},
    {ExtensionType::kPadding, "padding", CH},
    {ExtensionType::kExtendedMasterSecret, "extended_master_secret", CH | SH12},
    {ExtensionType::kRecordSizeLimit, "record_size_limit", CH | EE | SH12},
    {ExtensionType::kSessionTicket, "session_ticket", CH | SH12},
    {ExtensionType::kPreSharedKey, "pre_shared_key", CH | SH},
    {ExtensionType::kEarlyData, "early_data", CH | EE | NST},
    {ExtensionType::kSupportedVersions, "supported_versions", CH | SH | HRR},
    {ExtensionType::kCookie, "cookie", CH | HRR},
    {ExtensionType::kPskKeyExchangeModes, "psk_key_exchange_modes", CH},
    {ExtensionType::kCertificateAuthorities, "certificate_authorities", CH | CR},
    {ExtensionType::kOidFilters, "oid_filters", CR},
    {ExtensionType::kPostHandshakeAuth, "post_handshake_auth", CH},
    {ExtensionType::kSignatureAlgorithmsCert, "signature_algorithms_cert", CH | CR},
    {ExtensionType::kKeyShare, "key_share", CH | SH | HRR},
    {ExtensionType::kRenegotiationInfo, "renegotiation_info", CH | SH12},
};

}  // namespace

int extension_index(uint16_t type) noexcept {
  const auto* end = kTable + kNumKnownExtensions;
  const auto* it = std::lower_bound(kTable, end, type, [](const ExtensionInfo& e, uint16_t t) {
    return static_cast<uint16_t>(e.type) < t;
  });
  if (it == end || static_cast<uint16_t>(it->type) != type) {
    return -1;
  }
  return static_cast<int>(it - kTable);
}

const ExtensionInfo* find_extension(uint16_t type) noexcept {
  const int i = extension_index(type);
  return i < 0 ? nullptr : &kTable[i];
}

bool extension_allowed(uint16_t type, ExtMessage msg) noexcept {
  const ExtensionInfo* e = find_extension(type);
  return e != nullptr && (e->allowed & bit(msg)) != 0;
}

Result<void, Error> check_extension_block(std::span<const uint8_t> block, ExtMessage msg,
                                          RawExtension* out, size_t* out_num) noexcept {
  ByteReader r(block);
  uint16_t seen[kMaxExtensions];
  size_t num_seen = 0;
  size_t n = 0;
  bool psk_seen = false;
  while (!r.empty()) {
    uint16_t type = 0;
    ByteReader body;
    if (!r.read_u16(&type) || !r.read_u16_prefixed(&body)) {
      return fail(Error::kDecodeError);
    }
    if (num_seen == kMaxExtensions) {
      return fail(Error::kTooManyListEntries);
    }
    for (size_t i = 0; i < num_seen; i++) {
      if (seen[i] == type) {
        return fail(Error::kDuplicateExtension);
      }
    }
    seen[num_seen++] = type;
    // §4.2.11: "The "pre_shared_key" extension MUST be the last extension in the
    // ClientHello ... Servers MUST check that it is the last extension and otherwise fail
    // the handshake with an "illegal_parameter" alert."
    if (psk_seen) {
      return fail(Error::kPreSharedKeyNotLast);
    }
    if (msg == ExtMessage::kClientHello &&
        type == static_cast<uint16_t>(ExtensionType::kPreSharedKey)) {
      psk_seen = true;
    }
    if (find_extension(type) == nullptr) {
      // §4.1.2: "servers MUST ignore unrecognized extensions"; §4.3.2 (CertificateRequest):
      // "Clients MUST ignore unrecognized extensions."
      if (msg == ExtMessage::kClientHello || msg == ExtMessage::kCertificateRequest) {
        continue;
      }
      return fail(Error::kUnsolicitedExtension);
    }
    if (!extension_allowed(type, msg)) {
      return fail(Error::kMisplacedExtension);
    }
    out[n++] = RawExtension{type, body.rest()};
  }
  *out_num = n;
  return {};
}

namespace {

// RFC 6066 §3: "HostName" contains the fully qualified DNS hostname of the server ... The
// hostname is represented as a byte string using ASCII encoding without a trailing dot."
// Checked: printable ASCII without space or NUL, labels of 1..63 bytes (so no leading or
// trailing dot and no "..", RFC 1035 §2.3.4), at most 253 bytes in all. IP literals ("Literal
// IPv4 and IPv6 addresses are not permitted") are a client's MUST NOT that we do not police:
// such a name matches no certificate.
bool valid_host_name(std::span<const uint8_t> name) noexcept {
  if (name.size() > 253) {
    return false;
  }
  size_t label = 0;
  for (uint8_t c : name) {
    if (c == '.') {
      if (label == 0) {
        return false;
      }
      label = 0;
      continue;
    }
    if (c <= 0x20 || c >= 0x7f || ++label > 63) {
      return false;
    }
  }
  return label != 0;
}

}  // namespace

Result<std::span<const uint8_t>, Error> parse_server_name(std::span<const uint8_t> d) noexcept {
  // RFC 6066 §3: ServerName server_name_list<1..2^16-1>, each ServerName a NameType and,
  // for host_name(0), HostName opaque<1..2^16-1>. "For backward compatibility, all future
  // data structures associated with new NameTypes MUST begin with a 16-bit length field":
  // so every entry decodes, and entries of types we do not know are skipped.
  ByteReader r(d);
  ByteReader list;
  if (!r.read_u16_prefixed(&list) || !r.empty() || list.empty()) {
    return fail(Error::kDecodeError);
  }
  constexpr uint8_t kHostName = 0;
  std::span<const uint8_t> host;
  uint8_t seen[256 / 8] = {};
  while (!list.empty()) {
    uint8_t name_type = 0;
    ByteReader name;
    if (!list.read_u8(&name_type) || !list.read_u16_prefixed(&name)) {
      return fail(Error::kDecodeError);
    }
    // "The ServerNameList MUST NOT contain more than one name of the same name_type."
    const uint8_t bit = static_cast<uint8_t>(1u << (name_type % 8));
    if ((seen[name_type / 8] & bit) != 0) {
      return fail(Error::kBadServerName);
    }
    seen[name_type / 8] |= bit;
    if (name_type != kHostName) {
      continue;
    }
    if (name.empty()) {
      return fail(Error::kDecodeError);  // HostName<1..2^16-1>
    }
    if (!valid_host_name(name.rest())) {
      return fail(Error::kBadServerName);
    }
    host = name.rest();
  }
  return host;
}

Result<std::span<const uint8_t>, Error> parse_u16_list(std::span<const uint8_t> d,
                                                       size_t prefix_len) noexcept {
  ByteReader r(d);
  ByteReader list;
  if (!r.read_prefixed(prefix_len, &list) || !r.empty() || list.empty() ||
      list.remaining() % 2 != 0) {
    return fail(Error::kDecodeError);
  }
  return list.rest();
}

Result<std::span<const uint8_t>, Error> parse_alpn(std::span<const uint8_t> d) noexcept {
  ByteReader r(d);
  ByteReader list;
  if (!r.read_u16_prefixed(&list) || !r.empty() || list.empty()) {
    return fail(Error::kDecodeError);
  }
  ByteReader walk = list;
  while (!walk.empty()) {
    ByteReader name;
    if (!walk.read_u8_prefixed(&name) || name.empty()) {
      return fail(Error::kDecodeError);
    }
  }
  return list.rest();
}

Result<std::span<const uint8_t>, Error> parse_psk_modes(std::span<const uint8_t> d) noexcept {
  ByteReader r(d);
  ByteReader list;
  if (!r.read_u8_prefixed(&list) || !r.empty() || list.empty()) {
    return fail(Error::kDecodeError);
  }
  return list.rest();
}

Result<std::span<const uint8_t>, Error> parse_cookie(std::span<const uint8_t> d) noexcept {
  ByteReader r(d);
  ByteReader cookie;
  if (!r.read_u16_prefixed(&cookie) || !r.empty() || cookie.empty()) {
    return fail(Error::kDecodeError);
  }
  return cookie.rest();
}

Result<uint16_t, Error> parse_record_size_limit(std::span<const uint8_t> d) noexcept {
  ByteReader r(d);
  uint16_t limit = 0;
  if (!r.read_u16(&limit) || !r.empty()) {
    return fail(Error::kDecodeError);
  }
  if (limit < 64) {
    return fail(Error::kBadRecordSizeLimit);
  }
  return limit;
}

Result<void, Error> parse_empty(std::span<const uint8_t> d) noexcept {
  if (!d.empty()) {
    return fail(Error::kDecodeError);
  }
  return {};
}

bool u16_list_contains(std::span<const uint8_t> list, uint16_t v) noexcept {
  for (size_t i = 0; i + 1 < list.size(); i += 2) {
    if (load_be16(list.data() + i) == v) {
      return true;
    }
  }
  return false;
}

}  // namespace linetls::tls
