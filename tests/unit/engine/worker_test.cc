// engine::Worker over drivers/wire: the poll loop moves frames between the port and the
// stack, runs timers that input armed, and workers sharing a port share what ARP teaches.
#include "lib/engine/worker.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>

#include <memory>
#include <vector>

#include <gtest/gtest.h>

#include "drivers/wire/wire.h"
#include "lib/base/bytes.h"
#include "lib/net/arp.h"

namespace linetls::engine {
namespace {

constexpr uint64_t kMs = 1000000;
constexpr net::MacAddr kHostMac{{0x02, 0, 0, 0, 0, 0x01}};
constexpr net::MacAddr kEngineMac{{0x02, 0, 0, 0, 0, 0x02}};
constexpr net::Ipv4Addr kHostIp{0x0a630001};    // 10.99.0.1
constexpr net::Ipv4Addr kEngineIp{0x0a630002};  // 10.99.0.2

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pool_ = rte_pktmbuf_pool_create("worker_test", 4095, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
  }
  void TearDown() override {
    workers_.clear();
    host_.reset();
    for (rte_ring* r : rings_) {
      void* m = nullptr;
      while (rte_ring_dequeue(r, &m) == 0) {
        rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
      }
      rte_ring_free(r);
    }
    wire_.reset();
    // Nothing leaked anywhere: every mbuf is back in the pool.
    EXPECT_EQ(rte_mempool_avail_count(pool_), 4095u);
    rte_mempool_free(pool_);
  }

  // A wire with `queues` queues (RSS on when more than one), a host Stack on side A polling
  // every queue, and `n` engine workers on side B, joined by ARP inboxes when n > 1.
  void make(uint16_t queues, unsigned n) {
    net::PortCaps caps = wire::WirePair::default_caps();
    caps.num_queues = queues;
    caps.rss = queues > 1;
    wire_ = std::make_unique<wire::WirePair>(pool_, kHostMac, kEngineMac, caps);
    wire_->set_clock([this] { return now_; });
    net::StackConfig hc;
    hc.ip = net::Ipv4Cidr{kHostIp, 24};
    host_ = std::make_unique<net::Stack>(hc, kHostMac, pool_, caps);
    for (unsigned i = 0; i < n; i++) {
      WorkerConfig wc;
      wc.id = static_cast<uint16_t>(i);
      wc.stack.ip = net::Ipv4Cidr{kEngineIp, 24};
      auto w = Worker::create(wc, wire_->b());
      ASSERT_TRUE(w.ok()) << w.error();
      workers_.push_back(std::move(w).value());
    }
    if (n > 1) {
      for (unsigned i = 0; i < n; i++) {
        rings_.push_back(rte_ring_create(("wt_inbox" + std::to_string(i)).c_str(), 256,
                                         SOCKET_ID_ANY, RING_F_SC_DEQ));
        ASSERT_NE(rings_.back(), nullptr);
      }
      for (unsigned i = 0; i < n; i++) {
        std::vector<rte_ring*> peers;
        for (unsigned j = 0; j < n; j++) {
          if (j != i) {
            peers.push_back(rings_[j]);
          }
        }
        workers_[i]->set_arp_peers(rings_[i], peers);
      }
    }
  }

  // An ICMP echo request from the host to the engine, with a given identifier so tests
  // can pick which RSS queue the flow lands on (the hash covers addresses only for ICMP,
  // so the identifier does not matter there; it is here to tell replies apart).
  rte_mbuf* echo_request(uint16_t id) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 16));
    p[0] = 8;  // echo request
    p[1] = 0;
    store_be16(p + 2, 0);
    store_be16(p + 4, id);
    store_be16(p + 6, 1);
    for (int i = 8; i < 16; i++) {
      p[i] = static_cast<uint8_t>(i);
    }
    uint32_t sum = 0;
    for (int i = 0; i < 16; i += 2) {
      sum += load_be16(p + i);
    }
    while (sum >> 16) {
      sum = (sum & 0xffff) + (sum >> 16);
    }
    store_be16(p + 2, static_cast<uint16_t>(~sum));
    return m;
  }

  // Polls the host (every queue) and every worker once per virtual millisecond.
  void run_for(uint64_t ns) {
    const uint64_t end = now_ + ns;
    for (; now_ < end; now_ += kMs) {
      net::TxQueue& q = host_->tx();
      q.consume(wire_->a().tx_burst(0, q.data(), static_cast<uint16_t>(q.size())));
      for (uint16_t queue = 0; queue < wire_->a().caps().num_queues; queue++) {
        rte_mbuf* rx[32];
        const uint16_t k = wire_->a().rx_burst(queue, rx, 32);
        for (uint16_t i = 0; i < k; i++) {
          host_->input(rx[i], now_);
        }
      }
      if (now_ >= host_->next_timer_ns()) {
        host_->on_timer(now_);
      }
      for (auto& w : workers_) {
        w->poll_once(now_);
      }
    }
  }

  uint64_t engine_total(net::NetCounter c) const {
    uint64_t sum = 0;
    for (const auto& w : workers_) {
      sum += w->stack().counters().get(c);
    }
    return sum;
  }

  rte_mempool* pool_ = nullptr;
  uint64_t now_ = 1000 * kMs;
  std::unique_ptr<wire::WirePair> wire_;
  std::unique_ptr<net::Stack> host_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::vector<rte_ring*> rings_;
};

