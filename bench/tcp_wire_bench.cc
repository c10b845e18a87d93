// TCP over the wire port (drivers/wire): what lib/net/tcp costs per segment, per
// connection and per idle connection, between two Stack + Tcp pairs in one process with
// virtual time.
//
//   BM_TcpRxSegment/<payload>          one in-order data segment through Stack::input -> Tcp
//                                      -> on_data (a discard handler that frees and releases)
//   BM_TcpTxSegment/<payload>          one segment sent: send() of an mbuf + Tcp::flush, the
//                                      frame freed from the TxQueue, and every second segment
//                                      a pure ACK from the peer through Stack::input
//   BM_Tcp{Rx,Tx}SegmentHwCsum/...     the same with the port's checksum offloads on: RX
//                                      frames arrive flagged GOOD and TX frames leave with
//                                      the offload requested (nobody computes them), as
//                                      on a NIC that offers them
//   BM_TcpAcceptClose                  connect, accept, client close, server close and the
//                                      client's TIME_WAIT expiry (time_wait_ms = 1, virtual
//                                      time jumps to it), until both tables are empty
//   BM_TcpBulkWire/<bytes>             one established connection moves <bytes> A -> B over
//                                      the wire with no impairments; both stacks on this
//                                      thread (one core), so bytes/s is for both ends together
//   BM_TcpIdleConnectionMemory         10,000 idle established connections: heap
//                                      (mallinfo2) and mbufs per connection endpoint
//
// The segment benchmarks run on one established connection whose peer is synthesized: its
// frames are pre-built outside the timed region (in batches, with correct checksums and
// advancing sequence numbers, from a frame the real peer sent while warming up, so the
// options -- timestamps -- are what the peer really uses), so the loop measures our input
// or output path only. The stack flushes (and ACKs) once per burst of 32 frames, as the
// worker's poll loop does per rx_burst.
//
// The DPDK EAL is initialised lazily (the first TCP benchmark), privately: no hugepages, no
// PCI, no shared config, a per-process file prefix removed at exit.
#include <benchmark/benchmark.h>
#include <malloc.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ip.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "drivers/wire/wire.h"
#include "lib/net/stack.h"
#include "lib/net/tcp/tcb.h"
#include "lib/net/tcp/tcp.h"

