// TLS 1.3 record protection (RFC 8446 §5.2, §5.3) as batch preparation.
//
// A RecordProtector is one direction's key, IV and sequence number. It does no crypto
// itself: queue_seal()/queue_open() compute the per-record nonce, take the next sequence
// number and add ONE op to the caller's crypto::AeadBatch; the engine adds the records of
// every connection to the same batch, calls run() once, and hands each op's status back
// (finish_open() parses the inner plaintext). The record header is the AEAD additional data
// and is read in place, so the buffers named in a queue_* call (header, body, tag, and the
// RecordSlot that carries the scatter list) must stay put until the batch has run.
//
// Layout of a protected record (contiguous form):
//   [0..5)  header 0x17 0x0303 length          (additional data)
//   [5..5+n) content, then 1 byte inner type, then padding zeros   (encrypted in place)
//   [.. +16) tag
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/base/result.h"
#include "lib/crypto/aead.h"
#include "lib/tls/cipher_suite.h"
#include "lib/tls/errors.h"
#include "lib/tls/record.h"

namespace linetls::tls {

// Bytes a protected record adds around its content: header, inner type, tag.
inline constexpr size_t kProtectedOverhead = kRecordHeaderLen + 1 + crypto::kAeadTagLen;

// Scratch the batch reads during run(): the scatter list of one record, and the body (the
// bytes that are encrypted or decrypted in place). Owned by the caller, one per queued
// record, alive until the batch has run.
struct RecordSlot {
  crypto::IoSeg seg;
  std::span<uint8_t> body;
  // An open's additional data (the record header) and tag, for reopen_record().
  std::span<const uint8_t> header;
  const uint8_t* tag = nullptr;
};

// Returns the §5.3 per-record nonce: the 64-bit sequence number, big-endian and left-padded
// with zeros to the IV length, XORed with the IV.
crypto::AeadNonce record_nonce(std::span<const uint8_t> iv, uint64_t seq) noexcept;

// Writes the header of a protected record whose encrypted_record is body_len bytes
// (content + 1 + padding + 16): opaque_type application_data, legacy_record_version 0x0303.
void write_protected_header(uint8_t* out, uint16_t body_len) noexcept;

class RecordProtector {
 public:
  // Builds one direction from keys, preparing the AEAD key with batch (this allocates: call
  // at key changes, not per record). The first record uses sequence number first_seq (0 in
  // the protocol; tests start near the end to reach the overflow).
  static Result<RecordProtector, Error> create(crypto::AeadBatch& batch, const TrafficKeys& keys,
                                               uint64_t first_seq = 0) noexcept;

  RecordProtector(RecordProtector&&) noexcept = default;
  RecordProtector& operator=(RecordProtector&&) noexcept = default;

  crypto::AeadAlgo algo() const noexcept { return key_.algo(); }
  // Gives back the expanded key until the next queue_* call rebuilds it (an idle
  // connection); no op of this protector may be queued in a batch that has not run.
  void park() noexcept { key_.park(); }
  bool parked() const noexcept { return key_.parked(); }
  // The sequence number the next record will use; also the number of records so far.
  uint64_t next_seq() const noexcept { return seq_; }
  bool exhausted() const noexcept { return exhausted_; }

  // Seals record in place: record is the whole protected record (layout above) with the
  // content already at record[5, 5 + content_len); this writes the header, the inner type
  // and padding zeros, and queues the op. record.size() must equal content_len +
  // padding_len + kProtectedOverhead and the body must not exceed 2^14 + 256 bytes.
  // Returns true if queued (one sequence number used), false if the batch is full (nothing
  // used), or kSequenceOverflow / kRecordOverflow / kInternalError.
  Result<bool, Error> queue_seal(crypto::AeadBatch& batch, std::span<uint8_t> record,
                                 size_t content_len, ContentType type, size_t padding_len,
                                 RecordSlot* slot, void* user_data = nullptr) noexcept;

  // The scatter form for records spread over buffers: header is the record header already
  // written (write_protected_header), segs cover content + type + padding, tag_out has 16
  // bytes. segs, header and tag must stay valid until the batch has run.
  Result<bool, Error> queue_seal_segs(crypto::AeadBatch& batch, std::span<const uint8_t> header,
                                      std::span<const crypto::IoSeg> segs, uint8_t* tag_out,
                                      void* user_data = nullptr) noexcept;

  // Queues the decryption of rec (a protected record from the Deframer) in place. A body
  // shorter than one byte plus the tag cannot be a TLSInnerPlaintext: kDecryptFailed
  // (§5.2: "If the decryption fails, the receiver MUST terminate the connection with a
  // bad_record_mac alert."). Same return convention as queue_seal.
  Result<bool, Error> queue_open(crypto::AeadBatch& batch, const Record& rec, RecordSlot* slot,
                                 void* user_data = nullptr) noexcept;

  // The scatter form of queue_open: segs cover the encrypted record minus its tag.
  Result<bool, Error> queue_open_segs(crypto::AeadBatch& batch, std::span<const uint8_t> header,
                                      std::span<const crypto::IoSeg> segs, const uint8_t* tag,
                                      void* user_data = nullptr) noexcept;

 private:
  RecordProtector(crypto::ParkableKey key, std::span<const uint8_t> iv, uint64_t seq) noexcept;
  // Returns the nonce for the next record and advances, or kSequenceOverflow.
  Result<crypto::AeadNonce, Error> take_nonce() noexcept;

  crypto::ParkableKey key_;
  Secret<kIvLen> iv_;
  uint64_t seq_ = 0;
  bool exhausted_ = false;
};

// After the batch ran: turns the status of an open queued with slot into the record's inner
// content (parse_inner_plaintext), or kDecryptFailed when the tag did not verify (the batch
// put the ciphertext back) or the op was rejected.
Result<InnerPlaintext, Error> finish_open(crypto::AeadStatus status, const RecordSlot& slot,
                                          size_t max_plaintext_len = kMaxPlaintextLen) noexcept;

// Opens again, outside any batch, a record whose queued open failed because it went in under
// the wrong key (a KeyUpdate earlier in the same batch retired it): the batch restored the
// ciphertext (aead.h), and this opens it in place under keys with sequence number seq, then
// parses the inner plaintext. The slot's record memory must still be valid. kDecryptFailed
// when it does not open.
Result<InnerPlaintext, Error> reopen_record(const TrafficKeys& keys, uint64_t seq,
                                            const RecordSlot& slot,
                                            size_t max_plaintext_len = kMaxPlaintextLen) noexcept;

}  // namespace linetls::tls
