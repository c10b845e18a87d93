#include "lib/base/secret.h"

#include <array>
#include <type_traits>

#include <gtest/gtest.h>

namespace linetls {
namespace {

TEST(Secret, HoldsAndComparesInConstantTimeHelper) {
  const std::array<uint8_t, 4> a = {1, 2, 3, 4};
  const std::array<uint8_t, 4> b = {1, 2, 3, 5};
  Secret<48> s(a);
  EXPECT_EQ(s.size(), 4u);
  EXPECT_TRUE(s.equals(a));
  EXPECT_FALSE(s.equals(b));
  EXPECT_FALSE(s.equals(std::span<const uint8_t>(a).first(3)));  // length differs
  Secret<48> t(a);
  EXPECT_TRUE(s == t);
}

TEST(Secret, WipeClearsBytes) {
  const std::array<uint8_t, 3> a = {9, 9, 9};
  Secret<8> s(a);
  const uint8_t* raw = s.view().data();
  s.wipe();
  EXPECT_EQ(s.size(), 0u);
  for (int i = 0; i < 8; i++) {
    EXPECT_EQ(raw[i], 0) << i;
  }
}

TEST(Secret, MoveWipesSource) {
  const std::array<uint8_t, 2> a = {7, 7};
  Secret<8> s(a);
  Secret<8> t(std::move(s));
  EXPECT_TRUE(t.equals(a));
  EXPECT_EQ(s.size(), 0u);  // NOLINT(bugprone-use-after-move): wiping is the contract
}

TEST(Secret, IsNotCopyable) {
  static_assert(!std::is_copy_constructible_v<Secret<16>>);
  static_assert(!std::is_copy_assignable_v<Secret<16>>);
  Secret<16> s;
  auto c = s.clone();
  EXPECT_TRUE(c == s);
}

TEST(Secret, ResizeBoundsToCapacity) {
  Secret<4> s;
  EXPECT_EQ(s.resize(10).size(), 4u);
}

TEST(ConstantTimeEqual, DetectsEveryByteDifference) {
  std::array<uint8_t, 32> a{};
  for (size_t i = 0; i < a.size(); i++) {
    auto b = a;
    b[i] ^= 0x80;
    EXPECT_FALSE(constant_time_equal(a, b)) << i;
  }
  EXPECT_TRUE(constant_time_equal(a, a));
}

}  // namespace
}  // namespace linetls
