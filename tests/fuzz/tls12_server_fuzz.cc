// libFuzzer target: arbitrary bytes as the client's side of a ServerSession12 (the TLS 1.2
// server handshake and record layer), cut into arbitrary pieces and driven the way the
// engine drives it (the shape of tls_session_fuzz.cc).
//
// Input: byte 0 picks the server configuration (bits 0..1: tickets and a session cache;
// ALPN and optional client certificates; P-256 and ChaCha20 only; required client
// certificates and AES-256 only), tight or default SessionLimits (bit 2) and the pattern the
// rest is cut into (bits 3..7: 0 is one piece, otherwise piece sizes drawn from a generator
// seeded by the byte). Per input a fresh session (and a fresh session cache) takes the
// pieces: next() -> accept() into one batch of 8 ops until barrier() or kBatchFull -> run ->
// on_opened(); after each piece the output is drained (write_control, and application data
// echoed back with seal_app). The server's randomness is a SeededRng reset per input, its
// certificate Ed25519 (deterministic signatures), its clock fixed and its ticket keys derived
// from a fixed master, so a corpus entry recorded from a real Client12 (LT_TLS12_FUZZ_SEEDS=dir
// writes the seed corpus) completes the handshake on replay, a recorded ticket resumes, and
// mutations reach the encrypted states.
//
// Traps: a second kAlert, output after closed(), write_control() writing other than the
// length next_output() announced, application data before the handshake is done, an input
// error without error() set, a seal the batch rejects, the deframer stuck, an empty batch
// refusing a record.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
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
#include "lib/tls/handshake_msg.h"
#include "lib/tls/record.h"
#include "lib/tls/ticket13.h"
#include "lib/tls/v12/client12.h"
#include "lib/tls/v12/messages12.h"
#include "lib/tls/v12/record12.h"
#include "lib/tls/v12/resumption12.h"
#include "lib/tls/v12/server12.h"
#include "lib/tls/v12/session12.h"
#include "tests/fuzz/fuzz_certs.h"
#include "tests/fuzz/session_driver.h"

namespace linetls::tls::v12::fuzz {

using Bytes = std::vector<uint8_t>;
using fuzz_certs::kCertPem;
using fuzz_certs::kKeyPem;
using fuzz_certs::kCaPem;


constexpr uint64_t kServerRngSeed = 0x746c7331;  // "tls1"
constexpr std::time_t kNow = 1800000000;
constexpr size_t kNumConfigs = 4;
constexpr uint32_t kBatchCapacity = 8;

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

[[noreturn]] inline void trap() { __builtin_trap(); }

struct Fixture {
  crypto::CertifiedKey key;
  crypto::CaStore ca;
  std::unique_ptr<ossl::OsslAeadBatch> batch;
  std::optional<crypto::SeededRng> rng;
  std::unique_ptr<ossl::OsslAeadBatch> ticket_batch;
  std::optional<TicketKeys> tickets;
  std::optional<SessionCache12> cache;
  std::array<ServerConfig12, kNumConfigs> configs;

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
    for (ServerConfig12& c : configs) {
      c.certificates.push_back(Certificate12::from(key));
      c.rng = &*rng;
      c.now = [] { return kNow; };
      c.client_ca = &ca;
    }
    configs[0].ticket_keys = &*tickets;
    configs[0].session_cache = &*cache;
    configs[1].alpn = {"h2", "http/1.1"};
    configs[1].client_auth = ClientAuth::kOptional;
    configs[2].groups = {crypto::NamedGroup::kSecp256r1};
    configs[2].cipher_suites = {CipherSuite::kEcdheEcdsaChacha20Poly1305Sha256};
    configs[3].client_auth = ClientAuth::kRequired;
    configs[3].cipher_suites = {CipherSuite::kEcdheEcdsaAes256GcmSha384};
    configs[3].session_cache = &*cache;
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
    l.key_update_records = 3;
    l.max_handshake_message = 2048;
    l.max_client_hello = 2048;
  }
  return l;
}

