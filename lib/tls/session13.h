// tls::RecordSession13: one TLS 1.3 connection's record layer around its handshake machine,
// shaped for an engine that batches AEAD work across connections (ARCHITECTURE.md "The poll
// loop", "Buffers"). ServerSession13 runs Server13, ClientSession13 runs Client13 (the load
// generator's and the engine's outgoing TLS connections); the side is a small policy
// (ServerSide13/ClientSide13: the machine, and which traffic secrets are ours). Below,
// "client" and "server" describe the server side; a client session mirrors them, writes its
// ClientHello when constructed, and never sees 0-RTT.
//
// Sans-IO and buffer-agnostic: the engine owns every byte of memory (mbufs) and the
// AeadBatch; the session decides what each record means. Nothing here copies application
// data except the deframer's counted assembly of records split across pieces.
//
// Input, per poll iteration, in rounds:
//   1. next(piece)        deframe stream bytes (like Deframer::next). For each complete
//                         record call
//   2. accept(rec, ...)   plaintext records (ClientHello, compat change_cipher_spec, a plain
//                         alert) are handled now (kHandled); protected ones are queued into
//                         the batch (kQueued) and the record's memory must stay put until
//      batch.run()        the engine runs the batch once for every connection, then calls
//   3. on_opened(...)     for each queued op, in order: handshake messages go to Server13,
//                         alerts are acted on, application data comes back as a view for the
//                         application to consume before the session's next call.
//   A session says barrier() when it must not queue another record before on_opened() of
//   the last one: while the handshake runs (any record may change the read keys), after a
//   record small enough to be a KeyUpdate (any record at most kKeyUpdateBarrierLen bytes of
//   ciphertext), and while the deframer's assembly buffer is held. The engine then runs
//   another round for the sessions that still have input.
//
// Output, per poll iteration:
//   next_output(max_content) says what the next record to send is (a control record: flight
//   bytes at some level, an alert, a KeyUpdate; or application data the engine supplies once
//   app_writable()), and write_control()/seal_app() write the record into caller memory and
//   queue its seal into the batch. Records are queued in the order they must go on the
//   wire; the engine runs the batch once for every connection, then hands the records to TCP
//   in the same order. Keys replaced while records are queued stay alive until
//   batch_done().
//
// Errors: any Error is fatal. The session drops whatever handshake output was pending,
// queues exactly one alert (to_alert(error)) under the current write keys, then reports
// kAlert from next_output() once and is closed(): the engine sends what was queued and
// closes TCP. A fatal alert from the peer closes the session without any alert in return.
//
// Closure (§6.1): close_notify from the peer sets peer_closed(); the application finishes
// its output and the engine calls close(), which queues our close_notify after the
// application data already handed over. close() may also come first (server-initiated).
//
// Limits against abuse (SessionLimits): consecutive empty application records, warning
// alerts (user_canceled) in a row, KeyUpdates without application data between them, the
// handshake message size (HandshakeReassembler), and rejected 0-RTT bytes skipped. The
// handshake timeout is the engine's (it has the clock): it calls fail(kHandshakeTimeout).
//
// KeyUpdate: after limits.key_update_records records sealed under one application key
// (RFC 8446 §5.5: AES-GCM is good for 2^24.5 full-size records), the session sends its own
// KeyUpdate (update_not_requested) before the next application record and switches keys.
//
// 0-RTT: never accepted (Server13 sends no early_data). When the ClientHello offered it, the
// protected records that follow and fail to open under the client handshake key are
// skipped, up to limits.max_early_data_bytes of ciphertext (RFC 8446 §4.2.10), until one
// opens; more is kDecryptFailed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "lib/base/result.h"
#include "lib/crypto/aead.h"
#include "lib/tls/client13.h"
#include "lib/tls/errors.h"
#include "lib/tls/handshake13.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/record.h"
#include "lib/tls/record_protection.h"
#include "lib/tls/server13.h"

