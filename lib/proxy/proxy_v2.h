// PROXY protocol version 2 (HAProxy doc/proxy-protocol.txt §2.2): the binary header a proxy
// sends first on its connection to a backend, carrying the client's addresses and, in TLVs,
// what it knows about the TLS connection it terminated.
//
// encode_proxy_v2() writes a PROXY header for TCP over IPv4 with the ALPN, AUTHORITY and SSL
// TLVs into caller memory. decode_proxy_v2() parses any version 2 header strictly (the
// receiving side, for tests, the fuzz target and an accept-proxy listener). Neither
// allocates or throws. Every view in the structs below is borrowed: the encoder reads
// through them, and the decoder points them into the buffer it was given, which must
// outlive the result.
//
// Not implemented: PP2_TYPE_CRC32C (not sent; when received it is reported as a TLV, not
// checked) and NOOP padding (not sent; received NOOPs are reported like any unknown type).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <span>
#include <string_view>

#include "lib/base/result.h"

namespace linetls::proxy {

// "\r\n\r\n\0\r\nQUIT\n" (§2.2).
inline constexpr std::array<uint8_t, 12> kSignature = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                                       0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};
// Signature, ver_cmd, fam and the 2-byte length.
inline constexpr size_t kFixedHeaderLen = 16;
// The length field is 16 bits: "the length of the protocol header in bytes is always exactly
// 16 + this value".
inline constexpr size_t kMaxHeaderLen = kFixedHeaderLen + 0xFFFF;
// Address block sizes per family (§2.2 union proxy_addr).
inline constexpr size_t kInetAddressLen = 2 * 4 + 2 * 2;
inline constexpr size_t kInet6AddressLen = 2 * 16 + 2 * 2;
inline constexpr size_t kUnixAddressLen = 2 * 108;
// A TLV is type, length_hi, length_lo, value.
inline constexpr size_t kTlvHeaderLen = 3;
inline constexpr size_t kMaxTlvValueLen = 0xFFFF;
// struct pp2_tlv_ssl: uint8_t client; uint32_t verify; then sub-TLVs.
inline constexpr size_t kSslFixedLen = 1 + 4;

// TLV types (§2.2).
inline constexpr uint8_t kTypeAlpn = 0x01;
inline constexpr uint8_t kTypeAuthority = 0x02;
inline constexpr uint8_t kTypeCrc32c = 0x03;
inline constexpr uint8_t kTypeNoop = 0x04;
inline constexpr uint8_t kTypeUniqueId = 0x05;
inline constexpr uint8_t kTypeSsl = 0x20;
inline constexpr uint8_t kTypeNetns = 0x30;
// Sub-TLV types inside PP2_TYPE_SSL (§2.2.6).
inline constexpr uint8_t kSubtypeSslVersion = 0x21;
inline constexpr uint8_t kSubtypeSslCn = 0x22;
inline constexpr uint8_t kSubtypeSslCipher = 0x23;
inline constexpr uint8_t kSubtypeSslSigAlg = 0x24;
inline constexpr uint8_t kSubtypeSslKeyAlg = 0x25;
// Bits of pp2_tlv_ssl.client (§2.2.6).
inline constexpr uint8_t kClientSsl = 0x01;
inline constexpr uint8_t kClientCertConn = 0x02;
inline constexpr uint8_t kClientCertSess = 0x04;

enum class Error : uint8_t {
  // Decoding, not fatal: the bytes so far are a valid beginning of a header; call again
  // with more.
  kNeedMoreBytes,
  // Decoding.
  kBadSignature,      // the first 12 bytes are not kSignature
  kBadVersion,        // the high nibble of byte 13 is not 2
  kBadCommand,        // the low nibble of byte 13 is neither LOCAL (0) nor PROXY (1)
  kBadFamily,         // byte 14 is none of 0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32
  kLengthTooShort,    // the declared length cannot hold the family's addresses
  kTlvOverrun,        // a TLV's header or value runs past the declared length
  kSslTlvTooShort,    // a PP2_TYPE_SSL value shorter than client + verify
  kSslSubTlvOverrun,  // a sub-TLV runs past the end of the PP2_TYPE_SSL value
  kDuplicateTlv,      // a TLV type we interpret (ALPN, AUTHORITY, SSL, SSL_*) twice
  // Encoding.
  kBufferTooSmall,          // the caller's buffer is shorter than proxy_v2_size()
  kAlpnTooLong,             // over kMaxTlvValueLen
  kAuthorityTooLong,        // over kMaxTlvValueLen
  kSslTlvTooLong,           // the SSL TLV's value (with its sub-TLVs, e.g. a long CN) is
                            // over kMaxTlvValueLen
  kHeaderTooLong,           // everything after the fixed 16 bytes is over 0xFFFF
  kMissingTlsVersion,       // TLS facts without a version string (§2.2.6 requires one)
  kInconsistentClientCert,  // verified without a certificate in the session, a CN without
                            // a verified certificate, or a certificate on this connection
                            // but not in its session
  // Keep kInconsistentClientCert last: the tests walk every value up to it.
};

