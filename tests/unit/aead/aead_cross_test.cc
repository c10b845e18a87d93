// Cross-checks ipsec-mb against OpenSSL: random keys, nonces, AAD and lengths 0..16,640,
// contiguous and scattered over 1..8 pieces, sealed by one backend and opened by the other in
// both directions, many ops per run; and tampering (tag, ciphertext or AAD bit) failing only
// the tampered ops of a batch.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <set>

#include "drivers/ipsecmb/ipsecmb_aead.h"
#include "tests/unit/aead/aead_test_util.h"

namespace linetls::aead_test {
namespace {

using crypto::AeadAlgo;
using crypto::AeadStatus;

constexpr AeadAlgo kAlgos[] = {AeadAlgo::kAes128Gcm, AeadAlgo::kAes256Gcm,
                               AeadAlgo::kChacha20Poly1305};
constexpr size_t kMaxRecord = 16640;  // 2^14 + 256: the largest TLS ciphertext fragment

// Every length 0..80, one-byte steps around each block and buffer boundary up to 16 KiB and
// the TLS maximum, and random lengths in between.
std::vector<size_t> test_lengths(std::mt19937_64& rng) {
  std::set<size_t> lens;
  for (size_t n = 0; n <= 80; n++) {
    lens.insert(n);
  }
  for (size_t b : {128, 256, 512, 1024, 1500, 2048, 4096, 8192, 16384}) {
    for (size_t n = b - 17; n <= b + 17; n++) {
      lens.insert(n);
    }
  }
  for (size_t n = kMaxRecord - 33; n <= kMaxRecord; n++) {
    lens.insert(n);
  }
  for (int i = 0; i < 60; i++) {
    lens.insert(std::uniform_int_distribution<size_t>(81, kMaxRecord)(rng));
  }
  return {lens.begin(), lens.end()};
}

// Contiguous a third of the time, otherwise 2..8 random pieces.
std::vector<uint32_t> random_layout(std::mt19937_64& rng, size_t len) {
  if (rng() % 3 == 0) {
    return {static_cast<uint32_t>(len)};
  }
  std::vector<uint32_t> l;
  while (l.size() < 2) {
    l = random_split(rng, len, 8);
  }
  return l;
}

struct Case {
  AeadAlgo algo;
  std::vector<uint8_t> key, aad, plain;
  crypto::AeadNonce nonce;
  crypto::AeadKeyPtr key_mb, key_ossl;
  std::unique_ptr<Scattered> a, b;  // sealed by ipsec-mb and by OpenSSL respectively
  std::array<uint8_t, crypto::kAeadTagLen> tag_a{}, tag_b{};
};

class AeadCrossTest : public ::testing::Test {
 protected:
  // ipsec-mb validates every job here (IMB_SUBMIT_BURST): a job the driver builds wrongly
  // fails the test as kInvalid instead of going through unchecked.
  void SetUp() override {
    auto r =
        ipsecmb::IpsecMbAeadBatch::create(crypto::kAeadDefaultCapacity, {.library_checks = true});
    ASSERT_TRUE(r.ok());
    mb_ = std::move(r).value();
    ossl_ = make_batch(Backend::kOssl);
    ASSERT_NE(mb_, nullptr);
    ASSERT_NE(ossl_, nullptr);
  }

  std::unique_ptr<Case> make_case(std::mt19937_64& rng, AeadAlgo algo, size_t len) {
    auto c = std::make_unique<Case>();
    c->algo = algo;
    c->key = random_bytes(rng, crypto::aead_key_len(algo));
    c->aad = random_bytes(rng, rng() % 4 == 0 ? 0 : rng() % 40);
    c->plain = random_bytes(rng, len);
    c->nonce = to_nonce(random_bytes(rng, crypto::kAeadNonceLen));
    c->key_mb = make_key(*mb_, algo, c->key);
    c->key_ossl = make_key(*ossl_, algo, c->key);
    c->a = std::make_unique<Scattered>(c->plain, random_layout(rng, len));
    c->b = std::make_unique<Scattered>(c->plain, random_layout(rng, len));
    return c;
  }

