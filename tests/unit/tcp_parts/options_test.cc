#include "lib/net/tcp/options.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <vector>

namespace linetls::net::tcp {
namespace {

using Bytes = std::vector<uint8_t>;

Bytes write(const TcpOptions& o) {
  std::array<uint8_t, kMaxOptionsLen> buf{};
  const size_t n = write_options(o, buf);
  return Bytes(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(n));
}

bool parse(const Bytes& b, TcpOptions* out) { return parse_options(b, out); }

TcpOptions parsed(const Bytes& b) {
  TcpOptions o;
  EXPECT_TRUE(parse(b, &o));
  return o;
}

bool rejects(const Bytes& b) {
  TcpOptions o;
  return !parse(b, &o);
}

// Linux's SYN: MSS 1460, SACK-permitted folded into the timestamp's NOPs, NOP + WS 7.
const Bytes kLinuxSyn = {0x02, 0x04, 0x05, 0xb4,                          // MSS 1460
                         0x04, 0x02, 0x08, 0x0a,                          // SACKOK, TS
                         0x11, 0x22, 0x33, 0x44, 0x00, 0x00, 0x00, 0x00,  // TSval, TSecr
                         0x01, 0x03, 0x03, 0x07};                         // NOP, WS 7

TcpOptions linux_syn_options() {
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  o.timestamp = std::make_pair(0x11223344u, 0u);
  o.wscale = 7;
  return o;
}

TEST(TcpOptionsParse, LinuxSyn) {
  const TcpOptions o = parsed(kLinuxSyn);
  EXPECT_EQ(o.mss, 1460);
  EXPECT_TRUE(o.sack_permitted);
  ASSERT_TRUE(o.timestamp.has_value());
  EXPECT_EQ(o.timestamp->first, 0x11223344u);
  EXPECT_EQ(o.timestamp->second, 0u);
  EXPECT_EQ(o.wscale, 7);
  EXPECT_EQ(o.num_sack, 0);
}

TEST(TcpOptionsParse, EmptyListIsValidAndEmpty) {
  TcpOptions o;
  o.mss = 99;  // overwritten on success
  ASSERT_TRUE(parse({}, &o));
  EXPECT_EQ(o, TcpOptions{});
}

TEST(TcpOptionsParse, WindowScaleAbove14IsClampedTo14) {
  for (int shift : {14, 15, 16, 200, 255}) {
    const TcpOptions o = parsed({0x03, 0x03, static_cast<uint8_t>(shift), 0x00});
    EXPECT_EQ(o.wscale, 14) << shift;
  }
  EXPECT_EQ(parsed({0x03, 0x03, 0x00, 0x00}).wscale, 0);
  EXPECT_EQ(parsed({0x01, 0x03, 0x03, 0x0d}).wscale, 13);
}

TEST(TcpOptionsParse, SackBlocksOneToFour) {
  for (uint8_t n = 1; n <= 4; n++) {
    Bytes b = {0x05, static_cast<uint8_t>(2 + 8 * n)};
    for (uint8_t i = 0; i < n; i++) {
      const uint32_t left = 0xfffffff0u + 0x100u * i, right = left + 0x80;
      for (uint32_t v : {left, right}) {
        b.insert(b.end(), {static_cast<uint8_t>(v >> 24), static_cast<uint8_t>(v >> 16),
                           static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)});
      }
    }
    const TcpOptions o = parsed(b);
    ASSERT_EQ(o.num_sack, n);
    for (uint8_t i = 0; i < n; i++) {
      EXPECT_EQ(o.sack[i].left, Seq(0xfffffff0u + 0x100u * i));
      EXPECT_EQ(o.sack[i].right, Seq(0xfffffff0u + 0x100u * i + 0x80));
    }
  }
}

TEST(TcpOptionsParse, EndOfListStopsParsing) {
  // MSS after EOL is padding, not an option; garbage after EOL is ignored.
  EXPECT_FALSE(parsed({0x01, 0x00, 0x02, 0x04, 0x05, 0xb4}).mss.has_value());
  EXPECT_EQ(parsed({0x02, 0x04, 0x05, 0xb4, 0x00, 0xff, 0x00, 0x01}).mss, 1460);
  EXPECT_EQ(parsed({0x02, 0x04, 0x05, 0xb4, 0x00, 0x02}).mss, 1460);
}

TEST(TcpOptionsParse, UnknownOptionsAreSkippedByLength) {
  const TcpOptions o = parsed({0x1e, 0x06, 0xaa, 0xbb, 0xcc, 0xdd,  // kind 30, 6 bytes
                               0xfe, 0x02,                          // kind 254, no body
                               0x02, 0x04, 0x02, 0x18});            // MSS 536
  EXPECT_EQ(o.mss, 536);
  // An unknown option whose body looks like other options does not leak them.
  const TcpOptions o2 = parsed({0x22, 0x06, 0x02, 0x04, 0x05, 0xb4});
  EXPECT_FALSE(o2.mss.has_value());
}

TEST(TcpOptionsParse, UnalignedOptionsAndNops) {
  const TcpOptions o = parsed({0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2,  // TS at offset 0
                               0x04, 0x02, 0x01, 0x03, 0x03, 0x02, 0x01, 0x01});
  ASSERT_TRUE(o.timestamp.has_value());
  EXPECT_EQ(*o.timestamp, std::make_pair(1u, 2u));
  EXPECT_TRUE(o.sack_permitted);
  EXPECT_EQ(o.wscale, 2);
}

TEST(TcpOptionsParse, RepeatedOptionOverwrites) {
  EXPECT_EQ(parsed({0x02, 0x04, 0x05, 0xb4, 0x02, 0x04, 0x02, 0x18}).mss, 536);
}

TEST(TcpOptionsParse, RejectsIllegalLengths) {
  EXPECT_TRUE(rejects({0x1e, 0x00}));              // length 0
  EXPECT_TRUE(rejects({0x1e, 0x01}));              // length 1
  EXPECT_TRUE(rejects({0x02}));                    // kind without its length byte
  EXPECT_TRUE(rejects({0x01, 0x01, 0x1e}));        // same, after NOPs
  EXPECT_TRUE(rejects({0x1e, 0x05, 0x00, 0x00}));  // runs past the end
  EXPECT_TRUE(rejects({0x02, 0x04, 0x05}));        // MSS cut short
  EXPECT_TRUE(rejects({0x08, 0x0a, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(TcpOptionsParse, RejectsWrongFixedLengths) {
  EXPECT_TRUE(rejects({0x02, 0x03, 0x05}));                          // MSS len 3
  EXPECT_TRUE(rejects({0x02, 0x05, 0x05, 0xb4, 0x00}));              // MSS len 5
  EXPECT_TRUE(rejects({0x03, 0x02}));                                // WS len 2
  EXPECT_TRUE(rejects({0x03, 0x04, 0x07, 0x00}));                    // WS len 4
  EXPECT_TRUE(rejects({0x04, 0x03, 0x00}));                          // SACKOK len 3
  EXPECT_TRUE(rejects({0x08, 0x08, 0, 0, 0, 0, 0, 0}));              // TS len 8
  EXPECT_TRUE(rejects({0x08, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}));  // TS len 12
}

TEST(TcpOptionsParse, RejectsBadSackLengths) {
  EXPECT_TRUE(rejects({0x05, 0x02}));  // no blocks
  for (uint8_t len : {3, 9, 11, 17, 33}) {
    Bytes b = {0x05, len};
    b.resize(len, 0);
    EXPECT_TRUE(rejects(b)) << int{len};
  }
  // Five blocks (42 bytes) cannot come from a TCP header at all.
  Bytes five = {0x05, 42};
  five.resize(42, 0);
  EXPECT_TRUE(rejects(five));
}

TEST(TcpOptionsParse, RejectsMoreThan40Bytes) {
  Bytes b(41, 0x01);
  EXPECT_TRUE(rejects(b));
  b.resize(40);
  EXPECT_FALSE(rejects(b));
}

TEST(TcpOptionsParse, OutputUntouchedOnFailure) {
  TcpOptions o;
  o.mss = 1234;
  EXPECT_FALSE(parse({0x02, 0x04, 0x05, 0xb4, 0x03, 0x02}, &o));
  EXPECT_EQ(o.mss, 1234);
  EXPECT_FALSE(o.wscale.has_value());
}

TEST(TcpOptionsWrite, LinuxSynLayout) { EXPECT_EQ(write(linux_syn_options()), kLinuxSyn); }

TEST(TcpOptionsWrite, SynWithoutTimestamps) {
  TcpOptions o;
  o.mss = 1460;
  o.sack_permitted = true;
  o.wscale = 7;
  EXPECT_EQ(write(o),
            (Bytes{0x02, 0x04, 0x05, 0xb4, 0x01, 0x01, 0x04, 0x02, 0x01, 0x03, 0x03, 0x07}));
}

TEST(TcpOptionsWrite, SynWithTimestampsWithoutSack) {
  TcpOptions o;
  o.mss = 536;
  o.timestamp = std::make_pair(1u, 2u);
  EXPECT_EQ(write(o),
            (Bytes{0x02, 0x04, 0x02, 0x18, 0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2}));
}

TEST(TcpOptionsWrite, SynWithMssOnly) {
  TcpOptions o;
  o.mss = 9000;
  EXPECT_EQ(write(o), (Bytes{0x02, 0x04, 0x23, 0x28}));
}

TEST(TcpOptionsWrite, DataSegmentTimestamp) {
  TcpOptions o;
  o.timestamp = std::make_pair(0xdeadbeefu, 0x01020304u);
  EXPECT_EQ(write(o),
            (Bytes{0x01, 0x01, 0x08, 0x0a, 0xde, 0xad, 0xbe, 0xef, 0x01, 0x02, 0x03, 0x04}));
}

TcpOptions with_sack(uint8_t n) {
  TcpOptions o;
  for (uint8_t i = 0; i < n; i++) {
    o.sack[i] = SackBlock{Seq(0x10000000u * (i + 1)), Seq(0x10000000u * (i + 1) + 0x5b4)};
  }
  o.num_sack = n;
  return o;
}

// NOP, NOP, SACK with n blocks: block i is 0x10000000 * (i + 1) .. + 0x5b4. Sized once and
// filled in place: growing the vector block by block trips GCC 12's -Warray-bounds false
// positive at -O3 (memcpy "offset 4 out of the bounds [0, 4]" in vector::insert).
Bytes sack_bytes(uint8_t n) {
  Bytes b(4 + 8 * size_t{n}, 0x00);
  b[0] = 0x01;
  b[1] = 0x01;
  b[2] = 0x05;
  b[3] = static_cast<uint8_t>(2 + 8 * n);
  for (uint8_t i = 0; i < n; i++) {
    const uint8_t hi = static_cast<uint8_t>(0x10 * (i + 1));
    const std::array<uint8_t, 8> block = {hi, 0x00, 0x00, 0x00, hi, 0x00, 0x05, 0xb4};
    std::copy(block.begin(), block.end(), b.begin() + 4 + 8 * i);
  }
  return b;
}

TEST(TcpOptionsWrite, DataSegmentTimestampAndSack) {
  for (uint8_t n = 1; n <= 4; n++) {
    TcpOptions o = with_sack(n);
    o.timestamp = std::make_pair(7u, 9u);
    Bytes want = {0x01, 0x01, 0x08, 0x0a, 0, 0, 0, 7, 0, 0, 0, 9};
    const uint8_t emitted = n < 3 ? n : 3;  // 12 + 4 + 8n <= 40
    const Bytes s = sack_bytes(emitted);
    want.insert(want.end(), s.begin(), s.end());
    EXPECT_EQ(write(o), want) << int{n};
    EXPECT_EQ(sack_blocks_that_fit(o), emitted);
  }
}

TEST(TcpOptionsWrite, SackWithoutTimestampCarriesFour) {
  for (uint8_t n = 1; n <= 4; n++) {
    EXPECT_EQ(write(with_sack(n)), sack_bytes(n)) << int{n};
  }
  EXPECT_EQ(write(with_sack(4)).size(), 36u);
}

TEST(TcpOptionsWrite, SackBlocksOnAFullSyn) {
  TcpOptions o = with_sack(4);
  o.mss = 1460;
  o.sack_permitted = true;
  o.timestamp = std::make_pair(1u, 0u);
  o.wscale = 3;
  EXPECT_EQ(sack_blocks_that_fit(o), 2);  // 20 + 4 + 16 = 40
  EXPECT_EQ(write(o).size(), 40u);
}

TEST(TcpOptionsWrite, EmptyAndClampedWscale) {
  EXPECT_TRUE(write(TcpOptions{}).empty());
  TcpOptions o;
  o.wscale = 20;
  EXPECT_EQ(write(o), (Bytes{0x01, 0x03, 0x03, 0x0e}));
}

TEST(TcpOptions, EqualityIgnoresBlocksPastCount) {
  TcpOptions a = with_sack(2), b = with_sack(2);
  b.sack[3] = SackBlock{Seq(1), Seq(2)};
  EXPECT_EQ(a, b);
  b.sack[1].right = b.sack[1].right + 1;
  EXPECT_FALSE(a == b);
  EXPECT_FALSE(with_sack(1) == with_sack(2));
}

// parse(write(x)) == x for random options, with the SACK blocks cut to what fits.
TEST(TcpOptions, RandomRoundTrip) {
  std::mt19937_64 rng(12345);
  for (int iter = 0; iter < 20000; iter++) {
    TcpOptions o;
    if (rng() & 1) {
      o.mss = static_cast<uint16_t>(rng());
    }
    if (rng() & 1) {
      o.wscale = static_cast<uint8_t>(rng() % 15);
    }
    o.sack_permitted = (rng() & 1) != 0;
    if (rng() & 1) {
      o.timestamp = std::make_pair(static_cast<uint32_t>(rng()), static_cast<uint32_t>(rng()));
    }
    o.num_sack = static_cast<uint8_t>(rng() % 5);
    for (auto& blk : o.sack) {
      blk = SackBlock{Seq(static_cast<uint32_t>(rng())), Seq(static_cast<uint32_t>(rng()))};
    }
    const Bytes b = write(o);
    ASSERT_LE(b.size(), kMaxOptionsLen);
    ASSERT_EQ(b.size() % 4, 0u);
    TcpOptions back;
    ASSERT_TRUE(parse(b, &back)) << iter;
    TcpOptions want = o;
    want.num_sack = sack_blocks_that_fit(o);
    ASSERT_EQ(back, want) << iter;
  }
}

}  // namespace
}  // namespace linetls::net::tcp
