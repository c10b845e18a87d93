// libFuzzer target: arbitrary bytes as the client's side of a tls::ServerSession, the
// version-dispatching facade (lib/tls/v12/server_session.h) the engine holds for every
// connection: it deframes until the first whole ClientHello, picks TLS 1.3 or 1.2
// (select_version over the configured range, TLS_FALLBACK_SCSV, SSLv2-format and obsolete
// hellos refused), then replays the hello into a ServerSession13 or v12::ServerSession12 and
// forwards everything after. Driven as the engine does (the shape of tls_session_fuzz.cc and
// tls12_server_fuzz.cc).
//
// Input: byte 0 picks the configuration (bits 0..2, kConfigs below: both versions; min 1.3;
// max 1.2; required client certificates; tickets and a TLS 1.2 session cache; and three with
// tight SessionLimits) and the pattern the rest is cut into (bits 3..7: 0 is one piece,
// otherwise piece sizes drawn from a generator seeded by the byte). Per input a fresh session
// (and a fresh session cache) takes the pieces: next() -> accept() into one batch of 8 ops
// until barrier() or kBatchFull -> run -> on_opened(); after each piece the output is drained
// (write_control, and application data echoed back with seal_app). The server's randomness
// is a SeededRng reset per input, its certificate Ed25519 (deterministic signatures), its
// clocks fixed and its ticket keys derived from a fixed master, so a corpus entry recorded
// from a real Client13 or Client12 (LT_ANY_FUZZ_SEEDS=dir writes the seed corpus, see
// write_seeds) completes the handshake on replay and mutations reach the encrypted states of
// both versions.
//
// Traps: a second kAlert, output after closed(), write_control() writing other than the
// length next_output() announced, application data before the handshake is done, an input
// error without error() set, a seal the batch rejects, the deframer stuck, an empty batch
// refusing a record; and for the facade: a version() that changes once known or lies outside
// the configured range, a finished handshake without a version or suite, version() disagreeing
// with session13()/session12().
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <fstream>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "lib/crypto/cert.h"
#include "lib/crypto/rng.h"
#include "lib/tls/client13.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/key_schedule.h"
#include "lib/tls/record.h"
#include "lib/tls/record_protection.h"
#include "lib/tls/server13.h"
#include "lib/tls/session13.h"
#include "lib/tls/ticket13.h"
#include "lib/tls/v12/client12.h"
#include "lib/tls/v12/record12.h"
#include "lib/tls/v12/resumption12.h"
#include "lib/tls/v12/server12.h"
#include "lib/tls/v12/server_session.h"
#include "tests/fuzz/fuzz_certs.h"
#include "tests/fuzz/session_driver.h"
#include "lib/tls/v12/version.h"

namespace linetls::tls::anyfuzz {

using Bytes = std::vector<uint8_t>;
using fuzz_certs::kCertPem;
using fuzz_certs::kKeyPem;
using fuzz_certs::kCaPem;


constexpr uint64_t kServerRngSeed = 0x616e7931;  // "any1"
constexpr std::time_t kNow = 1800000000;
constexpr uint64_t kNowMs = uint64_t{1'800'000'000'000};
constexpr size_t kNumConfigs = 8;
constexpr uint32_t kBatchCapacity = 8;

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

[[noreturn]] inline void trap() { __builtin_trap(); }

// One configuration: the pair of version configs, the range and the limits.
struct Config {
  ServerConfig13 c13;
  v12::ServerConfig12 c12;
  ServerSessionConfig sc;
  bool tight = false;
};

struct Fixture {
  crypto::CertifiedKey key;
  crypto::CaStore ca;
  std::unique_ptr<ossl::OsslAeadBatch> batch;
  std::optional<crypto::SeededRng> rng;
  std::unique_ptr<ossl::OsslAeadBatch> ticket_batch;
  std::optional<TicketKeys> tickets;
  std::optional<v12::SessionCache12> cache;
  std::array<Config, kNumConfigs> configs;

