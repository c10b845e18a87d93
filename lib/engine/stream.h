// engine::Stream and engine::App: the one interface every application sees, over plain TCP
// or over TLS, accepted or opened (ARCHITECTURE.md "lib/engine"; the pattern of FD.io VPP's
// session layer, where TLS is a transport under the app, and Seastar's connected_socket).
//
// An App is written once. It sees a byte stream with back-pressure and never the transport:
// the TCP connection (TcpStreams, tcp_streams.h) or the TLS session on top of one
// (TlsEngine, tls_service.h) behind the Stream is the engine's business. TLS facts (version,
// suite, SNI, ALPN, the verified client certificate) come through Stream::tls().
//
// Ownership of buffers (stated once, here):
//   - on_data(s, chain, len) hands the app a chain of mbufs it now owns: it frees them, or
//     passes them on (write() to another stream takes them). Over TLS these are references
//     (indirect mbufs) to the decrypted records inside the received segments: no copy; a
//     record that had to be assembled from several segments arrives as a copy (counted,
//     tls.assembled_*). The bytes count against the stream's receive budget until the app
//     calls release(n): over TCP that is the advertised window, over TLS the engine stops
//     opening records while too much plaintext is unreleased (and the TCP window closes
//     behind it). An app that cannot keep up simply releases later.
//   - write(chain) takes the chain only if chain->pkt_len <= write_space(); the stream then
//     owns it (TCP: its send queue; TLS: its plaintext queue, copied into records at the
//     seal phase and freed). When it refuses, the chain stays the caller's; on_writable()
//     says when there is room again.
//   - write_pull(n) promises n more bytes that the app generates on demand: the transport
//     calls on_pull(s, dst, len) with len <= what is left, straight into its own buffer (a
//     TCP segment's mbuf, or the TLS record being built), and the app writes exactly len
//     bytes. Pulled bytes go out after everything write() queued before; write() is
//     refused while pulled bytes are pending.
//
// Callbacks and calls. Every callback runs on the worker's thread. No call an app makes
// (write, release, shutdown, close, abort) calls back into the app before it returns; the
// engine delivers what follows later in the poll loop. After abort() the stream is gone
// for the app at once: no on_closed follows. Otherwise exactly one on_closed(s, why) ends
// every stream the app saw in on_open() (or got from Context::connect()); s is invalid
// once it returns.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "lib/base/result.h"
#include "lib/net/addr.h"
#include "lib/net/tcp/timer_wheel.h"

struct rte_mbuf;
struct rte_mempool;

namespace linetls::crypto {
struct VerifiedIdentity;
}
namespace linetls::tls {
struct ClientSessionConfig;
}

namespace linetls::engine {

// Why a stream ended, given to App::on_closed.
enum class StreamEnd : uint8_t {
  kClosed,     // both directions finished cleanly (FIN both ways; over TLS close_notify too)
  kReset,      // the peer reset the TCP connection
  kTimeout,    // connect, retransmission, TCP idle or persist timeout
  kRefused,    // connect(): the peer refused (RST to our SYN)
  kAborted,    // the engine gave up on it (no memory, an internal error)
  kTlsError,   // TLS: a fatal alert was sent or received
  kTruncated,  // TLS: TCP FIN without close_notify (the data may be cut short)
};
std::string_view to_string(StreamEnd e) noexcept;

// What an app may need of a TLS stream; Stream::tls() returns nullptr over plain TCP.
// Views stay valid as long as the stream.
struct TlsFacts {
  uint16_t version = 0;               // 0x0304, 0x0303
  uint16_t suite = 0;                 // IANA code point
  std::string_view suite_name;        // IANA name, "TLS_AES_128_GCM_SHA256"
  std::span<const uint8_t> sni;       // the client's server_name; empty: none sent
  std::span<const uint8_t> alpn;      // the negotiated protocol; empty: none
  const crypto::VerifiedIdentity* client = nullptr;  // the verified client certificate
  bool resumed = false;
  size_t certificate_index = 0;       // which of the configured certificates was used
  // What the PROXY v2 SSL TLVs say of that certificate (TlsProfile::certificate_algs);
  // empty when the profile does not say. Valid while the stream is open.
  std::string_view certificate_sig_alg;
  std::string_view certificate_key_alg;
};

class App;

class Stream {
 public:
  // ---- Output.
  // Bytes write() takes now.
  virtual uint32_t write_space() const noexcept = 0;
  // Queues chain (chain->pkt_len bytes) behind everything written before; false (and the
  // chain stays the caller's) when it does not fit, when pulled bytes are pending, or when
  // the stream can no longer send (after shutdown()/close(), or the peer is gone).
  virtual bool write(rte_mbuf* chain) noexcept = 0;
  // Promises n more bytes, produced by App::on_pull() when the transport has room.
  virtual void write_pull(uint64_t n) noexcept = 0;
  // Pulled bytes promised and not produced yet.
  virtual uint64_t pull_pending() const noexcept = 0;

  // ---- Input.
  // The app is done with n bytes it was given by on_data().
  virtual void release(uint32_t n) noexcept = 0;

