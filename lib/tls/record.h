// TLS record framing (RFC 8446 §5.1, §5.4; RFC 8449 record_size_limit).
//
// Deframer cuts a byte stream that arrives in arbitrary pieces (TCP payload, one mbuf
// segment at a time) into records. A record that lies whole inside one piece comes back as
// a view into that piece: no copy, and its fragment is mutable so it can be decrypted in
// place. A record split across pieces is assembled into the deframer's own buffer and comes
// back as a view into that buffer; Stats counts those copies. The buffer grows as the
// record's bytes arrive (doubling, never past the announced 5 + length, at most 5 + 2^14 +
// 256) and is freed by release_assembled(): a split record costs memory only while it is
// held, and a header announcing 16 KiB costs nothing until the bytes come. The assembly
// buffer holds one record: while the caller still uses it (until release_assembled()), a
// second split record waits, so the engine can collect every complete record of a poll
// iteration into one AEAD batch and release after.
//
// The deframer checks what the outer header alone can tell: a known content type, the
// legacy_record_version, the length limits, and zero-length handshake/alert fragments.
// What a record's type means at a given moment (plaintext handshake before keys, the
// middlebox-compatibility change_cipher_spec) is for the state machine, helped by
// check_compat_ccs() and parse_inner_plaintext().
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "lib/base/result.h"
#include "lib/tls/errors.h"

namespace linetls::tls {

// RFC 8446 §5.1 ContentType.
enum class ContentType : uint8_t {
  kInvalid = 0,
  kChangeCipherSpec = 20,
  kAlert = 21,
  kHandshake = 22,
  kApplicationData = 23,
};

// Returns true for the four record types TLS 1.2 and 1.3 define.
constexpr bool is_known_content_type(uint8_t t) noexcept { return t >= 20 && t <= 23; }

inline constexpr size_t kRecordHeaderLen = 5;
// §5.1: "The length MUST NOT exceed 2^14 bytes."
inline constexpr size_t kMaxPlaintextLen = size_t{1} << 14;
// §5.2: "The length MUST NOT exceed 2^14 + 256 bytes."
inline constexpr size_t kMaxCiphertextExpansion = 256;
inline constexpr size_t kMaxCiphertextLen = kMaxPlaintextLen + kMaxCiphertextExpansion;
inline constexpr size_t kMaxRecordLen = kRecordHeaderLen + kMaxCiphertextLen;
// RFC 8449 §4: "Endpoints MUST NOT send a record_size_limit extension with a value smaller
// than 64." In TLS 1.3 the largest meaningful value is 2^14 + 1 (it counts the inner content
// type).
inline constexpr uint16_t kMinRecordSizeLimit = 64;
inline constexpr uint32_t kMaxRecordSizeLimitTls13 = kMaxPlaintextLen + 1;

// Returns the most content bytes a peer may put in one record given the record_size_limit
// we advertised (RFC 8449 §4: in TLS 1.3 the limit counts the inner content type and
// padding, in TLS 1.2 it does not); values above the protocol maximum are capped.
constexpr size_t plaintext_limit_for_record_size_limit(uint32_t limit, bool tls13) noexcept {
  const size_t content = tls13 ? limit - 1 : limit;
  return content < kMaxPlaintextLen ? content : kMaxPlaintextLen;
}

// One record as the wire carried it. header is the 5 bytes (also the AEAD additional data
// for a protected record); fragment is TLSPlaintext.fragment or
// TLSCiphertext.encrypted_record. Both are views: into the caller's piece when !assembled,
// else into the deframer's buffer (valid until release_assembled()).
struct Record {
  ContentType type = ContentType::kInvalid;
  uint16_t version = 0;
  std::span<uint8_t> header;
  std::span<uint8_t> fragment;
  bool assembled = false;
};

class Deframer {
 public:
  struct Config {
    // Most content bytes per record (2^14, or less after we advertised record_size_limit).
    size_t max_plaintext_len = kMaxPlaintextLen;
  };

  struct Stats {
    uint64_t records = 0;
    uint64_t assembled = 0;     // records that had to be copied together
    uint64_t bytes_copied = 0;  // bytes copied into the assembly buffer
  };

  // The outcome of one next() call: how many bytes of the piece were used, and the record
  // completed by them if any.
  struct Step {
    size_t consumed = 0;
    bool has_record = false;
    Record record;
  };

