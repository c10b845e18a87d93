// The engine's TLS services end to end, in process, without root: TLS clients from lib/tls
// (the harness endpoints) on one host stack talk to a real engine::Worker over drivers/wire
// with virtual time, with loss, reordering and duplication on. Every transfer is checked by
// exact byte counts and SHA-256; every refusal by its exact alert. The fixture itself
// (net_fixture.h) is also shown carrying a plain service and a backend server on a third
// stack, as the proxy's tests will need.
//
// Sizes: the default run moves a few MiB per transfer; LT_ENGINE_BIG=1 moves 64 MiB each
// way through tls:echo (and tls:http /bytes) instead.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "lib/engine/apps.h"
#include "lib/engine/tls_service.h"
#include "lib/tls/errors.h"
#include "tests/unit/engine/net_fixture.h"
#include "tests/unit/engine/tls_client.h"

namespace linetls::engine::testing {
namespace {

constexpr uint16_t kTlsEchoPort = 443;
constexpr uint16_t kTlsHttpPort = 8443;
constexpr uint16_t kTlsDiscardPort = 9443;
constexpr uint16_t kEchoPort = 7;
constexpr uint16_t kBackendPort = 9000;

bool big() { return std::getenv("LT_ENGINE_BIG") != nullptr; }

// Bytes each way for the bulk transfers.
uint64_t bulk_bytes() { return big() ? (64ull << 20) : (16ull << 20); }

std::vector<uint8_t> bytes(std::string_view s) { return std::vector<uint8_t>(s.begin(), s.end()); }
std::string text(const std::vector<uint8_t>& b) { return std::string(b.begin(), b.end()); }

// 1% loss, 1% reordering (held back 200 us), 1% duplication, 1 ms one way, each direction
// seeded on its own.
wire::Impairments faults(uint64_t seed) {
  wire::Impairments imp;
  imp.loss = 0.01;
  imp.reorder = 0.01;
  imp.duplicate = 0.01;
  imp.delay_ns = 1 * kMs;
  imp.seed = seed;
  return imp;
}

NetConfig engine_config(bool impaired) {
  NetConfig c;
  c.services = {{kTlsEchoPort, AppKind::kEcho, true},
                {kTlsHttpPort, AppKind::kHttp, true},
                {kTlsDiscardPort, AppKind::kDiscard, true},
                {kEchoPort, AppKind::kEcho, false}};
  c.tls = default_tls_settings();
  if (impaired) {
    c.to_engine = faults(21);
    c.from_engine = faults(22);
  }
  return c;
}

std::string version_name(uint16_t v) { return v == tls::kTls12 ? "tls12" : "tls13"; }

class TlsWire : public ::testing::Test {
 protected:
  void start(bool impaired = true) { ASSERT_NO_FATAL_FAILURE(net_.start(engine_config(impaired))); }
  void TearDown() override { net_.stop(); }

  TlsClient& client(TlsClientPlan plan, uint16_t port) {
    TlsClient& c = net_.add(std::make_unique<TlsClient>(net_.client(), std::move(plan)));
    EXPECT_TRUE(c.connect(kEngineIp, port, net_.now()));
    return c;
  }
  // Runs until the client's connection is gone (at most 10 virtual minutes).
  void finish(const TlsClient& c) {
    ASSERT_TRUE(net_.run_until([&] { return c.finished(); }, 600 * kSec))
        << "sent " << c.outcome().app_sent << " received " << c.outcome().app_received;
  }
  // Runs until every connection has left TIME_WAIT, so the engine's counters are final.
  void settle() { ASSERT_TRUE(net_.run_until_no_connections(300 * kSec)); }

