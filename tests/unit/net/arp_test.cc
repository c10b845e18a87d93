#include "lib/net/arp.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

#include "tests/unit/net/net_test_util.h"

namespace linetls::net {
namespace {

using namespace linetls::net::testing;  // NOLINT

constexpr uint64_t kMs = 1000000;

// ---------------------------------------------------------------------------------------
// ArpTable on its own

class ArpTableTest : public StackTest {};

TEST_F(ArpTableTest, MatchesAMapUnderRandomInsertAndErase) {
  ArpTable t(64, 2);
  std::map<uint32_t, uint8_t> model;
  std::mt19937 rng(5);
  for (int iter = 0; iter < 50000; iter++) {
    // A small address space, so inserts, hits and erasures keep colliding.
    Ipv4Addr ip{0x0a000000u + static_cast<uint32_t>(rng() % 150)};
    ArpTable::Entry* e = t.find(ip);
    ASSERT_EQ(e != nullptr, model.count(ip.v) == 1) << "iter " << iter;
    if (e != nullptr) {
      ASSERT_EQ(e->ip, ip);
      ASSERT_EQ(e->mac.b[5], model[ip.v]);
      if (rng() % 2 == 0) {
        t.erase(e);
        model.erase(ip.v);
      }
    } else {
      e = t.insert(ip);
      if (model.size() == 64) {
        ASSERT_EQ(e, nullptr);
      } else {
        ASSERT_NE(e, nullptr);
        EXPECT_EQ(e->state, ArpState::kIncomplete);
        e->mac.b[5] = static_cast<uint8_t>(rng());
        model[ip.v] = e->mac.b[5];
      }
    }
    ASSERT_EQ(t.size(), model.size());
  }
  for (const auto& [ip, tag] : model) {
    const ArpTable::Entry* e = t.find(Ipv4Addr{ip});
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->mac.b[5], tag);
  }
}

TEST_F(ArpTableTest, HoldsFramesInOrderWithinBounds) {
  ArpTable t(4, 3);
  ArpTable::Entry* e = t.insert(kPeerIp);
  ASSERT_NE(e, nullptr);
  rte_mbuf* m[4];
  for (auto& x : m) {
    x = rte_pktmbuf_alloc(pool_);
    ASSERT_NE(x, nullptr);
  }
  EXPECT_TRUE(t.hold(e, m[0]));
  EXPECT_TRUE(t.hold(e, m[1]));
  EXPECT_TRUE(t.hold(e, m[2]));
  EXPECT_FALSE(t.hold(e, m[3]));  // max_pending
  EXPECT_EQ(t.num_pending(kPeerIp), 3u);
  EXPECT_EQ(t.pop(e), m[0]);
  EXPECT_TRUE(t.hold(e, m[3]));
  EXPECT_EQ(t.pop(e), m[1]);
  EXPECT_EQ(t.pop(e), m[2]);
  EXPECT_EQ(t.pop(e), m[3]);
  EXPECT_EQ(t.pop(e), nullptr);
  for (auto& x : m) {
    rte_pktmbuf_free(x);
  }
  // Frames still held when an entry goes (or the table is destroyed) are freed.
  ArpTable::Entry* g = t.insert(kGatewayIp);
  ASSERT_NE(g, nullptr);
  ASSERT_TRUE(t.hold(g, rte_pktmbuf_alloc(pool_)));
  ASSERT_TRUE(t.hold(g, rte_pktmbuf_alloc(pool_)));
  EXPECT_EQ(in_use(), 2u);
  EXPECT_EQ(t.erase(g), 2u);
  EXPECT_EQ(in_use(), 0u);
  e = t.find(kPeerIp);
  ASSERT_NE(e, nullptr);
  ASSERT_TRUE(t.hold(e, rte_pktmbuf_alloc(pool_)));
  // The destructor frees it; TearDown's leak check proves it.
}

TEST(ArpPacketTest, ParseRejectsOtherHardwareAndProtocols) {
  ArpSpec s;
  Bytes f = arp_frame(s);
  ArpPacket a;
  ASSERT_TRUE(parse_arp(f.data() + 14, &a));
  EXPECT_EQ(a.op, kArpOpRequest);
  EXPECT_EQ(a.sha, kPeerMac);
  EXPECT_EQ(a.spa, kPeerIp);
  EXPECT_EQ(a.tpa, kOurIp);
  uint8_t round[kArpLen];
  store_arp(round, a);
  EXPECT_EQ(Bytes(round, round + kArpLen), Bytes(f.begin() + 14, f.begin() + 42));

  for (auto mutate : std::vector<void (*)(ArpSpec&)>{
           [](ArpSpec& x) { x.htype = 6; }, [](ArpSpec& x) { x.ptype = 0x86dd; },
           [](ArpSpec& x) { x.hlen = 8; }, [](ArpSpec& x) { x.plen = 16; },
           [](ArpSpec& x) { x.op = 3; }, [](ArpSpec& x) { x.op = 0; }}) {
    ArpSpec bad;
    mutate(bad);
    Bytes b = arp_frame(bad);
    EXPECT_FALSE(parse_arp(b.data() + 14, &a));
  }
}

// ---------------------------------------------------------------------------------------
// ARP through the Stack

class ArpStackTest : public StackTest {
 protected:
  // The bytes of the request the stack must send for target (from us, to dst).
  static Bytes expected_request(Ipv4Addr target, MacAddr dst = MacAddr::broadcast()) {
    ArpSpec s;
    s.eth_dst = dst;
    s.eth_src = kOurMac;
    s.op = 1;
    s.sha = kOurMac;
    s.spa = kOurIp;
    s.tha = MacAddr{};
    s.tpa = target;
    s.pad_to = 0;
    return arp_frame(s);
  }

