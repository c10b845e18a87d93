// Record protection against RFC 8448 §3's protected records (tests/vectors/tls13), through
// crypto::AeadBatch (the OpenSSL reference backend): seal reproduces the wire bytes, open
// recovers content and inner type, all four records go through one batch, and the sequence
// number, nonce, tampering, scatter lists and overflow behave as §5.2-§5.3 say.
#include "lib/tls/record_protection.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "tests/unit/crypto/test_util.h"

namespace linetls::tls {
namespace {

using crypto::testing::hex;
using crypto::testing::read_records;
using crypto::testing::to_hex;

struct Vector {
  std::string what;
  std::vector<uint8_t> key, iv, content, record;
  uint64_t seq;
  ContentType type;
};

std::vector<Vector> vectors() {
  std::vector<Vector> out;
  for (auto& r : read_records("tls13/rfc8448_simple.txt")) {
    if (r["name"] != "record") {
      continue;
    }
    out.push_back(Vector{r["what"], hex(r["key"]), hex(r["iv"]), hex(r["content"]),
                         hex(r["record"]), std::stoull(r["seq"]),
                         static_cast<ContentType>(std::stoi(r["type"]))});
  }
  return out;
}

TrafficKeys keys_of(const Vector& v) {
  TrafficKeys k;
  k.aead = crypto::AeadAlgo::kAes128Gcm;
  k.key.assign(v.key);
  k.iv.assign(v.iv);
  return k;
}

std::unique_ptr<ossl::OsslAeadBatch> make_batch(uint32_t capacity = 16) {
  auto b = ossl::OsslAeadBatch::create(capacity);
  EXPECT_TRUE(b);
  return std::move(b).value();
}

TEST(RecordProtection, Rfc8448RecordsSealToTheWireBytes) {
  auto batch = make_batch();
  const auto vs = vectors();
  ASSERT_EQ(vs.size(), 4u);
  std::vector<RecordProtector> prots;
  std::vector<std::vector<uint8_t>> bufs;
  std::vector<RecordSlot> slots(vs.size());
  for (const Vector& v : vs) {
    auto p = RecordProtector::create(*batch, keys_of(v), v.seq);
    ASSERT_TRUE(p);
    prots.push_back(std::move(p).value());
    std::vector<uint8_t> buf(v.content.size() + kProtectedOverhead);
    std::copy(v.content.begin(), v.content.end(), buf.begin() + kRecordHeaderLen);
    bufs.push_back(std::move(buf));
  }
  // Every record of every "connection" in one batch.
  for (size_t i = 0; i < vs.size(); i++) {
    auto q = prots[i].queue_seal(*batch, bufs[i], vs[i].content.size(), vs[i].type, 0, &slots[i],
                                 &bufs[i]);
    ASSERT_TRUE(q);
    ASSERT_TRUE(*q);
    EXPECT_EQ(prots[i].next_seq(), vs[i].seq + 1);
  }
  EXPECT_EQ(batch->run(), vs.size());
  for (size_t i = 0; i < vs.size(); i++) {
    EXPECT_EQ(batch->user_data(static_cast<uint32_t>(i)), &bufs[i]);
    EXPECT_EQ(to_hex(bufs[i]), to_hex(vs[i].record)) << vs[i].what;
  }
}

TEST(RecordProtection, Rfc8448RecordsOpenThroughTheDeframer) {
  auto batch = make_batch();
  for (const Vector& v : vectors()) {
    auto p = RecordProtector::create(*batch, keys_of(v), v.seq);
    ASSERT_TRUE(p);
    std::vector<uint8_t> wire = v.record;
    Deframer d;
    d.set_protected(true);
    auto step = d.next(wire);
    ASSERT_TRUE(step && step->has_record);
    RecordSlot slot;
    auto q = p->queue_open(*batch, step->record, &slot);
    ASSERT_TRUE(q && *q);
    batch->run();
    auto inner = finish_open(batch->status(batch->size() - 1), slot);
    ASSERT_TRUE(inner) << v.what << ": " << to_string(inner.error());
    EXPECT_EQ(inner->type, v.type);
    EXPECT_EQ(to_hex(inner->content), to_hex(v.content)) << v.what;
    // In place: the content is where the ciphertext was.
    EXPECT_EQ(inner->content.data(), wire.data() + kRecordHeaderLen);
    batch->clear();
  }
}

TEST(RecordProtection, WrongSequenceOrTamperingFailsAsBadRecordMac) {
  auto batch = make_batch();
  const Vector v = vectors()[2];  // client application data, seq 0
  for (int variant = 0; variant < 4; variant++) {
    std::vector<uint8_t> wire = v.record;
    uint64_t seq = 0;
    if (variant == 0) {
      seq = 1;
    } else if (variant == 1) {
      wire[kRecordHeaderLen + 3] ^= 1;  // ciphertext
    } else if (variant == 2) {
      wire.back() ^= 0x80;  // tag
    } else {
      wire[2] = 0x01;  // header is the additional data
    }
    auto p = RecordProtector::create(*batch, keys_of(v), seq);
    ASSERT_TRUE(p);
    Deframer d;
    d.set_protected(true);
    auto step = d.next(wire);
    ASSERT_TRUE(step && step->has_record);
    RecordSlot slot;
    ASSERT_TRUE(p->queue_open(*batch, step->record, &slot));
    EXPECT_EQ(batch->run(), 0u);
    auto inner = finish_open(batch->status(0), slot);
    ASSERT_FALSE(inner);
    EXPECT_EQ(inner.error(), Error::kDecryptFailed);
    EXPECT_EQ(to_alert(inner.error()), AlertDescription::kBadRecordMac);
    batch->clear();
  }
}

TEST(RecordProtection, NonceIsIvXorPaddedSequence) {
  const auto iv = hex("5b78923dee08579033e523d9");
  // Expected values computed with Python: iv XOR seq.to_bytes(12, "big").
  EXPECT_EQ(to_hex(record_nonce(iv, 0)), "5b78923dee08579033e523d9");
  EXPECT_EQ(to_hex(record_nonce(iv, 1)), "5b78923dee08579033e523d8");
  EXPECT_EQ(to_hex(record_nonce(iv, 0x0102030405060708ull)), "5b78923def0a549436e324d1");
  EXPECT_EQ(to_hex(record_nonce(iv, UINT64_MAX)), "5b78923d11f7a86fcc1adc26");
}

TEST(RecordProtection, SequenceNumberNeverWraps) {
  auto batch = make_batch();
  const Vector v = vectors()[2];
  auto p = RecordProtector::create(*batch, keys_of(v), UINT64_MAX - 1);
  ASSERT_TRUE(p);
  std::vector<RecordSlot> slots(3);
  std::vector<std::vector<uint8_t>> bufs(3, std::vector<uint8_t>(kProtectedOverhead + 4));
  for (int i = 0; i < 2; i++) {
    auto q = p->queue_seal(*batch, bufs[i], 4, ContentType::kApplicationData, 0, &slots[i]);
    ASSERT_TRUE(q && *q) << i;
  }
  EXPECT_TRUE(p->exhausted());
  auto q = p->queue_seal(*batch, bufs[2], 4, ContentType::kApplicationData, 0, &slots[2]);
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error(), Error::kSequenceOverflow);
  EXPECT_EQ(batch->size(), 2u);
}

TEST(RecordProtection, FullBatchUsesNoSequenceNumber) {
  auto batch = make_batch(1);
  const Vector v = vectors()[2];
  auto p = RecordProtector::create(*batch, keys_of(v));
  ASSERT_TRUE(p);
  std::vector<RecordSlot> slots(2);
  std::vector<std::vector<uint8_t>> bufs(2, std::vector<uint8_t>(kProtectedOverhead + 1));
  auto q = p->queue_seal(*batch, bufs[0], 1, ContentType::kApplicationData, 0, &slots[0]);
  ASSERT_TRUE(q && *q);
  q = p->queue_seal(*batch, bufs[1], 1, ContentType::kApplicationData, 0, &slots[1]);
  ASSERT_TRUE(q);
  EXPECT_FALSE(*q);
  EXPECT_EQ(p->next_seq(), 1u);
}

TEST(RecordProtection, PaddingAndScatterListRoundTrip) {
  auto batch = make_batch();
  TrafficKeys k;
  k.aead = crypto::AeadAlgo::kChacha20Poly1305;
  k.key.assign(hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
  k.iv.assign(hex("a0a1a2a3a4a5a6a7a8a9aaab"));
  auto sealer = RecordProtector::create(*batch, k);
  auto opener = RecordProtector::create(*batch, k);
  ASSERT_TRUE(sealer && opener);
  const std::string msg = "hello, records";
  std::vector<uint8_t> rec(msg.size() + 9 + kProtectedOverhead);
  std::copy(msg.begin(), msg.end(), rec.begin() + kRecordHeaderLen);
  RecordSlot slot;
  ASSERT_TRUE(sealer->queue_seal(*batch, rec, msg.size(), ContentType::kAlert, 9, &slot));
  ASSERT_EQ(batch->run(), 1u);
  batch->clear();
  // Open with the body split over three segments, as it would be over mbufs.
  const size_t body = rec.size() - kRecordHeaderLen - crypto::kAeadTagLen;
  uint8_t* b = rec.data() + kRecordHeaderLen;
  crypto::IoSeg segs[3] = {{b, 3}, {b + 3, 1}, {b + 4, static_cast<uint32_t>(body - 4)}};
  ASSERT_TRUE(
      opener->queue_open_segs(*batch, std::span<const uint8_t>(rec.data(), 5), segs, b + body));
  ASSERT_EQ(batch->run(), 1u);
  RecordSlot view{{}, std::span<uint8_t>(b, body)};
  auto inner = finish_open(batch->status(0), view);
  ASSERT_TRUE(inner);
  EXPECT_EQ(inner->type, ContentType::kAlert);
  EXPECT_EQ(std::string(inner->content.begin(), inner->content.end()), msg);
}

TEST(RecordProtection, RejectsRecordsThatCannotHoldATag) {
  auto batch = make_batch();
  const Vector v = vectors()[2];
  auto p = RecordProtector::create(*batch, keys_of(v));
  ASSERT_TRUE(p);
  std::vector<uint8_t> wire = {23, 3, 3, 0, 16};
  wire.resize(5 + 16, 0);
  Deframer d;
  d.set_protected(true);
  auto step = d.next(wire);
  ASSERT_TRUE(step && step->has_record);
  RecordSlot slot;
  auto q = p->queue_open(*batch, step->record, &slot);
  ASSERT_FALSE(q);
  EXPECT_EQ(q.error(), Error::kDecryptFailed);
  EXPECT_EQ(p->next_seq(), 0u);
  // Sealing more than 2^14 + 1 bytes of inner plaintext is refused.
  std::vector<uint8_t> big(kMaxPlaintextLen + 1 + kProtectedOverhead);
  auto s =
      p->queue_seal(*batch, big, kMaxPlaintextLen + 1, ContentType::kApplicationData, 0, &slot);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), Error::kRecordOverflow);
}

}  // namespace
}  // namespace linetls::tls