  TlsCounters tls_counters() { return net_.engine().tls()->counters(); }
  // Every alert the engine sent, by description (close_notify excluded).
  std::vector<std::pair<uint8_t, uint64_t>> alerts_sent() {
    std::vector<std::pair<uint8_t, uint64_t>> out;
    const TlsAlertCounts a = net_.engine().tls()->alerts();
    for (size_t i = 1; i < a.sent.size(); i++) {
      if (a.sent[i] != 0) {
        out.emplace_back(static_cast<uint8_t>(i), a.sent[i]);
      }
    }
    return out;
  }
  // Impairments really happened in both directions.
  void expect_faults_seen() {
    for (wire::Direction d : {wire::Direction::kAtoB, wire::Direction::kBtoA}) {
      const wire::WireStats& s = net_.wire().stats(d);
      EXPECT_GT(s.lost, 0u);
      EXPECT_GT(s.reordered, 0u);
      EXPECT_GT(s.duplicated, 0u);
    }
  }
  void expect_clean_close(const TlsOutcome& o) {
    EXPECT_FALSE(o.error) << tls::to_string(*o.error);
    EXPECT_FALSE(o.alert_received) << tls::alert_name(*o.alert_received);
    EXPECT_TRUE(o.close_notify_received);
    EXPECT_TRUE(o.close_notify_sent);
    EXPECT_TRUE(o.closed);
    EXPECT_EQ(o.reason, net::tcp::CloseReason::kNormal);
  }

