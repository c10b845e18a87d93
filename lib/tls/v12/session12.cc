#include "lib/tls/v12/session12.h"


#include <algorithm>
#include <cstring>
#include <utility>

#include "lib/base/clock.h"
#include "lib/tls/v12/messages12.h"

namespace linetls::tls::v12 {

namespace {

constexpr uint8_t kAlertLevelWarning = 1;
constexpr uint8_t kAlertLevelFatal = 2;

Unexpected<Error> err(Error e) noexcept { return ::linetls::fail(e); }

// RFC 5246 §7.2.2 names these alerts "always fatal" (and RFC 7627 / 5746 / 8446 add
// inappropriate_fallback, missing_extension, ...): a warning-level one is still the end.
bool always_fatal(uint8_t description) noexcept {
  switch (static_cast<AlertDescription>(description)) {
    case AlertDescription::kUnexpectedMessage:
    case AlertDescription::kBadRecordMac:
    case AlertDescription::kRecordOverflow:
    case AlertDescription::kHandshakeFailure:
    case AlertDescription::kIllegalParameter:
    case AlertDescription::kUnknownCa:
    case AlertDescription::kAccessDenied:
    case AlertDescription::kDecodeError:
    case AlertDescription::kDecryptError:
    case AlertDescription::kProtocolVersion:
    case AlertDescription::kInsufficientSecurity:
    case AlertDescription::kInternalError:
    case AlertDescription::kInappropriateFallback:
    case AlertDescription::kMissingExtension:
    case AlertDescription::kUnsupportedExtension:
    case AlertDescription::kCertificateRequired:
    case AlertDescription::kNoApplicationProtocol:
      return true;
    case AlertDescription::kCloseNotify:
    case AlertDescription::kBadCertificate:
    case AlertDescription::kUnsupportedCertificate:
    case AlertDescription::kCertificateRevoked:
    case AlertDescription::kCertificateExpired:
    case AlertDescription::kCertificateUnknown:
    case AlertDescription::kUserCanceled:
    case AlertDescription::kNoRenegotiation:
    case AlertDescription::kUnrecognizedName:
    case AlertDescription::kBadCertificateStatusResponse:
    case AlertDescription::kUnknownPskIdentity:
      return false;
  }
  return false;  // codes outside the enum: see always_fatal_code
}

// decryption_failed_RESERVED (21) and decompression_failure (30) are fatal in RFC 5246 too.
bool always_fatal_code(uint8_t description) noexcept {
  return description == 21 || description == 30 || always_fatal(description);
}

}  // namespace

template <class Side>
RecordSession12<Side>::RecordSession12(const Config& config, const SessionLimits& limits) noexcept
    : limits_(limits), machine_(config), reasm_(limits.max_handshake_message) {
  if constexpr (!Side::kServer) {
    // The client speaks first: its ClientHello is the first control record.
    const Wait w = machine_.start();
    if (w == Wait::kError) {
      fail(machine_.error());
    } else if (w == Wait::kFlush) {
      take_flight();
    }
  }
}

template <class Side>
size_t RecordSession12<Side>::overhead() const noexcept {
  return record_overhead(machine_.suite().aead);
}

template <class Side>
size_t RecordSession12<Side>::content_offset() const noexcept {
  return kRecordHeaderLen + explicit_nonce_len(machine_.suite().aead);
}

// ---- Input.

template <class Side>
Result<Deframer::Step, Error> RecordSession12<Side>::next(std::span<uint8_t> piece) noexcept {
  if (release_pending_) {
    deframer_.release_assembled();
    release_pending_ = false;
  }
  if (error_) {
    return err(*error_);
  }
  if (pk_.pending()) {
    return Deframer::Step{};  // nothing taken until the job is back
  }
  if (input_closed()) {
    Deframer::Step step;
    step.consumed = piece.size();  // RFC 5246 §7.2.1: nothing after close_notify counts
    return step;
  }
  auto step = deframer_.next(piece);
  if (!step) {
    fail(step.error());
    return err(step.error());
  }
  return step;
}

template <class Side>
auto RecordSession12<Side>::accept(const Record& rec, crypto::AeadBatch& batch, RecordSlot12* slot,
                              void* user_data) noexcept -> Result<Accepted, Error> {
  if (error_) {
    return err(*error_);
  }
  const auto handled = [&]() -> Result<Accepted, Error> {
    if (rec.assembled) {
      deframer_.release_assembled();
    }
    if (error_) {
      return err(*error_);
    }
    return Accepted::kHandled;
  };
  if (input_closed()) {
    return handled();
  }
  if (!read_) {
    // Before the client's ChangeCipherSpec every record is plaintext (RFC 5246 §6.1: the
    // initial state is TLS_NULL_WITH_NULL_NULL).
    switch (rec.type) {
      case ContentType::kChangeCipherSpec:
        handle_change_cipher_spec(rec, batch);
        break;
      case ContentType::kApplicationData:
        // §5.1's rule (RFC 5246 §6.2.1 leaves it implicit): nothing between the fragments of
        // a handshake message.
        fail(reasm_.mid_message() ? Error::kInterleavedRecord : Error::kUnprotectedRecord);
        break;
      default:
        handle_record(rec.type, rec.fragment);
        break;
    }
    return handled();
  }
  if (rec.type == ContentType::kChangeCipherSpec) {
    // A second ChangeCipherSpec (§7.1: one per handshake; we refuse renegotiation).
    fail(Error::kUnexpectedChangeCipherSpec);
    return handled();
  }
  auto q = read_->queue_open(batch, rec, slot, user_data);
  if (!q) {
    fail(q.error());
    return handled();
  }
  if (!*q) {
    return Accepted::kBatchFull;
  }
  if (rec.assembled) {
    assembled_op_ = opens_queued_;
  }
  opens_queued_++;
  // The Finished must be read before anything after it (the machine decides what may
  // follow); after the handshake no record changes the read state in TLS 1.2.
  last_queued_was_barrier_ = !handshake_done() || rec.assembled;
  return Accepted::kQueued;
}

template <class Side>
bool RecordSession12<Side>::barrier() const noexcept {
  if (pk_.pending()) {
    return true;
  }
  if (deframer_.assembly_held() && !release_pending_) {
    return true;
  }
  return opens_done_ < opens_queued_ && last_queued_was_barrier_;
}

template <class Side>
void RecordSession12<Side>::handle_change_cipher_spec(const Record& rec,
                                                crypto::AeadBatch& batch) noexcept {
  // RFC 5246 §7.1: struct { enum { change_cipher_spec(1), (255) } type; }.
  if (auto ok = parse_change_cipher_spec(rec.fragment); !ok) {
    return fail(ok.error());
  }
  const uint64_t t0 = tsc();
  const Wait ccs = machine_.handle_change_cipher_spec(reasm_.mid_message());
  stats_.handshake_machine_ticks += tsc() - t0;
  if (ccs == Wait::kError) {
    return fail(machine_.error());
  }
  // §7.1: "the receiver instructs the record layer to immediately copy the read pending
  // state into the read current state"; sequence numbers start at zero (§6.1).
  auto p = RecordProtector12::create(batch, Side::kServer ? machine_.keys().client_write
                                                         : machine_.keys().server_write);
  if (!p) {
    return fail(p.error());
  }
  read_.emplace(std::move(p).value());
  deframer_.set_protected(true);
  deframer_.set_strict_version(true);
}

template <class Side>
Result<std::span<uint8_t>, Error> RecordSession12<Side>::on_opened(crypto::AeadStatus status,
                                                             const RecordSlot12& slot) noexcept {
  const uint64_t op = opens_done_++;
  if (assembled_op_ && *assembled_op_ == op) {
    assembled_op_.reset();
    release_pending_ = true;
  }
  if (error_) {
    return err(*error_);
  }
  if (input_closed()) {
    return std::span<uint8_t>();
  }
  auto pt = finish_open(status, slot, max_read_content());
  if (!pt) {
    fail(pt.error());
    return err(pt.error());
  }
  stats_.records_opened++;
  app_view_ = {};
  if (pt->type == ContentType::kChangeCipherSpec) {
    // A second, protected ChangeCipherSpec would start a renegotiated key change.
    fail(Error::kUnexpectedChangeCipherSpec);
  } else {
    handle_record(pt->type, pt->content);
  }
  if (error_) {
    return err(*error_);
  }
  return app_view_;
}

template <class Side>
void RecordSession12<Side>::handle_record(ContentType type, std::span<uint8_t> content) noexcept {
  // RFC 8446 §5.1: "Handshake messages MUST NOT be interleaved with other record types. That
  // is, if a handshake message is split over two or more records, there MUST NOT be any
  // other records between them." RFC 5246 has no such sentence, but its handshake protocol
  // gives no meaning to an alert or data inside a message either; the same rule applies.
  if (type != ContentType::kHandshake && reasm_.mid_message()) {
    return fail(Error::kInterleavedRecord);
  }
  switch (type) {
    case ContentType::kAlert:
      return handle_alert(content);
    case ContentType::kHandshake:
      empty_records_ = 0;
      return handle_handshake(content);
    case ContentType::kApplicationData:
      // RFC 5246 §7.4.9: application data only after the Finished exchange.
      if (!handshake_done()) {
        return fail(read_ ? Error::kUnexpectedMessage : Error::kUnprotectedRecord);
      }
      if (content.empty()) {
        // §6.2.1: "Zero-length fragments of Application data MAY be sent" (as a traffic
        // analysis countermeasure): allowed, but only so many in a row.
        if (++empty_records_ > limits_.max_empty_records) {
          fail(Error::kTooManyEmptyRecords);
        }
        return;
      }
      empty_records_ = 0;
      warning_alerts_ = 0;
      stats_.bytes_opened += content.size();
      app_view_ = content;
      return;
    case ContentType::kChangeCipherSpec:
      return fail(Error::kUnexpectedChangeCipherSpec);
    case ContentType::kInvalid:
      break;
  }
  fail(Error::kBadRecordType);
}

template <class Side>
void RecordSession12<Side>::handle_alert(std::span<const uint8_t> content) noexcept {
  // RFC 5246 §7.2: struct { AlertLevel level; AlertDescription description; } Alert;
  if (content.size() != 2) {
    return fail(Error::kBadAlert);
  }
  const uint8_t level = content[0];
  const uint8_t description = content[1];
  if (level != kAlertLevelWarning && level != kAlertLevelFatal) {
    return fail(Error::kBadAlert);
  }
  stats_.alert_received = description;
  if (description == static_cast<uint8_t>(AlertDescription::kCloseNotify)) {
    peer_closed_ = true;  // §7.2.1; our side stays open until close()
    return;
  }
  if (level == kAlertLevelWarning && !always_fatal_code(description)) {
    // §7.2.2: "If an alert with a level of warning is sent and received, generally the
    // connection can continue normally." Only so many in a row, though.
    if (++warning_alerts_ > limits_.max_warning_alerts) {
      fail(Error::kTooManyWarningAlerts);
    }
    return;
  }
  // §7.2.2: "Upon transmission or receipt of a fatal alert message, both parties
  // immediately close the connection." Nothing is sent back.
  fatal_alert_received_ = true;
  out_.clear();
  out_head_ = 0;
}

template <class Side>
void RecordSession12<Side>::handle_handshake(std::span<const uint8_t> content) noexcept {
  handle_messages(content);
  reasm_.trim();  // the messages of this record are handled: no buffer unless one is partial
}

template <class Side>
void RecordSession12<Side>::handle_messages(std::span<const uint8_t> content) noexcept {
  while (!content.empty() && !error_ && !input_closed()) {
    const MessageRules rules =
        machine_.next_message_rules(limits_.max_client_hello, limits_.max_handshake_message);
    auto step = reasm_.next(content, rules.view());
    if (!step) {
      return fail(step.error());
    }
    content = content.subspan(step->consumed);
    if (!step->has_message) {
      continue;
    }
    const uint64_t t0 = tsc();
    const Wait w = machine_.handle(step->message);
    stats_.handshake_machine_ticks += tsc() - t0;
    if (pk_.after_handle(machine_, w, content, &stats_.pk_jobs_inline)) {
      return;  // the rest waits for the job
    }
    if (!after_message(w)) {
      return;
    }
  }
}

template <class Side>
bool RecordSession12<Side>::after_message(Wait w) noexcept {
  if (w == Wait::kError) {
    fail(machine_.error());
    return false;
  }
  if (w == Wait::kFlush) {
    take_flight();
  }
  return !error_;
}

template <class Side>
void RecordSession12<Side>::set_pk_offload(bool on) noexcept {
  PkHold::set_offload(machine_, on);
}

template <class Side>
std::unique_ptr<PkJob> RecordSession12<Side>::take_pk_job() noexcept {
  return pk_.take(machine_);
}

template <class Side>
void RecordSession12<Side>::complete_pk(std::unique_ptr<PkJob> job) noexcept {
  std::vector<uint8_t> rest;
  const std::optional<Wait> w = pk_.complete(machine_, std::move(job), error_.has_value(),
                                             &stats_.handshake_machine_ticks, &rest);
  if (w && after_message(*w)) {
    handle_messages(rest);
    reasm_.trim();
  }
}

template <class Side>
void RecordSession12<Side>::take_flight() noexcept {
  Flight12 f = machine_.take_flight();
  if (!f.handshake.empty()) {
    Pending p;
    p.type = ContentType::kHandshake;
    p.bytes = std::move(f.handshake);
    out_.push_back(std::move(p));
  }
  if (f.change_cipher_spec) {
    Pending p;
    p.type = ContentType::kChangeCipherSpec;
    p.bytes = {1};
    p.switch_write_after = true;
    out_.push_back(std::move(p));
  }
  if (!f.after_ccs.empty()) {
    Pending p;
    p.type = ContentType::kHandshake;
    p.bytes = std::move(f.after_ccs);
    out_.push_back(std::move(p));
  }
}

// ---- Output.

template <class Side>
Result<void, Error> RecordSession12<Side>::install_write(crypto::AeadBatch& batch) noexcept {
  auto p = RecordProtector12::create(batch, Side::kServer ? machine_.keys().server_write
                                                         : machine_.keys().client_write);
  if (!p) {
    fail(p.error());
    return err(p.error());
  }
  if (write_) {
    retired_.push_back(std::move(*write_));
  }
  write_.emplace(std::move(p).value());
  return {};
}

template <class Side>
bool RecordSession12<Side>::head_protected() const noexcept { return write_.has_value(); }

template <class Side>
auto RecordSession12<Side>::next_output(size_t max_content) const noexcept -> Out {
  Out o;
  if (fatal_alert_received_ || closed() || !have_pending_control() || max_content == 0) {
    return o;
  }
  const Pending& p = out_[out_head_];
  const size_t n = std::min({p.bytes.size() - p.off, max_content, kMaxPlaintextLen});
  o.kind = p.fatal_alert ? OutKind::kAlert : OutKind::kControl;
  o.record_len = head_protected() ? record_len(n) : n + kRecordHeaderLen;
  return o;
}

template <class Side>
Result<size_t, Error> RecordSession12<Side>::write_control(std::span<uint8_t> out, size_t max_content,
                                                     crypto::AeadBatch& batch, RecordSlot12* slot,
                                                     void* user_data) noexcept {
  if (fatal_alert_received_ || closed()) {
    return size_t{0};
  }
  const auto failed = [&]() -> Result<size_t, Error> {
    if (out_head_ < out_.size() && out_[out_head_].fatal_alert) {
      alert_handed_out_ = true;  // the alert itself could not be sealed
      out_.clear();
      out_head_ = 0;
    }
    return err(*error_);
  };
  if (!have_pending_control() || max_content == 0) {
    return size_t{0};
  }
  Pending& p = out_[out_head_];
  const size_t n = std::min({p.bytes.size() - p.off, max_content, kMaxPlaintextLen});
  size_t written = 0;
  if (write_) {
    written = record_len(n);
    if (out.size() < written) {
      return err(Error::kInternalError);
    }
    std::memcpy(out.data() + content_offset(), p.bytes.data() + p.off, n);
    auto q = write_->queue_seal(batch, out.first(written), p.type, slot, user_data);
    if (!q) {
      fail(q.error());
      return failed();
    }
    if (!*q) {
      return size_t{0};
    }
    stats_.records_sealed++;
  } else {
    written = n + kRecordHeaderLen;
    if (out.size() < written) {
      return err(Error::kInternalError);
    }
    write_record_header(out.data(), p.type, static_cast<uint16_t>(n), kRecordVersion);
    std::memcpy(out.data() + kRecordHeaderLen, p.bytes.data() + p.off, n);
  }
  p.off += n;
  if (p.off == p.bytes.size()) {
    if (p.fatal_alert) {
      alert_handed_out_ = true;
    } else if (p.type == ContentType::kAlert) {
      close_handed_out_ = true;
    }
    const bool switch_write = p.switch_write_after;
    out_head_++;
    if (out_head_ == out_.size()) {
      out_ = std::vector<Pending>();  // drained: an idle connection keeps no capacity
      out_head_ = 0;
    }
    // RFC 5246 §7.1: after sending ChangeCipherSpec "the sender MUST instruct the record
    // layer to make the write pending state the write active state".
    if (switch_write) {
      if (auto ok = install_write(batch); !ok) {
        return failed();
      }
    }
  }
  return written;
}

template <class Side>
bool RecordSession12<Side>::app_writable() const noexcept {
  return handshake_done() && !have_pending_control() && !close_queued_ && !error_ &&
         !fatal_alert_received_ && write_.has_value();
}

template <class Side>
Result<bool, Error> RecordSession12<Side>::seal_app(std::span<uint8_t> record, size_t content_len,
                                              crypto::AeadBatch& batch, RecordSlot12* slot,
                                              void* user_data) noexcept {
  if (have_pending_control()) {
    return false;
  }
  if (!app_writable() || content_len > max_app_content() ||
      record.size() != record_len(content_len)) {
    return err(Error::kInternalError);
  }
  // No KeyUpdate in TLS 1.2: an AES-GCM key that sealed its share of records ends the
  // connection cleanly instead (see the header).
  if (write_->algo() != crypto::AeadAlgo::kChacha20Poly1305 &&
      write_->next_seq() >= limits_.key_update_records) {
    close();
    return false;
  }
  auto q = write_->queue_seal(batch, record, ContentType::kApplicationData, slot, user_data);
  if (!q) {
    fail(q.error());
    return err(q.error());
  }
  if (*q) {
    stats_.records_sealed++;
    stats_.bytes_sealed += content_len;
  }
  return *q;
}

template <class Side>
void RecordSession12<Side>::park_keys() noexcept {
  if (read_) {
    read_->park();
  }
  if (write_) {
    write_->park();
  }
}

template <class Side>
void RecordSession12<Side>::batch_done() noexcept {
  if (retired_.capacity() != 0) {
    retired_ = std::vector<RecordProtector12>();
  }
  if (release_pending_) {
    deframer_.release_assembled();
    release_pending_ = false;
  }
}

// ---- Lifecycle.

template <class Side>
void RecordSession12<Side>::close() noexcept {
  if (close_queued_ || error_ || fatal_alert_received_) {
    return;
  }
  close_queued_ = true;
  Pending p;
  p.type = ContentType::kAlert;
  // RFC 5246 §7.2.1: close_notify; sent at warning level as every implementation does.
  p.bytes = {kAlertLevelWarning, static_cast<uint8_t>(AlertDescription::kCloseNotify)};
  out_.push_back(std::move(p));
}

template <class Side>
void RecordSession12<Side>::fail(Error e) noexcept {
  if (error_) {
    return;
  }
  error_ = e;
  if (fatal_alert_received_ || alert_handed_out_ || close_handed_out_) {
    return;
  }
  // Drop the unsent handshake output, our pending ChangeCipherSpec with it: the alert goes
  // under the write state the client reads with now (plaintext before our CCS).
  out_.clear();
  out_head_ = 0;
  const uint8_t description = static_cast<uint8_t>(to_alert(e));
  Pending p;
  p.type = ContentType::kAlert;
  p.bytes = {kAlertLevelFatal, description};
  p.fatal_alert = true;
  out_.push_back(std::move(p));
  alert_queued_ = true;
  stats_.alert_sent = description;
}

template <class Side>
bool RecordSession12<Side>::take_handshake_completed() noexcept {
  if (handshake_reported_ || !handshake_done()) {
    return false;
  }
  handshake_reported_ = true;
  return true;
}

template class RecordSession12<ServerSide12>;
template class RecordSession12<ClientSide12>;

}  // namespace linetls::tls::v12
