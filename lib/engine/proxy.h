// engine::ProxyApp: the terminator's job. Each client stream (plain TCP, or the plaintext
// of a TLS connection) gets one backend TCP connection, opened through the worker's own
// stack, and bytes flow both ways (the pattern of HAProxy's stream connectors: two stream
// ends joined by bounded buffers; half-close, reset and timeouts propagate as events).
//
// Backends. Chosen round-robin among the healthy ones. A backend that refuses the
// connection or does not answer within connect_timeout_ms is down for backend_down_ms
// (passive health: no probes) and the client is tried on the next; when none is left the
// client is closed cleanly (over TLS: close_notify, then FIN) and proxy.no_backend counts.
//
// Bytes. What one side delivers is written to the other side as the same mbufs (over TLS
// the decrypted records' mbufs, so client -> backend copies nothing; backend -> client is
// copied once, into the records). Back-pressure: bytes are released to their source only
// once the other side has taken them, so a slow reader on one side closes the window of the
// other; what the proxy holds per direction is bounded by the source's receive budget
// (tcp rcv_buf, or kTlsReadBudget of plaintext), and what the destination queues by its
// send buffer (tcp snd_buf, or kTlsWriteBudget): a fixed cap per pair, never unbounded.
//
// Ends. A FIN (close_notify over TLS) on one side is carried to the other once the bytes
// before it have gone (shutdown: FIN, or close_notify then FIN); a reset, a timeout, a
// fatal TLS alert or a truncated TLS stream on one side resets the other (RST). A pair with
// no bytes moving either way for idle_timeout_ms is reset on both sides.
//
// PROXY protocol v2 (--proxy-protocol v2): the backend's first bytes are the header, with
// the client's address and port, and for TLS clients the ALPN, SNI and SSL TLVs.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "lib/base/counters.h"
#include "lib/engine/apps.h"

namespace linetls::engine {

enum class ProxyCounter : uint16_t {
  kClients,           // client streams accepted
  kBackendConnects,   // connections attempted to backends
  kBackendOpen,       // ... established
  kBackendFailures,   // ... refused or timed out (the backend went down)
  kBackendSkipped,    // a down backend passed over by the round-robin
  kNoBackend,         // clients closed because no backend was left
  kBytesUp,           // client -> backend
  kBytesDown,         // backend -> client
  kHalfCloseUp,       // the client's FIN / close_notify carried to the backend
  kHalfCloseDown,     // the backend's FIN carried to the client
  kClientAborts,      // the client ended abnormally: the backend was reset
  kBackendAborts,     // the backend ended abnormally: the client was reset
  kIdleTimeouts,      // pairs reset for idleness
  kProxyHeaders,      // PROXY v2 headers sent
  kProxyHeaderErrors, // a header could not be built (no mbuf, too long): the pair was reset
  kPairsClosed,       // pairs finished (both sides gone)
  kCount
};
inline constexpr std::array<std::string_view, static_cast<size_t>(ProxyCounter::kCount)>
    kProxyCounterNames = {"clients",         "backend_connects", "backend_open",
                          "backend_failures", "backend_skipped",  "no_backend",
                          "bytes_up",        "bytes_down",       "half_close_up",
                          "half_close_down", "client_aborts",    "backend_aborts",
                          "idle_timeouts",   "proxy_headers",    "proxy_header_errors",
                          "pairs_closed"};
using ProxyCounters = CounterSet<ProxyCounter, kProxyCounterNames>;

class ProxyApp final : public ServiceApp {
 public:
  // options (copied) must name at least one backend; ctx outlives the app.
  ProxyApp(const ProxyOptions& options, Context& ctx);
  ~ProxyApp() override;

  void on_open(Stream* s) noexcept override;
  void on_data(Stream* s, rte_mbuf* chain, uint32_t len) noexcept override;
  void on_writable(Stream* s) noexcept override;
  void on_peer_closed(Stream* s) noexcept override;
  void on_closed(Stream* s, StreamEnd why) noexcept override;
  void on_timer(AppTimer* t) noexcept override;

  void for_each_counter(const CounterVisitor& f) const override;
  const ProxyCounters& counters() const noexcept { return counters_; }
  // Pairs alive now.
  size_t num_pairs() const noexcept { return num_pairs_; }

 private:
  struct Pair;
  struct Side {
    Pair* pair = nullptr;
    Stream* s = nullptr;        // nullptr once it ended (or before the backend is opened)
    rte_mbuf* pending = nullptr;  // received from s, not yet taken by the other side
    bool open = false;          // on_open() came (client: always)
    bool eof = false;           // s finished sending (FIN / close_notify)
    bool eof_sent = false;      // ... and that was carried to the other side
    bool is_client = false;
  };
  struct BackendState {
    Backend addr;
    uint64_t down_until_ns = 0;
  };

  static Side* side(Stream* s) { return static_cast<Side*>(s->user_data); }
  static Side& other(Side& x);
  // Opens the next healthy backend for p; closes the client when none is left.
  void connect_backend(Pair* p) noexcept;
  // Moves what from received to the other side as far as it takes it.
  void pump(Side& from) noexcept;
  // Builds p's PROXY v2 header from its client stream (p->header); false if it could not.
  bool build_proxy_header(Pair* p) noexcept;
  // Resets whichever side is still alive and forgets the pair.
  void reset_pair(Pair* p) noexcept;
  // Frees p once both sides are gone.
  void maybe_free(Pair* p) noexcept;

  ProxyOptions options_;
  Context& ctx_;
  std::vector<BackendState> backends_;
  uint32_t cursor_ = 0;
  Pair* pairs_ = nullptr;  // every live pair (freed at destruction)
  size_t num_pairs_ = 0;
  ProxyCounters counters_;
};

}  // namespace linetls::engine
