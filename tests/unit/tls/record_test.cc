// Record framing: the Deframer over arbitrary piece boundaries, the §5 limits and checks,
// TLSInnerPlaintext parsing and the middlebox-compatibility change_cipher_spec window.
#include "lib/tls/record.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace linetls::tls {
namespace {

std::vector<uint8_t> make_record(uint8_t type, size_t len, uint16_t version = 0x0303,
                                 uint8_t fill = 0xab) {
  std::vector<uint8_t> r(kRecordHeaderLen + len, fill);
  r[0] = type;
  r[1] = static_cast<uint8_t>(version >> 8);
  r[2] = static_cast<uint8_t>(version);
  r[3] = static_cast<uint8_t>(len >> 8);
  r[4] = static_cast<uint8_t>(len);
  for (size_t i = 0; i < len; i++) {
    r[kRecordHeaderLen + i] = static_cast<uint8_t>(fill + i);
  }
  return r;
}

// Feeds stream to d in pieces of the given sizes (cycled) and returns the records' bodies,
// copied; releases assembled records at once.
struct Fed {
  std::vector<std::vector<uint8_t>> fragments;
  std::vector<ContentType> types;
  Error error = Error::kInternalError;
  bool failed = false;
};
Fed feed(Deframer& d, std::vector<uint8_t> stream, const std::vector<size_t>& sizes) {
  Fed out;
  size_t pos = 0;
  size_t k = 0;
  while (pos < stream.size()) {
    size_t n = std::min(sizes[k++ % sizes.size()], stream.size() - pos);
    std::span<uint8_t> piece(stream.data() + pos, n);
    pos += n;
    while (!piece.empty()) {
      auto step = d.next(piece);
      if (!step) {
        out.failed = true;
        out.error = step.error();
        return out;
      }
      if (step->has_record) {
        out.fragments.emplace_back(step->record.fragment.begin(), step->record.fragment.end());
        out.types.push_back(step->record.type);
        if (step->record.assembled) {
          d.release_assembled();
        }
      }
      EXPECT_TRUE(step->consumed != 0 || step->has_record) << "no progress";
      piece = piece.subspan(step->consumed);
    }
  }
  return out;
}

TEST(Deframer, WholeRecordInOnePieceIsAViewNotACopy) {
  auto rec = make_record(22, 100);
  Deframer d;
  auto step = d.next(rec);
  ASSERT_TRUE(step);
  ASSERT_TRUE(step->has_record);
  EXPECT_EQ(step->consumed, rec.size());
  EXPECT_FALSE(step->record.assembled);
  EXPECT_EQ(step->record.fragment.data(), rec.data() + kRecordHeaderLen);
  EXPECT_EQ(step->record.header.data(), rec.data());
  EXPECT_EQ(step->record.fragment.size(), 100u);
  EXPECT_EQ(step->record.type, ContentType::kHandshake);
  EXPECT_EQ(step->record.version, 0x0303);
  EXPECT_EQ(d.stats().assembled, 0u);
  EXPECT_EQ(d.stats().bytes_copied, 0u);
}

TEST(Deframer, ManyRecordsInOnePiece) {
  std::vector<uint8_t> stream;
  for (size_t len : {1u, 300u, 17u, 0u, 2u}) {
    auto r = make_record(len == 0 ? 23 : 22, len, 0x0303, static_cast<uint8_t>(len));
    stream.insert(stream.end(), r.begin(), r.end());
  }
  Deframer d;
  Fed fed = feed(d, stream, {stream.size()});
  ASSERT_FALSE(fed.failed);
  ASSERT_EQ(fed.fragments.size(), 5u);
  EXPECT_EQ(fed.fragments[1].size(), 300u);
  EXPECT_EQ(fed.fragments[3].size(), 0u);  // empty application data is legal
  EXPECT_EQ(d.stats().assembled, 0u);
}

TEST(Deframer, AnySplitGivesTheSameRecords) {
  std::vector<uint8_t> stream;
  std::vector<std::vector<uint8_t>> want;
  for (size_t len : {5u, 1000u, 1u, 16384u, 77u}) {
    auto r = make_record(23, len, 0x0303, static_cast<uint8_t>(len * 7));
    want.emplace_back(r.begin() + kRecordHeaderLen, r.end());
    stream.insert(stream.end(), r.begin(), r.end());
  }
  for (const std::vector<size_t>& sizes : std::vector<std::vector<size_t>>{
           {1}, {2}, {3}, {4}, {5}, {6}, {7, 1, 13}, {1460}, {4096, 3}, {100000}}) {
    Deframer d;
    Fed fed = feed(d, stream, sizes);
    ASSERT_FALSE(fed.failed) << sizes[0];
    EXPECT_EQ(fed.fragments, want) << "piece size " << sizes[0];
    EXPECT_FALSE(d.mid_record());
  }
}

TEST(Deframer, OneByteFeedsCopyEachByteOnce) {
  auto rec = make_record(22, 50);
  Deframer d;
  Fed fed = feed(d, rec, {1});
  ASSERT_EQ(fed.fragments.size(), 1u);
  EXPECT_EQ(d.stats().assembled, 1u);
  EXPECT_EQ(d.stats().bytes_copied, rec.size());
}

TEST(Deframer, HeldAssemblyBufferStallsTheNextSplitRecordOnly) {
  auto a = make_record(23, 10, 0x0303, 1);
  auto b = make_record(23, 10, 0x0303, 2);
  auto c = make_record(23, 10, 0x0303, 3);
  Deframer d;
  // a arrives in two pieces: assembled.
  std::span<uint8_t> a1(a.data(), 7), a2(a.data() + 7, a.size() - 7);
  auto s = d.next(a1);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->has_record);
  s = d.next(a2);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->has_record);
  EXPECT_TRUE(s->record.assembled);
  const uint8_t first_byte = s->record.fragment[0];
  EXPECT_TRUE(d.assembly_held());
  // b whole in its piece still flows as a view while a is held.
  s = d.next(b);
  ASSERT_TRUE(s);
  ASSERT_TRUE(s->has_record);
  EXPECT_FALSE(s->record.assembled);
  // c split: waits, and a's bytes are untouched.
  std::span<uint8_t> c1(c.data(), 3);
  s = d.next(c1);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->consumed, 0u);
  EXPECT_FALSE(s->has_record);
  d.release_assembled();
  s = d.next(c1);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->consumed, 3u);
  EXPECT_EQ(first_byte, static_cast<uint8_t>(1));
}

