#include "lib/engine/worker.h"

#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <sys/random.h>
#include <time.h>
#include <x86intrin.h>

#include <algorithm>

#include "lib/base/clock.h"
#include "lib/net/rss.h"

namespace linetls::engine {

namespace {
std::array<uint8_t, 16> random_secret() {
  std::array<uint8_t, 16> k{};
  size_t got = 0;
  while (got < k.size()) {
    const ssize_t n = getrandom(k.data() + got, k.size() - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    }
  }
  return k;
}
}  // namespace

Worker::Worker(const WorkerConfig& cfg, net::Port& port)
    : cfg_(cfg),
      port_(port),
      stack_(std::make_unique<net::Stack>(cfg.stack, port.mac(), port.pktmbuf_pool(cfg.id),
                                          port.caps())),
      timers_(cfg.start_ns != 0 ? cfg.start_ns : monotonic_ns()),
      now_ns_(cfg.start_ns != 0 ? cfg.start_ns : monotonic_ns()) {
  const std::array<uint8_t, 16> secret = random_secret();
  tcp_ = std::make_unique<net::tcp::Tcp>(*stack_, cfg.tcp, secret, now_ns_, cfg.id,
                                         cfg.num_queues);
  stack_->set_l4_handler(6, tcp_.get());
  tcp_streams_ = std::make_unique<TcpStreams>(*tcp_, port.pktmbuf_pool(cfg.id), timers_);
}

Worker::~Worker() {
  for (std::vector<rte_mbuf*>& b : soft_tx_) {
    for (rte_mbuf* m : b) {
      rte_pktmbuf_free(m);
    }
  }
  // TCP first: it frees connections without callbacks; then the streams over them, then
  // the apps (which cancel their timers on the wheel, a member that goes last).
  stack_->set_l4_handler(6, nullptr);
  tcp_.reset();
  // Apps hear of every stream still open (kAborted) once no stream can reach TCP.
  tcp_streams_->detach();
  if (tls_ != nullptr) {
    tls_->detach();
  }
  tcp_streams_->end_all();
  if (tls_ != nullptr) {
    tls_->end_all();
  }
  tls_.reset();
  tcp_streams_.reset();
  apps_.clear();
}

rte_mempool* Worker::pool() const noexcept { return port_.pktmbuf_pool(cfg_.id); }

Result<Stream*, std::string_view> Worker::connect(net::Ipv4Addr dst, uint16_t port, App* app,
                                                  uint32_t timeout_ms) noexcept {
  return tcp_streams_->connect(dst, port, app, timeout_ms, now_ns_);
}

Result<Stream*, std::string_view> Worker::connect_tls(net::Ipv4Addr dst, uint16_t port, App* app,
                                                      uint32_t timeout_ms,
                                                      const tls::ClientSessionConfig& config) noexcept {
  if (tls_ == nullptr) {
    return fail(std::string_view("no TLS client on this worker"));
  }
  return tls_->connect(dst, port, app, timeout_ms, config, now_ns_);
}

Result<std::unique_ptr<Worker>, std::string> Worker::create(const WorkerConfig& cfg,
                                                            net::Port& port) {
  std::unique_ptr<Worker> w(new Worker(cfg, port));
  if (cfg.tls_client) {
    auto t = TlsEngine::create(cfg.tls, *w->tcp_, port.pktmbuf_pool(cfg.id));
    if (!t) {
      return fail(t.error());
    }
    w->tls_ = std::move(t).value();
  }
  for (const ServiceSpec& svc : cfg.services) {
    if (svc.app == AppKind::kProxy && svc.proxy.backends.empty()) {
      return fail("--serve " + std::to_string(svc.port) + ": a proxy needs a backend");
    }
    w->apps_.push_back(make_app(svc, *w));
    App* app = w->apps_.back().get();
    net::tcp::Handler* handler = nullptr;
    if (svc.tls) {
      if (w->tls_ == nullptr) {
        auto t = TlsEngine::create(cfg.tls, *w->tcp_, port.pktmbuf_pool(cfg.id));
        if (!t) {
          return fail(t.error());
        }
        w->tls_ = std::move(t).value();
      }
      handler = w->tls_->listener(app, svc.tls_profile);
      if (handler == nullptr) {
        return fail("--serve " + std::to_string(svc.port) + "=" + to_string(svc) +
                    ": no TLS profile " + std::to_string(svc.tls_profile));
      }
    } else {
      handler = w->tcp_streams_->listener(app);
    }
    if (auto r = w->tcp_->listen(svc.port, handler, svc.idle_timeout_ms); !r) {
      return fail("--serve " + std::to_string(svc.port) + "=" + to_string(svc) + ": " +
                  std::string(net::tcp::to_string(r.error())));
    }
  }
  return w;
}

bool Worker::drain_tx() noexcept {
  net::TxQueue& q = stack_->tx();
  if (cfg_.soft_rss_queues > 1) {
    // Each frame to its flow's queue, in order per queue (so per flow); what a queue does not
    // take waits for the next loop in that queue's list.
    if (soft_tx_.empty()) {
      soft_tx_.resize(cfg_.soft_rss_queues);
    }
    for (uint32_t i = 0; i < q.size(); i++) {
      rte_mbuf* m = q.data()[i];
      soft_tx_[net::rss_queue_of_frame(m, cfg_.soft_rss_queues)].push_back(m);
    }
    q.consume(static_cast<uint32_t>(q.size()));
    bool sent_any = false;
    for (uint16_t qi = 0; qi < cfg_.soft_rss_queues; qi++) {
      std::vector<rte_mbuf*>& b = soft_tx_[qi];
      if (b.empty()) {
        continue;
      }
      const uint16_t offered = static_cast<uint16_t>(std::min<size_t>(b.size(), 0xffff));
      const uint16_t sent = port_.tx_burst(qi, b.data(), offered);
      b.erase(b.begin(), b.begin() + sent);
      counters_.inc(WorkerCounter::kTxFrames, sent);
      if (sent < offered) {
        counters_.inc(WorkerCounter::kTxRetries);
      }
      sent_any |= sent != 0;
    }
    return sent_any;
  }
  if (q.empty()) {
    return false;
  }
  const uint16_t offered = static_cast<uint16_t>(q.size() > 0xffff ? 0xffff : q.size());
  const uint16_t sent = port_.tx_burst(cfg_.id, q.data(), offered);
  q.consume(sent);
  counters_.inc(WorkerCounter::kTxFrames, sent);
  if (sent < offered) {
    counters_.inc(WorkerCounter::kTxRetries);  // the rest stays queued for the next loop
  }
  return sent != 0;
}

void Worker::set_arp_peers(rte_ring* inbox, std::vector<rte_ring*> peers) {
  arp_inbox_ = inbox;
  arp_peers_ = std::move(peers);
}

void Worker::mirror_arp(rte_mbuf* m) noexcept {
  if (rte_pktmbuf_data_len(m) < 14) {
    return;
  }
  const auto* eth = rte_pktmbuf_mtod(m, const uint8_t*);
  if (eth[12] != 0x08 || eth[13] != 0x06) {
    return;
  }
  for (rte_ring* peer : arp_peers_) {
    // A clone shares the data read-only; arp_learn() never writes to it.
    rte_mbuf* c = rte_pktmbuf_clone(m, m->pool);
    if (c == nullptr || rte_ring_mp_enqueue(peer, c) != 0) {
      rte_pktmbuf_free(c);
      counters_.inc(WorkerCounter::kArpMirrorDropped);
      continue;
    }
    counters_.inc(WorkerCounter::kArpMirrorSent);
  }
}

bool Worker::drain_arp_inbox(uint64_t now_ns) noexcept {
  if (arp_inbox_ == nullptr) {
    return false;
  }
  void* objs[32];
  const unsigned n = rte_ring_sc_dequeue_burst(arp_inbox_, objs, 32, nullptr);
  for (unsigned i = 0; i < n; i++) {
    stack_->arp_learn(static_cast<rte_mbuf*>(objs[i]), now_ns);
  }
  return n != 0;
}

bool Worker::poll_once(uint64_t now_ns) noexcept {
  now_ns_ = now_ns;
  counters_.inc(WorkerCounter::kLoops);
  bool worked = false;

  // Phase: rx_burst.
  uint64_t t0 = tsc();
  const uint64_t loop_start = t0;
  rte_mbuf* pkts[256];
  const uint16_t burst = cfg_.burst > 256 ? 256 : cfg_.burst;
  uint16_t n = 0;
  if (cfg_.soft_rss_queues > 1) {
    // Every queue of the port is ours: share the burst among them.
    const uint16_t per = static_cast<uint16_t>(std::max(1, burst / cfg_.soft_rss_queues));
    for (uint16_t q = 0; q < cfg_.soft_rss_queues && n < burst; q++) {
      n = static_cast<uint16_t>(
          n + port_.rx_burst(q, pkts + n, std::min<uint16_t>(per, static_cast<uint16_t>(burst - n))));
    }
  } else {
    n = port_.rx_burst(cfg_.id, pkts, burst);
  }
  uint64_t t1 = tsc();
  phase_cycles_.inc(Phase::kRx, t1 - t0);

  // Phase: net input (ARP, IPv4, ICMP, TCP input and the application callbacks it runs).
  if (n != 0) {
    worked = true;
    counters_.inc(WorkerCounter::kRxFrames, n);
    for (uint16_t i = 0; i < n; i++) {
      if (i + 1 < n) {
        rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void*));
      }
      if (!arp_peers_.empty()) {
        mirror_arp(pkts[i]);
      }
      stack_->input(pkts[i], now_ns);
    }
    t0 = tsc();
    phase_cycles_.inc(Phase::kNetInput, t0 - t1);
    t1 = t0;
  }

  worked |= drain_arp_inbox(now_ns);

  // Phase: tls_open (every complete record of every connection as one batch per round);
  // the handshake steps and application callbacks it runs count as apps.
  uint64_t app_cycles = 0;
  if (tls_ != nullptr) {
    worked |= tls_->open_phase(now_ns, &app_cycles);
    t0 = tsc();
    phase_cycles_.inc(Phase::kTlsOpen, t0 - t1 - app_cycles);
    t1 = t0;
  }

  // Phase: applications (pulled bytes for plain TCP, work that waited for buffers; TCP
  // callbacks ran during input).
  worked |= tcp_streams_->poll();
  for (auto& app : apps_) {
    worked |= app->poll();
  }
  uint64_t t2 = tsc();
  phase_cycles_.inc(Phase::kApps, t2 - t1 + app_cycles);

  // Phase: tls_seal (every record to send as one batch, then handed to TCP in order).
  if (tls_ != nullptr) {
    worked |= tls_->seal_phase(now_ns);
    t1 = tsc();
    phase_cycles_.inc(Phase::kTlsSeal, t1 - t2);
    t2 = t1;
  }

  // Phase: TCP output (what apps queued, pending ACKs).
  tcp_->flush(now_ns);
  t1 = tsc();
  phase_cycles_.inc(Phase::kTcpOutput, t1 - t2);

  // Phase: tx drain.
  worked |= drain_tx();
  t0 = tsc();
  phase_cycles_.inc(Phase::kTx, t0 - t1);

  // Phase: timers, when due. Asked every loop: input above may have armed a new one.
  if (now_ns >= stack_->next_timer_ns() || now_ns >= tcp_->next_timer_ns()) {
    stack_->on_timer(now_ns);
    tcp_->on_timer(now_ns);
    tcp_->flush(now_ns);
    worked |= drain_tx();
    phase_cycles_.inc(Phase::kTimers, tsc() - t0);
  }
  if (tls_ != nullptr) {
    t0 = tsc();
    worked |= tls_->on_timer(now_ns);  // handshake deadlines, ticket keys; cheap when idle
    phase_cycles_.inc(Phase::kTimers, tsc() - t0);
  }
  // Pool peaks, every 10 ms (rte_mempool_in_use_count walks the per-lcore caches).
  if (now_ns >= next_sample_ns_) {
    next_sample_ns_ = now_ns + 10'000'000;
    auto peak = [&](WorkerCounter c, rte_mempool* mp) {
      const uint64_t used = mp != nullptr ? rte_mempool_in_use_count(mp) : 0;
      if (used > counters_.get(c)) {
        counters_.inc(c, used - counters_.get(c));
      }
    };
    peak(WorkerCounter::kPortPoolPeak, port_.pktmbuf_pool(cfg_.id));
    peak(WorkerCounter::kRecordPoolPeak, cfg_.tls.record_pool);
  }
  // The apps' and streams' timers (connect and idle timeouts).
  if (now_ns >= timers_.next_expiry_ns()) {
    t0 = tsc();
    worked |= timers_.advance(now_ns, [](net::tcp::TimerNode* n) {
                static_cast<AppTimer*>(n)->target->on_timer(static_cast<AppTimer*>(n));
              }) != 0;
    tcp_->flush(now_ns);
    worked |= drain_tx();
    phase_cycles_.inc(Phase::kTimers, tsc() - t0);
  }
  if (worked) {
    counters_.inc(WorkerCounter::kBusyLoops);
    counters_.inc(WorkerCounter::kBusyCycles, tsc() - loop_start);
  }
  return worked;
}

