// TLS 1.3 handshakes in process: our client against our server, each joined to a
// Deframer + HandshakeReassembler + RecordProtector "connection" over the OpenSSL AeadBatch,
// passing bytes in memory with arbitrary record sizes and segment sizes. Every suite x group
// x certificate type, HelloRetryRequest (with and without a cookie), ALPN, SNI, application
// data both ways, KeyUpdate one at a time and in storms, and tables of malformed or
// misordered messages (during and after the handshake) each answered with the alert the RFC
// names. The client's own refusals are also checked against hand-made server messages.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "lib/crypto/cert.h"
#include "lib/tls/client13.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/hello.h"
#include "lib/tls/key_schedule.h"
#include "lib/tls/messages13.h"
#include "lib/tls/record.h"
#include "lib/tls/record_protection.h"
#include "lib/tls/server13.h"
#include "tests/unit/crypto/test_util.h"
#include "tests/unit/tls/handshake13_harness.h"

namespace linetls::tls {
namespace {

using namespace testing13;  // NOLINT(google-build-using-namespace)
using crypto::NamedGroup;
using crypto::testing::to_hex;


struct Matrix {
  CipherSuite suite;
  NamedGroup group;
  int cert;  // 0 ecdsa256, 1 ecdsa384, 2 ed25519, 3 rsa
};

class FullHandshake : public ::testing::TestWithParam<Matrix> {};

TEST_P(FullHandshake, EverySuiteGroupAndCertificate) {
  const Matrix m = GetParam();
  const crypto::CertifiedKey* keys[] = {&certs().ecdsa256, &certs().ecdsa384, &certs().ed25519,
                                        &certs().rsa};
  ServerConfig13 scfg = server_config({keys[m.cert]});
  scfg.cipher_suites = {m.suite};
  scfg.groups = {m.group};
  ClientConfig13 ccfg;
  ccfg.key_share_groups = {m.group};
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s);
  expect_established(c, s);
  EXPECT_EQ(c.machine().secrets().suite.suite, m.suite);
  EXPECT_EQ(s.machine().group(), m.group);
  EXPECT_EQ(c.machine().group(), m.group);
  EXPECT_FALSE(s.machine().sent_hello_retry_request());
  auto fp = keys[m.cert]->leaf().fingerprint_sha256();
  ASSERT_TRUE(fp);
  EXPECT_TRUE(std::equal(fp->view().begin(), fp->view().end(),
                         c.machine().server_certificate_sha256().view().begin(),
                         c.machine().server_certificate_sha256().view().end()));
}

std::vector<Matrix> matrix() {
  std::vector<Matrix> out;
  for (CipherSuite s : {CipherSuite::kAes128GcmSha256, CipherSuite::kAes256GcmSha384,
                        CipherSuite::kChacha20Poly1305Sha256}) {
    for (NamedGroup g : {NamedGroup::kX25519, NamedGroup::kSecp256r1, NamedGroup::kSecp384r1}) {
      for (int cert = 0; cert < 4; cert++) {
        out.push_back({s, g, cert});
      }
    }
  }
  return out;
}

std::string matrix_name(const ::testing::TestParamInfo<Matrix>& i) {
  static const char* kCertNames[] = {"Ecdsa256", "Ecdsa384", "Ed25519", "Rsa"};
  std::string name = std::string(suite_info(i.param.suite).name).substr(4);
  std::erase(name, '_');
  return name + "_" + std::to_string(static_cast<int>(i.param.group)) + "_" +
         kCertNames[i.param.cert];
}

INSTANTIATE_TEST_SUITE_P(Handshake13, FullHandshake, ::testing::ValuesIn(matrix()), matrix_name);

struct Fragmentation {
  size_t record_size;
  size_t segment_size;
};

class Fragmented : public ::testing::TestWithParam<Fragmentation> {};

TEST_P(Fragmented, OneByteRecordsAndSegments) {
  const Fragmentation f = GetParam();
  ServerConfig13 scfg = server_config({&certs().rsa});
  ClientConfig13 ccfg;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  s.record_size = f.record_size;
  c.record_size = f.record_size;
  c.start();
  pump(c, s, f.segment_size);
  expect_established(c, s, f.segment_size);
}

INSTANTIATE_TEST_SUITE_P(Handshake13, Fragmented,
                         ::testing::Values(Fragmentation{1, 1 << 20}, Fragmentation{16384, 1},
                                           Fragmentation{1, 1}, Fragmentation{7, 13},
                                           Fragmentation{100, 3}));

// The session facade hands Server13 the ClientHello it parsed to pick the version; the
// machine must use that parse for exactly that body, and parse anything else itself.
TEST(Handshake13, UsesTheFacadesParseOfItsClientHelloOnly) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  ClientConfig13 ccfg;
  Client13 client(ccfg);
  ASSERT_EQ(client.start(), Wait::kFlush);
  const Flight f = client.take_flight();
  const Bytes& ch = f.bytes[static_cast<size_t>(Level::kInitial)];
  ASSERT_GT(ch.size(), kHandshakeHeaderLen);
  HandshakeMessage m;
  m.type = HandshakeType::kClientHello;
  m.bytes = ch;
  m.body = std::span<const uint8_t>(ch).subspan(kHandshakeHeaderLen);
  auto parsed = parse_client_hello(m.body);
  ASSERT_TRUE(parsed.ok());
  ClientHello no_suites = *parsed;
  no_suites.cipher_suites = {};  // what only the handed-over parse says