// Allocation by announcement: a header announcing 16 KiB + 256 holds no buffer until bytes
// of the record come, then only as much as came (doubling); release_assembled() gives it all
// back, so an idle stream holds nothing.
TEST(Deframer, AssemblyBufferFollowsTheBytesAndIsFreed) {
  auto rec = make_record(23, kMaxCiphertextLen);
  Deframer d;
  d.set_protected(true);
  std::span<uint8_t> all(rec);
  auto s = d.next(all.first(kRecordHeaderLen));
  ASSERT_TRUE(s && !s->has_record);
  EXPECT_EQ(d.assembly_capacity(), 0u);  // the header alone is held inline
  s = d.next(all.subspan(kRecordHeaderLen, 1));
  ASSERT_TRUE(s && !s->has_record);
  EXPECT_LE(d.assembly_capacity(), 512u);  // 6 bytes came, not 16 KiB
  size_t at = kRecordHeaderLen + 1;
  while (at < rec.size()) {
    const size_t n = std::min<size_t>(1400, rec.size() - at);
    s = d.next(all.subspan(at, n));
    ASSERT_TRUE(s);
    at += s->consumed;
    if (!s->has_record) {
      EXPECT_LE(d.assembly_capacity(), 2 * at) << at;  // never more than twice what came
    }
  }
  ASSERT_TRUE(s->has_record);
  EXPECT_EQ(d.assembly_capacity(), rec.size());
  EXPECT_TRUE(std::equal(s->record.fragment.begin(), s->record.fragment.end(),
                         rec.begin() + kRecordHeaderLen));
  d.release_assembled();
  EXPECT_EQ(d.assembly_capacity(), 0u);
  EXPECT_FALSE(d.mid_record());
  // A record split in its header only (an empty change_cipher_spec-sized one) works too.
  auto empty = make_record(23, 0);
  s = d.next(std::span<uint8_t>(empty).first(2));
  ASSERT_TRUE(s && !s->has_record);
  s = d.next(std::span<uint8_t>(empty).subspan(2));
  ASSERT_TRUE(s && s->has_record);
  EXPECT_TRUE(s->record.fragment.empty());
  d.release_assembled();
  EXPECT_EQ(d.assembly_capacity(), 0u);
}

