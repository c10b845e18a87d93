#include "lib/tls/v12/session12.h"


#include <algorithm>
#include <cstring>
#include <utility>

#include "lib/base/clock.h"
#include "lib/tls/v12/messages12.h"

namespace linetls::tls::v12 {

namespace {

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
    : Core(config, limits) {
  if constexpr (!Side::kServer) {
    // The client speaks first: its ClientHello is the first control record.
    this->after_machine(machine_.start());
  }
}

// RFC 5246 §7.2.2: "If an alert with a level of warning is sent and received, generally the
// connection can continue normally", except for those it calls always fatal. Only so many
// in a row, though (RecordSessionCore::handle_alert).
template <class Side>
bool RecordSession12<Side>::warning_tolerated(uint8_t level, uint8_t description) noexcept {
  return level == kAlertLevelWarning && !always_fatal_code(description);
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
auto RecordSession12<Side>::accept(const Record& rec, crypto::AeadBatch& batch, RecordSlot12* slot,
                              void* user_data) noexcept -> Result<Accepted, Error> {
  if (error_) {
    return err(*error_);
  }
  const auto handled = [&] { return this->handled(rec); };
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
  // The Finished must be read before anything after it (the machine decides what may
  // follow); after the handshake no record changes the read state in TLS 1.2.
  return this->queued(rec, !handshake_done());
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
  this->take_opened();
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
      return this->handle_alert(content);
    case ContentType::kHandshake:
      this->empty_records_ = 0;
      return this->handle_handshake(content);
    case ContentType::kApplicationData:
      // RFC 5246 §7.4.9: application data only after the Finished exchange.
      if (!handshake_done()) {
        return fail(read_ ? Error::kUnexpectedMessage : Error::kUnprotectedRecord);
      }
      // §6.2.1: "Zero-length fragments of Application data MAY be sent" (as a traffic
      // analysis countermeasure): allowed, but only so many in a row.
      return this->take_app_data(content);
    case ContentType::kChangeCipherSpec:
      return fail(Error::kUnexpectedChangeCipherSpec);
    case ContentType::kInvalid:
      break;
  }
  fail(Error::kBadRecordType);
}

template <class Side>
bool RecordSession12<Side>::after_message(Wait w, bool /*was_done*/,
                                          std::span<const uint8_t> /*rest*/) noexcept {
  // No read-key change here: TLS 1.2's is the ChangeCipherSpec record (accept()).
  this->after_machine(w);
  return !error_;
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
  this->replace_keys(write_, std::move(p).value());
  return {};
}

template <class Side>
bool RecordSession12<Side>::head_protected() const noexcept { return write_.has_value(); }

template <class Side>
auto RecordSession12<Side>::next_output(size_t max_content) const noexcept -> Out {
  Out o;
  if (this->fatal_alert_received_ || this->closed() || !have_pending_control() ||
      max_content == 0) {
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
  if (this->fatal_alert_received_ || this->closed()) {
    return size_t{0};
  }
  const auto failed = [&] { return this->control_failed(); };
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
    this->control_chunk_sent(p);
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
Result<bool, Error> RecordSession12<Side>::seal_app(std::span<uint8_t> record, size_t content_len,
                                              crypto::AeadBatch& batch, RecordSlot12* slot,
                                              void* user_data) noexcept {
  if (have_pending_control()) {
    return false;
  }
  if (!this->app_writable() || content_len > max_app_content() ||
      record.size() != record_len(content_len)) {
    return err(Error::kInternalError);
  }
  // No KeyUpdate in TLS 1.2: an AES-GCM key that sealed its share of records ends the
  // connection cleanly instead (see the header).
  if (write_->algo() != crypto::AeadAlgo::kChacha20Poly1305 &&
      write_->next_seq() >= limits_.key_update_records) {
    this->close();
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

template class RecordSession12<ServerSide12>;
template class RecordSession12<ClientSide12>;

}  // namespace linetls::tls::v12