  const ParsedClientHello handed{no_suites, m.body};
  Server13 used(scfg);
  used.set_parsed_client_hello(&handed);
  EXPECT_EQ(used.handle(m), Wait::kError);  // no suite in common: the handed parse was used
  EXPECT_EQ(used.error(), Error::kNoCommonCipherSuite);

  const Bytes other(m.body.begin(), m.body.end());  // same bytes, another buffer
  const ParsedClientHello elsewhere{no_suites, other};
  Server13 ignored(scfg);
  ignored.set_parsed_client_hello(&elsewhere);
  EXPECT_EQ(ignored.handle(m), Wait::kFlush);  // not for this body: parsed again
}

TEST(Handshake13, HelloRetryRequestWhenNoShareFits) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  scfg.groups = {NamedGroup::kSecp384r1, NamedGroup::kX25519};
  ClientConfig13 ccfg;
  ccfg.groups = {NamedGroup::kX25519, NamedGroup::kSecp384r1};
  ccfg.key_share_groups = {};  // an empty key_share list forces the HRR
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s, 5);
  expect_established(c, s);
  EXPECT_TRUE(s.machine().sent_hello_retry_request());
  EXPECT_TRUE(c.machine().received_hello_retry_request());
  EXPECT_EQ(s.machine().group(), NamedGroup::kSecp384r1);
}

TEST(Handshake13, HelloRetryRequestWithACookieTheClientEchoes) {
  ServerConfig13 scfg = server_config({&certs().ecdsa384});
  scfg.groups = {NamedGroup::kSecp384r1};
  scfg.cookie = std::make_shared<FixedCookie>();
  ClientConfig13 ccfg;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s, 1);
  expect_established(c, s);
  EXPECT_TRUE(c.machine().received_hello_retry_request());
}

TEST(Handshake13, HelloRetryRequestForAGroupTheServerSupportsOnly) {
  ServerConfig13 scfg = server_config({&certs().ed25519});
  scfg.groups = {NamedGroup::kSecp256r1};
  ClientConfig13 ccfg;  // X25519 share, all three groups supported
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s);
  expect_established(c, s);
  EXPECT_TRUE(c.machine().received_hello_retry_request());
  EXPECT_EQ(c.machine().group(), NamedGroup::kSecp256r1);
}

TEST(Handshake13, SharePreferredOverHelloRetryRequest) {
  // The server prefers P-384 but takes the client's X25519 share rather than a round trip.
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  scfg.groups = {NamedGroup::kSecp384r1, NamedGroup::kX25519};
  ClientConfig13 ccfg;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s);
  expect_established(c, s);
  EXPECT_FALSE(c.machine().received_hello_retry_request());
  EXPECT_EQ(s.machine().group(), NamedGroup::kX25519);
}

TEST(Handshake13, AlpnServerPreferenceWins) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  scfg.alpn = {"h2", "http/1.1"};
  ClientConfig13 ccfg;
  ccfg.alpn = {"http/1.1", "h2"};
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s);
  expect_established(c, s);
  EXPECT_EQ(Bytes(c.machine().alpn().begin(), c.machine().alpn().end()), bytes("h2"));
  EXPECT_EQ(Bytes(s.machine().alpn().begin(), s.machine().alpn().end()), bytes("h2"));
}

TEST(Handshake13, AlpnAbsentOnEitherSideIsNotNegotiated) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  scfg.alpn = {"h2"};
  ClientConfig13 ccfg;  // no ALPN
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s);
  expect_established(c, s);
  EXPECT_TRUE(c.machine().alpn().empty());
}

TEST(Handshake13, SniChoosesBetweenCertificates) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256, &certs().rsa, &certs().ed25519});
  for (auto [name, index] : {std::pair{"rsa.test", 1}, std::pair{"ed25519.test", 2},
                             std::pair{"ecdsa256.test", 0}, std::pair{"RSA.Test", 1}}) {
    ClientConfig13 ccfg;
    ccfg.server_name = name;
    ServerConn s(scfg, true);
    ClientConn c(ccfg, false);
    c.start();
    pump(c, s);
    expect_established(c, s);
    EXPECT_EQ(s.machine().certificate_index(), static_cast<size_t>(index)) << name;
    EXPECT_TRUE(c.machine().server_name_acknowledged()) << name;
  }
  // An unknown name falls back to the first certificate, without acknowledging the name.
  ClientConfig13 ccfg;
  ccfg.server_name = "other.test";
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s);
  expect_established(c, s);
  EXPECT_EQ(s.machine().certificate_index(), 0u);
  EXPECT_FALSE(c.machine().server_name_acknowledged());
}

