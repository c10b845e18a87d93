#include "apps/linetls-perf/load.h"

#include "apps/linetls-perf/http_response.h"

#include <rte_mbuf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "lib/base/clock.h"
#include "lib/engine/http.h"

namespace linetls::perf {

namespace {

constexpr uint64_t kNsPerSec = 1'000'000'000;
constexpr uint32_t kConnectTimeoutMs = 10'000;  // TCP connect (+ handshake over TLS)
constexpr size_t kMaxHead = 16 * 1024;

bool is_tls(Mode m) noexcept { return m != Mode::kPlain; }

}  // namespace

struct Load::Conn {
  uint64_t start_ns = 0;       // intended (open loop) or actual start
  uint64_t request_ns = 0;     // the last request was written
  uint64_t body_left = 0;      // of the answer being read
  uint64_t requests = 0;       // answers read whole on this connection
  size_t live_index = 0;       // in Load::live_
  std::string head;            // the answer's head being read
  bool in_body = false;
  bool waiting_first_byte = false;
  bool done = false;           // its work is done: a clean end is success
  bool server_closes = false;  // the answer said "Connection: close"
  bool open = false;
};

Load::Load(const PerfOptions& o, engine::Context& ctx, const crypto::CaStore* verify_ca,
           const crypto::CertifiedKey* client_cert)
    : o_(o),
      ctx_(ctx),
      schedule_(o.rate ? Schedule::open(*o.rate, o.connections) : Schedule::closed(o.connections)) {
  results_.options = o;
  if (o.suite_code != 0) {
    cfg13_.cipher_suites = {static_cast<tls::CipherSuite>(o.suite_code)};
    cfg12_.cipher_suites = {o.suite_code};
  }
  cfg13_.groups = {o.group};
  cfg13_.key_share_groups = {o.group};
  // TLS 1.2: supported_groups also names the curves our peer's ECDSA certificate may use
  // (RFC 8422 §5.1), so the other groups follow the chosen one.
  cfg12_.groups = {static_cast<uint16_t>(o.group)};
  for (uint16_t g : {uint16_t{0x001d}, uint16_t{0x0017}, uint16_t{0x0018}}) {
    if (g != static_cast<uint16_t>(o.group)) {
      cfg12_.groups.push_back(g);
    }
  }
  if (o.sni) {
    cfg13_.server_name = *o.sni;
    cfg12_.server_name = *o.sni;
  }
  cfg12_.session_ticket = o.mode == Mode::kResume;
  if (verify_ca != nullptr) {
    const std::string name = o.sni ? *o.sni : o.target.ip.str();
    cfg13_.verify_ca = verify_ca;
    cfg13_.verify_name = name;
    cfg12_.verify_ca = verify_ca;
    cfg12_.verify_name = name;
  }
  if (client_cert != nullptr) {
    cfg13_.certificate = client_cert;
    cert12_.emplace(tls::v12::Certificate12::from(*client_cert));
    cfg12_.certificate = &*cert12_;
  }
  session_cfg_.version = o.tls_version;
  session_cfg_.tls13 = &cfg13_;
  session_cfg_.tls12 = &cfg12_;
  if (o.mode == Mode::kResume) {
    session_cfg_.on_ticket13 = [this](tls::Session&& t) {
      if (tickets13_.empty()) {
        tickets13_.push_back(std::move(t));
        cfg13_.session = &tickets13_.front();
      }
    };
    session_cfg_.on_session12 = [this](tls::v12::SavedSession12&& s) {
      if (sessions12_.empty() && (!s.ticket.empty() || !s.session_id.empty())) {
        sessions12_.push_back(std::move(s));
        cfg12_.resume = &sessions12_.front();
      }
    };
  }
  request_ = "GET /bytes/" + std::to_string(o.size) + " HTTP/1.1\r\nHost: " +
             (o.sni ? *o.sni : o.target.ip.str()) + "\r\n\r\n";
}

Load::~Load() {
  for (Conn* c : live_) {
    delete c;  // streams the worker freed without a callback
  }
}

void Load::start(uint64_t now_ns) {
  start_ns_ = now_ns;
  measure_ns_ = now_ns + static_cast<uint64_t>(o_.warmup_s * 1e9);
  end_ns_ = measure_ns_ + static_cast<uint64_t>(o_.duration_s * 1e9);
  measuring_ = measure_ns_ == now_ns;
  next_second_ns_ = measure_ns_ + kNsPerSec;
  schedule_.start(now_ns);
  started_ = true;
}

void Load::error(const char* kind) noexcept {
  if (measuring_) {
    results_.errors[kind]++;
    second_.errors++;
  }
}

void Load::roll_second(uint64_t now_ns) noexcept {
  while (now_ns >= next_second_ns_ && next_second_ns_ <= end_ns_) {
    second_.t_s = static_cast<double>(next_second_ns_ - measure_ns_) / 1e9;
    second_.in_flight = in_flight_;
    results_.seconds.push_back(second_);
    if (!o_.quiet) {
      std::fprintf(stderr, "%s\n", progress_line(second_, 1.0).c_str());
    }
    second_ = Second{};
    next_second_ns_ += kNsPerSec;
  }
}

void Load::tick(uint64_t now_ns) {
  if (!started_ || stopping_) {
    return;
  }
  if (!measuring_ && now_ns >= measure_ns_) {
    // The warm-up is over: what it counted is not reported.
    const PerfOptions o = results_.options;
    results_ = Results{};
    results_.options = o;
    second_ = Second{};
    measuring_ = true;
    next_second_ns_ = now_ns + kNsPerSec;
    measure_ns_ = now_ns;
    end_ns_ = now_ns + static_cast<uint64_t>(o_.duration_s * 1e9);
  }
  if (measuring_) {
    roll_second(now_ns);
  }
  if (now_ns >= end_ns_) {
    return;
  }
  const uint64_t skipped_before = schedule_.skipped();
  const uint32_t n = schedule_.due(now_ns, in_flight_);
  for (uint64_t i = skipped_before; i < schedule_.skipped(); i++) {
    error("skipped");
  }
  const uint64_t first = schedule_.first_due();
  for (uint32_t i = 0; i < n; i++) {
    open_one(schedule_.is_open() ? schedule_.intended_ns(first + i) : now_ns);
  }
}

void Load::open_one(uint64_t start_ns) noexcept {
  auto r = is_tls(o_.mode)
               ? ctx_.connect_tls(o_.target.ip, o_.target.port, this, kConnectTimeoutMs,
                                  session_cfg_)
               : ctx_.connect(o_.target.ip, o_.target.port, this, kConnectTimeoutMs);
  if (!r) {
    error("connect");
    return;
  }
  auto* c = new Conn;
  c->start_ns = start_ns;
  c->live_index = live_.size();
  live_.push_back(c);
  (*r)->user_data = c;
  in_flight_++;
}

void Load::send_request(engine::Stream* s, Conn& c) noexcept {
  rte_mbuf* m = rte_pktmbuf_alloc(ctx_.pool());
  if (m == nullptr || request_.size() > rte_pktmbuf_tailroom(m)) {
    rte_pktmbuf_free(m);
    error("aborted");
    c.done = true;
    s->abort();
    finish(s, c);
    return;
  }
  std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(request_.size())), request_.data(),
              request_.size());
  c.head.clear();
  c.in_body = false;
  c.waiting_first_byte = true;
  c.request_ns = monotonic_ns();
  if (!s->write(m)) {
    rte_pktmbuf_free(m);
    error("aborted");
    c.done = true;
    s->abort();
    finish(s, c);
    return;
  }
  if (measuring_) {
    results_.bytes_tx += request_.size();
    second_.bytes_tx += request_.size();
  }
}