namespace linetls::net::tcp {
namespace {

constexpr uint64_t kMs = 1000000;
constexpr uint64_t kSec = 1000 * kMs;
constexpr MacAddr kMacA{{0x02, 0, 0, 0, 0, 0x0a}};
constexpr MacAddr kMacB{{0x02, 0, 0, 0, 0, 0x0b}};
constexpr Ipv4Addr kIpA{0x0a000001};
constexpr Ipv4Addr kIpB{0x0a000002};
constexpr uint16_t kPort = 5001;
constexpr unsigned kPoolSize = 32767;
constexpr unsigned kPoolCache = 256;
constexpr uint32_t kBatch = 4096;  // pre-built frames per refill (outside the timed region)
constexpr uint32_t kBurst = 32;    // frames per poll iteration: flush and TX drain after each
constexpr uint32_t kMbufData = 2048;  // payload bytes per application mbuf (bulk sender)

// ---- EAL and the mbuf pool -------------------------------------------------------------

std::string g_prefix;
bool g_eal_up = false;

void eal_at_exit() {
  if (g_eal_up) {
    rte_eal_cleanup();
  }
  std::error_code ec;
  std::filesystem::remove_all("/var/run/dpdk/" + g_prefix, ec);
}

// The shared mbuf pool, after initialising the EAL on the first call; nullptr if either
// failed (the benchmark then reports an error).
rte_mempool* bench_pool() {
  static std::once_flag once;
  static rte_mempool* pool = nullptr;
  std::call_once(once, [] {
    g_prefix = "lt-bench-" + std::to_string(getpid());
    std::vector<std::string> args = {"linetls-bench", "--no-huge", "-m", "512", "--no-pci",
                                     "--no-shconf", "--file-prefix=" + g_prefix,
                                     "--log-level=error", "-l", "0"};
    std::vector<char*> argv;
    for (auto& a : args) {
      argv.push_back(a.data());
    }
    std::atexit(eal_at_exit);
    if (rte_eal_init(static_cast<int>(argv.size()), argv.data()) < 0) {
      std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
      return;
    }
    g_eal_up = true;
    pool = rte_pktmbuf_pool_create("lt_bench_tcp", kPoolSize, kPoolCache, 0,
                                   RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    if (pool == nullptr) {
      std::fprintf(stderr, "mbuf pool: %s\n", rte_strerror(rte_errno));
    }
  });
  return pool;
}

// Bytes one mbuf occupies in the pool (object header, mbuf, headroom + data, trailer).
size_t mbuf_footprint(const rte_mempool* pool) {
  return pool->header_size + pool->elt_size + pool->trailer_size;
}

// Heap bytes in use: small chunks (arenas) plus mmapped large blocks.
size_t heap_in_use() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

void free_tx(TxQueue& q) {
  if (!q.empty()) {
    rte_pktmbuf_free_bulk(q.data(), q.size());
    q.consume(q.size());
  }
}

// ---- Frames from the synthesized peer ----------------------------------------------------

// The Ethernet + IPv4 + TCP headers (options included) of a frame the real peer sent.
struct FrameTemplate {
  std::vector<uint8_t> hdr;
  uint16_t tcp_off = 0;
  uint16_t payload = 0;  // what the captured frame carried
};

bool make_template(const std::vector<uint8_t>& f, FrameTemplate* t) {
  if (f.size() < 54 || f[12] != 0x08 || f[13] != 0x00 || f[23] != IPPROTO_TCP) {
    return false;
  }
  const size_t ihl = (f[14] & 0xfu) * 4u;
  const size_t tcp_off = 14 + ihl;
  if (f.size() < tcp_off + 20) {
    return false;
  }
  const size_t doff = (f[tcp_off + 12] >> 4) * 4u;
  const size_t ip_total = (size_t{f[16]} << 8) | f[17];
  if (f.size() < tcp_off + doff || ip_total < ihl + doff) {
    return false;
  }
  t->hdr.assign(f.begin(), f.begin() + static_cast<std::ptrdiff_t>(tcp_off + doff));
  t->tcp_off = static_cast<uint16_t>(tcp_off);
  t->payload = static_cast<uint16_t>(ip_total - ihl - doff);
  return true;
}

// A frame from the template with the given sequence numbers, flags and payload length,
// IPv4 and TCP checksums correct (or, with hw_csum, flagged GOOD as an offloading NIC does).
rte_mbuf* build_frame(rte_mempool* pool, const FrameTemplate& t, uint32_t seq, uint32_t ack,
                      uint8_t flags, uint16_t payload, bool hw_csum) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) {
    return nullptr;
  }
  const auto len = static_cast<uint16_t>(t.hdr.size() + payload);
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, len));
  if (p == nullptr) {
    rte_pktmbuf_free(m);
    return nullptr;
  }
  std::memcpy(p, t.hdr.data(), t.hdr.size());
  std::memset(p + t.hdr.size(), static_cast<int>(seq & 0xff), payload);
  auto* ip = reinterpret_cast<rte_ipv4_hdr*>(p + 14);
  ip->total_length = rte_cpu_to_be_16(static_cast<uint16_t>(len - 14));
  ip->hdr_checksum = 0;
  ip->hdr_checksum = rte_ipv4_cksum(ip);
  auto* th = reinterpret_cast<rte_tcp_hdr*>(p + t.tcp_off);
  th->sent_seq = rte_cpu_to_be_32(seq);
  th->recv_ack = rte_cpu_to_be_32(ack);
  th->tcp_flags = flags;
  th->cksum = 0;
  th->cksum = rte_ipv4_udptcp_cksum(ip, th);
  if (hw_csum) {
    m->ol_flags |= RTE_MBUF_F_RX_IP_CKSUM_GOOD | RTE_MBUF_F_RX_L4_CKSUM_GOOD;
  }
  return m;
}

// ---- Two stacks on the wire --------------------------------------------------------------

// An application: counts connections, discards what it receives (free + release), sends
// `to_send` bytes of unfilled mbufs on `sending`, and closes on request.
class Endpoint : public Handler {
 public:
  explicit Endpoint(rte_mempool* pool) : pool_(pool) {}

