#include "lib/base/counters.h"

#include <string>

#include <gtest/gtest.h>

namespace linetls {
namespace {

enum class Ctr : uint16_t { kA, kB, kCount };
constexpr std::array<std::string_view, 2> kCtrNames = {"a", "b"};
using Ctrs = CounterSet<Ctr, kCtrNames>;

TEST(CounterSet, IncrementsAndIterates) {
  Ctrs c;
  c.inc(Ctr::kA);
  c.inc(Ctr::kB, 5);
  c.inc(Ctr::kA);
  EXPECT_EQ(c.get(Ctr::kA), 2u);
  EXPECT_EQ(c.get(Ctr::kB), 5u);
  std::string seen;
  c.for_each([&](std::string_view n, uint64_t v) { seen += std::string(n) + std::to_string(v); });
  EXPECT_EQ(seen, "a2b5");
  Ctrs d;
  d.inc(Ctr::kB);
  d += c;
  EXPECT_EQ(d.get(Ctr::kB), 6u);
  EXPECT_EQ(Ctrs::name(Ctr::kB), "b");
}

}  // namespace
}  // namespace linetls
