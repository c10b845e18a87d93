// The TLS 1.3 client handshake (RFC 8446 §2, §4) as a resumable state machine, for tests and
// the load generator.
//
//   start() -> ReadServerHello --HRR--> (ClientHello2) ReadServerHello
//                   |
//           ReadEncryptedExtensions -> ReadCertificate -> ReadCertificateVerify
//                   -> ReadFinished --([Certificate, CertificateVerify,] Finished)--> Done
//
// ReadCertificate also takes one CertificateRequest (§4.3.2) before the server's
// Certificate; the client then answers with its Certificate (config.certificate's chain, or
// an empty one when it has none or its key can sign none of the requested schemes, §4.4.2)
// and, with a chain, a CertificateVerify, before its Finished. A CertificateRequest with a
// non-empty certificate_request_context is kIllegalParameter; in a resumed handshake (or a
// second one) it is kUnexpectedMessage.
//
// Same conventions as Server13: one function per state, states as std::variant
// alternatives holding only their own data, kError with error() after which the caller sends
// exactly one alert. The server's CertificateVerify is checked against the leaf
// certificate's key; its chain and name against config.verify_ca when set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "lib/crypto/cert.h"
#include "lib/crypto/hash.h"
#include "lib/crypto/key.h"
#include "lib/crypto/kx.h"
#include "lib/crypto/rng.h"
#include "lib/tls/cipher_suite.h"
#include "lib/tls/errors.h"
#include "lib/tls/handshake13.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/key_schedule.h"
#include "lib/tls/messages13.h"

namespace linetls::tls {

// A resumable session from one NewSessionTicket (§4.6.1), as Client13::take_sessions()
// returns it and ClientConfig13::session offers it.
struct Session {
  std::vector<uint8_t> ticket;
  crypto::HashSecret psk;  // HKDF-Expand-Label(resumption_master_secret, "resumption", nonce)
  CipherSuite suite = CipherSuite::kAes128GcmSha256;
  uint32_t lifetime_s = 0;
  uint32_t age_add = 0;
  uint64_t received_ms = 0;  // ClientConfig13::now_ms at receipt
};

struct ClientConfig13 {
  std::vector<CipherSuite> cipher_suites = {CipherSuite::kAes128GcmSha256,
                                            CipherSuite::kAes256GcmSha384,
                                            CipherSuite::kChacha20Poly1305Sha256};
  // supported_groups, in order of preference.
  std::vector<crypto::NamedGroup> groups = {
      crypto::NamedGroup::kX25519, crypto::NamedGroup::kSecp256r1, crypto::NamedGroup::kSecp384r1};
  // The groups the first ClientHello carries key shares for (a group the server does not
  // prefer provokes a HelloRetryRequest). Empty: none at all.
  std::vector<crypto::NamedGroup> key_share_groups = {crypto::NamedGroup::kX25519};
  std::vector<uint16_t> signature_algorithms = {0x0403, 0x0503, 0x0807, 0x0804, 0x0805, 0x0806};
  std::string server_name;        // empty: no SNI
  std::vector<std::string> alpn;  // empty: no ALPN
  std::optional<uint16_t> record_size_limit;  // RFC 8449, offered when set
  crypto::Rng* rng = nullptr;     // nullptr: crypto::os_rng()
  // Resumption: the session to offer (borrowed; nullptr: none). It is offered only if its
  // suite's hash matches one of cipher_suites, and dropped after a HelloRetryRequest that
  // selects a suite with another hash.
  const Session* session = nullptr;
  // psk_key_exchange_modes, sent with a session; 1 = psk_dhe_ke, 0 = psk_ke (§4.2.9). A
  // ServerHello that selects our PSK without a key_share (psk_ke) is accepted only with 0
  // listed (kMissingExtension otherwise), one with a key_share only with 1 listed
  // (kIllegalParameter otherwise).
  std::vector<uint8_t> psk_modes = {1};
  std::function<uint64_t()> now_ms;      // milliseconds; empty: the system clock
  // The certificate to answer a CertificateRequest with (borrowed; nullptr: an empty
  // Certificate). Signed with the first scheme of ours the server's request lists.
  const crypto::CertifiedKey* certificate = nullptr;
  // Verify the server's chain against these anchors (borrowed; nullptr: only the
  // CertificateVerify with the leaf's key is checked) and, unless empty, its name (a DNS
  // name or a dotted IPv4 address).
  const crypto::CaStore* verify_ca = nullptr;
  std::string verify_name;
  // Tests only: ClientHello defects and options to check the server's answers.
  bool offer_early_data = false;
  bool corrupt_binder = false;
  uint8_t compression_method = 0;
  bool omit_supported_versions = false;
  bool omit_signature_algorithms = false;
  bool omit_key_share = false;
  bool duplicate_supported_groups = false;
  bool empty_session_id = false;  // no Appendix D.4 compatibility mode
};

class Client13 {
 public:
  // config must outlive the machine.
  explicit Client13(const ClientConfig13& config) noexcept;

