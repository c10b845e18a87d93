// Outgoing TLS (Context::connect_tls): two engine::Workers back to back on one wire, one
// serving tls:http (and a plain echo, and nothing on a third port), the other opening TLS
// connections to it with the same record sessions (ClientSession13/12 behind the session
// facade), as linetls-perf does. Virtual time, no root. Checked: both versions complete and
// carry an HTTP exchange byte for byte; TLS 1.3 tickets and the TLS 1.2 session come back to
// the config's callbacks and resume the next connection; a refused port, a server that does
// not speak TLS (plain echo: our ClientHello comes back) and one that never answers (a
// blackholed address) each end the stream once, with the right StreamEnd, before on_open.
#include <gtest/gtest.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drivers/wire/wire.h"
#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/engine/http.h"
#include "lib/engine/worker.h"
#include "lib/tls/v12/server_session.h"
#include "tests/unit/engine/tls_client.h"

namespace linetls::engine::testing {
namespace {

constexpr net::Ipv4Addr kA{0x0a630001};  // 10.99.0.1: the client worker
constexpr net::Ipv4Addr kB{0x0a630002};  // 10.99.0.2: the server worker
constexpr net::Ipv4Addr kNobody{0x0a630009};
constexpr uint16_t kHttps = 8443;
constexpr uint16_t kEcho = 7;
constexpr uint16_t kClosedPort = 9999;
constexpr net::MacAddr kMacA{{0x02, 0, 0, 0, 0x63, 0x01}};
constexpr net::MacAddr kMacB{{0x02, 0, 0, 0, 0x63, 0x02}};

// One GET per stream: /bytes/N, the body checked against http_body_byte, then close().
class GetApp final : public App {
 public:
  struct Result {
    bool opened = false;
    bool resumed = false;
    uint16_t version = 0;
    uint64_t body = 0;
    bool body_ok = true;
    std::optional<StreamEnd> end;
    int closed_calls = 0;
  };
  GetApp(Context& ctx, uint64_t n) : ctx_(ctx), n_(n) {}
  // Half-close at once instead of a GET (linetls-perf's resume mode): what the server sends
  // after its handshake (tickets) still comes in.
  bool shutdown_at_open = false;

  void on_open(Stream* s) noexcept override {
    Result& r = result(s);
    r.opened = true;
    r.version = s->tls() != nullptr ? s->tls()->version : 0;
    r.resumed = s->tls() != nullptr && s->tls()->resumed;
    if (shutdown_at_open) {
      s->shutdown();
      return;
    }
    const std::string req = "GET /bytes/" + std::to_string(n_) + " HTTP/1.1\r\nHost: t\r\n\r\n";
    rte_mbuf* m = rte_pktmbuf_alloc(ctx_.pool());
    ASSERT_NE(m, nullptr);
    char* p = rte_pktmbuf_append(m, static_cast<uint16_t>(req.size()));
    std::memcpy(p, req.data(), req.size());
    EXPECT_TRUE(s->write(m));
  }
  void on_data(Stream* s, rte_mbuf* chain, uint32_t len) noexcept override {
    State& st = state(s);
    for (rte_mbuf* m = chain; m != nullptr; m = m->next) {
      const auto* p = rte_pktmbuf_mtod(m, const char*);
      for (uint16_t i = 0; i < m->data_len; i++) {
        if (!st.in_body) {
          st.head.push_back(p[i]);
          if (st.head.size() >= 4 && st.head.compare(st.head.size() - 4, 4, "\r\n\r\n") == 0) {
            st.in_body = true;
          }
        } else {
          st.r.body_ok &= static_cast<uint8_t>(p[i]) == http_body_byte(st.r.body);
          st.r.body++;
        }
      }
    }
    rte_pktmbuf_free(chain);
    s->release(len);
    if (st.in_body && st.r.body == n_) {
      s->close();
    }
  }
  void on_closed(Stream* s, StreamEnd why) noexcept override {
    State& st = state(s);
    st.r.end = why;
    st.r.closed_calls++;
    done_.push_back(st.r);
    delete &st;
  }

  // Starts one stream; its State is the stream's user_data until on_closed.
  bool start(Stream* s) {
    if (s == nullptr) {
      return false;
    }
    s->user_data = new State;
    return true;
  }
  const std::vector<Result>& done() const { return done_; }

 private:
  struct State {
    Result r;
    std::string head;
    bool in_body = false;
  };
  static State& state(Stream* s) { return *static_cast<State*>(s->user_data); }
  static Result& result(Stream* s) { return state(s).r; }

