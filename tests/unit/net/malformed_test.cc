// Every way a received frame can be wrong, one row each: the frame is dropped, exactly
// its reason counter moves (by one), nothing is sent and no mbuf is kept.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>

#include "tests/unit/net/net_test_util.h"

namespace linetls::net {
namespace {

using namespace linetls::net::testing;  // NOLINT

struct Row {
  const char* name;
  std::function<Bytes()> frame;
  NetCounter expect;
  std::vector<size_t> splits = {};
};

Bytes ping_with(const Ipv4Spec& s) { return ipv4_frame(s, icmp_echo(pattern(16))); }

template <typename F>
Bytes ping_spec(F mutate) {
  Ipv4Spec s;
  mutate(s);
  return ping_with(s);
}

template <typename F>
Bytes arp_spec(F mutate) {
  ArpSpec s;
  mutate(s);
  return arp_frame(s);
}

std::vector<Row> rows() {
  const MacAddr mcast{{0x01, 0x00, 0x5e, 0x00, 0x00, 0x01}};
  return {
      {"empty frame", [] { return Bytes{}; }, NetCounter::kDropRunt},
      {"runt (13 bytes)", [] { return Bytes(13, 0xff); }, NetCounter::kDropRunt},
      {"runt split in two", [] { return Bytes(13, 0xff); }, NetCounter::kDropRunt, {6}},
      {"IPv6 ethertype", [] { return ping_spec([](Ipv4Spec& s) { s.ethertype = 0x86dd; }); },
       NetCounter::kDropEthertype},
      {"VLAN tag", [] { return ping_spec([](Ipv4Spec& s) { s.ethertype = 0x8100; }); },
       NetCounter::kDropEthertype},
      {"unicast to another MAC",
       [] { return ping_spec([](Ipv4Spec& s) { s.eth_dst = kOtherMac; }); },
       NetCounter::kDropNotOurMac},
      {"to a multicast MAC",
       [mcast] { return ping_spec([mcast](Ipv4Spec& s) { s.eth_dst = mcast; }); },
       NetCounter::kDropNotOurMac},
      {"from a multicast MAC",
       [] { return ping_spec([](Ipv4Spec& s) { s.eth_src = MacAddr::broadcast(); }); },
       NetCounter::kDropBadSrcMac},
      {"truncated IPv4 header",
       [] {
         Bytes f = ping_spec([](Ipv4Spec& s) { s.pad_to = 0; });
         f.resize(14 + 19);
         return f;
       },
       NetCounter::kDropIpTruncated},
      {"version 6 in an IPv4 ethertype",
       [] { return ping_spec([](Ipv4Spec& s) { s.version = 6; }); }, NetCounter::kDropIpVersion},
      {"IHL 4", [] { return ping_spec([](Ipv4Spec& s) { s.ihl = 4; }); },
       NetCounter::kDropIpHeaderLen},
      {"IHL 0", [] { return ping_spec([](Ipv4Spec& s) { s.ihl = 0; }); },
       NetCounter::kDropIpHeaderLen},
      {"IHL beyond the frame",
       [] {
         return ping_spec([](Ipv4Spec& s) {
           s.ihl = 15;
           s.pad_to = 0;
         });
       },
       NetCounter::kDropIpTruncated},
      {"total length beyond the frame",
       [] { return ping_spec([](Ipv4Spec& s) { s.total_len = 20 + 24 + 100; }); },
       NetCounter::kDropIpTruncated},
      {"total length shorter than the header",
       [] { return ping_spec([](Ipv4Spec& s) { s.total_len = 19; }); },
       NetCounter::kDropIpHeaderLen},
      {"bad header checksum", [] { return ping_spec([](Ipv4Spec& s) { s.corrupt_cksum = true; }); },
       NetCounter::kDropIpChecksum},
      {"more fragments", [] { return ping_spec([](Ipv4Spec& s) { s.frag = 0x2000; }); },
       NetCounter::kDropIpFragment},
      {"fragment offset", [] { return ping_spec([](Ipv4Spec& s) { s.frag = 0x0001; }); },
       NetCounter::kDropIpFragment},
      {"last fragment with DF", [] { return ping_spec([](Ipv4Spec& s) { s.frag = 0x40b9; }); },
       NetCounter::kDropIpFragment},
      {"not our address",
       [] { return ping_spec([](Ipv4Spec& s) { s.dst = Ipv4Addr{0x0a000003}; }); },
       NetCounter::kDropIpNotForUs},
      {"limited broadcast destination",
       [] {
         return ping_spec([](Ipv4Spec& s) {
           s.dst = Ipv4Addr{0xffffffff};
           s.eth_dst = MacAddr::broadcast();
         });
       },
       NetCounter::kDropIpNotForUs},
      {"subnet broadcast destination",
       [] { return ping_spec([](Ipv4Spec& s) { s.dst = Ipv4Addr{0x0a0000ff}; }); },
       NetCounter::kDropIpNotForUs},
      {"broadcast source",
       [] { return ping_spec([](Ipv4Spec& s) { s.src = Ipv4Addr{0xffffffff}; }); },
       NetCounter::kDropIpBadSource},
      {"subnet broadcast source",
       [] { return ping_spec([](Ipv4Spec& s) { s.src = Ipv4Addr{0x0a0000ff}; }); },
       NetCounter::kDropIpBadSource},
      {"multicast source",
       [] { return ping_spec([](Ipv4Spec& s) { s.src = Ipv4Addr{0xe0000001}; }); },
       NetCounter::kDropIpBadSource},
      {"loopback source",
       [] { return ping_spec([](Ipv4Spec& s) { s.src = Ipv4Addr{0x7f000001}; }); },
       NetCounter::kDropIpBadSource},
      {"zero source", [] { return ping_spec([](Ipv4Spec& s) { s.src = Ipv4Addr{0}; }); },
       NetCounter::kDropIpBadSource},
      {"our own address as source", [] { return ping_spec([](Ipv4Spec& s) { s.src = kOurIp; }); },
       NetCounter::kDropIpBadSource},
      {"unknown protocol", [] { return ping_spec([](Ipv4Spec& s) { s.proto = 17; }); },
       NetCounter::kDropIpProto},
      {"IPv4 header split across segments",
       [] { return ping_with(Ipv4Spec{}); },
       NetCounter::kDropIpHeaderSplit,
       {14 + 10}},
      {"truncated ICMP",
       [] {
         return ipv4_frame(Ipv4Spec{}, Bytes{0x08, 0x00, 0xf7, 0xff});
       },
       NetCounter::kDropIcmpMalformed},
      {"bad ICMP checksum",
       [] {
         Bytes icmp = icmp_echo(pattern(16));
         icmp[3] ^= 1;
         return ipv4_frame(Ipv4Spec{}, icmp);
       },
       NetCounter::kDropIcmpMalformed},
      {"ICMP payload corrupted in the second segment",
       [] {
         Bytes icmp = icmp_echo(pattern(300));
         icmp[250] ^= 0x40;
         return ipv4_frame(Ipv4Spec{}, icmp);
       },
       NetCounter::kDropIcmpMalformed,
       {14 + 20 + 101}},
      {"ICMP checksum that is right only with the Ethernet padding",
       [] {
         Bytes icmp = icmp_echo(pattern(4));  // 12 bytes: the frame needs 14 bytes of padding
         const Bytes pad = pattern(14, 0x80);
         Bytes with_pad = icmp;
         with_pad.insert(with_pad.end(), pad.begin(), pad.end());
         with_pad[2] = with_pad[3] = 0;
         const uint16_t c = ref_cksum(with_pad.data(), with_pad.size());
         icmp[2] = static_cast<uint8_t>(c >> 8);
         icmp[3] = static_cast<uint8_t>(c);
         Ipv4Spec s;
         s.pad_to = 0;
         Bytes f = ipv4_frame(s, icmp);
         f.insert(f.end(), pad.begin(), pad.end());
         return f;
       },
       NetCounter::kDropIcmpMalformed},
      {"truncated ARP",
       [] {
         Bytes f = arp_spec([](ArpSpec& s) { s.pad_to = 0; });
         f.resize(14 + 27);
         return f;
       },
       NetCounter::kDropArpMalformed},
      {"ARP with hlen 8", [] { return arp_spec([](ArpSpec& s) { s.hlen = 8; }); },
       NetCounter::kDropArpMalformed},
      {"ARP with plen 16", [] { return arp_spec([](ArpSpec& s) { s.plen = 16; }); },
       NetCounter::kDropArpMalformed},
      {"ARP for IPv6", [] { return arp_spec([](ArpSpec& s) { s.ptype = 0x86dd; }); },
       NetCounter::kDropArpMalformed},
      {"ARP over token ring", [] { return arp_spec([](ArpSpec& s) { s.htype = 6; }); },
       NetCounter::kDropArpMalformed},
      {"ARP opcode 3 (RARP)", [] { return arp_spec([](ArpSpec& s) { s.op = 3; }); },
       NetCounter::kDropArpMalformed},
      {"ARP from a broadcast sender",
       [] { return arp_spec([](ArpSpec& s) { s.sha = MacAddr::broadcast(); }); },
       NetCounter::kDropArpMalformed},
      {"ARP from a zero sender", [] { return arp_spec([](ArpSpec& s) { s.sha = MacAddr{}; }); },
       NetCounter::kDropArpMalformed},
  };
}

class MalformedTest : public StackTest {};

TEST_F(MalformedTest, EachMalformedFrameIsCountedOnceAndDropped) {
  make_stack();
  // Counters a dropped frame may move besides its reason: per-layer receive counts.
  const std::vector<NetCounter> incidental = {NetCounter::kRxFrames, NetCounter::kRxBytes,
                                              NetCounter::kIpRx, NetCounter::kArpRx,
                                              NetCounter::kIcmpRx};
  for (const Row& row : rows()) {
    SCOPED_TRACE(row.name);
    const NetCounters before = stack().counters();
    const Bytes f = row.frame();
    input(f, 0, row.splits);
    const NetCounters& after = stack().counters();
    for (size_t i = 0; i < NetCounters::kSize; i++) {
      const auto c = static_cast<NetCounter>(i);
      const uint64_t delta = after.get(c) - before.get(c);
      if (c == row.expect) {
        EXPECT_EQ(delta, 1u) << NetCounters::name(c);
      } else if (c == NetCounter::kRxFrames) {
        EXPECT_EQ(delta, 1u);
      } else if (c == NetCounter::kRxBytes) {
        EXPECT_EQ(delta, f.size());
      } else if (std::find(incidental.begin(), incidental.end(), c) == incidental.end()) {
        EXPECT_EQ(delta, 0u) << NetCounters::name(c);
      }
    }
    EXPECT_EQ(stack().tx().size(), 0u);
    EXPECT_EQ(in_use(), 0u);
    EXPECT_EQ(stack().arp().size(), 0u);
  }
  // The stack is none the worse: a valid ping still gets its reply.
  input(ping_with(Ipv4Spec{}));
  auto out = drain();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0][34], 0);  // echo reply
  EXPECT_EQ(count(NetCounter::kIcmpEchoReplied), 1u);
}

TEST_F(MalformedTest, EveryReasonCounterHasARow) {
  // The table above covers every input drop reason this stack has.
  std::vector<NetCounter> reasons = {
      NetCounter::kDropRunt,          NetCounter::kDropNotOurMac,     NetCounter::kDropEthertype,
      NetCounter::kDropArpMalformed,  NetCounter::kDropIpTruncated,   NetCounter::kDropIpVersion,
      NetCounter::kDropIpHeaderLen,   NetCounter::kDropIpChecksum,    NetCounter::kDropIpNotForUs,
      NetCounter::kDropIpFragment,    NetCounter::kDropIpBadSource,   NetCounter::kDropIpProto,
      NetCounter::kDropIcmpMalformed, NetCounter::kDropIpHeaderSplit, NetCounter::kDropBadSrcMac};
  auto table = rows();
  for (NetCounter r : reasons) {
    EXPECT_TRUE(std::any_of(table.begin(), table.end(), [r](const Row& row) {
      return row.expect == r;
    })) << NetCounters::name(r);
  }
}

}  // namespace
}  // namespace linetls::net
