// Our TLS 1.2 client against our TLS 1.2 server, in process, through the real record layer:
// Deframer, HandshakeReassembler, and RecordProtector12 over the OpenSSL AeadBatch from the
// ChangeCipherSpec on (so both sides must agree on every key). Every suite x group x
// certificate type, fragmented and coalesced, with and without client certificates; then
// the refusals (EMS, versions, fallback, suites, renegotiation_info, downgrade sentinel) and
// misordered, duplicated and missing messages and ChangeCipherSpecs, each with its Error and
// nothing else sent.
#include <gtest/gtest.h>

#include <ctime>
#include <functional>
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

namespace linetls::tls::v12 {
namespace {

using Bytes = std::vector<uint8_t>;
using crypto::NamedGroup;
using crypto::testing::read_text;
using crypto::testing::to_hex;
using crypto::testing::vector_path;

crypto::CertifiedKey load_cert(const std::string& pem_names, const std::string& key_name,
                               std::time_t now = std::time(nullptr)) {
  std::string chain;
  size_t start = 0;
  while (start <= pem_names.size()) {
    const size_t comma = pem_names.find(',', start);
    const std::string name = pem_names.substr(start, comma - start);
    chain += read_text(vector_path("certs/" + name + ".pem"));
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
    ADD_FAILURE() << "cannot load " << pem_names << ": " << crypto::to_string(ck.error());
    std::abort();
  }
  return std::move(ck).value();
}

struct Certs {
  crypto::CertifiedKey ecdsa256 = load_cert("ecdsa256", "ecdsa256");
  crypto::CertifiedKey ecdsa384 = load_cert("ecdsa384", "ecdsa384");
  crypto::CertifiedKey rsa = load_cert("rsa2048", "rsa2048");
  crypto::CertifiedKey client = load_cert("client,int", "client");          // ECDSA, via int
  crypto::CertifiedKey client_rsa = load_cert("client_ca", "client_ca");    // RSA, by ca
  crypto::CertifiedKey other_client = load_cert("other_client", "other_client");
  crypto::CertifiedKey expired = load_cert("expired", "expired", 1000000000);  // 2001-09
  crypto::CaStore ca = [] {
    const std::string pem = read_text(vector_path("certs/ca.pem"));
    auto s = crypto::CaStore::from_pem(
        std::span(reinterpret_cast<const uint8_t*>(pem.data()), pem.size()));
    EXPECT_TRUE(s);
    return std::move(s).value();
  }();
};
const Certs& certs() {
  static const Certs* c = new Certs();
  return *c;
}

crypto::AeadBatch& batch() {
  static crypto::AeadBatch* b = ossl::OsslAeadBatch::create(64).value().release();
  return *b;
}

// One endpoint: deframer, reassembler, record protection both ways, and the machine.
template <typename M>
struct End {
  template <typename Config>
  explicit End(const Config& c) : m(c) {}

  M m;
  Deframer deframer;
  HandshakeReassembler reassembler;
  std::optional<RecordProtector12> write, read;
  size_t record_size = kMaxPlaintextLen;  // content bytes per record we send
  std::optional<Error> error;
  Bytes app_in;

  // Frames bytes of type into records (sealed once write is set) and appends them to out.
  void frame(ContentType type, std::span<const uint8_t> bytes, Bytes& out) {
    size_t off = 0;
    do {
      const size_t n = std::min(record_size, bytes.size() - off);
      if (!write) {
        const size_t at = out.size();
        out.resize(at + kRecordHeaderLen + n);
        write_record_header(out.data() + at, type, static_cast<uint16_t>(n));
        std::copy(bytes.begin() + off, bytes.begin() + off + n, out.begin() + at + 5);
      } else {
        Bytes rec(n + write->overhead());
        std::copy(bytes.begin() + off, bytes.begin() + off + n,
                  rec.begin() + kRecordHeaderLen + explicit_nonce_len(write->algo()));
        RecordSlot12 slot;
        auto q = write->queue_seal(batch(), rec, type, &slot);
        EXPECT_TRUE(q && *q);
        EXPECT_EQ(batch().run(), 1u);
        batch().clear();
        out.insert(out.end(), rec.begin(), rec.end());
      }
      off += n;
    } while (off < bytes.size());
  }

