// The AeadBatch contract: capacity, order, user_data, clear, re-running, rejected ops, key
// handling, and (ipsec-mb) the architecture chosen and the burst/descriptor chunking.
#include <cpuid.h>
#include <gtest/gtest.h>

#include <array>
#include <cstring>

#include "drivers/ipsecmb/ipsecmb_aead.h"
#include "drivers/ossl/ossl_aead.h"
#include "tests/unit/aead/aead_test_util.h"

namespace linetls::aead_test {
namespace {

using crypto::AeadAlgo;
using crypto::AeadError;
using crypto::AeadStatus;
using crypto::IoSeg;

constexpr AeadAlgo kAlgos[] = {AeadAlgo::kAes128Gcm, AeadAlgo::kAes256Gcm,
                               AeadAlgo::kChacha20Poly1305};

class AeadBatchTest : public ::testing::TestWithParam<Backend> {};

TEST_P(AeadBatchTest, MakeKeyChecksLength) {
  auto batch = make_batch(GetParam());
  ASSERT_NE(batch, nullptr);
  const std::array<uint8_t, 33> bytes{};
  for (AeadAlgo algo : kAlgos) {
    const size_t good = crypto::aead_key_len(algo);
    for (size_t n :
         {size_t{0}, size_t{15}, size_t{16}, size_t{24}, size_t{31}, size_t{32}, size_t{33}}) {
      auto r = batch->make_key(algo, std::span(bytes).first(n));
      if (n == good) {
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r.value()->algo(), algo);
        EXPECT_EQ(r.value()->backend_id(), batch->backend_id());
      } else {
        ASSERT_FALSE(r.ok()) << n;
        EXPECT_EQ(r.error(), AeadError::kBadKeyLength);
      }
    }
  }
}

TEST_P(AeadBatchTest, CapacityOrderUserDataAndClear) {
  auto batch = make_batch(GetParam(), 5);
  ASSERT_NE(batch, nullptr);
  EXPECT_EQ(batch->capacity(), 5u);
  const std::array<uint8_t, 16> kb{};
  auto key = make_key(*batch, AeadAlgo::kAes128Gcm, kb);
  ASSERT_NE(key, nullptr);
  std::array<std::array<uint8_t, 32>, 6> bufs{};
  std::array<std::array<uint8_t, 16>, 6> tags{};
  std::array<IoSeg, 6> segs;
  const crypto::AeadNonce nonce{};
  for (int i = 0; i < 6; i++) {
    segs[i] = {bufs[i].data(), static_cast<uint32_t>(bufs[i].size())};
    bool added = batch->add_seal(*key, nonce, {}, {&segs[i], 1}, tags[i].data(), &bufs[i]);
    EXPECT_EQ(added, i < 5) << i;
  }
  EXPECT_TRUE(batch->full());
  EXPECT_EQ(batch->size(), 5u);
  for (uint32_t i = 0; i < 5; i++) {
    EXPECT_EQ(batch->status(i), AeadStatus::kPending);
  }
  EXPECT_EQ(batch->run(), 5u);
  for (uint32_t i = 0; i < 5; i++) {
    EXPECT_TRUE(batch->ok(i));
    EXPECT_EQ(batch->user_data(i), &bufs[i]);
    // Same key, nonce and input: same output.
    EXPECT_EQ(bufs[i], bufs[0]);
    EXPECT_EQ(tags[i], tags[0]);
  }
  EXPECT_EQ(bufs[5], (std::array<uint8_t, 32>{})) << "the rejected add touched its buffer";
  // A second run with nothing new does nothing.
  EXPECT_EQ(batch->run(), 0u);
  batch->clear();
  EXPECT_EQ(batch->size(), 0u);
  EXPECT_FALSE(batch->full());
  ASSERT_TRUE(batch->add_open(*key, nonce, {}, {&segs[0], 1}, tags[0].data(), nullptr));
  EXPECT_EQ(batch->run(), 1u);
  EXPECT_EQ(bufs[0], (std::array<uint8_t, 32>{}));
}

TEST_P(AeadBatchTest, RunOnlyProcessesNewOps) {
  auto batch = make_batch(GetParam());
  ASSERT_NE(batch, nullptr);
  const std::array<uint8_t, 32> kb{1};
  auto key = make_key(*batch, AeadAlgo::kChacha20Poly1305, kb);
  ASSERT_NE(key, nullptr);
  std::array<uint8_t, 40> a{}, b{};
  std::array<uint8_t, 16> ta{}, tb{};
  IoSeg sa{a.data(), 40}, sb{b.data(), 40};
  const crypto::AeadNonce nonce{9};
  ASSERT_TRUE(batch->add_seal(*key, nonce, {}, {&sa, 1}, ta.data()));
  EXPECT_EQ(batch->run(), 1u);
  const std::array<uint8_t, 40> sealed = a;
  ASSERT_TRUE(batch->add_seal(*key, nonce, {}, {&sb, 1}, tb.data()));
  EXPECT_EQ(batch->run(), 1u);
  EXPECT_EQ(a, sealed) << "op 0 was processed twice";
  EXPECT_EQ(b, sealed);
  EXPECT_TRUE(batch->ok(0));
  EXPECT_TRUE(batch->ok(1));
}

TEST_P(AeadBatchTest, InvalidOpsAreReportedAndLeaveOthersAlone) {
  auto batch = make_batch(GetParam());
  auto other = make_batch(GetParam() == Backend::kIpsecMb ? Backend::kOssl : Backend::kIpsecMb);
  ASSERT_NE(batch, nullptr);
  ASSERT_NE(other, nullptr);
  const std::array<uint8_t, 16> kb{7};
  auto key = make_key(*batch, AeadAlgo::kAes128Gcm, kb);
  auto foreign = make_key(*other, AeadAlgo::kAes128Gcm, kb);
  ASSERT_NE(key, nullptr);
  ASSERT_NE(foreign, nullptr);
  ASSERT_NE(key->backend_id(), foreign->backend_id());

  std::vector<uint8_t> mem(200, 0x5a);
  std::array<uint8_t, 16> tag{};
  IoSeg good{mem.data(), 100};
  IoSeg null_data{nullptr, 10};
  std::vector<IoSeg> too_many(crypto::kAeadMaxSegs + 1, IoSeg{mem.data() + 100, 1});
  std::array<IoSeg, 2> huge{IoSeg{mem.data() + 100, 1u << 30}, IoSeg{mem.data() + 150, 1}};
  const crypto::AeadNonce nonce{};

  ASSERT_TRUE(batch->add_seal(*foreign, nonce, {}, {&good, 1}, tag.data()));   // 0
  ASSERT_TRUE(batch->add_seal(*key, nonce, {}, {&good, 1}, nullptr));          // 1
  ASSERT_TRUE(batch->add_seal(*key, nonce, {}, {&null_data, 1}, tag.data()));  // 2
  ASSERT_TRUE(batch->add_seal(*key, nonce, {}, too_many, tag.data()));         // 3
  ASSERT_TRUE(batch->add_seal(*key, nonce, {}, huge, tag.data()));             // 4
  ASSERT_TRUE(batch->add_open(*foreign, nonce, {}, {&good, 1}, tag.data()));   // 5
  EXPECT_EQ(batch->run(), 0u);
  for (uint32_t i = 0; i < 6; i++) {
    EXPECT_EQ(batch->status(i), AeadStatus::kInvalid) << i;
  }
  EXPECT_EQ(mem, std::vector<uint8_t>(200, 0x5a)) << "an invalid op touched memory";

  // Valid ops around invalid ones in the same run.
  batch->clear();
  std::array<uint8_t, 16> t1{}, t2{};
  IoSeg s1{mem.data(), 50}, s2{mem.data() + 50, 50};
  ASSERT_TRUE(batch->add_seal(*key, nonce, {}, {&s1, 1}, t1.data()));
  ASSERT_TRUE(batch->add_seal(*foreign, nonce, {}, {&good, 1}, tag.data()));
  ASSERT_TRUE(batch->add_seal(*key, nonce, {}, {&s2, 1}, t2.data()));
  EXPECT_EQ(batch->run(), 2u);
  EXPECT_TRUE(batch->ok(0));
  EXPECT_EQ(batch->status(1), AeadStatus::kInvalid);
  EXPECT_TRUE(batch->ok(2));
  EXPECT_EQ(t1, t2);
  EXPECT_NE(mem[0], 0x5a);
}

TEST_P(AeadBatchTest, EmptyMessageWithOnlyEmptySegments) {
  auto batch = make_batch(GetParam());
  ASSERT_NE(batch, nullptr);
  const std::array<uint8_t, 32> kb{3};
  for (AeadAlgo algo : kAlgos) {
    auto key = make_key(*batch, algo, std::span(kb).first(crypto::aead_key_len(algo)));
    ASSERT_NE(key, nullptr);
    std::array<IoSeg, 3> empties{};  // all null, all zero length
    std::array<uint8_t, 16> t_none{}, t_empty{};
    const std::array<uint8_t, 5> aad{1, 2, 3, 4, 5};
    const crypto::AeadNonce nonce{};
    batch->clear();
    ASSERT_TRUE(batch->add_seal(*key, nonce, aad, {}, t_none.data()));
    ASSERT_TRUE(batch->add_seal(*key, nonce, aad, empties, t_empty.data()));
    ASSERT_EQ(batch->run(), 2u);
    EXPECT_EQ(t_none, t_empty);
    ASSERT_TRUE(batch->add_open(*key, nonce, aad, empties, t_none.data()));
    EXPECT_EQ(batch->run(), 1u);
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, AeadBatchTest, ::testing::ValuesIn(kBackends),
                         [](const auto& info) { return std::string(backend_name(info.param)); });

TEST(AeadBatchCreate, RejectsZeroCapacity) {
  auto a = ipsecmb::IpsecMbAeadBatch::create(0);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error(), AeadError::kBadCapacity);
  auto b = ossl::OsslAeadBatch::create(0);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error(), AeadError::kBadCapacity);
}

