#include "lib/crypto/hash.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/crypto/test_util.h"

namespace linetls::crypto {
namespace {

using testing::bytes_of;
using testing::hex;
using testing::read_records;
using testing::to_hex;

HashAlgo algo_named(const std::string& name) {
  return name == "SHA384" ? HashAlgo::kSha384 : HashAlgo::kSha256;
}

// ---- Hash / Transcript --------------------------------------------------------------------

TEST(Hash, KnownDigestsOfAbc) {  // FIPS 180-4 examples
  Result<Digest, Error> d256 = hash(HashAlgo::kSha256, bytes_of("abc"));
  Result<Digest, Error> d384 = hash(HashAlgo::kSha384, bytes_of("abc"));
  ASSERT_TRUE(d256);
  ASSERT_TRUE(d384);
  EXPECT_EQ(to_hex(d256->view()),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(to_hex(d384->view()),
            "cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358"
            "baeca134c825a7");
}

TEST(Hash, IncrementalEqualsOneShotAndDigestDoesNotFinalise) {
  for (HashAlgo algo : {HashAlgo::kSha256, HashAlgo::kSha384}) {
    Result<Hash, Error> h = Hash::create(algo);
    ASSERT_TRUE(h);
    EXPECT_EQ(h->size(), hash_len(algo));
    ASSERT_TRUE(h->update(bytes_of("client hello")));
    Result<Digest, Error> mid = h->digest();
    Result<Digest, Error> mid_again = h->digest();
    ASSERT_TRUE(mid);
    ASSERT_TRUE(mid_again);
    EXPECT_EQ(to_hex(mid->view()), to_hex(mid_again->view()));
    EXPECT_EQ(to_hex(mid->view()), to_hex(hash(algo, bytes_of("client hello"))->view()));

    ASSERT_TRUE(h->update(bytes_of("server hello")));
    ASSERT_TRUE(h->update({}));
    Result<Digest, Error> end = h->digest();
    ASSERT_TRUE(end);
    EXPECT_EQ(to_hex(end->view()),
              to_hex(hash(algo, bytes_of("client helloserver hello"))->view()));
    EXPECT_NE(to_hex(end->view()), to_hex(mid->view()));
  }
}

TEST(Hash, CloneIsIndependent) {
  Result<Hash, Error> a = Hash::create(HashAlgo::kSha256);
  ASSERT_TRUE(a);
  ASSERT_TRUE(a->update(bytes_of("common")));
  Result<Hash, Error> b = a->clone();
  ASSERT_TRUE(b);
  ASSERT_TRUE(a->update(bytes_of("-a")));
  ASSERT_TRUE(b->update(bytes_of("-b")));
  EXPECT_EQ(to_hex(a->digest()->view()),
            to_hex(hash(HashAlgo::kSha256, bytes_of("common-a"))->view()));
  EXPECT_EQ(to_hex(b->digest()->view()),
            to_hex(hash(HashAlgo::kSha256, bytes_of("common-b"))->view()));
}

TEST(Hash, ResetForgetsInput) {
  Result<Hash, Error> h = Hash::create(HashAlgo::kSha384);
  ASSERT_TRUE(h);
  ASSERT_TRUE(h->update(bytes_of("junk")));
  ASSERT_TRUE(h->reset());
  ASSERT_TRUE(h->update(bytes_of("abc")));
  EXPECT_EQ(to_hex(h->digest()->view()), to_hex(hash(HashAlgo::kSha384, bytes_of("abc"))->view()));
}

TEST(Hash, HelloRetryRestartUsesMessageHash) {
  // RFC 8446 §4.4.1: Transcript-Hash(ClientHello1, HelloRetryRequest, ...) =
  // Hash(message_hash || 00 00 Hash.length || Hash(ClientHello1) || HelloRetryRequest || ...)
  const std::vector<uint8_t> ch1 = {0x01, 0x00, 0x00, 0x03, 'a', 'b', 'c'};
  Result<Transcript, Error> t = Hash::create(HashAlgo::kSha256);
  ASSERT_TRUE(t);
  ASSERT_TRUE(t->update(ch1));
  ASSERT_TRUE(restart_with_message_hash(&*t));
  ASSERT_TRUE(t->update(bytes_of("hrr")));

  std::vector<uint8_t> expected = {254, 0, 0, 32};
  Result<Digest, Error> inner = hash(HashAlgo::kSha256, ch1);
  expected.insert(expected.end(), inner->view().begin(), inner->view().end());
  expected.insert(expected.end(), {'h', 'r', 'r'});
  EXPECT_EQ(to_hex(t->digest()->view()), to_hex(hash(HashAlgo::kSha256, expected)->view()));
}

// ---- HMAC ---------------------------------------------------------------------------------

TEST(Hmac, Rfc4231TestCase2) {
  const auto key = bytes_of("Jefe");
  const auto data = bytes_of("what do ya want for nothing?");
  EXPECT_EQ(to_hex(hmac(HashAlgo::kSha256, key, data)->view()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(to_hex(hmac(HashAlgo::kSha384, key, data)->view()),
            "af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c7"
            "8b3239ecfab21649");
}

TEST(Hmac, EmptyKeyAndMessage) {
  EXPECT_EQ(to_hex(hmac(HashAlgo::kSha256, {}, {})->view()),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(Hmac, FinishRearmsSameKey) {
  Result<Hmac, Error> h = Hmac::create(HashAlgo::kSha256, bytes_of("Jefe"));
  ASSERT_TRUE(h);
  for (int i = 0; i < 3; i++) {
    ASSERT_TRUE(h->update(bytes_of("what do ya want ")));
    ASSERT_TRUE(h->update(bytes_of("for nothing?")));
    Result<Digest, Error> d = h->finish();
    ASSERT_TRUE(d);
    EXPECT_EQ(to_hex(d->view()), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        << "round " << i;
  }
}

TEST(Hmac, FinishIntoShortBufferFails) {
  Result<Hmac, Error> h = Hmac::create(HashAlgo::kSha384, bytes_of("k"));
  ASSERT_TRUE(h);
  uint8_t small[47];
  Result<void, Error> r = h->finish(small);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Error::kOutputTooSmall);
}

// ---- HKDF ---------------------------------------------------------------------------------

TEST(Hkdf, Rfc5869Vectors) {
  const std::vector<testing::Record> records = read_records("hkdf/rfc5869.txt");
  ASSERT_EQ(records.size(), 3u);
  for (const testing::Record& r : records) {
    const HashAlgo algo = algo_named(r.at("Hash"));
    Result<HashSecret, Error> prk = hkdf_extract(algo, hex(r.at("salt")), hex(r.at("IKM")));
    ASSERT_TRUE(prk);
    EXPECT_EQ(to_hex(prk->view()), r.at("PRK"));
    std::vector<uint8_t> okm(std::stoul(r.at("L")));
    ASSERT_TRUE(hkdf_expand(algo, prk->view(), hex(r.at("info")), okm));
    EXPECT_EQ(to_hex(okm), r.at("OKM"));
  }
}

TEST(Hkdf, ExpandLengthLimits) {
  const std::vector<uint8_t> prk(32, 7);
  std::vector<uint8_t> max(255 * 32);
  EXPECT_TRUE(hkdf_expand(HashAlgo::kSha256, prk, {}, max));
  std::vector<uint8_t> too_long(255 * 32 + 1);
  Result<void, Error> r = hkdf_expand(HashAlgo::kSha256, prk, {}, too_long);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Error::kInvalidArgument);
  std::vector<uint8_t> out(16);
  r = hkdf_expand(HashAlgo::kSha384, prk, {}, out);  // PRK shorter than HashLen
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Error::kInvalidArgument);
  EXPECT_TRUE(hkdf_expand(HashAlgo::kSha256, prk, {}, std::span<uint8_t>()));
}

TEST(Hkdf, ExpandPrefixIsStable) {
  // OKM of length L is a prefix of OKM of any longer length (RFC 5869 §2.3).
  const std::vector<uint8_t> prk(48, 3);
  std::vector<uint8_t> long_out(200);
  std::vector<uint8_t> short_out(49);
  ASSERT_TRUE(hkdf_expand(HashAlgo::kSha384, prk, bytes_of("info"), long_out));
  ASSERT_TRUE(hkdf_expand(HashAlgo::kSha384, prk, bytes_of("info"), short_out));
  EXPECT_EQ(to_hex(short_out), to_hex(std::span(long_out).first(49)));
}

TEST(Hkdf, Rfc8448KeySchedule) {
  const std::vector<testing::Record> records = read_records("hkdf/rfc8448.txt");
  ASSERT_GE(records.size(), 11u);
  for (const testing::Record& r : records) {
    const std::string& op = r.at("op");
    const std::vector<uint8_t> want = hex(r.at("out"));
    std::vector<uint8_t> got(want.size());
    if (op == "extract") {
      Result<HashSecret, Error> s =
          hkdf_extract(HashAlgo::kSha256, hex(r.at("salt")), hex(r.at("ikm")));
      ASSERT_TRUE(s);
      got.assign(s->view().begin(), s->view().end());
    } else if (op == "derive_secret") {
      Result<HashSecret, Error> s = derive_secret(HashAlgo::kSha256, hex(r.at("secret")),
                                                  r.at("label"), hex(r.at("context")));
      ASSERT_TRUE(s);
      got.assign(s->view().begin(), s->view().end());
      // The same from a keyed HMAC, twice: it is rearmed after each derivation.
      Result<Hmac, Error> prk = Hmac::create(HashAlgo::kSha256, hex(r.at("secret")));
      ASSERT_TRUE(prk);
      for (int i = 0; i < 2; i++) {
        Result<HashSecret, Error> k = derive_secret(*prk, r.at("label"), hex(r.at("context")));
        ASSERT_TRUE(k);
        EXPECT_EQ(to_hex(k->view()), r.at("out")) << "keyed, call " << i;
      }
    } else {
      ASSERT_EQ(op, "expand_label");
      ASSERT_TRUE(hkdf_expand_label(HashAlgo::kSha256, hex(r.at("secret")), r.at("label"),
                                    hex(r.at("context")), got));
      Result<Hmac, Error> prk = Hmac::create(HashAlgo::kSha256, hex(r.at("secret")));
      ASSERT_TRUE(prk);
      for (int i = 0; i < 2; i++) {
        std::vector<uint8_t> keyed(want.size());
        ASSERT_TRUE(hkdf_expand_label(*prk, r.at("label"), hex(r.at("context")), keyed));
        EXPECT_EQ(keyed, got) << "keyed, call " << i;
      }
    }
    EXPECT_EQ(to_hex(got), r.at("out")) << op << " " << (r.count("label") ? r.at("label") : "");
  }
}

TEST(Hkdf, ExpandLabelRejectsOversizedFields) {
  const std::vector<uint8_t> secret(32, 1);
  std::vector<uint8_t> out(32);
  const std::string label_250(250, 'x');  // "tls13 " + 250 = 256 > 255
  Result<void, Error> r = hkdf_expand_label(HashAlgo::kSha256, secret, label_250, {}, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Error::kInvalidArgument);
  const std::string label_249(249, 'x');
  EXPECT_TRUE(hkdf_expand_label(HashAlgo::kSha256, secret, label_249, {}, out));
  const std::vector<uint8_t> context(256, 0);
  r = hkdf_expand_label(HashAlgo::kSha256, secret, "key", context, out);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), Error::kInvalidArgument);
  // The keyed form refuses the same, and an output longer than 255 blocks.
  Result<Hmac, Error> prk = Hmac::create(HashAlgo::kSha256, secret);
  ASSERT_TRUE(prk);
  EXPECT_FALSE(hkdf_expand_label(*prk, label_250, {}, out));
  EXPECT_FALSE(hkdf_expand_label(*prk, "key", context, out));
  std::vector<uint8_t> huge(255 * 32 + 1);
  EXPECT_FALSE(hkdf_expand_label(*prk, "key", {}, huge));
  EXPECT_TRUE(hkdf_expand_label(*prk, label_249, {}, out));
}

TEST(Hkdf, KeyedExpandLabelMatchesOverSeveralBlocks) {
  // Traffic keys need one block; an exporter may ask for more: T(1) | T(2) | ... chain
  // through the same keyed HMAC.
  const std::vector<uint8_t> secret(48, 7);
  for (HashAlgo algo : {HashAlgo::kSha256, HashAlgo::kSha384}) {
    Result<Hmac, Error> prk = Hmac::create(algo, secret);
    ASSERT_TRUE(prk);
    for (size_t len : {size_t{1}, size_t{12}, size_t{48}, size_t{100}, size_t{1000}}) {
      std::vector<uint8_t> plain(len), keyed(len);
      ASSERT_TRUE(hkdf_expand_label(algo, secret, "exporter", secret, plain));
      ASSERT_TRUE(hkdf_expand_label(*prk, "exporter", secret, keyed));
      EXPECT_EQ(keyed, plain) << len;
    }
  }
}

// ---- TLS 1.2 PRF --------------------------------------------------------------------------

TEST(Tls12Prf, KnownAnswers) {
  const std::vector<testing::Record> records = read_records("prf/tls12_prf.txt");
  ASSERT_EQ(records.size(), 4u);
  for (const testing::Record& r : records) {
    const HashAlgo algo = algo_named(r.at("Hash"));
    std::vector<uint8_t> out(hex(r.at("out")).size());
    ASSERT_TRUE(tls12_prf(algo, hex(r.at("secret")), r.at("label"), hex(r.at("seed")), out));
    EXPECT_EQ(to_hex(out), r.at("out")) << r.at("Hash") << " " << r.at("label");
  }
}

TEST(Tls12Prf, ExtendedMasterSecretMatchesRfc7627Records) {
  // RFC 7627 §4: master_secret = PRF(pre_master_secret, "extended master secret",
  // session_hash)[0..47].
  int checked = 0;
  for (const testing::Record& r : read_records("prf/tls12_prf.txt")) {
    if (r.at("label") != "extended master secret") {
      continue;
    }
    Result<MasterSecret, Error> ms = tls12_extended_master_secret(
        algo_named(r.at("Hash")), hex(r.at("secret")), hex(r.at("seed")));
    ASSERT_TRUE(ms);
    EXPECT_EQ(ms->size(), kTls12MasterSecretLen);
    EXPECT_EQ(to_hex(ms->view()), r.at("out"));
    checked++;
  }
  EXPECT_EQ(checked, 2);
}

TEST(Tls12Prf, SplitSeedEqualsConcatenatedSeed) {
  const std::vector<testing::Record> records = read_records("prf/tls12_prf.txt");
  const testing::Record& r = records.front();
  const std::vector<uint8_t> seed = hex(r.at("seed"));
  std::vector<uint8_t> out(100);
  ASSERT_TRUE(tls12_prf(HashAlgo::kSha256, hex(r.at("secret")), r.at("label"),
                        std::span(seed).first(5), std::span(seed).subspan(5), out));
  EXPECT_EQ(to_hex(out), r.at("out"));
}

}  // namespace
}  // namespace linetls::crypto
