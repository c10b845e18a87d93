// A packetdrill-style harness: one Stack + Tcp at 10.0.0.2, a scripted peer at 10.0.0.1
// whose segments are built byte by byte here (independently of lib/net/tcp), injected
// through Stack::input with virtual time, and the segments the stack emits parsed back
// from its TX queue. Every test ends with a leak check on the private mempool.
#pragma once

#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "lib/net/stack.h"
#include "lib/net/tcp/options.h"
#include "lib/net/tcp/tcp.h"
#include "tests/unit/net/net_test_util.h"

namespace linetls::net::tcp::testing {

using net::testing::Bytes;
using net::testing::get16;
using net::testing::get32;
using net::testing::put16;
using net::testing::put32;

inline constexpr uint64_t kMs = 1000000;
inline constexpr uint8_t F_FIN = 0x01, F_SYN = 0x02, F_RST = 0x04, F_PSH = 0x08, F_ACK = 0x10;

// Option bytes, written the way a peer would.
struct PeerOpts {
  std::optional<uint16_t> mss;
  std::optional<uint8_t> ws;
  bool sack_perm = false;
  std::optional<std::pair<uint32_t, uint32_t>> ts;
  std::vector<std::pair<uint32_t, uint32_t>> sacks;
  Bytes bytes() const {
    Bytes b;
    if (mss) {
      b.insert(b.end(), {2, 4});
      put16(b, *mss);
    }
    if (ws) {
      b.insert(b.end(), {1, 3, 3, *ws});
    }
    if (sack_perm) {
      b.insert(b.end(), {1, 1, 4, 2});
    }
    if (ts) {
      b.insert(b.end(), {1, 1, 8, 10});
      put32(b, ts->first);
      put32(b, ts->second);
    }
    if (!sacks.empty()) {
      b.insert(b.end(), {1, 1, 5, static_cast<uint8_t>(2 + 8 * sacks.size())});
      for (auto [l, r] : sacks) {
        put32(b, l);
        put32(b, r);
      }
    }
    return b;
  }
};

struct SegSpec {
  uint16_t sport = 40000;
  uint16_t dport = 80;
  uint32_t seq = 0;
  uint32_t ack = 0;
  uint8_t flags = 0;
  uint16_t wnd = 65535;
  PeerOpts opts;
  Bytes payload;
  bool bad_cksum = false;
};

// The TCP segment bytes (header, options, payload) with a correct checksum.
inline Bytes tcp_bytes(const SegSpec& s, Ipv4Addr src, Ipv4Addr dst) {
  Bytes o = s.opts.bytes();
  while (o.size() % 4 != 0) {
    o.push_back(1);
  }
  Bytes b;
  put16(b, s.sport);
  put16(b, s.dport);
  put32(b, s.seq);
  put32(b, s.ack);
  b.push_back(static_cast<uint8_t>(((20 + o.size()) / 4) << 4));
  b.push_back(s.flags);
  put16(b, s.wnd);
  put16(b, 0);
  put16(b, 0);
  b.insert(b.end(), o.begin(), o.end());
  b.insert(b.end(), s.payload.begin(), s.payload.end());
  Bytes pseudo;
  put32(pseudo, src.v);
  put32(pseudo, dst.v);
  put16(pseudo, 6);
  put16(pseudo, static_cast<uint16_t>(b.size()));
  pseudo.insert(pseudo.end(), b.begin(), b.end());
  uint16_t c = net::testing::ref_cksum(pseudo.data(), pseudo.size());
  if (s.bad_cksum) {
    c ^= 0x0400;
  }
  b[16] = static_cast<uint8_t>(c >> 8);
  b[17] = static_cast<uint8_t>(c);
  return b;
}

// A segment the stack sent, parsed from its frame.
struct OutSeg {
  uint16_t sport = 0, dport = 0;
  uint32_t seq = 0, ack = 0;
  uint8_t flags = 0;
  uint16_t wnd = 0;
  TcpOptions opts;
  Bytes payload;
  bool cksum_ok = false;
  bool from_tso = false;  // cut from a TSO frame (by drain(), as the port would)
};

class RecordingHandler : public Handler {
 public:
  void on_connected(Connection* c) noexcept override { connected.push_back(c); }
  void on_data(Connection* c, rte_mbuf* chain, uint32_t len) noexcept override {
    EXPECT_EQ(chain->pkt_len, len);
    Bytes b = net::testing::mbuf_bytes(chain);
    data[c].insert(data[c].end(), b.begin(), b.end());
    rte_pktmbuf_free(chain);
    if (tcp != nullptr && auto_release) {
      tcp->release(c, len);
    }
  }
  void on_peer_closed(Connection* c) noexcept override { peer_closed.push_back(c); }
  void on_closed(Connection* c, CloseReason why) noexcept override {
    closed.push_back({c, why});
  }
  Tcp* tcp = nullptr;
  bool auto_release = true;
  std::vector<Connection*> connected;
  std::map<Connection*, Bytes> data;
  std::vector<Connection*> peer_closed;
  std::vector<std::pair<Connection*, CloseReason>> closed;
};

inline TcpConfig test_config() {
  TcpConfig c;
  c.max_connections = 1024;
  c.rcv_buf = 65535;  // no window-update ACKs as the window opens beyond the SYN's
  return c;
}

class TcpHarness : public ::testing::Test {
 protected:
  static constexpr unsigned kPoolSize = 4095;
  static constexpr Ipv4Addr kOurIp = net::testing::kOurIp;
  static constexpr Ipv4Addr kPeerIp = net::testing::kPeerIp;

