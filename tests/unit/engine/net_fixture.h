// An in-process network for engine tests: no root, no TAP, virtual time.
//
//        side A of one wire::WirePair                      side B
//   +------------------------------------+                +----------------------+
//   | HostStack 10.98.0.1 (clients)      |                |                      |
//   | HostStack 10.98.0.3 (backends) ... | <-- wire --->  | engine::Worker       |
//   +------------------------------------+  impairments   | 10.98.0.2 (services) |
//                                            per direction +----------------------+
//
// The wire has one MAC per side, so every host stack on side A shares kHostMac; NetFixture
// demultiplexes what side A receives: IPv4 by destination address to the matching host
// stack, ARP (requests and replies alike) to every host stack (each answers only for its own
// address), anything else counted and dropped. Each host stack is a net::Stack with its own
// net::tcp::Tcp, so tests attach tcp::Handlers to it: PlainPeer below (a pattern source and
// SHA-256 sink, as client or as backend server), TlsClient in tls_client.h.
//
// Time is virtual: poll() advances now() by NetConfig::step_ns (or, when nothing at all is
// moving, straight to the next timer), moves frames, runs the host stacks' input, flush
// and timers, and polls the worker. run_until(pred, max_ns) loops poll() until pred holds.
//
// Ownership: the fixture owns the pools, the wire, the worker, the host stacks and every
// handler given to add(). stop() (also run by the destructor) frees them in a safe order
// (worker and host Tcps first, so no callback reaches a handler that is gone; handlers last)
// and checks that every mbuf is back in its pool.
#pragma once

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <algorithm>
#include <array>
#include <concepts>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "drivers/wire/wire.h"
#include "lib/base/bytes.h"
#include "lib/base/clock.h"
#include "lib/engine/worker.h"
#include "lib/net/stack.h"
#include "lib/net/tcp/tcp.h"

namespace linetls::engine::testing {

inline constexpr uint64_t kUs = 1000;
inline constexpr uint64_t kMs = 1000 * kUs;
inline constexpr uint64_t kSec = 1000 * kMs;

inline constexpr net::MacAddr kHostMac{{0x02, 0, 0, 0, 0x62, 0x01}};    // side A
inline constexpr net::MacAddr kEngineMac{{0x02, 0, 0, 0, 0x62, 0x02}};  // side B
inline constexpr net::Ipv4Addr kClientIp{0x0a620001};                   // 10.98.0.1
inline constexpr net::Ipv4Addr kEngineIp{0x0a620002};                   // 10.98.0.2
inline constexpr net::Ipv4Addr kBackendIp{0x0a620003};                  // 10.98.0.3

// Incremental SHA-256 over libcrypto's EVP interface; hex() of what was fed so far.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void update(std::span<const uint8_t> b) { EVP_DigestUpdate(ctx_, b.data(), b.size()); }
  // Lower-case hex of the digest so far (the context goes on).
  std::string hex() const {
    EVP_MD_CTX* c = EVP_MD_CTX_new();
    EVP_MD_CTX_copy_ex(c, ctx_);
    uint8_t d[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_DigestFinal_ex(c, d, &len);
    EVP_MD_CTX_free(c);
    std::string s;
    for (unsigned i = 0; i < len; i++) {
      static constexpr char kHex[] = "0123456789abcdef";
      s += kHex[d[i] >> 4];
      s += kHex[d[i] & 15];
    }
    return s;
  }

 private:
  EVP_MD_CTX* ctx_;
};

// A deterministic byte stream per seed: byte i is table[i % kPeriod] of a seeded table.
// The period is prime, so it lines up with no segment, record or chunk size: a chunk lost,
// repeated or reordered anywhere changes the SHA-256 of the stream.
class Pattern {
 public:
  static constexpr size_t kPeriod = 4093;

