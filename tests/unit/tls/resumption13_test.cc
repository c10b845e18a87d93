// TLS 1.3 session resumption in process (RFC 8446 §2.2, §4.2.11, §4.6.1): our client takes
// the server's NewSessionTickets from a full handshake and offers one in a second handshake,
// which must resume (PSK selected, no Certificate or CertificateVerify, data flows) or, for
// a ticket the server cannot or must not use, fall back to a full handshake without error.
// Also the ticket sealing itself (TicketKeys) and the bad-binder abort, and psk_ke (§4.2.9,
// ServerConfig13::allow_psk_ke): resumption without (EC)DHE, no key_share in the ServerHello.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "lib/tls/client13.h"
#include "lib/tls/errors.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/hello.h"
#include "lib/tls/key_schedule.h"
#include "lib/tls/messages13.h"
#include "lib/tls/server13.h"
#include "lib/tls/ticket13.h"
#include "tests/unit/tls/handshake13_harness.h"

namespace linetls::tls {
namespace {

using namespace testing13;  // NOLINT(google-build-using-namespace)
using crypto::NamedGroup;

// Handshake message types in a flight's bytes at one level.
std::vector<HandshakeType> message_types(std::span<const uint8_t> b) {
  std::vector<HandshakeType> out;
  size_t at = 0;
  while (at + kHandshakeHeaderLen <= b.size()) {
    out.push_back(static_cast<HandshakeType>(b[at]));
    at += kHandshakeHeaderLen + (size_t{b[at + 1]} << 16 | size_t{b[at + 2]} << 8 | b[at + 3]);
  }
  EXPECT_EQ(at, b.size());
  return out;
}

bool contains(const std::vector<HandshakeType>& v, HandshakeType t) {
  return std::find(v.begin(), v.end(), t) != v.end();
}

bool same_bytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end());
}

constexpr uint16_t kSupportedGroupsExt = 10;
constexpr uint16_t kKeyShareExt = 51;

// One extension of a hello: type and body.
struct Ext {
  uint16_t type;
  Bytes data;
};

// Rewrites the extensions block of a ClientHello or ServerHello body with edit (which may
// drop, add or change entries), fixing the block's length.
void edit_extensions(Bytes& body, bool client_hello,
                     const std::function<void(std::vector<Ext>&)>& edit) {
  size_t at = 2 + kRandomLen;
  at += 1 + body[at];  // legacy_session_id
  if (client_hello) {
    at += 2 + (size_t{body[at]} << 8 | body[at + 1]);  // cipher_suites
    at += 1 + body[at];                                 // legacy_compression_methods
  } else {
    at += 2 + 1;  // cipher_suite, legacy_compression_method
  }
  std::vector<Ext> exts;
  for (size_t i = at + 2; i + 4 <= body.size();) {
    const uint16_t type = static_cast<uint16_t>(body[i] << 8 | body[i + 1]);
    const size_t len = size_t{body[i + 2]} << 8 | body[i + 3];
    exts.push_back({type, Bytes(body.begin() + static_cast<std::ptrdiff_t>(i + 4),
                                body.begin() + static_cast<std::ptrdiff_t>(i + 4 + len))});
    i += 4 + len;
  }
  edit(exts);
  body.resize(at + 2);
  for (const Ext& e : exts) {
    body.push_back(static_cast<uint8_t>(e.type >> 8));
    body.push_back(static_cast<uint8_t>(e.type));
    body.push_back(static_cast<uint8_t>(e.data.size() >> 8));
    body.push_back(static_cast<uint8_t>(e.data.size()));
    body.insert(body.end(), e.data.begin(), e.data.end());
  }
  const size_t len = body.size() - at - 2;
  body[at] = static_cast<uint8_t>(len >> 8);
  body[at + 1] = static_cast<uint8_t>(len);
}

void drop_extension(Bytes& body, bool client_hello, uint16_t type) {
  edit_extensions(body, client_hello, [&](std::vector<Ext>& exts) {
    std::erase_if(exts, [&](const Ext& e) { return e.type == type; });
  });
}

HandshakeMessage as_message(std::span<const uint8_t> msg) {
  HandshakeMessage m;
  if (msg.size() < kHandshakeHeaderLen) {
    ADD_FAILURE() << "no message";
    return m;
  }
  m.type = static_cast<HandshakeType>(msg[0]);
  m.bytes = msg;
  m.body = msg.subspan(kHandshakeHeaderLen);
  return m;
}

// A server with tickets under a shared fake clock, and a client on the same clock.
class Resumption : public ::testing::Test {
 protected:
  Resumption() {
    EXPECT_TRUE(keys_.rotate());
    scfg_ = server_config({&certs().ecdsa256});
    scfg_.ticket_keys = &keys_;
    scfg_.now_ms = [this] { return server_ms_; };
    ccfg_.now_ms = [this] { return client_ms_; };
  }