  // A UDP-like L4 payload to send with ip_output.
  rte_mbuf* l4_payload(size_t n, uint8_t seed) {
    rte_mbuf* m = make_mbuf(pool_, pattern(n, seed));
    EXPECT_NE(m, nullptr);
    return m;
  }
};

TEST_F(ArpStackTest, RequestForOurAddressIsAnsweredAndTheSenderLearned) {
  make_stack();
  input(arp_frame(ArpSpec{}));
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  // RFC 826: the reply goes to the requester, sender fields are ours, padding is gone.
  Bytes want = eth_header(kPeerMac, kOurMac, 0x0806);
  for (uint8_t b : {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02}) {
    want.push_back(b);
  }
  put_mac(want, kOurMac);
  put32(want, kOurIp.v);
  put_mac(want, kPeerMac);
  put32(want, kPeerIp.v);
  EXPECT_EQ(hex(out[0]), hex(want));
  EXPECT_EQ(count(NetCounter::kArpRx), 1u);
  EXPECT_EQ(count(NetCounter::kArpRequestAnswered), 1u);
  EXPECT_EQ(count(NetCounter::kArpLearned), 1u);
  EXPECT_EQ(count(NetCounter::kTxFrames), 1u);
  EXPECT_EQ(stack().arp().lookup(kPeerIp), kPeerMac);
}

TEST_F(ArpStackTest, ReplyIsBuiltFromAChainedRequest) {
  make_stack();
  input(arp_frame(ArpSpec{}), 0, {5, 23});
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].size(), 42u);
  EXPECT_EQ(get16(out[0], 20), 2);
  EXPECT_EQ(get32(out[0], 38), kPeerIp.v);
}

TEST_F(ArpStackTest, RequestForAnotherAddressIsNotAnsweredNorLearned) {
  make_stack();
  ArpSpec s;
  s.tpa = Ipv4Addr{0x0a000009};
  input(arp_frame(s));
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(count(NetCounter::kDropArpNotForUs), 1u);
  EXPECT_EQ(count(NetCounter::kArpLearned), 0u);
  EXPECT_EQ(stack().arp().size(), 0u);
}

