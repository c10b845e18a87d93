// Memory under attack, in process (issue 12 "Record-pool starvation"): clients that request
// huge downloads and then stop reading (their windows close) must not pin the engine's
// buffers. With the pool limits (TlsSettings big_reserve_percent, pressure_queue_cap) they
// hold a bounded amount each, a legitimate client's download and new handshakes go on (in
// smaller records when the big pool is low), and the persist timeout ends the stuck
// connections. Without the limits the same attack starves the legitimate client.
#include <gtest/gtest.h>

#include <rte_mempool.h>

#include <memory>
#include <string>
#include <vector>

#include "lib/engine/tls_service.h"
#include "tests/unit/engine/net_fixture.h"
#include "tests/unit/engine/tls_client.h"

namespace linetls::engine::testing {
namespace {

constexpr uint16_t kHttpsPort = 443;
constexpr int kStuck = 40;
constexpr unsigned kRecordMbufs = 255;  // 4 MiB of big records: 40 stuck peers would pin it

class PoolPressure : public ::testing::Test {
 protected:
  void start(bool limits) {
    NetConfig c;
    ServiceSpec s;
    s.port = kHttpsPort;
    s.app = AppKind::kHttp;
    s.tls = true;
    c.services = {s};
    c.tls = default_tls_settings();
    if (!limits) {
      c.tls.big_reserve_percent = 0;
      c.tls.pressure_queue_cap = 1u << 30;
    }
    c.record_mbufs = kRecordMbufs;
    c.pool_mbufs = 32767;
    c.engine_tcp.persist_timeout_ms = 20000;
    ASSERT_NO_FATAL_FAILURE(net_.start(c));
  }
  void TearDown() override { net_.stop(); }

  TlsClient& get(uint64_t n) {
    TlsClientPlan p;
    p.request = std::vector<uint8_t>();
    const std::string r = "GET /bytes/" + std::to_string(n) + " HTTP/1.1\r\nHost: x\r\n\r\n";
    p.request.assign(r.begin(), r.end());
    p.close_after_send = false;
    TlsClient& c = net_.add(std::make_unique<TlsClient>(net_.client(), p));
    EXPECT_TRUE(c.connect(kEngineIp, kHttpsPort, net_.now()));
    return c;
  }
  // Stuck peers: each asks for 1 GiB, takes 64 KiB of it, then never reads again.
  std::vector<TlsClient*> stick() {
    std::vector<TlsClient*> stuck;
    for (int i = 0; i < kStuck; i++) {
      TlsClient& c = get(1ull << 30);
      EXPECT_TRUE(net_.run_until([&] { return c.outcome().app_received > 65536; }, 30 * kSec));
      c.set_reading(false);
      stuck.push_back(&c);
    }
    net_.run_for(2 * kSec);  // every window closes, every queue fills as far as allowed
    return stuck;
  }
  unsigned records_in_use() { return rte_mempool_in_use_count(net_.config().tls.record_pool); }

  NetFixture net_;
};

TEST_F(PoolPressure, StuckPeersAreBoundedAndALegitimateDownloadGoesOn) {
  start(true);
  std::vector<TlsClient*> stuck = stick();
  const unsigned pinned = records_in_use();
  // Half the pool at full queues, then 128 KiB (8 records) each: well short of all of it.
  EXPECT_LT(pinned, kRecordMbufs - kRecordMbufs / 8);
  const uint64_t n = 8ull << 20;
  TlsClient& legit = get(n);
  uint64_t handshakes = 0;
  const uint64_t t0 = net_.now();
  // A new handshake (and a small answer) every 100 ms while the download runs.
  while (!legit.finished() || legit.outcome().app_received < n) {
    TlsClient& h = get(10);
    ASSERT_TRUE(net_.run_until([&] { return h.outcome().app_received > 10; }, 10 * kSec))
        << "a new handshake starved";
    handshakes++;
    net_.run_for(100 * kMs);
    if (legit.outcome().app_received >= n) {
      break;
    }
    ASSERT_LT(net_.now() - t0, 15 * kSec) << "the legitimate download starved";
  }
  EXPECT_GE(legit.outcome().app_received, n);
  EXPECT_GT(handshakes, 0u);
  const TlsCounters t = net_.engine().tls()->counters();
  EXPECT_GT(t.get(TlsCounter::kQueueCapped), 0u);
  std::printf("stuck peers pin %u of %u big records; legit 8 MiB in %.2f s virtual with %lu "
              "new handshakes; %lu small records\n",
              pinned, kRecordMbufs, double(net_.now() - t0) / 1e9,
              static_cast<unsigned long>(handshakes),
              static_cast<unsigned long>(t.get(TlsCounter::kSmallRecords)));
  // The persist timeout ends every stuck connection, and their memory comes back.
  ASSERT_TRUE(net_.run_until(
      [&] {
        for (TlsClient* c : stuck) {
          if (!c->finished()) {
            return false;
          }
        }
        return true;
      },
      120 * kSec));
  for (TlsClient* c : stuck) {
    EXPECT_EQ(c->outcome().reason, net::tcp::CloseReason::kReset);
  }
  EXPECT_EQ(net_.engine().tcp().counters().get(net::tcp::TcpCounter::kPersistTimeouts),
            static_cast<uint64_t>(kStuck));
  ASSERT_TRUE(net_.run_until([&] { return records_in_use() == 0; }, 60 * kSec));
}

// The same attack without the limits: the stuck peers take the whole big pool, which is
// what the limits exist for (this test shows the attack is real, not the limits' effect).
TEST_F(PoolPressure, WithoutLimitsStuckPeersPinTheWholePool) {
  start(false);
  stick();
  EXPECT_GE(records_in_use(), kRecordMbufs - 2);
  EXPECT_GT(net_.engine().tls()->counters().get(TlsCounter::kRecordPoolEmpty), 0u);
}

}  // namespace
}  // namespace linetls::engine::testing
