// The TLS 1.3 server handshake (RFC 8446 §2, §4) as a resumable state machine.
//
// Full handshake, with a HelloRetryRequest when no key share fits:
//
//   ReadClientHello --HRR--> ReadSecondClientHello --+
//        |                                           |
//        +--------------> (ServerHello, EE, [CertificateRequest], Certificate,
//                          CertificateVerify, Finished)
//                                          |
//            [ReadClientCertificate -> [ReadClientCertificateVerify] ->]
//                                  ReadClientFinished --> Done
//
// Each state is a struct holding only its own data, kept in a std::variant; handle() runs
// the one function of the current state, which consumes the old state and emplaces the
// next. Any error moves to Failed, drops the half-built flight and reports kError once;
// the caller sends to_alert(error()).
//
// Once done, the machine takes post-handshake messages (KeyUpdate, handshake13.h) and can
// start a KeyUpdate of its own (update_keys).
//
// Resumption (ticket13.h): with config.ticket_keys set, the server sends
// config.tickets_to_send NewSessionTickets right after the client's Finished (kFlush at the
// application level), and accepts psk_dhe_ke resumption: the first offered identity whose
// ticket opens, is within its lifetime, whose obfuscated age is within max_ticket_age_skew_ms
// of the server's own idea of it, whose suite hash matches the negotiated suite and whose
// server_name matches is selected; its binder must verify (kBadPskBinder, decrypt_error,
// otherwise). Anything else falls back to a full handshake. A resumed handshake sends no
// Certificate or CertificateVerify.
//
// psk_ke (§4.2.9 mode 0, PSK-only key establishment), with config.allow_psk_ke: when the
// client lists psk_ke, a selected PSK resumes without (EC)DHE. The ServerHello carries no
// key_share ("In this mode, the server MUST NOT supply a "key_share" value") and the
// Handshake Secret takes Hash.length zero bytes for the (EC)DHE input (§7.1). psk_ke is
// preferred over psk_dhe_ke when the client lists both. It needs no key share from the
// client: a ClientHello with pre_shared_key and no key_share / supported_groups resumes (§9.2
// requires supported_groups, and with it key_share, only of a ClientHello without
// pre_shared_key), and a missing group causes no HelloRetryRequest when the PSK is
// selected. Without the flag only psk_dhe_ke is selected, as before: psk_ke alone means a
// full handshake. psk_ke() tells a psk_ke resumption apart (group() is then meaningless).
//
// 0-RTT is never accepted: EncryptedExtensions carries no early_data. When the ClientHello
// offered early data (early_data_offered()), the client follows it with 0-RTT records
// protected under keys the server does not have; the connection layer must skip records it
// cannot decrypt under the handshake keys, up to a bound of its own (RFC 8446 §4.2.10: "up
// to the configured max_early_data_size"), until the client's Finished-level records decrypt.
// After a HelloRetryRequest no early data follows (§4.2.10).
//
// Client certificates (RFC 8446 §4.3.2, §4.4.2-§4.4.3), with config.client_auth other than
// kNone: a full handshake sends a CertificateRequest after EncryptedExtensions (empty
// certificate_request_context; signature_algorithms = client_signature_schemes();
// certificate_authorities = config.client_ca's subject names when they fit). The client's
// Certificate then comes before its Finished:
//  - an empty one is kCertificateRequired (certificate_required) when client_auth is
//    kRequired; with kOptional the handshake goes on without an identity;
//  - a chain is verified against config.client_ca at config.now(): kBadCertificate,
//    kUnknownCa, kCertificateExpired (also not yet valid), kUnsupportedCertificate (wrong
//    purpose, or a leaf key we cannot verify with), kCertificateUnknown (anything else);
//  - a non-empty certificate_request_context is kIllegalParameter;
//  - the CertificateVerify must use a scheme we offered that TLS 1.3 allows and that fits the
//    leaf key (kIllegalParameter), and verify over ClientHello .. client Certificate
//    (kBadCertificateVerify, decrypt_error).
// The identity (peer_identity()) is set once the client's Finished checks out. Since the
// server's Finished is out by then, its alert for any of these goes under the application
// keys, and reaches a client that has already sent its Finished and believes the handshake
// done.
// §4.3.2: "Servers which are authenticating with a resumption PSK MUST NOT send the
// CertificateRequest message in the main handshake": a resumed handshake sends none and takes
// the identity over from the ticket (TicketContents::client_identity). With kRequired a ticket
// that carries no identity is not accepted (full handshake instead). The identity is not
// re-checked for expiry on resumption (tickets live at most ticket_lifetime_s). Post-handshake
// client authentication (§4.6.2) is not offered.
//
// Middlebox compatibility (Appendix D.4): when the client's legacy_session_id is not empty,
// the first flight (ServerHello or HelloRetryRequest) asks the connection layer for one
// plaintext change_cipher_spec record right after it (Flight::compat_change_cipher_spec);
// the ServerHello that follows a HelloRetryRequest does not ask again.
//
// Not here yet: a stateless HRR cookie (CookieSource only round-trips one). TLS 1.2 is
// lib/tls/v12; a ClientHello without TLS 1.3 in supported_versions is refused here with
// protocol_version.
#pragma once

