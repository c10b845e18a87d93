// Handshake lcores in the engine (issue 14), in process over drivers/wire with virtual time:
// the worker hands its connections' public-key jobs to a PkOffload whose lcore the test
// steps itself (run_lcore_once) from the fixture's poll loop, so a slow or stopped lcore is
// exact. Covered: handshakes of both versions complete with every job on the lcore; a lcore
// that never answers does not stop the handshake timeout, and the job that comes back for
// the ended connection is dropped; full rings run the jobs on the worker, counted.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "lib/engine/pk_offload.h"
#include "lib/engine/tls_service.h"
#include "tests/unit/engine/net_fixture.h"
#include "tests/unit/engine/tls_client.h"
#include "tests/unit/tls12/session12_harness.h"

namespace linetls::engine::testing {
namespace {

constexpr uint16_t kTlsEchoPort = 443;

// Steps handshake lcore 0 once per fixture poll while running is set.
class LcoreStepper final : public HostHandler {
 public:
  explicit LcoreStepper(PkOffload& o) : o_(o) {}
  bool running = true;
  void poll() noexcept override {
    if (running) {
      o_.run_lcore_once(0);
    }
  }
  // Never attached to a connection.
  void on_connected(net::tcp::Connection*) noexcept override {}
  void on_data(net::tcp::Connection*, rte_mbuf* chain, uint32_t) noexcept override {
    rte_pktmbuf_free(chain);
  }
  void on_closed(net::tcp::Connection*, net::tcp::CloseReason) noexcept override {}

 private:
  PkOffload& o_;
};

class PkWire : public ::testing::Test {
 protected:
  void start(uint32_t ring_size = 1024, bool lcore_running = true, bool mtls = false) {
    PkOffloadConfig pc;
    pc.ring_size = ring_size;
    pc.pool_size = 4;
    offload_ = PkOffload::create(pc).value();
    NetConfig c;
    c.services = {{kTlsEchoPort, AppKind::kEcho, true}};
    c.tls = default_tls_settings();
    c.tls.pk_offload = offload_.get();
    c.tls.pk_worker = 0;
    c.tls.handshake_timeout_ms = 2000;
    if (mtls) {
      c.tls.client_auth = tls::ClientAuth::kRequired;
      c.tls.client_ca = &tls::v12::testing12::certs().ca;
    }
    ASSERT_NO_FATAL_FAILURE(net_.start(c));
    stepper_ = &net_.add(std::make_unique<LcoreStepper>(*offload_));
    stepper_->running = lcore_running;
  }
  void TearDown() override { net_.stop(); }

  TlsClient& client(uint16_t version, uint64_t seed, bool with_cert = false) {
    TlsClientPlan plan;
    plan.version = version;
    if (with_cert) {
      plan.config13.certificate = &tls::v12::testing12::certs().client;
      plan.config12.certificate = &client_cert12_;
    }
    plan.send_bytes = 20000;
    plan.seed = seed;
    TlsClient& c = net_.add(std::make_unique<TlsClient>(net_.client(), std::move(plan)));
    EXPECT_TRUE(c.connect(kEngineIp, kTlsEchoPort, net_.now()));
    return c;
  }
  bool all_finished(const std::vector<TlsClient*>& cs) {
    return net_.run_until(
        [&] {
          for (const TlsClient* c : cs) {
            if (!c->finished()) {
              return false;
            }
          }
          return true;
        },
        120 * kSec);
  }
  uint64_t counter(TlsCounter c) { return net_.engine().tls()->counters().get(c); }
  uint64_t lcore_jobs() {
    const PkLcoreStats s = offload_->lcore_stats(0);
    uint64_t n = 0;
    for (uint64_t j : s.jobs) {
      n += j;
    }
    return n;
  }

