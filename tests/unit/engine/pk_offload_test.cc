// engine::PkOffload: jobs of every kind go through handshake lcores (here std::threads) and
// come back once each with the right results; precomputed key pairs are used once; a full
// pair refuses jobs (including when the lcore has emptied the request ring but the worker
// has not polled); a PkOffload destroyed with jobs inside deletes them.
#include "lib/engine/pk_offload.h"

#include <time.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "lib/crypto/key.h"
#include "lib/crypto/sig.h"
#include "tests/unit/crypto/test_util.h"

namespace linetls::engine {
namespace {

using crypto::KeyShare;
using crypto::NamedGroup;
using tls::PkJob;
using tls::PkKind;

void nap() {
  const timespec ts{0, 200000};  // 200 us: waiting for another thread without spinning
  nanosleep(&ts, nullptr);
}

// Waits until pred holds. The bound only turns a hang into a failure; it is no threshold.
template <typename Pred>
bool wait_for(Pred pred) {
  for (int i = 0; i < 100000; ++i) {
    if (pred()) {
      return true;
    }
    nap();
  }
  return pred();
}

uint64_t jobs_run(const PkOffload& o) {
  uint64_t n = 0;
  for (uint32_t h = 0; h < o.config().lcores; ++h) {
    const PkLcoreStats s = o.lcore_stats(h);
    for (uint64_t k : s.jobs) {
      n += k;
    }
  }
  return n;
}

// Lcore loops on std::threads, launched through lcore_main as rte_eal_remote_launch would.
class Lcores {
 public:
  explicit Lcores(PkOffload& o) : o_(o), args_(o.config().lcores) {}
  ~Lcores() { stop(); }
  void start(uint32_t h) {
    args_[h] = PkLcoreArg{&o_, h};
    threads_.emplace_back([this, h] { EXPECT_EQ(PkOffload::lcore_main(&args_[h]), 0); });
  }
  void start_all() {
    for (uint32_t h = 0; h < o_.config().lcores; ++h) {
      start(h);
    }
  }
  // Once: the test may destroy the PkOffload after stopping.
  void stop() {
    if (stopped_) {
      return;
    }
    stopped_ = true;
    o_.stop();
    for (std::thread& t : threads_) {
      t.join();
    }
    threads_.clear();
  }