  NetFixture net_;
};

class TlsWireVersion : public TlsWire, public ::testing::WithParamInterface<uint16_t> {};

// (a) N bytes each way through tls:echo under loss, reordering and duplication: what comes
// back is byte for byte what was sent, and both sides close with close_notify.
TEST_P(TlsWireVersion, EchoReturnsEveryByteUnderFaults) {
  start();
  const uint64_t n = bulk_bytes();
  TlsClientPlan plan;
  plan.version = GetParam();
  plan.send_bytes = n;
  plan.seed = 3;
  TlsClient& c = client(plan, kTlsEchoPort);
  const uint64_t t0 = net_.now();
  finish(c);
  const uint64_t virtual_ns = net_.now() - t0;
  const TlsOutcome& o = c.outcome();
  ASSERT_TRUE(o.handshake_done);
  EXPECT_EQ(o.version, GetParam());
  EXPECT_EQ(o.app_sent, n);
  EXPECT_EQ(o.app_received, n);
  const std::string want = Pattern(3).digest(n);
  EXPECT_EQ(c.sent_sha256(), want);
  EXPECT_EQ(c.received_sha256(), want);
  expect_clean_close(o);
  expect_faults_seen();
  settle();
  const TlsCounters t = tls_counters();
  EXPECT_EQ(t.get(TlsCounter::kHandshakes), 1u);
  EXPECT_EQ(t.get(GetParam() == tls::kTls12 ? TlsCounter::kTls12 : TlsCounter::kTls13), 1u);
  EXPECT_EQ(t.get(TlsCounter::kBytesOpened), n);
  EXPECT_EQ(t.get(TlsCounter::kBytesSealed), n);
  EXPECT_EQ(t.get(TlsCounter::kCloseNotifyReceived), 1u);
  EXPECT_EQ(t.get(TlsCounter::kCloseNotifySent), 1u);
  EXPECT_EQ(t.get(TlsCounter::kTruncated), 0u);
  EXPECT_EQ(t.get(TlsCounter::kSealFailures), 0u);
  EXPECT_EQ(t.get(TlsCounter::kSendRefused), 0u);
  EXPECT_TRUE(alerts_sent().empty());
  EXPECT_GT(net_.engine().tcp().counters().get(net::tcp::TcpCounter::kRetransSegs), 0u);
  std::printf("%s echo: %.1f MiB each way in %.2f s virtual, %s, %lu records assembled\n",
              version_name(GetParam()).c_str(), double(n) / (1 << 20), double(virtual_ns) / 1e9,
              net_.engine().tls()->batch_impl(),
              static_cast<unsigned long>(t.get(TlsCounter::kAssembledRecords)));
}

// (b) tls:http /bytes/N: the head names the version, the body is N pattern bytes.
TEST_P(TlsWireVersion, HttpBytesBodyIsThePattern) {
  start();
  const uint64_t n = bulk_bytes();
  TlsClientPlan plan;
  plan.version = GetParam();
  plan.request = bytes("GET /bytes/" + std::to_string(n) +
                       " HTTP/1.1\r\nHost: linetls\r\nConnection: close\r\n\r\n");
  plan.close_after_send = false;  // the server closes after its answer
  TlsClient& c = client(plan, kTlsHttpPort);
  finish(c);
  const TlsOutcome& o = c.outcome();
  ASSERT_TRUE(o.handshake_done);
  const std::string kept = text(o.kept);
  const size_t head_end = kept.find("\r\n\r\n");
  ASSERT_NE(head_end, std::string::npos) << kept;
  const std::string head = kept.substr(0, head_end + 4);
  EXPECT_EQ(head.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Length: " + std::to_string(n) + "\r\n"), std::string::npos);
  EXPECT_NE(head.find(std::string("X-TLS-Version: ") + (GetParam() == tls::kTls12 ? "1.2" : "1.3") +
                      "\r\n"),
            std::string::npos)
      << head;
  EXPECT_EQ(o.app_received, head.size() + n);
  for (size_t i = head.size(); i < o.kept.size(); i++) {
    ASSERT_EQ(o.kept[i], http_body_byte(i - head.size())) << "body byte " << i - head.size();
  }
  Sha256 want;
  want.update(bytes(head));
  std::vector<uint8_t> body(64 * 1024);
  for (uint64_t off = 0; off < n; off += body.size()) {
    const size_t k = static_cast<size_t>(std::min<uint64_t>(body.size(), n - off));
    for (size_t i = 0; i < k; i++) {
      body[i] = http_body_byte(off + i);
    }
    want.update(std::span(body.data(), k));
  }
  EXPECT_EQ(c.received_sha256(), want.hex());
  expect_clean_close(o);
  settle();
  EXPECT_EQ(tls_counters().get(TlsCounter::kHandshakes), 1u);
  EXPECT_TRUE(alerts_sent().empty());
}

// tls:discard reads everything and answers nothing but its close_notify.
TEST_P(TlsWireVersion, DiscardReadsEveryByte) {
  start();
  const uint64_t n = 1ull << 20;
  TlsClientPlan plan;
  plan.version = GetParam();
  plan.send_bytes = n;
  TlsClient& c = client(plan, kTlsDiscardPort);
  finish(c);
  const TlsOutcome& o = c.outcome();
  ASSERT_TRUE(o.handshake_done);
  EXPECT_EQ(o.app_sent, n);
  EXPECT_EQ(o.app_received, 0u);
  expect_clean_close(o);
  settle();
  EXPECT_EQ(tls_counters().get(TlsCounter::kBytesOpened), n);
  EXPECT_EQ(tls_counters().get(TlsCounter::kBytesSealed), 0u);
}

// (d) A client that is broken after the handshake: a record that does not decrypt gets
// bad_record_mac (RFC 8446 §5.2, RFC 5246 §7.2.2), and the next client is served.
TEST_P(TlsWireVersion, UndecryptableRecordGetsBadRecordMac) {
  start();
  TlsClientPlan bad;
  bad.version = GetParam();
  bad.raw_after_handshake = {0x17, 0x03, 0x03, 0x00, 0x20};
  bad.raw_after_handshake.resize(5 + 0x20, 0x5a);
  bad.close_after_send = false;
  TlsClient& b = client(bad, kTlsEchoPort);
  finish(b);
  const TlsOutcome& o = b.outcome();
  ASSERT_TRUE(o.handshake_done);
  ASSERT_TRUE(o.alert_received);
  EXPECT_EQ(*o.alert_received, static_cast<uint8_t>(tls::AlertDescription::kBadRecordMac));
  EXPECT_FALSE(o.error);
  EXPECT_EQ(o.app_received, 0u);

  TlsClientPlan good;
  good.version = GetParam();
  good.send_bytes = 256 * 1024;
  good.seed = 9;
  TlsClient& g = client(good, kTlsEchoPort);
  finish(g);
  EXPECT_EQ(g.outcome().app_received, good.send_bytes);
  EXPECT_EQ(g.received_sha256(), Pattern(9).digest(good.send_bytes));
  expect_clean_close(g.outcome());
  settle();
  const auto sent = alerts_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, static_cast<uint8_t>(tls::AlertDescription::kBadRecordMac));
  EXPECT_EQ(sent[0].second, 1u);
  EXPECT_EQ(tls_counters().get(TlsCounter::kHandshakes), 2u);
}

INSTANTIATE_TEST_SUITE_P(Versions, TlsWireVersion, ::testing::Values(tls::kTls13, tls::kTls12),
                         [](const auto& info) { return version_name(info.param); });

// (d) Plaintext that is not TLS at all (an HTTP request on the TLS port) gets exactly one
// plaintext unexpected_message alert, then FIN; the engine goes on serving.
TEST_F(TlsWire, NonTlsBytesGetOneUnexpectedMessageAlert) {
  start();
  PeerPlan plan;
  plan.greeting = bytes("GET / HTTP/1.1\r\nHost: linetls\r\n\r\n");
  plan.shutdown_when_sent = false;  // FIN only after the engine's
  PlainPeer& p = net_.add(std::make_unique<PlainPeer>(net_.client(), plan));
  PeerConn* pc = p.connect(kEngineIp, kTlsEchoPort, net_.now());
  ASSERT_NE(pc, nullptr);
  ASSERT_TRUE(net_.run_until([&] { return pc->closed; }, 60 * kSec));
  // One alert record: fatal (2), unexpected_message (to_alert(kBadRecordType)).
  const auto description = static_cast<uint8_t>(tls::to_alert(tls::Error::kBadRecordType));
  const std::vector<uint8_t> alert = {0x15, 0x03, 0x03, 0x00, 0x02, 0x02, description};
  EXPECT_EQ(pc->kept, alert);
  EXPECT_EQ(pc->received, alert.size());
  EXPECT_TRUE(pc->peer_fin);
  EXPECT_EQ(pc->reason, net::tcp::CloseReason::kNormal);

  TlsClientPlan good;
  good.send_bytes = 100 * 1000;
  TlsClient& g = client(good, kTlsEchoPort);
  finish(g);
  EXPECT_EQ(g.received_sha256(), Pattern(good.seed).digest(good.send_bytes));
  expect_clean_close(g.outcome());
  settle();
  const auto sent = alerts_sent();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].first, static_cast<uint8_t>(tls::AlertDescription::kUnexpectedMessage));
  EXPECT_EQ(tls_counters().get(TlsCounter::kHandshakeFailures), 1u);
  EXPECT_EQ(tls_counters().get(TlsCounter::kHandshakes), 1u);
}

