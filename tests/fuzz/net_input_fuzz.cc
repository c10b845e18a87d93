// libFuzzer target: arbitrary bytes as a received frame, through Stack::input.
//
// Input layout: byte 0 is a control byte, byte 1 picks where the first segment ends, the
// rest is the frame. Control bits:
//   0x01  chain the frame: first segment ends at byte 1 (scaled), later ones every 1000 B
//   0x02  the port has RX IPv4 checksum offload and the frame is flagged GOOD
//   0x04  ... flagged BAD (with 0x02)
//   0x08  the mbuf is shared (refcount 2): the stack must not edit it in place
//   0x10  the port accepts chained TX frames (otherwise replies are linearized)
//   0x20  before the frame, ip_output a packet to 10.0.0.1, so an ARP entry is INCOMPLETE
//         with a frame waiting (an ARP reply in the input then takes the flush path)
//   0x40  after the frame, run the timer far in the future (retries, expiry, failure)
//   0x80  the stack gets an indirect clone of the frame (own headers, shared bytes)
// Each input gets a fresh Stack, so a crash reproduces from its input alone. After each
// input the pool must be full again: a leaked mbuf aborts like a crash.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_eal.h"
#include "lib/net/stack.h"

namespace {

constexpr unsigned kPoolSize = 4095;
constexpr uint32_t kSegMax = 1000;
rte_mempool* g_pool = nullptr;

rte_mbuf* build(const uint8_t* data, size_t len, bool chain, uint8_t split_sel) {
  std::vector<size_t> ends;
  if (chain) {
    size_t first = len == 0 ? 0 : split_sel % (len + 1);
    if (first > kSegMax) {
      first = kSegMax;
    }
    ends.push_back(first);
  }
  size_t start = ends.empty() ? 0 : ends.back();
  while (len - start > kSegMax) {
    start += kSegMax;
    ends.push_back(start);
  }
  ends.push_back(len);
  rte_mbuf* head = nullptr;
  size_t from = 0;
  for (size_t end : ends) {
    rte_mbuf* seg = rte_pktmbuf_alloc(g_pool);
    if (seg == nullptr) {
      std::abort();  // the pool is sized for this: running dry means a leak
    }
    char* p = rte_pktmbuf_append(seg, static_cast<uint16_t>(end - from));
    if (p == nullptr) {
      std::abort();
    }
    std::memcpy(p, data + from, end - from);
    if (head == nullptr) {
      head = seg;
    } else if (rte_pktmbuf_chain(head, seg) != 0) {
      std::abort();
    }
    from = end;
  }
  return head;
}

void drain(linetls::net::Stack& s) {
  linetls::net::TxQueue& q = s.tx();
  for (uint32_t i = 0; i < q.size(); i++) {
    rte_mbuf* m = q.data()[i];
    // What the stack sends must be a consistent chain.
    uint32_t total = 0;
    for (const rte_mbuf* seg = m; seg != nullptr; seg = seg->next) {
      total += seg->data_len;
    }
    if (total != m->pkt_len || m->pkt_len < 14) {
      std::fprintf(stderr, "bad tx frame: pkt_len %u, segments hold %u, nb_segs %u\n", m->pkt_len,
                   total, m->nb_segs);
      std::abort();
    }
    rte_pktmbuf_free(m);
  }
  q.consume(q.size());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  g_pool = linetls::fuzz::init_eal_and_pool("net_input", 128, kPoolSize);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) {
    return 0;
  }
  const uint8_t ctl = data[0];
  const uint8_t split = data[1];
  data += 2;
  size -= 2;
  if (size > 9000) {
    return 0;
  }
  using namespace linetls::net;  // NOLINT
  StackConfig cfg;
  cfg.ip = Ipv4Cidr{Ipv4Addr{0x0a000002}, 24};  // 10.0.0.2/24
  cfg.gateway = Ipv4Addr{0x0a0000fe};
  cfg.arp_max_entries = 8;
  cfg.arp_max_pending = 4;
  cfg.tx_queue_len = 16;
  PortCaps caps;
  caps.rx_ip_cksum = (ctl & 0x02) != 0;
  caps.tx_multi_seg = (ctl & 0x10) != 0;
  {
    Stack stack(cfg, MacAddr{{0x02, 0, 0, 0, 0, 0x02}}, g_pool, caps);
    if ((ctl & 0x20) != 0) {
      rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
      if (m == nullptr || rte_pktmbuf_append(m, 8) == nullptr) {
        std::abort();
      }
      std::memset(rte_pktmbuf_mtod(m, void*), 0, 8);
      stack.ip_output(m, Ipv4Addr{0x0a000001}, 17, 0);
    }
    rte_mbuf* m = build(data, size, (ctl & 0x01) != 0, split);
    if ((ctl & 0x02) != 0) {
      m->ol_flags |= (ctl & 0x04) != 0 ? RTE_MBUF_F_RX_IP_CKSUM_BAD : RTE_MBUF_F_RX_IP_CKSUM_GOOD;
    }
    rte_mbuf* extra_ref = nullptr;
    std::vector<uint8_t> before;
    if ((ctl & 0x80) != 0) {
      rte_mbuf* clone = rte_pktmbuf_clone(m, g_pool);
      if (clone == nullptr) {
        std::abort();
      }
      extra_ref = m;
      m = clone;
      before.assign(data, data + size);
    } else if ((ctl & 0x08) != 0) {
      rte_pktmbuf_refcnt_update(m, 1);
      extra_ref = m;
      before.assign(data, data + size);
    }
    stack.input(m, 1000);
    if (extra_ref != nullptr) {
      // A shared frame is never edited in place, nor are its headers changed.
      std::vector<uint8_t> now(size);
      if (extra_ref->pkt_len != size) {
        std::abort();
      }
      if (size != 0) {
        const auto* p = static_cast<const uint8_t*>(
            rte_pktmbuf_read(extra_ref, 0, static_cast<uint32_t>(size), now.data()));
        if (p == nullptr || std::memcmp(p, before.data(), size) != 0) {
          std::abort();
        }
      }
      rte_pktmbuf_free(extra_ref);
    }
    drain(stack);
    if ((ctl & 0x40) != 0) {
      for (uint64_t t = 1; t <= 5; t++) {
        stack.on_timer(t * 3600ull * 1000000000ull);
        drain(stack);
      }
    }
  }
  if (rte_mempool_avail_count(g_pool) != kPoolSize) {
    std::fprintf(stderr, "mbuf leak: %u in use\n", kPoolSize - rte_mempool_avail_count(g_pool));
    std::abort();
  }
  return 0;
}
