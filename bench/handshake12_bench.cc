// TLS 1.2 handshake CPU in process: v12::Server12 against v12::Client12 over the TLS 1.2
// record layer (RecordProtector12 on the engine's AEAD batch, drivers/ipsecmb; the OpenSSL
// batch if ipsec-mb cannot start, see the row's label), with nothing but memory between
// them. Every row: ECDHE-ECDSA-AES128-GCM-SHA256, X25519, the server certificate
// tests/vectors/certs/ecdsa256.pem (path from LT_VECTORS, else the source tree), the
// extended master secret (RFC 7627), server ticket keys configured as the engine does, no
// session-ID cache.
//
//   BM_Handshake12Full       full handshakes; the client does not offer the SessionTicket
//                            extension, so no ticket is sealed (comparable with a full
//                            handshake elsewhere, and with BM_Handshake13Full)
//   BM_Handshake12Resumed    abbreviated handshakes resuming with an RFC 5077 ticket. Each
//                            of the K clients offers the ticket its handshake of the
//                            previous batch received (the first from a warm-up full
//                            handshake): Server12 opens it and, as the client sends the
//                            extension, seals a renewed one (that is in server_us).
//   BM_Handshake12Mtls       full handshakes with client authentication required: one
//                            CaStore from certs/ca.pem for the whole benchmark (a server
//                            configuration), the client presents certs/client256.pem (a
//                            P-256 leaf signed by the root: verifying it takes the leaf's
//                            signature and the CertificateVerify). Every client sends the
//                            same chain, so whatever the CaStore caches per chain (its
//                            per-thread verification cache) answers for all but the first.
//   BM_Handshake12MtlsCold   the same with a freshly constructed CaStore for EACH handshake
//                            of every batch (one server configuration per slot), so nothing
//                            verified before can be cached in the store or its CA
//                            certificate: every handshake parses the leaf and runs the
//                            chain verification. The stores are built outside the timed
//                            phases (they do count in the wall time).
//
// Counters, per handshake, in thread CPU microseconds (the same names as the 1.3 bench):
//   server_us        everything the server did: machine_us + rec_us
//   machine_us       inside Server12's calls: handle() and handle_change_cipher_spec() (the
//                    machine: parsing and writing messages, transcript, ECDHE, signing, the
//                    PRF, tickets, chain and CertificateVerify checks)
//   rec_us           the server's record layer around it: deframing, reassembly and
//                    message rules, taking the flights, record framing, installing the
//                    keys at each ChangeCipherSpec (AEAD key expansion) and the AEAD
//                    open/seal of its records
//   client_us        the whole client side, for reference
// Time (wall) and CPU (the benchmark thread's, both sides) are per iteration, i.e. per
// batch of K handshakes; items_per_second is handshakes per second of that CPU time.
//
// Batch design. Each iteration runs K = 32 handshakes in lockstep phases: every client
// writes its ClientHello; then the server side of each handshake consumes what its client
// sent, one handshake after another; then every client consumes what its server sent; and
// so on until all K are done. Only the server phases count towards the server counters,
// measured with CLOCK_THREAD_CPUTIME_ID around each whole phase. So the server's code and
// data stay as warm as on a loaded server running many handshakes back to back, and the
// client's work (certificate parsing, signature checks, ...) does not evict the server's
// caches between two of its steps, as it would with one handshake at a time.
// The split between machine_us and rec_us is taken inside each phase with
// CLOCK_MONOTONIC (vDSO, ~20 ns a call) around every machine call, and the phase's thread
// CPU time is divided in that proportion: CLOCK_THREAD_CPUTIME_ID is a system call here
// (0.5 to 1.2 us a call), and timing each machine call with it would add several
// microseconds per handshake.
// Connection objects (the machines, deframers, ...) are constructed and destroyed outside
// the timed phases, as in the 1.3 bench.
#include <benchmark/benchmark.h>
#include <time.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "drivers/ipsecmb/ipsecmb_aead.h"
#include "drivers/ossl/ossl_aead.h"
#include "lib/crypto/cert.h"
#include "lib/crypto/key.h"
#include "lib/crypto/rng.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/record.h"
#include "lib/tls/ticket13.h"
#include "lib/tls/v12/client12.h"
#include "lib/tls/v12/handshake12.h"
#include "lib/tls/v12/messages12.h"
#include "lib/tls/v12/record12.h"
#include "lib/tls/v12/server12.h"