TEST_F(ArpStackTest, AnyPacketFromAKnownSenderRefreshesItsEntry) {
  make_stack();
  input(arp_frame(ArpSpec{}), 0);
  drain();
  // RFC 826 merges before looking at the target: a request for someone else, from a
  // neighbour we know, updates its MAC (here: the neighbour's NIC was replaced).
  ArpSpec s;
  s.tpa = Ipv4Addr{0x0a000009};
  s.sha = kOtherMac;
  s.eth_src = kOtherMac;
  input(arp_frame(s), 5 * kMs);
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(stack().arp().lookup(kPeerIp), kOtherMac);
  EXPECT_EQ(count(NetCounter::kArpLearned), 2u);
  EXPECT_EQ(count(NetCounter::kDropArpNotForUs), 0u);
  EXPECT_EQ(stack().arp().find(kPeerIp)->deadline_ns, 5 * kMs + 60000 * kMs);
}

TEST_F(ArpStackTest, RepliesAreLearnedOnlyWhenForUsOrAlreadyKnown) {
  make_stack();
  ArpSpec s;
  s.op = 2;
  s.eth_dst = kOurMac;
  s.tha = kOurMac;
  s.tpa = Ipv4Addr{0x0a000009};  // a reply to someone else
  input(arp_frame(s));
  EXPECT_EQ(stack().arp().size(), 0u);
  EXPECT_EQ(count(NetCounter::kDropArpNotForUs), 1u);
  s.tpa = kOurIp;
  input(arp_frame(s));
  EXPECT_EQ(stack().arp().lookup(kPeerIp), kPeerMac);
  EXPECT_EQ(count(NetCounter::kArpLearned), 1u);
  EXPECT_TRUE(drain().empty());  // replies are never answered
}

TEST_F(ArpStackTest, GratuitousArpUpdatesOnlyExistingEntries) {
  make_stack();
  ArpSpec g;
  g.spa = g.tpa = Ipv4Addr{0x0a000005};
  g.sha = g.eth_src = kOtherMac;
  input(arp_frame(g));
  EXPECT_EQ(stack().arp().size(), 0u);
  EXPECT_EQ(count(NetCounter::kDropArpNotForUs), 1u);

  input(arp_frame(ArpSpec{}));  // learn the peer
  drain();
  ArpSpec moved;
  moved.spa = moved.tpa = kPeerIp;
  moved.sha = moved.eth_src = kOtherMac;
  moved.op = 2;  // gratuitous replies exist in the wild too
  input(arp_frame(moved));
  EXPECT_EQ(stack().arp().lookup(kPeerIp), kOtherMac);
  EXPECT_EQ(stack().arp().size(), 1u);
  EXPECT_TRUE(drain().empty());
}

TEST_F(ArpStackTest, ProbesAndOffLinkSendersAreAnsweredButNotLearned) {
  make_stack();
  ArpSpec probe;  // RFC 5227: sender address 0.0.0.0
  probe.spa = Ipv4Addr{0};
  input(arp_frame(probe));
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(get32(out[0], 38), 0u);  // target protocol address is the probe's 0.0.0.0
  ArpSpec far;
  far.spa = Ipv4Addr{0xc0a80101};  // 192.168.1.1, not on 10.0.0.0/24
  input(arp_frame(far));
  EXPECT_EQ(drain().size(), 1u);
  EXPECT_EQ(stack().arp().size(), 0u);
  EXPECT_EQ(count(NetCounter::kArpRequestAnswered), 2u);
  EXPECT_EQ(count(NetCounter::kArpLearned), 0u);
}

TEST_F(ArpStackTest, ARequestClaimingOurAddressIsIgnored) {
  make_stack();
  ArpSpec s;
  s.spa = kOurIp;
  input(arp_frame(s));
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(stack().arp().size(), 0u);
  EXPECT_EQ(count(NetCounter::kDropArpNotForUs), 1u);
}

