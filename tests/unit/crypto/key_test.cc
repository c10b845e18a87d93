#include "lib/crypto/key.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include <set>
#include <string>
#include <vector>

#include "lib/crypto/error.h"
#include "tests/unit/crypto/test_util.h"

namespace linetls::crypto {
namespace {

using testing::bytes_of;
using testing::read_text;
using testing::vector_path;

constexpr const char* kPassword = "linetls-test";

Error load_error(const char* file, std::string_view password = {}) {
  Result<PrivateKey, Error> key =
      PrivateKey::load_pem_file(vector_path(std::string("certs/") + file), password);
  EXPECT_FALSE(key) << file;
  return key ? Error::kInternal : key.error();
}

TEST(Key, LoadsEveryTypeWeSupport) {
  struct Case {
    const char* file;
    KeyType type;
    size_t bits;
  };
  for (const Case& c :
       {Case{"rsa2048.key", KeyType::kRsa, 2048}, Case{"ecdsa256.key", KeyType::kEcdsaP256, 256},
        Case{"ecdsa384.key", KeyType::kEcdsaP384, 384}, Case{"ed25519.key", KeyType::kEd25519, 256},
        Case{"client_ca.key", KeyType::kRsa, 2048}}) {
    Result<PrivateKey, Error> key =
        PrivateKey::load_pem_file(vector_path(std::string("certs/") + c.file));
    ASSERT_TRUE(key) << c.file << ": " << to_string(key.error());
    EXPECT_EQ(key->type(), c.type) << c.file;
    EXPECT_EQ(key->bits(), c.bits) << c.file;
    EXPECT_EQ(key->public_key().type(), c.type);
  }
}

TEST(Key, EncryptedKeysNeedTheRightPassword) {
  for (const char* file : {"ecdsa256_enc_pkcs8.key", "rsa2048_enc_legacy.key"}) {
    SCOPED_TRACE(file);
    Result<PrivateKey, Error> key =
        PrivateKey::load_pem_file(vector_path(std::string("certs/") + file), kPassword);
    ASSERT_TRUE(key) << to_string(key.error());
    EXPECT_EQ(load_error(file), Error::kKeyPasswordRequired);
    EXPECT_EQ(load_error(file, "wrong-password"), Error::kWrongPassword);
  }
}

TEST(Key, DecryptedKeyEqualsThePlainOne) {
  Result<PrivateKey, Error> enc =
      PrivateKey::load_pem_file(vector_path("certs/ecdsa256_enc_pkcs8.key"), kPassword);
  Result<PrivateKey, Error> plain = PrivateKey::load_pem_file(vector_path("certs/ecdsa256.key"));
  ASSERT_TRUE(enc);
  ASSERT_TRUE(plain);
  EXPECT_EQ(EVP_PKEY_eq(enc->native(), plain->native()), 1);
}

TEST(Key, PasswordIsIgnoredForPlainKeys) {
  EXPECT_TRUE(PrivateKey::load_pem_file(vector_path("certs/ecdsa256.key"), "unused"));
}

TEST(Key, RejectsUnusableKeys) {
  EXPECT_EQ(load_error("rsa1024.key"), Error::kKeyTooSmall);
  EXPECT_EQ(load_error("p521.key"), Error::kUnsupportedKeyType);
  EXPECT_EQ(load_error("ecdsa256.pem"), Error::kMalformedKey);  // a certificate, not a key
  EXPECT_EQ(load_error("nocert.pem"), Error::kMalformedKey);
  EXPECT_EQ(load_error("does-not-exist.key"), Error::kFileOpenFailed);
  Result<PrivateKey, Error> dir = PrivateKey::load_pem_file(vector_path("certs"));
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error(), Error::kFileReadFailed);
}

TEST(Key, TruncatedPemIsMalformed) {
  std::string pem = read_text(vector_path("certs/ecdsa256.key"));
  pem.resize(pem.size() / 2);
  Result<PrivateKey, Error> key = PrivateKey::from_pem(bytes_of(pem));
  ASSERT_FALSE(key);
  EXPECT_EQ(key.error(), Error::kMalformedKey);
}

TEST(Key, GenerateEveryType) {
  for (KeyType t : {KeyType::kEcdsaP256, KeyType::kEcdsaP384, KeyType::kEd25519}) {
    Result<PrivateKey, Error> key = PrivateKey::generate(t);
    ASSERT_TRUE(key);
    EXPECT_EQ(key->type(), t);
  }
  Result<PrivateKey, Error> small = PrivateKey::generate(KeyType::kRsa, 1024);
  ASSERT_FALSE(small);
  EXPECT_EQ(small.error(), Error::kKeyTooSmall);
}

TEST(Key, PublicKeyFromDer) {
  Result<PrivateKey, Error> key = PrivateKey::generate(KeyType::kEcdsaP256);
  ASSERT_TRUE(key);
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(key->native(), &der);
  ASSERT_GT(len, 0);
  std::vector<uint8_t> spki(der, der + len);
  OPENSSL_free(der);
  Result<PublicKey, Error> pub = PublicKey::from_der(spki);
  ASSERT_TRUE(pub);
  EXPECT_EQ(pub->type(), KeyType::kEcdsaP256);
  EXPECT_EQ(EVP_PKEY_eq(pub->native(), key->native()), 1);
  spki.push_back(0);
  Result<PublicKey, Error> trailing = PublicKey::from_der(spki);
  ASSERT_FALSE(trailing);
  EXPECT_EQ(trailing.error(), Error::kMalformedKey);
}

TEST(Errors, EveryErrorHasItsOwnReason) {
  std::set<std::string_view> seen;
  // kCertificateVerifyFailed is the last enumerator; new values go before it.
  const int last = static_cast<int>(Error::kCertificateVerifyFailed);
  for (int i = 0; i <= last; i++) {
    const std::string_view s = to_string(static_cast<Error>(i));
    EXPECT_FALSE(s.empty()) << i;
    EXPECT_NE(s, "unknown crypto error") << i;
    EXPECT_EQ(s.find('\n'), std::string_view::npos) << i;
    EXPECT_TRUE(seen.insert(s).second) << "duplicate reason: " << s;
  }
}

}  // namespace
}  // namespace linetls::crypto
