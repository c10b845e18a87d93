// A TLS client on a host stack of NetFixture (net_fixture.h), for engine tests over the
// wire: the client record sessions of lib/tls (ClientSession13 / ClientSession12 behind the
// session facade, the code linetls-perf runs), fed from and drained into a host-stack TCP
// connection.
//
// One TlsClient is one connection: it connects, completes the handshake, sends its plan's
// request and then send_bytes of a Pattern in records of record_size (only as fast as TCP
// takes them: chunks up to send_space(), the rest on on_writable), hashes every plaintext
// byte it receives with SHA-256, sends close_notify (after its data, or answering the
// server's) and then FIN, and records what happened in a TlsOutcome. Many can run at once:
// each is its own handler, owned by the fixture (NetFixture::add).
//
// default_tls_settings() gives the engine what it needs to serve tls:APP: the harness
// certificates (ECDSA P-256 and RSA-2048, so every TLS 1.2 suite has a key), AEAD batches
// (ipsec-mb as in production, OpenSSL EVP when ipsec-mb cannot initialise; the client side
// always seals and opens with OpenSSL EVP, so records cross two implementations) and a fixed
// ticket master.
#pragma once

#include <rte_mbuf.h>

#include <algorithm>
#include <deque>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "drivers/ipsecmb/ipsecmb_aead.h"
#include "drivers/ossl/ossl_aead.h"
#include "lib/engine/tls_service.h"
#include "lib/tls/errors.h"
#include "lib/tls/hello.h"
#include "lib/tls/v12/server_session.h"
#include "tests/unit/engine/net_fixture.h"
#include "tests/unit/tls/handshake13_harness.h"
#include "tests/unit/tls12/session12_harness.h"

