// PROXY protocol v2: encodings written out byte by byte from HAProxy's
// doc/proxy-protocol.txt §2.2, round trips, and every way the decoder refuses a header.
#include "lib/proxy/proxy_v2.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <initializer_list>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace linetls::proxy {
namespace {

// Builds expected wire bytes from literal pieces.
class Bytes {
 public:
  Bytes& raw(std::initializer_list<uint8_t> b) {
    v_.insert(v_.end(), b.begin(), b.end());
    return *this;
  }
  Bytes& str(std::string_view s) {
    v_.insert(v_.end(), s.begin(), s.end());
    return *this;
  }
  Bytes& fill(size_t n, uint8_t b) {
    v_.insert(v_.end(), n, b);
    return *this;
  }
  // The 12-byte signature, as §2.2 prints it.
  Bytes& sig() {
    return raw({0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
  }
  const std::vector<uint8_t>& vec() const { return v_; }
  operator std::span<const uint8_t>() const { return v_; }  // NOLINT: implicit for brevity

 private:
  std::vector<uint8_t> v_;
};

std::span<const uint8_t> span_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// 192.0.2.10:56324 -> 10.99.0.2:443.
ProxyV2Info tcp_info() {
  ProxyV2Info info;
  info.src = {0xC000020A, 56324};
  info.dst = {0x0A630002, 443};
  return info;
}

// The address part of every header below: src_addr, dst_addr, src_port, dst_port.
Bytes& addresses(Bytes& b) {
  return b.raw({0xC0, 0x00, 0x02, 0x0A, 0x0A, 0x63, 0x00, 0x02, 0xDC, 0x04, 0x01, 0xBB});
}

std::vector<uint8_t> encode(const ProxyV2Info& info) {
  Result<size_t, Error> size = proxy_v2_size(info);
  EXPECT_TRUE(size);
  if (!size) {
    return {};
  }
  std::vector<uint8_t> out(*size);
  Result<size_t, Error> n = encode_proxy_v2(info, out);
  EXPECT_TRUE(n);
  EXPECT_EQ(n ? *n : 0, *size);
  return out;
}

Error encode_error(const ProxyV2Info& info) {
  std::vector<uint8_t> out(kMaxHeaderLen + 100);
  Result<size_t, Error> n = encode_proxy_v2(info, out);
  Result<size_t, Error> size = proxy_v2_size(info);
  EXPECT_FALSE(n);
  EXPECT_FALSE(size);
  if (n || size) {
    return Error::kNeedMoreBytes;
  }
  EXPECT_EQ(n.error(), size.error());
  return n.error();
}

Error decode_error(std::span<const uint8_t> in) {
  Result<ProxyV2Header, Error> h = decode_proxy_v2(in);
  EXPECT_FALSE(h);
  return h ? Error::kNeedMoreBytes : h.error();
}

std::vector<std::pair<uint8_t, std::string>> tlv_list(const TlvList& list) {
  std::vector<std::pair<uint8_t, std::string>> out;
  for (Tlv t : list) {
    out.emplace_back(t.type, std::string(t.value.begin(), t.value.end()));
  }
  return out;
}

using TlvVec = std::vector<std::pair<uint8_t, std::string>>;

// ---- Encoding, byte for byte ----------------------------------------------------------------

TEST(ProxyV2Encode, PlainTcpHasOnlyTheAddresses) {
  const std::vector<uint8_t> want = addresses(Bytes().sig().raw({0x21, 0x11, 0x00, 0x0C})).vec();
  EXPECT_EQ(encode(tcp_info()), want);
  EXPECT_EQ(want.size(), 28u);
}

TEST(ProxyV2Encode, Tls13WithVerifiedClientCertificate) {
  ProxyV2Info info = tcp_info();
  info.alpn = span_of("h2");
  info.authority = "example.com";
  info.tls = TlsFacts{.version = "TLSv1.3",
                      .cipher = "TLS_AES_128_GCM_SHA256",
                      .sig_alg = "ecdsa-with-SHA256",
                      .key_alg = "EC256",
                      .client_cert_conn = true,
                      .client_cert_sess = true,
                      .verified = true,
                      .cn = "client.test"};
  // SSL value: client(1) verify(4) + VERSION 3+7 + CN 3+11 + KEY_ALG 3+5 + SIG_ALG 3+17 +
  // CIPHER 3+22 = 82 (0x52). Length after the fixed part: 12 + (3+2) + (3+11) + (3+82) = 116.
  Bytes b;
  addresses(b.sig().raw({0x21, 0x11, 0x00, 0x74}));
  b.raw({0x01, 0x00, 0x02}).str("h2");
  b.raw({0x02, 0x00, 0x0B}).str("example.com");
  b.raw({0x20, 0x00, 0x52});
  b.raw({0x07});                    // PP2_CLIENT_SSL | CERT_CONN | CERT_SESS
  b.raw({0x00, 0x00, 0x00, 0x00});  // verified
  b.raw({0x21, 0x00, 0x07}).str("TLSv1.3");
  b.raw({0x22, 0x00, 0x0B}).str("client.test");
  b.raw({0x25, 0x00, 0x05}).str("EC256");
  b.raw({0x24, 0x00, 0x11}).str("ecdsa-with-SHA256");
  b.raw({0x23, 0x00, 0x16}).str("TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(b.vec().size(), 16u + 116u);
  EXPECT_EQ(encode(info), b.vec());
}

TEST(ProxyV2Encode, Tls12WithoutClientCertificateSaysNotVerified) {
  ProxyV2Info info = tcp_info();
  info.tls = TlsFacts{.version = "TLSv1.2",
                      .cipher = "ECDHE-RSA-AES128-GCM-SHA256",
                      .sig_alg = "RSA-SHA256",
                      .key_alg = "RSA2048"};
  // SSL value: 5 + (3+7) + (3+7) + (3+10) + (3+27) = 68 (0x44); after the fixed part
  // 12 + 3 + 68 = 83 (0x53).
  Bytes b;
  addresses(b.sig().raw({0x21, 0x11, 0x00, 0x53}));
  b.raw({0x20, 0x00, 0x44});
  b.raw({0x01});                    // PP2_CLIENT_SSL only
  b.raw({0x00, 0x00, 0x00, 0x01});  // no certificate: non-zero
  b.raw({0x21, 0x00, 0x07}).str("TLSv1.2");
  b.raw({0x25, 0x00, 0x07}).str("RSA2048");
  b.raw({0x24, 0x00, 0x0A}).str("RSA-SHA256");
  b.raw({0x23, 0x00, 0x1B}).str("ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(encode(info), b.vec());
}

TEST(ProxyV2Encode, ResumedSessionWithCertificateSetsSessNotConn) {
  ProxyV2Info info = tcp_info();
  info.tls = TlsFacts{.version = "TLSv1.3", .client_cert_sess = true, .verified = true, .cn = "c"};
  // SSL value: 5 + (3+7) + (3+1) = 19 (0x13); after the fixed part 12 + 3 + 19 = 34 (0x22).
  Bytes b;
  addresses(b.sig().raw({0x21, 0x11, 0x00, 0x22}));
  b.raw({0x20, 0x00, 0x13, 0x05, 0x00, 0x00, 0x00, 0x00});
  b.raw({0x21, 0x00, 0x07}).str("TLSv1.3");
  b.raw({0x22, 0x00, 0x01}).str("c");
  EXPECT_EQ(encode(info), b.vec());
}

TEST(ProxyV2Encode, PresentedButUnverifiedCertificateHasNonZeroVerify) {
  ProxyV2Info info = tcp_info();
  info.tls = TlsFacts{.version = "TLSv1.3", .client_cert_conn = true, .client_cert_sess = true};
  Bytes b;
  addresses(b.sig().raw({0x21, 0x11, 0x00, 0x1E}));
  b.raw({0x20, 0x00, 0x0F, 0x07, 0x00, 0x00, 0x00, 0x01});
  b.raw({0x21, 0x00, 0x07}).str("TLSv1.3");
  EXPECT_EQ(encode(info), b.vec());
}

TEST(ProxyV2Encode, AuthorityWithoutTls) {
  ProxyV2Info info = tcp_info();
  info.authority = "a";
  Bytes b;
  addresses(b.sig().raw({0x21, 0x11, 0x00, 0x10}));
  b.raw({0x02, 0x00, 0x01}).str("a");
  EXPECT_EQ(encode(info), b.vec());
}

TEST(ProxyV2Encode, BufferTooSmallAtEveryLength) {
  ProxyV2Info info = tcp_info();
  info.alpn = span_of("http/1.1");
  info.tls = TlsFacts{.version = "TLSv1.3", .cipher = "TLS_AES_256_GCM_SHA384"};
  const std::vector<uint8_t> full = encode(info);
  for (size_t n = 0; n < full.size(); n++) {
    std::vector<uint8_t> out(n);
    Result<size_t, Error> r = encode_proxy_v2(info, out);
    ASSERT_FALSE(r) << n;
    EXPECT_EQ(r.error(), Error::kBufferTooSmall);
  }
  std::vector<uint8_t> big(full.size() + 7, 0xEE);
  Result<size_t, Error> r = encode_proxy_v2(info, big);
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, full.size());
  EXPECT_TRUE(std::equal(full.begin(), full.end(), big.begin()));
  EXPECT_EQ(big.back(), 0xEE);  // nothing written past the header
}

TEST(ProxyV2Encode, LengthsAreCheckedNeverTruncated) {
  const std::string big(kMaxTlvValueLen + 1, 'x');
  ProxyV2Info info = tcp_info();
  info.alpn = span_of(big);
  EXPECT_EQ(encode_error(info), Error::kAlpnTooLong);

  info = tcp_info();
  info.authority = big;
  EXPECT_EQ(encode_error(info), Error::kAuthorityTooLong);

  // The largest ALPN that fits: 12 + 3 + 65520 = 65535 after the fixed part.
  const std::string fits(65520, 'a');
  info = tcp_info();
  info.alpn = span_of(fits);
  Result<size_t, Error> size = proxy_v2_size(info);
  ASSERT_TRUE(size);
  EXPECT_EQ(*size, kMaxHeaderLen);
  const std::vector<uint8_t> max_header = encode(info);
  ASSERT_EQ(max_header.size(), kMaxHeaderLen);
  EXPECT_EQ(max_header[14], 0xFF);
  EXPECT_EQ(max_header[15], 0xFF);
  const std::string one_more(65521, 'a');
  info.alpn = span_of(one_more);
  EXPECT_EQ(encode_error(info), Error::kHeaderTooLong);

  // A CN that would push the SSL TLV past 65535 bytes.
  const std::string long_cn(kMaxTlvValueLen - 5 - 10 - 3 + 1, 'c');
  info = tcp_info();
  info.tls = TlsFacts{.version = "TLSv1.3",
                      .client_cert_conn = true,
                      .client_cert_sess = true,
                      .verified = true,
                      .cn = long_cn};
  EXPECT_EQ(encode_error(info), Error::kSslTlvTooLong);
  info.tls->cn = big;
  EXPECT_EQ(encode_error(info), Error::kSslTlvTooLong);
  // One byte shorter fits the SSL TLV, but then the header is too long.
  const std::string cn_fits(kMaxTlvValueLen - 5 - 10 - 3, 'c');
  info.tls->cn = cn_fits;
  EXPECT_EQ(encode_error(info), Error::kHeaderTooLong);
}

TEST(ProxyV2Encode, RefusesInconsistentTlsFacts) {
  ProxyV2Info info = tcp_info();
  info.tls = TlsFacts{.cipher = "TLS_AES_128_GCM_SHA256"};
  EXPECT_EQ(encode_error(info), Error::kMissingTlsVersion);

  info.tls = TlsFacts{.version = "TLSv1.3", .client_cert_conn = true};
  EXPECT_EQ(encode_error(info), Error::kInconsistentClientCert);
  info.tls = TlsFacts{.version = "TLSv1.3", .verified = true};
  EXPECT_EQ(encode_error(info), Error::kInconsistentClientCert);
  info.tls = TlsFacts{
      .version = "TLSv1.3", .client_cert_conn = true, .client_cert_sess = true, .cn = "unverified"};
  EXPECT_EQ(encode_error(info), Error::kInconsistentClientCert);
}

// ---- Round trips --------------------------------------------------------------------------

std::vector<ProxyV2Info> sample_infos(const std::string& long_alpn) {
  std::vector<ProxyV2Info> all;
  all.push_back(tcp_info());
  ProxyV2Info a = tcp_info();
  a.src = {0xFFFFFFFF, 65535};
  a.dst = {0, 0};
  a.alpn = span_of(long_alpn);
  a.authority = "www.example.org";
  all.push_back(a);
  ProxyV2Info t = tcp_info();
  t.alpn = span_of("h2");
  t.tls = TlsFacts{.version = "TLSv1.3",
                   .cipher = "TLS_CHACHA20_POLY1305_SHA256",
                   .sig_alg = "ED25519",
                   .key_alg = "ED25519",
                   .client_cert_conn = true,
                   .client_cert_sess = true,
                   .verified = true,
                   .cn = "J\xC3\xBCrgen"};
  all.push_back(t);
  t.tls = TlsFacts{.version = "TLSv1.2", .cipher = "ECDHE-ECDSA-CHACHA20-POLY1305"};
  all.push_back(t);
  t.tls = TlsFacts{.version = "TLSv1.2", .client_cert_sess = true, .verified = true};
  all.push_back(t);
  return all;
}

TEST(ProxyV2RoundTrip, DecodeGivesBackWhatWasEncoded) {
  const std::string long_alpn(300, 'p');
  for (const ProxyV2Info& info : sample_infos(long_alpn)) {
    std::vector<uint8_t> wire = encode(info);
    const size_t header_len = wire.size();
    wire.insert(wire.end(), {'G', 'E', 'T', ' '});  // the proxied stream follows
    Result<ProxyV2Header, Error> h = decode_proxy_v2(wire);
    ASSERT_TRUE(h) << to_string(h.error());
    EXPECT_EQ(h->header_len, header_len);
    EXPECT_EQ(h->command, Command::kProxy);
    EXPECT_EQ(h->family, Family::kInet);
    EXPECT_EQ(h->transport, Transport::kStream);
    EXPECT_EQ(h->addresses.size(), kInetAddressLen);
    EXPECT_TRUE(h->info == info);
    EXPECT_EQ(h->has_ssl, info.tls.has_value());
  }
}

TEST(ProxyV2RoundTrip, TlvListsReportEveryTlvInOrder) {
  ProxyV2Info info = tcp_info();
  info.alpn = span_of("h2");
  info.authority = "x.test";
  info.tls = TlsFacts{.version = "TLSv1.3", .cipher = "TLS_AES_128_GCM_SHA256"};
  const std::vector<uint8_t> wire = encode(info);
  Result<ProxyV2Header, Error> h = decode_proxy_v2(wire);
  ASSERT_TRUE(h);
  ASSERT_EQ(h->tlvs.count(), 3u);
  EXPECT_EQ(tlv_list(h->tlvs)[0], (std::pair<uint8_t, std::string>{kTypeAlpn, "h2"}));
  EXPECT_EQ(tlv_list(h->tlvs)[1], (std::pair<uint8_t, std::string>{kTypeAuthority, "x.test"}));
  EXPECT_EQ(tlv_list(h->tlvs)[2].first, kTypeSsl);
  EXPECT_EQ(h->ssl_client, kClientSsl);
  EXPECT_EQ(h->ssl_verify, 1u);
  EXPECT_EQ(tlv_list(h->ssl_sub_tlvs), (TlvVec{{kSubtypeSslVersion, "TLSv1.3"},
                                               {kSubtypeSslCipher, "TLS_AES_128_GCM_SHA256"}}));
  ASSERT_TRUE(h->tlvs.find(kTypeAuthority));
  EXPECT_EQ(h->tlvs.find(kTypeAuthority)->value.size(), 6u);
  EXPECT_FALSE(h->tlvs.find(kTypeNoop));
}

// ---- Decoding what others send ------------------------------------------------------------

TEST(ProxyV2Decode, KeepsUnknownTlvsAndSubTlvs) {
  // CRC32C (not checked), NOOP, a custom type, then SSL with an unknown sub-type between
  // known ones. SSL value: 5 + (3+7) + (3+2) + (3+1) = 24 (0x18); TLVs: (3+4) + (3+0) +
  // (3+3) + (3+24) = 43; length 12 + 43 = 55 (0x37).
  Bytes b;
  addresses(b.sig().raw({0x21, 0x11, 0x00, 0x37}));
  b.raw({0x03, 0x00, 0x04, 0xDE, 0xAD, 0xBE, 0xEF});
  b.raw({0x04, 0x00, 0x00});
  b.raw({0xE0, 0x00, 0x03}).str("abc");
  b.raw({0x20, 0x00, 0x18, 0x05, 0x00, 0x00, 0x00, 0x00});
  b.raw({0x21, 0x00, 0x07}).str("TLSv1.3");
  b.raw({0x2A, 0x00, 0x02}).str("zz");
  b.raw({0x22, 0x00, 0x01}).str("n");
  Result<ProxyV2Header, Error> h = decode_proxy_v2(b);
  ASSERT_TRUE(h) << to_string(h.error());
  EXPECT_EQ(h->header_len, 16u + 0x37u);
  const TlvVec tlvs = tlv_list(h->tlvs);
  ASSERT_EQ(tlvs.size(), 4u);
  EXPECT_EQ(tlvs[0], (std::pair<uint8_t, std::string>{kTypeCrc32c, "\xDE\xAD\xBE\xEF"}));
  EXPECT_EQ(tlvs[1], (std::pair<uint8_t, std::string>{kTypeNoop, ""}));
  EXPECT_EQ(tlvs[2], (std::pair<uint8_t, std::string>{0xE0, "abc"}));
  EXPECT_EQ(tlvs[3].first, kTypeSsl);
  EXPECT_EQ(tlv_list(h->ssl_sub_tlvs),
            (TlvVec{{kSubtypeSslVersion, "TLSv1.3"}, {0x2A, "zz"}, {kSubtypeSslCn, "n"}}));
  ASSERT_TRUE(h->info.tls);
  EXPECT_EQ(h->info.tls->version, "TLSv1.3");
  EXPECT_EQ(h->info.tls->cn, "n");
  EXPECT_FALSE(h->info.tls->client_cert_conn);
  EXPECT_TRUE(h->info.tls->client_cert_sess);
  EXPECT_TRUE(h->info.tls->verified);
}

TEST(ProxyV2Decode, SslTlvWithoutTheSslBitIsNoTls) {
  // HAProxy sends the SSL TLV with client 0 and verify 0 for a plain connection.
  Bytes b;
  addresses(b.sig().raw({0x21, 0x11, 0x00, 0x14}));
  b.raw({0x20, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00});
  Result<ProxyV2Header, Error> h = decode_proxy_v2(b);
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->has_ssl);
  EXPECT_EQ(h->ssl_client, 0);
  EXPECT_FALSE(h->info.tls);
  EXPECT_TRUE(h->ssl_sub_tlvs.empty());
}

TEST(ProxyV2Decode, VerifyZeroWithoutCertificateIsNotVerified) {
  Bytes b;
  addresses(b.sig().raw({0x21, 0x11, 0x00, 0x1E}));
  b.raw({0x20, 0x00, 0x0F, 0x01, 0x00, 0x00, 0x00, 0x00});
  b.raw({0x21, 0x00, 0x07}).str("TLSv1.2");
  Result<ProxyV2Header, Error> h = decode_proxy_v2(b);
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->info.tls);
  EXPECT_FALSE(h->info.tls->verified);
  EXPECT_EQ(h->ssl_verify, 0u);
}

TEST(ProxyV2Decode, LocalCommandNeedsNoAddresses) {
  Bytes b;
  b.sig().raw({0x20, 0x00, 0x00, 0x00});
  Result<ProxyV2Header, Error> h = decode_proxy_v2(b);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->header_len, 16u);
  EXPECT_EQ(h->command, Command::kLocal);
  EXPECT_EQ(h->family, Family::kUnspec);
  EXPECT_TRUE(h->addresses.empty());
  EXPECT_TRUE(h->tlvs.empty());
}

TEST(ProxyV2Decode, LocalCommandAddressesAreSkippedNotUsed) {
  // "Receivers MUST always consider this field to skip the appropriate number of bytes and
  // must not assume zero is presented for LOCAL connections."
  Bytes b;
  addresses(b.sig().raw({0x20, 0x11, 0x00, 0x0F}));
  b.raw({0x04, 0x00, 0x00});
  Result<ProxyV2Header, Error> h = decode_proxy_v2(b);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->header_len, 31u);
  EXPECT_EQ(h->command, Command::kLocal);
  EXPECT_EQ(h->addresses.size(), kInetAddressLen);
  EXPECT_EQ(h->info.src, Ipv4Endpoint{});
  EXPECT_EQ(h->info.dst, Ipv4Endpoint{});
  EXPECT_EQ(h->tlvs.count(), 1u);
}