void Load::on_open(engine::Stream* s) noexcept {
  Conn& c = *static_cast<Conn*>(s->user_data);
  c.open = true;
  const uint64_t now = monotonic_ns();
  const uint64_t lat = now > c.start_ns ? now - c.start_ns : 0;
  if (measuring_) {
    results_.connects++;
    second_.connects++;
    if (is_tls(o_.mode)) {
      results_.handshake.record(lat);
      results_.handshakes++;
      second_.handshakes++;
      if (s->tls() != nullptr && s->tls()->resumed) {
        results_.resumed++;
      }
    } else {
      results_.connect.record(lat);
    }
  }
  switch (o_.mode) {
    case Mode::kHandshake:
      c.done = true;
      s->close();
      break;
    case Mode::kResume:
      // Half-close: the server's tickets (sent after its Finished) still come in.
      c.done = true;
      s->shutdown();
      break;
    case Mode::kUpload:
      s->write_pull(o_.size);
      s->shutdown();
      break;
    case Mode::kRequest:
    case Mode::kDownload:
    case Mode::kPlain:
      send_request(s, c);
      break;
  }
}

void Load::on_data(engine::Stream* s, rte_mbuf* chain, uint32_t len) noexcept {
  Conn& c = *static_cast<Conn*>(s->user_data);
  if (measuring_) {
    results_.bytes_rx += len;
    second_.bytes_rx += len;
  }
  if (o_.mode == Mode::kHandshake || o_.mode == Mode::kResume || o_.mode == Mode::kUpload) {
    // Nothing is asked of the server: whatever it sends (an error page on close) is only
    // counted.
    rte_pktmbuf_free(chain);
    s->release(len);
    return;
  }
  if (c.waiting_first_byte) {
    c.waiting_first_byte = false;
    if (measuring_) {
      const uint64_t now = monotonic_ns();
      results_.first_byte.record(now > c.request_ns ? now - c.request_ns : 0);
    }
  }
  bool bad = false;
  bool answered = false;
  for (rte_mbuf* m = chain; m != nullptr && !bad; m = m->next) {
    const char* p = rte_pktmbuf_mtod(m, const char*);
    uint32_t n = m->data_len;
    while (n > 0 && !bad) {
      if (!c.in_body) {
        const char* end = nullptr;
        // Append up to the end of the head (or all of this piece).
        const size_t old = c.head.size();
        c.head.append(p, n);
        const size_t at = c.head.find("\r\n\r\n", old >= 3 ? old - 3 : 0);
        if (at == std::string::npos) {
          if (c.head.size() > kMaxHead) {
            bad = true;
          }
          n = 0;
          break;
        }
        const size_t used = at + 4 - old;
        end = p + used;
        c.head.resize(at + 4);
        const auto h = parse_response_head(c.head);
        if (!h || h->status != 200) {
          bad = true;
          break;
        }
        c.body_left = h->content_length;
        c.server_closes = h->close;
        c.in_body = true;
        n -= static_cast<uint32_t>(used);
        p = end;
      }
      const uint64_t take = std::min<uint64_t>(n, c.body_left);
      c.body_left -= take;
      p += take;
      n -= static_cast<uint32_t>(take);
      if (c.in_body && c.body_left == 0) {
        answered = true;
        c.requests++;
        c.in_body = false;
        c.head.clear();
        if (n != 0) {
          bad = true;  // bytes after the answer we did not ask for
        }
      }
    }
  }
  rte_pktmbuf_free(chain);
  s->release(len);
  if (bad) {
    error("http");
    c.done = true;  // counted: its end is not another error
    s->abort();
    finish(s, c);
    return;
  }
  if (!answered) {
    return;
  }
  if (measuring_) {
    results_.requests++;
    second_.requests++;
  }
  const bool last = o_.mode == Mode::kDownload || c.server_closes ||
                    (o_.requests != 0 && c.requests >= o_.requests) || stopping_;
  if (last) {
    c.done = true;
    s->close();
  } else {
    send_request(s, c);
  }
}