  struct Result13 {
    bool resumed = false;
    bool hrr = false;
    bool early_data_offered = false;
    bool psk_ke = false;         // the server's view
    bool client_psk_ke = false;  // the client's
    std::vector<HandshakeType> server_handshake_flight;  // the first, at the handshake level
    Bytes server_hello;  // the last ServerHello body sent (after tampering)
    std::optional<Error> server_error;
    std::optional<uint8_t> client_alert;
    std::optional<Error> client_error;
    std::optional<uint8_t> server_alert;
  };

  // Runs one handshake with the current configs; takes the client's sessions into sessions_.
  Result13 run(bool expect_ok = true) {
    ServerConn s(scfg_, true);
    ClientConn c(ccfg_, false);
    Result13 r;
    s.tamper = [&](Level l, Bytes& b) {
      if (server_tamper) {
        server_tamper(l, b);
      }
      if (l == Level::kHandshake && r.server_handshake_flight.empty()) {
        r.server_handshake_flight = message_types(b);
      }
      if (l == Level::kInitial) {
        const auto sh = message_body(b, HandshakeType::kServerHello);
        r.server_hello.assign(sh.begin(), sh.end());
      }
    };
    c.start();
    pump(c, s);
    r.server_error = s.error;
    r.client_alert = c.alert_received;
    r.client_error = c.error;
    r.server_alert = s.alert_received;
    if (expect_ok) {
      expect_established(c, s);
      EXPECT_EQ(s.machine().resumed(), c.machine().resumed());
      // The offered session may live in sessions_: keep the old buffer alive (a moved vector
      // keeps its elements where they are).
      old_sessions_.push_back(std::move(sessions_));
      sessions_ = c.machine().take_sessions();
    }
    r.resumed = s.machine().resumed();
    r.hrr = s.machine().sent_hello_retry_request();
    r.early_data_offered = s.machine().early_data_offered();
    r.psk_ke = s.machine().psk_ke();
    r.client_psk_ke = c.machine().psk_ke();
    return r;
  }

  // The ServerHello of r, parsed.
  static ServerHello parsed_server_hello(const Result13& r) {
    auto sh = parse_server_hello(r.server_hello);
    EXPECT_TRUE(sh);
    return sh ? *sh : ServerHello{};
  }

  // A full handshake that leaves tickets in sessions_, then the client offers the first.
  void get_ticket() {
    const Result13 first = run();
    ASSERT_FALSE(first.resumed);
    ASSERT_EQ(sessions_.size(), scfg_.tickets_to_send);
    ccfg_.session = &sessions_[0];
  }

  std::unique_ptr<ossl::OsslAeadBatch> ticket_batch_ = ossl::OsslAeadBatch::create(1).value();
  TicketKeys keys_{*ticket_batch_, crypto::os_rng()};
  ServerConfig13 scfg_;
  ClientConfig13 ccfg_;
  uint64_t server_ms_ = 1'800'000'000'000;
  uint64_t client_ms_ = 5'000;  // the client's clock need not agree with the server's
  std::vector<Session> sessions_;
  std::vector<std::vector<Session>> old_sessions_;
  // Runs over each server flight's plaintext before run() looks at it.
  std::function<void(Level, Bytes&)> server_tamper;
};

class ResumptionEverySuite : public Resumption,
                             public ::testing::WithParamInterface<CipherSuite> {};

TEST_P(ResumptionEverySuite, FullThenResumed) {
  scfg_.cipher_suites = {GetParam()};
  get_ticket();
  EXPECT_EQ(sessions_[0].suite, GetParam());
  EXPECT_EQ(sessions_[0].lifetime_s, scfg_.ticket_lifetime_s);
  EXPECT_NE(sessions_[0].ticket, sessions_[1].ticket);
  EXPECT_FALSE(std::equal(sessions_[0].psk.view().begin(), sessions_[0].psk.view().end(),
                          sessions_[1].psk.view().begin(), sessions_[1].psk.view().end()));
  server_ms_ += 3000;
  client_ms_ += 3000;
  const Result13 r = run();
  EXPECT_TRUE(r.resumed);
  EXPECT_FALSE(contains(r.server_handshake_flight, HandshakeType::kCertificate));
  EXPECT_FALSE(contains(r.server_handshake_flight, HandshakeType::kCertificateVerify));
  EXPECT_TRUE(contains(r.server_handshake_flight, HandshakeType::kFinished));
  // The resumed connection hands out fresh tickets, which resume in turn.
  ASSERT_EQ(sessions_.size(), scfg_.tickets_to_send);
  ccfg_.session = &sessions_[1];
  EXPECT_TRUE(run().resumed);
}

