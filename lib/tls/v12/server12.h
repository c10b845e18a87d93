// The TLS 1.2 server handshake (RFC 5246 §7.3, ECDHE per RFC 8422, EMS per RFC 7627, the
// renegotiation indication of RFC 5746) as a resumable state machine, in the shape of
// Server13: one function per state over a std::variant of state structs, each transition
// consuming the old state; any error moves to Failed, drops the half-built flight and
// reports kError once.
//
//   ReadClientHello --(ServerHello, Certificate, ServerKeyExchange, [CertificateRequest],
//        |             ServerHelloDone)
//        v
//   [ReadClientCertificate] --> ReadClientKeyExchange --> [ReadCertificateVerify]
//                                                               |
//                       ReadChangeCipherSpec <------------------+
//                               | (the client's CCS: switch the read keys)
//                               v
//                       ReadClientFinished --(CCS, Finished)--> Done
//
// Negotiation (our order of preference throughout): the first of config.cipher_suites the
// client offers for which some certificate of the right key type (AuthKind) can sign a
// scheme from the client's signature_algorithms (certificates matching server_name first),
// and for which a group is common; the first of config.groups the client lists in
// supported_groups (RFC 8422 §5.1: any of ours when it sent none).
//
// Refusals: a legacy_version below TLS 1.2 or a supported_versions without it is
// kProtocolVersion; TLS_FALLBACK_SCSV while config.tls13_enabled is kInappropriateFallback
// (RFC 7507 §3: this server supports a higher version); a ClientHello without
// extended_master_secret is kHandshakeFailure when config.ems_policy is kRequired (RFC 7627
// §5.2), and otherwise gets the RFC 5246 §8.1 master secret; a non-empty
// renegotiated_connection is kHandshakeFailure (RFC 5746 §3.6); ec_point_formats without
// uncompressed is kIllegalParameter (RFC 8422 §5.1.2); a ClientHello after the handshake
// (renegotiation) is kRenegotiationRefused (no_renegotiation). With config.tls13_enabled
// the ServerHello.random carries the RFC 8446 §4.1.3 downgrade sentinel.
//
// Client certificates (config.client_auth): a CertificateRequest offers rsa_sign and
// ecdsa_sign, our signature schemes and config.client_ca_names; an empty client Certificate
// is accepted when optional and kHandshakeFailure when required (RFC 5246 §7.4.6: "respond
// with a fatal handshake_failure alert"; certificate_required is TLS 1.3's); a chain is
// verified against config.client_ca (kUnknownCa, kCertificateExpired, kBadCertificate, ...);
// the CertificateVerify must use a scheme we offered that fits the leaf key
// (kIllegalParameter) and verify over every handshake message before it
// (kBadCertificateVerify, decrypt_error). For that the machine keeps the raw handshake
// bytes, only when it asked for a certificate.
//
// Resumption (RFC 5246 §7.3 abbreviated handshake, RFC 5077 tickets): with
// config.ticket_keys, a client that sends the SessionTicket extension gets the empty
// extension in the ServerHello and a NewSessionTicket right before our ChangeCipherSpec
// (full handshake: after its Finished; abbreviated: after the ServerHello, the ticket
// renewed). With config.session_cache, every full handshake gets a fresh 32-byte session ID
// and is cached when it completes. A ticket that opens (else a cached session ID) is resumed
// when it is still fresh, the client offers its suite and we still enable it (RFC 5246
// §7.4.1.2: the same suite), the SNI is the same (RFC 6066 §3), and, under
// client_auth == kRequired, the session carries a verified client identity: then
//
//   ReadClientHello --(ServerHello, [NewSessionTicket], CCS, Finished)-->
//   ReadChangeCipherSpec --> ReadClientFinished --> Done
//
// Anything else falls back to a full handshake (a ticket that does not open is never an
// error). RFC 7627 §5.3 between the session and the ClientHello: a session made with EMS
// offered without it is kHandshakeFailure ("the server MUST abort the abbreviated
// handshake"); a session made without EMS offered with it gets a full handshake ("MUST NOT
// perform the abbreviated handshake"); without EMS on both sides it resumes (possible only
// under kPreferred). Sessions record which master secret they hold (Session12). The version
// dispatch that picks this machine or Server13 after the ClientHello is not here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "lib/crypto/cert.h"
#include "lib/crypto/hash.h"
#include "lib/crypto/kx.h"
#include "lib/crypto/rng.h"
#include "lib/crypto/sig.h"
#include "lib/tls/errors.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/hello.h"
#include "lib/tls/v12/cipher_suite12.h"
#include "lib/tls/pk_job.h"
#include "lib/tls/v12/handshake12.h"
#include "lib/tls/v12/key_schedule12.h"
#include "lib/tls/v12/resumption12.h"

