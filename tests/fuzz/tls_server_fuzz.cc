// libFuzzer target: arbitrary bytes as the client's side of a whole TLS 1.3 server handshake.
//
// Input: byte 0 picks one of four server configurations (bits 0..1; 0 resumes the fixed PSK
// kFixedPskIdentity, with psk_ke allowed), the mode (bit 2) and the pattern the client's
// bytes are cut into (bits 3..7); the rest is the client's side.
// Per input a fresh Server13 is joined to a Deframer + HandshakeReassembler + RecordProtector
// connection over the OpenSSL AeadBatch (the pattern of tests/unit/tls/handshake13_test.cc)
// and fed the client's bytes piece by piece until they are used up or the connection closes.
//
// Raw mode (bit 2 clear): the rest is the wire stream as is. Seal mode (bit 2 set): the rest
// is frames [type, length (2 bytes), content]; each becomes one record, a plaintext record of
// that type while the server reads unprotected, else sealed with that inner type under the
// key the server expects next (the harness mirrors the server's read keys). Mutations of the
// content of encrypted records then reach the parsers behind the AEAD: the client Finished,
// post-handshake messages, KeyUpdate, alerts.
//
// The server's randomness comes from a SeededRng reset per input and its certificate is
// Ed25519 (deterministic signatures), so the server's flight depends on the input alone:
// a corpus entry recorded from a real client (its ClientHello, then its Finished and
// application records encrypted under the keys agreed with this very server) still
// completes the handshake on replay, and mutations explore the encrypted states, the
// post-handshake messages and KeyUpdate as well as the ClientHello.
//
// Traps: more than one alert or anything sent after it; a second error from the machine;
// kFlush with nothing to send or any other wait reason a caller must not see; application
// level bytes (or our application data) before the handshake is done; a done machine whose
// levels or secrets are not those of a finished handshake.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "lib/crypto/cert.h"
#include "lib/crypto/hash.h"
#include "lib/crypto/rng.h"
#include "lib/tls/client13.h"
#include "lib/tls/handshake13.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/key_schedule.h"
#include "lib/tls/record.h"
#include "lib/tls/record_protection.h"
#include "lib/tls/ticket13.h"
#include "lib/tls/server13.h"
#include "tests/fuzz/fuzz_certs.h"

namespace linetls::tls::fuzz {

using Bytes = std::vector<uint8_t>;
using fuzz_certs::kCertPem;
using fuzz_certs::kKeyPem;


constexpr uint64_t kServerRngSeed = 0x746c73667a;  // "tlsfz"
constexpr size_t kNumConfigs = 4;
constexpr uint64_t kNowMs = 1'800'000'000'000;  // config 0's clock
// Config 0 opens this PSK identity itself (FixedPskDecoder), to a PSK for SHA-256 suites
// issued one second before kNowMs with age_add 0.
constexpr std::string_view kFixedPskIdentity = "linetls fuzz psk";
constexpr uint8_t kFixedPskByte = 0x5a;

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A cookie that depends only on the ClientHello1 hash, so replays see the same one.
class HashCookie final : public CookieSource {
 public:
  Result<std::vector<uint8_t>, Error> make(std::span<const uint8_t> ch1_hash) const override {
    return Bytes(ch1_hash.begin(), ch1_hash.end());
  }
};

// Opens kFixedPskIdentity without any ticket key, so that the resumed handshakes (psk_ke and
// psk_dhe_ke) are reachable: a corpus entry recorded from a client holding that PSK gets past
// the binder. Any other identity goes to next (the ticket keys), as without it.
class FixedPskDecoder final : public TicketDecoder {
 public:
  explicit FixedPskDecoder(const TicketDecoder& next) : next_(next) {}
  std::optional<TicketContents> open(std::span<const uint8_t> ticket) const override {
    const std::span<const uint8_t> id = as_bytes(kFixedPskIdentity);
    if (!std::equal(ticket.begin(), ticket.end(), id.begin(), id.end())) {
      return next_.open(ticket);
    }
    TicketContents t;
    t.suite = CipherSuite::kAes128GcmSha256;
    const Bytes psk(32, kFixedPskByte);
    t.psk.assign(psk);
    t.issued_ms = kNowMs - 1000;
    t.lifetime_s = 7200;
    return t;
  }

