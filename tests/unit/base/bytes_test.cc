#include "lib/base/bytes.h"

#include <array>
#include <vector>

#include <gtest/gtest.h>

namespace linetls {
namespace {

TEST(ByteReader, ReadsBigEndianIntegers) {
  const uint8_t data[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a,
                          0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14,
                          0x15, 0x16, 0x17, 0x18};
  ByteReader r(data);
  uint8_t u8 = 0;
  uint16_t u16 = 0;
  uint32_t u24 = 0, u32 = 0;
  uint64_t u64 = 0, u48 = 0;
  ASSERT_TRUE(r.read_u8(&u8));
  ASSERT_TRUE(r.read_u16(&u16));
  ASSERT_TRUE(r.read_u24(&u24));
  ASSERT_TRUE(r.read_u32(&u32));
  ASSERT_TRUE(r.read_u64(&u64));
  ASSERT_TRUE(r.read_u48(&u48));
  EXPECT_EQ(u8, 0x01);
  EXPECT_EQ(u16, 0x0203);
  EXPECT_EQ(u24, 0x040506u);
  EXPECT_EQ(u32, 0x0708090au);
  EXPECT_EQ(u64, 0x0b0c0d0e0f101112ull);
  EXPECT_EQ(u48, 0x131415161718ull);
  EXPECT_TRUE(r.empty());
}

// Every getter, on failure, must leave the cursor exactly where it was.
TEST(ByteReader, EveryFailureLeavesCursorUnchanged) {
  const uint8_t data[] = {0xaa, 0xbb, 0xcc};
  struct Case {
    const char* name;
    bool (*op)(ByteReader&);
  };
  const Case cases[] = {
      {"u32", [](ByteReader& r) { uint32_t v; return r.read_u32(&v); }},
      {"u48", [](ByteReader& r) { uint64_t v; return r.read_u48(&v); }},
      {"u64", [](ByteReader& r) { uint64_t v; return r.read_u64(&v); }},
      {"bytes4", [](ByteReader& r) { std::span<const uint8_t> v; return r.read_bytes(4, &v); }},
      {"copy4", [](ByteReader& r) { uint8_t b[4]; return r.copy_bytes(b); }},
      {"skip4", [](ByteReader& r) { return r.skip(4); }},
      // 0xaa = 170-byte body declared, 2 available.
      {"u8prefixed", [](ByteReader& r) { ByteReader c; return r.read_u8_prefixed(&c); }},
      // 0xaabb body declared.
      {"u16prefixed", [](ByteReader& r) { ByteReader c; return r.read_u16_prefixed(&c); }},
      {"u24prefixed", [](ByteReader& r) { ByteReader c; return r.read_u24_prefixed(&c); }},
      {"prefix0", [](ByteReader& r) { ByteReader c; return r.read_prefixed(0, &c); }},
      {"prefix9", [](ByteReader& r) { ByteReader c; return r.read_prefixed(9, &c); }},
  };
  for (const Case& c : cases) {
    ByteReader r(data);
    ASSERT_TRUE(r.skip(0));
    EXPECT_FALSE(c.op(r)) << c.name;
    EXPECT_EQ(r.remaining(), 3u) << c.name;
    uint8_t first = 0;
    ASSERT_TRUE(r.read_u8(&first)) << c.name;
    EXPECT_EQ(first, 0xaa) << c.name;
  }
  // A u24 prefix needs three bytes of prefix; with only two left it fails without moving.
  ByteReader r(std::span<const uint8_t>(data).subspan(1));
  ByteReader child;
  EXPECT_FALSE(r.read_u24_prefixed(&child));
  EXPECT_EQ(r.remaining(), 2u);
}

TEST(ByteReader, EmptyInputFailsEveryRead) {
  ByteReader r;
  uint8_t v = 0;
  EXPECT_FALSE(r.read_u8(&v));
  std::span<const uint8_t> s;
  EXPECT_TRUE(r.read_bytes(0, &s));
  EXPECT_TRUE(s.empty());
  EXPECT_TRUE(r.empty());
}

TEST(ByteReader, PrefixedChildIsBoundedAndAdvancesParent) {
  const uint8_t data[] = {0x00, 0x03, 0x01, 0x02, 0x03, 0x99};
  ByteReader r(data);
  ByteReader child;
  ASSERT_TRUE(r.read_u16_prefixed(&child));
  EXPECT_EQ(child.remaining(), 3u);
  EXPECT_EQ(r.remaining(), 1u);
  uint32_t v = 0;
  EXPECT_FALSE(child.read_u32(&v));  // cannot read past the child's end into the parent
  ASSERT_TRUE(child.read_u24(&v));
  EXPECT_EQ(v, 0x010203u);
  EXPECT_TRUE(child.empty());
}

TEST(ByteReader, ZeroLengthPrefixGivesEmptyChild) {
  const uint8_t data[] = {0x00};
  ByteReader r(data);
  ByteReader child;
  ASSERT_TRUE(r.read_u8_prefixed(&child));
  EXPECT_TRUE(child.empty());
  EXPECT_TRUE(r.empty());
}

TEST(ByteWriter, WritesAndBackPatchesNestedPrefixes) {
  std::array<uint8_t, 32> buf{};
  ByteWriter w(buf);
  w.put_u8(0x16);
  auto outer = w.begin_prefixed(2);
  w.put_u16(0x0303);
  auto inner = w.begin_prefixed(3);
  w.put_string("abc");
  w.end_prefixed(inner);
  w.end_prefixed(outer);
  ASSERT_TRUE(w.ok());
  const std::vector<uint8_t> want = {0x16, 0x00, 0x08, 0x03, 0x03, 0x00,
                                     0x00, 0x03, 'a',  'b',  'c'};
  EXPECT_EQ(std::vector<uint8_t>(w.written().begin(), w.written().end()), want);
}

TEST(ByteWriter, OverflowIsStickyAndNothingWrittenPastEnd) {
  std::array<uint8_t, 4> buf{};
  ByteWriter w(std::span<uint8_t>(buf).first(3));
  w.put_u16(0x0102);
  EXPECT_TRUE(w.ok());
  w.put_u16(0x0304);  // needs 2, has 1
  EXPECT_FALSE(w.ok());
  w.put_u8(0x05);  // would fit, but the error is sticky
  EXPECT_FALSE(w.ok());
  EXPECT_EQ(w.size(), 2u);
  EXPECT_EQ(buf[2], 0);
  EXPECT_EQ(buf[3], 0);
  EXPECT_EQ(w.reserve(1), nullptr);
}

TEST(ByteWriter, PrefixTooSmallForBodyFails) {
  std::array<uint8_t, 300> buf{};
  ByteWriter w(buf);
  auto p = w.begin_prefixed(1);
  w.put_zeros(256);
  w.end_prefixed(p);
  EXPECT_FALSE(w.ok());
}

TEST(ByteWriter, U24OutOfRangeFails) {
  std::array<uint8_t, 8> buf{};
  ByteWriter w(buf);
  w.put_u24(1u << 24);
  EXPECT_FALSE(w.ok());
}

TEST(ByteWriter, BadPrefixWidthFails) {
  std::array<uint8_t, 8> buf{};
  ByteWriter w(buf);
  (void)w.begin_prefixed(5);
  EXPECT_FALSE(w.ok());
}

TEST(ByteWriter, RoundTripsThroughReader) {
  std::array<uint8_t, 64> buf{};
  ByteWriter w(buf);
  w.put_u32(0xdeadbeef);
  auto p = w.begin_prefixed(1);
  w.put_u64(42);
  w.end_prefixed(p);
  ASSERT_TRUE(w.ok());
  ByteReader r(w.written());
  uint32_t a = 0;
  ByteReader c;
  uint64_t b = 0;
  ASSERT_TRUE(r.read_u32(&a));
  ASSERT_TRUE(r.read_u8_prefixed(&c));
  ASSERT_TRUE(c.read_u64(&b));
  EXPECT_EQ(a, 0xdeadbeefu);
  EXPECT_EQ(b, 42u);
  EXPECT_TRUE(r.empty());
}

TEST(BigEndian, LoadStore) {
  uint8_t b[4];
  store_be32(b, 0x01020304);
  EXPECT_EQ(b[0], 1);
  EXPECT_EQ(b[3], 4);
  EXPECT_EQ(load_be32(b), 0x01020304u);
  store_be16(b, 0xabcd);
  EXPECT_EQ(load_be16(b), 0xabcd);
}

}  // namespace
}  // namespace linetls
