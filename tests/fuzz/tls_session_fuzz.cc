// libFuzzer target: arbitrary bytes as the client's side of a ServerSession13, cut into
// arbitrary pieces, driven the way the engine drives it.
//
// Input: byte 0 picks the server configuration (bits 0..1), tight or default SessionLimits
// (bit 2) and the pattern the rest is cut into (bits 3..7: 0 is one piece, otherwise piece
// sizes drawn from a generator seeded by the byte). Per input a fresh session takes the
// pieces: next() -> accept() into one batch of 8 ops until barrier() or kBatchFull -> run ->
// on_opened(); after each piece the output is drained (write_control, and application data
// echoed back with seal_app) through the same batch. The server's randomness is a SeededRng
// reset per input and its certificate Ed25519, so its answers depend on the input alone: a
// corpus entry recorded from a real client (LT_SESSION_FUZZ_SEEDS=dir writes the seed corpus,
// see write_seeds) completes the handshake on replay and mutations reach the encrypted states.
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
#include "lib/tls/client13.h"
#include "lib/tls/key_schedule.h"
#include "lib/tls/record.h"
#include "lib/tls/record_protection.h"
#include "lib/tls/server13.h"
#include "lib/tls/session13.h"
#include "lib/tls/ticket13.h"
#include "tests/fuzz/fuzz_certs.h"
#include "tests/fuzz/session_driver.h"

namespace linetls::tls::fuzz {

using Bytes = std::vector<uint8_t>;
using fuzz_certs::kCertPem;
using fuzz_certs::kKeyPem;


constexpr uint64_t kServerRngSeed = 0x73657373;  // "sess"
constexpr size_t kNumConfigs = 4;
constexpr uint32_t kBatchCapacity = 8;

inline std::span<const uint8_t> as_bytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

[[noreturn]] inline void trap() { __builtin_trap(); }

struct Fixture {
  crypto::CertifiedKey key;
  std::unique_ptr<ossl::OsslAeadBatch> batch;
  std::optional<crypto::SeededRng> rng;
  std::unique_ptr<ossl::OsslAeadBatch> ticket_batch;
  std::optional<TicketKeys> tickets;
  std::array<ServerConfig13, kNumConfigs> configs;

