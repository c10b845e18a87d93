// ServerSession13 against the harness's Client13 endpoint (handshake13_harness.h) over the
// OpenSSL AeadBatch. A small driver plays the engine: it cuts the client's bytes into
// segments, deframes them with session.next(), accept()s every record into one batch until
// the session says barrier() (or the batch is full), runs the batch, hands each result to
// on_opened(), and then drains next_output()/write_control()/seal_app() into the bytes the
// client reads (session_test_driver.h, shared with the TLS 1.2 and facade tests). Covered: every suite x group and certificate type, 1-byte segments, many
// records per batch round, resumption, HelloRetryRequest, KeyUpdate both ways (requested and
// our own after key_update_records), close_notify both ways, a table of abuse limits and
// protocol violations each answered by exactly one alert, a peer's fatal alert, rejected
// 0-RTT skipped up to its bound, and a one-op batch (kBatchFull then retry).
#include "lib/tls/session13.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "lib/crypto/rng.h"
#include "lib/tls/client13.h"
#include "lib/tls/key_schedule.h"
#include "lib/tls/ticket13.h"
#include "tests/unit/tls/handshake13_harness.h"
#include "tests/unit/tls/heap_usage.h"
#include "tests/unit/tls/session_test_driver.h"

namespace linetls::tls {
namespace {

using namespace testing13;  // NOLINT(google-build-using-namespace)
using crypto::NamedGroup;

// Plays the engine for one ServerSession13 (session_test_driver.h).
using Driver = session_testing::SessionTestDriver<ServerSession13, RecordSlot>;
using session_testing::pump;

// Seals records as the client would, under a secret the test picks (the client's own
// application secret, taking over its write direction, or a random one).
class Injector {
 public:
  Injector(const SuiteInfo& suite, std::span<const uint8_t> secret)
      : suite_(suite), secret_(secret) {
    rekey();
  }
  // Takes over c's application write direction: c must not have sent application records.
  static Injector client_app(ClientConn& c) {
    return Injector(c.machine().secrets().suite, c.machine().secrets().client_application.view());
  }

  Bytes record(ContentType type, std::span<const uint8_t> content, size_t padding = 0) {
    Bytes rec(content.size() + padding + kProtectedOverhead);
    std::copy(content.begin(), content.end(), rec.begin() + kRecordHeaderLen);
    RecordSlot slot;
    batch_->clear();
    auto q = protector_->queue_seal(*batch_, rec, content.size(), type, padding, &slot);
    EXPECT_TRUE(q && *q);
    EXPECT_EQ(batch_->run(), 1u);
    return rec;
  }
  // A KeyUpdate record (with padding_len zeros of §5.4 padding), then our key moves on
  // (§4.6.3).
  Bytes key_update(bool request, size_t padding_len = 0) {
    const uint8_t msg[5] = {24, 0, 0, 1, static_cast<uint8_t>(request ? 1 : 0)};
    Bytes r = record(ContentType::kHandshake, msg, padding_len);
    auto next = next_traffic_secret(suite_.hash, secret_.view());
    EXPECT_TRUE(next);
    secret_ = std::move(next).value();
    rekey();
    return r;
  }

 private:
  void rekey() {
    auto keys = derive_traffic_keys(suite_, secret_.view());
    EXPECT_TRUE(keys);
    auto p = RecordProtector::create(*batch_, *keys);
    EXPECT_TRUE(p);
    protector_.emplace(std::move(p).value());
  }

  SuiteInfo suite_;
  crypto::HashSecret secret_;
  std::unique_ptr<ossl::OsslAeadBatch> batch_ = ossl::OsslAeadBatch::create(1).value();
  std::optional<RecordProtector> protector_;
};

void append(Bytes& to, std::span<const uint8_t> b) { to.insert(to.end(), b.begin(), b.end()); }

Bytes pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) {
    b[i] = static_cast<uint8_t>(i * 7 + seed);
  }
  return b;
}

// A handshake, then data both ways.
void expect_established(ClientConn& c, Driver& d, size_t segment_size = 1 << 20) {
  ASSERT_FALSE(c.error) << to_string(*c.error);
  ASSERT_FALSE(d.s.error()) << to_string(*d.s.error());
  ASSERT_TRUE(c.done()) << c.machine().state_name();
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

struct Matrix {
  CipherSuite suite;
  NamedGroup group;
};

class SessionSuites : public ::testing::TestWithParam<Matrix> {};

TEST_P(SessionSuites, HandshakeAndDataBothWays) {
  const Matrix m = GetParam();
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  scfg.cipher_suites = {m.suite};
  scfg.groups = {m.group};
  ClientConfig13 ccfg;
  ccfg.key_share_groups = {m.group};
  Driver d(scfg);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d);
  expect_established(c, d);
  EXPECT_EQ(c.machine().secrets().suite.suite, m.suite);
  EXPECT_EQ(d.s.machine().group(), m.group);
  EXPECT_TRUE(d.s.take_handshake_completed());
  EXPECT_FALSE(d.s.take_handshake_completed());
}

std::vector<Matrix> suites_by_groups() {
  std::vector<Matrix> out;
  for (CipherSuite s : {CipherSuite::kAes128GcmSha256, CipherSuite::kAes256GcmSha384,
                        CipherSuite::kChacha20Poly1305Sha256}) {
    for (NamedGroup g : {NamedGroup::kX25519, NamedGroup::kSecp256r1, NamedGroup::kSecp384r1}) {
      out.push_back({s, g});
    }
  }
  return out;
}
INSTANTIATE_TEST_SUITE_P(All, SessionSuites, ::testing::ValuesIn(suites_by_groups()));

