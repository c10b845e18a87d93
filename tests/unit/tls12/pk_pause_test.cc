// The server machines' public-key pause points, through the session facade with
// ServerSessionConfig::pk_offload on: which jobs each handshake stops for and in which
// order, that nothing is read or written while a job is out, that the handshake then ends
// exactly as inline, that connections may get their jobs back in any order, and that a failed
// or misplaced job ends the connection with one alert.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "lib/tls/pk_job.h"
#include "lib/tls/v12/server_session.h"
#include "tests/unit/tls/handshake13_harness.h"
#include "tests/unit/tls12/facade_driver.h"
#include "tests/unit/tls12/session12_harness.h"

namespace linetls::tls {
namespace {

using namespace facade_testing;  // NOLINT(google-build-using-namespace)
using ClientConn13 = testing13::ClientConn;
using v12::ClientConfig12;
using v12::testing12::ClientConn12;

struct OffloadConfigs : Configs {
  OffloadConfigs() { sc.pk_offload = true; }
};

// Moves bytes until the server stops at a job with nothing in flight (or nothing moves).
template <typename C>
void pump_to_job(C& c, Driver& d) {
  d.drain();
  for (int round = 0; round < 50 && d.job == nullptr && (!c.out.empty() || !d.wire.empty());
       round++) {
    Bytes to_s = std::move(c.out);
    c.out.clear();
    d.receive(to_s);
    Bytes to_c = std::move(d.wire);
    d.wire.clear();
    c.receive(to_c, 1 << 20);
  }
}

TEST(PkPause, Tls13FullStopsForTheKeyExchangeThenTheSignature) {
  OffloadConfigs cf;
  Driver d(cf.sc);
  ClientConfig13 ccfg;
  ClientConn13 c(ccfg, false);
  c.start();
  pump_to_job(c, d);
  ASSERT_NE(d.job, nullptr);
  EXPECT_EQ(d.job->kind, PkKind::kKeyExchange);
  EXPECT_EQ(d.job->group, crypto::NamedGroup::kX25519);
  EXPECT_EQ(d.job->peer_len, 32u);
  EXPECT_TRUE(d.wire.empty());  // no ServerHello before the key exchange is back
  EXPECT_TRUE(d.s.barrier());  // and its input waits
  d.complete_job();
  ASSERT_NE(d.job, nullptr);
  EXPECT_EQ(d.job->kind, PkKind::kSign);
  EXPECT_TRUE(d.wire.empty());  // the flight waits for its CertificateVerify
  EXPECT_EQ(d.job->scheme, crypto::SignatureScheme::kEcdsaSecp256r1Sha256);
  EXPECT_NE(d.job->signer, nullptr);
  d.complete_job();
  EXPECT_EQ(d.job, nullptr);
  EXPECT_FALSE(d.wire.empty());
  pump(c, d);
  expect_established(c, d, kTls13);
  EXPECT_EQ(d.pauses, (std::vector<PkKind>{PkKind::kKeyExchange, PkKind::kSign}));
}

TEST(PkPause, Tls13ResumedStopsForTheKeyExchangeOnlyAndPskKeForNothing) {
  std::unique_ptr<ossl::OsslAeadBatch> tb = ossl::OsslAeadBatch::create(1).value();
  TicketKeys keys(*tb, crypto::os_rng());
  ASSERT_TRUE(keys.rotate());
  OffloadConfigs cf;
  cf.c13.ticket_keys = &keys;
  cf.c13.allow_psk_ke = true;
  std::vector<Session> sessions;
  {
    Driver d(cf.sc);
    ClientConfig13 ccfg;
    ClientConn13 c(ccfg, false);
    c.start();
    pump(c, d);
    expect_established(c, d, kTls13);
    sessions = c.machine().take_sessions();
    ASSERT_FALSE(sessions.empty());
  }
  {
    Driver d(cf.sc);
    ClientConfig13 ccfg;
    ccfg.session = &sessions[0];
    ClientConn13 c(ccfg, false);
    c.start();
    pump(c, d);
    expect_established(c, d, kTls13);
    EXPECT_TRUE(d.s.resumed());
    EXPECT_EQ(d.pauses, (std::vector<PkKind>{PkKind::kKeyExchange}));
  }
  {
    Driver d(cf.sc);
    ClientConfig13 ccfg;
    ccfg.session = &sessions[1];
    ccfg.psk_modes = {0};  // psk_ke: no (EC)DHE at all
    ClientConn13 c(ccfg, false);
    c.start();
    pump(c, d);
    expect_established(c, d, kTls13);
    EXPECT_TRUE(d.s.resumed());
    EXPECT_TRUE(d.pauses.empty());
  }
}

TEST(PkPause, Tls12FullStopsForKeyGenSignatureAndDerive) {
  OffloadConfigs cf;
  Driver d(cf.sc);
  ClientConfig12 ccfg;
  ClientConn12 c(ccfg);
  c.start();
  pump_to_job(c, d);
  ASSERT_NE(d.job, nullptr);
  EXPECT_EQ(d.job->kind, PkKind::kKeyGen);
  d.complete_job();
  ASSERT_NE(d.job, nullptr);
  EXPECT_EQ(d.job->kind, PkKind::kSign);
  EXPECT_NE(d.job->key, nullptr);
  EXPECT_TRUE(d.wire.empty());
  d.complete_job();
  EXPECT_FALSE(d.wire.empty());
  // The client's ClientKeyExchange, ChangeCipherSpec and Finished arrive together: the
  // last two wait while the derive is out.
  pump_to_job(c, d);
  ASSERT_NE(d.job, nullptr);
  EXPECT_EQ(d.job->kind, PkKind::kDerive);
  EXPECT_TRUE(d.job->share.has_value());
  EXPECT_FALSE(d.held_input.empty());
  EXPECT_FALSE(d.s.handshake_done());
  pump(c, d);
  expect_established(c, d, kTls12);
  EXPECT_EQ(d.pauses, (std::vector<PkKind>{PkKind::kKeyGen, PkKind::kSign, PkKind::kDerive}));
}

TEST(PkPause, MutualTlsBothVersions) {
  {
    OffloadConfigs cf;
    cf.c12.client_auth = v12::ClientAuth::kRequired;
    Driver d(cf.sc);
    ClientConfig12 ccfg;
    const v12::Certificate12 cert = v12::Certificate12::from(v12::testing12::certs().client);
    ccfg.certificate = &cert;
    ClientConn12 c(ccfg);
    c.start();
    pump(c, d);
    expect_established(c, d, kTls12);
    ASSERT_NE(d.s.client_identity(), nullptr);
    // The client's Certificate, ClientKeyExchange and CertificateVerify came in one flight:
    // each waits for the job before it.
    EXPECT_EQ(d.pauses, (std::vector<PkKind>{PkKind::kKeyGen, PkKind::kSign, PkKind::kVerifyChain,
                                             PkKind::kDerive, PkKind::kVerify}));
  }
  {
    OffloadConfigs cf;
    cf.c13.client_auth = ClientAuth::kRequired;
    cf.c13.client_ca = &v12::testing12::certs().ca;
    Driver d(cf.sc);
    ClientConfig13 ccfg;
    ccfg.certificate = &v12::testing12::certs().client;
    ClientConn13 c(ccfg, false);
    c.start();
    pump(c, d);
    expect_established(c, d, kTls13);
    ASSERT_NE(d.s.client_identity(), nullptr);
    EXPECT_EQ(d.pauses, (std::vector<PkKind>{PkKind::kKeyExchange, PkKind::kSign,
                                             PkKind::kVerifyChain, PkKind::kVerify}));
  }
}

// The client's CertificateVerify checked on another core and refused: decrypt_error, as
// inline; and a chain refused there: its certificate alert.
TEST(PkPause, ClientVerificationsRefusedOffTheWorker) {
  for (const PkKind refuse : {PkKind::kVerify, PkKind::kVerifyChain}) {
    SCOPED_TRACE(to_string(refuse));
    OffloadConfigs cf;
    cf.c13.client_auth = ClientAuth::kRequired;
    cf.c13.client_ca = &v12::testing12::certs().ca;
    Driver d(cf.sc);
    ClientConfig13 ccfg;
    ccfg.certificate = &v12::testing12::certs().client;
    ClientConn13 c(ccfg, false);
    c.start();
    for (int step = 0; step < 20 && !d.s.closed(); step++) {
      pump_to_job(c, d);
      if (d.job == nullptr) {
        break;
      }
      if (d.job->kind == refuse) {
        run_pk_job(*d.job, crypto::os_rng());
        ASSERT_TRUE(d.job->ok);
        d.job->ok = false;  // as if the signature or the chain had not checked out
        d.job->error = crypto::Error::kUnknownCa;
        d.complete_job(false);
      } else {
        d.complete_job();
      }
    }
    pump(c, d);
    EXPECT_FALSE(d.s.handshake_done());
    EXPECT_EQ(d.alerts, 1);
    ASSERT_TRUE(d.s.stats().alert_sent.has_value());
    EXPECT_EQ(*d.s.stats().alert_sent,
              static_cast<uint8_t>(refuse == PkKind::kVerify ? AlertDescription::kDecryptError
                                                             : AlertDescription::kUnknownCa))
        << alert_name(*d.s.stats().alert_sent);
  }
}

// Jobs of several connections come back in another order than they went out.
TEST(PkPause, JobsCompleteOutOfOrderAcrossConnections) {
  OffloadConfigs cf;
  constexpr int kConns = 4;
  std::vector<std::unique_ptr<Driver>> ds;
  std::vector<std::unique_ptr<ClientConn13>> cs13;
  std::vector<std::unique_ptr<ClientConn12>> cs12;
  ClientConfig13 c13;
  ClientConfig12 c12;
  for (int i = 0; i < kConns; i++) {
    ds.push_back(std::make_unique<Driver>(cf.sc));
    cs13.push_back(std::make_unique<ClientConn13>(c13, false));
    cs12.push_back(std::make_unique<ClientConn12>(c12));
  }
  // Even connections speak 1.3, odd ones 1.2; every one stops at its first job.
  for (int i = 0; i < kConns; i++) {
    if (i % 2 == 0) {
      cs13[i]->start();
      pump_to_job(*cs13[i], *ds[i]);
    } else {
      cs12[i]->start();
      pump_to_job(*cs12[i], *ds[i]);
    }
    ASSERT_NE(ds[i]->job, nullptr);
  }
  // Run every job first, then give them back last to first.
  for (int step = 0; step < 8; step++) {
    std::vector<int> out;
    for (int i = 0; i < kConns; i++) {
      if (ds[i]->job != nullptr) {
        run_pk_job(*ds[i]->job, crypto::os_rng());
        out.push_back(i);
      }
    }
    for (auto it = out.rbegin(); it != out.rend(); ++it) {
      ds[*it]->complete_job(false);
    }
    for (int i = 0; i < kConns; i++) {
      if (i % 2 == 0) {
        pump_to_job(*cs13[i], *ds[i]);
      } else {
        pump_to_job(*cs12[i], *ds[i]);
      }
    }
  }
  for (int i = 0; i < kConns; i++) {
    SCOPED_TRACE(i);
    if (i % 2 == 0) {
      expect_established(*cs13[i], *ds[i], kTls13);
    } else {
      expect_established(*cs12[i], *ds[i], kTls12);
    }
  }
}

// A job that failed ends the handshake with exactly one alert, as the inline step would.
TEST(PkPause, FailedJobsAreOneAlert) {
  {
    OffloadConfigs cf;
    Driver d(cf.sc);
    ClientConfig13 ccfg;
    ClientConn13 c(ccfg, false);
    c.start();
    pump_to_job(c, d);
    d.complete_job();  // the key exchange
    ASSERT_NE(d.job, nullptr);
    ASSERT_EQ(d.job->kind, PkKind::kSign);
    d.job->done = true;
    d.job->ok = false;  // the signer refused
    d.complete_job(false);
    pump(c, d);
    expect_refused(c, d, AlertDescription::kInternalError);
  }
  {
    OffloadConfigs cf;
    Driver d(cf.sc);
    ClientConfig12 ccfg;
    ClientConn12 c(ccfg);
    c.start();
    pump_to_job(c, d);
    d.complete_job();
    d.complete_job();
    pump_to_job(c, d);
    ASSERT_NE(d.job, nullptr);
    ASSERT_EQ(d.job->kind, PkKind::kDerive);
    // The client's point fails the check on the handshake core: the peer's fault.
    d.job->peer_len = 1;
    d.complete_job();
    pump(c, d);
    ASSERT_TRUE(c.alert_received.has_value());
    EXPECT_NE(*c.alert_received, static_cast<uint8_t>(AlertDescription::kInternalError));
    EXPECT_EQ(d.alerts, 1);
    EXPECT_FALSE(d.s.handshake_done());
  }
}

// The machines refuse a job given back when none is out, and a message while one is.
TEST(PkPause, MachinesRefuseMisplacedJobsAndMessages) {
  OffloadConfigs cf;
  {
    Server13 m(cf.c13);
    m.set_pk_offload(true);
    auto job = std::make_unique<PkJob>();
    job->done = true;
    EXPECT_EQ(m.complete_pk(std::move(job)), Wait::kError);
    EXPECT_EQ(m.error(), Error::kInternalError);
  }
  {
    // A job out, and a second ClientHello fed meanwhile: the machine fails, it does not
    // take the message.
    ClientConfig13 ccfg;
    ClientConn13 c(ccfg, false);
    c.start();
    Driver d(cf.sc);
    pump_to_job(c, d);
    ASSERT_NE(d.job, nullptr);
    const auto* s13 = d.s.session13();
    ASSERT_NE(s13, nullptr);
    EXPECT_EQ(s13->machine().wait(), Wait::kPendingKeyExchange);
    EXPECT_EQ(s13->machine().state_name(), "await_key_exchange");
    // The session holds the input: next() takes nothing.
    Bytes junk = {22, 3, 3, 0, 4, 1, 0, 0, 0};
    auto step = d.s.next(junk);
    ASSERT_TRUE(step);
    EXPECT_EQ(step->consumed, 0u);
    EXPECT_FALSE(step->has_record);
    d.complete_job();
    d.complete_job();
    pump(c, d);
    expect_established(c, d, kTls13);
  }
}

}  // namespace
}  // namespace linetls::tls