// CPUID leaf 7: AVX-512F (EBX 16), BW (EBX 30), VL (EBX 31), VAES (ECX 9), VPCLMULQDQ
// (ECX 10). (GCC and clang disagree on __builtin_cpu_supports names for the last two.)
bool cpu_has_avx512_vaes() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d) == 0) {
    return false;
  }
  const unsigned ebx_bits = (1u << 16) | (1u << 30) | (1u << 31);
  const unsigned ecx_bits = (1u << 9) | (1u << 10);
  return (b & ebx_bits) == ebx_bits && (c & ecx_bits) == ecx_bits;
}

// On a CPU with AVX-512F/BW/VL, VAES and VPCLMULQDQ the automatic choice must be the
// AVX-512 VAES path, the fastest ipsec-mb 1.3 has.
TEST(IpsecMbArch, AutoPicksAvx512WithVaesWhereAvailable) {
  auto r = ipsecmb::IpsecMbAeadBatch::create();
  ASSERT_TRUE(r.ok());
  const auto& batch = *r.value();
  std::printf("ipsec-mb implementation: %s\n", batch.impl_name());
  EXPECT_NE(batch.arch(), ipsecmb::Arch::kAuto);
  const bool cpu_has = cpu_has_avx512_vaes();
  if (!cpu_has) {
    GTEST_SKIP() << "this CPU lacks AVX-512 with VAES";
  }
  EXPECT_EQ(batch.arch(), ipsecmb::Arch::kAvx512);
  EXPECT_TRUE(batch.uses_vaes());
  EXPECT_NE(std::strstr(batch.impl_name(), "avx512"), nullptr);
}