TEST(Session13, EveryCertificateType) {
  for (const crypto::CertifiedKey* k :
       {&certs().ecdsa256, &certs().ecdsa384, &certs().ed25519, &certs().rsa}) {
    ServerConfig13 scfg = server_config({k});
    Driver d(scfg);
    ClientConfig13 ccfg;
    ClientConn c(ccfg, false);
    c.start();
    pump(c, d);
    expect_established(c, d);
  }
}

TEST(Session13, OneByteSegments) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  Driver d(scfg);
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d, 1);
  expect_established(c, d, 1);
  EXPECT_GT(d.s.deframer_stats().assembled, 0u);
}

TEST(Session13, SmallControlRecords) {
  // The engine's buffers hold 100 content bytes: the server flight is cut to match.
  ServerConfig13 scfg = server_config({&certs().rsa});
  Driver d(scfg);
  d.max_content = 100;
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d);
  expect_established(c, d);
}

TEST(Session13, ManyRecordsInOneRoundAndBarriers) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  Driver d(scfg);
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d);
  ASSERT_TRUE(d.s.handshake_done());
  EXPECT_GT(d.rounds, 0u);
  EXPECT_EQ(d.max_ops_per_round, 1u);  // every handshake record is a barrier

  // 20 records of 1000 bytes: one batch round.
  c.record_size = 1000;
  const Bytes big = pattern(20000, 1);
  c.send_app(big);
  const size_t rounds = d.rounds;
  d.receive(c.out);
  c.out.clear();
  EXPECT_EQ(d.app_in, big);
  EXPECT_EQ(d.rounds, rounds + 1);
  EXPECT_EQ(d.max_ops_per_round, 20u);

  // Ten records of 10 bytes: each may be a KeyUpdate, so each is a round of its own.
  c.record_size = 10;
  c.send_app(pattern(100, 2));
  d.receive(c.out);
  c.out.clear();
  EXPECT_EQ(d.rounds, rounds + 11);
  EXPECT_EQ(d.app_in.size(), 20100u);
}

TEST(Session13, BarrierRules) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  Driver d(scfg);
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d);
  ASSERT_TRUE(d.s.handshake_done());
  c.send_app(pattern(200, 0));  // a 222-byte record
  c.send_app(pattern(40, 0));   // a 62-byte record
  auto& b = batch();
  b.clear();
  std::span<uint8_t> piece(c.out);
  RecordSlot slots[2];
  for (int i = 0; i < 2; i++) {
    auto step = d.s.next(piece);
    ASSERT_TRUE(step && step->has_record);
    piece = piece.subspan(step->consumed);
    auto a = d.s.accept(step->record, b, &slots[i]);
    ASSERT_TRUE(a);
    EXPECT_EQ(*a, ServerSession13::Accepted::kQueued);
    EXPECT_EQ(d.s.barrier(), i == 1) << i;
  }
  EXPECT_EQ(b.run(), 2u);
  for (int i = 0; i < 2; i++) {
    auto r = d.s.on_opened(b.status(i), slots[i]);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->size(), i == 0 ? 200u : 40u);
  }
  EXPECT_FALSE(d.s.barrier());
  b.clear();
  d.s.batch_done();
}

TEST(Session13, ResumptionWithTickets) {
  auto ticket_batch = ossl::OsslAeadBatch::create(1).value();
  TicketKeys keys(*ticket_batch, crypto::os_rng());
  ASSERT_TRUE(keys.rotate());
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  scfg.ticket_keys = &keys;
  std::vector<Session> sessions;
  {
    Driver d(scfg);
    ClientConfig13 ccfg;
    ClientConn c(ccfg, false);
    c.start();
    pump(c, d);
    expect_established(c, d);
    EXPECT_FALSE(d.s.machine().resumed());
    sessions = c.machine().take_sessions();
    ASSERT_EQ(sessions.size(), scfg.tickets_to_send);
  }
  ClientConfig13 ccfg;
  ccfg.session = &sessions[0];
  Driver d(scfg);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d);
  expect_established(c, d);
  EXPECT_TRUE(d.s.machine().resumed());
  EXPECT_TRUE(c.machine().resumed());
}

TEST(Session13, HelloRetryRequest) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  scfg.groups = {NamedGroup::kSecp384r1};
  scfg.cookie = std::make_shared<FixedCookie>();
  Driver d(scfg);
  ClientConfig13 ccfg;  // key share for x25519 only
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d);
  expect_established(c, d);
  EXPECT_TRUE(d.s.machine().sent_hello_retry_request());
  EXPECT_EQ(d.s.machine().group(), NamedGroup::kSecp384r1);
}

// The records of a byte stream, whole (header included).
std::vector<Bytes> split_records(std::span<const uint8_t> wire) {
  std::vector<Bytes> out;
  size_t at = 0;
  while (at + kRecordHeaderLen <= wire.size()) {
    const size_t len = size_t{wire[at + 3]} << 8 | wire[at + 4];
    const size_t end = std::min(wire.size(), at + kRecordHeaderLen + len);
    out.emplace_back(wire.begin() + at, wire.begin() + end);
    at = end;
  }
  return out;
}