struct HeaderCase {
  const char* what;
  std::vector<uint8_t> bytes;
  bool protect;
  bool strict;
  size_t max_plaintext;
  Error want;
};

TEST(Deframer, HeaderChecks) {
  const std::vector<HeaderCase> cases = {
      {"unknown type 24", make_record(24, 1), false, false, kMaxPlaintextLen,
       Error::kBadRecordType},
      {"type 0", make_record(0, 1), false, false, kMaxPlaintextLen, Error::kBadRecordType},
      {"heartbeat type", make_record(24, 3), true, false, kMaxPlaintextLen, Error::kBadRecordType},
      {"SSLv2-looking version", make_record(22, 4, 0x0002), false, false, kMaxPlaintextLen,
       Error::kBadRecordVersion},
      {"version 0x0403", make_record(22, 4, 0x0403), false, false, kMaxPlaintextLen,
       Error::kBadRecordVersion},
      {"0x0301 once strict", make_record(23, 20, 0x0301), true, true, kMaxPlaintextLen,
       Error::kBadRecordVersion},
      {"plaintext 2^14+1", make_record(22, kMaxPlaintextLen + 1), false, false, kMaxPlaintextLen,
       Error::kRecordOverflow},
      {"ciphertext 2^14+257", make_record(23, kMaxCiphertextLen + 1), true, false, kMaxPlaintextLen,
       Error::kRecordOverflow},
      {"over record_size_limit", make_record(22, 64), false, false, 63, Error::kRecordOverflow},
      {"protected over limit+256", make_record(23, 63 + 257), true, false, 63,
       Error::kRecordOverflow},
      {"empty handshake", make_record(22, 0), false, false, kMaxPlaintextLen,
       Error::kEmptyFragment},
      {"empty alert", make_record(21, 0), false, false, kMaxPlaintextLen, Error::kEmptyFragment},
  };
  for (const HeaderCase& c : cases) {
    for (size_t piece : {c.bytes.size(), size_t{1}, size_t{5}}) {
      Deframer::Config config;
      config.max_plaintext_len = c.max_plaintext;
      Deframer d(config);
      d.set_protected(c.protect);
      d.set_strict_version(c.strict);
      Fed fed = feed(d, c.bytes, {piece});
      ASSERT_TRUE(fed.failed) << c.what << " piece " << piece;
      EXPECT_EQ(fed.error, c.want) << c.what << ": " << to_string(fed.error);
      // A failed deframer stays failed.
      std::vector<uint8_t> copy = c.bytes;
      auto again = d.next(copy);
      ASSERT_FALSE(again);
    }
  }
}

TEST(Deframer, LimitsAcceptTheirMaximum) {
  for (auto [len, protect] : {std::pair<size_t, bool>{kMaxPlaintextLen, false},
                              std::pair<size_t, bool>{kMaxCiphertextLen, true}}) {
    auto rec = make_record(protect ? 23 : 22, len);
    Deframer d;
    d.set_protected(protect);
    Fed fed = feed(d, rec, {1000});
    ASSERT_FALSE(fed.failed) << len;
    ASSERT_EQ(fed.fragments.size(), 1u);
    EXPECT_EQ(fed.fragments[0].size(), len);
  }
  // The ClientHello record may carry 0x0301 until the version is strict.
  Deframer d;
  Fed fed = feed(d, make_record(22, 4, 0x0301), {9});
  EXPECT_FALSE(fed.failed);
}

TEST(Deframer, RecordSizeLimitArithmetic) {
  EXPECT_EQ(plaintext_limit_for_record_size_limit(kMaxRecordSizeLimitTls13, true),
            kMaxPlaintextLen);
  EXPECT_EQ(plaintext_limit_for_record_size_limit(64, true), 63u);
  EXPECT_EQ(plaintext_limit_for_record_size_limit(64, false), 64u);
  EXPECT_EQ(plaintext_limit_for_record_size_limit(65535, false), kMaxPlaintextLen);
}