  Deframer() noexcept = default;
  explicit Deframer(const Config& config) noexcept {
    set_max_plaintext_len(config.max_plaintext_len);
  }
  Deframer(Deframer&& o) noexcept;
  Deframer& operator=(Deframer&& o) noexcept;
  Deframer(const Deframer&) = delete;
  Deframer& operator=(const Deframer&) = delete;
  ~Deframer();

  // Reads from piece, the stream bytes that follow everything consumed so far. Returns the
  // bytes used and at most one record. Call again with the rest of the piece
  // (piece.subspan(consumed)) until it is empty. Returns consumed == 0 with no record only
  // when the piece is empty or the assembly buffer is still held (release_assembled()).
  // A record returned as a view into piece borrows it: the caller keeps the memory alive.
  // Errors are fatal for the connection; the deframer is unusable after one.
  Result<Step, Error> next(std::span<uint8_t> piece) noexcept;

  // Hands the assembly buffer back after the caller is done with an assembled record (its
  // memory is freed).
  void release_assembled() noexcept;
  bool assembly_held() const noexcept { return held_; }
  // Returns true while part of a record is buffered (the stream is mid-record).
  bool mid_record() const noexcept { return filled_ != 0; }
  // Heap bytes held now: 0 unless a partial or a held assembled record needs them.
  size_t assembly_capacity() const noexcept { return capacity_; }

  // After the handshake: records must carry legacy_record_version 0x0303 and content at
  // most max_plaintext_len (record_size_limit negotiated); until then any 0x03XX passes
  // (§5.1: ClientHello records may carry 0x0301).
  void set_strict_version(bool strict) noexcept { strict_version_ = strict; }
  void set_max_plaintext_len(size_t n) noexcept;
  // Protected records may be up to 256 bytes longer than plaintext ones (§5.2).
  void set_protected(bool on) noexcept { protected_ = on; }

  const Stats& stats() const noexcept { return stats_; }

 private:
  Result<void, Error> check_header(const uint8_t* h) const noexcept;
  size_t max_fragment_len() const noexcept {
    return config_.max_plaintext_len + (protected_ ? kMaxCiphertextExpansion : 0);
  }

  // Grows buf_ to at least need bytes of the record (total bytes with its header): doubling,
  // capped at total.
  bool grow(size_t need, size_t total) noexcept;

  Config config_;
  Stats stats_;
  uint8_t header_[kRecordHeaderLen] = {};  // the partial record's header, until its body comes
  uint8_t* buf_ = nullptr;  // header + fragment of the record being assembled (malloc'd)
  size_t capacity_ = 0;
  size_t filled_ = 0;  // bytes of the current partial record, header included
  bool held_ = false;
  bool strict_version_ = false;
  bool protected_ = false;
  bool failed_ = false;
};

// Parses a decrypted TLSInnerPlaintext (§5.4): content || type || zeros. Returns the real
// content type and the content (a prefix of plaintext). Errors: no non-zero byte
// (kAllZeroInnerPlaintext), an unknown or change_cipher_spec inner type (kBadRecordType /
// kBadChangeCipherSpec), more than max_plaintext_len + 1 bytes (kPlaintextOverflow), or an
// empty handshake/alert (kEmptyFragment).
struct InnerPlaintext {
  ContentType type = ContentType::kInvalid;
  std::span<uint8_t> content;
};
Result<InnerPlaintext, Error> parse_inner_plaintext(
    std::span<uint8_t> plaintext, size_t max_plaintext_len = kMaxPlaintextLen) noexcept;

// Where the connection stands for the middlebox-compatibility change_cipher_spec (§5):
// "An implementation may receive an unencrypted record of type change_cipher_spec consisting
// of the single byte value 0x01 at any time after the first ClientHello message has been
// sent or received and before the peer's Finished message has been received and MUST simply
// drop it without further processing."
struct CcsWindow {
  bool first_client_hello_done = false;
  bool peer_finished_received = false;
};

// Returns ok if the change_cipher_spec record rec must be dropped silently; else
// kBadChangeCipherSpec (not exactly 0x01) or kUnexpectedChangeCipherSpec (outside the
// window). Call only for outer type change_cipher_spec.
Result<void, Error> check_compat_ccs(const Record& rec, const CcsWindow& window) noexcept;

// Writes a plaintext record header for type and length at out (5 bytes), with
// legacy_record_version 0x0303 (§5.1; an initial ClientHello may use 0x0301 via version).
void write_record_header(uint8_t* out, ContentType type, uint16_t length,
                         uint16_t version = 0x0303) noexcept;

}  // namespace linetls::tls
