#include "lib/base/result.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace linetls {
namespace {

enum class Error { kBad, kWorse };

Result<int, Error> parse_positive(int v) {
  if (v < 0) {
    return fail(Error::kBad);
  }
  return v;
}

Result<void, Error> check(bool good) {
  if (!good) {
    return fail(Error::kWorse);
  }
  return {};
}

TEST(Result, CarriesValueOrError) {
  auto ok = parse_positive(5);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 5);
  auto bad = parse_positive(-1);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), Error::kBad);
}

TEST(Result, VoidSpecialisation) {
  EXPECT_TRUE(check(true).ok());
  auto r = check(false);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error(), Error::kWorse);
}

TEST(Result, HoldsMoveOnlyValues) {
  Result<std::unique_ptr<std::string>, Error> r(std::make_unique<std::string>("x"));
  ASSERT_TRUE(r.ok());
  std::unique_ptr<std::string> p = std::move(r).value();
  EXPECT_EQ(*p, "x");
}

}  // namespace
}  // namespace linetls