TEST(Handshake13, SignatureAlgorithmsChooseTheCertificate) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256, &certs().rsa, &certs().ed25519});
  ClientConfig13 ccfg;
  ccfg.signature_algorithms = {0x0807};  // Ed25519 only
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s);
  expect_established(c, s);
  EXPECT_EQ(s.machine().certificate_index(), 2u);
}

TEST(Handshake13, CompatChangeCipherSpecIsDropped) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  ClientConfig13 ccfg;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  const uint8_t ccs[] = {1};
  c.send_raw_record(ContentType::kChangeCipherSpec, ccs);  // after the ClientHello (§D.4)
  pump(c, s);
  expect_established(c, s);
  EXPECT_TRUE(s.ccs_dropped);
}

TEST(Handshake13, StateNamesFollowTheHandshake) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  ClientConfig13 ccfg;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  EXPECT_EQ(s.machine().state_name(), "read_client_hello");
  EXPECT_EQ(c.machine().state_name(), "start");
  c.start();
  EXPECT_EQ(c.machine().state_name(), "read_server_hello");
  s.receive(c.out, 1 << 20);
  c.out.clear();
  EXPECT_EQ(s.machine().state_name(), "read_client_finished");
  EXPECT_EQ(s.machine().read_level(), Level::kHandshake);
  pump(c, s);
  EXPECT_EQ(c.machine().state_name(), "done");
  EXPECT_EQ(s.machine().state_name(), "done");
  EXPECT_EQ(std::string(to_string(Wait::kNeedMessage)), "need_message");
}

// Flips one bit of one flight, chosen at random, on either side: whatever the bit, the
// handshake must not complete on both sides, and a side that fails sends exactly one alert.
// Run under ASan this is also a cheap fuzz of both machines.
TEST(Handshake13, AnyFlippedByteStopsTheHandshake) {
  std::mt19937 gen(8446);
  ServerConfig13 scfg = server_config({&certs().ecdsa256, &certs().ed25519});
  scfg.alpn = {"h2"};
  int num_flipped = 0;
  int num_errors = 0;
  for (int i = 0; i < 300; i++) {
    ClientConfig13 ccfg;
    ccfg.alpn = {"h2"};
    ccfg.server_name = "ed25519.test";
    if (i % 3 == 0) {
      ccfg.key_share_groups = {NamedGroup::kSecp384r1};  // HRR to P-256 or X25519
      scfg.groups = {NamedGroup::kX25519, NamedGroup::kSecp256r1};
    } else {
      scfg.groups = {NamedGroup::kX25519, NamedGroup::kSecp256r1, NamedGroup::kSecp384r1};
    }
    ServerConn s(scfg, true);
    ClientConn c(ccfg, false);
    const bool client_side = gen() % 2 == 0;
    const int target = static_cast<int>(gen() % 3);  // 2 or 3 flights per side
    const uint32_t pick = static_cast<uint32_t>(gen());
    auto flipped = std::make_shared<bool>(false);
    auto flip = [target, pick, flipped, n = 0](Level, Bytes& b) mutable {
      if (n++ == target && !b.empty()) {
        b[pick % b.size()] ^= static_cast<uint8_t>(1u << (pick >> 24) % 8);
        *flipped = true;
      }
    };
    if (client_side) {
      c.tamper = flip;
    } else {
      s.tamper = flip;
    }
    c.start();
    pump(c, s, 1 + gen() % 64);
    SCOPED_TRACE(std::to_string(i));
    if (*flipped) {
      num_flipped++;
      EXPECT_FALSE(c.done() && s.done()) << "flight " << target << " byte " << pick;
      // Else a length grew and a side waits for bytes that never come (the engine's
      // handshake timeout ends that).
      num_errors += c.error || s.error ? 1 : 0;
    } else {
      EXPECT_TRUE(c.done() && s.done());
    }
    EXPECT_LE(c.alerts_sent, 1);
    EXPECT_LE(s.alerts_sent, 1);
  }
  EXPECT_GT(num_flipped, 200);
  EXPECT_GT(num_errors, num_flipped * 9 / 10);
}

// ---- Malformed and misordered messages, each answered with one alert ----

