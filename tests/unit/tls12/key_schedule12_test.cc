// The TLS 1.2 key schedule against tests/vectors/tls12/key_schedule12.txt, which
// scripts/gen_tls12_vectors.sh computes with the OpenSSL CLI (an implementation independent
// of ours): the session hash over the transcript bytes, the extended master secret, the key
// block and its cut into keys and IVs, and both Finished verify_data values.
#include "lib/tls/v12/key_schedule12.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/crypto/test_util.h"

namespace linetls::tls::v12 {
namespace {

using crypto::testing::hex;
using crypto::testing::read_records;
using crypto::testing::Record;
using crypto::testing::to_hex;

std::vector<Record> vectors() {
  auto v = read_records("tls12/key_schedule12.txt");
  EXPECT_EQ(v.size(), kNumSuites);
  return v;
}

SuiteInfo suite_of(Record& r) {
  auto info = suite_info(static_cast<uint16_t>(std::stoul(r["suite"], nullptr, 16)));
  EXPECT_TRUE(info) << r["suite"];
  return *info;
}

TEST(KeySchedule12, ExtendedMasterSecretOverTheSessionHash) {
  for (Record r : vectors()) {
    const SuiteInfo suite = suite_of(r);
    EXPECT_EQ(r["hash"], suite.hash == crypto::HashAlgo::kSha256 ? "SHA256" : "SHA384");
    auto t = crypto::Transcript::create(suite.hash);
    ASSERT_TRUE(t);
    ASSERT_TRUE(t->update(hex(r["transcript"])));
    auto session_hash = t->digest();
    ASSERT_TRUE(session_hash);
    EXPECT_EQ(to_hex(session_hash->view()), r["session_hash"]) << r["suite"];
    auto ms = extended_master_secret(suite.hash, hex(r["pre_master_secret"]), session_hash->view());
    ASSERT_TRUE(ms);
    EXPECT_EQ(to_hex(ms->view()), r["master_secret"]) << r["suite"];
  }
}

// RFC 5246 §8.1 (no extended master secret) against master_secret12.txt, generated with the
// OpenSSL CLI's TLS1-PRF by tests/vectors/tls12/gen_master_secret12.sh from the inputs above.
// It differs from the extended one over the same pre-master secret, and the order of the
// randoms matters (client first).
TEST(KeySchedule12, MasterSecretOverTheRandoms) {
  auto v = read_records("tls12/master_secret12.txt");
  ASSERT_EQ(v.size(), kNumSuites);
  auto ems = vectors();
  for (size_t i = 0; i < v.size(); i++) {
    Record& r = v[i];
    const SuiteInfo suite = suite_of(r);
    EXPECT_EQ(r["pre_master_secret"], ems[i]["pre_master_secret"]);
    auto ms = master_secret(suite.hash, hex(r["pre_master_secret"]), hex(r["client_random"]),
                            hex(r["server_random"]));
    ASSERT_TRUE(ms);
    EXPECT_EQ(to_hex(ms->view()), r["master_secret"]) << r["suite"];
    EXPECT_NE(r["master_secret"], ems[i]["master_secret"]);
    auto swapped = master_secret(suite.hash, hex(r["pre_master_secret"]), hex(r["server_random"]),
                                 hex(r["client_random"]));
    ASSERT_TRUE(swapped);
    EXPECT_NE(to_hex(swapped->view()), r["master_secret"]);
  }
  const std::vector<uint8_t> r31(31, 1), r32(32, 1);
  EXPECT_EQ(master_secret(crypto::HashAlgo::kSha256, r32, r31, r32).error(), Error::kInternalError);
}

TEST(KeySchedule12, KeyBlockAndItsCut) {
  for (Record r : vectors()) {
    const SuiteInfo suite = suite_of(r);
    const auto ms = hex(r["master_secret"]);
    const auto cr = hex(r["client_random"]);
    const auto sr = hex(r["server_random"]);
    KeyBlockBytes bytes;
    ASSERT_TRUE(key_block_bytes(suite, ms, cr, sr, &bytes));
    const std::string want = r["key_block"];
    ASSERT_EQ(to_hex({bytes.bytes, bytes.len}), want) << r["suite"];

    auto kb = derive_key_block(suite, ms, cr, sr);
    ASSERT_TRUE(kb);
    const size_t k = 2 * suite.key_len;  // hex digits per key
    const size_t iv = 2 * suite.fixed_iv_len;
    EXPECT_EQ(to_hex(kb->client_write.key.view()), want.substr(0, k));
    EXPECT_EQ(to_hex(kb->server_write.key.view()), want.substr(k, k));
    EXPECT_EQ(to_hex(kb->client_write.iv.view()), want.substr(2 * k, iv));
    EXPECT_EQ(to_hex(kb->server_write.iv.view()), want.substr(2 * k + iv, iv));
    EXPECT_EQ(kb->client_write.aead, suite.aead);
    EXPECT_EQ(kb->server_write.aead, suite.aead);
    // Randoms swapped give a different block: the order is server + client (§6.3).
    auto swapped = derive_key_block(suite, ms, sr, cr);
    ASSERT_TRUE(swapped);
    EXPECT_FALSE(swapped->client_write.key == kb->client_write.key);
  }
}

TEST(KeySchedule12, FinishedVerifyData) {
  for (Record r : vectors()) {
    const SuiteInfo suite = suite_of(r);
    const auto ms = hex(r["master_secret"]);
    auto c = finished_verify_data(suite.hash, ms, true, hex(r["client_finished_hash"]));
    auto s = finished_verify_data(suite.hash, ms, false, hex(r["server_finished_hash"]));
    ASSERT_TRUE(c && s);
    EXPECT_EQ(to_hex(c->view()), r["client_verify_data"]) << r["suite"];
    EXPECT_EQ(to_hex(s->view()), r["server_verify_data"]) << r["suite"];
    EXPECT_TRUE(check_verify_data(*c, hex(r["client_verify_data"])));
    // The label matters: the server's label over the client's hash is another value.
    auto wrong = finished_verify_data(suite.hash, ms, false, hex(r["client_finished_hash"]));
    ASSERT_TRUE(wrong);
    EXPECT_NE(to_hex(wrong->view()), r["client_verify_data"]);
  }
}

TEST(KeySchedule12, CheckVerifyDataRejectsEveryChange) {
  Record r = vectors()[0];
  const SuiteInfo suite = suite_of(r);
  auto vd = finished_verify_data(suite.hash, hex(r["master_secret"]), true,
                                 hex(r["client_finished_hash"]));
  ASSERT_TRUE(vd);
  std::vector<uint8_t> got(vd->view().begin(), vd->view().end());
  ASSERT_TRUE(check_verify_data(*vd, got));
  for (size_t i = 0; i < got.size(); i++) {
    got[i] ^= 0x80;
    auto bad = check_verify_data(*vd, got);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error(), Error::kBadFinished);
    EXPECT_EQ(to_alert(bad.error()), AlertDescription::kDecryptError);
    got[i] ^= 0x80;
  }
  // A truncated or extended verify_data is a mismatch too.
  EXPECT_FALSE(check_verify_data(*vd, std::span<const uint8_t>(got).first(11)));
  got.push_back(0);
  EXPECT_FALSE(check_verify_data(*vd, got));
}

TEST(KeySchedule12, RejectsOurOwnBadArguments) {
  const SuiteInfo suite = suite_info(CipherSuite::kEcdheEcdsaAes128GcmSha256);
  const std::vector<uint8_t> ms(48, 1), r32(32, 2), r31(31, 2), h32(32, 3), h48(48, 3);
  EXPECT_EQ(derive_key_block(suite, ms, r31, r32).error(), Error::kInternalError);
  EXPECT_EQ(derive_key_block(suite, std::span<const uint8_t>(ms).first(47), r32, r32).error(),
            Error::kInternalError);
  EXPECT_EQ(finished_verify_data(crypto::HashAlgo::kSha256, ms, true, h48).error(),
            Error::kInternalError);
  EXPECT_EQ(extended_master_secret(crypto::HashAlgo::kSha384, r32, h32).error(),
            Error::kInternalError);
  EXPECT_TRUE(finished_verify_data(crypto::HashAlgo::kSha384, ms, true, h48));
}

}  // namespace
}  // namespace linetls::tls::v12
