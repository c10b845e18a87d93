// RFC 8448 §3 "Simple 1-RTT Handshake" and §5 "HelloRetryRequest" replayed through Server13.
//
// §3: the RFC's ClientHello in,
// the server's randomness (random, X25519 key) injected with a ScriptedRng, the RFC's RSA
// certificate and key. ServerHello, EncryptedExtensions and Certificate must come out byte
// for byte and the handshake secrets must equal the RFC's. RSA-PSS is randomized, so our
// CertificateVerify is verified, not compared. A second replay signs with the RFC's own
// signature (checked first against the content Server13 asks to sign), which makes the
// whole flight, the Finished, and the application, exporter and resumption secrets
// comparable with the RFC's.
//
// §5: the ClientHello with only an X25519 share draws a HelloRetryRequest for secp256r1
// with the RFC's cookie (injected through CookieSource), then the second ClientHello gives the
// ServerHello and the whole flight byte for byte (again with the RFC's checked signature)
// and every secret.
//
// §4: the resumed ClientHello offers the §3 ticket (opaque to us) with the RFC's binder and
// early data. A test TicketDecoder maps the RFC's identity to the §3 PSK; the server must
// verify the RFC's binder, select the PSK, reject the early data and send no Certificate.
// With the RFC's §4 server randomness the ServerHello comes out byte for byte; the
// EncryptedExtensions differ from the RFC's only by the early_data we refuse.
//
// The RFC's key is 1024-bit RSA, below what lib/crypto accepts for service, so the test
// signs through its own CertificateSigner over libcrypto directly.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <optional>
#include <string_view>
#include <string>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "lib/crypto/rng.h"
#include "lib/tls/key_schedule.h"
#include "lib/tls/messages13.h"
#include "lib/tls/record.h"
#include "lib/tls/record_protection.h"
#include "lib/tls/server13.h"
#include "lib/tls/ticket13.h"
#include "tests/unit/crypto/test_util.h"