  void SetUp() override { setup_with(test_config()); }

  void setup_with(const TcpConfig& cfg, PortCaps caps = PortCaps{}, uint16_t queue = 0,
                  uint16_t num_queues = 1) {
    tcp_.reset();
    stack_.reset();
    if (pool_ == nullptr) {
      static int n = 0;
      std::string name = "tcp_test_" + std::to_string(n++);
      pool_ = rte_pktmbuf_pool_create(name.c_str(), kPoolSize, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                      SOCKET_ID_ANY);
      ASSERT_NE(pool_, nullptr);
    }
    StackConfig sc;
    sc.ip = Ipv4Cidr{kOurIp, 24};
    stack_ = std::make_unique<Stack>(sc, net::testing::kOurMac, pool_, caps);
    uint8_t secret[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    tcp_ = std::make_unique<Tcp>(*stack_, cfg, std::span<const uint8_t, 16>(secret), now_, queue,
                                 num_queues);
    h_.tcp = tcp_.get();
    // Teach the stack the peer's MAC (an ARP request for our address) and drop the reply.
    net::testing::ArpSpec a;
    stack_->input(net::testing::make_mbuf(pool_, net::testing::arp_frame(a)), now_);
    drain();
  }

  void TearDown() override {
    tcp_.reset();
    stack_.reset();
    if (pool_ != nullptr) {
      EXPECT_EQ(rte_mempool_avail_count(pool_), kPoolSize) << "mbufs leaked";
      rte_mempool_free(pool_);
    }
  }

  void inject(const SegSpec& s) {
    net::testing::Ipv4Spec ip;
    ip.proto = 6;
    Bytes f = net::testing::ipv4_frame(ip, tcp_bytes(s, kPeerIp, kOurIp));
    // Long frames arrive as chains (a split inside the TCP header when asked).
    std::vector<size_t> splits;
    if (split_header) {
      splits.push_back(14 + 20 + 7);
    }
    for (size_t off = 1200; off < f.size(); off += 1200) {
      splits.push_back(off);
    }
    stack_->input(net::testing::make_mbuf(pool_, f, splits), now_);
    tcp_->flush(now_);
  }

  // Takes every TCP segment the stack queued. Offloads the port's caps promise are done
  // here as a NIC would, after checking the stack kept DPDK's contract: a checksum-offload
  // frame carries the pseudo-header sum in its TCP checksum field, a TSO frame (which
  // becomes several segments, each marked from_tso) the same sum without the length.
  std::vector<OutSeg> drain() {
    std::vector<OutSeg> out;
    TxQueue& q = stack_->tx();
    for (uint32_t i = 0; i < q.size(); i++) {
      rte_mbuf* m = q.data()[i];
      Bytes f = net::testing::mbuf_bytes(m);
      const uint64_t ol = m->ol_flags;
      const uint32_t l2 = m->l2_len, l3 = m->l3_len, l4 = m->l4_len, segsz = m->tso_segsz;
      rte_pktmbuf_free(m);
      if (f.size() < 54 || get16(f, 12) != 0x0800 || f[23] != 6) {
        continue;
      }
      frames_out_++;
      const size_t ihl = (f[14] & 0xfu) * 4;
      const size_t tcp_off = 14 + ihl;
      const size_t doff = (f[tcp_off + 12] >> 4) * 4u;
      const uint16_t l4_total = static_cast<uint16_t>(get16(f, 16) - ihl);
      if ((ol & RTE_MBUF_F_TX_TCP_SEG) != 0) {
        tso_frames_out_++;
        EXPECT_EQ(ol & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM),
                  RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_TCP_CKSUM);
        EXPECT_EQ(l2, 14u);
        EXPECT_EQ(l3, ihl);
        EXPECT_EQ(l4, doff);
        EXPECT_EQ(get16(f, tcp_off + 16), pseudo_sum(f, 0)) << "pseudo-header sum, no length";
        EXPECT_GT(segsz, 0u);
        if (segsz == 0 || l4 != doff) {
          continue;
        }
        const size_t hdr = tcp_off + doff;
        const size_t payload = f.size() - hdr;
        for (size_t off = 0; off < payload; off += segsz) {
          const size_t take = std::min<size_t>(segsz, payload - off);
          Bytes g(f.begin(), f.begin() + static_cast<long>(hdr));
          g.insert(g.end(), f.begin() + static_cast<long>(hdr + off),
                   f.begin() + static_cast<long>(hdr + off + take));
          const uint16_t tl = static_cast<uint16_t>(ihl + doff + take);
          g[16] = static_cast<uint8_t>(tl >> 8);
          g[17] = static_cast<uint8_t>(tl);
          const uint32_t seq = get32(f, tcp_off + 4) + static_cast<uint32_t>(off);
          for (int k = 0; k < 4; k++) {
            g[tcp_off + 4 + k] = static_cast<uint8_t>(seq >> (24 - 8 * k));
          }
          if (off + take < payload) {
            g[tcp_off + 13] &= static_cast<uint8_t>(~(F_FIN | F_PSH));
          }
          fill_tcp_cksum(g, tcp_off);
          out.push_back(parse_out(g, tcp_off, static_cast<uint16_t>(doff + take)));
          out.back().from_tso = true;
        }
        continue;
      }
      if ((ol & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM) {
        EXPECT_EQ(get16(f, tcp_off + 16), pseudo_sum(f, l4_total)) << "pseudo-header sum";
        fill_tcp_cksum(f, tcp_off);
      }
      out.push_back(parse_out(f, tcp_off, l4_total));
    }
    q.consume(q.size());
    return out;
  }
  // The RFC 793 pseudo-header sum (not complemented) of frame f with the given TCP length.
  static uint16_t pseudo_sum(const Bytes& f, uint16_t tcp_len) {
    Bytes ph;
    put32(ph, get32(f, 26));
    put32(ph, get32(f, 30));
    put16(ph, 6);
    put16(ph, tcp_len);
    return static_cast<uint16_t>(~net::testing::ref_cksum(ph.data(), ph.size()));
  }
  static void fill_tcp_cksum(Bytes& f, size_t tcp_off) {
    f[tcp_off + 16] = f[tcp_off + 17] = 0;
    const uint16_t tcp_len = static_cast<uint16_t>(f.size() - tcp_off);
    Bytes pseudo;
    put32(pseudo, get32(f, 26));
    put32(pseudo, get32(f, 30));
    put16(pseudo, 6);
    put16(pseudo, tcp_len);
    pseudo.insert(pseudo.end(), f.begin() + static_cast<long>(tcp_off), f.end());
    const uint16_t c = net::testing::ref_cksum(pseudo.data(), pseudo.size());
    f[tcp_off + 16] = static_cast<uint8_t>(c >> 8);
    f[tcp_off + 17] = static_cast<uint8_t>(c);
  }
  // The segment in frame f (TCP header at tcp_off, l4_len bytes of TCP).
  static OutSeg parse_out(const Bytes& f, size_t tcp_off, size_t l4_len) {
    Bytes t(f.begin() + static_cast<long>(tcp_off), f.begin() + static_cast<long>(tcp_off + l4_len));
    OutSeg s;
    s.sport = get16(t, 0);
    s.dport = get16(t, 2);
    s.seq = get32(t, 4);
    s.ack = get32(t, 8);
    s.flags = t[13];
    s.wnd = get16(t, 14);
    const size_t doff = (t[12] >> 4) * 4;
    EXPECT_TRUE(parse_options(std::span<const uint8_t>(t.data() + 20, doff - 20), &s.opts));
    s.payload.assign(t.begin() + static_cast<long>(doff), t.end());
    Bytes pseudo;
    put32(pseudo, get32(f, 26));
    put32(pseudo, get32(f, 30));
    put16(pseudo, 6);
    put16(pseudo, static_cast<uint16_t>(t.size()));
    pseudo.insert(pseudo.end(), t.begin(), t.end());
    s.cksum_ok = net::testing::ref_cksum(pseudo.data(), pseudo.size()) == 0;
    EXPECT_TRUE(s.cksum_ok);
    return s;
  }

  // Advances virtual time, firing TCP timers; returns what was sent meanwhile.
  std::vector<OutSeg> advance(uint64_t ns) {
    std::vector<OutSeg> out;
    const uint64_t end = now_ + ns;
    while (now_ < end) {
      const uint64_t next = std::min(end, std::max(now_ + 1, std::min(tcp_->next_timer_ns(), end)));
      now_ = next;
      tcp_->on_timer(now_);
      tcp_->flush(now_);
      auto o = drain();
      out.insert(out.end(), o.begin(), o.end());
    }
    return out;
  }

  // Completes a passive open on port 80 with the given SYN options; returns the SYN-ACK.
  OutSeg handshake(const PeerOpts& syn_opts, uint32_t peer_isn = 1000) {
    EXPECT_TRUE(tcp_->listen(80, &h_).ok());
    SegSpec syn;
    syn.seq = peer_isn;
    syn.flags = F_SYN;
    syn.opts = syn_opts;
    inject(syn);
    auto out = drain();
    EXPECT_EQ(out.size(), 1u);
    if (out.empty()) {
      return {};
    }
    OutSeg sa = out[0];
    our_isn_ = sa.seq;
    SegSpec ack;
    ack.seq = peer_isn + 1;
    ack.ack = sa.seq + 1;
    ack.flags = F_ACK;
    ack.wnd = 65535;
    if (syn_opts.ts && sa.opts.timestamp) {
      ack.opts.ts = std::make_pair(syn_opts.ts->first + 1, sa.opts.timestamp->first);
    }
    inject(ack);
    EXPECT_EQ(h_.connected.size(), 1u);
    return sa;
  }

  uint64_t now_ = 1000 * kMs;
  rte_mempool* pool_ = nullptr;
  std::unique_ptr<Stack> stack_;
  std::unique_ptr<Tcp> tcp_;
  RecordingHandler h_;
  uint32_t our_isn_ = 0;
  bool split_header = false;
  uint64_t frames_out_ = 0;      // TCP frames drain() took from the TX queue
  uint64_t tso_frames_out_ = 0;  // of those, TSO frames
};

}  // namespace linetls::net::tcp::testing
