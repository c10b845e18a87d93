// ServerSession12 against our Client12 over the OpenSSL AeadBatch, driven the way
// tests/unit/tls/session13_test.cc drives ServerSession13: a Driver plays the engine (cuts
// the client's bytes into segments, next()/accept() until barrier() or a full batch, one
// batch run per round, on_opened() in order, then next_output()/write_control()/seal_app()
// into the bytes the client reads). Covered: every suite x certificate type, 1-byte segments
// and small control records, many records per round, client certificates, close_notify
// both ways, a peer's fatal alert, warning alerts, the AES-GCM record limit, a table of
// abuse limits and violations each answered by exactly one alert, and a one-op batch.
#include "lib/tls/v12/session12.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "lib/crypto/cert.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/record.h"
#include "lib/tls/v12/client12.h"
#include "lib/tls/v12/messages12.h"
#include "lib/tls/v12/record12.h"
#include "lib/tls/v12/resumption12.h"
#include "lib/tls/ticket13.h"
#include "tests/unit/crypto/test_util.h"
#include "tests/unit/tls/heap_usage.h"
#include "tests/unit/tls/session_test_driver.h"
#include "tests/unit/tls12/issued_certs.h"
#include "tests/unit/tls12/session12_harness.h"

namespace linetls::tls::v12 {
namespace {

using namespace testing12;  // NOLINT(google-build-using-namespace)

// Plays the engine for one ServerSession12 (tests/unit/tls/session_test_driver.h).
using Driver = session_testing::SessionTestDriver<ServerSession12, RecordSlot12>;
using session_testing::pump;

void expect_established(ClientConn12& c, Driver& d, size_t segment_size = 1 << 20) {
  ASSERT_FALSE(c.error) << to_string(*c.error);
  ASSERT_FALSE(d.s.error()) << to_string(*d.s.error());
  ASSERT_TRUE(c.done()) << c.m.state_name();
  ASSERT_TRUE(d.s.handshake_done()) << d.s.machine().state_name();
  const Bytes ping = bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const Bytes pong = pattern(40000, 3);
  c.send_app(ping);
  d.send_app(pong);
  pump(c, d, segment_size);
  EXPECT_EQ(d.app_in, ping);
  EXPECT_EQ(c.app_in, pong);
  EXPECT_EQ(d.s.stats().bytes_opened, ping.size());
  EXPECT_EQ(d.s.stats().bytes_sealed, pong.size());
  EXPECT_FALSE(c.alert_received);
  EXPECT_EQ(d.alerts, 0);
}

const ServerConfig12& default_server() {
  static const ServerConfig12* c = new ServerConfig12(server_config());
  return *c;
}

// One handshake to completion; returns the driver (the client is the caller's).
std::unique_ptr<Driver> connect(const ServerConfig12& sc, ClientConn12& c,
                                const SessionLimits& limits = {}) {
  auto d = std::make_unique<Driver>(sc, limits);
  c.start();
  pump(c, *d);
  return d;
}

TEST(Session12, EverySuiteAndCertificate) {
  const struct {
    const crypto::CertifiedKey* key;
    AuthKind auth;
  } cases[] = {{&certs().ecdsa256, AuthKind::kEcdsa},
               {&certs().ecdsa384, AuthKind::kEcdsa},
               {&certs().rsa, AuthKind::kRsa}};
  int n = 0;
  for (const auto& cc : cases) {
    for (CipherSuite suite : kAllSuites) {
      if (suite_info(suite).auth != cc.auth) {
        continue;
      }
      SCOPED_TRACE(suite_info(suite).name);
      ServerConfig12 sc;
      sc.certificates = {Certificate12::from(*cc.key)};
      ClientConfig12 ccfg;
      ccfg.cipher_suites = {static_cast<uint16_t>(suite)};
      ClientConn12 c(ccfg);
      auto d = connect(sc, c);
      expect_established(c, *d);
      EXPECT_EQ(d->s.machine().suite().suite, suite);
      EXPECT_EQ(d->s.record_len(100),
                100 + (suite_info(suite).aead == crypto::AeadAlgo::kChacha20Poly1305 ? 21u : 29u));
      EXPECT_TRUE(d->s.take_handshake_completed());
      EXPECT_FALSE(d->s.take_handshake_completed());
      n++;
    }
  }
  EXPECT_EQ(n, 9);
}

TEST(Session12, OneByteSegmentsAndSmallRecords) {
  for (size_t seg : {size_t{1}, size_t{3}, size_t{1000}}) {
    SCOPED_TRACE(seg);
    ServerConfig12 sc = server_config();
    sc.client_auth = ClientAuth::kRequired;
    sc.client_ca = &certs().ca;
    const Certificate12 mine = Certificate12::from(certs().client);
    ClientConfig12 ccfg;
    ccfg.certificate = &mine;
    ClientConn12 c(ccfg);
    c.record_size = seg == 1 ? 1 : kMaxPlaintextLen;  // handshake messages across records
    Driver d(sc);
    d.max_content = seg == 1 ? 7 : kMaxPlaintextLen;  // our flight in 7-byte records
    c.start();
    pump(c, d, seg);
    expect_established(c, d, seg);
    EXPECT_TRUE(d.s.machine().client_identity());
  }
}

// Allocation by announcement: after a handshake with client certificates and data in one-byte
// records and segments (every record and message assembled), the session holds no input
// buffer. Its remaining heap is measured by destroying it (heap_usage.h) and printed.
TEST(Session12, IdleSessionHoldsNoInputBuffers) {
  ServerConfig12 sc = server_config();
  sc.client_auth = ClientAuth::kRequired;
  sc.client_ca = &certs().ca;
  const Certificate12 mine = Certificate12::from(certs().client);
  ClientConfig12 ccfg;
  ccfg.cipher_suites = {0xC02B};
  ccfg.certificate = &mine;
  ClientConn12 c(ccfg);
  c.record_size = 1;
  Driver d(sc);
  c.start();
  pump(c, d, 1);
  expect_established(c, d, 1);
  EXPECT_GT(d.s.deframer_stats().assembled, 0u);
  EXPECT_EQ(d.s.buffered_bytes(), 0u);
  const size_t with = linetls::testing::heap_in_use();
  std::destroy_at(&d.s);
  const size_t without = linetls::testing::heap_in_use();
  std::construct_at(&d.s, sc, SessionLimits{});
  const size_t held = with - without;
  std::printf(
      "idle ServerSession12 (ECDHE-ECDSA-AES128-GCM-SHA256 with a client certificate, "
      "OpenSSL EVP keys): sizeof %zu, heap %zu\n",
      sizeof(ServerSession12), held);
  RecordProperty("idle_heap_bytes", static_cast<int>(held));
  RecordProperty("sizeof", static_cast<int>(sizeof(ServerSession12)));
  EXPECT_LT(held, 4096u);
}

TEST(Session12, ManyRecordsInOneRoundAndBarriers) {
  ServerConfig12 sc = server_config();
  ClientConn12 c(ClientConfig12{});
  auto d = connect(sc, c);
  ASSERT_TRUE(d->s.handshake_done());
  EXPECT_FALSE(d->s.barrier());
  Bytes all;
  for (int i = 0; i < 20; i++) {
    const Bytes b = pattern(1000, static_cast<uint8_t>(i));
    all.insert(all.end(), b.begin(), b.end());
    c.record_size = 1000;
  }
  c.send_app(all);
  d->rounds = 0;
  d->max_ops_per_round = 0;
  pump(c, *d);
  EXPECT_EQ(d->app_in, all);
  EXPECT_EQ(d->rounds, 1u);  // no key changes after the handshake: one round
  EXPECT_EQ(d->max_ops_per_round, 20u);
}

TEST(Session12, ClientCertificates) {
  struct Case {
    const char* name;
    ClientAuth auth;
    const crypto::CertifiedKey* cert;
    std::optional<Error> error;
  } cases[] = {
      {"required ecdsa", ClientAuth::kRequired, &certs().client, std::nullopt},
      {"required rsa", ClientAuth::kRequired, &certs().client_rsa, std::nullopt},
      {"optional none", ClientAuth::kOptional, nullptr, std::nullopt},
      {"required none", ClientAuth::kRequired, nullptr, Error::kHandshakeFailure},
      {"unknown ca", ClientAuth::kRequired, &certs().other_client, Error::kUnknownCa},
      {"expired", ClientAuth::kOptional, &certs().expired, Error::kCertificateExpired},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    ServerConfig12 sc = server_config();
    sc.client_auth = k.auth;
    sc.client_ca = &certs().ca;
    std::optional<Certificate12> mine;
    ClientConfig12 ccfg;
    if (k.cert != nullptr) {
      mine = Certificate12::from(*k.cert);
      ccfg.certificate = &*mine;
    }
    ClientConn12 c(ccfg);
    auto d = connect(sc, c);
    if (!k.error) {
      expect_established(c, *d);
      EXPECT_EQ(d->s.machine().client_identity().has_value(), k.cert != nullptr);
      continue;
    }
    ASSERT_TRUE(d->s.error());
    EXPECT_EQ(*d->s.error(), *k.error);
    EXPECT_EQ(d->alerts, 1);
    ASSERT_TRUE(c.alert_received);
    EXPECT_EQ(*c.alert_received, static_cast<uint8_t>(to_alert(*k.error)));
    EXPECT_TRUE(d->s.closed());
  }
}

TEST(Session12, ServerCloseNotify) {
  ClientConn12 c(ClientConfig12{});
  auto d = connect(default_server(), c);
  d->send_app(bytes("bye"));
  d->drain();
  d->s.close();
  d->drain();
  EXPECT_TRUE(d->s.closed());
  EXPECT_FALSE(d->s.app_writable());
  Bytes w = std::move(d->wire);
  c.receive(w);
  EXPECT_EQ(c.app_in, bytes("bye"));
  EXPECT_TRUE(c.peer_closed);
  EXPECT_FALSE(c.error);
}

TEST(Session12, PeerCloseNotify) {
  ClientConn12 c(ClientConfig12{});
  auto d = connect(default_server(), c);
  c.send_app(bytes("last words"));
  c.send_alert(1, 0);
  c.send_app(bytes("ignored"));
  pump(c, *d);
  EXPECT_TRUE(d->s.peer_closed());
  EXPECT_TRUE(d->s.input_closed());
  EXPECT_FALSE(d->s.closed());
  EXPECT_EQ(d->app_in, bytes("last words"));
  // The application answers, then closes.
  d->send_app(bytes("ok"));
  d->drain();
  d->s.close();
  pump(c, *d);
  EXPECT_EQ(c.app_in, bytes("ok"));
  EXPECT_TRUE(c.peer_closed);
  EXPECT_TRUE(d->s.closed());
}

TEST(Session12, PeerFatalAlertClosesWithoutAnswer) {
  for (uint8_t level : {uint8_t{2}, uint8_t{1}}) {
    SCOPED_TRACE(int{level});
    ClientConn12 c(ClientConfig12{});
    auto d = connect(default_server(), c);
    // Fatal level, or an always-fatal description at warning level.
    c.send_alert(level, level == 2 ? 46 : 10);
    pump(c, *d);
    EXPECT_TRUE(d->s.closed());
    EXPECT_FALSE(d->s.error());
    EXPECT_EQ(d->alerts, 0);
    EXPECT_TRUE(d->wire.empty());
    EXPECT_EQ(d->s.stats().alert_received, level == 2 ? 46 : 10);
  }
}

TEST(Session12, PlaintextAlertDuringHandshake) {
  // A client that fails on our first flight has no keys: its alert is plaintext.
  ServerConfig12 sc = server_config();
  Driver d(sc);
  ClientConn12 c(ClientConfig12{});
  c.start();
  d.receive(c.out);
  c.out.clear();
  EXPECT_FALSE(d.wire.empty());
  d.wire.clear();
  c.send_alert(2, 42);
  d.receive(c.out);
  EXPECT_TRUE(d.s.closed());
  EXPECT_FALSE(d.s.error());
  EXPECT_TRUE(d.wire.empty());
}

TEST(Session12, WarningAlertsCountedInARow) {
  ClientConn12 c(ClientConfig12{});
  SessionLimits limits;
  limits.max_warning_alerts = 2;
  auto d = connect(default_server(), c, limits);
  // user_canceled, an unknown description, no_renegotiation: warnings. Data between them
  // resets the count.
  for (int i = 0; i < 4; i++) {
    c.send_alert(1, 90);
    c.send_alert(1, 200);
    c.send_app(bytes("x"));
  }
  pump(c, *d);
  EXPECT_FALSE(d->s.error());
  EXPECT_EQ(d->app_in, bytes("xxxx"));
  c.send_alert(1, 90);
  c.send_alert(1, 100);
  c.send_alert(1, 201);
  pump(c, *d);
  ASSERT_TRUE(d->s.error());
  EXPECT_EQ(*d->s.error(), Error::kTooManyWarningAlerts);
  EXPECT_EQ(d->alerts, 1);
  EXPECT_TRUE(c.alert_received);
}

TEST(Session12, AesGcmRecordLimitEndsTheConnection) {
  for (uint16_t suite : {uint16_t{0xC02B}, uint16_t{0xCCA9}}) {
    ClientConfig12 ccfg;
    ccfg.cipher_suites = {suite};
    ClientConn12 c(ccfg);
    SessionLimits limits;
    limits.key_update_records = 5;  // our Finished is record 0
    auto d = connect(default_server(), c, limits);
    ASSERT_TRUE(d->s.handshake_done());
    d->max_content = 100;
    d->send_app(pattern(1000, 1));
    d->drain();
    Bytes w = std::move(d->wire);
    c.receive(w);
    if (suite == 0xCCA9) {
      EXPECT_EQ(c.app_in.size(), 1000u);  // ChaCha20: no limit
      EXPECT_FALSE(d->s.closed());
      continue;
    }
    EXPECT_EQ(c.app_in.size(), 400u);  // records 1..4, then close_notify
    EXPECT_TRUE(c.peer_closed);
    EXPECT_TRUE(d->s.closed());
    EXPECT_FALSE(d->s.error());
  }
}

TEST(Session12, BatchFullThenRetry) {
  auto one = ossl::OsslAeadBatch::create(1).value();
  ServerConfig12 sc = server_config();
  Driver d(sc, {}, one.get());
  ClientConn12 c(ClientConfig12{});
  c.start();
  pump(c, d);
  expect_established(c, d);
  EXPECT_GT(d.batch_full, 0u);
}

// ---- Abuse limits and violations: exactly one alert, of the right kind, and the end.

struct AbuseCase {
  const char* name;
  std::function<void(ClientConn12&)> inject;  // after the handshake
  Error error;
};

std::vector<AbuseCase> abuse_cases() {
  const Bytes client_hello = [] {
    ClientConn12 other(ClientConfig12{});
    other.start();
    return Bytes(other.out.begin() + kRecordHeaderLen, other.out.end());
  }();
  return {
      {"empty records", [](ClientConn12& c) {
         for (int i = 0; i < 33; i++) {
           c.send_record(ContentType::kApplicationData, {});
         }
       }, Error::kTooManyEmptyRecords},
      {"warning alerts", [](ClientConn12& c) {
         for (int i = 0; i < 5; i++) {
           c.send_alert(1, 90);
         }
       }, Error::kTooManyWarningAlerts},
      {"unknown warning alerts", [](ClientConn12& c) {
         for (int i = 0; i < 5; i++) {
           c.send_alert(1, 222);
         }
       }, Error::kTooManyWarningAlerts},
      {"renegotiation", [client_hello](ClientConn12& c) {
         c.send_record(ContentType::kHandshake, client_hello);
       }, Error::kRenegotiationRefused},
      {"hello request from the client", [](ClientConn12& c) {
         c.send_record(ContentType::kHandshake, Bytes{0, 0, 0, 0});
       }, Error::kUnexpectedMessage},
      {"protected ccs", [](ClientConn12& c) {
         c.send_record(ContentType::kChangeCipherSpec, Bytes{1});
       }, Error::kUnexpectedChangeCipherSpec},
      {"plaintext ccs", [](ClientConn12& c) {
         c.out.insert(c.out.end(), {20, 3, 3, 0, 1, 1});
       }, Error::kUnexpectedChangeCipherSpec},
      {"alert of three bytes", [](ClientConn12& c) {
         c.send_record(ContentType::kAlert, Bytes{1, 0, 0});
       }, Error::kBadAlert},
      {"alert level 3", [](ClientConn12& c) {
         c.send_record(ContentType::kAlert, Bytes{3, 0});
       }, Error::kBadAlert},
      {"huge renegotiation hello, refused on its header", [](ClientConn12& c) {
         c.send_record(ContentType::kHandshake, Bytes{1, 0x01, 0x20, 0x00});
       }, Error::kRenegotiationRefused},
      // RFC 8446 §5.1's rule, applied to TLS 1.2: nothing between a message's fragments.
      {"split message then an alert", [](ClientConn12& c) {
         c.send_record(ContentType::kHandshake, Bytes{1, 0});
         c.send_alert(1, 90);
       }, Error::kInterleavedRecord},
      {"split message then data", [](ClientConn12& c) {
         c.send_record(ContentType::kHandshake, Bytes{1, 0});
         c.send_app(bytes("x"));
       }, Error::kInterleavedRecord},
      {"tampered record", [](ClientConn12& c) {
         c.send_app(bytes("hello"));
         c.out.back() ^= 1;
       }, Error::kDecryptFailed},
      {"record too short for gcm", [](ClientConn12& c) {
         c.out.insert(c.out.end(), {23, 3, 3, 0, 3, 1, 2, 3});
       }, Error::kDecryptFailed},
      {"old record version", [](ClientConn12& c) {
         c.out.insert(c.out.end(), {23, 3, 1, 0, 30});
         c.out.resize(c.out.size() + 30);
       }, Error::kBadRecordVersion},
  };
}

class SessionAbuse : public ::testing::TestWithParam<size_t> {};

TEST_P(SessionAbuse, OneAlertOfTheRightKind) {
  const AbuseCase k = abuse_cases()[GetParam()];
  SCOPED_TRACE(k.name);
  ClientConn12 c(ClientConfig12{});
  auto d = connect(default_server(), c);
  ASSERT_TRUE(d->s.handshake_done());
  k.inject(c);
  pump(c, *d);
  ASSERT_TRUE(d->s.error());
  EXPECT_EQ(*d->s.error(), k.error) << to_string(*d->s.error());
  EXPECT_EQ(d->alerts, 1);
  EXPECT_TRUE(d->s.closed());
  ASSERT_TRUE(c.alert_received);  // it opened under our keys
  EXPECT_EQ(*c.alert_received, static_cast<uint8_t>(to_alert(k.error)));
  EXPECT_EQ(c.alert_level, 2);
  // Nothing after it.
  d->send_app(bytes("more"));
  d->s.close();
  d->drain();
  EXPECT_TRUE(d->wire.empty());
}

INSTANTIATE_TEST_SUITE_P(All, SessionAbuse, ::testing::Range(size_t{0}, abuse_cases().size()));

TEST(Session12, BeforeTheHandshakeViolations) {
  struct Case {
    const char* name;
    int after_flight;  // client flights delivered first (0: none)
    Bytes records;
    Error error;
  } cases[] = {
      {"application data first", 0, {23, 3, 3, 0, 2, 'h', 'i'}, Error::kUnprotectedRecord},
      {"ccs first", 0, {20, 3, 1, 0, 1, 1}, Error::kUnexpectedChangeCipherSpec},
      {"ccs of two bytes", 1, {20, 3, 3, 0, 2, 1, 1}, Error::kBadChangeCipherSpec},
      {"ccs before the key exchange", 1, {20, 3, 3, 0, 1, 1}, Error::kUnexpectedChangeCipherSpec},
      {"application data after the hello", 1, {23, 3, 3, 0, 1, 'x'}, Error::kUnprotectedRecord},
      // RFC 8446 §5.1's rule, applied to TLS 1.2: nothing between a message's fragments.
      {"warning alert inside the hello", 0, {22, 3, 1, 0, 2, 1, 0, 21, 3, 3, 0, 2, 1, 90},
       Error::kInterleavedRecord},
      {"fatal alert inside the hello", 0, {22, 3, 1, 0, 2, 1, 0, 21, 3, 3, 0, 2, 2, 40},
       Error::kInterleavedRecord},
      {"data inside the hello", 0, {22, 3, 1, 0, 5, 1, 0, 0, 9, 3, 23, 3, 3, 0, 1, 'x'},
       Error::kInterleavedRecord},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    const ServerConfig12 sc = server_config();
    Driver d(sc);
    ClientConn12 c(ClientConfig12{});
    c.start();
    if (k.after_flight == 1) {
      d.receive(c.out);
      c.out.clear();
      d.wire.clear();
    }
    d.receive(k.records);
    ASSERT_TRUE(d.s.error());
    EXPECT_EQ(*d.s.error(), k.error) << to_string(*d.s.error());
    EXPECT_EQ(d.alerts, 1);
    // The alert is plaintext: our ChangeCipherSpec never went out.
    ASSERT_EQ(d.wire.size(), 7u);
    EXPECT_EQ(d.wire[0], 21);
    EXPECT_EQ(d.wire[5], 2);
    EXPECT_EQ(d.wire[6], static_cast<uint8_t>(to_alert(k.error)));
  }
}

TEST(Session12, FinishedSplitAcrossTheKeyChange) {
  // The client's ClientKeyExchange record carries the first byte of another message: the
  // CCS arrives with a partial message buffered.
  const ServerConfig12 sc = server_config();
  Driver d(sc);
  ClientConn12 c(ClientConfig12{});
  c.start();
  c.split_before_ccs = true;
  pump(c, d);
  ASSERT_TRUE(d.s.error());
  EXPECT_EQ(*d.s.error(), Error::kHandshakeSpansKeyChange);
  EXPECT_EQ(d.alerts, 1);
}


// ---- Resumption.

struct Resumption {
  std::unique_ptr<ossl::OsslAeadBatch> ticket_batch = ossl::OsslAeadBatch::create(1).value();
  TicketKeys keys{*ticket_batch, crypto::os_rng()};
  SessionCache12 cache{16};
  std::time_t clock = std::time(nullptr);
  ServerConfig12 sc = server_config();
  Resumption() {
    EXPECT_TRUE(keys.rotate());
    sc.ticket_keys = &keys;
    sc.session_cache = &cache;
    sc.now = [this] { return clock; };
  }
};

// A full handshake, then returns the session the client saved.
SavedSession12 first_session(const ServerConfig12& sc, ClientConfig12 ccfg) {
  ClientConn12 c(std::move(ccfg));
  auto d = connect(sc, c);
  expect_established(c, *d);
  EXPECT_FALSE(d->s.machine().resumed());
  return c.m.saved_session();
}

// Connects offering saved; returns whether the server resumed (both sides agreeing).
bool resumes(const ServerConfig12& sc, ClientConfig12 ccfg, const SavedSession12& saved,
             SavedSession12* out_next = nullptr, size_t segment = 1 << 20) {
  ccfg.resume = &saved;
  ClientConn12 c(std::move(ccfg));
  Driver d(sc);
  c.start();
  pump(c, d, segment);
  expect_established(c, d, segment);
  EXPECT_EQ(c.m.resumed(), d.s.machine().resumed());
  if (out_next != nullptr) {
    *out_next = c.m.saved_session();
  }
  return d.s.machine().resumed();
}

TEST(Session12Resumption, ByTicketEverySuite) {
  Resumption r;
  r.sc.session_cache = nullptr;
  for (CipherSuite suite : kAllSuites) {
    SCOPED_TRACE(suite_info(suite).name);
    ClientConfig12 ccfg;
    ccfg.cipher_suites = {static_cast<uint16_t>(suite)};
    ccfg.session_ticket = true;
    const SavedSession12 saved = first_session(r.sc, ccfg);
    EXPECT_FALSE(saved.ticket.empty());
    EXPECT_TRUE(saved.session_id.empty());
    SavedSession12 next;
    EXPECT_TRUE(resumes(r.sc, ccfg, saved, &next));
    // The ticket was renewed; the renewed one resumes too, in 1-byte segments.
    EXPECT_FALSE(next.ticket.empty());
    EXPECT_NE(next.ticket, saved.ticket);
    EXPECT_TRUE(resumes(r.sc, ccfg, next, nullptr, 1));
  }
}

TEST(Session12Resumption, BySessionId) {
  Resumption r;
  r.sc.ticket_keys = nullptr;
  ClientConfig12 ccfg;
  const SavedSession12 saved = first_session(r.sc, ccfg);
  EXPECT_EQ(saved.session_id.size(), kSessionIdLen);
  EXPECT_TRUE(saved.ticket.empty());
  EXPECT_EQ(r.cache.size(), 1u);
  SavedSession12 next;
  EXPECT_TRUE(resumes(r.sc, ccfg, saved, &next));
  EXPECT_EQ(next.session_id, saved.session_id);
  EXPECT_TRUE(resumes(r.sc, ccfg, next));
  EXPECT_EQ(r.cache.size(), 1u);
}

TEST(Session12Resumption, ClientIdentityIsKept) {
  Resumption r;
  r.sc.client_auth = ClientAuth::kRequired;
  const Certificate12 mine = Certificate12::from(certs().client);
  ClientConfig12 ccfg;
  ccfg.certificate = &mine;
  ccfg.session_ticket = true;
  const SavedSession12 saved = first_session(r.sc, ccfg);
  ccfg.resume = &saved;
  ClientConn12 c(ccfg);
  Driver d(r.sc);
  c.start();
  pump(c, d);
  expect_established(c, d);
  ASSERT_TRUE(d.s.machine().resumed());
  ASSERT_TRUE(d.s.machine().client_identity());
  EXPECT_NE(d.s.machine().client_identity()->subject.find("client.test"), std::string::npos);
  EXPECT_FALSE(c.m.certificate_requested());
}

TEST(Session12Resumption, FullHandshakeInstead) {
  enum Only { kBoth, kTicketOnly, kSessionIdOnly };
  struct Case {
    const char* name;
    std::function<void(Resumption&, ClientConfig12&, SavedSession12&)> change;
    Only only = kBoth;
  } cases[] = {
      {"other sni", [](Resumption&, ClientConfig12& c, SavedSession12&) {
         c.server_name = "other.test";
       }},
      {"suite not offered", [](Resumption&, ClientConfig12& c, SavedSession12&) {
         c.cipher_suites = {0xC02C};
       }},
      {"suite no longer ours", [](Resumption& r, ClientConfig12&, SavedSession12&) {
         r.sc.cipher_suites = {CipherSuite::kEcdheEcdsaAes256GcmSha384};
       }},
      {"expired", [](Resumption& r, ClientConfig12&, SavedSession12&) { r.clock += 7200; }},
      {"ticket keys rotated twice", [](Resumption& r, ClientConfig12&, SavedSession12&) {
         EXPECT_TRUE(r.keys.rotate());
         EXPECT_TRUE(r.keys.rotate());
       }, kTicketOnly},
      {"tampered ticket", [](Resumption&, ClientConfig12&, SavedSession12& s) {
         s.ticket[s.ticket.size() / 2] ^= 1;
       }, kTicketOnly},
      {"unknown session id", [](Resumption&, ClientConfig12&, SavedSession12& s) {
         s.session_id[0] ^= 1;
       }, kSessionIdOnly},
      {"client certificate now required", [](Resumption& r, ClientConfig12&, SavedSession12&) {
         r.sc.client_auth = ClientAuth::kRequired;
       }},
  };
  for (const Case& k : cases) {
    for (bool ticket : {true, false}) {
      SCOPED_TRACE(std::string(k.name) + (ticket ? " (ticket)" : " (session id)"));
      if ((k.only == kTicketOnly && !ticket) || (k.only == kSessionIdOnly && ticket)) {
        continue;
      }
      Resumption r;
      if (ticket) {
        r.sc.session_cache = nullptr;
      } else {
        r.sc.ticket_keys = nullptr;
      }
      ClientConfig12 ccfg;
      ccfg.session_ticket = ticket;
      SavedSession12 saved = first_session(r.sc, ccfg);
      const Certificate12 mine = Certificate12::from(certs().client);
      ccfg.certificate = &mine;
      k.change(r, ccfg, saved);
      EXPECT_FALSE(resumes(r.sc, ccfg, saved));
    }
  }
}

TEST(Session12Resumption, WithoutExtendedMasterSecretIsRefused) {
  // RFC 7627 §5.3: an abbreviated handshake without EMS is aborted with handshake_failure.
  Resumption r;
  ClientConfig12 ccfg;
  ccfg.session_ticket = true;
  const SavedSession12 saved = first_session(r.sc, ccfg);
  ccfg.extended_master_secret = false;
  ccfg.resume = &saved;
  ClientConn12 c(ccfg);
  Driver d(r.sc);
  c.start();
  pump(c, d);
  ASSERT_TRUE(d.s.error());
  EXPECT_EQ(*d.s.error(), Error::kHandshakeFailure);
  EXPECT_EQ(d.alerts, 1);
  EXPECT_EQ(c.alert_received, static_cast<uint8_t>(AlertDescription::kHandshakeFailure));
}

// A verified client identity of several KiB (subject and subjectAltNames) rides in the
// ticket: the NewSessionTicket is sized from the sealed ticket (it used to overflow a fixed
// buffer after the client's Finished, internal_error), and the ticket resumes with the
// identity, its renewal in the abbreviated handshake sized the same way.
TEST(Session12Resumption, LargeClientIdentityRidesInTheTicket) {
  const crypto::CertifiedKey big = issued::big_identity_client(20, 40);
  Resumption r;
  r.sc.client_auth = ClientAuth::kRequired;
  const Certificate12 mine = Certificate12::from(big);
  ClientConfig12 ccfg;
  ccfg.certificate = &mine;
  ccfg.session_ticket = true;
  ClientConn12 c(ccfg);
  auto d = connect(r.sc, c);
  expect_established(c, *d);
  ASSERT_TRUE(d->s.machine().client_identity());
  const crypto::VerifiedIdentity id = *d->s.machine().client_identity();
  EXPECT_GT(ticket_identity_len(id), 4000u);
  EXPECT_TRUE(d->s.machine().ticket_sent());
  const SavedSession12 saved = c.m.saved_session();
  ASSERT_GT(saved.ticket.size(), ticket_identity_len(id));
  SavedSession12 next;
  EXPECT_TRUE(resumes(r.sc, ccfg, saved, &next));
  EXPECT_GT(next.ticket.size(), ticket_identity_len(id));  // renewed, and as large
  ccfg.resume = &next;
  ClientConn12 c2(ccfg);
  Driver d2(r.sc);
  c2.start();
  pump(c2, d2);
  expect_established(c2, d2);
  EXPECT_TRUE(d2.s.machine().resumed());
  ASSERT_TRUE(d2.s.machine().client_identity());
  EXPECT_EQ(d2.s.machine().client_identity()->subject, id.subject);
  EXPECT_EQ(d2.s.machine().client_identity()->subject_alt_names, id.subject_alt_names);
}

// ---- The extended master secret as a policy (RFC 7627).

// kPreferred (the default): a client without the extension completes with the RFC 5246 §8.1
// master secret, both sides agreeing (the ServerHello carries no EMS: our client refuses an
// unsolicited one); kRequired refuses it with handshake_failure (§5.2).
TEST(Session12Ems, WithoutTheExtensionByPolicy) {
  for (CipherSuite suite :
       {CipherSuite::kEcdheEcdsaAes128GcmSha256, CipherSuite::kEcdheEcdsaAes256GcmSha384}) {
    SCOPED_TRACE(suite_info(suite).name);
    ClientConfig12 ccfg;
    ccfg.cipher_suites = {static_cast<uint16_t>(suite)};
    ccfg.extended_master_secret = false;
    ClientConn12 c(ccfg);
    ServerConfig12 sc = server_config();
    ASSERT_EQ(sc.ems_policy, EmsPolicy::kPreferred);
    auto d = connect(sc, c);
    expect_established(c, *d);
    EXPECT_FALSE(d->s.machine().extended_master_secret());
    EXPECT_FALSE(c.m.extended_master_secret());
    EXPECT_TRUE(std::ranges::equal(d->s.machine().master_secret(), c.m.master_secret()));
  }
  {
    ClientConn12 c(ClientConfig12{});  // offers EMS: gets it
    auto d = connect(default_server(), c);
    expect_established(c, *d);
    EXPECT_TRUE(d->s.machine().extended_master_secret());
    EXPECT_TRUE(c.m.extended_master_secret());
  }
  ClientConfig12 ccfg;
  ccfg.extended_master_secret = false;
  ClientConn12 c(ccfg);
  ServerConfig12 sc = server_config();
  sc.ems_policy = EmsPolicy::kRequired;
  auto d = connect(sc, c);
  ASSERT_TRUE(d->s.error());
  EXPECT_EQ(*d->s.error(), Error::kHandshakeFailure);
  EXPECT_EQ(c.alert_received, static_cast<uint8_t>(AlertDescription::kHandshakeFailure));
}

// RFC 7627 §5.3 between a saved session and the ClientHello that offers it, by ticket and by
// session ID: EMS on both resumes; EMS session without EMS now is handshake_failure ("MUST
// abort the abbreviated handshake"); a non-EMS session with EMS now is a full handshake ("MUST
// NOT perform the abbreviated handshake"), whose new session is EMS; neither resumes.
TEST(Session12Ems, ResumptionFollowsSection53) {
  for (bool by_ticket : {true, false}) {
    for (bool session_ems : {true, false}) {
      for (bool hello_ems : {true, false}) {
        SCOPED_TRACE(::testing::Message() << (by_ticket ? "ticket" : "session id") << ", session "
                                          << (session_ems ? "EMS" : "no EMS") << ", hello "
                                          << (hello_ems ? "EMS" : "no EMS"));
        Resumption r;
        if (!by_ticket) {
          r.sc.ticket_keys = nullptr;
        }
        ClientConfig12 ccfg;
        ccfg.session_ticket = by_ticket;
        ccfg.extended_master_secret = session_ems;
        const SavedSession12 saved = first_session(r.sc, ccfg);
        EXPECT_EQ(saved.extended_master_secret, session_ems);
        ccfg.extended_master_secret = hello_ems;
        if (session_ems && !hello_ems) {
          ccfg.resume = &saved;
          ClientConn12 c(ccfg);
          Driver d(r.sc);
          c.start();
          pump(c, d);
          ASSERT_TRUE(d.s.error());
          EXPECT_EQ(*d.s.error(), Error::kHandshakeFailure);
          EXPECT_EQ(c.alert_received, static_cast<uint8_t>(AlertDescription::kHandshakeFailure));
          continue;
        }
        SavedSession12 next;
        EXPECT_EQ(resumes(r.sc, ccfg, saved, &next), session_ems == hello_ems);
        EXPECT_EQ(next.extended_master_secret, hello_ems);
      }
    }
  }
}

// The session encoding says which master secret it holds (version 2); a version 1 encoding
// (before the flag) does not decode, so its ticket gets a full handshake, never an error.
TEST(Session12Ems, EncodingCarriesTheFlagAndOldTicketsFallBack) {
  Session12 s;
  s.suite = CipherSuite::kEcdheEcdsaAes128GcmSha256;
  s.master.assign(pattern(48, 1));
  s.created_s = static_cast<uint64_t>(std::time(nullptr));
  s.lifetime_s = 600;
  for (bool ems : {true, false}) {
    s.extended_master_secret = ems;
    const Bytes enc = encode_session12(s);
    ASSERT_GE(enc.size(), 2u);
    EXPECT_EQ(enc[0], 2);
    auto back = decode_session12(enc);
    ASSERT_TRUE(back);
    EXPECT_EQ(back->extended_master_secret, ems);
    Bytes bad_flag = enc;
    bad_flag[1] = 2;
    EXPECT_FALSE(decode_session12(bad_flag));
  }
  // Version 1: version, suite, master, created, lifetime, server_name, no identity.
  Bytes v1 = {1, 0xC0, 0x2B, 48};
  const Bytes m = pattern(48, 1);
  v1.insert(v1.end(), m.begin(), m.end());
  for (int i = 0; i < 8; i++) {
    v1.push_back(static_cast<uint8_t>(s.created_s >> (56 - 8 * i)));
  }
  v1.insert(v1.end(), {0, 0, 2, 0x58, 0, 0, 0});
  EXPECT_FALSE(decode_session12(v1));
  // Sealed as a 1.2 ticket the way the old server did, then offered: a full handshake.
  Resumption r;
  TicketContents c;
  c.suite = tls::CipherSuite::kAes128GcmSha256;
  c.psk.assign(pattern(32, 3));
  c.alpn.assign(std::begin(kTicket12Marker), std::end(kTicket12Marker));
  c.server_name = v1;
  c.issued_ms = s.created_s * 1000;
  c.lifetime_s = 600;
  auto ticket = r.keys.seal(c);
  ASSERT_TRUE(ticket);
  EXPECT_FALSE(open_ticket12(r.keys, *ticket));
  SavedSession12 old;
  old.ticket = *ticket;
  old.suite = 0xC02B;
  old.master.assign(m);
  ClientConfig12 ccfg;
  ccfg.cipher_suites = {0xC02B};
  EXPECT_FALSE(resumes(r.sc, ccfg, old));
}

TEST(Session12Resumption, AbbreviatedHandshakeViolations) {
  // The client's side of an abbreviated handshake, misbehaving: Finished without CCS.
  Resumption r;
  ClientConfig12 ccfg;
  ccfg.session_ticket = true;
  const SavedSession12 saved = first_session(r.sc, ccfg);
  ccfg.resume = &saved;
  {
    ClientConn12 c(ccfg);
    Driver d(r.sc);
    c.start();
    d.receive(c.out);
    c.out.clear();
    ASSERT_TRUE(d.s.machine().resumed());
    // A handshake message where the CCS belongs.
    d.receive(Bytes{22, 3, 3, 0, 16, 20, 0, 0, 12, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    ASSERT_TRUE(d.s.error());
    EXPECT_EQ(*d.s.error(), Error::kUnexpectedMessage);
  }
}

TEST(SessionCache12, ClockEvictionAndExpiry) {
  SessionCache12 cache(2);
  auto id = [](uint8_t b) { return Bytes(kSessionIdLen, b); };
  auto session = [](uint64_t created) {
    Session12 s;
    s.created_s = created;
    s.lifetime_s = 100;
    s.master.assign(Bytes(48, 7));
    return s;
  };
  cache.insert(id(1), session(1000));
  cache.insert(id(2), session(1000));
  EXPECT_TRUE(cache.find(id(1), 1050));  // referenced: survives the next eviction
  cache.insert(id(3), session(1000));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.evictions(), 1u);
  EXPECT_TRUE(cache.find(id(1), 1050));
  EXPECT_FALSE(cache.find(id(2), 1050));
  EXPECT_TRUE(cache.find(id(3), 1050));
  EXPECT_FALSE(cache.find(id(3), 1100));  // expired: removed
  EXPECT_EQ(cache.size(), 1u);
  EXPECT_FALSE(cache.find(Bytes(5, 1), 1050));
  cache.insert(Bytes(5, 1), session(1000));  // not a 32-byte id: ignored
  EXPECT_EQ(cache.size(), 1u);
}

TEST(Ticket12, EncodingAndCrossVersion) {
  Session12 s;
  s.suite = CipherSuite::kEcdheRsaChacha20Poly1305Sha256;
  s.master.assign(pattern(48, 1));
  s.created_s = 12345;
  s.lifetime_s = 600;
  s.server_name = bytes("example.test");
  crypto::VerifiedIdentity id;
  id.subject = "CN=client";
  id.subject_alt_names = {"a.test", "b.test"};
  id.sha256_fingerprint.len = 32;
  id.sha256_fingerprint.bytes[0] = 9;
  s.client_identity = id;
  const Bytes enc = encode_session12(s);
  auto back = decode_session12(enc);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->suite, s.suite);
  EXPECT_EQ(Bytes(back->master.view().begin(), back->master.view().end()), pattern(48, 1));
  EXPECT_EQ(back->server_name, s.server_name);
  ASSERT_TRUE(back->client_identity);
  EXPECT_EQ(back->client_identity->subject_alt_names, id.subject_alt_names);
  EXPECT_EQ(back->client_identity->sha256_fingerprint.bytes[0], 9);
  // Every truncation and a trailing byte are refused.
  for (size_t n = 0; n < enc.size(); n++) {
    EXPECT_FALSE(decode_session12(std::span(enc).first(n))) << n;
  }
  Bytes longer = enc;
  longer.push_back(0);
  EXPECT_FALSE(decode_session12(longer));

  auto batch1 = ossl::OsslAeadBatch::create(1).value();
  TicketKeys keys(*batch1, crypto::os_rng());
  ASSERT_TRUE(keys.rotate());
  auto t = seal_ticket12(keys, crypto::os_rng(), s);
  ASSERT_TRUE(t);
  ASSERT_TRUE(open_ticket12(keys, *t));
  // As a TLS 1.3 ticket it opens, but with the marker and a PSK nobody knows.
  auto as13 = keys.open(*t);
  ASSERT_TRUE(as13);
  EXPECT_EQ(as13->alpn, Bytes(std::begin(kTicket12Marker), std::end(kTicket12Marker)));
  // A TLS 1.3 ticket is not a 1.2 session.
  TicketContents c13;
  c13.psk.assign(pattern(32, 2));
  auto t13 = keys.seal(c13);
  ASSERT_TRUE(t13);
  EXPECT_FALSE(open_ticket12(keys, *t13));
}

}  // namespace
}  // namespace linetls::tls::v12