  Fixture()
      : key(crypto::CertifiedKey::from_pem(as_bytes(kCertPem), as_bytes(kKeyPem),
                                           std::string_view{}, 1800000000)
                .value()),
        batch(ossl::OsslAeadBatch::create(kBatchCapacity).value()),
        ticket_batch(ossl::OsslAeadBatch::create(1).value()) {
    rng.emplace(kServerRngSeed);
    tickets.emplace(*ticket_batch, *rng);
    const std::array<uint8_t, 32> master{};
    if (!tickets->rotate_to(1, master)) {
      trap();
    }
    for (ServerConfig13& c : configs) {
      c.certificates.push_back(ServerCertificate::from(key));
      c.rng = &*rng;
      c.now_ms = [] { return uint64_t{1'800'000'000'000}; };
    }
    configs[0].ticket_keys = &*tickets;
    configs[0].tickets_to_send = 1;
    configs[1].alpn = {"h2", "http/1.1"};
    configs[2].groups = {crypto::NamedGroup::kSecp256r1};  // x25519 shares get an HRR
    configs[3].cipher_suites = {CipherSuite::kChacha20Poly1305Sha256};
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
    l.key_update_records = 2;
    l.max_handshake_message = 2048;
    l.max_client_hello = 2048;
  }
  return l;
}

// The engine's part for one session.
// The engine's part for one session (tests/fuzz/session_driver.h).
using Engine = fuzz_driver::SessionDriver<ServerSession13, RecordSlot>;

// Runs one input; returns whether the handshake completed.
bool run(std::span<const uint8_t> data) {
  if (data.empty()) {
    return false;
  }
  Fixture& f = fixture();
  const uint8_t mode = data[0];
  f.rng.emplace(kServerRngSeed);
  f.batch->clear();
  Engine e(*f.batch, {}, f.configs[mode & 3], limits((mode & 4) != 0));
  e.feed(data.subspan(1), mode);
  return e.s.handshake_done();
}

// ---- Seed corpus: a real Client13 against the session, recording what the client sends.

class Client {
 public:
  explicit Client(const ClientConfig13& config) : m_(config) {}
  Bytes sent;  // everything the client sent
  Bytes out;   // not yet delivered
  size_t record_size = kMaxPlaintextLen;
  size_t key_update_padding = 0;  // zeros after our KeyUpdate (RFC 8446 §5.4 padding)

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
        if (step->record.assembled) {
          deframer_.release_assembled();
        }
      }
    }
  }
  void send(ContentType type, std::span<const uint8_t> data, size_t padding = 0) {
    for (size_t at = 0; at < data.size() || (data.empty() && at == 0); at += record_size) {
      const auto chunk = data.subspan(at, std::min(record_size, data.size() - at));
      if (!write_) {
        Bytes rec(kRecordHeaderLen + chunk.size());
        write_record_header(rec.data(), type, static_cast<uint16_t>(chunk.size()));
        std::copy(chunk.begin(), chunk.end(), rec.begin() + kRecordHeaderLen);
        emit(rec);
      } else {
        Bytes rec(chunk.size() + padding + kProtectedOverhead);
        std::copy(chunk.begin(), chunk.end(), rec.begin() + kRecordHeaderLen);
        RecordSlot slot;
        batch_->clear();
        auto q = write_->queue_seal(*batch_, rec, chunk.size(), type, padding, &slot);
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
  void update_keys(bool request) { after(m_.update_keys(request)); }

 private:
  void emit(const Bytes& rec) {
    out.insert(out.end(), rec.begin(), rec.end());
    sent.insert(sent.end(), rec.begin(), rec.end());
  }
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
        send(ContentType::kHandshake, fl.bytes[l],
             l == static_cast<size_t>(Level::kApplication) ? key_update_padding : 0);
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
    auto inner = finish_open(batch_->status(0), slot);
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

  Client13 m_;
  std::unique_ptr<ossl::OsslAeadBatch> batch_ = ossl::OsslAeadBatch::create(1).value();
  Deframer deframer_;
  HandshakeReassembler reasm_;
  std::optional<RecordProtector> read_, write_;
  Level read_level_ = Level::kInitial;
  Level write_level_ = Level::kInitial;
  uint64_t read_gen_ = 0;
};

// Plays client against a fresh session of configuration mode & 3, with script run once
// the handshake is done; returns the input (mode byte, then the client's bytes).
template <typename Script>
Bytes record_seed(uint8_t mode, ClientConfig13 ccfg, Bytes before_hello_reply, Script script) {
  crypto::SeededRng client_rng(mode + 1000);
  ccfg.rng = &client_rng;
  Client c(ccfg);
  Fixture& f = fixture();
  f.rng.emplace(kServerRngSeed);
  f.batch->clear();
  Engine e(*f.batch, {}, f.configs[mode & 3], limits((mode & 4) != 0));
  c.start();
  c.out.insert(c.out.end(), before_hello_reply.begin(), before_hello_reply.end());
  c.sent.insert(c.sent.end(), before_hello_reply.begin(), before_hello_reply.end());
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

void write_seeds(const std::string& dir) {
  const std::string_view get_text = "GET / HTTP/1.1\r\nHost: ed25519.test\r\n\r\n";
  const Bytes get(get_text.begin(), get_text.end());
  const Bytes close_notify{1, 0};
  std::vector<std::pair<std::string, Bytes>> seeds;
  ClientConfig13 plain;
  seeds.emplace_back("data_close", record_seed(0, plain, {}, [&](Client& c) {
                       c.send(ContentType::kApplicationData, get);
                       c.send(ContentType::kAlert, close_notify);
                     }));
  seeds.emplace_back("key_update", record_seed(1 | 4, plain, {}, [&](Client& c) {
                       c.send(ContentType::kApplicationData, get);
                       c.update_keys(true);
                       c.send(ContentType::kApplicationData, get);
                       c.send(ContentType::kApplicationData, {}, 20);
                       c.send(ContentType::kAlert, Bytes{1, 90});
                       c.send(ContentType::kAlert, close_notify);
                     }));
  seeds.emplace_back("hrr_pieces", record_seed(2 | (5 << 3), plain, {}, [&](Client& c) {
                       c.send(ContentType::kApplicationData, get);
                     }));
  ClientConfig13 early;
  early.offer_early_data = true;
  Bytes fake_early{23, 3, 3, 0, 40};
  fake_early.resize(45, 0xee);
  seeds.emplace_back("early_data", record_seed(3, early, fake_early, [&](Client& c) {
                       c.send(ContentType::kApplicationData, get);
                     }));
  // A padded KeyUpdate (longer than kKeyUpdateBarrierLen) with data behind it in the same
  // piece: the data records go into the batch under the old key and are reopened.
  seeds.emplace_back("padded_key_update", record_seed(0, plain, {}, [&](Client& c) {
                       c.send(ContentType::kApplicationData, get);
                       c.key_update_padding = 200;
                       c.update_keys(false);
                       c.send(ContentType::kApplicationData, get);
                       c.send(ContentType::kApplicationData, get);
                       c.send(ContentType::kAlert, close_notify);
                     }));
  seeds.emplace_back("small_records", record_seed(0 | 4 | (1 << 3), plain, {}, [&](Client& c) {
                       c.record_size = 7;
                       c.send(ContentType::kApplicationData, get);
                       c.send(ContentType::kChangeCipherSpec, Bytes{1});
                     }));
  for (const auto& [name, input] : seeds) {
    if (!run(input)) {
      trap();  // a seed must replay to a finished handshake
    }
    std::ofstream(dir + "/" + name, std::ios::binary)
        .write(reinterpret_cast<const char*>(input.data()), static_cast<std::streamsize>(input.size()));
  }
}

}  // namespace linetls::tls::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  if (const char* dir = std::getenv("LT_SESSION_FUZZ_SEEDS")) {
    linetls::tls::fuzz::write_seeds(dir);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  linetls::tls::fuzz::run(std::span<const uint8_t>(data, size));
  return 0;
}
