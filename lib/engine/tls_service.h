// engine::TlsEngine: TLS 1.2 and 1.3 termination on one worker (ARCHITECTURE.md "The poll
// loop", "Buffers"). Serves every `--serve PORT=tls:APP` listener of the worker: TCP below, a
// tls::ServerSession per connection (the version-dispatching facade over ServerSession13 and
// v12::ServerSession12: the ClientHello picks the version), and a plaintext application
// (echo, discard, http) above. One ServerConfig13 and one ServerConfig12 per worker share
// the certificates, the client CA and the ticket keys; TLS 1.2 session IDs resume from a
// per-worker SessionCache12.
//
// The worker drives it in two phases around its application phase:
//
//   tls_open  Every connection that received bytes is "dirty". Each round collects every
//             complete record of every dirty connection into the worker's ONE AeadBatch,
//             runs it once, then hands each op back to its session in order (handshake
//             steps, alerts, and plaintext for the application). A session that says
//             barrier() (handshake running, a possible KeyUpdate, the assembly buffer held)
//             stops collecting until the next round; rounds repeat while such connections
//             still have records, at most max_rounds per poll.
//   tls_seal  Every connection with something to send builds its records in mbufs: header
//             in the first 5 bytes, content written by the application directly at offset 5
//             (the http /bytes/N body is generated straight into the record), inner type and
//             tag after it (TLS 1.2 AES-GCM: content at offset 13, after the explicit
//             nonce; the session's content_offset() and record_len() say). Every seal of
//             every connection goes into one batch, run once; then batch_done() per session
//             and tcp.send() of the records in order.
//
// Buffers. Received bytes stay in the mbufs TCP delivered: a record inside one segment is
// opened in place there. A record spanning segments is assembled by the session's deframer
// (a counted copy: tls.assembled_records / tls.assembled_bytes); the scatter-gather open
// path (queue_open_segs over the segments) is not done yet. Records up to 2^14 content go
// into mbufs of a second, per-worker pool of big buffers (TlsSettings::record_pool); records
// that fit a normal mbuf use the port pool. Application plaintext is copied where the
// application has to keep it: echo keeps what it has not yet sent back, http keeps request
// heads.
//
// Back-pressure: records are built only while they fit in tcp send_space(); the rest waits
// for on_writable(). With no mbuf left, the connection is retried every poll (starved).
// Echo stops reading records while more than kEchoMaxPending bytes wait to go back.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/base/counters.h"
#include "lib/base/result.h"
#include "lib/crypto/aead.h"
#include "lib/engine/apps.h"
#include "lib/net/tcp/tcp.h"
#include "lib/tls/server13.h"
#include "lib/tls/session13.h"
#include "lib/tls/ticket13.h"
#include "lib/tls/v12/resumption12.h"
#include "lib/tls/v12/server12.h"
#include "lib/tls/v12/server_session.h"

struct rte_mempool;
struct rte_mbuf;

