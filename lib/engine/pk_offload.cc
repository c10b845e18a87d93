#include "lib/engine/pk_offload.h"

#include <rte_pause.h>
#include <rte_ring.h>
#include <time.h>

#include <bit>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "lib/base/clock.h"
#include "lib/crypto/rng.h"

namespace linetls::engine {

namespace {

constexpr uint32_t kBurst = 32;
constexpr uint32_t kMaxRingSize = 1u << 28;
constexpr long kIdleSleepNs = 30000;  // short enough to add little latency, long enough
                                      // that an idle lcore costs next to no CPU

// Counters have one writer: a plain load and store, no locked add.
void bump(std::atomic<uint64_t>& c, uint64_t n = 1) noexcept {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

// An SP/SC ring of count slots in plain cache-line-aligned memory (no memzone, so no
// EAL-wide name to collide with and nothing to look up). Freed with std::free().
rte_ring* make_ring(const char* name, uint32_t count) noexcept {
  const ssize_t size = rte_ring_get_memsize(count);
  if (size < 0) {
    return nullptr;
  }
  // aligned_alloc wants a multiple of the alignment.
  const size_t bytes = (static_cast<size_t>(size) + 63) & ~size_t{63};
  auto* r = static_cast<rte_ring*>(std::aligned_alloc(64, bytes));
  if (r == nullptr) {
    return nullptr;
  }
  if (rte_ring_init(r, name, count, RING_F_SP_ENQ | RING_F_SC_DEQ) != 0) {
    std::free(r);
    return nullptr;
  }
  return r;
}

void delete_all(rte_ring* r) noexcept {
  if (r == nullptr) {
    return;
  }
  void* obj = nullptr;
  while (rte_ring_sc_dequeue(r, &obj) == 0) {
    delete static_cast<tls::PkJob*>(obj);
  }
}

size_t kind_index(tls::PkKind k) noexcept {
  const auto i = static_cast<size_t>(k);
  return i < kPkKinds ? i : 0;
}

}  // namespace

PkOffload::PkOffload(const PkOffloadConfig& cfg)
    : cfg_(cfg),
      capacity_(cfg.ring_size - 1),
      pairs_(static_cast<size_t>(cfg.workers) * cfg.lcores),
      workers_(std::make_unique<WorkerState[]>(cfg.workers)),
      lcores_(std::make_unique<LcoreState[]>(cfg.lcores)) {
  for (uint32_t w = 0; w < cfg_.workers; ++w) {
    workers_[w].in_flight.assign(cfg_.lcores, 0);
  }
  for (uint32_t h = 0; h < cfg_.lcores; ++h) {
    // Reserved up front so the lcore loop never allocates.
    lcores_[h].pool.reserve(cfg_.pool_size);
    lcores_[h].stranded.reserve(kBurst);
  }
}

Result<std::unique_ptr<PkOffload>, std::string> PkOffload::create(const PkOffloadConfig& cfg) {
  if (cfg.workers == 0 || cfg.lcores == 0) {
    return fail(std::string("pk offload: need at least one worker and one handshake lcore"));
  }
  if (cfg.ring_size < 2 || cfg.ring_size > kMaxRingSize || !std::has_single_bit(cfg.ring_size)) {
    return fail("pk offload: ring size " + std::to_string(cfg.ring_size) +
                " is not a power of two in [2, 2^28]");
  }
  std::unique_ptr<PkOffload> o(new PkOffload(cfg));
  for (uint32_t w = 0; w < cfg.workers; ++w) {
    for (uint32_t h = 0; h < cfg.lcores; ++h) {
      Pair& p = o->pair(w, h);
      char name[32];
      std::snprintf(name, sizeof(name), "pkq_%u_%u", w, h);
      p.request = make_ring(name, cfg.ring_size);
      std::snprintf(name, sizeof(name), "pkc_%u_%u", w, h);
      p.completion = make_ring(name, cfg.ring_size);
      if (p.request == nullptr || p.completion == nullptr) {
        return fail(std::string("pk offload: cannot allocate rings"));
      }
      // The no-overflow invariant (header) needs a completion ring at least as large as
      // the in-flight bound, which is the request ring's capacity.
      if (rte_ring_get_capacity(p.completion) < o->capacity_ ||
          rte_ring_get_capacity(p.request) != o->capacity_) {
        return fail(std::string("pk offload: unexpected ring capacity"));
      }
    }
  }
  return o;
}

PkOffload::~PkOffload() {
  // The jobs are released unique_ptrs of their submitters; nobody will poll them now.
  for (Pair& p : pairs_) {
    delete_all(p.request);
    delete_all(p.completion);
    std::free(p.request);
    std::free(p.completion);
  }
  for (uint32_t h = 0; h < cfg_.lcores; ++h) {
    for (tls::PkJob* job : lcores_[h].stranded) {
      delete job;
    }
  }
}

bool PkOffload::submit(uint32_t w, tls::PkJob* job) noexcept {
  WorkerState& ws = workers_[w];
  for (uint32_t i = 0; i < cfg_.lcores; ++i) {
    const uint32_t h = ws.submit_cursor;
    ws.submit_cursor = h + 1 == cfg_.lcores ? 0 : h + 1;
    // The in-flight bound, not the request ring's fill, is what keeps the completion ring
    // from overflowing; with it the request ring cannot be full either.
    if (ws.in_flight[h] >= capacity_ || rte_ring_sp_enqueue(pair(w, h).request, job) != 0) {
      continue;
    }
    ++ws.in_flight[h];
    ++ws.total_in_flight;
    return true;
  }
  return false;
}

uint32_t PkOffload::poll(uint32_t w, tls::PkJob** out, uint32_t max) noexcept {
  WorkerState& ws = workers_[w];
  uint32_t got = 0;
  // Nothing out: no ring to look at (the common case for a worker between handshakes).
  for (uint32_t i = 0; i < cfg_.lcores && got < max && ws.total_in_flight > 0; ++i) {
    // Rotate the starting lcore so a small max does not favour lcore 0.
    const uint32_t h = ws.poll_cursor;
    ws.poll_cursor = h + 1 == cfg_.lcores ? 0 : h + 1;
    if (ws.in_flight[h] == 0) {
      continue;
    }
    const uint32_t n = rte_ring_sc_dequeue_burst(
        pair(w, h).completion, reinterpret_cast<void**>(out + got), max - got, nullptr);
    ws.in_flight[h] -= n;
    ws.total_in_flight -= n;
    got += n;
  }
  return got;
}

uint32_t PkOffload::in_flight(uint32_t w) const noexcept { return workers_[w].total_in_flight; }

void PkOffload::run_job(LcoreState& lc, tls::PkJob& job) noexcept {
  const tls::PkKind kind = job.kind;
  bump(lc.jobs[kind_index(kind)]);
  const bool fresh_x25519 = (kind == tls::PkKind::kKeyExchange || kind == tls::PkKind::kKeyGen) &&
                            job.group == crypto::NamedGroup::kX25519;
  if (fresh_x25519 && !lc.pool.empty()) {
    // Moved, never copied: this pair goes to this job alone.
    job.share.emplace(std::move(lc.pool.back()));
    lc.pool.pop_back();
    lc.pool_level.store(lc.pool.size(), std::memory_order_relaxed);
    bump(lc.pool_hits);
    if (kind == tls::PkKind::kKeyGen) {
      job.ok = true;
      job.done = true;
    } else {
      // The key pair is there; what is left of a key exchange is a derive.
      job.kind = tls::PkKind::kDerive;
      tls::run_pk_job(job, crypto::os_rng());
      job.kind = kind;
    }
  } else {
    if (fresh_x25519 && cfg_.pool_size > 0) {
      bump(lc.pool_misses);
    }
    tls::run_pk_job(job, crypto::os_rng());
  }
  job.ran_offloaded = true;
}

void PkOffload::complete(LcoreState& lc, rte_ring* completion, tls::PkJob* job) noexcept {
  // Cannot fail while the in-flight bound holds (header); should it ever, wait for the
  // worker to poll rather than drop a job, and keep it for the destructor once stopping.
  while (rte_ring_sp_enqueue(completion, job) != 0) {
    if (stop_.load(std::memory_order_acquire)) {
      lc.stranded.push_back(job);  // reserved: at most one burst
      return;
    }
    rte_pause();
  }
}

bool PkOffload::refill(LcoreState& lc) noexcept {
  if (lc.pool.size() >= cfg_.pool_size) {
    return false;
  }
  const uint64_t t0 = tsc();
  auto ks = crypto::KeyShare::generate(crypto::NamedGroup::kX25519, crypto::os_rng());
  bump(lc.busy_cycles, tsc() - t0);
  if (!ks) {
    return false;  // the RNG failed; idle, and try again next time
  }
  lc.pool.push_back(std::move(*ks));  // within the reserved capacity
  lc.pool_level.store(lc.pool.size(), std::memory_order_relaxed);
  bump(lc.pool_generated);
  return true;
}

bool PkOffload::run_lcore_once(uint32_t h) noexcept {
  if (h >= cfg_.lcores) {
    return false;
  }
  LcoreState& lc = lcores_[h];
  tls::PkJob* burst[kBurst];
  bool worked = false;
  for (uint32_t w = 0; w < cfg_.workers; ++w) {
    Pair& p = pair(w, h);
    const uint32_t n =
        rte_ring_sc_dequeue_burst(p.request, reinterpret_cast<void**>(burst), kBurst, nullptr);
    if (n == 0) {
      continue;
    }
    worked = true;
    const uint64_t t0 = tsc();
    for (uint32_t i = 0; i < n; ++i) {
      run_job(lc, *burst[i]);
    }
    bump(lc.busy_cycles, tsc() - t0);
    const uint32_t put =
        rte_ring_sp_enqueue_burst(p.completion, reinterpret_cast<void* const*>(burst), n, nullptr);
    for (uint32_t i = put; i < n; ++i) {
      complete(lc, p.completion, burst[i]);
    }
  }
  return worked || refill(lc);
}

int PkOffload::run_lcore(uint32_t h) noexcept {
  if (h >= cfg_.lcores) {
    return -1;
  }
  while (!stop_.load(std::memory_order_acquire)) {
    if (run_lcore_once(h)) {
      continue;
    }
    if (cfg_.busy_poll) {
      rte_pause();
    } else {
      const timespec ts{0, kIdleSleepNs};
      nanosleep(&ts, nullptr);
    }
  }
  return 0;
}

int PkOffload::lcore_main(void* arg) noexcept {
  const auto* a = static_cast<const PkLcoreArg*>(arg);
  return a->offload->run_lcore(a->h);
}

PkLcoreStats PkOffload::lcore_stats(uint32_t h) const noexcept {
  PkLcoreStats s;
  if (h >= cfg_.lcores) {
    return s;
  }
  const LcoreState& lc = lcores_[h];
  for (size_t k = 0; k < kPkKinds; ++k) {
    s.jobs[k] = lc.jobs[k].load(std::memory_order_relaxed);
  }
  s.pool_hits = lc.pool_hits.load(std::memory_order_relaxed);
  s.pool_misses = lc.pool_misses.load(std::memory_order_relaxed);
  s.pool_level = lc.pool_level.load(std::memory_order_relaxed);
  s.pool_generated = lc.pool_generated.load(std::memory_order_relaxed);
  s.busy_cycles = lc.busy_cycles.load(std::memory_order_relaxed);
  return s;
}

}  // namespace linetls::engine