void Load::on_writable(engine::Stream* s) noexcept { (void)s; }

void Load::on_pull(engine::Stream* s, uint8_t* dst, uint32_t len) noexcept {
  (void)s;
  std::memset(dst, 'u', len);
  if (measuring_) {
    results_.bytes_tx += len;
    second_.bytes_tx += len;
  }
}

void Load::on_peer_closed(engine::Stream* s) noexcept {
  Conn& c = *static_cast<Conn*>(s->user_data);
  if (o_.mode == Mode::kUpload && s->pull_pending() == 0) {
    c.done = true;
  }
  s->close();
}

void Load::on_closed(engine::Stream* s, engine::StreamEnd why) noexcept {
  Conn& c = *static_cast<Conn*>(s->user_data);
  if (stopping_) {
    finish(s, c);  // the run is over: what was in flight is not counted either way
    return;
  }
  if (o_.mode == Mode::kUpload && why == engine::StreamEnd::kClosed && s->pull_pending() == 0) {
    c.done = true;
  }
  const bool clean = why == engine::StreamEnd::kClosed ||
                     (c.done && (why == engine::StreamEnd::kReset ||
                                 why == engine::StreamEnd::kTruncated));
  if (!clean || !c.done) {
    switch (why) {
      case engine::StreamEnd::kClosed:
        error("closed_early");
        break;
      case engine::StreamEnd::kRefused:
        error("refused");
        break;
      case engine::StreamEnd::kTimeout:
        error("timeout");
        break;
      case engine::StreamEnd::kTlsError:
        error("tls");
        break;
      case engine::StreamEnd::kReset:
        error("reset");
        break;
      case engine::StreamEnd::kTruncated:
        error("truncated");
        break;
      case engine::StreamEnd::kAborted:
        error("aborted");
        break;
    }
  }
  finish(s, c);
}

void Load::finish(engine::Stream* s, Conn& c) noexcept {
  s->user_data = nullptr;
  Conn* last = live_.back();
  live_[c.live_index] = last;
  last->live_index = c.live_index;
  live_.pop_back();
  delete &c;
  in_flight_--;
}

void Load::stop() noexcept {
  if (stopping_) {
    return;
  }
  stopping_ = true;
  if (started_) {
    const uint64_t now = std::min(monotonic_ns(), end_ns_);
    results_.elapsed_s = now > measure_ns_ ? static_cast<double>(now - measure_ns_) / 1e9 : 0;
  }
  // Streams still in flight end when the worker goes (on_closed(kAborted), not counted).
}

}  // namespace linetls::perf
