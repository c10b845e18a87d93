// tls::RecordSessionCore: what a TLS 1.3 and a TLS 1.2 record session (session13.h,
// v12/session12.h), server or client side, have in common, written once. The version
// sessions keep only what differs: which records are plaintext and when the keys change
// (1.3: levels and KeyUpdate, 1.2: ChangeCipherSpec), the protector type, the control chunk's
// key-change fields, record sizes, and which warning alerts are tolerated.
//
// Here: the deframing step and its assembly buffer, the barrier rule, the handshake
// message loop (reassembly, the machine, its public-key pause, the flight), alerts,
// application-data bookkeeping and limits, the control-record queue's fatal alert and
// close_notify, retired keys, the lifecycle flags, stats and the public-key job hold.
//
// Derived (CRTP) provides:
//   void take_flight();                          the machine's flight into out_
//   bool after_message(Wait w, bool was_done, std::span<const uint8_t> rest);
//                                                after the machine handled a message (was_done:
//                                                whether the handshake was done before it; rest:
//                                                the record's bytes after the message): key
//                                                changes; false once the session failed
//   static bool warning_tolerated(uint8_t level, uint8_t description);
//                                                a non-close_notify alert that is counted
//                                                instead of ending the session
//   bool have_pending_control() const;           a control record is waiting to be written
// Pending derives from PendingControl and adds the version's key-change fields.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "lib/base/clock.h"
#include "lib/base/result.h"
#include "lib/tls/errors.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/pk_job.h"
#include "lib/tls/record.h"

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

// What accept() did with a record; the same for both versions (and the facade).
enum class SessionAccepted : uint8_t {
  kHandled,    // processed now (plaintext); nothing queued
  kQueued,     // an open was queued into batch with slot; call on_opened() after run()
  kBatchFull,  // nothing queued and nothing consumed: run the batch, then accept(rec) again
};
enum class SessionOutKind : uint8_t {
  kNone,     // nothing to send now (or only application data, see app_writable())
  kControl,  // a handshake, alert, ChangeCipherSpec or KeyUpdate record: write_control()
  kAlert,    // the one fatal alert (a control record); after it the session is closed()
};
struct SessionOut {
  SessionOutKind kind = SessionOutKind::kNone;
  size_t record_len = 0;  // bytes write_control() needs, header and protection included
};

// Control bytes to send, in order (one or more records).
struct PendingControl {
  ContentType type = ContentType::kHandshake;
  std::vector<uint8_t> bytes;
  size_t off = 0;
  bool fatal_alert = false;
};

inline constexpr uint8_t kAlertLevelWarning = 1;
inline constexpr uint8_t kAlertLevelFatal = 2;

template <class Derived, class Machine, class Protector, class Pending>
class RecordSessionCore {
 public:
  using Accepted = SessionAccepted;
  using OutKind = SessionOutKind;
  using Out = SessionOut;

