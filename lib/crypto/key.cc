#include "lib/crypto/key.h"

#include <openssl/core_names.h>
#include <openssl/obj_mac.h>
#include <openssl/pem.h>

#include <cstring>
#include <string>

#include "lib/base/secret.h"
#include "lib/crypto/ossl_util.h"

namespace linetls::crypto {
namespace {

using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

// Classifies pkey; anything but RSA, EC P-256/P-384 and Ed25519 is unsupported (that
// includes RSASSA-PSS-only keys, DSA, X25519/X448 and other curves).
Result<KeyType, Error> classify(EVP_PKEY* pkey) noexcept {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    if (EVP_PKEY_get_bits(pkey) < static_cast<int>(kMinRsaBits)) {
      return fail(Error::kKeyTooSmall);
    }
    return KeyType::kRsa;
  }
  if (EVP_PKEY_is_a(pkey, "ED25519")) {
    return KeyType::kEd25519;
  }
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char name[64] = {};
    size_t len = 0;
    if (EVP_PKEY_get_group_name(pkey, name, sizeof(name), &len) != 1) {
      ossl::clear_errors();
      return fail(Error::kUnsupportedKeyType);
    }
    int nid = OBJ_txt2nid(name);
    if (nid == NID_undef) {
      nid = EC_curve_nist2nid(name);
    }
    if (nid == NID_X9_62_prime256v1) {
      return KeyType::kEcdsaP256;
    }
    if (nid == NID_secp384r1) {
      return KeyType::kEcdsaP384;
    }
  }
  ossl::clear_errors();
  return fail(Error::kUnsupportedKeyType);
}

// What the PEM password callback learned: whether libcrypto asked at all (the key is
// encrypted) and the password to give it.
struct PasswordState {
  std::string_view password;
  bool asked = false;
};

int password_cb(char* buf, int size, int /*rwflag*/, void* u) {
  auto* state = static_cast<PasswordState*>(u);
  state->asked = true;
  if (state->password.empty() || state->password.size() > static_cast<size_t>(size)) {
    return -1;  // never prompt on a terminal
  }
  std::memcpy(buf, state->password.data(), state->password.size());
  return static_cast<int>(state->password.size());
}

}  // namespace

std::string_view to_string(KeyType type) noexcept {
  switch (type) {
    case KeyType::kRsa:
      return "RSA";
    case KeyType::kEcdsaP256:
      return "ECDSA P-256";
    case KeyType::kEcdsaP384:
      return "ECDSA P-384";
    case KeyType::kEd25519:
      return "Ed25519";
  }
  return "unknown";
}

// ---- PublicKey ----------------------------------------------------------------------------

Result<PublicKey, Error> PublicKey::from_der(std::span<const uint8_t> spki) noexcept {
  const unsigned char* p = spki.data();
  Pkey pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki.size())));
  if (!pkey || p != spki.data() + spki.size()) {
    ossl::clear_errors();
    return fail(Error::kMalformedKey);
  }
  return adopt(pkey.release());
}

Result<PublicKey, Error> PublicKey::adopt(EVP_PKEY* pkey) noexcept {
  Pkey owned(pkey);
  if (!owned) {
    return fail(Error::kMalformedKey);
  }
  Result<KeyType, Error> type = classify(owned.get());
  if (!type) {
    return fail(type.error());
  }
  return PublicKey(*type, std::move(owned));
}

PublicKey PublicKey::share() const noexcept {
  EVP_PKEY_up_ref(pkey_.get());
  return PublicKey(type_, std::unique_ptr<EVP_PKEY, PkeyDeleter>(pkey_.get()));
}

size_t PublicKey::bits() const noexcept {
  return static_cast<size_t>(EVP_PKEY_get_bits(pkey_.get()));
}

// ---- PrivateKey ---------------------------------------------------------------------------

Result<PrivateKey, Error> PrivateKey::from_pem(std::span<const uint8_t> pem,
                                               std::string_view password) noexcept {
  ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  PasswordState state{password, false};
  Pkey pkey(PEM_read_bio_PrivateKey_ex(bio.get(), nullptr, password_cb, &state, nullptr, nullptr));
  ossl::clear_errors();
  if (!pkey) {
    if (state.asked) {
      return fail(password.empty() ? Error::kKeyPasswordRequired : Error::kWrongPassword);
    }
    return fail(Error::kMalformedKey);
  }
  return adopt(pkey.release());
}

Result<PrivateKey, Error> PrivateKey::load_pem_file(std::string_view path,
                                                    std::string_view password) noexcept {
  std::string pem;
  if (Result<void, Error> r = ossl::read_file(path, &pem); !r) {
    return fail(r.error());
  }
  Result<PrivateKey, Error> key =
      from_pem({reinterpret_cast<const uint8_t*>(pem.data()), pem.size()}, password);
  secure_wipe({reinterpret_cast<uint8_t*>(pem.data()), pem.size()});
  return key;
}

Result<PrivateKey, Error> PrivateKey::generate(KeyType type, unsigned rsa_bits) noexcept {
  EVP_PKEY* raw = nullptr;
  switch (type) {
    case KeyType::kRsa:
      if (rsa_bits < kMinRsaBits) {
        return fail(Error::kKeyTooSmall);
      }
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(rsa_bits));
      break;
    case KeyType::kEcdsaP256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case KeyType::kEcdsaP384:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
    case KeyType::kEd25519:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  if (raw == nullptr) {
    ossl::clear_errors();
    return fail(Error::kInternal);
  }
  return adopt(raw);
}

Result<PrivateKey, Error> PrivateKey::adopt(EVP_PKEY* pkey) noexcept {
  Pkey owned(pkey);
  if (!owned) {
    return fail(Error::kMalformedKey);
  }
  Result<KeyType, Error> type = classify(owned.get());
  if (!type) {
    return fail(type.error());
  }
  return PrivateKey(*type, std::move(owned));
}

size_t PrivateKey::bits() const noexcept {
  return static_cast<size_t>(EVP_PKEY_get_bits(pkey_.get()));
}

size_t PrivateKey::max_signature_len() const noexcept {
  return static_cast<size_t>(EVP_PKEY_get_size(pkey_.get()));
}

PublicKey PrivateKey::public_key() const noexcept {
  EVP_PKEY_up_ref(pkey_.get());
  return PublicKey(type_, Pkey(pkey_.get()));
}

}  // namespace linetls::crypto