INSTANTIATE_TEST_SUITE_P(Suites, ResumptionEverySuite,
                         ::testing::Values(CipherSuite::kAes128GcmSha256,
                                           CipherSuite::kAes256GcmSha384,
                                           CipherSuite::kChacha20Poly1305Sha256));

TEST_F(Resumption, FullHandshakeSendsCertificate) {
  const Result13 r = run();
  EXPECT_FALSE(r.resumed);
  EXPECT_TRUE(contains(r.server_handshake_flight, HandshakeType::kCertificate));
}

TEST_F(Resumption, TicketCountIsConfigurable) {
  scfg_.tickets_to_send = 1;
  run();
  EXPECT_EQ(sessions_.size(), 1u);
  scfg_.tickets_to_send = 0;
  run();
  EXPECT_TRUE(sessions_.empty());
}

TEST_F(Resumption, LifetimeIsClampedToSevenDays) {
  scfg_.ticket_lifetime_s = 30 * 86400;
  run();
  ASSERT_FALSE(sessions_.empty());
  EXPECT_EQ(sessions_[0].lifetime_s, kMaxTicketLifetime);
}

TEST_F(Resumption, PreviousKeyStillOpensOlderDoesNot) {
  get_ticket();
  ASSERT_TRUE(keys_.rotate());
  EXPECT_TRUE(run().resumed);  // the ticket's key is now the previous one
  ccfg_.session = nullptr;
  get_ticket();  // under the current key
  ASSERT_TRUE(keys_.rotate());
  ASSERT_TRUE(keys_.rotate());
  const Result13 r = run();  // rotated out: a full handshake, not an error
  EXPECT_FALSE(r.resumed);
  EXPECT_TRUE(contains(r.server_handshake_flight, HandshakeType::kCertificate));
}

TEST_F(Resumption, ExpiredTicketFallsBack) {
  scfg_.ticket_lifetime_s = 60;
  get_ticket();
  server_ms_ += 59'000;
  client_ms_ += 59'000;
  EXPECT_TRUE(run().resumed);
  ccfg_.session = nullptr;
  get_ticket();
  server_ms_ += 60'001;
  client_ms_ += 60'001;
  EXPECT_FALSE(run().resumed);
}

TEST_F(Resumption, ImplausibleTicketAgeFallsBack) {
  get_ticket();
  server_ms_ += 20'000;
  client_ms_ += 11'000;  // the client thinks the ticket is 9 s younger: within the window
  EXPECT_TRUE(run().resumed);
  ccfg_.session = nullptr;
  get_ticket();
  server_ms_ += 20'000;  // the client's age is 0, the server's 20 s
  EXPECT_FALSE(run().resumed);
}

TEST_F(Resumption, TamperedTicketFallsBack) {
  get_ticket();
  const size_t len = sessions_[0].ticket.size();
  for (size_t i : {size_t{0}, size_t{5}, len / 2, len - 1}) {
    sessions_[0].ticket[i] ^= 0x40;  // key id, nonce, ciphertext, tag
    EXPECT_FALSE(run().resumed) << "byte " << i;
    ccfg_.session = nullptr;
    get_ticket();
  }
  sessions_[0].ticket.resize(kTicketOverhead);  // nothing sealed at all
  EXPECT_FALSE(run().resumed);
}

TEST_F(Resumption, BadBinderIsDecryptError) {
  get_ticket();
  ccfg_.corrupt_binder = true;
  const Result13 r = run(false);
  ASSERT_TRUE(r.server_error);
  EXPECT_EQ(*r.server_error, Error::kBadPskBinder);
  ASSERT_TRUE(r.client_alert);
  EXPECT_EQ(*r.client_alert, static_cast<uint8_t>(AlertDescription::kDecryptError));
}

// ServerConfig13::allow_psk_ke off (the default): psk_ke is never selected.
TEST_F(Resumption, PskKeOnlyIsAFullHandshake) {
  ASSERT_FALSE(scfg_.allow_psk_ke);
  get_ticket();
  ccfg_.psk_modes = {0};  // psk_ke: not enabled on the server
  const Result13 r = run();
  EXPECT_FALSE(r.resumed);
  EXPECT_FALSE(r.psk_ke);
  EXPECT_TRUE(contains(r.server_handshake_flight, HandshakeType::kCertificate));
  ccfg_.psk_modes = {0, 1};
  const Result13 both = run();
  EXPECT_TRUE(both.resumed);
  EXPECT_FALSE(both.psk_ke);  // psk_dhe_ke: the ServerHello carries our share
  EXPECT_FALSE(both.client_psk_ke);
  EXPECT_FALSE(parsed_server_hello(both).key_share.empty());
}