// RFC 8446 Appendix D.4: "The server sends a dummy change_cipher_spec record immediately
// after its first handshake message. This may either be after a ServerHello or a
// HelloRetryRequest." ... "if the client sends a non-empty session ID, the server MUST send
// the change_cipher_spec as described in this appendix." Exactly one, and none for a client
// that is not in compatibility mode (empty legacy_session_id).
TEST(Session13, MiddleboxCompatibilityChangeCipherSpec) {
  struct Case {
    const char* name;
    bool session_id;
    bool hrr;
    // Record types the server sends up to its first protected record (23 = protected).
    std::vector<uint8_t> types;
  };
  const Case cases[] = {
      {"session id", true, false, {22, 20, 23}},
      {"session id, HelloRetryRequest", true, true, {22, 20, 22, 23}},
      {"empty session id", false, false, {22, 23}},
      {"empty session id, HelloRetryRequest", false, true, {22, 22, 23}},
  };
  const Bytes kCcs = {0x14, 0x03, 0x03, 0x00, 0x01, 0x01};
  for (const Case& k : cases) {
    ServerConfig13 scfg = server_config({&certs().ecdsa256});
    if (k.hrr) {
      scfg.groups = {NamedGroup::kSecp384r1};  // the client's one share is x25519
    }
    Driver d(scfg);
    ClientConfig13 ccfg;
    ccfg.empty_session_id = !k.session_id;
    ClientConn c(ccfg, false);
    c.start();
    Bytes from_server;
    d.drain();
    for (int round = 0; round < 20 && (!c.out.empty() || !d.wire.empty()); round++) {
      Bytes to_s = std::move(c.out);
      c.out.clear();
      d.receive(to_s);
      append(from_server, d.wire);
      Bytes to_c = std::move(d.wire);
      d.wire.clear();
      c.receive(to_c, 1 << 20);
    }
    expect_established(c, d);
    EXPECT_EQ(d.s.machine().sent_hello_retry_request(), k.hrr) << k.name;
    EXPECT_EQ(d.s.machine().sent_compat_change_cipher_spec(), k.session_id) << k.name;
    const std::vector<Bytes> recs = split_records(from_server);
    ASSERT_GE(recs.size(), k.types.size()) << k.name;
    int num_ccs = 0;
    for (size_t i = 0; i < recs.size(); i++) {
      if (i < k.types.size()) {
        EXPECT_EQ(recs[i][0], k.types[i]) << k.name << " record " << i;
      }
      if (recs[i][0] == 20) {
        num_ccs++;
        EXPECT_EQ(recs[i], kCcs) << k.name;
      }
    }
    EXPECT_EQ(num_ccs, k.session_id ? 1 : 0) << k.name;
    EXPECT_EQ(c.ccs_dropped, k.session_id) << k.name;
  }
}

// The client asks for an update n times, each time with data after it.
void requested_updates(int n) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  Driver d(scfg);
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d);
  ASSERT_TRUE(d.s.handshake_done());
  for (int i = 0; i < n; i++) {
    c.update_keys(true);
    const Bytes up = pattern(5000, static_cast<uint8_t>(i));
    c.send_app(up);
    const Bytes down = pattern(7000, static_cast<uint8_t>(i + 100));
    d.send_app(down);
    d.app_in.clear();
    c.app_in.clear();
    pump(c, d);
    EXPECT_EQ(d.app_in, up);
    EXPECT_EQ(c.app_in, down);
    EXPECT_EQ(d.s.stats().key_updates_received, static_cast<uint64_t>(i + 1));
    EXPECT_EQ(d.s.stats().key_updates_sent, static_cast<uint64_t>(i + 1));  // the answer
    EXPECT_EQ(c.machine().post_handshake().peer_key_updates, static_cast<uint64_t>(i + 1));
  }
  EXPECT_FALSE(c.error);
  EXPECT_FALSE(d.s.error());
}

TEST(Session13, ClientKeyUpdateRequestedIsAnswered) { requested_updates(1); }

// Each request gets its own answer: take_flight() must leave an empty flight behind (a
// moved-from Flight kept rekey_after_application set, which once hid every later request).
TEST(Session13, EveryRequestedKeyUpdateIsAnswered) { requested_updates(3); }