TEST(ProxyV2Decode, OtherFamiliesAreRecognisedAndReportedAsSuch) {
  struct Case {
    uint8_t fam;
    size_t addr_len;
    Family family;
    Transport transport;
  };
  for (const Case& c : {Case{0x00, 0, Family::kUnspec, Transport::kUnspec},
                        Case{0x12, 12, Family::kInet, Transport::kDgram},
                        Case{0x21, 36, Family::kInet6, Transport::kStream},
                        Case{0x22, 36, Family::kInet6, Transport::kDgram},
                        Case{0x31, 216, Family::kUnix, Transport::kStream},
                        Case{0x32, 216, Family::kUnix, Transport::kDgram}}) {
    SCOPED_TRACE(c.fam);
    Bytes b;
    b.sig().raw({0x21, c.fam, 0x00, static_cast<uint8_t>(c.addr_len)}).fill(c.addr_len, 0x01);
    Result<ProxyV2Header, Error> h = decode_proxy_v2(b);
    ASSERT_TRUE(h) << to_string(h.error());
    EXPECT_EQ(h->family, c.family);
    EXPECT_EQ(h->transport, c.transport);
    EXPECT_EQ(h->addresses.size(), c.addr_len);
    EXPECT_EQ(h->header_len, 16 + c.addr_len);
    if (c.family == Family::kInet) {
      EXPECT_EQ(h->info.src, (Ipv4Endpoint{0x01010101, 0x0101}));  // UDP over IPv4
    } else {
      EXPECT_EQ(h->info.src, Ipv4Endpoint{});
    }
    // One byte short of the family's address block.
    std::vector<uint8_t> shorter = b.vec();
    shorter[15] = static_cast<uint8_t>(c.addr_len - 1);
    if (c.addr_len > 0) {
      EXPECT_EQ(decode_error(std::span<const uint8_t>(shorter).first(16 + c.addr_len - 1)),
                Error::kLengthTooShort);
    }
  }
}