  const tls::v12::Certificate12 client_cert12_ =
      tls::v12::Certificate12::from(tls::v12::testing12::certs().client);
  std::unique_ptr<PkOffload> offload_;  // outlives the worker (declared first)
  NetFixture net_;
  LcoreStepper* stepper_ = nullptr;
};

TEST_F(PkWire, BothVersionsCompleteWithEveryJobOnTheLcore) {
  start();
  std::vector<TlsClient*> cs;
  for (int i = 0; i < 8; i++) {
    cs.push_back(&client(i % 2 == 0 ? tls::kTls13 : tls::kTls12, 10 + i));
  }
  ASSERT_TRUE(all_finished(cs));
  for (const TlsClient* c : cs) {
    EXPECT_TRUE(c->outcome().handshake_done);
    EXPECT_EQ(c->outcome().app_received, 20000u);
    EXPECT_EQ(c->received_sha256(), Pattern(c->plan().seed).digest(20000));
    EXPECT_FALSE(c->outcome().alert_received);
  }
  ASSERT_TRUE(net_.run_until_no_connections(300 * kSec));
  EXPECT_EQ(counter(TlsCounter::kHandshakes), 8u);
  // TLS 1.3: key exchange and signature; TLS 1.2: key generation, signature and derive.
  EXPECT_EQ(counter(TlsCounter::kPkJobsOffloaded), 4u * 2 + 4u * 3);
  EXPECT_EQ(lcore_jobs(), 20u);
  EXPECT_EQ(counter(TlsCounter::kPkJobsInline), 0u);
  EXPECT_EQ(counter(TlsCounter::kPkJobsRingFull), 0u);
  EXPECT_EQ(counter(TlsCounter::kPkJobsDropped), 0u);
  EXPECT_EQ(offload_->in_flight(0), 0u);
}

// Client certificates: the chain and the CertificateVerify are checked on the lcore too.
TEST_F(PkWire, MutualTlsVerifiesOnTheLcore) {
  start(1024, true, true);
  std::vector<TlsClient*> cs;
  for (int i = 0; i < 4; i++) {
    cs.push_back(&client(i % 2 == 0 ? tls::kTls13 : tls::kTls12, 30 + i, true));
  }
  ASSERT_TRUE(all_finished(cs));
  for (const TlsClient* c : cs) {
    EXPECT_TRUE(c->outcome().handshake_done);
    EXPECT_EQ(c->received_sha256(), Pattern(c->plan().seed).digest(20000));
  }
  ASSERT_TRUE(net_.run_until_no_connections(300 * kSec));
  EXPECT_EQ(counter(TlsCounter::kClientCertVerified), 4u);
  const PkLcoreStats st = offload_->lcore_stats(0);
  EXPECT_EQ(st.jobs[static_cast<size_t>(tls::PkKind::kVerifyChain)], 4u);
  EXPECT_EQ(st.jobs[static_cast<size_t>(tls::PkKind::kVerify)], 4u);
  // TLS 1.3: 2 + 2 jobs; TLS 1.2: 3 + 2.
  EXPECT_EQ(counter(TlsCounter::kPkJobsOffloaded), 2u * 4 + 2u * 5);
  EXPECT_EQ(counter(TlsCounter::kPkJobsInline), 0u);
}

TEST_F(PkWire, AStoppedLcoreDoesNotStopTheHandshakeTimeout) {
  start(1024, false);
  TlsClient& c = client(tls::kTls13, 3);
  ASSERT_TRUE(net_.run_until([&] { return c.finished(); }, 60 * kSec));
  EXPECT_FALSE(c.outcome().handshake_done);
  EXPECT_EQ(counter(TlsCounter::kHandshakeTimeouts), 1u);
  EXPECT_EQ(offload_->in_flight(0), 1u);  // the key exchange is still out
  // The lcore wakes up: the job comes back for a connection that has ended.
  stepper_->running = true;
  net_.run_for(10 * kMs);
  EXPECT_EQ(offload_->in_flight(0), 0u);
  EXPECT_EQ(counter(TlsCounter::kPkJobsDropped), 1u);
  EXPECT_EQ(counter(TlsCounter::kPkJobsOffloaded), 0u);
}

TEST_F(PkWire, FullRingsRunTheJobsOnTheWorker) {
  start(2, false);  // one job per ring
  std::vector<TlsClient*> cs;
  for (int i = 0; i < 3; i++) {
    cs.push_back(&client(tls::kTls13, 20 + i));
  }
  net_.run_for(50 * kMs);
  // The first connection's job waits in the ring; the others ran theirs on the worker.
  EXPECT_EQ(offload_->in_flight(0), 1u);
  EXPECT_EQ(counter(TlsCounter::kPkJobsRingFull), 4u);
  stepper_->running = true;
  ASSERT_TRUE(all_finished(cs));
  for (const TlsClient* c : cs) {
    EXPECT_TRUE(c->outcome().handshake_done);
    EXPECT_EQ(c->received_sha256(), Pattern(c->plan().seed).digest(20000));
  }
  EXPECT_EQ(counter(TlsCounter::kPkJobsRingFull) + counter(TlsCounter::kPkJobsOffloaded), 6u);
}

}  // namespace
}  // namespace linetls::engine::testing
