// Known-answer tests: tests/vectors/aead/*.txt against both backends, one op per run and all
// vectors of a file in one batch, contiguous and scattered.
#include <gtest/gtest.h>

#include <algorithm>

#include "tests/unit/aead/aead_test_util.h"

namespace linetls::aead_test {
namespace {

using crypto::AeadAlgo;
using crypto::AeadStatus;

TEST(AeadVectorParser, ParsesHexStringsAndFails) {
  std::vector<AeadVector> v;
  std::string err;
  ASSERT_TRUE(
      parse_vectors("# c\nKEY: 0001\nNONCE: ff\nIN: \"ab\"\nAD:\nCT: 1234\nTAG: 99\n\n"
                    "KEY: 02\nNONCE: 03\nIN:\nAD: 04\nCT:\nTAG: 05\nFAILS: 01\n",
                    &v, &err))
      << err;
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].key, (std::vector<uint8_t>{0x00, 0x01}));
  EXPECT_EQ(v[0].in, (std::vector<uint8_t>{'a', 'b'}));
  EXPECT_TRUE(v[0].ad.empty());
  EXPECT_EQ(v[0].line, 2);
  EXPECT_FALSE(v[0].fails);
  EXPECT_TRUE(v[1].fails);
  EXPECT_EQ(v[1].ad, (std::vector<uint8_t>{0x04}));
}

TEST(AeadVectorParser, RejectsMalformedFiles) {
  const char* bad[] = {
      "KEY: 0g\nNONCE: 00\nIN:\nAD:\nCT:\nTAG: 00\n",            // bad hex digit
      "KEY: 000\nNONCE: 00\nIN:\nAD:\nCT:\nTAG: 00\n",           // odd length
      "KEY: 00\nNONCE: 00\nIN:\nAD:\nCT:\n",                     // no TAG
      "KEY: 00\nKEY: 00\nNONCE: 00\nIN:\nAD:\nCT:\nTAG: 00\n",   // duplicate
      "KEY: 00\nNONCE: 00\nIN:\nAD:\nCT:\nTAG: 00\nFOO: 00\n",   // unknown field
      "KEY: 00\nNONCE: 00\nIN: 00\nAD:\nCT:\nTAG: 00\n",         // IN and CT lengths differ
      "KEY: 00\nNONCE: 00\nIN: \"ab\nAD:\nCT: 0000\nTAG: 00\n",  // unterminated string
      "KEY 00\n",                                                // no colon
  };
  for (const char* text : bad) {
    std::vector<AeadVector> v;
    std::string err;
    EXPECT_FALSE(parse_vectors(text, &v, &err)) << text;
    EXPECT_FALSE(err.empty());
  }
}

struct KatFile {
  const char* name;
  AeadAlgo algo;
};

class AeadKatTest : public ::testing::TestWithParam<Backend> {
 protected:
  void run_file(const KatFile& file);
};

// Checks the file holds what the issue asks for, so a truncated file cannot pass quietly.
void expect_coverage(const std::vector<AeadVector>& vs, bool need_aad_only) {
  bool empty_in = false, aad_only = false, fails = false, long_in = false;
  for (const AeadVector& v : vs) {
    empty_in |= v.in.empty() && v.ad.empty() && !v.fails;
    aad_only |= v.in.empty() && !v.ad.empty() && !v.fails;
    fails |= v.fails;
    long_in |= v.in.size() >= 64;
  }
  EXPECT_GE(vs.size(), 20u);
  EXPECT_TRUE(empty_in) << "no empty-plaintext vector";
  EXPECT_TRUE(fails) << "no must-fail vector";
  EXPECT_TRUE(long_in) << "no multi-block vector";
  EXPECT_TRUE(aad_only || !need_aad_only) << "no AAD-only vector";
}