TEST(ProxyV2Decode, AcceptsTheLargestHeader) {
  // Length 0xFFFF: 12 address bytes and one NOOP filling the rest (3 + 65520).
  Bytes b;
  addresses(b.sig().raw({0x21, 0x11, 0xFF, 0xFF}));
  b.raw({0x04, 0xFF, 0xF0}).fill(0xFFF0, 0x00);
  Result<ProxyV2Header, Error> h = decode_proxy_v2(b);
  ASSERT_TRUE(h) << to_string(h.error());
  EXPECT_EQ(h->header_len, kMaxHeaderLen);
  EXPECT_EQ(h->tlvs.find(kTypeNoop)->value.size(), 0xFFF0u);
}

// ---- Decoder errors -----------------------------------------------------------------------

std::vector<uint8_t> full_tls_header() {
  ProxyV2Info info = tcp_info();
  info.alpn = span_of("h2");
  info.authority = "example.com";
  info.tls = TlsFacts{.version = "TLSv1.3",
                      .cipher = "TLS_AES_128_GCM_SHA256",
                      .sig_alg = "ecdsa-with-SHA256",
                      .key_alg = "EC256",
                      .client_cert_conn = true,
                      .client_cert_sess = true,
                      .verified = true,
                      .cn = "client.test"};
  return encode(info);
}