 private:
  const TicketDecoder& next_;
};

// Built once: the certificate, the AEAD batch and the server configurations.
struct Fixture {
  crypto::CertifiedKey key;
  std::unique_ptr<ossl::OsslAeadBatch> batch;
  std::optional<crypto::SeededRng> rng;
  std::unique_ptr<ossl::OsslAeadBatch> ticket_batch;
  std::optional<TicketKeys> tickets;
  std::optional<FixedPskDecoder> fixed_psk;
  std::array<ServerConfig13, kNumConfigs> configs;

  Fixture()
      : key(crypto::CertifiedKey::from_pem(as_bytes(kCertPem), as_bytes(kKeyPem),
                                           std::string_view{}, 1800000000)
                .value()),
        batch(ossl::OsslAeadBatch::create(64).value()),
        ticket_batch(ossl::OsslAeadBatch::create(1).value()) {
    rng.emplace(kServerRngSeed);
    // The rng is re-emplaced in place per input, so this reference stays valid.
    tickets.emplace(*ticket_batch, *rng);
    if (!tickets->rotate()) {
      __builtin_trap();
    }
    auto cookie = std::make_shared<HashCookie>();
    for (ServerConfig13& c : configs) {
      c.certificates.push_back(ServerCertificate::from(key));
      c.rng = &*rng;
    }
    // 0: the defaults (X25519 first, all three suites, no ALPN, no cookie), and tickets: a
    // NewSessionTicket flight after the client Finished, and offered PSKs looked up (only
    // kFixedPskIdentity opens; anything else is a full handshake). psk_ke is allowed, so a
    // client listing it resumes without (EC)DHE, and with no key_share at all.
    configs[0].ticket_keys = &*tickets;
    fixed_psk.emplace(*tickets);
    configs[0].ticket_decoder = &*fixed_psk;
    configs[0].tickets_to_send = 1;
    configs[0].allow_psk_ke = true;
    configs[0].now_ms = [] { return kNowMs; };
    // 1: ALPN, EncryptedExtensions options and a cookie on any retry.
    configs[1].alpn = {"h2", "http/1.1"};
    configs[1].advertised_groups = {0x001d, 0x0017, 0x0018};
    configs[1].record_size_limit = 2048;
    configs[1].cookie = cookie;
    // 2: P-256 only, so a client sharing X25519 gets a HelloRetryRequest (with a cookie).
    configs[2].groups = {crypto::NamedGroup::kSecp256r1};
    configs[2].cookie = cookie;
    // 3: ChaCha20-Poly1305 only, P-384 preferred, no cookie on a retry.
    configs[3].cipher_suites = {CipherSuite::kChacha20Poly1305Sha256};
    configs[3].groups = {crypto::NamedGroup::kSecp384r1, crypto::NamedGroup::kX25519};
  }
};

inline Fixture& fixture() {
  static Fixture* f = new Fixture();
  return *f;
}

// Returns configuration i with its randomness rewound, so each connection replays the same.
inline const ServerConfig13& server_config(size_t i) {
  Fixture& f = fixture();
  f.rng.emplace(kServerRngSeed);
  return f.configs[i % kNumConfigs];
}

// One endpoint: record layer + handshake reassembly + machine (Server13 or Client13). The
// client side exists to record corpus entries; the fuzzer drives the server side.
template <typename M>
class Conn {
 public:
  template <typename Config>
  Conn(const Config& config, bool is_server) : machine_(config), is_server_(is_server) {
    if constexpr (requires(M m) { m.set_pk_offload(true); }) {
      // The server stops at each public-key step; after() runs the job as a handshake
      // lcore would and gives it back (the inline path is the sessions' default).
      machine_.set_pk_offload(true);
      rng_ = config.rng;
    }
  }

  M& machine() { return machine_; }

  Bytes out;                // wire bytes for the peer
  Bytes app_in;             // application data received
  Bytes* frames = nullptr;  // if set, gets each record we send as a seal-mode frame
  bool failed = false;
  bool alert_received = false;

  bool closed() const { return failed || alert_received; }
  bool done() const { return machine_.wait() == Wait::kDone; }

  void start() {
    if constexpr (requires(M m) { m.start(); }) {
      after(machine_.start());
    }
  }

  // Feeds one piece of the peer's stream.
  void receive(std::span<uint8_t> piece) {
    while (!piece.empty() && !closed()) {
      auto step = deframer_.next(piece);
      if (!step) {
        return fail(step.error());
      }
      if (step->consumed == 0 && !step->has_record) {
        __builtin_trap();  // the assembly buffer is always released below
      }
      piece = piece.subspan(step->consumed);
      if (step->has_record) {
        on_record(step->record);
        if (step->record.assembled) {
          deframer_.release_assembled();
        }
      }
    }
  }

