// TCP building blocks on the per-connection path: ISN generation (every connection) and
// SYN cookies (every SYN during a flood), and the timer wheel's schedule/fire cycle.
#include <benchmark/benchmark.h>

#include <array>
#include <vector>

#include "lib/net/tcp/isn.h"
#include "lib/net/tcp/timer_wheel.h"

namespace linetls::net::tcp {
namespace {

constexpr std::array<uint8_t, 16> kSecret = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

FourTuple tuple(uint32_t i) {
  return FourTuple{Ipv4Addr{0x0a630002}, 443, Ipv4Addr{0x0a630001 + (i >> 16)},
                   static_cast<uint16_t>(i)};
}

void BM_TcpIsn(benchmark::State& state) {
  IsnGenerator gen(kSecret);
  uint32_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(gen.isn(tuple(i), 1'000'000'000ull + i));
    i++;
  }
}
BENCHMARK(BM_TcpIsn);

void BM_SynCookieMake(benchmark::State& state) {
  IsnGenerator gen(kSecret);
  uint32_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(
        gen.make_cookie(tuple(i), Seq(i), CookieSyn{1460, 7, true}, 1'000'000'000ull, 99u));
    i++;
  }
}
BENCHMARK(BM_SynCookieMake);

void BM_SynCookieCheck(benchmark::State& state) {
  IsnGenerator gen(kSecret);
  const auto c = gen.make_cookie(tuple(1), Seq(5), CookieSyn{1460, 7, true}, 1'000'000'000ull, 99u);
  for (auto _ : state) {
    benchmark::DoNotOptimize(gen.check_cookie(tuple(1), Seq(5), c.isn, c.tsval, 1'000'000'000ull));
  }
}
BENCHMARK(BM_SynCookieCheck);

// Schedule N timers spread over 1 s and advance through them in 1 ms steps.
void BM_TimerWheelCycle(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  std::vector<TimerNode> nodes(n);
  uint64_t now = 1'000'000'000ull;
  TimerWheel w(now);
  for (auto _ : state) {
    for (size_t i = 0; i < n; i++) {
      w.schedule(&nodes[i], now + (i * 7919 % 1000) * 1'000'000ull);
    }
    for (int ms = 0; ms <= 1000; ms++) {
      now += 1'000'000ull;
      w.advance(now, [](TimerNode*) {});
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}
BENCHMARK(BM_TimerWheelCycle)->Arg(1000)->Arg(100000);

}  // namespace
}  // namespace linetls::net::tcp