TEST(ProxyV2DecodeError, EveryTruncationNeedsMoreBytes) {
  const std::vector<uint8_t> wire = full_tls_header();
  for (size_t n = 0; n < wire.size(); n++) {
    EXPECT_EQ(decode_error(std::span<const uint8_t>(wire).first(n)), Error::kNeedMoreBytes) << n;
  }
  EXPECT_TRUE(decode_proxy_v2(wire));
}

TEST(ProxyV2DecodeError, BadSignatureAtEveryByteAndAsSoonAsSeen) {
  const std::vector<uint8_t> wire = full_tls_header();
  for (size_t i = 0; i < 12; i++) {
    std::vector<uint8_t> bad = wire;
    bad[i] ^= 0x20;
    EXPECT_EQ(decode_error(bad), Error::kBadSignature) << i;
    // Refused with only the bytes up to the wrong one.
    EXPECT_EQ(decode_error(std::span<const uint8_t>(bad).first(i + 1)), Error::kBadSignature) << i;
  }
  // Version 1's text header and a TLS ClientHello are not version 2.
  EXPECT_EQ(decode_error(span_of("PROXY TCP4 192.0.2.1 10.0.0.1 5 443\r\n")), Error::kBadSignature);
  EXPECT_EQ(decode_error(Bytes().raw({0x16, 0x03, 0x01, 0x00, 0xC8})), Error::kBadSignature);
}