#include <cstddef>
#include <cstdint>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "lib/base/bytes.h"
#include "lib/crypto/cert.h"
#include "lib/crypto/hash.h"
#include "lib/crypto/kx.h"
#include "lib/crypto/rng.h"
#include "lib/crypto/sig.h"
#include "lib/tls/cipher_suite.h"
#include "lib/tls/errors.h"
#include "lib/tls/handshake13.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/hello.h"
#include "lib/tls/key_schedule.h"
#include "lib/tls/pk_job.h"
#include "lib/tls/ticket13.h"

namespace linetls::tls {

// Makes the server's CertificateVerify signature. The usual one wraps a CertifiedKey's
// private key (ServerCertificate::from); tests replaying RFC 8448 supply their own for its
// 1024-bit RSA key, and a signing offload can later plug in here.
class CertificateSigner {
 public:
  virtual ~CertificateSigner() = default;
  // Returns the scheme to sign with among the peer's signature_algorithms (wire codes, in
  // the peer's order), or kNoCommonScheme.
  virtual Result<crypto::SignatureScheme, crypto::Error> choose_scheme(
      std::span<const uint16_t> peer_schemes) const noexcept = 0;
  virtual size_t max_signature_len() const noexcept = 0;
  // Signs message (borrowed) under scheme into the front of out; returns the length.
  virtual Result<size_t, crypto::Error> sign(crypto::SignatureScheme scheme,
                                             std::span<const uint8_t> message,
                                             std::span<uint8_t> out) const noexcept = 0;
};

// One certificate the server may present, with the names it answers to (its DNS
// subjectAltNames, "*.example.com" wildcards matching one label).
struct ServerCertificate {
  std::vector<std::span<const uint8_t>> chain;  // DER, leaf first; borrowed, outlives config
  std::shared_ptr<const CertificateSigner> signer;
  std::vector<std::string> names;