 private:
  PkOffload& o_;
  std::vector<PkLcoreArg> args_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
};

std::unique_ptr<PkOffload> make(uint32_t workers, uint32_t lcores, uint32_t ring_size,
                                uint32_t pool_size) {
  PkOffloadConfig cfg;
  cfg.workers = workers;
  cfg.lcores = lcores;
  cfg.ring_size = ring_size;
  cfg.pool_size = pool_size;
  cfg.busy_poll = false;
  auto o = PkOffload::create(cfg);
  EXPECT_TRUE(o) << (o ? "" : o.error());
  return o ? std::move(*o) : nullptr;
}

KeyShare gen(NamedGroup g) {
  auto ks = KeyShare::generate(g, crypto::os_rng());
  EXPECT_TRUE(ks);
  return std::move(*ks);
}

void set_peer(PkJob& job, const KeyShare& peer) {
  const auto pub = peer.public_key();
  std::copy(pub.begin(), pub.end(), job.peer.begin());
  job.peer_len = static_cast<uint8_t>(pub.size());
}

// Polls worker w until want jobs are back.
std::vector<PkJob*> poll_all(PkOffload& o, uint32_t w, size_t want) {
  std::vector<PkJob*> back;
  PkJob* out[16];
  wait_for([&] {
    const uint32_t n = o.poll(w, out, 16);
    back.insert(back.end(), out, out + n);
    return back.size() >= want;
  });
  return back;
}

TEST(PkOffloadTest, CreateRefusesBadConfigs) {
  PkOffloadConfig cfg;
  cfg.ring_size = 1000;
  EXPECT_FALSE(PkOffload::create(cfg));
  cfg.ring_size = 1;
  EXPECT_FALSE(PkOffload::create(cfg));
  cfg.ring_size = 8;
  cfg.workers = 0;
  EXPECT_FALSE(PkOffload::create(cfg));
  cfg.workers = 1;
  cfg.lcores = 0;
  EXPECT_FALSE(PkOffload::create(cfg));
  cfg.lcores = 1;
  auto o = PkOffload::create(cfg);
  ASSERT_TRUE(o);
  EXPECT_EQ((*o)->pair_capacity(), 7u);
  EXPECT_EQ((*o)->run_lcore(1), -1);
}

// What one job was and what it should come back with.
struct Expect {
  std::unique_ptr<PkJob> job;    // the job, back in our hands after poll
  std::optional<KeyShare> peer;  // the peer of a key exchange or derive
  PkJob* submitted = nullptr;    // the pointer handed out
};

TEST(PkOffloadTest, EveryKindComesBackOnceFromTwoWorkers) {
  auto o = make(2, 2, 64, 4);
  ASSERT_NE(o, nullptr);
  auto key = crypto::PrivateKey::load_pem_file(crypto::testing::vector_path("certs/ecdsa256.key"));
  ASSERT_TRUE(key);
  const crypto::PublicKey pub = key->public_key();

  constexpr int kPerKind = 6;
  const std::vector<std::pair<PkKind, NamedGroup>> kinds = {
      {PkKind::kKeyExchange, NamedGroup::kX25519}, {PkKind::kKeyExchange, NamedGroup::kSecp256r1},
      {PkKind::kKeyGen, NamedGroup::kX25519},      {PkKind::kKeyGen, NamedGroup::kSecp384r1},
      {PkKind::kDerive, NamedGroup::kX25519},      {PkKind::kSign, NamedGroup::kX25519}};
  std::vector<Expect> expect[2];
  uint64_t per_kind[kPkKinds] = {};
  for (uint32_t w = 0; w < 2; ++w) {
    for (const auto& [kind, group] : kinds) {
      for (int i = 0; i < kPerKind; ++i) {
        Expect e;
        e.job = std::make_unique<PkJob>();
        PkJob& j = *e.job;
        j.kind = kind;
        j.group = group;
        j.owner = expect[w].size();
        if (kind == PkKind::kKeyExchange || kind == PkKind::kDerive) {
          e.peer.emplace(gen(group));
          set_peer(j, *e.peer);
        }
        if (kind == PkKind::kDerive) {
          j.share.emplace(gen(group));
        }
        if (kind == PkKind::kSign) {
          j.key = &*key;
          j.scheme = crypto::SignatureScheme::kEcdsaSecp256r1Sha256;
          j.max_signature_len = key->max_signature_len();
          j.message.assign(64 + i, static_cast<uint8_t>(w * 16 + i));
        }
        ++per_kind[static_cast<size_t>(kind)];
        expect[w].push_back(std::move(e));
      }
    }
  }

  Lcores lcores(*o);
  lcores.start_all();
  // Two worker threads, each submitting its jobs (released) and polling them back.
  std::vector<PkJob*> back[2];
  std::thread workers[2];
  for (uint32_t w = 0; w < 2; ++w) {
    workers[w] = std::thread([&, w] {
      for (Expect& e : expect[w]) {
        e.submitted = e.job.release();
        EXPECT_TRUE(o->submit(w, e.submitted));  // 36 jobs, 2 x 63 slots: never full
      }
      back[w] = poll_all(*o, w, expect[w].size());
    });
  }
  for (std::thread& t : workers) {
    t.join();
  }
  lcores.stop();

  for (uint32_t w = 0; w < 2; ++w) {
    ASSERT_EQ(back[w].size(), expect[w].size()) << "worker " << w;
    EXPECT_EQ(o->in_flight(w), 0u);
    PkJob* extra[4];
    EXPECT_EQ(o->poll(w, extra, 4), 0u);
    // Each came back exactly once, to the worker that sent it: take ownership again.
    for (PkJob* j : back[w]) {
      ASSERT_LT(j->owner, expect[w].size());
      Expect& e = expect[w][j->owner];
      ASSERT_EQ(e.submitted, j);
      ASSERT_EQ(e.job, nullptr) << "job " << j->owner << " of worker " << w << " came back twice";
      e.job.reset(j);
    }
    for (Expect& e : expect[w]) {
      const PkJob& j = *e.job;
      SCOPED_TRACE(std::string(tls::to_string(j.kind)) + " #" + std::to_string(j.owner));
      EXPECT_TRUE(j.done);
      EXPECT_TRUE(j.ok) << static_cast<int>(j.error);
      EXPECT_TRUE(j.ran_offloaded);
      switch (j.kind) {
        case PkKind::kKeyExchange:
        case PkKind::kDerive: {
          ASSERT_TRUE(j.share && j.secret);
          EXPECT_EQ(j.share->group(), j.group);
          auto peer_secret = e.peer->derive(j.share->public_key());
          ASSERT_TRUE(peer_secret);
          EXPECT_TRUE(constant_time_equal(peer_secret->view(), j.secret->view()));
          break;
        }
        case PkKind::kKeyGen:
          ASSERT_TRUE(j.share);
          EXPECT_EQ(j.share->group(), j.group);
          EXPECT_EQ(j.share->public_key().size(), crypto::public_key_len(j.group));
          EXPECT_FALSE(j.secret);
          break;
        case PkKind::kSign:
          EXPECT_TRUE(crypto::verify(pub, j.scheme, j.message, j.signature));
          break;
        default:
          ADD_FAILURE() << "kind changed";
      }
    }
  }
  // Every job ran on a handshake lcore and is counted once, under the kind it came with.
  for (size_t k = 0; k < kPkKinds; ++k) {
    uint64_t n = 0;
    for (uint32_t h = 0; h < 2; ++h) {
      n += o->lcore_stats(h).jobs[k];
    }
    EXPECT_EQ(n, per_kind[k]) << tls::to_string(static_cast<PkKind>(k));
  }
  // Each worker went round robin over both lcores.
  for (uint32_t h = 0; h < 2; ++h) {
    uint64_t n = 0;
    for (uint64_t k : o->lcore_stats(h).jobs) {
      n += k;
    }
    EXPECT_EQ(n, 2u * kinds.size() * kPerKind / 2) << "lcore " << h;
  }
}

TEST(PkOffloadTest, PooledPairsAreUsedOnce) {
  auto o = make(1, 1, 128, 8);
  ASSERT_NE(o, nullptr);
  Lcores lcores(*o);
  lcores.start_all();
  // An idle lcore fills its pool, and stops at pool_size.
  ASSERT_TRUE(wait_for([&] { return o->lcore_stats(0).pool_level == 8; }));

  constexpr size_t kJobs = 64;
  std::vector<KeyShare> peers;
  for (size_t i = 0; i < kJobs; ++i) {
    peers.push_back(gen(NamedGroup::kX25519));
  }
  std::vector<std::unique_ptr<PkJob>> jobs;
  for (size_t i = 0; i < kJobs; ++i) {
    auto j = std::make_unique<PkJob>();
    j->kind = PkKind::kKeyExchange;
    j->group = NamedGroup::kX25519;
    j->owner = i;
    set_peer(*j, peers[i]);
    ASSERT_TRUE(o->submit(0, j.release()));
  }
  std::vector<PkJob*> back = poll_all(*o, 0, kJobs);
  ASSERT_EQ(back.size(), kJobs);
  for (PkJob* j : back) {
    jobs.emplace_back(j);
  }
  const PkLcoreStats s = o->lcore_stats(0);
  lcores.stop();

  std::set<std::vector<uint8_t>> publics;
  for (const auto& j : jobs) {
    ASSERT_TRUE(j->done && j->ok && j->share && j->secret);
    EXPECT_EQ(j->kind, PkKind::kKeyExchange);  // restored after the derive
    const auto pub = j->share->public_key();
    publics.emplace(pub.begin(), pub.end());
    auto peer_secret = peers[j->owner].derive(pub);
    ASSERT_TRUE(peer_secret);
    EXPECT_TRUE(constant_time_equal(peer_secret->view(), j->secret->view()));
  }
  EXPECT_EQ(publics.size(), kJobs);  // no key pair went to two jobs
  // The eight pooled before the jobs came were taken; the rest were pooled or made fresh.
  EXPECT_GE(s.pool_hits, 8u);
  EXPECT_EQ(s.pool_hits + s.pool_misses, kJobs);
  EXPECT_EQ(s.jobs[static_cast<size_t>(PkKind::kKeyExchange)], kJobs);
  EXPECT_LE(s.pool_hits, s.pool_generated);
}

TEST(PkOffloadTest, PoolSizeZeroGeneratesPerJob) {
  auto o = make(1, 1, 16, 0);
  ASSERT_NE(o, nullptr);
  Lcores lcores(*o);
  lcores.start_all();
  auto j = std::make_unique<PkJob>();
  j->kind = PkKind::kKeyGen;
  j->group = NamedGroup::kX25519;
  ASSERT_TRUE(o->submit(0, j.release()));
  std::vector<PkJob*> back = poll_all(*o, 0, 1);
  ASSERT_EQ(back.size(), 1u);
  j.reset(back[0]);
  lcores.stop();
  EXPECT_TRUE(j->done && j->ok && j->share);
  const PkLcoreStats s = o->lcore_stats(0);
  EXPECT_EQ(s.pool_hits, 0u);
  EXPECT_EQ(s.pool_misses, 0u);
  EXPECT_EQ(s.pool_generated, 0u);
  EXPECT_EQ(s.pool_level, 0u);
}

TEST(PkOffloadTest, FullPairsRefuseUntilPolled) {
  auto o = make(1, 2, 4, 0);
  ASSERT_NE(o, nullptr);
  // rte_ring's usable capacity for a non-exact-size ring of 4 slots.
  ASSERT_EQ(o->pair_capacity(), 3u);
  std::vector<std::unique_ptr<PkJob>> mine;
  uint32_t accepted = 0;
  for (;;) {
    auto j = std::make_unique<PkJob>();
    j->kind = PkKind::kKeyGen;
    j->group = NamedGroup::kSecp256r1;
    if (!o->submit(0, j.get())) {
      mine.push_back(std::move(j));  // refused: still ours (the caller would run it inline)
      break;
    }
    j.release();
    ++accepted;
    ASSERT_LE(accepted, 100u);
  }
  EXPECT_EQ(accepted, o->pair_capacity() * 2);
  EXPECT_EQ(o->in_flight(0), accepted);
  PkJob* out[8];
  EXPECT_EQ(o->poll(0, out, 8), 0u);  // no lcore running

  Lcores lcores(*o);
  lcores.start_all();
  std::vector<PkJob*> back = poll_all(*o, 0, accepted);
  ASSERT_EQ(back.size(), accepted);
  for (PkJob* j : back) {
    mine.emplace_back(j);
    EXPECT_TRUE(j->done && j->ok && j->ran_offloaded);
  }
  EXPECT_EQ(o->in_flight(0), 0u);
  // Room again.
  PkJob* again = mine.back().release();
  mine.pop_back();
  again->reset();
  again->kind = PkKind::kKeyGen;
  EXPECT_TRUE(o->submit(0, again));
  back = poll_all(*o, 0, 1);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0], again);
  mine.emplace_back(back[0]);
  lcores.stop();
}