TEST(ProxyV2DecodeError, BadVersionAndCommand) {
  const std::vector<uint8_t> wire = full_tls_header();
  for (uint8_t ver_cmd : {0x01, 0x11, 0x31, 0xF1, 0x10}) {
    std::vector<uint8_t> bad = wire;
    bad[12] = ver_cmd;
    EXPECT_EQ(decode_error(bad), Error::kBadVersion) << int{ver_cmd};
    EXPECT_EQ(decode_error(std::span<const uint8_t>(bad).first(13)), Error::kBadVersion);
  }
  for (uint8_t ver_cmd : {0x22, 0x23, 0x2F}) {
    std::vector<uint8_t> bad = wire;
    bad[12] = ver_cmd;
    EXPECT_EQ(decode_error(bad), Error::kBadCommand) << int{ver_cmd};
    EXPECT_EQ(decode_error(std::span<const uint8_t>(bad).first(13)), Error::kBadCommand);
  }
}

TEST(ProxyV2DecodeError, BadFamily) {
  const std::vector<uint8_t> wire = full_tls_header();
  const std::set<uint8_t> valid = {0x00, 0x11, 0x12, 0x21, 0x22, 0x31, 0x32};
  for (int fam = 0; fam < 256; fam++) {
    if (valid.count(static_cast<uint8_t>(fam)) != 0) {
      continue;
    }
    std::vector<uint8_t> bad = wire;
    bad[13] = static_cast<uint8_t>(fam);
    EXPECT_EQ(decode_error(bad), Error::kBadFamily) << fam;
    EXPECT_EQ(decode_error(std::span<const uint8_t>(bad).first(14)), Error::kBadFamily) << fam;
  }
}