// psk_ke enabled and listed alone: the ServerHello selects the PSK with no key_share
// (§4.2.9), both sides key the handshake with the 0-value for (EC)DHE (§7.1), agree on
// every secret and move data (run() checks); its tickets resume in turn.
TEST_F(Resumption, PskKeResumesWithoutKeyShare) {
  scfg_.allow_psk_ke = true;
  get_ticket();
  ccfg_.psk_modes = {0};
  const Result13 r = run();
  EXPECT_TRUE(r.resumed);
  EXPECT_TRUE(r.psk_ke);
  EXPECT_TRUE(r.client_psk_ke);
  EXPECT_FALSE(r.hrr);
  const ServerHello sh = parsed_server_hello(r);
  ASSERT_TRUE(sh.selected_psk);
  EXPECT_EQ(*sh.selected_psk, 0);
  EXPECT_TRUE(sh.key_share.empty());
  EXPECT_EQ(sh.key_share_group, 0);
  EXPECT_FALSE(contains(r.server_handshake_flight, HandshakeType::kCertificate));
  EXPECT_FALSE(contains(r.server_handshake_flight, HandshakeType::kCertificateVerify));
  ASSERT_EQ(sessions_.size(), scfg_.tickets_to_send);
  ccfg_.session = &sessions_[0];
  const Result13 again = run();
  EXPECT_TRUE(again.resumed);
  EXPECT_TRUE(again.psk_ke);
}

// Both modes listed: psk_ke wins when enabled (it is what enabling it asks for).
TEST_F(Resumption, PskKeIsPreferredOverPskDheKe) {
  scfg_.allow_psk_ke = true;
  get_ticket();
  ccfg_.psk_modes = {1, 0};
  const Result13 r = run();
  EXPECT_TRUE(r.resumed);
  EXPECT_TRUE(r.psk_ke);
  EXPECT_TRUE(r.client_psk_ke);
  EXPECT_TRUE(parsed_server_hello(r).key_share.empty());
}

// Enabled, but the client lists psk_dhe_ke only: psk_dhe_ke, as before (§4.2.9 "Servers
// MUST NOT select a key exchange mode that is not listed by the client").
TEST_F(Resumption, PskKeEnabledStillDoesPskDheKeWhenOnlyThatIsListed) {
  scfg_.allow_psk_ke = true;
  get_ticket();
  ccfg_.psk_modes = {1};
  const Result13 r = run();
  EXPECT_TRUE(r.resumed);
  EXPECT_FALSE(r.psk_ke);
  EXPECT_FALSE(r.client_psk_ke);
  const ServerHello sh = parsed_server_hello(r);
  EXPECT_FALSE(sh.key_share.empty());
  EXPECT_EQ(sh.key_share_group, static_cast<uint16_t>(NamedGroup::kX25519));
}

// A psk_ke resumption needs no group: where psk_dhe_ke needs a HelloRetryRequest for one,
// psk_ke resumes at once; a ticket that does not resume still gets the retry.
TEST_F(Resumption, PskKeNeedsNoHelloRetryRequest) {
  scfg_.allow_psk_ke = true;
  get_ticket();
  scfg_.groups = {NamedGroup::kSecp256r1};  // the client's X25519 share would force an HRR
  ccfg_.psk_modes = {0};
  const Result13 r = run();
  EXPECT_FALSE(r.hrr);
  EXPECT_TRUE(r.resumed);
  EXPECT_TRUE(r.psk_ke);
  ccfg_.psk_modes = {1};
  EXPECT_TRUE(run().hrr);
  ccfg_.psk_modes = {0};
  scfg_.ticket_keys = nullptr;  // nothing opens: a full handshake, through the retry
  const Result13 full = run();
  EXPECT_TRUE(full.hrr);
  EXPECT_FALSE(full.resumed);
}

// §4.2.11: the binder is checked before psk_ke is accepted, as before psk_dhe_ke.
TEST_F(Resumption, PskKeBadBinderIsDecryptError) {
  scfg_.allow_psk_ke = true;
  get_ticket();
  ccfg_.psk_modes = {0};
  ccfg_.corrupt_binder = true;
  const Result13 r = run(false);
  ASSERT_TRUE(r.server_error);
  EXPECT_EQ(*r.server_error, Error::kBadPskBinder);
  ASSERT_TRUE(r.client_alert);
  EXPECT_EQ(*r.client_alert, static_cast<uint8_t>(AlertDescription::kDecryptError));
}

