// The engine's part for one TLS server session in the fuzz targets (tls_session,
// tls12_server, tls_any_server): arbitrary client bytes go in as TCP segments and are
// driven the way lib/engine/tls_service.cc drives a session: next() -> accept() into one
// batch until barrier() or kBatchFull -> run -> on_opened(); after each segment the output
// is drained (write_control, and received application data echoed back with seal_app) and
// the records are appended to wire.
//
// Session is ServerSession13, v12::ServerSession12 or the tls::ServerSession facade, Slot
// its record slot type; Check is called with the session at each step for a target's own
// invariants. Traps (__builtin_trap, so libFuzzer reports them): a second kAlert, output
// after closed(), write_control() writing other than next_output() announced, application
// data before the handshake is done, an input error without error() set, a seal the batch
// rejects, the deframer stuck, an empty batch refusing a record.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "lib/crypto/aead.h"
#include "lib/crypto/rng.h"
#include "lib/tls/pk_job.h"
#include "lib/tls/record.h"

namespace linetls::tls::fuzz_driver {

[[noreturn]] inline void trap() { __builtin_trap(); }

struct NoCheck {
  template <typename Session>
  void operator()(const Session&) const noexcept {}
};

template <typename Session, typename Slot, typename Check = NoCheck>
class SessionDriver {
 public:
  template <typename... SessionArgs>
  SessionDriver(crypto::AeadBatch& batch, Check check, SessionArgs&&... args)
      : s(std::forward<SessionArgs>(args)...), batch_(batch), check_(std::move(check)) {}

  Session s;
  // Set (with the session's offload on): each public-key job the session stops for is run
  // with this rng and given back at once, through the offload path (pk_job.h).
  crypto::Rng* pk_rng = nullptr;

  // Runs the target's own invariants now.
  void check() { check_(s); }
  std::vector<uint8_t> wire;  // what the client would read

  // One TCP segment.
  void piece(std::span<const uint8_t> bytes) {
    segs_.emplace_back(bytes.begin(), bytes.end());
    std::span<uint8_t> p(segs_.back());
    int stuck = 0;
    while (!p.empty() && !s.input_closed()) {
      auto step = s.next(p);
      check_(s);
      if (!step) {
        if (!s.error()) {
          trap();
        }
        break;
      }
      p = p.subspan(step->consumed);
      if (!step->has_record) {
        if (step->consumed == 0) {
          if (++stuck > 2) {
            trap();
          }
          run_round();
        }
        continue;
      }
      stuck = 0;
      accept(step->record);
      check_(s);
    }
    run_round();
    segs_.clear();
    if (s.peer_closed()) {
      s.close();
    }
    drain();
    check_(s);
  }

  // The peer's bytes cut into TCP segments by mode's bits 3..7 (0: one segment; otherwise
  // sizes from a generator seeded by mode, up to 2^(pattern % 12 + 1)), fed until the input
  // closes, then the output drained. The targets' common input format after its mode byte.
  void feed(std::span<const uint8_t> rest, uint8_t mode) {
    const uint8_t pattern = mode >> 3;
    uint32_t x = 0x9e3779b9u ^ mode;
    while (!rest.empty() && !s.input_closed()) {
      size_t n = rest.size();
      if (pattern != 0) {
        x = x * 1664525u + 1013904223u;
        n = std::min<size_t>(n, 1 + (x >> 8) % (size_t{1} << (pattern % 12 + 1)));
      }
      piece(rest.first(n));
      rest = rest.subspan(n);
    }
    drain();
  }

