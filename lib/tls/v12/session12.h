// tls::v12::ServerSession12: one server-side TLS 1.2 connection's record layer around
// Server12, the twin of tls::ServerSession13 (lib/tls/session13.h) with the same public API
// so the engine can hold either behind one interface. Read session13.h first: the input
// rounds (next / accept / batch.run / on_opened, barrier()), the output calls
// (next_output / write_control / seal_app, batch_done) and the error, closure and limit
// rules are the same. What differs, and why:
//
// - Slots are RecordSlot12 (the TLS 1.2 additional data is not in the record, so it lives in
//   the slot until the batch ran; record12.h).
// - record_len(n) is a member, not static: the overhead depends on the suite (5 + 8 + 16 for
//   AES-GCM with its explicit nonce, 5 + 16 for ChaCha20-Poly1305). content_offset() says
//   where seal_app() expects the content: record[content_offset(), + n), i.e. 5 + 8 for GCM
//   and 5 for ChaCha20 (TLS 1.3: always 5).
// - The key change is the ChangeCipherSpec, a plaintext record handled in accept() (which
//   has the batch to build the read key with); everything before it is plaintext and
//   handled at once (kHandled), everything after it is queued. A protected ChangeCipherSpec
//   (renegotiation) is kUnexpectedChangeCipherSpec; a CCS with a partial handshake message
//   buffered is kHandshakeSpansKeyChange. barrier() holds while the handshake runs (the
//   Finished) and while the assembly buffer is held; TLS 1.2 has no KeyUpdate.
// - Our ChangeCipherSpec is a control record like any other: the flight's handshake bytes,
//   then the CCS (plaintext), then our write keys, then the Finished.
// - Alerts (RFC 5246 §7.2) are plaintext before our ChangeCipherSpec and protected after.
//   Received: close_notify at either level closes input (peer_closed()); a fatal-level
//   alert closes the session with no answer (§7.2.2); a warning-level alert whose
//   description RFC 5246 calls always fatal (unexpected_message, bad_record_mac,
//   record_overflow, handshake_failure, illegal_parameter, decode_error, protocol_version,
//   ...) is treated as fatal too; other warnings (user_canceled, no_renegotiation,
//   certificate warnings, unknown descriptions) are counted: more than
//   limits.max_warning_alerts in a row without application data between them is
//   kTooManyWarningAlerts. A renegotiation attempt (a ClientHello after the handshake) is
//   refused fatally with no_renegotiation (Server12; documented in DESIGN.md).
// - No KeyUpdate: limits.key_update_records is, here, the number of records we seal under
//   one AES-GCM key before we end the connection (RFC 8446 §5.5's 2^24.5 bound applies to
//   the TLS 1.2 GCM construction too, and TLS 1.2 cannot rekey without renegotiation):
//   seal_app() then returns false and queues close_notify (next_output() reports it);
//   ChaCha20-Poly1305 has no such limit. The peer's records are not limited (its key).
//   limits.max_key_updates_without_data and max_early_data_bytes are unused.
// - stats(): key_updates_* and early_data_skipped stay 0.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "lib/base/result.h"
#include "lib/crypto/aead.h"
#include "lib/tls/errors.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/record.h"
#include "lib/tls/session13.h"
#include "lib/tls/session_core.h"
#include "lib/tls/v12/client12.h"
#include "lib/tls/v12/record12.h"
#include "lib/tls/v12/server12.h"

