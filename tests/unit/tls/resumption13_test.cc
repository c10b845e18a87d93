// TLS 1.3 session resumption in process (RFC 8446 §2.2, §4.2.11, §4.6.1): our client takes
// the server's NewSessionTickets from a full handshake and offers one in a second handshake,
// which must resume (PSK selected, no Certificate or CertificateVerify, data flows) or, for
// a ticket the server cannot or must not use, fall back to a full handshake without error.
// Also the ticket sealing itself (TicketKeys) and the bad-binder abort.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "lib/tls/client13.h"
#include "lib/tls/errors.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/server13.h"
#include "lib/tls/ticket13.h"
#include "tests/unit/tls/handshake13_harness.h"

namespace linetls::tls {
namespace {

using namespace testing13;  // NOLINT(google-build-using-namespace)
using crypto::NamedGroup;

// Handshake message types in a flight's bytes at one level.
std::vector<HandshakeType> message_types(std::span<const uint8_t> b) {
  std::vector<HandshakeType> out;
  size_t at = 0;
  while (at + kHandshakeHeaderLen <= b.size()) {
    out.push_back(static_cast<HandshakeType>(b[at]));
    at += kHandshakeHeaderLen + (size_t{b[at + 1]} << 16 | size_t{b[at + 2]} << 8 | b[at + 3]);
  }
  EXPECT_EQ(at, b.size());
  return out;
}

bool contains(const std::vector<HandshakeType>& v, HandshakeType t) {
  return std::find(v.begin(), v.end(), t) != v.end();
}

// A server with tickets under a shared fake clock, and a client on the same clock.
class Resumption : public ::testing::Test {
 protected:
  Resumption() {
    EXPECT_TRUE(keys_.rotate());
    scfg_ = server_config({&certs().ecdsa256});
    scfg_.ticket_keys = &keys_;
    scfg_.now_ms = [this] { return server_ms_; };
    ccfg_.now_ms = [this] { return client_ms_; };
  }

  struct Result13 {
    bool resumed = false;
    bool hrr = false;
    bool early_data_offered = false;
    std::vector<HandshakeType> server_handshake_flight;  // the first, at the handshake level
    std::optional<Error> server_error;
    std::optional<uint8_t> client_alert;
  };

  // Runs one handshake with the current configs; takes the client's sessions into sessions_.
  Result13 run(bool expect_ok = true) {
    ServerConn s(scfg_, true);
    ClientConn c(ccfg_, false);
    Result13 r;
    s.tamper = [&](Level l, Bytes& b) {
      if (l == Level::kHandshake && r.server_handshake_flight.empty()) {
        r.server_handshake_flight = message_types(b);
      }
    };
    c.start();
    pump(c, s);
    r.server_error = s.error;
    r.client_alert = c.alert_received;
    if (expect_ok) {
      expect_established(c, s);
      EXPECT_EQ(s.machine().resumed(), c.machine().resumed());
      // The offered session may live in sessions_: keep the old buffer alive (a moved vector
      // keeps its elements where they are).
      old_sessions_.push_back(std::move(sessions_));
      sessions_ = c.machine().take_sessions();
    }
    r.resumed = s.machine().resumed();
    r.hrr = s.machine().sent_hello_retry_request();
    r.early_data_offered = s.machine().early_data_offered();
    return r;
  }

  // A full handshake that leaves tickets in sessions_, then the client offers the first.
  void get_ticket() {
    const Result13 first = run();
    ASSERT_FALSE(first.resumed);
    ASSERT_EQ(sessions_.size(), scfg_.tickets_to_send);
    ccfg_.session = &sessions_[0];
  }

