// The in-process TLS 1.3 harness shared by the handshake and resumption tests: an endpoint
// (Conn) joining a Deframer + HandshakeReassembler + RecordProtector "connection" over the
// OpenSSL AeadBatch to a Server13 or Client13, and helpers to pump bytes between two of them
// and check that they agree on their secrets and that data flows both ways.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <ctime>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "lib/crypto/cert.h"
#include "lib/tls/client13.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/record.h"
#include "lib/tls/record_protection.h"
#include "lib/tls/server13.h"
#include "tests/unit/crypto/test_util.h"

namespace linetls::tls::testing13 {

using Bytes = std::vector<uint8_t>;
using crypto::NamedGroup;
using crypto::testing::read_text;
using crypto::testing::to_hex;
using crypto::testing::vector_path;

// Loads certs/<pem_names...>.pem concatenated (leaf first) with certs/<key_name>.key,
// checking validity at now (an expired certificate loads with a date inside its window).
inline crypto::CertifiedKey load_chain(const std::vector<std::string>& pem_names,
                                       const std::string& key_name,
                                       std::time_t now = std::time(nullptr)) {
  std::string chain;
  for (const std::string& name : pem_names) {
    chain += read_text(vector_path("certs/" + name + ".pem"));
  }
  const std::string key = read_text(vector_path("certs/" + key_name + ".key"));
  auto ck = crypto::CertifiedKey::from_pem(
      std::span(reinterpret_cast<const uint8_t*>(chain.data()), chain.size()),
      std::span(reinterpret_cast<const uint8_t*>(key.data()), key.size()), {}, now);
  if (!ck) {
    ADD_FAILURE() << "cannot load " << key_name << ": " << crypto::to_string(ck.error());
    std::abort();
  }
  return std::move(ck).value();
}

inline crypto::CertifiedKey load_cert(const std::string& name) { return load_chain({name}, name); }

inline crypto::CaStore load_ca(const std::string& name) {
  const std::string pem = read_text(vector_path("certs/" + name + ".pem"));
  auto s = crypto::CaStore::from_pem(
      std::span(reinterpret_cast<const uint8_t*>(pem.data()), pem.size()));
  if (!s) {
    ADD_FAILURE() << "cannot load CA " << name << ": " << crypto::to_string(s.error());
    std::abort();
  }
  return std::move(s).value();
}

// The four certificate types, loaded once.
struct Certs {
  crypto::CertifiedKey ecdsa256 = load_cert("ecdsa256");
  crypto::CertifiedKey ecdsa384 = load_cert("ecdsa384");
  crypto::CertifiedKey ed25519 = load_cert("ed25519");
  crypto::CertifiedKey rsa = load_cert("rsa2048");
};
inline const Certs& certs() {
  static const Certs* c = new Certs();
  return *c;
}

inline crypto::AeadBatch& batch() {
  static crypto::AeadBatch* b = ossl::OsslAeadBatch::create(64).value().release();
  return *b;
}

// One endpoint: record layer + handshake reassembly + machine. M is Server13 or Client13.
template <typename M>
class Conn {
 public:
  template <typename Config>
  Conn(const Config& config, bool is_server) : machine_(config), is_server_(is_server) {}

  M& machine() { return machine_; }
  const M& machine() const { return machine_; }
  size_t record_size = kMaxPlaintextLen;  // content bytes per record we send
  // Called on each level's bytes of each flight before they are framed (tests corrupt them).
  std::function<void(Level, Bytes&)> tamper;

  Bytes out;                   // wire bytes for the peer
  Bytes app_in;                // application data received
  std::optional<Error> error;  // our fatal error
  int alerts_sent = 0;
  std::optional<uint8_t> alert_received;  // the peer's alert description
  bool ccs_dropped = false;
  int compat_ccs_sent = 0;  // Appendix D.4 change_cipher_spec records sent

  bool closed() const { return error.has_value() || alert_received.has_value(); }
  bool done() const { return machine_.wait() == Wait::kDone; }

  void start() {
    if constexpr (requires(M m) { m.start(); }) {
      after(machine_.start());
    }
  }