// A ServerHello selecting our PSK without a key_share is psk_ke: a client that listed only
// psk_dhe_ke misses the key_share it needs (§4.2.9, §6.2 missing_extension).
TEST_F(Resumption, ClientRefusesPskKeItDidNotList) {
  scfg_.allow_psk_ke = true;
  get_ticket();
  ccfg_.psk_modes = {1};
  server_tamper = [](Level l, Bytes& b) {
    if (l == Level::kInitial) {
      edit_message(b, HandshakeType::kServerHello,
                   [](Bytes& body) { drop_extension(body, false, kKeyShareExt); });
    }
  };
  const Result13 r = run(false);
  ASSERT_TRUE(r.client_error);
  EXPECT_EQ(*r.client_error, Error::kMissingExtension);
  ASSERT_TRUE(r.server_alert);
  EXPECT_EQ(*r.server_alert, static_cast<uint8_t>(AlertDescription::kMissingExtension));
  EXPECT_TRUE(parsed_server_hello(r).key_share.empty());
}

// The other way round: a key_share with our PSK when we listed only psk_ke is a mode we did
// not offer (illegal_parameter).
TEST_F(Resumption, ClientRefusesPskDheKeItDidNotList) {
  scfg_.allow_psk_ke = true;
  get_ticket();
  ccfg_.psk_modes = {0};
  server_tamper = [](Level l, Bytes& b) {
    if (l == Level::kInitial) {
      edit_message(b, HandshakeType::kServerHello, [](Bytes& body) {
        edit_extensions(body, false, [](std::vector<Ext>& exts) {
          Bytes share = {0x00, 0x1d, 0x00, 0x20};
          share.resize(share.size() + 32, 9);  // an X25519 public key
          exts.insert(exts.begin() + 1, Ext{kKeyShareExt, share});
        });
      });
    }
  };
  const Result13 r = run(false);
  ASSERT_TRUE(r.client_error);
  EXPECT_EQ(*r.client_error, Error::kIllegalParameter);
  EXPECT_FALSE(parsed_server_hello(r).key_share.empty());
}

// A ClientHello for psk_ke alone need not carry key_share or supported_groups (§9.2 requires
// supported_groups, and with it key_share, only without pre_shared_key). Our client always
// sends both, so this one is built here and the handshake is driven by hand: the key
// schedule with the PSK and an explicit Hash.length-zero (EC)DHE input (§7.1) must give the
// server's secrets, verify its Finished and make a client Finished it accepts.
class PskOnlyClientHello : public Resumption {
 protected:
  // Our ClientHello for sessions_[0] listing psk_modes, without key_share and
  // supported_groups, its binder computed after the edit (flipped if corrupt).
  Bytes client_hello(std::vector<uint8_t> psk_modes, bool corrupt = false) {
    const Session& ses = sessions_[0];
    const uint8_t random[kRandomLen] = {7};
    const uint16_t suites[] = {static_cast<uint16_t>(ses.suite)};
    ClientHelloParams p;
    p.random = random;
    p.cipher_suites = suites;
    p.omit_key_share = true;
    p.omit_signature_algorithms = true;
    p.psk_modes = psk_modes;
    p.psk_identity = ses.ticket;
    p.psk_obfuscated_age = static_cast<uint32_t>(client_ms_ - ses.received_ms) + ses.age_add;
    p.psk_binder_len = crypto::hash_len(suite_info(ses.suite).hash);
    Bytes msg(4096);
    ByteWriter w(msg);
    EXPECT_TRUE(write_client_hello(w, p));
    msg.resize(w.size());
    // write_client_hello always sends supported_groups (empty here): take it out.
    EXPECT_TRUE(edit_message(msg, HandshakeType::kClientHello, [](Bytes& body) {
      drop_extension(body, true, kSupportedGroupsExt);
    }));
    auto ch = parse_client_hello(std::span(msg).subspan(kHandshakeHeaderLen));
    if (!ch) {
      ADD_FAILURE() << "ClientHello: " << to_string(ch.error());
      return {};
    }
    EXPECT_FALSE(ch->has(ExtensionType::kKeyShare));
    EXPECT_FALSE(ch->has(ExtensionType::kSupportedGroups));
    EXPECT_TRUE(check_tls13_client_hello(*ch));  // §9.2: well-formed as it is
    // §4.2.11.2: the binder over the truncated ClientHello.
    const crypto::HashAlgo algo = suite_info(ses.suite).hash;
    KeySchedule early(algo);
    EXPECT_TRUE(early.start(ses.psk.view()));
    auto binder_key = early.binder_key(true);
    auto h = crypto::hash(algo, std::span(msg).first(kHandshakeHeaderLen + ch->binders_offset));
    auto binder = finished_verify_data(algo, binder_key->view(), h->view());
    if (!binder) {
      ADD_FAILURE() << "binder";
      return {};
    }
    std::copy(binder->view().begin(), binder->view().end(),
              msg.end() - static_cast<std::ptrdiff_t>(binder->view().size()));
    if (corrupt) {
      msg.back() ^= 1;
    }
    return msg;
  }
};