// A KeyUpdate longer than kKeyUpdateBarrierLen (padded, §5.4) is no barrier: the records
// behind it in the same round are queued under the key it retires. They fail there, the batch
// puts their ciphertext back, and on_opened() opens them again under the new key (§4.6.3:
// after a KeyUpdate the sender uses the next key). Padding of 200 and 16000 bytes, several
// data records behind, a second padded KeyUpdate among them, answered when requested.
TEST(Session13, PaddedKeyUpdateFollowedByDataInTheSameRound) {
  for (size_t padding : {size_t{200}, size_t{16000}}) {
    SCOPED_TRACE(padding);
    ServerConfig13 scfg = server_config({&certs().ecdsa256});
    Driver d(scfg);
    ClientConfig13 ccfg;
    ClientConn c(ccfg, false);
    c.start();
    pump(c, d);
    ASSERT_TRUE(d.s.handshake_done());
    Injector inj = Injector::client_app(c);
    Bytes want = pattern(100, 9);  // a record too long to be a barrier itself
    Bytes in = inj.record(ContentType::kApplicationData, want);
    append(in, inj.key_update(false, padding));
    ASSERT_GT(kRecordHeaderLen + 5 + 1 + padding + crypto::kAeadTagLen, kKeyUpdateBarrierLen);
    for (int i = 0; i < 3; i++) {
      const Bytes data = pattern(3000 + i, static_cast<uint8_t>(i));
      append(in, inj.record(ContentType::kApplicationData, data));
      append(want, data);
    }
    append(in, inj.key_update(true, padding));  // a second one, asking for ours
    const Bytes last = bytes(" after the second");
    append(in, inj.record(ContentType::kApplicationData, last));
    append(want, last);
    const size_t rounds = d.rounds;
    d.receive(in);
    EXPECT_FALSE(d.s.error()) << to_string(*d.s.error());
    EXPECT_EQ(d.app_in, want);
    EXPECT_EQ(d.rounds, rounds + 1);  // one batch: nothing waited for a barrier
    EXPECT_EQ(d.max_ops_per_round, 7u);
    EXPECT_EQ(d.s.stats().key_updates_received, 2u);
    EXPECT_EQ(d.s.stats().records_reopened, 5u);  // everything behind the first KeyUpdate
    // The next round is under the newest key, at the sequence number the reopened records
    // left; our own KeyUpdate answered the request; data flows both ways.
    in = inj.record(ContentType::kApplicationData, bytes("next round"));
    d.receive(in);
    EXPECT_FALSE(d.s.error());
    EXPECT_EQ(d.s.stats().key_updates_sent, 1u);
    EXPECT_EQ(d.app_in.size(), want.size() + 10);
    c.receive(d.wire, 1 << 20);
    d.wire.clear();
    EXPECT_FALSE(c.error);
    EXPECT_EQ(c.machine().post_handshake().peer_key_updates, 1u);
  }
}

// A record sealed under the old key after a padded KeyUpdate in the same round opened under
// that key in the batch, but it is not under the new one: bad_record_mac, one alert.
TEST(Session13, RecordUnderTheRetiredKeyAfterAPaddedKeyUpdateIsRefused) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  Driver d(scfg);
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d);
  Injector old_key = Injector::client_app(c);
  Injector inj = Injector::client_app(c);
  Bytes in = inj.key_update(false, 200);
  (void)old_key.record(ContentType::kApplicationData, bytes("x"));  // sequence 0 of the old key
  append(in, old_key.record(ContentType::kApplicationData, bytes("stale")));  // sequence 1
  d.receive(in);
  ASSERT_TRUE(d.s.error());
  EXPECT_EQ(*d.s.error(), Error::kDecryptFailed);
  EXPECT_EQ(d.alerts, 1);
  EXPECT_TRUE(d.app_in.empty());
}

TEST(Session13, OwnKeyUpdateAfterKeyUpdateRecords) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  SessionLimits limits;
  limits.key_update_records = 3;
  Driver d(scfg, limits);
  d.max_content = 1000;
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d);
  ASSERT_TRUE(d.s.handshake_done());
  const Bytes down = pattern(20000, 9);  // 20 records
  d.send_app(down);
  pump(c, d);
  EXPECT_EQ(c.app_in, down);
  // 20 records, three per key: a KeyUpdate after records 3, 6, .., 18.
  EXPECT_EQ(d.s.stats().key_updates_sent, 6u);
  EXPECT_EQ(c.machine().post_handshake().peer_key_updates, 6u);
  // Data keeps flowing both ways after the rekeys.
  const Bytes up = pattern(3000, 4);
  c.send_app(up);
  d.send_app(pattern(1500, 1));  // two records: the second needs a seventh KeyUpdate
  pump(c, d);
  EXPECT_EQ(d.app_in, up);
  EXPECT_EQ(c.app_in.size(), down.size() + 1500);
  EXPECT_EQ(d.s.stats().key_updates_sent, 7u);
  EXPECT_FALSE(c.error);
  EXPECT_FALSE(c.alert_received);
}

// RFC 8449: the client's record_size_limit bounds every protected record we send (it counts
// the inner content type in TLS 1.3); our own limit, sent in EncryptedExtensions, bounds
// the client's records (one byte over is record_overflow).
TEST(Session13, RecordSizeLimitBothWays) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  scfg.record_size_limit = 1025;  // 1024 content bytes per client record
  Driver d(scfg);
  ClientConfig13 ccfg;
  ccfg.record_size_limit = 513;  // 512 content bytes per server record
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d);
  ASSERT_TRUE(d.s.handshake_done());
  EXPECT_EQ(d.s.max_app_content(), 512u);
  EXPECT_EQ(d.s.max_read_content(), 1024u);
  const Bytes down = pattern(5000, 3);
  d.send_app(down);
  d.drain();
  // Every record on the wire: body at most 512 + 1 + 16.
  size_t records = 0;
  for (size_t at = 0; at + kRecordHeaderLen <= d.wire.size(); records++) {
    const size_t len = size_t{d.wire[at + 3]} << 8 | d.wire[at + 4];
    EXPECT_LE(len, 512u + 1 + crypto::kAeadTagLen);
    at += kRecordHeaderLen + len;
  }
  EXPECT_GE(records, 10u);
  pump(c, d);
  EXPECT_EQ(c.app_in, down);
  // A client record of exactly 1024 content bytes passes; 1025 is record_overflow.
  c.record_size = 1024;
  const Bytes up = pattern(4096, 5);
  c.send_app(up);
  pump(c, d);
  EXPECT_EQ(d.app_in, up);
  c.record_size = 1025;
  c.send_app(pattern(1025, 6));
  pump(c, d);
  ASSERT_TRUE(d.s.error());
  // The ciphertext is within the deframer's bound (limit + 256); the inner plaintext is not.
  EXPECT_EQ(*d.s.error(), Error::kPlaintextOverflow);
  ASSERT_TRUE(c.alert_received);
  EXPECT_EQ(*c.alert_received, static_cast<uint8_t>(AlertDescription::kRecordOverflow));
}

