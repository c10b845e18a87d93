// libFuzzer target: arbitrary bytes as the SERVER's side of a client session (the session
// facade holding ClientSession13 or ClientSession12, as linetls-perf and the engine's
// connect_tls run it), cut into arbitrary pieces and driven the way the engine drives a
// session (tests/fuzz/session_driver.h): a server is untrusted input to a client too.
//
// Input: byte 0 picks the version (bit 0: TLS 1.3 or 1.2), whether the server's chain is
// verified against the test root (bit 1), tight or default SessionLimits (bit 2) and the
// pattern the rest is cut into (bits 3..7, as tls_session_fuzz). The client's randomness is
// a SeededRng reset per input, so its ClientHello is the same for every input of a mode: a
// seed recorded from our own server (LT_CLIENT_FUZZ_SEEDS=dir writes them) completes the
// handshake on replay, and mutations reach the encrypted states.
//
// Traps: those of the driver (a second alert, output after closed(), a length other than
// announced, application data before the handshake, an error without error(), ...).
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
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
#include "lib/tls/server13.h"
#include "lib/tls/v12/client12.h"
#include "lib/tls/v12/server12.h"
#include "lib/tls/v12/server_session.h"
#include "tests/fuzz/fuzz_certs.h"
#include "tests/fuzz/session_driver.h"

namespace linetls::tls::clientfuzz {

using Bytes = std::vector<uint8_t>;
using fuzz_certs::kCertPem;
using fuzz_certs::kKeyPem;
using fuzz_certs::kCaPem;


constexpr uint64_t kClientRngSeed = 0x636c6931;  // "cli1"
constexpr uint64_t kServerRngSeed = 0x73727631;  // "srv1"
constexpr std::time_t kNow = 1800000000;
constexpr uint32_t kBatchCapacity = 8;

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

[[noreturn]] inline void trap() { __builtin_trap(); }

struct Fixture {
  crypto::CertifiedKey key;
  crypto::CaStore ca;
  std::unique_ptr<ossl::OsslAeadBatch> batch;
  std::unique_ptr<ossl::OsslAeadBatch> server_batch;
  std::optional<crypto::SeededRng> client_rng;
  std::optional<crypto::SeededRng> server_rng;
  ClientConfig13 c13[2];  // [verify]
  v12::ClientConfig12 c12[2];
  ClientSessionConfig sc[2][2];  // [version is 1.2][verify]
  // The server that records seeds.
  std::unique_ptr<ossl::OsslAeadBatch> ticket_batch;
  std::optional<TicketKeys> tickets;
  ServerConfig13 s13;
  v12::ServerConfig12 s12;
  ServerSessionConfig ssc;

  Fixture()
      : key(crypto::CertifiedKey::from_pem(as_bytes(kCertPem), as_bytes(kKeyPem),
                                           std::string_view{}, kNow)
                .value()),
        ca(crypto::CaStore::from_pem(as_bytes(kCaPem)).value()),
        batch(ossl::OsslAeadBatch::create(kBatchCapacity).value()),
        server_batch(ossl::OsslAeadBatch::create(kBatchCapacity).value()),
        ticket_batch(ossl::OsslAeadBatch::create(1).value()) {
    client_rng.emplace(kClientRngSeed);
    server_rng.emplace(kServerRngSeed);
    for (int v = 0; v < 2; v++) {
      c13[v].rng = &*client_rng;
      c13[v].now_ms = [] { return uint64_t{kNow} * 1000; };
      c12[v].rng = &*client_rng;
      c12[v].session_ticket = true;
      if (v == 1) {
        c13[v].verify_ca = &ca;
        c13[v].verify_name = "ed25519.test";
        c12[v].verify_ca = &ca;
        c12[v].verify_name = "ed25519.test";
      }
      for (int version = 0; version < 2; version++) {
        sc[version][v].version = version == 1 ? kTls12 : kTls13;
        sc[version][v].tls13 = &c13[v];
        sc[version][v].tls12 = &c12[v];
      }
    }
    tickets.emplace(*ticket_batch, *server_rng);
    const std::array<uint8_t, 32> master{};
    if (!tickets->rotate_to(1, master)) {
      trap();
    }
    s13.certificates.push_back(ServerCertificate::from(key));
    s13.rng = &*server_rng;
    s13.now_ms = [] { return uint64_t{kNow} * 1000; };
    s13.ticket_keys = &*tickets;
    s13.tickets_to_send = 1;
    s12.certificates.push_back(v12::Certificate12::from(key));
    s12.rng = &*server_rng;
    s12.now = [] { return kNow; };
    s12.ticket_keys = &*tickets;
    ssc.tls13 = &s13;
    ssc.tls12 = &s12;
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
    l.key_update_records = 2;
    l.max_handshake_message = 2048;
    l.max_client_hello = 2048;
  }
  return l;
}

using Engine = fuzz_driver::SessionDriver<ServerSession, AnySlot>;

// Runs one input; returns whether the handshake completed.
bool run(std::span<const uint8_t> data) {
  if (data.empty()) {
    return false;
  }
  Fixture& f = fixture();
  const uint8_t mode = data[0];
  f.client_rng.emplace(kClientRngSeed);
  f.batch->clear();
  Engine e(*f.batch, {}, f.sc[mode & 1][(mode >> 1) & 1], limits((mode & 4) != 0));
  if (!e.s.is_client()) {
    trap();
  }
  e.drain();  // the ClientHello
  e.feed(data.subspan(1), mode);
  e.s.take_tickets13();
  return e.s.handshake_done();
}

// ---- Seed corpus: our own server answers the client; what the server sent is the input.

Bytes record_seed(uint8_t mode) {
  Fixture& f = fixture();
  f.client_rng.emplace(kClientRngSeed);
  f.server_rng.emplace(kServerRngSeed);
  f.batch->clear();
  f.server_batch->clear();
  Engine client(*f.batch, {}, f.sc[mode & 1][(mode >> 1) & 1], limits((mode & 4) != 0));
  Engine server(*f.server_batch, {}, f.ssc, limits(false));
  Bytes sent;
  client.drain();
  for (int round = 0; round < 20 && !client.wire.empty(); round++) {
    server.piece(client.wire);
    client.wire.clear();
    server.drain();
    if (server.wire.empty()) {
      break;
    }
    sent.insert(sent.end(), server.wire.begin(), server.wire.end());
    client.piece(server.wire);
    server.wire.clear();
    client.drain();
  }
  Bytes input{mode};
  input.insert(input.end(), sent.begin(), sent.end());
  return input;
}

void write_seeds(const std::string& dir) {
  const std::pair<const char*, uint8_t> modes[] = {
      {"tls13", 0}, {"tls12", 1}, {"tls13_verify", 2}, {"tls12_verify", 3},
      {"tls13_pieces", 0 | (5 << 3)}, {"tls12_tight_pieces", 1 | 4 | (3 << 3)}};
  for (const auto& [name, mode] : modes) {
    const Bytes input = record_seed(mode);
    if (!run(input)) {
      trap();  // a seed must replay to a finished handshake
    }
    std::ofstream(dir + "/" + name, std::ios::binary)
        .write(reinterpret_cast<const char*>(input.data()),
               static_cast<std::streamsize>(input.size()));
  }
}

}  // namespace linetls::tls::clientfuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("LT_CLIENT_FUZZ_SEEDS")) {
    linetls::tls::clientfuzz::write_seeds(dir);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  linetls::tls::clientfuzz::run(std::span<const uint8_t>(data, size));
  return 0;
}