  explicit Pattern(uint64_t seed) {
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 0x2545f4914f6cdd1dull;
    for (uint8_t& b : table_) {
      x ^= x >> 12;
      x ^= x << 25;
      x ^= x >> 27;
      b = static_cast<uint8_t>((x * 0x2545f4914f6cdd1dull) >> 56);
    }
  }
  uint8_t at(uint64_t i) const { return table_[i % kPeriod]; }
  // Writes bytes [offset, offset + out.size()) of the stream into out.
  void fill(uint64_t offset, std::span<uint8_t> out) const {
    size_t done = 0;
    while (done < out.size()) {
      const size_t at = (offset + done) % kPeriod;
      const size_t n = std::min(out.size() - done, kPeriod - at);
      std::memcpy(out.data() + done, table_.data() + at, n);
      done += n;
    }
  }
  // SHA-256 (hex) of the first n bytes of the stream.
  std::string digest(uint64_t n) const {
    Sha256 h;
    std::vector<uint8_t> buf(64 * 1024);
    for (uint64_t off = 0; off < n; off += buf.size()) {
      const size_t k = static_cast<size_t>(std::min<uint64_t>(buf.size(), n - off));
      fill(off, std::span(buf.data(), k));
      h.update(std::span(buf.data(), k));
    }
    return h.hex();
  }

 private:
  std::array<uint8_t, kPeriod> table_{};
};

// SHA-256 (hex) of one byte string.
inline std::string sha256_hex(std::span<const uint8_t> b) {
  Sha256 h;
  h.update(b);
  return h.hex();
}

// Copies data into a chain of mbufs from pool (as much as fits in each); nullptr when the
// pool runs dry (nothing leaks).
inline rte_mbuf* mbuf_chain(rte_mempool* pool, std::span<const uint8_t> data) {
  rte_mbuf* head = nullptr;
  size_t done = 0;
  while (done < data.size()) {
    rte_mbuf* m = rte_pktmbuf_alloc(pool);
    if (m == nullptr) {
      rte_pktmbuf_free(head);
      return nullptr;
    }
    const uint16_t n =
        static_cast<uint16_t>(std::min<size_t>(data.size() - done, rte_pktmbuf_tailroom(m)));
    std::memcpy(rte_pktmbuf_append(m, n), data.data() + done, n);
    done += n;
    if (head == nullptr) {
      head = m;
    } else if (rte_pktmbuf_chain(head, m) != 0) {
      rte_pktmbuf_free(m);
      rte_pktmbuf_free(head);
      return nullptr;
    }
  }
  return head;
}

// A tcp::Handler the fixture owns (NetFixture::add) and polls once per iteration, to retry
// what waited for something other than TCP (an empty pool).
class HostHandler : public net::tcp::Handler {
 public:
  virtual void poll() noexcept {}
};

// One host on side A: a Stack and its Tcp. Handlers are attached through tcp().
class HostStack {
 public:
  HostStack(net::Ipv4Addr ip, rte_mempool* pool, const net::PortCaps& caps,
            const net::tcp::TcpConfig& tcp_cfg, uint64_t now_ns)
      : ip_(ip), pool_(pool) {
    net::StackConfig sc;
    sc.ip = net::Ipv4Cidr{ip, 24};
    sc.tx_queue_len = 8192;
    stack_ = std::make_unique<net::Stack>(sc, kHostMac, pool, caps);
    std::array<uint8_t, 16> secret{};
    secret[0] = static_cast<uint8_t>(ip.v);
    secret[1] = 0x5a;
    tcp_ = std::make_unique<net::tcp::Tcp>(*stack_, tcp_cfg, secret, now_ns);
  }
  HostStack(const HostStack&) = delete;
  HostStack& operator=(const HostStack&) = delete;

  net::Ipv4Addr ip() const { return ip_; }
  net::Stack& stack() { return *stack_; }
  net::tcp::Tcp& tcp() { return *tcp_; }
  const net::tcp::Tcp& tcp() const { return *tcp_; }
  rte_mempool* pool() { return pool_; }