// (c) 100 clients at once, half TLS 1.3 and half TLS 1.2, each with its own stream.
TEST_F(TlsWire, HundredConcurrentClients) {
  start();
  // 128 KiB each in both modes: a hundred 1 MiB windows in both directions at once need
  // far more mbufs than the fixture's pool holds.
  constexpr int kClients = 100;
  constexpr uint64_t each = 128 * 1024;
  std::vector<TlsClient*> clients;
  for (int i = 0; i < kClients; i++) {
    TlsClientPlan plan;
    plan.version = i % 2 == 0 ? tls::kTls13 : tls::kTls12;
    plan.send_bytes = each;
    plan.seed = 100 + static_cast<uint64_t>(i);
    clients.push_back(&client(plan, kTlsEchoPort));
  }
  ASSERT_TRUE(net_.run_until(
      [&] {
        return std::all_of(clients.begin(), clients.end(),
                           [](const TlsClient* c) { return c->finished(); });
      },
      600 * kSec));
  for (int i = 0; i < kClients; i++) {
    const TlsClient& c = *clients[i];
    SCOPED_TRACE("client " + std::to_string(i));
    EXPECT_EQ(c.outcome().version, c.plan().version);
    EXPECT_EQ(c.outcome().app_received, each);
    EXPECT_EQ(c.received_sha256(), Pattern(c.plan().seed).digest(each));
    expect_clean_close(c.outcome());
  }
  settle();
  const TlsCounters t = tls_counters();
  EXPECT_EQ(t.get(TlsCounter::kConnections), uint64_t{kClients});
  EXPECT_EQ(t.get(TlsCounter::kHandshakes), uint64_t{kClients});
  EXPECT_EQ(t.get(TlsCounter::kTls13), uint64_t{kClients / 2});
  EXPECT_EQ(t.get(TlsCounter::kTls12), uint64_t{kClients / 2});
  EXPECT_EQ(t.get(TlsCounter::kBytesOpened), each * kClients);
  EXPECT_EQ(t.get(TlsCounter::kBytesSealed), each * kClients);
  EXPECT_TRUE(alerts_sent().empty());
}