TEST_F(PskOnlyClientHello, ResumesWithPskKe) {
  scfg_.allow_psk_ke = true;
  get_ticket();
  const Session& ses = sessions_[0];
  const crypto::HashAlgo algo = suite_info(ses.suite).hash;
  const Bytes ch = client_hello({0});
  Server13 server(scfg_);
  ASSERT_EQ(server.handle(as_message(ch)), Wait::kFlush) << to_string(server.error());
  EXPECT_FALSE(server.sent_hello_retry_request());
  EXPECT_TRUE(server.resumed());
  EXPECT_TRUE(server.psk_ke());
  Flight f = server.take_flight();
  const Bytes& sh_msg = f.bytes[static_cast<size_t>(Level::kInitial)];
  const Bytes& hs = f.bytes[static_cast<size_t>(Level::kHandshake)];
  auto sh = parse_server_hello(std::span(sh_msg).subspan(kHandshakeHeaderLen));
  ASSERT_TRUE(sh);
  ASSERT_TRUE(sh->selected_psk);
  EXPECT_EQ(*sh->selected_psk, 0);
  EXPECT_TRUE(sh->key_share.empty());
  ASSERT_EQ(message_types(hs),
            (std::vector<HandshakeType>{HandshakeType::kEncryptedExtensions,
                                        HandshakeType::kFinished}));

  // The client side, by hand: Early Secret from the PSK, then the 0-value for (EC)DHE.
  auto transcript = crypto::Transcript::create(algo);
  ASSERT_TRUE(transcript && transcript->update(ch) && transcript->update(sh_msg));
  KeySchedule ks(algo);
  const Bytes zeros(crypto::hash_len(algo), 0);
  ASSERT_TRUE(ks.start(ses.psk.view()));
  ASSERT_TRUE(ks.add_handshake(zeros));
  auto ch_sh = transcript->digest();
  auto chs = ks.client_handshake_traffic_secret(ch_sh->view());
  auto shs = ks.server_handshake_traffic_secret(ch_sh->view());
  ASSERT_TRUE(chs && shs);
  EXPECT_TRUE(same_bytes(shs->view(), server.secrets().server_handshake.view()));
  EXPECT_TRUE(same_bytes(chs->view(), server.secrets().client_handshake.view()));
  // The server's Finished over ClientHello..EncryptedExtensions.
  const size_t fin_at = *message_offset(hs, HandshakeType::kFinished);
  ASSERT_TRUE(transcript->update(std::span(hs).first(fin_at)));
  auto to_ee = transcript->digest();
  auto fin = parse_finished(message_body(hs, HandshakeType::kFinished), algo);
  ASSERT_TRUE(fin);
  EXPECT_TRUE(verify_finished(algo, shs->view(), to_ee->view(), *fin));
  ASSERT_TRUE(transcript->update(std::span(hs).subspan(fin_at)));
  auto to_server_fin = transcript->digest();
  ASSERT_TRUE(ks.add_master());
  auto cap = ks.client_application_traffic_secret(to_server_fin->view());
  auto sap = ks.server_application_traffic_secret(to_server_fin->view());
  ASSERT_TRUE(cap && sap);
  EXPECT_TRUE(same_bytes(cap->view(), server.secrets().client_application.view()));
  EXPECT_TRUE(same_bytes(sap->view(), server.secrets().server_application.view()));
  // Our Finished completes the handshake (and brings tickets).
  auto verify_data = finished_verify_data(algo, chs->view(), to_server_fin->view());
  Bytes cfin(64);
  ByteWriter w(cfin);
  ASSERT_TRUE(write_finished(w, verify_data->view()));
  cfin.resize(w.size());
  EXPECT_EQ(server.handle(as_message(cfin)), Wait::kFlush) << to_string(server.error());
  EXPECT_EQ(server.wait(), Wait::kDone);
}