TEST(ProxyV2DecodeError, LengthTooShortForTheAddresses) {
  // Refused from the fixed part alone: no need to wait for the body.
  for (uint8_t len = 0; len < kInetAddressLen; len++) {
    EXPECT_EQ(decode_error(Bytes().sig().raw({0x21, 0x11, 0x00, len})), Error::kLengthTooShort);
  }
  EXPECT_EQ(decode_error(Bytes().sig().raw({0x20, 0x21, 0x00, 35})), Error::kLengthTooShort);
  EXPECT_EQ(decode_error(Bytes().sig().raw({0x21, 0x31, 0x00, 215})), Error::kLengthTooShort);
}

TEST(ProxyV2DecodeError, TlvOverrunsTheDeclaredLength) {
  // A TLV claiming 5 bytes with 4 left inside the declared length (12 + 3 + 4 = 19); bytes
  // after the header must not be taken for the rest of it.
  Bytes b;
  addresses(b.sig().raw({0x21, 0x11, 0x00, 0x13}));
  b.raw({0xE1, 0x00, 0x05}).str("abcd").str("e and the stream");
  EXPECT_EQ(decode_error(b), Error::kTlvOverrun);
}

TEST(ProxyV2DecodeError, TrailingGarbageInsideTheDeclaredLength) {
  for (size_t extra : {1, 2}) {
    Bytes b;
    addresses(b.sig().raw({0x21, 0x11, 0x00, static_cast<uint8_t>(0x0F + extra)}));
    b.raw({0x04, 0x00, 0x00}).fill(extra, 0x00);
    EXPECT_EQ(decode_error(b), Error::kTlvOverrun) << extra;
  }
}