TEST_F(ArpStackTest, TableFull) {
  cfg_.arp_max_entries = 2;
  make_stack();
  for (uint32_t host : {10u, 11u, 12u}) {
    ArpSpec s;
    s.spa = Ipv4Addr{0x0a000000 + host};
    input(arp_frame(s));
  }
  // The third requester is still answered; it just is not remembered.
  EXPECT_EQ(drain().size(), 3u);
  EXPECT_EQ(stack().arp().size(), 2u);
  EXPECT_EQ(count(NetCounter::kArpTableFull), 1u);
  EXPECT_FALSE(stack().arp().lookup(Ipv4Addr{0x0a00000c}));

  // Sending to a fourth neighbour needs an entry: the frame is dropped.
  stack().ip_output(l4_payload(20, 1), Ipv4Addr{0x0a000020}, 17, 0);
  EXPECT_EQ(count(NetCounter::kArpTableFull), 2u);
  EXPECT_TRUE(drain().empty());
  // Known neighbours still work.
  stack().ip_output(l4_payload(20, 1), Ipv4Addr{0x0a00000a}, 17, 0);
  EXPECT_EQ(drain().size(), 1u);
}

TEST_F(ArpStackTest, PendingQueueIsBounded) {
  cfg_.arp_max_pending = 3;
  make_stack();
  for (uint8_t i = 0; i < 5; i++) {
    stack().ip_output(l4_payload(20, i), kPeerIp, 17, i);
  }
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);  // one request, not one per frame
  EXPECT_EQ(hex(out[0]), hex(expected_request(kPeerIp)));
  EXPECT_EQ(stack().arp().num_pending(kPeerIp), 3u);
  EXPECT_EQ(count(NetCounter::kArpPendingDropped), 2u);
  EXPECT_EQ(in_use(), 3u);
}

TEST_F(ArpStackTest, RetriesThenFailsAndFreesWhatWaited) {
  cfg_.arp_retry_ms = 1000;
  cfg_.arp_max_retries = 3;
  make_stack();
  EXPECT_EQ(stack().next_timer_ns(), UINT64_MAX);
  const uint64_t t0 = 7 * kMs;
  stack().ip_output(l4_payload(30, 1), kPeerIp, 17, t0);
  stack().ip_output(l4_payload(30, 2), kPeerIp, 17, t0);
  EXPECT_EQ(drain().size(), 1u);
  EXPECT_EQ(stack().next_timer_ns(), t0 + 1000 * kMs);

  stack().on_timer(t0 + 999 * kMs);
  EXPECT_TRUE(drain().empty());
  for (uint64_t k = 1; k <= 3; k++) {
    stack().on_timer(t0 + k * 1000 * kMs);
    auto out = drain();
    ASSERT_EQ(out.size(), 1u) << "retry " << k;
    EXPECT_EQ(hex(out[0]), hex(expected_request(kPeerIp)));
    EXPECT_EQ(stack().next_timer_ns(), t0 + (k + 1) * 1000 * kMs);
    EXPECT_EQ(count(NetCounter::kArpResolveFailed), 0u);
  }
  EXPECT_EQ(count(NetCounter::kArpRequestSent), 4u);
  EXPECT_EQ(in_use(), 2u);
  stack().on_timer(t0 + 4000 * kMs);
  EXPECT_TRUE(drain().empty());
  EXPECT_EQ(count(NetCounter::kArpResolveFailed), 1u);
  EXPECT_EQ(stack().arp().size(), 0u);
  EXPECT_EQ(in_use(), 0u);
  EXPECT_EQ(stack().next_timer_ns(), UINT64_MAX);
}

TEST_F(ArpStackTest, LearnedEntriesExpire) {
  cfg_.arp_reachable_ms = 60000;
  make_stack();
  input(arp_frame(ArpSpec{}), 0);
  drain();
  EXPECT_EQ(stack().next_timer_ns(), 60000 * kMs);
  stack().on_timer(60000 * kMs - 1);
  EXPECT_EQ(stack().arp().lookup(kPeerIp), kPeerMac);
  stack().on_timer(60000 * kMs);
  EXPECT_FALSE(stack().arp().lookup(kPeerIp));
  EXPECT_EQ(stack().arp().size(), 0u);
  EXPECT_TRUE(drain().empty());
}