namespace linetls::engine {

// Makes one AeadBatch of the given capacity (the worker's choice of backend), or nullptr.
using AeadBatchFactory = std::function<std::unique_ptr<crypto::AeadBatch>(uint32_t capacity)>;

struct TlsSettings {
  // Borrowed: the CertifiedKeys behind them outlive every worker.
  std::vector<tls::ServerCertificate> certificates;
  std::vector<tls::v12::Certificate12> certificates12;  // the same keys, for TLS 1.2
  uint16_t tls_min = tls::kTls12;  // accepted versions (--tls-min / --tls-max)
  uint16_t tls_max = tls::kTls13;
  // Client certificates (both versions): the trust anchors, borrowed (outlive every worker).
  tls::ClientAuth client_auth = tls::ClientAuth::kNone;
  const crypto::CaStore* client_ca = nullptr;
  size_t session_cache_entries = 16384;  // TLS 1.2 session IDs, per worker
  std::vector<std::string> alpn;  // server preference; empty: no ALPN
  uint32_t handshake_timeout_ms = 10000;
  uint64_t key_update_records = uint64_t{1} << 24;
  uint32_t ticket_rotation_s = 3600;
  std::array<uint8_t, 32> ticket_master{};  // drawn once per process: all workers agree
  rte_mempool* record_pool = nullptr;  // big mbufs (>= 2^14 + 22 bytes of data room)
  AeadBatchFactory make_batch;
  uint32_t batch_capacity = 256;
  uint32_t max_rounds = 8;  // open rounds per poll
};

enum class TlsCounter : uint16_t {
  kConnections,
  kHandshakes,
  kHandshakesResumed,
  kHelloRetryRequests,
  kHandshakeFailures,
  kHandshakeTimeouts,
  kTls13,
  kTls12,
  kSuiteAes128,
  kSuiteAes256,
  kSuiteChacha20,
  kSuite12EcdsaAes128,
  kSuite12EcdsaAes256,
  kSuite12RsaAes128,
  kSuite12RsaAes256,
  kSuite12RsaChacha20,
  kSuite12EcdsaChacha20,
  kVersionRefused,    // protocol_version sent: no version in common, SSLv2/3, TLS 1.0/1.1
  kFallbackRefused,   // inappropriate_fallback sent (RFC 7507)
  kMtlsHandshakes,    // handshakes that asked for a client certificate
  kClientCertVerified,
  kClientCertMissing,  // client_auth optional, none given
  kClientCertRejected,  // handshake failed over the client's certificate or its signature
  kGroupX25519,
  kGroupP256,
  kGroupP384,
  kRecordsOpened,
  kBytesOpened,
  kRecordsSealed,
  kBytesSealed,
  kAssembledRecords,
  kAssembledBytes,
  kOpenRounds,
  kOpenRoundsExhausted,  // polls that ended with records still waiting behind a barrier
  kOpenBatches,
  kOpenOps,
  kOpenBatch1,
  kOpenBatch2,
  kOpenBatch4,
  kOpenBatch8,
  kOpenBatch16,
  kOpenBatch32,
  kSealBatches,
  kSealOps,
  kSealBatch1,
  kSealBatch2,
  kSealBatch4,
  kSealBatch8,
  kSealBatch16,
  kSealBatch32,
  kEarlyDataSkipped,
  kKeyUpdatesSent,
  kKeyUpdatesReceived,
  kCloseNotifySent,
  kCloseNotifyReceived,
  kTruncated,
  kRecordPoolEmpty,
  kSealFailures,
  kSendRefused,  // tcp.send() refused a sealed record (a bug): the connection is reset
  kCount
};
inline constexpr std::array<std::string_view, static_cast<size_t>(TlsCounter::kCount)>
    kTlsCounterNames = {"connections",
                        "handshakes",
                        "handshakes_resumed",
                        "hello_retry_requests",
                        "handshake_failures",
                        "handshake_timeouts",
                        "tls13",
                        "tls12",
                        "suite.tls13_aes_128_gcm_sha256",
                        "suite.tls13_aes_256_gcm_sha384",
                        "suite.tls13_chacha20_poly1305_sha256",
                        "suite.tls12_ecdhe_ecdsa_aes_128_gcm_sha256",
                        "suite.tls12_ecdhe_ecdsa_aes_256_gcm_sha384",
                        "suite.tls12_ecdhe_rsa_aes_128_gcm_sha256",
                        "suite.tls12_ecdhe_rsa_aes_256_gcm_sha384",
                        "suite.tls12_ecdhe_rsa_chacha20_poly1305_sha256",
                        "suite.tls12_ecdhe_ecdsa_chacha20_poly1305_sha256",
                        "version_refused",
                        "fallback_refused",
                        "mtls.handshakes",
                        "mtls.client_cert_verified",
                        "mtls.client_cert_missing",
                        "mtls.client_cert_rejected",
                        "group.x25519",
                        "group.secp256r1",
                        "group.secp384r1",
                        "records_opened",
                        "bytes_opened",
                        "records_sealed",
                        "bytes_sealed",
                        "assembled_records",
                        "assembled_bytes",
                        "open_rounds",
                        "open_rounds_exhausted",
                        "open_batches",
                        "open_ops",
                        "open_batch.1",
                        "open_batch.2_3",
                        "open_batch.4_7",
                        "open_batch.8_15",
                        "open_batch.16_31",
                        "open_batch.32_plus",
                        "seal_batches",
                        "seal_ops",
                        "seal_batch.1",
                        "seal_batch.2_3",
                        "seal_batch.4_7",
                        "seal_batch.8_15",
                        "seal_batch.16_31",
                        "seal_batch.32_plus",
                        "early_data_skipped",
                        "key_updates_sent",
                        "key_updates_received",
                        "close_notify_sent",
                        "close_notify_received",
                        "truncated",
                        "record_pool_empty",
                        "seal_failures",
                        "send_refused"};
using TlsCounters = CounterSet<TlsCounter, kTlsCounterNames>;

// Alerts by description (tls::alert_name), sent and received.
struct TlsAlertCounts {
  std::array<uint64_t, 256> sent{};
  std::array<uint64_t, 256> received{};
};

inline constexpr size_t kEchoMaxPending = 256 * 1024;

class TlsEngine {
 public:
  // tcp and pool (the port's, for small records) are borrowed. Fails with a one-line reason
  // when no AEAD batch can be made or the ticket keys cannot be derived.
  static Result<std::unique_ptr<TlsEngine>, std::string> create(const TlsSettings& settings,
                                                                net::tcp::Tcp& tcp,
                                                                rte_mempool* pool);
  ~TlsEngine();
  TlsEngine(const TlsEngine&) = delete;
  TlsEngine& operator=(const TlsEngine&) = delete;