TEST(ProxyV2DecodeError, SslTlvTooShort) {
  for (uint8_t n = 0; n < kSslFixedLen; n++) {
    Bytes b;
    addresses(b.sig().raw({0x21, 0x11, 0x00, static_cast<uint8_t>(12 + 3 + n)}));
    b.raw({0x20, 0x00, n}).fill(n, 0x01);
    EXPECT_EQ(decode_error(b), Error::kSslTlvTooShort) << int{n};
  }
}

TEST(ProxyV2DecodeError, SslSubTlvOverrunsTheSslTlv) {
  // The SSL TLV holds 5 + 3 + 6 = 14 bytes but its VERSION sub-TLV claims 7; the byte after
  // it (an ALPN TLV's type) must not be read as the seventh.
  Bytes b;
  addresses(b.sig().raw({0x21, 0x11, 0x00, 0x20}));
  b.raw({0x20, 0x00, 0x0E, 0x01, 0x00, 0x00, 0x00, 0x01});
  b.raw({0x21, 0x00, 0x07}).str("TLSv1.");
  b.raw({0x01, 0x00, 0x00});
  EXPECT_EQ(decode_error(b), Error::kSslSubTlvOverrun);

  // Trailing bytes inside the SSL TLV after complete sub-TLVs.
  for (size_t extra : {1, 2}) {
    Bytes g;
    const uint8_t ssl_len = static_cast<uint8_t>(5 + 10 + extra);
    addresses(g.sig().raw({0x21, 0x11, 0x00, static_cast<uint8_t>(12 + 3 + ssl_len)}));
    g.raw({0x20, 0x00, ssl_len, 0x01, 0x00, 0x00, 0x00, 0x01});
    g.raw({0x21, 0x00, 0x07}).str("TLSv1.3").fill(extra, 0x21);
    EXPECT_EQ(decode_error(g), Error::kSslSubTlvOverrun) << extra;
  }
}