// The engine's part for one session.
// The engine's part for one session (tests/fuzz/session_driver.h).
using Engine = fuzz_driver::SessionDriver<ServerSession12, RecordSlot12>;

// Runs one input; returns whether the handshake completed (resumed: whether it resumed).
bool run(std::span<const uint8_t> data, bool* out_resumed = nullptr) {
  if (data.empty()) {
    return false;
  }
  Fixture& f = fixture();
  const uint8_t mode = data[0];
  f.rng.emplace(kServerRngSeed);
  f.cache.emplace(4);
  f.batch->clear();
  Engine e(*f.batch, {}, f.configs[mode & 3], limits((mode & 4) != 0));
  // The public-key steps go through the offload path (the other session targets run them
  // inline): every pause, the held input, and the jobs' results.
  e.s.set_pk_offload(true);
  e.pk_rng = &*f.rng;
  e.feed(data.subspan(1), mode);
  if (out_resumed != nullptr) {
    *out_resumed = e.s.machine().resumed();
  }
  return e.s.handshake_done();
}

// ---- Seed corpus: a real Client12 against the session, recording what the client sends.

class Client {
 public:
  explicit Client(const ClientConfig12& config) : m_(config) {}
  Bytes sent;  // everything the client sent
  Bytes out;   // not yet delivered
  size_t record_size = kMaxPlaintextLen;

