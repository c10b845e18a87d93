// libFuzzer target: a sequence of frames into one Stack + Tcp (lib/net/tcp), with virtual
// time advancing between them, so the fuzzer reaches every TCP state and timer.
//
// Input layout:
//   byte 0   configuration bits:
//     0x01  SACK off               0x02  timestamps off
//     0x04  backlog 0 (every passive open is a SYN cookie)
//     0x08  the port accepts chained TX frames (payload by reference)
//     0x10  connect() to 10.0.0.1:443 before the first frame (active open)
//     0x20  tight limits: 4 KiB receive buffer, 3000 B / 4 segments out of order, a
//           4-range SACK scoreboard, 1 challenge ACK and 1 RST per second, 2 retries
//     0x40  the application never release()s what it was given (window closes)
//     0x80  TX checksum offload; idle timeout 5 s, handshake timeout 3 s
//   then frames, each: ctl, dt, len (2 bytes, big-endian), len bytes.
//     ctl 0x01  raw: the bytes are a whole Ethernet frame, delivered as they are.
//               Otherwise they are a TCP header, options and payload (zero-padded to 20
//               bytes); the harness wraps them in Ethernet/IPv4 from 10.0.0.1 to
//               10.0.0.2 and sets the TCP checksum (unless 0x02 is also set).
//     ctl 0x02  with 0x01 clear: leave the TCP checksum as given.
//     ctl 0x04  relative numbers: SEQ += the ACK of the stack's last segment, ACK += the
//               end of the stack's last segment (so handshakes complete).
//     ctl 0x08  keep the ports as given; otherwise source 40000 + (ctl >> 6) and
//               destination 80, or, with the active open (config 0x10) and ctl 0x20,
//               the tuple of that connection.
//     ctl 0x30  (bits 4-5, after the frame) 1: the application sends 3000 bytes on every
//               connection, 2: close()s the newest, 3: abort()s the oldest. (With 0x08
//               clear, bit 0x20 also picks the tuple, see above.)
//     dt        before the frame, virtual time advances by dt ms (dt < 128), else by
//               (dt - 127)^2 * 100 ms; due timers run on the way.
// The application echoes what it receives (when it fits in send_space) and releases it.
// Each input gets a fresh Stack and Tcp; at the end both are destroyed and the mempool must
// be full again: a leaked mbuf aborts like a crash.
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_eal.h"
#include "lib/net/stack.h"
#include "lib/net/tcp/tcp.h"

namespace {

using linetls::net::Ipv4Addr;
using linetls::net::MacAddr;
using linetls::net::Stack;
namespace tcp = linetls::net::tcp;

constexpr unsigned kPoolSize = 8191;
constexpr uint32_t kPeerIp = 0x0a000001;
constexpr uint32_t kOurIp = 0x0a000002;
constexpr uint8_t kOurMac[6] = {0x02, 0, 0, 0, 0, 0x02};
constexpr uint8_t kPeerMac[6] = {0x02, 0, 0, 0, 0, 0x01};
constexpr uint64_t kMs = 1000000;
rte_mempool* g_pool = nullptr;

void put16(std::vector<uint8_t>& b, size_t off, uint16_t v) {
  b[off] = static_cast<uint8_t>(v >> 8);
  b[off + 1] = static_cast<uint8_t>(v);
}
void put32(std::vector<uint8_t>& b, size_t off, uint32_t v) {
  put16(b, off, static_cast<uint16_t>(v >> 16));
  put16(b, off + 2, static_cast<uint16_t>(v));
}
uint32_t get32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

uint16_t cksum(const uint8_t* p, size_t len, uint32_t sum) {
  for (size_t i = 0; i + 1 < len; i += 2) {
    sum += (uint32_t{p[i]} << 8) | p[i + 1];
  }
  if (len % 2 != 0) {
    sum += uint32_t{p[len - 1]} << 8;
  }
  while (sum >> 16) {
    sum = (sum & 0xffff) + (sum >> 16);
  }
  return static_cast<uint16_t>(~sum);
}

rte_mbuf* make_mbuf(const std::vector<uint8_t>& f) {
  // Frames longer than 1000 bytes arrive as chains.
  rte_mbuf* head = nullptr;
  size_t off = 0;
  do {
    const size_t n = std::min<size_t>(1000, f.size() - off);
    rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
    if (m == nullptr) {
      std::abort();  // the pool is sized for this: running dry means a leak
    }
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(n));
    if (p == nullptr) {
      std::abort();
    }
    std::memcpy(p, f.data() + off, n);
    if (head == nullptr) {
      head = m;
    } else if (rte_pktmbuf_chain(head, m) != 0) {
      std::abort();
    }
    off += n;
  } while (off < f.size());
  return head;
}

