// engine::TcpStreams: Streams over plain TCP connections on one worker, accepted by the
// worker's plain services or opened by its apps (Context::connect). One TcpStream per
// connection, between the tcp::Handler callbacks of lib/net/tcp and an App (stream.h).
//
// The mapping is thin: write() is tcp.send(), write_space() is tcp.send_space(), release()
// is tcp.release(), shutdown()/close()/abort() are TCP's. Pulled bytes (write_pull) are
// produced in the apps phase (poll()): into mbufs of the worker's pool, one segment's worth
// at a time, while TCP has room; an empty pool is retried the next iteration.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "lib/base/counters.h"
#include "lib/engine/stream.h"
#include "lib/net/tcp/tcp.h"

struct rte_mempool;

namespace linetls::engine {

enum class StreamCounter : uint16_t {
  kAccepted,         // plain TCP streams opened by a listener
  kConnects,         // Context::connect() calls that started a connection
  kConnected,        // ... that became open
  kConnectRefused,   // ... refused by the peer (RST)
  kConnectTimeouts,  // ... that did not open within their timeout
  kConnectErrors,    // connect() failed at once (no source port, too many connections)
  kPullStarved,      // pulled bytes waited for an mbuf
  kCount
};
inline constexpr std::array<std::string_view, static_cast<size_t>(StreamCounter::kCount)>
    kStreamCounterNames = {"accepted",        "connects",       "connected",   "connect_refused",
                           "connect_timeouts", "connect_errors", "pull_starved"};
using StreamCounters = CounterSet<StreamCounter, kStreamCounterNames>;

class TcpStreams final : public TimerTarget {
 public:
  // tcp and pool are borrowed; timers is the worker's wheel (connect timeouts).
  TcpStreams(net::tcp::Tcp& tcp, rte_mempool* pool, net::tcp::TimerWheel& timers) noexcept;
  ~TcpStreams();  // frees the streams still open

  // Worker teardown, after TCP is gone: detach() forgets every connection (nothing touches
  // TCP any more); end_all() then tells each app whose stream is still open
  // on_closed(kAborted), so apps free what they hold per stream.
  void detach() noexcept;
  void end_all() noexcept;
  TcpStreams(const TcpStreams&) = delete;
  TcpStreams& operator=(const TcpStreams&) = delete;

  // The handler to listen with for a plain service served by app (owned by this object).
  net::tcp::Handler* listener(App* app);
  // Context::connect for plain TCP.
  Result<Stream*, std::string_view> connect(net::Ipv4Addr dst, uint16_t port, App* app,
                                            uint32_t timeout_ms, uint64_t now_ns) noexcept;

  // A connect timeout is due.
  void on_timer(AppTimer* t) noexcept override;

  // The apps phase: produces pulled bytes. Returns true if it did any work.
  bool poll() noexcept;

  const StreamCounters& counters() const noexcept { return counters_; }

 private:
  class TcpStream;
  class Listener;
  friend class TcpStream;

  // tcp::Handler callbacks for every connection of ours (Listener forwards here).
  void on_connected(net::tcp::Connection* c, App* app) noexcept;
  void on_data(net::tcp::Connection* c, rte_mbuf* chain, uint32_t len) noexcept;
  void on_writable(net::tcp::Connection* c) noexcept;
  void on_peer_closed(net::tcp::Connection* c) noexcept;
  void on_closed(net::tcp::Connection* c, net::tcp::CloseReason why) noexcept;

  // Produces s's pulled bytes while TCP has room; returns true if it sent any.
  bool pull(TcpStream* s) noexcept;
  void want_pull(TcpStream* s) noexcept;
  void forget(TcpStream* s) noexcept;

  net::tcp::Tcp& tcp_;
  rte_mempool* pool_;
  net::tcp::TimerWheel& timers_;
  std::vector<std::unique_ptr<Listener>> listeners_;
  std::unique_ptr<Listener> outgoing_;  // the handler of connections we opened
  std::vector<TcpStream*> pulling_;     // streams with pulled bytes waiting for the apps phase
  std::vector<TcpStream*> pull_scratch_;
  TcpStream* all_ = nullptr;            // every live stream (freed at destruction)
  StreamCounters counters_;
};

}  // namespace linetls::engine