  void on_connected(Connection* c) noexcept override {
    connected++;
    last = c;
    if (close_on_connect) {
      tcp->close(c);
    }
  }
  void on_data(Connection* c, rte_mbuf* chain, uint32_t len) noexcept override {
    rx_bytes += len;
    rte_pktmbuf_free(chain);
    tcp->release(c, len);
  }
  void on_writable(Connection* c) noexcept override {
    if (c == sending) {
      send_more();
    }
  }
  void on_peer_closed(Connection* c) noexcept override {
    if (close_on_peer_fin) {
      tcp->close(c);
    }
  }
  void on_closed(Connection* c, CloseReason why) noexcept override {
    closed++;
    if (why != CloseReason::kNormal) {
      abnormal++;
    }
    if (c == last) {
      last = nullptr;
    }
    if (c == sending) {
      sending = nullptr;
    }
  }

  void send(Connection* c, uint64_t bytes) {
    sending = c;
    to_send += bytes;
    send_more();
  }
  void send_more() {
    while (sending != nullptr && to_send > 0) {
      const auto n = static_cast<uint32_t>(
          std::min<uint64_t>({to_send, tcp->send_space(sending), 16384}));
      if (n == 0) {
        return;  // on_writable follows
      }
      rte_mbuf* head = nullptr;
      for (uint32_t done = 0; done < n;) {
        const uint32_t k = std::min(n - done, kMbufData);
        rte_mbuf* m = rte_pktmbuf_alloc(pool_);
        if (m == nullptr || rte_pktmbuf_append(m, static_cast<uint16_t>(k)) == nullptr) {
          rte_pktmbuf_free(m);
          rte_pktmbuf_free(head);
          return;  // the run stalls and reports it
        }
        if (head == nullptr) {
          head = m;
        } else {
          rte_pktmbuf_chain(head, m);
        }
        done += k;
      }
      if (!tcp->send(sending, head).ok()) {
        rte_pktmbuf_free(head);
        return;
      }
      to_send -= n;
    }
  }

  Tcp* tcp = nullptr;
  Connection* last = nullptr;  // the latest connection reported connected
  Connection* sending = nullptr;
  uint64_t to_send = 0;
  uint64_t connected = 0, closed = 0, abnormal = 0, rx_bytes = 0;
  bool close_on_connect = false;
  bool close_on_peer_fin = false;

 private:
  rte_mempool* pool_;
};

TcpConfig bench_config() {
  TcpConfig c;
  c.max_connections = 16384;
  return c;
}

// Stack + Tcp A (10.0.0.1) and B (10.0.0.2) joined by a WirePair with no impairments, on
// a virtual clock that only moves when nothing is in flight and a timer is due.
class Rig {
 public:
  Rig(rte_mempool* pool, const TcpConfig& cfg, bool hw_csum = false) : client(pool), server(pool) {
    PortCaps caps = wire::WirePair::default_caps();
    caps.tx_multi_seg = true;
    caps.rx_ip_cksum = caps.rx_l4_cksum = hw_csum;
    caps.tx_ip_cksum = caps.tx_tcp_cksum = hw_csum;
    wire_ = std::make_unique<wire::WirePair>(pool, kMacA, kMacB, caps);
    wire_->set_clock([this] { return now; });
    StackConfig sa, sb;
    sa.ip = Ipv4Cidr{kIpA, 24};
    sb.ip = Ipv4Cidr{kIpB, 24};
    sa.tx_queue_len = sb.tx_queue_len = 4096;
    a = std::make_unique<Stack>(sa, kMacA, pool, caps);
    b = std::make_unique<Stack>(sb, kMacB, pool, caps);
    const uint8_t ka[16] = {1}, kb[16] = {2};
    ta = std::make_unique<Tcp>(*a, cfg, std::span<const uint8_t, 16>(ka), now);
    tb = std::make_unique<Tcp>(*b, cfg, std::span<const uint8_t, 16>(kb), now);
    client.tcp = ta.get();
    server.tcp = tb.get();
  }
  ~Rig() {
    // Tcp frees its connections without callbacks; then the stacks, then frames in flight.
    ta.reset();
    tb.reset();
    a.reset();
    b.reset();
    wire_.reset();
  }
  Rig(const Rig&) = delete;
  Rig& operator=(const Rig&) = delete;

