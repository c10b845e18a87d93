// TlsEngine's connection state (internal to lib/engine: tls_service.cc, tls_connect.cc).
// Not part of the engine's interface: tls_service.h is.
#pragma once

#include <rte_mbuf.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "lib/engine/tls_service.h"

namespace linetls::engine {

// Appends chain b (pkt_len set on its head) to the chain [*head, *tail].
inline void append(rte_mbuf** head, rte_mbuf** tail, rte_mbuf* b) {
  if (*head == nullptr) {
    *head = b;
  } else {
    (*tail)->next = b;
    (*head)->pkt_len += b->pkt_len;
    (*head)->nb_segs = static_cast<uint16_t>((*head)->nb_segs + b->nb_segs);
  }
  *tail = rte_pktmbuf_lastseg(b);
}

// One profile of one generation as this worker serves it: the configs sessions are built
// from (they point at each other, so the state never moves), and the generation that keeps
// the material they borrow alive. Connections hold it until they end.
struct TlsEngine::ProfileState {
  std::shared_ptr<const TlsGeneration> generation;
  const TlsProfile* profile = nullptr;
  tls::ServerConfig13 config13;
  tls::v12::ServerConfig12 config12;
  tls::ServerSessionConfig session;  // points at config13 and config12
};

// One TLS connection: the session, the received bytes not yet consumed, the app's stream
// and the engine's bookkeeping flags.
struct TlsEngine::Conn final : public Stream {
  Conn(TlsEngine& engine, std::shared_ptr<const ProfileState> state,
       const tls::SessionLimits& limits) noexcept
      : e(engine), profile(std::move(state)), session(profile->session, limits) {}
  // An outgoing connection (connect()): no profile, a client session.
  Conn(TlsEngine& engine, const tls::ClientSessionConfig& config,
       const tls::SessionLimits& limits) noexcept
      : e(engine), client(&config), session(config, limits) {}

  TlsEngine& e;
  net::tcp::Connection* tcp = nullptr;  // nullptr once TCP reported on_closed
  uint64_t serial = 0;
  App* app = nullptr;  // the service's app; nullptr once told on_closed (or after abort())
  std::shared_ptr<const ProfileState> profile;  // the material its handshake started with
  // An outgoing connection's configuration (borrowed); nullptr for accepted ones. The app
  // got the stream from connect(), so it hears on_closed() even if the stream never opened.
  const tls::ClientSessionConfig* client = nullptr;
  tls::ServerSession session;
  TlsFacts facts;

  // Received segments, linked through ->next; [rx_head, cur) are deframed and wait to be
  // freed once no queued op can point into them; cur/cur_off is the deframing cursor.
  rte_mbuf* rx_head = nullptr;
  rte_mbuf* rx_tail = nullptr;
  rte_mbuf* cur = nullptr;
  uint32_t cur_off = 0;
  uint32_t unreleased = 0;          // bytes deframed, not yet released to TCP
  std::optional<tls::Record> held;  // taken from the deframer, refused by a full batch
  rte_mbuf* held_seg = nullptr;     // the segment the held record lies in (nullptr: assembled)

  // Plaintext opened in this round, for the app (one chain), and what it holds unreleased.
  rte_mbuf* in_head = nullptr;
  rte_mbuf* in_tail = nullptr;
  uint32_t app_unreleased = 0;

  // What the app wrote and has not been sealed yet, and the bytes it promised to pull.
  rte_mbuf* out_q = nullptr;
  rte_mbuf* out_tail = nullptr;  // last segment of out_q
  uint32_t out_len = 0;
  uint64_t pull_left = 0;

  // Records built in this seal pass, in wire order; an application record whose content is
  // written but whose seal has not been queued yet.
  std::vector<rte_mbuf*> sendq;
  rte_mbuf* prepared = nullptr;
  size_t prepared_len = 0;