  // Seals every case with both backends (a by ipsec-mb, b by OpenSSL) in one run each; the
  // outputs must agree. Then opens a with OpenSSL and b with ipsec-mb, re-scattered
  // differently; both must give back the plaintext.
  void check_cases(std::mt19937_64& rng, std::vector<std::unique_ptr<Case>>& cases) {
    mb_->clear();
    ossl_->clear();
    for (auto& c : cases) {
      ASSERT_TRUE(
          mb_->add_seal(*c->key_mb, c->nonce, c->aad, c->a->segs(), c->tag_a.data(), c.get()));
      ASSERT_TRUE(
          ossl_->add_seal(*c->key_ossl, c->nonce, c->aad, c->b->segs(), c->tag_b.data(), c.get()));
    }
    ASSERT_EQ(mb_->run(), cases.size());
    ASSERT_EQ(ossl_->run(), cases.size());
    for (uint32_t i = 0; i < cases.size(); i++) {
      Case& c = *cases[i];
      SCOPED_TRACE(testing::Message() << crypto::aead_name(c.algo) << " len " << c.plain.size()
                                      << " aad " << c.aad.size());
      ASSERT_EQ(mb_->user_data(i), &c);
      ASSERT_EQ(ossl_->user_data(i), &c);
      std::vector<uint8_t> ct = c.a->joined();
      ASSERT_EQ(ct, c.b->joined()) << "ciphertexts differ";
      ASSERT_EQ(c.tag_a, c.tag_b) << "tags differ";
      if (c.plain.size() >= 16) {
        EXPECT_NE(ct, c.plain);
      }
      // New layouts for the open side.
      c.a = std::make_unique<Scattered>(ct, random_layout(rng, ct.size()));
      c.b = std::make_unique<Scattered>(ct, random_layout(rng, ct.size()));
    }
    mb_->clear();
    ossl_->clear();
    for (auto& c : cases) {
      ASSERT_TRUE(ossl_->add_open(*c->key_ossl, c->nonce, c->aad, c->a->segs(), c->tag_a.data()));
      ASSERT_TRUE(mb_->add_open(*c->key_mb, c->nonce, c->aad, c->b->segs(), c->tag_b.data()));
    }
    EXPECT_EQ(ossl_->run(), cases.size());
    EXPECT_EQ(mb_->run(), cases.size());
    for (auto& c : cases) {
      SCOPED_TRACE(testing::Message() << crypto::aead_name(c->algo) << " len " << c->plain.size());
      EXPECT_EQ(c->a->joined(), c->plain) << "ipsec-mb seal, OpenSSL open";
      EXPECT_EQ(c->b->joined(), c->plain) << "OpenSSL seal, ipsec-mb open";
    }
  }

