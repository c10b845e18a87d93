#include "lib/crypto/sig.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <map>
#include <string>
#include <vector>

#include "tests/unit/crypto/test_util.h"

namespace linetls::crypto {
namespace {

using testing::bytes_of;
using testing::hex;
using testing::to_hex;
using testing::vector_path;

constexpr SignatureScheme kAllSchemes[] = {
    SignatureScheme::kEcdsaSecp256r1Sha256,
    SignatureScheme::kEcdsaSecp384r1Sha384,
    SignatureScheme::kRsaPssRsaeSha256,
    SignatureScheme::kRsaPssRsaeSha384,
    SignatureScheme::kRsaPssRsaeSha512,
    SignatureScheme::kRsaPkcs1Sha256,
    SignatureScheme::kRsaPkcs1Sha384,
    SignatureScheme::kRsaPkcs1Sha512,
    SignatureScheme::kEd25519,
};

PrivateKey load_key(const char* name) {
  Result<PrivateKey, Error> key =
      PrivateKey::load_pem_file(vector_path(std::string("certs/") + name));
  EXPECT_TRUE(key) << name << ": " << (key ? "" : to_string(key.error()));
  return std::move(*key);
}

// The test key file for the key type that can make scheme.
const char* key_file_for(SignatureScheme scheme) {
  switch (scheme) {
    case SignatureScheme::kEcdsaSecp256r1Sha256:
      return "ecdsa256.key";
    case SignatureScheme::kEcdsaSecp384r1Sha384:
      return "ecdsa384.key";
    case SignatureScheme::kEd25519:
      return "ed25519.key";
    default:
      return "rsa2048.key";
  }
}

std::vector<uint8_t> sign_ok(const PrivateKey& key, SignatureScheme scheme,
                             std::span<const uint8_t> msg) {
  std::vector<uint8_t> sig(key.max_signature_len());
  Result<size_t, Error> n = sign(key, scheme, msg, sig);
  EXPECT_TRUE(n) << to_string(scheme) << ": " << (n ? "" : to_string(n.error()));
  sig.resize(n ? *n : 0);
  return sig;
}

Error verify_error(const PublicKey& key, SignatureScheme scheme, std::span<const uint8_t> msg,
                   std::span<const uint8_t> sig) {
  Result<void, Error> r = verify(key, scheme, msg, sig);
  EXPECT_FALSE(r) << to_string(scheme);
  return r ? Error::kInternal : r.error();
}

TEST(Sig, SchemeCodes) {
  for (SignatureScheme s : kAllSchemes) {
    EXPECT_EQ(signature_scheme_from_code(static_cast<uint16_t>(s)), s);
    EXPECT_NE(to_string(s), "unknown");
  }
  EXPECT_FALSE(signature_scheme_from_code(0x0201));  // rsa_pkcs1_sha1
  EXPECT_FALSE(signature_scheme_from_code(0x0603));  // ecdsa_secp521r1_sha512
  EXPECT_FALSE(signature_scheme_from_code(0x0809));  // rsa_pss_pss_sha256
  EXPECT_EQ(static_cast<uint16_t>(SignatureScheme::kRsaPssRsaeSha384), 0x0805);
  EXPECT_FALSE(scheme_allowed(SignatureScheme::kRsaPkcs1Sha256, TlsVersion::kTls13));
  EXPECT_TRUE(scheme_allowed(SignatureScheme::kRsaPkcs1Sha256, TlsVersion::kTls12));
  EXPECT_TRUE(scheme_allowed(SignatureScheme::kEd25519, TlsVersion::kTls13));
}

TEST(Sig, SignAndVerifyEveryScheme) {
  const auto msg = bytes_of("TLS 1.3, server CertificateVerify\0 transcript hash here");
  for (SignatureScheme scheme : kAllSchemes) {
    SCOPED_TRACE(std::string(to_string(scheme)));
    PrivateKey key = load_key(key_file_for(scheme));
    EXPECT_TRUE(key_supports_scheme(key.type(), scheme));
    const std::vector<uint8_t> sig = sign_ok(key, scheme, msg);
    ASSERT_FALSE(sig.empty());
    PublicKey pub = key.public_key();
    EXPECT_TRUE(verify(pub, scheme, msg, sig));

    // Modified message.
    std::vector<uint8_t> other(msg.begin(), msg.end());
    other[3] ^= 0x20;
    EXPECT_EQ(verify_error(pub, scheme, other, sig), Error::kBadSignature);
    // Truncated, extended, flipped and empty signatures.
    EXPECT_EQ(verify_error(pub, scheme, msg, std::span(sig).first(sig.size() - 1)),
              Error::kBadSignature);
    std::vector<uint8_t> longer = sig;
    longer.push_back(0);
    EXPECT_EQ(verify_error(pub, scheme, msg, longer), Error::kBadSignature);
    std::vector<uint8_t> flipped = sig;
    flipped[flipped.size() / 2] ^= 1;
    EXPECT_EQ(verify_error(pub, scheme, msg, flipped), Error::kBadSignature);
    EXPECT_EQ(verify_error(pub, scheme, msg, {}), Error::kBadSignature);
    // Empty messages sign and verify too.
    const std::vector<uint8_t> empty_sig = sign_ok(key, scheme, {});
    EXPECT_TRUE(verify(pub, scheme, {}, empty_sig));
  }
}

TEST(Sig, WrongKeyFails) {
  const auto msg = bytes_of("message");
  // One freshly generated key per type (RSA generation is slow).
  std::map<KeyType, PrivateKey> others;
  for (SignatureScheme scheme : kAllSchemes) {
    SCOPED_TRACE(std::string(to_string(scheme)));
    PrivateKey key = load_key(key_file_for(scheme));
    if (others.count(key.type()) == 0) {
      Result<PrivateKey, Error> other = PrivateKey::generate(key.type());
      ASSERT_TRUE(other);
      others.emplace(key.type(), std::move(*other));
    }
    const std::vector<uint8_t> sig = sign_ok(key, scheme, msg);
    EXPECT_EQ(verify_error(others.at(key.type()).public_key(), scheme, msg, sig),
              Error::kBadSignature);
  }
}

TEST(Sig, KeyThatCannotMakeTheSchemeIsRefused) {
  const auto msg = bytes_of("message");
  PrivateKey p256 = load_key("ecdsa256.key");
  PrivateKey rsa = load_key("rsa2048.key");
  PrivateKey ed = load_key("ed25519.key");
  std::vector<uint8_t> sig(1024);
  for (auto [key, scheme] : {std::pair{&p256, SignatureScheme::kEcdsaSecp384r1Sha384},
                             std::pair{&p256, SignatureScheme::kRsaPssRsaeSha256},
                             std::pair{&rsa, SignatureScheme::kEcdsaSecp256r1Sha256},
                             std::pair{&rsa, SignatureScheme::kEd25519},
                             std::pair{&ed, SignatureScheme::kRsaPkcs1Sha256}}) {
    Result<size_t, Error> n = sign(*key, scheme, msg, sig);
    ASSERT_FALSE(n) << to_string(scheme);
    EXPECT_EQ(n.error(), Error::kSchemeKeyMismatch);
    EXPECT_EQ(verify_error(key->public_key(), scheme, msg, sig), Error::kSchemeKeyMismatch);
  }
}

TEST(Sig, OutputTooSmall) {
  PrivateKey key = load_key("ecdsa256.key");
  std::vector<uint8_t> sig(key.max_signature_len() - 1);
  Result<size_t, Error> n = sign(key, SignatureScheme::kEcdsaSecp256r1Sha256, bytes_of("m"), sig);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error(), Error::kOutputTooSmall);
}

TEST(Sig, EcdsaSignatureIsDer) {
  for (const char* file : {"ecdsa256.key", "ecdsa384.key"}) {
    PrivateKey key = load_key(file);
    const SignatureScheme scheme = schemes_for_key(key.type(), TlsVersion::kTls13).items[0];
    const std::vector<uint8_t> sig = sign_ok(key, scheme, bytes_of("m"));
    // ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }, short-form length here.
    ASSERT_GE(sig.size(), 8u);
    EXPECT_EQ(sig[0], 0x30);
    EXPECT_EQ(sig[1], sig.size() - 2);
    EXPECT_EQ(sig[2], 0x02);
  }
}

TEST(Sig, Ed25519Rfc8032Test1) {
  const std::vector<uint8_t> seed =
      hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60");
  Result<PrivateKey, Error> key = PrivateKey::adopt(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()));
  ASSERT_TRUE(key);
  EXPECT_EQ(key->type(), KeyType::kEd25519);
  const std::vector<uint8_t> sig = sign_ok(*key, SignatureScheme::kEd25519, {});
  EXPECT_EQ(to_hex(sig),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39"
            "701cf9b46bd25bf5f0595bbe24655141438e7a100b");
}

