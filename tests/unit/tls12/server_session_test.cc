// tls::ServerSession, the version-dispatching facade, against the TLS 1.3 harness client
// (tests/unit/tls/handshake13_harness.h) and the TLS 1.2 one (session12_harness.h) over the
// OpenSSL AeadBatch. A small driver plays the engine as in session13_test.cc. Covered: both
// versions complete through the facade with data both ways, the configured version range,
// TLS_FALLBACK_SCSV, TLS 1.0/1.1 and SSLv2-format hellos, a ClientHello cut into 1-byte
// records and 1-byte segments, and refusals before a version is known (each exactly one
// plaintext fatal alert).
#include "lib/tls/v12/server_session.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "tests/unit/tls/handshake13_harness.h"
#include "tests/unit/tls/heap_usage.h"
#include "tests/unit/tls12/session12_harness.h"

namespace linetls::tls {
namespace {

using Bytes = std::vector<uint8_t>;
using ClientConn13 = testing13::ClientConn;
using v12::testing12::ClientConn12;
using v12::ClientConfig12;
using v12::ServerConfig12;
using v12::VersionRange;

crypto::AeadBatch& batch() { return testing13::batch(); }

// The server side: a 1.3 and a 1.2 config over the same ECDSA P-256 (and RSA) certificates.
struct Configs {
  explicit Configs(VersionRange range = {}) {
    c13 = testing13::server_config({&testing13::certs().ecdsa256, &testing13::certs().rsa});
    c12 = v12::testing12::server_config();
    c12.tls13_enabled = range.max == kTls13;
    sc.tls13 = &c13;
    sc.tls12 = &c12;
    sc.versions = range;
  }
  ServerConfig13 c13;
  ServerConfig12 c12;
  ServerSessionConfig sc;
};

// Plays the engine for one ServerSession.
class Driver {
 public:
  explicit Driver(const ServerSessionConfig& config, const SessionLimits& limits = {})
      : s(config, limits) {}

  ServerSession s;
  Bytes wire;    // records for the client
  Bytes app_in;  // application data received
  std::optional<Error> input_error;
  int alerts = 0;

  void send_app(std::span<const uint8_t> data) {
    app_out_.insert(app_out_.end(), data.begin(), data.end());
  }

  void receive(std::span<const uint8_t> in, size_t segment_size = 1 << 20) {
    batch().clear();
    std::deque<Bytes> segs;
    for (size_t at = 0; at < in.size(); at += segment_size) {
      segs.emplace_back(in.begin() + at, in.begin() + std::min(in.size(), at + segment_size));
      std::span<uint8_t> piece(segs.back());
      int stuck = 0;
      while (!piece.empty()) {
        auto step = s.next(piece);
        if (!step) {
          note(step.error());
          break;
        }
        piece = piece.subspan(step->consumed);
        if (!step->has_record) {
          if (step->consumed == 0) {
            ASSERT_LT(++stuck, 3) << "deframer stuck";
            run_round();
          }
          continue;
        }
        stuck = 0;
        if (!accept(step->record)) {
          break;
        }
      }
      if (s.input_closed()) {
        break;
      }
    }
    run_round();
    drain();
  }

  void drain() {
    for (int guard = 0; guard < 10000; guard++) {
      batch().clear();
      std::deque<Bytes> recs;
      std::deque<AnySlot> slots;
      for (;;) {
        const ServerSession::Out o = s.next_output(kMaxPlaintextLen);
        if (o.kind != ServerSession::OutKind::kNone) {
          Bytes r(o.record_len);
          slots.emplace_back();
          auto n = s.write_control(r, kMaxPlaintextLen, batch(), &slots.back());
          ASSERT_TRUE(n) << to_string(n.error());
          ASSERT_NE(*n, 0u);
          if (o.kind == ServerSession::OutKind::kAlert) {
            alerts++;
          }
          r.resize(*n);
          recs.push_back(std::move(r));
          continue;
        }
        if (s.app_writable() && app_off_ < app_out_.size()) {
          const size_t n = std::min(s.max_app_content(), app_out_.size() - app_off_);
          Bytes r(s.record_len(n));
          std::copy_n(app_out_.begin() + app_off_, n, r.begin() + s.content_offset());
          slots.emplace_back();
          auto ok = s.seal_app(r, n, batch(), &slots.back());
          ASSERT_TRUE(ok) << to_string(ok.error());
          ASSERT_TRUE(*ok);
          app_off_ += n;
          recs.push_back(std::move(r));
          continue;
        }
        break;
      }
      if (recs.empty()) {
        return;
      }
      batch().run();
      for (uint32_t i = 0; i < batch().size(); i++) {
        EXPECT_TRUE(batch().ok(i));
      }
      batch().clear();
      s.batch_done();
      for (const Bytes& r : recs) {
        wire.insert(wire.end(), r.begin(), r.end());
      }
    }
    ADD_FAILURE() << "output never drained";
  }

