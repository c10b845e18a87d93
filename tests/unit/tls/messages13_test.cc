// TLS 1.3 message codecs: RFC 8448 §3's ServerHello, EncryptedExtensions, Certificate,
// CertificateVerify and Finished parsed (and rewritten byte for byte where we write them),
// the §4.4.3 signed content, round trips of ClientHello / NewSessionTicket / KeyUpdate, and
// the rejections each parser owes.
#include "lib/tls/messages13.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "lib/tls/handshake_msg.h"
#include "tests/unit/crypto/test_util.h"

namespace linetls::tls {
namespace {

using Bytes = std::vector<uint8_t>;
using crypto::testing::hex;
using crypto::testing::read_records;
using crypto::testing::to_hex;

Bytes message(const std::string& name) {
  for (auto& r : read_records("tls13/rfc8448_simple.txt")) {
    if (r["name"] == "messages") {
      return hex(r[name]);
    }
  }
  ADD_FAILURE() << "no messages section";
  return {};
}

std::span<const uint8_t> body(const Bytes& m) { return std::span(m).subspan(4); }

TEST(Messages13, Rfc8448ServerHello) {
  const Bytes m = message("server_hello");
  auto sh = parse_server_hello(body(m));
  ASSERT_TRUE(sh) << to_string(sh.error());
  EXPECT_FALSE(sh->is_hello_retry_request);
  EXPECT_EQ(sh->cipher_suite, 0x1301);
  EXPECT_EQ(sh->selected_version, kTls13);
  EXPECT_EQ(sh->key_share_group, 0x001d);
  EXPECT_EQ(to_hex(sh->key_share),
            "c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f");
  EXPECT_TRUE(sh->legacy_session_id_echo.empty());
  EXPECT_FALSE(sh->selected_psk);
}

TEST(Messages13, ServerHelloRejections) {
  Bytes m = message("server_hello");
  Bytes bad = m;
  bad[5] = 0x04;  // legacy_version 0x0304
  EXPECT_EQ(parse_server_hello(body(bad)).error(), Error::kIllegalParameter);
  bad = m;
  bad[4 + 2 + 32 + 1 + 2] = 1;  // legacy_compression_method
  EXPECT_EQ(parse_server_hello(body(bad)).error(), Error::kIllegalParameter);
  bad = m;
  bad.push_back(0);
  EXPECT_EQ(parse_server_hello(body(bad)).error(), Error::kDecodeError);
  // Without supported_versions (the last 6 bytes) a TLS 1.3 ServerHello is incomplete.
  bad.assign(m.begin(), m.end() - 6);
  bad[3] -= 6;
  bad[4 + 2 + 32 + 1 + 3 + 1] -= 6;
  EXPECT_EQ(parse_server_hello(body(bad)).error(), Error::kMissingExtension);
}

TEST(Messages13, HelloRetryRequestRoundTrip) {
  Bytes buf(256);
  ByteWriter w(buf);
  const uint8_t sid[3] = {1, 2, 3};
  const uint8_t cookie[4] = {9, 8, 7, 6};
  HelloRetryRequestParams p;
  p.legacy_session_id_echo = sid;
  p.cipher_suite = CipherSuite::kAes256GcmSha384;
  p.selected_group = 0x0018;
  p.cookie = cookie;
  ASSERT_TRUE(write_hello_retry_request(w, p));
  buf.resize(w.size());
  auto sh = parse_server_hello(body(buf));
  ASSERT_TRUE(sh) << to_string(sh.error());
  EXPECT_TRUE(sh->is_hello_retry_request);
  EXPECT_EQ(sh->key_share_group, 0x0018);
  EXPECT_EQ(sh->cipher_suite, 0x1302);
  EXPECT_EQ(to_hex(sh->cookie), "09080706");
  EXPECT_EQ(to_hex(sh->legacy_session_id_echo), "010203");
}

TEST(Messages13, Rfc8448EncryptedExtensions) {
  const Bytes m = message("encrypted_extensions");
  auto ee = parse_encrypted_extensions(body(m));
  ASSERT_TRUE(ee) << to_string(ee.error());
  EXPECT_TRUE(ee->server_name_ack);
  EXPECT_EQ(ee->record_size_limit, 0x4001);
  EXPECT_TRUE(ee->alpn_protocol.empty());
  EXPECT_FALSE(ee->early_data);
}

TEST(Messages13, EncryptedExtensionsAlpnMustNameOneProtocol) {
  // ALPN with two names: "h2", "h3".
  const Bytes two = hex("08000011000f0010000b0009026832026833");
  EXPECT_EQ(parse_encrypted_extensions(body(two)).error(), Error::kDecodeError);
  const Bytes ok = hex("0800000b0009001000050003026832");
  auto ee = parse_encrypted_extensions(body(ok));
  ASSERT_TRUE(ee) << to_string(ee.error());
  EXPECT_EQ(to_hex(ee->alpn_protocol), "6832");
  // key_share is not allowed in EncryptedExtensions (§4.2 table).
  const Bytes ks = hex("080000080006003300020017");
  EXPECT_EQ(parse_encrypted_extensions(body(ks)).error(), Error::kMisplacedExtension);
}

TEST(Messages13, Rfc8448CertificateParsesAndRewrites) {
  const Bytes m = message("certificate");
  auto c = parse_certificate(body(m));
  ASSERT_TRUE(c) << to_string(c.error());
  EXPECT_TRUE(c->request_context.empty());
  ASSERT_EQ(c->num_entries, 1u);
  EXPECT_EQ(c->entries[0].size(), 0x1b0u);
  Bytes out(m.size() + 16);
  ByteWriter w(out);
  const std::span<const uint8_t> chain[] = {c->entries[0]};
  ASSERT_TRUE(write_certificate(w, chain));
  out.resize(w.size());
  EXPECT_EQ(to_hex(out), to_hex(m));
}

TEST(Messages13, CertificateRejections) {
  // An empty cert_data.
  EXPECT_EQ(parse_certificate(body(hex("0b000009000000050000000000"))).error(),
            Error::kDecodeError);
  // A key_share extension inside a CertificateEntry (§4.2: not allowed there).
  EXPECT_EQ(parse_certificate(body(hex("0b0000100000000c000001aa0006003300020017"))).error(),
            Error::kMisplacedExtension);
  // An empty list parses (the client turns it into decode_error, §4.4.2.4).
  auto empty = parse_certificate(body(hex("0b0000040000000000")));
  ASSERT_FALSE(empty);  // header says 4 but 5 bytes follow: trailing byte
  auto none = parse_certificate(body(hex("0b00000400000000")));
  ASSERT_TRUE(none);
  EXPECT_EQ(none->num_entries, 0u);
}

TEST(Messages13, Rfc8448CertificateVerifyParsesAndRewrites) {
  const Bytes m = message("certificate_verify");
  auto cv = parse_certificate_verify(body(m));
  ASSERT_TRUE(cv) << to_string(cv.error());
  EXPECT_EQ(cv->scheme, 0x0804);
  EXPECT_EQ(cv->signature.size(), 128u);
  Bytes out(m.size());
  ByteWriter w(out);
  ASSERT_TRUE(write_certificate_verify(w, cv->scheme, cv->signature));
  EXPECT_EQ(to_hex(out), to_hex(m));
  Bytes bad = m;
  bad.push_back(0);
  EXPECT_EQ(parse_certificate_verify(body(bad)).error(), Error::kDecodeError);
}

TEST(Messages13, CertificateVerifyContentIsSection443) {
  Bytes h(32);
  for (size_t i = 0; i < h.size(); i++) {
    h[i] = static_cast<uint8_t>(i);
  }
  const auto c = certificate_verify_content(true, h);
  ASSERT_EQ(c.len, 64u + 33 + 1 + 32);
  for (size_t i = 0; i < 64; i++) {
    ASSERT_EQ(c.bytes[i], 0x20);
  }
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(c.bytes + 64), 33),
            "TLS 1.3, server CertificateVerify");
  EXPECT_EQ(c.bytes[64 + 33], 0);
  EXPECT_EQ(to_hex(std::span(c.bytes + 98, 32)), to_hex(h));
  const auto client = certificate_verify_content(false, h);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(client.bytes + 64), 33),
            "TLS 1.3, client CertificateVerify");
}

