// TLS 1.3 handshake CPU in process: Server13 against Client13 over the record layer (the
// engine's ipsec-mb AeadBatch), with nothing but memory between them.
//
//   BM_Handshake13Full      full handshakes: X25519, ecdsa_secp256r1_sha256, AES-128-GCM
//   BM_Handshake13Resumed   resumed ones (psk_dhe_ke with X25519), each offering a ticket a
//                           previous handshake received
//   BM_Handshake13ResumedPskKe  the same with psk_ke (--tls13-psk-ke): no key exchange
//   BM_Handshake13Mtls      full handshakes with a client certificate (client256.pem, a P-256
//                           leaf signed by the root directly) verified against ca.pem, one
//                           CaStore for the whole run, as a server configuration has
//   BM_Handshake13MtlsCold  the same with a new CaStore for every handshake (made outside
//                           the server's phases): nothing verified before can help
//   BM_ServerPkFloor/full   the server's public-key work alone through lib/crypto: X25519
//                           keygen + derive and one ECDSA P-256 signature
//   BM_ServerPkFloor/resumed  X25519 keygen + derive alone
//   BM_ServerPkFloorMtls    the full floor plus two ECDSA P-256 verifications (the client's
//                           CertificateVerify and the root's signature on its certificate)
//
// Each iteration runs a batch of kBatch handshakes in lockstep: every client writes its
// flight, then the server side of every handshake takes what its client sent, one after
// another, then every client takes what its server sent, and so on. Only the server's
// phases count, so the server's code and data stay as warm as on a loaded server that runs
// handshakes back to back, and the client's work (parsing the server's certificate) does not
// evict the server's caches between two of its steps; the floor rows are measured hot too.
//
// Counters, per handshake, in µs:
//   server_us      thread CPU time of the server's phases: everything the server did
//   machine_us     the part inside Server13::handle() (key schedule, transcript, messages,
//                  signing, key exchange, tickets), by TSC, scaled to fit server_us
//   rec_us         the rest: the record layer around the machine (deframing, reassembly,
//                  traffic keys, AEAD seal/open of its flights)
//   client_us      the whole client side, for reference
// The certificates are tests/vectors/certs (path from LT_VECTORS, else the source tree).
#include <benchmark/benchmark.h>
#include <time.h>
#include <x86intrin.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "drivers/ipsecmb/ipsecmb_aead.h"
#include "drivers/ossl/ossl_aead.h"
#include "lib/crypto/cert.h"
#include "lib/crypto/key.h"
#include "lib/crypto/kx.h"
#include "lib/crypto/rng.h"
#include "lib/crypto/sig.h"
#include "lib/tls/client13.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/record.h"
#include "lib/tls/record_protection.h"
#include "lib/tls/server13.h"
#include "lib/tls/ticket13.h"

namespace linetls::tls {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr size_t kBatch = 32;

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "handshake_bench: %s\n", what);
  std::abort();
}

uint64_t thread_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    die(("cannot read " + path).c_str());
  }
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::string vectors_dir() {
  const char* env = std::getenv("LT_VECTORS");
  return env != nullptr ? std::string(env) : std::string(LT_SOURCE_ROOT "/tests/vectors");
}

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

const crypto::CertifiedKey& load_certified(const char* name) {
  const std::string pem = read_all(vectors_dir() + "/certs/" + name + ".pem");
  const std::string key = read_all(vectors_dir() + "/certs/" + name + ".key");
  auto r = crypto::CertifiedKey::from_pem(as_bytes(pem), as_bytes(key), {}, std::time(nullptr));
  if (!r) {
    die(("cannot load " + std::string(name)).c_str());
  }
  return *new crypto::CertifiedKey(std::move(r).value());
}

const crypto::CertifiedKey& ecdsa_cert() {
  static const crypto::CertifiedKey& ck = load_certified("ecdsa256");
  return ck;
}

const crypto::CertifiedKey& client_cert() {
  static const crypto::CertifiedKey& ck = load_certified("client256");
  return ck;
}

crypto::CaStore make_ca_store() {
  static const std::string pem = read_all(vectors_dir() + "/certs/ca.pem");
  auto s = crypto::CaStore::from_pem(as_bytes(pem));
  if (!s) {
    die("cannot load ca.pem");
  }
  return std::move(s).value();
}

// The engine's AEAD (ipsec-mb), or OpenSSL's where ipsec-mb cannot start.
std::unique_ptr<crypto::AeadBatch> make_batch(uint32_t capacity) {
  if (auto mb = ipsecmb::IpsecMbAeadBatch::create(capacity)) {
    return std::move(mb).value();
  }
  return ossl::OsslAeadBatch::create(capacity).value();
}

crypto::AeadBatch& batch() {
  static crypto::AeadBatch* b = make_batch(64).release();
  return *b;
}

