// engine::PkOffload: handshake lcores that run the public-key steps of server handshakes
// (tls::PkJob, lib/tls/pk_job.h) away from the workers.
//
// A worker that meets a PkJob submit()s it and goes on polling; a handshake lcore runs it
// (tls::run_pk_job(), the same function the worker would run inline) and hands it back; the
// worker poll()s it and completes the handshake. For every (worker w, handshake lcore h)
// pair there is one request ring (w -> h) and one completion ring (h -> w), both
// single-producer/single-consumer rte_rings of tls::PkJob*, in plain memory (no memzone).
// Those rings are all that workers and lcores share: no locks. Each worker keeps its own
// round-robin cursor and in-flight counts; each lcore keeps its own key pool and counters
// (written by it alone, read by anyone with relaxed atomics).
//
// Ownership. A job in the rings or on a lcore is owned by whoever submitted it (a released
// unique_ptr); poll() gives the pointer back. A PkOffload destroyed with jobs still inside
// deletes them, so stopping without draining leaks nothing (but their owners must not
// expect them back).
//
// No overflow. A completion must always fit, or a lcore would have to hold a finished job
// with nowhere to put it. The request and the completion ring of a pair have the same
// capacity C, and submit() counts, per pair and on the worker alone, the jobs it has handed
// out and not yet polled back; it refuses a pair with C jobs out. Every job in the pair's
// completion ring is one of those, so the completion ring never holds more than C and the
// lcore's enqueue cannot fail. (Bounding only the request ring would not do: the lcore
// empties it as it works, so a worker that submits without polling could otherwise push
// unboundedly many jobs through it into the completion ring.)
//
// Key pool. An idle handshake lcore precomputes X25519 key pairs (up to pool_size) and a
// kKeyExchange or kKeyGen job for X25519 takes one instead of generating it, leaving only
// the derive (or nothing) on the handshake's path. Each pair is used once: it is moved out
// of the pool into exactly one job and never copied (crypto::KeyShare is move-only).
// Precomputing changes only when the private key was made, not how long it lives: it is
// destroyed with the connection's handshake state, so forward secrecy is unchanged. The
// pool lives in the lcore's memory only, and pairs left in it die with the PkOffload.
//
// Launching. run_lcore(h) is the loop of handshake lcore h until stop(); on a DPDK lcore
// use rte_eal_remote_launch(PkOffload::lcore_main, &arg, lcore_id) with a PkLcoreArg that
// outlives the loop (tests use std::thread). Destroy the PkOffload only after every loop
// has returned.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "lib/base/result.h"
#include "lib/crypto/kx.h"
#include "lib/tls/pk_job.h"

struct rte_ring;

namespace linetls::engine {

struct PkOffloadConfig {
  uint32_t workers = 1;
  uint32_t lcores = 1;        // handshake lcores
  uint32_t ring_size = 1024;  // per ring, a power of two; a ring holds ring_size - 1 jobs
  uint32_t pool_size = 32;    // precomputed X25519 key pairs per lcore; 0 = none
  bool busy_poll = false;     // false: an idle lcore sleeps ~30 us instead of spinning
};

inline constexpr size_t kPkKinds = tls::kNumPkKinds;  // tls::PkKind values, kNone included

struct PkLcoreStats {
  uint64_t jobs[kPkKinds] = {};  // jobs run, by tls::PkKind (the kind the job came with)
  uint64_t pool_hits = 0;        // X25519 kKeyExchange/kKeyGen that took a precomputed pair
  uint64_t pool_misses = 0;      // ... that found the pool empty (counted when pool_size > 0)
  uint64_t pool_level = 0;       // precomputed pairs in the pool now
  uint64_t pool_generated = 0;   // pairs precomputed so far
  uint64_t busy_cycles = 0;      // TSC cycles spent running jobs and filling the pool
};

class PkOffload;

// What lcore_main() takes: the lcore loop of offload for handshake lcore h.
struct PkLcoreArg {
  PkOffload* offload = nullptr;
  uint32_t h = 0;
};

class PkOffload {
 public:
  // Fails (one line) for zero workers or lcores, a ring_size that is not a power of two
  // in [2, 2^28], or no memory.
  static Result<std::unique_ptr<PkOffload>, std::string> create(const PkOffloadConfig& cfg);
  // Deletes every job still in a ring or stranded on a lcore. Call after every run_lcore()
  // has returned.
  ~PkOffload();
  PkOffload(const PkOffload&) = delete;
  PkOffload& operator=(const PkOffload&) = delete;