namespace linetls::tls::v12 {

enum class ClientAuth : uint8_t { kNone, kOptional, kRequired };

// The extended master secret (RFC 7627) as a policy. kRequired: a ClientHello without the
// extension is refused with handshake_failure (§5.2: a server that requires it "MUST abort
// the handshake"). kPreferred: such a client gets the RFC 5246 §8.1 master secret (and a
// session that can only be resumed without the extension, §5.3); clients that offer it get
// the extended one. The engine's --tls12-ems required|preferred sets this.
enum class EmsPolicy : uint8_t { kRequired, kPreferred };

struct ServerConfig12 {
  std::vector<Certificate12> certificates;
  std::vector<CipherSuite> cipher_suites = {std::begin(kAllSuites), std::end(kAllSuites)};
  std::vector<crypto::NamedGroup> groups = {
      crypto::NamedGroup::kX25519, crypto::NamedGroup::kSecp256r1, crypto::NamedGroup::kSecp384r1};
  // Server preference order. Empty: ALPN is not negotiated. Otherwise a client that offers
  // ALPN with no protocol in common is refused with no_application_protocol (RFC 7301 §3.2).
  std::vector<std::string> alpn;
  ClientAuth client_auth = ClientAuth::kNone;
  const crypto::CaStore* client_ca = nullptr;  // required unless client_auth is kNone
  // DER DistinguishedNames for CertificateRequest.certificate_authorities; may be empty.
  // Left out when they would not fit the list (2^16-1 bytes).
  std::vector<std::vector<uint8_t>> client_ca_names;
  // The server also speaks TLS 1.3: set the downgrade sentinel, honour TLS_FALLBACK_SCSV.
  bool tls13_enabled = true;
  EmsPolicy ems_policy = EmsPolicy::kPreferred;
  crypto::Rng* rng = nullptr;         // nullptr: crypto::os_rng()
  std::function<std::time_t()> now;   // certificates and sessions; empty: the system clock
  // Resumption (both borrowed, both optional). ticket_keys: RFC 5077 tickets under the
  // worker's TLS 1.3 ticket keys. session_cache: session IDs, the worker's own cache.
  const TicketKeys* ticket_keys = nullptr;
  SessionCache12* session_cache = nullptr;
  uint32_t session_lifetime_s = 7200;  // tickets and cache entries (lifetime_hint)
};

class Server12 {
 public:
  // config must outlive the machine.
  explicit Server12(const ServerConfig12& config) noexcept;

