// The engine's part around one tls::ServerSession (the version-dispatching facade), for
// tests: a driver that deframes, accepts into the OpenSSL AeadBatch until barrier(), runs
// it, hands each op to on_opened() and drains next_output()/write_control()/seal_app() into
// the bytes a client reads; a 1.3 and a 1.2 server config over the harness certificates; and
// helpers to pump bytes between it and a harness client, and to feed raw bytes.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "lib/tls/v12/server_session.h"
#include "tests/unit/tls/handshake13_harness.h"
#include "tests/unit/tls12/session12_harness.h"

namespace linetls::tls::facade_testing {

using Bytes = std::vector<uint8_t>;
using v12::ClientConfig12;
using v12::ServerConfig12;
using v12::VersionRange;

inline crypto::AeadBatch& batch() { return testing13::batch(); }

// The server side: a 1.3 and a 1.2 config over the same ECDSA P-256 (and RSA) certificates.
struct Configs {
  explicit Configs(VersionRange range = {}) {
    c13 = testing13::server_config({&testing13::certs().ecdsa256, &testing13::certs().rsa});
    c12 = v12::testing12::server_config();
    c12.tls13_enabled = range.max == kTls13;
    sc.tls13 = &c13;
    sc.tls12 = &c12;
    sc.versions = range;
  }
  ServerConfig13 c13;
  ServerConfig12 c12;
  ServerSessionConfig sc;
};

// Plays the engine for one ServerSession.
class Driver {
 public:
  explicit Driver(const ServerSessionConfig& config, const SessionLimits& limits = {})
      : s(config, limits) {}

  ServerSession s;
  Bytes wire;    // records for the client
  Bytes app_in;  // application data received
  std::optional<Error> input_error;
  int alerts = 0;

  void send_app(std::span<const uint8_t> data) {
    app_out_.insert(app_out_.end(), data.begin(), data.end());
  }

  // With ServerSessionConfig::pk_offload: the job out (taken at each pause), the kinds of
  // every job taken so far in order, and the input held back while one is out.
  std::unique_ptr<PkJob> job;
  std::vector<PkKind> pauses;
  Bytes held_input;

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

