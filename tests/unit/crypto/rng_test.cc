#include "lib/crypto/rng.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <set>
#include <thread>
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

// Small draws come from the per-thread pools: across several refills no piece repeats,
// public and private draws interleave, and sizes around the pool's direct-draw threshold work.
TEST(OsRng, PooledDrawsNeverRepeat) {
  std::set<std::string> seen;
  for (size_t i = 0; i < 3 * kOsRngPoolSize / 16; i++) {
    std::array<uint8_t, 16> piece{};
    ASSERT_TRUE(i % 3 == 0 ? os_rng().fill_private(piece) : os_rng().fill(piece));
    EXPECT_TRUE(seen.insert(to_hex(piece)).second) << i;
  }
  for (size_t n : {kOsRngPoolSize / 4 - 1, kOsRngPoolSize / 4, kOsRngPoolSize / 4 + 1,
                   kOsRngPoolSize, 3 * kOsRngPoolSize + 7}) {
    std::vector<uint8_t> big(n, 0);
    ASSERT_TRUE(os_rng().fill(big)) << n;
    ASSERT_TRUE(os_rng().fill_private(big)) << n;
    EXPECT_NE(to_hex(std::span(big).first(32)), std::string(64, '0')) << n;
    EXPECT_TRUE(seen.insert(to_hex(big)).second) << n;
  }
}

// Each thread has its own pools: two threads never hand out the same bytes.
TEST(OsRng, ThreadsDrawDifferentBytes) {
  std::array<uint8_t, 32> mine{};
  std::array<uint8_t, 32> theirs{};
  ASSERT_TRUE(os_rng().fill(mine));
  bool ok = false;
  std::thread([&] { ok = os_rng().fill(theirs).ok(); }).join();
  ASSERT_TRUE(ok);
  EXPECT_NE(to_hex(mine), to_hex(theirs));
}

// A forked child must not hand out the bytes its parent's pool still holds (the parent will).
TEST(OsRng, ForkedChildDoesNotRepeatTheParentsPool) {
  std::array<uint8_t, 8> prime{};
  ASSERT_TRUE(os_rng().fill(prime));  // the pool is full now, minus 8 bytes
  ASSERT_TRUE(os_rng().fill_private(prime));
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    std::array<uint8_t, 64> child{};
    const bool ok = os_rng().fill(std::span(child).first(32)).ok() &&
                    os_rng().fill_private(std::span(child).subspan(32)).ok();
    const ssize_t w = ok ? write(fds[1], child.data(), child.size()) : -1;
    _exit(w == static_cast<ssize_t>(child.size()) ? 0 : 1);
  }
  close(fds[1]);
  std::array<uint8_t, 64> child{};
  size_t got = 0;
  while (got < child.size()) {
    const ssize_t r = read(fds[0], child.data() + got, child.size() - got);
    if (r <= 0) {
      break;
    }
    got += static_cast<size_t>(r);
  }
  close(fds[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ASSERT_EQ(got, child.size());
  std::array<uint8_t, 64> parent{};
  ASSERT_TRUE(os_rng().fill(std::span(parent).first(32)));
  ASSERT_TRUE(os_rng().fill_private(std::span(parent).subspan(32)));
  EXPECT_NE(to_hex(std::span(child).first(32)), to_hex(std::span(parent).first(32)));
  EXPECT_NE(to_hex(std::span(child).subspan(32)), to_hex(std::span(parent).subspan(32)));
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