  // Turns our flight into wire bytes, switching our write keys at our CCS.
  Bytes send(Flight12 f, const DirectionKeys& own_keys) {
    Bytes out;
    if (!f.handshake.empty()) {
      frame(ContentType::kHandshake, f.handshake, out);
    }
    if (f.change_cipher_spec) {
      const uint8_t one = 1;
      frame(ContentType::kChangeCipherSpec, {&one, 1}, out);
      auto p = RecordProtector12::create(batch(), own_keys);
      EXPECT_TRUE(p);
      write.emplace(std::move(p).value());
      deframer.set_strict_version(true);
    }
    if (!f.after_ccs.empty()) {
      frame(ContentType::kHandshake, f.after_ccs, out);
    }
    return out;
  }

  void fail_with(Error e) {
    if (!error) {
      error = e;
    }
  }

  // Reads wire bytes; peer_keys is the peer's write direction, installed at its CCS.
  void receive(Bytes wire, const DirectionKeys& peer_keys_if_ready, bool is_server) {
    std::span<uint8_t> rest(wire);
    while (!rest.empty() && !error) {
      auto step = deframer.next(rest);
      if (!step) {
        fail_with(step.error());
        return;
      }
      rest = rest.subspan(step->consumed);
      if (!step->has_record) {
        continue;
      }
      Record rec = step->record;
      ContentType type = rec.type;
      std::span<const uint8_t> content = rec.fragment;
      RecordSlot12 slot;
      if (read) {
        auto q = read->queue_open(batch(), rec, &slot);
        if (!q) {
          fail_with(q.error());
          return;
        }
        batch().run();
        auto pt = finish_open(batch().status(0), slot);
        batch().clear();
        if (!pt) {
          fail_with(pt.error());
          return;
        }
        type = pt->type;
        content = pt->content;
      }
      deframer.release_assembled();
      if (type == ContentType::kChangeCipherSpec) {
        if (read) {
          fail_with(Error::kUnexpectedChangeCipherSpec);  // a protected CCS: renegotiation
          return;
        }
        if (auto ok = parse_change_cipher_spec(content); !ok) {
          fail_with(ok.error());
          return;
        }
        if (m.handle_change_cipher_spec(reassembler.mid_message()) == Wait::kError) {
          fail_with(m.error());
          return;
        }
        // The peer's keys are ready once its CCS is legal: the machine has them.
        auto p = RecordProtector12::create(
            batch(), is_server ? m.keys().client_write : m.keys().server_write);
        EXPECT_TRUE(p);
        read.emplace(std::move(p).value());
        deframer.set_protected(true);
        continue;
      }
      if (type == ContentType::kApplicationData) {
        app_in.insert(app_in.end(), content.begin(), content.end());
        continue;
      }
      if (type != ContentType::kHandshake) {
        fail_with(Error::kUnexpectedMessage);
        return;
      }
      while (!content.empty() && !error) {
        auto hs = reassembler.next(content);
        if (!hs) {
          fail_with(hs.error());
          return;
        }
        content = content.subspan(hs->consumed);
        if (hs->has_message && m.handle(hs->message) == Wait::kError) {
          fail_with(m.error());
          return;
        }
      }
    }
    (void)peer_keys_if_ready;
  }
};

using ServerEnd = End<Server12>;
using ClientEnd = End<Client12>;

// Hooks on the wire bytes of each flight (from_server, flight number from 0).
using WireHook = std::function<void(bool from_server, int flight, Bytes& wire)>;

// Runs the handshake to completion or the first error; returns the number of flights.
int pump(ClientEnd& c, ServerEnd& s, const WireHook& hook = {}) {
  EXPECT_EQ(c.m.start(), Wait::kFlush);
  int flight = 0;
  bool from_server = false;
  for (int rounds = 0; rounds < 10; rounds++) {
    Bytes wire;
    if (!from_server) {
      wire = c.send(c.m.take_flight(), c.m.keys().client_write);
    } else {
      wire = s.send(s.m.take_flight(), s.m.keys().server_write);
    }
    if (hook) {
      hook(from_server, flight, wire);
    }
    flight++;
    if (wire.empty()) {
      break;
    }
    if (!from_server) {
      s.receive(std::move(wire), {}, true);
    } else {
      c.receive(std::move(wire), {}, false);
    }
    if (c.error || s.error) {
      break;
    }
    from_server = !from_server;
  }
  return flight;
}

// Both sides done, with the same secrets, and application data flows both ways.
void expect_connected(ClientEnd& c, ServerEnd& s) {
  ASSERT_FALSE(s.error) << "server: " << to_string(*s.error);
  ASSERT_FALSE(c.error) << "client: " << to_string(*c.error);
  ASSERT_EQ(s.m.wait(), Wait::kDone) << s.m.state_name();
  ASSERT_EQ(c.m.wait(), Wait::kDone) << c.m.state_name();
  EXPECT_EQ(to_hex(c.m.master_secret()), to_hex(s.m.master_secret()));
  EXPECT_EQ(c.m.suite().suite, s.m.suite().suite);
  const std::string hello = "GET / HTTP/1.1\r\n\r\n", answer = "HTTP/1.1 200 OK\r\n\r\n";
  Bytes w1, w2;
  c.frame(ContentType::kApplicationData,
          {reinterpret_cast<const uint8_t*>(hello.data()), hello.size()}, w1);
  s.receive(std::move(w1), {}, true);
  s.frame(ContentType::kApplicationData,
          {reinterpret_cast<const uint8_t*>(answer.data()), answer.size()}, w2);
  c.receive(std::move(w2), {}, false);
  EXPECT_EQ(std::string(s.app_in.begin(), s.app_in.end()), hello);
  EXPECT_EQ(std::string(c.app_in.begin(), c.app_in.end()), answer);
}

struct Configs {
  ServerConfig12 server;
  ClientConfig12 client;
  std::vector<Certificate12> client_certs;
  Configs() {
    server.certificates = {Certificate12::from(certs().ecdsa256),
                           Certificate12::from(certs().rsa)};
    server.client_ca = &certs().ca;
  }
};

TEST(Handshake12, EverySuiteGroupAndCertificate) {
  struct CertCase {
    const char* name;
    const crypto::CertifiedKey* key;
    AuthKind auth;
  } cert_cases[] = {{"ecdsa256", &certs().ecdsa256, AuthKind::kEcdsa},
                    {"ecdsa384", &certs().ecdsa384, AuthKind::kEcdsa},
                    {"rsa2048", &certs().rsa, AuthKind::kRsa}};
  int handshakes = 0;
  for (const CertCase& cc : cert_cases) {
    for (CipherSuite suite : kAllSuites) {
      if (suite_info(suite).auth != cc.auth) {
        continue;
      }
      for (NamedGroup group : {NamedGroup::kX25519, NamedGroup::kSecp256r1, NamedGroup::kSecp384r1}) {
        ServerConfig12 sc;
        sc.certificates = {Certificate12::from(*cc.key)};
        sc.groups = {group};  // the key exchange group under test
        ClientConfig12 cc12;
        cc12.cipher_suites = {static_cast<uint16_t>(suite)};
        cc12.groups = {static_cast<uint16_t>(group)};
        // RFC 8422 §5.1: an ECDSA certificate's curve must be among the client's groups.
        if (cc.key == &certs().ecdsa256 && group != NamedGroup::kSecp256r1) {
          cc12.groups.push_back(static_cast<uint16_t>(NamedGroup::kSecp256r1));
        } else if (cc.key == &certs().ecdsa384 && group != NamedGroup::kSecp384r1) {
          cc12.groups.push_back(static_cast<uint16_t>(NamedGroup::kSecp384r1));
        }
        ServerEnd s(sc);
        ClientEnd c(cc12);
        pump(c, s);
        SCOPED_TRACE(std::string(cc.name) + " " + suite_info(suite).name);
        expect_connected(c, s);
        EXPECT_EQ(s.m.suite().suite, suite);
        EXPECT_EQ(s.m.group(), group);
        EXPECT_TRUE(s.m.secure_renegotiation());
        EXPECT_FALSE(s.m.client_identity());
        handshakes++;
      }
    }
  }
  EXPECT_EQ(handshakes, (3 * 2 + 3) * 3);
}

TEST(Handshake12, FragmentedAndCoalesced) {
  for (size_t record_size : {size_t{1}, size_t{7}, size_t{100}, kMaxPlaintextLen}) {
    Configs st;
    st.server.client_auth = ClientAuth::kRequired;
    const Certificate12 mine = Certificate12::from(certs().client);
    st.client.certificate = &mine;
    ServerEnd s(st.server);
    ClientEnd c(st.client);
    s.record_size = record_size;
    c.record_size = record_size;
    pump(c, s);
    SCOPED_TRACE(record_size);
    expect_connected(c, s);
    EXPECT_TRUE(s.m.client_identity());
    if (record_size == 1) {
      // ClientHello, Certificate, ClientKeyExchange, CertificateVerify, Finished.
      EXPECT_EQ(s.reassembler.num_assembled(), 5u);
    } else if (record_size == kMaxPlaintextLen) {
      EXPECT_EQ(s.reassembler.num_assembled(), 0u);  // coalesced, each whole in its record
    }
  }
}

TEST(Handshake12, PreferencesSniAndAlpn) {
  Configs st;
  // The client prefers ChaCha20 and RSA; the server's order wins: ECDSA AES-128 first.
  st.client.cipher_suites = {0xCCA8, 0xC030, 0xC02B};
  st.server.alpn = {"h2", "http/1.1"};
  st.client.alpn = {"http/1.1", "h2"};
  st.client.server_name = "localhost";
  ServerEnd s(st.server);
  ClientEnd c(st.client);
  pump(c, s);
  expect_connected(c, s);
  EXPECT_EQ(s.m.suite().suite, CipherSuite::kEcdheEcdsaAes128GcmSha256);
  EXPECT_EQ(std::string(s.m.alpn().begin(), s.m.alpn().end()), "h2");
  EXPECT_EQ(std::string(c.m.alpn().begin(), c.m.alpn().end()), "h2");
  // Only RSA suites offered: the RSA certificate serves them.
  Configs rsa;
  rsa.client.cipher_suites = {0xC030};
  ServerEnd s2(rsa.server);
  ClientEnd c2(rsa.client);
  pump(c2, s2);
  expect_connected(c2, s2);
  EXPECT_EQ(s2.m.certificate_index(), 1u);
}

// RFC 8422 §5.1: the ECDSA certificate's curve must be one the client supports. A client
// offering X25519 and P-384 only gets the RSA certificate (and an RSA suite) instead of the
// P-256 ECDSA one, and handshake_failure when it offers ECDSA suites only.
TEST(Handshake12, EcdsaCertificateCurveMustBeOffered) {
  Configs st;  // server: ECDSA P-256 then RSA
  st.client.cipher_suites = {0xC02B, 0xC02F};
  st.client.groups = {static_cast<uint16_t>(NamedGroup::kX25519),
                      static_cast<uint16_t>(NamedGroup::kSecp384r1)};
  ServerEnd s(st.server);
  ClientEnd c(st.client);
  pump(c, s);
  expect_connected(c, s);
  EXPECT_EQ(s.m.suite().suite, CipherSuite::kEcdheRsaAes128GcmSha256);
  EXPECT_EQ(s.m.certificate_index(), 1u);

  Configs only_ecdsa;
  only_ecdsa.client.cipher_suites = {0xC02B};
  only_ecdsa.client.groups = st.client.groups;
  ServerEnd s2(only_ecdsa.server);
  ClientEnd c2(only_ecdsa.client);
  pump(c2, s2);
  ASSERT_TRUE(s2.error);
  EXPECT_EQ(to_alert(*s2.error), AlertDescription::kHandshakeFailure);
}

struct ClientCertCase {
  const char* name;
  ClientAuth auth;
  const crypto::CertifiedKey* cert;  // nullptr: none
  std::optional<Error> server_error;
  const char* subject_part;
};

TEST(Handshake12, ClientCertificates) {
  const ClientCertCase cases[] = {
      {"ecdsa via intermediate", ClientAuth::kRequired, &certs().client, std::nullopt,
       "client.test"},
      {"rsa", ClientAuth::kRequired, &certs().client_rsa, std::nullopt, "client-direct.test"},
      {"optional, none", ClientAuth::kOptional, nullptr, std::nullopt, nullptr},
      {"optional, valid", ClientAuth::kOptional, &certs().client, std::nullopt, "client.test"},
      {"required, none", ClientAuth::kRequired, nullptr, Error::kHandshakeFailure, nullptr},
      {"unknown ca", ClientAuth::kRequired, &certs().other_client, Error::kUnknownCa, nullptr},
      {"expired", ClientAuth::kOptional, &certs().expired, Error::kCertificateExpired, nullptr},
  };
  for (const ClientCertCase& cc : cases) {
    SCOPED_TRACE(cc.name);
    Configs st;
    st.server.client_auth = cc.auth;
    std::optional<Certificate12> mine;
    if (cc.cert != nullptr) {
      mine = Certificate12::from(*cc.cert);
      st.client.certificate = &*mine;
    }
    ServerEnd s(st.server);
    ClientEnd c(st.client);
    pump(c, s);
    EXPECT_TRUE(c.m.certificate_requested());
    if (cc.server_error) {
      ASSERT_TRUE(s.error);
      EXPECT_EQ(*s.error, *cc.server_error) << to_string(*s.error);
      EXPECT_EQ(s.m.wait(), Wait::kError);
      EXPECT_TRUE(s.m.take_flight().empty());  // nothing but the alert goes out
      continue;
    }
    expect_connected(c, s);
    if (cc.subject_part == nullptr) {
      EXPECT_FALSE(s.m.client_identity());
    } else {
      ASSERT_TRUE(s.m.client_identity());
      EXPECT_NE(s.m.client_identity()->subject.find(cc.subject_part), std::string::npos)
          << s.m.client_identity()->subject;
    }
  }
}

// The alerts for the client-certificate failures, as the issue lists them.
TEST(Handshake12, ClientCertificateAlerts) {
  EXPECT_EQ(to_alert(Error::kHandshakeFailure), AlertDescription::kHandshakeFailure);
  EXPECT_EQ(to_alert(Error::kUnknownCa), AlertDescription::kUnknownCa);
  EXPECT_EQ(to_alert(Error::kCertificateExpired), AlertDescription::kCertificateExpired);
  EXPECT_EQ(to_alert(Error::kBadCertificateVerify), AlertDescription::kDecryptError);
}

struct HelloCase {
  const char* name;
  std::function<void(Configs&)> change;
  std::optional<Error> server_error;
  std::optional<Error> client_error;
};

TEST(Handshake12, ClientHelloRefusals) {
  const HelloCase cases[] = {
      {"no extended_master_secret, required",
       [](Configs& s) {
         s.client.extended_master_secret = false;
         s.server.ems_policy = EmsPolicy::kRequired;
       },
       Error::kHandshakeFailure, std::nullopt},
      {"no extended_master_secret, preferred",
       [](Configs& s) { s.client.extended_master_secret = false; }, std::nullopt, std::nullopt},
      {"TLS 1.1", [](Configs& s) { s.client.legacy_version = 0x0302; }, Error::kProtocolVersion,
       std::nullopt},
      {"TLS 1.0", [](Configs& s) { s.client.legacy_version = 0x0301; }, Error::kProtocolVersion,
       std::nullopt},
      {"SSL 3.0", [](Configs& s) { s.client.legacy_version = 0x0300; }, Error::kProtocolVersion,
       std::nullopt},
      {"fallback SCSV, 1.3 server",
       [](Configs& s) { s.client.cipher_suites.push_back(kFallbackScsv); },
       Error::kInappropriateFallback, std::nullopt},
      {"fallback SCSV, 1.2-only server",
       [](Configs& s) {
         s.client.cipher_suites.push_back(kFallbackScsv);
         s.server.tls13_enabled = false;
       },
       std::nullopt, std::nullopt},
      {"only CBC, RC4 and static RSA",
       [](Configs& s) { s.client.cipher_suites = {0xC013, 0xC011, 0x002F, 0x009C, 0x000A}; },
       Error::kNoCommonCipherSuite, std::nullopt},
      {"no common group", [](Configs& s) { s.client.groups = {0x0019, 0x001e}; },
       Error::kNoCommonGroup, std::nullopt},
      {"only SHA-1 signatures", [](Configs& s) { s.client.signature_algorithms = {0x0201, 0x0203}; },
       Error::kNoCommonSignatureScheme, std::nullopt},
      {"renegotiated_connection not empty",
       [](Configs& s) { s.client.renegotiated_connection = {1, 2, 3}; }, Error::kHandshakeFailure,
       std::nullopt},
      {"SCSV instead of the extension",
       [](Configs& s) {
         s.client.renegotiation_info = false;
         s.client.cipher_suites.push_back(kEmptyRenegotiationInfoScsv);
       },
       std::nullopt, std::nullopt},
      {"deflate only", [](Configs& s) { s.client.compression_methods = {1}; },
       Error::kBadCompressionMethod, std::nullopt},
      {"deflate and null", [](Configs& s) { s.client.compression_methods = {1, 0}; }, std::nullopt,
       std::nullopt},
      {"no ALPN in common",
       [](Configs& s) {
         s.server.alpn = {"h2"};
         s.client.alpn = {"spdy/3"};
       },
       Error::kNoApplicationProtocol, std::nullopt},
      {"downgrade sentinel seen by a 1.3 client", [](Configs& s) { s.client.tls13_capable = true; },
       std::nullopt, Error::kDowngradeDetected},
      {"no sentinel from a 1.2-only server",
       [](Configs& s) {
         s.client.tls13_capable = true;
         s.server.tls13_enabled = false;
       },
       std::nullopt, std::nullopt},
  };
  for (const HelloCase& hc : cases) {
    SCOPED_TRACE(hc.name);
    Configs st;
    hc.change(st);
    ServerEnd s(st.server);
    ClientEnd c(st.client);
    pump(c, s);
    if (hc.server_error) {
      ASSERT_TRUE(s.error);
      EXPECT_EQ(*s.error, *hc.server_error) << to_string(*s.error);
      EXPECT_TRUE(s.m.take_flight().empty());
    } else if (hc.client_error) {
      ASSERT_TRUE(c.error);
      EXPECT_EQ(*c.error, *hc.client_error) << to_string(*c.error);
      EXPECT_TRUE(c.m.take_flight().empty());
    } else {
      expect_connected(c, s);
    }
  }
  EXPECT_EQ(to_alert(Error::kInappropriateFallback), AlertDescription::kInappropriateFallback);
  EXPECT_EQ(to_alert(Error::kProtocolVersion), AlertDescription::kProtocolVersion);
  EXPECT_EQ(to_alert(Error::kNoCommonCipherSuite), AlertDescription::kHandshakeFailure);
}

// ---- Ordering, driven message by message ----

std::vector<Bytes> split_messages(std::span<const uint8_t> bytes) {
  std::vector<Bytes> out;
  HandshakeReassembler r;
  while (!bytes.empty()) {
    auto step = r.next(bytes);
    EXPECT_TRUE(step);
    if (!step) {
      break;
    }
    bytes = bytes.subspan(step->consumed);
    if (step->has_message) {
      out.emplace_back(step->message.bytes.begin(), step->message.bytes.end());
    }
  }
  return out;
}

HandshakeMessage as_message(const Bytes& b) {
  HandshakeMessage m;
  m.type = static_cast<HandshakeType>(b[0]);
  m.bytes = b;
  m.body = std::span(b).subspan(kHandshakeHeaderLen);
  return m;
}

// A client and server driven by hand: the client's second flight split into messages.
struct Manual {
  Configs st;
  std::optional<Certificate12> mine;
  std::unique_ptr<Server12> s;
  std::unique_ptr<Client12> c;
  std::vector<Bytes> client_flight;  // [Certificate], ClientKeyExchange, [CertificateVerify]
  Bytes client_finished;