TEST(Messages13, Rfc8448Finished) {
  const Bytes m = message("server_finished");
  auto vd = parse_finished(body(m), crypto::HashAlgo::kSha256);
  ASSERT_TRUE(vd);
  Bytes out(m.size());
  ByteWriter w(out);
  ASSERT_TRUE(write_finished(w, *vd));
  EXPECT_EQ(to_hex(out), to_hex(m));
  EXPECT_EQ(parse_finished(body(m), crypto::HashAlgo::kSha384).error(), Error::kDecodeError);
}

TEST(Messages13, ClientHelloRoundTripsThroughTheServerParser) {
  const uint8_t random[32] = {7};
  const uint8_t sid[32] = {1};
  const uint16_t suites[] = {0x1301, 0x1303};
  const uint16_t groups[] = {0x001d, 0x0017};
  const uint8_t pub[32] = {9};
  const KeyShareEntry shares[] = {{0x001d, pub}};
  const uint16_t schemes[] = {0x0403, 0x0804};
  const Bytes name = {'a', '.', 'b'};
  const Bytes h2 = {'h', '2'};
  const std::span<const uint8_t> alpn[] = {h2};
  ClientHelloParams p;
  p.random = random;
  p.session_id = sid;
  p.cipher_suites = suites;
  p.supported_groups = groups;
  p.key_shares = shares;
  p.signature_algorithms = schemes;
  p.server_name = name;
  p.alpn = alpn;
  Bytes buf(1024);
  ByteWriter w(buf);
  ASSERT_TRUE(write_client_hello(w, p));
  buf.resize(w.size());
  ASSERT_EQ(buf[0], 1);
  auto ch = parse_client_hello(body(buf));
  ASSERT_TRUE(ch) << to_string(ch.error());
  EXPECT_TRUE(check_tls13_client_hello(*ch));
  EXPECT_TRUE(ch->offers_tls13());
  EXPECT_EQ(to_hex(ch->cipher_suites), "13011303");
  EXPECT_EQ(to_hex(ch->supported_groups), "001d0017");
  EXPECT_EQ(to_hex(ch->signature_algorithms), "04030804");
  EXPECT_EQ(to_hex(ch->server_name), "612e62");
  EXPECT_EQ(to_hex(ch->alpn), "026832");
  ASSERT_EQ(ch->num_key_shares, 1u);
  EXPECT_EQ(ch->key_shares[0].key_exchange.size(), 32u);
  EXPECT_EQ(ch->legacy_session_id.size(), 32u);
}