// The lcore empties the request ring as it works; until the worker polls, the completions
// are still out, so the pair stays full and the completion ring cannot overflow.
TEST(PkOffloadTest, UnpolledCompletionsKeepThePairFull) {
  auto o = make(1, 1, 4, 0);
  ASSERT_NE(o, nullptr);
  Lcores lcores(*o);
  lcores.start_all();
  std::vector<std::unique_ptr<PkJob>> mine;
  for (uint32_t i = 0; i < o->pair_capacity(); ++i) {
    auto j = std::make_unique<PkJob>();
    j->kind = PkKind::kKeyGen;
    j->group = NamedGroup::kX25519;
    ASSERT_TRUE(o->submit(0, j.release()));
  }
  // All three ran: the request ring is empty, the completion ring full.
  ASSERT_TRUE(wait_for([&] { return jobs_run(*o) == o->pair_capacity(); }));
  auto extra = std::make_unique<PkJob>();
  extra->kind = PkKind::kKeyGen;
  EXPECT_FALSE(o->submit(0, extra.get()));
  std::vector<PkJob*> back = poll_all(*o, 0, o->pair_capacity());
  ASSERT_EQ(back.size(), o->pair_capacity());
  for (PkJob* j : back) {
    mine.emplace_back(j);
  }
  lcores.stop();
}

