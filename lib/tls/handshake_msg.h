// Handshake message framing (RFC 8446 §4, §5.1): message types and their names, and the
// reassembly of messages from handshake record contents.
//
// §5.1: "Handshake messages MAY be coalesced into a single TLSPlaintext record or fragmented
// across several records". HandshakeReassembler takes the content of each handshake record
// in turn and hands back whole messages. A message lying inside one record comes back as a
// view into that record (no copy); one spanning records is assembled in an owned buffer
// that grows to at most 4 + max_message_len bytes (the configured limit, checked on the
// 4-byte header before anything is buffered).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
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

class HandshakeReassembler {
 public:
  struct Step {
    size_t consumed = 0;
    bool has_message = false;
    HandshakeMessage message;
  };

  explicit HandshakeReassembler(size_t max_message_len = kDefaultMaxHandshakeMessageLen) noexcept
      : max_message_len_(max_message_len) {}

  // Reads from content, the rest of a handshake record's content; returns the bytes used
  // and at most one message. Call again with content.subspan(consumed) until it is empty,
  // then feed the next handshake record. A returned message is valid until the next call
  // (assembled) or as long as content's memory (a view). Errors: an unknown type
  // (kUnknownHandshakeType), a length above the limit (kHandshakeMessageTooLarge); both are
  // fatal.
  Result<Step, Error> next(std::span<const uint8_t> content) noexcept;

  // §5.1: "Handshake messages MUST NOT span key changes. Implementations MUST verify that
  // all messages immediately preceding a key change align with a record boundary; if not,
  // then they MUST terminate the connection with an unexpected_message alert." Call after
  // the message that precedes a key change (ClientHello, ServerHello, EndOfEarlyData,
  // Finished, KeyUpdate) with the bytes of its record not yet consumed; returns
  // kHandshakeSpansKeyChange if any remain or a partial message is buffered.
  Result<void, Error> check_key_change(std::span<const uint8_t> rest_of_record) const noexcept;

  // Returns true while a partial message is buffered.
  bool mid_message() const noexcept { return filled_ != 0; }
  uint64_t num_assembled() const noexcept { return num_assembled_; }

 private:
  Result<void, Error> check_header(const uint8_t* h) const noexcept;

  size_t max_message_len_;
  std::unique_ptr<uint8_t[]> buf_;
  size_t capacity_ = 0;
  size_t filled_ = 0;
  uint64_t num_assembled_ = 0;
  bool failed_ = false;
};

}  // namespace linetls::tls
