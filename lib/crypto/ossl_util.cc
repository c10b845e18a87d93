#include "lib/crypto/ossl_util.h"

#include <openssl/err.h>
#include <openssl/obj_mac.h>

#include <cstdio>

namespace linetls::crypto::ossl {
namespace {

// Everything fetched from the default provider, once per thread. Fetched objects are
// immutable, so each worker thread reads its own copies and nothing mutable is shared.
struct Fetched {
  EvpMdPtr sha256;
  EvpMdPtr sha384;
  EvpMdPtr sha512;
  EvpMacPtr hmac;
  EcGroupPtr p256;
  EcGroupPtr p384;
};

Fetched& fetched() noexcept {
  thread_local Fetched f;
  return f;
}

const EVP_MD* fetch_into(EvpMdPtr& slot, const char* name) noexcept {
  if (!slot) {
    slot.reset(EVP_MD_fetch(nullptr, name, nullptr));
  }
  return slot.get();
}

const EC_GROUP* group_into(EcGroupPtr& slot, int nid) noexcept {
  if (!slot) {
    slot.reset(EC_GROUP_new_by_curve_name(nid));
  }
  return slot.get();
}

}  // namespace

const EVP_MD* md(Md md) noexcept {
  Fetched& f = fetched();
  switch (md) {
    case Md::kSha256:
      return fetch_into(f.sha256, "SHA2-256");
    case Md::kSha384:
      return fetch_into(f.sha384, "SHA2-384");
    case Md::kSha512:
      return fetch_into(f.sha512, "SHA2-512");
  }
  return nullptr;
}

EVP_MAC* hmac() noexcept {
  Fetched& f = fetched();
  if (!f.hmac) {
    f.hmac.reset(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  }
  return f.hmac.get();
}

const EC_GROUP* ec_group(int nid) noexcept {
  Fetched& f = fetched();
  if (nid == NID_X9_62_prime256v1) {
    return group_into(f.p256, nid);
  }
  if (nid == NID_secp384r1) {
    return group_into(f.p384, nid);
  }
  return nullptr;
}

Result<void, Error> read_file(std::string_view path, std::string* out) {
  const std::string p(path);
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(p.c_str(), "rb"), &std::fclose);
  if (!f) {
    return fail(Error::kFileOpenFailed);
  }
  out->clear();
  char buf[16384];
  for (;;) {
    const size_t n = std::fread(buf, 1, sizeof(buf), f.get());
    out->append(buf, n);
    if (out->size() > kMaxFileLen) {
      return fail(Error::kFileReadFailed);
    }
    if (n < sizeof(buf)) {
      break;
    }
  }
  if (std::ferror(f.get()) != 0) {
    return fail(Error::kFileReadFailed);
  }
  return {};
}

}  // namespace linetls::crypto::ossl
