// perf::Load: the load generator's application on one engine::Worker. It opens connections
// through the worker's own stack and record sessions (Context::connect_tls, connect for
// --mode plain) at the schedule's pace, runs each through its mode, and keeps what the
// report needs: counts per second, latency histograms, errors by kind.
//
// Per connection, by mode (perf_options.h):
//   handshake  TLS handshake, then close_notify + FIN at once; done when the stream ends.
//   resume     the same, offering the first ticket (TLS 1.3) or session (TLS 1.2) the server
//              gave; connections before that one arrives are full handshakes (not counted
//              as resumed).
//   request    after the handshake, GET /bytes/SIZE, each answer read whole before the next
//              request (--requests per connection, 0: until the end of the run).
//   download   one GET /bytes/SIZE, then close.
//   upload     SIZE bytes sent (the server should discard them), then close.
//   plain      request over plain TCP (no TLS): the stack's own baseline.
// Latency (ns): `connect` is start -> TCP established (plain mode only: a TLS stream opens
// after its handshake), `handshake` is start -> TLS established (TCP connect included: the
// client-side latency a user sees), `first_byte` is request written -> first answer byte.
// Starts are measured from the schedule's intended time in open loop (no coordinated
// omission, as wrk2), from the actual start in closed loop.
//
// Errors, by kind: "connect" (no source port or connection slot), "refused", "timeout",
// "tls" (a fatal alert either way), "reset", "truncated", "aborted", "http" (an answer that
// is not 200 or not parseable), "closed_early" (a clean close before the work was done),
// "skipped" (open loop: starts beyond --connections in flight).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/linetls-perf/perf_options.h"
#include "apps/linetls-perf/report.h"
#include "apps/linetls-perf/schedule.h"
#include "lib/crypto/cert.h"
#include "lib/engine/stream.h"
#include "lib/tls/client13.h"
#include "lib/tls/v12/client12.h"
#include "lib/tls/v12/server_session.h"

namespace linetls::perf {

class Load final : public engine::App {
 public:
  // verify_ca (borrowed; nullptr: no --verify): the server's chain is checked against it,
  // and its name (--sni, else the target's address).
  // client_cert (borrowed; nullptr: none) is sent when the server asks for a certificate.
  Load(const PerfOptions& o, engine::Context& ctx, const crypto::CaStore* verify_ca = nullptr,
       const crypto::CertifiedKey* client_cert = nullptr);
  ~Load() override;

  // Starts the schedule at now_ns (warm-up first, when set).
  void start(uint64_t now_ns);
  // Starts due connections, rolls the per-second counters; once per poll iteration.
  void tick(uint64_t now_ns);
  // True once the measured duration is over.
  bool finished(uint64_t now_ns) const noexcept { return started_ && now_ns >= end_ns_; }
  // Stops starting connections and aborts those in flight (their work is not counted).
  void stop() noexcept;
  // What was measured (valid after stop()).
  Results& results() noexcept { return results_; }
  uint32_t in_flight() const noexcept { return in_flight_; }

  // engine::App
  void on_open(engine::Stream* s) noexcept override;
  void on_data(engine::Stream* s, rte_mbuf* chain, uint32_t len) noexcept override;
  void on_writable(engine::Stream* s) noexcept override;
  void on_pull(engine::Stream* s, uint8_t* dst, uint32_t len) noexcept override;
  void on_peer_closed(engine::Stream* s) noexcept override;
  void on_closed(engine::Stream* s, engine::StreamEnd why) noexcept override;

 private:
  struct Conn;
  void open_one(uint64_t intended_ns) noexcept;
  void send_request(engine::Stream* s, Conn& c) noexcept;
  void finish(engine::Stream* s, Conn& c) noexcept;
  void error(const char* kind) noexcept;
  bool measuring() const noexcept { return measuring_; }
  void roll_second(uint64_t now_ns) noexcept;

  PerfOptions o_;
  engine::Context& ctx_;
  Schedule schedule_;
  tls::ClientConfig13 cfg13_;
  tls::v12::ClientConfig12 cfg12_;
  std::optional<tls::v12::Certificate12> cert12_;  // the client certificate, for TLS 1.2
  tls::ClientSessionConfig session_cfg_;
  // The first ticket / session received, offered by every later connection in resume mode
  // (kept here, never replaced: handshakes in flight point at it).
  std::deque<tls::Session> tickets13_;
  std::deque<tls::v12::SavedSession12> sessions12_;
  std::string request_;  // the GET line and headers
  Results results_;
  Second second_{};   // the current second's counts
  uint64_t start_ns_ = 0;
  uint64_t measure_ns_ = 0;  // when measuring starts (after the warm-up)
  uint64_t end_ns_ = 0;
  uint64_t next_second_ns_ = 0;
  uint32_t in_flight_ = 0;
  std::vector<Conn*> live_;  // for stop()
  bool started_ = false;
  bool measuring_ = false;
  bool stopping_ = false;
};

}  // namespace linetls::perf
