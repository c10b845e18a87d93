// Test helpers for lib/net: a private mempool per test with a leak check, frames built
// byte by byte (independently of lib/net's own builders, so a shared mistake cannot hide),
// a reference Internet checksum, and conversions between byte vectors and mbuf chains.
#pragma once

#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "lib/net/addr.h"
#include "lib/net/arp.h"
#include "lib/net/stack.h"

namespace linetls::net::testing {

using Bytes = std::vector<uint8_t>;

inline constexpr MacAddr kOurMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x02}};
inline constexpr MacAddr kPeerMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x01}};
inline constexpr MacAddr kOtherMac{{0x02, 0x00, 0x00, 0x00, 0x00, 0x77}};
inline constexpr Ipv4Addr kOurIp{0x0a000002};      // 10.0.0.2
inline constexpr Ipv4Addr kPeerIp{0x0a000001};     // 10.0.0.1
inline constexpr Ipv4Addr kGatewayIp{0x0a0000fe};  // 10.0.0.254

// The reference checksum, written from RFC 1071's definition with no shortcuts: the
// 16-bit one's complement of the one's complement sum of big-endian words.
inline uint16_t ref_cksum(const uint8_t* p, size_t len) {
  uint64_t sum = 0;
  for (size_t i = 0; i < len; i += 2) {
    uint16_t w = static_cast<uint16_t>(p[i] << 8);
    if (i + 1 < len) {
      w = static_cast<uint16_t>(w | p[i + 1]);
    }
    sum += w;
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum);
}

inline void put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void put32(Bytes& b, uint32_t v) {
  put16(b, static_cast<uint16_t>(v >> 16));
  put16(b, static_cast<uint16_t>(v));
}
inline void put_mac(Bytes& b, const MacAddr& m) { b.insert(b.end(), m.b.begin(), m.b.end()); }
inline uint16_t get16(const Bytes& b, size_t off) {
  return static_cast<uint16_t>((b.at(off) << 8) | b.at(off + 1));
}
inline uint32_t get32(const Bytes& b, size_t off) {
  return (uint32_t{get16(b, off)} << 16) | get16(b, off + 2);
}

inline Bytes eth_header(const MacAddr& dst, const MacAddr& src, uint16_t ethertype) {
  Bytes b;
  put_mac(b, dst);
  put_mac(b, src);
  put16(b, ethertype);
  return b;
}

struct ArpSpec {
  MacAddr eth_dst = MacAddr::broadcast();
  MacAddr eth_src = kPeerMac;
  uint16_t htype = 1;
  uint16_t ptype = 0x0800;
  uint8_t hlen = 6;
  uint8_t plen = 4;
  uint16_t op = 1;
  MacAddr sha = kPeerMac;
  Ipv4Addr spa = kPeerIp;
  MacAddr tha{};
  Ipv4Addr tpa = kOurIp;
  size_t pad_to = 60;  // Ethernet minimum frame, as a NIC would deliver it
};

inline Bytes arp_frame(const ArpSpec& s) {
  Bytes b = eth_header(s.eth_dst, s.eth_src, 0x0806);
  put16(b, s.htype);
  put16(b, s.ptype);
  b.push_back(s.hlen);
  b.push_back(s.plen);
  put16(b, s.op);
  put_mac(b, s.sha);
  put32(b, s.spa.v);
  put_mac(b, s.tha);
  put32(b, s.tpa.v);
  if (b.size() < s.pad_to) {
    b.resize(s.pad_to, 0);
  }
  return b;
}

struct Ipv4Spec {
  MacAddr eth_dst = kOurMac;
  MacAddr eth_src = kPeerMac;
  uint16_t ethertype = 0x0800;
  uint8_t version = 4;
  Bytes options;       // appended after the 20 fixed bytes (a multiple of 4)
  int ihl = -1;        // -1: from the options
  int total_len = -1;  // -1: the real length
  uint8_t tos = 0;
  uint16_t id = 0x1234;
  uint16_t frag = 0x4000;  // DF
  uint8_t ttl = 64;
  uint8_t proto = 1;
  Ipv4Addr src = kPeerIp;
  Ipv4Addr dst = kOurIp;
  bool corrupt_cksum = false;
  size_t pad_to = 60;
};

inline Bytes ipv4_frame(const Ipv4Spec& s, const Bytes& l4) {
  Bytes b = eth_header(s.eth_dst, s.eth_src, s.ethertype);
  const size_t hdr_len = 20 + s.options.size();
  const int ihl = s.ihl >= 0 ? s.ihl : static_cast<int>(hdr_len / 4);
  b.push_back(static_cast<uint8_t>((s.version << 4) | (ihl & 0xf)));
  b.push_back(s.tos);
  put16(b, static_cast<uint16_t>(s.total_len >= 0 ? s.total_len : hdr_len + l4.size()));
  put16(b, s.id);
  put16(b, s.frag);
  b.push_back(s.ttl);
  b.push_back(s.proto);
  put16(b, 0);
  put32(b, s.src.v);
  put32(b, s.dst.v);
  b.insert(b.end(), s.options.begin(), s.options.end());
  uint16_t c = ref_cksum(b.data() + 14, hdr_len);
  if (s.corrupt_cksum) {
    c ^= 0x0100;
  }
  b[24] = static_cast<uint8_t>(c >> 8);
  b[25] = static_cast<uint8_t>(c);
  b.insert(b.end(), l4.begin(), l4.end());
  if (b.size() < s.pad_to) {
    b.resize(s.pad_to, 0);
  }
  return b;
}