TEST(Session13, ServerCloseNotify) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  Driver d(scfg);
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d);
  const Bytes down = pattern(3000, 1);
  d.send_app(down);
  d.drain();  // the application hands its data over, then closes
  d.s.close();
  EXPECT_FALSE(d.s.app_writable());
  pump(c, d);
  EXPECT_EQ(c.app_in, down);  // the data went out before close_notify
  ASSERT_TRUE(c.alert_received);
  EXPECT_EQ(*c.alert_received, 0);
  EXPECT_TRUE(d.s.closed());
  EXPECT_FALSE(d.s.error());
  EXPECT_EQ(d.alerts, 0);
  d.s.close();  // once only
  d.drain();
  EXPECT_TRUE(d.wire.empty());
}

TEST(Session13, PeerCloseNotify) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  Driver d(scfg);
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d);
  ASSERT_TRUE(c.done());
  Injector inj = Injector::client_app(c);
  Bytes in = inj.record(ContentType::kApplicationData, bytes("last words"));
  append(in, inj.record(ContentType::kAlert, Bytes{1, 0}));
  append(in, inj.record(ContentType::kApplicationData, bytes("ignored")));
  d.receive(in);
  EXPECT_EQ(d.app_in, bytes("last words"));
  EXPECT_TRUE(d.s.peer_closed());
  EXPECT_TRUE(d.s.input_closed());
  EXPECT_FALSE(d.s.closed());
  EXPECT_FALSE(d.s.error());
  // The application finishes its output, then closes.
  d.send_app(bytes("bye"));
  d.drain();
  d.s.close();
  d.drain();
  c.receive(d.wire, 1 << 20);
  EXPECT_EQ(c.app_in, bytes("bye"));
  ASSERT_TRUE(c.alert_received);
  EXPECT_EQ(*c.alert_received, 0);
  EXPECT_TRUE(d.s.closed());
}

TEST(Session13, PeerFatalAlertClosesWithoutAnswer) {
  for (uint8_t level : {uint8_t{2}, uint8_t{1}}) {  // §6: fatal whatever the level says
    ServerConfig13 scfg = server_config({&certs().ecdsa256});
    Driver d(scfg);
    ClientConfig13 ccfg;
    ClientConn c(ccfg, false);
    c.start();
    pump(c, d);
    Injector inj = Injector::client_app(c);
    d.send_app(bytes("pending"));
    d.receive(inj.record(ContentType::kAlert, Bytes{level, 40}));
    EXPECT_TRUE(d.s.input_closed());
    EXPECT_TRUE(d.s.closed());
    EXPECT_FALSE(d.s.error());
    EXPECT_EQ(d.s.stats().alert_received, 40);
    EXPECT_FALSE(d.s.stats().alert_sent);
    EXPECT_EQ(d.alerts, 0);
    EXPECT_TRUE(d.wire.empty());
    EXPECT_FALSE(d.s.app_writable());
  }
}

TEST(Session13, HandshakeTimeoutSendsOneAlertUnderTheCurrentKeys) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  Driver d(scfg);
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  d.receive(c.out);  // the server flight is out; the client never answers
  c.out.clear();
  c.receive(d.wire, 1 << 20);
  d.wire.clear();
  c.out.clear();  // its Finished is lost
  ASSERT_FALSE(d.s.handshake_done());
  d.s.fail(Error::kHandshakeTimeout);
  d.s.fail(Error::kInternalError);  // ignored: one alert only
  d.drain();
  EXPECT_EQ(d.alerts, 1);
  EXPECT_TRUE(d.s.closed());
  EXPECT_EQ(*d.s.error(), Error::kHandshakeTimeout);
  c.receive(d.wire, 1 << 20);  // readable under the keys after our Finished
  ASSERT_TRUE(c.alert_received);
  EXPECT_EQ(*c.alert_received, static_cast<uint8_t>(to_alert(Error::kHandshakeTimeout)));
}

// ---- One alert for each violation.

enum class When { kFirst, kAfterClientHello, kBeforeClientFinished, kEstablished };

struct Abuse {
  const char* name;
  When when;
  Error error;
  SessionLimits limits;
  // The bytes the client sends at that point (inj is set from kBeforeClientFinished on).
  std::function<Bytes(ClientConn& c, Injector* inj)> bytes;
};

// The handshake record at the front of wire cut after its first 10 content bytes, with
// between inserted in the cut.
Bytes split_with(const Bytes& wire, const Bytes& between) {
  const size_t len = size_t{wire[3]} << 8 | wire[4];
  Bytes out = {wire[0], wire[1], wire[2], 0, 10};
  out.insert(out.end(), wire.begin() + kRecordHeaderLen, wire.begin() + kRecordHeaderLen + 10);
  append(out, between);
  const size_t rest = len - 10;
  out.insert(out.end(), {wire[0], wire[1], wire[2], static_cast<uint8_t>(rest >> 8),
                         static_cast<uint8_t>(rest)});
  out.insert(out.end(), wire.begin() + kRecordHeaderLen + 10,
             wire.begin() + static_cast<std::ptrdiff_t>(kRecordHeaderLen + len));
  return out;
}

