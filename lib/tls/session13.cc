#include "lib/tls/session13.h"


#include <algorithm>
#include <cstring>
#include <utility>

#include "lib/base/clock.h"
#include "lib/tls/key_schedule.h"

namespace linetls::tls {

namespace {

// The error side of a Result (the member fail() queues an alert; this only builds a value).
Unexpected<Error> err(Error e) noexcept { return ::linetls::fail(e); }

}  // namespace

template <class Side>
RecordSession13<Side>::RecordSession13(const Config& config, const SessionLimits& limits) noexcept
    : Core(config, limits) {
  if constexpr (!Side::kServer) {
    // The client speaks first: its ClientHello is the first control record.
    this->after_machine(machine_.start());
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
  this->replace_keys(write_, std::move(p).value());
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
  this->replace_keys(read_, std::move(p).value());
  // While 0-RTT records may still be skipped, keep the keys: a skipped record gives its
  // sequence number back (the protector is rebuilt at that number).
  if (!skipping_early_data_) {
    pending_read_keys_.reset();
  }
  return {};
}

// ---- Input.

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
  const auto handled = [&] { return this->handled(rec); };
  if (input_closed()) {
    return handled();
  }

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
    } else if (++this->empty_records_ > limits_.max_empty_records) {
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
    this->handle_alert(rec.fragment);
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
  return this->queued(rec, !handshake_done() ||
                               rec.header.size() + rec.fragment.size() <= kKeyUpdateBarrierLen);
}

template <class Side>
Result<std::span<uint8_t>, Error> RecordSession13<Side>::on_opened(crypto::AeadStatus status,
                                                             const RecordSlot& slot) noexcept {
  const uint64_t op = this->take_opened();
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
      return this->handle_alert(content);
    case ContentType::kHandshake:
      return this->handle_handshake(content);
    case ContentType::kApplicationData:
      if (read_level_ == Level::kInitial) {
        return fail(Error::kUnprotectedRecord);
      }
      if (read_level_ != Level::kApplication) {
        return fail(Error::kUnexpectedMessage);
      }
      if (!content.empty()) {
        key_updates_without_data_ = 0;
      }
      return this->take_app_data(content);
    case ContentType::kChangeCipherSpec:
      return fail(Error::kBadChangeCipherSpec);
    case ContentType::kInvalid:
      break;
  }
  fail(Error::kBadRecordType);
}

template <class Side>
bool RecordSession13<Side>::after_message(Wait w, bool was_done,
                                          std::span<const uint8_t> content) noexcept {
  this->after_machine(w);
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
  if (this->fatal_alert_received_ || this->closed()) {
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
  if (this->fatal_alert_received_ || this->closed()) {
    return size_t{0};
  }
  const auto failed = [&] { return this->control_failed(); };
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
    this->control_chunk_sent(p);
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
  if (!this->app_writable() || content_len > max_app_content() ||
      record.size() != record_len(content_len)) {
    return err(Error::kInternalError);
  }
  // §5.5: rekey before the key has sealed too many records.
  if (write_->next_seq() >= limits_.key_update_records) {
    this->after_machine(machine_.update_keys(false));
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

template class RecordSession13<ServerSide13>;
template class RecordSession13<ClientSide13>;

}  // namespace linetls::tls
