// TLS 1.3 handshake CPU in process: Server13 against Client13 over the record layer (the
// OpenSSL AeadBatch), with nothing but memory between them.
//
//   BM_Handshake13Full      a full handshake: X25519, ecdsa_secp256r1_sha256, AES-128-GCM
//   BM_Handshake13Resumed   a resumed one (psk_dhe_ke with X25519), offering the ticket the
//                           previous iteration's server sent
//   BM_ServerPkFloor/full   the server's public-key work alone through lib/crypto: X25519
//                           keygen + derive and one ECDSA P-256 signature
//   BM_ServerPkFloor/resumed  X25519 keygen + derive alone
//
// Counters, per handshake, in thread CPU microseconds:
//   server_us        Server13::handle() (the machine: key schedule, transcript, messages,
//                    signing, key exchange, tickets)
//   server_rec_us    the server's record layer around it (deframing, reassembly, traffic key
//                    derivation and AEAD seal/open of its flights)
//   client_us        the whole client side, for reference
// The wall time per iteration covers both sides. The certificate is
// tests/vectors/certs/ecdsa256.pem (path from LT_VECTORS, else the source tree).
#include <benchmark/benchmark.h>
#include <time.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

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

const crypto::CertifiedKey& ecdsa_cert() {
  static const crypto::CertifiedKey* ck = [] {
    const std::string pem = read_all(vectors_dir() + "/certs/ecdsa256.pem");
    const std::string key = read_all(vectors_dir() + "/certs/ecdsa256.key");
    auto r = crypto::CertifiedKey::from_pem(
        std::span(reinterpret_cast<const uint8_t*>(pem.data()), pem.size()),
        std::span(reinterpret_cast<const uint8_t*>(key.data()), key.size()), {}, std::time(nullptr));
    if (!r) {
      die("cannot load ecdsa256");
    }
    return new crypto::CertifiedKey(std::move(r).value());
  }();
  return *ck;
}

crypto::AeadBatch& batch() {
  static crypto::AeadBatch* b = ossl::OsslAeadBatch::create(64).value().release();
  return *b;
}

// One endpoint: record layer + handshake reassembly + machine (the unit-test harness glue,
// minus its test hooks), with the machine's and the record layer's CPU time accounted.
template <typename M>
class Conn {
 public:
  template <typename Config>
  Conn(const Config& config, bool is_server) : machine_(config), is_server_(is_server) {}

  M& machine() { return machine_; }
  bool done() const { return machine_.wait() == Wait::kDone; }

  Bytes out;
  uint64_t machine_ns = 0;  // inside start() / handle()
  uint64_t total_ns = 0;    // everything this endpoint did

  void start() {
    const uint64_t t0 = thread_ns();
    if constexpr (requires(M m) { m.start(); }) {
      const uint64_t m0 = thread_ns();
      const Wait w = machine_.start();
      machine_ns += thread_ns() - m0;
      after(w);
    }
    total_ns += thread_ns() - t0;
  }

  void receive(std::span<const uint8_t> wire) {
    const uint64_t t0 = thread_ns();
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
    total_ns += thread_ns() - t0;
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
      const uint64_t m0 = thread_ns();
      const Wait w = machine_.handle(step->message);
      machine_ns += thread_ns() - m0;
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
  uint64_t server_ns = 0;
  uint64_t server_rec_ns = 0;
  uint64_t client_ns = 0;
};

// Runs one handshake to completion; returns the client's new sessions.
std::vector<Session> run_once(const ServerConfig13& scfg, const ClientConfig13& ccfg,
                              bool want_resumed, Totals* totals) {
  Conn<Server13> s(scfg, true);
  Conn<Client13> c(ccfg, false);
  c.start();
  for (int round = 0; round < 10 && (!c.out.empty() || !s.out.empty()); round++) {
    Bytes to_s = std::move(c.out);
    c.out.clear();
    s.receive(to_s);
    Bytes to_c = std::move(s.out);
    s.out.clear();
    c.receive(to_c);
  }
  if (!s.done() || !c.done() || s.machine().resumed() != want_resumed) {
    die("handshake did not complete as expected");
  }
  totals->server_ns += s.machine_ns;
  totals->server_rec_ns += s.total_ns - s.machine_ns;
  totals->client_ns += c.total_ns;
  return c.machine().take_sessions();
}

struct Setup {
  std::unique_ptr<ossl::OsslAeadBatch> ticket_batch = ossl::OsslAeadBatch::create(1).value();
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
  const double n = static_cast<double>(state.iterations());
  state.counters["server_us"] = static_cast<double>(t.server_ns) / 1e3 / n;
  state.counters["server_rec_us"] = static_cast<double>(t.server_rec_ns) / 1e3 / n;
  state.counters["client_us"] = static_cast<double>(t.client_ns) / 1e3 / n;
  state.SetItemsProcessed(state.iterations());
}

void BM_Handshake13Full(benchmark::State& state) {
  Setup setup;
  setup.scfg.tickets_to_send = 0;  // a full handshake as the engine's benchmark runs it
  Totals warm;
  run_once(setup.scfg, setup.ccfg, false, &warm);  // first-use fetches, outside the loop
  Totals t;
  for (auto _ : state) {
    run_once(setup.scfg, setup.ccfg, false, &t);
  }
  report(state, t);
}
BENCHMARK(BM_Handshake13Full)->MinTime(2.0);

void BM_Handshake13Resumed(benchmark::State& state) {
  Setup setup;
  setup.scfg.tickets_to_send = 1;
  Totals warm;
  std::vector<Session> sessions = run_once(setup.scfg, setup.ccfg, false, &warm);
  Totals t;
  for (auto _ : state) {
    if (sessions.empty()) {
      die("no ticket");
    }
    std::vector<Session> held = std::move(sessions);  // the offered session must outlive it
    setup.ccfg.session = &held[0];
    sessions = run_once(setup.scfg, setup.ccfg, true, &t);
  }
  report(state, t);
}
BENCHMARK(BM_Handshake13Resumed)->MinTime(2.0);

// The server's public-key work alone, through lib/crypto as Server13 calls it.
void BM_ServerPkFloor(benchmark::State& state) {
  const bool full = state.range(0) == 1;
  auto peer = crypto::KeyShare::generate(crypto::NamedGroup::kX25519, crypto::os_rng());
  if (!peer) {
    die("peer keygen");
  }
  const crypto::PrivateKey& key = ecdsa_cert().key();
  const Bytes message(64 + 33 + 1 + 32, 0x20);
  Bytes sig(key.max_signature_len());
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
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ServerPkFloor)->ArgName("full")->Arg(1)->Arg(0)->MinTime(2.0);

}  // namespace
}  // namespace linetls::tls