TEST(ProxyV2DecodeError, InterpretedTypesMayNotRepeat) {
  Bytes alpn;
  addresses(alpn.sig().raw({0x21, 0x11, 0x00, 0x14}));
  alpn.raw({0x01, 0x00, 0x02}).str("h2").raw({0x01, 0x00, 0x00});
  EXPECT_EQ(decode_error(alpn), Error::kDuplicateTlv);

  Bytes authority;
  addresses(authority.sig().raw({0x21, 0x11, 0x00, 0x14}));
  authority.raw({0x02, 0x00, 0x01}).str("a").raw({0x02, 0x00, 0x01}).str("b");
  EXPECT_EQ(decode_error(authority), Error::kDuplicateTlv);

  Bytes ssl;
  addresses(ssl.sig().raw({0x21, 0x11, 0x00, 0x1C}));
  ssl.raw({0x20, 0x00, 0x05, 0x01, 0x00, 0x00, 0x00, 0x01});
  ssl.raw({0x20, 0x00, 0x05, 0x01, 0x00, 0x00, 0x00, 0x01});
  EXPECT_EQ(decode_error(ssl), Error::kDuplicateTlv);

  for (uint8_t sub : {kSubtypeSslVersion, kSubtypeSslCn, kSubtypeSslCipher, kSubtypeSslSigAlg,
                      kSubtypeSslKeyAlg}) {
    Bytes b;
    addresses(b.sig().raw({0x21, 0x11, 0x00, 0x1E}));
    b.raw({0x20, 0x00, 0x0F, 0x07, 0x00, 0x00, 0x00, 0x00});
    b.raw({sub, 0x00, 0x02}).str("x1").raw({sub, 0x00, 0x02}).str("x2");
    EXPECT_EQ(decode_error(b), Error::kDuplicateTlv) << int{sub};
  }

  // Unknown types may repeat.
  Bytes noop;
  addresses(noop.sig().raw({0x21, 0x11, 0x00, 0x12}));
  noop.raw({0x04, 0x00, 0x00, 0x04, 0x00, 0x00});
  Result<ProxyV2Header, Error> h = decode_proxy_v2(noop);
  ASSERT_TRUE(h);
  EXPECT_EQ(h->tlvs.count(), 2u);
}

TEST(ProxyV2Errors, EveryErrorHasItsOwnDescription) {
  std::set<std::string_view> seen;
  for (int e = static_cast<int>(Error::kNeedMoreBytes);
       e <= static_cast<int>(Error::kInconsistentClientCert); e++) {
    const std::string_view s = to_string(static_cast<Error>(e));
    EXPECT_FALSE(s.empty());
    EXPECT_NE(s, "unknown PROXY error");
    EXPECT_TRUE(seen.insert(s).second) << s;
  }
}

// ---- Names --------------------------------------------------------------------------------

TEST(ProxyV2Names, CipherSuitesAsOpenSslNamesThem) {
  // `openssl ciphers -V` (OpenSSL 3.0).
  EXPECT_EQ(openssl_cipher_name(0x1301), "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(openssl_cipher_name(0x1302), "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(openssl_cipher_name(0x1303), "TLS_CHACHA20_POLY1305_SHA256");
  EXPECT_EQ(openssl_cipher_name(0xC02B), "ECDHE-ECDSA-AES128-GCM-SHA256");
  EXPECT_EQ(openssl_cipher_name(0xC02C), "ECDHE-ECDSA-AES256-GCM-SHA384");
  EXPECT_EQ(openssl_cipher_name(0xC02F), "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(openssl_cipher_name(0xC030), "ECDHE-RSA-AES256-GCM-SHA384");
  EXPECT_EQ(openssl_cipher_name(0xCCA8), "ECDHE-RSA-CHACHA20-POLY1305");
  EXPECT_EQ(openssl_cipher_name(0xCCA9), "ECDHE-ECDSA-CHACHA20-POLY1305");
  EXPECT_EQ(openssl_cipher_name(0x1304), "");
  EXPECT_EQ(openssl_cipher_name(0x009C), "");
}

TEST(ProxyV2Names, TlsVersions) {
  EXPECT_EQ(tls_version_name(0x0303), "TLSv1.2");
  EXPECT_EQ(tls_version_name(0x0304), "TLSv1.3");
  EXPECT_EQ(tls_version_name(0x0302), "");
  EXPECT_EQ(tls_version_name(0x7F1C), "");
}

}  // namespace
}  // namespace linetls::proxy