std::vector<uint8_t> eth(uint16_t type) {
  std::vector<uint8_t> b(14);
  std::memcpy(b.data(), kOurMac, 6);
  std::memcpy(b.data() + 6, kPeerMac, 6);
  put16(b, 12, type);
  return b;
}

// An ARP request from the peer for our address: the stack learns the peer's MAC.
std::vector<uint8_t> arp_request() {
  std::vector<uint8_t> b = eth(0x0806);
  std::memset(b.data(), 0xff, 6);
  b.resize(14 + 28 + 18);
  put16(b, 14, 1);
  put16(b, 16, 0x0800);
  b[18] = 6;
  b[19] = 4;
  put16(b, 20, 1);
  std::memcpy(b.data() + 22, kPeerMac, 6);
  put32(b, 28, kPeerIp);
  put32(b, 38, kOurIp);
  return b;
}

// Ethernet + IPv4 (10.0.0.1 -> 10.0.0.2) around the TCP bytes t.
std::vector<uint8_t> wrap(const std::vector<uint8_t>& t) {
  std::vector<uint8_t> b = eth(0x0800);
  b.resize(34);
  b[14] = 0x45;
  put16(b, 16, static_cast<uint16_t>(20 + t.size()));
  b[22] = 64;
  b[23] = 6;
  put32(b, 26, kPeerIp);
  put32(b, 30, kOurIp);
  put16(b, 24, cksum(b.data() + 14, 20, 0));
  b.insert(b.end(), t.begin(), t.end());
  while (b.size() < 60) {
    b.push_back(0);
  }
  return b;
}

struct Fuzz;

class App : public tcp::Handler {
 public:
  explicit App(Fuzz& f) : f_(f) {}
  void on_connected(tcp::Connection* c) noexcept override;
  void on_data(tcp::Connection* c, rte_mbuf* chain, uint32_t len) noexcept override;
  void on_closed(tcp::Connection* c, tcp::CloseReason why) noexcept override;

 private:
  Fuzz& f_;
};

struct Fuzz {
  Stack* stack = nullptr;
  tcp::Tcp* tcp = nullptr;
  bool release = true;
  std::vector<tcp::Connection*> conns;
  uint64_t now = 1000 * kMs;
  // The stack's last TCP segment: its ACK and where its sequence space ends.
  uint32_t last_ack = 0;
  uint32_t last_end = 0;

  void drain() {
    linetls::net::TxQueue& q = stack->tx();
    for (uint32_t i = 0; i < q.size(); i++) {
      rte_mbuf* m = q.data()[i];
      uint32_t total = 0;
      for (const rte_mbuf* s = m; s != nullptr; s = s->next) {
        total += s->data_len;
      }
      if (total != m->pkt_len || m->pkt_len < 14) {
        std::fprintf(stderr, "bad tx frame: pkt_len %u, segments hold %u\n", m->pkt_len, total);
        std::abort();
      }
      uint8_t buf[60];
      const auto* p = static_cast<const uint8_t*>(
          rte_pktmbuf_read(m, 0, std::min<uint32_t>(m->pkt_len, 54), buf));
      if (p != nullptr && m->pkt_len >= 54 && p[12] == 0x08 && p[13] == 0x00 && p[23] == 6) {
        const uint32_t ip_len = (uint32_t{p[16]} << 8) | p[17];
        const uint32_t doff = (uint32_t{p[46]} >> 4) * 4;
        const uint32_t payload = ip_len - 20 - doff;
        const uint8_t flags = p[47];
        if (ip_len + 14 > m->pkt_len || 20 + doff > ip_len) {
          std::fprintf(stderr, "bad tx TCP lengths\n");
          std::abort();
        }
        last_end = get32(p + 38) + payload + ((flags & 0x02) ? 1 : 0) + ((flags & 0x01) ? 1 : 0);
        if (flags & 0x10) {
          last_ack = get32(p + 42);
        }
      }
      rte_pktmbuf_free(m);
    }
    q.consume(q.size());
  }