Bytes repeat(int n, const std::function<Bytes()>& f) {
  Bytes out;
  for (int i = 0; i < n; i++) {
    append(out, f());
  }
  return out;
}

std::vector<Abuse> abuses() {
  std::vector<Abuse> v;
  v.push_back({"empty_records", When::kEstablished, Error::kTooManyEmptyRecords, {},
               [](ClientConn&, Injector* inj) {
                 return repeat(33, [&] { return inj->record(ContentType::kApplicationData, {}); });
               }});
  v.push_back({"empty_records_padded", When::kEstablished, Error::kTooManyEmptyRecords, {},
               [](ClientConn&, Injector* inj) {
                 return repeat(33, [&] {
                   return inj->record(ContentType::kApplicationData, {}, 100);
                 });
               }});
  v.push_back({"user_canceled_storm", When::kEstablished, Error::kTooManyWarningAlerts, {},
               [](ClientConn&, Injector* inj) {
                 return repeat(5, [&] { return inj->record(ContentType::kAlert, Bytes{1, 90}); });
               }});
  v.push_back({"key_update_storm", When::kEstablished, Error::kTooManyKeyUpdates, {},
               [](ClientConn&, Injector* inj) {
                 return repeat(33, [&] { return inj->key_update(false); });
               }});
  v.push_back({"oversized_handshake_message", When::kEstablished,
               Error::kHandshakeMessageTooLarge, {}, [](ClientConn&, Injector* inj) {
                 return inj->record(ContentType::kHandshake, Bytes{24, 2, 0, 0});
               }});
  SessionLimits small;
  small.max_client_hello = 100;
  v.push_back({"oversized_client_hello", When::kFirst, Error::kHandshakeMessageTooLarge, small,
               [](ClientConn& c, Injector*) { return c.out; }});
  v.push_back({"app_data_before_finished", When::kBeforeClientFinished,
               Error::kUnexpectedMessage, {}, [](ClientConn&, Injector* inj) {
                 return inj->record(ContentType::kApplicationData, bytes("early"));
               }});
  v.push_back({"plaintext_app_data", When::kFirst, Error::kUnprotectedRecord, {},
               [](ClientConn&, Injector*) {
                 return Bytes{23, 3, 3, 0, 3, 'a', 'b', 'c'};
               }});
  v.push_back({"plaintext_handshake_after_keys", When::kEstablished, Error::kUnexpectedMessage,
               {}, [](ClientConn&, Injector*) { return Bytes{22, 3, 3, 0, 5, 24, 0, 0, 1, 0}; }});
  v.push_back({"bad_ccs", When::kAfterClientHello, Error::kBadChangeCipherSpec, {},
               [](ClientConn&, Injector*) { return Bytes{20, 3, 3, 0, 1, 2}; }});
  v.push_back({"ccs_after_finished", When::kEstablished, Error::kUnexpectedChangeCipherSpec, {},
               [](ClientConn&, Injector*) { return Bytes{20, 3, 3, 0, 1, 1}; }});
  v.push_back({"corrupted_record", When::kEstablished, Error::kDecryptFailed, {},
               [](ClientConn&, Injector* inj) {
                 Bytes r = inj->record(ContentType::kApplicationData, bytes("hello"));
                 r[7] ^= 0x40;
                 return r;
               }});
  v.push_back({"bad_alert_length", When::kEstablished, Error::kBadAlert, {},
               [](ClientConn&, Injector* inj) {
                 return inj->record(ContentType::kAlert, Bytes{1, 0, 0});
               }});
  v.push_back({"client_hello_after_done", When::kEstablished, Error::kUnexpectedMessage, {},
               [](ClientConn&, Injector* inj) {
                 return inj->record(ContentType::kHandshake, Bytes{1, 0, 0, 0});
               }});
  // §5.1: "Handshake messages MUST NOT be interleaved with other record types."
  v.push_back({"alert_inside_a_split_key_update", When::kEstablished, Error::kInterleavedRecord,
               {}, [](ClientConn&, Injector* inj) {
                 Bytes b = inj->record(ContentType::kHandshake, Bytes{24, 0});
                 append(b, inj->record(ContentType::kAlert, Bytes{1, 90}));
                 return b;
               }});
  v.push_back({"data_inside_a_split_key_update", When::kEstablished, Error::kInterleavedRecord,
               {}, [](ClientConn&, Injector* inj) {
                 Bytes b = inj->record(ContentType::kHandshake, Bytes{24, 0});
                 append(b, inj->record(ContentType::kApplicationData, bytes("x")));
                 return b;
               }});
  v.push_back({"alert_inside_the_client_hello", When::kFirst, Error::kInterleavedRecord, {},
               [](ClientConn& c, Injector*) {
                 return split_with(c.out, Bytes{21, 3, 3, 0, 2, 1, 90});
               }});
  v.push_back({"ccs_inside_the_client_hello", When::kFirst, Error::kInterleavedRecord, {},
               [](ClientConn& c, Injector*) {
                 return split_with(c.out, Bytes{20, 3, 3, 0, 1, 1});
               }});
  // A KeyUpdate's body is one byte (§4.6.3): a longer announcement is refused on its header.
  v.push_back({"key_update_announcing_two_bytes", When::kEstablished,
               Error::kHandshakeMessageTooLarge, {}, [](ClientConn&, Injector* inj) {
                 return inj->record(ContentType::kHandshake, Bytes{24, 0, 0, 2});
               }});
  // A client's NewSessionTicket is refused on its header, whatever it announces.
  v.push_back({"new_session_ticket_from_the_client", When::kEstablished,
               Error::kUnexpectedMessage, {}, [](ClientConn&, Injector* inj) {
                 return inj->record(ContentType::kHandshake, Bytes{4, 0, 0xff, 0xff});
               }});
  v.push_back({"key_update_not_record_aligned", When::kEstablished,
               Error::kHandshakeSpansKeyChange, {}, [](ClientConn&, Injector* inj) {
                 return inj->record(ContentType::kHandshake, Bytes{24, 0, 0, 1, 0, 24, 0});
               }});
  return v;
}