  // Frees every connection without callbacks (the fixture's stop(), before the handlers go).
  void drop_tcp() { tcp_.reset(); }

 private:
  net::Ipv4Addr ip_;
  rte_mempool* pool_;
  std::unique_ptr<net::Stack> stack_;
  std::unique_ptr<net::tcp::Tcp> tcp_;
};

struct NetConfig {
  // The engine: its services and, for tls:APP services, its TLS settings (record_pool is
  // filled in by the fixture; see default_tls_settings() in tls_client.h).
  std::vector<ServiceSpec> services;
  TlsSettings tls;
  net::tcp::TcpConfig engine_tcp;
  // The hosts on side A; the first is client(), the second (if any) backend().
  std::vector<net::Ipv4Addr> hosts = {kClientIp, kBackendIp};
  net::tcp::TcpConfig host_tcp;
  net::PortCaps caps = [] {
    net::PortCaps c = wire::WirePair::default_caps();
    c.tx_multi_seg = true;
    return c;
  }();
  wire::Impairments to_engine;           // A -> B
  wire::Impairments from_engine;         // B -> A
  uint64_t step_ns = 100 * kUs;          // virtual time per poll() while anything moves
  uint64_t max_idle_jump_ns = 50 * kMs;  // the most an idle poll() skips ahead
  unsigned pool_mbufs = 16383;           // the port pool (every stack allocates from it)
  unsigned record_mbufs = 1023;          // the engine's big-record pool (tls: services only)
};

class NetFixture {
 public:
  NetFixture() = default;
  ~NetFixture() { stop(); }
  NetFixture(const NetFixture&) = delete;
  NetFixture& operator=(const NetFixture&) = delete;

  // Builds everything; fails the test (fatally: call it under ASSERT_NO_FATAL_FAILURE) if a
  // pool or the worker cannot be made.
  void start(NetConfig cfg) {
    ASSERT_EQ(pool_, nullptr) << "start() twice";
    cfg_ = std::move(cfg);
    static int serial = 0;
    const std::string tag = std::to_string(serial++);
    pool_ = rte_pktmbuf_pool_create(("nf_port" + tag).c_str(), cfg_.pool_mbufs, 0, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr) << "port pool";
    const bool tls = std::any_of(cfg_.services.begin(), cfg_.services.end(),
                                 [](const ServiceSpec& s) { return s.tls; });
    if (tls) {
      // Records of up to 2^14 content bytes plus header, inner type and tag in one mbuf.
      constexpr uint16_t kRecordRoom = RTE_PKTMBUF_HEADROOM + 16384 + 64;
      record_pool_ = rte_pktmbuf_pool_create(("nf_rec" + tag).c_str(), cfg_.record_mbufs, 0, 0,
                                             kRecordRoom, SOCKET_ID_ANY);
      ASSERT_NE(record_pool_, nullptr) << "record pool";
      cfg_.tls.record_pool = record_pool_;
    }
    wire_ = std::make_unique<wire::WirePair>(pool_, kHostMac, kEngineMac, cfg_.caps);
    wire_->set_clock([this] { return now_; });
    wire_->set_impairments(wire::Direction::kAtoB, cfg_.to_engine);
    wire_->set_impairments(wire::Direction::kBtoA, cfg_.from_engine);
    WorkerConfig wc;
    wc.burst = 256;
    wc.stack.ip = net::Ipv4Cidr{kEngineIp, 24};
    wc.stack.tx_queue_len = 8192;
    wc.tcp = cfg_.engine_tcp;
    wc.services = cfg_.services;
    wc.tls = cfg_.tls;
    auto w = Worker::create(wc, wire_->b());
    ASSERT_TRUE(w.ok()) << w.error();
    worker_ = std::move(w).value();
    // The worker's Tcp timer wheel (and its TLS engine) start at the monotonic clock: virtual
    // time starts there too, so no timer is ever armed in the wheel's past.
    now_ = monotonic_ns();
    for (net::Ipv4Addr ip : cfg_.hosts) {
      hosts_.push_back(std::make_unique<HostStack>(ip, pool_, cfg_.caps, cfg_.host_tcp, now_));
    }
  }