// Signs with raw libcrypto using RSA-PSS with the given salt length.
std::vector<uint8_t> raw_pss_sign(const PrivateKey& key, const EVP_MD* md, int salt_len,
                                  std::span<const uint8_t> msg) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  std::vector<uint8_t> sig(key.max_signature_len());
  size_t len = sig.size();
  EXPECT_EQ(EVP_DigestSignInit(ctx, &pctx, md, nullptr, key.native()), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_len), 1);
  EXPECT_EQ(EVP_DigestSign(ctx, sig.data(), &len, msg.data(), msg.size()), 1);
  EVP_MD_CTX_free(ctx);
  sig.resize(len);
  return sig;
}

// Verifies with raw libcrypto, demanding the given RSA-PSS salt length.
bool raw_pss_verify(const PublicKey& key, const EVP_MD* md, int salt_len,
                    std::span<const uint8_t> msg, std::span<const uint8_t> sig) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EXPECT_EQ(EVP_DigestVerifyInit(ctx, &pctx, md, nullptr, key.native()), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING), 1);
  EXPECT_EQ(EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, salt_len), 1);
  const bool ok = EVP_DigestVerify(ctx, sig.data(), sig.size(), msg.data(), msg.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

TEST(Sig, RsaPssSaltLengthIsTheHashLength) {
  PrivateKey key = load_key("rsa2048.key");
  PublicKey pub = key.public_key();
  const auto msg = bytes_of("pss");
  struct Case {
    SignatureScheme scheme;
    const EVP_MD* md;
    int hash_len;
  };
  for (const Case& c : {Case{SignatureScheme::kRsaPssRsaeSha256, EVP_sha256(), 32},
                        Case{SignatureScheme::kRsaPssRsaeSha384, EVP_sha384(), 48},
                        Case{SignatureScheme::kRsaPssRsaeSha512, EVP_sha512(), 64}}) {
    SCOPED_TRACE(std::string(to_string(c.scheme)));
    // Ours signs with salt = hash length: libcrypto accepts it only when told exactly that.
    const std::vector<uint8_t> ours = sign_ok(key, c.scheme, msg);
    EXPECT_TRUE(raw_pss_verify(pub, c.md, c.hash_len, msg, ours));
    EXPECT_FALSE(raw_pss_verify(pub, c.md, c.hash_len - 1, msg, ours));
    // Ours accepts a hash-length salt and refuses any other.
    EXPECT_TRUE(verify(pub, c.scheme, msg, raw_pss_sign(key, c.md, c.hash_len, msg)));
    EXPECT_EQ(verify_error(pub, c.scheme, msg, raw_pss_sign(key, c.md, 20, msg)),
              Error::kBadSignature);
    EXPECT_EQ(verify_error(pub, c.scheme, msg, raw_pss_sign(key, c.md, 0, msg)),
              Error::kBadSignature);
  }
}

TEST(Sig, PssAndPkcs1AreNotInterchangeable) {
  PrivateKey key = load_key("rsa2048.key");
  const auto msg = bytes_of("m");
  const std::vector<uint8_t> pss = sign_ok(key, SignatureScheme::kRsaPssRsaeSha256, msg);
  const std::vector<uint8_t> pkcs1 = sign_ok(key, SignatureScheme::kRsaPkcs1Sha256, msg);
  EXPECT_EQ(verify_error(key.public_key(), SignatureScheme::kRsaPkcs1Sha256, msg, pss),
            Error::kBadSignature);
  EXPECT_EQ(verify_error(key.public_key(), SignatureScheme::kRsaPssRsaeSha256, msg, pkcs1),
            Error::kBadSignature);
  EXPECT_EQ(verify_error(key.public_key(), SignatureScheme::kRsaPssRsaeSha384, msg, pss),
            Error::kBadSignature);
}

TEST(Sig, SchemesForKey) {
  auto codes = [](KeyType t, TlsVersion v) {
    std::vector<uint16_t> out;
    const SchemeList list = schemes_for_key(t, v);
    for (SignatureScheme s : list.view()) {
      out.push_back(static_cast<uint16_t>(s));
    }
    return out;
  };
  EXPECT_EQ(codes(KeyType::kRsa, TlsVersion::kTls13),
            (std::vector<uint16_t>{0x0804, 0x0805, 0x0806}));
  EXPECT_EQ(codes(KeyType::kRsa, TlsVersion::kTls12),
            (std::vector<uint16_t>{0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601}));
  EXPECT_EQ(codes(KeyType::kEcdsaP256, TlsVersion::kTls13), (std::vector<uint16_t>{0x0403}));
  EXPECT_EQ(codes(KeyType::kEcdsaP384, TlsVersion::kTls12), (std::vector<uint16_t>{0x0503}));
  EXPECT_EQ(codes(KeyType::kEd25519, TlsVersion::kTls13), (std::vector<uint16_t>{0x0807}));
}

TEST(Sig, ChooseSchemeFollowsOurPreference) {
  PrivateKey rsa = load_key("rsa2048.key");
  PrivateKey p256 = load_key("ecdsa256.key");
  auto choose = [](const PrivateKey& k, std::vector<uint16_t> peer, TlsVersion v) {
    return choose_scheme(k, peer, v);
  };
  // Peer order does not matter; ours does. Unknown codes are skipped.
  Result<SignatureScheme, Error> s =
      choose(rsa, {0xfe00, 0x0401, 0x0806, 0x0804}, TlsVersion::kTls13);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, SignatureScheme::kRsaPssRsaeSha256);
  s = choose(rsa, {0x0601, 0x0401}, TlsVersion::kTls12);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, SignatureScheme::kRsaPkcs1Sha256);
  s = choose(rsa, {0x0401, 0x0403}, TlsVersion::kTls13);  // PKCS#1 is not for TLS 1.3
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), Error::kNoCommonScheme);
  s = choose(p256, {0x0503, 0x0807}, TlsVersion::kTls13);  // wrong curve
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error(), Error::kNoCommonScheme);
  s = choose(p256, {0x0503, 0x0403}, TlsVersion::kTls13);
  ASSERT_TRUE(s);
  EXPECT_EQ(*s, SignatureScheme::kEcdsaSecp256r1Sha256);
  s = choose(p256, {}, TlsVersion::kTls12);
  ASSERT_FALSE(s);
}

}  // namespace
}  // namespace linetls::crypto