class SessionAbuse : public ::testing::TestWithParam<Abuse> {};

TEST_P(SessionAbuse, OneAlertOfTheRightKind) {
  const Abuse& a = GetParam();
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  Driver d(scfg, a.limits);
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  std::optional<Injector> inj;
  Bytes in;
  switch (a.when) {
    case When::kFirst:
      in = a.bytes(c, nullptr);
      break;
    case When::kAfterClientHello:
      in = c.out;
      append(in, a.bytes(c, nullptr));
      break;
    case When::kBeforeClientFinished: {
      d.receive(c.out);
      c.out.clear();
      c.receive(d.wire, 1 << 20);  // the client now has handshake keys and sent Finished
      d.wire.clear();
      c.out.clear();
      ASSERT_TRUE(c.done());
      inj.emplace(c.machine().secrets().suite, c.machine().secrets().client_handshake.view());
      in = a.bytes(c, &*inj);
      break;
    }
    case When::kEstablished:
      pump(c, d);
      ASSERT_TRUE(d.s.handshake_done());
      inj.emplace(Injector::client_app(c));
      in = a.bytes(c, &*inj);
      break;
  }
  d.receive(in);
  ASSERT_TRUE(d.s.error()) << a.name;
  EXPECT_EQ(*d.s.error(), a.error) << a.name << ": " << to_string(*d.s.error());
  EXPECT_EQ(d.input_error, a.error);
  EXPECT_TRUE(d.s.input_closed());
  EXPECT_TRUE(d.s.closed());
  EXPECT_EQ(d.alerts, 1);
  EXPECT_EQ(d.s.stats().alert_sent, static_cast<uint8_t>(to_alert(a.error)));
  // The client reads exactly that alert (under the keys it reads with).
  c.receive(d.wire, 1 << 20);
  ASSERT_TRUE(c.alert_received) << a.name;
  EXPECT_EQ(*c.alert_received, static_cast<uint8_t>(to_alert(a.error))) << a.name;
  // Nothing more, whatever happens next.
  d.wire.clear();
  d.s.fail(Error::kInternalError);
  d.s.close();
  d.send_app(bytes("x"));
  d.drain();
  EXPECT_TRUE(d.wire.empty());
  EXPECT_EQ(d.alerts, 1);
  EXPECT_EQ(*d.s.error(), a.error);
}

INSTANTIATE_TEST_SUITE_P(All, SessionAbuse, ::testing::ValuesIn(abuses()),
                         [](const ::testing::TestParamInfo<Abuse>& i) { return i.param.name; });

TEST(Session13, LimitsAreCountedInARowOnly) {
  // 32 empty records, then data, then 32 more: never 33 in a row.
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  Driver d(scfg);
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d);
  Injector inj = Injector::client_app(c);
  Bytes in;
  for (int round = 0; round < 3; round++) {
    append(in, repeat(32, [&] { return inj.record(ContentType::kApplicationData, {}); }));
    append(in, repeat(4, [&] { return inj.record(ContentType::kAlert, Bytes{1, 90}); }));
    append(in, repeat(32, [&] { return inj.key_update(false); }));
    append(in, inj.record(ContentType::kApplicationData, bytes("x")));
  }
  d.receive(in);
  EXPECT_FALSE(d.s.error());
  EXPECT_EQ(d.app_in, bytes("xxx"));
  EXPECT_EQ(d.s.stats().key_updates_received, 96u);
}

// ---- 0-RTT (never accepted): the client's early records are skipped up to the bound.

Bytes early_records(int n, size_t len) {
  crypto::HashSecret random_secret;
  random_secret.assign(pattern(32, 77));
  SuiteInfo suite = *suite_info(static_cast<uint16_t>(CipherSuite::kAes128GcmSha256));
  Injector early(suite, random_secret.view());
  return repeat(n, [&] { return early.record(ContentType::kApplicationData, pattern(len, 5)); });
}

TEST(Session13, RejectedEarlyDataIsSkipped) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  Driver d(scfg);
  ClientConfig13 ccfg;
  ccfg.offer_early_data = true;
  ClientConn c(ccfg, false);
  c.start();
  Bytes in = c.out;
  c.out.clear();
  const Bytes early = early_records(10, 100);  // 10 x 122 bytes
  append(in, early);
  d.receive(in);
  EXPECT_TRUE(d.s.machine().early_data_offered());
  EXPECT_EQ(d.s.stats().early_data_skipped, early.size());
  EXPECT_FALSE(d.s.error());
  pump(c, d);
  expect_established(c, d);
}