  void run_until(uint64_t end) {
    for (int i = 0; i < 20000 && now < end; i++) {
      const uint64_t next = tcp->next_timer_ns();
      now = std::min(end, std::max(now + 1, next));
      tcp->on_timer(now);
      stack->on_timer(now);
      tcp->flush(now);
      drain();
    }
    now = std::max(now, end);
  }

  void app_action(uint8_t a) {
    if (conns.empty() || a == 0) {
      return;
    }
    if (a == 1) {
      for (tcp::Connection* c : std::vector<tcp::Connection*>(conns)) {
        rte_mbuf* head = nullptr;
        for (int k = 0; k < 3; k++) {
          rte_mbuf* m = rte_pktmbuf_alloc(g_pool);
          if (m == nullptr) {
            std::abort();
          }
          std::memset(rte_pktmbuf_append(m, 1000), 0x5a, 1000);
          if (head == nullptr) {
            head = m;
          } else if (rte_pktmbuf_chain(head, m) != 0) {
            std::abort();
          }
        }
        if (!tcp->send(c, head).ok()) {
          rte_pktmbuf_free(head);
        }
      }
    } else if (a == 2) {
      tcp->close(conns.back());
    } else {
      tcp->abort(conns.front());
    }
    tcp->flush(now);
    drain();
  }
};

void App::on_connected(tcp::Connection* c) noexcept {
  if (std::find(f_.conns.begin(), f_.conns.end(), c) == f_.conns.end()) {
    f_.conns.push_back(c);
  }
}

void App::on_data(tcp::Connection* c, rte_mbuf* chain, uint32_t len) noexcept {
  if (chain->pkt_len != len) {
    std::fprintf(stderr, "on_data: pkt_len %u != len %u\n", chain->pkt_len, len);
    std::abort();
  }
  if (f_.release) {
    f_.tcp->release(c, len);
  }
  if (f_.tcp->send_space(c) < len || !f_.tcp->send(c, chain).ok()) {
    rte_pktmbuf_free(chain);
  }
}

