#include "lib/proxy/proxy_v2.h"

#include <algorithm>
#include <cassert>

#include "lib/base/bytes.h"

namespace linetls::proxy {
namespace {

constexpr uint8_t kVersion2 = 0x2;
// ver_cmd and fam of every header we send: version 2, PROXY; AF_INET, STREAM.
constexpr uint8_t kVerCmdProxy = (kVersion2 << 4) | static_cast<uint8_t>(Command::kProxy);
constexpr uint8_t kFamTcp4 =
    (static_cast<uint8_t>(Family::kInet) << 4) | static_cast<uint8_t>(Transport::kStream);

std::span<const uint8_t> bytes_of(std::string_view s) noexcept {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string_view string_of(std::span<const uint8_t> b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// The address block size for a family byte §2.2 lists, or nullopt for any other byte:
// "other values are unspecified and must not be emitted in version 2 of this protocol and
// must be rejected as invalid by receivers."
std::optional<size_t> address_len(uint8_t fam) noexcept {
  switch (fam) {
    case 0x00:  // UNSPEC
      return 0;
    case 0x11:  // TCP over IPv4
    case 0x12:  // UDP over IPv4
      return kInetAddressLen;
    case 0x21:  // TCP over IPv6
    case 0x22:  // UDP over IPv6
      return kInet6AddressLen;
    case 0x31:  // UNIX stream
    case 0x32:  // UNIX datagram
      return kUnixAddressLen;
    default:
      return std::nullopt;
  }
}

size_t tlv_len(size_t value_len) noexcept { return kTlvHeaderLen + value_len; }

// The sub-TLVs of PP2_TYPE_SSL that encode_proxy_v2() writes, in HAProxy's order
// (make_proxy_line_v2 in src/connection.c): version, CN, key, signature, cipher.
struct SubTlv {
  uint8_t type;
  std::string_view value;
};
std::array<SubTlv, 5> ssl_sub_tlvs(const TlsFacts& tls) noexcept {
  return {SubTlv{kSubtypeSslVersion, tls.version}, SubTlv{kSubtypeSslCn, tls.cn},
          SubTlv{kSubtypeSslKeyAlg, tls.key_alg}, SubTlv{kSubtypeSslSigAlg, tls.sig_alg},
          SubTlv{kSubtypeSslCipher, tls.cipher}};
}

// Checks the TLS facts and returns the length of the SSL TLV's value.
Result<size_t, Error> ssl_value_len(const TlsFacts& tls) noexcept {
  if (tls.version.empty()) {
    return fail(Error::kMissingTlsVersion);
  }
  if ((tls.client_cert_conn && !tls.client_cert_sess) || (tls.verified && !tls.client_cert_sess) ||
      (!tls.cn.empty() && !tls.verified)) {
    return fail(Error::kInconsistentClientCert);
  }
  size_t len = kSslFixedLen;
  for (const SubTlv& sub : ssl_sub_tlvs(tls)) {
    if (sub.value.size() > kMaxTlvValueLen) {
      return fail(Error::kSslTlvTooLong);
    }
    if (!sub.value.empty()) {
      len += tlv_len(sub.value.size());
    }
  }
  if (len > kMaxTlvValueLen) {
    return fail(Error::kSslTlvTooLong);
  }
  return len;
}

void put_tlv(ByteWriter& w, uint8_t type, std::span<const uint8_t> value) noexcept {
  w.put_u8(type);
  const ByteWriter::Prefix len = w.begin_prefixed(2);
  w.put_bytes(value);
  w.end_prefixed(len);
}

}  // namespace

std::string_view to_string(Error e) noexcept {
  switch (e) {
    case Error::kNeedMoreBytes:
      return "incomplete PROXY header";
    case Error::kBadSignature:
      return "not a PROXY v2 signature";
    case Error::kBadVersion:
      return "PROXY protocol version is not 2";
    case Error::kBadCommand:
      return "PROXY command is neither LOCAL nor PROXY";
    case Error::kBadFamily:
      return "unknown PROXY address family or protocol";
    case Error::kLengthTooShort:
      return "PROXY header length too short for its addresses";
    case Error::kTlvOverrun:
      return "PROXY TLV runs past the header";
    case Error::kSslTlvTooShort:
      return "PROXY SSL TLV too short";
    case Error::kSslSubTlvOverrun:
      return "PROXY SSL sub-TLV runs past the SSL TLV";
    case Error::kDuplicateTlv:
      return "PROXY TLV repeated";
    case Error::kBufferTooSmall:
      return "buffer too small for the PROXY header";
    case Error::kAlpnTooLong:
      return "ALPN too long for a PROXY TLV";
    case Error::kAuthorityTooLong:
      return "authority too long for a PROXY TLV";
    case Error::kSslTlvTooLong:
      return "TLS facts too long for the PROXY SSL TLV";
    case Error::kHeaderTooLong:
      return "PROXY header longer than 65535 bytes after the fixed part";
    case Error::kMissingTlsVersion:
      return "TLS facts without a TLS version";
    case Error::kInconsistentClientCert:
      return "inconsistent client certificate facts";
  }
  return "unknown PROXY error";
}

bool operator==(const ProxyV2Info& a, const ProxyV2Info& b) noexcept {
  return a.src == b.src && a.dst == b.dst && std::ranges::equal(a.alpn, b.alpn) &&
         a.authority == b.authority && a.tls == b.tls;
}

// ---- Encoding ---------------------------------------------------------------------------

Result<size_t, Error> proxy_v2_size(const ProxyV2Info& info) noexcept {
  if (info.alpn.size() > kMaxTlvValueLen) {
    return fail(Error::kAlpnTooLong);
  }
  if (info.authority.size() > kMaxTlvValueLen) {
    return fail(Error::kAuthorityTooLong);
  }
  size_t body = kInetAddressLen;
  if (!info.alpn.empty()) {
    body += tlv_len(info.alpn.size());
  }
  if (!info.authority.empty()) {
    body += tlv_len(info.authority.size());
  }
  if (info.tls) {
    Result<size_t, Error> ssl = ssl_value_len(*info.tls);
    if (!ssl) {
      return fail(ssl.error());
    }
    body += tlv_len(*ssl);
  }
  // "The 15th and 16th bytes is the address length in bytes": everything after the fixed
  // part must fit 16 bits.
  if (body > 0xFFFF) {
    return fail(Error::kHeaderTooLong);
  }
  return kFixedHeaderLen + body;
}

Result<size_t, Error> encode_proxy_v2(const ProxyV2Info& info, std::span<uint8_t> out) noexcept {
  Result<size_t, Error> size = proxy_v2_size(info);
  if (!size) {
    return fail(size.error());
  }
  if (out.size() < *size) {
    return fail(Error::kBufferTooSmall);
  }
  ByteWriter w(out.first(*size));
  w.put_bytes(kSignature);
  w.put_u8(kVerCmdProxy);
  w.put_u8(kFamTcp4);
  const ByteWriter::Prefix len = w.begin_prefixed(2);
  // struct ipv4_addr: src_addr, dst_addr, src_port, dst_port, all in network order.
  w.put_u32(info.src.addr);
  w.put_u32(info.dst.addr);
  w.put_u16(info.src.port);
  w.put_u16(info.dst.port);
  if (!info.alpn.empty()) {
    put_tlv(w, kTypeAlpn, info.alpn);
  }
  if (!info.authority.empty()) {
    put_tlv(w, kTypeAuthority, bytes_of(info.authority));
  }
  if (info.tls) {
    const TlsFacts& tls = *info.tls;
    uint8_t client = kClientSsl;
    if (tls.client_cert_conn) {
      client |= kClientCertConn;
    }
    if (tls.client_cert_sess) {
      client |= kClientCertSess;
    }
    // "The <verify> field will be zero if the client presented a certificate and it was
    // successfully verified, and non-zero otherwise."
    const uint32_t verify = tls.client_cert_sess && tls.verified ? 0 : 1;
    w.put_u8(kTypeSsl);
    const ByteWriter::Prefix ssl_len = w.begin_prefixed(2);
    w.put_u8(client);
    w.put_u32(verify);
    for (const SubTlv& sub : ssl_sub_tlvs(tls)) {
      if (!sub.value.empty()) {
        put_tlv(w, sub.type, bytes_of(sub.value));
      }
    }
    w.end_prefixed(ssl_len);
  }
  w.end_prefixed(len);
  // proxy_v2_size() checked every length, so the writer cannot have failed.
  assert(w.ok() && w.size() == *size);
  return w.size();
}

// ---- TlvList ------------------------------------------------------------------------------

Result<TlvList, Error> TlvList::parse(std::span<const uint8_t> bytes) noexcept {
  ByteReader r(bytes);
  while (!r.empty()) {
    uint8_t type = 0;
    ByteReader value;
    if (!r.read_u8(&type) || !r.read_u16_prefixed(&value)) {
      return fail(Error::kTlvOverrun);
    }
  }
  return TlvList(bytes);
}

Tlv TlvList::Iterator::operator*() const noexcept {
  ByteReader r(rest_);
  Tlv tlv;
  ByteReader value;
  if (!r.read_u8(&tlv.type) || !r.read_u16_prefixed(&value)) {
    return Tlv{};  // the end iterator; a parsed list never gets here otherwise
  }
  tlv.value = value.rest();
  return tlv;
}

TlvList::Iterator& TlvList::Iterator::operator++() noexcept {
  ByteReader r(rest_);
  uint8_t type = 0;
  ByteReader value;
  if (!r.read_u8(&type) || !r.read_u16_prefixed(&value)) {
    rest_ = rest_.subspan(rest_.size());
    return *this;
  }
  rest_ = r.rest();
  return *this;
}

size_t TlvList::count() const noexcept {
  size_t n = 0;
  for (Iterator it = begin(); it != end(); ++it) {
    n++;
  }
  return n;
}

std::optional<Tlv> TlvList::find(uint8_t type) const noexcept {
  for (Tlv tlv : *this) {
    if (tlv.type == type) {
      return tlv;
    }
  }
  return std::nullopt;
}

// ---- Decoding -----------------------------------------------------------------------------

namespace {

// Sets *out_seen's bit for type among the types in [first, first + 32); false if it was set.
bool first_of_its_type(uint8_t type, uint8_t first, uint32_t* out_seen) noexcept {
  const uint32_t bit = uint32_t{1} << (type - first);
  if ((*out_seen & bit) != 0) {
    return false;
  }
  *out_seen |= bit;
  return true;
}

Result<void, Error> decode_ssl(std::span<const uint8_t> value, ProxyV2Header* out_header) noexcept {
  ByteReader r(value);
  if (!r.read_u8(&out_header->ssl_client) || !r.read_u32(&out_header->ssl_verify)) {
    return fail(Error::kSslTlvTooShort);
  }
  Result<TlvList, Error> subs = TlvList::parse(r.rest());
  if (!subs) {
    return fail(Error::kSslSubTlvOverrun);
  }
  out_header->has_ssl = true;
  out_header->ssl_sub_tlvs = *subs;
  TlsFacts tls;
  uint32_t seen = 0;
  for (Tlv sub : *subs) {
    std::string_view* field = nullptr;
    switch (sub.type) {
      case kSubtypeSslVersion:
        field = &tls.version;
        break;
      case kSubtypeSslCn:
        field = &tls.cn;
        break;
      case kSubtypeSslCipher:
        field = &tls.cipher;
        break;
      case kSubtypeSslSigAlg:
        field = &tls.sig_alg;
        break;
      case kSubtypeSslKeyAlg:
        field = &tls.key_alg;
        break;
      default:
        continue;  // unknown sub-types stay in ssl_sub_tlvs
    }
    if (!first_of_its_type(sub.type, kSubtypeSslVersion, &seen)) {
      return fail(Error::kDuplicateTlv);
    }
    *field = string_of(sub.value);
  }
  if ((out_header->ssl_client & kClientSsl) != 0) {
    tls.client_cert_conn = (out_header->ssl_client & kClientCertConn) != 0;
    tls.client_cert_sess = (out_header->ssl_client & kClientCertSess) != 0;
    tls.verified = out_header->ssl_verify == 0 && (tls.client_cert_conn || tls.client_cert_sess);
    out_header->info.tls = tls;
  }
  return {};
}

}  // namespace

Result<ProxyV2Header, Error> decode_proxy_v2(std::span<const uint8_t> in) noexcept {
  ByteReader r(in);
  // The fixed part is checked byte by byte as it arrives, so a stream that is not PROXY v2
  // is refused without waiting for 16 bytes.
  std::span<const uint8_t> sig;
  if (!r.read_bytes(std::min(r.remaining(), kSignature.size()), &sig) ||
      !std::equal(sig.begin(), sig.end(), kSignature.begin())) {
    return fail(Error::kBadSignature);
  }
  uint8_t ver_cmd = 0;
  if (!r.read_u8(&ver_cmd)) {
    return fail(Error::kNeedMoreBytes);
  }
  // "The highest four bits contains the version. [...] the receiver must only accept this
  // value."
  if ((ver_cmd >> 4) != kVersion2) {
    return fail(Error::kBadVersion);
  }
  // "other values are unassigned and must not be emitted by senders. Receivers must drop
  // connections presenting unexpected values here."
  const uint8_t command = ver_cmd & 0x0F;
  if (command != static_cast<uint8_t>(Command::kLocal) &&
      command != static_cast<uint8_t>(Command::kProxy)) {
    return fail(Error::kBadCommand);
  }
  uint8_t fam = 0;
  if (!r.read_u8(&fam)) {
    return fail(Error::kNeedMoreBytes);
  }
  const std::optional<size_t> addr_len = address_len(fam);
  if (!addr_len) {
    return fail(Error::kBadFamily);
  }
  uint16_t len = 0;
  if (!r.read_u16(&len)) {
    return fail(Error::kNeedMoreBytes);
  }
  if (len < *addr_len) {
    return fail(Error::kLengthTooShort);
  }
  std::span<const uint8_t> body_bytes;
  if (!r.read_bytes(len, &body_bytes)) {
    return fail(Error::kNeedMoreBytes);
  }

  ProxyV2Header h;
  h.header_len = kFixedHeaderLen + len;
  h.command = static_cast<Command>(command);
  h.family = static_cast<Family>(fam >> 4);
  h.transport = static_cast<Transport>(fam & 0x0F);
  ByteReader body(body_bytes);
  if (!body.read_bytes(*addr_len, &h.addresses)) {
    return fail(Error::kLengthTooShort);  // checked above
  }
  // "LOCAL [...] The receiver must [...] use the real connection endpoints and discard the
  // protocol block including the family which is ignored."
  if (h.command == Command::kProxy && h.family == Family::kInet) {
    ByteReader a(h.addresses);
    if (!a.read_u32(&h.info.src.addr) || !a.read_u32(&h.info.dst.addr) ||
        !a.read_u16(&h.info.src.port) || !a.read_u16(&h.info.dst.port) || !a.empty()) {
      return fail(Error::kLengthTooShort);  // cannot happen: the block is 12 bytes
    }
  }
  Result<TlvList, Error> tlvs = TlvList::parse(body.rest());
  if (!tlvs) {
    return fail(tlvs.error());
  }
  h.tlvs = *tlvs;
  bool seen_alpn = false;
  bool seen_authority = false;
  for (Tlv tlv : h.tlvs) {
    switch (tlv.type) {
      case kTypeAlpn:
        if (seen_alpn) {
          return fail(Error::kDuplicateTlv);
        }
        seen_alpn = true;
        h.info.alpn = tlv.value;
        break;
      case kTypeAuthority:
        if (seen_authority) {
          return fail(Error::kDuplicateTlv);
        }
        seen_authority = true;
        h.info.authority = string_of(tlv.value);
        break;
      case kTypeSsl:
        if (h.has_ssl) {
          return fail(Error::kDuplicateTlv);
        }
        if (Result<void, Error> ssl = decode_ssl(tlv.value, &h); !ssl) {
          return fail(ssl.error());
        }
        break;
      default:
        break;  // reported in tlvs only
    }
  }
  return h;
}

// ---- Names --------------------------------------------------------------------------------

std::string_view openssl_cipher_name(uint16_t suite_code) noexcept {
  // As `openssl ciphers -V` (OpenSSL 3.0) prints them.
  switch (suite_code) {
    case 0x1301:
      return "TLS_AES_128_GCM_SHA256";
    case 0x1302:
      return "TLS_AES_256_GCM_SHA384";
    case 0x1303:
      return "TLS_CHACHA20_POLY1305_SHA256";
    case 0xC02B:
      return "ECDHE-ECDSA-AES128-GCM-SHA256";
    case 0xC02C:
      return "ECDHE-ECDSA-AES256-GCM-SHA384";
    case 0xC02F:
      return "ECDHE-RSA-AES128-GCM-SHA256";
    case 0xC030:
      return "ECDHE-RSA-AES256-GCM-SHA384";
    case 0xCCA8:
      return "ECDHE-RSA-CHACHA20-POLY1305";
    case 0xCCA9:
      return "ECDHE-ECDSA-CHACHA20-POLY1305";
    default:
      return {};
  }
}

std::string_view tls_version_name(uint16_t version) noexcept {
  switch (version) {
    case 0x0303:
      return "TLSv1.2";
    case 0x0304:
      return "TLSv1.3";
    default:
      return {};
  }
}

}  // namespace linetls::proxy
