// TLS 1.2 AEAD record protection through crypto::AeadBatch (the OpenSSL reference backend):
// round trips for every suite in one batch, the explicit nonce being the sequence number,
// tampering and reordering failing as bad_record_mac, the scatter forms, the limits, and a
// cross-check of one AES-GCM and one ChaCha20-Poly1305 record against OpenSSL EVP called
// directly with the RFC 5288 / RFC 7905 nonce and the RFC 5246 §6.2.3.3 additional data
// built here by hand (an oracle that shares nothing with record12.cc).
#include "lib/tls/v12/record12.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "lib/base/bytes.h"
#include "tests/unit/crypto/test_util.h"

namespace linetls::tls::v12 {
namespace {

using crypto::AeadAlgo;
using crypto::testing::hex;
using crypto::testing::to_hex;

std::unique_ptr<ossl::OsslAeadBatch> make_batch(uint32_t capacity = 32) {
  auto b = ossl::OsslAeadBatch::create(capacity);
  EXPECT_TRUE(b);
  return std::move(b).value();
}

DirectionKeys keys_for(const SuiteInfo& s, uint8_t seed) {
  DirectionKeys k;
  k.aead = s.aead;
  auto key = k.key.resize(s.key_len);
  for (size_t i = 0; i < key.size(); i++) {
    key[i] = static_cast<uint8_t>(seed + i);
  }
  auto iv = k.iv.resize(s.fixed_iv_len);
  for (size_t i = 0; i < iv.size(); i++) {
    iv[i] = static_cast<uint8_t>(0xA0 + seed + i);
  }
  return k;
}

std::vector<uint8_t> content_of(size_t n, uint8_t seed) {
  std::vector<uint8_t> c(n);
  for (size_t i = 0; i < n; i++) {
    c[i] = static_cast<uint8_t>(seed * 7 + i);
  }
  return c;
}

// A record buffer with the content in place for sealing under algo.
std::vector<uint8_t> record_for(AeadAlgo algo, const std::vector<uint8_t>& content) {
  std::vector<uint8_t> rec(content.size() + record_overhead(algo));
  std::copy(content.begin(), content.end(),
            rec.begin() + kRecordHeaderLen + explicit_nonce_len(algo));
  return rec;
}

Record parse_one(std::vector<uint8_t>& wire) {
  Deframer d;
  d.set_protected(true);
  auto step = d.next(wire);
  EXPECT_TRUE(step && step->has_record && step->consumed == wire.size());
  return step ? step->record : Record{};
}

TEST(Record12, EverySuiteRoundTripsInOneBatch) {
  auto batch = make_batch();
  struct Conn {
    SuiteInfo suite;
    RecordProtector12 seal;
    RecordProtector12 open;
    std::vector<uint8_t> content;
    std::vector<uint8_t> wire;
    RecordSlot12 slot;
  };
  std::vector<std::unique_ptr<Conn>> conns;
  uint8_t seed = 1;
  for (CipherSuite cs : kAllSuites) {
    const SuiteInfo s = suite_info(cs);
    auto seal = RecordProtector12::create(*batch, keys_for(s, seed));
    auto open = RecordProtector12::create(*batch, keys_for(s, seed));
    ASSERT_TRUE(seal && open);
    for (size_t len : {size_t{0}, size_t{1}, size_t{100}, kMaxPlaintextLen}) {
      auto c = std::make_unique<Conn>(Conn{s, std::move(seal).value(), std::move(open).value(),
                                           content_of(len, seed), {}, {}});
      c->wire = record_for(s.aead, c->content);
      conns.push_back(std::move(c));
      seal = RecordProtector12::create(*batch, keys_for(s, seed));
      open = RecordProtector12::create(*batch, keys_for(s, seed));
      ASSERT_TRUE(seal && open);
    }
    seed++;
  }
  for (auto& c : conns) {
    auto q = c->seal.queue_seal(*batch, c->wire, ContentType::kApplicationData, &c->slot, c.get());
    ASSERT_TRUE(q && *q);
  }
  EXPECT_EQ(batch->run(), conns.size());
  for (uint32_t i = 0; i < conns.size(); i++) {
    EXPECT_EQ(batch->user_data(i), conns[i].get());
  }
  batch->clear();
  for (auto& c : conns) {
    // Header: application_data, 0x0303, length = explicit nonce + content + tag.
    const size_t e = c->suite.record_iv_len;
    EXPECT_EQ(c->wire[0], 23);
    EXPECT_EQ(load_be16(c->wire.data() + 1), 0x0303);
    EXPECT_EQ(load_be16(c->wire.data() + 3), e + c->content.size() + 16);
    if (!c->content.empty()) {
      EXPECT_NE(to_hex(std::span(c->wire).subspan(kRecordHeaderLen + e, c->content.size())),
                to_hex(c->content));
    }
    Record rec = parse_one(c->wire);
    auto q = c->open.queue_open(*batch, rec, &c->slot, c.get());
    ASSERT_TRUE(q && *q);
  }
  EXPECT_EQ(batch->run(), conns.size());
  for (uint32_t i = 0; i < conns.size(); i++) {
    Conn& c = *conns[i];
    auto pt = finish_open(batch->status(i), c.slot);
    ASSERT_TRUE(pt) << c.suite.name << ": " << to_string(pt.error());
    EXPECT_EQ(pt->type, ContentType::kApplicationData);
    EXPECT_EQ(to_hex(pt->content), to_hex(c.content)) << c.suite.name;
    // In place: the content is where the ciphertext was.
    EXPECT_EQ(pt->content.data(), c.wire.data() + kRecordHeaderLen + c.suite.record_iv_len);
  }
}

TEST(Record12, GcmExplicitNonceIsTheSequenceNumber) {
  auto batch = make_batch();
  const SuiteInfo s = suite_info(CipherSuite::kEcdheRsaAes128GcmSha256);
  const uint64_t first = 0x0102030405060708;
  auto p = RecordProtector12::create(*batch, keys_for(s, 9), first);
  ASSERT_TRUE(p);
  std::vector<std::vector<uint8_t>> wires;
  std::vector<RecordSlot12> slots(5);
  for (size_t i = 0; i < slots.size(); i++) {
    wires.push_back(record_for(s.aead, content_of(10, 1)));
  }
  for (size_t i = 0; i < slots.size(); i++) {
    ASSERT_TRUE(p->queue_seal(*batch, wires[i], ContentType::kHandshake, &slots[i]));
  }
  EXPECT_EQ(p->next_seq(), first + 5);
  batch->run();
  for (size_t i = 0; i < wires.size(); i++) {
    EXPECT_EQ(to_hex(std::span(wires[i]).subspan(kRecordHeaderLen, 8)),
              "01020304050607" + to_hex(std::vector<uint8_t>{static_cast<uint8_t>(8 + i)}));
    // Same content, same key: the ciphertexts all differ because the nonces do.
    for (size_t j = 0; j < i; j++) {
      EXPECT_NE(to_hex(wires[i]), to_hex(wires[j]));
    }
  }
}

TEST(Record12, TamperingAndReorderingFailAsBadRecordMac) {
  for (CipherSuite cs : {CipherSuite::kEcdheEcdsaAes256GcmSha384,
                         CipherSuite::kEcdheEcdsaChacha20Poly1305Sha256}) {
    const SuiteInfo s = suite_info(cs);
    const size_t e = s.record_iv_len;
    auto batch = make_batch();
    auto sealer = RecordProtector12::create(*batch, keys_for(s, 3));
    ASSERT_TRUE(sealer);
    std::vector<uint8_t> sealed = record_for(s.aead, content_of(64, 2));
    RecordSlot12 slot;
    ASSERT_TRUE(sealer->queue_seal(*batch, sealed, ContentType::kApplicationData, &slot));
    ASSERT_EQ(batch->run(), 1u);
    batch->clear();
    // variant: 0 intact, 1 ciphertext bit, 2 tag bit, 3 explicit nonce (GCM) / seq (ChaCha),
    // 4 type in header (AAD), 5 version in header (AAD), 6 receiver one record ahead.
    for (int variant = 0; variant < 7; variant++) {
      std::vector<uint8_t> wire = sealed;
      uint64_t seq = 0;
      switch (variant) {
        case 1:
          wire[kRecordHeaderLen + e + 5] ^= 1;
          break;
        case 2:
          wire.back() ^= 0x80;
          break;
        case 3:
          if (e != 0) {
            wire[kRecordHeaderLen + 7] ^= 1;
          } else {
            seq = 1;
          }
          break;
        case 4:
          wire[0] = static_cast<uint8_t>(ContentType::kHandshake);
          break;
        case 5:
          wire[2] = 0x02;
          break;
        case 6:
          seq = 1;
          break;
        default:
          break;
      }
      const std::vector<uint8_t> sent = wire;
      auto opener = RecordProtector12::create(*batch, keys_for(s, 3), seq);
      ASSERT_TRUE(opener);
      Deframer d;
      d.set_protected(true);
      auto step = d.next(wire);
      ASSERT_TRUE(step && step->has_record);
      RecordSlot12 oslot;
      ASSERT_TRUE(opener->queue_open(*batch, step->record, &oslot));
      batch->run();
      auto pt = finish_open(batch->status(0), oslot);
      batch->clear();
      if (variant == 0) {
        EXPECT_TRUE(pt) << s.name;
        continue;
      }
      ASSERT_FALSE(pt) << s.name << " variant " << variant;
      EXPECT_EQ(pt.error(), Error::kDecryptFailed);
      EXPECT_EQ(to_alert(pt.error()), AlertDescription::kBadRecordMac);
      // Unauthenticated plaintext is never visible: the ciphertext is back in place.
      EXPECT_TRUE(std::equal(oslot.body.begin(), oslot.body.end(),
                             sent.begin() + (oslot.body.data() - wire.data())))
          << s.name << " variant " << variant;
    }
  }
}

TEST(Record12, ShortFragmentIsDecryptFailed) {
  auto batch = make_batch();
  for (CipherSuite cs : kAllSuites) {
    const SuiteInfo s = suite_info(cs);
    auto p = RecordProtector12::create(*batch, keys_for(s, 1));
    ASSERT_TRUE(p);
    // One byte short of explicit nonce + tag.
    std::vector<uint8_t> wire(kRecordHeaderLen + s.record_iv_len + 15);
    write_record_header(wire.data(), ContentType::kApplicationData,
                        static_cast<uint16_t>(wire.size() - kRecordHeaderLen));
    Record rec = parse_one(wire);
    RecordSlot12 slot;
    auto q = p->queue_open(*batch, rec, &slot);
    ASSERT_FALSE(q) << s.name;
    EXPECT_EQ(q.error(), Error::kDecryptFailed);
    EXPECT_EQ(p->next_seq(), 0u);  // nothing used
  }
  EXPECT_EQ(batch->size(), 0u);
}

TEST(Record12, LimitsOnWhatWeSeal) {
  auto batch = make_batch();
  const SuiteInfo s = suite_info(CipherSuite::kEcdheRsaAes128GcmSha256);
  auto p = RecordProtector12::create(*batch, keys_for(s, 1));
  ASSERT_TRUE(p);
  RecordSlot12 slot;
  std::vector<uint8_t> big = record_for(s.aead, content_of(kMaxPlaintextLen + 1, 1));
  EXPECT_EQ(p->queue_seal(*batch, big, ContentType::kApplicationData, &slot).error(),
            Error::kRecordOverflow);
  for (ContentType t : {ContentType::kHandshake, ContentType::kAlert, ContentType::kChangeCipherSpec}) {
    std::vector<uint8_t> empty = record_for(s.aead, {});
    EXPECT_EQ(p->queue_seal(*batch, empty, t, &slot).error(), Error::kEmptyFragment);
  }
  std::vector<uint8_t> tiny(record_overhead(s.aead) - 1);
  EXPECT_EQ(p->queue_seal(*batch, tiny, ContentType::kApplicationData, &slot).error(),
            Error::kInternalError);
  EXPECT_EQ(p->next_seq(), 0u);
  EXPECT_EQ(batch->size(), 0u);
  // Wrong key material for the algorithm is our bug.
  DirectionKeys k = keys_for(s, 1);
  k.iv.resize(12);
  EXPECT_EQ(RecordProtector12::create(*batch, k).error(), Error::kInternalError);
  DirectionKeys c = keys_for(suite_info(CipherSuite::kEcdheRsaChacha20Poly1305Sha256), 1);
  c.iv.resize(4);
  EXPECT_EQ(RecordProtector12::create(*batch, c).error(), Error::kInternalError);
}

TEST(Record12, EmptyAndOversizedPlaintextsAfterOpen) {
  auto batch = make_batch();
  const SuiteInfo s = suite_info(CipherSuite::kEcdheEcdsaAes128GcmSha256);
  // An empty application_data record is legal (§6.2.1); 100 bytes exceed a limit of 64.
  for (size_t len : {size_t{0}, size_t{100}}) {
    auto sealer = RecordProtector12::create(*batch, keys_for(s, 4));
    auto opener = RecordProtector12::create(*batch, keys_for(s, 4));
    ASSERT_TRUE(sealer && opener);
    std::vector<uint8_t> wire = record_for(s.aead, content_of(len, 1));
    RecordSlot12 slot;
    ASSERT_TRUE(sealer->queue_seal(*batch, wire, ContentType::kApplicationData, &slot));
    batch->run();
    batch->clear();
    Record rec = parse_one(wire);
    ASSERT_TRUE(opener->queue_open(*batch, rec, &slot));
    batch->run();
    auto pt = finish_open(batch->status(0), slot, 64);
    batch->clear();
    if (len == 0) {
      ASSERT_TRUE(pt);
      EXPECT_TRUE(pt->content.empty());
    } else {
      ASSERT_FALSE(pt);
      EXPECT_EQ(pt.error(), Error::kPlaintextOverflow);
      EXPECT_EQ(to_alert(pt.error()), AlertDescription::kRecordOverflow);
    }
  }
  // A peer's empty handshake record that authenticates is still refused (§6.2.1). We
  // cannot seal one, so build its slot state as an open would leave it.
  RecordSlot12 slot;
  slot.type = ContentType::kHandshake;
  EXPECT_EQ(finish_open(crypto::AeadStatus::kOk, slot).error(), Error::kEmptyFragment);
  EXPECT_EQ(finish_open(crypto::AeadStatus::kInvalid, slot).error(), Error::kDecryptFailed);
}

TEST(Record12, SequenceNumberNeverWraps) {
  for (CipherSuite cs : {CipherSuite::kEcdheRsaAes256GcmSha384,
                         CipherSuite::kEcdheRsaChacha20Poly1305Sha256}) {
    const SuiteInfo s = suite_info(cs);
    auto batch = make_batch();
    auto p = RecordProtector12::create(*batch, keys_for(s, 5), UINT64_MAX - 1);
    ASSERT_TRUE(p);
    std::vector<std::vector<uint8_t>> wires(3, record_for(s.aead, content_of(8, 1)));
    std::vector<RecordSlot12> slots(3);
    ASSERT_TRUE(p->queue_seal(*batch, wires[0], ContentType::kApplicationData, &slots[0]));
    ASSERT_TRUE(p->queue_seal(*batch, wires[1], ContentType::kApplicationData, &slots[1]));
    EXPECT_TRUE(p->exhausted());
    auto q = p->queue_seal(*batch, wires[2], ContentType::kApplicationData, &slots[2]);
    ASSERT_FALSE(q);
    EXPECT_EQ(q.error(), Error::kSequenceOverflow);
    EXPECT_EQ(batch->size(), 2u);
    EXPECT_EQ(batch->run(), 2u);
    if (s.record_iv_len != 0) {
      EXPECT_EQ(to_hex(std::span(wires[1]).subspan(kRecordHeaderLen, 8)), "ffffffffffffffff");
    }
    // The receiving side stops at the same point.
    std::vector<uint8_t> third = wires[1];  // any well-formed record
    batch->clear();
    auto o = RecordProtector12::create(*batch, keys_for(s, 5), UINT64_MAX - 1);
    ASSERT_TRUE(o);
    for (int i = 0; i < 2; i++) {
      Record rec = parse_one(wires[i]);
      ASSERT_TRUE(o->queue_open(*batch, rec, &slots[i]));
    }
    EXPECT_EQ(batch->run(), 2u);
    Record rec = parse_one(third);
    EXPECT_EQ(o->queue_open(*batch, rec, &slots[2]).error(), Error::kSequenceOverflow);
  }
}

TEST(Record12, FullBatchUsesNoSequenceNumber) {
  auto batch = make_batch(1);
  const SuiteInfo s = suite_info(CipherSuite::kEcdheRsaAes128GcmSha256);
  auto p = RecordProtector12::create(*batch, keys_for(s, 1));
  ASSERT_TRUE(p);
  std::vector<uint8_t> a = record_for(s.aead, content_of(8, 1)), b = a;
  RecordSlot12 sa, sb;
  auto q1 = p->queue_seal(*batch, a, ContentType::kApplicationData, &sa);
  ASSERT_TRUE(q1 && *q1);
  auto q2 = p->queue_seal(*batch, b, ContentType::kApplicationData, &sb);
  ASSERT_TRUE(q2);
  EXPECT_FALSE(*q2);
  EXPECT_EQ(p->next_seq(), 1u);
}

TEST(Record12, ScatterFormsMatchTheContiguousForm) {
  for (CipherSuite cs : {CipherSuite::kEcdheEcdsaAes128GcmSha256,
                         CipherSuite::kEcdheEcdsaChacha20Poly1305Sha256}) {
    const SuiteInfo s = suite_info(cs);
    const size_t e = s.record_iv_len;
    auto batch = make_batch();
    auto whole = RecordProtector12::create(*batch, keys_for(s, 6));
    auto parts = RecordProtector12::create(*batch, keys_for(s, 6));
    ASSERT_TRUE(whole && parts);
    const auto content = content_of(300, 3);
    std::vector<uint8_t> contiguous = record_for(s.aead, content);
    RecordSlot12 s1, s2;
    ASSERT_TRUE(whole->queue_seal(*batch, contiguous, ContentType::kApplicationData, &s1));
    // The same record in three pieces: prefix, content in two segments, tag elsewhere.
    std::vector<uint8_t> prefix(kRecordHeaderLen + e), seg_a(content.begin(), content.begin() + 100),
        seg_b(content.begin() + 100, content.end()), tag(16);
    crypto::IoSeg segs[2] = {{seg_a.data(), 100}, {seg_b.data(), 200}};
    ASSERT_TRUE(parts->queue_seal_segs(*batch, ContentType::kApplicationData, prefix, segs,
                                       tag.data(), &s2));
    EXPECT_EQ(batch->run(), 2u);
    batch->clear();
    std::vector<uint8_t> joined = prefix;
    joined.insert(joined.end(), seg_a.begin(), seg_a.end());
    joined.insert(joined.end(), seg_b.begin(), seg_b.end());
    joined.insert(joined.end(), tag.begin(), tag.end());
    EXPECT_EQ(to_hex(joined), to_hex(contiguous)) << s.name;

    // Open the pieces in place with the scatter form.
    auto opener = RecordProtector12::create(*batch, keys_for(s, 6));
    ASSERT_TRUE(opener);
    ASSERT_TRUE(opener->queue_open_segs(*batch, prefix, segs, tag.data(), &s2));
    EXPECT_EQ(batch->run(), 1u);
    EXPECT_EQ(to_hex(seg_a), to_hex(std::span(content).first(100)));
    EXPECT_EQ(to_hex(seg_b), to_hex(std::span(content).subspan(100)));
    // A header that does not describe the segments is our bug, not the peer's.
    prefix[4] ^= 1;
    EXPECT_EQ(opener->queue_open_segs(*batch, prefix, segs, tag.data(), &s2).error(),
              Error::kInternalError);
  }
}

// ---- The independent oracle: OpenSSL EVP, driven directly. ----

// Seals content under the RFC's construction written out by hand: AAD = seq || type ||
// 0x0303 || length; GCM nonce = salt || seq (our choice of explicit nonce), ChaCha nonce =
// iv XOR (0^32 || seq). Returns header || explicit || ciphertext || tag.
std::vector<uint8_t> evp_seal(const SuiteInfo& s, const DirectionKeys& k, uint64_t seq,
                              uint8_t type, const std::vector<uint8_t>& content) {
  uint8_t seq_be[8];
  for (int i = 0; i < 8; i++) {
    seq_be[i] = static_cast<uint8_t>(seq >> (56 - 8 * i));
  }
  std::vector<uint8_t> aad(seq_be, seq_be + 8);
  aad.push_back(type);
  aad.push_back(0x03);
  aad.push_back(0x03);
  aad.push_back(static_cast<uint8_t>(content.size() >> 8));
  aad.push_back(static_cast<uint8_t>(content.size()));
  uint8_t nonce[12];
  const auto iv = k.iv.view();
  if (s.aead == AeadAlgo::kChacha20Poly1305) {
    for (int i = 0; i < 12; i++) {
      nonce[i] = iv[i] ^ (i < 4 ? 0 : seq_be[i - 4]);
    }
  } else {
    std::copy(iv.begin(), iv.end(), nonce);
    std::copy(seq_be, seq_be + 8, nonce + 4);
  }
  const EVP_CIPHER* cipher = s.aead == AeadAlgo::kAes128Gcm   ? EVP_aes_128_gcm()
                             : s.aead == AeadAlgo::kAes256Gcm ? EVP_aes_256_gcm()
                                                              : EVP_chacha20_poly1305();
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::vector<uint8_t> ct(content.size() + 16);
  int len = 0;
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, cipher, nullptr, nullptr, nullptr), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_IVLEN, 12, nullptr), 1);
  EXPECT_EQ(EVP_EncryptInit_ex(ctx, nullptr, nullptr, k.key.view().data(), nonce), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, nullptr, &len, aad.data(), static_cast<int>(aad.size())), 1);
  EXPECT_EQ(EVP_EncryptUpdate(ctx, ct.data(), &len, content.data(),
                              static_cast<int>(content.size())),
            1);
  EXPECT_EQ(EVP_EncryptFinal_ex(ctx, ct.data() + len, &len), 1);
  EXPECT_EQ(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, ct.data() + content.size()), 1);
  EVP_CIPHER_CTX_free(ctx);

  const size_t e = s.record_iv_len;
  const size_t frag = e + ct.size();
  std::vector<uint8_t> out = {type, 0x03, 0x03, static_cast<uint8_t>(frag >> 8),
                              static_cast<uint8_t>(frag)};
  if (e != 0) {
    out.insert(out.end(), seq_be, seq_be + 8);
  }
  out.insert(out.end(), ct.begin(), ct.end());
  return out;
}