  // Writes the first ClientHello; returns kFlush (or kError).
  Wait start() noexcept;
  // Feeds one whole handshake message (borrowed for the call).
  Wait handle(const HandshakeMessage& msg) noexcept;
  Wait wait() const noexcept;
  Flight take_flight() noexcept { return std::exchange(flight_, Flight{}); }
  // Once done: queues our KeyUpdate, as Server13::update_keys.
  Wait update_keys(bool request_peer) noexcept;
  const PostHandshake13& post_handshake() const noexcept { return post_; }

  // What the next handshake message may be and how large (as Server13's): the hellos and
  // EncryptedExtensions up to max_hello, the server's Certificate up to max_certificate,
  // NewSessionTicket up to max_hello after the handshake.
  MessageRules next_message_rules(size_t max_hello, size_t max_certificate) const noexcept;
  // RFC 8449: the server's record_size_limit (0: none), and ours (0: none offered).
  uint16_t peer_record_size_limit() const noexcept { return peer_record_size_limit_; }
  uint16_t own_record_size_limit() const noexcept { return config_.record_size_limit.value_or(0); }

  // The level the next handshake message must arrive at; kApplication once done.
  Level read_level() const noexcept;
  // The level our records go out at: kHandshake from the ServerHello on (alerts, Finished),
  // kApplication once done.
  Level write_level() const noexcept;

  const Secrets13& secrets() const noexcept { return secrets_; }
  Error error() const noexcept { return error_; }
  std::span<const uint8_t> alpn() const noexcept { return alpn_; }
  bool server_name_acknowledged() const noexcept { return sni_ack_; }
  bool received_hello_retry_request() const noexcept { return hrr_; }
  crypto::NamedGroup group() const noexcept { return group_; }
  // True when the server selected our PSK (no Certificate was received).
  bool resumed() const noexcept { return resumed_; }
  // True when it did so with psk_ke: no key_share, no (EC)DHE (group() is meaningless).
  bool psk_ke() const noexcept { return psk_ke_; }
  // Sessions from the NewSessionTickets received so far, handed over.
  std::vector<Session> take_sessions() noexcept { return std::move(sessions_); }
  // SHA-256 of the server's leaf certificate, once received.
  const crypto::Digest& server_certificate_sha256() const noexcept { return leaf_sha256_; }
  // True once the server sent a CertificateRequest.
  bool certificate_requested() const noexcept { return cert_requested_; }
  // True once our Certificate with a chain (and its CertificateVerify) went out.
  bool certificate_sent() const noexcept { return cert_sent_; }

  std::string_view state_name() const noexcept;