// Returns a short, static description of e, for logs.
std::string_view to_string(Error e) noexcept;

// An IPv4 address in host byte order (10.99.0.2 == 0x0a630002, as net::Ipv4Addr::v) and a
// port in host byte order.
struct Ipv4Endpoint {
  uint32_t addr = 0;
  uint16_t port = 0;
  friend constexpr bool operator==(const Ipv4Endpoint&, const Ipv4Endpoint&) = default;
};

// What the TLS layer knows about the client's connection, for PP2_TYPE_SSL (§2.2.6).
// Empty strings are left out, except version, which is required.
struct TlsFacts {
  std::string_view version;  // PP2_SUBTYPE_SSL_VERSION: "TLSv1.3" (see tls_version_name())
  std::string_view cipher;   // PP2_SUBTYPE_SSL_CIPHER: OpenSSL's name
                             // (see openssl_cipher_name())
  std::string_view sig_alg;  // PP2_SUBTYPE_SSL_SIG_ALG: the signature on our certificate,
                             // "ecdsa-with-SHA256" (crypto::describe_certificate())
  std::string_view key_alg;  // PP2_SUBTYPE_SSL_KEY_ALG: our certificate's key, "EC256"
  // PP2_CLIENT_CERT_CONN: the client sent a certificate in this connection's handshake.
  bool client_cert_conn = false;
  // PP2_CLIENT_CERT_SESS: the TLS session had a client certificate, from this handshake or
  // the one the session was resumed from. client_cert_conn implies it.
  bool client_cert_sess = false;
  // That certificate was verified. Decides pp2_tlv_ssl.verify: 0 when a certificate was
  // presented and verified, 1 otherwise.
  bool verified = false;
  // PP2_SUBTYPE_SSL_CN: the verified client certificate's subject Common Name (UTF-8);
  // only with verified.
  std::string_view cn;

  friend constexpr bool operator==(const TlsFacts&, const TlsFacts&) = default;
};

// Everything a PROXY header built by encode_proxy_v2() says.
struct ProxyV2Info {
  Ipv4Endpoint src;  // the client
  Ipv4Endpoint dst;  // the address the client connected to
  // PP2_TYPE_ALPN: the protocol negotiated with the client (e.g. "h2"); empty: none.
  std::span<const uint8_t> alpn;
  // PP2_TYPE_AUTHORITY: the server_name the client sent (SNI); empty: it sent none.
  std::string_view authority;
  // PP2_TYPE_SSL; nullopt for a plain TCP connection.
  std::optional<TlsFacts> tls;

  // Equal fields; alpn compares by content.
  friend bool operator==(const ProxyV2Info& a, const ProxyV2Info& b) noexcept;
};

// Returns the exact length encode_proxy_v2() writes for info, or the error it would return
// (every error but kBufferTooSmall).
Result<size_t, Error> proxy_v2_size(const ProxyV2Info& info) noexcept;

// Writes the PROXY header for info into out: the signature, ver_cmd 0x21 (version 2, PROXY),
// fam 0x11 (AF_INET, STREAM), the length, src and dst addresses then ports (big-endian),
// then the TLVs in HAProxy's order: ALPN (if any), AUTHORITY (if any), SSL (if tls) with the
// sub-TLVs VERSION, CN (if any), KEY_ALG, SIG_ALG, CIPHER (each if non-empty). Returns the
// number of bytes written (proxy_v2_size(info)). On error nothing useful is in out.
// info's views must not alias out.
Result<size_t, Error> encode_proxy_v2(const ProxyV2Info& info, std::span<uint8_t> out) noexcept;

// One TLV: its type and its value (a view into the buffer the list was parsed from).
struct Tlv {
  uint8_t type = 0;
  std::span<const uint8_t> value;
};

// A sequence of TLVs known to fill its bytes exactly. Iterating yields Tlv in wire order.
// Cheap to copy; views into the parsed buffer.
class TlvList {
 public:
  class Iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Tlv;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = Tlv;

