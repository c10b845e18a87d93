#include "lib/engine/tcp_streams.h"

#include <rte_mbuf.h>

#include <algorithm>

namespace linetls::engine {

using net::tcp::CloseReason;
using net::tcp::Connection;

namespace {
constexpr uint64_t kNsPerMs = 1000000;
}  // namespace

std::string_view to_string(StreamEnd e) noexcept {
  switch (e) {
    case StreamEnd::kClosed:
      return "closed";
    case StreamEnd::kReset:
      return "reset";
    case StreamEnd::kTimeout:
      return "timeout";
    case StreamEnd::kRefused:
      return "refused";
    case StreamEnd::kAborted:
      return "aborted";
    case StreamEnd::kTlsError:
      return "tls_error";
    case StreamEnd::kTruncated:
      return "truncated";
  }
  return "?";
}

class TcpStreams::TcpStream final : public Stream {
 public:
  TcpStream(TcpStreams& owner, Connection* c, App* app) : owner_(owner), c_(c), app_(app) {
    connect_timer_.stream = this;
    const net::tcp::ConnectionInfo i = owner.tcp_.info(c);
    local_ip_ = i.tuple.local_ip;
    local_port_ = i.tuple.local_port;
    remote_ip_ = i.tuple.remote_ip;
    remote_port_ = i.tuple.remote_port;
    connect_timer_.target = &owner;
  }

  uint32_t write_space() const noexcept override {
    return c_ == nullptr || shut_ ? 0 : owner_.tcp_.send_space(c_);
  }
  bool write(rte_mbuf* chain) noexcept override {
    if (c_ == nullptr || shut_ || pull_left_ != 0) {
      return false;
    }
    return owner_.tcp_.send(c_, chain).ok();
  }
  void write_pull(uint64_t n) noexcept override {
    if (c_ == nullptr || shut_ || n == 0) {
      return;
    }
    pull_left_ += n;
    owner_.want_pull(this);
  }
  uint64_t pull_pending() const noexcept override { return pull_left_; }
  void release(uint32_t n) noexcept override {
    if (c_ != nullptr) {
      owner_.tcp_.release(c_, n);
    }
  }
  void shutdown() noexcept override {
    if (c_ == nullptr || shut_) {
      return;
    }
    shut_ = true;
    if (pull_left_ == 0) {
      owner_.tcp_.shutdown(c_);
    }  // else: after the last pulled byte (TcpStreams::pull)
  }
  void close() noexcept override {
    if (c_ == nullptr) {
      return;
    }
    closing_ = true;
    shut_ = true;
    if (pull_left_ == 0) {
      owner_.tcp_.close(c_);
    }
  }
  void abort() noexcept override {
    app_gone_ = true;
    if (c_ != nullptr) {
      owner_.tcp_.abort(c_);  // on_closed() runs now and frees this stream
    }
  }
  const TlsFacts* tls() const noexcept override { return nullptr; }

 private:
  friend class TcpStreams;
  TcpStreams& owner_;
  Connection* c_;
  App* app_;
  struct ConnectTimer : AppTimer {
    TcpStream* stream = nullptr;
  };
  ConnectTimer connect_timer_;
  uint64_t pull_left_ = 0;
  TcpStream* prev_ = nullptr;  // TcpStreams::all_
  TcpStream* next_ = nullptr;
  bool open_ = false;       // on_open() was reported
  bool app_gone_ = false;   // abort() by the app: no more callbacks
  bool in_pull_ = false;    // listed in pulling_
  bool shut_ = false;       // shutdown() or close(): no more writes
  bool closing_ = false;    // close(): input is dropped
  bool timed_out_ = false;  // the connect timeout fired
};

class TcpStreams::Listener final : public net::tcp::Handler {
 public:
  Listener(TcpStreams& s, App* app) : s_(s), app_(app) {}
  void on_connected(Connection* c) noexcept override { s_.on_connected(c, app_); }
  void on_data(Connection* c, rte_mbuf* chain, uint32_t len) noexcept override {
    s_.on_data(c, chain, len);
  }
  void on_writable(Connection* c) noexcept override { s_.on_writable(c); }
  void on_peer_closed(Connection* c) noexcept override { s_.on_peer_closed(c); }
  void on_closed(Connection* c, CloseReason why) noexcept override { s_.on_closed(c, why); }