// An ICMP echo message (type 8 request by default) with a correct checksum.
inline Bytes icmp_echo(const Bytes& payload, uint16_t ident = 0x4242, uint16_t seq = 7,
                       uint8_t type = 8, uint8_t code = 0) {
  Bytes b;
  b.push_back(type);
  b.push_back(code);
  put16(b, 0);
  put16(b, ident);
  put16(b, seq);
  b.insert(b.end(), payload.begin(), payload.end());
  uint16_t c = ref_cksum(b.data(), b.size());
  b[2] = static_cast<uint8_t>(c >> 8);
  b[3] = static_cast<uint8_t>(c);
  return b;
}

inline Bytes pattern(size_t n, uint8_t seed = 1) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) {
    b[i] = static_cast<uint8_t>(seed + i * 37);
  }
  return b;
}

// An mbuf chain holding bytes, split into segments at the given increasing offsets.
inline rte_mbuf* make_mbuf(rte_mempool* pool, const Bytes& bytes, std::vector<size_t> splits = {}) {
  splits.push_back(bytes.size());
  rte_mbuf* head = nullptr;
  size_t start = 0;
  for (size_t end : splits) {
    rte_mbuf* seg = rte_pktmbuf_alloc(pool);
    if (seg == nullptr) {
      ADD_FAILURE() << "pool empty";
      rte_pktmbuf_free(head);
      return nullptr;
    }
    char* p = rte_pktmbuf_append(seg, static_cast<uint16_t>(end - start));
    if (p == nullptr && end != start) {
      ADD_FAILURE() << "segment too large";
      rte_pktmbuf_free(seg);
      rte_pktmbuf_free(head);
      return nullptr;
    }
    if (end != start) {
      std::memcpy(p, bytes.data() + start, end - start);
    }
    if (head == nullptr) {
      head = seg;
    } else if (rte_pktmbuf_chain(head, seg) != 0) {
      ADD_FAILURE() << "chain failed";
      rte_pktmbuf_free(seg);
      rte_pktmbuf_free(head);
      return nullptr;
    }
    start = end;
  }
  return head;
}

inline Bytes mbuf_bytes(const rte_mbuf* m) {
  Bytes b;
  uint32_t total = 0;
  for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
    const auto* p = rte_pktmbuf_mtod(s, const uint8_t*);
    b.insert(b.end(), p, p + s->data_len);
    total += s->data_len;
  }
  EXPECT_EQ(total, m->pkt_len) << "segment lengths disagree with pkt_len";
  return b;
}

inline std::string hex(const Bytes& b) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (uint8_t x : b) {
    s += d[x >> 4];
    s += d[x & 15];
  }
  return s;
}

// A fixture with a private pool (no per-lcore cache, so rte_mempool_avail_count is exact)
// and a Stack at 10.0.0.2/24 with gateway 10.0.0.254. TearDown destroys the stack and
// fails the test if any mbuf is still out.
class StackTest : public ::testing::Test {
 protected:
  static constexpr unsigned kPoolSize = 1023;

  void SetUp() override {
    static int n = 0;
    std::string name = "net_test_" + std::to_string(n++);
    pool_ = rte_pktmbuf_pool_create(name.c_str(), kPoolSize, 0, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
                                    SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
    cfg_.ip = Ipv4Cidr{kOurIp, 24};
    cfg_.gateway = kGatewayIp;
  }

  void TearDown() override {
    stack_.reset();
    if (pool_ != nullptr) {
      EXPECT_EQ(rte_mempool_avail_count(pool_), kPoolSize) << "mbufs leaked";
      rte_mempool_free(pool_);
    }
  }

  Stack& make_stack() {
    stack_ = std::make_unique<Stack>(cfg_, kOurMac, pool_, caps_);
    return *stack_;
  }
  Stack& stack() { return *stack_; }

  void input(const Bytes& frame, uint64_t now_ns = 0, std::vector<size_t> splits = {}) {
    rte_mbuf* m = make_mbuf(pool_, frame, std::move(splits));
    ASSERT_NE(m, nullptr);
    stack_->input(m, now_ns);
  }

  // Takes every queued frame: its bytes (and, if asked, its mbuf, which the caller frees).
  std::vector<Bytes> drain(std::vector<rte_mbuf*>* out_mbufs = nullptr) {
    std::vector<Bytes> out;
    TxQueue& q = stack_->tx();
    for (uint32_t i = 0; i < q.size(); i++) {
      out.push_back(mbuf_bytes(q.data()[i]));
      if (out_mbufs != nullptr) {
        out_mbufs->push_back(q.data()[i]);
      } else {
        rte_pktmbuf_free(q.data()[i]);
      }
    }
    q.consume(q.size());
    return out;
  }

  uint64_t count(NetCounter c) const { return stack_->counters().get(c); }
  unsigned in_use() const { return kPoolSize - rte_mempool_avail_count(pool_); }

  rte_mempool* pool_ = nullptr;
  StackConfig cfg_;
  PortCaps caps_;
  std::unique_ptr<Stack> stack_;
};

}  // namespace linetls::net::testing
