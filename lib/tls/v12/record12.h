// TLS 1.2 AEAD record protection (RFC 5246 §6.2.3.3, RFC 5288 §3 for AES-GCM, RFC 7905 §2
// for ChaCha20-Poly1305) as batch preparation, in the shape of the TLS 1.3 RecordProtector
// (lib/tls/record_protection.h): queue_seal()/queue_open() compute the nonce and the
// additional data, take the next sequence number and add ONE op to the caller's
// crypto::AeadBatch; the engine runs the batch once for every connection and hands each op's
// status to finish_open().
//
// Unlike TLS 1.3, the additional data is not the record header: RFC 5246 §6.2.3.3 says
//   additional_data = seq_num + TLSCompressed.type + TLSCompressed.version +
//                     TLSCompressed.length;
// (13 bytes, the length being the plaintext's), so it is built into the caller's
// RecordSlot12, which must stay put until the batch has run, like the record buffers.
//
// Nonces. AES-GCM (RFC 5288 §3): nonce = salt (4 bytes of the key block) || nonce_explicit
// (8 bytes, sent in front of the ciphertext). RFC 5288 §3: "The nonce_explicit MAY be the
// 64-bit sequence number"; we always send the write sequence number, so under one key it can
// never repeat: it grows by one per record and the protector refuses to wrap. A received
// nonce_explicit is used as sent (the peer chooses it). ChaCha20-Poly1305 (RFC 7905 §2): no
// explicit nonce; nonce = the 12-byte IV XOR the left-padded 64-bit sequence number.
//
// Layout of a protected record (contiguous form):
//   [0..5)         header type 0x0303 length     length = e + n + 16
//   [5..5+e)       nonce_explicit (e = 8 for GCM, 0 for ChaCha20)
//   [5+e..5+e+n)   content (encrypted in place)
//   [.. +16)       tag
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/base/result.h"
#include "lib/base/secret.h"
#include "lib/crypto/aead.h"
#include "lib/tls/errors.h"
#include "lib/tls/record.h"
#include "lib/tls/v12/key_schedule12.h"

namespace linetls::tls::v12 {

inline constexpr size_t kAadLen = 13;
inline constexpr size_t kGcmSaltLen = 4;
inline constexpr size_t kGcmExplicitNonceLen = 8;
inline constexpr size_t kChachaIvLen = 12;
inline constexpr uint16_t kRecordVersion = 0x0303;

// Returns the record_iv_length of algo: 8 for AES-GCM, 0 for ChaCha20-Poly1305.
constexpr size_t explicit_nonce_len(crypto::AeadAlgo algo) noexcept {
  return algo == crypto::AeadAlgo::kChacha20Poly1305 ? 0 : kGcmExplicitNonceLen;
}
// Returns the bytes a protected record adds around its content: header, explicit nonce, tag.
constexpr size_t record_overhead(crypto::AeadAlgo algo) noexcept {
  return kRecordHeaderLen + explicit_nonce_len(algo) + crypto::kAeadTagLen;
}

// Writes the §6.2.3.3 additional data (13 bytes) to out.
void write_additional_data(uint8_t* out, uint64_t seq, ContentType type, uint16_t version,
                           uint16_t plaintext_len) noexcept;

// Returns the RFC 5288 §3 GCMNonce: salt (4 bytes) || nonce_explicit (8 bytes).
crypto::AeadNonce gcm_nonce(std::span<const uint8_t> salt,
                            std::span<const uint8_t> nonce_explicit) noexcept;

// Scratch for one queued record, owned by the caller and alive until the batch has run: the
// scatter list (contiguous form), the content span and the additional data.
struct RecordSlot12 {
  crypto::IoSeg seg;
  std::span<uint8_t> body;  // the content: ciphertext before run(), plaintext after an open
  ContentType type = ContentType::kInvalid;
  uint8_t aad[kAadLen] = {};
};

class RecordProtector12 {
 public:
  // Builds one direction from keys (key_len bytes of key; a 4-byte salt for AES-GCM or a
  // 12-byte IV for ChaCha20-Poly1305, else kInternalError), preparing the AEAD key with batch
  // (this allocates: call at the ChangeCipherSpec, not per record). The first record uses
  // sequence number first_seq (0 in the protocol, RFC 5246 §6.1: "Sequence numbers ... are
  // set to zero whenever a connection state is made the active state"; tests start near the
  // end to reach the overflow).
  static Result<RecordProtector12, Error> create(crypto::AeadBatch& batch,
                                                 const DirectionKeys& keys,
                                                 uint64_t first_seq = 0) noexcept;

  RecordProtector12(RecordProtector12&&) noexcept = default;
  RecordProtector12& operator=(RecordProtector12&&) noexcept = default;

