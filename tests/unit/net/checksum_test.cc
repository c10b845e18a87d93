#include "lib/net/checksum.h"

#include <gtest/gtest.h>
#include <rte_byteorder.h>

#include <algorithm>
#include <random>
#include <vector>

#include "lib/net/checksum_simd.h"
#include "tests/unit/net/net_test_util.h"

namespace linetls::net {
namespace {

using testing::Bytes;
using testing::ref_cksum;

Bytes random_bytes(std::mt19937& rng, size_t n, bool heavy) {
  Bytes b(n);
  for (auto& x : b) {
    // "heavy" data is mostly 0xff, so sums wrap many times and carries matter.
    x = heavy && rng() % 4 != 0 ? 0xff : static_cast<uint8_t>(rng());
  }
  return b;
}

TEST(ChecksumTest, BytesMatchesReference) {
  std::mt19937 rng(1);
  for (size_t len = 0; len < 300; len++) {
    Bytes b = random_bytes(rng, len, len % 2 == 0);
    EXPECT_EQ(static_cast<uint16_t>(~cksum_bytes(b.data(), b.size())),
              ref_cksum(b.data(), b.size()))
        << "len " << len;
  }
}

TEST(ChecksumTest, Rfc1071Example) {
  // RFC 1071 section 3: the words 0001 f203 f4f5 f6f7 sum to ddf2.
  const uint8_t b[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
  EXPECT_EQ(cksum_bytes(b, sizeof(b)), 0xddf2);
  EXPECT_EQ(cksum_add(0xffff, 0x0001), 0x0001);
  EXPECT_EQ(cksum_add(0x8000, 0x8000), 0x0001);
}

class ChecksumMbufTest : public testing::StackTest {};

TEST_F(ChecksumMbufTest, ChainsWithOddSegmentBoundariesMatchReference) {
  std::mt19937 rng(2);
  const Bytes data = random_bytes(rng, 3001, true);
  const std::vector<std::vector<size_t>> splits = {
      {1500},           {1, 1501},      {7, 8, 1600}, {1001, 2001}, {1000, 1001, 1003, 2500},
      {13, 1500, 2999}, {2, 4, 5, 1800}};
  for (const auto& split : splits) {
    rte_mbuf* m = testing::make_mbuf(pool_, data, split);
    ASSERT_NE(m, nullptr);
    for (uint32_t off : {0u, 1u, 2u, 999u, 1000u, 1001u, 2999u, 3001u}) {
      for (uint32_t len : {0u, 1u, 2u, 3u, 1500u, 2001u, 3001u}) {
        uint16_t sum = 0x5a5a;
        bool ok = cksum_mbuf(m, off, len, &sum);
        if (off + len > data.size()) {
          EXPECT_FALSE(ok);
          EXPECT_EQ(sum, 0x5a5a);
          continue;
        }
        ASSERT_TRUE(ok);
        EXPECT_EQ(static_cast<uint16_t>(~sum), ref_cksum(data.data() + off, len))
            << "splits " << split.size() << " off " << off << " len " << len;
      }
    }
    rte_pktmbuf_free(m);
  }
}

TEST(ChecksumTest, PseudoHeaderMatchesReference) {
  Bytes ph;
  testing::put32(ph, 0xc0a80001);
  testing::put32(ph, 0xffff0a0b);
  ph.push_back(0);
  ph.push_back(6);
  testing::put16(ph, 1480);
  EXPECT_EQ(static_cast<uint16_t>(
                ~ipv4_pseudo_cksum(Ipv4Addr{0xc0a80001}, Ipv4Addr{0xffff0a0b}, 6, 1480)),
            ref_cksum(ph.data(), ph.size()));
}

TEST(ChecksumTest, Ipv4HeaderIgnoresTheFieldItself) {
  // A header from a real capture: 45 00 00 73 00 00 40 00 40 11 [b8 61] c0 a8 00 01 c0 a8 00 c7.
  uint8_t h[] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                 0x12, 0x34, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
  EXPECT_EQ(ipv4_header_cksum(h, sizeof(h)), 0xb861);
  h[10] = 0xb8;
  h[11] = 0x61;
  EXPECT_EQ(cksum_bytes(h, sizeof(h)), 0xffff);
}

TEST(ChecksumTest, IncrementalUpdateMatchesRecompute) {
  std::mt19937 rng(3);
  for (int iter = 0; iter < 20000; iter++) {
    // Every 7th case: one non-zero word that is about to become zero, leaving all zeros.
    const bool to_zero = iter % 7 == 0;
    Bytes b = to_zero ? Bytes(4, 0) : random_bytes(rng, 4 + 2 * (rng() % 40), iter % 3 == 0);
    b[0] = b[1] = 0;  // the checksum field
    size_t w = 2 + 2 * (rng() % ((b.size() - 2) / 2));
    if (to_zero) {
      b[w + 1] = static_cast<uint8_t>(1 + rng() % 255);
    }
    uint16_t c = ref_cksum(b.data(), b.size());
    uint16_t old_word = static_cast<uint16_t>((b[w] << 8) | b[w + 1]);
    uint16_t new_word = iter % 5 == 0 || to_zero ? 0 : static_cast<uint16_t>(rng());
    b[w] = static_cast<uint8_t>(new_word >> 8);
    b[w + 1] = static_cast<uint8_t>(new_word);
    bool all_zero = std::all_of(b.begin(), b.end(), [](uint8_t x) { return x == 0; });
    // Eqn. 3 cannot tell "sum is -0" from "all words are zero"; the header says callers
    // that can meet the all-zero case recompute, and this pins that corner.
    ASSERT_EQ(cksum_update16(c, old_word, new_word),
              all_zero ? 0x0000 : ref_cksum(b.data(), b.size()))
        << "iter " << iter;
  }
}

// Every implementation this CPU runs (and the dispatcher), as the big-endian sum.
struct Impl {
  const char* name;
  uint16_t (*fn)(const void*, size_t) noexcept;
};

std::vector<Impl> impls() {
  std::vector<Impl> v{{"scalar", simd::sum_scalar}, {"native", simd::native_sum}};
  if (simd::has_avx2()) {
    v.push_back({"avx2", simd::sum_avx2});
  }
  if (simd::has_avx512()) {
    v.push_back({"avx512", simd::sum_avx512});
  }
  return v;
}

// The big-endian one's complement sum, unfolded, of one byte at relative offset i.
inline uint64_t be_contribution(size_t i, uint8_t b) { return i % 2 == 0 ? uint64_t{b} << 8 : b; }

inline uint16_t fold(uint64_t s) {
  while (s >> 16) {
    s = (s & 0xffff) + (s >> 16);
  }
  return static_cast<uint16_t>(s);
}

// Every length 0..4096 at every alignment 0..63, each window the whole of its own
// allocation so that a read past its end is a sanitizer error; mostly-0xff data so that
// sums wrap, and the reference is kept incrementally per alignment.
TEST(ChecksumSimdTest, EveryLengthAndAlignmentMatchesReference) {
  std::mt19937 rng(7);
  Bytes master = random_bytes(rng, 64 + 4096, true);
  const auto all = impls();
  for (size_t align = 0; align < 64; align++) {
    uint64_t ref = 0;
    for (size_t len = 0; len <= 4096; len++) {
      if (len > 0) {
        ref += be_contribution(len - 1, master[align + len - 1]);
      }
      Bytes buf(master.begin(), master.begin() + static_cast<ptrdiff_t>(align + len));
      const uint8_t* p = buf.data() + align;
      for (const Impl& impl : all) {
        uint16_t got = rte_bswap16(impl.fn(p, len));
        ASSERT_EQ(got, fold(ref)) << impl.name << " len " << len << " align " << align;
      }
    }
  }
}

// All-zero sums to 0 and all-0xff to 0xffff (never -0 for +0 or the reverse), and buffers
// past the vector loops' fold interval (1 MiB for AVX2, 2 MiB for AVX-512) do not carry out.
TEST(ChecksumSimdTest, ZeroOnesAndLargeBuffers) {
  const auto all = impls();
  for (size_t len : {size_t{1}, size_t{64}, size_t{1448}, size_t{65536}}) {
    Bytes zero(len, 0);
    for (const Impl& impl : all) {
      EXPECT_EQ(impl.fn(zero.data(), len), 0) << impl.name << " len " << len;
    }
  }
  Bytes ones((5u << 20) + 200, 0xff);
  for (size_t len : {size_t{2}, size_t{1448}, size_t{65536}, (size_t{1} << 20) - 2,
                     (size_t{1} << 20) + 130, (size_t{2} << 20) + 64, (size_t{5} << 20) + 199}) {
    for (const Impl& impl : all) {
      // An odd length ends in 0xff padded with a zero byte: the big-endian word 0xff00, and
      // the 0xffff words before it are 0 mod 0xffff.
      uint16_t want = len % 2 == 0 ? 0xffff : 0xff00;
      EXPECT_EQ(rte_bswap16(impl.fn(ones.data(), len)), want) << impl.name << " len " << len;
    }
  }
  std::mt19937 rng(11);
  Bytes big = random_bytes(rng, (3u << 20) + 77, true);
  uint64_t ref = 0;
  for (size_t i = 0; i < big.size(); i++) {
    ref += be_contribution(i, big[i]);
  }
  for (const Impl& impl : all) {
    EXPECT_EQ(rte_bswap16(impl.fn(big.data(), big.size())), fold(ref)) << impl.name;
  }
}

}  // namespace
}  // namespace linetls::net