  // Moves frames both ways at the current time until nothing moves.
  void settle() {
    while (pump(*a, *ta, wire_->a(), &last_at_a) + pump(*b, *tb, wire_->b(), &last_at_b) > 0) {
    }
  }

  // settle(), then jump to the next timer and settle again, until done() or no timer is
  // due within limit_ns.
  template <typename F>
  bool run_until(F&& done, uint64_t limit_ns) {
    const uint64_t end = now + limit_ns;
    for (;;) {
      settle();
      if (done()) {
        return true;
      }
      const uint64_t next = std::min({ta->next_timer_ns(), tb->next_timer_ns(),
                                      a->next_timer_ns(), b->next_timer_ns()});
      if (next > end) {
        return false;
      }
      now = std::max(now + 1, next);
    }
  }

  // Listens on B, connects from A, and (warm_bytes > 0) moves warm_bytes A -> B until all
  // is acknowledged, keeping the last TCP frame each side received as templates.
  bool open(uint64_t warm_bytes) {
    if (!tb->listen(kPort, &server).ok() || !ta->connect(kIpB, kPort, &client, now).ok()) {
      return false;
    }
    capture_ = true;
    bool ok = run_until([&] { return client.connected == 1 && server.connected == 1; }, 10 * kSec);
    if (ok && warm_bytes > 0) {
      client.send(client.last, warm_bytes);
      ok = run_until(
          [&] {
            const ConnectionInfo i = ta->info(client.last);
            return server.rx_bytes == warm_bytes && i.snd_una == i.snd_nxt;
          },
          10 * kSec);
    }
    capture_ = false;
    return ok;
  }

  uint64_t now = 1000 * kMs;
  std::unique_ptr<Stack> a, b;
  std::unique_ptr<Tcp> ta, tb;
  Endpoint client, server;                    // A's and B's application
  std::vector<uint8_t> last_at_a, last_at_b;  // the last TCP frame each side received

 private:
  // One poll iteration of a worker: RX burst(s) into the stack, timers, flush, TX.
  uint32_t pump(Stack& s, Tcp& t, Port& p, std::vector<uint8_t>* last) {
    uint32_t moved = 0;
    rte_mbuf* rx[64];
    for (;;) {
      const uint16_t n = p.rx_burst(0, rx, 64);
      for (uint16_t i = 0; i < n; i++) {
        if (capture_) {
          keep_tcp_frame(rx[i], last);
        }
        s.input(rx[i], now);
      }
      moved += n;
      if (n < 64) {
        break;
      }
    }
    if (now >= t.next_timer_ns()) {
      t.on_timer(now);
    }
    if (now >= s.next_timer_ns()) {
      s.on_timer(now);
    }
    t.flush(now);
    TxQueue& q = s.tx();
    while (!q.empty()) {
      moved += q.size();
      q.consume(p.tx_burst(0, q.data(), static_cast<uint16_t>(std::min<uint32_t>(q.size(), 512))));
    }
    return moved;
  }

  static void keep_tcp_frame(const rte_mbuf* m, std::vector<uint8_t>* out) {
    uint8_t hdr[24];
    const auto* h = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, sizeof(hdr), hdr));
    if (h == nullptr || h[12] != 0x08 || h[13] != 0x00 || h[23] != IPPROTO_TCP) {
      return;
    }
    out->resize(m->pkt_len);
    const auto* all = static_cast<const uint8_t*>(rte_pktmbuf_read(m, 0, m->pkt_len, out->data()));
    if (all != out->data()) {
      std::memcpy(out->data(), all, m->pkt_len);
    }
  }

  std::unique_ptr<wire::WirePair> wire_;
  bool capture_ = false;
};

bool pool_ready(benchmark::State& state, rte_mempool** pool) {
  *pool = bench_pool();
  if (*pool == nullptr) {
    state.SkipWithError("no DPDK EAL / mbuf pool");
    return false;
  }
  return true;
}

// After the rig is gone every mbuf must be back in the pool.
void check_pool(benchmark::State& state, rte_mempool* pool) {
  if (rte_mempool_in_use_count(pool) != 0) {
    state.SkipWithError("mbufs leaked");
  }
}

// ---- Per-segment costs ---------------------------------------------------------------