  // Frees everything (idempotent) and checks that every mbuf came back.
  void stop() {
    if (pool_ == nullptr) {
      return;
    }
    worker_.reset();  // its Tcp frees the engine's connections without callbacks
    for (auto& h : hosts_) {
      h->drop_tcp();  // likewise: no callback reaches a handler after this
    }
    hosts_.clear();
    handlers_.clear();
    wire_.reset();
    EXPECT_EQ(rte_mempool_avail_count(pool_), cfg_.pool_mbufs) << "port pool: mbufs leaked";
    rte_mempool_free(pool_);
    pool_ = nullptr;
    if (record_pool_ != nullptr) {
      EXPECT_EQ(rte_mempool_avail_count(record_pool_), cfg_.record_mbufs)
          << "record pool: mbufs leaked";
      rte_mempool_free(record_pool_);
      record_pool_ = nullptr;
    }
  }

  // ---- The pieces.
  Worker& engine() { return *worker_; }
  const Worker& engine() const { return *worker_; }
  // The host at ip (which must be one of NetConfig::hosts).
  HostStack& host(net::Ipv4Addr ip) {
    for (auto& h : hosts_) {
      if (h->ip() == ip) {
        return *h;
      }
    }
    ADD_FAILURE() << "no host " << ip.str();
    std::abort();
  }
  HostStack& client() { return *hosts_.at(0); }
  HostStack& backend() { return *hosts_.at(1); }
  wire::WirePair& wire() { return *wire_; }
  rte_mempool* pool() { return pool_; }
  uint64_t now() const { return now_; }
  const NetConfig& config() const { return cfg_; }
  // Frames side A received that no host stack takes (an IPv4 destination we do not have,
  // neither IPv4 nor ARP).
  uint64_t unclaimed_frames() const { return unclaimed_; }

  // Takes ownership of a handler (a PlainPeer, a TlsClient, ...) so it outlives every
  // connection that may call it; returns it.
  template <typename H>
  H& add(std::unique_ptr<H> h) {
    static_assert(std::derived_from<H, HostHandler>);
    H& ref = *h;
    handlers_.push_back(std::move(h));
    return ref;
  }

  // ---- Running.

  // One iteration: advance time, deliver side A's frames, run the host stacks, poll the
  // worker. Returns true if anything moved.
  bool poll() {
    if (idle_) {
      now_ = std::max(now_ + cfg_.step_ns, std::min(next_timer_ns(), now_ + cfg_.max_idle_jump_ns));
    } else {
      now_ += cfg_.step_ns;
    }
    bool moved = false;
    rte_mbuf* rx[64];
    for (;;) {
      const uint16_t n = wire_->a().rx_burst(0, rx, 64);
      for (uint16_t i = 0; i < n; i++) {
        deliver(rx[i]);
      }
      moved |= n != 0;
      if (n < 64) {
        break;
      }
    }
    for (auto& h : handlers_) {
      h->poll();
    }
    for (auto& h : hosts_) {
      moved |= run_host(*h);
    }
    for (int i = 0; i < 8 && engine_poll(); i++) {
      moved = true;
    }
    idle_ = !moved && wire_->in_flight(wire::Direction::kAtoB) == 0 &&
            wire_->in_flight(wire::Direction::kBtoA) == 0;
    return moved;
  }

  // Heap bytes the engine's poll_once() calls allocated net of what they freed, counted
  // while count_engine_heap(true): mallinfo2() around each call (the test is one thread,
  // and only the engine runs inside poll_once).
  void count_engine_heap(bool on) { count_heap_ = on; }
  int64_t engine_heap() const { return engine_heap_; }

