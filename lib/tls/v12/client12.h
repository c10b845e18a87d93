// The TLS 1.2 client handshake (RFC 5246 §7.3, ECDHE per RFC 8422, EMS per RFC 7627), in the
// shape of Server12. Written first to test the server in process; it is also what a load
// generator needs. It checks the server's ServerKeyExchange signature with the leaf
// certificate's key, and the server's chain and name only with config.verify_ca.
//
//   start() --ClientHello--> ReadServerHello --> ReadServerCertificate
//     --> ReadServerKeyExchange --> ReadCertificateRequestOrDone --> [ReadServerHelloDone]
//     --([Certificate], ClientKeyExchange, [CertificateVerify], CCS, Finished)-->
//   ReadChangeCipherSpec --> ReadServerFinished --> Done
//
// Errors: a suite, group, scheme or ALPN protocol we did not offer is kIllegalParameter; a
// ServerHello without extended_master_secret when we offered it is kHandshakeFailure (RFC
// 7627 §5.2: we require it then), with it when we did not kUnsolicitedExtension (tests run
// without EMS through config.extended_master_secret: the RFC 5246 §8.1 master secret); a
// missing or non-empty renegotiation_info when we sent one is kHandshakeFailure (RFC 5746
// §3.4); with config.tls13_capable, the RFC 8446 §4.1.3 sentinel is kDowngradeDetected; a
// bad ServerKeyExchange signature kBadCertificateVerify; a bad server Finished kBadFinished.
//
// Resumption (for tests and load generation): config.session_ticket offers RFC 5077 (an
// empty SessionTicket extension, or config.resume's ticket); config.resume offers a saved
// session (its ticket, with a fresh random session_id to recognise acceptance, RFC 5077
// §3.4; or its session ID). A ServerHello echoing that non-empty session_id resumes: it
// must carry the session's suite (kIllegalParameter otherwise) and EMS exactly when the
// session had it (RFC 7627 §5.3, kHandshakeFailure), then [NewSessionTicket], the server's
// CCS and Finished come, and we
// answer with CCS and Finished. saved_session() returns what to offer next time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lib/crypto/cert.h"
#include "lib/crypto/hash.h"
#include "lib/crypto/key.h"
#include "lib/crypto/kx.h"
#include "lib/crypto/rng.h"
#include "lib/tls/errors.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/hello.h"
#include "lib/tls/v12/handshake12.h"
#include "lib/tls/v12/key_schedule12.h"

namespace linetls::tls::v12 {

// What a client keeps to resume a session. Move-only (the master secret).
struct SavedSession12 {
  std::vector<uint8_t> session_id;  // from the ServerHello (empty: none)
  std::vector<uint8_t> ticket;      // from the NewSessionTicket (empty: none)
  uint16_t suite = 0;
  crypto::MasterSecret master;
  bool extended_master_secret = true;  // master is RFC 7627's
};

struct ClientConfig12 {
  std::vector<uint16_t> cipher_suites = {0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8};
  std::vector<uint16_t> groups = {0x001d, 0x0017, 0x0018};
  std::vector<uint16_t> signature_algorithms = {0x0403, 0x0503, 0x0804, 0x0805, 0x0806,
                                                0x0807, 0x0401, 0x0501, 0x0601};
  std::string server_name;        // empty: no SNI
  std::vector<std::string> alpn;  // empty: no ALPN
  // Our certificate for a CertificateRequest (borrowed); nullptr: answer with an empty one.
  const Certificate12* certificate = nullptr;
  bool tls13_capable = false;  // check the downgrade sentinel
  bool session_ticket = false;  // offer RFC 5077 session tickets
  const SavedSession12* resume = nullptr;  // offer this session (borrowed)
  // Verify the server's chain against these anchors (borrowed; nullptr: not checked, only
  // the ServerKeyExchange signature with the leaf's key) and, unless empty, its name.
  const crypto::CaStore* verify_ca = nullptr;
  std::string verify_name;
  crypto::Rng* rng = nullptr;  // nullptr: crypto::os_rng()
  // Tests only: what goes into the ClientHello besides the above. extended_master_secret:
  // offer RFC 7627 (and require it back), or not (and refuse it back: the RFC 5246 §8.1
  // master secret).
  bool extended_master_secret = true;
  bool renegotiation_info = true;
  std::vector<uint8_t> renegotiated_connection;
  std::vector<uint8_t> compression_methods;
  uint16_t legacy_version = 0x0303;
};

class Client12 {
 public:
  // config must outlive the machine.
  explicit Client12(const ClientConfig12& config) noexcept;

  // Writes the ClientHello; returns kFlush (or kError).
  Wait start() noexcept;
  Wait handle(const HandshakeMessage& msg) noexcept;
  // The server's ChangeCipherSpec (see Server12::handle_change_cipher_spec); on success the
  // caller switches its read state to keys().server_write.
  Wait handle_change_cipher_spec(bool handshake_pending) noexcept;
  Wait wait() const noexcept;
  bool expecting_change_cipher_spec() const noexcept;
  // What the next handshake message may be and how large (as Server12's): the server's
  // Certificate up to max_certificate, its other messages up to max_hello.
  MessageRules next_message_rules(size_t max_hello, size_t max_certificate) const noexcept;
  Flight12 take_flight() noexcept {
    Flight12 f = std::move(flight_);
    flight_ = Flight12{};  // a moved-from flight keeps its change_cipher_spec flag
    return f;
  }

