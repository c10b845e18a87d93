// The engine's part around one record session, for unit tests: one driver for
// ServerSession13, ServerSession12 (RecordSessionCore's two versions) and the
// version-dispatching ServerSession facade, so the three session test suites run the same
// loop the engine runs:
//   - receive() cuts the peer's bytes into segments, deframes them with next(), accept()s
//     every record into one batch until the session says barrier() (or the batch is full:
//     run it and accept again), runs the batch and hands each result to on_opened();
//   - drain() writes next_output()/write_control() and then seal_app() records into wire,
//     running the batch whenever it fills;
//   - with public-key offload on (pk_job.h), each pause's job is taken into `job` (its kind
//     appended to `pauses`), input that arrives meanwhile is held, and complete_job() runs
//     the job, gives it back and goes on with the held input.
// Session is the session type, Slot its record slot (RecordSlot, v12::RecordSlot12, AnySlot).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "lib/crypto/aead.h"
#include "lib/crypto/rng.h"
#include "lib/tls/errors.h"
#include "lib/tls/pk_job.h"
#include "lib/tls/record.h"
#include "lib/tls/session_core.h"
#include "tests/unit/tls/handshake13_harness.h"

namespace linetls::tls::session_testing {

using Bytes = std::vector<uint8_t>;

template <class Session, class Slot>
class SessionTestDriver {
 public:
  // b: the batch to use (default: the harness's OpenSSL batch of 64 ops).
  template <class Config>
  explicit SessionTestDriver(const Config& config, const SessionLimits& limits = {},
                             crypto::AeadBatch* b = nullptr)
      : s(config, limits), batch_(b != nullptr ? *b : testing13::batch()) {}

  Session s;
  Bytes wire;    // records for the peer, in order
  Bytes app_in;  // application data received
  std::optional<Error> input_error;  // the first error an input call returned
  size_t max_content = kMaxPlaintextLen;
  size_t rounds = 0;  // batch runs with opens
  size_t max_ops_per_round = 0;
  size_t batch_full = 0;  // kBatchFull answers and full-batch refusals on output
  int alerts = 0;         // kAlert answers from next_output()

  // With public-key offload on: the job out (taken at each pause), the kinds of every job
  // taken so far in order, and the input held back while one is out.
  std::unique_ptr<PkJob> job;
  std::vector<PkKind> pauses;
  Bytes held_input;

  void send_app(std::span<const uint8_t> data) {
    app_out_.insert(app_out_.end(), data.begin(), data.end());
  }
  size_t app_left() const { return app_out_.size() - app_off_; }

  // Runs the job out (unless run is false: the caller has run or doctored it) and gives it
  // back; then goes on with the held input, or takes the next job.
  void complete_job(bool run = true) {
    ASSERT_NE(job, nullptr);
    if (run) {
      run_pk_job(*job, crypto::os_rng());
    }
    s.complete_pk(std::move(job));
    if (take_job()) {
      return;
    }
    drain();
    Bytes rest = std::move(held_input);
    held_input.clear();
    if (!rest.empty()) {
      receive(rest);
    }
  }

  // Feeds wire bytes in segments of segment_size, then drains the output.
  void receive(std::span<const uint8_t> in, size_t segment_size = 1 << 20) {
    if (job != nullptr || s.pk_pending()) {
      held_input.insert(held_input.end(), in.begin(), in.end());  // nothing is read meanwhile
      return;
    }
    batch_.clear();
    std::deque<Bytes> segs;  // the records' memory lives until their round ran
    for (size_t at = 0; at < in.size(); at += segment_size) {
      segs.emplace_back(in.begin() + at, in.begin() + std::min(in.size(), at + segment_size));
      std::span<uint8_t> piece(segs.back());
      int stuck = 0;
      while (!piece.empty()) {
        if (s.pk_pending()) {
          // The rest of this segment and every later one wait for the job.
          held_input.insert(held_input.end(), piece.begin(), piece.end());
          held_input.insert(held_input.end(), in.begin() + std::min(in.size(), at + segment_size),
                            in.end());
          run_round();
          ASSERT_TRUE(take_job());
          drain();
          return;
        }
        auto step = s.next(piece);
        if (!step) {
          note(step.error());
          break;
        }
        piece = piece.subspan(step->consumed);
        if (!step->has_record) {
          if (step->consumed == 0) {
            ASSERT_LT(++stuck, 3) << "deframer stuck";
            run_round();
          }
          continue;
        }
        stuck = 0;
        if (!accept(step->record)) {
          break;
        }
      }
      if (s.input_closed()) {
        break;
      }
    }
    run_round();
    if (s.pk_pending()) {
      ASSERT_TRUE(take_job());
    }
    drain();
  }