  // Polls until pred() holds (true) or max_ns of virtual time went by (false).
  bool run_until(const std::function<bool()>& pred, uint64_t max_ns) {
    const uint64_t end = now_ + max_ns;
    while (!pred()) {
      if (now_ >= end) {
        return false;
      }
      poll();
    }
    return true;
  }
  void run_for(uint64_t ns) {
    const uint64_t end = now_ + ns;
    while (now_ < end) {
      poll();
    }
  }
  // Polls until no TCP connection is left anywhere (TIME_WAIT included); false on timeout.
  bool run_until_no_connections(uint64_t max_ns) {
    return run_until(
        [this] {
          uint32_t n = worker_->tcp().num_connections();
          for (auto& h : hosts_) {
            n += h->tcp().num_connections();
          }
          return n == 0;
        },
        max_ns);
  }

 private:
  // The earliest timer of any stack or Tcp (UINT64_MAX when none).
  uint64_t next_timer_ns() const {
    uint64_t t = std::min(worker_->stack().next_timer_ns(), worker_->tcp().next_timer_ns());
    for (const auto& h : hosts_) {
      t = std::min({t, h->stack().next_timer_ns(), h->tcp().next_timer_ns()});
    }
    return t;
  }

  void deliver(rte_mbuf* m) {
    const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
    const uint16_t type = m->data_len >= 14 ? load_be16(p + 12) : 0;
    if (type == 0x0800 && m->data_len >= 34) {
      const net::Ipv4Addr dst{load_be32(p + 30)};
      for (auto& h : hosts_) {
        if (h->ip() == dst) {
          h->stack().input(m, now_);
          return;
        }
      }
    } else if (type == 0x0806) {
      // One broadcast domain: every host sees every ARP frame (a private copy each, since
      // a stack may turn a request into its reply in place).
      for (size_t i = 0; i + 1 < hosts_.size(); i++) {
        rte_mbuf* c = rte_pktmbuf_copy(m, pool_, 0, UINT32_MAX);
        if (c != nullptr) {
          hosts_[i]->stack().input(c, now_);
        }
      }
      hosts_.back()->stack().input(m, now_);
      return;
    }
    unclaimed_++;
    rte_pktmbuf_free(m);
  }

  // Flush, timers, TX drain for one host; true if it sent anything.
  bool run_host(HostStack& h) {
    net::tcp::Tcp& t = h.tcp();
    net::Stack& s = h.stack();
    t.flush(now_);
    if (now_ >= s.next_timer_ns()) {
      s.on_timer(now_);
    }
    if (now_ >= t.next_timer_ns()) {
      t.on_timer(now_);
      t.flush(now_);
    }
    net::TxQueue& q = s.tx();
    const bool sent = !q.empty();
    while (!q.empty()) {
      const uint16_t n = static_cast<uint16_t>(std::min<uint32_t>(q.size(), 1024));
      q.consume(wire_->a().tx_burst(0, q.data(), n));
    }
    return sent;
  }

  NetConfig cfg_;
  rte_mempool* pool_ = nullptr;
  rte_mempool* record_pool_ = nullptr;
  std::unique_ptr<wire::WirePair> wire_;
  std::unique_ptr<Worker> worker_;
  std::vector<std::unique_ptr<HostStack>> hosts_;
  std::vector<std::unique_ptr<HostHandler>> handlers_;
  uint64_t now_ = 0;
  bool engine_poll() {
    if (!count_heap_) {
      return worker_->poll_once(now_);
    }
    const size_t before = mallinfo2().uordblks;
    const bool worked = worker_->poll_once(now_);
    engine_heap_ += static_cast<int64_t>(mallinfo2().uordblks) - static_cast<int64_t>(before);
    return worked;
  }