  explicit Manual(bool client_auth, const std::function<void(Configs&)>& change = {}) {
    if (change) {
      change(st);
    }
    if (client_auth) {
      st.server.client_auth = ClientAuth::kRequired;
      mine = Certificate12::from(certs().client);
      st.client.certificate = &*mine;
    }
    s = std::make_unique<Server12>(st.server);
    c = std::make_unique<Client12>(st.client);
    EXPECT_EQ(c->start(), Wait::kFlush);
    auto ch = split_messages(c->take_flight().handshake);
    EXPECT_EQ(s->handle(as_message(ch[0])), Wait::kFlush);
    for (const Bytes& m : split_messages(s->take_flight().handshake)) {
      c->handle(as_message(m));
    }
    EXPECT_EQ(c->wait(), Wait::kNeedMessage);
    Flight12 f = c->take_flight();
    EXPECT_TRUE(f.change_cipher_spec);
    client_flight = split_messages(f.handshake);
    client_finished = f.after_ccs;
  }
  Wait feed(const Bytes& m) { return s->handle(as_message(m)); }
  void expect_error(Error e) {
    EXPECT_EQ(s->wait(), Wait::kError);
    EXPECT_EQ(s->error(), e) << to_string(s->error());
    EXPECT_TRUE(s->take_flight().empty());
  }
};

TEST(Handshake12Order, TheHappyPathByHand) {
  for (bool auth : {false, true}) {
    Manual m(auth);
    ASSERT_EQ(m.client_flight.size(), auth ? 3u : 1u);
    for (const Bytes& b : m.client_flight) {
      EXPECT_EQ(m.feed(b), Wait::kNeedMessage) << m.s->state_name();
    }
    EXPECT_TRUE(m.s->expecting_change_cipher_spec());
    EXPECT_EQ(m.s->handle_change_cipher_spec(false), Wait::kNeedMessage);
    EXPECT_EQ(m.feed(m.client_finished), Wait::kFlush);
    Flight12 f = m.s->take_flight();
    EXPECT_TRUE(f.handshake.empty());
    EXPECT_TRUE(f.change_cipher_spec);
    EXPECT_EQ(f.after_ccs.size(), kHandshakeHeaderLen + kVerifyDataLen);
    EXPECT_EQ(m.s->wait(), Wait::kDone);
    EXPECT_EQ(m.c->handle_change_cipher_spec(false), Wait::kNeedMessage);
    EXPECT_EQ(m.c->handle(as_message(f.after_ccs)), Wait::kDone);
  }
}

TEST(Handshake12Order, ChangeCipherSpecBeforeAfterAndTwice) {
  {
    Manual m(false);  // CCS before the ClientKeyExchange
    EXPECT_EQ(m.s->handle_change_cipher_spec(false), Wait::kError);
    m.expect_error(Error::kUnexpectedChangeCipherSpec);
  }
  {
    Manual m(false);  // Finished without a CCS
    m.feed(m.client_flight[0]);
    EXPECT_EQ(m.feed(m.client_finished), Wait::kError);
    m.expect_error(Error::kUnexpectedMessage);
  }
  {
    Manual m(false);  // CCS twice
    m.feed(m.client_flight[0]);
    EXPECT_EQ(m.s->handle_change_cipher_spec(false), Wait::kNeedMessage);
    EXPECT_EQ(m.s->handle_change_cipher_spec(false), Wait::kError);
    m.expect_error(Error::kUnexpectedChangeCipherSpec);
  }
  {
    Manual m(false);  // CCS with half a handshake message buffered
    m.feed(m.client_flight[0]);
    EXPECT_EQ(m.s->handle_change_cipher_spec(true), Wait::kError);
    m.expect_error(Error::kHandshakeSpansKeyChange);
  }
  {
    Manual m(false);  // CCS after the handshake
    m.feed(m.client_flight[0]);
    m.s->handle_change_cipher_spec(false);
    ASSERT_EQ(m.feed(m.client_finished), Wait::kFlush);
    m.s->take_flight();
    EXPECT_EQ(m.s->handle_change_cipher_spec(false), Wait::kError);
    m.expect_error(Error::kUnexpectedChangeCipherSpec);
  }
  {
    Manual m(true);  // CCS where the CertificateVerify belongs
    m.feed(m.client_flight[0]);
    m.feed(m.client_flight[1]);
    EXPECT_EQ(m.s->handle_change_cipher_spec(false), Wait::kError);
    m.expect_error(Error::kUnexpectedChangeCipherSpec);
  }
}

TEST(Handshake12Order, MisorderedDuplicatedAndMissingMessages) {
  {
    Manual m(false);  // ClientKeyExchange twice
    m.feed(m.client_flight[0]);
    EXPECT_EQ(m.feed(m.client_flight[0]), Wait::kError);
    m.expect_error(Error::kUnexpectedMessage);
  }
  {
    Manual m(true);  // client Certificate missing when requested
    EXPECT_EQ(m.feed(m.client_flight[1]), Wait::kError);
    m.expect_error(Error::kUnexpectedMessage);
  }
  {
    Manual m(true);  // CertificateVerify before ClientKeyExchange
    m.feed(m.client_flight[0]);
    EXPECT_EQ(m.feed(m.client_flight[2]), Wait::kError);
    m.expect_error(Error::kUnexpectedMessage);
  }
  {
    Manual m(true);  // Finished where the CertificateVerify belongs
    m.feed(m.client_flight[0]);
    m.feed(m.client_flight[1]);
    EXPECT_EQ(m.feed(m.client_finished), Wait::kError);
    m.expect_error(Error::kUnexpectedMessage);
  }
  {
    Manual m(false);  // a second ClientHello in the middle
    EXPECT_EQ(m.feed(m.client_flight[0]), Wait::kNeedMessage);
    Client12 c2(m.st.client);
    c2.start();
    auto ch = split_messages(c2.take_flight().handshake);
    m.s->handle_change_cipher_spec(false);
    EXPECT_EQ(m.feed(ch[0]), Wait::kError);
    m.expect_error(Error::kUnexpectedMessage);
  }
  {
    Manual m(false);  // renegotiation after the handshake
    m.feed(m.client_flight[0]);
    m.s->handle_change_cipher_spec(false);
    m.feed(m.client_finished);
    m.s->take_flight();
    Client12 c2(m.st.client);
    c2.start();
    auto ch = split_messages(c2.take_flight().handshake);
    EXPECT_EQ(m.feed(ch[0]), Wait::kError);
    m.expect_error(Error::kRenegotiationRefused);
    EXPECT_EQ(to_alert(m.s->error()), AlertDescription::kNoRenegotiation);
  }
}

TEST(Handshake12Order, TamperedFinishedAndCertificateVerify) {
  {
    Manual m(false);
    m.feed(m.client_flight[0]);
    m.s->handle_change_cipher_spec(false);
    Bytes fin = m.client_finished;
    fin.back() ^= 1;
    EXPECT_EQ(m.feed(fin), Wait::kError);
    m.expect_error(Error::kBadFinished);
  }
  {
    Manual m(false);  // a Finished of the wrong length
    m.feed(m.client_flight[0]);
    m.s->handle_change_cipher_spec(false);
    Bytes fin = m.client_finished;
    fin.push_back(0);
    fin[3] = 13;
    EXPECT_EQ(m.feed(fin), Wait::kError);
    m.expect_error(Error::kDecodeError);
  }
  {
    Manual m(true);
    m.feed(m.client_flight[0]);
    m.feed(m.client_flight[1]);
    Bytes cv = m.client_flight[2];
    cv[cv.size() - 2] ^= 0x01;
    EXPECT_EQ(m.feed(cv), Wait::kError);
    m.expect_error(Error::kBadCertificateVerify);
  }
  {
    Manual m(true);  // a scheme the CertificateRequest did not offer
    m.feed(m.client_flight[0]);
    m.feed(m.client_flight[1]);
    Bytes cv = m.client_flight[2];
    cv[4] = 0x02;
    cv[5] = 0x03;  // ecdsa_sha1
    EXPECT_EQ(m.feed(cv), Wait::kError);
    m.expect_error(Error::kIllegalParameter);
  }
  {
    // A P-256 ClientKeyExchange point moved off the curve.
    Manual m(false, [](Configs& c) { c.client.groups = {0x0017}; });
    Bytes cke = m.client_flight[0];
    ASSERT_EQ(cke.size(), kHandshakeHeaderLen + 1 + 65);
    cke.back() ^= 0x01;
    EXPECT_EQ(m.feed(cke), Wait::kError);
    m.expect_error(Error::kBadKeyShare);
    EXPECT_EQ(to_alert(m.s->error()), AlertDescription::kIllegalParameter);
  }
}

TEST(Handshake12Order, WireLevelCcsAndFinishedFaults) {
  // Through the record layer: the client's Finished sent in the clear (no CCS, no keys)
  // reaches a server that wants the CCS.
  Configs st;
  ServerEnd s(st.server);
  ClientEnd c(st.client);
  pump(c, s, [](bool from_server, int flight, Bytes& wire) {
    if (!from_server && flight == 2) {
      // Drop the CCS record (6 bytes: header + 01) that follows the ClientKeyExchange.
      const size_t cke_len = kRecordHeaderLen + load_be16(wire.data() + 3);
      ASSERT_EQ(wire[cke_len], 20);
      wire.erase(wire.begin() + cke_len, wire.begin() + cke_len + 6);
    }
  });
  ASSERT_TRUE(s.error);
  // The sealed Finished is read as plaintext: under AES-GCM it starts with the explicit
  // nonce, sequence number 0, which reads as an empty hello_request: a message where the
  // CCS belongs.
  EXPECT_EQ(*s.error, Error::kUnexpectedMessage) << to_string(*s.error);

  // A flipped bit in the sealed Finished fails as bad_record_mac.
  ServerEnd s2(st.server);
  ClientEnd c2(st.client);
  pump(c2, s2, [](bool from_server, int flight, Bytes& wire) {
    if (!from_server && flight == 2) {
      wire.back() ^= 1;
    }
  });
  ASSERT_TRUE(s2.error);
  EXPECT_EQ(*s2.error, Error::kDecryptFailed);
}

}  // namespace
}  // namespace linetls::tls::v12
