// One AEAD open outside any AeadBatch, through libcrypto (EVP).
//
// The batch path (aead.h, drivers/) is how records are opened. This is for the rare record
// that must be opened a second time under another key after its batch ran: in TLS 1.3 a
// record queued behind a KeyUpdate in the same batch went in under the key the KeyUpdate
// retired (lib/tls/session13). Its open failed, the batch put the ciphertext back
// (aead.h: a failed open restores its segments), and it is opened again here. Not for the
// per-record path: it fetches the cipher and sets up a key schedule on every call.
#pragma once

#include <cstdint>
#include <span>

#include "lib/crypto/aead.h"

namespace linetls::crypto {

// Opens data in place under algo/key/nonce with aad, checking the 16-byte tag at tag.
// Returns kOk; kAuthFailed when the tag does not verify (data is then zeroed); kInvalid when
// the arguments are wrong (key length, sizes) or libcrypto fails (data zeroed as well).
// Nothing may overlap.
AeadStatus aead_open_once(AeadAlgo algo, std::span<const uint8_t> key, const AeadNonce& nonce,
                          std::span<const uint8_t> aad, std::span<uint8_t> data,
                          const uint8_t* tag) noexcept;

}  // namespace linetls::crypto
