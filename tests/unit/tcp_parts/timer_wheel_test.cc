#include "lib/net/tcp/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <utility>
#include <vector>

namespace linetls::net::tcp {
namespace {

constexpr uint64_t kMs = 1'000'000;
constexpr uint64_t kHour = 3600'000'000'000;
constexpr uint64_t kT0 = 5'000'000'123;  // deliberately not on a tick boundary

// Fires and records which nodes fired, in order.
struct Recorder {
  std::vector<const TimerNode*> fired;
  auto fn() {
    return [this](TimerNode* n) { fired.push_back(n); };
  }
};

TEST(TimerWheel, FiresAtExpiryNeverEarly) {
  TimerNode n;
  TimerWheel w(kT0);
  w.schedule(&n, kT0 + 5 * kMs + 500);  // mid-tick
  EXPECT_TRUE(n.armed());
  EXPECT_EQ(w.num_armed(), 1u);
  Recorder r;
  EXPECT_EQ(w.advance(kT0 + 5 * kMs, r.fn()), 0u);
  EXPECT_EQ(w.advance(kT0 + 5 * kMs + 499, r.fn()), 0u);
  EXPECT_TRUE(r.fired.empty());
  EXPECT_EQ(w.advance(kT0 + 5 * kMs + 500, r.fn()), 1u);
  ASSERT_EQ(r.fired.size(), 1u);
  EXPECT_EQ(r.fired[0], &n);
  EXPECT_FALSE(n.armed());
  EXPECT_EQ(w.num_armed(), 0u);
  EXPECT_EQ(w.next_expiry_ns(), UINT64_MAX);
  EXPECT_EQ(w.advance(kT0 + 100 * kMs, r.fn()), 0u);
}

TEST(TimerWheel, CancelAndReschedule) {
  TimerNode a, b;
  TimerWheel w(kT0);
  w.schedule(&a, kT0 + 10 * kMs);
  w.schedule(&b, kT0 + 20 * kMs);
  w.cancel(&a);
  w.cancel(&a);  // no-op
  EXPECT_FALSE(a.armed());
  EXPECT_EQ(w.num_armed(), 1u);
  w.schedule(&b, kT0 + 5 * kMs);  // earlier
  EXPECT_EQ(w.num_armed(), 1u);
  Recorder r;
  EXPECT_EQ(w.advance(kT0 + 5 * kMs, r.fn()), 1u);
  w.schedule(&b, kT0 + 30 * kMs);
  w.schedule(&b, kT0 + 40 * kMs);  // later, while armed
  EXPECT_EQ(w.advance(kT0 + 39 * kMs, r.fn()), 0u);
  EXPECT_EQ(w.advance(kT0 + 40 * kMs, r.fn()), 1u);
  EXPECT_EQ(r.fired, (std::vector<const TimerNode*>{&b, &b}));
  TimerNode never;
  w.cancel(&never);  // never armed: no-op
  EXPECT_EQ(w.num_armed(), 0u);
}

TEST(TimerWheel, FiresInExpiryOrderTiesInScheduleOrder) {
  std::vector<TimerNode> n(8);
  TimerWheel w(kT0, kMs, 16);
  const uint64_t when[8] = {7, 3, 3, 100, 1, 50, 3, 18};  // ms; several across revolutions
  for (size_t i = 0; i < 8; i++) {
    w.schedule(&n[i], kT0 + when[i] * kMs);
  }
  Recorder r;
  EXPECT_EQ(w.advance(kT0 + 200 * kMs, r.fn()), 8u);
  const std::vector<const TimerNode*> want = {&n[4], &n[1], &n[2], &n[6],
                                              &n[0], &n[7], &n[5], &n[3]};
  EXPECT_EQ(r.fired, want);
}

TEST(TimerWheel, PastTimeFiresAtNextAdvance) {
  TimerNode first, n, m;
  TimerWheel w(kT0);
  Recorder r;
  w.schedule(&first, kT0 + 10 * kMs);
  EXPECT_EQ(w.advance(kT0 + 10 * kMs, r.fn()), 1u);  // the wheel has moved on
  w.schedule(&n, kT0);                               // already behind it
  EXPECT_LE(w.next_expiry_ns(), kT0);
  EXPECT_EQ(w.advance(kT0 + 10 * kMs, r.fn()), 1u);  // same time as the last advance
  w.schedule(&m, 0);
  EXPECT_EQ(w.advance(kT0 + 10 * kMs + 1, r.fn()), 1u);
  EXPECT_EQ(r.fired, (std::vector<const TimerNode*>{&first, &n, &m}));
}

TEST(TimerWheel, FarFutureTimersFireOnTime) {
  // 16 slots of 1 ms: a 16 ms span. Timers 100 ms and 1 h out pass their slot many times.
  TimerNode near, far, very_far;
  TimerWheel w(kT0, kMs, 16);
  w.schedule(&near, kT0 + 3 * kMs);
  w.schedule(&far, kT0 + 100 * kMs + 7);
  w.schedule(&very_far, kT0 + kHour);
  std::vector<std::pair<const TimerNode*, uint64_t>> fired;
  uint64_t now = kT0;
  auto fire = [&](TimerNode* n) {
    EXPECT_GE(now, n->expires_ns);
    fired.emplace_back(n, now);
  };
  for (; now <= kT0 + 200 * kMs; now += kMs / 4) {
    w.advance(now, fire);
  }
  ASSERT_EQ(fired.size(), 2u);
  EXPECT_EQ(fired[0].first, &near);
  EXPECT_EQ(fired[0].second, kT0 + 3 * kMs);
  EXPECT_EQ(fired[1].first, &far);
  EXPECT_LT(fired[1].second - far.expires_ns, kMs / 4);  // at the first advance after it
  EXPECT_TRUE(very_far.armed());
  now = kT0 + kHour - 1;
  EXPECT_EQ(w.advance(now, fire), 0u);
  now = kT0 + kHour;
  EXPECT_EQ(w.advance(now, fire), 1u);
}

TEST(TimerWheel, CallbackRearmsItself) {
  TimerNode periodic;
  TimerWheel w(kT0);
  int count = 0;
  uint64_t now = kT0;
  auto fire = [&](TimerNode* n) {
    count++;
    w.schedule(n, now + 10 * kMs);
  };
  w.schedule(&periodic, kT0 + 10 * kMs);
  for (now = kT0; now <= kT0 + 1000 * kMs; now += kMs) {
    w.advance(now, fire);
  }
  EXPECT_EQ(count, 100);
  EXPECT_TRUE(periodic.armed());
}

TEST(TimerWheel, CallbackRearmingAtNowWaitsForNextAdvance) {
  TimerNode n;
  TimerWheel w(kT0);
  w.schedule(&n, kT0 + kMs);
  int count = 0;
  auto fire = [&](TimerNode* x) {
    count++;
    w.schedule(x, kT0);  // already due: must not loop inside this advance
  };
  EXPECT_EQ(w.advance(kT0 + kMs, fire), 1u);
  EXPECT_EQ(w.advance(kT0 + kMs, fire), 1u);
  EXPECT_EQ(count, 2);
}

TEST(TimerWheel, CallbackCancelsOrSchedulesOthers) {
  TimerNode a, b, c, d;
  TimerWheel w(kT0);
  w.schedule(&a, kT0 + 1 * kMs);
  w.schedule(&b, kT0 + 2 * kMs);  // due in the same advance as a; a cancels it
  w.schedule(&c, kT0 + 9 * kMs);
  Recorder r;
  auto fire = [&](TimerNode* n) {
    r.fired.push_back(n);
    if (n == &a) {
      w.cancel(&b);
      w.schedule(&d, kT0 + 3 * kMs);  // due, but armed during this advance
      w.schedule(&c, kT0 + 4 * kMs);  // moved earlier
    }
  };
  EXPECT_EQ(w.advance(kT0 + 5 * kMs, fire), 1u);
  EXPECT_FALSE(b.armed());
  EXPECT_EQ(w.advance(kT0 + 5 * kMs, fire), 2u);
  EXPECT_EQ(r.fired, (std::vector<const TimerNode*>{&a, &d, &c}));
  EXPECT_EQ(w.num_armed(), 0u);
}

TEST(TimerWheel, CallbackMayFreeItsOwner) {
  struct Conn {
    TimerNode rto;
    int id;
  };
  std::vector<Conn*> conns;
  TimerWheel w(kT0);
  for (int i = 0; i < 10; i++) {
    conns.push_back(new Conn{{}, i});
    w.schedule(&conns.back()->rto, kT0 + kMs);
  }
  int freed = 0;
  w.advance(kT0 + kMs, [&](TimerNode* n) {
    delete reinterpret_cast<Conn*>(n);  // rto is the first member
    freed++;
  });
  EXPECT_EQ(freed, 10);
  EXPECT_EQ(w.num_armed(), 0u);
}

TEST(TimerWheel, DestructorDisarms) {
  TimerNode a, b;
  {
    TimerWheel w(kT0, kMs, 8);
    w.schedule(&a, kT0 + kMs);
    w.schedule(&b, kT0 + kHour);
  }
  EXPECT_FALSE(a.armed());
  EXPECT_FALSE(b.armed());
}

TEST(TimerWheel, NextExpiryIsNeverLate) {
  TimerNode a, b;
  TimerWheel w(kT0, kMs, 64);
  EXPECT_EQ(w.next_expiry_ns(), UINT64_MAX);
  w.schedule(&a, kT0 + 30 * kMs + 5);
  EXPECT_LE(w.next_expiry_ns(), kT0 + 30 * kMs + 5);
  w.schedule(&b, kT0 + 1000 * kMs);  // beyond the 64 ms span
  Recorder r;
  EXPECT_EQ(w.advance(kT0 + 31 * kMs, r.fn()), 1u);
  EXPECT_LE(w.next_expiry_ns(), kT0 + 1000 * kMs);
  EXPECT_GT(w.next_expiry_ns(), kT0 + 31 * kMs);  // a useful bound, not just "now"
  w.cancel(&b);
  EXPECT_EQ(w.next_expiry_ns(), UINT64_MAX);
}

// 1000 hours at a 1 ms tick is 3.6e9 ticks; advance() walks occupied slots through a
// bitmap, never ticks (its cost is measured in bench/, not asserted here).
TEST(TimerWheel, HourLongJumpsFireEverythingInOrder) {
  std::vector<TimerNode> n(1000);
  TimerWheel w(kT0);
  std::mt19937_64 rng(7);
  for (auto& x : n) {
    w.schedule(&x, kT0 + rng() % (1000 * kHour));
  }
  Recorder r;
  uint64_t fired = 0;
  for (uint64_t h = 1; h <= 1000; h++) {
    fired += w.advance(kT0 + h * kHour, r.fn());
  }
  EXPECT_EQ(fired, 1000u);
  EXPECT_TRUE(std::is_sorted(
      r.fired.begin(), r.fired.end(),
      [](const TimerNode* a, const TimerNode* b) { return a->expires_ns < b->expires_ns; }));
  // And one jump of 10,000 hours with everything armed at once.
  for (auto& x : n) {
    w.schedule(&x, kT0 + 1000 * kHour + rng() % (10000 * kHour));
  }
  r.fired.clear();
  EXPECT_EQ(w.advance(kT0 + 11001 * kHour, r.fn()), 1000u);
  EXPECT_TRUE(std::is_sorted(
      r.fired.begin(), r.fired.end(),
      [](const TimerNode* a, const TimerNode* b) { return a->expires_ns < b->expires_ns; }));
}

// The wheel against a std::multimap reference, over random schedule/cancel/advance and
// callbacks that re-arm, cancel and schedule.
class TimerWheelRandom : public ::testing::TestWithParam<std::pair<uint32_t, uint64_t>> {};

TEST_P(TimerWheelRandom, MatchesReference) {
  const uint32_t slots = GetParam().first;  // (clang 14 cannot capture structured bindings)
  const uint64_t tick = GetParam().second;
  constexpr size_t kNodes = 200;
  constexpr int kOps = 10000;
  std::mt19937_64 rng(slots * 31 + tick);
  uint64_t now = kT0;
  std::vector<TimerNode> nodes(kNodes);  // outlives the wheel, whose destructor unlinks them
  TimerWheel w(now, tick, slots);
  using Key = std::pair<uint64_t, uint64_t>;  // (expiry, schedule sequence)
  std::map<Key, size_t> ref;
  std::vector<std::optional<Key>> key(kNodes);
  uint64_t seq = 0;
  const uint64_t span = tick * slots;

  auto random_expiry = [&]() -> uint64_t {
    switch (rng() % 6) {
      case 0:
        return now - std::min<uint64_t>(now, rng() % (3 * tick));  // past
      case 1:
        return now + rng() % tick;  // this tick
      case 2:
      case 3:
        return now + rng() % span;  // within the wheel
      case 4:
        return now + rng() % (8 * span);  // a few revolutions out
      default:
        return now + rng() % (1000 * span);  // far
    }
  };
  auto do_schedule = [&](size_t id, uint64_t when) {
    if (key[id]) {
      ref.erase(*key[id]);
    }
    key[id] = Key{when, seq++};
    ref.emplace(*key[id], id);
    w.schedule(&nodes[id], when);
  };
  auto do_cancel = [&](size_t id) {
    if (key[id]) {
      ref.erase(*key[id]);
      key[id].reset();
    }
    w.cancel(&nodes[id]);
  };
  auto check_state = [&]() {
    ASSERT_EQ(w.num_armed(), ref.size());
    for (size_t i = 0; i < kNodes; i++) {
      ASSERT_EQ(nodes[i].armed(), key[i].has_value()) << i;
    }
    if (ref.empty()) {
      ASSERT_EQ(w.next_expiry_ns(), UINT64_MAX);
    } else {
      ASSERT_LE(w.next_expiry_ns(), ref.begin()->first.first);
    }
  };

  uint64_t total_fired = 0;
  for (int op = 0; op < kOps; op++) {
    const uint64_t r = rng() % 100;
    if (r < 45) {
      do_schedule(rng() % kNodes, random_expiry());
    } else if (r < 60) {
      do_cancel(rng() % kNodes);
    } else {
      // Advance: mostly small steps, sometimes whole revolutions or huge jumps.
      const uint64_t kind = rng() % 20;
      if (kind < 14) {
        now += rng() % (2 * tick);
      } else if (kind < 18) {
        now += rng() % (3 * span);
      } else if (kind < 19) {
        now += rng() % (500 * span);
      }  // else: advance at the same time
      std::vector<std::pair<Key, size_t>> due;
      for (auto it = ref.begin(); it != ref.end() && it->first.first <= now; ++it) {
        due.emplace_back(it->first, it->second);
      }
      size_t pos = 0;
      uint32_t fired_here = 0;
      auto fire = [&](TimerNode* n) {
        const size_t id = static_cast<size_t>(n - nodes.data());
        // Skip entries cancelled or re-armed by earlier callbacks.
        while (pos < due.size() && key[due[pos].second] != due[pos].first) {
          pos++;
        }
        ASSERT_LT(pos, due.size()) << "fired a timer the reference did not have due";
        ASSERT_EQ(due[pos].second, id) << "wrong firing order";
        ASSERT_LE(n->expires_ns, now);
        ASSERT_FALSE(n->armed());
        ref.erase(*key[id]);
        key[id].reset();
        pos++;
        fired_here++;
        switch (rng() % 8) {
          case 0:
            do_schedule(id, random_expiry());  // re-arm itself, maybe already due
            break;
          case 1:
            do_cancel(rng() % kNodes);
            break;
          case 2:
            do_schedule(rng() % kNodes, random_expiry());
            break;
          default:
            break;
        }
      };
      const uint32_t got = w.advance(now, fire);
      ASSERT_EQ(got, fired_here);
      while (pos < due.size() && key[due[pos].second] != due[pos].first) {
        pos++;
      }
      ASSERT_EQ(pos, due.size()) << "a due timer did not fire at op " << op;
      total_fired += got;
    }
    check_state();
  }
  EXPECT_GT(total_fired, 1000u);  // the mix really exercised firing
}

INSTANTIATE_TEST_SUITE_P(Shapes, TimerWheelRandom,
                         ::testing::Values(std::make_pair(8u, uint64_t{1000}),
                                           std::make_pair(64u, uint64_t{1000}),
                                           std::make_pair(256u, uint64_t{977}),
                                           std::make_pair(4096u, uint64_t{1000000})));

}  // namespace
}  // namespace linetls::net::tcp