  const Client12& machine() const { return m_; }
  bool done() const { return m_.wait() == Wait::kDone; }
  void start() { after(m_.start()); }
  void receive(std::span<uint8_t> p) {
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
  void send(ContentType type, std::span<const uint8_t> data) {
    for (size_t at = 0; at < data.size() || (data.empty() && at == 0); at += record_size) {
      const auto chunk = data.subspan(at, std::min(record_size, data.size() - at));
      if (!write_) {
        Bytes rec(kRecordHeaderLen + chunk.size());
        write_record_header(rec.data(), type, static_cast<uint16_t>(chunk.size()));
        std::copy(chunk.begin(), chunk.end(), rec.begin() + kRecordHeaderLen);
        emit(rec);
      } else {
        Bytes rec(chunk.size() + write_->overhead());
        std::copy(chunk.begin(), chunk.end(),
                  rec.begin() + kRecordHeaderLen + explicit_nonce_len(write_->algo()));
        RecordSlot12 slot;
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
  void emit(const Bytes& rec) {
    out.insert(out.end(), rec.begin(), rec.end());
    sent.insert(sent.end(), rec.begin(), rec.end());
  }
  void after(Wait w) {
    if (w != Wait::kFlush) {
      return;
    }
    Flight12 fl = m_.take_flight();
    if (!fl.handshake.empty()) {
      send(ContentType::kHandshake, fl.handshake);
    }
    if (fl.change_cipher_spec) {
      const uint8_t one = 1;
      send(ContentType::kChangeCipherSpec, {&one, 1});
      write_.emplace(RecordProtector12::create(*batch_, m_.keys().client_write).value());
    }
    if (!fl.after_ccs.empty()) {
      send(ContentType::kHandshake, fl.after_ccs);
    }
  }
  void on_record(const Record& rec) {
    std::span<uint8_t> content = rec.fragment;
    ContentType type = rec.type;
    if (read_) {
      RecordSlot12 slot;
      batch_->clear();
      auto q = read_->queue_open(*batch_, rec, &slot);
      if (!q || !*q) {
        return;
      }
      batch_->run();
      auto pt = finish_open(batch_->status(0), slot);
      if (!pt) {
        return;
      }
      type = pt->type;
      content = pt->content;
    }
    if (type == ContentType::kChangeCipherSpec && !read_) {
      if (m_.handle_change_cipher_spec(reasm_.mid_message()) != Wait::kError) {
        read_.emplace(RecordProtector12::create(*batch_, m_.keys().server_write).value());
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

  Client12 m_;
  std::unique_ptr<ossl::OsslAeadBatch> batch_ = ossl::OsslAeadBatch::create(1).value();
  Deframer deframer_;
  HandshakeReassembler reasm_;
  std::optional<RecordProtector12> read_, write_;
};

template <typename Script>
Bytes record_seed(uint8_t mode, ClientConfig12 ccfg, Script script,
                  std::optional<SavedSession12>* out_saved = nullptr) {
  crypto::SeededRng client_rng(mode + 1200);
  ccfg.rng = &client_rng;
  Client c(ccfg);
  Fixture& f = fixture();
  f.rng.emplace(kServerRngSeed);
  f.cache.emplace(4);
  f.batch->clear();
  Engine e(*f.batch, {}, f.configs[mode & 3], limits((mode & 4) != 0));
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
  if (out_saved != nullptr) {
    out_saved->emplace(c.machine().saved_session());
  }
  Bytes input{mode};
  input.insert(input.end(), c.sent.begin(), c.sent.end());
  return input;
}

void write_seeds(const std::string& dir) {
  const std::string_view get_text = "GET / HTTP/1.1\r\nHost: ed25519.test\r\n\r\n";
  const Bytes get(get_text.begin(), get_text.end());
  const Bytes close_notify{1, 0};
  std::vector<std::pair<std::string, Bytes>> seeds;
  const auto data_close = [&](Client& c) {
    c.send(ContentType::kApplicationData, get);
    c.send(ContentType::kAlert, close_notify);
  };
  ClientConfig12 tickets;
  tickets.session_ticket = true;
  tickets.server_name = "ed25519.test";
  std::optional<SavedSession12> saved;
  seeds.emplace_back("ticket_full", record_seed(0, tickets, data_close, &saved));
  ClientConfig12 resume = tickets;
  resume.resume = &*saved;
  seeds.emplace_back("ticket_resumed", record_seed(0 | (3 << 3), resume, data_close));
  ClientConfig12 alpn;
  alpn.alpn = {"http/1.1"};
  seeds.emplace_back("alpn_no_cert", record_seed(1 | 4, alpn, [&](Client& c) {
                       c.send(ContentType::kApplicationData, get);
                       c.send(ContentType::kApplicationData, {});
                       c.send(ContentType::kAlert, Bytes{1, 90});
                       c.send(ContentType::kApplicationData, get);
                     }));
  ClientConfig12 chacha;
  chacha.groups = {0x0017};
  seeds.emplace_back("chacha_pieces", record_seed(2 | (5 << 3), chacha, [&](Client& c) {
                       c.record_size = 7;
                       c.send(ContentType::kApplicationData, get);
                     }));
  ClientConfig12 plain;
  seeds.emplace_back("required_no_cert", record_seed(3, plain, data_close));
  // Without the extended master secret (the fixture's default policy prefers it): the RFC
  // 5246 §8.1 master secret, and a ticket that resumes only without EMS (RFC 7627 §5.3).
  ClientConfig12 no_ems = tickets;
  no_ems.extended_master_secret = false;
  std::optional<SavedSession12> saved_no_ems;
  seeds.emplace_back("no_ems_ticket", record_seed(0, no_ems, data_close, &saved_no_ems));
  ClientConfig12 resume_no_ems = no_ems;
  resume_no_ems.resume = &*saved_no_ems;
  seeds.emplace_back("no_ems_resumed", record_seed(0, resume_no_ems, data_close));
  for (const auto& [name, input] : seeds) {
    bool resumed = false;
    const bool done = run(input, &resumed);
    const bool want_resumed = name == "ticket_resumed" || name == "no_ems_resumed";
    if (done != (name != "required_no_cert") || resumed != want_resumed) {
      trap();  // a seed must replay as recorded
    }
    std::ofstream(dir + "/" + name, std::ios::binary)
        .write(reinterpret_cast<const char*>(input.data()),
               static_cast<std::streamsize>(input.size()));
  }
}

}  // namespace linetls::tls::v12::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("LT_TLS12_FUZZ_SEEDS")) {
    linetls::tls::v12::fuzz::write_seeds(dir);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  linetls::tls::v12::fuzz::run(std::span<const uint8_t>(data, size));
  return 0;
}