  // Returns key's chain, a signer over its private key (key is borrowed and must outlive
  // the result) and the DNS names of its leaf's subjectAltName.
  static ServerCertificate from(const crypto::CertifiedKey& key);
};

// Makes the cookie a HelloRetryRequest carries (§4.2.2). This server keeps its state across
// the retry, so the cookie only has to come back unchanged: the second ClientHello must
// echo it exactly (illegal_parameter otherwise). A stateless cookie, which would carry the
// ClientHello1 hash sealed under a server key, is for a later step.
class CookieSource {
 public:
  virtual ~CookieSource() = default;
  // Returns the cookie (1..2^16-1 bytes) for a retry of the ClientHello whose transcript hash
  // is client_hello1_hash.
  virtual Result<std::vector<uint8_t>, Error> make(
      std::span<const uint8_t> client_hello1_hash) const = 0;
};

// Whether the server asks for a client certificate (the names of v12::ClientAuth).
enum class ClientAuth : uint8_t { kNone, kOptional, kRequired };

struct ServerConfig13 {
  // Candidates in order of preference. With SNI the first whose names match and whose key
  // can sign a scheme the client offers wins; without a match, the first that can sign.
  std::vector<ServerCertificate> certificates;
  std::vector<CipherSuite> cipher_suites = {CipherSuite::kAes128GcmSha256,
                                            CipherSuite::kAes256GcmSha384,
                                            CipherSuite::kChacha20Poly1305Sha256};
  std::vector<crypto::NamedGroup> groups = {
      crypto::NamedGroup::kX25519, crypto::NamedGroup::kSecp256r1, crypto::NamedGroup::kSecp384r1};
  // Server preference order. Empty: ALPN is not negotiated. Otherwise a client that offers
  // ALPN with no protocol in common is refused with no_application_protocol (RFC 7301 §3.2).
  std::vector<std::string> alpn;
  // EncryptedExtensions options (RFC 8448 §3's server sends both). supported_groups codes
  // sent in EE (§4.2.7: "servers are permitted to send the "supported_groups" extension");
  // empty: not sent.
  std::vector<uint16_t> advertised_groups;
  std::optional<uint16_t> record_size_limit;  // sent only if the client sent one
  crypto::Rng* rng = nullptr;                 // nullptr: crypto::os_rng()
  // nullptr: HelloRetryRequests carry no cookie.
  std::shared_ptr<const CookieSource> cookie;
  // Resumption. nullptr: no tickets are sent and offered PSKs are ignored.
  TicketKeys* ticket_keys = nullptr;
  // Opens offered tickets; nullptr: ticket_keys does. Tests inject known PSKs here.
  const TicketDecoder* ticket_decoder = nullptr;
  size_t tickets_to_send = 2;
  // Resume with psk_ke (PSK-only, no (EC)DHE) when the client offers it (see the top of this
  // file). What it gives up: a psk_ke session's traffic keys derive from the ticket's PSK
  // alone, so whoever later learns the ticket-encryption key (or the PSK) can decrypt every
  // recorded psk_ke session resumed from such tickets: they have no forward secrecy (§2.2:
  // (EC)DHE in a resumption is what is "thus providing forward secrecy"; Appendix E.1: "The
  // forward secrecy property is not satisfied when PSK is used in the "psk_ke"
  // PskKeyExchangeMode."). What it saves is the X25519 (or ECDHE) exchange per resumption.
  // 0-RTT is not involved (it is never accepted, either way).
  bool allow_psk_ke = false;
  uint32_t ticket_lifetime_s = 7200;  // clamped to kMaxTicketLifetime (7 days)
  uint32_t max_ticket_age_skew_ms = 10000;
  std::function<uint64_t()> now_ms;  // milliseconds; empty: the system clock
  // Client certificates (see the top of this file).
  ClientAuth client_auth = ClientAuth::kNone;
  // Trust anchors for client chains; borrowed, outlives the config. Required unless
  // client_auth is kNone (a ClientHello is otherwise refused with kInternalError).
  const crypto::CaStore* client_ca = nullptr;
  // List client_ca->subject_names() in the CertificateRequest's certificate_authorities.
  // They are left out when they would not fit the extension (2^16-1 bytes).
  bool send_client_ca_names = true;
  std::function<std::time_t()> now;  // certificate validity; empty: the system clock
};

class Server13 {
 public:
  // config must outlive the machine.
  explicit Server13(const ServerConfig13& config) noexcept;

