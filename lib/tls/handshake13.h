// What the TLS 1.3 server and client state machines (server13.h, client13.h) have in common:
// encryption levels, the flight of handshake bytes a machine hands its caller, the wait
// reason it stops with, and the traffic secrets it derives.
//
// The machines are sans-IO. The caller deframes records, opens them, reassembles handshake
// messages (HandshakeReassembler) and feeds each whole message to the machine; the machine
// answers with the reason it stopped and, on kFlush, a Flight: handshake bytes per level,
// which the caller frames into records and protects under that level's write keys (taken
// from secrets() when the level is first used). The caller also drops middlebox-compatibility
// change_cipher_spec records (check_compat_ccs) and, on kError, sends the one alert
// to_alert(error()) and nothing else.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <variant>
#include <vector>

#include "lib/base/result.h"
#include "lib/crypto/hash.h"
#include "lib/tls/cipher_suite.h"
#include "lib/tls/errors.h"
#include "lib/tls/handshake_msg.h"

namespace linetls::tls {

// The three key epochs of a connection without 0-RTT (§7.3).
enum class Level : uint8_t { kInitial, kHandshake, kApplication };
inline constexpr size_t kNumLevels = 3;

// Why a machine stopped.
enum class Wait : uint8_t {
  kNeedMessage,       // feed the next handshake message
  kFlush,             // take_flight() has bytes to send; then the machine needs a message or
                      // is done (wait() says which)
  // A server machine stopped at a public-key step: take_pk_job(), run it (pk_job.h), give
  // it back with complete_pk(). Nothing else may be fed meanwhile.
  kPendingKeyExchange,  // (EC)DHE: key generation and/or the shared secret
  kPendingSignature,    // the signature of our CertificateVerify / ServerKeyExchange
  kPendingVerify,       // the client's certificate chain, or its CertificateVerify (mTLS)
  kDone,              // handshake complete; application secrets are ready
  kError,             // error() says why; send to_alert(error()) and close
};

// Returns the name of w ("need_message").
const char* to_string(Wait w) noexcept;

// Handshake bytes to send, whole messages in order, per level. Levels are sent in order:
// everything at kInitial before anything at kHandshake, and so on.
struct Flight {
  std::vector<uint8_t> bytes[kNumLevels];
  // True when bytes[kApplication] ends with our KeyUpdate: after sending it, switch the
  // application write keys to the new secret in secrets() (§4.6.3).
  bool rekey_after_application = false;
  // True when a middlebox-compatibility change_cipher_spec record (the single byte 0x01,
  // plaintext) goes out right after bytes[kInitial] (RFC 8446 Appendix D.4): set once per
  // connection, with the server's first ServerHello or HelloRetryRequest.
  bool compat_change_cipher_spec = false;

  bool empty() const noexcept { return bytes[0].empty() && bytes[1].empty() && bytes[2].empty(); }
};

// The secrets a handshake derives, filled in as it goes: handshake secrets once the
// ServerHello is known, application, exporter and resumption secrets at the end.
struct Secrets13 {
  SuiteInfo suite{};
  crypto::HashSecret client_handshake;
  crypto::HashSecret server_handshake;
  crypto::HashSecret client_application;
  crypto::HashSecret server_application;
  crypto::HashSecret exporter_master;
  crypto::HashSecret resumption_master;
};

// Post-handshake bookkeeping shared by both machines once they are done (§4.6).
struct PostHandshake13 {
  uint64_t peer_key_updates = 0;  // the peer's application secret generation
  uint64_t own_key_updates = 0;   // ours
  uint64_t tickets = 0;           // NewSessionTickets received (client)
};

// Handles one post-handshake message for the side is_server. KeyUpdate (§4.6.3): the peer's
// application traffic secret moves to the next generation (peer_key_updates grows; the
// caller checks the message ended its record and installs the new read key), and
// "update_requested" is answered with our own KeyUpdate appended to flight (our secret moves
// on; flight.rekey_after_application is set). NewSessionTicket (§4.6.1) is checked and
// counted by a client; a server receiving one, or anything else, is kUnexpectedMessage.
Result<void, Error> handle_post_handshake13(bool is_server, const HandshakeMessage& m,
                                            Secrets13& secrets, Flight& flight,
                                            PostHandshake13& counters) noexcept;

// Appends our KeyUpdate (asking the peer to update too if request_peer) to flight and moves
// our application traffic secret to the next generation.
Result<void, Error> send_key_update13(bool is_server, bool request_peer, Secrets13& secrets,
                                      Flight& flight, PostHandshake13& counters) noexcept;

// Milliseconds of wall-clock time from the injected clock, or the system clock when none
// is injected (ticket ages and lifetimes are wall-clock quantities).
uint64_t clock_ms(const std::function<uint64_t()>& injected) noexcept;

// True for the reasons a machine stops at with a public-key job out.
inline bool is_pending(Wait w) noexcept {
  return w == Wait::kPendingKeyExchange || w == Wait::kPendingSignature ||
         w == Wait::kPendingVerify;
}

// The wait reason of a machine between steps: done, failed, or waiting for a message.
template <typename Done, typename Failed, typename State>
Wait wait_of(const State& state) noexcept {
  if (std::holds_alternative<Done>(state)) {
    return Wait::kDone;
  }
  if (std::holds_alternative<Failed>(state)) {
    return Wait::kError;
  }
  return Wait::kNeedMessage;
}

}  // namespace linetls::tls