namespace linetls::tls::v12 {
namespace {

using Bytes = std::vector<uint8_t>;

constexpr size_t kBatch = 32;  // handshakes per iteration, in lockstep

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "handshake12_bench: %s\n", what);
  std::abort();
}

uint64_t clock_ns(clockid_t id) {
  timespec ts;
  clock_gettime(id, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}
uint64_t thread_ns() { return clock_ns(CLOCK_THREAD_CPUTIME_ID); }
uint64_t mono_ns() { return clock_ns(CLOCK_MONOTONIC); }

std::string read_all(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    die(("cannot read " + path).c_str());
  }
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

std::span<const uint8_t> as_bytes(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

std::string vectors_dir() {
  const char* env = std::getenv("LT_VECTORS");
  return env != nullptr ? std::string(env) : std::string(LT_SOURCE_ROOT "/tests/vectors");
}

const crypto::CertifiedKey& load_key(const char* name) {
  const std::string pem = read_all(vectors_dir() + "/certs/" + name + ".pem");
  const std::string key = read_all(vectors_dir() + "/certs/" + name + ".key");
  auto r = crypto::CertifiedKey::from_pem(as_bytes(pem), as_bytes(key), {}, std::time(nullptr));
  if (!r) {
    die((std::string("cannot load ") + name).c_str());
  }
  return *new crypto::CertifiedKey(std::move(r).value());
}

const crypto::CertifiedKey& server_cert() {
  static const crypto::CertifiedKey& ck = load_key("ecdsa256");
  return ck;
}

const crypto::CertifiedKey& client_cert() {
  static const crypto::CertifiedKey& ck = load_key("client256");
  return ck;
}

const std::string& ca_pem() {
  static const std::string* pem = new std::string(read_all(vectors_dir() + "/certs/ca.pem"));
  return *pem;
}

std::unique_ptr<crypto::CaStore> make_ca_store() {
  auto s = crypto::CaStore::from_pem(as_bytes(ca_pem()));
  if (!s) {
    die("cannot load ca.pem");
  }
  return std::make_unique<crypto::CaStore>(std::move(s).value());
}

// The engine's AEAD batch: ipsec-mb, else OpenSSL (the label says which).
std::unique_ptr<crypto::AeadBatch> make_batch(uint32_t capacity) {
  auto b = ipsecmb::IpsecMbAeadBatch::create(capacity);
  if (b) {
    return std::move(b).value();
  }
  std::fprintf(stderr, "handshake12_bench: ipsec-mb unavailable, using the OpenSSL batch\n");
  auto o = ossl::OsslAeadBatch::create(capacity);
  if (!o) {
    die("no AEAD batch");
  }
  return std::move(o).value();
}

// The server's batch and the clients' (kept apart, so the clients' AEAD state does not
// share the server's).
crypto::AeadBatch& server_batch() {
  static crypto::AeadBatch* b = make_batch(64).release();
  return *b;
}
crypto::AeadBatch& client_batch() {
  static crypto::AeadBatch* b = make_batch(64).release();
  return *b;
}

// One endpoint: deframer + handshake reassembler + TLS 1.2 record protection + machine, the
// glue of ServerSession12 (server side) and the unit tests' ClientConn12 (client side)
// without their alert and application-data handling. Time inside the machine's calls is
// added to *machine_ns on CLOCK_MONOTONIC (see the header).
template <typename M>
class Conn {
 public:
  static constexpr bool kServer = std::is_same_v<M, Server12>;

  template <typename Config>
  Conn(const Config& config, crypto::AeadBatch& batch, uint64_t* machine_ns)
      : machine_(config), batch_(batch), machine_ns_(machine_ns) {}
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  M& machine() { return machine_; }
  const M& machine() const { return machine_; }
  bool done() const { return machine_.wait() == Wait::kDone; }

  Bytes out;  // records for the peer

  void start() {
    if constexpr (!kServer) {
      after(timed([&] { return machine_.start(); }));
    }
  }

  // Consumes wire (whole records; decrypted in place).
  void receive(Bytes& wire) {
    std::span<uint8_t> piece(wire);
    while (!piece.empty()) {
      auto step = deframer_.next(piece);
      if (!step) {
        die("deframe");
      }
      if (step->consumed == 0 && !step->has_record) {
        die("deframer stuck");
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
  template <typename F>
  Wait timed(F f) {
    const uint64_t t0 = mono_ns();
    const Wait w = f();
    *machine_ns_ += mono_ns() - t0;
    return w;
  }

  const DirectionKeys& peer_keys() const {
    return kServer ? machine_.keys().client_write : machine_.keys().server_write;
  }
  const DirectionKeys& own_keys() const {
    return kServer ? machine_.keys().server_write : machine_.keys().client_write;
  }

  RecordProtector12 protector(const DirectionKeys& keys) {
    auto p = RecordProtector12::create(batch_, keys);
    if (!p) {
      die("protector");
    }
    return std::move(p).value();
  }

  void send_records(ContentType type, std::span<const uint8_t> data) {
    size_t at = 0;
    do {
      const size_t n = std::min(kMaxPlaintextLen, data.size() - at);
      const auto chunk = data.subspan(at, n);
      const size_t base = out.size();
      if (!write_) {
        out.resize(base + kRecordHeaderLen + n);
        write_record_header(out.data() + base, type, static_cast<uint16_t>(n), kRecordVersion);
        std::memcpy(out.data() + base + kRecordHeaderLen, chunk.data(), n);
      } else {
        out.resize(base + n + write_->overhead());
        const std::span<uint8_t> rec(out.data() + base, n + write_->overhead());
        std::memcpy(rec.data() + kRecordHeaderLen + explicit_nonce_len(write_->algo()),
                    chunk.data(), n);
        RecordSlot12 slot;
        batch_.clear();
        auto q = write_->queue_seal(batch_, rec, type, &slot);
        if (!q || !*q || batch_.run() != 1) {
          die("seal");
        }
        batch_.clear();
      }
      at += n;
    } while (at < data.size());
  }

  // After a machine call: die on an error, frame a flight (our ChangeCipherSpec switches
  // the write keys, RFC 5246 §7.1).
  void after(Wait w) {
    if (w == Wait::kError) {
      die(to_string(machine_.error()).data());
    }
    if (w != Wait::kFlush) {
      return;
    }
    Flight12 f = machine_.take_flight();
    if (!f.handshake.empty()) {
      send_records(ContentType::kHandshake, f.handshake);
    }
    if (f.change_cipher_spec) {
      const uint8_t one = 1;
      send_records(ContentType::kChangeCipherSpec, {&one, 1});
      write_.emplace(protector(own_keys()));
    }
    if (!f.after_ccs.empty()) {
      send_records(ContentType::kHandshake, f.after_ccs);
    }
  }

  void on_record(const Record& rec) {
    ContentType type = rec.type;
    std::span<uint8_t> content = rec.fragment;
    if (read_) {
      RecordSlot12 slot;
      batch_.clear();
      auto q = read_->queue_open(batch_, rec, &slot);
      if (!q || !*q) {
        die("open");
      }
      batch_.run();
      auto pt = finish_open(batch_.status(0), slot);
      batch_.clear();
      if (!pt) {
        die("open status");
      }
      type = pt->type;
      content = pt->content;
    }
    switch (type) {
      case ContentType::kChangeCipherSpec: {
        if (read_ || !parse_change_cipher_spec(content)) {
          die("unexpected change_cipher_spec");
        }
        const bool pending = reasm_.mid_message();
        after(timed([&] { return machine_.handle_change_cipher_spec(pending); }));
        // §7.1: the read pending state becomes current; sequence numbers start at zero.
        read_.emplace(protector(peer_keys()));
        deframer_.set_protected(true);
        if constexpr (kServer) {
          deframer_.set_strict_version(true);
        }
        return;
      }
      case ContentType::kHandshake:
        on_handshake(content);
        return;
      default:
        die("unexpected record type");
    }
  }

  void on_handshake(std::span<const uint8_t> content) {
    while (!content.empty()) {
      MessageRules rules;
      if constexpr (kServer) {
        rules = machine_.next_message_rules(kDefaultMaxClientHelloLen,
                                            kDefaultMaxHandshakeMessageLen);
      }
      auto step = reasm_.next(content, rules.view());
      if (!step) {
        die("reassemble");
      }
      content = content.subspan(step->consumed);
      if (!step->has_message) {
        continue;
      }
      after(timed([&] { return machine_.handle(step->message); }));
    }
    reasm_.trim();
  }

  M machine_;
  crypto::AeadBatch& batch_;
  uint64_t* machine_ns_;
  Deframer deframer_;
  HandshakeReassembler reasm_;
  std::optional<RecordProtector12> read_, write_;
};

struct Pair {
  Pair(const ServerConfig12& sc, const ClientConfig12& cc, uint64_t* server_machine_ns,
       uint64_t* client_machine_ns)
      : s(sc, server_batch(), server_machine_ns), c(cc, client_batch(), client_machine_ns) {}
  Conn<Server12> s;
  Conn<Client12> c;
};

struct Totals {
  uint64_t server_ns = 0;          // thread CPU of the server phases
  double server_machine_ns = 0;    // the machine's share of it
  uint64_t client_ns = 0;          // thread CPU of the client phases
  uint64_t handshakes = 0;
};

using ServerConfigs = std::array<const ServerConfig12*, kBatch>;
using ClientConfigs = std::array<const ClientConfig12*, kBatch>;

// Runs kBatch handshakes in lockstep phases (see the header), checks each with
// check(server, client) and returns the pairs, done.
template <typename Check>
std::vector<std::unique_ptr<Pair>> run_batch(const ServerConfigs& scfg, const ClientConfigs& ccfg,
                                             Totals* t, Check check) {
  uint64_t server_machine = 0;
  uint64_t client_machine = 0;
  std::vector<std::unique_ptr<Pair>> pairs;
  pairs.reserve(kBatch);
  for (size_t i = 0; i < kBatch; i++) {
    pairs.push_back(std::make_unique<Pair>(*scfg[i], *ccfg[i], &server_machine, &client_machine));
  }
  uint64_t c0 = thread_ns();
  for (auto& p : pairs) {
    p->c.start();
  }
  t->client_ns += thread_ns() - c0;
  for (int round = 0;; round++) {
    if (round == 10) {
      die("handshakes do not finish");
    }
    bool any = false;
    // The server phase.
    const uint64_t machine_before = server_machine;
    const uint64_t s0 = thread_ns();
    const uint64_t m0 = mono_ns();
    for (auto& p : pairs) {
      if (!p->c.out.empty()) {
        p->s.receive(p->c.out);
        p->c.out.clear();
        any = true;
      }
    }
    const uint64_t m1 = mono_ns();
    const uint64_t s1 = thread_ns();
    if (!any) {
      break;
    }
    const uint64_t phase_cpu = s1 - s0;
    const uint64_t phase_mono = m1 - m0;
    t->server_ns += phase_cpu;
    if (phase_mono != 0) {
      t->server_machine_ns += static_cast<double>(server_machine - machine_before) *
                              static_cast<double>(phase_cpu) / static_cast<double>(phase_mono);
    }
    // The client phase.
    c0 = thread_ns();
    for (auto& p : pairs) {
      if (!p->s.out.empty()) {
        p->c.receive(p->s.out);
        p->s.out.clear();
      }
    }
    t->client_ns += thread_ns() - c0;
  }
  for (auto& p : pairs) {
    if (!p->s.done() || !p->c.done()) {
      die("handshake did not complete");
    }
    check(p->s.machine(), p->c.machine());
  }
  t->handshakes += kBatch;
  return pairs;
}

// The configuration every row starts from: one suite, one group, the ECDSA certificate,
// ticket keys on the server (as the engine has them), EMS on both sides (the defaults).
struct Setup {
  std::unique_ptr<crypto::AeadBatch> ticket_batch = make_batch(4);
  TicketKeys keys{*ticket_batch, crypto::os_rng()};
  ServerConfig12 scfg;
  ClientConfig12 ccfg;
  Certificate12 client_certificate = Certificate12::from(client_cert());

  Setup() {
    if (!keys.rotate()) {
      die("ticket keys");
    }
    scfg.certificates.push_back(Certificate12::from(server_cert()));
    scfg.cipher_suites = {CipherSuite::kEcdheEcdsaAes128GcmSha256};
    scfg.groups = {crypto::NamedGroup::kX25519};
    scfg.ticket_keys = &keys;
    ccfg.cipher_suites = {static_cast<uint16_t>(CipherSuite::kEcdheEcdsaAes128GcmSha256)};
    // secp256r1 too: RFC 8422 §5.1 lets the server use the ECDSA P-256 certificate only
    // when the client lists its curve. The server's groups make the key exchange X25519.
    ccfg.groups = {static_cast<uint16_t>(crypto::NamedGroup::kX25519),
                   static_cast<uint16_t>(crypto::NamedGroup::kSecp256r1)};
    ccfg.session_ticket = false;
  }

  ServerConfigs servers() const {
    ServerConfigs a;
    a.fill(&scfg);
    return a;
  }
  ClientConfigs clients() const {
    ClientConfigs a;
    a.fill(&ccfg);
    return a;
  }
};

void report(benchmark::State& state, const Totals& t) {
  const double n = static_cast<double>(t.handshakes);
  state.counters["server_us"] = static_cast<double>(t.server_ns) / 1e3 / n;
  state.counters["machine_us"] = t.server_machine_ns / 1e3 / n;
  state.counters["rec_us"] = (static_cast<double>(t.server_ns) - t.server_machine_ns) / 1e3 / n;
  state.counters["client_us"] = static_cast<double>(t.client_ns) / 1e3 / n;
  state.SetItemsProcessed(static_cast<int64_t>(t.handshakes));
  state.SetLabel(server_batch().impl_name());
}

// The suite and group every row negotiates.
bool negotiated(const Server12& s) {
  return s.suite().suite == CipherSuite::kEcdheEcdsaAes128GcmSha256 &&
         s.group() == crypto::NamedGroup::kX25519;
}

void check_full(const Server12& s, const Client12& c) {
  if (!negotiated(s) || s.resumed() || c.resumed() || s.ticket_sent() || !s.extended_master_secret() ||
      !c.extended_master_secret() || s.client_identity() || c.certificate_requested()) {
    die("full handshake did not complete as expected");
  }
}

void BM_Handshake12Full(benchmark::State& state) {
  Setup setup;
  const ServerConfigs sc = setup.servers();
  const ClientConfigs cc = setup.clients();
  Totals warm;
  run_batch(sc, cc, &warm, check_full);  // first-use fetches, outside the loop
  Totals t;
  for (auto _ : state) {
    run_batch(sc, cc, &t, check_full);
  }
  report(state, t);
}
BENCHMARK(BM_Handshake12Full)->MinTime(2.0);

void BM_Handshake12Resumed(benchmark::State& state) {
  Setup setup;
  const ServerConfigs sc = setup.servers();
  // One client configuration per slot: each offers its own session.
  std::vector<std::unique_ptr<ClientConfig12>> configs;
  ClientConfigs cc;
  for (size_t i = 0; i < kBatch; i++) {
    configs.push_back(std::make_unique<ClientConfig12>(setup.ccfg));
    cc[i] = configs.back().get();
  }
  // The warm-up: full handshakes that ask for a ticket.
  for (auto& c : configs) {
    c->session_ticket = true;
  }
  std::vector<SavedSession12> sessions;
  {
    Totals warm;
    auto pairs = run_batch(sc, cc, &warm, [](const Server12& s, const Client12& c) {
      if (s.resumed() || c.resumed() || !s.ticket_sent()) {
        die("warm-up handshake did not complete as expected");
      }
    });
    for (auto& p : pairs) {
      sessions.push_back(p->c.machine().saved_session());
      if (sessions.back().ticket.empty()) {
        die("no ticket");
      }
    }
  }
  for (auto& c : configs) {
    c->session_ticket = false;  // offering a ticket sends the extension anyway
  }
  const auto check_resumed = [](const Server12& s, const Client12& c) {
    // Server12 renews the ticket on every resumption (RFC 5077 §3.3).
    if (s.suite().suite != CipherSuite::kEcdheEcdsaAes128GcmSha256 || !s.resumed() ||
        !c.resumed() || !s.ticket_sent() || !s.extended_master_secret()) {
      die("resumption did not complete as expected");
    }
  };
  // Offers sessions (held until the batch is done) and moves to the renewed ones.
  const auto resume_batch = [&](Totals* t) {
    std::vector<SavedSession12> held = std::move(sessions);
    for (size_t i = 0; i < kBatch; i++) {
      configs[i]->resume = &held[i];
    }
    auto pairs = run_batch(sc, cc, t, check_resumed);
    sessions.clear();
    for (auto& p : pairs) {
      sessions.push_back(p->c.machine().saved_session());
      if (sessions.back().ticket.empty()) {
        die("no renewed ticket");
      }
    }
  };
  Totals warm;
  resume_batch(&warm);
  Totals t;
  for (auto _ : state) {
    resume_batch(&t);
  }
  report(state, t);
}
BENCHMARK(BM_Handshake12Resumed)->MinTime(2.0);

void check_mtls(const Server12& s, const Client12& c) {
  const auto& id = s.client_identity();
  if (!negotiated(s) || s.resumed() || c.resumed() || s.ticket_sent() ||
      !s.extended_master_secret() || !c.certificate_requested() ||
      !c.sent_certificate() || !id || id->common_name != "client256.test") {
    die("mTLS handshake did not complete as expected");
  }
}

void mtls_config(Setup& setup, const crypto::CaStore& store) {
  setup.scfg.client_auth = ClientAuth::kRequired;
  setup.scfg.client_ca = &store;
  const auto names = store.subject_names();
  setup.scfg.client_ca_names.assign(names.begin(), names.end());
  setup.ccfg.certificate = &setup.client_certificate;
}

void BM_Handshake12Mtls(benchmark::State& state) {
  Setup setup;
  const std::unique_ptr<crypto::CaStore> store = make_ca_store();  // one for the benchmark
  mtls_config(setup, *store);
  const ServerConfigs sc = setup.servers();
  const ClientConfigs cc = setup.clients();
  Totals warm;
  run_batch(sc, cc, &warm, check_mtls);
  Totals t;
  for (auto _ : state) {
    run_batch(sc, cc, &t, check_mtls);
  }
  report(state, t);
}
BENCHMARK(BM_Handshake12Mtls)->MinTime(2.0);

void BM_Handshake12MtlsCold(benchmark::State& state) {
  Setup setup;
  const std::unique_ptr<crypto::CaStore> first = make_ca_store();
  mtls_config(setup, *first);
  // One server configuration per slot, each pointed at a store of its own every batch.
  std::vector<std::unique_ptr<ServerConfig12>> configs;
  ServerConfigs sc;
  for (size_t i = 0; i < kBatch; i++) {
    configs.push_back(std::make_unique<ServerConfig12>(setup.scfg));
    sc[i] = configs.back().get();
  }
  const ClientConfigs cc = setup.clients();
  std::vector<std::unique_ptr<crypto::CaStore>> stores(kBatch);
  const auto fresh_stores = [&] {
    for (size_t i = 0; i < kBatch; i++) {
      stores[i] = make_ca_store();
      configs[i]->client_ca = stores[i].get();
    }
  };
  Totals warm;
  fresh_stores();
  run_batch(sc, cc, &warm, check_mtls);
  Totals t;
  for (auto _ : state) {
    fresh_stores();  // untimed: outside the server phases (it counts in the wall time)
    run_batch(sc, cc, &t, check_mtls);
  }
  report(state, t);
}
BENCHMARK(BM_Handshake12MtlsCold)->MinTime(2.0);

}  // namespace
}  // namespace linetls::tls::v12
