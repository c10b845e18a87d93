// Two Stacks joined by drivers/wire: ARP and ICMP echo end to end, including ARP retries
// across a lossy cable. Time is virtual: the wire and both stacks read the same counter.
#include <gtest/gtest.h>

#include "drivers/wire/wire.h"
#include "tests/unit/net/net_test_util.h"

namespace linetls::net {
namespace {

using namespace linetls::net::testing;  // NOLINT

constexpr uint64_t kMs = 1000000;
constexpr MacAddr kMacA{{0x02, 0, 0, 0, 0, 0x0a}};
constexpr MacAddr kMacB{{0x02, 0, 0, 0, 0, 0x0b}};
constexpr Ipv4Addr kIpA{0x0a000001};
constexpr Ipv4Addr kIpB{0x0a000002};

class WireStackTest : public StackTest, public ::testing::WithParamInterface<bool> {
 protected:
  void SetUp() override {
    StackTest::SetUp();
    PortCaps caps = wire::WirePair::default_caps();
    if (GetParam()) {  // a port with every checksum offload this layer uses
      caps.rx_ip_cksum = caps.tx_ip_cksum = true;
      caps.tx_multi_seg = true;
    }
    wire_ = std::make_unique<wire::WirePair>(pool_, kMacA, kMacB, caps);
    wire_->set_clock([this] { return now_; });
    StackConfig ca = cfg_;
    ca.ip = Ipv4Cidr{kIpA, 24};
    StackConfig cb = cfg_;
    cb.ip = Ipv4Cidr{kIpB, 24};
    a_ = std::make_unique<Stack>(ca, kMacA, pool_, caps);
    b_ = std::make_unique<Stack>(cb, kMacB, pool_, caps);
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
    wire_.reset();  // frees frames still in flight
    StackTest::TearDown();
  }

  static void pump(Stack& s, Port& p, uint64_t now) {
    TxQueue& q = s.tx();
    q.consume(p.tx_burst(0, q.data(), static_cast<uint16_t>(q.size())));
    rte_mbuf* rx[32];
    uint16_t n = p.rx_burst(0, rx, 32);
    for (uint16_t i = 0; i < n; i++) {
      s.input(rx[i], now);
    }
    if (now >= s.next_timer_ns()) {
      s.on_timer(now);
    }
  }
  // Advances virtual time to until_ns in 1 ms steps, polling both ends.
  void run_until(uint64_t until_ns) {
    for (; now_ <= until_ns; now_ += kMs) {
      pump(*a_, wire_->a(), now_);
      pump(*b_, wire_->b(), now_);
    }
  }

  void ping_b(uint16_t seq) {
    rte_mbuf* m = make_mbuf(pool_, icmp_echo(pattern(56), 0x77, seq));
    ASSERT_NE(m, nullptr);
    a_->ip_output(m, kIpB, 1, now_);
  }

