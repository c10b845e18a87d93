#include "lib/crypto/rng.h"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <vector>

#include "tests/unit/crypto/test_util.h"

namespace linetls::crypto {
namespace {

using testing::to_hex;

TEST(OsRng, FillsAndDiffers) {
  std::array<uint8_t, 32> a{};
  std::array<uint8_t, 32> b{};
  ASSERT_TRUE(os_rng().fill(a));
  ASSERT_TRUE(os_rng().fill_private(b));
  EXPECT_NE(to_hex(a), to_hex(b));
  EXPECT_NE(to_hex(a), std::string(64, '0'));
  EXPECT_TRUE(os_rng().fill({}));
}

TEST(ScriptedRng, HandsOutTheScriptInOrder) {
  const std::vector<uint8_t> script = {1, 2, 3, 4, 5, 6};
  ScriptedRng rng(script);
  std::array<uint8_t, 2> a{};
  std::array<uint8_t, 3> b{};
  ASSERT_TRUE(rng.fill(a));
  ASSERT_TRUE(rng.fill_private(b));
  EXPECT_EQ(to_hex(a), "0102");
  EXPECT_EQ(to_hex(b), "030405");
  EXPECT_EQ(rng.remaining(), 1u);
}

TEST(ScriptedRng, ExhaustionFailsWithoutConsuming) {
  ScriptedRng rng(std::vector<uint8_t>{9, 9});
  std::array<uint8_t, 3> too_big{};
  Result<void, Error> r = rng.fill(too_big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Error::kRngExhausted);
  EXPECT_EQ(rng.remaining(), 2u);
  rng.append(std::vector<uint8_t>{7});
  EXPECT_TRUE(rng.fill(too_big));
  EXPECT_EQ(to_hex(too_big), "090907");
}

TEST(SeededRng, ReproducibleAndSeedDependent) {
  SeededRng a(42);
  SeededRng b(42);
  SeededRng c(43);
  std::array<uint8_t, 100> xa{};
  std::array<uint8_t, 100> xb{};
  std::array<uint8_t, 100> xc{};
  ASSERT_TRUE(a.fill(xa));
  ASSERT_TRUE(b.fill(xb));
  ASSERT_TRUE(c.fill(xc));
  EXPECT_EQ(to_hex(xa), to_hex(xb));
  EXPECT_NE(to_hex(xa), to_hex(xc));
}

TEST(SeededRng, ChunkingDoesNotChangeTheStream) {
  SeededRng whole(7);
  SeededRng pieces(7);
  std::array<uint8_t, 70> w{};
  ASSERT_TRUE(whole.fill(w));
  std::vector<uint8_t> p;
  for (size_t n : {1, 31, 1, 37}) {
    std::vector<uint8_t> chunk(n);
    ASSERT_TRUE(pieces.fill(chunk));
    p.insert(p.end(), chunk.begin(), chunk.end());
  }
  EXPECT_EQ(to_hex(w), to_hex(p));
  // Blocks must not repeat.
  std::set<std::string> blocks;
  for (size_t i = 0; i + 32 <= w.size(); i += 32) {
    blocks.insert(to_hex(std::span(w).subspan(i, 32)));
  }
  EXPECT_EQ(blocks.size(), 2u);
}

}  // namespace
}  // namespace linetls::crypto
