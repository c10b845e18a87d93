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
#include "lib/tls/session_core.h"

namespace linetls::tls {

// A record at most this long (whole record, header included) may be an unpadded KeyUpdate
// (5 + 4 + 1 + 16 = 26 bytes): a barrier after the handshake, so the common KeyUpdate never
// has records queued behind it. A padded KeyUpdate is longer: the records queued behind it in
// the same batch went in under the key it retires; their opens fail, the batch puts their
// ciphertext back (crypto/aead.h), and on_opened() opens them again, one at a time outside
// the batch, under the new key (reopen_record, counted in SessionStats::records_reopened).
inline constexpr size_t kKeyUpdateBarrierLen = 64;

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

// A control chunk (session_core.h's PendingControl). A chunk with no bytes only installs
// keys: the write level the machine moved to once everything before it is out.
struct Pending13 : PendingControl {
  std::optional<TrafficKeys> install_before;  // write keys to switch to before the chunk
  std::optional<TrafficKeys> install_after;   // after it (our KeyUpdate, §4.6.3)
};

// One TLS 1.3 connection's record layer, either side (ServerSession13, ClientSession13
// below). A client session writes its ClientHello at construction: next_output() reports it.
// What both versions share (the deframing step, barrier(), the handshake message loop,
// alerts, close/fail, the lifecycle queries, stats, the public-key hold) is
// RecordSessionCore's (session_core.h); this class is what TLS 1.3 does differently.
template <class Side>
class RecordSession13
    : public RecordSessionCore<RecordSession13<Side>, typename Side::Machine, RecordProtector,
                               Pending13> {
  using Core = RecordSessionCore<RecordSession13<Side>, typename Side::Machine, RecordProtector,
                                 Pending13>;
  friend Core;

 public:
  using Machine = typename Side::Machine;
  using Config = typename Side::Config;
  using typename Core::Accepted;
  using typename Core::Out;
  using typename Core::OutKind;
  // Public in RecordSessionCore; named here so this class's code finds them.
  using Core::fail;
  using Core::handshake_done;
  using Core::input_closed;

  // config must outlive the session.
  RecordSession13(const Config& config, const SessionLimits& limits) noexcept;

  // ---- Input (next(), barrier(), the public-key calls: RecordSessionCore).
  // Takes the record next() returned. rec and slot stay valid until on_opened() (or, for
  // kHandled, until this returns). A fatal error is returned (and fail() has been called).
  Result<Accepted, Error> accept(const Record& rec, crypto::AeadBatch& batch, RecordSlot* slot,
                                 void* user_data = nullptr) noexcept;

  // After batch.run(): the result of one queued open, in queue order. Returns the
  // application data the record carried (possibly empty), a view into the record's memory
  // valid until the next call into this session, or the fatal error (alert queued).
  Result<std::span<uint8_t>, Error> on_opened(crypto::AeadStatus status,
                                              const RecordSlot& slot) noexcept;

  // ---- Output (app_writable(), batch_done(), park_keys(): RecordSessionCore).
  // What the next record to send is, with at most max_content content bytes (the engine's
  // buffer size; capped further by the peer's record_size_limit and 2^14).
  Out next_output(size_t max_content) const noexcept;
  // Writes the next control record into out (out.size() >= next_output(max).record_len)
  // and, when it is protected, queues its seal; returns the bytes written. kBatchFull-like
  // refusal: returns 0 with nothing consumed when the batch is full.
  Result<size_t, Error> write_control(std::span<uint8_t> out, size_t max_content,
                                      crypto::AeadBatch& batch, RecordSlot* slot,
                                      void* user_data = nullptr) noexcept;

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

  // (Lifecycle, stats and machine(): RecordSessionCore.)

 private:
  using Pending = Pending13;
  using Core::app_view_;
  using Core::deframer_;
  using Core::error_;
  using Core::limits_;
  using Core::machine_;
  using Core::opens_queued_;
  using Core::out_;
  using Core::out_head_;
  using Core::read_;
  using Core::reasm_;
  using Core::stats_;
  using Core::write_;

  // CRTP hooks (session_core.h).
  void take_flight() noexcept;
  bool after_message(Wait w, bool was_done, std::span<const uint8_t> rest) noexcept;
  // §6: "all alerts other than close_notify and user_canceled are fatal regardless of the
  // AlertLevel".
  static bool warning_tolerated(uint8_t /*level*/, uint8_t description) noexcept {
    return description == static_cast<uint8_t>(AlertDescription::kUserCanceled);
  }

  void handle_record(ContentType type, std::span<uint8_t> content) noexcept;
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

  // Read keys to build at the next accept() (key changes happen in on_opened(), which has
  // no batch to prepare a key with), and the sequence number they start at.
  std::optional<TrafficKeys> pending_read_keys_;
  uint64_t pending_read_seq_ = 0;
  Level read_level_ = Level::kInitial;
  Level plan_level_ = Level::kInitial;  // the write level once out_ is sent
  uint64_t read_generation_ = 0;
  uint32_t key_updates_without_data_ = 0;
  uint64_t reopen_until_ = 0;  // ops numbered below this were queued under a retired key
  bool skipping_early_data_ = false;
};

extern template class RecordSession13<ServerSide13>;
extern template class RecordSession13<ClientSide13>;
using ServerSession13 = RecordSession13<ServerSide13>;
using ClientSession13 = RecordSession13<ClientSide13>;

}  // namespace linetls::tls
