// The proxy app in process, without root: TLS clients from lib/tls (and plain clients) on
// one host stack, linetls's engine on a second, backend servers (PlainPeer) on a third,
// over drivers/wire with virtual time and, for the bulk transfers, loss, reordering and
// duplication on. Bytes are checked by exact counts and SHA-256 both ways; faults by what
// each side sees (a clean close, a reset) and by the proxy's counters; memory by the pools'
// in-use counts while a peer refuses to read.
//
// Sizes: 4 MiB each way by default; LT_ENGINE_BIG=1 moves the 64 MiB each way.
#include <gtest/gtest.h>

#include <rte_mempool.h>

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "lib/engine/proxy.h"
#include "lib/engine/tls_service.h"
#include "lib/proxy/proxy_v2.h"
#include "tests/unit/engine/net_fixture.h"
#include "tests/unit/engine/tls_client.h"

namespace linetls::engine::testing {
namespace {

constexpr uint16_t kTlsProxyPort = 443;
constexpr uint16_t kPlainProxyPort = 80;
constexpr uint16_t kDeadProxyPort = 8443;
constexpr uint16_t kBackendPort = 9000;
constexpr uint16_t kDeadBackendPort = 9001;  // nothing listens there
constexpr uint32_t kIdleMs = 5000;

bool big() { return std::getenv("LT_ENGINE_BIG") != nullptr; }
uint64_t bulk_bytes() { return big() ? (64ull << 20) : (4ull << 20); }

wire::Impairments faults(uint64_t seed) {
  wire::Impairments imp;
  imp.loss = 0.01;
  imp.reorder = 0.01;
  imp.duplicate = 0.01;
  imp.delay_ns = 1 * kMs;
  imp.seed = seed;
  return imp;
}

ServiceSpec proxy_service(uint16_t port, bool tls, uint16_t backend_port, bool pp2) {
  ServiceSpec s;
  s.port = port;
  s.app = AppKind::kProxy;
  s.tls = tls;
  s.proxy.backends = {Backend{kBackendIp, backend_port}};
  s.proxy.proxy_protocol_v2 = pp2;
  s.proxy.connect_timeout_ms = 1000;
  s.proxy.backend_down_ms = 10000;
  s.proxy.idle_timeout_ms = kIdleMs;
  s.proxy.certificates = {CertAlgs{"ecdsa-with-SHA256", "EC256"}, CertAlgs{"x", "RSA2048"}};
  return s;
}

class ProxyWire : public ::testing::Test {
 protected:
  void start(bool impaired, bool pp2 = false, uint32_t pool_mbufs = 16383) {
    NetConfig c;
    c.services = {proxy_service(kTlsProxyPort, true, kBackendPort, pp2),
                  proxy_service(kPlainProxyPort, false, kBackendPort, pp2),
                  proxy_service(kDeadProxyPort, true, kDeadBackendPort, pp2)};
    c.tls = default_tls_settings();
    c.pool_mbufs = pool_mbufs;
    if (impaired) {
      c.to_engine = faults(41);
      c.from_engine = faults(42);
    }
    ASSERT_NO_FATAL_FAILURE(net_.start(c));
  }
  void TearDown() override { net_.stop(); }

  PlainPeer& backend(PeerPlan plan) {
    PlainPeer& b = net_.add(std::make_unique<PlainPeer>(net_.backend(), std::move(plan)));
    EXPECT_TRUE(b.listen(kBackendPort));
    return b;
  }
  TlsClient& tls_client(TlsClientPlan plan, uint16_t port = kTlsProxyPort) {
    TlsClient& c = net_.add(std::make_unique<TlsClient>(net_.client(), std::move(plan)));
    EXPECT_TRUE(c.connect(kEngineIp, port, net_.now()));
    return c;
  }
  const ProxyCounters& proxy() {
    for (const auto& app : net_.engine().apps()) {
      if (auto* p = dynamic_cast<const ProxyApp*>(app.get()); p != nullptr) {
        return p->counters();  // the 443 service's (the first)
      }
    }
    ADD_FAILURE() << "no proxy app";
    static ProxyCounters none;
    return none;
  }
  size_t live_pairs() {
    size_t n = 0;
    for (const auto& app : net_.engine().apps()) {
      n += static_cast<const ProxyApp*>(app.get())->num_pairs();
    }
    return n;
  }
  uint64_t proxy_total(ProxyCounter c) {
    uint64_t n = 0;
    for (const auto& app : net_.engine().apps()) {
      n += static_cast<const ProxyApp*>(app.get())->counters().get(c);
    }
    return n;
  }
  void settle() { ASSERT_TRUE(net_.run_until_no_connections(600 * kSec)); }
  // The most mbufs of the port pool (every stack's) and of the record pool in use at once
  // while pred() has not held, polled until it holds.
  struct Peak {
    unsigned port = 0;
    unsigned records = 0;
  };
  Peak run_watching(const std::function<bool()>& pred, uint64_t max_ns) {
    Peak p;
    const uint64_t end = net_.now() + max_ns;
    while (!pred() && net_.now() < end) {
      net_.poll();
      p.port = std::max(p.port, rte_mempool_in_use_count(net_.pool()));
      p.records = std::max(p.records, rte_mempool_in_use_count(net_.config().tls.record_pool));
    }
    EXPECT_TRUE(pred()) << "timed out";
    return p;
  }