TEST(IpsecMbArch, KeysAreBoundToTheirArchitecture) {
  auto a512 = ipsecmb::IpsecMbAeadBatch::create(4);
  auto sse = ipsecmb::IpsecMbAeadBatch::create(4, {.arch = ipsecmb::Arch::kSse});
  auto again = ipsecmb::IpsecMbAeadBatch::create(4);
  ASSERT_TRUE(a512.ok());
  ASSERT_TRUE(sse.ok());
  ASSERT_TRUE(again.ok());
  if (a512.value()->arch() == ipsecmb::Arch::kSse) {
    GTEST_SKIP() << "the automatic choice is SSE itself";
  }
  const std::array<uint8_t, 16> kb{1};
  auto key = make_key(*a512.value(), AeadAlgo::kAes128Gcm, kb);
  ASSERT_NE(key, nullptr);
  std::array<uint8_t, 16> buf{}, tag{};
  IoSeg seg{buf.data(), 16};
  ASSERT_TRUE(sse.value()->add_seal(*key, {}, {}, {&seg, 1}, tag.data()));
  EXPECT_EQ(sse.value()->run(), 0u);
  EXPECT_EQ(sse.value()->status(0), AeadStatus::kInvalid);
  // Another batch of the same architecture takes it.
  ASSERT_TRUE(again.value()->add_seal(*key, {}, {}, {&seg, 1}, tag.data()));
  EXPECT_EQ(again.value()->run(), 1u);
}