  Fixture()
      : key(crypto::CertifiedKey::from_pem(as_bytes(kCertPem), as_bytes(kKeyPem),
                                           std::string_view{}, kNow)
                .value()),
        ca(crypto::CaStore::from_pem(as_bytes(kCaPem)).value()),
        batch(ossl::OsslAeadBatch::create(kBatchCapacity).value()),
        ticket_batch(ossl::OsslAeadBatch::create(1).value()) {
    rng.emplace(kServerRngSeed);
    tickets.emplace(*ticket_batch, *rng);
    const std::array<uint8_t, 32> master{};
    if (!tickets->rotate_to(1, master)) {
      trap();
    }
    cache.emplace(4);
    for (Config& c : configs) {
      c.c13.certificates.push_back(ServerCertificate::from(key));
      c.c13.rng = &*rng;
      c.c13.now_ms = [] { return kNowMs; };
      c.c13.now = [] { return kNow; };
      c.c13.client_ca = &ca;
      c.c12.certificates.push_back(v12::Certificate12::from(key));
      c.c12.rng = &*rng;
      c.c12.now = [] { return kNow; };
      c.c12.client_ca = &ca;
      c.sc.tls13 = &c.c13;
      c.sc.tls12 = &c.c12;
    }
    // 0: both versions, defaults.
    // 1: TLS 1.3 only.
    configs[1].sc.versions = {kTls13, kTls13};
    // 2: TLS 1.2 only (no downgrade sentinel, a fallback SCSV is appropriate).
    configs[2].sc.versions = {kTls12, kTls12};
    // 3: client certificates required in both versions.
    configs[3].c13.client_auth = ClientAuth::kRequired;
    configs[3].c12.client_auth = v12::ClientAuth::kRequired;
    // 4: tickets in both versions, a TLS 1.2 session cache.
    configs[4].c13.ticket_keys = &*tickets;
    configs[4].c13.tickets_to_send = 1;
    configs[4].c12.ticket_keys = &*tickets;
    configs[4].c12.session_cache = &*cache;
    // 5: both versions, ALPN and optional client certificates, tight limits.
    configs[5].c13.alpn = {"h2", "http/1.1"};
    configs[5].c12.alpn = {"h2", "http/1.1"};
    configs[5].c13.client_auth = ClientAuth::kOptional;
    configs[5].c12.client_auth = v12::ClientAuth::kOptional;
    configs[5].tight = true;
    // 6: TLS 1.2 only, P-256 and ChaCha20, session cache, tight limits.
    configs[6].sc.versions = {kTls12, kTls12};
    configs[6].c12.groups = {crypto::NamedGroup::kSecp256r1};
    configs[6].c12.cipher_suites = {v12::CipherSuite::kEcdheEcdsaChacha20Poly1305Sha256};
    configs[6].c12.session_cache = &*cache;
    configs[6].tight = true;
    // 7: TLS 1.3 only, P-256 (x25519 shares get an HRR), tickets, tight limits.
    configs[7].sc.versions = {kTls13, kTls13};
    configs[7].c13.groups = {crypto::NamedGroup::kSecp256r1};
    configs[7].c13.ticket_keys = &*tickets;
    configs[7].c13.tickets_to_send = 1;
    configs[7].tight = true;
    for (Config& c : configs) {
      c.c12.tls13_enabled = c.sc.versions.max == kTls13;
    }
  }
};

inline Fixture& fixture() {
  static Fixture* f = new Fixture();
  return *f;
}

inline SessionLimits limits(bool tight) {
  SessionLimits l;
  if (tight) {
    l.max_empty_records = 3;
    l.max_warning_alerts = 1;
    l.max_key_updates_without_data = 2;
    l.max_early_data_bytes = 300;
    l.key_update_records = 3;
    l.max_handshake_message = 2048;
    l.max_client_hello = 2048;
  }
  return l;
}

// The engine's part for one session.
// The facade's own invariants, checked by the driver at each step: the version stays in
// the configured range and never changes once known, agrees with the session built, and a
// finished handshake has a version and a suite.
struct VersionCheck {
  v12::VersionRange range;
  uint16_t seen = 0;