// Off: the same ClientHello gets what it got before psk_ke existed, a handshake_failure for
// want of a group (§4.1.1).
TEST_F(PskOnlyClientHello, WithoutPskKeThereIsNoCommonGroup) {
  get_ticket();
  const Bytes ch = client_hello({0});
  Server13 server(scfg_);
  EXPECT_EQ(server.handle(as_message(ch)), Wait::kError);
  EXPECT_EQ(server.error(), Error::kNoCommonGroup);
  EXPECT_EQ(to_alert(server.error()), AlertDescription::kHandshakeFailure);
  // On, but psk_dhe_ke listed: no share to do it with, and nothing to retry with.
  scfg_.allow_psk_ke = true;
  Server13 dhe(scfg_);
  EXPECT_EQ(dhe.handle(as_message(client_hello({1}))), Wait::kError);
  EXPECT_EQ(dhe.error(), Error::kNoCommonGroup);
  // On, psk_ke listed, but the ticket does not open: no full handshake either.
  scfg_.ticket_keys = nullptr;
  Server13 unopened(scfg_);
  EXPECT_EQ(unopened.handle(as_message(ch)), Wait::kError);
  EXPECT_EQ(unopened.error(), Error::kNoCommonGroup);
}

TEST_F(PskOnlyClientHello, BadBinderIsDecryptError) {
  scfg_.allow_psk_ke = true;
  get_ticket();
  Server13 server(scfg_);
  EXPECT_EQ(server.handle(as_message(client_hello({0}, true))), Wait::kError);
  EXPECT_EQ(server.error(), Error::kBadPskBinder);
  EXPECT_EQ(to_alert(server.error()), AlertDescription::kDecryptError);
}

// §7.1: without (EC)DHE the Handshake Secret takes Hash.length zero bytes; there must be a
// PSK for that (nothing would be secret otherwise).
TEST(KeySchedulePskKe, WithoutDheIsTheZeroValueAndNeedsAPsk) {
  for (crypto::HashAlgo algo : {crypto::HashAlgo::kSha256, crypto::HashAlgo::kSha384}) {
    const Bytes psk(crypto::hash_len(algo), 0x42);
    const Bytes zeros(crypto::hash_len(algo), 0);
    KeySchedule a(algo), b(algo);
    ASSERT_TRUE(a.start(psk) && b.start(psk));
    ASSERT_TRUE(a.add_handshake_without_dhe());
    ASSERT_TRUE(b.add_handshake(zeros));
    EXPECT_TRUE(same_bytes(a.secret(), b.secret()));
    EXPECT_EQ(a.stage(), KeySchedule::Stage::kHandshake);
    KeySchedule none(algo);
    ASSERT_TRUE(none.start());
    EXPECT_EQ(none.add_handshake_without_dhe().error(), Error::kInternalError);
    KeySchedule empty(algo);
    ASSERT_TRUE(empty.start(psk));
    EXPECT_EQ(empty.add_handshake({}).error(), Error::kInternalError);
  }
}

TEST_F(Resumption, ServerWithoutTicketKeysIgnoresThePsk) {
  get_ticket();
  scfg_.ticket_keys = nullptr;
  EXPECT_FALSE(run().resumed);
  EXPECT_TRUE(sessions_.empty());  // and sends no tickets
}

TEST_F(Resumption, OtherServerNameFallsBack) {
  ccfg_.server_name = "a.example";
  get_ticket();
  ccfg_.server_name = "b.example";
  EXPECT_FALSE(run().resumed);
}

TEST_F(Resumption, SuiteWithOtherHashFallsBack) {
  scfg_.cipher_suites = {CipherSuite::kAes256GcmSha384};
  get_ticket();
  scfg_.cipher_suites = {CipherSuite::kChacha20Poly1305Sha256};  // SHA-256
  EXPECT_FALSE(run().resumed);
  scfg_.cipher_suites = {CipherSuite::kAes256GcmSha384};
  EXPECT_TRUE(run().resumed);
}

TEST_F(Resumption, HelloRetryRequestRecomputesTheBinder) {
  get_ticket();
  scfg_.groups = {NamedGroup::kSecp256r1};  // the client's X25519 share forces an HRR
  const Result13 r = run();
  EXPECT_TRUE(r.hrr);
  EXPECT_TRUE(r.resumed);
  EXPECT_FALSE(contains(r.server_handshake_flight, HandshakeType::kCertificate));
  // A bad binder in the second ClientHello is caught there too.
  ccfg_.session = &sessions_[0];
  ccfg_.corrupt_binder = true;
  const Result13 bad = run(false);
  ASSERT_TRUE(bad.server_error);
  EXPECT_EQ(*bad.server_error, Error::kBadPskBinder);
}