 private:
  TcpStreams& s_;
  App* app_;  // nullptr for connections we opened: the stream knows its app
};

TcpStreams::TcpStreams(net::tcp::Tcp& tcp, rte_mempool* pool,
                       net::tcp::TimerWheel& timers) noexcept
    : tcp_(tcp), pool_(pool), timers_(timers),
      outgoing_(std::make_unique<Listener>(*this, nullptr)) {}

void TcpStreams::detach() noexcept {
  for (TcpStream* s = all_; s != nullptr; s = s->next_) {
    s->c_ = nullptr;
  }
}

void TcpStreams::end_all() noexcept {
  for (TcpStream* s = all_; s != nullptr; s = s->next_) {
    if (s->open_ && !s->app_gone_) {
      s->app_gone_ = true;
      s->app_->on_closed(s, StreamEnd::kAborted);
    }
  }
}

TcpStreams::~TcpStreams() {
  while (all_ != nullptr) {
    TcpStream* s = all_;
    all_ = s->next_;
    timers_.cancel(&s->connect_timer_);
    delete s;
  }
}

net::tcp::Handler* TcpStreams::listener(App* app) {
  listeners_.push_back(std::make_unique<Listener>(*this, app));
  return listeners_.back().get();
}

Result<Stream*, std::string_view> TcpStreams::connect(net::Ipv4Addr dst, uint16_t port, App* app,
                                                      uint32_t timeout_ms,
                                                      uint64_t now_ns) noexcept {
  auto c = tcp_.connect(dst, port, outgoing_.get(), now_ns);
  if (!c) {
    counters_.inc(StreamCounter::kConnectErrors);
    return fail(net::tcp::to_string(c.error()));
  }
  auto* s = new TcpStream(*this, *c, app);
  tcp_.set_user_data(*c, s);
  s->next_ = all_;
  if (all_ != nullptr) {
    all_->prev_ = s;
  }
  all_ = s;
  counters_.inc(StreamCounter::kConnects);
  if (timeout_ms != 0) {
    timers_.schedule(&s->connect_timer_, now_ns + uint64_t{timeout_ms} * kNsPerMs);
  }
  return s;
}

void TcpStreams::on_connected(Connection* c, App* app) noexcept {
  auto* s = static_cast<TcpStream*>(tcp_.user_data(c));
  if (s == nullptr) {  // accepted by a listener
    s = new TcpStream(*this, c, app);
    tcp_.set_user_data(c, s);
    s->next_ = all_;
    if (all_ != nullptr) {
      all_->prev_ = s;
    }
    all_ = s;
    counters_.inc(StreamCounter::kAccepted);
  } else {
    timers_.cancel(&s->connect_timer_);
    counters_.inc(StreamCounter::kConnected);
  }
  s->open_ = true;
  s->app_->on_open(s);
}

void TcpStreams::on_data(Connection* c, rte_mbuf* chain, uint32_t len) noexcept {
  auto* s = static_cast<TcpStream*>(tcp_.user_data(c));
  if (s->closing_ || s->app_gone_) {
    rte_pktmbuf_free(chain);
    tcp_.release(c, len);
    return;
  }
  s->app_->on_data(s, chain, len);
}

void TcpStreams::on_writable(Connection* c) noexcept {
  auto* s = static_cast<TcpStream*>(tcp_.user_data(c));
  if (s->app_gone_) {
    return;
  }
  if (s->pull_left_ != 0) {
    pull(s);
    if (s->pull_left_ != 0) {
      return;  // TCP is full again
    }
  }
  s->app_->on_writable(s);
}

void TcpStreams::on_peer_closed(Connection* c) noexcept {
  auto* s = static_cast<TcpStream*>(tcp_.user_data(c));
  if (!s->app_gone_ && !s->closing_) {
    s->app_->on_peer_closed(s);
  }
}

void TcpStreams::on_closed(Connection* c, CloseReason why) noexcept {
  auto* s = static_cast<TcpStream*>(tcp_.user_data(c));
  s->c_ = nullptr;
  timers_.cancel(&s->connect_timer_);
  if (!s->app_gone_) {
    StreamEnd end = StreamEnd::kClosed;
    switch (why) {
      case CloseReason::kNormal:
        end = StreamEnd::kClosed;
        break;
      case CloseReason::kReset:
        end = StreamEnd::kReset;
        break;
      case CloseReason::kAborted:
        end = s->timed_out_ ? StreamEnd::kTimeout : StreamEnd::kAborted;
        break;
      case CloseReason::kTimeout:
        end = StreamEnd::kTimeout;
        if (!s->open_) {
          counters_.inc(StreamCounter::kConnectTimeouts);
        }
        break;
      case CloseReason::kRefused:
        end = StreamEnd::kRefused;
        counters_.inc(StreamCounter::kConnectRefused);
        break;
    }
    s->app_gone_ = true;
    s->app_->on_closed(s, end);
  }
  forget(s);
}

void TcpStreams::on_timer(AppTimer* t) noexcept {
  // Only connect timeouts live here.
  TcpStream* s = static_cast<TcpStream::ConnectTimer*>(t)->stream;
  if (s->open_ || s->c_ == nullptr) {
    return;
  }
  s->timed_out_ = true;
  counters_.inc(StreamCounter::kConnectTimeouts);
  tcp_.abort(s->c_);  // on_closed(kAborted) -> the app hears kTimeout
}

void TcpStreams::forget(TcpStream* s) noexcept {
  if (s->in_pull_) {
    std::erase(pulling_, s);
  }
  if (s->prev_ != nullptr) {
    s->prev_->next_ = s->next_;
  } else {
    all_ = s->next_;
  }
  if (s->next_ != nullptr) {
    s->next_->prev_ = s->prev_;
  }
  delete s;
}

void TcpStreams::want_pull(TcpStream* s) noexcept {
  if (!s->in_pull_) {
    s->in_pull_ = true;
    pulling_.push_back(s);
  }
}

bool TcpStreams::pull(TcpStream* s) noexcept {
  bool sent = false;
  while (s->pull_left_ != 0 && s->c_ != nullptr && !s->app_gone_) {
    const uint32_t space = tcp_.send_space(s->c_);
    if (space == 0) {
      return sent;  // on_writable() resumes
    }
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m == nullptr) {
      counters_.inc(StreamCounter::kPullStarved);
      want_pull(s);  // the next apps phase retries
      return sent;
    }
    const uint32_t n = static_cast<uint32_t>(
        std::min<uint64_t>({s->pull_left_, space, rte_pktmbuf_tailroom(m)}));
    s->app_->on_pull(s, rte_pktmbuf_mtod(m, uint8_t*), n);
    rte_pktmbuf_append(m, static_cast<uint16_t>(n));
    if (!tcp_.send(s->c_, m)) {
      rte_pktmbuf_free(m);
      return sent;
    }
    s->pull_left_ -= n;
    sent = true;
  }
  if (s->pull_left_ == 0 && s->shut_ && s->c_ != nullptr) {
    if (s->closing_) {
      tcp_.close(s->c_);
    } else {
      tcp_.shutdown(s->c_);
    }
  }
  return sent;
}

bool TcpStreams::poll() noexcept {
  if (pulling_.empty()) {
    return false;
  }
  std::vector<TcpStream*>& list = pull_scratch_;
  list.clear();
  list.swap(pulling_);
  for (TcpStream* s : list) {
    s->in_pull_ = false;
  }
  bool worked = false;
  for (size_t i = 0; i < list.size(); i++) {
    worked |= pull(list[i]);  // a stream may end (and leave pulling_) only through TCP input
  }
  return worked;
}

}  // namespace linetls::engine