namespace linetls::tls {

struct SessionLimits {
  uint32_t max_empty_records = 32;            // consecutive application records with no content
  uint32_t max_warning_alerts = 4;            // non-fatal alerts other than close_notify in a row
  uint32_t max_key_updates_without_data = 32; // KeyUpdates received with no data between
  uint32_t max_early_data_bytes = 1u << 16;   // rejected 0-RTT ciphertext skipped
  uint64_t key_update_records = uint64_t{1} << 24;  // our own KeyUpdate after this many records
  // Handshake message sizes, checked on the 4-byte header before anything is buffered
  // (HandshakeReassembler's MessageRule): a ClientHello up to max_client_hello; a client
  // Certificate, the one large message, up to max_handshake_message; everything else its own
  // small size (CertificateVerify, Finished, a one-byte KeyUpdate after the handshake).
  size_t max_client_hello = kDefaultMaxClientHelloLen;
  size_t max_handshake_message = kDefaultMaxHandshakeMessageLen;
};

// A record at most this long (whole record, header included) may be an unpadded KeyUpdate
// (5 + 4 + 1 + 16 = 26 bytes): a barrier after the handshake, so the common KeyUpdate never
// has records queued behind it. A padded KeyUpdate is longer: the records queued behind it in
// the same batch went in under the key it retires; their opens fail, the batch puts their
// ciphertext back (crypto/aead.h), and on_opened() opens them again, one at a time outside
// the batch, under the new key (reopen_record, counted in SessionStats::records_reopened).
inline constexpr size_t kKeyUpdateBarrierLen = 64;

// Counters a session keeps for itself; the engine adds them to the worker's at close.
struct SessionStats {
  uint64_t records_opened = 0;
  uint64_t bytes_opened = 0;  // application content bytes received
  uint64_t records_sealed = 0;
  uint64_t bytes_sealed = 0;  // application content bytes sent
  uint64_t early_data_skipped = 0;  // bytes of rejected 0-RTT ciphertext skipped
  uint64_t key_updates_sent = 0;
  uint64_t key_updates_received = 0;
  // Records queued behind a KeyUpdate in the same batch and opened again under its new key.
  uint64_t records_reopened = 0;
  // TSC ticks spent inside the handshake machine (its handle() calls): what the engine's
  // phases spend on the handshake itself, against the record layer and glue around it.
  uint64_t handshake_machine_ticks = 0;
  // Public-key jobs the server machine ran inline (pk_job.h; offload off).
  uint32_t pk_jobs_inline = 0;
  std::optional<uint8_t> alert_sent;      // description
  std::optional<uint8_t> alert_received;  // description of the last alert received
};

// The two sides of a TLS 1.3 connection: which machine runs the handshake and which
// traffic secrets are ours. Everything else in RecordSession13 is the same for both.
struct ServerSide13 {
  using Machine = Server13;
  using Config = ServerConfig13;
  static constexpr bool kServer = true;
};
struct ClientSide13 {
  using Machine = Client13;
  using Config = ClientConfig13;
  static constexpr bool kServer = false;
};

// One TLS 1.3 connection's record layer, either side (ServerSession13, ClientSession13
// below). A client session writes its ClientHello at construction: next_output() reports it.
template <class Side>
class RecordSession13 {
 public:
  using Machine = typename Side::Machine;
  using Config = typename Side::Config;

  // config must outlive the session.
  RecordSession13(const Config& config, const SessionLimits& limits) noexcept;

  // ---- Input.
  // Deframes from piece (stream bytes following everything consumed before). Same contract
  // as Deframer::next; a deframing error is fatal (fail() has been called; returns it).
  Result<Deframer::Step, Error> next(std::span<uint8_t> piece) noexcept;

  enum class Accepted : uint8_t {
    kHandled,    // processed now (plaintext); nothing queued
    kQueued,     // an open was queued into batch with slot; call on_opened() after run()
    kBatchFull,  // nothing queued and nothing consumed: run the batch, then accept(rec) again
  };
  // Takes the record next() returned. rec and slot stay valid until on_opened() (or, for
  // kHandled, until this returns). A fatal error is returned (and fail() has been called).
  Result<Accepted, Error> accept(const Record& rec, crypto::AeadBatch& batch, RecordSlot* slot,
                                 void* user_data = nullptr) noexcept;
  // True when the caller must run the batch and call on_opened() before next()/accept() of
  // another record of this session.
  bool barrier() const noexcept;

  // Public-key steps (pk_job.h), server side. Off (the default), the machine runs them
  // inline. On, a ClientHello can leave the session pk_pending(): its input stops (next()
  // takes nothing, barrier() holds; the rest of the record's handshake bytes are kept) until
  // the job, taken with take_pk_job() and run anywhere, comes back through complete_pk(),
  // which goes on with the held bytes and queues the flight. A client session ignores it.
  void set_pk_offload(bool on) noexcept;
  bool pk_pending() const noexcept { return pk_.pending(); }
  std::unique_ptr<PkJob> take_pk_job() noexcept;
  void complete_pk(std::unique_ptr<PkJob> job) noexcept;

  // After batch.run(): the result of one queued open, in queue order. Returns the
  // application data the record carried (possibly empty), a view into the record's memory
  // valid until the next call into this session, or the fatal error (alert queued).
  Result<std::span<uint8_t>, Error> on_opened(crypto::AeadStatus status,
                                              const RecordSlot& slot) noexcept;