namespace linetls::engine::testing {

// The AEAD backend the engine uses in these tests (impl_name() says which).
inline std::unique_ptr<crypto::AeadBatch> make_test_batch(uint32_t capacity) {
  if (auto b = ipsecmb::IpsecMbAeadBatch::create(capacity)) {
    return std::move(b).value();
  }
  if (auto o = ossl::OsslAeadBatch::create(capacity)) {
    return std::move(o).value();
  }
  return nullptr;
}

// TLS settings for a NetConfig: both versions, the harness's ECDSA P-256 and RSA-2048
// certificates (loaded once, never freed), batches from make_test_batch, a fixed ticket
// master. record_pool is the fixture's.
inline TlsSettings default_tls_settings() {
  const auto& certs = tls::testing13::certs();
  TlsSettings s;
  for (const crypto::CertifiedKey* k : {&certs.ecdsa256, &certs.rsa}) {
    s.certificates.push_back(tls::ServerCertificate::from(*k));
    s.certificates12.push_back(tls::v12::Certificate12::from(*k));
  }
  for (size_t i = 0; i < s.ticket_master.size(); i++) {
    s.ticket_master[i] = static_cast<uint8_t>(0xa0 + i);
  }
  s.make_batch = make_test_batch;
  return s;
}

struct TlsClientPlan {
  uint16_t version = tls::kTls13;  // which client: tls::kTls13 (Client13) or kTls12 (Client12)
  tls::ClientConfig13 config13;
  tls::v12::ClientConfig12 config12;
  std::vector<uint8_t> raw_after_handshake;  // written to the wire as is, once (tests: garbage)
  std::vector<uint8_t> request;              // application bytes sent first
  uint64_t send_bytes = 0;                   // then this many bytes of Pattern(seed)
  uint64_t seed = 1;
  size_t record_size = tls::kMaxPlaintextLen;  // application bytes per record
  bool close_after_send = true;  // close_notify once everything is sent (else: answer theirs)
  bool hold_pattern = false;     // send the request, then the pattern only after resume()
  size_t keep_bytes = 4096;      // received plaintext kept verbatim (everything is hashed)
};

// What happened to one TlsClient.
struct TlsOutcome {
  bool connected = false;  // TCP established
  bool handshake_done = false;
  uint16_t version = 0;  // negotiated (0 before the handshake is done)
  uint16_t suite = 0;
  uint64_t app_sent = 0;  // plaintext bytes sealed (request + pattern)
  uint64_t app_received = 0;
  std::vector<uint8_t> kept;              // the first keep_bytes of plaintext received
  std::optional<tls::Error> error;        // our own fatal error (its alert was sent)
  std::optional<uint8_t> alert_received;  // the server's alert, close_notify excluded
  bool close_notify_received = false;
  bool close_notify_sent = false;
  bool fin_sent = false;
  bool peer_fin = false;
  bool closed = false;  // TCP connection gone
  net::tcp::CloseReason reason = net::tcp::CloseReason::kNormal;
  uint64_t wire_sent = 0;  // TCP payload bytes handed to TCP
  uint64_t wire_received = 0;
};

namespace detail {

// The common face of the two harness endpoints.
class TlsEndpoint {
 public:
  virtual ~TlsEndpoint() = default;
  virtual void start() = 0;
  virtual void receive(std::span<const uint8_t> wire) = 0;
  virtual std::vector<uint8_t>& out() = 0;     // wire bytes for the server
  virtual std::vector<uint8_t>& app_in() = 0;  // plaintext received
  virtual bool handshake_done() const = 0;
  virtual void send_app(std::span<const uint8_t> data) = 0;
  virtual void send_close_notify() = 0;
  virtual std::optional<tls::Error> error() const = 0;
  virtual std::optional<uint8_t> alert() const = 0;  // the peer's, close_notify excluded
  virtual bool close_notify_received() const = 0;
  virtual uint16_t version() const = 0;
  virtual uint16_t suite() const = 0;
};

// The client side as linetls-perf and the engine's connect_tls run it: the session facade
// holding a ClientSession13 or ClientSession12 (lib/tls), driven the way the engine drives a
// session (next -> accept into a batch until barrier() -> run -> on_opened; next_output /
// write_control / seal_app -> run). Its records are sealed and opened by OpenSSL EVP while
// the engine uses ipsec-mb, so every record crosses two AEAD implementations.
class SessionEndpoint final : public TlsEndpoint {
 public:
  SessionEndpoint(uint16_t version, const tls::ClientConfig13& c13,
                  const tls::v12::ClientConfig12& c12, size_t record_size)
      : c13_(std::make_unique<tls::ClientConfig13>(c13)),
        c12_(std::make_unique<tls::v12::ClientConfig12>(c12)),
        batch_(ossl::OsslAeadBatch::create(kBatchCapacity).value()),
        record_size_(record_size) {
    cfg_.version = version;
    cfg_.tls13 = c13_.get();
    cfg_.tls12 = c12_.get();
  }
  void start() override {
    s_.emplace(cfg_, tls::SessionLimits{});
    drain();
  }
  void receive(std::span<const uint8_t> wire) override {
    // The records are opened in place, and every queued op is run before this returns.
    std::vector<uint8_t> buf(wire.begin(), wire.end());
    std::span<uint8_t> p(buf);
    while (!p.empty() && !s_->input_closed()) {
      auto step = s_->next(p);
      if (!step) {
        break;  // fatal: the alert goes out below
      }
      p = p.subspan(step->consumed);
      if (step->has_record) {
        accept(step->record);
      } else if (step->consumed == 0) {
        run_round();  // the assembly buffer waits for its last op
      }
    }
    run_round();
    drain();
  }
  std::vector<uint8_t>& out() override { return out_; }
  std::vector<uint8_t>& app_in() override { return app_in_; }
  bool handshake_done() const override { return s_ && s_->handshake_done(); }
  void send_app(std::span<const uint8_t> data) override {
    pending_.insert(pending_.end(), data.begin(), data.end());
    drain();
  }
  void send_close_notify() override {
    close_after_pending_ = true;
    drain();
  }
  std::optional<tls::Error> error() const override { return s_ ? s_->error() : std::nullopt; }
  std::optional<uint8_t> alert() const override {
    if (!s_ || !s_->stats().alert_received || *s_->stats().alert_received == 0) {
      return std::nullopt;  // none, or close_notify
    }
    return s_->stats().alert_received;
  }
  bool close_notify_received() const override { return s_ && s_->peer_closed(); }
  uint16_t version() const override { return s_ ? s_->version() : 0; }
  uint16_t suite() const override { return s_ ? s_->suite_code() : 0; }

 private:
  static constexpr uint32_t kBatchCapacity = 16;