  std::unique_ptr<crypto::AeadBatch> mb_, ossl_;
};

TEST_F(AeadCrossTest, AllLengthsBothWaysBatched) {
  std::mt19937_64 rng(20240604);
  const std::vector<size_t> lens = test_lengths(rng);
  size_t total = 0;
  for (AeadAlgo algo : kAlgos) {
    std::vector<std::unique_ptr<Case>> cases;
    for (size_t len : lens) {
      cases.push_back(make_case(rng, algo, len));
      total++;
      // Batches of varying size, up to the capacity.
      if (cases.size() == crypto::kAeadDefaultCapacity || rng() % 64 == 0) {
        check_cases(rng, cases);
        cases.clear();
      }
    }
    if (!cases.empty()) {
      check_cases(rng, cases);
    }
  }
  EXPECT_GT(total, 3u * 400);
}

TEST_F(AeadCrossTest, OneOpPerRun) {
  std::mt19937_64 rng(7);
  for (AeadAlgo algo : kAlgos) {
    for (size_t len :
         {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{4097}, kMaxRecord}) {
      std::vector<std::unique_ptr<Case>> one;
      one.push_back(make_case(rng, algo, len));
      check_cases(rng, one);
    }
  }
}

// Every ipsec-mb architecture this CPU can run agrees with OpenSSL (the AVX-512, AVX2, AVX
// and SSE paths are separate code in the library).
TEST_F(AeadCrossTest, EveryArchitectureAgreesWithOpenSsl) {
  std::mt19937_64 rng(99);
  int tested = 0;
  for (ipsecmb::Arch arch :
       {ipsecmb::Arch::kSse, ipsecmb::Arch::kAvx, ipsecmb::Arch::kAvx2, ipsecmb::Arch::kAvx512}) {
    auto r = ipsecmb::IpsecMbAeadBatch::create(crypto::kAeadDefaultCapacity,
                                               {.arch = arch, .library_checks = true});
    if (!r.ok()) {
      continue;  // the CPU lacks it
    }
    mb_ = std::move(r).value();
    SCOPED_TRACE(mb_->impl_name());
    tested++;
    for (AeadAlgo algo : kAlgos) {
      std::vector<std::unique_ptr<Case>> cases;
      for (size_t len : {0, 1, 16, 63, 64, 65, 255, 256, 1000, 4096, 16383, 16640}) {
        cases.push_back(make_case(rng, algo, len));
      }
      check_cases(rng, cases);
    }
  }
  EXPECT_GE(tested, 1);
}

enum class Tamper { kNone, kTag, kCiphertext, kAad };

// Opens a batch where about a third of the records were tampered with; only those fail, their
// buffers hold the (tampered) ciphertext again, and every other op in the same batch still
// succeeds.
void check_tampering(Backend sealer, Backend opener, AeadAlgo algo, uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto seal_batch = make_batch(sealer);
  auto open_batch = make_batch(opener);
  ASSERT_NE(seal_batch, nullptr);
  ASSERT_NE(open_batch, nullptr);
  constexpr int kOps = 90;
  struct Rec {
    crypto::AeadKeyPtr seal_key, open_key;
    std::vector<uint8_t> aad, plain;
    crypto::AeadNonce nonce;
    std::unique_ptr<Scattered> buf;
    std::array<uint8_t, crypto::kAeadTagLen> tag{};
    Tamper tamper;
    std::vector<uint8_t> sent;  // the ciphertext as the opener got it
  };
  std::vector<Rec> recs(kOps);
  for (Rec& r : recs) {
    std::vector<uint8_t> key = random_bytes(rng, crypto::aead_key_len(algo));
    r.seal_key = make_key(*seal_batch, algo, key);
    r.open_key = make_key(*open_batch, algo, key);
    r.aad = random_bytes(rng, 1 + rng() % 29);
    r.plain = random_bytes(rng, rng() % 3000);
    r.nonce = to_nonce(random_bytes(rng, crypto::kAeadNonceLen));
    r.buf = std::make_unique<Scattered>(r.plain, random_layout(rng, r.plain.size()));
    ASSERT_TRUE(seal_batch->add_seal(*r.seal_key, r.nonce, r.aad, r.buf->segs(), r.tag.data()));
  }
  ASSERT_EQ(seal_batch->run(), static_cast<uint32_t>(kOps));

  uint32_t untouched = 0;
  for (Rec& r : recs) {
    r.tamper = static_cast<Tamper>(rng() % 3 == 0 ? 1 + rng() % 3 : 0);
    if (r.tamper == Tamper::kCiphertext && r.plain.empty()) {
      r.tamper = Tamper::kTag;
    }
    const int bit = static_cast<int>(rng() % 8);
    switch (r.tamper) {
      case Tamper::kNone:
        untouched++;
        break;
      case Tamper::kTag:
        r.tag[rng() % r.tag.size()] ^= static_cast<uint8_t>(1u << bit);
        break;
      case Tamper::kCiphertext:
        r.buf->flip_bit(rng() % r.plain.size(), bit);
        break;
      case Tamper::kAad:
        r.aad[rng() % r.aad.size()] ^= static_cast<uint8_t>(1u << bit);
        break;
    }
    r.sent = r.buf->joined();
    ASSERT_TRUE(open_batch->add_open(*r.open_key, r.nonce, r.aad, r.buf->segs(), r.tag.data(), &r));
  }
  ASSERT_GT(untouched, 0u);
  ASSERT_LT(untouched, static_cast<uint32_t>(kOps));
  EXPECT_EQ(open_batch->run(), untouched);
  for (uint32_t i = 0; i < kOps; i++) {
    const Rec& r = recs[i];
    SCOPED_TRACE(testing::Message() << "op " << i << " tamper " << static_cast<int>(r.tamper)
                                    << " len " << r.plain.size());
    EXPECT_EQ(open_batch->user_data(i), &r);
    if (r.tamper == Tamper::kNone) {
      EXPECT_EQ(open_batch->status(i), AeadStatus::kOk);
      EXPECT_EQ(r.buf->joined(), r.plain);
    } else {
      EXPECT_EQ(open_batch->status(i), AeadStatus::kAuthFailed);
      EXPECT_EQ(r.buf->joined(), r.sent) << "a failed open did not put the ciphertext back";
    }
  }
}

TEST(AeadTamperTest, FlippedBitsFailOnlyTheirOps) {
  uint64_t seed = 1;
  for (AeadAlgo algo : kAlgos) {
    SCOPED_TRACE(crypto::aead_name(algo));
    check_tampering(Backend::kOssl, Backend::kIpsecMb, algo, seed++);
    check_tampering(Backend::kIpsecMb, Backend::kOssl, algo, seed++);
    check_tampering(Backend::kIpsecMb, Backend::kIpsecMb, algo, seed++);
  }
}

// aead.h: a failed open puts the ciphertext back, so a record opened under the wrong key in
// one batch opens under the right key in the next (what a TLS 1.3 record queued behind a
// KeyUpdate needs). Every backend, algorithm and a scattered layout; the wrong-key ops sit
// between good ones in the same batch.
TEST(AeadTamperTest, FailedOpenCanBeOpenedAgainUnderTheRightKey) {
  std::mt19937_64 rng(77);
  for (Backend b : kBackends) {
    for (AeadAlgo algo : kAlgos) {
      SCOPED_TRACE(testing::Message()
                   << crypto::aead_name(algo) << " backend " << static_cast<int>(b));
      auto batch = make_batch(b);
      ASSERT_NE(batch, nullptr);
      const std::vector<uint8_t> right = random_bytes(rng, crypto::aead_key_len(algo));
      const std::vector<uint8_t> wrong = random_bytes(rng, crypto::aead_key_len(algo));
      auto k_right = make_key(*batch, algo, right);
      auto k_wrong = make_key(*batch, algo, wrong);
      constexpr int kOps = 6;
      std::vector<std::unique_ptr<Scattered>> bufs;
      std::vector<std::vector<uint8_t>> plains, sealed;
      std::array<std::array<uint8_t, crypto::kAeadTagLen>, kOps> tags{};
      const std::vector<uint8_t> aad = random_bytes(rng, 5);
      const crypto::AeadNonce nonce = to_nonce(random_bytes(rng, crypto::kAeadNonceLen));
      for (int i = 0; i < kOps; i++) {
        plains.push_back(random_bytes(rng, 1 + rng() % 2000));
        bufs.push_back(
            std::make_unique<Scattered>(plains[i], random_layout(rng, plains[i].size())));
        ASSERT_TRUE(batch->add_seal(*k_right, nonce, aad, bufs[i]->segs(), tags[i].data()));
      }
      ASSERT_EQ(batch->run(), static_cast<uint32_t>(kOps));
      batch->clear();
      // Odd ops under the wrong key: they fail and keep their ciphertext.
      for (int i = 0; i < kOps; i++) {
        sealed.push_back(bufs[i]->joined());
        ASSERT_TRUE(batch->add_open(i % 2 == 1 ? *k_wrong : *k_right, nonce, aad, bufs[i]->segs(),
                                    tags[i].data()));
      }
      EXPECT_EQ(batch->run(), static_cast<uint32_t>(kOps / 2));
      for (int i = 0; i < kOps; i++) {
        if (i % 2 == 1) {
          EXPECT_EQ(batch->status(i), AeadStatus::kAuthFailed);
          EXPECT_EQ(bufs[i]->joined(), sealed[i]) << i;
        } else {
          EXPECT_EQ(bufs[i]->joined(), plains[i]) << i;
        }
      }
      batch->clear();
      for (int i = 1; i < kOps; i += 2) {
        ASSERT_TRUE(batch->add_open(*k_right, nonce, aad, bufs[i]->segs(), tags[i].data()));
      }
      EXPECT_EQ(batch->run(), static_cast<uint32_t>(kOps / 2));
      for (int i = 1; i < kOps; i += 2) {
        EXPECT_EQ(bufs[i]->joined(), plains[i]) << i;
      }
    }
  }
}

}  // namespace
}  // namespace linetls::aead_test