  void operator()(const ServerSession& s) {
    const uint16_t v = s.version();
    if (v != 0) {
      if (v != kTls13 && v != kTls12) {
        trap();
      }
      if (v < range.min || v > range.max) {
        trap();
      }
      if (seen != 0 && v != seen) {
        trap();
      }
      seen = v;
    }
    if ((s.session13() != nullptr && v != kTls13) || (s.session12() != nullptr && v != kTls12)) {
      trap();
    }
    if (s.handshake_done() && (v == 0 || s.suite_name().empty() || s.suite_code() == 0)) {
      trap();
    }
  }
};

// The engine's part for one session (tests/fuzz/session_driver.h).
using Engine = fuzz_driver::SessionDriver<ServerSession, AnySlot, VersionCheck>;

Engine make_engine(const Config& config, crypto::AeadBatch& batch) {
  return Engine(batch, VersionCheck{config.sc.versions}, config.sc, limits(config.tight));
}

struct Outcome {
  bool done = false;
  uint16_t version = 0;
  std::optional<Error> error;
  bool resumed = false;
  bool certificate_missing = false;
};

Outcome outcome_of(const ServerSession& s) {
  return {s.handshake_done(), s.version(), s.error(), s.resumed(), s.client_certificate_missing()};
}

void reset_fixture(Fixture& f) {
  f.rng.emplace(kServerRngSeed);
  f.cache.emplace(4);
  f.batch->clear();
}

// Runs one input.
Outcome run(std::span<const uint8_t> data) {
  if (data.empty()) {
    return {};
  }
  Fixture& f = fixture();
  const uint8_t mode = data[0];
  reset_fixture(f);
  Engine e = make_engine(f.configs[mode & 7], *f.batch);
  e.feed(data.subspan(1), mode);
  e.check();
  return outcome_of(e.s);
}

// ---- Seed corpus: real clients against the session, recording what they send.

// Common to both clients: what was sent, what is still to deliver.
class ClientBase {
 public:
  virtual ~ClientBase() = default;
  Bytes sent;  // everything the client sent
  Bytes out;   // not yet delivered
  size_t record_size = kMaxPlaintextLen;

  virtual bool done() const = 0;
  virtual void start() = 0;
  virtual void receive(std::span<uint8_t> p) = 0;
  virtual void send(ContentType type, std::span<const uint8_t> data) = 0;

 protected:
  void emit(const Bytes& rec) {
    out.insert(out.end(), rec.begin(), rec.end());
    sent.insert(sent.end(), rec.begin(), rec.end());
  }
  void emit_plain(ContentType type, std::span<const uint8_t> chunk) {
    Bytes rec(kRecordHeaderLen + chunk.size());
    write_record_header(rec.data(), type, static_cast<uint16_t>(chunk.size()));
    std::copy(chunk.begin(), chunk.end(), rec.begin() + kRecordHeaderLen);
    emit(rec);
  }
};

class Client13 final : public ClientBase {
 public:
  explicit Client13(const ClientConfig13& config) : m_(config) {}

  tls::Client13& machine() { return m_; }
  bool done() const override { return m_.wait() == Wait::kDone; }
  void start() override { after(m_.start()); }
  void receive(std::span<uint8_t> p) override {
    while (!p.empty()) {
      auto step = deframer_.next(p);
      if (!step) {
        return;
      }
      p = p.subspan(step->consumed);
      if (step->has_record) {
        on_record(step->record);
        if (step->record.assembled) {
          deframer_.release_assembled();
        }
      }
    }
  }
  void send(ContentType type, std::span<const uint8_t> data) override {
    for (size_t at = 0; at < data.size() || (data.empty() && at == 0); at += record_size) {
      const auto chunk = data.subspan(at, std::min(record_size, data.size() - at));
      if (!write_) {
        emit_plain(type, chunk);
      } else {
        Bytes rec(chunk.size() + kProtectedOverhead);
        std::copy(chunk.begin(), chunk.end(), rec.begin() + kRecordHeaderLen);
        RecordSlot slot;
        batch_->clear();
        auto q = write_->queue_seal(*batch_, rec, chunk.size(), type, 0, &slot);
        if (!q || !*q || batch_->run() != 1) {
          trap();
        }
        emit(rec);
      }
      if (data.empty()) {
        break;
      }
    }
  }