// §4.2.3: signature_algorithms is sent "when the client wants to authenticate the server
// via a certificate"; §9.2 requires it only of a ClientHello without pre_shared_key. The
// certificate is chosen for a full handshake alone, so a PSK-only ClientHello resumes (also
// through a HelloRetryRequest); when the PSK cannot be used the full handshake lacks the
// extension: missing_extension (§9.2), not a handshake_failure over the schemes.
TEST_F(Resumption, PskOnlyClientHelloNeedsNoSignatureAlgorithms) {
  get_ticket();
  ccfg_.omit_signature_algorithms = true;
  Result13 r = run();
  EXPECT_TRUE(r.resumed);
  EXPECT_FALSE(contains(r.server_handshake_flight, HandshakeType::kCertificate));
  ccfg_.session = &sessions_[0];
  scfg_.groups = {NamedGroup::kSecp256r1};  // the client's X25519 share forces an HRR
  r = run();
  EXPECT_TRUE(r.hrr);
  EXPECT_TRUE(r.resumed);
  scfg_.groups = {NamedGroup::kX25519};
  ccfg_.session = &sessions_[0];
  scfg_.ticket_keys = nullptr;  // the ticket cannot be opened: a full handshake is needed
  r = run(false);
  EXPECT_FALSE(r.resumed);
  ASSERT_TRUE(r.server_error);
  EXPECT_EQ(*r.server_error, Error::kMissingExtension);
  ASSERT_TRUE(r.client_alert);
  EXPECT_EQ(*r.client_alert, static_cast<uint8_t>(AlertDescription::kMissingExtension));
}

TEST_F(Resumption, EarlyDataIsOfferedButNotAccepted) {
  get_ticket();
  ccfg_.offer_early_data = true;
  // The client refuses an early_data it did not expect in EE (unsolicited), so success also
  // shows that the server did not accept 0-RTT.
  const Result13 r = run();
  EXPECT_TRUE(r.resumed);
  EXPECT_TRUE(r.early_data_offered);
}

TEST(TicketKeys, SealOpenRoundTripAndKeyIds) {
  auto batch = ossl::OsslAeadBatch::create(1).value();
  TicketKeys keys(*batch, crypto::os_rng());
  TicketContents c;
  c.suite = CipherSuite::kAes256GcmSha384;
  const Bytes psk(48, 0x5a);
  c.psk.assign(psk);
  c.issued_ms = 123456789;
  c.lifetime_s = 3600;
  c.age_add = 0xdeadbeef;
  c.alpn = bytes("h2");
  c.server_name = bytes("example.com");
  EXPECT_FALSE(keys.seal(c));  // no key before rotate()
  ASSERT_TRUE(keys.rotate());
  auto t = keys.seal(c);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->size(), kTicketOverhead + encode_ticket_contents(c).size());
  auto back = keys.open(*t);
  ASSERT_TRUE(back);
  EXPECT_EQ(back->suite, c.suite);
  EXPECT_TRUE(std::equal(psk.begin(), psk.end(), back->psk.view().begin(),
                         back->psk.view().end()));
  EXPECT_EQ(back->issued_ms, c.issued_ms);
  EXPECT_EQ(back->lifetime_s, c.lifetime_s);
  EXPECT_EQ(back->age_add, c.age_add);
  EXPECT_EQ(back->alpn, c.alpn);
  EXPECT_EQ(back->server_name, c.server_name);
  // The key id is authenticated: the same ciphertext under another id does not open.
  Bytes other = *t;
  other[3] ^= 1;
  EXPECT_FALSE(keys.open(other));
  const uint32_t first_id = keys.current_id();
  ASSERT_TRUE(keys.rotate());
  EXPECT_NE(keys.current_id(), first_id);
  EXPECT_TRUE(keys.open(*t));
  ASSERT_TRUE(keys.rotate());
  EXPECT_FALSE(keys.open(*t));
  EXPECT_FALSE(keys.open({}));
}

TEST(TicketContents, RejectsMalformedPlaintext) {
  TicketContents c;
  c.suite = CipherSuite::kAes128GcmSha256;
  const Bytes psk(32, 1);
  c.psk.assign(psk);
  Bytes enc = encode_ticket_contents(c);
  ASSERT_TRUE(decode_ticket_contents(enc));
  Bytes bad_version = enc;
  bad_version[0] = 1;  // the format before client identities: such tickets fail cleanly
  EXPECT_FALSE(decode_ticket_contents(bad_version));
  bad_version[0] = 3;
  EXPECT_FALSE(decode_ticket_contents(bad_version));
  Bytes trailing = enc;
  trailing.push_back(0);
  EXPECT_FALSE(decode_ticket_contents(trailing));
  EXPECT_FALSE(decode_ticket_contents(std::span(enc).first(enc.size() - 1)));
  c.suite = CipherSuite::kAes256GcmSha384;  // a 32-byte PSK for a SHA-384 suite
  EXPECT_FALSE(decode_ticket_contents(encode_ticket_contents(c)));
}

}  // namespace
}  // namespace linetls::tls