  void update_keys(bool request_peer) { after(machine_.update_keys(request_peer)); }

  // Returns content as one record from the peer: in plaintext with outer type `type` while we
  // read unprotected, else sealed under the peer's side of our read keys with inner type
  // `type`. Empty if the content cannot be sealed (too long).
  Bytes peer_record(uint8_t type, std::span<const uint8_t> content) {
    if (!peer_write_) {
      Bytes rec(kRecordHeaderLen + content.size());
      rec[0] = type;
      rec[1] = 3;
      rec[2] = 3;
      rec[3] = static_cast<uint8_t>(content.size() >> 8);
      rec[4] = static_cast<uint8_t>(content.size());
      std::copy(content.begin(), content.end(), rec.begin() + kRecordHeaderLen);
      return rec;
    }
    Bytes rec(content.size() + kProtectedOverhead);
    std::copy(content.begin(), content.end(), rec.begin() + kRecordHeaderLen);
    crypto::AeadBatch& batch = *fixture().batch;
    RecordSlot slot;
    batch.clear();
    auto q = peer_write_->queue_seal(batch, rec, content.size(), static_cast<ContentType>(type), 0,
                                     &slot);
    if (!q || !*q || batch.run() != 1) {
      return {};
    }
    return rec;
  }

  void send_app(std::span<const uint8_t> data) {
    if (write_level_ != Level::kApplication || !done()) {
      __builtin_trap();
    }
    send_records(ContentType::kApplicationData, data);
  }

  void send_alert(uint8_t level, uint8_t description) {
    const uint8_t alert[2] = {level, description};
    send_records(ContentType::kAlert, alert);
  }

 private:
  const crypto::HashSecret& secret(Level l, bool server_side) const {
    const Secrets13& s = machine_.secrets();
    if (l == Level::kHandshake) {
      return server_side ? s.server_handshake : s.client_handshake;
    }
    return server_side ? s.server_application : s.client_application;
  }

  std::optional<RecordProtector> protector(Level l, bool server_side) {
    auto keys = derive_traffic_keys(machine_.secrets().suite, secret(l, server_side).view());
    if (!keys) {
      __builtin_trap();
    }
    auto p = RecordProtector::create(*fixture().batch, *keys);
    if (!p) {
      __builtin_trap();
    }
    return std::move(p).value();
  }

  void set_write_level(Level l) {
    if (l != write_level_) {
      write_level_ = l;
      write_ = protector(l, is_server_);
    }
  }

  void send_records(ContentType type, std::span<const uint8_t> data) {
    if (failed && type != ContentType::kAlert) {
      __builtin_trap();  // §6: nothing follows our fatal alert
    }
    crypto::AeadBatch& batch = *fixture().batch;
    for (size_t at = 0; at < data.size(); at += kMaxPlaintextLen) {
      const auto chunk = data.subspan(at, std::min(kMaxPlaintextLen, data.size() - at));
      if (frames) {
        frames->push_back(static_cast<uint8_t>(type));
        frames->push_back(static_cast<uint8_t>(chunk.size() >> 8));
        frames->push_back(static_cast<uint8_t>(chunk.size()));
        frames->insert(frames->end(), chunk.begin(), chunk.end());
      }
      if (!write_) {
        Bytes rec(kRecordHeaderLen + chunk.size());
        write_record_header(rec.data(), type, static_cast<uint16_t>(chunk.size()));
        std::copy(chunk.begin(), chunk.end(), rec.begin() + kRecordHeaderLen);
        out.insert(out.end(), rec.begin(), rec.end());
        continue;
      }
      Bytes rec(chunk.size() + kProtectedOverhead);
      std::copy(chunk.begin(), chunk.end(), rec.begin() + kRecordHeaderLen);
      RecordSlot slot;
      batch.clear();
      auto q = write_->queue_seal(batch, rec, chunk.size(), type, 0, &slot);
      if (!q || !*q || batch.run() != 1) {
        __builtin_trap();
      }
      out.insert(out.end(), rec.begin(), rec.end());
    }
  }

  void check_done() const {
    if (machine_.read_level() != Level::kApplication ||
        machine_.write_level() != Level::kApplication) {
      __builtin_trap();
    }
    const Secrets13& s = machine_.secrets();
    const size_t n = crypto::hash_len(s.suite.hash);
    if (s.client_application.view().size() != n || s.server_application.view().size() != n ||
        s.exporter_master.view().size() != n || s.resumption_master.view().size() != n) {
      __builtin_trap();
    }
  }

