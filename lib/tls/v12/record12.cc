#include "lib/tls/v12/record12.h"

#include <cstring>
#include <utility>

#include "lib/base/bytes.h"
#include "lib/tls/record_protection.h"

namespace linetls::tls::v12 {

namespace {

bool must_not_be_empty(ContentType type) noexcept {
  return type == ContentType::kHandshake || type == ContentType::kAlert ||
         type == ContentType::kChangeCipherSpec;
}

void store_be64(uint8_t* p, uint64_t v) noexcept {
  for (size_t i = 0; i < 8; i++) {
    p[i] = static_cast<uint8_t>(v >> (8 * (7 - i)));
  }
}

}  // namespace

void write_additional_data(uint8_t* out, uint64_t seq, ContentType type, uint16_t version,
                           uint16_t plaintext_len) noexcept {
  // §6.2.3.3: "additional_data = seq_num + TLSCompressed.type + TLSCompressed.version +
  // TLSCompressed.length;" (no compression: TLSCompressed is TLSPlaintext).
  store_be64(out, seq);
  out[8] = static_cast<uint8_t>(type);
  store_be16(out + 9, version);
  store_be16(out + 11, plaintext_len);
}

crypto::AeadNonce gcm_nonce(std::span<const uint8_t> salt,
                            std::span<const uint8_t> nonce_explicit) noexcept {
  // RFC 5288 §3: struct { opaque salt[4]; opaque nonce_explicit[8]; } GCMNonce;
  crypto::AeadNonce nonce{};
  std::memcpy(nonce.data(), salt.data(), kGcmSaltLen);
  std::memcpy(nonce.data() + kGcmSaltLen, nonce_explicit.data(), kGcmExplicitNonceLen);
  return nonce;
}

RecordProtector12::RecordProtector12(crypto::ParkableKey key, std::span<const uint8_t> iv,
                                     uint64_t seq) noexcept
    : key_(std::move(key)), iv_(iv), seq_(seq) {}

Result<RecordProtector12, Error> RecordProtector12::create(crypto::AeadBatch& batch,
                                                           const DirectionKeys& keys,
                                                           uint64_t first_seq) noexcept {
  const size_t iv_len =
      keys.aead == crypto::AeadAlgo::kChacha20Poly1305 ? kChachaIvLen : kGcmSaltLen;
  if (keys.iv.size() != iv_len || keys.key.size() != crypto::aead_key_len(keys.aead)) {
    return fail(Error::kInternalError);
  }
  auto key = crypto::ParkableKey::make(batch, keys.aead, keys.key.view());
  if (!key) {
    return fail(Error::kCryptoFailure);
  }
  return RecordProtector12(std::move(key).value(), keys.iv.view(), first_seq);
}

Result<uint64_t, Error> RecordProtector12::take_seq() noexcept {
  // §6.1: "Sequence numbers are of type uint64 and may not exceed 2^64-1. Sequence numbers
  // do not wrap. If a TLS implementation would need to wrap a sequence number, it must
  // renegotiate instead." We refuse renegotiation, so the connection ends here. The last
  // number, 2^64-1, is still used; nothing after it.
  if (exhausted_) {
    return fail(Error::kSequenceOverflow);
  }
  const uint64_t seq = seq_;
  if (seq_ == UINT64_MAX) {
    exhausted_ = true;
  } else {
    seq_++;
  }
  return seq;
}

Result<bool, Error> RecordProtector12::queue_seal(crypto::AeadBatch& batch,
                                                  std::span<uint8_t> record, ContentType type,
                                                  RecordSlot12* slot, void* user_data) noexcept {
  const size_t e = explicit_nonce_len(algo());
  if (record.size() < overhead()) {
    return fail(Error::kInternalError);
  }
  const size_t content_len = record.size() - overhead();
  slot->body = record.subspan(kRecordHeaderLen + e, content_len);
  slot->seg = crypto::IoSeg{slot->body.data(), static_cast<uint32_t>(content_len)};
  return queue_seal_segs(batch, type, record.first(kRecordHeaderLen + e), {&slot->seg, 1},
                         record.data() + record.size() - crypto::kAeadTagLen, slot, user_data);
}

Result<bool, Error> RecordProtector12::queue_seal_segs(crypto::AeadBatch& batch, ContentType type,
                                                       std::span<uint8_t> prefix,
                                                       std::span<const crypto::IoSeg> segs,
                                                       uint8_t* tag_out, RecordSlot12* slot,
                                                       void* user_data) noexcept {
  const size_t e = explicit_nonce_len(algo());
  if (prefix.size() != kRecordHeaderLen + e || !is_known_content_type(static_cast<uint8_t>(type))) {
    return fail(Error::kInternalError);
  }
  size_t content_len = 0;
  for (const crypto::IoSeg& s : segs) {
    content_len += s.len;
  }
  if (content_len > kMaxPlaintextLen) {
    return fail(Error::kRecordOverflow);
  }
  if (content_len == 0 && must_not_be_empty(type)) {
    return fail(Error::kEmptyFragment);
  }
  if (batch.full()) {
    return false;
  }
  const crypto::AeadKey* key = key_.get(batch);
  if (key == nullptr) {
    return fail(Error::kCryptoFailure);
  }
  auto seq = take_seq();
  if (!seq) {
    return fail(seq.error());
  }
  // §6.2.3.3: GenericAEADCipher { opaque nonce_explicit[record_iv_length];
  // aead-ciphered struct { opaque content[TLSCompressed.length]; }; }
  write_record_header(prefix.data(), type,
                      static_cast<uint16_t>(e + content_len + crypto::kAeadTagLen), kRecordVersion);
  crypto::AeadNonce nonce;
  if (e != 0) {
    store_be64(prefix.data() + kRecordHeaderLen, *seq);
    nonce = gcm_nonce(iv_.view(), prefix.subspan(kRecordHeaderLen, e));
  } else {
    nonce = record_nonce(iv_.view(), *seq);  // RFC 7905 §2, as RFC 8446 §5.3
  }
  slot->type = type;
  write_additional_data(slot->aad, *seq, type, kRecordVersion, static_cast<uint16_t>(content_len));
  if (!batch.add_seal(*key, nonce, {slot->aad, kAadLen}, segs, tag_out, user_data)) {
    return fail(Error::kInternalError);  // checked full() above
  }
  return true;
}

Result<bool, Error> RecordProtector12::queue_open(crypto::AeadBatch& batch, const Record& rec,
                                                  RecordSlot12* slot, void* user_data) noexcept {
  const size_t e = explicit_nonce_len(algo());
  if (rec.fragment.size() < e + crypto::kAeadTagLen) {
    return fail(Error::kDecryptFailed);
  }
  slot->body = rec.fragment.subspan(e, rec.fragment.size() - e - crypto::kAeadTagLen);
  slot->seg = crypto::IoSeg{slot->body.data(), static_cast<uint32_t>(slot->body.size())};
  return queue_open_parts(batch, rec.header, rec.fragment.first(e), {&slot->seg, 1},
                          rec.fragment.data() + rec.fragment.size() - crypto::kAeadTagLen, slot,
                          user_data);
}

Result<bool, Error> RecordProtector12::queue_open_segs(crypto::AeadBatch& batch,
                                                       std::span<const uint8_t> prefix,
                                                       std::span<const crypto::IoSeg> segs,
                                                       const uint8_t* tag, RecordSlot12* slot,
                                                       void* user_data) noexcept {
  const size_t e = explicit_nonce_len(algo());
  if (prefix.size() != kRecordHeaderLen + e) {
    return fail(Error::kInternalError);
  }
  return queue_open_parts(batch, prefix.first(kRecordHeaderLen), prefix.subspan(kRecordHeaderLen),
                          segs, tag, slot, user_data);
}

Result<bool, Error> RecordProtector12::queue_open_parts(crypto::AeadBatch& batch,
                                                        std::span<const uint8_t> header,
                                                        std::span<const uint8_t> nonce_explicit,
                                                        std::span<const crypto::IoSeg> segs,
                                                        const uint8_t* tag, RecordSlot12* slot,
                                                        void* user_data) noexcept {
  const size_t e = explicit_nonce_len(algo());
  if (header.size() != kRecordHeaderLen || nonce_explicit.size() != e) {
    return fail(Error::kInternalError);
  }
  size_t content_len = 0;
  for (const crypto::IoSeg& s : segs) {
    content_len += s.len;
  }
  // The header must describe what the segments hold; a mismatch is the caller's bug.
  if (load_be16(header.data() + 3) != e + content_len + crypto::kAeadTagLen) {
    return fail(Error::kInternalError);
  }
  if (batch.full()) {
    return false;
  }
  const crypto::AeadKey* key = key_.get(batch);
  if (key == nullptr) {
    return fail(Error::kCryptoFailure);
  }
  auto seq = take_seq();
  if (!seq) {
    return fail(seq.error());
  }
  const auto type = static_cast<ContentType>(header[0]);
  const crypto::AeadNonce nonce =
      e != 0 ? gcm_nonce(iv_.view(), nonce_explicit) : record_nonce(iv_.view(), *seq);
  slot->type = type;
  write_additional_data(slot->aad, *seq, type, load_be16(header.data() + 1),
                        static_cast<uint16_t>(content_len));
  if (!batch.add_open(*key, nonce, {slot->aad, kAadLen}, segs, tag, user_data)) {
    return fail(Error::kInternalError);
  }
  return true;
}

Result<Plaintext12, Error> finish_open(crypto::AeadStatus status, const RecordSlot12& slot,
                                       size_t max_plaintext_len) noexcept {
  if (status != crypto::AeadStatus::kOk) {
    return fail(Error::kDecryptFailed);
  }
  // §6.2.3: "The length MUST NOT exceed 2^14 + 2048" for the ciphertext, and §6.2.1 2^14
  // for the plaintext; the Deframer already caps the ciphertext at 2^14 + 256.
  if (slot.body.size() > max_plaintext_len) {
    return fail(Error::kPlaintextOverflow);
  }
  if (slot.body.empty() && must_not_be_empty(slot.type)) {
    return fail(Error::kEmptyFragment);
  }
  return Plaintext12{slot.type, slot.body};
}

}  // namespace linetls::tls::v12
