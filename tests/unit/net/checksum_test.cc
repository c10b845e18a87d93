#include "lib/net/checksum.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

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

}  // namespace
}  // namespace linetls::net