  // ---- Output.
  enum class OutKind : uint8_t {
    kNone,     // nothing to send now (or only application data, see app_writable())
    kControl,  // a handshake, alert or KeyUpdate record: write_control()
    kAlert,    // the one fatal alert (a control record); after it the session is closed()
  };
  struct Out {
    OutKind kind = OutKind::kNone;
    size_t record_len = 0;  // bytes write_control() needs, header and protection included
  };
  // What the next record to send is, with at most max_content content bytes (the engine's
  // buffer size; capped further by the peer's record_size_limit and 2^14).
  Out next_output(size_t max_content) const noexcept;
  // Writes the next control record into out (out.size() >= next_output(max).record_len)
  // and, when it is protected, queues its seal; returns the bytes written. kBatchFull-like
  // refusal: returns 0 with nothing consumed when the batch is full.
  Result<size_t, Error> write_control(std::span<uint8_t> out, size_t max_content,
                                      crypto::AeadBatch& batch, RecordSlot* slot,
                                      void* user_data = nullptr) noexcept;

  // True once application records may be sealed: the handshake is done, no control
  // record is waiting, and close() has not been called.
  bool app_writable() const noexcept;
  // Content bytes one application record may carry (2^14 or the peer's record_size_limit).
  size_t max_app_content() const noexcept;
  // Content bytes a record from the client may carry (2^14 or our record_size_limit).
  size_t max_read_content() const noexcept;
  // Bytes a record with n content bytes takes on the wire (n + kProtectedOverhead).
  static constexpr size_t record_len(size_t content_len) noexcept {
    return content_len + kProtectedOverhead;
  }
  // Seals one application record in place: record.size() == record_len(content_len), the
  // content already at record[5, 5 + content_len). Returns false (nothing consumed) when
  // the batch is full. May first need a KeyUpdate: then it returns false as well and
  // next_output() reports kControl; send that first.
  Result<bool, Error> seal_app(std::span<uint8_t> record, size_t content_len,
                               crypto::AeadBatch& batch, RecordSlot* slot,
                               void* user_data = nullptr) noexcept;

  // After the batch that carried this session's seals (and opens) ran: frees keys retired
  // since the previous call. Call once per batch run in which the session took part.
  void batch_done() noexcept;
  // An idle connection gives back its expanded record keys (about 1 KiB each with
  // ipsec-mb's AES-GCM); the next record rebuilds them. Only between batches, with nothing
  // of this session queued.
  void park_keys() noexcept;

  // ---- Lifecycle.
  // Server-initiated or end-of-stream closure: queues close_notify (once) after everything
  // already sealed. No application record may follow.
  void close() noexcept;
  // A local fatal error (the engine's handshake timeout, resource exhaustion): queues the
  // one alert. Does nothing if the session already failed.
  void fail(Error e) noexcept;

  bool handshake_done() const noexcept;
  // True exactly once, the first time it is asked after the handshake completed (the
  // engine counts handshakes by version, suite, group and resumption).
  bool take_handshake_completed() noexcept;
  bool peer_closed() const noexcept { return peer_closed_; }  // close_notify received
  // No more input will be accepted: a fatal error, a fatal alert received, or close_notify
  // received.
  bool input_closed() const noexcept;
  // The session will never write again (alert or close_notify handed out): close TCP once
  // the queued records are out.
  bool closed() const noexcept;
  std::optional<Error> error() const noexcept { return error_; }

  const Machine& machine() const noexcept { return machine_; }
  // The client takes its tickets through this (Client13::take_sessions()).
  Machine& machine() noexcept { return machine_; }
  const SessionStats& stats() const noexcept { return stats_; }
  const Deframer::Stats& deframer_stats() const noexcept { return deframer_.stats(); }
  // Heap bytes the input side holds now: the deframer's assembly buffer and the handshake
  // reassembler's. 0 once no partial record or message is held and the last batch is done.
  size_t buffered_bytes() const noexcept {
    return deframer_.assembly_capacity() + reasm_.capacity() + pk_.held_capacity();
  }

 private:
  // Control bytes to send, in order. A chunk with no bytes only installs keys: the write
  // level the machine moved to once everything before it is out.
  struct Pending {
    ContentType type = ContentType::kHandshake;
    std::vector<uint8_t> bytes;
    size_t off = 0;
    std::optional<TrafficKeys> install_before;  // write keys to switch to before the chunk
    std::optional<TrafficKeys> install_after;   // after it (our KeyUpdate, §4.6.3)
    bool fatal_alert = false;
  };

