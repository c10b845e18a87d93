// tls::ServerSession: one server-side TLS connection whose version is chosen by its
// ClientHello (issue 6, "Version negotiation"): a facade over ServerSession13 and
// v12::ServerSession12 with their common API (read session13.h first), so the engine holds
// one type whatever the client speaks.
//
// Before the version is known. The session deframes the stream itself (its own Deframer and
// HandshakeReassembler, bounded by limits.max_client_hello) until the first whole
// ClientHello has arrived, keeping a copy of the handshake bytes (the message never exceeds
// the limit, so neither does the copy: the record boundaries before the last record are not
// kept, they carry no meaning). Then:
//   - select_version (version.h) over the parsed ClientHello with the configured range:
//     TLS 1.3 preferred, TLS_FALLBACK_SCSV, obsolete versions refused;
//   - the chosen machine's session is built and the ClientHello replayed into it at the
//     next accept() (which has the batch): the earlier handshake bytes as plaintext records
//     of at most 2^14 bytes, then the record that completed the message exactly as it came
//     (anything after the ClientHello in that record is the machine's to judge, e.g. RFC 8446
//     §5.1's key-change alignment).
// next() returns that last record once (a view into the session's own copy) so the engine
// accept()s it like any other; the record it passes back is not looked at.
//
// Refusals before a machine exists, each with exactly one plaintext fatal alert:
//   SSLv2-format ClientHello (RFC 5246 §E.2) -> protocol_version (kProtocolVersion);
//   a deframing error (bad record type/version/length) -> its own alert;
//   a first record that is not handshake -> unexpected_message (change_cipher_spec:
//   kUnexpectedChangeCipherSpec); any other record between the fragments of the ClientHello
//   -> unexpected_message (kInterleavedRecord, RFC 8446 §5.1); a first message that is not a
//   ClientHello -> unexpected_message; a ClientHello announcing more than
//   limits.max_client_hello -> kHandshakeMessageTooLarge; a malformed one -> the parser's error;
//   no version in common -> protocol_version; a fallback -> inappropriate_fallback.
// Suites and groups the client cannot agree on are refused by the machine (RFC alerts there).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>
#include <variant>
#include <vector>

#include "lib/base/result.h"
#include "lib/crypto/aead.h"
#include "lib/crypto/cert.h"
#include "lib/tls/errors.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/record.h"
#include "lib/tls/session13.h"
#include "lib/tls/v12/session12.h"
#include "lib/tls/v12/version.h"

namespace linetls::tls {

// The scatter list of one record for either version; only the half of the session's version
// is used. Lives until its batch ran, as RecordSlot does.
struct AnySlot {
  RecordSlot s13;
  v12::RecordSlot12 s12;
};

// Everything a session is built from; borrowed, outlives every session.
struct ServerSessionConfig {
  const ServerConfig13* tls13 = nullptr;
  const v12::ServerConfig12* tls12 = nullptr;
  v12::VersionRange versions;  // {1.2, 1.3} by default
  // The machines stop at their public-key steps for the caller (pk_job.h); false: they run
  // them inline.
  bool pk_offload = false;
};

// What an outgoing (client) session is built from; borrowed, outlives the session.
struct ClientSessionConfig {
  uint16_t version = kTls13;  // the one version offered: kTls13 or kTls12
  const ClientConfig13* tls13 = nullptr;
  const v12::ClientConfig12* tls12 = nullptr;
  // Where an engine hands what resumes a later connection (optional): each TLS 1.3 ticket
  // as it arrives, the TLS 1.2 session once the handshake is done.
  std::function<void(Session&&)> on_ticket13;
  std::function<void(v12::SavedSession12&&)> on_session12;
};

class ServerSession {
 public:
  // config (and the configs it points to) must outlive the session. A version the range
  // allows must have its config.
  ServerSession(const ServerSessionConfig& config, const SessionLimits& limits) noexcept;
  // A client session (the engine's outgoing TLS, the load generator): the version is ours
  // to choose, so there is no picking; the ClientHello is the first control record. Without
  // a config for config.version the session is failed (kInternalError) and sends nothing.
  ServerSession(const ClientSessionConfig& config, const SessionLimits& limits) noexcept;

  // ---- Input (as ServerSession13).
  Result<Deframer::Step, Error> next(std::span<uint8_t> piece) noexcept;

  using Accepted = SessionAccepted;  // session_core.h: the same for both versions
  Result<Accepted, Error> accept(const Record& rec, crypto::AeadBatch& batch, AnySlot* slot,
                                 void* user_data = nullptr) noexcept;
  bool barrier() const noexcept;
  // Public-key steps (RecordSession13::set_pk_offload(), ServerSessionConfig::pk_offload):
  // while pk_pending(), next() takes nothing and barrier() holds; the job is taken with
  // take_pk_job() and given back, run, through complete_pk(), which queues the flight.
  bool pk_pending() const noexcept;
  std::unique_ptr<PkJob> take_pk_job() noexcept;
  void complete_pk(std::unique_ptr<PkJob> job) noexcept;
  Result<std::span<uint8_t>, Error> on_opened(crypto::AeadStatus status,
                                              const AnySlot& slot) noexcept;

