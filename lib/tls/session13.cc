#include "lib/tls/session13.h"


#include <algorithm>
#include <cstring>
#include <utility>

#include "lib/base/clock.h"
#include "lib/tls/key_schedule.h"

namespace linetls::tls {

namespace {

constexpr uint8_t kAlertLevelWarning = 1;
constexpr uint8_t kAlertLevelFatal = 2;

// The error side of a Result (the member fail() queues an alert; this only builds a value).
Unexpected<Error> err(Error e) noexcept { return ::linetls::fail(e); }

}  // namespace

template <class Side>
RecordSession13<Side>::RecordSession13(const Config& config, const SessionLimits& limits) noexcept
    : limits_(limits), machine_(config), reasm_(limits.max_handshake_message) {
  if constexpr (!Side::kServer) {
    // The client speaks first: its ClientHello is the first control record.
    after_machine(machine_.start());
  }
}

// ---- Keys.

template <class Side>
std::optional<TrafficKeys> RecordSession13<Side>::keys_for(const crypto::HashSecret& secret) noexcept {
  auto keys = derive_traffic_keys(machine_.secrets().suite, secret.view());
  if (!keys) {
    fail(keys.error());
    return std::nullopt;
  }
  return std::move(keys).value();
}

template <class Side>
Result<void, Error> RecordSession13<Side>::install_write(crypto::AeadBatch& batch,
                                                   TrafficKeys keys) noexcept {
  auto p = RecordProtector::create(batch, keys);
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

// Installs the keys of key-only chunks at the head of out_: everything before them is out.
template <class Side>
Result<void, Error> RecordSession13<Side>::install_markers(crypto::AeadBatch& batch) noexcept {
  while (out_head_ < out_.size() && out_[out_head_].bytes.empty()) {
    Pending& p = out_[out_head_];
    if (p.install_before) {
      auto ok = install_write(batch, std::move(*p.install_before));
      if (!ok) {
        return ok;
      }
    }
    out_head_++;
  }
  if (out_head_ == out_.size()) {
    out_ = std::vector<Pending>();  // drained: an idle connection keeps no capacity
    out_head_ = 0;
  }
  return {};
}

template <class Side>
Result<void, Error> RecordSession13<Side>::prepare_read(crypto::AeadBatch& batch) noexcept {
  if (!pending_read_keys_) {
    return {};
  }
  auto p = RecordProtector::create(batch, *pending_read_keys_, pending_read_seq_);
  if (!p) {
    fail(p.error());
    return err(p.error());
  }
  if (read_) {
    retired_.push_back(std::move(*read_));
  }
  read_.emplace(std::move(p).value());
  // While 0-RTT records may still be skipped, keep the keys: a skipped record gives its
  // sequence number back (the protector is rebuilt at that number).
  if (!skipping_early_data_) {
    pending_read_keys_.reset();
  }
  return {};
}

// ---- Input.

template <class Side>
Result<Deframer::Step, Error> RecordSession13<Side>::next(std::span<uint8_t> piece) noexcept {
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
    step.consumed = piece.size();  // §6.1: data after close_notify is ignored
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
void RecordSession13<Side>::skip_early(size_t ciphertext_len) noexcept {
  stats_.early_data_skipped += ciphertext_len;
  if (stats_.early_data_skipped > limits_.max_early_data_bytes) {
    fail(Error::kDecryptFailed);
  }
}

template <class Side>
auto RecordSession13<Side>::accept(const Record& rec, crypto::AeadBatch& batch, RecordSlot* slot,
                              void* user_data) noexcept -> Result<Accepted, Error> {
  if (error_) {
    return err(*error_);
  }
  if (input_closed()) {
    if (rec.assembled) {
      deframer_.release_assembled();
    }
    return Accepted::kHandled;
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

  // §5.1: "Handshake messages MUST NOT be interleaved with other record types. That is, if
  // a handshake message is split over two or more records, there MUST NOT be any other
  // records between them." A protected record's own type is known once it is opened
  // (handle_record checks it then); the compat change_cipher_spec is no exception.
  if (reasm_.mid_message() && rec.type != ContentType::kHandshake &&
      (rec.type != ContentType::kApplicationData || read_level_ == Level::kInitial)) {
    fail(Error::kInterleavedRecord);
    return handled();
  }

  if (rec.type == ContentType::kChangeCipherSpec) {
    CcsWindow window;
    // A client has sent its ClientHello from the start: the server's compat CCS may follow.
    window.first_client_hello_done = Side::kServer ? client_hello_seen() : true;
    window.peer_finished_received = read_level_ == Level::kApplication;
    if (auto ok = check_compat_ccs(rec, window); !ok) {
      fail(ok.error());
    } else if (++empty_records_ > limits_.max_empty_records) {
      fail(Error::kTooManyEmptyRecords);
    }
    return handled();
  }

  if (read_level_ == Level::kInitial) {
    if (rec.type == ContentType::kApplicationData) {
      // §4.2.10: after a HelloRetryRequest the server skips protected records (the client's
      // 0-RTT) until the second ClientHello, up to the configured bound.
      if (early_data_offered() && sent_hello_retry_request()) {
        skip_early(rec.header.size() + rec.fragment.size());
      } else {
        fail(Error::kUnprotectedRecord);
      }
      return handled();
    }
    handle_record(rec.type, rec.fragment);
    return handled();
  }

  // A client that fails on our ServerHello has no handshake keys yet: its alert comes in
  // plaintext (§6: "alerts are encrypted as specified by the current connection state").
  if (rec.type == ContentType::kAlert && read_level_ == Level::kHandshake) {
    handle_alert(rec.fragment);
    return handled();
  }
  if (rec.type != ContentType::kApplicationData) {
    fail(Error::kUnexpectedMessage);
    return handled();
  }
  if (auto ok = prepare_read(batch); !ok) {
    return handled();
  }
  auto q = read_->queue_open(batch, rec, slot, user_data);
  if (!q) {
    if (q.error() == Error::kDecryptFailed && skipping_early_data_) {
      skip_early(rec.header.size() + rec.fragment.size());  // too short to be ours
      return handled();
    }
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
  last_queued_was_barrier_ = !handshake_done() ||
                             rec.header.size() + rec.fragment.size() <= kKeyUpdateBarrierLen ||
                             rec.assembled;
  return Accepted::kQueued;
}

template <class Side>
bool RecordSession13<Side>::barrier() const noexcept {
  if (pk_.pending()) {
    return true;
  }
  if (deframer_.assembly_held() && !release_pending_) {
    return true;
  }
  return opens_done_ < opens_queued_ && last_queued_was_barrier_;
}

template <class Side>
Result<std::span<uint8_t>, Error> RecordSession13<Side>::on_opened(crypto::AeadStatus status,
                                                             const RecordSlot& slot) noexcept {
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
  const size_t max_plaintext =
      read_level_ == Level::kApplication ? max_read_content() : kMaxPlaintextLen;
  auto inner = op < reopen_until_ ? reopen(status, slot, max_plaintext)
                                  : finish_open(status, slot, max_plaintext);
  if (!inner) {
    if (inner.error() == Error::kDecryptFailed && skipping_early_data_) {
      // A 0-RTT record under keys we do not have (§4.2.10): skip it and give its sequence
      // number back.
      skip_early(slot.body.size() + crypto::kAeadTagLen + kRecordHeaderLen);
      pending_read_seq_ = read_->next_seq() - 1;
      if (error_) {
        return err(*error_);
      }
      return std::span<uint8_t>();
    }
    fail(inner.error());
    return err(inner.error());
  }
  if (skipping_early_data_) {
    skipping_early_data_ = false;
    pending_read_keys_.reset();
  }
  stats_.records_opened++;
  app_view_ = {};
  handle_record(inner->type, inner->content);
  if (error_) {
    return err(*error_);
  }
  return app_view_;
}

template <class Side>
Result<InnerPlaintext, Error> RecordSession13<Side>::reopen(crypto::AeadStatus status,
                                                      const RecordSlot& slot,
                                                      size_t max_plaintext_len) noexcept {
  // §4.6.3: after its KeyUpdate "the sender MUST ... use the new key" for everything it sends.
  // This record was queued in the same batch as a KeyUpdate before it, under the key that
  // KeyUpdate retired. Under the old key it fails (a record that opens under it was not sent
  // under the new one: bad_record_mac); the batch has put its ciphertext back, and it is
  // opened again under the key now pending, at that key's next sequence number.
  if (status != crypto::AeadStatus::kAuthFailed || !pending_read_keys_) {
    return err(Error::kDecryptFailed);
  }
  auto inner = reopen_record(*pending_read_keys_, pending_read_seq_, slot, max_plaintext_len);
  if (inner) {
    pending_read_seq_++;
    stats_.records_reopened++;
  }
  return inner;
}

template <class Side>
void RecordSession13<Side>::handle_record(ContentType type, std::span<uint8_t> content) noexcept {
  // §5.1: no other record type between the fragments of a handshake message.
  if (type != ContentType::kHandshake && reasm_.mid_message()) {
    return fail(Error::kInterleavedRecord);
  }
  switch (type) {
    case ContentType::kAlert:
      return handle_alert(content);
    case ContentType::kHandshake:
      return handle_handshake(content);
    case ContentType::kApplicationData:
      if (read_level_ == Level::kInitial) {
        return fail(Error::kUnprotectedRecord);
      }
      if (read_level_ != Level::kApplication) {
        return fail(Error::kUnexpectedMessage);
      }
      if (content.empty()) {
        if (++empty_records_ > limits_.max_empty_records) {
          fail(Error::kTooManyEmptyRecords);
        }
        return;
      }
      empty_records_ = 0;
      warning_alerts_ = 0;
      key_updates_without_data_ = 0;
      stats_.bytes_opened += content.size();
      app_view_ = content;
      return;
    case ContentType::kChangeCipherSpec:
      return fail(Error::kBadChangeCipherSpec);
    case ContentType::kInvalid:
      break;
  }
  fail(Error::kBadRecordType);
}

template <class Side>
void RecordSession13<Side>::handle_alert(std::span<const uint8_t> content) noexcept {
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
    peer_closed_ = true;  // §6.1: input is over; our side stays open until close()
    return;
  }
  if (description == static_cast<uint8_t>(AlertDescription::kUserCanceled)) {
    if (++warning_alerts_ > limits_.max_warning_alerts) {
      fail(Error::kTooManyWarningAlerts);
    }
    return;
  }
  // §6: "all alerts other than close_notify and user_canceled are fatal regardless of the
  // AlertLevel"; §6.2: no alert is sent back.
  fatal_alert_received_ = true;
  out_.clear();
  out_head_ = 0;
}

template <class Side>
void RecordSession13<Side>::handle_handshake(std::span<const uint8_t> content) noexcept {
  handle_messages(content);
  reasm_.trim();  // the messages of this record are handled: no buffer unless one is partial
}

template <class Side>
void RecordSession13<Side>::handle_messages(std::span<const uint8_t> content) noexcept {
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
    const bool was_done = handshake_done();
    const uint64_t t0 = tsc();
    const Wait w = machine_.handle(step->message);
    stats_.handshake_machine_ticks += tsc() - t0;
    if (pk_.after_handle(machine_, w, content, &stats_.pk_jobs_inline)) {
      return;  // the rest waits for the job
    }
    if (!after_message(w, was_done, content)) {
      return;
    }
  }
}

template <class Side>
void RecordSession13<Side>::set_pk_offload(bool on) noexcept {
  PkHold::set_offload(machine_, on);
}

template <class Side>
std::unique_ptr<PkJob> RecordSession13<Side>::take_pk_job() noexcept {
  return pk_.take(machine_);
}

template <class Side>
void RecordSession13<Side>::complete_pk(std::unique_ptr<PkJob> job) noexcept {
  std::vector<uint8_t> rest;
  const std::optional<Wait> w = pk_.complete(machine_, std::move(job), error_.has_value(),
                                             &stats_.handshake_machine_ticks, &rest);
  if (w && after_message(*w, false, rest)) {
    handle_messages(rest);
    reasm_.trim();
  }
}

template <class Side>
bool RecordSession13<Side>::after_message(Wait w, bool was_done,
                                          std::span<const uint8_t> content) noexcept {
  after_machine(w);
  if (error_) {
    return false;
  }
  if (!was_done && handshake_done()) {
    deframer_.set_strict_version(true);
  }
  const Level want = machine_.read_level();
  const uint64_t generation = machine_.post_handshake().peer_key_updates;
  if (want == read_level_ && generation == read_generation_) {
    return true;
  }
  if (auto ok = reasm_.check_key_change(content); !ok) {
    fail(ok.error());
    return false;
  }
  if (generation != read_generation_) {
    stats_.key_updates_received++;
    if (++key_updates_without_data_ > limits_.max_key_updates_without_data) {
      fail(Error::kTooManyKeyUpdates);
      return false;
    }
  }
  const bool first_keys = read_level_ == Level::kInitial;
  read_generation_ = generation;
  read_level_ = want;
  const Secrets13& s = machine_.secrets();
  auto keys = keys_for(peer_secret(s, want));
  if (!keys) {
    return false;
  }
  pending_read_keys_ = std::move(keys);
  pending_read_seq_ = 0;
  // Records queued after this one in the same batch went in under the key just retired:
  // on_opened() opens them again under the new one (reopen()).
  reopen_until_ = opens_queued_;
  deframer_.set_protected(true);
  if (want == Level::kApplication) {
    // RFC 8449: our limit binds the client once it has read EncryptedExtensions; applied
    // from the application keys on so rejected 0-RTT records (sent before) still deframe.
    deframer_.set_max_plaintext_len(max_read_content());
  }
  if (first_keys && want == Level::kHandshake && early_data_offered() &&
      !sent_hello_retry_request()) {
    skipping_early_data_ = true;
  }
  return true;
}

template <class Side>
void RecordSession13<Side>::after_machine(Wait w) noexcept {
  if (w == Wait::kError) {
    return fail(machine_.error());
  }
  if (w == Wait::kFlush) {
    take_flight();
  }
}

template <class Side>
void RecordSession13<Side>::take_flight() noexcept {
  Flight f = machine_.take_flight();
  const Secrets13& s = machine_.secrets();
  for (size_t l = 0; l < kNumLevels; l++) {
    if (f.bytes[l].empty()) {
      continue;
    }
    const Level level = static_cast<Level>(l);
    Pending p;
    p.type = ContentType::kHandshake;
    p.bytes = std::move(f.bytes[l]);
    if (level > plan_level_) {
      p.install_before =
          keys_for(own_secret(s, level));
      if (!p.install_before) {
        return;
      }
      plan_level_ = level;
    }
    if (level == Level::kApplication && f.rekey_after_application) {
      // §4.6.3: the KeyUpdate goes out under the old key; s already holds the next one.
      p.install_after = keys_for(own_secret(s, Level::kApplication));
      if (!p.install_after) {
        return;
      }
    }
    out_.push_back(std::move(p));
    if (level == Level::kInitial && f.compat_change_cipher_spec) {
      // Appendix D.4: the middlebox-compatibility change_cipher_spec, in plaintext right
      // after the ServerHello (or HelloRetryRequest), before any handshake-level record.
      Pending ccs;
      ccs.type = ContentType::kChangeCipherSpec;
      ccs.bytes = {1};
      out_.push_back(std::move(ccs));
    }
  }
  const Level want = machine_.write_level();
  if (want > plan_level_) {
    Pending p;
    p.install_before =
        keys_for(own_secret(s, want));
    if (!p.install_before) {
      return;
    }
    plan_level_ = want;
    out_.push_back(std::move(p));
  }
}

// ---- Output.

template <class Side>
size_t RecordSession13<Side>::head() const noexcept {
  size_t i = out_head_;
  while (i < out_.size() && out_[i].bytes.empty()) {
    i++;
  }
  return i;
}

template <class Side>
bool RecordSession13<Side>::head_protected(size_t i) const noexcept {
  if (write_) {
    return true;
  }
  for (size_t j = out_head_; j <= i && j < out_.size(); j++) {
    if (out_[j].install_before) {
      return true;
    }
  }
  return false;
}

template <class Side>
auto RecordSession13<Side>::next_output(size_t max_content) const noexcept -> Out {
  Out o;
  if (fatal_alert_received_ || closed()) {
    return o;
  }
  const size_t i = head();
  if (i == out_.size() || max_content == 0) {
    return o;
  }
  const Pending& p = out_[i];
  const size_t n = std::min({p.bytes.size() - p.off, max_content,
                             head_protected(i) ? max_app_content() : kMaxPlaintextLen});
  o.kind = p.fatal_alert ? OutKind::kAlert : OutKind::kControl;
  o.record_len = head_protected(i) ? record_len(n) : n + kRecordHeaderLen;
  return o;
}

template <class Side>
Result<size_t, Error> RecordSession13<Side>::write_control(std::span<uint8_t> out, size_t max_content,
                                                     crypto::AeadBatch& batch, RecordSlot* slot,
                                                     void* user_data) noexcept {
  if (fatal_alert_received_ || closed()) {
    return size_t{0};
  }
  const auto failed = [&]() -> Result<size_t, Error> {
    // The fatal alert itself could not be sealed: nothing more will be written.
    if (out_head_ < out_.size() && out_[out_head_].fatal_alert) {
      alert_handed_out_ = true;
      out_.clear();
      out_head_ = 0;
    }
    return err(*error_);
  };
  if (auto ok = install_markers(batch); !ok) {
    return failed();
  }
  if (out_head_ >= out_.size() || max_content == 0) {
    return size_t{0};
  }
  Pending& p = out_[out_head_];
  if (p.install_before) {
    if (auto ok = install_write(batch, std::move(*p.install_before)); !ok) {
      return failed();
    }
    p.install_before.reset();
  }
  const size_t n = std::min({p.bytes.size() - p.off, max_content,
                             write_ ? max_app_content() : kMaxPlaintextLen});
  size_t written = 0;
  if (write_) {
    written = record_len(n);
    if (out.size() < written) {
      return err(Error::kInternalError);
    }
    std::memcpy(out.data() + kRecordHeaderLen, p.bytes.data() + p.off, n);
    auto q = write_->queue_seal(batch, out.first(written), n, p.type, 0, slot, user_data);
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
    write_record_header(out.data(), p.type, static_cast<uint16_t>(n));
    std::memcpy(out.data() + kRecordHeaderLen, p.bytes.data() + p.off, n);
  }
  p.off += n;
  if (p.off == p.bytes.size()) {
    if (p.fatal_alert) {
      alert_handed_out_ = true;
    } else if (p.type == ContentType::kAlert) {
      close_handed_out_ = true;
    }
    std::optional<TrafficKeys> after = std::move(p.install_after);
    out_head_++;
    if (after) {
      if (auto ok = install_write(batch, std::move(*after)); !ok) {
        return failed();
      }
      stats_.key_updates_sent++;
    }
    if (auto ok = install_markers(batch); !ok) {
      return failed();
    }
  }
  return written;
}

template <class Side>
bool RecordSession13<Side>::app_writable() const noexcept {
  return handshake_done() && !have_pending_control() && !close_queued_ && !error_ &&
         !fatal_alert_received_ && write_.has_value();
}

// RFC 8449 §4: the client's record_size_limit bounds every protected record we send; in TLS
// 1.3 it counts the inner content type (and padding, which we do not add).
template <class Side>
size_t RecordSession13<Side>::max_app_content() const noexcept {
  const uint16_t limit = machine_.peer_record_size_limit();
  return limit == 0 ? kMaxPlaintextLen : plaintext_limit_for_record_size_limit(limit, true);
}

template <class Side>
size_t RecordSession13<Side>::max_read_content() const noexcept {
  const uint16_t limit = machine_.own_record_size_limit();
  return limit == 0 ? kMaxPlaintextLen : plaintext_limit_for_record_size_limit(limit, true);
}

template <class Side>
Result<bool, Error> RecordSession13<Side>::seal_app(std::span<uint8_t> record, size_t content_len,
                                              crypto::AeadBatch& batch, RecordSlot* slot,
                                              void* user_data) noexcept {
  if (have_pending_control()) {
    return false;
  }
  if (!app_writable() || content_len > max_app_content() ||
      record.size() != record_len(content_len)) {
    return err(Error::kInternalError);
  }
  // §5.5: rekey before the key has sealed too many records.
  if (write_->next_seq() >= limits_.key_update_records) {
    after_machine(machine_.update_keys(false));
    if (error_) {
      return err(*error_);
    }
    return false;
  }
  auto q = write_->queue_seal(batch, record, content_len, ContentType::kApplicationData, 0, slot,
                              user_data);
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
void RecordSession13<Side>::park_keys() noexcept {
  if (read_) {
    read_->park();
  }
  if (write_) {
    write_->park();
  }
}

template <class Side>
void RecordSession13<Side>::batch_done() noexcept {
  if (retired_.capacity() != 0) {
    retired_ = std::vector<RecordProtector>();  // keys replaced while ops were queued; their capacity too
  }
  // The assembled record's views were handed out by on_opened() and used before this call:
  // its buffer goes back now, so an idle connection holds none.
  if (release_pending_) {
    deframer_.release_assembled();
    release_pending_ = false;
  }
}

// ---- Lifecycle.

template <class Side>
void RecordSession13<Side>::close() noexcept {
  if (close_queued_ || error_ || fatal_alert_received_) {
    return;
  }
  close_queued_ = true;
  Pending p;
  p.type = ContentType::kAlert;
  p.bytes = {kAlertLevelWarning, static_cast<uint8_t>(AlertDescription::kCloseNotify)};
  out_.push_back(std::move(p));
}

template <class Side>
void RecordSession13<Side>::fail(Error e) noexcept {
  if (error_) {
    return;
  }
  error_ = e;
  if (fatal_alert_received_ || alert_handed_out_ || close_handed_out_) {
    return;  // §6.2: nothing is sent after a fatal alert either way
  }
  // Drop the unsent handshake output (and any key change behind it): the alert goes under
  // the keys the peer reads with now.
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
bool RecordSession13<Side>::handshake_done() const noexcept { return machine_.wait() == Wait::kDone; }

template <class Side>
bool RecordSession13<Side>::take_handshake_completed() noexcept {
  if (handshake_reported_ || !handshake_done()) {
    return false;
  }
  handshake_reported_ = true;
  return true;
}

template <class Side>
bool RecordSession13<Side>::input_closed() const noexcept {
  return error_.has_value() || fatal_alert_received_ || peer_closed_;
}

template <class Side>
bool RecordSession13<Side>::closed() const noexcept {
  return alert_handed_out_ || close_handed_out_ || fatal_alert_received_ ||
         (error_.has_value() && !alert_queued_);
}

template class RecordSession13<ServerSide13>;
template class RecordSession13<ClientSide13>;

}  // namespace linetls::tls