// One endpoint: record layer + handshake reassembly + machine (the unit-test harness glue,
// minus its test hooks), with the TSC ticks spent inside the machine accounted.
template <typename M>
class Conn {
 public:
  template <typename Config>
  Conn(const Config& config, bool is_server) : machine_(config), is_server_(is_server) {}

  M& machine() { return machine_; }
  bool done() const { return machine_.wait() == Wait::kDone; }

  Bytes out;
  uint64_t machine_ticks = 0;  // inside start() / handle()

  void start() {
    if constexpr (requires(M m) { m.start(); }) {
      const uint64_t m0 = __rdtsc();
      const Wait w = machine_.start();
      machine_ticks += __rdtsc() - m0;
      after(w);
    }
  }

  void receive(std::span<const uint8_t> wire) {
    Bytes seg(wire.begin(), wire.end());
    std::span<uint8_t> piece(seg);
    while (!piece.empty()) {
      auto step = deframer_.next(piece);
      if (!step) {
        die("deframe");
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
      die("traffic keys");
    }
    auto p = RecordProtector::create(batch(), *keys);
    if (!p) {
      die("protector");
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
    for (size_t at = 0; at < data.size(); at += kMaxPlaintextLen) {
      const auto chunk = data.subspan(at, std::min(kMaxPlaintextLen, data.size() - at));
      Bytes rec(chunk.size() + (write_ ? kProtectedOverhead : kRecordHeaderLen));
      if (!write_) {
        write_record_header(rec.data(), type, static_cast<uint16_t>(chunk.size()));
        std::copy(chunk.begin(), chunk.end(), rec.begin() + kRecordHeaderLen);
      } else {
        std::copy(chunk.begin(), chunk.end(), rec.begin() + kRecordHeaderLen);
        RecordSlot slot;
        batch().clear();
        auto q = write_->queue_seal(batch(), rec, chunk.size(), type, 0, &slot);
        if (!q || !*q || batch().run() != 1) {
          die("seal");
        }
      }
      out.insert(out.end(), rec.begin(), rec.end());
    }
  }

  void after(Wait w) {
    if (w == Wait::kError) {
      die(to_string(machine_.error()).data());
    }
    if (w == Wait::kFlush) {
      Flight f = machine_.take_flight();
      for (size_t l = 0; l < kNumLevels; l++) {
        if (f.bytes[l].empty()) {
          continue;
        }
        set_write_level(static_cast<Level>(l));
        send_records(ContentType::kHandshake, f.bytes[l]);
      }
    }
    set_write_level(machine_.write_level());
  }

  void on_record(const Record& rec) {
    if (rec.type == ContentType::kChangeCipherSpec) {
      return;
    }
    InnerPlaintext inner;
    if (read_) {
      RecordSlot slot;
      batch().clear();
      auto q = read_->queue_open(batch(), rec, &slot);
      if (!q) {
        die("open");
      }
      batch().run();
      auto opened = finish_open(batch().status(0), slot);
      if (!opened) {
        die("open status");
      }
      inner = *opened;
    } else {
      inner.type = rec.type;
      inner.content = rec.fragment;
    }
    if (inner.type != ContentType::kHandshake) {
      die("unexpected record type");
    }
    std::span<const uint8_t> content = inner.content;
    while (!content.empty()) {
      auto step = reasm_.next(content);
      if (!step) {
        die("reassemble");
      }
      content = content.subspan(step->consumed);
      if (!step->has_message) {
        continue;
      }
      const uint64_t m0 = __rdtsc();
      const Wait w = machine_.handle(step->message);
      machine_ticks += __rdtsc() - m0;
      after(w);
      const Level want = machine_.read_level();
      if (want != read_level_) {
        if (!reasm_.check_key_change(content)) {
          die("key change");
        }
        read_level_ = want;
        read_ = protector(want, !is_server_);
        deframer_.set_protected(true);
      }
    }
  }

  M machine_;
  bool is_server_;
  Deframer deframer_;
  HandshakeReassembler reasm_;
  std::optional<RecordProtector> read_, write_;
  Level read_level_ = Level::kInitial;
  Level write_level_ = Level::kInitial;
};

struct Totals {
  uint64_t server_ns = 0;      // thread CPU of the server phases
  uint64_t machine_ticks = 0;  // TSC inside Server13::handle()
  uint64_t server_ticks = 0;   // TSC of the server phases
  uint64_t client_ns = 0;
  uint64_t handshakes = 0;
};

// Runs kBatch handshakes in lockstep (see the top of the file); returns the clients' new
// sessions. scfgs[i] and ccfgs[i] configure handshake i.
std::vector<Session> run_batch(std::span<const ServerConfig13* const> scfgs,
                               std::span<const ClientConfig13> ccfgs, bool want_resumed,
                               bool want_identity, Totals* totals, bool want_psk_ke = false) {
  std::vector<std::unique_ptr<Conn<Server13>>> servers;
  std::vector<std::unique_ptr<Conn<Client13>>> clients;
  servers.reserve(ccfgs.size());
  clients.reserve(ccfgs.size());
  uint64_t c0 = thread_ns();
  for (const ClientConfig13& ccfg : ccfgs) {
    clients.push_back(std::make_unique<Conn<Client13>>(ccfg, false));
    clients.back()->start();
  }
  totals->client_ns += thread_ns() - c0;
  for (size_t i = 0; i < ccfgs.size(); i++) {
    servers.push_back(std::make_unique<Conn<Server13>>(*scfgs[i], true));
  }
  for (int round = 0; round < 10; round++) {
    bool any = false;
    const uint64_t s0 = thread_ns();
    const uint64_t t0 = __rdtsc();
    for (size_t i = 0; i < ccfgs.size(); i++) {
      if (clients[i]->out.empty()) {
        continue;
      }
      any = true;
      Bytes to_s = std::move(clients[i]->out);
      clients[i]->out.clear();
      servers[i]->receive(to_s);
    }
    totals->server_ticks += __rdtsc() - t0;
    totals->server_ns += thread_ns() - s0;
    c0 = thread_ns();
    for (size_t i = 0; i < ccfgs.size(); i++) {
      if (servers[i]->out.empty()) {
        continue;
      }
      any = true;
      Bytes to_c = std::move(servers[i]->out);
      servers[i]->out.clear();
      clients[i]->receive(to_c);
    }
    totals->client_ns += thread_ns() - c0;
    if (!any) {
      break;
    }
  }
  std::vector<Session> sessions;
  for (size_t i = 0; i < ccfgs.size(); i++) {
    Server13& s = servers[i]->machine();
    if (!servers[i]->done() || !clients[i]->done() || s.resumed() != want_resumed ||
        s.peer_identity().has_value() != want_identity || s.psk_ke() != want_psk_ke) {
      die("handshake did not complete as expected");
    }
    totals->machine_ticks += servers[i]->machine_ticks;
    for (Session& t : clients[i]->machine().take_sessions()) {
      sessions.push_back(std::move(t));
    }
  }
  totals->handshakes += ccfgs.size();
  return sessions;
}

struct Setup {
  std::unique_ptr<crypto::AeadBatch> ticket_batch = make_batch(4);  // as the engine has them
  TicketKeys keys{*ticket_batch, crypto::os_rng()};
  ServerConfig13 scfg;
  ClientConfig13 ccfg;

  Setup() {
    if (!keys.rotate()) {
      die("ticket keys");
    }
    scfg.certificates.push_back(ServerCertificate::from(ecdsa_cert()));
    scfg.cipher_suites = {CipherSuite::kAes128GcmSha256};
    scfg.ticket_keys = &keys;
    ccfg.cipher_suites = {CipherSuite::kAes128GcmSha256};
    ccfg.key_share_groups = {crypto::NamedGroup::kX25519};
  }
};

void report(benchmark::State& state, const Totals& t) {
  const double n = static_cast<double>(t.handshakes);
  const double server_us = static_cast<double>(t.server_ns) / 1e3 / n;
  // The TSC split of the server phases, applied to their thread CPU time.
  const double machine_share =
      t.server_ticks == 0 ? 0 : static_cast<double>(t.machine_ticks) / static_cast<double>(t.server_ticks);
  state.counters["server_us"] = server_us;
  state.counters["machine_us"] = server_us * machine_share;
  state.counters["rec_us"] = server_us * (1 - machine_share);
  state.counters["client_us"] = static_cast<double>(t.client_ns) / 1e3 / n;
  state.SetItemsProcessed(static_cast<int64_t>(t.handshakes));
}

void run_full(benchmark::State& state, bool mtls, bool cold) {
  Setup setup;
  setup.scfg.tickets_to_send = 0;  // a full handshake as the engine's benchmark runs it
  std::optional<crypto::CaStore> ca;
  if (mtls) {
    ca.emplace(make_ca_store());
    setup.scfg.client_auth = ClientAuth::kRequired;
    setup.scfg.client_ca = &*ca;
    setup.ccfg.certificate = &client_cert();
  }
  // One server configuration per handshake, so that the cold row can give each handshake a
  // CaStore of its own.
  std::vector<ServerConfig13> configs(kBatch, setup.scfg);
  std::vector<const ServerConfig13*> scfgs;
  for (const ServerConfig13& c : configs) {
    scfgs.push_back(&c);
  }
  std::vector<std::optional<crypto::CaStore>> stores(kBatch);
  const auto fresh_stores = [&] {
    for (size_t i = 0; i < kBatch; i++) {
      stores[i].emplace(make_ca_store());
      configs[i].client_ca = &*stores[i];
    }
  };
  const std::vector<ClientConfig13> ccfgs(kBatch, setup.ccfg);
  if (cold) {
    fresh_stores();
  }
  Totals warm;
  run_batch(scfgs, ccfgs, false, mtls, &warm);  // first-use fetches, outside the count
  Totals t;
  for (auto _ : state) {
    if (cold) {
      fresh_stores();  // nothing verified before can count (outside the server phases)
    }
    run_batch(scfgs, ccfgs, false, mtls, &t);
  }
  report(state, t);
}

void BM_Handshake13Full(benchmark::State& state) { run_full(state, false, false); }
BENCHMARK(BM_Handshake13Full)->MinTime(2.0);

void BM_Handshake13Mtls(benchmark::State& state) { run_full(state, true, false); }
BENCHMARK(BM_Handshake13Mtls)->MinTime(2.0);

void BM_Handshake13MtlsCold(benchmark::State& state) { run_full(state, true, true); }
BENCHMARK(BM_Handshake13MtlsCold)->MinTime(2.0);

void run_resumed(benchmark::State& state, bool psk_ke) {
  Setup setup;
  setup.scfg.tickets_to_send = 1;
  if (psk_ke) {
    setup.scfg.allow_psk_ke = true;
    setup.ccfg.psk_modes = {0};
  }
  Totals warm;
  const std::vector<const ServerConfig13*> scfgs(kBatch, &setup.scfg);
  std::vector<ClientConfig13> ccfgs(kBatch, setup.ccfg);
  std::vector<Session> sessions = run_batch(scfgs, ccfgs, false, false, &warm);
  Totals t;
  for (auto _ : state) {
    if (sessions.size() != kBatch) {
      die("no tickets");
    }
    std::vector<Session> held = std::move(sessions);  // offered sessions must outlive the batch
    for (size_t i = 0; i < kBatch; i++) {
      ccfgs[i].session = &held[i];
    }
    sessions = run_batch(scfgs, ccfgs, true, false, &t, psk_ke);
  }
  report(state, t);
}

void BM_Handshake13Resumed(benchmark::State& state) { run_resumed(state, false); }
BENCHMARK(BM_Handshake13Resumed)->MinTime(2.0);

void BM_Handshake13ResumedPskKe(benchmark::State& state) { run_resumed(state, true); }
BENCHMARK(BM_Handshake13ResumedPskKe)->MinTime(2.0);

// The server's public-key work alone, through lib/crypto as Server13 calls it: X25519 keygen
// and derive, with full an ECDSA P-256 signature, with verifies that many ECDSA P-256
// verifications (an mTLS handshake checks the client's CertificateVerify and its certificate's
// signature).
void pk_floor(benchmark::State& state, bool full, int verifies) {
  auto peer = crypto::KeyShare::generate(crypto::NamedGroup::kX25519, crypto::os_rng());
  if (!peer) {
    die("peer keygen");
  }
  const crypto::PrivateKey& key = ecdsa_cert().key();
  const Bytes message(64 + 33 + 1 + 32, 0x20);
  Bytes sig(key.max_signature_len());
  Bytes checked(key.max_signature_len());  // what the verifications check
  auto checked_len =
      crypto::sign(key, crypto::SignatureScheme::kEcdsaSecp256r1Sha256, message, checked);
  auto server_pub = ecdsa_cert().leaf().public_key();
  if (!checked_len || !server_pub) {
    die("floor setup");
  }
  for (auto _ : state) {
    auto ours = crypto::KeyShare::generate(crypto::NamedGroup::kX25519, crypto::os_rng());
    if (!ours) {
      die("keygen");
    }
    auto secret = ours->derive(peer->public_key());
    if (!secret) {
      die("derive");
    }
    benchmark::DoNotOptimize(secret->view().data());
    if (full) {
      auto len = crypto::sign(key, crypto::SignatureScheme::kEcdsaSecp256r1Sha256, message, sig);
      if (!len) {
        die("sign");
      }
      benchmark::DoNotOptimize(sig.data());
    }
    for (int v = 0; v < verifies; v++) {
      if (!crypto::verify(*server_pub, crypto::SignatureScheme::kEcdsaSecp256r1Sha256, message,
                          std::span(checked).first(*checked_len))) {
        die("verify");
      }
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ServerPkFloor(benchmark::State& state) { pk_floor(state, state.range(0) == 1, 0); }
BENCHMARK(BM_ServerPkFloor)->ArgName("full")->Arg(1)->Arg(0)->MinTime(2.0);

void BM_ServerPkFloorMtls(benchmark::State& state) { pk_floor(state, true, 2); }
BENCHMARK(BM_ServerPkFloorMtls)->MinTime(2.0);

}  // namespace
}  // namespace linetls::tls