 private:
  std::optional<RecordProtector> protector(Level l, bool server_side) {
    const Secrets13& s = m_.secrets();
    const crypto::HashSecret& secret =
        l == Level::kHandshake ? (server_side ? s.server_handshake : s.client_handshake)
                               : (server_side ? s.server_application : s.client_application);
    auto keys = derive_traffic_keys(s.suite, secret.view());
    auto p = RecordProtector::create(*batch_, *keys);
    return std::move(p).value();
  }
  void after(Wait w) {
    if (w == Wait::kFlush) {
      Flight fl = m_.take_flight();
      for (size_t l = 0; l < kNumLevels; l++) {
        if (fl.bytes[l].empty()) {
          continue;
        }
        if (static_cast<Level>(l) != write_level_) {
          write_level_ = static_cast<Level>(l);
          write_ = protector(write_level_, false);
        }
        send(ContentType::kHandshake, fl.bytes[l]);
      }
      if (fl.rekey_after_application) {
        write_ = protector(Level::kApplication, false);
      }
    }
    if (m_.write_level() != write_level_) {
      write_level_ = m_.write_level();
      write_ = protector(write_level_, false);
    }
  }
  void on_record(const Record& rec) {
    if (!read_) {
      if (rec.type == ContentType::kHandshake) {
        on_handshake(rec.fragment);
      }
      return;
    }
    if (rec.type != ContentType::kApplicationData) {
      return;
    }
    RecordSlot slot;
    batch_->clear();
    if (!read_->queue_open(*batch_, rec, &slot)) {
      return;
    }
    batch_->run();
    auto inner = tls::finish_open(batch_->status(0), slot);
    if (inner && inner->type == ContentType::kHandshake) {
      on_handshake(inner->content);
    }
  }
  void on_handshake(std::span<const uint8_t> content) {
    while (!content.empty()) {
      auto step = reasm_.next(content);
      if (!step) {
        return;
      }
      content = content.subspan(step->consumed);
      if (!step->has_message) {
        continue;
      }
      after(m_.handle(step->message));
      const Level want = m_.read_level();
      const uint64_t gen = m_.post_handshake().peer_key_updates;
      if (want != read_level_ || gen != read_gen_) {
        read_level_ = want;
        read_gen_ = gen;
        read_ = protector(want, true);
      }
    }
  }

  tls::Client13 m_;
  std::unique_ptr<ossl::OsslAeadBatch> batch_ = ossl::OsslAeadBatch::create(1).value();
  Deframer deframer_;
  HandshakeReassembler reasm_;
  std::optional<RecordProtector> read_, write_;
  Level read_level_ = Level::kInitial;
  Level write_level_ = Level::kInitial;
  uint64_t read_gen_ = 0;
};

class Client12 final : public ClientBase {
 public:
  explicit Client12(const v12::ClientConfig12& config) : m_(config) {}

  const v12::Client12& machine() const { return m_; }
  bool done() const override { return m_.wait() == Wait::kDone; }
  void start() override { after(m_.start()); }
  void receive(std::span<uint8_t> p) override {
    while (!p.empty()) {
      auto step = deframer_.next(p);
      if (!step) {
        return;
      }
      p = p.subspan(step->consumed);
      if (step->has_record) {
        on_record(step->record);
        deframer_.release_assembled();
      }
    }
  }
  void send(ContentType type, std::span<const uint8_t> data) override {
    for (size_t at = 0; at < data.size() || (data.empty() && at == 0); at += record_size) {
      const auto chunk = data.subspan(at, std::min(record_size, data.size() - at));
      if (!write_) {
        emit_plain(type, chunk);
      } else {
        Bytes rec(chunk.size() + write_->overhead());
        std::copy(chunk.begin(), chunk.end(),
                  rec.begin() + static_cast<ptrdiff_t>(kRecordHeaderLen +
                                                       v12::explicit_nonce_len(write_->algo())));
        v12::RecordSlot12 slot;
        batch_->clear();
        auto q = write_->queue_seal(*batch_, rec, type, &slot);
        if (!q || !*q || batch_->run() != 1) {
          trap();
        }
        emit(rec);
      }
      if (data.empty()) {
        break;
      }
    }
  }

 private:
  void after(Wait w) {
    if (w != Wait::kFlush) {
      return;
    }
    v12::Flight12 fl = m_.take_flight();
    if (!fl.handshake.empty()) {
      send(ContentType::kHandshake, fl.handshake);
    }
    if (fl.change_cipher_spec) {
      const uint8_t one = 1;
      send(ContentType::kChangeCipherSpec, {&one, 1});
      write_.emplace(v12::RecordProtector12::create(*batch_, m_.keys().client_write).value());
    }
    if (!fl.after_ccs.empty()) {
      send(ContentType::kHandshake, fl.after_ccs);
    }
  }
  void on_record(const Record& rec) {
    std::span<uint8_t> content = rec.fragment;
    ContentType type = rec.type;
    if (read_) {
      v12::RecordSlot12 slot;
      batch_->clear();
      auto q = read_->queue_open(*batch_, rec, &slot);
      if (!q || !*q) {
        return;
      }
      batch_->run();
      auto pt = v12::finish_open(batch_->status(0), slot);
      if (!pt) {
        return;
      }
      type = pt->type;
      content = pt->content;
    }
    if (type == ContentType::kChangeCipherSpec && !read_) {
      if (m_.handle_change_cipher_spec(reasm_.mid_message()) != Wait::kError) {
        read_.emplace(v12::RecordProtector12::create(*batch_, m_.keys().server_write).value());
        deframer_.set_protected(true);
      }
      return;
    }
    if (type != ContentType::kHandshake) {
      return;
    }
    std::span<const uint8_t> rest = content;
    while (!rest.empty()) {
      auto step = reasm_.next(rest);
      if (!step) {
        return;
      }
      rest = rest.subspan(step->consumed);
      if (step->has_message) {
        after(m_.handle(step->message));
      }
    }
  }