  // Worker side: only worker thread w calls these for its w.
  //
  // Hands job (owned by the caller until poll() returns it) to a handshake lcore, round
  // robin, skipping lcores whose pair is full. False when every pair of this worker is
  // full: the caller keeps the job and runs it inline.
  bool submit(uint32_t w, tls::PkJob* job) noexcept;
  // Moves up to max completed jobs (done set, ran_offloaded set) of this worker to out;
  // returns how many.
  uint32_t poll(uint32_t w, tls::PkJob** out, uint32_t max) noexcept;
  // Jobs worker w has submitted and not yet polled back (worker w's thread only).
  uint32_t in_flight(uint32_t w) const noexcept;

  // Lcore side. The loop of handshake lcore h (one thread per h): runs the jobs of every
  // worker's request ring, and fills the key pool when idle. Returns 0 after stop(), -1
  // for an h out of range.
  int run_lcore(uint32_t h) noexcept;
  // One pass of that loop: every worker's burst, or one pooled key pair when there was
  // none. True if it did anything. (Tests with virtual time step a lcore with it.)
  bool run_lcore_once(uint32_t h) noexcept;
  // rte_eal_remote_launch() entry: arg is a PkLcoreArg*.
  static int lcore_main(void* arg) noexcept;
  // Makes every run_lcore() return after its current burst; any thread.
  void stop() noexcept { stop_.store(true, std::memory_order_release); }

  // Any thread; counters read with relaxed loads.
  PkLcoreStats lcore_stats(uint32_t h) const noexcept;
  // The number of jobs one pair (one request ring, and likewise its completion ring) holds:
  // ring_size - 1.
  uint32_t pair_capacity() const noexcept { return capacity_; }
  const PkOffloadConfig& config() const noexcept { return cfg_; }

 private:
  struct Pair {
    rte_ring* request = nullptr;     // worker -> lcore
    rte_ring* completion = nullptr;  // lcore -> worker
  };
  // Written by worker w only.
  struct alignas(64) WorkerState {
    uint32_t submit_cursor = 0;
    uint32_t poll_cursor = 0;
    uint32_t total_in_flight = 0;
    std::vector<uint32_t> in_flight;  // per lcore: submitted, not yet polled back
  };
  // Written by lcore h only (the atomics are read by lcore_stats()).
  struct alignas(64) LcoreState {
    std::vector<crypto::KeyShare> pool;
    std::vector<tls::PkJob*> stranded;  // completions that did not fit (cannot happen)
    std::atomic<uint64_t> jobs[kPkKinds] = {};
    std::atomic<uint64_t> pool_hits{0};
    std::atomic<uint64_t> pool_misses{0};
    std::atomic<uint64_t> pool_level{0};
    std::atomic<uint64_t> pool_generated{0};
    std::atomic<uint64_t> busy_cycles{0};
  };

  explicit PkOffload(const PkOffloadConfig& cfg);
  Pair& pair(uint32_t w, uint32_t h) noexcept { return pairs_[w * cfg_.lcores + h]; }
  // Runs one job on lcore h, taking a pooled X25519 pair when there is one.
  void run_job(LcoreState& lc, tls::PkJob& job) noexcept;
  // Puts job on its completion ring (or stranded, which the invariant above rules out).
  void complete(LcoreState& lc, rte_ring* completion, tls::PkJob* job) noexcept;
  // Precomputes one X25519 pair if the pool has room; true if it did.
  bool refill(LcoreState& lc) noexcept;

  PkOffloadConfig cfg_;
  uint32_t capacity_ = 0;
  std::vector<Pair> pairs_;  // [w * lcores + h]
  std::unique_ptr<WorkerState[]> workers_;
  std::unique_ptr<LcoreState[]> lcores_;
  std::atomic<bool> stop_{false};
};

}  // namespace linetls::engine