TEST(Session13, RejectedEarlyDataAfterHelloRetryIsSkipped) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  scfg.groups = {NamedGroup::kSecp256r1};
  Driver d(scfg);
  ClientConfig13 ccfg;
  ccfg.offer_early_data = true;
  ClientConn c(ccfg, false);
  c.start();
  Bytes in = c.out;
  c.out.clear();
  const Bytes early = early_records(5, 50);
  append(in, early);
  d.receive(in);
  EXPECT_TRUE(d.s.machine().sent_hello_retry_request());
  EXPECT_EQ(d.s.stats().early_data_skipped, early.size());
  pump(c, d);
  expect_established(c, d);
}

TEST(Session13, TooMuchRejectedEarlyDataIsBadRecordMac) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  SessionLimits limits;
  limits.max_early_data_bytes = 500;
  Driver d(scfg, limits);
  ClientConfig13 ccfg;
  ccfg.offer_early_data = true;
  ClientConn c(ccfg, false);
  c.start();
  Bytes in = c.out;
  c.out.clear();
  append(in, early_records(5, 100));  // 610 bytes
  d.receive(in);
  ASSERT_TRUE(d.s.error());
  EXPECT_EQ(*d.s.error(), Error::kDecryptFailed);
  EXPECT_EQ(d.alerts, 1);
  EXPECT_EQ(d.s.stats().alert_sent, static_cast<uint8_t>(AlertDescription::kBadRecordMac));
}

TEST(Session13, EarlyDataNotOfferedIsNotSkipped) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  Driver d(scfg);
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  Bytes in = c.out;
  c.out.clear();
  append(in, early_records(1, 100));
  d.receive(in);
  ASSERT_TRUE(d.s.error());
  EXPECT_EQ(*d.s.error(), Error::kDecryptFailed);
  EXPECT_EQ(d.s.stats().early_data_skipped, 0u);
}

// ---- Memory of an idle connection.

// Allocation by announcement: after a handshake and data both ways in one-byte segments
// (every record and message assembled), the session holds no input buffer: the deframer's and
// the reassembler's went back once their record and message were done. What it still holds
// on the heap is measured by destroying it (heap_usage.h) and printed for the report.
TEST(Session13, IdleSessionHoldsNoInputBuffers) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  Driver d(scfg);
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d, 1);
  expect_established(c, d, 1);
  EXPECT_GT(d.s.deframer_stats().assembled, 0u);
  EXPECT_EQ(d.s.buffered_bytes(), 0u);
  const size_t with = linetls::testing::heap_in_use();
  std::destroy_at(&d.s);
  const size_t without = linetls::testing::heap_in_use();
  std::construct_at(&d.s, scfg, SessionLimits{});
  const size_t held = with - without;
  std::printf(
      "idle ServerSession13 (TLS_AES_128_GCM_SHA256, OpenSSL EVP keys): sizeof %zu, "
      "heap %zu\n",
      sizeof(ServerSession13), held);
  RecordProperty("idle_heap_bytes", static_cast<int>(held));
  RecordProperty("sizeof", static_cast<int>(sizeof(ServerSession13)));
  // Two AEAD keys (read and write) are the heap an idle session needs; nothing else stays.
  EXPECT_LT(held, 4096u);
}

// ---- A one-op batch: every accept and write after the first is refused, then retried.

TEST(Session13, BatchFullThenRetry) {
  auto tiny = ossl::OsslAeadBatch::create(1).value();
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  Driver d(scfg, {}, tiny.get());
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d);
  ASSERT_TRUE(d.s.handshake_done());
  c.record_size = 1000;
  const Bytes up = pattern(10000, 1);
  c.send_app(up);
  const Bytes down = pattern(50000, 2);
  d.send_app(down);
  pump(c, d);
  EXPECT_EQ(d.app_in, up);
  EXPECT_EQ(c.app_in, down);
  EXPECT_GT(d.batch_full, 0u);
  EXPECT_EQ(d.max_ops_per_round, 1u);
  EXPECT_FALSE(d.s.error());
}

// ---- Client certificates (Server13 with client_auth): the client's Certificate and
// CertificateVerify arrive as handshake messages before its Finished.

TEST(Session13, ClientCertificate) {
  const crypto::CaStore ca = load_ca("ca");
  const crypto::CertifiedKey client = load_chain({"client", "int"}, "client");
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  scfg.client_auth = ClientAuth::kRequired;
  scfg.client_ca = &ca;
  for (size_t segment : {size_t{1} << 20, size_t{1}}) {
    Driver d(scfg);
    ClientConfig13 ccfg;
    ccfg.certificate = &client;
    ClientConn c(ccfg, false);
    c.record_size = segment == 1 ? 7 : kMaxPlaintextLen;
    c.start();
    pump(c, d, segment);
    expect_established(c, d, segment);
    ASSERT_TRUE(d.s.machine().peer_identity());
    EXPECT_EQ(d.s.machine().peer_identity()->subject, client.leaf().subject());
  }
  // Without one: certificate_required, one alert the client reads under the keys after our
  // Finished.
  Driver d(scfg);
  ClientConfig13 ccfg;
  ClientConn c(ccfg, false);
  c.start();
  pump(c, d);
  ASSERT_TRUE(d.s.error());
  EXPECT_EQ(*d.s.error(), Error::kCertificateRequired);
  EXPECT_EQ(d.alerts, 1);
  EXPECT_TRUE(d.s.closed());
  ASSERT_TRUE(c.alert_received);
  EXPECT_EQ(*c.alert_received, static_cast<uint8_t>(AlertDescription::kCertificateRequired));
  EXPECT_FALSE(d.s.machine().peer_identity());
}

}  // namespace
}  // namespace linetls::tls