// Returns the offset of the first handshake message of type t in a flight's bytes.
std::optional<size_t> find_message(const Bytes& b, HandshakeType t) {
  size_t at = 0;
  while (at + 4 <= b.size()) {
    const size_t len = size_t{b[at + 1]} << 16 | size_t{b[at + 2]} << 8 | b[at + 3];
    if (b[at] == static_cast<uint8_t>(t)) {
      return at;
    }
    at += 4 + len;
  }
  return std::nullopt;
}

struct BadCase {
  const char* name;
  std::function<void(ClientConfig13&, ServerConfig13&)> configure;
  std::function<void(ClientConn&, ServerConn&)> tamper;
  bool server_fails;  // else the client detects it
  Error error;
  AlertDescription alert;
};

std::vector<BadCase> bad_cases() {
  auto none = [](ClientConfig13&, ServerConfig13&) {};
  auto no_tamper = [](ClientConn&, ServerConn&) {};
  // Flips the last byte of message t in one side's flight at level l.
  auto flip_last = [](HandshakeType t, Level l) {
    return [t, l](Level at, Bytes& b) {
      if (at != l) {
        return;
      }
      auto off = find_message(b, t);
      if (!off) {
        return;
      }
      const size_t len = size_t{b[*off + 1]} << 16 | size_t{b[*off + 2]} << 8 | b[*off + 3];
      b[*off + 4 + len - 1] ^= 1;
    };
  };
  return {
      {"MissingSupportedVersions",
       [](ClientConfig13& c, ServerConfig13&) { c.omit_supported_versions = true; }, no_tamper,
       true, Error::kProtocolVersion, AlertDescription::kProtocolVersion},
      {"MissingKeyShare", [](ClientConfig13& c, ServerConfig13&) { c.omit_key_share = true; },
       no_tamper, true, Error::kMissingExtension, AlertDescription::kMissingExtension},
      {"MissingSignatureAlgorithms",
       [](ClientConfig13& c, ServerConfig13&) { c.omit_signature_algorithms = true; }, no_tamper,
       true, Error::kMissingExtension, AlertDescription::kMissingExtension},
      {"DuplicateExtension",
       [](ClientConfig13& c, ServerConfig13&) { c.duplicate_supported_groups = true; }, no_tamper,
       true, Error::kDuplicateExtension, AlertDescription::kIllegalParameter},
      {"CompressionNotNull", [](ClientConfig13& c, ServerConfig13&) { c.compression_method = 1; },
       no_tamper, true, Error::kBadCompressionMethod, AlertDescription::kIllegalParameter},
      {"NoCommonSuite",
       [](ClientConfig13& c, ServerConfig13& s) {
         c.cipher_suites = {CipherSuite::kChacha20Poly1305Sha256};
         s.cipher_suites = {CipherSuite::kAes128GcmSha256};
       },
       no_tamper, true, Error::kNoCommonCipherSuite, AlertDescription::kHandshakeFailure},
      {"NoCommonGroup",
       [](ClientConfig13& c, ServerConfig13& s) {
         c.groups = {NamedGroup::kX25519};
         s.groups = {NamedGroup::kSecp256r1};
       },
       no_tamper, true, Error::kNoCommonGroup, AlertDescription::kHandshakeFailure},
      {"NoCommonSignatureScheme",
       [](ClientConfig13& c, ServerConfig13&) { c.signature_algorithms = {0x0601}; }, no_tamper,
       true, Error::kNoCommonSignatureScheme, AlertDescription::kHandshakeFailure},
      {"NoApplicationProtocol",
       [](ClientConfig13& c, ServerConfig13& s) {
         c.alpn = {"spdy/3"};
         s.alpn = {"h2", "http/1.1"};
       },
       no_tamper, true, Error::kNoApplicationProtocol, AlertDescription::kNoApplicationProtocol},
      {"BadServerFinished", none,
       [=](ClientConn&, ServerConn& s) {
         s.tamper = flip_last(HandshakeType::kFinished, Level::kHandshake);
       },
       false, Error::kBadFinished, AlertDescription::kDecryptError},
      {"BadClientFinished", none,
       [=](ClientConn& c, ServerConn&) {
         c.tamper = flip_last(HandshakeType::kFinished, Level::kHandshake);
       },
       true, Error::kBadFinished, AlertDescription::kDecryptError},
      {"BadCertificateVerify", none,
       [=](ClientConn&, ServerConn& s) {
         s.tamper = flip_last(HandshakeType::kCertificateVerify, Level::kHandshake);
       },
       false, Error::kBadCertificateVerify, AlertDescription::kDecryptError},
      {"CertificateBeforeEncryptedExtensions", none,
       [](ClientConn&, ServerConn& s) {
         s.tamper = [](Level l, Bytes& b) {
           if (l != Level::kHandshake) {
             return;
           }
           auto ee = find_message(b, HandshakeType::kEncryptedExtensions);
           auto cert = find_message(b, HandshakeType::kCertificate);
           ASSERT_TRUE(ee && cert);
           b.erase(b.begin() + static_cast<ptrdiff_t>(*ee),
                   b.begin() + static_cast<ptrdiff_t>(*cert));
         };
       },
       false, Error::kUnexpectedMessage, AlertDescription::kUnexpectedMessage},
      {"FinishedInsteadOfClientHello", none,
       [](ClientConn& c, ServerConn&) {
         c.tamper = [](Level, Bytes& b) { b[0] = static_cast<uint8_t>(HandshakeType::kFinished); };
       },
       true, Error::kUnexpectedMessage, AlertDescription::kUnexpectedMessage},
      {"TruncatedClientHello", none,
       [](ClientConn& c, ServerConn&) {
         c.tamper = [](Level, Bytes& b) {
           b.pop_back();
           b[3]--;  // keeps the header consistent: the body itself is short
         };
       },
       true, Error::kDecodeError, AlertDescription::kDecodeError},
      {"SecondClientHelloChanged",
       [](ClientConfig13&, ServerConfig13& s) { s.groups = {NamedGroup::kSecp256r1}; },
       [](ClientConn& c, ServerConn&) {
         c.tamper = [n = 0](Level l, Bytes& b) mutable {
           if (l == Level::kInitial && n++ == 1) {
             b[4 + 2] ^= 1;  // §4.1.2: the random must not change
           }
         };
       },
       true, Error::kIllegalParameter, AlertDescription::kIllegalParameter},
      {"CookieNotEchoedUnchanged",
       [](ClientConfig13&, ServerConfig13& s) {
         s.groups = {NamedGroup::kSecp256r1};
         s.cookie = std::make_shared<FixedCookie>();
       },
       [](ClientConn& c, ServerConn&) {
         c.tamper = [n = 0](Level l, Bytes& b) mutable {
           if (l == Level::kInitial && n++ == 1) {
             b.back() ^= 1;  // the cookie extension is the last one our client writes
           }
         };
       },
       true, Error::kIllegalParameter, AlertDescription::kIllegalParameter},
      {"SecondClientHelloWithoutTheSelectedShare",
       [](ClientConfig13& c, ServerConfig13& s) {
         s.groups = {NamedGroup::kSecp256r1};
         c.groups = {NamedGroup::kX25519, NamedGroup::kSecp256r1};
       },
       [](ClientConn& c, ServerConn&) {
         c.tamper = [n = 0](Level l, Bytes& b) mutable {
           if (l != Level::kInitial || n++ != 1) {
             return;
           }
           // Rename the P-256 share's group to X25519 (also in supported_groups' list).
           for (size_t i = 0; i + 4 <= b.size(); i++) {
             if (b[i] == 0x00 && b[i + 1] == 0x17 && b[i + 2] == 0x00 && b[i + 3] == 0x41) {
               b[i + 1] = 0x1d;
             }
           }
         };
       },
       true, Error::kIllegalParameter, AlertDescription::kIllegalParameter},
      {"LowOrderX25519Share", none,
       [](ClientConn& c, ServerConn&) {
         c.tamper = [](Level, Bytes& b) {
           // The key_share entry: group 0x001d, length 0x0020, then the key.
           for (size_t i = 0; i + 4 + 32 <= b.size(); i++) {
             if (b[i] == 0x00 && b[i + 1] == 0x1d && b[i + 2] == 0x00 && b[i + 3] == 0x20) {
               std::fill(b.begin() + static_cast<ptrdiff_t>(i + 4),
                         b.begin() + static_cast<ptrdiff_t>(i + 36), 0);
             }
           }
         };
       },
       true, Error::kBadKeyShare, AlertDescription::kIllegalParameter},
      {"ShortClientFinished", none,
       [](ClientConn& c, ServerConn&) {
         c.tamper = [](Level l, Bytes& b) {
           if (l == Level::kHandshake) {
             b.pop_back();
             b[3]--;
           }
         };
       },
       true, Error::kDecodeError, AlertDescription::kDecodeError},
      {"ServerHelloSessionIdNotEchoed", none,
       [](ClientConn&, ServerConn& s) {
         s.tamper = [](Level l, Bytes& b) {
           if (l == Level::kInitial) {
             b[4 + 2 + 32 + 1] ^= 1;  // first byte of legacy_session_id_echo
           }
         };
       },
       false, Error::kIllegalParameter, AlertDescription::kIllegalParameter},
  };
}