TEST_F(ArpStackTest, UnresolvedFramesFlushInOrderWhenTheReplyArrives) {
  make_stack();
  for (uint8_t i = 0; i < 3; i++) {
    stack().ip_output(l4_payload(40 + i, i), kPeerIp, 17, 0);
  }
  auto req = drain();
  ASSERT_EQ(req.size(), 1u);
  EXPECT_EQ(hex(req[0]), hex(expected_request(kPeerIp)));
  EXPECT_EQ(count(NetCounter::kArpRequestSent), 1u);

  ArpSpec reply;
  reply.op = 2;
  reply.eth_dst = kOurMac;
  reply.tha = kOurMac;
  input(arp_frame(reply), 3 * kMs);
  auto out = drain();
  ASSERT_EQ(out.size(), 3u);
  for (uint8_t i = 0; i < 3; i++) {
    const Bytes& f = out[i];
    ASSERT_EQ(f.size(), 14u + 20 + 40 + i);
    EXPECT_EQ(Bytes(f.begin(), f.begin() + 14), eth_header(kPeerMac, kOurMac, 0x0800));
    EXPECT_EQ(ref_cksum(f.data() + 14, 20), 0);
    EXPECT_EQ(get32(f, 26), kOurIp.v);
    EXPECT_EQ(get32(f, 30), kPeerIp.v);
    EXPECT_EQ(Bytes(f.begin() + 34, f.end()), pattern(40 + i, i));
  }
  EXPECT_EQ(stack().arp().num_pending(kPeerIp), 0u);
  // Resolved: the next frame goes straight out.
  stack().ip_output(l4_payload(10, 9), kPeerIp, 17, 4 * kMs);
  EXPECT_EQ(drain().size(), 1u);
  EXPECT_EQ(count(NetCounter::kArpRequestSent), 1u);
}

TEST_F(ArpStackTest, OffLinkDestinationsResolveTheGateway) {
  make_stack();
  stack().ip_output(l4_payload(10, 1), Ipv4Addr{0x08080808}, 17, 0);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(hex(out[0]), hex(expected_request(kGatewayIp)));
  EXPECT_EQ(stack().arp().num_pending(kGatewayIp), 1u);
}

TEST_F(ArpStackTest, AnEntryInUseIsPolledBeforeItExpires) {
  cfg_.arp_reachable_ms = 10000;
  cfg_.arp_retry_ms = 1000;
  make_stack();
  input(arp_frame(ArpSpec{}), 0);
  drain();
  stack().ip_output(l4_payload(10, 1), kPeerIp, 17, 8000 * kMs);
  EXPECT_EQ(drain().size(), 1u);  // far from expiry: no poll
  stack().ip_output(l4_payload(10, 1), kPeerIp, 17, 9500 * kMs);
  auto out = drain();
  ASSERT_EQ(out.size(), 2u);
  // RFC 1122 2.3.2.1 unicast poll, then the frame itself (not held).
  EXPECT_EQ(hex(out[0]), hex(expected_request(kPeerIp, kPeerMac)));
  EXPECT_EQ(get16(out[1], 12), 0x0800);
  stack().ip_output(l4_payload(10, 1), kPeerIp, 17, 9600 * kMs);
  EXPECT_EQ(drain().size(), 1u);  // one poll per lifetime
  // The neighbour answers: the lifetime starts again.
  ArpSpec reply;
  reply.op = 2;
  reply.eth_dst = kOurMac;
  input(arp_frame(reply), 9700 * kMs);
  stack().on_timer(10000 * kMs);
  EXPECT_EQ(stack().arp().lookup(kPeerIp), kPeerMac);
}

TEST_F(ArpStackTest, AnExpiredEntryIsResolvedAgainBeforeUse) {
  cfg_.arp_reachable_ms = 10000;
  make_stack();
  input(arp_frame(ArpSpec{}), 0);
  drain();
  // The timer has not run yet, but the entry is past its lifetime: hold and ask again.
  stack().ip_output(l4_payload(10, 1), kPeerIp, 17, 10000 * kMs);
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(hex(out[0]), hex(expected_request(kPeerIp)));
  EXPECT_EQ(stack().arp().num_pending(kPeerIp), 1u);
  EXPECT_EQ(stack().arp().find(kPeerIp)->state, ArpState::kIncomplete);
}

}  // namespace
}  // namespace linetls::net