  const SuiteInfo& suite() const noexcept { return suite_; }
  // The ECDHE group of a full handshake (once its ServerKeyExchange is in).
  crypto::NamedGroup group() const noexcept { return group_; }
  const KeyBlock& keys() const noexcept { return keys_; }
  std::span<const uint8_t> master_secret() const noexcept { return master_.view(); }
  // True when the master secret is RFC 7627's (valid once the ServerHello is in).
  bool extended_master_secret() const noexcept { return ems_; }
  Error error() const noexcept { return error_; }
  std::span<const uint8_t> alpn() const noexcept { return alpn_; }
  bool certificate_requested() const noexcept { return certificate_requested_; }
  bool sent_certificate() const noexcept { return sent_certificate_; }
  // True once the server accepted the offered session (abbreviated handshake).
  bool resumed() const noexcept { return resumed_; }
  // The session to offer next time (after Done): empty id and ticket when the server gave
  // neither.
  SavedSession12 saved_session() const;
  std::string_view state_name() const noexcept;

  struct Context {
    std::vector<uint8_t> messages;  // every handshake message so far, raw
    uint8_t client_random[kRandomLen] = {};
    uint8_t server_random[kRandomLen] = {};
    bool abbreviated = false;
  };
  struct Start {};
  struct ReadServerHello {
    Context ctx;
  };
  struct ReadServerCertificate {
    Context ctx;
  };
  struct ReadServerKeyExchange {
    Context ctx;
    crypto::PublicKey server_key;
  };
  struct ReadCertificateRequestOrDone {
    Context ctx;
    crypto::NamedGroup group;
    std::vector<uint8_t> server_point;
  };
  struct ReadServerHelloDone {
    Context ctx;
    crypto::NamedGroup group;
    std::vector<uint8_t> server_point;
    std::vector<uint16_t> requested_schemes;
  };
  struct ReadChangeCipherSpec {
    Context ctx;
  };
  struct ReadServerFinished {
    Context ctx;
  };
  struct Done {};
  struct Failed {};
  using State = std::variant<Start, ReadServerHello, ReadServerCertificate, ReadServerKeyExchange,
                             ReadCertificateRequestOrDone, ReadServerHelloDone,
                             ReadChangeCipherSpec, ReadServerFinished, Done, Failed>;
  static constexpr std::string_view kStateNames[] = {
      "start",
      "read_server_hello",
      "read_server_certificate",
      "read_server_key_exchange",
      "read_certificate_request_or_done",
      "read_server_hello_done",
      "read_change_cipher_spec",
      "read_server_finished",
      "done",
      "failed"};

 private:
  Result<void, Error> on_server_hello(ReadServerHello s, const HandshakeMessage& m) noexcept;
  Result<void, Error> on_server_certificate(ReadServerCertificate s,
                                            const HandshakeMessage& m) noexcept;
  Result<void, Error> on_server_key_exchange(ReadServerKeyExchange s,
                                             const HandshakeMessage& m) noexcept;
  Result<void, Error> on_certificate_request_or_done(ReadCertificateRequestOrDone s,
                                                     const HandshakeMessage& m) noexcept;
  Result<void, Error> on_server_hello_done(ReadServerHelloDone s,
                                           const HandshakeMessage& m) noexcept;
  Result<void, Error> on_server_finished(ReadServerFinished s, const HandshakeMessage& m) noexcept;
  // A NewSessionTicket where the server's CCS is expected (RFC 5077 §3.3).
  Result<void, Error> on_new_session_ticket(ReadChangeCipherSpec s,
                                            const HandshakeMessage& m) noexcept;
  // Writes our second flight and moves to ReadChangeCipherSpec.
  Result<void, Error> send_client_flight(Context ctx, crypto::NamedGroup group,
                                         std::span<const uint8_t> server_point,
                                         const std::vector<uint16_t>* requested_schemes) noexcept;
  Result<crypto::Digest, Error> hash_of(const Context& ctx) const noexcept;
  Wait finish(Result<void, Error> r) noexcept;

  const ClientConfig12& config_;
  State state_;
  Flight12 flight_;
  Error error_ = Error::kInternalError;
  SuiteInfo suite_{};
  crypto::NamedGroup group_ = crypto::NamedGroup::kX25519;
  KeyBlock keys_;
  MasterSecret master_;
  std::vector<uint8_t> alpn_;
  bool certificate_requested_ = false;
  bool sent_certificate_ = false;
  bool resumed_ = false;
  bool ems_ = true;
  bool ticket_expected_ = false;  // the ServerHello carried SessionTicket
  bool ticket_received_ = false;
  std::vector<uint8_t> offered_session_id_;
  std::vector<uint8_t> server_session_id_;
  std::vector<uint8_t> new_ticket_;
};

}  // namespace linetls::tls::v12