  NetFixture net_;
};

class ProxyWireVersion : public ProxyWire, public ::testing::WithParamInterface<uint16_t> {};

// N bytes each way at once through tls:proxy under loss, reordering and duplication. The
// client's close_notify reaches the backend as FIN, the backend's FIN comes back as
// close_notify: both ends close cleanly, every byte intact.
TEST_P(ProxyWireVersion, BytesBothWaysUnderFaults) {
  start(true);
  const uint64_t n = bulk_bytes();
  PeerPlan bp;
  bp.send_bytes = n;
  bp.seed = 4;
  bp.shutdown_when_sent = false;  // FIN once the client's FIN came and everything is sent
  PlainPeer& b = backend(bp);
  TlsClientPlan cp;
  cp.version = GetParam();
  cp.send_bytes = n;
  cp.seed = 3;
  TlsClient& c = tls_client(cp);
  ASSERT_TRUE(net_.run_until([&] { return c.finished() && b.num_closed() == 1; }, 1200 * kSec));
  const TlsOutcome& o = c.outcome();
  ASSERT_TRUE(o.handshake_done);
  EXPECT_EQ(o.version, GetParam());
  EXPECT_EQ(o.app_received, n);
  EXPECT_EQ(c.received_sha256(), Pattern(4).digest(n));
  EXPECT_EQ(b.conn(0).received, n);
  EXPECT_EQ(b.conn(0).received_hash.hex(), Pattern(3).digest(n));
  EXPECT_TRUE(o.close_notify_received);
  EXPECT_FALSE(o.alert_received);
  EXPECT_EQ(b.conn(0).reason, net::tcp::CloseReason::kNormal);
  settle();
  const ProxyCounters& p = proxy();
  EXPECT_EQ(p.get(ProxyCounter::kClients), 1u);
  EXPECT_EQ(p.get(ProxyCounter::kBytesUp), n);
  EXPECT_EQ(p.get(ProxyCounter::kBytesDown), n);
  EXPECT_EQ(p.get(ProxyCounter::kHalfCloseUp), 1u);
  EXPECT_EQ(p.get(ProxyCounter::kHalfCloseDown), 1u);
  EXPECT_EQ(p.get(ProxyCounter::kClientAborts) + p.get(ProxyCounter::kBackendAborts), 0u);
  EXPECT_EQ(p.get(ProxyCounter::kPairsClosed), 1u);
  EXPECT_EQ(live_pairs(), 0u);
  EXPECT_GT(net_.wire().stats(wire::Direction::kAtoB).lost, 0u);
}

INSTANTIATE_TEST_SUITE_P(Versions, ProxyWireVersion, ::testing::Values(tls::kTls13, tls::kTls12),
                         [](const auto& info) {
                           return std::string(info.param == tls::kTls12 ? "tls12" : "tls13");
                         });

// proxy: without TLS, the same both ways.
TEST_F(ProxyWire, PlainPassThroughBothWays) {
  start(true);
  const uint64_t n = bulk_bytes();
  PeerPlan bp;
  bp.send_bytes = n;
  bp.seed = 6;
  bp.shutdown_when_sent = false;
  PlainPeer& b = backend(bp);
  PeerPlan cp;
  cp.send_bytes = n;
  cp.seed = 5;
  cp.shutdown_when_sent = true;
  PlainPeer& client = net_.add(std::make_unique<PlainPeer>(net_.client(), cp));
  PeerConn* pc = client.connect(kEngineIp, kPlainProxyPort, net_.now());
  ASSERT_NE(pc, nullptr);
  ASSERT_TRUE(net_.run_until([&] { return pc->closed && b.num_closed() == 1; }, 1200 * kSec));
  EXPECT_EQ(pc->received, n);
  EXPECT_EQ(pc->received_hash.hex(), Pattern(6).digest(n));
  EXPECT_EQ(b.conn(0).received, n);
  EXPECT_EQ(b.conn(0).received_hash.hex(), Pattern(5).digest(n));
  EXPECT_EQ(pc->reason, net::tcp::CloseReason::kNormal);
  settle();
  EXPECT_EQ(live_pairs(), 0u);
}

// --proxy-protocol v2: the backend's first bytes are a header that decodes to the client's
// address and port, and for TLS to the negotiated version and suite, and our certificate.
TEST_F(ProxyWire, ProxyV2HeaderComesFirst) {
  start(false, true);
  PeerPlan bp;
  bp.shutdown_when_sent = false;
  PlainPeer& b = backend(bp);
  TlsClientPlan cp;
  cp.request = {'h', 'i'};
  TlsClient& c = tls_client(cp);
  ASSERT_TRUE(net_.run_until([&] { return c.finished() && b.num_closed() == 1; }, 60 * kSec));
  const std::vector<uint8_t>& got = b.conn(0).kept;
  auto h = proxy::decode_proxy_v2(got);
  ASSERT_TRUE(h.ok()) << proxy::to_string(h.error());
  EXPECT_EQ(h->command, proxy::Command::kProxy);
  EXPECT_EQ(h->info.src.addr, kClientIp.v);
  EXPECT_EQ(h->info.src.port, c.local_port());
  EXPECT_EQ(h->info.dst.addr, kEngineIp.v);
  EXPECT_EQ(h->info.dst.port, kTlsProxyPort);
  ASSERT_TRUE(h->info.tls.has_value());
  EXPECT_EQ(h->info.tls->version, "TLSv1.3");
  EXPECT_EQ(h->info.tls->cipher, proxy::openssl_cipher_name(c.outcome().suite));
  EXPECT_EQ(h->info.tls->key_alg, "EC256");
  EXPECT_EQ(h->info.tls->sig_alg, "ecdsa-with-SHA256");
  EXPECT_FALSE(h->info.tls->verified);
  EXPECT_EQ(h->ssl_verify, 1u);
  // Then exactly the client's bytes.
  ASSERT_EQ(got.size(), h->header_len + 2);
  EXPECT_EQ(got[h->header_len], 'h');
  EXPECT_EQ(got[h->header_len + 1], 'i');
  EXPECT_EQ(proxy().get(ProxyCounter::kProxyHeaders), 1u);
}

// The backend refuses (RST to the SYN): the client gets a clean close_notify and FIN, and
// the next client does not try the backend again while it is down.
TEST_F(ProxyWire, BackendDownAtStartClosesTheClientCleanly) {
  start(false);
  TlsClientPlan cp;
  cp.request = {'x'};
  cp.close_after_send = false;
  TlsClient& c1 = tls_client(cp, kDeadProxyPort);
  ASSERT_TRUE(net_.run_until([&] { return c1.finished(); }, 60 * kSec));
  TlsClient& c2 = tls_client(cp, kDeadProxyPort);
  ASSERT_TRUE(net_.run_until([&] { return c2.finished(); }, 60 * kSec));
  for (const TlsClient* c : {&c1, &c2}) {
    const TlsOutcome& o = c->outcome();
    EXPECT_TRUE(o.handshake_done);
    EXPECT_TRUE(o.close_notify_received);
    EXPECT_FALSE(o.alert_received);
    EXPECT_EQ(o.app_received, 0u);
    EXPECT_EQ(o.reason, net::tcp::CloseReason::kNormal);
  }
  EXPECT_EQ(proxy_total(ProxyCounter::kBackendConnects), 1u);
  EXPECT_EQ(proxy_total(ProxyCounter::kBackendFailures), 1u);
  EXPECT_EQ(proxy_total(ProxyCounter::kBackendSkipped), 1u);
  EXPECT_EQ(proxy_total(ProxyCounter::kNoBackend), 2u);
  settle();
  EXPECT_EQ(live_pairs(), 0u);
}

// The backend resets in the middle of a download: the client is reset too, not closed as
// if the download were complete.
TEST_F(ProxyWire, BackendResetMidDownloadResetsTheClient) {
  start(false);
  PeerPlan bp;
  bp.send_bytes = 64ull << 20;
  bp.shutdown_when_sent = false;
  PlainPeer& b = backend(bp);
  TlsClientPlan cp;
  cp.close_after_send = false;
  TlsClient& c = tls_client(cp);
  ASSERT_TRUE(net_.run_until([&] { return c.outcome().app_received > (1u << 20); }, 60 * kSec));
  b.reset(b.conn(0));
  ASSERT_TRUE(net_.run_until([&] { return c.finished(); }, 60 * kSec));
  EXPECT_EQ(c.outcome().reason, net::tcp::CloseReason::kReset);
  EXPECT_FALSE(c.outcome().close_notify_received);
  EXPECT_LT(c.outcome().app_received, 64ull << 20);
  EXPECT_EQ(proxy().get(ProxyCounter::kBackendAborts), 1u);
  settle();
  EXPECT_EQ(live_pairs(), 0u);
}

// The client resets in the middle of an upload: the backend is reset.
TEST_F(ProxyWire, ClientResetMidUploadResetsTheBackend) {
  start(false);
  PeerPlan bp;
  bp.shutdown_when_sent = false;
  PlainPeer& b = backend(bp);
  TlsClientPlan cp;
  cp.send_bytes = 64ull << 20;
  TlsClient& c = tls_client(cp);
  ASSERT_TRUE(net_.run_until([&] { return b.conns().size() == 1 && b.conn(0).received > (1u << 20); },
                             60 * kSec));
  c.reset();
  ASSERT_TRUE(net_.run_until([&] { return b.num_closed() == 1; }, 60 * kSec));
  EXPECT_EQ(b.conn(0).reason, net::tcp::CloseReason::kReset);
  EXPECT_LT(b.conn(0).received, 64ull << 20);
  EXPECT_EQ(proxy().get(ProxyCounter::kClientAborts), 1u);
  settle();
  EXPECT_EQ(live_pairs(), 0u);
}

// A backend that accepts and never reads: the client keeps sending, but what the path holds
// stops growing at a fixed bound (windows and send buffers), and the idle timeout resets
// both sides. The bound does not depend on how much the client wants to send.
TEST_F(ProxyWire, BackendThatNeverReadsIsBoundedThenTimedOut) {
  start(false);
  PeerPlan bp;
  bp.reading = false;
  bp.shutdown_when_sent = false;
  PlainPeer& b = backend(bp);
  TlsClientPlan cp;
  cp.send_bytes = 1ull << 30;
  TlsClient& c = tls_client(cp);
  const Peak peak = run_watching([&] { return c.finished(); }, 120 * kSec);
  EXPECT_EQ(c.outcome().reason, net::tcp::CloseReason::kReset);
  EXPECT_LT(c.outcome().app_sent, 16ull << 20);
  EXPECT_EQ(b.conn(0).reason, net::tcp::CloseReason::kReset);
  EXPECT_EQ(proxy().get(ProxyCounter::kIdleTimeouts), 1u);
  // Every stack's mbufs at once (client send queue, engine windows and queues, the backend's
  // unread window): a few MiB, bounded by rcv_buf/snd_buf per hop, never by the 1 GiB.
  EXPECT_LT(peak.port, 6000u);
  EXPECT_LT(peak.records, 80u);
  std::printf("never-reading backend: peak %u port mbufs, %u record mbufs; client sent %.1f MiB\n",
              peak.port, peak.records, double(c.outcome().app_sent) / (1 << 20));
  settle();
  EXPECT_EQ(live_pairs(), 0u);
}

// A client that stops reading while the backend sends a large file: bounded, then reset by
// the idle timeout.
TEST_F(ProxyWire, ClientThatStopsReadingIsBoundedThenTimedOut) {
  start(false);
  PeerPlan bp;
  bp.send_bytes = 1ull << 30;
  bp.shutdown_when_sent = false;
  PlainPeer& b = backend(bp);
  TlsClientPlan cp;
  cp.close_after_send = false;
  TlsClient& c = tls_client(cp);
  ASSERT_TRUE(net_.run_until([&] { return c.outcome().app_received > (1u << 20); }, 60 * kSec));
  c.set_reading(false);
  const Peak peak = run_watching([&] { return b.num_closed() == 1; }, 120 * kSec);
  EXPECT_EQ(b.conn(0).reason, net::tcp::CloseReason::kReset);
  EXPECT_LT(b.conn(0).sent, 64ull << 20);
  EXPECT_EQ(proxy().get(ProxyCounter::kIdleTimeouts), 1u);
  EXPECT_LT(peak.port, 6000u);
  EXPECT_LT(peak.records, 80u);
  std::printf("non-reading client: peak %u port mbufs, %u record mbufs; backend sent %.1f MiB\n",
              peak.port, peak.records, double(b.conn(0).sent) / (1 << 20));
  ASSERT_TRUE(net_.run_until([&] { return c.finished(); }, 60 * kSec));
  settle();
  EXPECT_EQ(live_pairs(), 0u);
}

// 1,000 TLS clients at once to one backend: each gets its own backend connection and its
// own bytes back.
TEST_F(ProxyWire, ThousandClientsToOneBackend) {
  start(false, false, 32767);
  PeerPlan bp;
  bp.send_bytes = 1000;
  bp.seed = 9;
  bp.shutdown_when_sent = false;
  PlainPeer& b = backend(bp);
  std::vector<TlsClient*> clients;
  for (int i = 0; i < 1000; i++) {
    TlsClientPlan cp;
    cp.send_bytes = 1000;
    cp.seed = 100 + static_cast<uint64_t>(i);
    clients.push_back(&tls_client(cp));
  }
  ASSERT_TRUE(net_.run_until(
      [&] {
        return std::all_of(clients.begin(), clients.end(), [](auto* c) { return c->finished(); });
      },
      600 * kSec));
  for (TlsClient* c : clients) {
    const TlsOutcome& o = c->outcome();
    ASSERT_TRUE(o.handshake_done);
    EXPECT_EQ(o.app_received, 1000u);
    EXPECT_EQ(c->received_sha256(), Pattern(9).digest(1000));
    EXPECT_TRUE(o.close_notify_received);
  }
  EXPECT_EQ(b.conns().size(), 1000u);
  // Every backend connection got exactly one client's bytes.
  std::vector<std::string> want, got;
  for (int i = 0; i < 1000; i++) {
    want.push_back(Pattern(100 + static_cast<uint64_t>(i)).digest(1000));
    got.push_back(b.conn(static_cast<size_t>(i)).received_hash.hex());
  }
  std::sort(want.begin(), want.end());
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, want);
  settle();
  EXPECT_EQ(proxy().get(ProxyCounter::kClients), 1000u);
  EXPECT_EQ(proxy().get(ProxyCounter::kPairsClosed), 1000u);
  EXPECT_EQ(live_pairs(), 0u);
}

// A worker torn down with pairs mid-transfer (TLS and plain, data queued everywhere) gives
// back every mbuf: the apps hear kAborted for each open stream and free their state
// (TearDown's pool check).
TEST_F(ProxyWire, TeardownMidTransferFreesEverything) {
  start(false);
  PeerPlan bp;
  bp.send_bytes = 1ull << 30;
  bp.shutdown_when_sent = false;
  bp.reading = false;
  PlainPeer& b = backend(bp);
  TlsClientPlan cp;
  cp.send_bytes = 1ull << 30;
  TlsClient& c = tls_client(cp);
  PeerPlan pp;
  pp.send_bytes = 1ull << 30;
  PlainPeer& plain = net_.add(std::make_unique<PlainPeer>(net_.client(), pp));
  ASSERT_NE(plain.connect(kEngineIp, kPlainProxyPort, net_.now()), nullptr);
  ASSERT_TRUE(net_.run_until(
      [&] { return b.conns().size() == 2 && c.outcome().app_received > (1u << 20); }, 60 * kSec));
  EXPECT_EQ(live_pairs(), 2u);
}

}  // namespace
}  // namespace linetls::engine::testing
