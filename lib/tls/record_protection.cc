#include "lib/tls/record_protection.h"

#include <cstring>
#include <utility>

#include "lib/base/bytes.h"
#include "lib/crypto/aead_once.h"

namespace linetls::tls {

crypto::AeadNonce record_nonce(std::span<const uint8_t> iv, uint64_t seq) noexcept {
  // §5.3: "1. The 64-bit record sequence number is encoded in network byte order and padded
  // to the left with zeros to iv_length. 2. The padded sequence number is XORed with either
  // the static client_write_iv or server_write_iv."
  crypto::AeadNonce nonce{};
  std::memcpy(nonce.data(), iv.data(), nonce.size());
  for (size_t i = 0; i < 8; i++) {
    nonce[nonce.size() - 1 - i] ^= static_cast<uint8_t>(seq >> (8 * i));
  }
  return nonce;
}

void write_protected_header(uint8_t* out, uint16_t body_len) noexcept {
  // §5.2: opaque_type is always application_data (23), legacy_record_version 0x0303, and
  // §5.2 additional_data = TLSCiphertext.opaque_type || legacy_record_version || length.
  write_record_header(out, ContentType::kApplicationData, body_len);
}

RecordProtector::RecordProtector(crypto::ParkableKey key, std::span<const uint8_t> iv,
                                 uint64_t seq) noexcept
    : key_(std::move(key)), iv_(iv), seq_(seq) {}

Result<RecordProtector, Error> RecordProtector::create(crypto::AeadBatch& batch,
                                                       const TrafficKeys& keys,
                                                       uint64_t first_seq) noexcept {
  if (keys.iv.size() != kIvLen) {
    return fail(Error::kInternalError);
  }
  auto key = crypto::ParkableKey::make(batch, keys.aead, keys.key.view());
  if (!key) {
    return fail(Error::kCryptoFailure);
  }
  return RecordProtector(std::move(key).value(), keys.iv.view(), first_seq);
}

Result<crypto::AeadNonce, Error> RecordProtector::take_nonce() noexcept {
  // §5.3: "Because the size of sequence numbers is 64-bit, they should not wrap. If a TLS
  // implementation would need to wrap a sequence number, it MUST either rekey (Section
  // 4.6.3) or terminate the connection."
  if (exhausted_) {
    return fail(Error::kSequenceOverflow);
  }
  const crypto::AeadNonce nonce = record_nonce(iv_.view(), seq_);
  if (seq_ == UINT64_MAX) {
    exhausted_ = true;
  } else {
    seq_++;
  }
  return nonce;
}

Result<bool, Error> RecordProtector::queue_seal(crypto::AeadBatch& batch, std::span<uint8_t> record,
                                                size_t content_len, ContentType type,
                                                size_t padding_len, RecordSlot* slot,
                                                void* user_data) noexcept {
  if (record.size() != content_len + padding_len + kProtectedOverhead) {
    return fail(Error::kInternalError);
  }
  const size_t body_len = record.size() - kRecordHeaderLen;
  if (content_len + 1 + padding_len > kMaxPlaintextLen + 1 || body_len > kMaxCiphertextLen) {
    return fail(Error::kRecordOverflow);
  }
  write_protected_header(record.data(), static_cast<uint16_t>(body_len));
  // §5.4: TLSInnerPlaintext = content || ContentType type || uint8 zeros[length_of_padding].
  record[kRecordHeaderLen + content_len] = static_cast<uint8_t>(type);
  if (padding_len != 0) {
    std::memset(record.data() + kRecordHeaderLen + content_len + 1, 0, padding_len);
  }
  slot->body = record.subspan(kRecordHeaderLen, body_len - crypto::kAeadTagLen);
  slot->seg = crypto::IoSeg{slot->body.data(), static_cast<uint32_t>(slot->body.size())};
  return queue_seal_segs(batch, record.first(kRecordHeaderLen), {&slot->seg, 1},
                         record.data() + record.size() - crypto::kAeadTagLen, user_data);
}

Result<bool, Error> RecordProtector::queue_seal_segs(crypto::AeadBatch& batch,
                                                     std::span<const uint8_t> header,
                                                     std::span<const crypto::IoSeg> segs,
                                                     uint8_t* tag_out, void* user_data) noexcept {
  if (header.size() != kRecordHeaderLen) {
    return fail(Error::kInternalError);
  }
  if (batch.full()) {
    return false;
  }
  const crypto::AeadKey* key = key_.get(batch);
  if (key == nullptr) {
    return fail(Error::kCryptoFailure);
  }
  auto nonce = take_nonce();
  if (!nonce) {
    return fail(nonce.error());
  }
  if (!batch.add_seal(*key, *nonce, header, segs, tag_out, user_data)) {
    return fail(Error::kInternalError);  // checked full() above
  }
  return true;
}

Result<bool, Error> RecordProtector::queue_open(crypto::AeadBatch& batch, const Record& rec,
                                                RecordSlot* slot, void* user_data) noexcept {
  if (rec.fragment.size() < 1 + crypto::kAeadTagLen || rec.header.size() != kRecordHeaderLen) {
    return fail(Error::kDecryptFailed);
  }
  slot->body = rec.fragment.first(rec.fragment.size() - crypto::kAeadTagLen);
  slot->seg = crypto::IoSeg{slot->body.data(), static_cast<uint32_t>(slot->body.size())};
  slot->header = rec.header;
  slot->tag = rec.fragment.data() + slot->body.size();
  return queue_open_segs(batch, rec.header, {&slot->seg, 1}, slot->tag, user_data);
}

Result<bool, Error> RecordProtector::queue_open_segs(crypto::AeadBatch& batch,
                                                     std::span<const uint8_t> header,
                                                     std::span<const crypto::IoSeg> segs,
                                                     const uint8_t* tag, void* user_data) noexcept {
  if (header.size() != kRecordHeaderLen) {
    return fail(Error::kInternalError);
  }
  if (batch.full()) {
    return false;
  }
  const crypto::AeadKey* key = key_.get(batch);
  if (key == nullptr) {
    return fail(Error::kCryptoFailure);
  }
  auto nonce = take_nonce();
  if (!nonce) {
    return fail(nonce.error());
  }
  if (!batch.add_open(*key, *nonce, header, segs, tag, user_data)) {
    return fail(Error::kInternalError);
  }
  return true;
}

Result<InnerPlaintext, Error> finish_open(crypto::AeadStatus status, const RecordSlot& slot,
                                          size_t max_plaintext_len) noexcept {
  if (status != crypto::AeadStatus::kOk) {
    return fail(Error::kDecryptFailed);
  }
  return parse_inner_plaintext(slot.body, max_plaintext_len);
}

Result<InnerPlaintext, Error> reopen_record(const TrafficKeys& keys, uint64_t seq,
                                            const RecordSlot& slot,
                                            size_t max_plaintext_len) noexcept {
  if (slot.header.size() != kRecordHeaderLen || slot.tag == nullptr || keys.iv.size() != kIvLen) {
    return fail(Error::kInternalError);
  }
  const crypto::AeadNonce nonce = record_nonce(keys.iv.view(), seq);
  if (crypto::aead_open_once(keys.aead, keys.key.view(), nonce, slot.header, slot.body, slot.tag) !=
      crypto::AeadStatus::kOk) {
    return fail(Error::kDecryptFailed);
  }
  return parse_inner_plaintext(slot.body, max_plaintext_len);
}

}  // namespace linetls::tls