  void receive(std::span<const uint8_t> in, size_t segment_size = 1 << 20) {
    if (job != nullptr || s.pk_pending()) {
      held_input.insert(held_input.end(), in.begin(), in.end());  // nothing is read meanwhile
      return;
    }
    batch().clear();
    std::deque<Bytes> segs;
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

  void drain() {
    for (int guard = 0; guard < 10000; guard++) {
      batch().clear();
      std::deque<Bytes> recs;
      std::deque<AnySlot> slots;
      for (;;) {
        const ServerSession::Out o = s.next_output(kMaxPlaintextLen);
        if (o.kind != ServerSession::OutKind::kNone) {
          Bytes r(o.record_len);
          slots.emplace_back();
          auto n = s.write_control(r, kMaxPlaintextLen, batch(), &slots.back());
          ASSERT_TRUE(n) << to_string(n.error());
          ASSERT_NE(*n, 0u);
          if (o.kind == ServerSession::OutKind::kAlert) {
            alerts++;
          }
          r.resize(*n);
          recs.push_back(std::move(r));
          continue;
        }
        if (s.app_writable() && app_off_ < app_out_.size()) {
          const size_t n = std::min(s.max_app_content(), app_out_.size() - app_off_);
          Bytes r(s.record_len(n));
          std::copy_n(app_out_.begin() + app_off_, n, r.begin() + s.content_offset());
          slots.emplace_back();
          auto ok = s.seal_app(r, n, batch(), &slots.back());
          ASSERT_TRUE(ok) << to_string(ok.error());
          ASSERT_TRUE(*ok);
          app_off_ += n;
          recs.push_back(std::move(r));
          continue;
        }
        break;
      }
      if (recs.empty()) {
        return;
      }
      batch().run();
      for (uint32_t i = 0; i < batch().size(); i++) {
        EXPECT_TRUE(batch().ok(i));
      }
      batch().clear();
      s.batch_done();
      for (const Bytes& r : recs) {
        wire.insert(wire.end(), r.begin(), r.end());
      }
    }
    ADD_FAILURE() << "output never drained";
  }

 private:
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

  bool accept(const Record& rec) {
    slots_.emplace_back();
    auto a = s.accept(rec, batch(), &slots_.back());
    if (!a) {
      slots_.pop_back();
      note(a.error());
      return false;
    }
    switch (*a) {
      case ServerSession::Accepted::kHandled:
        slots_.pop_back();
        return !s.input_closed();
      case ServerSession::Accepted::kQueued:
        queued_++;
        if (s.barrier()) {
          run_round();
        }
        return !s.input_closed();
      case ServerSession::Accepted::kBatchFull:
        break;
    }
    ADD_FAILURE() << "batch full";
    return false;
  }

  void run_round() {
    if (queued_ == 0) {
      return;
    }
    batch().run();
    for (uint32_t i = 0; i < queued_; i++) {
      auto r = s.on_opened(batch().status(i), slots_[i]);
      if (!r) {
        note(r.error());
        continue;
      }
      app_in.insert(app_in.end(), r->begin(), r->end());
    }
    batch().clear();
    s.batch_done();
    slots_.clear();
    queued_ = 0;
  }

  std::deque<AnySlot> slots_;
  size_t queued_ = 0;
  Bytes app_out_;
  size_t app_off_ = 0;
};

template <typename C>
void pump(C& c, Driver& d, size_t segment_size = 1 << 20) {
  d.drain();
  for (int round = 0; round < 200 && (!c.out.empty() || !d.wire.empty() || d.job); round++) {
    if (d.job != nullptr && c.out.empty() && d.wire.empty()) {
      d.complete_job();  // offloaded: the job comes back when nothing else moves
    }
    Bytes to_s = std::move(c.out);
    c.out.clear();
    d.receive(to_s, segment_size);
    Bytes to_c = std::move(d.wire);
    d.wire.clear();
    c.receive(to_c, segment_size);
  }
}

template <typename C>
void expect_established(C& c, Driver& d, uint16_t version, size_t segment_size = 1 << 20) {
  ASSERT_FALSE(c.error) << to_string(*c.error);
  ASSERT_FALSE(d.s.error()) << to_string(*d.s.error());
  ASSERT_TRUE(c.done());
  ASSERT_TRUE(d.s.handshake_done());
  EXPECT_EQ(d.s.version(), version);
  EXPECT_TRUE(d.s.take_handshake_completed());
  const Bytes ping = testing13::bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const Bytes pong = v12::testing12::pattern(40000, 3);
  c.send_app(ping);
  d.send_app(pong);
  pump(c, d, segment_size);
  EXPECT_EQ(d.app_in, ping);
  EXPECT_EQ(c.app_in, pong);
  EXPECT_FALSE(c.alert_received);
  EXPECT_EQ(d.alerts, 0);
}

// The one alert a refused client saw, and that the server is closed after it.
template <typename C>
void expect_refused(C& c, Driver& d, AlertDescription alert) {
  ASSERT_TRUE(c.alert_received.has_value());
  EXPECT_EQ(*c.alert_received, static_cast<uint8_t>(alert)) << alert_name(*c.alert_received);
  EXPECT_EQ(d.alerts, 1);
  EXPECT_TRUE(d.s.closed());
  EXPECT_FALSE(d.s.handshake_done());
  ASSERT_TRUE(d.s.stats().alert_sent.has_value());
  EXPECT_EQ(*d.s.stats().alert_sent, static_cast<uint8_t>(alert));
}

// Feeds raw bytes; returns what the server wrote.
inline Bytes feed(Driver& d, Bytes in, size_t segment_size = 1 << 20) {
  d.receive(in, segment_size);
  Bytes out = std::move(d.wire);
  d.wire.clear();
  return out;
}

inline Bytes alert_record(AlertDescription a) {
  return {21, 3, 3, 0, 2, 2, static_cast<uint8_t>(a)};
}

}  // namespace linetls::tls::facade_testing