  crypto::AeadAlgo algo() const noexcept { return key_.algo(); }
  // As RecordProtector::park(): the expanded key goes until the next queue_* call.
  void park() noexcept { key_.park(); }
  size_t overhead() const noexcept { return record_overhead(algo()); }
  // The sequence number the next record will use; also the number of records so far.
  uint64_t next_seq() const noexcept { return seq_; }
  bool exhausted() const noexcept { return exhausted_; }

  // Seals record in place: record is the whole protected record (layout above), its size
  // content_len + overhead(), with the content already at record[5 + e, 5 + e + content_len).
  // This writes the header and the explicit nonce, builds the additional data in slot and
  // queues the op. Returns true if queued (one sequence number used), false if the batch is
  // full (nothing used), or kSequenceOverflow (RFC 5246 §6.1: "Sequence numbers are of type
  // uint64 and may not exceed 2^64-1"; we refuse renegotiation, so the connection ends),
  // kRecordOverflow (content above 2^14, §6.2.1), kEmptyFragment (an empty handshake,
  // alert or change_cipher_spec: §6.2.1 "Implementations MUST NOT send zero-length
  // fragments of Handshake, Alert, or ChangeCipherSpec content types") or kInternalError.
  Result<bool, Error> queue_seal(crypto::AeadBatch& batch, std::span<uint8_t> record,
                                 ContentType type, RecordSlot12* slot,
                                 void* user_data = nullptr) noexcept;

  // The scatter form for records spread over buffers: prefix is the header and explicit
  // nonce (5 + e bytes, written before this returns), segs cover the content (encrypted in
  // place), tag_out has 16 bytes. segs, the memory they name, tag_out and slot must stay
  // valid until the batch has run; only slot->aad and slot->type are used.
  Result<bool, Error> queue_seal_segs(crypto::AeadBatch& batch, ContentType type,
                                      std::span<uint8_t> prefix,
                                      std::span<const crypto::IoSeg> segs, uint8_t* tag_out,
                                      RecordSlot12* slot, void* user_data = nullptr) noexcept;

  // Queues the decryption of rec (a record from the Deframer, received after the peer's
  // ChangeCipherSpec) in place. A fragment shorter than e + 16 bytes cannot be a
  // GenericAEADCipher: kDecryptFailed (the alert is bad_record_mac, §7.2.2). Same return
  // convention as queue_seal.
  Result<bool, Error> queue_open(crypto::AeadBatch& batch, const Record& rec, RecordSlot12* slot,
                                 void* user_data = nullptr) noexcept;

  // The scatter form of queue_open: prefix is the record header and explicit nonce (5 + e
  // bytes), segs cover the ciphertext minus the tag, tag has 16 bytes.
  Result<bool, Error> queue_open_segs(crypto::AeadBatch& batch, std::span<const uint8_t> prefix,
                                      std::span<const crypto::IoSeg> segs, const uint8_t* tag,
                                      RecordSlot12* slot, void* user_data = nullptr) noexcept;

 private:
  RecordProtector12(crypto::ParkableKey key, std::span<const uint8_t> iv, uint64_t seq) noexcept;
  // queue_open and queue_open_segs: header (5 bytes) and nonce_explicit (e bytes) apart.
  Result<bool, Error> queue_open_parts(crypto::AeadBatch& batch, std::span<const uint8_t> header,
                                       std::span<const uint8_t> nonce_explicit,
                                       std::span<const crypto::IoSeg> segs, const uint8_t* tag,
                                       RecordSlot12* slot, void* user_data) noexcept;
  // Returns the sequence number for the next record and advances, or kSequenceOverflow.
  Result<uint64_t, Error> take_seq() noexcept;

  crypto::ParkableKey key_;
  Secret<kMaxFixedIvLen> iv_;  // GCM: the 4-byte salt; ChaCha20: the 12-byte IV
  uint64_t seq_ = 0;
  bool exhausted_ = false;
};

// A record's content after decryption: the record's own type (TLS 1.2 has no inner type)
// and the plaintext, in place where the ciphertext was.
struct Plaintext12 {
  ContentType type = ContentType::kInvalid;
  std::span<uint8_t> content;
};

// After the batch ran: returns the content of an open queued with slot, or kDecryptFailed
// when the tag did not verify (the body has been zeroed by the batch) or the op was
// rejected; kPlaintextOverflow when the content exceeds max_plaintext_len (§6.2.3: the alert
// is record_overflow); kEmptyFragment for an empty handshake, alert or change_cipher_spec.
// What a protected change_cipher_spec means (nothing good: we refuse renegotiation) is the
// state machine's to decide.
Result<Plaintext12, Error> finish_open(crypto::AeadStatus status, const RecordSlot12& slot,
                                       size_t max_plaintext_len = kMaxPlaintextLen) noexcept;

}  // namespace linetls::tls::v12