  bool dirty = false;
  bool in_output = false;
  bool starved = false;
  bool in_batch = false;
  bool sending = false;
  bool dead = false;
  bool tcp_fin = false;     // TCP FIN received
  bool truncated = false;   // FIN without close_notify
  bool close_called = false;
  bool close_tcp = false;   // close TCP once this pass's records are handed over
  bool tcp_done = false;    // FIN queued (shutdown/close called)
  bool seal_failed = false;
  bool app_open = false;        // on_open() was reported
  bool connected = false;       // TCP established (accepted ones: from the start)
  bool timed_out = false;       // an outgoing connection's deadline passed before TCP was up
  // TCP closed normally with records of the peer not opened yet (its last data, tickets,
  // close_notify and FIN came together): they are opened first, then the stream ends.
  bool drain_close = false;
  bool app_shut = false;        // shutdown()/close(): close_notify once the output is out
  bool app_closing = false;     // close(): plaintext from now on is dropped
  bool peer_close_told = false; // on_peer_closed() was reported
  bool want_writable = false;   // write() was refused or filled the budget
  bool hot = false;             // on TlsEngine::hot_ (keys expanded)
  bool pk_out = false;          // its public-key job is on a handshake lcore: input waits
  Conn* hot_prev = nullptr;
  Conn* hot_next = nullptr;
  uint64_t last_active_ns = 0;

  void set_addresses(const net::tcp::FourTuple& t) noexcept {
    local_ip_ = t.local_ip;
    local_port_ = t.local_port;
    remote_ip_ = t.remote_ip;
    remote_port_ = t.remote_port;
  }
  bool has_input() const noexcept { return held.has_value() || cur != nullptr; }
  bool wants_input() const noexcept { return app_unreleased < kTlsReadBudget; }
  bool app_output() const noexcept { return out_len != 0 || pull_left != 0; }

  // ---- Stream.
  uint32_t write_space() const noexcept override {
    if (app == nullptr || app_shut || session.closed()) {
      return 0;
    }
    return out_len >= kTlsWriteBudget ? 0 : kTlsWriteBudget - out_len;
  }
  bool write(rte_mbuf* chain) noexcept override {
    if (pull_left != 0 || chain->pkt_len > write_space()) {
      want_writable = true;
      return false;
    }
    append(&out_q, &out_tail, chain);
    out_len += chain->pkt_len;
    if (out_len >= kTlsWriteBudget) {
      want_writable = true;
    }
    e.mark_output(this);
    return true;
  }
  void write_pull(uint64_t n) noexcept override {
    if (app == nullptr || app_shut || n == 0) {
      return;
    }
    pull_left += n;
    e.mark_output(this);
  }
  uint64_t pull_pending() const noexcept override { return pull_left; }
  void release(uint32_t n) noexcept override {
    app_unreleased -= std::min(n, app_unreleased);
    if (has_input() && wants_input() && !session.input_closed()) {
      e.mark_dirty(this);
    }
  }
  void shutdown() noexcept override {
    if (app != nullptr && !app_shut) {
      app_shut = true;
      e.mark_output(this);
    }
  }
  void close() noexcept override {
    if (app != nullptr) {
      app_closing = true;
      app_unreleased = 0;  // nothing more is delivered; the budget no longer applies
      shutdown();
      if (has_input()) {
        e.mark_dirty(this);
      }
    }
  }
  void abort() noexcept override {
    app = nullptr;
    if (tcp != nullptr) {
      e.tcp_.abort(tcp);  // on_closed() runs now; the connection is reaped later
    }
  }
  const TlsFacts* tls() const noexcept override { return app_open ? &facts : nullptr; }
};

struct TlsEngine::OpEntry {
  Conn* conn = nullptr;
  rte_mbuf* seg = nullptr;  // the received segment an open's record lies in (nullptr: assembled)
  tls::AnySlot slot;
};

// The handler of outgoing connections: their Conn exists from connect() on.
class TlsEngine::Outgoing final : public net::tcp::Handler {
 public:
  explicit Outgoing(TlsEngine& e) : e_(e) {}
  void on_connected(net::tcp::Connection* c) noexcept override { e_.on_client_connected(c); }
  void on_data(net::tcp::Connection* c, rte_mbuf* chain, uint32_t len) noexcept override {
    e_.on_data(c, chain, len);
  }
  void on_writable(net::tcp::Connection* c) noexcept override { e_.on_writable(c); }
  void on_peer_closed(net::tcp::Connection* c) noexcept override { e_.on_peer_closed(c); }
  void on_closed(net::tcp::Connection* c, net::tcp::CloseReason why) noexcept override {
    e_.on_closed(c, why);
  }

 private:
  TlsEngine& e_;
};

}  // namespace linetls::engine