  void after(Wait w) {
    if (machine_failed_) {
      __builtin_trap();  // the machine is not fed after an error
    }
    switch (w) {
      case Wait::kError:
        machine_failed_ = true;
        if (machine_.wait() != Wait::kError || !machine_.take_flight().empty()) {
          __builtin_trap();  // Failed drops the half-built flight and stays failed
        }
        return fail(machine_.error());
      case Wait::kFlush: {
        Flight f = machine_.take_flight();
        if (f.empty() || machine_.wait() == Wait::kFlush || machine_.wait() == Wait::kError) {
          __builtin_trap();
        }
        // Nothing at the application level before the handshake is done; the message that
        // completes it may bring NewSessionTickets there.
        if (!f.bytes[static_cast<size_t>(Level::kApplication)].empty() && !was_done_ &&
            machine_.wait() != Wait::kDone) {
          __builtin_trap();
        }
        for (size_t l = 0; l < kNumLevels; l++) {
          if (f.bytes[l].empty()) {
            continue;
          }
          set_write_level(static_cast<Level>(l));
          send_records(ContentType::kHandshake, f.bytes[l]);
        }
        if (f.rekey_after_application) {
          write_ = protector(Level::kApplication, is_server_);  // §4.6.3: after our KeyUpdate
        }
        break;
      }
      case Wait::kNeedMessage:
      case Wait::kDone:
        break;
      case Wait::kPendingKeyExchange:
      case Wait::kPendingSignature:
      case Wait::kPendingVerify:
        if constexpr (requires(M m) { m.take_pk_job(); }) {
          auto job = machine_.take_pk_job();
          if (job == nullptr || machine_.take_pk_job() != nullptr || machine_.wait() != w) {
            __builtin_trap();  // one job per pause, and the machine stays paused
          }
          run_pk_job(*job, *rng_);
          return after(machine_.complete_pk(std::move(job)));
        } else {
          __builtin_trap();  // clients run their public-key steps inline
        }
    }
    if (done()) {
      check_done();
      was_done_ = true;
    } else if (was_done_) {
      __builtin_trap();  // done is final unless an error
    }
    set_write_level(machine_.write_level());
  }

  // §6: one alert under the current write keys, then nothing more.
  void fail(Error e) {
    if (failed) {
      __builtin_trap();  // a second fatal error: the caller stops at the first
    }
    failed = true;
    send_alert(2, static_cast<uint8_t>(to_alert(e)));
  }

  CcsWindow ccs_window() const {
    CcsWindow w;
    if constexpr (requires(M m) { m.client_hello_seen(); }) {
      w.first_client_hello_done = machine_.client_hello_seen();
    } else {
      w.first_client_hello_done = true;
    }
    w.peer_finished_received = read_level_ == Level::kApplication;
    return w;
  }

  void on_record(const Record& rec) {
    if (rec.type == ContentType::kChangeCipherSpec) {
      if (auto ok = check_compat_ccs(rec, ccs_window()); !ok) {
        return fail(ok.error());
      }
      return;
    }
    // A peer that fails on our ServerHello has no handshake keys yet: its alert comes in
    // plaintext (§6).
    if (read_ && rec.type == ContentType::kAlert && read_level_ == Level::kHandshake) {
      alert_received = true;
      return;
    }
    InnerPlaintext inner;
    if (read_) {
      if (rec.type != ContentType::kApplicationData) {
        return fail(Error::kUnexpectedMessage);
      }
      crypto::AeadBatch& batch = *fixture().batch;
      RecordSlot slot;
      batch.clear();
      auto q = read_->queue_open(batch, rec, &slot);
      if (!q) {
        return fail(q.error());
      }
      batch.run();
      auto opened = finish_open(batch.status(0), slot);
      if (!opened) {
        return fail(opened.error());
      }
      inner = *opened;
    } else {
      if (rec.type == ContentType::kApplicationData) {
        return fail(Error::kUnprotectedRecord);
      }
      inner.type = rec.type;
      inner.content = rec.fragment;
    }
    switch (inner.type) {
      case ContentType::kAlert:
        if (inner.content.size() != 2) {
          return fail(Error::kBadAlert);
        }
        alert_received = true;
        return;
      case ContentType::kApplicationData:
        if (read_level_ != Level::kApplication) {
          return fail(Error::kUnexpectedMessage);
        }
        if (!done()) {
          __builtin_trap();  // application keys are only installed once the peer finished
        }
        app_in.insert(app_in.end(), inner.content.begin(), inner.content.end());
        return;
      case ContentType::kHandshake:
        return on_handshake(inner.content);
      default:
        return fail(Error::kBadRecordType);
    }
  }