  void handle_record(ContentType type, std::span<uint8_t> content) noexcept;
  void handle_handshake(std::span<const uint8_t> content) noexcept;
  void handle_messages(std::span<const uint8_t> content) noexcept;
  void handle_alert(std::span<const uint8_t> content) noexcept;
  void after_machine(Wait w) noexcept;
  // After the machine handled a message (was_done: before it), with rest the record's bytes
  // after it: the flight, and the read keys if they change. False on error.
  bool after_message(Wait w, bool was_done, std::span<const uint8_t> rest) noexcept;
  void take_flight() noexcept;
  Result<void, Error> install_write(crypto::AeadBatch& batch, TrafficKeys keys) noexcept;
  Result<void, Error> install_markers(crypto::AeadBatch& batch) noexcept;
  Result<void, Error> prepare_read(crypto::AeadBatch& batch) noexcept;
  std::optional<TrafficKeys> keys_for(const crypto::HashSecret& secret) noexcept;
  // Index of the first pending chunk with bytes, or out_.size().
  size_t head() const noexcept;
  bool have_pending_control() const noexcept { return head() < out_.size(); }
  // Whether the record written for chunk i (the head) will be protected.
  bool head_protected(size_t i) const noexcept;
  void skip_early(size_t ciphertext_len) noexcept;
  // Opens a record queued under a read key that a KeyUpdate earlier in its batch retired.
  Result<InnerPlaintext, Error> reopen(crypto::AeadStatus status, const RecordSlot& slot,
                                       size_t max_plaintext_len) noexcept;

  // The traffic secrets at level l (kHandshake or kApplication) of the client's records
  // and of the server's; the peer's are the other side's.
  static const crypto::HashSecret& client_secret(const Secrets13& s, Level l) noexcept {
    return l == Level::kHandshake ? s.client_handshake : s.client_application;
  }
  static const crypto::HashSecret& server_secret(const Secrets13& s, Level l) noexcept {
    return l == Level::kHandshake ? s.server_handshake : s.server_application;
  }
  static const crypto::HashSecret& peer_secret(const Secrets13& s, Level l) noexcept {
    return Side::kServer ? client_secret(s, l) : server_secret(s, l);
  }
  static const crypto::HashSecret& own_secret(const Secrets13& s, Level l) noexcept {
    return Side::kServer ? server_secret(s, l) : client_secret(s, l);
  }
  // Server-only facts (0-RTT, HelloRetryRequest); a client offers no early data.
  bool client_hello_seen() const noexcept {
    if constexpr (Side::kServer) {
      return machine_.client_hello_seen();
    } else {
      return true;
    }
  }
  bool early_data_offered() const noexcept {
    if constexpr (Side::kServer) {
      return machine_.early_data_offered();
    } else {
      return false;
    }
  }
  bool sent_hello_retry_request() const noexcept {
    if constexpr (Side::kServer) {
      return machine_.sent_hello_retry_request();
    } else {
      return false;
    }
  }

  SessionLimits limits_;
  Machine machine_;
  PkHold pk_;  // while a public-key job is out
  Deframer deframer_;
  HandshakeReassembler reasm_;
  std::optional<RecordProtector> read_, write_;
  std::vector<RecordProtector> retired_;  // keys replaced while ops were queued
  // Read keys to build at the next accept() (key changes happen in on_opened(), which has
  // no batch to prepare a key with), and the sequence number they start at.
  std::optional<TrafficKeys> pending_read_keys_;
  uint64_t pending_read_seq_ = 0;
  Level read_level_ = Level::kInitial;
  Level plan_level_ = Level::kInitial;  // the write level once out_ is sent
  uint64_t read_generation_ = 0;
  std::vector<Pending> out_;
  size_t out_head_ = 0;
  SessionStats stats_;
  std::optional<Error> error_;
  std::span<uint8_t> app_view_;  // application data of the record being opened
  uint32_t empty_records_ = 0;
  uint32_t warning_alerts_ = 0;
  uint32_t key_updates_without_data_ = 0;
  uint64_t opens_queued_ = 0;  // opens queued / handed back through on_opened()
  uint64_t opens_done_ = 0;
  uint64_t reopen_until_ = 0;             // ops numbered below this were queued under a retired key
  std::optional<uint64_t> assembled_op_;  // the op number of a queued assembled record
  bool release_pending_ = false;          // release the assembly buffer at the next call
  bool last_queued_was_barrier_ = false;
  bool peer_closed_ = false;
  bool fatal_alert_received_ = false;
  bool close_queued_ = false;
  bool alert_queued_ = false;
  bool alert_handed_out_ = false;
  bool close_handed_out_ = false;
  bool handshake_reported_ = false;
  bool skipping_early_data_ = false;
};

extern template class RecordSession13<ServerSide13>;
extern template class RecordSession13<ClientSide13>;
using ServerSession13 = RecordSession13<ServerSide13>;
using ClientSession13 = RecordSession13<ClientSide13>;

}  // namespace linetls::tls
