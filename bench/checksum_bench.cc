// The Internet checksum over a buffer (lib/net/checksum_simd): DPDK's rte_raw_cksum (what
// lib/net used before, the baseline) against our portable, AVX2 and AVX-512 sums and the
// dispatcher, at header, segment and jumbo sizes. The buffer starts one byte past a cache
// line so the vector loads are unaligned, as payloads after a 14+20+20-byte header are.
//   BM_Cksum<Impl>/<bytes>   bytes per second of buffer summed
#include <benchmark/benchmark.h>
#include <rte_ip.h>

#include <cstdint>
#include <vector>

#include "lib/net/checksum_simd.h"

namespace linetls::net {
namespace {

template <typename Fn>
void run(benchmark::State& state, Fn fn) {
  const size_t len = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> buf(len + 65);
  for (size_t i = 0; i < buf.size(); i++) {
    buf[i] = static_cast<uint8_t>(i * 131 + 7);
  }
  const uint8_t* p = buf.data() + (64 - reinterpret_cast<uintptr_t>(buf.data()) % 64) % 64 + 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(p);
    benchmark::DoNotOptimize(fn(p, len));
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(len));
}

void sizes(benchmark::internal::Benchmark* b) {
  for (int64_t n : {20, 64, 256, 576, 1448, 4096, 9000, 65536}) {
    b->Arg(n);
  }
}

void BM_CksumRteRaw(benchmark::State& state) {
  run(state, [](const void* p, size_t n) { return rte_raw_cksum(p, n); });
}
BENCHMARK(BM_CksumRteRaw)->Apply(sizes);

void BM_CksumScalar(benchmark::State& state) { run(state, simd::sum_scalar); }
BENCHMARK(BM_CksumScalar)->Apply(sizes);

void BM_CksumAvx2(benchmark::State& state) {
  if (!simd::has_avx2()) {
    state.SkipWithError("no AVX2 on this CPU");
    return;
  }
  run(state, simd::sum_avx2);
}
BENCHMARK(BM_CksumAvx2)->Apply(sizes);

void BM_CksumAvx512(benchmark::State& state) {
  if (!simd::has_avx512()) {
    state.SkipWithError("no AVX-512 on this CPU");
    return;
  }
  run(state, simd::sum_avx512);
}
BENCHMARK(BM_CksumAvx512)->Apply(sizes);

void BM_CksumNative(benchmark::State& state) {
  state.SetLabel(simd::native_sum_impl());
  run(state, simd::native_sum);
}
BENCHMARK(BM_CksumNative)->Apply(sizes);

}  // namespace
}  // namespace linetls::net