  // Feeds one whole handshake message (borrowed for the call). Returns why the machine
  // stopped: kFlush when take_flight() has bytes, kNeedMessage, kDone or kError.
  Wait handle(const HandshakeMessage& msg) noexcept;
  // The session facade has parsed the first ClientHello already (to pick the version): the
  // next handle() of a ClientHello uses that parse if p->body is exactly its body (else it
  // parses itself). p is the facade's per-thread scratch (a pointer, not a copy: an idle
  // connection keeps nothing); it must live until that handle() returns.
  void set_parsed_client_hello(const ParsedClientHello* p) noexcept { pre_hello_ = p; }
  // Returns the reason the machine is stopped now (never kFlush).
  Wait wait() const noexcept;
  // Public-key steps (pk_job.h): the ephemeral key exchange of a full or psk_dhe_ke
  // handshake (kPendingKeyExchange), then a full handshake's CertificateVerify signature
  // (kPendingSignature); with client certificates, the client's chain and then its
  // CertificateVerify (kPendingVerify). By default the machine runs each job itself through run_pk_job()
  // and handle() never answers pending; with offload on it stops there and the caller runs
  // the job and gives it back. The flight built so far is kept until the last step.
  void set_pk_offload(bool on) noexcept { pk_.set_offload(on); }
  // The job of a pending machine (nullptr otherwise), handed over.
  std::unique_ptr<PkJob> take_pk_job() noexcept;
  // Gives the job back, run, and goes on: kFlush, pending again, or kError (the job failed:
  // our key generation or signature is kCryptoFailure, the peer's share its own error; a
  // job given back when none is out is kInternalError).
  Wait complete_pk(std::unique_ptr<PkJob> job) noexcept;
  // Jobs this machine ran itself (offload off).
  uint32_t pk_jobs_inline() const noexcept { return pk_.ran_here(); }
  // What the next handshake message may be (HandshakeReassembler's rules): the one type the
  // state expects, with its largest body: a ClientHello up to max_client_hello, a client
  // Certificate up to max_certificate, CertificateVerify and Finished their own sizes,
  // and once done only a KeyUpdate of one byte (a client's NewSessionTicket is illegal).
  MessageRules next_message_rules(size_t max_client_hello, size_t max_certificate) const noexcept;
  // Once done: queues our KeyUpdate (asking the peer to update too if request_peer) and
  // returns kFlush; the flight's rekey_after_application says when to switch keys. Before
  // the handshake is done it does nothing and returns wait().
  Wait update_keys(bool request_peer) noexcept;
  // Post-handshake counters: key update generations, tickets.
  const PostHandshake13& post_handshake() const noexcept { return post_; }
  // Hands over the bytes to send, leaving the flight empty.
  Flight take_flight() noexcept { return std::exchange(flight_, Flight{}); }

  // The level the next handshake message must arrive at; kApplication once done.
  Level read_level() const noexcept;
  // The level our next records go out at: kApplication once our Finished is out.
  Level write_level() const noexcept;
  // True once the first ClientHello has been processed (§5 compat change_cipher_spec window).
  bool client_hello_seen() const noexcept { return client_hello_seen_; }