  // Feeds one whole handshake message (borrowed for the call). Returns kFlush when
  // take_flight() has bytes, kNeedMessage, kDone or kError.
  Wait handle(const HandshakeMessage& msg) noexcept;
  // The session facade has parsed the first ClientHello already (to pick the version): the
  // next handle() of a ClientHello uses that parse if p->body is exactly its body (else it
  // parses itself). p is the facade's per-thread scratch (a pointer, not a copy: an idle
  // connection keeps nothing); it must live until that handle() returns.
  void set_parsed_client_hello(const ParsedClientHello* p) noexcept { pre_hello_ = p; }
  // Feeds the client's ChangeCipherSpec (already checked to be the single byte 1;
  // parse_change_cipher_spec). handshake_pending: the caller's reassembler holds part of a
  // message, which would span the key change (kHandshakeSpansKeyChange). Anywhere but right
  // before the client's Finished it is kUnexpectedChangeCipherSpec. On success the caller
  // switches its read state to keys().client_write.
  Wait handle_change_cipher_spec(bool handshake_pending) noexcept;
  // Returns the reason the machine is stopped now (never kFlush).
  Wait wait() const noexcept;
  // Public-key steps, as Server13's (pk_job.h): the ephemeral key (kPendingKeyExchange),
  // the ServerKeyExchange signature (kPendingSignature), and the ClientKeyExchange's shared
  // secret (kPendingKeyExchange); with client certificates, the chain and the
  // CertificateVerify (kPendingVerify). Inline by default.
  void set_pk_offload(bool on) noexcept { pk_.set_offload(on); }
  std::unique_ptr<PkJob> take_pk_job() noexcept;
  Wait complete_pk(std::unique_ptr<PkJob> job) noexcept;
  // Jobs this machine ran itself (offload off).
  uint32_t pk_jobs_inline() const noexcept { return pk_.ran_here(); }
  // True while the next input must be the client's ChangeCipherSpec.
  bool expecting_change_cipher_spec() const noexcept;
  // What the next handshake message may be (HandshakeReassembler's rules): the type the
  // state expects with its largest body (a ClientHello up to max_client_hello, a client
  // Certificate up to max_certificate, the rest their own sizes); none while the client's
  // ChangeCipherSpec is due; after the handshake a ClientHello is refused on its header
  // (kRenegotiationRefused) and anything else is unexpected.
  MessageRules next_message_rules(size_t max_client_hello, size_t max_certificate) const noexcept;
  // Hands over the bytes to send, leaving the flight empty.
  Flight12 take_flight() noexcept {
    Flight12 f = std::move(flight_);
    flight_ = Flight12{};  // a moved-from flight keeps its change_cipher_spec flag
    return f;
  }

  // The negotiated suite (valid once the ServerHello is sent) and the record keys (valid
  // once the ClientKeyExchange is processed).
  const SuiteInfo& suite() const noexcept { return suite_; }
  const KeyBlock& keys() const noexcept { return keys_; }
  // The master secret, for key logs and tests (empty until the ClientKeyExchange).
  std::span<const uint8_t> master_secret() const noexcept { return master_.view(); }
  // True when the master secret is RFC 7627's (the client offered the extension; on
  // resumption, the session's), false for the RFC 5246 §8.1 one. Valid once the ServerHello is
  // sent.
  bool extended_master_secret() const noexcept { return ems_; }

  Error error() const noexcept { return error_; }
  crypto::NamedGroup group() const noexcept { return group_; }
  std::span<const uint8_t> alpn() const noexcept { return alpn_; }
  size_t certificate_index() const noexcept { return cert_index_; }
  // The host_name the client asked for (server_name); empty when it sent none.
  std::span<const uint8_t> server_name() const noexcept { return server_name_; }
  // True when the handshake resumed a session (abbreviated).
  bool resumed() const noexcept { return resumed_; }
  // The session_id our ServerHello carried (empty: none).
  std::span<const uint8_t> session_id() const noexcept { return {session_id_, session_id_len_}; }
  // True if a NewSessionTicket was sent.
  bool ticket_sent() const noexcept { return ticket_sent_; }
  // True if the client signalled RFC 5746 support (extension or SCSV).
  bool secure_renegotiation() const noexcept { return secure_renegotiation_; }
  // The verified client identity, once the client's CertificateVerify has checked out.
  // True when client_auth was required and the client sent an empty Certificate (the
  // handshake then failed with handshake_failure, RFC 5246 §7.4.6).
  bool client_certificate_missing() const noexcept { return client_certificate_missing_; }
  const std::optional<crypto::VerifiedIdentity>& client_identity() const noexcept {
    return client_identity_;
  }
  // True when the client's chain was answered by the CaStore's per-thread cache.
  bool client_chain_from_cache() const noexcept { return client_chain_from_cache_; }

