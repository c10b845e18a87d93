// A TLS 1.2 client endpoint for the ServerSession12 tests (and the corpus writer): Client12
// with its own deframer, reassembler and record protection over a private OpenSSL batch.
// It frames its flights (our ChangeCipherSpec switches the write keys), opens the server's
// records after the server's ChangeCipherSpec, and records what came back: application
// data, the alert (level and description), close_notify.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "lib/crypto/cert.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/record.h"
#include "lib/tls/v12/client12.h"
#include "lib/tls/v12/messages12.h"
#include "lib/tls/v12/record12.h"
#include "lib/tls/v12/server12.h"
#include "tests/unit/crypto/test_util.h"

namespace linetls::tls::v12::testing12 {

using Bytes = std::vector<uint8_t>;

inline Bytes bytes(const std::string& s) { return Bytes(s.begin(), s.end()); }

inline Bytes pattern(size_t n, uint8_t seed) {
  Bytes b(n);
  for (size_t i = 0; i < n; i++) {
    b[i] = static_cast<uint8_t>(i * 7 + seed);
  }
  return b;
}

inline crypto::CertifiedKey load_cert(const std::string& pem_names, const std::string& key_name,
                                      std::time_t now = std::time(nullptr)) {
  using crypto::testing::read_text;
  using crypto::testing::vector_path;
  std::string chain;
  size_t start = 0;
  while (start <= pem_names.size()) {
    const size_t comma = pem_names.find(',', start);
    chain += read_text(vector_path("certs/" + pem_names.substr(start, comma - start) + ".pem"));
    if (comma == std::string::npos) {
      break;
    }
    start = comma + 1;
  }
  const std::string key = read_text(vector_path("certs/" + key_name + ".key"));
  auto ck = crypto::CertifiedKey::from_pem(
      std::span(reinterpret_cast<const uint8_t*>(chain.data()), chain.size()),
      std::span(reinterpret_cast<const uint8_t*>(key.data()), key.size()), {}, now);
  if (!ck) {
    ADD_FAILURE() << "cannot load " << pem_names;
    std::abort();
  }
  return std::move(ck).value();
}

struct Certs {
  crypto::CertifiedKey ecdsa256 = load_cert("ecdsa256", "ecdsa256");
  crypto::CertifiedKey ecdsa384 = load_cert("ecdsa384", "ecdsa384");
  crypto::CertifiedKey rsa = load_cert("rsa2048", "rsa2048");
  crypto::CertifiedKey client = load_cert("client,int", "client");
  crypto::CertifiedKey client_rsa = load_cert("client_ca", "client_ca");
  crypto::CertifiedKey other_client = load_cert("other_client", "other_client");
  crypto::CertifiedKey expired = load_cert("expired", "expired", 1000000000);
  crypto::CaStore ca = [] {
    const std::string pem = crypto::testing::read_text(crypto::testing::vector_path("certs/ca.pem"));
    auto s = crypto::CaStore::from_pem(
        std::span(reinterpret_cast<const uint8_t*>(pem.data()), pem.size()));
    EXPECT_TRUE(s);
    return std::move(s).value();
  }();
};
inline const Certs& certs() {
  static const Certs* c = new Certs();
  return *c;
}

// ECDSA P-256 and RSA certificates, every suite, client CA set (client_auth off).
inline ServerConfig12 server_config() {
  ServerConfig12 sc;
  sc.certificates = {Certificate12::from(certs().ecdsa256), Certificate12::from(certs().rsa)};
  sc.client_ca = &certs().ca;
  return sc;
}

class ClientConn12 {
 public:
  explicit ClientConn12(ClientConfig12 config)
      : config_(std::make_unique<ClientConfig12>(std::move(config))), m(*config_) {}

 private:
  std::unique_ptr<ClientConfig12> config_;  // Client12 borrows it

 public:
  Client12 m;
  Bytes out;  // records for the server
  Bytes app_in;
  std::optional<Error> error;
  std::optional<uint8_t> alert_received;
  uint8_t alert_level = 0;
  bool peer_closed = false;
  size_t record_size = kMaxPlaintextLen;
  bool split_before_ccs = false;  // tests: one byte of a handshake message before our CCS

  bool done() const { return m.wait() == Wait::kDone; }

  void start() {
    if (m.start() == Wait::kError) {
      error = m.error();
      return;
    }
    flush();
  }