  bool idle_ = false;
  bool count_heap_ = false;
  int64_t engine_heap_ = 0;
  uint64_t unclaimed_ = 0;
};

// ---- A plain TCP endpoint: clients of plain services, backend servers for the proxy.

// What a PlainPeer does on each of its connections.
struct PeerPlan {
  std::vector<uint8_t> greeting;  // sent first
  uint64_t send_bytes = 0;        // then this many bytes of Pattern(seed)
  uint64_t seed = 1;
  bool shutdown_when_sent = true;    // FIN once everything above is queued
  bool shutdown_on_peer_fin = true;  // or: FIN (after everything) once the peer's FIN came
  bool reading = true;               // false: never release() what arrives (the window closes)
  size_t keep_bytes = 4096;          // received bytes kept verbatim (everything is hashed)
};

// One connection of a PlainPeer, as the test sees it.
struct PeerConn {
  net::tcp::Connection* tcp = nullptr;  // nullptr once closed
  bool connected = false;
  bool reading = true;
  uint64_t sent = 0;  // bytes handed to TCP (greeting + pattern)
  uint64_t received = 0;
  uint64_t unreleased = 0;  // received, not yet release()d (while not reading)
  Sha256 sent_hash;
  Sha256 received_hash;
  std::vector<uint8_t> kept;  // the first keep_bytes received
  bool fin_sent = false;
  bool peer_fin = false;
  bool closed = false;
  net::tcp::CloseReason reason = net::tcp::CloseReason::kNormal;
  bool starved = false;  // the pool ran dry mid-send: poll() retries
};

// A tcp::Handler on one Tcp (a host stack's, or the engine's own for fixture tests) serving
// any number of connections, passive (listen(): a backend server) or active (connect(): a
// client). Each connection sends its plan's bytes (greeting, then the pattern), hashes what
// it receives and closes as the plan says; the test can stop reading, reset or shut down
// any connection.
class PlainPeer final : public HostHandler {
 public:
  PlainPeer(net::tcp::Tcp& tcp, rte_mempool* pool, PeerPlan plan)
      : tcp_(tcp), pool_(pool), plan_(std::move(plan)) {}
  PlainPeer(HostStack& host, PeerPlan plan) : PlainPeer(host.tcp(), host.pool(), std::move(plan)) {}

  bool listen(uint16_t port) { return tcp_.listen(port, this).ok(); }
  // Active open; nullptr if TCP refused to start one. The PeerConn lives as long as this.
  PeerConn* connect(net::Ipv4Addr dst, uint16_t port, uint64_t now_ns) {
    auto c = tcp_.connect(dst, port, this, now_ns);
    if (!c) {
      return nullptr;
    }
    return adopt(*c);
  }

  // Every connection so far, in the order they were made or accepted.
  const std::vector<std::unique_ptr<PeerConn>>& conns() const { return conns_; }
  PeerConn& conn(size_t i) { return *conns_.at(i); }
  size_t num_closed() const {
    return static_cast<size_t>(
        std::count_if(conns_.begin(), conns_.end(), [](const auto& c) { return c->closed; }));
  }

  // ---- Hooks.
  // Stops (false) or resumes (true) releasing received bytes; resuming releases what is held.
  void set_reading(PeerConn& c, bool on) {
    c.reading = on;
    if (on && c.tcp != nullptr && c.unreleased != 0) {
      tcp_.release(c.tcp, static_cast<uint32_t>(c.unreleased));
      c.unreleased = 0;
    }
  }
  // RST now (on_closed(kAborted) runs before this returns).
  void reset(PeerConn& c) {
    if (c.tcp != nullptr) {
      tcp_.abort(c.tcp);
    }
  }
  // FIN after what is queued; the rest of the plan is not sent.
  void shutdown(PeerConn& c) {
    if (c.tcp != nullptr && !c.fin_sent) {
      c.fin_sent = true;
      tcp_.shutdown(c.tcp);
    }
  }