  Context& ctx_;
  uint64_t n_;
  std::vector<Result> done_;
};

class TlsConnect : public ::testing::Test {
 protected:
  void SetUp() override {
    static int serial = 0;
    const std::string tag = std::to_string(serial++);
    pool_ = rte_pktmbuf_pool_create(("tc_port" + tag).c_str(), 8191, 0, 0,
                                    RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
    ASSERT_NE(pool_, nullptr);
    constexpr uint16_t kRecordRoom = RTE_PKTMBUF_HEADROOM + 16384 + 64;
    for (int i = 0; i < 2; i++) {
      rec_[i] = rte_pktmbuf_pool_create(("tc_rec" + tag + "_" + std::to_string(i)).c_str(), 511,
                                        0, 0, kRecordRoom, SOCKET_ID_ANY);
      ASSERT_NE(rec_[i], nullptr);
    }
    wire_ = std::make_unique<wire::WirePair>(pool_, kMacA, kMacB);
    wire_->set_clock([this] { return now_; });

    WorkerConfig server;
    server.stack.ip = net::Ipv4Cidr{kB, 24};
    server.services = {{kHttps, AppKind::kHttp, true}, {kEcho, AppKind::kEcho, false}};
    server.tls = default_tls_settings();
    server.tls.record_pool = rec_[1];
    auto s = Worker::create(server, wire_->b());
    ASSERT_TRUE(s.ok()) << s.error();
    server_ = std::move(s).value();

    WorkerConfig client;
    client.stack.ip = net::Ipv4Cidr{kA, 24};
    client.tls_client = true;
    client.tls.make_batch = make_test_batch;
    client.tls.record_pool = rec_[0];
    client.tls.handshake_timeout_ms = 2000;
    auto c = Worker::create(client, wire_->a());
    ASSERT_TRUE(c.ok()) << c.error();
    client_ = std::move(c).value();
    now_ = monotonic_ns();

    cfg13_.server_name = "localhost";
    cfg12_.session_ticket = true;
    session_cfg_.tls13 = &cfg13_;
    session_cfg_.tls12 = &cfg12_;
    session_cfg_.on_ticket13 = [this](tls::Session&& t) { tickets13_.push_back(std::move(t)); };
    session_cfg_.on_session12 = [this](tls::v12::SavedSession12&& s) {
      saved12_.push_back(std::move(s));
    };
  }
  void TearDown() override {
    client_.reset();
    server_.reset();
    wire_.reset();
    EXPECT_EQ(rte_mempool_avail_count(pool_), 8191u) << "port pool: mbufs leaked";
    rte_mempool_free(pool_);
    for (rte_mempool* p : rec_) {
      EXPECT_EQ(rte_mempool_avail_count(p), 511u) << "record pool: mbufs leaked";
      rte_mempool_free(p);
    }
  }

  bool run_until(const std::function<bool()>& pred, uint64_t max_ns) {
    const uint64_t end = now_ + max_ns;
    while (!pred()) {
      if (now_ >= end) {
        return false;
      }
      now_ += 50 * kUs;
      client_->poll_once(now_);
      server_->poll_once(now_);
    }
    return true;
  }

  Stream* connect(GetApp& app, net::Ipv4Addr ip, uint16_t port, uint32_t timeout_ms = 0) {
    auto s = client_->connect_tls(ip, port, &app, timeout_ms, session_cfg_);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : std::string(s.error()));
    if (!s.ok()) {
      return nullptr;
    }
    app.start(*s);
    return *s;
  }

  const TlsCounters client_counters() const { return client_->tls()->counters(); }

