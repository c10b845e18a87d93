// The RFC 8446 key schedule replayed against RFC 8448 §3 (and the §4 resumption binder key):
// every secret, key, IV and verify_data from tests/vectors/tls13/rfc8448_simple.txt, with
// transcript hashes computed here from the trace's handshake messages.
#include "lib/tls/key_schedule.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "tests/unit/crypto/test_util.h"

namespace linetls::tls {
namespace {

using crypto::HashAlgo;
using crypto::testing::hex;
using crypto::testing::read_records;
using crypto::testing::Record;
using crypto::testing::to_hex;

Record section(const std::string& name) {
  for (auto& r : read_records("tls13/rfc8448_simple.txt")) {
    if (r["name"] == name) {
      return r;
    }
  }
  ADD_FAILURE() << "no section " << name;
  return {};
}

// Transcript-Hash of the named messages, in order.
std::vector<uint8_t> transcript(const std::vector<std::string>& names) {
  Record m = section("messages");
  auto t = crypto::Transcript::create(HashAlgo::kSha256);
  EXPECT_TRUE(t);
  for (const auto& n : names) {
    EXPECT_TRUE(t->update(hex(m[n])));
  }
  auto d = t->digest();
  EXPECT_TRUE(d);
  return {d->view().begin(), d->view().end()};
}

std::string hexs(const Result<HashSecret, Error>& s) {
  EXPECT_TRUE(s.ok());
  return s.ok() ? to_hex(s->view()) : "";
}

TEST(KeySchedule, Rfc8448SimpleHandshakeEverySecret) {
  Record v = section("schedule");
  const auto ch_sh = transcript({"client_hello", "server_hello"});
  const auto to_sfin = transcript({"client_hello", "server_hello", "encrypted_extensions",
                                   "certificate", "certificate_verify", "server_finished"});
  const auto to_cfin =
      transcript({"client_hello", "server_hello", "encrypted_extensions", "certificate",
                  "certificate_verify", "server_finished", "client_finished"});

  KeySchedule ks(HashAlgo::kSha256);
  ASSERT_TRUE(ks.start());
  EXPECT_EQ(to_hex(ks.secret()), v["early_secret"]);
  ASSERT_TRUE(ks.add_handshake(hex(v["ecdhe"])));
  EXPECT_EQ(to_hex(ks.secret()), v["handshake_secret"]);
  auto chs = ks.client_handshake_traffic_secret(ch_sh);
  auto shs = ks.server_handshake_traffic_secret(ch_sh);
  EXPECT_EQ(hexs(chs), v["c_hs_traffic"]);
  EXPECT_EQ(hexs(shs), v["s_hs_traffic"]);
  ASSERT_TRUE(ks.add_master());
  EXPECT_EQ(to_hex(ks.secret()), v["master_secret"]);
  auto cap = ks.client_application_traffic_secret(to_sfin);
  auto sap = ks.server_application_traffic_secret(to_sfin);
  EXPECT_EQ(hexs(cap), v["c_ap_traffic"]);
  EXPECT_EQ(hexs(sap), v["s_ap_traffic"]);
  EXPECT_EQ(hexs(ks.exporter_master_secret(to_sfin)), v["exp_master"]);
  EXPECT_EQ(hexs(ks.resumption_master_secret(to_cfin)), v["res_master"]);

  const SuiteInfo suite = suite_info(CipherSuite::kAes128GcmSha256);
  struct {
    const HashSecret& secret;
    const char* key;
    const char* iv;
  } dirs[] = {{*shs, "s_hs_key", "s_hs_iv"},
              {*chs, "c_hs_key", "c_hs_iv"},
              {*sap, "s_ap_key", "s_ap_iv"},
              {*cap, "c_ap_key", "c_ap_iv"}};
  for (const auto& d : dirs) {
    auto k = derive_traffic_keys(suite, d.secret.view());
    ASSERT_TRUE(k);
    EXPECT_EQ(k->aead, crypto::AeadAlgo::kAes128Gcm);
    EXPECT_EQ(to_hex(k->key.view()), v[d.key]);
    EXPECT_EQ(to_hex(k->iv.view()), v[d.iv]);
  }

  // §4.4.4 Finished: the server's over CH..CertificateVerify, the client's up to the
  // server Finished.
  const auto to_cv = transcript({"client_hello", "server_hello", "encrypted_extensions",
                                 "certificate", "certificate_verify"});
  EXPECT_EQ(hexs(finished_key(HashAlgo::kSha256, shs->view())), v["s_finished_key"]);
  EXPECT_EQ(hexs(finished_key(HashAlgo::kSha256, chs->view())), v["c_finished_key"]);
  auto svd = finished_verify_data(HashAlgo::kSha256, shs->view(), to_cv);
  ASSERT_TRUE(svd);
  EXPECT_EQ(to_hex(svd->view()), v["s_verify_data"]);
  auto cvd = hex(v["c_verify_data"]);
  EXPECT_TRUE(verify_finished(HashAlgo::kSha256, chs->view(), to_sfin, cvd));
  cvd[31] ^= 1;
  EXPECT_EQ(verify_finished(HashAlgo::kSha256, chs->view(), to_sfin, cvd).error(),
            Error::kBadFinished);
  cvd.pop_back();
  EXPECT_EQ(verify_finished(HashAlgo::kSha256, chs->view(), to_sfin, cvd).error(),
            Error::kBadFinished);
  // The Finished messages in the trace carry exactly these verify_data.
  Record m = section("messages");
  EXPECT_EQ(m["server_finished"], "14000020" + v["s_verify_data"]);
  EXPECT_EQ(m["client_finished"], "14000020" + v["c_verify_data"]);
}

TEST(KeySchedule, Rfc8448ResumptionPskAndBinderKey) {
  Record s = section("schedule");
  Record r = section("resumption");
  auto psk = resumption_psk(HashAlgo::kSha256, hex(s["res_master"]), hex(r["ticket_nonce"]));
  EXPECT_EQ(hexs(psk), r["psk"]);
  KeySchedule ks(HashAlgo::kSha256);
  ASSERT_TRUE(ks.start(psk->view()));
  EXPECT_EQ(to_hex(ks.secret()), r["psk_early_secret"]);
  auto bk = ks.binder_key(true);
  EXPECT_EQ(hexs(bk), r["res_binder_key"]);
  EXPECT_EQ(hexs(finished_key(HashAlgo::kSha256, bk->view())), r["binder_finished_key"]);
  // The external binder label gives a different key.
  EXPECT_NE(hexs(ks.binder_key(false)), r["res_binder_key"]);
}

TEST(KeySchedule, KeyUpdateAndExporterMatchAnIndependentComputation) {
  Record s = section("schedule");
  Record d = section("derived");
  EXPECT_EQ(hexs(next_traffic_secret(HashAlgo::kSha256, hex(s["s_ap_traffic"]))),
            d["s_ap_traffic_1"]);
  EXPECT_EQ(hexs(next_traffic_secret(HashAlgo::kSha256, hex(s["c_ap_traffic"]))),
            d["c_ap_traffic_1"]);
  std::vector<uint8_t> out(40);
  const std::string ctx = "context";
  ASSERT_TRUE(export_keying_material(HashAlgo::kSha256, hex(s["exp_master"]),
                                     "EXPORTER-linetls-test", crypto::testing::bytes_of(ctx), out));
  EXPECT_EQ(to_hex(out), d["exporter_context"]);
  out.resize(32);
  ASSERT_TRUE(export_keying_material(HashAlgo::kSha256, hex(s["exp_master"]),
                                     "EXPORTER-linetls-test", {}, out));
  EXPECT_EQ(to_hex(out), d["exporter_empty"]);
}

TEST(KeySchedule, OtherSuitesDeriveTheirKeyLengths) {
  Record v = section("suites");
  auto aes256 =
      derive_traffic_keys(suite_info(CipherSuite::kAes256GcmSha384), hex(v["sha384_secret"]));
  ASSERT_TRUE(aes256);
  EXPECT_EQ(aes256->aead, crypto::AeadAlgo::kAes256Gcm);
  EXPECT_EQ(to_hex(aes256->key.view()), v["aes256_key"]);
  EXPECT_EQ(to_hex(aes256->iv.view()), v["aes256_iv"]);
  EXPECT_EQ(hexs(finished_key(HashAlgo::kSha384, hex(v["sha384_secret"]))),
            v["sha384_finished_key"]);
  auto chacha = derive_traffic_keys(suite_info(CipherSuite::kChacha20Poly1305Sha256),
                                    hex(v["sha256_secret"]));
  ASSERT_TRUE(chacha);
  EXPECT_EQ(chacha->aead, crypto::AeadAlgo::kChacha20Poly1305);
  EXPECT_EQ(to_hex(chacha->key.view()), v["chacha_key"]);
  EXPECT_EQ(to_hex(chacha->iv.view()), v["chacha_iv"]);
}

TEST(KeySchedule, Sha384ScheduleRunsItsStagesAtHashLength) {
  KeySchedule ks(HashAlgo::kSha384);
  ASSERT_TRUE(ks.start());
  EXPECT_EQ(ks.secret().size(), 48u);
  std::vector<uint8_t> shared(48, 7), h(48, 1);
  ASSERT_TRUE(ks.add_handshake(shared));
  auto s = ks.server_handshake_traffic_secret(h);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->size(), 48u);
  // A SHA-256-sized transcript hash is our bug, refused.
  std::vector<uint8_t> short_hash(32, 1);
  EXPECT_EQ(ks.server_handshake_traffic_secret(short_hash).error(), Error::kInternalError);
}

TEST(KeySchedule, StagesOnlyInOrder) {
  std::vector<uint8_t> h(32, 0);
  KeySchedule ks(HashAlgo::kSha256);
  EXPECT_EQ(ks.add_master().error(), Error::kInternalError);
  EXPECT_EQ(ks.binder_key(true).error(), Error::kInternalError);
  ASSERT_TRUE(ks.start());
  EXPECT_EQ(ks.start().error(), Error::kInternalError);
  EXPECT_EQ(ks.client_handshake_traffic_secret(h).error(), Error::kInternalError);
  EXPECT_EQ(ks.add_master().error(), Error::kInternalError);
  ASSERT_TRUE(ks.add_handshake(h));
  EXPECT_EQ(ks.client_application_traffic_secret(h).error(), Error::kInternalError);
  EXPECT_EQ(ks.binder_key(true).error(), Error::kInternalError);
  ASSERT_TRUE(ks.add_master());
  EXPECT_EQ(ks.stage(), KeySchedule::Stage::kMaster);
  EXPECT_EQ(ks.client_handshake_traffic_secret(h).error(), Error::kInternalError);
}

TEST(CipherSuites, KnownCodesOnly) {
  EXPECT_STREQ(suite_info(0x1301)->name, "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(suite_info(0x1302)->hash, HashAlgo::kSha384);
  EXPECT_EQ(suite_info(0x1303)->aead, crypto::AeadAlgo::kChacha20Poly1305);
  EXPECT_FALSE(suite_info(0x1304));  // TLS_AES_128_CCM_SHA256: not offered
  EXPECT_FALSE(suite_info(0xc02b));  // a TLS 1.2 suite
  EXPECT_FALSE(suite_info(0x0a0a));  // GREASE
  EXPECT_EQ(record_limit(crypto::AeadAlgo::kAes128Gcm), 23726566u);
}

}  // namespace
}  // namespace linetls::tls