namespace linetls::tls {
namespace {

using Bytes = std::vector<uint8_t>;
using crypto::testing::hex;
using crypto::testing::read_records;
using crypto::testing::read_text;
using crypto::testing::Record;
using crypto::testing::to_hex;
using crypto::testing::vector_path;

Record section(const std::string& name, const char* file = "tls13/rfc8448_simple.txt") {
  for (auto& r : read_records(file)) {
    if (r["name"] == name) {
      return r;
    }
  }
  ADD_FAILURE() << "no section " << name;
  return {};
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

PkeyPtr load_rfc_key() {
  const std::string pem = read_text(vector_path("tls13/rfc8448_server_key.pem"));
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  EXPECT_NE(key, nullptr);
  return key;
}

// rsa_pss_rsae_sha256: PSS, MGF1-SHA-256, salt as long as the hash (§4.2.3).
bool pss_setup(EVP_PKEY_CTX* pctx) {
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, 32) == 1 &&
         EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) == 1;
}

bool pss_verify(EVP_PKEY* key, std::span<const uint8_t> msg, std::span<const uint8_t> sig) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  const bool ok = EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), nullptr, key) == 1 &&
                  pss_setup(pctx) &&
                  EVP_DigestVerify(ctx, sig.data(), sig.size(), msg.data(), msg.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

class RfcSigner final : public CertificateSigner {
 public:
  RfcSigner(EVP_PKEY* key, std::optional<Bytes> replay) : key_(key), replay_(std::move(replay)) {}

  Result<crypto::SignatureScheme, crypto::Error> choose_scheme(
      std::span<const uint16_t> peer) const noexcept override {
    if (std::find(peer.begin(), peer.end(), uint16_t{0x0804}) == peer.end()) {
      return fail(crypto::Error::kNoCommonScheme);
    }
    return crypto::SignatureScheme::kRsaPssRsaeSha256;
  }
  size_t max_signature_len() const noexcept override { return 128; }
  Result<size_t, crypto::Error> sign(crypto::SignatureScheme scheme, std::span<const uint8_t> msg,
                                     std::span<uint8_t> out) const noexcept override {
    if (scheme != crypto::SignatureScheme::kRsaPssRsaeSha256 || out.size() < 128) {
      return fail(crypto::Error::kInvalidArgument);
    }
    if (replay_) {
      // The RFC's signature stands in for ours only if it is valid over what we sign.
      if (!pss_verify(key_, msg, *replay_)) {
        return fail(crypto::Error::kBadSignature);
      }
      std::copy(replay_->begin(), replay_->end(), out.begin());
      return replay_->size();
    }
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_PKEY_CTX* pctx = nullptr;
    size_t len = out.size();
    const bool ok = EVP_DigestSignInit(ctx, &pctx, EVP_sha256(), nullptr, key_) == 1 &&
                    pss_setup(pctx) &&
                    EVP_DigestSign(ctx, out.data(), &len, msg.data(), msg.size()) == 1;
    EVP_MD_CTX_free(ctx);
    if (!ok) {
      return fail(crypto::Error::kInternal);
    }
    return len;
  }

 private:
  EVP_PKEY* key_;
  std::optional<Bytes> replay_;
};

HandshakeMessage message_of(const Bytes& m) {
  return HandshakeMessage{static_cast<HandshakeType>(m[0]), m, std::span(m).subspan(4), false};
}

Bytes cat(std::initializer_list<const Bytes*> parts) {
  Bytes out;
  for (const Bytes* p : parts) {
    out.insert(out.end(), p->begin(), p->end());
  }
  return out;
}

class Rfc8448Server : public ::testing::Test {
 protected:
  void SetUp() override {
    Record msgs = section("messages");
    ch_ = hex(msgs["client_hello"]);
    sh_ = hex(msgs["server_hello"]);
    ee_ = hex(msgs["encrypted_extensions"]);
    cert_ = hex(msgs["certificate"]);
    cv_ = hex(msgs["certificate_verify"]);
    sfin_ = hex(msgs["server_finished"]);
    cfin_ = hex(msgs["client_finished"]);
    schedule_ = section("schedule");
    Record r = section("server_randomness");
    rng_.append(hex(r["server_random"]));
    rng_.append(hex(r["server_x25519_private"]));
    key_ = load_rfc_key();
    auto parsed = parse_certificate(std::span(cert_).subspan(4));
    ASSERT_TRUE(parsed);
    leaf_ = parsed->entries[0];
  }

  // The RFC's server: TLS_AES_128_GCM_SHA256 and X25519 first, EE with supported_groups
  // (its nine codes), record_size_limit 0x4001 and the server_name acknowledgement.
  ServerConfig13 config(std::optional<Bytes> replay) {
    ServerConfig13 c;
    ServerCertificate sc;
    sc.chain = {leaf_};
    sc.signer = std::make_shared<RfcSigner>(key_.get(), std::move(replay));
    sc.names = {"server"};
    c.certificates.push_back(std::move(sc));
    c.advertised_groups = {0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101, 0x0102, 0x0103, 0x0104};
    c.record_size_limit = 0x4001;
    c.rng = &rng_;
    return c;
  }

  void expect_secret(const crypto::HashSecret& s, const char* name) {
    EXPECT_EQ(to_hex(s.view()), schedule_[name]) << name;
  }

  Bytes ch_, sh_, ee_, cert_, cv_, sfin_, cfin_;
  Record schedule_;
  crypto::ScriptedRng rng_;
  PkeyPtr key_;
  std::span<const uint8_t> leaf_;
};

TEST_F(Rfc8448Server, FlightByteForByteAndCertificateVerifyVerifies) {
  const ServerConfig13 cfg = config(std::nullopt);
  Server13 s(cfg);
  ASSERT_EQ(s.handle(message_of(ch_)), Wait::kFlush) << to_string(s.error());
  EXPECT_EQ(rng_.remaining(), 0u);
  const Flight f = s.take_flight();
  EXPECT_EQ(to_hex(f.bytes[0]), to_hex(sh_));
  EXPECT_TRUE(f.bytes[2].empty());
  const Bytes ee_cert = cat({&ee_, &cert_});
  ASSERT_GT(f.bytes[1].size(), ee_cert.size());
  EXPECT_EQ(to_hex(std::span(f.bytes[1]).first(ee_cert.size())), to_hex(ee_cert));
  expect_secret(s.secrets().client_handshake, "c_hs_traffic");
  expect_secret(s.secrets().server_handshake, "s_hs_traffic");

  // Our CertificateVerify: rsa_pss_rsae_sha256 over the RFC's CH..Certificate transcript.
  const auto rest = std::span(f.bytes[1]).subspan(ee_cert.size());
  ASSERT_EQ(rest[0], static_cast<uint8_t>(HandshakeType::kCertificateVerify));
  const size_t cv_len = 4 + (size_t{rest[1]} << 16 | size_t{rest[2]} << 8 | rest[3]);
  auto cv = parse_certificate_verify(rest.subspan(4, cv_len - 4));
  ASSERT_TRUE(cv);
  EXPECT_EQ(cv->scheme, 0x0804);
  const Bytes to_cert = cat({&ch_, &sh_, &ee_, &cert_});
  auto h = crypto::hash(crypto::HashAlgo::kSha256, to_cert);
  ASSERT_TRUE(h);
  const auto content = certificate_verify_content(true, h->view());
  EXPECT_TRUE(pss_verify(key_.get(), content.view(), cv->signature));
  EXPECT_NE(to_hex(rest.first(cv_len)), to_hex(cv_));  // randomized salt: a fresh signature
  // And the Finished after it is right for our own CertificateVerify.
  Bytes to_cv = to_cert;
  to_cv.insert(to_cv.end(), rest.begin(), rest.begin() + static_cast<ptrdiff_t>(cv_len));
  auto h2 = crypto::hash(crypto::HashAlgo::kSha256, to_cv);
  ASSERT_TRUE(h2);
  const auto fin = rest.subspan(cv_len);
  ASSERT_EQ(fin.size(), 36u);
  EXPECT_TRUE(verify_finished(crypto::HashAlgo::kSha256, hex(schedule_["s_hs_traffic"]), h2->view(),
                              fin.subspan(4)));
}

TEST_F(Rfc8448Server, WithTheRfcSignatureEveryByteAndSecretMatches) {
  auto cv = parse_certificate_verify(std::span(cv_).subspan(4));
  ASSERT_TRUE(cv);
  const ServerConfig13 cfg = config(Bytes(cv->signature.begin(), cv->signature.end()));
  Server13 s(cfg);
  ASSERT_EQ(s.handle(message_of(ch_)), Wait::kFlush) << to_string(s.error());
  const Flight f = s.take_flight();
  EXPECT_EQ(to_hex(f.bytes[0]), to_hex(sh_));
  EXPECT_EQ(to_hex(f.bytes[1]), to_hex(cat({&ee_, &cert_, &cv_, &sfin_})));
  expect_secret(s.secrets().client_application, "c_ap_traffic");
  expect_secret(s.secrets().server_application, "s_ap_traffic");
  expect_secret(s.secrets().exporter_master, "exp_master");
  EXPECT_EQ(s.read_level(), Level::kHandshake);
  ASSERT_EQ(s.handle(message_of(cfin_)), Wait::kDone) << to_string(s.error());
  expect_secret(s.secrets().resumption_master, "res_master");
  EXPECT_EQ(s.read_level(), Level::kApplication);
}

TEST_F(Rfc8448Server, ATamperedClientFinishedIsDecryptError) {
  auto cv = parse_certificate_verify(std::span(cv_).subspan(4));
  ASSERT_TRUE(cv);
  const ServerConfig13 cfg = config(Bytes(cv->signature.begin(), cv->signature.end()));
  Server13 s(cfg);
  ASSERT_EQ(s.handle(message_of(ch_)), Wait::kFlush);
  (void)s.take_flight();
  Bytes bad = cfin_;
  bad.back() ^= 0x80;
  EXPECT_EQ(s.handle(message_of(bad)), Wait::kError);
  EXPECT_EQ(s.error(), Error::kBadFinished);
  EXPECT_EQ(to_alert(s.error()), AlertDescription::kDecryptError);
}

// Hands out one fixed cookie: the RFC's (its server's cookie is opaque to us).
class FixedCookie final : public CookieSource {
 public:
  explicit FixedCookie(Bytes cookie) : cookie_(std::move(cookie)) {}
  Result<std::vector<uint8_t>, Error> make(std::span<const uint8_t>) const override {
    return cookie_;
  }

 private:
  Bytes cookie_;
};

TEST(Rfc8448HelloRetryRequest, ServerReplayByteForByte) {
  const char* kFile = "tls13/rfc8448_hrr.txt";
  Record msgs = section("messages", kFile);
  Record sched = section("schedule", kFile);
  Record rnd = section("server_randomness", kFile);
  const Bytes ch1 = hex(msgs["client_hello1"]), hrr = hex(msgs["hello_retry_request"]);
  const Bytes ch2 = hex(msgs["client_hello2"]), sh = hex(msgs["server_hello"]);
  const Bytes ee = hex(msgs["encrypted_extensions"]), cert = hex(msgs["certificate"]);
  const Bytes cv = hex(msgs["certificate_verify"]), fin = hex(msgs["server_finished"]);
  crypto::ScriptedRng rng;
  rng.append(hex(rnd["server_random"]));
  rng.append(hex(rnd["server_p256_private"]));
  PkeyPtr key = load_rfc_key();
  auto parsed_cert = parse_certificate(std::span(cert).subspan(4));
  ASSERT_TRUE(parsed_cert);
  auto parsed_cv = parse_certificate_verify(std::span(cv).subspan(4));
  ASSERT_TRUE(parsed_cv);

  // The RFC's server: no X25519 among the groups it takes (so the X25519 share draws the
  // retry), EE advertising secp256r1, secp384r1, x25519.
  ServerConfig13 cfg;
  ServerCertificate sc;
  sc.chain = {parsed_cert->entries[0]};
  sc.signer = std::make_shared<RfcSigner>(
      key.get(), Bytes(parsed_cv->signature.begin(), parsed_cv->signature.end()));
  sc.names = {"server"};
  cfg.certificates.push_back(std::move(sc));
  cfg.groups = {crypto::NamedGroup::kSecp256r1, crypto::NamedGroup::kSecp384r1};
  cfg.advertised_groups = {0x0017, 0x0018, 0x001d};
  cfg.record_size_limit = 0x4001;
  cfg.rng = &rng;
  cfg.cookie = std::make_shared<FixedCookie>(hex(rnd["cookie"]));

  Server13 s(cfg);
  ASSERT_EQ(s.handle(message_of(ch1)), Wait::kFlush) << to_string(s.error());
  EXPECT_EQ(s.state_name(), "read_second_client_hello");
  Flight f = s.take_flight();
  EXPECT_EQ(to_hex(f.bytes[0]), to_hex(hrr));
  EXPECT_TRUE(f.bytes[1].empty());
  EXPECT_EQ(rng.remaining(), 64u);  // the retry draws nothing

  ASSERT_EQ(s.handle(message_of(ch2)), Wait::kFlush) << to_string(s.error());
  EXPECT_EQ(rng.remaining(), 0u);
  f = s.take_flight();
  EXPECT_EQ(to_hex(f.bytes[0]), to_hex(sh));
  EXPECT_EQ(to_hex(f.bytes[1]), to_hex(cat({&ee, &cert, &cv, &fin})));
  EXPECT_TRUE(s.sent_hello_retry_request());
  const Secrets13& sec = s.secrets();
  EXPECT_EQ(to_hex(sec.client_handshake.view()), sched["c_hs_traffic"]);
  EXPECT_EQ(to_hex(sec.server_handshake.view()), sched["s_hs_traffic"]);
  EXPECT_EQ(to_hex(sec.client_application.view()), sched["c_ap_traffic"]);
  EXPECT_EQ(to_hex(sec.server_application.view()), sched["s_ap_traffic"]);
  EXPECT_EQ(to_hex(sec.exporter_master.view()), sched["exp_master"]);
}

TEST(Rfc8448HelloRetryRequest, SecondClientHelloWithoutTheCookieIsIllegal) {
  const char* kFile = "tls13/rfc8448_hrr.txt";
  Record msgs = section("messages", kFile);
  Record rnd = section("server_randomness", kFile);
  const Bytes ch1 = hex(msgs["client_hello1"]);
  Bytes ch2 = hex(msgs["client_hello2"]);
  PkeyPtr key = load_rfc_key();
  Bytes cert = hex(msgs["certificate"]);
  auto parsed_cert = parse_certificate(std::span(cert).subspan(4));
  ASSERT_TRUE(parsed_cert);
  ServerConfig13 cfg;
  ServerCertificate sc;
  sc.chain = {parsed_cert->entries[0]};
  sc.signer = std::make_shared<RfcSigner>(key.get(), std::nullopt);
  cfg.certificates.push_back(std::move(sc));
  cfg.groups = {crypto::NamedGroup::kSecp256r1};
  Bytes other_cookie = hex(rnd["cookie"]);
  other_cookie[0] ^= 1;  // the client echoes the RFC's cookie, not this one
  cfg.cookie = std::make_shared<FixedCookie>(other_cookie);
  Server13 s(cfg);
  ASSERT_EQ(s.handle(message_of(ch1)), Wait::kFlush);
  (void)s.take_flight();
  EXPECT_EQ(s.handle(message_of(ch2)), Wait::kError);
  EXPECT_EQ(s.error(), Error::kIllegalParameter);
}

// The §3 session as the §4 ClientHello names it: its identity opens to the §3 PSK, issued
// "now" with an age_add that makes the RFC's obfuscated age a plausible zero.
class RfcTicket final : public TicketDecoder {
 public:
  RfcTicket(Bytes identity, Bytes psk, uint32_t obfuscated_age)
      : identity_(std::move(identity)), psk_(std::move(psk)), age_add_(obfuscated_age) {}
  std::optional<TicketContents> open(std::span<const uint8_t> ticket) const override {
    if (!std::equal(ticket.begin(), ticket.end(), identity_.begin(), identity_.end())) {
      return std::nullopt;
    }
    TicketContents c;
    c.suite = CipherSuite::kAes128GcmSha256;
    c.psk.assign(psk_);
    c.issued_ms = kNowMs;
    c.lifetime_s = 7200;
    c.age_add = age_add_;
    const std::string_view sni = "server";
    c.server_name.assign(sni.begin(), sni.end());
    return c;
  }
  static constexpr uint64_t kNowMs = 1'000'000;

 private:
  Bytes identity_, psk_;
  uint32_t age_add_;
};

// Opens one protected record (header included), the first under traffic_secret; returns its
// inner content, or nullopt if it does not authenticate.
std::optional<Bytes> open_first_record(const SuiteInfo& suite,
                                       std::span<const uint8_t> traffic_secret, Bytes rec) {
  auto keys = derive_traffic_keys(suite, traffic_secret);
  auto batch = ossl::OsslAeadBatch::create(1);
  if (!keys || !batch) {
    ADD_FAILURE() << "no keys or batch";
    return std::nullopt;
  }
  auto protector = RecordProtector::create(**batch, *keys);
  if (!protector) {
    ADD_FAILURE() << "no protector";
    return std::nullopt;
  }
  tls::Record r;
  r.type = ContentType::kApplicationData;
  r.version = 0x0303;
  r.header = std::span(rec).first(kRecordHeaderLen);
  r.fragment = std::span(rec).subspan(kRecordHeaderLen);
  RecordSlot slot;
  auto q = protector->queue_open(**batch, r, &slot);
  if (!q || !*q) {
    ADD_FAILURE() << "cannot queue the open";
    return std::nullopt;
  }
  (*batch)->run();
  auto inner = finish_open((*batch)->status(0), slot);
  if (!inner || inner->type != ContentType::kHandshake) {
    return std::nullopt;
  }
  return Bytes(inner->content.begin(), inner->content.end());
}

class Rfc8448Resumption : public Rfc8448Server {
 protected:
  void SetUp() override {
    Rfc8448Server::SetUp();
    ch4_ = hex(section("client_hello_psk", "tls13/rfc8448_resumption.txt")["client_hello"]);
    auto ch = parse_client_hello(std::span(ch4_).subspan(4));
    ASSERT_TRUE(ch);
    ASSERT_EQ(ch->num_psks, 1u);
    identity_.assign(ch->psks[0].identity.begin(), ch->psks[0].identity.end());
    age_ = ch->psks[0].obfuscated_ticket_age;
    psk_ = hex(section("resumption")["psk"]);
  }

  ServerConfig13 resuming_config(const TicketDecoder* decoder) {
    ServerConfig13 c = config(std::nullopt);
    c.rng = nullptr;  // tests that compare bytes script their own
    c.ticket_decoder = decoder;
    c.now_ms = [] { return RfcTicket::kNowMs; };
    return c;
  }

  Bytes ch4_, identity_, psk_;
  uint32_t age_ = 0;
};

TEST_F(Rfc8448Resumption, SelectsTheSection3PskAndRejectsEarlyData) {
  const RfcTicket ticket(identity_, psk_, age_);
  ServerConfig13 cfg = resuming_config(&ticket);
  Record r = section("server_psk", "tls13/rfc8448_resumption.txt");
  crypto::ScriptedRng rng;
  rng.append(hex(r["server_random"]));
  rng.append(hex(r["server_x25519_private"]));
  cfg.rng = &rng;
  Server13 s(cfg);
  ASSERT_EQ(s.handle(message_of(ch4_)), Wait::kFlush) << to_string(s.error());
  EXPECT_EQ(rng.remaining(), 0u);
  EXPECT_TRUE(s.resumed());
  EXPECT_TRUE(s.early_data_offered());
  const Flight f = s.take_flight();
  // The RFC's ServerHello byte for byte: selected_identity 0, our share from its key.
  EXPECT_EQ(to_hex(f.bytes[0]), r["server_hello"]);
  // The RFC's EncryptedExtensions accept 0-RTT; ours are the same without early_data, which
  // makes them §3's. Then Finished: no Certificate, no CertificateVerify.
  const Bytes& hs = f.bytes[1];
  ASSERT_EQ(hs.size(), ee_.size() + 4 + 32);
  EXPECT_EQ(to_hex(std::span(hs).first(ee_.size())), to_hex(ee_));
  auto ee = parse_encrypted_extensions(std::span(ee_).subspan(4));
  ASSERT_TRUE(ee);
  EXPECT_FALSE(ee->early_data);
  EXPECT_EQ(hs[ee_.size()], static_cast<uint8_t>(HandshakeType::kFinished));
  // Our handshake secrets are the RFC's: its server's handshake record and its client's
  // Finished record open under them.
  auto server_hs = open_first_record(s.secrets().suite, s.secrets().server_handshake.view(),
                                     hex(r["server_handshake_record"]));
  ASSERT_TRUE(server_hs);
  EXPECT_EQ(to_hex(*server_hs), r["rfc_encrypted_extensions"] + r["rfc_server_finished"]);
  auto client_fin = open_first_record(s.secrets().suite, s.secrets().client_handshake.view(),
                                      hex(r["client_finished_record"]));
  ASSERT_TRUE(client_fin);
  ASSERT_EQ(client_fin->size(), 4u + 32u);
  EXPECT_EQ((*client_fin)[0], static_cast<uint8_t>(HandshakeType::kFinished));
}

TEST_F(Rfc8448Resumption, BinderMismatchAborts) {
  // The RFC's binder under another PSK, and a flipped binder under the right one.
  Bytes other = psk_;
  other[0] ^= 1;
  const RfcTicket wrong_psk(identity_, other, age_);
  const ServerConfig13 cfg1 = resuming_config(&wrong_psk);
  Server13 s1(cfg1);
  EXPECT_EQ(s1.handle(message_of(ch4_)), Wait::kError);
  EXPECT_EQ(s1.error(), Error::kBadPskBinder);
  EXPECT_EQ(to_alert(s1.error()), AlertDescription::kDecryptError);

  const RfcTicket ticket(identity_, psk_, age_);
  const ServerConfig13 cfg2 = resuming_config(&ticket);
  Server13 s2(cfg2);
  Bytes flipped = ch4_;
  flipped.back() ^= 1;  // the binder is the ClientHello's last byte
  EXPECT_EQ(s2.handle(message_of(flipped)), Wait::kError);
  EXPECT_EQ(s2.error(), Error::kBadPskBinder);
}

TEST_F(Rfc8448Resumption, UnknownIdentityIsAFullHandshake) {
  Bytes other = identity_;
  other[0] ^= 1;
  const RfcTicket ticket(other, psk_, age_);
  const ServerConfig13 cfg = resuming_config(&ticket);
  Server13 s(cfg);
  ASSERT_EQ(s.handle(message_of(ch4_)), Wait::kFlush) << to_string(s.error());
  EXPECT_FALSE(s.resumed());
  const Flight f = s.take_flight();
  auto sh = parse_server_hello(std::span(f.bytes[0]).subspan(4));
  ASSERT_TRUE(sh);
  EXPECT_FALSE(sh->selected_psk);
}

}  // namespace
}  // namespace linetls::tls