// Batches larger than one ipsec-mb burst (128 jobs) and segmented ops that need more
// scatter-gather descriptors than one burst holds, checked against OpenSSL.
TEST(IpsecMbChunking, BigBatchesAndManySegments) {
  std::mt19937_64 rng(5);
  constexpr uint32_t kOps = 300;
  auto mb = make_batch(Backend::kIpsecMb, kOps);
  auto ref = make_batch(Backend::kOssl, kOps);
  ASSERT_NE(mb, nullptr);
  ASSERT_NE(ref, nullptr);
  for (AeadAlgo algo : kAlgos) {
    SCOPED_TRACE(crypto::aead_name(algo));
    const std::vector<uint8_t> kb = random_bytes(rng, crypto::aead_key_len(algo));
    auto k_mb = make_key(*mb, algo, kb);
    auto k_ref = make_key(*ref, algo, kb);
    ASSERT_NE(k_mb, nullptr);
    ASSERT_NE(k_ref, nullptr);
    std::vector<std::unique_ptr<Scattered>> a, b;
    std::vector<std::array<uint8_t, 16>> ta(kOps), tb(kOps);
    std::vector<crypto::AeadNonce> nonces(kOps);
    mb->clear();
    ref->clear();
    for (uint32_t i = 0; i < kOps; i++) {
      // Every other op uses the maximum number of segments: 150 such ops need 9600
      // descriptors, several bursts' worth.
      const size_t len = 64 + rng() % 400;
      std::vector<uint32_t> layout;
      if (i % 2 == 0) {
        layout.assign(crypto::kAeadMaxSegs, static_cast<uint32_t>(len / crypto::kAeadMaxSegs));
        layout.back() += static_cast<uint32_t>(len % crypto::kAeadMaxSegs);
      } else {
        layout = random_split(rng, len, 8);
      }
      const std::vector<uint8_t> plain = random_bytes(rng, len);
      a.push_back(std::make_unique<Scattered>(plain, layout));
      b.push_back(std::make_unique<Scattered>(plain, std::vector<uint32_t>{uint32_t(len)}));
      nonces[i] = to_nonce(random_bytes(rng, 12));
      ASSERT_TRUE(mb->add_seal(*k_mb, nonces[i], {}, a[i]->segs(), ta[i].data()));
      ASSERT_TRUE(ref->add_seal(*k_ref, nonces[i], {}, b[i]->segs(), tb[i].data()));
    }
    ASSERT_EQ(mb->run(), kOps);
    ASSERT_EQ(ref->run(), kOps);
    for (uint32_t i = 0; i < kOps; i++) {
      ASSERT_EQ(a[i]->joined(), b[i]->joined()) << i;
      ASSERT_EQ(ta[i], tb[i]) << i;
    }
    // Open everything in one ipsec-mb run, with one wrong tag in the middle.
    mb->clear();
    tb[kOps / 2][0] ^= 1;
    const std::vector<uint8_t> sealed = a[kOps / 2]->joined();
    for (uint32_t i = 0; i < kOps; i++) {
      ASSERT_TRUE(mb->add_open(*k_mb, nonces[i], {}, a[i]->segs(), tb[i].data()));
    }
    EXPECT_EQ(mb->run(), kOps - 1);
    EXPECT_EQ(mb->status(kOps / 2), AeadStatus::kAuthFailed);
    EXPECT_EQ(a[kOps / 2]->joined(), sealed);  // the ciphertext is back, not the plaintext
    EXPECT_TRUE(mb->ok(kOps / 2 - 1));
    EXPECT_TRUE(mb->ok(kOps / 2 + 1));
  }
}

}  // namespace
}  // namespace linetls::aead_test
