// TLS 1.2 session resumption state (RFC 5246 §7.3 session IDs, RFC 5077 session tickets):
// what a resumable session is, its opaque encoding inside a ticket, and SessionCache12, the
// bounded per-worker session-ID cache.
//
// Tickets are sealed by the same rotating tls::TicketKeys as TLS 1.3 tickets. TicketKeys
// seals a TLS 1.3 TicketContents, so a 1.2 session rides inside one: the encoding below goes
// in server_name, alpn carries the marker kTicket12Marker, and psk is 32 random bytes that
// are never disclosed. A 1.2 ticket offered as a TLS 1.3 PSK identity therefore fails the
// binder check (nobody knows that PSK), and a 1.3 ticket offered in the 1.2 SessionTicket
// extension lacks the marker and does not open as a 1.2 session (full handshake).
//
// A session records whether its master secret is RFC 7627's (extended_master_secret) or RFC
// 5246 §8.1's: RFC 7627 §5.3 decides from it whether a ClientHello may resume it (Server12).
// The encoding carries the flag from version 2 on; a version 1 encoding (every session was
// EMS then, but the flag was implicit) does not decode, so such a ticket gets a full
// handshake.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/base/result.h"
#include "lib/crypto/cert.h"
#include "lib/crypto/hash.h"
#include "lib/crypto/rng.h"
#include "lib/tls/errors.h"
#include "lib/tls/ticket13.h"
#include "lib/tls/v12/cipher_suite12.h"

namespace linetls::tls::v12 {

inline constexpr size_t kSessionIdLen = 32;
inline constexpr uint8_t kTicket12Marker[] = {'t', 'l', 's', '1', '2', '-', 's', 'e', 's', 's'};

// A resumable TLS 1.2 session, as the server remembers it. Move-only (the master secret).
struct Session12 {
  CipherSuite suite = CipherSuite::kEcdheEcdsaAes128GcmSha256;
  crypto::MasterSecret master;
  bool extended_master_secret = true;  // master is RFC 7627's; false: RFC 5246 §8.1's
  uint64_t created_s = 0;       // server clock (seconds) at the full handshake
  uint32_t lifetime_s = 0;      // resumable until created_s + lifetime_s
  std::vector<uint8_t> server_name;  // SNI of the full handshake; empty: none
  std::optional<crypto::VerifiedIdentity> client_identity;  // mTLS: the verified client

  Session12 clone() const;
  // True while now_s is within [created_s, created_s + lifetime_s).
  bool fresh(uint64_t now_s) const noexcept {
    return now_s >= created_s && now_s - created_s < lifetime_s;
  }
};

// The opaque encoding (version byte first, then the EMS flag). encode returns an empty vector
// for a session a ticket cannot carry (a client identity over kMaxTicketIdentityLen or with
// more subjectAltNames than decode takes); decode returns nullopt on anything malformed, an
// unknown version, suite or EMS flag, or a master secret that is not 48 bytes.
std::vector<uint8_t> encode_session12(const Session12& s);
std::optional<Session12> decode_session12(std::span<const uint8_t> plain);

// Seals s into a ticket under keys' current key (rng draws the undisclosed PSK filler).
Result<std::vector<uint8_t>, Error> seal_ticket12(const TicketKeys& keys, crypto::Rng& rng,
                                                  const Session12& s);
// Returns the session in ticket, or nullopt when it does not open or is not a 1.2 session.
std::optional<Session12> open_ticket12(const TicketDecoder& keys, std::span<const uint8_t> ticket);

// A bounded session-ID cache for one worker (not thread-safe): fixed capacity, entries
// expire by their own lifetime, and when full the CLOCK algorithm evicts an entry not used
// since the hand last passed (approximate LRU without moving entries).
class SessionCache12 {
 public:
  explicit SessionCache12(size_t capacity) : slots_(capacity) {}

  // Stores s under id (kSessionIdLen bytes; others are ignored), replacing any entry with
  // that id.
  void insert(std::span<const uint8_t> id, Session12 s);
  // Returns a copy of the session stored under id if it is still fresh at now_s; an expired
  // entry is removed.
  std::optional<Session12> find(std::span<const uint8_t> id, uint64_t now_s);
  void erase(std::span<const uint8_t> id);

  size_t size() const noexcept { return index_.size(); }
  size_t capacity() const noexcept { return slots_.size(); }
  uint64_t evictions() const noexcept { return evictions_; }

 private:
  struct Slot {
    std::string id;
    Session12 session;
    bool used = false;
    bool referenced = false;
  };
  std::vector<Slot> slots_;
  std::unordered_map<std::string, size_t> index_;
  size_t hand_ = 0;
  uint64_t evictions_ = 0;
};

}  // namespace linetls::tls::v12