// ---- The fixture with plain TCP: a plain engine service, and a backend server on the third
// stack reached from the engine's own Tcp (where the proxy's outbound side will be).

// The plain echo app under faults: it takes exactly what fits (write_space, splitting a
// segment by reference), so the send buffer fills to the byte and on_writable follows.
TEST_F(TlsWire, PlainEchoReturnsEveryByteUnderFaults) {
  start();
  const uint64_t n = bulk_bytes();
  PeerPlan plan;
  plan.send_bytes = n;
  plan.seed = 5;
  PlainPeer& p = net_.add(std::make_unique<PlainPeer>(net_.client(), plan));
  PeerConn* pc = p.connect(kEngineIp, kEchoPort, net_.now());
  ASSERT_NE(pc, nullptr);
  ASSERT_TRUE(net_.run_until([&] { return pc->closed; }, 600 * kSec)) << pc->received;
  EXPECT_EQ(pc->sent, n);
  EXPECT_EQ(pc->received, n);
  EXPECT_EQ(pc->received_hash.hex(), Pattern(5).digest(n));
  EXPECT_EQ(pc->reason, net::tcp::CloseReason::kNormal);
  expect_faults_seen();
  settle();
}

class BackendWire : public TlsWire {
 protected:
  // An engine with no services; a PlainPeer on the engine's own Tcp dials the backend.
  void SetUp() override {
    NetConfig c;
    c.to_engine = faults(31);
    c.from_engine = faults(32);
    ASSERT_NO_FATAL_FAILURE(net_.start(c));
  }
  PlainPeer& engine_side(PeerPlan plan) {
    return net_.add(std::make_unique<PlainPeer>(net_.engine().tcp(), net_.pool(), plan));
  }
};

// The engine reaches the third stack (ARP to every host, IPv4 by address) and bytes flow
// both ways at once, intact.
TEST_F(BackendWire, EngineToBackendBothWays) {
  const uint64_t n = big() ? (64ull << 20) : (2ull << 20);
  PeerPlan server_plan;
  server_plan.send_bytes = n;
  server_plan.seed = 7;
  server_plan.shutdown_when_sent = false;
  PlainPeer& backend = net_.add(std::make_unique<PlainPeer>(net_.backend(), server_plan));
  ASSERT_TRUE(backend.listen(kBackendPort));
  PeerPlan client_plan;
  client_plan.send_bytes = n;
  client_plan.seed = 8;
  PlainPeer& front = engine_side(client_plan);
  PeerConn* pc = front.connect(kBackendIp, kBackendPort, net_.now());
  ASSERT_NE(pc, nullptr);
  ASSERT_TRUE(net_.run_until([&] { return pc->closed && backend.num_closed() == 1; }, 600 * kSec));
  PeerConn& bc = backend.conn(0);
  EXPECT_EQ(bc.received, n);
  EXPECT_EQ(pc->received, n);
  EXPECT_EQ(bc.received_hash.hex(), Pattern(8).digest(n));
  EXPECT_EQ(pc->received_hash.hex(), Pattern(7).digest(n));
  EXPECT_EQ(bc.reason, net::tcp::CloseReason::kNormal);
  EXPECT_EQ(pc->reason, net::tcp::CloseReason::kNormal);
  // The client stack saw the ARP traffic but no IPv4 frame.
  EXPECT_EQ(net_.client().stack().counters().get(net::NetCounter::kIpRx), 0u);
  EXPECT_EQ(net_.unclaimed_frames(), 0u);
  settle();
}