  std::unique_ptr<ossl::OsslAeadBatch> ticket_batch_ = ossl::OsslAeadBatch::create(1).value();
  TicketKeys keys_{*ticket_batch_, crypto::os_rng()};
  ServerConfig13 scfg_;
  ClientConfig13 ccfg_;
  uint64_t server_ms_ = 1'800'000'000'000;
  uint64_t client_ms_ = 5'000;  // the client's clock need not agree with the server's
  std::vector<Session> sessions_;
  std::vector<std::vector<Session>> old_sessions_;
};

class ResumptionEverySuite : public Resumption,
                             public ::testing::WithParamInterface<CipherSuite> {};

TEST_P(ResumptionEverySuite, FullThenResumed) {
  scfg_.cipher_suites = {GetParam()};
  get_ticket();
  EXPECT_EQ(sessions_[0].suite, GetParam());
  EXPECT_EQ(sessions_[0].lifetime_s, scfg_.ticket_lifetime_s);
  EXPECT_NE(sessions_[0].ticket, sessions_[1].ticket);
  EXPECT_FALSE(std::equal(sessions_[0].psk.view().begin(), sessions_[0].psk.view().end(),
                          sessions_[1].psk.view().begin(), sessions_[1].psk.view().end()));
  server_ms_ += 3000;
  client_ms_ += 3000;
  const Result13 r = run();
  EXPECT_TRUE(r.resumed);
  EXPECT_FALSE(contains(r.server_handshake_flight, HandshakeType::kCertificate));
  EXPECT_FALSE(contains(r.server_handshake_flight, HandshakeType::kCertificateVerify));
  EXPECT_TRUE(contains(r.server_handshake_flight, HandshakeType::kFinished));
  // The resumed connection hands out fresh tickets, which resume in turn.
  ASSERT_EQ(sessions_.size(), scfg_.tickets_to_send);
  ccfg_.session = &sessions_[1];
  EXPECT_TRUE(run().resumed);
}

INSTANTIATE_TEST_SUITE_P(Suites, ResumptionEverySuite,
                         ::testing::Values(CipherSuite::kAes128GcmSha256,
                                           CipherSuite::kAes256GcmSha384,
                                           CipherSuite::kChacha20Poly1305Sha256));

TEST_F(Resumption, FullHandshakeSendsCertificate) {
  const Result13 r = run();
  EXPECT_FALSE(r.resumed);
  EXPECT_TRUE(contains(r.server_handshake_flight, HandshakeType::kCertificate));
}

TEST_F(Resumption, TicketCountIsConfigurable) {
  scfg_.tickets_to_send = 1;
  run();
  EXPECT_EQ(sessions_.size(), 1u);
  scfg_.tickets_to_send = 0;
  run();
  EXPECT_TRUE(sessions_.empty());
}

TEST_F(Resumption, LifetimeIsClampedToSevenDays) {
  scfg_.ticket_lifetime_s = 30 * 86400;
  run();
  ASSERT_FALSE(sessions_.empty());
  EXPECT_EQ(sessions_[0].lifetime_s, kMaxTicketLifetime);
}

TEST_F(Resumption, PreviousKeyStillOpensOlderDoesNot) {
  get_ticket();
  ASSERT_TRUE(keys_.rotate());
  EXPECT_TRUE(run().resumed);  // the ticket's key is now the previous one
  ccfg_.session = nullptr;
  get_ticket();  // under the current key
  ASSERT_TRUE(keys_.rotate());
  ASSERT_TRUE(keys_.rotate());
  const Result13 r = run();  // rotated out: a full handshake, not an error
  EXPECT_FALSE(r.resumed);
  EXPECT_TRUE(contains(r.server_handshake_flight, HandshakeType::kCertificate));
}

TEST_F(Resumption, ExpiredTicketFallsBack) {
  scfg_.ticket_lifetime_s = 60;
  get_ticket();
  server_ms_ += 59'000;
  client_ms_ += 59'000;
  EXPECT_TRUE(run().resumed);
  ccfg_.session = nullptr;
  get_ticket();
  server_ms_ += 60'001;
  client_ms_ += 60'001;
  EXPECT_FALSE(run().resumed);
}

TEST_F(Resumption, ImplausibleTicketAgeFallsBack) {
  get_ticket();
  server_ms_ += 20'000;
  client_ms_ += 11'000;  // the client thinks the ticket is 9 s younger: within the window
  EXPECT_TRUE(run().resumed);
  ccfg_.session = nullptr;
  get_ticket();
  server_ms_ += 20'000;  // the client's age is 0, the server's 20 s
  EXPECT_FALSE(run().resumed);
}

TEST_F(Resumption, TamperedTicketFallsBack) {
  get_ticket();
  const size_t len = sessions_[0].ticket.size();
  for (size_t i : {size_t{0}, size_t{5}, len / 2, len - 1}) {
    sessions_[0].ticket[i] ^= 0x40;  // key id, nonce, ciphertext, tag
    EXPECT_FALSE(run().resumed) << "byte " << i;
    ccfg_.session = nullptr;
    get_ticket();
  }
  sessions_[0].ticket.resize(kTicketOverhead);  // nothing sealed at all
  EXPECT_FALSE(run().resumed);
}

TEST_F(Resumption, BadBinderIsDecryptError) {
  get_ticket();
  ccfg_.corrupt_binder = true;
  const Result13 r = run(false);
  ASSERT_TRUE(r.server_error);
  EXPECT_EQ(*r.server_error, Error::kBadPskBinder);
  ASSERT_TRUE(r.client_alert);
  EXPECT_EQ(*r.client_alert, static_cast<uint8_t>(AlertDescription::kDecryptError));
}

TEST_F(Resumption, PskKeOnlyIsAFullHandshake) {
  get_ticket();
  ccfg_.psk_modes = {0};  // psk_ke: not supported by the server
  const Result13 r = run();
  EXPECT_FALSE(r.resumed);
  EXPECT_TRUE(contains(r.server_handshake_flight, HandshakeType::kCertificate));
  ccfg_.psk_modes = {0, 1};
  EXPECT_TRUE(run().resumed);
}

TEST_F(Resumption, ServerWithoutTicketKeysIgnoresThePsk) {
  get_ticket();
  scfg_.ticket_keys = nullptr;
  EXPECT_FALSE(run().resumed);
  EXPECT_TRUE(sessions_.empty());  // and sends no tickets
}

TEST_F(Resumption, OtherServerNameFallsBack) {
  ccfg_.server_name = "a.example";
  get_ticket();
  ccfg_.server_name = "b.example";
  EXPECT_FALSE(run().resumed);
}

TEST_F(Resumption, SuiteWithOtherHashFallsBack) {
  scfg_.cipher_suites = {CipherSuite::kAes256GcmSha384};
  get_ticket();
  scfg_.cipher_suites = {CipherSuite::kChacha20Poly1305Sha256};  // SHA-256
  EXPECT_FALSE(run().resumed);
  scfg_.cipher_suites = {CipherSuite::kAes256GcmSha384};
  EXPECT_TRUE(run().resumed);
}

TEST_F(Resumption, HelloRetryRequestRecomputesTheBinder) {
  get_ticket();
  scfg_.groups = {NamedGroup::kSecp256r1};  // the client's X25519 share forces an HRR
  const Result13 r = run();
  EXPECT_TRUE(r.hrr);
  EXPECT_TRUE(r.resumed);
  EXPECT_FALSE(contains(r.server_handshake_flight, HandshakeType::kCertificate));
  // A bad binder in the second ClientHello is caught there too.
  ccfg_.session = &sessions_[0];
  ccfg_.corrupt_binder = true;
  const Result13 bad = run(false);
  ASSERT_TRUE(bad.server_error);
  EXPECT_EQ(*bad.server_error, Error::kBadPskBinder);
}

// §4.2.3: signature_algorithms is sent "when the client wants to authenticate the server
// via a certificate"; §9.2 requires it only of a ClientHello without pre_shared_key. The
// certificate is chosen for a full handshake alone, so a PSK-only ClientHello resumes (also
// through a HelloRetryRequest); when the PSK cannot be used the full handshake lacks the
// extension: missing_extension (§9.2), not a handshake_failure over the schemes.
TEST_F(Resumption, PskOnlyClientHelloNeedsNoSignatureAlgorithms) {
  get_ticket();
  ccfg_.omit_signature_algorithms = true;
  Result13 r = run();
  EXPECT_TRUE(r.resumed);
  EXPECT_FALSE(contains(r.server_handshake_flight, HandshakeType::kCertificate));
  ccfg_.session = &sessions_[0];
  scfg_.groups = {NamedGroup::kSecp256r1};  // the client's X25519 share forces an HRR
  r = run();
  EXPECT_TRUE(r.hrr);
  EXPECT_TRUE(r.resumed);
  scfg_.groups = {NamedGroup::kX25519};
  ccfg_.session = &sessions_[0];
  scfg_.ticket_keys = nullptr;  // the ticket cannot be opened: a full handshake is needed
  r = run(false);
  EXPECT_FALSE(r.resumed);
  ASSERT_TRUE(r.server_error);
  EXPECT_EQ(*r.server_error, Error::kMissingExtension);
  ASSERT_TRUE(r.client_alert);
  EXPECT_EQ(*r.client_alert, static_cast<uint8_t>(AlertDescription::kMissingExtension));
}

TEST_F(Resumption, EarlyDataIsOfferedButNotAccepted) {
  get_ticket();
  ccfg_.offer_early_data = true;
  // The client refuses an early_data it did not expect in EE (unsolicited), so success also
  // shows that the server did not accept 0-RTT.
  const Result13 r = run();
  EXPECT_TRUE(r.resumed);
  EXPECT_TRUE(r.early_data_offered);
}

TEST(TicketKeys, SealOpenRoundTripAndKeyIds) {
  auto batch = ossl::OsslAeadBatch::create(1).value();
  TicketKeys keys(*batch, crypto::os_rng());
  TicketContents c;
  c.suite = CipherSuite::kAes256GcmSha384;
  const Bytes psk(48, 0x5a);
  c.psk.assign(psk);
  c.issued_ms = 123456789;
  c.lifetime_s = 3600;
  c.age_add = 0xdeadbeef;
  c.alpn = bytes("h2");
  c.server_name = bytes("example.com");
  EXPECT_FALSE(keys.seal(c));  // no key before rotate()
  ASSERT_TRUE(keys.rotate());
  auto t = keys.seal(c);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size(), kTicketOverhead + encode_ticket_contents(c).size());
  auto back = keys.open(*t);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->suite, c.suite);
  EXPECT_TRUE(std::equal(psk.begin(), psk.end(), back->psk.view().begin(),
                         back->psk.view().end()));
  EXPECT_EQ(back->issued_ms, c.issued_ms);
  EXPECT_EQ(back->lifetime_s, c.lifetime_s);
  EXPECT_EQ(back->age_add, c.age_add);
  EXPECT_EQ(back->alpn, c.alpn);
  EXPECT_EQ(back->server_name, c.server_name);
  // The key id is authenticated: the same ciphertext under another id does not open.
  Bytes other = *t;
  other[3] ^= 1;
  EXPECT_FALSE(keys.open(other));
  const uint32_t first_id = keys.current_id();
  ASSERT_TRUE(keys.rotate());
  EXPECT_NE(keys.current_id(), first_id);
  EXPECT_TRUE(keys.open(*t));
  ASSERT_TRUE(keys.rotate());
  EXPECT_FALSE(keys.open(*t));
  EXPECT_FALSE(keys.open({}));
}

TEST(TicketContents, RejectsMalformedPlaintext) {
  TicketContents c;
  c.suite = CipherSuite::kAes128GcmSha256;
  const Bytes psk(32, 1);
  c.psk.assign(psk);
  Bytes enc = encode_ticket_contents(c);
  ASSERT_TRUE(decode_ticket_contents(enc));
  Bytes bad_version = enc;
  bad_version[0] = 1;  // the format before client identities: such tickets fail cleanly
  EXPECT_FALSE(decode_ticket_contents(bad_version));
  bad_version[0] = 3;
  EXPECT_FALSE(decode_ticket_contents(bad_version));
  Bytes trailing = enc;
  trailing.push_back(0);
  EXPECT_FALSE(decode_ticket_contents(trailing));
  EXPECT_FALSE(decode_ticket_contents(std::span(enc).first(enc.size() - 1)));
  c.suite = CipherSuite::kAes256GcmSha384;  // a 32-byte PSK for a SHA-384 suite
  EXPECT_FALSE(decode_ticket_contents(encode_ticket_contents(c)));
}

}  // namespace
}  // namespace linetls::tls