  // ---- Input.
  // Deframes from piece (stream bytes following everything consumed before). Same contract
  // as Deframer::next; a deframing error is fatal (fail() has been called; returns it).
  Result<Deframer::Step, Error> next(std::span<uint8_t> piece) noexcept {
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
      // RFC 8446 §6.1, RFC 5246 §7.2.1: data after close_notify is ignored.
      step.consumed = piece.size();
      return step;
    }
    auto step = deframer_.next(piece);
    if (!step) {
      fail(step.error());
      return err(step.error());
    }
    return step;
  }

  // True when the caller must run the batch and call on_opened() before next()/accept() of
  // another record of this session.
  bool barrier() const noexcept {
    if (pk_.pending()) {
      return true;
    }
    if (deframer_.assembly_held() && !release_pending_) {
      return true;
    }
    return opens_done_ < opens_queued_ && last_queued_was_barrier_;
  }

  // Public-key steps (pk_job.h), server side. Off (the default), the machine runs them
  // inline. On, a handshake message can leave the session pk_pending(): its input stops
  // (next() takes nothing, barrier() holds; the rest of the record's handshake bytes are
  // kept) until the job, taken with take_pk_job() and run anywhere, comes back through
  // complete_pk(), which goes on with the held bytes and queues the flight. A client session
  // ignores it.
  void set_pk_offload(bool on) noexcept { PkHold::set_offload(machine_, on); }
  bool pk_pending() const noexcept { return pk_.pending(); }
  std::unique_ptr<PkJob> take_pk_job() noexcept { return pk_.take(machine_); }
  void complete_pk(std::unique_ptr<PkJob> job) noexcept {
    std::vector<uint8_t> rest;
    const std::optional<Wait> w = pk_.complete(machine_, std::move(job), error_.has_value(),
                                               &stats_.handshake_machine_ticks, &rest);
    if (w && self().after_message(*w, false, rest)) {
      handle_handshake(rest);
    }
  }

  // ---- Output.
  // True once application records may be sealed: the handshake is done, no control record
  // is waiting, and close() has not been called.
  bool app_writable() const noexcept {
    return handshake_done() && !self().have_pending_control() && !close_queued_ && !error_ &&
           !fatal_alert_received_ && write_.has_value();
  }
  // After the batch that carried this session's seals (and opens) ran: frees keys retired
  // since the previous call, and the assembly buffer of a record whose views were handed out
  // by on_opened() and used before this call (an idle connection holds none). Call once per
  // batch run in which the session took part.
  void batch_done() noexcept {
    if (retired_.capacity() != 0) {
      retired_ = std::vector<Protector>();  // their capacity too
    }
    if (release_pending_) {
      deframer_.release_assembled();
      release_pending_ = false;
    }
  }
  // An idle connection gives back its expanded record keys (about 1 KiB each with
  // ipsec-mb's AES-GCM); the next record rebuilds them. Only between batches, with nothing
  // of this session queued.
  void park_keys() noexcept {
    if (read_) {
      read_->park();
    }
    if (write_) {
      write_->park();
    }
  }

  // ---- Lifecycle.
  // Server-initiated or end-of-stream closure: queues close_notify (once) after everything
  // already sealed (warning level in TLS 1.2, as every implementation sends it). No
  // application record may follow.
  void close() noexcept {
    if (close_queued_ || error_ || fatal_alert_received_) {
      return;
    }
    close_queued_ = true;
    Pending p;
    p.type = ContentType::kAlert;
    p.bytes = {kAlertLevelWarning, static_cast<uint8_t>(AlertDescription::kCloseNotify)};
    out_.push_back(std::move(p));
  }
  // A fatal error, ours or local (the engine's handshake timeout, resource exhaustion):
  // queues the one alert. Does nothing if the session already failed.
  void fail(Error e) noexcept {
    if (error_) {
      return;
    }
    error_ = e;
    if (fatal_alert_received_ || alert_handed_out_ || close_handed_out_) {
      return;  // nothing is sent after a fatal alert either way
    }
    // Drop the unsent handshake output (and any key change behind it: 1.3's key-only
    // chunks, 1.2's ChangeCipherSpec): the alert goes under the keys the peer reads with now.
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

  bool handshake_done() const noexcept { return machine_.wait() == Wait::kDone; }
  // True exactly once, the first time it is asked after the handshake completed (the
  // engine counts handshakes by version, suite, group and resumption).
  bool take_handshake_completed() noexcept {
    if (handshake_reported_ || !handshake_done()) {
      return false;
    }
    handshake_reported_ = true;
    return true;
  }
  bool peer_closed() const noexcept { return peer_closed_; }  // close_notify received
  // No more input will be accepted: a fatal error, a fatal alert received, or close_notify
  // received.
  bool input_closed() const noexcept {
    return error_.has_value() || fatal_alert_received_ || peer_closed_;
  }
  // The session will never write again (alert or close_notify handed out): close TCP once
  // the queued records are out.
  bool closed() const noexcept {
    return alert_handed_out_ || close_handed_out_ || fatal_alert_received_ ||
           (error_.has_value() && !alert_queued_);
  }
  std::optional<Error> error() const noexcept { return error_; }

  const Machine& machine() const noexcept { return machine_; }
  // A client takes its tickets or session through this.
  Machine& machine() noexcept { return machine_; }
  const SessionStats& stats() const noexcept { return stats_; }
  const Deframer::Stats& deframer_stats() const noexcept { return deframer_.stats(); }
  // Heap bytes the input side holds now: the deframer's assembly buffer, the handshake
  // reassembler's and the bytes held behind a public-key job. 0 once no partial record or
  // message is held and the last batch is done.
  size_t buffered_bytes() const noexcept {
    return deframer_.assembly_capacity() + reasm_.capacity() + pk_.held_capacity();
  }

 protected:
  template <class Config>
  RecordSessionCore(const Config& config, const SessionLimits& limits) noexcept
      : limits_(limits), machine_(config), reasm_(limits.max_handshake_message) {}

  // The error side of a Result (fail() queues an alert; this only builds a value).
  static Unexpected<Error> err(Error e) noexcept { return ::linetls::fail(e); }

  Derived& self() noexcept { return static_cast<Derived&>(*this); }
  const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }

  // After the machine returned w (from handle(), start(), update_keys()).
  void after_machine(Wait w) noexcept {
    if (w == Wait::kError) {
      return fail(machine_.error());
    }
    if (w == Wait::kFlush) {
      self().take_flight();
    }
  }

  // A handshake record's content (or the bytes held behind a job): every message in it.
  void handle_handshake(std::span<const uint8_t> content) noexcept {
    handle_messages(content);
    reasm_.trim();  // the messages of this record are handled: no buffer unless one is partial
  }
  void handle_messages(std::span<const uint8_t> content) noexcept {
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
      if (!self().after_message(w, was_done, content)) {
        return;
      }
    }
  }

  // An alert record's content (RFC 8446 §6, RFC 5246 §7.2).
  void handle_alert(std::span<const uint8_t> content) noexcept {
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
      peer_closed_ = true;  // input is over; our side stays open until close()
      return;
    }
    if (Derived::warning_tolerated(level, description)) {
      if (++warning_alerts_ > limits_.max_warning_alerts) {
        fail(Error::kTooManyWarningAlerts);
      }
      return;
    }
    // A fatal alert ends the connection at once; nothing is sent back.
    fatal_alert_received_ = true;
    out_.clear();
    out_head_ = 0;
  }

  // Application data opened (the version checked it may come now): empty records are
  // allowed, so many in a row; content resets the warning count and becomes app_view_.
  void take_app_data(std::span<uint8_t> content) noexcept {
    if (content.empty()) {
      if (++empty_records_ > limits_.max_empty_records) {
        fail(Error::kTooManyEmptyRecords);
      }
      return;
    }
    empty_records_ = 0;
    warning_alerts_ = 0;
    stats_.bytes_opened += content.size();
    app_view_ = content;
  }

  // accept()'s answer for a record handled now: its assembly buffer goes back at once.
  Result<Accepted, Error> handled(const Record& rec) noexcept {
    if (rec.assembled) {
      deframer_.release_assembled();
    }
    if (error_) {
      return err(*error_);
    }
    return Accepted::kHandled;
  }
  // accept() queued rec's open; barrier: nothing of this session may be queued behind it.
  Accepted queued(const Record& rec, bool barrier) noexcept {
    if (rec.assembled) {
      assembled_op_ = opens_queued_;
    }
    opens_queued_++;
    last_queued_was_barrier_ = barrier || rec.assembled;
    return Accepted::kQueued;
  }
  // on_opened()'s bookkeeping: the number of the op being handed back. The assembled
  // record's buffer goes back at the next call (its views are in use until then).
  uint64_t take_opened() noexcept {
    const uint64_t op = opens_done_++;
    if (assembled_op_ && *assembled_op_ == op) {
      assembled_op_.reset();
      release_pending_ = true;
    }
    return op;
  }

  // write_control()'s answer when it failed (error_ is set): if the fatal alert itself could
  // not be sealed, nothing more will be written.
  Result<size_t, Error> control_failed() noexcept {
    if (out_head_ < out_.size() && out_[out_head_].fatal_alert) {
      alert_handed_out_ = true;
      out_.clear();
      out_head_ = 0;
    }
    return err(*error_);
  }
  // The last record of control chunk p was written.
  void control_chunk_sent(const Pending& p) noexcept {
    if (p.fatal_alert) {
      alert_handed_out_ = true;
    } else if (p.type == ContentType::kAlert) {
      close_handed_out_ = true;
    }
  }
  // Replaces *slot (read_ or write_) with p; the old keys stay alive until batch_done().
  void replace_keys(std::optional<Protector>& slot, Protector&& p) noexcept {
    if (slot) {
      retired_.push_back(std::move(*slot));
    }
    slot.emplace(std::move(p));
  }
  SessionLimits limits_;
  Machine machine_;
  PkHold pk_;  // while a public-key job is out
  Deframer deframer_;
  HandshakeReassembler reasm_;
  std::optional<Protector> read_, write_;
  std::vector<Protector> retired_;  // keys replaced while ops were queued
  std::vector<Pending> out_;
  size_t out_head_ = 0;
  SessionStats stats_;
  std::optional<Error> error_;
  std::span<uint8_t> app_view_;  // application data of the record being opened
  uint32_t empty_records_ = 0;
  uint32_t warning_alerts_ = 0;
  uint64_t opens_queued_ = 0;  // opens queued / handed back through on_opened()
  uint64_t opens_done_ = 0;
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
};

}  // namespace linetls::tls
