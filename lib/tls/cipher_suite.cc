#include "lib/tls/cipher_suite.h"

namespace linetls::tls {

std::optional<SuiteInfo> suite_info(uint16_t code) noexcept {
  switch (code) {
    case 0x1301:
      return SuiteInfo{CipherSuite::kAes128GcmSha256, crypto::HashAlgo::kSha256,
                       crypto::AeadAlgo::kAes128Gcm, "TLS_AES_128_GCM_SHA256"};
    case 0x1302:
      return SuiteInfo{CipherSuite::kAes256GcmSha384, crypto::HashAlgo::kSha384,
                       crypto::AeadAlgo::kAes256Gcm, "TLS_AES_256_GCM_SHA384"};
    case 0x1303:
      return SuiteInfo{CipherSuite::kChacha20Poly1305Sha256, crypto::HashAlgo::kSha256,
                       crypto::AeadAlgo::kChacha20Poly1305, "TLS_CHACHA20_POLY1305_SHA256"};
    default:
      return std::nullopt;
  }
}

}  // namespace linetls::tls