class Malformed : public ::testing::TestWithParam<size_t> {};

TEST_P(Malformed, AnsweredWithTheRightAlert) {
  const BadCase bc = bad_cases()[GetParam()];
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  ClientConfig13 ccfg;
  bc.configure(ccfg, scfg);
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  bc.tamper(c, s);
  c.start();
  pump(c, s);
  // The side that detects the error sends exactly one alert, the peer receives it, and
  // neither side completes.
  if (bc.server_fails) {
    ASSERT_TRUE(s.error) << bc.name;
    EXPECT_EQ(*s.error, bc.error) << bc.name << ": " << to_string(*s.error);
    EXPECT_EQ(s.alerts_sent, 1);
    EXPECT_FALSE(c.error) << to_string(*c.error);
    ASSERT_TRUE(c.alert_received);
    EXPECT_EQ(*c.alert_received, static_cast<uint8_t>(bc.alert));
    EXPECT_FALSE(s.done());
  } else {
    ASSERT_TRUE(c.error) << bc.name;
    EXPECT_EQ(*c.error, bc.error) << bc.name << ": " << to_string(*c.error);
    EXPECT_EQ(c.alerts_sent, 1);
    EXPECT_FALSE(s.error) << to_string(*s.error);
    ASSERT_TRUE(s.alert_received);
    EXPECT_EQ(*s.alert_received, static_cast<uint8_t>(bc.alert));
    EXPECT_FALSE(c.done());
  }
  EXPECT_EQ(to_alert(bc.error), bc.alert);
}