// The hooks a proxy test needs: a backend that stops reading closes its window and holds
// the sender there for good; resuming lets the rest through; a reset reaches the other side.
TEST_F(BackendWire, BackendHooksStopReadingAndReset) {
  const uint64_t n = 4ull << 20;
  PeerPlan server_plan;
  server_plan.reading = false;
  server_plan.shutdown_when_sent = false;
  PlainPeer& backend = net_.add(std::make_unique<PlainPeer>(net_.backend(), server_plan));
  ASSERT_TRUE(backend.listen(kBackendPort));
  PeerPlan client_plan;
  client_plan.send_bytes = n;
  PlainPeer& front = engine_side(client_plan);
  PeerConn* pc = front.connect(kBackendIp, kBackendPort, net_.now());
  ASSERT_NE(pc, nullptr);
  auto backend_window = [&] { return net_.backend().tcp().info(backend.conn(0).tcp).rcv_wnd; };
  ASSERT_TRUE(net_.run_until(
      [&] { return backend.conns().size() == 1 && backend.conn(0).tcp && backend_window() == 0; },
      60 * kSec));
  PeerConn& bc = backend.conn(0);
  const uint64_t held = bc.received;
  net_.run_for(30 * kSec);  // persist probes and all: not one byte more
  EXPECT_EQ(bc.received, held);
  EXPECT_EQ(bc.unreleased, held);
  EXPECT_EQ(backend_window(), 0u);
  // The window held at least rcv_buf. Not exactly: the receiver rounds each advertised window
  // up to its scale unit (2^7) and keeps the rounded edge, so the edge may creep right by
  // < 128 bytes per ACK while the buffer fills (lib/net/tcp/output.cc rcv_window).
  const uint32_t rcv_buf = net_.config().host_tcp.rcv_buf;
  EXPECT_GE(held, rcv_buf);
  EXPECT_LE(held, rcv_buf + (rcv_buf / 1448 + 1) * 128);
  EXPECT_LT(pc->sent, n);
  backend.set_reading(bc, true);
  ASSERT_TRUE(net_.run_until([&] { return bc.peer_fin; }, 600 * kSec));
  EXPECT_EQ(bc.received, n);
  EXPECT_EQ(bc.received_hash.hex(), Pattern(client_plan.seed).digest(n));

  // A second connection, reset by the backend: the engine side hears kReset.
  PeerConn* pc2 = front.connect(kBackendIp, kBackendPort, net_.now());
  ASSERT_NE(pc2, nullptr);
  ASSERT_TRUE(net_.run_until([&] { return backend.conns().size() == 2; }, 60 * kSec));
  backend.reset(backend.conn(1));
  EXPECT_EQ(backend.conn(1).reason, net::tcp::CloseReason::kAborted);
  ASSERT_TRUE(net_.run_until([&] { return pc2->closed; }, 60 * kSec));
  EXPECT_EQ(pc2->reason, net::tcp::CloseReason::kReset);
  settle();
}

}  // namespace
}  // namespace linetls::engine::testing