  // ---- Output (as ServerSession13).
  using OutKind = SessionOutKind;
  using Out = SessionOut;
  Out next_output(size_t max_content) const noexcept;
  Result<size_t, Error> write_control(std::span<uint8_t> out, size_t max_content,
                                      crypto::AeadBatch& batch, AnySlot* slot,
                                      void* user_data = nullptr) noexcept;
  bool app_writable() const noexcept;
  size_t max_app_content() const noexcept;
  // Bytes a protected application record with n content bytes takes under this session's
  // version and suite (before the version is known: the TLS 1.3 figure).
  size_t record_len(size_t content_len) const noexcept;
  // Where seal_app() wants the content inside the record: 5, or 13 for TLS 1.2 AES-GCM.
  size_t content_offset() const noexcept;
  Result<bool, Error> seal_app(std::span<uint8_t> record, size_t content_len,
                               crypto::AeadBatch& batch, AnySlot* slot,
                               void* user_data = nullptr) noexcept;
  void batch_done() noexcept;
  // An idle connection gives back its expanded record keys (about 1 KiB each with
  // ipsec-mb's AES-GCM); the next record rebuilds them. Only between batches, with nothing
  // of this session queued.
  void park_keys() noexcept;

  // ---- Lifecycle (as ServerSession13).
  void close() noexcept;
  void fail(Error e) noexcept;
  bool handshake_done() const noexcept;
  bool take_handshake_completed() noexcept;
  bool peer_closed() const noexcept;
  bool input_closed() const noexcept;
  bool closed() const noexcept;
  std::optional<Error> error() const noexcept;
  const SessionStats& stats() const noexcept;
  // The deframing copies of the session and its machine (by value: the sum of both).
  Deframer::Stats deframer_stats() const noexcept;
  // Heap bytes the input side holds now: assembly and reassembly buffers (and, before the
  // version is chosen, the ClientHello copy). 0 on an idle connection.
  size_t buffered_bytes() const noexcept;

  // ---- What was negotiated (meaningful once handshake_done()).
  // 0x0304, 0x0303, or 0 while the ClientHello has not been seen whole.
  uint16_t version() const noexcept;
  // The IANA name of the suite ("TLS_AES_128_GCM_SHA256",
  // "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"), or "" before a machine exists.
  std::string_view suite_name() const noexcept;
  // The suite's code point (0x1301.., 0xC02B..), 0 before a machine exists.
  uint16_t suite_code() const noexcept;
  crypto::NamedGroup group() const noexcept;
  bool resumed() const noexcept;
  bool hello_retry_request_sent() const noexcept;
  std::span<const uint8_t> alpn() const noexcept;
  // The client's server_name (empty: none), and the index into the version's certificate
  // list of the certificate chosen (0 before a machine exists).
  std::span<const uint8_t> server_name() const noexcept;
  size_t certificate_index() const noexcept;
  // The verified client certificate's identity (either version), or nullptr.
  const crypto::VerifiedIdentity* client_identity() const noexcept;
  // True when a required client certificate was not sent (TLS 1.3 fails with
  // certificate_required, TLS 1.2 with handshake_failure: this tells the two apart).
  bool client_certificate_missing() const noexcept;
  // ---- Client sessions (nothing on a server session).
  bool is_client() const noexcept;
  // TLS 1.3: the tickets received so far (NewSessionTicket after the handshake), handed over.
  std::vector<Session> take_tickets13() noexcept;
  // TLS 1.2: what to offer to resume, once the handshake is done.
  std::optional<v12::SavedSession12> saved_session12() const;

  // The version's session, or nullptr (tests, logs).
  const ServerSession13* session13() const noexcept { return std::get_if<ServerSession13>(&s_); }
  const v12::ServerSession12* session12() const noexcept {
    return std::get_if<v12::ServerSession12>(&s_);
  }

 private:
  struct Picking {};  // before the version is chosen
  Result<Deframer::Step, Error> next_before_version(std::span<uint8_t> piece) noexcept;
  // Takes one whole record before the version is chosen; returns true if it completed the
  // ClientHello and the machine's session now exists.
  bool take_first_record(const Record& rec) noexcept;
  Result<Accepted, Error> replay(crypto::AeadBatch& batch, AnySlot* slot,
                                 void* user_data) noexcept;
  void queue_alert(Error e) noexcept;

  ServerSessionConfig config_;
  SessionLimits limits_;
  std::variant<Picking, ServerSession13, v12::ServerSession12, ClientSession13,
               v12::ClientSession12>
      s_;

  // Before and while the version is chosen.
  Deframer deframer_;
  HandshakeReassembler reasm_;
  uint8_t first_[3] = {};  // the first bytes, for the SSLv2 check
  size_t first_len_ = 0;
  uint16_t record_version_ = 0x0301;  // of the first record, for the replayed ones
  std::vector<uint8_t> prefix_;       // handshake bytes of the records before the last
  std::vector<uint8_t> replay_;       // the records to replay, then the last as it came
  size_t last_record_at_ = 0;         // offset of that last record in replay_
  bool replay_pending_ = false;
  Deframer::Stats picked_stats_;  // the deframer's stats while picking

  // A refusal before a machine exists: one plaintext fatal alert.
  SessionStats stats_;
  std::optional<Error> error_;
  bool alert_handed_out_ = false;
};

}  // namespace linetls::tls