  // Frames content as records of type (protected once our CCS went out).
  void send_record(ContentType type, std::span<const uint8_t> content) {
    size_t off = 0;
    do {
      const size_t n = std::min(record_size, content.size() - off);
      if (!write_) {
        const size_t at = out.size();
        out.resize(at + kRecordHeaderLen + n);
        write_record_header(out.data() + at, type, static_cast<uint16_t>(n));
        std::copy_n(content.begin() + off, n, out.begin() + at + kRecordHeaderLen);
      } else {
        Bytes rec(n + write_->overhead());
        std::copy_n(content.begin() + off, n,
                    rec.begin() + kRecordHeaderLen + explicit_nonce_len(write_->algo()));
        RecordSlot12 slot;
        batch_->clear();
        auto q = write_->queue_seal(*batch_, rec, type, &slot);
        EXPECT_TRUE(q && *q);
        EXPECT_EQ(batch_->run(), 1u);
        batch_->clear();
        out.insert(out.end(), rec.begin(), rec.end());
      }
      off += n;
    } while (off < content.size());
  }
  void send_app(std::span<const uint8_t> data) { send_record(ContentType::kApplicationData, data); }
  void send_alert(uint8_t level, uint8_t description) {
    const uint8_t a[2] = {level, description};
    const size_t saved = record_size;
    record_size = kMaxPlaintextLen;
    send_record(ContentType::kAlert, a);
    record_size = saved;
  }

  void receive(std::span<const uint8_t> wire, size_t = 0) {
    Bytes buf(wire.begin(), wire.end());
    std::span<uint8_t> rest(buf);
    while (!rest.empty() && !error && !peer_closed && !alert_received) {
      auto step = deframer_.next(rest);
      if (!step) {
        error = step.error();
        return;
      }
      rest = rest.subspan(step->consumed);
      if (!step->has_record) {
        continue;
      }
      const Record rec = step->record;
      ContentType type = rec.type;
      std::span<uint8_t> content = rec.fragment;
      if (read_) {
        RecordSlot12 slot;
        batch_->clear();
        auto q = read_->queue_open(*batch_, rec, &slot);
        if (!q) {
          error = q.error();
          return;
        }
        batch_->run();
        auto pt = finish_open(batch_->status(0), slot);
        batch_->clear();
        if (!pt) {
          error = pt.error();
          return;
        }
        type = pt->type;
        content = pt->content;
      }
      handle(type, content);
      deframer_.release_assembled();
    }
  }

 private:
  void handle(ContentType type, std::span<uint8_t> content) {
    switch (type) {
      case ContentType::kAlert:
        if (content.size() == 2 && content[1] == 0) {
          peer_closed = true;
        } else if (content.size() == 2) {
          alert_level = content[0];
          alert_received = content[1];
        } else {
          error = Error::kBadAlert;
        }
        return;
      case ContentType::kApplicationData:
        if (!done()) {
          error = Error::kUnexpectedMessage;
          return;
        }
        app_in.insert(app_in.end(), content.begin(), content.end());
        return;
      case ContentType::kChangeCipherSpec: {
        if (read_ || !parse_change_cipher_spec(content)) {
          error = Error::kUnexpectedChangeCipherSpec;
          return;
        }
        if (m.handle_change_cipher_spec(reasm_.mid_message()) == Wait::kError) {
          error = m.error();
          return;
        }
        auto p = RecordProtector12::create(*batch_, m.keys().server_write);
        EXPECT_TRUE(p);
        read_.emplace(std::move(p).value());
        deframer_.set_protected(true);
        return;
      }
      case ContentType::kHandshake: {
        std::span<const uint8_t> rest = content;
        while (!rest.empty() && !error) {
          auto hs = reasm_.next(rest);
          if (!hs) {
            error = hs.error();
            return;
          }
          rest = rest.subspan(hs->consumed);
          if (!hs->has_message) {
            continue;
          }
          const Wait w = m.handle(hs->message);
          if (w == Wait::kError) {
            error = m.error();
            return;
          }
          if (w == Wait::kFlush) {
            flush();
          }
        }
        return;
      }
      case ContentType::kInvalid:
        break;
    }
    error = Error::kBadRecordType;
  }

  void flush() {
    Flight12 f = m.take_flight();
    if (!f.handshake.empty()) {
      send_record(ContentType::kHandshake, f.handshake);
    }
    if (f.change_cipher_spec) {
      if (split_before_ccs) {
        const uint8_t one_byte[1] = {20};
        send_record(ContentType::kHandshake, one_byte);
      }
      const uint8_t one = 1;
      send_record(ContentType::kChangeCipherSpec, {&one, 1});
      auto p = RecordProtector12::create(*batch_, m.keys().client_write);
      EXPECT_TRUE(p);
      write_.emplace(std::move(p).value());
    }
    if (!f.after_ccs.empty()) {
      send_record(ContentType::kHandshake, f.after_ccs);
    }
  }

  std::unique_ptr<ossl::OsslAeadBatch> batch_ = ossl::OsslAeadBatch::create(4).value();
  Deframer deframer_;
  HandshakeReassembler reasm_;
  std::optional<RecordProtector12> write_, read_;
};

}  // namespace linetls::tls::v12::testing12