 private:
  void note(Error e) {
    if (!input_error) {
      input_error = e;
    }
  }

  bool accept(const Record& rec) {
    slots_.emplace_back();
    auto a = s.accept(rec, batch(), &slots_.back());
    if (!a) {
      slots_.pop_back();
      note(a.error());
      return false;
    }
    switch (*a) {
      case ServerSession::Accepted::kHandled:
        slots_.pop_back();
        return !s.input_closed();
      case ServerSession::Accepted::kQueued:
        queued_++;
        if (s.barrier()) {
          run_round();
        }
        return !s.input_closed();
      case ServerSession::Accepted::kBatchFull:
        break;
    }
    ADD_FAILURE() << "batch full";
    return false;
  }

  void run_round() {
    if (queued_ == 0) {
      return;
    }
    batch().run();
    for (uint32_t i = 0; i < queued_; i++) {
      auto r = s.on_opened(batch().status(i), slots_[i]);
      if (!r) {
        note(r.error());
        continue;
      }
      app_in.insert(app_in.end(), r->begin(), r->end());
    }
    batch().clear();
    s.batch_done();
    slots_.clear();
    queued_ = 0;
  }

  std::deque<AnySlot> slots_;
  size_t queued_ = 0;
  Bytes app_out_;
  size_t app_off_ = 0;
};

template <typename C>
void pump(C& c, Driver& d, size_t segment_size = 1 << 20) {
  d.drain();
  for (int round = 0; round < 200 && (!c.out.empty() || !d.wire.empty()); round++) {
    Bytes to_s = std::move(c.out);
    c.out.clear();
    d.receive(to_s, segment_size);
    Bytes to_c = std::move(d.wire);
    d.wire.clear();
    c.receive(to_c, segment_size);
  }
}

template <typename C>
void expect_established(C& c, Driver& d, uint16_t version, size_t segment_size = 1 << 20) {
  ASSERT_FALSE(c.error) << to_string(*c.error);
  ASSERT_FALSE(d.s.error()) << to_string(*d.s.error());
  ASSERT_TRUE(c.done());
  ASSERT_TRUE(d.s.handshake_done());
  EXPECT_EQ(d.s.version(), version);
  EXPECT_TRUE(d.s.take_handshake_completed());
  const Bytes ping = testing13::bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const Bytes pong = v12::testing12::pattern(40000, 3);
  c.send_app(ping);
  d.send_app(pong);
  pump(c, d, segment_size);
  EXPECT_EQ(d.app_in, ping);
  EXPECT_EQ(c.app_in, pong);
  EXPECT_FALSE(c.alert_received);
  EXPECT_EQ(d.alerts, 0);
}

// The one alert a refused client saw, and that the server is closed after it.
template <typename C>
void expect_refused(C& c, Driver& d, AlertDescription alert) {
  ASSERT_TRUE(c.alert_received.has_value());
  EXPECT_EQ(*c.alert_received, static_cast<uint8_t>(alert))
      << alert_name(*c.alert_received);
  EXPECT_EQ(d.alerts, 1);
  EXPECT_TRUE(d.s.closed());
  EXPECT_FALSE(d.s.handshake_done());
  ASSERT_TRUE(d.s.stats().alert_sent.has_value());
  EXPECT_EQ(*d.s.stats().alert_sent, static_cast<uint8_t>(alert));
}

TEST(ServerSession, Tls13ClientCompletes) {
  Configs cf;
  Driver d(cf.sc);
  ClientConfig13 ccfg;
  ClientConn13 c(ccfg, false);
  c.start();
  pump(c, d);
  expect_established(c, d, kTls13);
  EXPECT_EQ(d.s.suite_name(), "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(d.s.suite_code(), 0x1301);
  EXPECT_EQ(d.s.content_offset(), 5u);
  EXPECT_NE(d.s.session13(), nullptr);
  EXPECT_EQ(d.s.client_identity(), nullptr);
}

TEST(ServerSession, Tls12ClientCompletesEverySuite) {
  const uint16_t suites[] = {0xC02B, 0xC02C, 0xC02F, 0xC030, 0xCCA8, 0xCCA9};
  for (uint16_t suite : suites) {
    SCOPED_TRACE(suite);
    Configs cf;
    Driver d(cf.sc);
    ClientConfig12 ccfg;
    ccfg.cipher_suites = {suite};
    ClientConn12 c(ccfg);
    c.start();
    pump(c, d);
    expect_established(c, d, kTls12);
    EXPECT_EQ(d.s.suite_code(), suite);
    EXPECT_EQ(d.s.content_offset(), suite >= 0xCCA8 ? 5u : 13u);
    EXPECT_EQ(d.s.record_len(100), suite >= 0xCCA8 ? 121u : 129u);
    EXPECT_NE(d.s.session12(), nullptr);
  }
}

TEST(ServerSession, Tls12SuiteName) {
  Configs cf;
  Driver d(cf.sc);
  ClientConn12 c(ClientConfig12{});
  c.start();
  pump(c, d);
  expect_established(c, d, kTls12);
  EXPECT_EQ(d.s.suite_name(), "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256");
  EXPECT_EQ(d.s.group(), crypto::NamedGroup::kX25519);
  EXPECT_FALSE(d.s.resumed());
}

TEST(ServerSession, ClientHelloInOneByteRecordsAndSegments) {
  {
    Configs cf;
    Driver d(cf.sc);
    ClientConfig13 ccfg;
    ClientConn13 c(ccfg, false);
    c.record_size = 1;
    c.start();
    pump(c, d, 1);
    c.record_size = kMaxPlaintextLen;
    expect_established(c, d, kTls13, 1);
  }
  {
    Configs cf;
    Driver d(cf.sc);
    ClientConn12 c(ClientConfig12{});
    c.record_size = 1;
    c.start();
    pump(c, d, 1);
    c.record_size = kMaxPlaintextLen;
    expect_established(c, d, kTls12, 1);
    EXPECT_GT(d.s.deframer_stats().assembled, 0u);
  }
  {
    // Many records, whole segments.
    Configs cf;
    Driver d(cf.sc);
    ClientConn12 c(ClientConfig12{});
    c.record_size = 7;
    c.start();
    pump(c, d);
    expect_established(c, d, kTls12);
  }
}

// What an idle connection costs the engine, which holds this facade: after a handshake and
// data in one-byte records and segments, no input buffer is left (the picking copies and the
// machine's assembly and reassembly buffers all went back); the heap still held is the
// session's keys and negotiated strings, measured by destroying the session (heap_usage.h).
template <typename C>
size_t idle_heap(C& c, uint16_t version) {
  Configs cf;
  Driver d(cf.sc);
  c.record_size = 1;
  c.start();
  pump(c, d, 1);
  c.record_size = kMaxPlaintextLen;
  expect_established(c, d, version, 1);
  EXPECT_GT(d.s.deframer_stats().assembled, 0u);
  EXPECT_EQ(d.s.buffered_bytes(), 0u);
  const size_t with = linetls::testing::heap_in_use();
  std::destroy_at(&d.s);
  const size_t without = linetls::testing::heap_in_use();
  std::construct_at(&d.s, cf.sc, SessionLimits{});
  return with - without;
}

TEST(ServerSession, IdleConnectionMemory) {
  ClientConfig13 ccfg13;
  ClientConn13 c13(ccfg13, false);
  const size_t heap13 = idle_heap(c13, kTls13);
  ClientConn12 c12(ClientConfig12{});
  const size_t heap12 = idle_heap(c12, kTls12);
  std::printf(
      "idle tls::ServerSession: sizeof %zu (AnySlot %zu); heap TLS 1.3 %zu, TLS 1.2 %zu "
      "(AES-128-GCM, OpenSSL EVP keys)\n",
      sizeof(ServerSession), sizeof(AnySlot), heap13, heap12);
  RecordProperty("sizeof", static_cast<int>(sizeof(ServerSession)));
  RecordProperty("idle_heap_tls13", static_cast<int>(heap13));
  RecordProperty("idle_heap_tls12", static_cast<int>(heap12));
  EXPECT_LT(heap13, 4096u);
  EXPECT_LT(heap12, 4096u);
}

TEST(ServerSession, RecordsAfterTheClientHelloGoToTheMachine) {
  {
    // A compat change_cipher_spec right behind the ClientHello, in the same segment: the
    // facade hands back only the ClientHello's record, the rest reaches Server13.
    Configs cf;
    Driver d(cf.sc);
    ClientConfig13 ccfg;
    ClientConn13 c(ccfg, false);
    c.start();
    const uint8_t ccs[] = {20, 3, 3, 0, 1, 1};
    c.out.insert(c.out.end(), std::begin(ccs), std::end(ccs));
    pump(c, d);
    expect_established(c, d, kTls13);
  }
  {
    // Bytes coalesced after the ClientHello inside its record: RFC 8446 §5.1 key-change
    // alignment, judged by the machine after the replay.
    Configs cf;
    Driver d(cf.sc);
    ClientConfig13 ccfg;
    ClientConn13 c(ccfg, false);
    c.start();
    Bytes hello = std::move(c.out);
    c.out.clear();
    const uint8_t extra[] = {20, 0, 0, 0};  // a Finished header, nothing else
    hello.insert(hello.end(), std::begin(extra), std::end(extra));
    const uint16_t len = static_cast<uint16_t>(hello.size() - kRecordHeaderLen);
    hello[3] = static_cast<uint8_t>(len >> 8);
    hello[4] = static_cast<uint8_t>(len);
    d.receive(hello);
    c.receive(d.wire, 1 << 20);
    expect_refused(c, d, AlertDescription::kUnexpectedMessage);
    EXPECT_EQ(d.s.version(), kTls13);
  }
}

TEST(ServerSession, VersionRange) {
  {
    // 1.2 only: a 1.3 client (which offers nothing else) is refused.
    Configs cf({kTls12, kTls12});
    Driver d(cf.sc);
    ClientConfig13 ccfg;
    ClientConn13 c(ccfg, false);
    c.start();
    pump(c, d);
    expect_refused(c, d, AlertDescription::kProtocolVersion);
  }
  {
    // 1.2 only: a 1.2 client completes (no downgrade sentinel expected).
    Configs cf({kTls12, kTls12});
    Driver d(cf.sc);
    ClientConn12 c(ClientConfig12{});
    c.start();
    pump(c, d);
    expect_established(c, d, kTls12);
  }
  {
    // 1.3 only: a 1.2 client is refused.
    Configs cf({kTls13, kTls13});
    Driver d(cf.sc);
    ClientConn12 c(ClientConfig12{});
    c.start();
    pump(c, d);
    expect_refused(c, d, AlertDescription::kProtocolVersion);
  }
  {
    Configs cf({kTls13, kTls13});
    Driver d(cf.sc);
    ClientConfig13 ccfg;
    ClientConn13 c(ccfg, false);
    c.start();
    pump(c, d);
    expect_established(c, d, kTls13);
  }
}

TEST(ServerSession, FallbackScsv) {
  {
    Configs cf;
    Driver d(cf.sc);
    ClientConfig12 ccfg;
    ccfg.cipher_suites.push_back(v12::kFallbackScsv);
    ClientConn12 c(ccfg);
    c.start();
    pump(c, d);
    expect_refused(c, d, AlertDescription::kInappropriateFallback);
  }
  {
    // With 1.2 our highest version, the fallback is appropriate.
    Configs cf({kTls12, kTls12});
    Driver d(cf.sc);
    ClientConfig12 ccfg;
    ccfg.cipher_suites.push_back(v12::kFallbackScsv);
    ClientConn12 c(ccfg);
    c.start();
    pump(c, d);
    expect_established(c, d, kTls12);
  }
}

TEST(ServerSession, NothingToAgreeOnIsRefusedByTheMachine) {
  struct Case {
    const char* name;
    std::vector<uint16_t> suites;
    std::vector<uint16_t> groups;
    AlertDescription alert;
  };
  const Case cases[] = {
      // Only refused suites (CBC, static RSA): Server12 answers handshake_failure (RFC 5246
      // §7.4.1.3: no acceptable choice).
      {"cbc and static rsa only", {0xC013, 0x002F, 0x009C}, {0x001d},
       AlertDescription::kHandshakeFailure},
      {"unknown suites only", {0xC0AC}, {0x001d}, AlertDescription::kHandshakeFailure},
      // RFC 8422 §5.1: no curve in common with an ECDHE suite is handshake_failure.
      {"no common group", {0xC02B}, {0x001e}, AlertDescription::kHandshakeFailure},
  };
  for (const Case& t : cases) {
    SCOPED_TRACE(t.name);
    Configs cf;
    Driver d(cf.sc);
    ClientConfig12 ccfg;
    ccfg.cipher_suites = t.suites;
    ccfg.groups = t.groups;
    ClientConn12 c(ccfg);
    c.start();
    pump(c, d);
    expect_refused(c, d, t.alert);
    EXPECT_EQ(d.s.version(), kTls12);
  }
}

TEST(ServerSession, ObsoleteVersionsAreRefused) {
  for (uint16_t v : {uint16_t{0x0300}, uint16_t{0x0301}, uint16_t{0x0302}}) {
    SCOPED_TRACE(v);
    Configs cf;
    Driver d(cf.sc);
    ClientConfig12 ccfg;
    ccfg.legacy_version = v;
    ClientConn12 c(ccfg);
    c.start();
    pump(c, d);
    expect_refused(c, d, AlertDescription::kProtocolVersion);
  }
}

// Feeds raw bytes; returns what the server wrote.
Bytes feed(Driver& d, Bytes in, size_t segment_size = 1 << 20) {
  d.receive(in, segment_size);
  Bytes out = std::move(d.wire);
  d.wire.clear();
  return out;
}

Bytes alert_record(AlertDescription a) {
  return {21, 3, 3, 0, 2, 2, static_cast<uint8_t>(a)};
}

TEST(ServerSession, SslV2HelloIsProtocolVersion) {
  // RFC 5246 §E.2: msg_length 0x802e, msg_type 1, version 3.1, ...
  Bytes hello = {0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10};
  hello.resize(0x30, 0x41);
  for (size_t seg : {size_t{1}, size_t{2}, size_t{1} << 20}) {
    SCOPED_TRACE(seg);
    Configs cf;
    Driver d(cf.sc);
    EXPECT_EQ(feed(d, hello, seg), alert_record(AlertDescription::kProtocolVersion));
    EXPECT_EQ(d.input_error, Error::kProtocolVersion);
    EXPECT_TRUE(d.s.closed());
    EXPECT_EQ(d.alerts, 1);
  }
}

TEST(ServerSession, BadStartsGetOneAlert) {
  struct Case {
    const char* name;
    Bytes in;
    AlertDescription alert;
  };
  Bytes big_hello = {22, 3, 1, 0, 8, 1, 0x01, 0x00, 0x00, 0, 0, 0, 0};  // 64 KiB declared
  const Case cases[] = {
      {"application data first", {23, 3, 3, 0, 1, 0}, AlertDescription::kUnexpectedMessage},
      {"ccs first", {20, 3, 3, 0, 1, 1}, AlertDescription::kUnexpectedMessage},
      {"alert first", {21, 3, 3, 0, 2, 1, 0}, AlertDescription::kUnexpectedMessage},
      {"not a client hello", {22, 3, 3, 0, 4, 2, 0, 0, 0}, AlertDescription::kUnexpectedMessage},
      {"bad version", {22, 4, 1, 0, 1, 1}, AlertDescription::kProtocolVersion},
      {"unknown type", {0x40, 3, 3, 0, 1, 0}, AlertDescription::kUnexpectedMessage},
      {"oversized hello", big_hello, AlertDescription::kDecodeError},
      {"truncated hello", {22, 3, 1, 0, 6, 1, 0, 0, 2, 3, 3}, AlertDescription::kDecodeError},
  };
  for (const Case& t : cases) {
    SCOPED_TRACE(t.name);
    Configs cf;
    SessionLimits limits;
    limits.max_client_hello = 4096;
    Driver d(cf.sc, limits);
    const Bytes out = feed(d, t.in);
    ASSERT_EQ(out.size(), 7u);
    EXPECT_EQ(out[0], 21);
    EXPECT_EQ(out[5], 2);
    EXPECT_EQ(out[6], static_cast<uint8_t>(to_alert(*d.s.error())));
    EXPECT_TRUE(d.s.closed());
    EXPECT_EQ(d.alerts, 1);
    EXPECT_EQ(out[6], static_cast<uint8_t>(t.alert)) << alert_name(out[6]);
  }
}

// RFC 8446 §5.1: "if a handshake message is split over two or more records, there MUST NOT
// be any other records between them" — before the version is chosen too: whatever comes
// between the fragments of the ClientHello is unexpected_message (kInterleavedRecord), a
// warning alert or a change_cipher_spec included.
TEST(ServerSession, RecordsInsideTheSplitHelloAreUnexpected) {
  const Bytes first_half = {22, 3, 1, 0, 3, 1, 0, 0};  // a ClientHello header, cut short
  const struct {
    const char* name;
    Bytes between;
  } cases[] = {
      {"warning alert", {21, 3, 3, 0, 2, 1, 90}},
      {"fatal alert", {21, 3, 3, 0, 2, 2, 40}},
      {"change_cipher_spec", {20, 3, 3, 0, 1, 1}},
      {"application data", {23, 3, 3, 0, 1, 'x'}},
  };
  for (const auto& k : cases) {
    SCOPED_TRACE(k.name);
    Configs cf;
    Driver d(cf.sc);
    Bytes in = first_half;
    in.insert(in.end(), k.between.begin(), k.between.end());
    EXPECT_EQ(feed(d, in), alert_record(AlertDescription::kUnexpectedMessage));
    ASSERT_TRUE(d.s.error());
    EXPECT_EQ(*d.s.error(), Error::kInterleavedRecord);
    EXPECT_EQ(d.alerts, 1);
  }
}

TEST(ServerSession, HandshakeTimeoutBeforeTheHello) {
  Configs cf;
  Driver d(cf.sc);
  feed(d, {22, 3, 1});  // half a header
  EXPECT_FALSE(d.s.closed());
  d.s.fail(Error::kHandshakeTimeout);
  d.drain();
  EXPECT_EQ(d.wire, alert_record(to_alert(Error::kHandshakeTimeout)));
  EXPECT_TRUE(d.s.closed());
}

TEST(ServerSession, ClientCertificateIdentityBothVersions) {
  {
    Configs cf;
    cf.c12.client_auth = v12::ClientAuth::kRequired;
    Driver d(cf.sc);
    ClientConfig12 ccfg;
    const v12::Certificate12 cert = v12::Certificate12::from(v12::testing12::certs().client);
    ccfg.certificate = &cert;
    ClientConn12 c(ccfg);
    c.start();
    pump(c, d);
    expect_established(c, d, kTls12);
    ASSERT_NE(d.s.client_identity(), nullptr);
    EXPECT_FALSE(d.s.client_identity()->subject.empty());
  }
  {
    Configs cf;
    cf.c13.client_auth = ClientAuth::kRequired;
    cf.c13.client_ca = &v12::testing12::certs().ca;
    Driver d(cf.sc);
    ClientConfig13 ccfg;
    ccfg.certificate = &v12::testing12::certs().client;
    ClientConn13 c(ccfg, false);
    c.start();
    pump(c, d);
    expect_established(c, d, kTls13);
    ASSERT_NE(d.s.client_identity(), nullptr);
    EXPECT_EQ(d.s.client_identity()->subject,
              d.s.session13()->machine().peer_identity()->subject);
  }
}

// A required certificate the client does not send: TLS 1.3 says certificate_required and
// TLS 1.2 handshake_failure; client_certificate_missing() tells the engine which it was.
TEST(ServerSession, MissingClientCertificateBothVersions) {
  {
    Configs cf;
    cf.c12.client_auth = v12::ClientAuth::kRequired;
    Driver d(cf.sc);
    ClientConfig12 ccfg;
    ClientConn12 c(ccfg);
    c.start();
    pump(c, d);
    ASSERT_TRUE(d.s.error());
    EXPECT_EQ(to_alert(*d.s.error()), AlertDescription::kHandshakeFailure);
    EXPECT_TRUE(d.s.client_certificate_missing());
    EXPECT_EQ(d.s.client_identity(), nullptr);
  }
  {
    Configs cf;
    cf.c13.client_auth = ClientAuth::kRequired;
    cf.c13.client_ca = &v12::testing12::certs().ca;
    Driver d(cf.sc);
    ClientConfig13 ccfg;
    ClientConn13 c(ccfg, false);
    c.start();
    pump(c, d);
    ASSERT_TRUE(d.s.error());
    EXPECT_EQ(to_alert(*d.s.error()), AlertDescription::kCertificateRequired);
    EXPECT_TRUE(d.s.client_certificate_missing());
  }
  {  // a client that sends one is not "missing"
    Configs cf;
    cf.c12.client_auth = v12::ClientAuth::kRequired;
    Driver d(cf.sc);
    ClientConfig12 ccfg;
    const v12::Certificate12 cert = v12::Certificate12::from(v12::testing12::certs().client);
    ccfg.certificate = &cert;
    ClientConn12 c(ccfg);
    c.start();
    pump(c, d);
    EXPECT_FALSE(d.s.error());
    EXPECT_FALSE(d.s.client_certificate_missing());
  }
}

}  // namespace
}  // namespace linetls::tls