INSTANTIATE_TEST_SUITE_P(Handshake13, Malformed, ::testing::Range<size_t>(0, bad_cases().size()),
                         [](const ::testing::TestParamInfo<size_t>& i) {
                           return std::string(bad_cases()[i.param].name);
                         });

TEST(Handshake13, FailedMachineStaysFailedAndKeepsItsError) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  Server13 s(scfg);
  const uint8_t fin[] = {20, 0, 0, 0};
  HandshakeMessage m{HandshakeType::kFinished, fin, std::span(fin).subspan(4), false};
  EXPECT_EQ(s.handle(m), Wait::kError);
  EXPECT_EQ(s.error(), Error::kUnexpectedMessage);
  EXPECT_EQ(s.state_name(), "failed");
  EXPECT_EQ(s.handle(m), Wait::kError);
  EXPECT_EQ(s.error(), Error::kUnexpectedMessage);
  EXPECT_TRUE(s.take_flight().empty());
}

// ---- Post-handshake: KeyUpdate (§4.6.3) ----

void expect_data_flows(ClientConn& c, ServerConn& s, size_t segment_size, int tag) {
  const Bytes up = bytes("up " + std::to_string(tag));
  const Bytes down = bytes("down " + std::to_string(tag));
  c.send_app(up);
  s.send_app(down);
  c.app_in.clear();
  s.app_in.clear();
  pump(c, s, segment_size);
  ASSERT_FALSE(c.error) << to_string(*c.error);
  ASSERT_FALSE(s.error) << to_string(*s.error);
  EXPECT_EQ(s.app_in, up) << tag;
  EXPECT_EQ(c.app_in, down) << tag;
}

TEST(KeyUpdate13, RequestedUpdateIsAnsweredAndKeysMoveBothWays) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  ClientConfig13 ccfg;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s);
  expect_established(c, s);
  const Bytes before(c.machine().secrets().client_application.view().begin(),
                     c.machine().secrets().client_application.view().end());
  c.update_keys(true);
  pump(c, s);
  EXPECT_EQ(c.machine().post_handshake().own_key_updates, 1u);
  EXPECT_EQ(s.machine().post_handshake().peer_key_updates, 1u);
  EXPECT_EQ(s.machine().post_handshake().own_key_updates, 1u);  // the answer
  EXPECT_EQ(c.machine().post_handshake().peer_key_updates, 1u);
  auto next = next_traffic_secret(c.machine().secrets().suite.hash, before);
  ASSERT_TRUE(next);
  EXPECT_EQ(to_hex(c.machine().secrets().client_application.view()), to_hex(next->view()));
  EXPECT_EQ(to_hex(s.machine().secrets().client_application.view()), to_hex(next->view()));
  expect_data_flows(c, s, 1 << 20, 0);
}

TEST(KeyUpdate13, StormWithFragmentation) {
  ServerConfig13 scfg = server_config({&certs().ed25519});
  scfg.cipher_suites = {CipherSuite::kChacha20Poly1305Sha256};
  ClientConfig13 ccfg;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.record_size = 3;
  s.record_size = 5;
  c.start();
  pump(c, s, 7);
  expect_established(c, s, 7);
  for (int i = 0; i < 60; i++) {
    // Unrequested and requested, from either side, sometimes several before a flush.
    if (i % 3 == 0) {
      c.update_keys(i % 2 == 0);
    }
    if (i % 4 == 1) {
      s.update_keys(i % 8 == 1);
      s.update_keys(false);
    }
    if (i % 5 == 2) {
      c.update_keys(true);
      s.update_keys(true);
    }
    expect_data_flows(c, s, i % 2 == 0 ? 1 : 11, i);
  }
  const auto& cp = c.machine().post_handshake();
  const auto& sp = s.machine().post_handshake();
  EXPECT_EQ(cp.own_key_updates, sp.peer_key_updates);
  EXPECT_EQ(sp.own_key_updates, cp.peer_key_updates);
  EXPECT_GT(cp.own_key_updates, 20u);
  EXPECT_GT(sp.own_key_updates, 20u);
}