    Iterator() noexcept = default;
    Tlv operator*() const noexcept;
    Iterator& operator++() noexcept;
    Iterator operator++(int) noexcept {
      Iterator old = *this;
      ++*this;
      return old;
    }
    // Iterators of the same list are equal when the same number of bytes remains.
    friend bool operator==(const Iterator& a, const Iterator& b) noexcept {
      return a.rest_.size() == b.rest_.size();
    }

   private:
    friend class TlvList;
    explicit Iterator(std::span<const uint8_t> rest) noexcept : rest_(rest) {}
    std::span<const uint8_t> rest_;
  };

  TlvList() noexcept = default;
  // Returns the list if bytes is a sequence of complete TLVs with nothing left over, else
  // kTlvOverrun. bytes is borrowed.
  static Result<TlvList, Error> parse(std::span<const uint8_t> bytes) noexcept;

  Iterator begin() const noexcept { return Iterator(bytes_); }
  Iterator end() const noexcept { return Iterator(bytes_.subspan(bytes_.size())); }
  bool empty() const noexcept { return bytes_.empty(); }
  // Returns the number of TLVs.
  size_t count() const noexcept;
  // Returns the first TLV of this type, if any.
  std::optional<Tlv> find(uint8_t type) const noexcept;
  // Returns the bytes the list was parsed from.
  std::span<const uint8_t> bytes() const noexcept { return bytes_; }

 private:
  explicit TlvList(std::span<const uint8_t> bytes) noexcept : bytes_(bytes) {}
  std::span<const uint8_t> bytes_;
};

enum class Command : uint8_t { kLocal = 0x0, kProxy = 0x1 };
enum class Family : uint8_t { kUnspec = 0x0, kInet = 0x1, kInet6 = 0x2, kUnix = 0x3 };
enum class Transport : uint8_t { kUnspec = 0x0, kStream = 0x1, kDgram = 0x2 };

// A decoded header. Views point into the decoded buffer.
struct ProxyV2Header {
  size_t header_len = 0;  // bytes the header occupies: 16 + the declared length
  Command command = Command::kLocal;
  Family family = Family::kUnspec;
  Transport transport = Transport::kUnspec;
  // The address block as sent (the family's size; empty for AF_UNSPEC). A LOCAL header's
  // addresses are to be ignored (§2.2), and only AF_INET ones are decoded into info.
  std::span<const uint8_t> addresses;
  // src/dst: set for PROXY over AF_INET (TCP or UDP), zero otherwise. alpn, authority and tls
  // from the TLVs; tls is set when the SSL TLV has PP2_CLIENT_SSL, with verified meaning
  // verify == 0 with a client certificate flag set.
  ProxyV2Info info;
  // Every TLV after the addresses, in order, unknown types included.
  TlvList tlvs;
  // PP2_TYPE_SSL as sent: its fields and its sub-TLVs (all of them, unknown ones included).
  bool has_ssl = false;
  uint8_t ssl_client = 0;
  uint32_t ssl_verify = 0;
  TlvList ssl_sub_tlvs;
};

// Parses the PROXY v2 header at the start of in (borrowed; the result's views point into
// it). Bytes after header_len are the proxied stream, not part of the header. Returns
// kNeedMoreBytes while in is a proper prefix of a header that is valid so far (the
// signature, version, command and family are checked as soon as their bytes are there), or
// the first error found. Checks: exact signature, version 2, command LOCAL or PROXY, one of
// the family/protocol bytes §2.2 lists, a length that holds the family's addresses, TLVs
// that exactly fill the rest, an SSL TLV of at least 5 bytes whose sub-TLVs exactly fill
// it, and no interpreted type (ALPN, AUTHORITY, SSL and its five sub-types) twice.
Result<ProxyV2Header, Error> decode_proxy_v2(std::span<const uint8_t> in) noexcept;

// Returns OpenSSL's name for a TLS cipher suite we negotiate ("TLS_AES_128_GCM_SHA256",
// "ECDHE-RSA-AES128-GCM-SHA256"; what `openssl ciphers -V` prints and HAProxy sends), or
// an empty view for any other code.
std::string_view openssl_cipher_name(uint16_t suite_code) noexcept;

// Returns "TLSv1.2" for 0x0303 and "TLSv1.3" for 0x0304 (OpenSSL's SSL_get_version()
// names), or an empty view otherwise.
std::string_view tls_version_name(uint16_t version) noexcept;

}  // namespace linetls::proxy