TEST_F(WorkerTest, AnswersArpAndPingThroughThePollLoop) {
  make(1, 1);
  for (uint16_t id = 0; id < 5; id++) {
    host_->ip_output(echo_request(id), kEngineIp, 1, now_);
  }
  run_for(20 * kMs);
  const Worker& w = *workers_[0];
  EXPECT_EQ(w.stack().counters().get(net::NetCounter::kArpRequestAnswered), 1u);
  EXPECT_EQ(w.stack().counters().get(net::NetCounter::kIcmpEchoReplied), 5u);
  // The host got the five replies (an echo reply is "another ICMP type" to a Stack).
  EXPECT_EQ(host_->counters().get(net::NetCounter::kIcmpOtherType), 5u);
  EXPECT_EQ(w.counters().get(WorkerCounter::kRxFrames), 6u);  // 1 ARP + 5 echo requests
  EXPECT_EQ(w.counters().get(WorkerCounter::kTxFrames), 6u);
  EXPECT_GT(w.phase_cycles().get(Phase::kRx), 0u);
}

// A timer armed by input after the worker last ran its timers must still fire: the engine
// asks to reach a neighbour that never answers, and retries then gives up on schedule.
TEST_F(WorkerTest, RunsTimersArmedByInput) {
  make(1, 1);
  run_for(5 * kMs);  // timers run once with nothing armed
  Worker& w = *workers_[0];
  host_.reset();     // nobody answers ARP on side A any more
  rte_mbuf* m = rte_pktmbuf_alloc(pool_);
  ASSERT_NE(rte_pktmbuf_append(m, 8), nullptr);
  w.stack().ip_output(m, net::Ipv4Addr{0x0a630009}, 17, now_);
  // No one polls side A now; run only the worker, for longer than every retry.
  const net::StackConfig& c = w.stack().config();
  const uint64_t end = now_ + (c.arp_max_retries + 2) * c.arp_retry_ms * kMs;
  for (; now_ < end; now_ += kMs) {
    w.poll_once(now_);
  }
  // The first request, then arp_max_retries retries.
  EXPECT_EQ(w.stack().counters().get(net::NetCounter::kArpRequestSent), c.arp_max_retries + 1);
  EXPECT_EQ(w.stack().counters().get(net::NetCounter::kArpResolveFailed), 1u);
}

// Two workers on a two-queue RSS port: ARP lands on one queue, yet both workers learn the
// host, so whichever worker a ping flow hashes to replies without resolving again.
TEST_F(WorkerTest, WorkersShareWhatArpTeaches) {
  make(2, 2);
  // The host resolves the engine: its broadcast request reaches one worker only.
  host_->ip_output(echo_request(1), kEngineIp, 1, now_);
  run_for(20 * kMs);
  EXPECT_EQ(engine_total(net::NetCounter::kArpRequestAnswered), 1u);
  EXPECT_EQ(engine_total(net::NetCounter::kArpMirrored), 1u);
  for (const auto& w : workers_) {
    EXPECT_TRUE(w->stack().arp().lookup(kHostIp).has_value()) << "worker " << w->id();
  }
  // More pings: every reply goes out without a single ARP request from the engine.
  for (uint16_t id = 2; id < 12; id++) {
    host_->ip_output(echo_request(id), kEngineIp, 1, now_);
  }
  run_for(20 * kMs);
  EXPECT_EQ(engine_total(net::NetCounter::kIcmpEchoReplied), 11u);
  EXPECT_EQ(engine_total(net::NetCounter::kArpRequestSent), 0u);
  EXPECT_EQ(host_->counters().get(net::NetCounter::kIcmpOtherType), 11u);
}

// Without the inboxes the same set-up shows the problem they solve: the worker that did
// not see ARP has to resolve the host itself (or, on a real NIC, may never hear back).
TEST_F(WorkerTest, WithoutMirroringOnlyTheReceivingWorkerLearns) {
  make(2, 2);
  for (auto& w : workers_) {
    w->set_arp_peers(nullptr, {});
  }
  host_->ip_output(echo_request(1), kEngineIp, 1, now_);
  run_for(20 * kMs);
  unsigned learned = 0;
  for (const auto& w : workers_) {
    learned += w->stack().arp().lookup(kHostIp).has_value() ? 1 : 0;
  }
  EXPECT_EQ(learned, 1u);
}

}  // namespace
}  // namespace linetls::engine