  // ---- Lifecycle.
  // Half-close: no more writes; once what is queued and promised has gone out, TCP sends
  // FIN (over TLS: close_notify, then FIN). Input goes on.
  virtual void shutdown() noexcept = 0;
  // shutdown(), and no more input: what arrives from now on is dropped.
  virtual void close() noexcept = 0;
  // Resets the connection now (TCP RST; over TLS without an alert). The stream is gone for
  // the app when this returns; no on_closed() follows.
  virtual void abort() noexcept = 0;

  // ---- Facts.
  virtual const TlsFacts* tls() const noexcept = 0;
  net::Ipv4Addr local_ip() const noexcept { return local_ip_; }
  uint16_t local_port() const noexcept { return local_port_; }
  net::Ipv4Addr remote_ip() const noexcept { return remote_ip_; }
  uint16_t remote_port() const noexcept { return remote_port_; }

  void* user_data = nullptr;  // the app's, per stream

 protected:
  Stream() = default;
  ~Stream() = default;
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  net::Ipv4Addr local_ip_;
  uint16_t local_port_ = 0;
  net::Ipv4Addr remote_ip_;
  uint16_t remote_port_ = 0;
};

struct AppTimer;

// Whoever owns timers on the worker's wheel: apps, and the engine's own parts.
class TimerTarget {
 public:
  // t is due (already disarmed: it may be re-armed here).
  virtual void on_timer(AppTimer* t) noexcept = 0;

 protected:
  ~TimerTarget() = default;
};

// A timer on the worker's wheel (Context::timers()); when due, the worker calls
// target->on_timer(this). It must be cancelled before its memory goes away.
struct AppTimer : net::tcp::TimerNode {
  TimerTarget* target = nullptr;
};

// What the worker offers its apps besides streams.
class Context {
 public:
  // Opens a TCP connection to dst:port through the worker's own stack (a source port whose
  // RSS hash returns the flow to this worker). The stream reports to app: on_open() once
  // established, or on_closed(kRefused / kTimeout) if it never is (timeout_ms: give up
  // after this long; 0: TCP's SYN retries decide). Bytes may be written before it opens.
  virtual Result<Stream*, std::string_view> connect(net::Ipv4Addr dst, uint16_t port, App* app,
                                                    uint32_t timeout_ms) noexcept = 0;
  // Opens a TLS connection (we are the client) to dst:port: TCP as connect(), then the
  // handshake config describes (borrowed: it outlives the stream). on_open() comes once the
  // handshake is done; otherwise on_closed(): kRefused, kTimeout (connect and handshake
  // within timeout_ms; 0: the engine's handshake timeout), kTlsError, kReset. Fails at once
  // when the worker has no TLS engine (WorkerConfig::tls_client) or no source port.
  virtual Result<Stream*, std::string_view> connect_tls(net::Ipv4Addr dst, uint16_t port,
                                                        App* app, uint32_t timeout_ms,
                                                        const tls::ClientSessionConfig& config) noexcept {
    (void)dst;
    (void)port;
    (void)app;
    (void)timeout_ms;
    (void)config;
    return fail(std::string_view("no TLS client on this worker"));
  }
  // The worker's timer wheel (1 ms ticks) and clock.
  virtual net::tcp::TimerWheel& timers() noexcept = 0;
  virtual uint64_t now_ns() const noexcept = 0;
  // The worker's packet pool (apps build and copy data in its mbufs).
  virtual rte_mempool* pool() const noexcept = 0;

 protected:
  ~Context() = default;
};

// An application: one object per service per worker, serving every stream of its listener
// (and the streams it opened itself).
class App : public TimerTarget {
 public:
  virtual ~App() = default;
  // The stream is open: accepted (over TLS: the handshake is done) or connected.
  virtual void on_open(Stream* s) noexcept = 0;
  // In-order bytes; see "Ownership of buffers" above.
  virtual void on_data(Stream* s, rte_mbuf* chain, uint32_t len) noexcept = 0;
  // write_space() grew after a write() was refused or filled the stream.
  virtual void on_writable(Stream* s) noexcept { (void)s; }
  // Writes exactly len bytes at dst (len <= pull_pending() before the call). Only writes
  // bytes: it must not call into any stream.
  virtual void on_pull(Stream* s, uint8_t* dst, uint32_t len) noexcept {
    (void)s;
    (void)dst;
    (void)len;
  }
  // The peer finished sending (FIN; over TLS close_notify). The app may still write.
  virtual void on_peer_closed(Stream* s) noexcept { (void)s; }
  // The stream ended; s is invalid once this returns.
  virtual void on_closed(Stream* s, StreamEnd why) noexcept = 0;
  // An AppTimer whose target is this app is due.
  void on_timer(AppTimer* t) noexcept override { (void)t; }
  // Once per poll iteration, for work that waited on something other than a stream (an
  // empty mempool). Returns true if it did any work.
  virtual bool poll() noexcept { return false; }
};

}  // namespace linetls::engine
