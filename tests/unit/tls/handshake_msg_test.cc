// Handshake reassembly: coalesced messages, messages split at every possible point and over
// one-byte records, the size limit, unknown types and the §5.1 key-change alignment rule.
#include "lib/tls/handshake_msg.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <vector>

namespace linetls::tls {
namespace {

std::vector<uint8_t> msg(uint8_t type, size_t len) {
  std::vector<uint8_t> m(kHandshakeHeaderLen + len);
  m[0] = type;
  m[1] = static_cast<uint8_t>(len >> 16);
  m[2] = static_cast<uint8_t>(len >> 8);
  m[3] = static_cast<uint8_t>(len);
  for (size_t i = 0; i < len; i++) {
    m[4 + i] = static_cast<uint8_t>(i * 31 + type);
  }
  return m;
}

// Feeds stream as records of the given sizes; returns the messages' bytes.
std::vector<std::vector<uint8_t>> reassemble(HandshakeReassembler& r,
                                             const std::vector<uint8_t>& stream, size_t record_len,
                                             Error* err = nullptr) {
  std::vector<std::vector<uint8_t>> out;
  for (size_t pos = 0; pos < stream.size(); pos += record_len) {
    std::span<const uint8_t> rec(stream.data() + pos, std::min(record_len, stream.size() - pos));
    while (!rec.empty()) {
      auto step = r.next(rec);
      if (!step) {
        if (err != nullptr) {
          *err = step.error();
        }
        return out;
      }
      if (step->has_message) {
        out.emplace_back(step->message.bytes.begin(), step->message.bytes.end());
        EXPECT_EQ(step->message.body.size() + 4, step->message.bytes.size());
      }
      rec = rec.subspan(step->consumed);
    }
  }
  return out;
}

TEST(HandshakeReassembler, CoalescedMessagesAreViews) {
  auto a = msg(8, 10), b = msg(11, 300), c = msg(20, 32);
  std::vector<uint8_t> rec;
  for (auto* m : {&a, &b, &c}) {
    rec.insert(rec.end(), m->begin(), m->end());
  }
  HandshakeReassembler r;
  std::span<const uint8_t> rest(rec);
  std::vector<HandshakeMessage> got;
  while (!rest.empty()) {
    auto step = r.next(rest);
    ASSERT_TRUE(step);
    ASSERT_TRUE(step->has_message);
    EXPECT_FALSE(step->message.assembled);
    got.push_back(step->message);
    rest = rest.subspan(step->consumed);
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].type, HandshakeType::kEncryptedExtensions);
  EXPECT_EQ(got[1].type, HandshakeType::kCertificate);
  EXPECT_EQ(got[2].type, HandshakeType::kFinished);
  EXPECT_EQ(got[1].bytes.data(), rec.data() + a.size());
  EXPECT_EQ(r.num_assembled(), 0u);
}

TEST(HandshakeReassembler, EveryRecordSizeGivesTheSameMessages) {
  std::vector<std::vector<uint8_t>> want = {msg(1, 0), msg(2, 90), msg(11, 5000), msg(24, 1)};
  std::vector<uint8_t> stream;
  for (auto& m : want) {
    stream.insert(stream.end(), m.begin(), m.end());
  }
  for (size_t rl = 1; rl <= 40; rl++) {
    HandshakeReassembler r;
    EXPECT_EQ(reassemble(r, stream, rl), want) << "record length " << rl;
    EXPECT_FALSE(r.mid_message());
  }
  HandshakeReassembler r;
  EXPECT_EQ(reassemble(r, stream, 16384), want);
}

TEST(HandshakeReassembler, SizeLimitIsCheckedOnTheHeader) {
  HandshakeReassembler r(1000);
  auto ok = msg(11, 1000);
  EXPECT_EQ(reassemble(r, ok, 7).size(), 1u);
  for (size_t rl : {size_t{1}, size_t{4}, size_t{2000}}) {
    HandshakeReassembler small(1000);
    Error err = Error::kInternalError;
    auto big = msg(11, 1001);
    EXPECT_TRUE(reassemble(small, big, rl, &err).empty());
    EXPECT_EQ(err, Error::kHandshakeMessageTooLarge) << rl;
  }
  // A 2^24 - 1 length announces 16 MiB: refused before buffering.
  HandshakeReassembler d;
  std::vector<uint8_t> huge = {11, 0xff, 0xff, 0xff};
  Error err = Error::kInternalError;
  reassemble(d, huge, 4, &err);
  EXPECT_EQ(err, Error::kHandshakeMessageTooLarge);
}

// Allocation by announcement: a Certificate header announcing 60000 bytes followed by five
// of them holds a few hundred bytes; the buffer doubles as bytes come, never past the
// message, and is given back at the next call or at trim(), so an idle connection holds none.
TEST(HandshakeReassembler, BufferFollowsTheBytesAndIsGivenBack) {
  const auto m = msg(11, 60000);
  HandshakeReassembler r;
  auto step = r.next(std::span<const uint8_t>(m).first(4));
  ASSERT_TRUE(step && !step->has_message);
  EXPECT_EQ(r.capacity(), 0u);  // the header is held inline
  step = r.next(std::span<const uint8_t>(m).subspan(4, 5));
  ASSERT_TRUE(step && !step->has_message);
  EXPECT_LE(r.capacity(), 256u);
  size_t at = 9;
  while (at < m.size()) {
    step = r.next(std::span<const uint8_t>(m).subspan(at, std::min<size_t>(1000, m.size() - at)));
    ASSERT_TRUE(step);
    at += step->consumed;
    if (!step->has_message) {
      EXPECT_LE(r.capacity(), 2 * at) << at;
    }
  }
  ASSERT_TRUE(step->has_message);
  EXPECT_EQ(std::vector<uint8_t>(step->message.bytes.begin(), step->message.bytes.end()), m);
  EXPECT_EQ(r.capacity(), m.size());
  r.trim();
  EXPECT_EQ(r.capacity(), 0u);
  // Handed-out messages are also given back by the next call.
  HandshakeReassembler r2;
  reassemble(r2, m, 700);
  EXPECT_GT(r2.capacity(), 0u);
  auto next = r2.next({});
  ASSERT_TRUE(next);
  EXPECT_EQ(r2.capacity(), 0u);
  // trim() keeps a partial message.
  HandshakeReassembler r3;
  ASSERT_TRUE(r3.next(std::span<const uint8_t>(m).first(100)));
  r3.trim();
  EXPECT_TRUE(r3.mid_message());
  EXPECT_GT(r3.capacity(), 0u);
}

// The owner's rules are checked on the header, before any of the body is buffered: a type not
// listed is unexpected_message, a listed one above its size is too large, a refused one
// fails with its own error; the header may arrive a byte at a time.
TEST(HandshakeReassembler, RulesAreCheckedOnTheHeader) {
  const MessageRule rules[] = {
      {HandshakeType::kKeyUpdate, 1, std::nullopt},
      {HandshakeType::kClientHello, 0, Error::kRenegotiationRefused},
  };
  struct Case {
    std::vector<uint8_t> header;
    std::optional<Error> error;
  } cases[] = {
      {{24, 0, 0, 1}, std::nullopt},
      {{24, 0, 0, 2}, Error::kHandshakeMessageTooLarge},
      {{24, 1, 0, 0}, Error::kHandshakeMessageTooLarge},
      {{4, 0, 0xff, 0xff}, Error::kUnexpectedMessage},
      {{1, 0, 1, 0}, Error::kRenegotiationRefused},
      {{99, 0, 0, 1}, Error::kUnknownHandshakeType},
  };
  for (const Case& c : cases) {
    for (size_t piece : {size_t{1}, size_t{4}}) {
      HandshakeReassembler r;
      std::optional<Error> got;
      for (size_t at = 0; at < c.header.size() && !got; at += piece) {
        auto step = r.next(std::span<const uint8_t>(c.header).subspan(at, piece), rules);
        if (!step) {
          got = step.error();
        }
      }
      EXPECT_EQ(got, c.error) << int{c.header[0]} << " in pieces of " << piece;
      EXPECT_EQ(r.capacity(), 0u);
    }
  }
}

TEST(HandshakeReassembler, UnknownTypesAreRejected) {
  for (uint8_t t : {3, 6, 7, 9, 17, 21, 25, 254, 255}) {
    HandshakeReassembler r;
    Error err = Error::kInternalError;
    auto m = msg(t, 2);
    reassemble(r, m, 2, &err);
    EXPECT_EQ(err, Error::kUnknownHandshakeType) << int{t};
    EXPECT_EQ(handshake_type_name(t), nullptr);
  }
  EXPECT_STREQ(handshake_type_name(1), "client_hello");
  EXPECT_STREQ(handshake_type_name(24), "key_update");
}

TEST(HandshakeReassembler, KeyChangeMustFallOnARecordBoundary) {
  // A Finished followed in the same record by more bytes: misaligned (§5.1).
  auto fin = msg(20, 32), extra = msg(4, 10);
  std::vector<uint8_t> rec(fin);
  rec.insert(rec.end(), extra.begin(), extra.end());
  HandshakeReassembler r;
  auto step = r.next(rec);
  ASSERT_TRUE(step && step->has_message);
  std::span<const uint8_t> rest = std::span<const uint8_t>(rec).subspan(step->consumed);
  EXPECT_EQ(r.check_key_change(rest).error(), Error::kHandshakeSpansKeyChange);
  EXPECT_TRUE(r.check_key_change({}));
  // A partial message buffered at the key change is misaligned too.
  HandshakeReassembler p;
  std::span<const uint8_t> half(extra.data(), 6);
  auto s = p.next(half);
  ASSERT_TRUE(s);
  EXPECT_FALSE(s->has_message);
  EXPECT_EQ(p.check_key_change({}).error(), Error::kHandshakeSpansKeyChange);
}

}  // namespace
}  // namespace linetls::tls
