// Memory per idle established connection (issue 12): N clients complete their handshakes
// and go quiet; the engine's heap growth (mallinfo2 around its poll calls only, see
// NetFixture::count_engine_heap) divided by N is what one idle connection costs: TCB,
// stream, TLS session and whatever it keeps allocated. Idle connections hold no mbufs.
#include <gtest/gtest.h>

#include <rte_mempool.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "lib/engine/tls_service.h"
#include "tests/unit/engine/net_fixture.h"
#include "tests/unit/engine/tls_client.h"

namespace linetls::engine::testing {
namespace {

constexpr int kConns = 256;
// The goal: a million idle TLS connections in 4 GiB per worker.
constexpr int64_t kBudget = 4096;

class IdleMemory : public ::testing::Test {
 protected:
  void start() {
    NetConfig c;
    ServiceSpec tls_discard;
    tls_discard.port = 443;
    tls_discard.app = AppKind::kDiscard;
    tls_discard.tls = true;
    ServiceSpec plain;
    plain.port = 9;
    plain.app = AppKind::kDiscard;
    c.services = {tls_discard, plain};
    c.tls = default_tls_settings();
    ASSERT_NO_FATAL_FAILURE(net_.start(c));
    net_.run_for(10 * kMs);
  }
  void TearDown() override { net_.stop(); }

  // Opens kConns idle connections and returns the engine's heap bytes per connection.
  double per_connection(uint16_t version, bool tls) {
    const unsigned pool_before = rte_mempool_in_use_count(net_.pool());
    net_.count_engine_heap(true);
    std::vector<TlsClient*> tcs;
    std::vector<PeerConn*> pcs;
    PeerPlan pp;
    pp.shutdown_when_sent = false;
    pp.shutdown_on_peer_fin = false;
    PlainPeer* plain = tls ? nullptr : &net_.add(std::make_unique<PlainPeer>(net_.client(), pp));
    for (int i = 0; i < kConns; i++) {
      if (tls) {
        TlsClientPlan p;
        p.version = version;
        p.close_after_send = false;
        TlsClient& c = net_.add(std::make_unique<TlsClient>(net_.client(), p));
        EXPECT_TRUE(c.connect(kEngineIp, 443, net_.now()));
        tcs.push_back(&c);
      } else {
        pcs.push_back(plain->connect(kEngineIp, 9, net_.now()));
      }
    }
    EXPECT_TRUE(net_.run_until(
        [&] {
          for (TlsClient* c : tcs) {
            if (!c->outcome().handshake_done) {
              return false;
            }
          }
          for (PeerConn* c : pcs) {
            if (!c->connected) {
              return false;
            }
          }
          return true;
        },
        60 * kSec));
    net_.run_for(2 * kSec);  // tickets, delayed ACKs: everything settles
    net_.count_engine_heap(false);
    EXPECT_LE(rte_mempool_in_use_count(net_.pool()), pool_before + 64u)
        << "idle connections hold mbufs";
    return double(net_.engine_heap()) / kConns;
  }

  NetFixture net_;
};

TEST_F(IdleMemory, PlainTcp) {
  start();
  const double b = per_connection(0, false);
  std::printf("idle plain TCP connection: %.0f bytes of engine heap\n", b);
  EXPECT_LT(b, 1024);
}

TEST_F(IdleMemory, Tls13) {
  start();
  const double b = per_connection(tls::kTls13, true);
  std::printf("idle TLS 1.3 connection: %.0f bytes of engine heap\n", b);
  EXPECT_LE(b, kBudget);
}

TEST_F(IdleMemory, Tls12) {
  start();
  const double b = per_connection(tls::kTls12, true);
  std::printf("idle TLS 1.2 connection: %.0f bytes of engine heap\n", b);
  EXPECT_LE(b, kBudget);
}

// An idle connection's parked keys come back at its next record: bytes echoed before and
// after a pause longer than park_keys_after_ms arrive intact, in both versions.
TEST_F(IdleMemory, ParkedKeysAreRebuiltAtTheNextRecord) {
  NetConfig c;
  ServiceSpec echo;
  echo.port = 7443;
  echo.app = AppKind::kEcho;
  echo.tls = true;
  c.services = {echo};
  c.tls = default_tls_settings();
  ASSERT_NO_FATAL_FAILURE(net_.start(c));
  std::vector<TlsClient*> clients;
  for (uint16_t v : {tls::kTls13, tls::kTls12}) {
    TlsClientPlan p;
    p.version = v;
    p.request = std::vector<uint8_t>(3000, 'q');
    p.send_bytes = 100000;
    p.seed = 11;
    p.hold_pattern = true;
    TlsClient& cl = net_.add(std::make_unique<TlsClient>(net_.client(), p));
    ASSERT_TRUE(cl.connect(kEngineIp, 7443, net_.now()));
    clients.push_back(&cl);
  }
  ASSERT_TRUE(net_.run_until(
      [&] { return clients[0]->outcome().app_received == 3000 &&
                   clients[1]->outcome().app_received == 3000; },
      30 * kSec));
  net_.run_for(3 * kSec);
  EXPECT_EQ(net_.engine().tls()->counters().get(TlsCounter::kKeysParked), 2u);
  for (TlsClient* cl : clients) {
    cl->resume();
  }
  ASSERT_TRUE(net_.run_until([&] { return clients[0]->finished() && clients[1]->finished(); },
                             60 * kSec));
  for (TlsClient* cl : clients) {
    EXPECT_EQ(cl->outcome().app_received, 103000u);
    EXPECT_EQ(cl->received_sha256(), cl->sent_sha256());
    EXPECT_TRUE(cl->outcome().close_notify_received);
  }
}

}  // namespace
}  // namespace linetls::engine::testing
