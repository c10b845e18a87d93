#include "lib/net/tcp/seq.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace linetls::net::tcp {
namespace {

static_assert(Seq(1) < Seq(2));
static_assert(Seq(0xffffffffu) < Seq(0));
static_assert(Seq(0xffffffffu) + 1 == Seq(0));

TEST(Seq, ArithmeticWrapsModulo2To32) {
  EXPECT_EQ(Seq(0xfffffff0u) + 0x20, Seq(0x10));
  EXPECT_EQ(Seq(0x10) - 0x20, Seq(0xfffffff0u));
  Seq s(0xffffffffu);
  s += 2;
  EXPECT_EQ(s.raw(), 1u);
  EXPECT_EQ(Seq(5) - Seq(0xfffffffbu), 10);
  EXPECT_EQ(Seq(0xfffffffbu) - Seq(5), -10);
  EXPECT_EQ(Seq(7) - Seq(7), 0);
}

TEST(Seq, ComparisonAcrossZero) {
  const Seq before(0xfffffff0u);
  const Seq after(0x10);
  EXPECT_TRUE(before < after);
  EXPECT_TRUE(before <= after);
  EXPECT_FALSE(before > after);
  EXPECT_FALSE(before >= after);
  EXPECT_TRUE(after > before);
  EXPECT_TRUE(after >= before);
  EXPECT_FALSE(after < before);
  EXPECT_TRUE(before <= before);
  EXPECT_TRUE(before >= before);
  EXPECT_FALSE(before < before);
  EXPECT_FALSE(before == after);
}

TEST(Seq, ComparisonAroundHalfTheSpace) {
  // Up to 2^31 - 1 ahead is "later"; 2^31 + 1 ahead wraps round to "earlier".
  for (uint32_t base : {0u, 1u, 0x7fffffffu, 0x80000000u, 0xfffffffeu}) {
    const Seq a(base);
    EXPECT_TRUE(a < a + 0x7fffffffu) << base;
    EXPECT_TRUE(a + 0x7fffffffu > a) << base;
    EXPECT_EQ((a + 0x7fffffffu) - a, INT32_MAX) << base;
    EXPECT_TRUE(a + 0x80000001u < a) << base;
    EXPECT_EQ((a + 0x80000001u) - a, -INT32_MAX) << base;
    // Exactly 2^31 apart the order is undefined (RFC 1982 §3.2); this type calls each
    // one less than the other, so callers must keep windows below 2^31.
    EXPECT_TRUE(a < a + 0x80000000u) << base;
    EXPECT_TRUE(a + 0x80000000u < a) << base;
  }
  EXPECT_TRUE(Seq(0x7fffffffu) < Seq(0x80000000u));
  EXPECT_TRUE(Seq(0x80000000u) > Seq(0x7fffffffu));
}

TEST(Seq, InRangeIsHalfOpenAndWrapAware) {
  EXPECT_TRUE(seq_in(Seq(10), Seq(10), Seq(20)));
  EXPECT_TRUE(seq_in(Seq(19), Seq(10), Seq(20)));
  EXPECT_FALSE(seq_in(Seq(20), Seq(10), Seq(20)));
  EXPECT_FALSE(seq_in(Seq(9), Seq(10), Seq(20)));
  // A range across zero.
  const Seq lo(0xfffffff0u), hi(0x10);
  EXPECT_TRUE(seq_in(Seq(0xfffffff0u), lo, hi));
  EXPECT_TRUE(seq_in(Seq(0xffffffffu), lo, hi));
  EXPECT_TRUE(seq_in(Seq(0), lo, hi));
  EXPECT_TRUE(seq_in(Seq(0xf), lo, hi));
  EXPECT_FALSE(seq_in(Seq(0x10), lo, hi));
  EXPECT_FALSE(seq_in(Seq(0xffffffefu), lo, hi));
  // Empty when lo == hi.
  EXPECT_FALSE(seq_in(Seq(5), Seq(5), Seq(5)));
  EXPECT_FALSE(seq_in(Seq(0), Seq(0), Seq(0)));
}

TEST(Seq, MinMaxFollowWrapOrder) {
  EXPECT_EQ(seq_max(Seq(0xfffffff0u), Seq(3)), Seq(3));
  EXPECT_EQ(seq_min(Seq(0xfffffff0u), Seq(3)), Seq(0xfffffff0u));
  EXPECT_EQ(seq_max(Seq(3), Seq(0xfffffff0u)), Seq(3));
  EXPECT_EQ(seq_min(Seq(3), Seq(0xfffffff0u)), Seq(0xfffffff0u));
  EXPECT_EQ(seq_max(Seq(8), Seq(8)), Seq(8));
}

}  // namespace
}  // namespace linetls::net::tcp