  std::string_view state_name() const noexcept;

  // Data every state between the hellos and the end carries.
  struct Context {
    crypto::Transcript transcript;     // the PRF hash over every handshake message so far
    std::vector<uint8_t> messages;     // the same messages raw, only when a client
                                       // certificate was requested (CertificateVerify)
    uint8_t client_random[kRandomLen] = {};
    uint8_t server_random[kRandomLen] = {};
    bool abbreviated = false;  // resumed: the client's Finished comes last
  };
  struct ReadClientHello {};
  struct ReadClientCertificate {
    Context ctx;
    crypto::KeyShare ephemeral;
  };
  struct ReadClientKeyExchange {
    Context ctx;
    crypto::KeyShare ephemeral;
    std::optional<crypto::PublicKey> client_key;  // from a non-empty client Certificate
  };
  struct ReadCertificateVerify {
    Context ctx;
    crypto::PublicKey client_key;
  };
  struct ReadChangeCipherSpec {
    Context ctx;
  };
  struct ReadClientFinished {
    Context ctx;
  };
  // Between the public-key steps (pk_job.h). The first flight waits for its ephemeral key,
  // then for the ServerKeyExchange signature (HelloWork, private, defined below); the
  // ClientKeyExchange waits for the shared secret.
 private:
  struct HelloWork;

 public:
  struct AwaitKeyGen {
    std::unique_ptr<HelloWork> f;
  };
  struct AwaitSignature {
    std::unique_ptr<HelloWork> f;  // ServerHello and Certificate written
  };
  struct AwaitDerive {
    Context ctx;  // ... ClientKeyExchange
    std::optional<crypto::PublicKey> client_key;
  };
  struct AwaitClientChain {
    Context ctx;  // ... client Certificate
    crypto::KeyShare ephemeral;
  };
  struct AwaitClientSignature {
    Context ctx;  // ... CertificateVerify (the raw messages went to the job)
  };
  struct Done {};
  struct Failed {};
  using State = std::variant<ReadClientHello, ReadClientCertificate, ReadClientKeyExchange,
                             ReadCertificateVerify, ReadChangeCipherSpec, ReadClientFinished,
                             AwaitKeyGen, AwaitSignature, AwaitDerive, AwaitClientChain,
                             AwaitClientSignature, Done, Failed>;
  static constexpr std::string_view kStateNames[] = {
      "read_client_hello",      "read_client_certificate", "read_client_key_exchange",
      "read_certificate_verify", "read_change_cipher_spec", "read_client_finished",
      "await_key_gen",          "await_signature",         "await_derive",
      "await_client_chain",     "await_client_signature",  "done",
      "failed"};

