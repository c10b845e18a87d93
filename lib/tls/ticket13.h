// Stateless TLS 1.3 session tickets (RFC 8446 §4.6.1, §4.2.11, §8): what a ticket carries,
// and TicketKeys, which seals and opens tickets with rotating AES-256-GCM keys.
//
// ticket = key_id (4) || nonce (12) || AES-256-GCM(key[key_id], nonce, aad = key_id,
//                                                  TicketContents) || tag (16)
//
// TicketKeys holds the current key and the one before it. rotate() makes a fresh current key
// and keeps the old current as previous; rotate_to() derives the key of a numbered epoch from
// a master secret, so workers that share the master agree on the keys without sharing state; a ticket under any older key (or an unknown key id,
// or one that fails to authenticate) simply does not open, and the server falls back to a
// full handshake: a ticket that does not open is never an error.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "lib/base/result.h"
#include "lib/base/secret.h"
#include "lib/crypto/aead.h"
#include "lib/crypto/cert.h"
#include "lib/crypto/hash.h"
#include "lib/crypto/rng.h"
#include "lib/tls/cipher_suite.h"
#include "lib/tls/errors.h"

namespace linetls::tls {

// What the server needs to resume a session from a ticket.
struct TicketContents {
  CipherSuite suite = CipherSuite::kAes128GcmSha256;
  crypto::HashSecret psk;   // §4.6.1 resumption PSK for this ticket's nonce
  uint64_t issued_ms = 0;   // server clock at issue
  uint32_t lifetime_s = 0;  // ticket_lifetime sent
  uint32_t age_add = 0;     // ticket_age_add sent
  std::vector<uint8_t> alpn;
  std::vector<uint8_t> server_name;  // SNI of the original connection; empty: none
  // The client certificate identity the original handshake verified; nullopt: none. A
  // resumed session takes it over (RFC 8446 §2.2: the PSK stands for the authentication of
  // the original handshake).
  std::optional<crypto::VerifiedIdentity> client_identity;
};

// The most encoded identity bytes (subject, SANs, fingerprint) a ticket carries; a session
// whose identity is larger gets no tickets.
inline constexpr size_t kMaxTicketIdentityLen = 16 * 1024;
// Returns the encoded size of id inside a ticket.
size_t ticket_identity_len(const crypto::VerifiedIdentity& id) noexcept;

// The plaintext encoding inside a ticket (version byte first). Exposed for tests. Version 2
// added client_identity; a version 1 ticket (issued before it) does not decode, so it falls
// back to a full handshake.
std::vector<uint8_t> encode_ticket_contents(const TicketContents& c);
std::optional<TicketContents> decode_ticket_contents(std::span<const uint8_t> plain);

inline constexpr size_t kTicketKeyIdLen = 4;
inline constexpr size_t kTicketOverhead =
    kTicketKeyIdLen + crypto::kAeadNonceLen + crypto::kAeadTagLen;

// Opens tickets for the server. TicketKeys is the production one; tests may inject PSKs
// for identities they know (RFC 8448 §4).
class TicketDecoder {
 public:
  virtual ~TicketDecoder() = default;
  // Returns the contents of ticket, or nullopt when it does not open (never an error).
  virtual std::optional<TicketContents> open(std::span<const uint8_t> ticket) const = 0;
};

// A ticket key given explicitly rather than rotated: what a ticket key file shared by
// several servers holds (the app's --ticket-key-file). Tickets sealed under it carry id.
struct ExplicitTicketKey {
  uint32_t id = 0;
  Secret<32> key;  // AES-256-GCM
};

// Derives the explicit key of one key file entry (its name and secrets as the file gives
// them; nginx and HAProxy use 48 or 80 bytes): okm = HKDF-Expand(HKDF-Extract(salt = "",
// entry), "linetls ticket file key", 36) with SHA-256; id = uint32_be(okm[0..4)), key =
// okm[4..36). Every process that reads the same entry derives the same key, so they open
// each other's tickets; the ticket bytes are our own format (this file's top), not
// OpenSSL's RFC 5077 layout that nginx and HAProxy send. kCryptoFailure if HKDF fails,
// kInternalError for an empty entry.
Result<ExplicitTicketKey, Error> derive_explicit_ticket_key(
    std::span<const uint8_t> entry) noexcept;

class TicketKeys final : public TicketDecoder {
 public:
  // batch (an AES-256-GCM capable AeadBatch, used for one op at a time) and rng are
  // borrowed and must outlive the object. Call rotate() once before use.
  TicketKeys(crypto::AeadBatch& batch, crypto::Rng& rng) noexcept : batch_(batch), rng_(rng) {}

  // Draws a new current key with a new key id; the old current becomes previous and the old
  // previous is forgotten. kCryptoFailure if the rng or the backend fails.
  Result<void, Error> rotate() noexcept;
  // Moves to the key of epoch: HKDF-Expand(HKDF-Extract(salt = "", master),
  // "linetls ticket key" || uint32_be(epoch), 32) with SHA-256, key id epoch. Does nothing
  // if epoch is the current id; from epoch - 1 the current key becomes previous; otherwise
  // both are derived (previous = epoch - 1), so a ticket of the previous epoch still opens.
  // kCryptoFailure if HKDF or the backend fails (the keys are then unchanged).
  Result<void, Error> rotate_to(uint32_t epoch, std::span<const uint8_t, 32> master) noexcept;
  // Replaces every key with keys (1 or more, distinct ids): keys[seal_index] seals new
  // tickets and any of them opens one. Until the next install() the rotating keys are not
  // used (rotate()/rotate_to() still update them, for when explicit keys are cleared).
  // kInternalError for an empty list, a bad seal_index or two keys with one id;
  // kCryptoFailure if the backend refuses a key (the keys are then unchanged).
  Result<void, Error> install(std::span<const ExplicitTicketKey> keys, size_t seal_index) noexcept;
  // Drops the explicit keys: the rotating keys seal and open again.
  void clear_explicit() noexcept { explicit_.clear(); }
  // True while explicit keys are installed.
  bool has_explicit() const noexcept { return !explicit_.empty(); }

  // Seals contents into a new ticket under the current key (kInternalError before rotate()).
  Result<std::vector<uint8_t>, Error> seal(const TicketContents& contents) const;
  std::optional<TicketContents> open(std::span<const uint8_t> ticket) const override;

  // The current key id, for tests (0 before rotate()).
  uint32_t current_id() const noexcept {
    if (!explicit_.empty()) {
      return explicit_[seal_index_].id;
    }
    return keys_[0].key ? keys_[0].id : 0;
  }

 private:
  struct Key {
    uint32_t id = 0;
    crypto::AeadKeyPtr key;
  };
  Result<Key, Error> derive(uint32_t epoch, std::span<const uint8_t, 32> master) const noexcept;
  crypto::AeadBatch& batch_;
  crypto::Rng& rng_;
  // The key that seals: the explicit one when installed, else the current rotating one.
  const Key& sealing_key() const noexcept {
    return explicit_.empty() ? keys_[0] : explicit_[seal_index_];
  }
  Key keys_[2];  // current, previous
  std::vector<Key> explicit_;  // install(): every one opens, [seal_index_] seals
  size_t seal_index_ = 0;
};

}  // namespace linetls::tls