  struct Start {};
  struct ReadServerHello {
    std::vector<crypto::KeyShare> shares;
    std::vector<uint8_t> client_hello;             // the last ClientHello sent (whole message)
    std::optional<crypto::Transcript> transcript;  // after an HRR: message_hash .. CH2
    std::optional<uint16_t> hrr_suite;
    bool psk_offered = false;  // the last ClientHello offered config.session
    // The key schedule its binder was computed with (started on the session's PSK): a
    // resumption goes on from it.
    std::optional<KeySchedule> early;
    uint8_t random[32];
    uint8_t session_id[32];
  };
  struct ReadEncryptedExtensions {
    SuiteInfo suite;
    crypto::Transcript transcript;
    KeySchedule schedule;
  };
  // What a CertificateRequest asked for, until our answer goes out with our Finished.
  struct CertificateRequested {
    std::vector<uint8_t> context;   // certificate_request_context, echoed in our Certificate
    std::vector<uint16_t> schemes;  // its signature_algorithms
  };
  struct ReadCertificate {
    SuiteInfo suite;
    crypto::Transcript transcript;
    KeySchedule schedule;
    std::optional<CertificateRequested> request;
  };
  struct ReadCertificateVerify {
    SuiteInfo suite;
    crypto::Transcript transcript;
    KeySchedule schedule;
    crypto::PublicKey server_key;
    std::optional<CertificateRequested> request;
  };
  struct ReadFinished {
    SuiteInfo suite;
    crypto::Transcript transcript;
    KeySchedule schedule;
    std::optional<CertificateRequested> request;
  };
  struct Done {};
  struct Failed {};
  using State = std::variant<Start, ReadServerHello, ReadEncryptedExtensions, ReadCertificate,
                             ReadCertificateVerify, ReadFinished, Done, Failed>;
  static constexpr std::string_view kStateNames[] = {"start",
                                                     "read_server_hello",
                                                     "read_encrypted_extensions",
                                                     "read_certificate",
                                                     "read_certificate_verify",
                                                     "read_finished",
                                                     "done",
                                                     "failed"};

 private:
  // Writes a ClientHello; with s.psk_offered its binder covers prefix (the transcript so far,
  // after an HRR; nullptr before) and the truncated message.
  // The legacy_session_id our ClientHello carries: s.session_id, or empty.
  std::span<const uint8_t> sent_session_id(const ReadServerHello& s) const noexcept;
  Result<void, Error> write_hello(ReadServerHello& s, std::span<const uint8_t> cookie,
                                  const crypto::Transcript* prefix) noexcept;
  Result<void, Error> store_ticket(const HandshakeMessage& m) noexcept;
  uint64_t now_ms() const noexcept;
  Result<void, Error> on_server_hello(ReadServerHello s, const HandshakeMessage& m) noexcept;
  Result<void, Error> on_encrypted_extensions(ReadEncryptedExtensions s,
                                              const HandshakeMessage& m) noexcept;
  Result<void, Error> on_certificate(ReadCertificate s, const HandshakeMessage& m) noexcept;
  Result<void, Error> on_certificate_verify(ReadCertificateVerify s,
                                            const HandshakeMessage& m) noexcept;
  Result<void, Error> on_finished(ReadFinished s, const HandshakeMessage& m) noexcept;
  // Appends our Certificate [and CertificateVerify] answering request to w, absorbing them
  // into transcript.
  Result<void, Error> write_client_certificate(ByteWriter& w, const CertificateRequested& request,
                                               crypto::Transcript& transcript) noexcept;
  Wait finish_step(Result<void, Error> r) noexcept;

  const ClientConfig13& config_;
  State state_;
  Flight flight_;
  Secrets13 secrets_;
  PostHandshake13 post_;
  Error error_ = Error::kInternalError;
  std::vector<uint8_t> alpn_;
  crypto::Digest leaf_sha256_;
  crypto::NamedGroup group_ = crypto::NamedGroup::kX25519;
  uint16_t peer_record_size_limit_ = 0;
  bool sni_ack_ = false;
  bool hrr_ = false;
  bool resumed_ = false;
  bool psk_ke_ = false;
  bool cert_requested_ = false;
  bool cert_sent_ = false;
  std::vector<Session> sessions_;
};

}  // namespace linetls::tls