void App::on_closed(tcp::Connection* c, tcp::CloseReason) noexcept {
  f_.conns.erase(std::remove(f_.conns.begin(), f_.conns.end(), c), f_.conns.end());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int* /*argc*/, char*** /*argv*/) {
  g_pool = linetls::fuzz::init_eal_and_pool("tcp_input", 256, kPoolSize);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size > 65536) {
    return 0;
  }
  const uint8_t conf = data[0];
  size_t off = 1;
  tcp::TcpConfig cfg;
  cfg.max_connections = 64;
  cfg.sack = (conf & 0x01) == 0;
  cfg.timestamps = (conf & 0x02) == 0;
  cfg.backlog = (conf & 0x04) != 0 ? 0 : 16;
  if ((conf & 0x20) != 0) {
    cfg.rcv_buf = 4096;
    cfg.ooo_max_bytes = 3000;
    cfg.ooo_max_segments = 4;
    cfg.sack_scoreboard_max = 4;
    cfg.challenge_acks_per_s = 1;
    cfg.rsts_per_s = 1;
    cfg.data_retries = 2;
    cfg.syn_retries = 2;
  }
  linetls::net::PortCaps caps;
  caps.tx_multi_seg = (conf & 0x08) != 0;
  if ((conf & 0x80) != 0) {
    caps.tx_tcp_cksum = true;
    cfg.idle_timeout_ms = 5000;
    cfg.handshake_timeout_ms = 3000;
  }
  linetls::net::StackConfig sc;
  sc.ip = linetls::net::Ipv4Cidr{Ipv4Addr{kOurIp}, 24};
  sc.tx_queue_len = 4096;
  {
    Fuzz f;
    App app(f);
    Stack stack(sc, MacAddr{{0x02, 0, 0, 0, 0, 0x02}}, g_pool, caps);
    const uint8_t secret[16] = {7, 7, 7, 7, 7, 7, 7, 7, 1, 2, 3, 4, 5, 6, 7, 8};
    tcp::Tcp t(stack, cfg, std::span<const uint8_t, 16>(secret), f.now);
    f.stack = &stack;
    f.tcp = &t;
    f.release = (conf & 0x40) == 0;
    stack.input(make_mbuf(arp_request()), f.now);
    f.drain();
    if (!t.listen(80, &app).ok()) {
      std::abort();
    }
    tcp::Connection* active = nullptr;
    if ((conf & 0x10) != 0) {
      auto r = t.connect(Ipv4Addr{kPeerIp}, 443, &app, f.now);
      if (r.ok()) {
        active = *r;
        f.conns.push_back(active);
      }
      f.drain();
    }
    const uint16_t active_port = active != nullptr ? t.info(active).tuple.local_port : 0;
    while (off + 4 <= size) {
      const uint8_t ctl = data[off];
      const uint8_t dt = data[off + 1];
      const size_t len = (size_t{data[off + 2]} << 8) | data[off + 3];
      off += 4;
      if (len > size - off || len > 9000) {
        break;
      }
      std::vector<uint8_t> bytes(data + off, data + off + len);
      off += len;
      const uint64_t adv =
          dt < 128 ? uint64_t{dt} * kMs : uint64_t(dt - 127) * uint64_t(dt - 127) * 100 * kMs;
      f.run_until(f.now + adv);
      std::vector<uint8_t> frame;
      if ((ctl & 0x01) != 0) {
        frame = std::move(bytes);
        if (frame.empty()) {
          frame.push_back(0);
        }
      } else {
        if (bytes.size() < 20) {
          bytes.resize(20, 0);
        }
        if ((ctl & 0x08) == 0) {
          if ((ctl & 0x20) != 0 && active_port != 0) {
            put16(bytes, 0, 443);
            put16(bytes, 2, active_port);
          } else {
            put16(bytes, 0, static_cast<uint16_t>(40000 + (ctl >> 6)));
            put16(bytes, 2, 80);
          }
        }
        if ((ctl & 0x04) != 0) {
          put32(bytes, 4, get32(bytes.data() + 4) + f.last_ack);
          put32(bytes, 8, get32(bytes.data() + 8) + f.last_end);
        }
        if ((ctl & 0x02) == 0) {
          put16(bytes, 16, 0);
          // Pseudo-header: source, destination, protocol, TCP length.
          const uint32_t pseudo = (kPeerIp >> 16) + (kPeerIp & 0xffff) + (kOurIp >> 16) +
                                  (kOurIp & 0xffff) + 6 + static_cast<uint32_t>(bytes.size());
          put16(bytes, 16, cksum(bytes.data(), bytes.size(), pseudo));
        }
        frame = wrap(bytes);
      }
      stack.input(make_mbuf(frame), f.now);
      t.flush(f.now);
      f.drain();
      f.app_action(static_cast<uint8_t>((ctl >> 4) & 3));
    }
    // Let every timer run out (retries, TIME-WAIT, FIN-WAIT-2), then tear down.
    f.run_until(f.now + 3600000 * kMs);
  }
  if (rte_mempool_avail_count(g_pool) != kPoolSize) {
    std::fprintf(stderr, "mbuf leak: %u in use\n", kPoolSize - rte_mempool_avail_count(g_pool));
    __builtin_trap();
  }
  return 0;
}