  const Secrets13& secrets() const noexcept { return secrets_; }
  // Set on kError.
  Error error() const noexcept { return error_; }
  // The negotiated parameters, valid once the ServerHello is sent.
  crypto::NamedGroup group() const noexcept { return group_; }
  std::span<const uint8_t> alpn() const noexcept { return alpn_; }
  // Index into config.certificates of the certificate sent.
  size_t certificate_index() const noexcept { return cert_index_; }
  // The host_name the client asked for (server_name), valid once the ServerHello is sent;
  // empty when it sent none.
  std::span<const uint8_t> server_name() const noexcept { return server_name_; }
  bool sent_hello_retry_request() const noexcept { return hrr_sent_; }
  // True once a flight asked for the middlebox-compatibility change_cipher_spec (the
  // client's legacy_session_id was not empty; Appendix D.4).
  bool sent_compat_change_cipher_spec() const noexcept { return compat_ccs_sent_; }
  // RFC 8449, valid once the ServerHello is sent: the client's record_size_limit (0: none;
  // it bounds our protected records), and ours as sent in EncryptedExtensions (0: not sent;
  // it bounds the client's protected records).
  uint16_t peer_record_size_limit() const noexcept { return peer_record_size_limit_; }
  uint16_t own_record_size_limit() const noexcept { return own_record_size_limit_; }
  // True once a ServerHello selected an offered PSK (a resumed handshake).
  bool resumed() const noexcept { return resumed_; }
  // True once a ServerHello resumed with psk_ke: no key_share, no (EC)DHE (no group).
  bool psk_ke() const noexcept { return psk_ke_; }
  // True when the client's chain was answered by the CaStore's per-thread cache.
  bool client_chain_from_cache() const noexcept { return client_chain_from_cache_; }
  // True if the first ClientHello carried early_data: see the 0-RTT note above.
  bool early_data_offered() const noexcept { return early_data_offered_; }
  // True once a CertificateRequest went out.
  bool sent_certificate_request() const noexcept { return cert_request_sent_; }
  // The client's verified identity, set once its Finished has checked out (Done): from its
  // Certificate and CertificateVerify, or on resumption from the ticket. nullopt without a
  // client certificate.
  const std::optional<crypto::VerifiedIdentity>& peer_identity() const noexcept {
    return peer_identity_;
  }
  // The signature schemes a CertificateRequest offers, in preference order: every TLS 1.3
  // CertificateVerify scheme we verify, then rsa_pkcs1_* for signatures in certificates only
  // (§4.2.3; a CertificateVerify under one is kIllegalParameter).
  static std::span<const uint16_t> client_signature_schemes() noexcept;

  // The current state's name, from kStateNames ("read_client_hello").
  std::string_view state_name() const noexcept;

  struct ReadClientHello {};
  struct ReadSecondClientHello {
    SuiteInfo suite;
    crypto::NamedGroup group;
    crypto::Transcript transcript;       // message_hash(ClientHello1), HelloRetryRequest
    std::vector<uint8_t> client_hello1;  // body, for the §4.1.2 consistency check
    std::vector<uint8_t> cookie;         // sent in the HRR; empty: none
  };
  struct ReadClientCertificate {
    SuiteInfo suite;
    crypto::Transcript transcript;  // ... server Finished
    KeySchedule schedule;           // at the Master Secret
  };
  struct ReadClientCertificateVerify {
    SuiteInfo suite;
    crypto::Transcript transcript;  // ... client Certificate
    KeySchedule schedule;
    crypto::PublicKey client_key;       // of the verified leaf
    crypto::VerifiedIdentity identity;  // of the verified chain
  };
  struct ReadClientFinished {
    SuiteInfo suite;
    crypto::Transcript transcript;  // ... server Finished [, client Certificate, CV]
    KeySchedule schedule;           // at the Master Secret
    // Verified by the CertificateVerify, or the resumed ticket's; peer_identity() once the
    // Finished checks out.
    std::optional<crypto::VerifiedIdentity> client_identity;
  };
  // The server's flight between its public-key steps (defined below, private).
 private:
  struct FlightWork;