  // Feeds wire bytes as segments of segment_size bytes.
  void receive(std::span<const uint8_t> wire, size_t segment_size) {
    for (size_t at = 0; at < wire.size() && !closed(); at += segment_size) {
      Bytes seg(wire.begin() + at, wire.begin() + std::min(wire.size(), at + segment_size));
      std::span<uint8_t> piece(seg);
      while (!piece.empty() && !closed()) {
        auto step = deframer_.next(piece);
        if (!step) {
          return fail(step.error());
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
  }

  void update_keys(bool request_peer) { after(machine_.update_keys(request_peer)); }
  // Sends handshake bytes as they are under the current write keys (tests: bad messages).
  void send_handshake(std::span<const uint8_t> msgs) {
    send_records(ContentType::kHandshake, msgs);
  }

  void send_app(std::span<const uint8_t> data) {
    ASSERT_EQ(write_level_, Level::kApplication);
    send_records(ContentType::kApplicationData, data);
  }
  // Sends an alert under the current write keys (close_notify: kWarning, kCloseNotify).
  void send_alert(AlertLevel level, AlertDescription description) {
    const uint8_t alert[2] = {static_cast<uint8_t>(level), static_cast<uint8_t>(description)};
    send_records(ContentType::kAlert, alert);
  }
  // Sends a record as is (tests: a compat change_cipher_spec, garbage).
  void send_raw_record(ContentType type, std::span<const uint8_t> content) {
    Bytes rec(kRecordHeaderLen + content.size());
    write_record_header(rec.data(), type, static_cast<uint16_t>(content.size()));
    std::copy(content.begin(), content.end(), rec.begin() + kRecordHeaderLen);
    out.insert(out.end(), rec.begin(), rec.end());
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
    EXPECT_TRUE(keys);
    auto p = RecordProtector::create(batch(), *keys);
    EXPECT_TRUE(p);
    return std::move(p).value();
  }

  void set_write_level(Level l) {
    if (l != write_level_) {
      write_level_ = l;
      write_ = protector(l, is_server_);
    }
  }

  void send_records(ContentType type, std::span<const uint8_t> data) {
    for (size_t at = 0; at < data.size(); at += record_size) {
      const auto chunk = data.subspan(at, std::min(record_size, data.size() - at));
      if (!write_) {
        send_raw_record(type, chunk);
        continue;
      }
      Bytes rec(chunk.size() + kProtectedOverhead);
      std::copy(chunk.begin(), chunk.end(), rec.begin() + kRecordHeaderLen);
      RecordSlot slot;
      batch().clear();
      auto q = write_->queue_seal(batch(), rec, chunk.size(), type, 0, &slot);
      ASSERT_TRUE(q && *q);
      ASSERT_EQ(batch().run(), 1u);
      out.insert(out.end(), rec.begin(), rec.end());
    }
  }

  void after(Wait w) {
    if (w == Wait::kError) {
      return fail(machine_.error());
    }
    if (w == Wait::kFlush) {
      Flight f = machine_.take_flight();
      for (size_t l = 0; l < kNumLevels; l++) {
        if (f.bytes[l].empty()) {
          continue;
        }
        if (tamper) {
          tamper(static_cast<Level>(l), f.bytes[l]);
        }
        set_write_level(static_cast<Level>(l));
        send_records(ContentType::kHandshake, f.bytes[l]);
        if (l == 0 && f.compat_change_cipher_spec) {
          const uint8_t one = 1;
          send_raw_record(ContentType::kChangeCipherSpec, {&one, 1});  // Appendix D.4
          compat_ccs_sent++;
        }
      }
      if (f.rekey_after_application) {
        write_ = protector(Level::kApplication, is_server_);  // §4.6.3: after our KeyUpdate
      }
    }
    set_write_level(machine_.write_level());
  }

  // §6: one alert under the current write keys, then nothing more.
  void fail(Error e) {
    if (error) {
      return;
    }
    error = e;
    alerts_sent++;
    const uint8_t alert[2] = {2, static_cast<uint8_t>(to_alert(e))};
    send_records(ContentType::kAlert, alert);
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
      ccs_dropped = true;
      return;
    }
    InnerPlaintext inner;
    // A peer that fails on our ServerHello has no handshake keys yet: its alert comes in
    // plaintext (§6, "alerts are encrypted as specified by the current connection state").
    if (read_ && rec.type == ContentType::kAlert && read_level_ == Level::kHandshake) {
      alert_received = rec.fragment.size() == 2 ? rec.fragment[1] : 0;
      return;
    }
    if (read_) {
      if (rec.type != ContentType::kApplicationData) {
        return fail(Error::kUnexpectedMessage);
      }
      RecordSlot slot;
      batch().clear();
      auto q = read_->queue_open(batch(), rec, &slot);
      if (!q) {
        return fail(q.error());
      }
      batch().run();
      auto opened = finish_open(batch().status(0), slot);
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
        alert_received = inner.content[1];
        return;
      case ContentType::kApplicationData:
        if (read_level_ != Level::kApplication) {
          return fail(Error::kUnexpectedMessage);
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
  uint64_t read_generation_ = 0;
};

using ServerConn = Conn<Server13>;
using ClientConn = Conn<Client13>;

// Moves bytes both ways until neither side has anything to send.
inline void pump(ClientConn& c, ServerConn& s, size_t segment_size = 1 << 20) {
  for (int round = 0; round < 100 && (!c.out.empty() || !s.out.empty()); round++) {
    Bytes to_s = std::move(c.out);
    c.out.clear();
    s.receive(to_s, segment_size);
    Bytes to_c = std::move(s.out);
    s.out.clear();
    c.receive(to_c, segment_size);
  }
}

inline ServerConfig13 server_config(std::vector<const crypto::CertifiedKey*> keys) {
  ServerConfig13 cfg;
  for (const crypto::CertifiedKey* k : keys) {
    cfg.certificates.push_back(ServerCertificate::from(*k));
  }
  return cfg;
}

inline Bytes bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }

// Tamper helpers for Conn::tamper, over one flight's plaintext handshake bytes.

// Returns the offset of the first handshake message of type t in b.
inline std::optional<size_t> message_offset(std::span<const uint8_t> b, HandshakeType t) {
  size_t at = 0;
  while (at + kHandshakeHeaderLen <= b.size()) {
    const size_t len = size_t{b[at + 1]} << 16 | size_t{b[at + 2]} << 8 | b[at + 3];
    if (b[at] == static_cast<uint8_t>(t)) {
      return at;
    }
    at += kHandshakeHeaderLen + len;
  }
  return std::nullopt;
}

// Returns the body of the first message of type t in b (empty if there is none).
inline std::span<const uint8_t> message_body(std::span<const uint8_t> b, HandshakeType t) {
  auto at = message_offset(b, t);
  if (!at) {
    return {};
  }
  const size_t len = size_t{b[*at + 1]} << 16 | size_t{b[*at + 2]} << 8 | b[*at + 3];
  return b.subspan(*at + kHandshakeHeaderLen, len);
}

// Rewrites the body of the first message of type t in b with edit (which may resize it),
// fixing the message length; returns false if there is no such message.
inline bool edit_message(Bytes& b, HandshakeType t, const std::function<void(Bytes&)>& edit) {
  auto at = message_offset(b, t);
  if (!at) {
    return false;
  }
  const size_t len = size_t{b[*at + 1]} << 16 | size_t{b[*at + 2]} << 8 | b[*at + 3];
  const auto body_at = b.begin() + static_cast<std::ptrdiff_t>(*at + kHandshakeHeaderLen);
  Bytes body(body_at, body_at + static_cast<std::ptrdiff_t>(len));
  edit(body);
  b.erase(body_at, body_at + static_cast<std::ptrdiff_t>(len));
  b.insert(b.begin() + static_cast<std::ptrdiff_t>(*at + kHandshakeHeaderLen), body.begin(),
           body.end());
  b[*at + 1] = static_cast<uint8_t>(body.size() >> 16);
  b[*at + 2] = static_cast<uint8_t>(body.size() >> 8);
  b[*at + 3] = static_cast<uint8_t>(body.size());
  return true;
}

// Removes the first message of type t from b; returns false if there is none.
inline bool drop_message(Bytes& b, HandshakeType t) {
  auto at = message_offset(b, t);
  if (!at) {
    return false;
  }
  const size_t len = size_t{b[*at + 1]} << 16 | size_t{b[*at + 2]} << 8 | b[*at + 3];
  b.erase(b.begin() + static_cast<std::ptrdiff_t>(*at),
          b.begin() + static_cast<std::ptrdiff_t>(*at + kHandshakeHeaderLen + len));
  return true;
}

class FixedCookie final : public CookieSource {
 public:
  Result<std::vector<uint8_t>, Error> make(std::span<const uint8_t> ch1_hash) const override {
    return Bytes(ch1_hash.begin(), ch1_hash.end());
  }
};

// Checks that both sides derived the same secrets and that data flows both ways.
inline void expect_established(ClientConn& c, ServerConn& s, size_t segment_size = 1 << 20) {
  ASSERT_FALSE(c.error) << to_string(*c.error);
  ASSERT_FALSE(s.error) << to_string(*s.error);
  ASSERT_TRUE(c.done()) << c.machine().state_name();
  ASSERT_TRUE(s.done()) << s.machine().state_name();
  const Secrets13& cs = c.machine().secrets();
  const Secrets13& ss = s.machine().secrets();
  EXPECT_EQ(cs.suite.suite, ss.suite.suite);
  EXPECT_TRUE(cs.client_application.view().size() == ss.client_application.view().size() &&
              std::equal(cs.client_application.view().begin(), cs.client_application.view().end(),
                         ss.client_application.view().begin()));
  EXPECT_TRUE(std::equal(cs.server_application.view().begin(), cs.server_application.view().end(),
                         ss.server_application.view().begin(), ss.server_application.view().end()));
  EXPECT_TRUE(std::equal(cs.resumption_master.view().begin(), cs.resumption_master.view().end(),
                         ss.resumption_master.view().begin(), ss.resumption_master.view().end()));
  EXPECT_EQ(cs.client_application.view().size(), crypto::hash_len(cs.suite.hash));
  const Bytes ping = bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  Bytes pong(3000);
  for (size_t i = 0; i < pong.size(); i++) {
    pong[i] = static_cast<uint8_t>(i * 7);
  }
  c.send_app(ping);
  s.send_app(pong);
  pump(c, s, segment_size);
  EXPECT_EQ(s.app_in, ping);
  EXPECT_EQ(c.app_in, pong);
}
}  // namespace linetls::tls::testing13
