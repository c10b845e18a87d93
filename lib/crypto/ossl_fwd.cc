#include "lib/crypto/ossl_fwd.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace linetls::crypto {

void MdCtxDeleter::operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
void MacCtxDeleter::operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
void PkeyDeleter::operator()(EVP_PKEY* pkey) const noexcept { EVP_PKEY_free(pkey); }
void PkeyCtxDeleter::operator()(EVP_PKEY_CTX* ctx) const noexcept { EVP_PKEY_CTX_free(ctx); }
void X509Deleter::operator()(X509* cert) const noexcept { X509_free(cert); }
void X509StoreDeleter::operator()(X509_STORE* store) const noexcept { X509_STORE_free(store); }

}  // namespace linetls::crypto