  // Writes everything the session has to send into wire.
  void drain() {
    for (int guard = 0; guard < 10000; guard++) {
      batch_.clear();
      std::deque<Bytes> recs;  // the heap buffers the seals point at stay put
      std::deque<Slot> slots;
      for (;;) {
        const SessionOut o = s.next_output(max_content);
        if (o.kind != SessionOutKind::kNone) {
          Bytes r(o.record_len);
          slots.emplace_back();
          auto n = s.write_control(r, max_content, batch_, &slots.back());
          ASSERT_TRUE(n) << to_string(n.error());
          if (*n == 0) {
            batch_full++;
            break;
          }
          EXPECT_EQ(*n, o.record_len);
          if (o.kind == SessionOutKind::kAlert) {
            alerts++;
          }
          r.resize(*n);
          recs.push_back(std::move(r));
          continue;
        }
        if (s.app_writable() && app_off_ < app_out_.size()) {
          const size_t n =
              std::min({s.max_app_content(), max_content, app_out_.size() - app_off_});
          Bytes r(s.record_len(n));
          std::copy_n(app_out_.begin() + app_off_, n, r.begin() + content_offset());
          slots.emplace_back();
          auto ok = s.seal_app(r, n, batch_, &slots.back());
          ASSERT_TRUE(ok) << to_string(ok.error());
          if (!*ok) {
            if (s.next_output(max_content).kind != SessionOutKind::kNone) {
              continue;  // a control record goes first (1.3: a KeyUpdate; 1.2: close_notify
                         // at the AES-GCM record limit)
            }
            batch_full++;
            break;
          }
          app_off_ += n;
          recs.push_back(std::move(r));
          continue;
        }
        break;
      }
      if (recs.empty()) {
        return;
      }
      batch_.run();
      for (uint32_t i = 0; i < batch_.size(); i++) {
        EXPECT_TRUE(batch_.ok(i));
      }
      batch_.clear();
      s.batch_done();
      for (const Bytes& r : recs) {
        wire.insert(wire.end(), r.begin(), r.end());
      }
    }
    ADD_FAILURE() << "output never drained";
  }

 private:
  // Where seal_app() wants the content: after the header, and in TLS 1.2 AES-GCM after the
  // explicit nonce too.
  size_t content_offset() const {
    if constexpr (requires { s.content_offset(); }) {
      return s.content_offset();
    } else {
      return kRecordHeaderLen;
    }
  }

  bool take_job() {
    if (!s.pk_pending()) {
      return false;
    }
    job = s.take_pk_job();
    EXPECT_NE(job, nullptr);
    if (job == nullptr) {
      return false;
    }
    EXPECT_EQ(s.take_pk_job(), nullptr);  // one job per pause
    pauses.push_back(job->kind);
    return true;
  }

  void note(Error e) {
    if (!input_error) {
      input_error = e;
    }
  }

  // Returns false when input stops.
  bool accept(const Record& rec) {
    for (int tries = 0; tries < 3; tries++) {
      slots_.emplace_back();
      auto a = s.accept(rec, batch_, &slots_.back());
      if (!a) {
        slots_.pop_back();
        note(a.error());
        return false;
      }
      switch (*a) {
        case SessionAccepted::kHandled:
          slots_.pop_back();
          return !s.input_closed();
        case SessionAccepted::kQueued:
          queued_++;
          if (s.barrier()) {
            run_round();
          }
          return !s.input_closed();
        case SessionAccepted::kBatchFull:
          slots_.pop_back();
          batch_full++;
          run_round();
          break;
      }
    }
    ADD_FAILURE() << "accept never succeeded";
    return false;
  }

  void run_round() {
    if (queued_ == 0) {
      return;
    }
    EXPECT_EQ(batch_.size(), queued_);
    batch_.run();
    rounds++;
    max_ops_per_round = std::max(max_ops_per_round, queued_);
    for (uint32_t i = 0; i < queued_; i++) {
      auto r = s.on_opened(batch_.status(i), slots_[i]);
      if (!r) {
        note(r.error());
        continue;
      }
      app_in.insert(app_in.end(), r->begin(), r->end());
    }
    batch_.clear();
    s.batch_done();
    slots_.clear();
    queued_ = 0;
  }

  crypto::AeadBatch& batch_;
  std::deque<Slot> slots_;
  size_t queued_ = 0;
  Bytes app_out_;
  size_t app_off_ = 0;
};

// Moves bytes both ways between a harness client c and a driver d until neither has
// anything to send; a job out comes back when nothing else moves.
template <class C, class D>
void pump(C& c, D& d, size_t segment_size = 1 << 20) {
  d.drain();
  for (int round = 0; round < 200 && (!c.out.empty() || !d.wire.empty() || d.job); round++) {
    if (d.job != nullptr && c.out.empty() && d.wire.empty()) {
      d.complete_job();
    }
    Bytes to_s = std::move(c.out);
    c.out.clear();
    d.receive(to_s, segment_size);
    Bytes to_c = std::move(d.wire);
    d.wire.clear();
    c.receive(to_c, segment_size);
  }
}

}  // namespace linetls::tls::session_testing