  uint64_t now_ = 0;
  std::unique_ptr<wire::WirePair> wire_;
  std::unique_ptr<Stack> a_;
  std::unique_ptr<Stack> b_;
};

TEST_P(WireStackTest, PingResolvesArpAndGetsAReply) {
  ping_b(1);
  run_until(10 * kMs);
  EXPECT_EQ(a_->counters().get(NetCounter::kArpRequestSent), 1u);
  EXPECT_EQ(b_->counters().get(NetCounter::kArpRequestAnswered), 1u);
  EXPECT_EQ(a_->arp().lookup(kIpB), kMacB);
  EXPECT_EQ(b_->arp().lookup(kIpA), kMacA);  // learned from A's request
  EXPECT_EQ(b_->counters().get(NetCounter::kIcmpEchoReplied), 1u);
  // A has no echo client: the reply arrives intact and is counted as "other type".
  EXPECT_EQ(a_->counters().get(NetCounter::kIcmpOtherType), 1u);
  EXPECT_EQ(a_->counters().get(NetCounter::kDropIcmpMalformed), 0u);
  EXPECT_EQ(a_->counters().get(NetCounter::kDropIpChecksum), 0u);

  ping_b(2);  // resolved now: no more ARP
  run_until(20 * kMs);
  EXPECT_EQ(a_->counters().get(NetCounter::kArpRequestSent), 1u);
  EXPECT_EQ(a_->counters().get(NetCounter::kIcmpOtherType), 2u);
}

TEST_P(WireStackTest, ArpRetryGetsThroughALossyCable) {
  wire::Impairments lossy;
  lossy.loss = 1.0;
  wire_->set_impairments(wire::Direction::kAtoB, lossy);
  ping_b(1);
  run_until(500 * kMs);
  EXPECT_EQ(wire_->stats(wire::Direction::kAtoB).lost, 1u);
  EXPECT_EQ(b_->counters().get(NetCounter::kArpRx), 0u);
  EXPECT_EQ(a_->arp().num_pending(kIpB), 1u);

  wire_->set_impairments(wire::Direction::kAtoB, wire::Impairments{});
  run_until(1500 * kMs);  // the retry at 1000 ms crosses
  EXPECT_EQ(a_->counters().get(NetCounter::kArpRequestSent), 2u);
  EXPECT_EQ(a_->counters().get(NetCounter::kArpResolveFailed), 0u);
  EXPECT_EQ(b_->counters().get(NetCounter::kIcmpEchoReplied), 1u);
  EXPECT_EQ(a_->counters().get(NetCounter::kIcmpOtherType), 1u);
}

TEST_P(WireStackTest, ResolutionFailsAfterTheLastRetry) {
  wire::Impairments dead;
  dead.loss = 1.0;
  wire_->set_impairments(wire::Direction::kAtoB, dead);
  ping_b(1);
  ping_b(2);
  run_until(3999 * kMs);
  EXPECT_EQ(a_->counters().get(NetCounter::kArpResolveFailed), 0u);
  EXPECT_EQ(a_->arp().num_pending(kIpB), 2u);
  run_until(4000 * kMs);
  EXPECT_EQ(a_->counters().get(NetCounter::kArpResolveFailed), 1u);
  EXPECT_EQ(wire_->stats(wire::Direction::kAtoB).lost, 4u);  // 1 request + 3 retries
  EXPECT_EQ(a_->arp().size(), 0u);
  EXPECT_EQ(a_->next_timer_ns(), UINT64_MAX);
}

TEST_P(WireStackTest, ManyPingsThroughRandomLossAllAnsweredOrAccounted) {
  wire::Impairments imp;
  imp.loss = 0.2;
  imp.delay_ns = 2 * kMs;
  imp.jitter_ns = 1 * kMs;
  imp.seed = 99;
  wire_->set_impairments(wire::Direction::kAtoB, imp);
  imp.seed = 100;
  wire_->set_impairments(wire::Direction::kBtoA, imp);
  for (uint16_t i = 0; i < 50; i++) {
    ping_b(i);
    run_until(now_ + 20 * kMs);
  }
  run_until(now_ + 5000 * kMs);
  const uint64_t replied = b_->counters().get(NetCounter::kIcmpEchoReplied);
  const uint64_t got = a_->counters().get(NetCounter::kIcmpOtherType);
  EXPECT_GT(replied, 25u);
  EXPECT_LE(got, replied);
  // Whatever the wire lost is the only reason a reply did not come back.
  EXPECT_EQ(b_->counters().get(NetCounter::kDropIcmpMalformed), 0u);
  EXPECT_EQ(a_->counters().get(NetCounter::kDropIcmpMalformed), 0u);
  EXPECT_EQ(wire_->in_flight(wire::Direction::kAtoB), 0u);
  EXPECT_EQ(wire_->in_flight(wire::Direction::kBtoA), 0u);
}

INSTANTIATE_TEST_SUITE_P(Caps, WireStackTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "offloads" : "plain"; });

}  // namespace
}  // namespace linetls::net