TEST(PkOffloadTest, DestroyingWithJobsInsideDeletesThem) {
  auto o = make(1, 2, 8, 2);
  ASSERT_NE(o, nullptr);
  // Each job holds a reference to sentinel; deleting the job drops it.
  auto sentinel = std::make_shared<int>(0);
  Lcores lcores(*o);
  lcores.start(0);  // lcore 1 never runs: its jobs stay in its request ring
  constexpr uint32_t kJobs = 10;
  for (uint32_t i = 0; i < kJobs; ++i) {
    auto j = std::make_unique<PkJob>();
    j->kind = PkKind::kKeyExchange;
    j->group = NamedGroup::kX25519;
    KeyShare peer = gen(NamedGroup::kX25519);
    set_peer(*j, peer);
    j->keep_alive = sentinel;
    ASSERT_TRUE(o->submit(0, j.release()));
  }
  EXPECT_EQ(sentinel.use_count(), 1 + kJobs);
  // Lcore 0's half went through and sits in its completion ring, unpolled.
  ASSERT_TRUE(wait_for([&] { return jobs_run(*o) == kJobs / 2; }));
  lcores.stop();
  o.reset();
  EXPECT_EQ(sentinel.use_count(), 1);
}

}  // namespace
}  // namespace linetls::engine