 public:
  struct AwaitKeyExchange {
    std::unique_ptr<FlightWork> f;
  };
  struct AwaitSignature {
    std::unique_ptr<FlightWork> f;  // ServerHello .. Certificate written
  };
  struct AwaitClientChain {
    SuiteInfo suite;
    crypto::Transcript transcript;  // ... client Certificate
    KeySchedule schedule;
  };
  struct AwaitClientSignature {
    SuiteInfo suite;
    crypto::Transcript transcript;  // ... client CertificateVerify
    KeySchedule schedule;
    crypto::VerifiedIdentity identity;
  };
  struct Done {};
  struct Failed {};
  using State = std::variant<ReadClientHello, ReadSecondClientHello, ReadClientCertificate,
                             ReadClientCertificateVerify, ReadClientFinished, AwaitKeyExchange,
                             AwaitSignature, AwaitClientChain, AwaitClientSignature, Done,
                             Failed>;
  // Names in the order of State's alternatives.
  static constexpr std::string_view kStateNames[] = {"read_client_hello",
                                                     "read_second_client_hello",
                                                     "read_client_certificate",
                                                     "read_client_certificate_verify",
                                                     "read_client_finished",
                                                     "await_key_exchange",
                                                     "await_signature",
                                                     "await_client_chain",
                                                     "await_client_signature",
                                                     "done",
                                                     "failed"};