  rte_mempool* pool_ = nullptr;
  rte_mempool* rec_[2] = {};
  std::unique_ptr<wire::WirePair> wire_;
  std::unique_ptr<Worker> server_, client_;
  uint64_t now_ = 0;
  tls::ClientConfig13 cfg13_;
  tls::v12::ClientConfig12 cfg12_;
  tls::ClientSessionConfig session_cfg_;
  std::vector<tls::Session> tickets13_;
  std::vector<tls::v12::SavedSession12> saved12_;
};

TEST_F(TlsConnect, BothVersionsCarryAnExchangeAndResume) {
  for (uint16_t version : {tls::kTls13, tls::kTls12}) {
    SCOPED_TRACE(version == tls::kTls13 ? "tls13" : "tls12");
    session_cfg_.version = version;
    GetApp app(*client_, 100000);
    ASSERT_TRUE(connect(app, kB, kHttps));
    ASSERT_TRUE(run_until([&] { return app.done().size() == 1; }, 5 * kSec));
    const GetApp::Result& r = app.done()[0];
    EXPECT_TRUE(r.opened);
    EXPECT_FALSE(r.resumed);
    EXPECT_EQ(r.version, version);
    EXPECT_EQ(r.body, 100000u);
    EXPECT_TRUE(r.body_ok);
    EXPECT_EQ(r.end, StreamEnd::kClosed);
    EXPECT_EQ(r.closed_calls, 1);

    // What came back resumes the next connection.
    if (version == tls::kTls13) {
      ASSERT_FALSE(tickets13_.empty());
      cfg13_.session = &tickets13_.back();
    } else {
      ASSERT_EQ(saved12_.size(), 1u);
      EXPECT_FALSE(saved12_[0].ticket.empty());
      cfg12_.resume = &saved12_[0];
    }
    ASSERT_TRUE(connect(app, kB, kHttps));
    ASSERT_TRUE(run_until([&] { return app.done().size() == 2; }, 5 * kSec));
    EXPECT_TRUE(app.done()[1].resumed);
    EXPECT_EQ(app.done()[1].body, 100000u);
    EXPECT_TRUE(app.done()[1].body_ok);
    EXPECT_EQ(app.done()[1].end, StreamEnd::kClosed);
  }
  const TlsCounters c = client_counters();
  EXPECT_EQ(c.get(TlsCounter::kClientConnections), 4u);
  EXPECT_EQ(c.get(TlsCounter::kClientHandshakes), 4u);
  EXPECT_EQ(c.get(TlsCounter::kClientHandshakesResumed), 2u);
  const TlsCounters sc = server_->tls()->counters();
  EXPECT_EQ(sc.get(TlsCounter::kHandshakes), 4u);
  EXPECT_EQ(sc.get(TlsCounter::kHandshakesResumed), 2u);
  EXPECT_EQ(sc.get(TlsCounter::kClientHandshakes), 0u);
}

TEST_F(TlsConnect, TicketsArriveAfterAnImmediateShutdown) {
  session_cfg_.version = tls::kTls13;
  GetApp app(*client_, 0);
  app.shutdown_at_open = true;
  ASSERT_TRUE(connect(app, kB, kHttps));
  ASSERT_TRUE(run_until([&] { return app.done().size() == 1; }, 5 * kSec));
  EXPECT_EQ(app.done()[0].end, StreamEnd::kClosed);
  ASSERT_FALSE(tickets13_.empty());
  cfg13_.session = &tickets13_.front();
  ASSERT_TRUE(connect(app, kB, kHttps));
  ASSERT_TRUE(run_until([&] { return app.done().size() == 2; }, 5 * kSec));
  EXPECT_TRUE(app.done()[1].resumed);
}

TEST_F(TlsConnect, ManyAtOnceShareBatches) {
  session_cfg_.version = tls::kTls13;
  GetApp app(*client_, 20000);
  constexpr int kConns = 64;
  for (int i = 0; i < kConns; i++) {
    ASSERT_TRUE(connect(app, kB, kHttps));
  }
  ASSERT_TRUE(run_until([&] { return app.done().size() == kConns; }, 10 * kSec));
  for (const auto& r : app.done()) {
    EXPECT_EQ(r.end, StreamEnd::kClosed);
    EXPECT_EQ(r.body, 20000u);
    EXPECT_TRUE(r.body_ok);
  }
  const TlsCounters c = client_counters();
  EXPECT_EQ(c.get(TlsCounter::kClientHandshakes), uint64_t{kConns});
  // The client's seals went out in batches of more than one connection's records.
  EXPECT_LT(c.get(TlsCounter::kSealBatches), c.get(TlsCounter::kSealOps));
}

TEST_F(TlsConnect, RefusedPortEndsTheStreamOnce) {
  GetApp app(*client_, 10);
  ASSERT_TRUE(connect(app, kB, kClosedPort));
  ASSERT_TRUE(run_until([&] { return !app.done().empty(); }, 5 * kSec));
  EXPECT_FALSE(app.done()[0].opened);
  EXPECT_EQ(app.done()[0].end, StreamEnd::kRefused);
  EXPECT_EQ(app.done()[0].closed_calls, 1);
}

TEST_F(TlsConnect, ServerThatIsNotTlsIsATlsError) {
  // The plain echo service sends our ClientHello back: a ClientHello is not a ServerHello.
  for (uint16_t version : {tls::kTls13, tls::kTls12}) {
    session_cfg_.version = version;
    GetApp app(*client_, 10);
    ASSERT_TRUE(connect(app, kB, kEcho));
    ASSERT_TRUE(run_until([&] { return !app.done().empty(); }, 5 * kSec));
    EXPECT_FALSE(app.done()[0].opened);
    EXPECT_EQ(app.done()[0].end, StreamEnd::kTlsError);
  }
  EXPECT_EQ(client_counters().get(TlsCounter::kClientHandshakes), 0u);
}

TEST_F(TlsConnect, NoAnswerTimesOut) {
  GetApp app(*client_, 10);
  ASSERT_TRUE(connect(app, kNobody, kHttps, 300));
  ASSERT_TRUE(run_until([&] { return !app.done().empty(); }, 5 * kSec));
  EXPECT_FALSE(app.done()[0].opened);
  EXPECT_EQ(app.done()[0].end, StreamEnd::kTimeout);
  EXPECT_EQ(client_counters().get(TlsCounter::kHandshakeTimeouts), 1u);
}

TEST_F(TlsConnect, WithoutATlsEngineConnectFails) {
  WorkerConfig plain;
  plain.stack.ip = net::Ipv4Cidr{net::Ipv4Addr{0x0a630005}, 24};
  wire::WirePair w(pool_, kMacA, kMacB);
  auto worker = Worker::create(plain, w.a());
  ASSERT_TRUE(worker.ok());
  GetApp app(**worker, 10);
  EXPECT_FALSE((*worker)->connect_tls(kB, kHttps, &app, 0, session_cfg_).ok());
}

}  // namespace
}  // namespace linetls::engine::testing