  // ---- HostHandler.
  void on_connected(net::tcp::Connection* c) noexcept override {
    auto* pc = static_cast<PeerConn*>(tcp_.user_data(c));
    if (pc == nullptr) {
      pc = adopt(c);  // accepted
    }
    pc->connected = true;
    pump(*pc);
  }
  void on_data(net::tcp::Connection* c, rte_mbuf* chain, uint32_t len) noexcept override {
    auto* pc = static_cast<PeerConn*>(tcp_.user_data(c));
    for (rte_mbuf* s = chain; s != nullptr; s = s->next) {
      const std::span<const uint8_t> b(rte_pktmbuf_mtod(s, const uint8_t*), s->data_len);
      pc->received_hash.update(b);
      const size_t room = plan_.keep_bytes - std::min(plan_.keep_bytes, pc->kept.size());
      pc->kept.insert(pc->kept.end(), b.begin(),
                      b.begin() + static_cast<std::ptrdiff_t>(std::min(room, b.size())));
    }
    pc->received += len;
    rte_pktmbuf_free(chain);
    if (pc->reading) {
      tcp_.release(c, len);
    } else {
      pc->unreleased += len;
    }
  }
  void on_writable(net::tcp::Connection* c) noexcept override {
    pump(*static_cast<PeerConn*>(tcp_.user_data(c)));
  }
  void on_peer_closed(net::tcp::Connection* c) noexcept override {
    auto* pc = static_cast<PeerConn*>(tcp_.user_data(c));
    pc->peer_fin = true;
    pump(*pc);
  }
  void on_closed(net::tcp::Connection* c, net::tcp::CloseReason why) noexcept override {
    auto* pc = static_cast<PeerConn*>(tcp_.user_data(c));
    pc->closed = true;
    pc->reason = why;
    pc->tcp = nullptr;
  }
  void poll() noexcept override {
    for (auto& c : conns_) {
      if (c->starved) {
        pump(*c);
      }
    }
  }

 private:
  uint64_t total() const { return plan_.greeting.size() + plan_.send_bytes; }

  PeerConn* adopt(net::tcp::Connection* c) {
    conns_.push_back(std::make_unique<PeerConn>());
    PeerConn* pc = conns_.back().get();
    pc->tcp = c;
    pc->reading = plan_.reading;
    tcp_.set_user_data(c, pc);
    return pc;
  }

  void pump(PeerConn& c) {
    c.starved = false;
    while (c.tcp != nullptr && !c.fin_sent && c.sent < total()) {
      const uint64_t n = std::min<uint64_t>({total() - c.sent, tcp_.send_space(c.tcp), 64 * 1024});
      if (n == 0) {
        break;  // on_writable resumes
      }
      scratch_.resize(static_cast<size_t>(n));
      size_t i = 0;
      for (; i < n && c.sent + i < plan_.greeting.size(); i++) {
        scratch_[i] = plan_.greeting[c.sent + i];
      }
      if (i < n) {
        pattern_.fill(c.sent + i - plan_.greeting.size(),
                      std::span(scratch_.data() + i, static_cast<size_t>(n) - i));
      }
      rte_mbuf* m = mbuf_chain(pool_, scratch_);
      if (m == nullptr) {
        c.starved = true;
        return;
      }
      if (!tcp_.send(c.tcp, m).ok()) {
        ADD_FAILURE() << "send refused within send_space";
        rte_pktmbuf_free(m);
        return;
      }
      c.sent_hash.update(scratch_);
      c.sent += n;
    }
    if (c.tcp != nullptr && !c.fin_sent && c.sent == total() &&
        (plan_.shutdown_when_sent || (plan_.shutdown_on_peer_fin && c.peer_fin))) {
      c.fin_sent = true;
      tcp_.shutdown(c.tcp);
    }
  }

  net::tcp::Tcp& tcp_;
  rte_mempool* pool_;
  PeerPlan plan_;
  Pattern pattern_{plan_.seed};
  std::vector<std::unique_ptr<PeerConn>> conns_;
  std::vector<uint8_t> scratch_;
};

}  // namespace linetls::engine::testing