 private:
  struct Chosen {
    SuiteInfo suite{};
    crypto::NamedGroup group = crypto::NamedGroup::kX25519;
    size_t cert_index = 0;
    crypto::SignatureScheme scheme = crypto::SignatureScheme::kEcdsaSecp256r1Sha256;
    std::span<const uint8_t> alpn;
    bool sni_used = false;
    bool secure_renegotiation = false;
    bool session_ticket = false;       // the client sent the SessionTicket extension
    std::span<const uint8_t> ticket;   // its contents (empty: asks for a new ticket)
    bool extended_master_secret = false;  // the client sent extended_master_secret
  };
  Result<Chosen, Error> negotiate(const ClientHello& ch) const noexcept;
  struct HelloWork {
    explicit HelloWork(Context c) noexcept : ctx(std::move(c)) {}
    Chosen c;  // alpn views alpn_; ticket is empty
    Context ctx;  // ... ClientHello
    bool want_cert = false;
    bool ec_point_formats = false;  // the client sent ec_point_formats
    std::optional<crypto::KeyShare> ephemeral;
    std::vector<uint8_t> out;  // ServerHello .. ServerHelloDone
    size_t out_len = 0;        // written so far
  };
  // After the key generation: ServerHello, Certificate; then the signature job.
  Result<void, Error> send_server_hello(std::unique_ptr<HelloWork> f,
                                        crypto::KeyShare ephemeral) noexcept;
  // ServerKeyExchange with the signature, [CertificateRequest], ServerHelloDone.
  Result<void, Error> finish_server_hello(std::unique_ptr<HelloWork> f,
                                          std::span<const uint8_t> signature) noexcept;
  // The master secret and key block from the ClientKeyExchange's shared secret.
  Result<void, Error> finish_key_exchange(AwaitDerive s,
                                          const crypto::SharedSecret& shared) noexcept;
  Result<void, Error> await_job() noexcept;
  Result<void, Error> resume_job() noexcept;
  Wait end_step(Result<void, Error> r) noexcept;
  Result<void, Error> on_client_hello(ReadClientHello s, const HandshakeMessage& m) noexcept;
  // The session to resume for ch, if any (see the header comment); kHandshakeFailure for an
  // EMS session offered without EMS (RFC 7627 §5.3).
  Result<std::optional<Session12>, Error> find_session(const ClientHello& ch,
                                                       const Chosen& c) const noexcept;
  Result<void, Error> resume(Session12 session, const ClientHello& ch, const Chosen& c,
                             const HandshakeMessage& m) noexcept;
  // Returns a whole NewSessionTicket message for session, sized from the sealed ticket (a
  // session that cannot be sealed, or whose ticket exceeds 2^16-1 bytes, gets an empty
  // ticket: RFC 5077 §3.3 allows it).
  Result<std::vector<uint8_t>, Error> new_session_ticket(const Session12& session) noexcept;
  // config.client_ca_names, or none when they would not fit certificate_authorities.
  std::span<const std::vector<uint8_t>> client_ca_names() const noexcept;
  crypto::Rng& rng() const noexcept;
  Result<void, Error> on_client_certificate(ReadClientCertificate s,
                                            const HandshakeMessage& m) noexcept;
  Result<void, Error> on_client_key_exchange(ReadClientKeyExchange s,
                                             const HandshakeMessage& m) noexcept;
  Result<void, Error> on_certificate_verify(ReadCertificateVerify s,
                                            const HandshakeMessage& m) noexcept;
  Result<void, Error> on_client_finished(ReadClientFinished s, const HandshakeMessage& m) noexcept;
  // The signature schemes our CertificateRequest offers.
  std::span<const uint16_t> client_schemes() const noexcept;
  std::time_t now() const noexcept;

  const ServerConfig12& config_;
  Result<ClientHello, Error> take_client_hello(const HandshakeMessage& m) noexcept;
  // From set_parsed_client_hello(), used (and dropped) by the next ClientHello.
  const ParsedClientHello* pre_hello_ = nullptr;
  State state_;
  Flight12 flight_;
  Error error_ = Error::kInternalError;
  SuiteInfo suite_{};
  KeyBlock keys_;
  MasterSecret master_;
  crypto::NamedGroup group_ = crypto::NamedGroup::kX25519;
  std::vector<uint8_t> alpn_;
  size_t cert_index_ = 0;
  bool secure_renegotiation_ = false;
  bool ems_ = true;
  bool resumed_ = false;
  bool issue_ticket_ = false;
  bool ticket_sent_ = false;
  uint8_t session_id_[kSessionIdLen] = {};
  size_t session_id_len_ = 0;
  std::vector<uint8_t> server_name_;  // the client's SNI, for the session
  std::optional<crypto::VerifiedIdentity> client_identity_;
  bool client_certificate_missing_ = false;
  std::optional<crypto::VerifiedIdentity> pending_identity_;  // until CertificateVerify
  bool client_chain_from_cache_ = false;
  PkSlot pk_;  // the job while pending (and not taken), and between steps
};

}  // namespace linetls::tls::v12