TEST(InnerPlaintext, StripsPaddingAndFindsTheType) {
  std::vector<uint8_t> p = {'h', 'i', 0x17, 0, 0, 0, 0};
  auto r = parse_inner_plaintext(p);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, ContentType::kApplicationData);
  ASSERT_EQ(r->content.size(), 2u);
  EXPECT_EQ(r->content.data(), p.data());
  // Content may itself end in zero bytes before the type.
  std::vector<uint8_t> q = {0, 0, 0x16, 0};
  r = parse_inner_plaintext(q);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type, ContentType::kHandshake);
  EXPECT_EQ(r->content.size(), 2u);
  // Empty application data is allowed.
  std::vector<uint8_t> e = {0x17};
  r = parse_inner_plaintext(e);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->content.empty());
}

TEST(InnerPlaintext, Rejections) {
  struct Case {
    std::vector<uint8_t> bytes;
    size_t limit;
    Error want;
  };
  std::vector<uint8_t> big(kMaxPlaintextLen + 2, 1);
  std::vector<uint8_t> at_limit(kMaxPlaintextLen + 1, 1);
  const std::vector<Case> cases = {
      {{}, kMaxPlaintextLen, Error::kAllZeroInnerPlaintext},
      {{0, 0, 0}, kMaxPlaintextLen, Error::kAllZeroInnerPlaintext},
      {{1, 2, 0x18}, kMaxPlaintextLen, Error::kBadRecordType},
      {{1, 0x14}, kMaxPlaintextLen, Error::kBadChangeCipherSpec},
      {{0x16, 0, 0}, kMaxPlaintextLen, Error::kEmptyFragment},
      {{0x15}, kMaxPlaintextLen, Error::kEmptyFragment},
      {big, kMaxPlaintextLen, Error::kPlaintextOverflow},
      {{1, 2, 3, 0x17}, 2, Error::kPlaintextOverflow},
  };
  for (const Case& c : cases) {
    std::vector<uint8_t> b = c.bytes;
    auto r = parse_inner_plaintext(b, c.limit);
    ASSERT_FALSE(r) << b.size();
    EXPECT_EQ(r.error(), c.want) << to_string(r.error());
  }
  at_limit.back() = 0x17;
  EXPECT_TRUE(parse_inner_plaintext(at_limit));
}

TEST(CompatCcs, OnlyOneByteOneInsideTheWindow) {
  auto good = make_record(20, 1);
  good[kRecordHeaderLen] = 0x01;
  auto two = make_record(20, 2);
  auto zero = make_record(20, 1);
  zero[kRecordHeaderLen] = 0x00;
  auto rec = [&](std::vector<uint8_t>& bytes) {
    Deframer fresh;
    auto s = fresh.next(bytes);
    EXPECT_TRUE(s && s->has_record);
    return s->record;
  };
  const CcsWindow open{true, false};
  EXPECT_TRUE(check_compat_ccs(rec(good), open));
  EXPECT_EQ(check_compat_ccs(rec(two), open).error(), Error::kBadChangeCipherSpec);
  EXPECT_EQ(check_compat_ccs(rec(zero), open).error(), Error::kBadChangeCipherSpec);
  EXPECT_EQ(check_compat_ccs(rec(good), CcsWindow{false, false}).error(),
            Error::kUnexpectedChangeCipherSpec);
  EXPECT_EQ(check_compat_ccs(rec(good), CcsWindow{true, true}).error(),
            Error::kUnexpectedChangeCipherSpec);
  // An empty CCS record passes the deframer (it is not handshake/alert) but not the check.
  auto empty = make_record(20, 0);
  EXPECT_EQ(check_compat_ccs(rec(empty), open).error(), Error::kBadChangeCipherSpec);
}

TEST(RecordHeader, WritesTypeVersionLength) {
  uint8_t h[kRecordHeaderLen];
  write_record_header(h, ContentType::kHandshake, 0x1234, 0x0301);
  EXPECT_EQ(h[0], 22);
  EXPECT_EQ(h[1], 3);
  EXPECT_EQ(h[2], 1);
  EXPECT_EQ(h[3], 0x12);
  EXPECT_EQ(h[4], 0x34);
}

}  // namespace
}  // namespace linetls::tls