void AeadKatTest::run_file(const KatFile& file) {
  const std::vector<AeadVector> vs = load_vectors(file.name);
  ASSERT_FALSE(vs.empty());
  expect_coverage(vs, file.algo != AeadAlgo::kChacha20Poly1305);
  auto batch = make_batch(GetParam());
  ASSERT_NE(batch, nullptr);
  std::vector<crypto::AeadKeyPtr> keys;
  for (const AeadVector& v : vs) {
    ASSERT_EQ(v.key.size(), crypto::aead_key_len(file.algo)) << "line " << v.line;
    ASSERT_EQ(v.nonce.size(), crypto::kAeadNonceLen) << "line " << v.line;
    ASSERT_EQ(v.tag.size(), crypto::kAeadTagLen) << "line " << v.line;
    keys.push_back(make_key(*batch, file.algo, v.key));
    ASSERT_NE(keys.back(), nullptr);
  }

  // One op per run, contiguous.
  for (size_t i = 0; i < vs.size(); i++) {
    const AeadVector& v = vs[i];
    SCOPED_TRACE(testing::Message() << file.name << " line " << v.line);
    if (!v.fails) {
      std::vector<uint8_t> buf = v.in;
      crypto::IoSeg seg{buf.data(), static_cast<uint32_t>(buf.size())};
      uint8_t tag[crypto::kAeadTagLen] = {};
      batch->clear();
      ASSERT_TRUE(batch->add_seal(*keys[i], to_nonce(v.nonce), v.ad, {&seg, 1}, tag));
      ASSERT_EQ(batch->run(), 1u);
      EXPECT_EQ(buf, v.ct);
      EXPECT_TRUE(std::equal(v.tag.begin(), v.tag.end(), tag));
    }
    std::vector<uint8_t> buf = v.ct;
    crypto::IoSeg seg{buf.data(), static_cast<uint32_t>(buf.size())};
    batch->clear();
    ASSERT_TRUE(batch->add_open(*keys[i], to_nonce(v.nonce), v.ad, {&seg, 1}, v.tag.data()));
    if (v.fails) {
      EXPECT_EQ(batch->run(), 0u);
      EXPECT_EQ(batch->status(0), AeadStatus::kAuthFailed);
      EXPECT_EQ(buf, v.ct);  // the ciphertext is back in place
    } else {
      EXPECT_EQ(batch->run(), 1u);
      EXPECT_EQ(buf, v.in);
    }
  }

  // Every vector in one batch, each message scattered over three pieces (some empty).
  std::vector<std::unique_ptr<Scattered>> bufs;
  bufs.reserve(vs.size());  // &bufs[i] is each op's user_data
  std::vector<std::array<uint8_t, crypto::kAeadTagLen>> tags(vs.size());
  auto thirds = [](size_t n) {
    return std::vector<uint32_t>{static_cast<uint32_t>(n / 3), static_cast<uint32_t>(n / 3),
                                 static_cast<uint32_t>(n - 2 * (n / 3))};
  };
  batch->clear();
  uint32_t num_seal = 0;
  for (size_t i = 0; i < vs.size(); i++) {
    bufs.push_back(std::make_unique<Scattered>(vs[i].in, thirds(vs[i].in.size())));
    if (!vs[i].fails) {
      ASSERT_TRUE(batch->add_seal(*keys[i], to_nonce(vs[i].nonce), vs[i].ad, bufs[i]->segs(),
                                  tags[i].data(), &bufs[i]));
      num_seal++;
    }
  }
  ASSERT_EQ(batch->run(), num_seal);
  for (size_t i = 0, op = 0; i < vs.size(); i++) {
    if (vs[i].fails) {
      continue;
    }
    SCOPED_TRACE(testing::Message() << file.name << " line " << vs[i].line);
    EXPECT_EQ(batch->user_data(static_cast<uint32_t>(op++)), &bufs[i]);
    EXPECT_EQ(bufs[i]->joined(), vs[i].ct);
    EXPECT_TRUE(std::equal(vs[i].tag.begin(), vs[i].tag.end(), tags[i].begin()));
  }

  batch->clear();
  uint32_t num_good = 0;
  for (size_t i = 0; i < vs.size(); i++) {
    bufs[i] = std::make_unique<Scattered>(vs[i].ct, thirds(vs[i].ct.size()));
    ASSERT_TRUE(batch->add_open(*keys[i], to_nonce(vs[i].nonce), vs[i].ad, bufs[i]->segs(),
                                vs[i].tag.data()));
    num_good += vs[i].fails ? 0 : 1;
  }
  ASSERT_EQ(batch->run(), num_good);
  for (size_t i = 0; i < vs.size(); i++) {
    SCOPED_TRACE(testing::Message() << file.name << " line " << vs[i].line);
    if (vs[i].fails) {
      EXPECT_EQ(batch->status(static_cast<uint32_t>(i)), AeadStatus::kAuthFailed);
      EXPECT_EQ(bufs[i]->joined(), vs[i].ct);
    } else {
      EXPECT_TRUE(batch->ok(static_cast<uint32_t>(i)));
      EXPECT_EQ(bufs[i]->joined(), vs[i].in);
    }
  }
}

TEST_P(AeadKatTest, Aes128Gcm) { run_file({"aes_128_gcm.txt", AeadAlgo::kAes128Gcm}); }
TEST_P(AeadKatTest, Aes256Gcm) { run_file({"aes_256_gcm.txt", AeadAlgo::kAes256Gcm}); }
TEST_P(AeadKatTest, Chacha20Poly1305) {
  run_file({"chacha20_poly1305.txt", AeadAlgo::kChacha20Poly1305});
}

INSTANTIATE_TEST_SUITE_P(Backends, AeadKatTest, ::testing::ValuesIn(kBackends),
                         [](const auto& info) { return std::string(backend_name(info.param)); });

}  // namespace
}  // namespace linetls::aead_test