struct PostCase {
  const char* name;
  Bytes msgs;  // sent by the client after the handshake, in one record
  Error error;
  AlertDescription alert;
};

class BadPostHandshake : public ::testing::TestWithParam<PostCase> {};

TEST_P(BadPostHandshake, AnsweredWithTheRightAlert) {
  const PostCase pc = GetParam();
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  ClientConfig13 ccfg;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s);
  expect_established(c, s);
  c.send_handshake(pc.msgs);
  pump(c, s);
  ASSERT_TRUE(s.error);
  EXPECT_EQ(*s.error, pc.error) << to_string(*s.error);
  EXPECT_EQ(s.alerts_sent, 1);
  ASSERT_TRUE(c.alert_received);
  EXPECT_EQ(*c.alert_received, static_cast<uint8_t>(pc.alert));
}

INSTANTIATE_TEST_SUITE_P(
    KeyUpdate13, BadPostHandshake,
    ::testing::Values(PostCase{"BadRequestValue",
                               {24, 0, 0, 1, 2},
                               Error::kIllegalParameter,
                               AlertDescription::kIllegalParameter},
                      PostCase{"LongKeyUpdate",
                               {24, 0, 0, 2, 0, 0},
                               Error::kDecodeError,
                               AlertDescription::kDecodeError},
                      // §5.1: the message before a key change must end its record.
                      PostCase{"KeyUpdateNotRecordAligned",
                               {24, 0, 0, 1, 0, 24, 0, 0, 1, 0},
                               Error::kHandshakeSpansKeyChange,
                               AlertDescription::kUnexpectedMessage},
                      PostCase{"NewSessionTicketToServer",
                               {4, 0, 0, 14, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 1, 0xaa, 0, 0},
                               Error::kUnexpectedMessage,
                               AlertDescription::kUnexpectedMessage},
                      PostCase{"ClientHelloAfterHandshake",
                               {1, 0, 0, 0},
                               Error::kUnexpectedMessage,
                               AlertDescription::kUnexpectedMessage}),
    [](const ::testing::TestParamInfo<PostCase>& i) { return std::string(i.param.name); });

TEST(KeyUpdate13, ClientCountsTicketsAfterTheHandshake) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  ClientConfig13 ccfg;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s);
  expect_established(c, s);
  Bytes nst(64);
  ByteWriter w(nst);
  const uint8_t ticket[3] = {1, 2, 3};
  NewSessionTicketMsg m;
  m.ticket_lifetime = 3600;
  m.ticket = ticket;
  ASSERT_TRUE(write_new_session_ticket(w, m));
  nst.resize(w.size());
  s.send_handshake(nst);
  pump(c, s);
  EXPECT_FALSE(c.error);
  EXPECT_EQ(c.machine().post_handshake().tickets, 1u);
  expect_data_flows(c, s, 1 << 20, 1);
}

// ---- The client alone, fed hand-made server messages ----

class ClientAlone : public ::testing::Test {
 protected:
  void SetUp() override {
    cfg_.cipher_suites = {CipherSuite::kAes128GcmSha256};
    client_ = std::make_unique<Client13>(cfg_);
    ASSERT_EQ(client_->start(), Wait::kFlush);
    ch_ = client_->take_flight().bytes[0];
    auto ch = parse_client_hello(std::span(ch_).subspan(4));
    ASSERT_TRUE(ch);
    session_id_.assign(ch->legacy_session_id.begin(), ch->legacy_session_id.end());
    ASSERT_EQ(ch->num_key_shares, 1u);
    client_share_.assign(ch->key_shares[0].key_exchange.begin(),
                         ch->key_shares[0].key_exchange.end());
  }

  Wait feed(const Bytes& m) {
    return client_->handle(
        HandshakeMessage{static_cast<HandshakeType>(m[0]), m, std::span(m).subspan(4), false});
  }

  Bytes hrr(uint16_t group, CipherSuite suite = CipherSuite::kAes128GcmSha256) {
    Bytes b(256);
    ByteWriter w(b);
    HelloRetryRequestParams p;
    p.legacy_session_id_echo = session_id_;
    p.cipher_suite = suite;
    p.selected_group = group;
    EXPECT_TRUE(write_hello_retry_request(w, p));
    b.resize(w.size());
    return b;
  }