 private:
  Result<void, Error> on_client_hello(ReadClientHello s, const HandshakeMessage& m) noexcept;
  Result<void, Error> on_second_client_hello(ReadSecondClientHello s,
                                             const HandshakeMessage& m) noexcept;
  Result<void, Error> on_client_certificate(ReadClientCertificate s,
                                            const HandshakeMessage& m) noexcept;
  Result<void, Error> on_client_certificate_verify(ReadClientCertificateVerify s,
                                                   const HandshakeMessage& m) noexcept;
  Result<void, Error> on_client_finished(ReadClientFinished s, const HandshakeMessage& m) noexcept;
  // What a ClientHello decided (§4.1.1); spans view the ClientHello or the config.
  struct Chosen {
    SuiteInfo suite{};
    crypto::NamedGroup group = crypto::NamedGroup::kX25519;
    const KeyShareEntry* share = nullptr;  // the client's share for group, if it sent one
    // config.allow_psk_ke, and the client offers a PSK and lists psk_ke (§4.2.9).
    bool psk_ke_offered = false;
    // No group in common (nor one to retry with): only a psk_ke resumption can go on; else
    // kNoCommonGroup. Only ever set with psk_ke_offered.
    bool no_common_group = false;
    size_t cert_index = 0;
    crypto::SignatureScheme scheme = crypto::SignatureScheme::kEd25519;
    std::span<const uint8_t> alpn;
    bool sni_used = false;
    std::span<const uint8_t> server_name;
    std::span<const uint8_t> session_id;
    uint16_t client_record_size_limit = 0;
  };
  // Suite, group (or the HelloRetryRequest group, or none with psk_ke), ALPN: everything a
  // ClientHello decides before the PSK is looked at.
  Result<Chosen, Error> negotiate(const ClientHello& ch) const noexcept;
  // The certificate and signature scheme of a full handshake (by server_name, then by the
  // client's signature_algorithms) into c; kMissingExtension without signature_algorithms or
  // supported_groups (§9.2), kNoCommonSignatureScheme when no certificate can sign.
  Result<void, Error> choose_certificate(const ClientHello& ch, Chosen* c) const noexcept;
  // True if the client sent server_name and one of our certificates answers to it (a
  // resumed handshake acknowledges the name as the full handshake would have).
  bool serves_name(const ClientHello& ch) const noexcept;
  struct PskChoice {
    uint16_t index = 0;
    crypto::HashSecret psk;
    std::optional<crypto::VerifiedIdentity> client_identity;  // from the ticket
    bool psk_ke = false;  // resume with psk_ke (no (EC)DHE), else psk_dhe_ke
    // The key schedule started on psk for the binder check (Early Secret and its HMAC):
    // the handshake goes on from it instead of starting it again.
    std::optional<KeySchedule> early;
  };
  // Picks the PSK to resume with (see the top of this file), and its mode: psk_ke when
  // c.psk_ke_offered, else psk_dhe_ke when listed and c.share is set. Verifies its binder over
  // prefix (the transcript before this ClientHello, or nullptr) and the truncated message.
  Result<std::optional<PskChoice>, Error> select_psk(const ClientHello& ch,
                                                     std::span<const uint8_t> message,
                                                     const crypto::Transcript* prefix,
                                                     const Chosen& c) const noexcept;
  // Asks for the Appendix D.4 change_cipher_spec after the flight's first message when the
  // client sent a legacy_session_id and none was asked for yet.
  void request_compat_ccs(std::span<const uint8_t> legacy_session_id) noexcept;
  uint64_t now_ms() const noexcept;
  std::time_t now() const noexcept;  // certificate validity
  // The DER names for certificate_authorities: config.client_ca's, or none when they are
  // turned off or would not fit.
  std::span<const std::vector<uint8_t>> client_ca_names() const noexcept;
  struct FlightWork {
    explicit FlightWork(crypto::Transcript t) noexcept : transcript(std::move(t)) {}
    Chosen c;  // share is null; alpn, server_name and session_id view the machine's copies
    uint8_t session_id[32] = {};
    crypto::Transcript transcript;
    std::optional<PskChoice> psk;
    bool request_cert = false;
    uint8_t random[kRandomLen] = {};
    std::optional<KeySchedule> schedule;  // from the ServerHello on
    size_t hs_len = 0;                    // bytes of flight_.bytes[1] written so far
  };
  // Sends ServerHello .. Finished and moves to ReadClientFinished (or ReadClientCertificate),
  // through the key exchange job (unless psk->psk_ke; client_share is unused then) and a
  // full handshake's signature job.
  Result<void, Error> send_server_flight(const Chosen& c, crypto::Transcript transcript,
                                         std::span<const uint8_t> client_share,
                                         std::optional<PskChoice> psk) noexcept;
  // After the key exchange (kx null with psk_ke): ServerHello, the handshake secrets,
  // EncryptedExtensions, CertificateRequest, Certificate; then the signature job.
  Result<void, Error> send_server_hello(std::unique_ptr<FlightWork> f, const PkJob* kx) noexcept;
  // CertificateVerify (a full handshake's signature), Finished, the application secrets.
  Result<void, Error> finish_server_flight(std::unique_ptr<FlightWork> f,
                                           std::span<const uint8_t> signature) noexcept;
  crypto::Rng& rng() const noexcept;
  // Offloaded: returns (the machine is pending). Inline: runs the job and goes on.
  Result<void, Error> await_job() noexcept;
  // Goes on from the Await state with the job's results.
  Result<void, Error> resume_job() noexcept;
  // handle()'s and complete_pk()'s end: the wait reason after a step that returned r.
  Wait end_step(Result<void, Error> r) noexcept;
  // Appends config_.tickets_to_send NewSessionTickets to the application-level flight.
  Result<void, Error> send_tickets() noexcept;

  const ServerConfig13& config_;
  State state_;
  Flight flight_;
  Secrets13 secrets_;
  PostHandshake13 post_;
  Error error_ = Error::kInternalError;
  crypto::NamedGroup group_ = crypto::NamedGroup::kX25519;
  std::vector<uint8_t> alpn_;
  size_t cert_index_ = 0;
  std::vector<uint8_t> server_name_;
  uint16_t peer_record_size_limit_ = 0;
  uint16_t own_record_size_limit_ = 0;
  bool hrr_sent_ = false;
  bool compat_ccs_sent_ = false;
  bool client_hello_seen_ = false;
  Result<ClientHello, Error> take_client_hello(const HandshakeMessage& m) noexcept;
  // From set_parsed_client_hello(), used (and dropped) by the next ClientHello.
  const ParsedClientHello* pre_hello_ = nullptr;
  bool resumed_ = false;
  bool psk_ke_ = false;
  bool client_chain_from_cache_ = false;
  bool early_data_offered_ = false;
  bool cert_request_sent_ = false;
  std::optional<crypto::VerifiedIdentity> peer_identity_;
  PkSlot pk_;  // the job while pending (and not taken), and between steps
};

}  // namespace linetls::tls
