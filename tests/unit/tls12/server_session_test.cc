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
#include "tests/unit/tls12/facade_driver.h"
#include "tests/unit/tls12/issued_certs.h"
#include "tests/unit/tls12/session12_harness.h"

namespace linetls::tls {
namespace {

using namespace facade_testing;  // NOLINT(google-build-using-namespace)
using ClientConn13 = testing13::ClientConn;
using v12::testing12::ClientConn12;
using v12::ClientConfig12;
using v12::ServerConfig12;
using v12::VersionRange;

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
size_t idle_heap(C& c, uint16_t version, size_t record_size) {
  Configs cf;
  Driver d(cf.sc);
  c.record_size = record_size;
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
  const size_t heap13 = idle_heap(c13, kTls13, 1);
  ClientConn12 c12(ClientConfig12{});
  const size_t heap12 = idle_heap(c12, kTls12, 1);
  // A ClientHello in one-byte records costs nothing once picked (the copies of its records
  // went back): the same heap as one in a single record. Block sizes as malloc counts them
  // may differ by a few bytes with the heap's history (a chunk too small to split is handed
  // out whole): within 32 bytes, where a kept ClientHello copy is hundreds.
  const auto near = [](size_t a, size_t b) { return (a > b ? a - b : b - a) <= 32; };
  ClientConn13 whole13(ccfg13, false);
  const size_t whole_heap13 = idle_heap(whole13, kTls13, kMaxPlaintextLen);
  EXPECT_TRUE(near(whole_heap13, heap13)) << whole_heap13 << " vs " << heap13;
  ClientConn12 whole12(ClientConfig12{});
  const size_t whole_heap12 = idle_heap(whole12, kTls12, kMaxPlaintextLen);
  EXPECT_TRUE(near(whole_heap12, heap12)) << whole_heap12 << " vs " << heap12;
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

// Allocation by announcement before the version is known: a ClientHello header announcing
// 32 KiB (within max_client_hello) in 9 bytes holds a few bytes, not the announcement; as
// the body comes in small records the session holds about what came (the copy of the records
// and the reassembly), and one announcing more than max_client_hello is refused at once.
TEST(ServerSession, AnnouncedHelloCostsOnlyWhatArrived) {
  Configs cf;
  Driver d(cf.sc);
  feed(d, {22, 3, 1, 0, 4, 1, 0, 0x7f, 0xf0});  // client_hello, 32752 bytes announced
  EXPECT_FALSE(d.s.error());
  EXPECT_LE(d.s.buffered_bytes(), 16u);
  size_t sent = 4;
  for (int i = 0; i < 20; i++) {
    Bytes rec = {22, 3, 1, 0, 100};
    rec.resize(105, 0x41);
    feed(d, rec);
    sent += 100;
    EXPECT_LE(d.s.buffered_bytes(), 4 * sent + 512) << sent;
  }
  EXPECT_FALSE(d.s.error());
  Driver big(cf.sc);
  EXPECT_EQ(feed(big, {22, 3, 1, 0, 4, 1, 0, 0x80, 0x01}),
            alert_record(AlertDescription::kDecodeError));
  EXPECT_EQ(big.s.error(), Error::kHandshakeMessageTooLarge);
  EXPECT_EQ(big.s.buffered_bytes(), 0u);
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
// A CA bundle with more than 64 KiB of subject names: certificate_authorities<0..2^16-1>
// cannot hold them, so both versions leave the list out (TLS 1.2 wrote them all and failed
// with internal_error) and client authentication still works through the root among them.
TEST(ServerSession, CaNamesBeyondTheListLimitAreLeftOut) {
  auto store = crypto::CaStore::from_pem(issued::as_bytes(issued::ca_bundle_with_long_names(240)));
  ASSERT_TRUE(store) << crypto::to_string(store.error());
  size_t names_len = 0;
  for (const auto& dn : store->subject_names()) {
    names_len += 2 + dn.size();
  }
  ASSERT_GT(names_len, 0xffffu);
  const crypto::CertifiedKey& client = v12::testing12::certs().client;
  {
    Configs cf;
    cf.c12.client_auth = v12::ClientAuth::kRequired;
    cf.c12.client_ca = &*store;
    cf.c12.client_ca_names.assign(store->subject_names().begin(), store->subject_names().end());
    Driver d(cf.sc);
    ClientConfig12 ccfg;
    const v12::Certificate12 cert = v12::Certificate12::from(client);
    ccfg.certificate = &cert;
    ClientConn12 c(ccfg);
    c.start();
    pump(c, d);
    expect_established(c, d, kTls12);
    EXPECT_TRUE(c.m.certificate_requested());
    ASSERT_NE(d.s.client_identity(), nullptr);
  }
  {
    Configs cf;
    cf.c13.client_auth = ClientAuth::kRequired;
    cf.c13.client_ca = &*store;
    Driver d(cf.sc);
    ClientConfig13 ccfg;
    ccfg.certificate = &client;
    ClientConn13 c(ccfg, false);
    c.start();
    pump(c, d);
    expect_established(c, d, kTls13);
    EXPECT_TRUE(c.machine().certificate_requested());
    ASSERT_NE(d.s.client_identity(), nullptr);
  }
}

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