  Bytes server_hello(uint16_t suite_code = 0x1301, uint16_t group = 0x001d) {
    const uint8_t random[32] = {42};
    Bytes b(256);
    ByteWriter w(b);
    ServerHelloParams p;
    p.random = random;
    p.legacy_session_id_echo = session_id_;
    p.cipher_suite = static_cast<CipherSuite>(suite_code);
    p.key_share_group = group;
    p.key_share = server_share_.public_key();
    EXPECT_TRUE(write_server_hello(w, p));
    b.resize(w.size());
    return b;
  }

  Bytes encrypted_extensions(std::string_view alpn = {}) {
    Bytes b(64);
    ByteWriter w(b);
    EncryptedExtensionsParams p;
    p.alpn_protocol = std::span(reinterpret_cast<const uint8_t*>(alpn.data()), alpn.size());
    EXPECT_TRUE(write_encrypted_extensions(w, p));
    b.resize(w.size());
    return b;
  }

  ClientConfig13 cfg_;
  std::unique_ptr<Client13> client_;
  Bytes ch_, session_id_, client_share_;
  crypto::KeyShare server_share_ =
      crypto::KeyShare::generate(NamedGroup::kX25519, crypto::os_rng()).value();
};

TEST_F(ClientAlone, HelloRetryRequestForAGroupAlreadySharedIsIllegal) {
  // §4.2.8: the selected_group must not be one the client already sent a share for.
  EXPECT_EQ(feed(hrr(0x001d)), Wait::kError);
  EXPECT_EQ(client_->error(), Error::kIllegalParameter);
}

TEST_F(ClientAlone, HelloRetryRequestForAnUnsupportedGroupIsIllegal) {
  EXPECT_EQ(feed(hrr(0x0019)), Wait::kError);
  EXPECT_EQ(client_->error(), Error::kIllegalParameter);
}

TEST_F(ClientAlone, SecondHelloRetryRequestIsUnexpected) {
  ASSERT_EQ(feed(hrr(0x0017)), Wait::kFlush);
  const Bytes ch2 = client_->take_flight().bytes[0];
  auto parsed = parse_client_hello(std::span(ch2).subspan(4));
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->num_key_shares, 1u);
  EXPECT_EQ(parsed->key_shares[0].group, 0x0017);
  EXPECT_EQ(to_hex(parsed->random), to_hex(std::span(ch_).subspan(6, 32)));
  // §4.1.4: "If a client receives a second HelloRetryRequest ... unexpected_message".
  EXPECT_EQ(feed(hrr(0x0018)), Wait::kError);
  EXPECT_EQ(client_->error(), Error::kUnexpectedMessage);
}

TEST_F(ClientAlone, ServerHelloWithASuiteNotOfferedIsIllegal) {
  EXPECT_EQ(feed(server_hello(0x1302)), Wait::kError);
  EXPECT_EQ(client_->error(), Error::kIllegalParameter);
}

TEST_F(ClientAlone, ServerHelloWithAShareForAnotherGroupIsIllegal) {
  EXPECT_EQ(feed(server_hello(0x1301, 0x0017)), Wait::kError);
  EXPECT_EQ(client_->error(), Error::kIllegalParameter);
}

TEST_F(ClientAlone, UnsolicitedAlpnIsUnsupportedExtension) {
  ASSERT_EQ(feed(server_hello()), Wait::kNeedMessage);
  EXPECT_EQ(client_->read_level(), Level::kHandshake);
  EXPECT_EQ(feed(encrypted_extensions("h2")), Wait::kError);
  EXPECT_EQ(client_->error(), Error::kUnsolicitedExtension);
  EXPECT_EQ(to_alert(client_->error()), AlertDescription::kUnsupportedExtension);
}

TEST_F(ClientAlone, EmptyCertificateIsDecodeError) {
  ASSERT_EQ(feed(server_hello()), Wait::kNeedMessage);
  ASSERT_EQ(feed(encrypted_extensions()), Wait::kNeedMessage);
  // §4.4.2.4: "If the server supplies an empty Certificate message, the client MUST abort
  // the handshake with a "decode_error" alert."
  EXPECT_EQ(feed(Bytes{11, 0, 0, 4, 0, 0, 0, 0}), Wait::kError);
  EXPECT_EQ(client_->error(), Error::kDecodeError);
}

TEST_F(ClientAlone, FinishedBeforeCertificateIsUnexpected) {
  ASSERT_EQ(feed(server_hello()), Wait::kNeedMessage);
  ASSERT_EQ(feed(encrypted_extensions()), Wait::kNeedMessage);
  EXPECT_EQ(client_->state_name(), "read_certificate");
  Bytes fin(4 + 32);
  fin[0] = 20;
  fin[3] = 32;
  EXPECT_EQ(feed(fin), Wait::kError);
  EXPECT_EQ(client_->error(), Error::kUnexpectedMessage);
  EXPECT_EQ(client_->state_name(), "failed");
}

}  // namespace
}  // namespace linetls::tls