  // The handler to listen with for one tls:APP service; owned by the engine.
  net::tcp::Handler* listener(AppKind app);

  // Phase tls_open at now_ns. Returns true if it did any work; *out_app_cycles gets the TSC
  // cycles spent in on_opened() and the application callbacks (the worker's "apps" time).
  bool open_phase(uint64_t now_ns, uint64_t* out_app_cycles) noexcept;
  // Phase tls_seal. Returns true if it did any work.
  bool seal_phase(uint64_t now_ns) noexcept;
  // Handshake deadlines, ticket key rotation (at most once a second). Cheap when nothing is
  // due. Returns true if it did any work.
  bool on_timer(uint64_t now_ns) noexcept;

  const char* batch_impl() const noexcept { return batch_->impl_name(); }
  // Counters including the sessions still open (their stats are added at close).
  TlsCounters counters() const noexcept;
  TlsAlertCounts alerts() const noexcept { return alerts_; }

 private:
  struct Conn;
  class Listener;
  struct OpEntry;

  TlsEngine(const TlsSettings& settings, net::tcp::Tcp& tcp, rte_mempool* pool);

  // tcp::Handler callbacks, forwarded by Listener.
  void on_connected(net::tcp::Connection* c, AppKind app) noexcept;
  void on_data(net::tcp::Connection* c, rte_mbuf* chain, uint32_t len) noexcept;
  void on_writable(net::tcp::Connection* c) noexcept;
  void on_peer_closed(net::tcp::Connection* c) noexcept;
  void on_closed(net::tcp::Connection* c, net::tcp::CloseReason why) noexcept;

  void mark_dirty(Conn* k) noexcept;
  void mark_output(Conn* k) noexcept;
  // Queues k's complete records into the batch; returns false if the batch filled up.
  bool collect(Conn* k) noexcept;
  void after_input(Conn* k) noexcept;
  void free_consumed(Conn* k) noexcept;
  // Builds k's records into the batch; returns false if the batch filled up.
  bool build(Conn* k) noexcept;
  bool build_records(Conn* k) noexcept;
  void finish_seal_batch() noexcept;
  void count_batch(bool open, uint32_t n) noexcept;
  void count_handshake(Conn* k) noexcept;
  void reap() noexcept;
  void destroy(Conn* k) noexcept;
  void add_session_stats(const Conn& k, TlsCounters* out) const noexcept;
  rte_mbuf* alloc_record(size_t len) noexcept;
  void rotate_tickets(uint64_t now_ns) noexcept;

  TlsSettings settings_;
  net::tcp::Tcp& tcp_;
  rte_mempool* pool_;
  std::unique_ptr<crypto::AeadBatch> batch_;
  std::unique_ptr<crypto::AeadBatch> ticket_batch_;  // TicketKeys clears its batch per op
  std::unique_ptr<tls::TicketKeys> ticket_keys_;
  tls::ServerConfig13 config_;
  tls::v12::ServerConfig12 config12_;
  std::unique_ptr<tls::v12::SessionCache12> session_cache_;
  tls::ServerSessionConfig session_config_;  // points at config_ and config12_
  tls::SessionLimits limits_;
  std::vector<std::unique_ptr<Listener>> listeners_;

  std::vector<OpEntry> ops_;  // one per batch op, in batch order (capacity: batch's)
  std::vector<Conn*> dirty_;
  std::vector<Conn*> output_;
  std::vector<Conn*> starved_;
  std::vector<Conn*> in_batch_;  // sessions with ops in the current batch
  std::vector<Conn*> sending_scratch_;  // connections with records built in this seal pass
  std::vector<Conn*> dead_;
  // Scratch lists the phases swap with dirty_/output_/starved_ each poll: members, so
  // both buffers keep their capacity and the poll loop does not allocate.
  std::vector<Conn*> round_scratch_;
  std::vector<Conn*> output_scratch_;
  std::vector<Conn*> retry_scratch_;
  struct Deadline {
    uint64_t serial;
    uint64_t deadline_ns;
  };
  std::deque<Deadline> deadlines_;
  std::unordered_map<uint64_t, Conn*> live_;
  uint64_t next_serial_ = 1;
  uint64_t now_ns_ = 0;
  uint64_t next_rotation_check_ns_ = 0;
  uint64_t ticket_epoch_ = 0;
  TlsCounters counters_;
  TlsAlertCounts alerts_;
};

}  // namespace linetls::engine