  void accept(const tls::Record& rec) {
    for (int tries = 0; tries < 2; tries++) {
      slots_.emplace_back();
      auto a = s_->accept(rec, *batch_, &slots_.back());
      if (!a) {
        slots_.pop_back();
        return;  // fatal: error() says why
      }
      if (*a == tls::ServerSession::Accepted::kQueued) {
        if (s_->barrier()) {
          run_round();
        }
        return;
      }
      slots_.pop_back();
      if (*a == tls::ServerSession::Accepted::kHandled) {
        return;
      }
      run_round();  // kBatchFull
    }
    ADD_FAILURE() << "an empty batch refused a record";
  }

  void run_round() {
    if (slots_.empty()) {
      return;
    }
    batch_->run();
    for (size_t i = 0; i < slots_.size(); i++) {
      auto r = s_->on_opened(batch_->status(static_cast<uint32_t>(i)), slots_[i]);
      if (r && !r->empty()) {
        app_in_.insert(app_in_.end(), r->begin(), r->end());
      }
    }
    batch_->clear();
    s_->batch_done();
    slots_.clear();
  }

  // Control records first, then application data in records of record_size_, then our
  // close_notify once everything before it is out.
  void drain() {
    for (int guard = 0; guard < 100000 && s_; guard++) {
      batch_->clear();
      std::deque<std::vector<uint8_t>> recs;
      std::deque<tls::AnySlot> slots;
      while (batch_->size() + 1 < batch_->capacity()) {
        const auto o = s_->next_output(tls::kMaxPlaintextLen);
        if (o.kind != tls::ServerSession::OutKind::kNone) {
          std::vector<uint8_t> r(o.record_len);
          slots.emplace_back();
          auto n = s_->write_control(r, tls::kMaxPlaintextLen, *batch_, &slots.back());
          if (!n || *n == 0) {
            break;
          }
          r.resize(*n);
          recs.push_back(std::move(r));
          continue;
        }
        if (s_->app_writable() && pending_off_ < pending_.size()) {
          const size_t n = std::min({pending_.size() - pending_off_, record_size_,
                                     s_->max_app_content()});
          std::vector<uint8_t> r(s_->record_len(n));
          std::copy_n(pending_.begin() + static_cast<std::ptrdiff_t>(pending_off_), n,
                      r.begin() + static_cast<std::ptrdiff_t>(s_->content_offset()));
          slots.emplace_back();
          auto ok = s_->seal_app(r, n, *batch_, &slots.back());
          if (!ok || !*ok) {
            if (ok && s_->next_output(tls::kMaxPlaintextLen).kind !=
                          tls::ServerSession::OutKind::kNone) {
              continue;  // a KeyUpdate first
            }
            break;
          }
          pending_off_ += n;
          recs.push_back(std::move(r));
          continue;
        }
        if (close_after_pending_ && pending_off_ == pending_.size() && !close_called_ &&
            s_->handshake_done()) {
          close_called_ = true;
          s_->close();
          continue;
        }
        break;
      }
      if (pending_off_ == pending_.size()) {
        pending_.clear();
        pending_off_ = 0;
      }
      if (recs.empty()) {
        return;
      }
      batch_->run();
      batch_->clear();
      s_->batch_done();
      for (const std::vector<uint8_t>& r : recs) {
        out_.insert(out_.end(), r.begin(), r.end());
      }
    }
  }

  std::unique_ptr<tls::ClientConfig13> c13_;  // the session borrows them
  std::unique_ptr<tls::v12::ClientConfig12> c12_;
  tls::ClientSessionConfig cfg_;
  std::unique_ptr<ossl::OsslAeadBatch> batch_;
  std::optional<tls::ServerSession> s_;
  std::deque<tls::AnySlot> slots_;
  std::vector<uint8_t> out_;
  std::vector<uint8_t> app_in_;
  std::vector<uint8_t> pending_;  // application bytes not sealed yet, from pending_off_
  size_t pending_off_ = 0;
  size_t record_size_;
  bool close_after_pending_ = false;
  bool close_called_ = false;
};

}  // namespace detail

class TlsClient final : public HostHandler {
 public:
  // Plaintext produced ahead of TCP at most (bounds memory for any send_bytes).
  static constexpr size_t kMaxPending = 256 * 1024;

  TlsClient(HostStack& host, TlsClientPlan plan)
      : host_(host), plan_(std::move(plan)), pattern_(plan_.seed) {
    ep_ = std::make_unique<detail::SessionEndpoint>(plan_.version, plan_.config13,
                                                    plan_.config12, plan_.record_size);
  }