void rx_segment(benchmark::State& state, bool hw_csum) {
  rte_mempool* pool;
  if (!pool_ready(state, &pool)) {
    return;
  }
  const auto payload = static_cast<uint16_t>(state.range(0));
  uint64_t segs = 0;
  {
    Rig rig(pool, bench_config(), hw_csum);
    FrameTemplate t;
    if (!rig.open(64 * 1024) || !make_template(rig.last_at_b, &t)) {
      state.SkipWithError("connection setup failed");
      return;
    }
    const ConnectionInfo ia = rig.ta->info(rig.client.last);
    uint32_t seq = ia.snd_nxt;
    const uint32_t ack = ia.rcv_nxt;
    Stack& stack = *rig.b;
    Tcp& tcp = *rig.tb;
    TxQueue& q = stack.tx();
    const uint64_t now = rig.now;
    const uint64_t rx_before = rig.server.rx_bytes;
    const uint64_t acks_before = tcp.counters().get(TcpCounter::kSegsOut);
    std::vector<rte_mbuf*> batch(kBatch, nullptr);
    uint32_t next = kBatch;
    for (auto _ : state) {
      if (next == kBatch) {
        state.PauseTiming();
        bool ok = true;
        for (auto& m : batch) {
          m = build_frame(pool, t, seq, ack, kAck | kPsh, payload, hw_csum);
          ok = ok && m != nullptr;
          seq += payload;
        }
        next = 0;
        state.ResumeTiming();
        if (!ok) {
          state.SkipWithError("mbuf pool empty");
          break;
        }
      }
      stack.input(batch[next++], now);
      if (++segs % kBurst == 0) {
        tcp.flush(now);
        free_tx(q);
      }
    }
    tcp.flush(now);
    free_tx(q);
    for (uint32_t i = next; i < kBatch; i++) {
      rte_pktmbuf_free(batch[i]);
    }
    if (rig.server.rx_bytes - rx_before != segs * payload) {
      state.SkipWithError("not every segment was delivered in order");
    }
    if (segs > 0) {
      state.counters["acks_per_seg"] =
          double(tcp.counters().get(TcpCounter::kSegsOut) - acks_before) / double(segs);
    }
  }
  check_pool(state, pool);
  state.SetItemsProcessed(static_cast<int64_t>(segs));
  state.SetBytesProcessed(static_cast<int64_t>(segs * payload));
}

void tx_segment(benchmark::State& state, bool hw_csum) {
  rte_mempool* pool;
  if (!pool_ready(state, &pool)) {
    return;
  }
  const auto payload = static_cast<uint16_t>(state.range(0));
  uint64_t segs = 0, frames = 0;
  {
    Rig rig(pool, bench_config(), hw_csum);
    FrameTemplate t;
    if (!rig.open(1 << 20) || !make_template(rig.last_at_a, &t) || t.payload != 0) {
      state.SkipWithError("connection setup failed");
      return;
    }
    Connection* c = rig.client.last;
    const uint32_t peer_seq = rig.tb->info(rig.server.last).snd_nxt;
    const uint32_t start = rig.ta->info(c).snd_nxt;
    uint32_t acked = start;  // what the last pre-built ACK acknowledges
    Stack& stack = *rig.a;
    Tcp& tcp = *rig.ta;
    TxQueue& q = stack.tx();
    const uint64_t now = rig.now;
    const uint64_t out_before = tcp.counters().get(TcpCounter::kSegsOut);
    const uint64_t rtx_before = tcp.counters().get(TcpCounter::kRetransSegs);
    std::vector<rte_mbuf*> data(kBatch, nullptr), acks(kBatch / 2, nullptr);
    uint32_t next = kBatch;
    for (auto _ : state) {
      if (next == kBatch) {
        state.PauseTiming();
        bool ok = true;
        for (uint32_t i = 0; i < kBatch; i++) {
          rte_mbuf* m = rte_pktmbuf_alloc(pool);
          char* p = m != nullptr ? rte_pktmbuf_append(m, payload) : nullptr;
          if (p != nullptr) {
            std::memset(p, static_cast<int>(i & 0xff), payload);  // the application wrote it
          } else {
            rte_pktmbuf_free(m);
            m = nullptr;
          }
          data[i] = m;
          ok = ok && m != nullptr;
          if (i % 2 == 1) {
            acked += 2u * payload;
            acks[i / 2] = build_frame(pool, t, peer_seq, acked, kAck, 0, hw_csum);
            ok = ok && acks[i / 2] != nullptr;
          }
        }
        next = 0;
        state.ResumeTiming();
        if (!ok) {
          state.SkipWithError("mbuf pool empty");
          break;
        }
      }
      if (!tcp.send(c, data[next]).ok()) {
        state.SkipWithError("send refused");
        break;
      }
      tcp.flush(now);
      if (next % 2 == 1) {
        stack.input(acks[next / 2], now);
      }
      next++;
      if (++segs % kBurst == 0) {
        frames += q.size();
        free_tx(q);
      }
    }
    frames += q.size();
    free_tx(q);
    for (uint32_t i = next; i < kBatch; i++) {
      rte_pktmbuf_free(data[i]);
    }
    for (uint32_t i = next / 2; i < kBatch / 2; i++) {  // ACK j goes in after segment 2j+1
      rte_pktmbuf_free(acks[i]);
    }
    const ConnectionInfo i = tcp.info(c);
    if (frames != segs || tcp.counters().get(TcpCounter::kSegsOut) - out_before != segs ||
        tcp.counters().get(TcpCounter::kRetransSegs) != rtx_before ||
        i.snd_nxt - start != segs * payload || i.snd_una - start != segs / 2 * 2 * payload) {
      state.SkipWithError("segments or ACKs not as expected");
    }
  }
  check_pool(state, pool);
  state.SetItemsProcessed(static_cast<int64_t>(frames));
  state.SetBytesProcessed(static_cast<int64_t>(segs * payload));
}