TEST(Record12, CrossCheckAgainstOpenSslEvp) {
  for (CipherSuite cs : {CipherSuite::kEcdheRsaAes128GcmSha256,
                         CipherSuite::kEcdheEcdsaChacha20Poly1305Sha256}) {
    const SuiteInfo s = suite_info(cs);
    const DirectionKeys k = keys_for(s, 0x11);
    const uint64_t seq = 0x00000001000000ffULL;  // exercises the high half of the nonce
    const auto content = content_of(777, 5);
    const std::vector<uint8_t> want = evp_seal(s, k, seq, 22, content);

    auto batch = make_batch();
    auto p = RecordProtector12::create(*batch, k, seq);
    ASSERT_TRUE(p);
    std::vector<uint8_t> wire = record_for(s.aead, content);
    RecordSlot12 slot;
    ASSERT_TRUE(p->queue_seal(*batch, wire, ContentType::kHandshake, &slot));
    ASSERT_EQ(batch->run(), 1u);
    EXPECT_EQ(to_hex(wire), to_hex(want)) << s.name;
    batch->clear();

    // And we open what EVP sealed.
    auto o = RecordProtector12::create(*batch, k, seq);
    ASSERT_TRUE(o);
    std::vector<uint8_t> theirs = want;
    Record rec = parse_one(theirs);
    ASSERT_TRUE(o->queue_open(*batch, rec, &slot));
    ASSERT_EQ(batch->run(), 1u);
    auto pt = finish_open(batch->status(0), slot);
    ASSERT_TRUE(pt);
    EXPECT_EQ(pt->type, ContentType::kHandshake);
    EXPECT_EQ(to_hex(pt->content), to_hex(content));
  }
}

TEST(Record12, AdditionalDataLayout) {
  uint8_t aad[kAadLen];
  write_additional_data(aad, 0x0102030405060708, ContentType::kAlert, 0x0303, 0x1234);
  EXPECT_EQ(to_hex(aad), "01020304050607081503031234");
  const auto salt = hex("a1a2a3a4");
  const auto expl = hex("0000000000000007");
  EXPECT_EQ(to_hex(gcm_nonce(salt, expl)), "a1a2a3a40000000000000007");
}

}  // namespace
}  // namespace linetls::tls::v12