  ~TlsClient() override { rte_pktmbuf_free(held_); }

  // Opens the TCP connection; false if TCP refused to start one.
  bool connect(net::Ipv4Addr dst, uint16_t port, uint64_t now_ns) {
    auto c = host_.tcp().connect(dst, port, this, now_ns);
    if (!c) {
      return false;
    }
    conn_ = *c;
    local_port_ = host_.tcp().info(conn_).tuple.local_port;
    return true;
  }

  const TlsOutcome& outcome() const { return out_; }
  // True once the TCP connection is gone.
  bool finished() const { return out_.closed; }
  // SHA-256 (hex) of the plaintext sent and received so far.
  std::string sent_sha256() const { return sent_hash_.hex(); }
  std::string received_sha256() const { return received_hash_.hex(); }
  const TlsClientPlan& plan() const { return plan_; }
  // The local port of the TCP connection (0 before connect()).
  uint16_t local_port() const { return local_port_; }

  // ---- Hooks.
  // Stops (false) or resumes (true) reading: while stopped, what TCP delivers is held
  // unreleased (the window closes); resuming processes and releases it.
  void set_reading(bool on) {
    reading_ = on;
    if (on && held_ != nullptr && conn_ != nullptr) {
      rte_mbuf* chain = held_;
      held_ = nullptr;
      const uint32_t len = chain->pkt_len;
      consume(chain);
      host_.tcp().release(conn_, len);
      pump();
    }
  }
  // Lets a hold_pattern plan send its pattern bytes now.
  void resume() {
    plan_.hold_pattern = false;
    pump();
  }
  // Bytes received and held while not reading.
  uint64_t held_bytes() const { return held_ == nullptr ? 0 : held_->pkt_len; }
  // RST now (on_closed(kAborted) runs before this returns).
  void reset() {
    if (conn_ != nullptr) {
      host_.tcp().abort(conn_);
    }
  }

  // ---- HostHandler.
  void on_connected(net::tcp::Connection*) noexcept override {
    out_.connected = true;
    ep_->start();
    pump();
  }
  void on_data(net::tcp::Connection* c, rte_mbuf* chain, uint32_t len) noexcept override {
    out_.wire_received += len;
    if (!reading_) {
      if (held_ == nullptr) {
        held_ = chain;
      } else {
        rte_pktmbuf_lastseg(held_)->next = chain;
        held_->pkt_len += chain->pkt_len;
        held_->nb_segs = static_cast<uint16_t>(held_->nb_segs + chain->nb_segs);
      }
      return;
    }
    consume(chain);
    host_.tcp().release(c, len);
    pump();
  }
  void on_writable(net::tcp::Connection*) noexcept override { pump(); }
  void on_peer_closed(net::tcp::Connection*) noexcept override {
    out_.peer_fin = true;
    pump();
  }
  void on_closed(net::tcp::Connection*, net::tcp::CloseReason why) noexcept override {
    out_.closed = true;
    out_.reason = why;
    conn_ = nullptr;
    rte_pktmbuf_free(held_);
    held_ = nullptr;
  }
  void poll() noexcept override {
    if (starved_) {
      pump();
    }
  }

 private:
  uint64_t app_total() const { return plan_.request.size() + plan_.send_bytes; }
  bool failed() const { return ep_->error().has_value() || ep_->alert().has_value(); }

  void consume(rte_mbuf* chain) {
    for (rte_mbuf* s = chain; s != nullptr; s = s->next) {
      ep_->receive(std::span(rte_pktmbuf_mtod(s, const uint8_t*), s->data_len));
      absorb();
    }
    rte_pktmbuf_free(chain);
  }

  // Takes the plaintext the endpoint received: hashed, counted, the start kept.
  void absorb() {
    std::vector<uint8_t>& in = ep_->app_in();
    if (in.empty()) {
      return;
    }
    received_hash_.update(in);
    out_.app_received += in.size();
    const size_t room = plan_.keep_bytes - std::min(plan_.keep_bytes, out_.kept.size());
    out_.kept.insert(out_.kept.end(), in.begin(),
                     in.begin() + static_cast<std::ptrdiff_t>(std::min(room, in.size())));
    in.clear();
  }