  void drain() {
    for (int guard = 0; guard < 1000; guard++) {
      batch_.clear();
      std::deque<std::vector<uint8_t>> recs;
      std::deque<Slot> slots;
      for (;;) {
        const bool was_closed = s.closed();
        const typename Session::Out o = s.next_output(kMaxPlaintextLen);
        if (o.kind != Session::OutKind::kNone) {
          if (was_closed) {
            trap();
          }
          std::vector<uint8_t> r(o.record_len);
          slots.emplace_back();
          auto n = s.write_control(r, kMaxPlaintextLen, batch_, &slots.back());
          if (!n || *n == 0) {
            break;
          }
          if (*n != o.record_len) {
            trap();
          }
          if (o.kind == Session::OutKind::kAlert && ++alerts_ > 1) {
            trap();
          }
          recs.push_back(std::move(r));
          continue;
        }
        if (s.app_writable() && !echo_.empty()) {
          if (!s.handshake_done()) {
            trap();
          }
          const size_t n = std::min(echo_.size(), s.max_app_content());
          std::vector<uint8_t> r(s.record_len(n));
          std::copy_n(echo_.begin(), n, r.begin() + static_cast<ptrdiff_t>(content_offset()));
          slots.emplace_back();
          auto ok = s.seal_app(r, n, batch_, &slots.back());
          if (!ok) {
            break;
          }
          if (!*ok) {
            if (s.next_output(kMaxPlaintextLen).kind != Session::OutKind::kNone) {
              continue;
            }
            break;
          }
          echo_.erase(echo_.begin(), echo_.begin() + static_cast<ptrdiff_t>(n));
          recs.push_back(std::move(r));
          continue;
        }
        break;
      }
      if (recs.empty()) {
        return;
      }
      const uint32_t ops = batch_.size();
      if (batch_.run() != ops) {
        trap();
      }
      batch_.clear();
      s.batch_done();
      for (const std::vector<uint8_t>& r : recs) {
        wire.insert(wire.end(), r.begin(), r.end());
      }
    }
  }

 private:
  void run_jobs() {
    while (pk_rng != nullptr && s.pk_pending()) {
      if (!s.barrier()) {
        trap();  // a session with a job out holds its input
      }
      std::unique_ptr<tls::PkJob> job = s.take_pk_job();
      if (job == nullptr || s.take_pk_job() != nullptr) {
        trap();  // one job per pause
      }
      tls::run_pk_job(*job, *pk_rng);
      s.complete_pk(std::move(job));
    }
  }

  void accept(const Record& rec) {
    for (int tries = 0; tries < 2; tries++) {
      slots_.emplace_back();
      auto a = s.accept(rec, batch_, &slots_.back());
      run_jobs();
      if (!a) {
        slots_.pop_back();
        if (!s.error()) {
          trap();
        }
        return;
      }
      if (*a == Session::Accepted::kQueued) {
        queued_++;
        if (s.barrier()) {
          run_round();
        }
        return;
      }
      slots_.pop_back();
      if (*a == Session::Accepted::kHandled) {
        return;
      }
      run_round();  // kBatchFull
    }
    trap();  // refused by an empty batch
  }

  void run_round() {
    if (queued_ == 0) {
      return;
    }
    batch_.run();
    for (uint32_t i = 0; i < queued_; i++) {
      auto r = s.on_opened(batch_.status(i), slots_[i]);
      run_jobs();
      if (!r) {
        if (!s.error()) {
          trap();
        }
        continue;
      }
      if (!r->empty()) {
        if (!s.handshake_done()) {
          trap();
        }
        if (echo_.size() < 100000) {
          echo_.insert(echo_.end(), r->begin(), r->end());
        }
      }
    }
    batch_.clear();
    s.batch_done();
    slots_.clear();
    queued_ = 0;
  }

  size_t content_offset() const {
    if constexpr (requires(const Session& x) { x.content_offset(); }) {
      return s.content_offset();
    } else {
      return kRecordHeaderLen;  // TLS 1.3: the content follows the header
    }
  }

  crypto::AeadBatch& batch_;
  Check check_;
  std::deque<std::vector<uint8_t>> segs_;
  std::deque<Slot> slots_;
  uint32_t queued_ = 0;
  int alerts_ = 0;
  std::vector<uint8_t> echo_;
};

}  // namespace linetls::tls::fuzz_driver
