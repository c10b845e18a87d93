// TLS 1.2 message codecs: each writer's output parses back to what was written (and, where
// the RFC fixes the bytes, is exactly those bytes), and a table of malformed bodies per
// message, each with the Error (and so the alert) the parser must give.
#include "lib/tls/v12/messages12.h"

#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "lib/tls/handshake_msg.h"
#include "tests/unit/crypto/test_util.h"

namespace linetls::tls::v12 {
namespace {

using crypto::testing::hex;
using crypto::testing::to_hex;

const std::string kRandom(64, 'a');  // 32 bytes of 0xaa, as hex

// Writes with f into a buffer and returns the body after checking the 4-byte header.
std::vector<uint8_t> written_body(HandshakeType type,
                                  const std::function<Result<void, Error>(ByteWriter&)>& f) {
  std::vector<uint8_t> buf(4096);
  ByteWriter w(buf);
  auto ok = f(w);
  EXPECT_TRUE(ok);
  buf.resize(w.size());
  EXPECT_GE(buf.size(), kHandshakeHeaderLen);
  EXPECT_EQ(buf[0], static_cast<uint8_t>(type));
  const size_t len = (size_t{buf[1]} << 16) | (size_t{buf[2]} << 8) | buf[3];
  EXPECT_EQ(len, buf.size() - kHandshakeHeaderLen);
  return {buf.begin() + kHandshakeHeaderLen, buf.end()};
}

std::string s(std::span<const uint8_t> b) { return std::string(b.begin(), b.end()); }
std::span<const uint8_t> bytes(const std::string& str) {
  return {reinterpret_cast<const uint8_t*>(str.data()), str.size()};
}

TEST(Messages12, ServerHelloRoundTripWithEveryExtension) {
  const auto random = hex(kRandom);
  const auto sid = hex("0102030405060708");
  ServerHelloParams p;
  p.random = random;
  p.session_id = sid;
  p.cipher_suite = CipherSuite::kEcdheRsaAes256GcmSha384;
  p.renegotiation_info = true;
  p.extended_master_secret = true;
  p.ec_point_formats = true;
  const std::string h2 = "h2";
  p.alpn_protocol = bytes(h2);
  p.session_ticket = true;
  p.server_name_ack = true;
  p.record_size_limit = 4096;
  const auto body = written_body(HandshakeType::kServerHello,
                                 [&](ByteWriter& w) { return write_server_hello(w, p); });
  // The fixed part and the extensions, byte for byte.
  EXPECT_EQ(to_hex(body), "0303" + kRandom + "080102030405060708" + "c030" + "00" +
                              "0026"                      // extensions length (38)
                              "ff01000100"                // renegotiation_info, empty
                              "00170000"                  // extended_master_secret
                              "000b00020100"              // ec_point_formats {uncompressed}
                              "0010000500030268" "32"     // ALPN "h2"
                              "00230000"                  // session_ticket
                              "00000000"                  // server_name
                              "001c00021000");            // record_size_limit 4096
  auto sh = parse_server_hello(body);
  ASSERT_TRUE(sh) << to_string(sh.error());
  EXPECT_EQ(to_hex(sh->random), kRandom);
  EXPECT_EQ(to_hex(sh->session_id), "0102030405060708");
  EXPECT_EQ(sh->cipher_suite, 0xC030);
  EXPECT_TRUE(sh->renegotiation_info);
  EXPECT_TRUE(sh->renegotiated_connection.empty());
  EXPECT_TRUE(sh->extended_master_secret);
  EXPECT_TRUE(sh->ec_point_formats);
  EXPECT_EQ(s(sh->alpn_protocol), "h2");
  EXPECT_TRUE(sh->session_ticket);
  EXPECT_TRUE(sh->server_name_ack);
  EXPECT_EQ(sh->record_size_limit, 4096);
}

TEST(Messages12, ServerHelloWithoutExtensionsHasNoBlock) {
  const auto random = hex(kRandom);
  ServerHelloParams p;
  p.random = random;
  const auto body = written_body(HandshakeType::kServerHello,
                                 [&](ByteWriter& w) { return write_server_hello(w, p); });
  EXPECT_EQ(to_hex(body), "0303" + kRandom + "00" + "c02b" + "00");
  auto sh = parse_server_hello(body);
  ASSERT_TRUE(sh);
  EXPECT_FALSE(sh->renegotiation_info || sh->extended_master_secret || sh->ec_point_formats ||
               sh->session_ticket || sh->server_name_ack);
  // An empty extensions block is also well formed.
  auto with_empty = body;
  with_empty.push_back(0);
  with_empty.push_back(0);
  EXPECT_TRUE(parse_server_hello(with_empty));
}

TEST(Messages12, ServerHelloWriterRefusesBadInput) {
  std::vector<uint8_t> buf(512);
  const auto short_random = hex(kRandom.substr(2));
  ServerHelloParams p;
  p.random = short_random;
  ByteWriter w(buf);
  EXPECT_EQ(write_server_hello(w, p).error(), Error::kInternalError);
  const auto random = hex(kRandom);
  const std::vector<uint8_t> sid(33, 1);
  p.random = random;
  p.session_id = sid;
  ByteWriter w2(buf);
  EXPECT_EQ(write_server_hello(w2, p).error(), Error::kInternalError);
  p.session_id = {};
  std::vector<uint8_t> tiny(10);
  ByteWriter w3(tiny);
  EXPECT_EQ(write_server_hello(w3, p).error(), Error::kInternalError);
}

TEST(Messages12, DowngradeSentinel) {
  auto random = hex(kRandom);
  EXPECT_FALSE(has_downgrade_sentinel(random));
  set_downgrade_sentinel(random);
  EXPECT_EQ(to_hex(std::span(random).last(8)), "444f574e47524401");
  EXPECT_EQ(to_hex(std::span(random).first(24)), kRandom.substr(0, 48));
  EXPECT_TRUE(has_downgrade_sentinel(random));
  random[31] = 0x00;  // the TLS 1.1-and-below form
  EXPECT_TRUE(has_downgrade_sentinel(random));
  random[31] = 0x02;
  EXPECT_FALSE(has_downgrade_sentinel(random));
  EXPECT_FALSE(has_downgrade_sentinel(std::span(random).first(31)));
}

TEST(Messages12, CertificateRoundTrip) {
  const auto a = hex("308201"), b = hex("3082020304");
  const std::span<const uint8_t> chain[] = {a, b};
  const auto body = written_body(HandshakeType::kCertificate,
                                 [&](ByteWriter& w) { return write_certificate(w, chain); });
  EXPECT_EQ(to_hex(body), "00000e" "000003308201" "0000053082020304");
  auto c = parse_certificate(body);
  ASSERT_TRUE(c);
  ASSERT_EQ(c->num_certs, 2u);
  EXPECT_EQ(to_hex(c->certs[0]), "308201");
  EXPECT_EQ(to_hex(c->certs[1]), "3082020304");
  // The client's empty answer.
  const auto none = written_body(HandshakeType::kCertificate,
                                 [&](ByteWriter& w) { return write_certificate(w, {}); });
  EXPECT_EQ(to_hex(none), "000000");
  auto n = parse_certificate(none);
  ASSERT_TRUE(n);
  EXPECT_EQ(n->num_certs, 0u);
}

TEST(Messages12, ServerKeyExchangeRoundTripAndSignedContent) {
  std::vector<uint8_t> point(32);
  for (size_t i = 0; i < point.size(); i++) {
    point[i] = static_cast<uint8_t>(i);
  }
  const auto sig = hex("30450221");
  const auto body = written_body(HandshakeType::kServerKeyExchange, [&](ByteWriter& w) {
    return write_server_key_exchange(w, 0x001d, point, 0x0403, sig);
  });
  auto ske = parse_server_key_exchange(body);
  ASSERT_TRUE(ske);
  EXPECT_EQ(ske->group, 0x001d);
  EXPECT_EQ(to_hex(ske->point), to_hex(point));
  EXPECT_EQ(ske->scheme, 0x0403);
  EXPECT_EQ(to_hex(ske->signature), "30450221");
  EXPECT_EQ(to_hex(ske->params), "03001d20" + to_hex(point));
  // The signed content is the two randoms then exactly the params bytes on the wire.
  const auto cr = hex(std::string(64, '1')), sr = hex(std::string(64, '2'));
  auto content = server_key_exchange_signed_content(cr, sr, 0x001d, point);
  ASSERT_TRUE(content);
  EXPECT_EQ(to_hex(content->view()), to_hex(cr) + to_hex(sr) + to_hex(ske->params));
  // P-384 is the largest point.
  const std::vector<uint8_t> p384(97, 4);
  auto big = server_key_exchange_signed_content(cr, sr, 0x0018, p384);
  ASSERT_TRUE(big);
  EXPECT_EQ(big->len, kMaxSignedParamsLen);
  EXPECT_EQ(server_key_exchange_signed_content(cr, sr, 0x0018, hex(std::string(196, '4'))).error(),
            Error::kInternalError);
  EXPECT_EQ(server_key_exchange_signed_content(cr, {}, 0x001d, point).error(),
            Error::kInternalError);
}

TEST(Messages12, CertificateRequestRoundTrip) {
  const uint8_t types[] = {kCertTypeEcdsaSign, kCertTypeRsaSign};
  const uint16_t algs[] = {0x0403, 0x0804, 0x0401};
  const auto dn1 = hex("3000"), dn2 = hex("300a310831060603550403");
  const std::span<const uint8_t> cas[] = {dn1, dn2};
  CertificateRequestParams p{types, algs, cas};
  const auto body = written_body(HandshakeType::kCertificateRequest,
                                 [&](ByteWriter& w) { return write_certificate_request(w, p); });
  EXPECT_EQ(to_hex(body), "024001" "0006040308040401" "0011" "00023000" "000b300a310831060603550403");
  auto cr = parse_certificate_request(body);
  ASSERT_TRUE(cr);
  EXPECT_EQ(to_hex(cr->certificate_types), "4001");
  EXPECT_TRUE(u16_list_contains(cr->signature_algorithms, 0x0804));
  EXPECT_FALSE(u16_list_contains(cr->signature_algorithms, 0x0503));
  EXPECT_EQ(cr->num_authorities, 2u);
}

TEST(Messages12, SmallMessagesRoundTrip) {
  EXPECT_TRUE(written_body(HandshakeType::kServerHelloDone,
                           [](ByteWriter& w) { return write_server_hello_done(w); })
                  .empty());
  const auto point = hex("04" + std::string(128, 'b'));
  auto cke = written_body(HandshakeType::kClientKeyExchange,
                          [&](ByteWriter& w) { return write_client_key_exchange(w, point); });
  EXPECT_EQ(to_hex(cke), "41" + to_hex(point));
  auto pt = parse_client_key_exchange(cke);
  ASSERT_TRUE(pt);
  EXPECT_EQ(to_hex(*pt), to_hex(point));

  const auto sig = hex("0102");
  auto cv = written_body(HandshakeType::kCertificateVerify,
                         [&](ByteWriter& w) { return write_certificate_verify(w, 0x0804, sig); });
  EXPECT_EQ(to_hex(cv), "080400020102");
  auto cvp = parse_certificate_verify(cv);
  ASSERT_TRUE(cvp);
  EXPECT_EQ(cvp->scheme, 0x0804);
  EXPECT_EQ(to_hex(cvp->signature), "0102");

  VerifyData vd;
  for (size_t i = 0; i < kVerifyDataLen; i++) {
    vd.bytes[i] = static_cast<uint8_t>(0xf0 + i);
  }
  auto fin = written_body(HandshakeType::kFinished,
                          [&](ByteWriter& w) { return write_finished(w, vd); });
  auto fp = parse_finished(fin);
  ASSERT_TRUE(fp);
  EXPECT_EQ(to_hex(*fp), to_hex(vd.view()));

  const auto ticket = hex("deadbeef");
  auto nst = written_body(HandshakeType::kNewSessionTicket, [&](ByteWriter& w) {
    return write_new_session_ticket(w, NewSessionTicket{7200, ticket});
  });
  EXPECT_EQ(to_hex(nst), "00001c200004deadbeef");
  auto np = parse_new_session_ticket(nst);
  ASSERT_TRUE(np);
  EXPECT_EQ(np->lifetime_hint, 7200u);
  EXPECT_EQ(to_hex(np->ticket), "deadbeef");

  EXPECT_TRUE(parse_change_cipher_spec(hex("01")));
}

// Every strict prefix of a valid body and every body with one byte appended is refused
// (with no read past the end: the tests also run under ASan). The ServerHello is the one
// message with an optional tail, so its prefix that stops before the extensions parses.
TEST(Messages12, EveryTruncationAndExtensionIsRefused) {
  const auto random = hex(kRandom);
  const std::string h2 = "h2";
  ServerHelloParams shp;
  shp.random = random;
  shp.renegotiation_info = shp.extended_master_secret = shp.ec_point_formats = true;
  shp.alpn_protocol = bytes(h2);
  const auto cert = hex("308201");
  const std::span<const uint8_t> chain[] = {cert, cert};
  const std::vector<uint8_t> point(65, 4), sig(71, 0x30);
  const uint8_t types[] = {kCertTypeEcdsaSign};
  const uint16_t algs[] = {0x0403};
  const auto dn = hex("3000");
  const std::span<const uint8_t> cas[] = {dn};
  VerifyData vd;
  const auto ticket = hex("0102");
  struct Body {
    const char* name;
    std::vector<uint8_t> body;
    std::function<bool(std::span<const uint8_t>)> parses;
    size_t optional_tail_at;  // a prefix of this length is valid too (0: none)
  };
  auto ok = [](auto r) { return r.ok(); };
  const Body bodies[] = {
      {"server_hello",
       written_body(HandshakeType::kServerHello, [&](ByteWriter& w) { return write_server_hello(w, shp); }),
       [&](auto b) { return ok(parse_server_hello(b)); }, 2 + 32 + 1 + 2 + 1},
      {"certificate",
       written_body(HandshakeType::kCertificate, [&](ByteWriter& w) { return write_certificate(w, chain); }),
       [&](auto b) { return ok(parse_certificate(b)); }, 0},
      {"server_key_exchange",
       written_body(HandshakeType::kServerKeyExchange,
                    [&](ByteWriter& w) { return write_server_key_exchange(w, 0x17, point, 0x0403, sig); }),
       [&](auto b) { return ok(parse_server_key_exchange(b)); }, 0},
      {"certificate_request",
       written_body(HandshakeType::kCertificateRequest, [&](ByteWriter& w) {
         return write_certificate_request(w, CertificateRequestParams{types, algs, cas});
       }),
       [&](auto b) { return ok(parse_certificate_request(b)); }, 0},
      {"client_key_exchange",
       written_body(HandshakeType::kClientKeyExchange,
                    [&](ByteWriter& w) { return write_client_key_exchange(w, point); }),
       [&](auto b) { return ok(parse_client_key_exchange(b)); }, 0},
      {"certificate_verify",
       written_body(HandshakeType::kCertificateVerify,
                    [&](ByteWriter& w) { return write_certificate_verify(w, 0x0403, sig); }),
       [&](auto b) { return ok(parse_certificate_verify(b)); }, 0},
      {"finished", written_body(HandshakeType::kFinished, [&](ByteWriter& w) { return write_finished(w, vd); }),
       [&](auto b) { return ok(parse_finished(b)); }, 0},
      {"new_session_ticket",
       written_body(HandshakeType::kNewSessionTicket,
                    [&](ByteWriter& w) { return write_new_session_ticket(w, NewSessionTicket{60, ticket}); }),
       [&](auto b) { return ok(parse_new_session_ticket(b)); }, 0},
  };
  for (const Body& b : bodies) {
    ASSERT_TRUE(b.parses(b.body)) << b.name;
    for (size_t n = 0; n < b.body.size(); n++) {
      // A copy of exactly n bytes, so ASan sees any read past the end.
      const std::vector<uint8_t> prefix(b.body.begin(), b.body.begin() + n);
      EXPECT_EQ(b.parses(prefix), n == b.optional_tail_at && n != 0) << b.name << " prefix " << n;
    }
    std::vector<uint8_t> longer = b.body;
    longer.push_back(0);
    EXPECT_FALSE(b.parses(longer)) << b.name << " + 1 byte";
  }
}

// ---- Malformed inputs ----

using Parser = std::function<Result<void, Error>(std::span<const uint8_t>)>;

template <typename F>
Parser wrap(F f) {
  return [f](std::span<const uint8_t> b) -> Result<void, Error> {
    auto r = f(b);
    if (!r) {
      return fail(r.error());
    }
    return {};
  };
}

struct Case {
  const char* name;
  Parser parse;
  std::string body_hex;
  bool ok;
  Error error;
};

// A ServerHello body with the given version and extension block (hex, with its length).
std::string sh(const std::string& tail, const std::string& version = "0303") {
  return version + kRandom + "00" + "c02b" + "00" + tail;
}

TEST(Messages12, MalformedInputsTable) {
  const Parser SH = wrap(parse_server_hello);
  const Parser CT = wrap(parse_certificate);
  const Parser SKE = wrap(parse_server_key_exchange);
  const Parser CR = wrap(parse_certificate_request);
  const Parser SHD = wrap(parse_server_hello_done);
  const Parser HR = wrap(parse_hello_request);
  const Parser CKE = wrap(parse_client_key_exchange);
  const Parser CV = wrap(parse_certificate_verify);
  const Parser FIN = wrap(parse_finished);
  const Parser NST = wrap(parse_new_session_ticket);
  const Parser CCS = wrap(parse_change_cipher_spec);
  constexpr Error D = Error::kDecodeError;
  std::string eleven_certs = "";
  for (int i = 0; i < 11; i++) {
    eleven_certs += "00000130";
  }
  const std::string eleven_list = "00002c" + eleven_certs;  // 11 * 4 = 44 bytes
  std::string ten_list = "000028" + eleven_certs.substr(8);

  const Case cases[] = {
      // ServerHello
      {"sh empty", SH, "", false, D},
      {"sh short random", SH, "0303" + kRandom.substr(2), false, D},
      {"sh session_id 33", SH, "0303" + kRandom + "21" + std::string(66, '0') + "c02b00", false, D},
      {"sh session_id past end", SH, "0303" + kRandom + "05" + "0102", false, D},
      {"sh no compression byte", SH, "0303" + kRandom + "00c02b", false, D},
      {"sh TLS 1.1", SH, sh("", "0302"), false, Error::kProtocolVersion},
      {"sh TLS 1.3 legacy field", SH, sh("", "0304"), false, Error::kProtocolVersion},
      {"sh SSL 3.0", SH, sh("", "0300"), false, Error::kProtocolVersion},
      {"sh deflate", SH, "0303" + kRandom + "00c02b01", false, Error::kIllegalParameter},
      {"sh lone trailing byte", SH, sh("00"), false, D},
      {"sh extensions overrun", SH, sh("0006ff01000100"), false, D},
      {"sh trailing after extensions", SH, sh("000000"), false, D},
      {"sh duplicate ems", SH, sh("000800170000" "00170000"), false, Error::kDuplicateExtension},
      {"sh ems not empty", SH, sh("00050017000100"), false, D},
      {"sh unknown extension", SH, sh("000412340000"), false, Error::kUnsolicitedExtension},
      {"sh supported_versions in 1.2", SH, sh("0006002b00020304"), false,
       Error::kMisplacedExtension},
      {"sh key_share in 1.2", SH, sh("000400330000"), false, Error::kMisplacedExtension},
      {"sh signature_algorithms", SH, sh("0004000d0000"), false, Error::kMisplacedExtension},
      {"sh point formats without uncompressed", SH, sh("0006000b00020101"), false,
       Error::kIllegalParameter},
      {"sh point formats empty list", SH, sh("0005000b000100"), false, D},
      {"sh point formats trailing", SH, sh("0007000b0003010000"), false, D},
      {"sh point formats compressed too", SH, sh("0007000b0003020100"), true, Error{}},
      {"sh alpn two names", SH, sh("000c00100008000602683202" "6833"), false, D},
      {"sh alpn empty list", SH, sh("0006001000020000"), false, D},
      {"sh reneg_info inner overrun", SH, sh("0005ff01000105"), false, D},
      {"sh reneg_info empty body", SH, sh("0004ff010000"), false, D},
      {"sh reneg_info with data", SH, sh("0007ff010003020102"), true, Error{}},
      {"sh session_ticket not empty", SH, sh("00050023000100"), false, D},
      {"sh server_name not empty", SH, sh("00050000000100"), false, D},
      {"sh record_size_limit 63", SH, sh("0006001c0002003f"), false, Error::kBadRecordSizeLimit},
      {"sh minimal", SH, sh(""), true, Error{}},
      // Certificate
      {"ct empty body", CT, "", false, D},
      {"ct empty list", CT, "000000", true, Error{}},
      {"ct empty cert", CT, "000003000000", false, D},
      {"ct list overrun", CT, "000005000001aa", false, D},
      {"ct cert overrun", CT, "000004000002aa", false, D},
      {"ct trailing", CT, "000004000001aa00", false, D},
      {"ct list shorter than certs", CT, "000003000001aa", false, D},
      {"ct ten certs", CT, ten_list, true, Error{}},
      {"ct eleven certs", CT, eleven_list, false, Error::kTooManyListEntries},
      // ServerKeyExchange
      {"ske empty", SKE, "", false, D},
      {"ske explicit_prime", SKE, "01001d01aa04030001bb", false, Error::kIllegalParameter},
      {"ske explicit_char2", SKE, "02001d01aa04030001bb", false, Error::kIllegalParameter},
      {"ske empty point", SKE, "03001d0004030001bb", false, D},
      {"ske point overrun", SKE, "03001d05aa", false, D},
      {"ske no scheme", SKE, "03001d01aa", false, D},
      {"ske signature overrun", SKE, "03001d01aa04030002bb", false, D},
      {"ske trailing", SKE, "03001d01aa04030001bb00", false, D},
      {"ske empty signature", SKE, "03001d01aa04030000", true, Error{}},
      // CertificateRequest
      {"cr empty", CR, "", false, D},
      {"cr no types", CR, "00" "00020403" "0000", false, D},
      {"cr odd algs", CR, "0140" "0003040305" "0000", false, D},
      {"cr no algs", CR, "0140" "0000" "0000", false, D},
      {"cr no authorities field", CR, "0140" "00020403", false, D},
      {"cr empty dn", CR, "0140" "00020403" "00020000", false, D},
      {"cr dn overrun", CR, "0140" "00020403" "00030005aa", false, D},
      {"cr trailing", CR, "0140" "00020403" "0000" "00", false, D},
      {"cr minimal", CR, "0140" "00020403" "0000", true, Error{}},
      // ServerHelloDone, HelloRequest
      {"shd not empty", SHD, "00", false, D},
      {"shd empty", SHD, "", true, Error{}},
      {"hr not empty", HR, "0000", false, D},
      // ClientKeyExchange
      {"cke empty", CKE, "", false, D},
      {"cke empty point", CKE, "00", false, D},
      {"cke point overrun", CKE, "02aa", false, D},
      {"cke trailing", CKE, "01aa00", false, D},
      {"cke two-byte length form", CKE, "0001aa", false, D},
      // CertificateVerify
      {"cv scheme only", CV, "0403", false, D},
      {"cv signature overrun", CV, "04030001", false, D},
      {"cv trailing", CV, "04030001aa00", false, D},
      {"cv empty signature", CV, "04030000", true, Error{}},
      // Finished
      {"fin 11 bytes", FIN, std::string(22, 'f'), false, D},
      {"fin 13 bytes", FIN, std::string(26, 'f'), false, D},
      {"fin 1.3-sized", FIN, std::string(64, 'f'), false, D},
      {"fin 12 bytes", FIN, std::string(24, 'f'), true, Error{}},
      // NewSessionTicket
      {"nst short hint", NST, "000000", false, D},
      {"nst no ticket length", NST, "00000e10", false, D},
      {"nst ticket overrun", NST, "00000e100002aa", false, D},
      {"nst trailing", NST, "00000e100001aa00", false, D},
      {"nst 1.3 form", NST, "00000e10" "00000001" "00" "0001aa" "0000", false, D},
      {"nst empty ticket", NST, "00000e100000", true, Error{}},
      // ChangeCipherSpec
      {"ccs empty", CCS, "", false, Error::kBadChangeCipherSpec},
      {"ccs 2", CCS, "02", false, Error::kBadChangeCipherSpec},
      {"ccs twice in one", CCS, "0101", false, Error::kBadChangeCipherSpec},
  };
  for (const Case& c : cases) {
    const auto body = hex(c.body_hex);
    auto r = c.parse(body);
    if (c.ok) {
      EXPECT_TRUE(r) << c.name << ": " << to_string(r.error());
    } else {
      ASSERT_FALSE(r) << c.name << " parsed";
      EXPECT_EQ(r.error(), c.error) << c.name << ": got " << to_string(r.error());
    }
  }
}

// The alerts those errors become, as RFC 5246 §7.2.2 and the extension RFCs name them.
TEST(Messages12, MalformedInputsGetTheRfcAlerts) {
  EXPECT_EQ(to_alert(Error::kDecodeError), AlertDescription::kDecodeError);
  EXPECT_EQ(to_alert(Error::kProtocolVersion), AlertDescription::kProtocolVersion);
  EXPECT_EQ(to_alert(Error::kUnsolicitedExtension), AlertDescription::kUnsupportedExtension);
  EXPECT_EQ(to_alert(Error::kMisplacedExtension), AlertDescription::kIllegalParameter);
  EXPECT_EQ(to_alert(Error::kBadChangeCipherSpec), AlertDescription::kUnexpectedMessage);
  EXPECT_EQ(to_alert(Error::kIllegalParameter), AlertDescription::kIllegalParameter);
}

}  // namespace
}  // namespace linetls::tls::v12
