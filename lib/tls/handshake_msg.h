// Handshake message framing (RFC 8446 §4, §5.1): message types and their names, and the
// reassembly of messages from handshake record contents.
//
// §5.1: "Handshake messages MAY be coalesced into a single TLSPlaintext record or fragmented
// across several records". HandshakeReassembler takes the content of each handshake record
// in turn and hands back whole messages. A message lying inside one record comes back as a
// view into that record (no copy); one spanning records is assembled in an owned buffer.
//
// Allocation follows the bytes, not the announcement: the 4-byte header is checked first
// (a known type the owner expects now, a length within the owner's limit for that type,
// MessageRule), then the buffer grows as body bytes actually arrive (doubling, never past
// the announced length), and it is given back once no partial message is held: at the
// next call after an assembled message was handed out, or at trim(). A peer that announces
// 64 KiB and sends 5 bytes costs a few hundred bytes, not 64 KiB.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "lib/base/result.h"
#include "lib/tls/errors.h"

namespace linetls::tls {

// RFC 8446 §4 HandshakeType, plus the TLS 1.2 messages (RFC 5246 §7.4).
enum class HandshakeType : uint8_t {
  kHelloRequest = 0,  // TLS 1.2
  kClientHello = 1,
  kServerHello = 2,
  kNewSessionTicket = 4,
  kEndOfEarlyData = 5,
  kEncryptedExtensions = 8,
  kCertificate = 11,
  kServerKeyExchange = 12,  // TLS 1.2
  kCertificateRequest = 13,
  kServerHelloDone = 14,  // TLS 1.2
  kCertificateVerify = 15,
  kClientKeyExchange = 16,  // TLS 1.2
  kFinished = 20,
  kKeyUpdate = 24,
  kMessageHash = 254,  // §4.4.1 synthetic; never on the wire
};

inline constexpr size_t kHandshakeHeaderLen = 4;
inline constexpr size_t kDefaultMaxHandshakeMessageLen = 64 * 1024;
// Room for a ClientHello carrying one of our tickets with the largest client identity a
// ticket holds (16 KiB, ticket13.h) besides post-quantum key shares.
inline constexpr size_t kDefaultMaxClientHelloLen = 32 * 1024;

// Returns the RFC name ("client_hello") of a type byte, or nullptr if the byte is no
// message TLS 1.2 or 1.3 sends on the wire (message_hash included: it is never received).
const char* handshake_type_name(uint8_t type) noexcept;

// One whole handshake message. bytes is header + body (what the transcript hashes);
// body follows the 4-byte header.
struct HandshakeMessage {
  HandshakeType type = HandshakeType::kClientHello;
  std::span<const uint8_t> bytes;
  std::span<const uint8_t> body;
  bool assembled = false;
};

// What the owner accepts as its next message, checked on the 4-byte header before any of
// the body is buffered. A type listed with refuse set fails with that error (a renegotiating
// ClientHello); a listed type whose length exceeds max_len is kHandshakeMessageTooLarge; a
// type not listed is kUnexpectedMessage (the owner's state machine would say the same once
// the whole message arrived, so the early refusal changes no alert).
struct MessageRule {
  HandshakeType type = HandshakeType::kClientHello;
  uint32_t max_len = 0;  // the largest body accepted
  std::optional<Error> refuse;
};

// The rules of one state (a server expects one message type at a time; two leave room).
struct MessageRules {
  MessageRule rule[2];
  size_t num = 0;
  std::span<const MessageRule> view() const noexcept { return {rule, num}; }
};

// Largest bodies of the small messages a server receives, for MessageRule:
// CertificateVerify (§4.4.3 / RFC 5246 §7.4.8: a 2-byte scheme and signature<0..2^16-1>,
// here room for RSA up to 16384 bits), a TLS 1.3 Finished (Hash.length, at most SHA-384's 48)
// and KeyUpdate (§4.6.3: one byte).
inline constexpr uint32_t kMaxCertificateVerifyLen = 2 + 2 + 2048;
inline constexpr uint32_t kMaxFinished13Len = 48;
inline constexpr uint32_t kKeyUpdateLen = 1;

class HandshakeReassembler {
 public:
  struct Step {
    size_t consumed = 0;
    bool has_message = false;
    HandshakeMessage message;
  };

  explicit HandshakeReassembler(size_t max_message_len = kDefaultMaxHandshakeMessageLen) noexcept
      : max_message_len_(max_message_len) {}
  HandshakeReassembler(HandshakeReassembler&& o) noexcept;
  HandshakeReassembler& operator=(HandshakeReassembler&& o) noexcept;
  HandshakeReassembler(const HandshakeReassembler&) = delete;
  HandshakeReassembler& operator=(const HandshakeReassembler&) = delete;
  ~HandshakeReassembler();

  // Reads from content, the rest of a handshake record's content; returns the bytes used
  // and at most one message. Call again with content.subspan(consumed) until it is empty,
  // then feed the next handshake record. A returned message is valid until the next call
  // or trim() (assembled) or as long as content's memory (a view). rules says what may come
  // now (MessageRule); empty: any known type up to the constructor's max_message_len. Errors:
  // an unknown type (kUnknownHandshakeType), a type the rules do not list
  // (kUnexpectedMessage) or refuse, a length above the limit (kHandshakeMessageTooLarge);
  // all are fatal.
  Result<Step, Error> next(std::span<const uint8_t> content,
                           std::span<const MessageRule> rules = {}) noexcept;

  // §5.1: "Handshake messages MUST NOT span key changes. Implementations MUST verify that
  // all messages immediately preceding a key change align with a record boundary; if not,
  // then they MUST terminate the connection with an unexpected_message alert." Call after
  // the message that precedes a key change (ClientHello, ServerHello, EndOfEarlyData,
  // Finished, KeyUpdate) with the bytes of its record not yet consumed; returns
  // kHandshakeSpansKeyChange if any remain or a partial message is buffered.
  Result<void, Error> check_key_change(std::span<const uint8_t> rest_of_record) const noexcept;

  // Gives the assembly buffer back when no partial message is held (an assembled message
  // handed out before is invalid from here on). The owner calls it once it is done with the
  // messages of a record, so an idle connection holds no buffer.
  void trim() noexcept;

  // Returns true while a partial message is buffered.
  bool mid_message() const noexcept { return filled_ != 0; }
  uint64_t num_assembled() const noexcept { return num_assembled_; }
  // Heap bytes held now (0 when no partial or handed-out message needs them).
  size_t capacity() const noexcept { return capacity_; }

 private:
  Result<void, Error> check_header(const uint8_t* h,
                                   std::span<const MessageRule> rules) const noexcept;
  // Grows buf_ to hold at least need bytes (of total_): doubling, capped at total_.
  bool grow(size_t need) noexcept;
  void release() noexcept;

  size_t max_message_len_;
  uint8_t header_[kHandshakeHeaderLen] = {};
  uint8_t* buf_ = nullptr;  // header + body of the message being assembled (malloc'd)
  size_t capacity_ = 0;
  size_t filled_ = 0;  // bytes of the current partial message, header included
  size_t total_ = 0;   // its announced length, header included (once the header is in)
  uint64_t num_assembled_ = 0;
  bool handed_out_ = false;  // buf_ (or header_) holds a message handed out by next()
  bool failed_ = false;
};

}  // namespace linetls::tls
