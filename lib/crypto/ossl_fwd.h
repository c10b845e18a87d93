// Deleters for the libcrypto objects that public lib/crypto classes own. Only the opaque
// type names from <openssl/types.h> are exposed; the definitions live in ossl_fwd.cc, so
// callers never see a libcrypto function.
#pragma once

#include <openssl/types.h>

namespace linetls::crypto {

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const noexcept;
};
struct MacCtxDeleter {
  void operator()(EVP_MAC_CTX* ctx) const noexcept;
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* pkey) const noexcept;
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const noexcept;
};
struct X509Deleter {
  void operator()(X509* cert) const noexcept;
};
struct X509StoreDeleter {
  void operator()(X509_STORE* store) const noexcept;
};

}  // namespace linetls::crypto