  // Moves the handshake on: records what is known, writes application data and
  // close_notify into the endpoint while little is pending, takes its wire bytes.
  void advance() {
    if (!out_.handshake_done && ep_->handshake_done()) {
      out_.handshake_done = true;
      out_.version = ep_->version();
      out_.suite = ep_->suite();
    }
    out_.error = ep_->error();
    out_.alert_received = ep_->alert();
    out_.close_notify_received = ep_->close_notify_received();
    const bool can_write = out_.handshake_done && !failed() && !out_.close_notify_sent;
    if (can_write && !raw_sent_) {
      raw_sent_ = true;
      std::vector<uint8_t>& o = ep_->out();
      o.insert(o.end(), plan_.raw_after_handshake.begin(), plan_.raw_after_handshake.end());
    }
    const uint64_t limit = plan_.hold_pattern ? plan_.request.size() : app_total();
    while (can_write && !out_.close_notify_received && out_.app_sent < limit &&
           pending() + ep_->out().size() < kMaxPending) {
      const size_t n =
          static_cast<size_t>(std::min<uint64_t>(plan_.record_size, limit - out_.app_sent));
      chunk_.resize(n);
      size_t i = 0;
      for (; i < n && out_.app_sent + i < plan_.request.size(); i++) {
        chunk_[i] = plan_.request[out_.app_sent + i];
      }
      if (i < n) {
        pattern_.fill(out_.app_sent + i - plan_.request.size(),
                      std::span(chunk_.data() + i, n - i));
      }
      ep_->send_app(chunk_);
      sent_hash_.update(chunk_);
      out_.app_sent += n;
    }
    if (can_write &&
        ((plan_.close_after_send && out_.app_sent == app_total()) || out_.close_notify_received)) {
      ep_->send_close_notify();
      out_.close_notify_sent = true;
    }
    std::vector<uint8_t>& o = ep_->out();
    if (!o.empty()) {
      if (wire_off_ == wire_.size()) {
        wire_.clear();
        wire_off_ = 0;
      }
      wire_.insert(wire_.end(), o.begin(), o.end());
      o.clear();
    }
  }

  size_t pending() const { return wire_.size() - wire_off_; }

  void pump() {
    starved_ = false;
    net::tcp::Tcp& t = host_.tcp();
    for (;;) {
      advance();
      bool progressed = false;
      while (conn_ != nullptr && !out_.fin_sent && pending() != 0) {
        const size_t n = std::min<size_t>({pending(), t.send_space(conn_), 64 * 1024});
        if (n == 0) {
          break;  // on_writable resumes
        }
        rte_mbuf* m = mbuf_chain(host_.pool(), std::span(wire_.data() + wire_off_, n));
        if (m == nullptr) {
          starved_ = true;  // poll() retries
          return;
        }
        if (!t.send(conn_, m).ok()) {
          ADD_FAILURE() << "send refused within send_space";
          rte_pktmbuf_free(m);
          return;
        }
        wire_off_ += n;
        out_.wire_sent += n;
        progressed = true;
      }
      if (!progressed || pending() != 0) {
        break;
      }
    }
    if (wire_off_ > (1u << 20) && wire_off_ * 2 > wire_.size()) {
      wire_.erase(wire_.begin(), wire_.begin() + static_cast<std::ptrdiff_t>(wire_off_));
      wire_off_ = 0;
    }
    // FIN once nothing more will be written: after our close_notify, after a fatal alert
    // either way, or when the server's FIN leaves nothing to wait for.
    if (conn_ != nullptr && !out_.fin_sent && pending() == 0 &&
        (out_.close_notify_sent || failed() || out_.peer_fin)) {
      out_.fin_sent = true;
      t.shutdown(conn_);
    }
  }

  HostStack& host_;
  TlsClientPlan plan_;
  Pattern pattern_;
  std::unique_ptr<detail::TlsEndpoint> ep_;
  net::tcp::Connection* conn_ = nullptr;
  TlsOutcome out_;
  Sha256 sent_hash_;
  Sha256 received_hash_;
  std::vector<uint8_t> chunk_;
  std::vector<uint8_t> wire_;  // TLS bytes not yet handed to TCP, from wire_off_
  size_t wire_off_ = 0;
  bool raw_sent_ = false;
  bool starved_ = false;
  bool reading_ = true;
  rte_mbuf* held_ = nullptr;  // received while not reading
  uint16_t local_port_ = 0;
};

}  // namespace linetls::engine::testing