TEST(Messages13, NewSessionTicketRoundTripAndLifetimeLimit) {
  const uint8_t nonce[2] = {0, 1};
  const uint8_t ticket[5] = {1, 2, 3, 4, 5};
  NewSessionTicketMsg m;
  m.ticket_lifetime = 7200;
  m.ticket_age_add = 0xdeadbeef;
  m.ticket_nonce = nonce;
  m.ticket = ticket;
  m.max_early_data_size = 1024;
  Bytes buf(128);
  ByteWriter w(buf);
  ASSERT_TRUE(write_new_session_ticket(w, m));
  buf.resize(w.size());
  EXPECT_EQ(buf[0], 4);
  auto p = parse_new_session_ticket(body(buf));
  ASSERT_TRUE(p) << to_string(p.error());
  EXPECT_EQ(p->ticket_lifetime, 7200u);
  EXPECT_EQ(p->ticket_age_add, 0xdeadbeefu);
  EXPECT_EQ(to_hex(p->ticket_nonce), "0001");
  EXPECT_EQ(to_hex(p->ticket), "0102030405");
  ASSERT_TRUE(p->max_early_data_size);
  EXPECT_EQ(*p->max_early_data_size, 1024u);
  // §4.6.1: more than 7 days.
  Bytes bad = buf;
  bad[4] = 0x7f;
  EXPECT_EQ(parse_new_session_ticket(body(bad)).error(), Error::kIllegalParameter);
  m.ticket_lifetime = kMaxTicketLifetime + 1;
  ByteWriter w2(bad);
  EXPECT_FALSE(write_new_session_ticket(w2, m));
}

TEST(Messages13, KeyUpdate) {
  for (auto r : {KeyUpdateRequest::kNotRequested, KeyUpdateRequest::kRequested}) {
    Bytes buf(5);
    ByteWriter w(buf);
    ASSERT_TRUE(write_key_update(w, r));
    EXPECT_EQ(buf[0], 24);
    auto p = parse_key_update(body(buf));
    ASSERT_TRUE(p);
    EXPECT_EQ(*p, r);
  }
  const uint8_t two[] = {2};
  EXPECT_EQ(parse_key_update(two).error(), Error::kIllegalParameter);
  const uint8_t long_body[] = {0, 0};
  EXPECT_EQ(parse_key_update(long_body).error(), Error::kDecodeError);
}

}  // namespace
}  // namespace linetls::tls
