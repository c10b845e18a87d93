#include "lib/crypto/kx.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/crypto/test_util.h"

namespace linetls::crypto {
namespace {

using testing::hex;
using testing::to_hex;

constexpr NamedGroup kAllGroups[] = {NamedGroup::kX25519, NamedGroup::kSecp256r1,
                                     NamedGroup::kSecp384r1};

KeyShare make(NamedGroup group, const std::string& priv_hex) {
  Result<KeyShare, Error> ks = KeyShare::from_private(group, hex(priv_hex));
  EXPECT_TRUE(ks) << priv_hex;
  return std::move(*ks);
}

Error derive_error(const KeyShare& ks, const std::vector<uint8_t>& peer) {
  Result<SharedSecret, Error> s = ks.derive(peer);
  EXPECT_FALSE(s) << to_hex(peer);
  return s ? Error::kInternal : s.error();
}

TEST(Kx, GroupCodes) {
  EXPECT_EQ(named_group_from_code(0x001d), NamedGroup::kX25519);
  EXPECT_EQ(named_group_from_code(0x0017), NamedGroup::kSecp256r1);
  EXPECT_EQ(named_group_from_code(0x0018), NamedGroup::kSecp384r1);
  EXPECT_FALSE(named_group_from_code(0x0019));  // secp521r1: not ours
  EXPECT_FALSE(named_group_from_code(0x001e));  // x448
  EXPECT_EQ(public_key_len(NamedGroup::kX25519), 32u);
  EXPECT_EQ(public_key_len(NamedGroup::kSecp256r1), 65u);
  EXPECT_EQ(public_key_len(NamedGroup::kSecp384r1), 97u);
}

TEST(Kx, BothSidesAgreeForEveryGroup) {
  for (NamedGroup group : kAllGroups) {
    Result<KeyShare, Error> a = KeyShare::generate(group, os_rng());
    Result<KeyShare, Error> b = KeyShare::generate(group, os_rng());
    ASSERT_TRUE(a);
    ASSERT_TRUE(b);
    EXPECT_EQ(a->group(), group);
    ASSERT_EQ(a->public_key().size(), public_key_len(group));
    if (group != NamedGroup::kX25519) {
      EXPECT_EQ(a->public_key()[0], 0x04);
    }
    EXPECT_NE(to_hex(a->public_key()), to_hex(b->public_key()));
    Result<SharedSecret, Error> ab = a->derive(b->public_key());
    Result<SharedSecret, Error> ba = b->derive(a->public_key());
    ASSERT_TRUE(ab);
    ASSERT_TRUE(ba);
    EXPECT_EQ(ab->size(), group == NamedGroup::kSecp384r1 ? 48u : 32u);
    EXPECT_TRUE(*ab == *ba);
  }
}

TEST(Kx, X25519Rfc7748Section6_1) {
  KeyShare alice =
      make(NamedGroup::kX25519, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  KeyShare bob =
      make(NamedGroup::kX25519, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  EXPECT_EQ(to_hex(alice.public_key()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(to_hex(bob.public_key()),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const std::string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  EXPECT_EQ(to_hex(alice.derive(bob.public_key())->view()), shared);
  EXPECT_EQ(to_hex(bob.derive(alice.public_key())->view()), shared);
}

TEST(Kx, X25519Rfc8448Section3) {
  KeyShare client =
      make(NamedGroup::kX25519, "49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005");
  EXPECT_EQ(to_hex(client.public_key()),
            "99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c");
  Result<SharedSecret, Error> s =
      client.derive(hex("c9828876112095fe66762bdbf7c672e156d6cc253b833df1dd69b1b04e751f0f"));
  ASSERT_TRUE(s);
  EXPECT_EQ(to_hex(s->view()), "8bd4054fb55b9d63fdfbacf9f04b9f0d35e6d63f537563efd46272900f89492d");
}

TEST(Kx, P256Rfc5903Section8_1) {
  KeyShare i = make(NamedGroup::kSecp256r1,
                    "c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433");
  EXPECT_EQ(to_hex(i.public_key()),
            "04dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3772581180"
            "5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3");
  Result<SharedSecret, Error> s =
      i.derive(hex("04d12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf63"
                   "56fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab"));
  ASSERT_TRUE(s);
  EXPECT_EQ(to_hex(s->view()), "d6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de");
}

TEST(Kx, P384Rfc5903Section8_2) {
  KeyShare i = make(NamedGroup::kSecp384r1,
                    "099f3c7034d4a2c699884d73a375a67f7624ef7c6b3c0f160647b67414dce655"
                    "e35b538041e649ee3faef896783ab194");
  Result<SharedSecret, Error> s =
      i.derive(hex("04e558dbef53eecde3d3fccfc1aea08a89a987475d12fd950d83cfa41732bc509d"
                   "0d1ac43a0336def96fda41d0774a3571"
                   "dcfbec7aacf3196472169e838430367f66eebe3c6e70c416dd5f0c68759dd1ff"
                   "f83fa40142209dff5eaad96db9e6386c"));
  ASSERT_TRUE(s);
  EXPECT_EQ(to_hex(s->view()),
            "11187331c279962d93d604243fd592cb9d0a926f422e47187521287e7156c5c4"
            "d603135569b9e9d09cf5d4a270f59746");
}

// An X25519 KeyShare keeps one derive context for all its derive() calls: every call must
// use the peer it is given, and a refused peer must not spoil the next call.
TEST(Kx, X25519DerivesAgainWithOtherPeers) {
  KeyShare alice =
      make(NamedGroup::kX25519, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  KeyShare bob =
      make(NamedGroup::kX25519, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  KeyShare carol = make(NamedGroup::kX25519,
                        "49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005");
  const std::string alice_bob = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  EXPECT_EQ(to_hex(alice.derive(bob.public_key())->view()), alice_bob);
  EXPECT_EQ(derive_error(alice, std::vector<uint8_t>(32, 0)), Error::kLowOrderPoint);
  Result<SharedSecret, Error> ac = alice.derive(carol.public_key());
  ASSERT_TRUE(ac);
  EXPECT_EQ(to_hex(ac->view()), to_hex(carol.derive(alice.public_key())->view()));
  EXPECT_NE(to_hex(ac->view()), alice_bob);
  EXPECT_EQ(to_hex(alice.derive(bob.public_key())->view()), alice_bob);
  // A moved KeyShare keeps its context.
  KeyShare moved = std::move(alice);
  EXPECT_EQ(to_hex(moved.derive(bob.public_key())->view()), alice_bob);
}

TEST(Kx, X25519RejectsWrongLengths) {
  Result<KeyShare, Error> ks = KeyShare::generate(NamedGroup::kX25519, os_rng());
  ASSERT_TRUE(ks);
  for (size_t len : {0, 1, 31, 33, 65}) {
    EXPECT_EQ(derive_error(*ks, std::vector<uint8_t>(len, 9)), Error::kBadPublicKeyLength) << len;
  }
}

TEST(Kx, X25519RejectsLowOrderPoints) {
  Result<KeyShare, Error> ks = KeyShare::generate(NamedGroup::kX25519, os_rng());
  ASSERT_TRUE(ks);
  // u = 0, u = 1, a point of order 8, u = p - 1 (order 2), u = p (= 0), u = p + 1 (= 1).
  const char* kLowOrder[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  };
  for (const char* u : kLowOrder) {
    EXPECT_EQ(derive_error(*ks, hex(u)), Error::kLowOrderPoint) << u;
  }
}

TEST(Kx, NistRejectsBadEncodings) {
  for (NamedGroup group : {NamedGroup::kSecp256r1, NamedGroup::kSecp384r1}) {
    Result<KeyShare, Error> ks = KeyShare::generate(group, os_rng());
    Result<KeyShare, Error> peer = KeyShare::generate(group, os_rng());
    ASSERT_TRUE(ks);
    ASSERT_TRUE(peer);
    const std::vector<uint8_t> good(peer->public_key().begin(), peer->public_key().end());
    const size_t coord = (good.size() - 1) / 2;
    SCOPED_TRACE(static_cast<int>(group));

    EXPECT_EQ(derive_error(*ks, {}), Error::kBadPublicKeyLength);
    EXPECT_EQ(derive_error(*ks, {0x00}), Error::kPointAtInfinity);

    std::vector<uint8_t> compressed(good.begin(), good.begin() + 1 + coord);
    compressed[0] = static_cast<uint8_t>(0x02 | (good.back() & 1));
    EXPECT_EQ(derive_error(*ks, compressed), Error::kCompressedPoint);

    std::vector<uint8_t> hybrid = good;
    hybrid[0] = 0x06;
    EXPECT_EQ(derive_error(*ks, hybrid), Error::kBadPointFormat);

    std::vector<uint8_t> short_point(good.begin(), good.end() - 1);
    EXPECT_EQ(derive_error(*ks, short_point), Error::kBadPublicKeyLength);
    std::vector<uint8_t> long_point = good;
    long_point.push_back(0);
    EXPECT_EQ(derive_error(*ks, long_point), Error::kBadPublicKeyLength);

    std::vector<uint8_t> off_curve = good;
    off_curve.back() ^= 1;  // y + 1 or y - 1: no longer satisfies the curve equation
    EXPECT_EQ(derive_error(*ks, off_curve), Error::kPointNotOnCurve);

    std::vector<uint8_t> zeros(good.size(), 0);
    zeros[0] = 0x04;  // (0, 0) is not on either curve
    EXPECT_EQ(derive_error(*ks, zeros), Error::kPointNotOnCurve);

    std::vector<uint8_t> too_big = good;  // x = 2^k - 1 > p
    std::fill(too_big.begin() + 1, too_big.begin() + 1 + coord, 0xff);
    EXPECT_EQ(derive_error(*ks, too_big), Error::kPointNotOnCurve);

    EXPECT_TRUE(ks->derive(good));
  }
}

TEST(Kx, FromPrivateRejectsBadScalars) {
  const std::string p256_order = "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551";
  const std::string p256_order_minus_1 =
      "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632550";
  auto err = [](NamedGroup g, const std::vector<uint8_t>& priv) {
    Result<KeyShare, Error> ks = KeyShare::from_private(g, priv);
    EXPECT_FALSE(ks);
    return ks ? Error::kInternal : ks.error();
  };
  EXPECT_EQ(err(NamedGroup::kSecp256r1, std::vector<uint8_t>(32, 0)), Error::kBadPrivateKey);
  EXPECT_EQ(err(NamedGroup::kSecp256r1, hex(p256_order)), Error::kBadPrivateKey);
  EXPECT_EQ(err(NamedGroup::kSecp256r1, std::vector<uint8_t>(32, 0xff)), Error::kBadPrivateKey);
  EXPECT_EQ(err(NamedGroup::kSecp256r1, std::vector<uint8_t>(31, 1)), Error::kBadPrivateKey);
  EXPECT_EQ(err(NamedGroup::kSecp384r1, std::vector<uint8_t>(32, 1)), Error::kBadPrivateKey);
  EXPECT_EQ(err(NamedGroup::kX25519, std::vector<uint8_t>(31, 1)), Error::kBadPrivateKey);
  EXPECT_TRUE(KeyShare::from_private(NamedGroup::kSecp256r1, hex(p256_order_minus_1)));
  std::vector<uint8_t> one(32, 0);
  one.back() = 1;
  Result<KeyShare, Error> g = KeyShare::from_private(NamedGroup::kSecp256r1, one);
  ASSERT_TRUE(g);  // the public key of scalar 1 is the generator
  EXPECT_EQ(to_hex(g->public_key()),
            "046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296"
            "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5");
}

TEST(Kx, GenerateUsesTheInjectedRng) {
  const std::vector<uint8_t> priv =
      hex("49af42ba7f7994852d713ef2784bcbcaa7911de26adc5642cb634540e7ea5005");
  ScriptedRng rng(priv);
  Result<KeyShare, Error> ks = KeyShare::generate(NamedGroup::kX25519, rng);
  ASSERT_TRUE(ks);
  EXPECT_EQ(to_hex(ks->public_key()),
            "99381de560e4bd43d23d8e435a7dbafeb3c06e51c13cae4d5413691e529aaf2c");
  EXPECT_EQ(rng.remaining(), 0u);
  Result<KeyShare, Error> again = KeyShare::generate(NamedGroup::kX25519, rng);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error(), Error::kRngExhausted);
}

TEST(Kx, GenerateRedrawsOutOfRangeNistScalars) {
  // First draw is zero (invalid), the second all-ones (>= n, invalid), the third is 1.
  ScriptedRng rng(std::vector<uint8_t>(32, 0));
  rng.append(std::vector<uint8_t>(32, 0xff));
  std::vector<uint8_t> one(32, 0);
  one.back() = 1;
  rng.append(one);
  Result<KeyShare, Error> ks = KeyShare::generate(NamedGroup::kSecp256r1, rng);
  ASSERT_TRUE(ks);
  EXPECT_EQ(rng.remaining(), 0u);
  EXPECT_EQ(to_hex(ks->public_key()).substr(0, 10), "046b17d1f2");
}

TEST(Kx, SeededRngIsReproducible) {
  for (NamedGroup group : kAllGroups) {
    SeededRng a(1234);
    SeededRng b(1234);
    Result<KeyShare, Error> ka = KeyShare::generate(group, a);
    Result<KeyShare, Error> kb = KeyShare::generate(group, b);
    ASSERT_TRUE(ka);
    ASSERT_TRUE(kb);
    EXPECT_EQ(to_hex(ka->public_key()), to_hex(kb->public_key()));
  }
}

}  // namespace
}  // namespace linetls::crypto