  void on_handshake(std::span<const uint8_t> content) {
    if (content.empty()) {
      return fail(Error::kUnexpectedMessage);  // §5.1: no zero-length handshake fragments
    }
    while (!content.empty() && !closed()) {
      auto step = reasm_.next(content);
      if (!step) {
        return fail(step.error());
      }
      content = content.subspan(step->consumed);
      if (!step->has_message) {
        continue;
      }
      after(machine_.handle(step->message));
      if (closed()) {
        return;
      }
      const Level want = machine_.read_level();
      const uint64_t generation = machine_.post_handshake().peer_key_updates;
      if (want != read_level_ || generation != read_generation_) {
        read_generation_ = generation;
        if (auto ok = reasm_.check_key_change(content); !ok) {
          return fail(ok.error());
        }
        read_level_ = want;
        read_ = protector(want, !is_server_);
        peer_write_ = protector(want, !is_server_);
        deframer_.set_protected(true);
      }
    }
  }

  crypto::Rng* rng_ = nullptr;  // the server's, for its public-key jobs
  M machine_;
  bool is_server_;
  Deframer deframer_;
  HandshakeReassembler reasm_;
  std::optional<RecordProtector> read_, write_;
  std::optional<RecordProtector> peer_write_;  // read_'s twin, for peer_record()
  Level read_level_ = Level::kInitial;
  Level write_level_ = Level::kInitial;
  uint64_t read_generation_ = 0;
  bool machine_failed_ = false;
  bool was_done_ = false;
};

// Piece sizes for the client's stream from the pattern bits of byte 0: pattern 0 is the
// whole stream at once; otherwise a size class (1..7, ..64, ..600, ..5000, ..20000 bytes)
// and a generator seed.
class Splitter {
 public:
  explicit Splitter(uint8_t pattern) : pattern_(pattern), x_(pattern * 2654435761u + 1) {}
  size_t next(size_t left) {
    if (pattern_ == 0) {
      return left;
    }
    static constexpr size_t kLimits[] = {7, 64, 600, 5000, 20000};
    x_ = x_ * 1103515245u + 12345u;
    const size_t n = 1 + (x_ >> 8) % kLimits[pattern_ % 5];
    return std::min(n, left);
  }

 private:
  uint8_t pattern_;
  uint32_t x_;
};

// Runs one input: see the top of the file.
inline void run_server(std::span<const uint8_t> data) {
  if (data.empty()) {
    return;
  }
  Conn<Server13> server(server_config(data[0] & 3), true);
  const bool seal = (data[0] & 4) != 0;
  Splitter split(static_cast<uint8_t>(data[0] >> 3));
  std::span<const uint8_t> rest = data.subspan(1);
  Bytes stream;
  size_t at = 0;
  size_t echoed = 0;
  while (!server.closed()) {
    if (seal && at == stream.size()) {
      // The next frame, sealed under the keys the server reads with now.
      if (rest.size() < 3) {
        break;
      }
      const size_t len = std::min<size_t>(rest.size() - 3, size_t{rest[1]} << 8 | rest[2]);
      stream = server.peer_record(rest[0], rest.subspan(3, std::min(len, kMaxPlaintextLen + 1)));
      rest = rest.subspan(3 + len);
      at = 0;
      continue;
    }
    if (!seal && stream.empty()) {
      stream.assign(rest.begin(), rest.end());
    }
    if (at == stream.size()) {
      break;
    }
    const size_t n = split.next(stream.size() - at);
    server.receive(std::span(stream).subspan(at, n));
    at += n;
    // Once done, answer application data: echo it, and a record starting with 'K' asks for
    // our own KeyUpdate (the next byte's low bit: request the peer's too).
    if (!server.closed() && server.app_in.size() > echoed) {
      const std::span<const uint8_t> fresh(server.app_in.data() + echoed,
                                           server.app_in.size() - echoed);
      echoed = server.app_in.size();
      if (fresh[0] == 'K') {
        server.update_keys(fresh.size() > 1 && (fresh[1] & 1) != 0);
      }
      if (!server.closed()) {
        server.send_app(fresh);
      }
    }
    server.out.clear();
  }
}

}  // namespace linetls::tls::fuzz

#ifndef LINETLS_TLS_SERVER_FUZZ_NO_ENTRY
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  linetls::tls::fuzz::run_server(std::span(data, size));
  return 0;
}
#endif