  v12::Client12 m_;
  std::unique_ptr<ossl::OsslAeadBatch> batch_ = ossl::OsslAeadBatch::create(1).value();
  Deframer deframer_;
  HandshakeReassembler reasm_;
  std::optional<v12::RecordProtector12> read_, write_;
};

// Plays c against a fresh session of configuration mode & 7 (pieces as run() cuts them are
// not used here: each client flight is one piece), with script run once the handshake is
// done; returns the input (mode byte, then the client's bytes).
template <typename Script>
Bytes record_seed(uint8_t mode, ClientBase& c, Script script) {
  Fixture& f = fixture();
  reset_fixture(f);
  Engine e = make_engine(f.configs[mode & 7], *f.batch);
  c.start();
  bool scripted = false;
  for (int round = 0; round < 20; round++) {
    if (c.done() && !scripted) {
      scripted = true;
      script(c);
    }
    if (c.out.empty()) {
      break;
    }
    e.piece(c.out);
    c.out.clear();
    c.receive(e.wire);
    e.wire.clear();
  }
  Bytes input{mode};
  input.insert(input.end(), c.sent.begin(), c.sent.end());
  return input;
}

struct Seed {
  std::string name;
  Bytes input;
  Outcome want;
};

void write_seeds(const std::string& dir) {
  const std::string_view get_text = "GET / HTTP/1.1\r\nHost: ed25519.test\r\n\r\n";
  const Bytes get(get_text.begin(), get_text.end());
  const Bytes close_notify{1, 0};
  const auto data_close = [&](ClientBase& c) {
    c.send(ContentType::kApplicationData, get);
    c.send(ContentType::kAlert, close_notify);
  };
  const auto nothing = [](ClientBase&) {};
  std::vector<Seed> seeds;
  uint64_t client_seed = 5000;
  const auto c13 = [&](ClientConfig13 cfg) {
    cfg.now_ms = [] { return kNowMs; };
    return cfg;
  };
  crypto::SeededRng client_rng(client_seed);
  const auto reseed = [&] { client_rng = crypto::SeededRng(++client_seed); };

  {  // A TLS 1.3 full handshake, data, close_notify (both versions allowed).
    reseed();
    ClientConfig13 cfg = c13({});
    cfg.rng = &client_rng;
    Client13 c(cfg);
    seeds.push_back({"tls13_full", record_seed(0, c, data_close), {true, kTls13}});
  }
  {  // A TLS 1.2 full handshake, data, close_notify.
    reseed();
    v12::ClientConfig12 cfg;
    cfg.rng = &client_rng;
    cfg.tls13_capable = false;
    Client12 c(cfg);
    seeds.push_back({"tls12_full", record_seed(0, c, data_close), {true, kTls12}});
  }
  {  // TLS 1.3 with a ticket, then resumed with it.
    reseed();
    ClientConfig13 cfg = c13({});
    cfg.rng = &client_rng;
    Client13 c(cfg);
    seeds.push_back({"tls13_ticket", record_seed(4, c, data_close), {true, kTls13}});
    std::vector<Session> sessions = c.machine().take_sessions();
    if (!sessions.empty()) {
      reseed();
      ClientConfig13 rcfg = c13({});
      rcfg.rng = &client_rng;
      rcfg.session = &sessions.front();
      Client13 r(rcfg);
      seeds.push_back({"tls13_resumed", record_seed(4 | (2 << 3), r, data_close),
                       {true, kTls13, std::nullopt, true}});
    }
  }
  {  // TLS 1.2 with a ticket, then resumed with it, in pieces.
    reseed();
    v12::ClientConfig12 cfg;
    cfg.rng = &client_rng;
    cfg.session_ticket = true;
    cfg.server_name = "ed25519.test";
    Client12 c(cfg);
    seeds.push_back({"tls12_ticket", record_seed(4, c, data_close), {true, kTls12}});
    const v12::SavedSession12 saved = c.machine().saved_session();
    reseed();
    v12::ClientConfig12 rcfg = cfg;
    rcfg.rng = &client_rng;
    rcfg.resume = &saved;
    Client12 r(rcfg);
    seeds.push_back({"tls12_resumed", record_seed(4 | (3 << 3), r, data_close),
                     {true, kTls12, std::nullopt, true}});
  }
  {  // A ClientHello split over 7-byte records, then the handshake in 7-byte records.
    reseed();
    ClientConfig13 cfg = c13({});
    cfg.rng = &client_rng;
    Client13 c(cfg);
    c.record_size = 7;
    seeds.push_back({"tls13_split_hello", record_seed(5, c, data_close), {true, kTls13}});
  }
  {  // The same for TLS 1.2, against the TLS 1.2-only ChaCha20 configuration.
    reseed();
    v12::ClientConfig12 cfg;
    cfg.rng = &client_rng;
    cfg.groups = {0x0017};
    Client12 c(cfg);
    c.record_size = 7;
    seeds.push_back({"tls12_split_hello", record_seed(6, c, data_close), {true, kTls12}});
  }
  {  // A TLS 1.3 client against the P-256-only configuration: a HelloRetryRequest.
    reseed();
    ClientConfig13 cfg = c13({});
    cfg.rng = &client_rng;
    Client13 c(cfg);
    seeds.push_back({"tls13_hrr", record_seed(7, c, data_close), {true, kTls13}});
  }
  {  // A TLS 1.0 ClientHello: refused.
    reseed();
    v12::ClientConfig12 cfg;
    cfg.rng = &client_rng;
    cfg.legacy_version = 0x0301;
    Client12 c(cfg);
    seeds.push_back(
        {"tls10_hello", record_seed(0, c, nothing), {false, 0, Error::kProtocolVersion}});
  }
  {  // A TLS 1.2 client against the TLS 1.3-only configuration: refused.
    reseed();
    v12::ClientConfig12 cfg;
    cfg.rng = &client_rng;
    Client12 c(cfg);
    seeds.push_back(
        {"tls12_vs_min13", record_seed(1, c, nothing), {false, 0, Error::kProtocolVersion}});
  }
  {  // A TLS 1.2 client without a certificate where one is required.
    reseed();
    v12::ClientConfig12 cfg;
    cfg.rng = &client_rng;
    Client12 c(cfg);
    seeds.push_back({"tls12_no_client_cert", record_seed(3, c, nothing),
                     {false, kTls12, Error::kHandshakeFailure, false, true}});
  }
  {  // An SSLv2-format ClientHello (RFC 5246 §E.2): refused.
    Bytes hello = {0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00, 0x00, 0x10};
    hello.resize(0x30, 0x41);
    Bytes input{0};
    input.insert(input.end(), hello.begin(), hello.end());
    seeds.push_back({"sslv2_hello", input, {false, 0, Error::kProtocolVersion}});
  }
  for (const Seed& s : seeds) {
    const Outcome got = run(s.input);
    const bool ok = got.done == s.want.done && got.version == s.want.version &&
                    got.error == s.want.error && got.resumed == s.want.resumed &&
                    got.certificate_missing == s.want.certificate_missing;
    if (!ok) {
      std::fprintf(stderr, "seed %s: done %d version %04x error %d resumed %d missing %d\n",
                   s.name.c_str(), got.done, got.version,
                   got.error ? static_cast<int>(*got.error) : -1, got.resumed,
                   got.certificate_missing);
      trap();  // a seed must replay as recorded
    }
    std::ofstream(dir + "/" + s.name, std::ios::binary)
        .write(reinterpret_cast<const char*>(s.input.data()),
               static_cast<std::streamsize>(s.input.size()));
  }
}

}  // namespace linetls::tls::anyfuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("LT_ANY_FUZZ_SEEDS")) {
    linetls::tls::anyfuzz::write_seeds(dir);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  linetls::tls::anyfuzz::run(std::span<const uint8_t>(data, size));
  return 0;
}