void BM_TcpRxSegment(benchmark::State& state) { rx_segment(state, false); }
void BM_TcpRxSegmentHwCsum(benchmark::State& state) { rx_segment(state, true); }
void BM_TcpTxSegment(benchmark::State& state) { tx_segment(state, false); }
void BM_TcpTxSegmentHwCsum(benchmark::State& state) { tx_segment(state, true); }
BENCHMARK(BM_TcpRxSegment)->Arg(64)->Arg(1448);
BENCHMARK(BM_TcpRxSegmentHwCsum)->Arg(64)->Arg(1448);
BENCHMARK(BM_TcpTxSegment)->Arg(64)->Arg(1448);
BENCHMARK(BM_TcpTxSegmentHwCsum)->Arg(64)->Arg(1448);

// ---- Connections -------------------------------------------------------------------

void BM_TcpAcceptClose(benchmark::State& state) {
  rte_mempool* pool;
  if (!pool_ready(state, &pool)) {
    return;
  }
  uint64_t cycles = 0;
  {
    TcpConfig cfg = bench_config();
    cfg.time_wait_ms = 1;
    Rig rig(pool, cfg);
    rig.client.close_on_connect = true;
    rig.server.close_on_peer_fin = true;
    if (!rig.tb->listen(kPort, &rig.server).ok()) {
      state.SkipWithError("listen failed");
      return;
    }
    for (auto _ : state) {
      if (!rig.ta->connect(kIpB, kPort, &rig.client, rig.now).ok()) {
        state.SkipWithError("connect failed");
        break;
      }
      const uint64_t want = ++cycles;
      const bool done = rig.run_until(
          [&] {
            return rig.client.closed == want && rig.server.closed == want &&
                   rig.ta->num_connections() == 0 && rig.tb->num_connections() == 0;
          },
          10 * kSec);
      if (!done) {
        state.SkipWithError("a cycle did not complete");
        break;
      }
    }
    if (rig.client.abnormal + rig.server.abnormal != 0) {
      state.SkipWithError("a connection did not close normally");
    }
  }
  check_pool(state, pool);
  state.SetItemsProcessed(static_cast<int64_t>(cycles));
  state.counters["conns_per_s"] = benchmark::Counter(double(cycles), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_TcpAcceptClose);

void BM_TcpBulkWire(benchmark::State& state) {
  rte_mempool* pool;
  if (!pool_ready(state, &pool)) {
    return;
  }
  const auto bytes = static_cast<uint64_t>(state.range(0));
  uint64_t moved = 0, segs = 0, acks = 0, rtx = 0;
  {
    Rig rig(pool, bench_config());
    if (!rig.open(1 << 20)) {
      state.SkipWithError("connection setup failed");
      return;
    }
    const TcpCounters& ca = rig.ta->counters();
    const TcpCounters& cb = rig.tb->counters();
    const uint64_t segs0 = ca.get(TcpCounter::kSegsOut), acks0 = cb.get(TcpCounter::kSegsOut);
    const uint64_t rtx0 = ca.get(TcpCounter::kRetransSegs);
    for (auto _ : state) {
      const uint64_t target = rig.server.rx_bytes + bytes;
      rig.client.send(rig.client.last, bytes);
      if (!rig.run_until([&] { return rig.server.rx_bytes >= target; }, 3600 * kSec)) {
        state.SkipWithError("transfer stalled");
        break;
      }
      moved += bytes;
    }
    segs = ca.get(TcpCounter::kSegsOut) - segs0;
    acks = cb.get(TcpCounter::kSegsOut) - acks0;
    rtx = ca.get(TcpCounter::kRetransSegs) - rtx0;
  }
  check_pool(state, pool);
  state.SetBytesProcessed(static_cast<int64_t>(moved));
  state.SetItemsProcessed(static_cast<int64_t>(segs));
  if (segs > 0) {
    state.counters["acks_per_seg"] = double(acks) / double(segs);
  }
  state.counters["retrans"] = double(rtx);
}
BENCHMARK(BM_TcpBulkWire)->Arg(16 << 20)->Arg(256 << 20);

// ---- Memory per idle connection ---------------------------------------------------------

void BM_TcpIdleConnectionMemory(benchmark::State& state) {
  constexpr uint32_t kConns = 10000;
  rte_mempool* pool;
  if (!pool_ready(state, &pool)) {
    return;
  }
  for (auto _ : state) {
    // What a worker's Tcp costs before any connection (the connection table is sized for
    // max_connections up front).
    size_t fixed = 0;
    {
      StackConfig sc;
      sc.ip = Ipv4Cidr{kIpB, 24};
      Stack s(sc, kMacB, pool, wire::WirePair::default_caps());
      const uint8_t k[16] = {3};
      const size_t h0 = heap_in_use();
      Tcp t(s, bench_config(), std::span<const uint8_t, 16>(k), 0);
      fixed = heap_in_use() - h0;
    }
    Rig rig(pool, bench_config());
    // One connection first, so ARP is resolved and the wire's queues have grown.
    if (!rig.open(0)) {
      state.SkipWithError("connection setup failed");
      break;
    }
    rig.run_until([] { return false; }, 1 * kSec);
    const size_t heap0 = heap_in_use();
    const unsigned mbufs0 = rte_mempool_in_use_count(pool);
    bool ok = true;
    for (uint32_t i = 0; i < kConns && ok; i++) {
      ok = rig.ta->connect(kIpB, kPort, &rig.client, rig.now).ok();
      if (i % 500 == 499) {
        rig.settle();
      }
    }
    ok = ok && rig.run_until(
                   [&] {
                     return rig.client.connected == kConns + 1 && rig.server.connected == kConns + 1;
                   },
                   10 * kSec);
    // Let delayed ACKs and any other timer run out: the connections are idle.
    rig.run_until([] { return false; }, 1 * kSec);
    const size_t heap1 = heap_in_use();
    const unsigned mbufs1 = rte_mempool_in_use_count(pool);
    if (!ok || rig.ta->num_connections() != kConns + 1 || rig.tb->num_connections() != kConns + 1) {
      state.SkipWithError("not every connection was established");
      break;
    }
    // Both ends of each connection are in this process: per endpoint (one TCB).
    const double endpoints = 2.0 * kConns;
    const double heap_per = double(heap1 - heap0) / endpoints;
    const double mbufs_per = (double(mbufs1) - double(mbufs0)) / endpoints;
    state.counters["heap_bytes_per_conn"] = heap_per;
    state.counters["mbufs_per_conn"] = mbufs_per;
    state.counters["bytes_per_conn"] = heap_per + mbufs_per * double(mbuf_footprint(pool));
    state.counters["sizeof_tcb"] = double(sizeof(Connection));
    state.counters["worker_fixed_bytes"] = double(fixed);
    state.counters["conns"] = double(kConns);
  }
  check_pool(state, pool);
}
BENCHMARK(BM_TcpIdleConnectionMemory)->Iterations(1);

}  // namespace
}  // namespace linetls::net::tcp