namespace linetls::tls::v12 {

using tls::PendingControl;
using tls::RecordSessionCore;
using tls::SessionLimits;
using tls::SessionStats;

// The two sides of a TLS 1.2 connection (as session13.h's ServerSide13/ClientSide13).
struct ServerSide12 {
  using Machine = Server12;
  using Config = ServerConfig12;
  static constexpr bool kServer = true;
};
struct ClientSide12 {
  using Machine = Client12;
  using Config = ClientConfig12;
  static constexpr bool kServer = false;
};

// A control chunk (session_core.h's PendingControl).
struct Pending12 : PendingControl {
  bool switch_write_after = false;  // our ChangeCipherSpec: install our write keys after it
};

// One TLS 1.2 connection's record layer, either side (ServerSession12, ClientSession12
// below). A client session writes its ClientHello at construction. What both versions share
// is RecordSessionCore's (session_core.h); this class is what TLS 1.2 does differently.
template <class Side>
class RecordSession12
    : public RecordSessionCore<RecordSession12<Side>, typename Side::Machine, RecordProtector12,
                               Pending12> {
  using Core = RecordSessionCore<RecordSession12<Side>, typename Side::Machine,
                                 RecordProtector12, Pending12>;
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
  RecordSession12(const Config& config, const SessionLimits& limits) noexcept;

  // ---- Input (as ServerSession13; next(), barrier(), the public-key calls:
  // RecordSessionCore). A ClientHello or ClientKeyExchange can leave a server session
  // pk_pending() with offload on.
  // Takes the record next() returned. rec and slot stay valid until on_opened() (or, for
  // kHandled, until this returns). A fatal error is returned (and fail() has been called).
  Result<Accepted, Error> accept(const Record& rec, crypto::AeadBatch& batch, RecordSlot12* slot,
                                 void* user_data = nullptr) noexcept;
  // After batch.run(): the result of one queued open, in queue order. Returns the
  // application data the record carried (possibly empty), a view into the record's memory
  // valid until the next call into this session, or the fatal error (alert queued).
  Result<std::span<uint8_t>, Error> on_opened(crypto::AeadStatus status,
                                              const RecordSlot12& slot) noexcept;

  // ---- Output (as ServerSession13).
  Out next_output(size_t max_content) const noexcept;
  Result<size_t, Error> write_control(std::span<uint8_t> out, size_t max_content,
                                      crypto::AeadBatch& batch, RecordSlot12* slot,
                                      void* user_data = nullptr) noexcept;

  // Content bytes one application record may carry (2^14: no record_size_limit in 1.2 here).
  size_t max_app_content() const noexcept { return kMaxPlaintextLen; }
  size_t max_read_content() const noexcept { return kMaxPlaintextLen; }
  // Bytes a protected record with n content bytes takes on the wire under the negotiated
  // suite (valid once the ServerHello is out; before that, the AES-GCM overhead).
  size_t record_len(size_t content_len) const noexcept { return content_len + overhead(); }
  // Where seal_app() expects the content inside its record: 5 + the explicit nonce length.
  size_t content_offset() const noexcept;
  // Seals one application record in place: record.size() == record_len(content_len), the
  // content already at record[content_offset(), + content_len). Returns false (nothing
  // consumed) when the batch is full, or when the AES-GCM record limit was reached: then
  // close_notify is queued, next_output() reports kControl and app_writable() is false.
  Result<bool, Error> seal_app(std::span<uint8_t> record, size_t content_len,
                               crypto::AeadBatch& batch, RecordSlot12* slot,
                               void* user_data = nullptr) noexcept;

  // (batch_done(), park_keys(), the lifecycle, stats and machine(): RecordSessionCore.)

 private:
  using Pending = Pending12;
  using Core::app_view_;
  using Core::deframer_;
  using Core::error_;
  using Core::limits_;
  using Core::machine_;
  using Core::out_;
  using Core::out_head_;
  using Core::read_;
  using Core::reasm_;
  using Core::stats_;
  using Core::write_;

  // CRTP hooks (session_core.h).
  void take_flight() noexcept;
  bool after_message(Wait w, bool was_done, std::span<const uint8_t> rest) noexcept;
  static bool warning_tolerated(uint8_t level, uint8_t description) noexcept;
  bool have_pending_control() const noexcept { return out_head_ < out_.size(); }

  size_t overhead() const noexcept;
  void handle_change_cipher_spec(const Record& rec, crypto::AeadBatch& batch) noexcept;
  void handle_record(ContentType type, std::span<uint8_t> content) noexcept;
  Result<void, Error> install_write(crypto::AeadBatch& batch) noexcept;
  bool head_protected() const noexcept;
};

extern template class RecordSession12<ServerSide12>;
extern template class RecordSession12<ClientSide12>;
using ServerSession12 = RecordSession12<ServerSide12>;
using ClientSession12 = RecordSession12<ClientSide12>;

}  // namespace linetls::tls::v12