void Worker::idle(uint32_t* empty_polls, uint32_t* sleep_us) noexcept {
  if (cfg_.idle.busy_poll) {
    return;
  }
  const uint64_t t0 = tsc();
  if (++*empty_polls < cfg_.idle.spin_polls) {
    _mm_pause();
  } else {
    timespec ts{0, static_cast<long>(*sleep_us) * 1000};
    nanosleep(&ts, nullptr);
    counters_.inc(WorkerCounter::kSleeps);
    *sleep_us = *sleep_us * 2 > cfg_.idle.max_sleep_us ? cfg_.idle.max_sleep_us : *sleep_us * 2;
  }
  phase_cycles_.inc(Phase::kIdle, tsc() - t0);
}

void Worker::run(const std::atomic<bool>& stop) noexcept {
  const uint64_t hz = tsc_hz();
  const uint64_t base_ns = monotonic_ns();
  const uint64_t base_tsc = tsc();
  uint32_t empty_polls = 0;
  uint32_t sleep_us = cfg_.idle.min_sleep_us;
  while (!stop.load(std::memory_order_relaxed)) {
    const uint64_t now_ns = base_ns + tsc_to_ns(tsc() - base_tsc, hz);
    if (poll_once(now_ns)) {
      empty_polls = 0;
      sleep_us = cfg_.idle.min_sleep_us;
    } else {
      idle(&empty_polls, &sleep_us);
    }
  }
  // Best effort: hand the port what is still queued.
  for (int i = 0; i < 8 && !stack_->tx().empty(); i++) {
    drain_tx();
  }
}

}  // namespace linetls::engine
