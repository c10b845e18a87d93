// TLS 1.3 client certificates (RFC 8446 §4.3.2, §4.4.2-§4.4.3) in process: our client
// against our server with ServerConfig13::client_auth required or optional, for valid RSA
// and ECDSA (through an intermediate) client certificates, none, an expired one, one from an
// unknown CA, a CertificateVerify whose signature does not verify and one under a scheme the
// server did not offer (or may not accept), each with its outcome and the exact alert. Also:
// what the CertificateRequest carries on the wire (certificate_authorities = the CA's
// subject), misordered and malformed client messages, resumption after mutual TLS (no
// CertificateRequest, the identity kept), 1-byte records, a HelloRetryRequest, the
// CertificateRequest codec and the ticket's identity encoding.
//
// Certificates: tests/vectors/certs (see make.sh there): ca.pem is the client CA; client.pem
// (ECDSA P-256, signed by int.pem) and client_ca.pem (RSA-2048, signed by ca) are valid
// until 2049; expired.pem (signed by ca) expired in 2002; other_client.pem is signed by
// other_ca.pem, which the server does not trust.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "drivers/ossl/ossl_aead.h"
#include "lib/crypto/cert.h"
#include "lib/tls/client13.h"
#include "lib/tls/errors.h"
#include "lib/tls/handshake_msg.h"
#include "lib/tls/messages13.h"
#include "lib/tls/server13.h"
#include "lib/tls/ticket13.h"
#include "tests/unit/tls/handshake13_harness.h"

namespace linetls::tls {
namespace {

using namespace testing13;  // NOLINT(google-build-using-namespace)
using crypto::NamedGroup;

struct ClientCerts {
  crypto::CaStore ca = load_ca("ca");
  crypto::CertifiedKey ecdsa = load_chain({"client", "int"}, "client");           // via int
  crypto::CertifiedKey rsa = load_chain({"client_ca"}, "client_ca");              // by ca directly
  crypto::CertifiedKey expired = load_chain({"expired"}, "expired", 1000000000);  // 2001-09
  crypto::CertifiedKey unknown_ca = load_chain({"other_client"}, "other_client");
};
const ClientCerts& client_certs() {
  static const ClientCerts* c = new ClientCerts();
  return *c;
}

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

bool same_digest(const crypto::Digest& a, const crypto::Digest& b) {
  return a.len == b.len && std::equal(a.view().begin(), a.view().end(), b.view().begin());
}

// Checks id against the leaf of key.
void expect_identity_of(const std::optional<crypto::VerifiedIdentity>& id,
                        const crypto::CertifiedKey& key) {
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->subject, key.leaf().subject());
  EXPECT_EQ(id->subject_alt_names, key.leaf().subject_alt_names());
  auto fp = key.leaf().fingerprint_sha256();
  ASSERT_TRUE(fp);
  EXPECT_TRUE(same_digest(id->sha256_fingerprint, *fp));
}

ServerConfig13 mtls_server_config(ClientAuth mode) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  scfg.client_auth = mode;
  scfg.client_ca = &client_certs().ca;
  return scfg;
}

// ---- The table: required/optional x client certificate ----

enum class Cert { kRsa, kEcdsa, kNone, kExpired, kUnknownCa };
enum class Tamper { kNone, kBadSignature, kSchemeNotOffered, kPkcs1Scheme, kSchemeKeyMismatch };

struct Case {
  const char* name;
  ClientAuth mode;
  Cert cert;
  Tamper tamper;
  std::optional<Error> server_error;  // nullopt: the handshake completes
  AlertDescription alert = AlertDescription::kCloseNotify;
};

const crypto::CertifiedKey* key_of(Cert c) {
  switch (c) {
    case Cert::kRsa:
      return &client_certs().rsa;
    case Cert::kEcdsa:
      return &client_certs().ecdsa;
    case Cert::kExpired:
      return &client_certs().expired;
    case Cert::kUnknownCa:
      return &client_certs().unknown_ca;
    case Cert::kNone:
      return nullptr;
  }
  return nullptr;
}

// Rewrites the client's CertificateVerify in its handshake-level flight.
std::function<void(Level, Bytes&)> tamper_of(Tamper t) {
  if (t == Tamper::kNone) {
    return nullptr;
  }
  return [t](Level l, Bytes& b) {
    if (l != Level::kHandshake) {
      return;
    }
    ASSERT_TRUE(edit_message(b, HandshakeType::kCertificateVerify, [t](Bytes& body) {
      ASSERT_GE(body.size(), 8u);
      switch (t) {
        case Tamper::kBadSignature:
          body[body.size() / 2 + 2] ^= 0x10;  // inside the signature (ECDSA DER or RSA)
          break;
        case Tamper::kSchemeNotOffered:  // rsa_pkcs1_sha1: neither offered nor implemented
          body[0] = 0x02;
          body[1] = 0x01;
          break;
        case Tamper::kPkcs1Scheme:  // rsa_pkcs1_sha256: offered, certificates only (§4.2.3)
          body[0] = 0x04;
          body[1] = 0x01;
          break;
        case Tamper::kSchemeKeyMismatch:  // rsa_pss_rsae_sha256 for an ECDSA key
          body[0] = 0x08;
          body[1] = 0x04;
          break;
        case Tamper::kNone:
          break;
      }
    }));
  };
}

std::vector<Case> cases() {
  using A = AlertDescription;
  std::vector<Case> out;
  for (ClientAuth mode : {ClientAuth::kRequired, ClientAuth::kOptional}) {
    const bool req = mode == ClientAuth::kRequired;
    auto add = [&](const char* name, Cert c, Tamper t, std::optional<Error> e, A a) {
      out.push_back(Case{name, mode, c, t, e, a});
    };
    add("Rsa", Cert::kRsa, Tamper::kNone, std::nullopt, A::kCloseNotify);
    add("Ecdsa", Cert::kEcdsa, Tamper::kNone, std::nullopt, A::kCloseNotify);
    if (req) {
      add("None", Cert::kNone, Tamper::kNone, Error::kCertificateRequired, A::kCertificateRequired);
    } else {
      add("None", Cert::kNone, Tamper::kNone, std::nullopt, A::kCloseNotify);
    }
    add("Expired", Cert::kExpired, Tamper::kNone, Error::kCertificateExpired,
        A::kCertificateExpired);
    add("UnknownCa", Cert::kUnknownCa, Tamper::kNone, Error::kUnknownCa, A::kUnknownCa);
    add("RsaBadSignature", Cert::kRsa, Tamper::kBadSignature, Error::kBadCertificateVerify,
        A::kDecryptError);
    add("EcdsaBadSignature", Cert::kEcdsa, Tamper::kBadSignature, Error::kBadCertificateVerify,
        A::kDecryptError);
    add("SchemeNotOffered", Cert::kEcdsa, Tamper::kSchemeNotOffered, Error::kIllegalParameter,
        A::kIllegalParameter);
    add("Pkcs1SchemeInCertificateVerify", Cert::kRsa, Tamper::kPkcs1Scheme,
        Error::kIllegalParameter, A::kIllegalParameter);
    add("SchemeDoesNotFitKey", Cert::kEcdsa, Tamper::kSchemeKeyMismatch, Error::kIllegalParameter,
        A::kIllegalParameter);
  }
  return out;
}

std::string case_name(const ::testing::TestParamInfo<size_t>& i) {
  const Case c = cases()[i.param];
  return std::string(c.mode == ClientAuth::kRequired ? "Required" : "Optional") + c.name;
}

class ClientAuthTable : public ::testing::TestWithParam<size_t> {};

TEST_P(ClientAuthTable, OutcomeAndAlert) {
  const Case tc = cases()[GetParam()];
  ServerConfig13 scfg = mtls_server_config(tc.mode);
  ClientConfig13 ccfg;
  ccfg.certificate = key_of(tc.cert);
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.tamper = tamper_of(tc.tamper);
  c.start();
  pump(c, s);
  EXPECT_TRUE(s.machine().sent_certificate_request());
  EXPECT_TRUE(c.machine().certificate_requested());
  if (!tc.server_error) {
    expect_established(c, s);
    if (tc.cert == Cert::kNone) {
      EXPECT_FALSE(s.machine().peer_identity());
      EXPECT_FALSE(c.machine().certificate_sent());
    } else {
      expect_identity_of(s.machine().peer_identity(), *key_of(tc.cert));
      EXPECT_TRUE(c.machine().certificate_sent());
    }
    return;
  }
  // The server refuses with exactly one alert, under its application keys: the client has
  // sent its Finished and believes the handshake done (§4.4.2.4), and reads the alert.
  ASSERT_TRUE(s.error);
  EXPECT_EQ(*s.error, *tc.server_error) << to_string(*s.error);
  EXPECT_EQ(s.alerts_sent, 1);
  EXPECT_FALSE(s.done());
  EXPECT_EQ(s.machine().state_name(), "failed");
  EXPECT_FALSE(s.machine().peer_identity());
  EXPECT_FALSE(c.error) << to_string(*c.error);
  ASSERT_TRUE(c.alert_received);
  EXPECT_EQ(*c.alert_received, static_cast<uint8_t>(tc.alert)) << alert_name(*c.alert_received);
  EXPECT_EQ(to_alert(*tc.server_error), tc.alert);
  EXPECT_TRUE(s.app_in.empty());
}

INSTANTIATE_TEST_SUITE_P(Mtls13, ClientAuthTable, ::testing::Range<size_t>(0, cases().size()),
                         case_name);

// ---- The CertificateRequest on the wire ----

TEST(Mtls13, CertificateRequestCarriesSchemesAndTheCaSubject) {
  ServerConfig13 scfg = mtls_server_config(ClientAuth::kRequired);
  ClientConfig13 ccfg;
  ccfg.certificate = &client_certs().ecdsa;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  Bytes flight;
  s.tamper = [&](Level l, Bytes& b) {
    if (l == Level::kHandshake && flight.empty()) {
      flight = b;
    }
  };
  Bytes client_flight;
  c.tamper = [&](Level l, Bytes& b) {
    if (l == Level::kHandshake) {
      client_flight = b;
    }
  };
  c.start();
  pump(c, s);
  expect_established(c, s);
  // §4.3.2: "This message, if sent, MUST follow EncryptedExtensions."
  EXPECT_EQ(
      message_types(flight),
      (std::vector<HandshakeType>{HandshakeType::kEncryptedExtensions,
                                  HandshakeType::kCertificateRequest, HandshakeType::kCertificate,
                                  HandshakeType::kCertificateVerify, HandshakeType::kFinished}));
  auto cr = parse_certificate_request(message_body(flight, HandshakeType::kCertificateRequest));
  ASSERT_TRUE(cr) << to_string(cr.error());
  EXPECT_TRUE(cr->request_context.empty());
  const auto ours = Server13::client_signature_schemes();
  ASSERT_EQ(cr->signature_algorithms.size(), 2 * ours.size());
  for (size_t i = 0; i < ours.size(); i++) {
    EXPECT_EQ(cr->signature_algorithms[2 * i] << 8 | cr->signature_algorithms[2 * i + 1], ours[i]);
  }
  EXPECT_TRUE(cr->signature_algorithms_cert.empty());
  // certificate_authorities: exactly the CA's DER subject, which names the test root.
  ASSERT_EQ(cr->num_authorities, 1u);
  const auto names = client_certs().ca.subject_names();
  ASSERT_EQ(names.size(), 1u);
  ByteReader list(cr->certificate_authorities);
  ByteReader dn;
  ASSERT_TRUE(list.read_u16_prefixed(&dn));
  EXPECT_TRUE(std::equal(dn.rest().begin(), dn.rest().end(), names[0].begin(), names[0].end()));
  const std::string root = "linetls test root";
  EXPECT_NE(std::search(names[0].begin(), names[0].end(), root.begin(), root.end()),
            names[0].end());
  // The client answered Certificate (leaf + intermediate), CertificateVerify, Finished.
  EXPECT_EQ(
      message_types(client_flight),
      (std::vector<HandshakeType>{HandshakeType::kCertificate, HandshakeType::kCertificateVerify,
                                  HandshakeType::kFinished}));
  auto cert = parse_certificate(message_body(client_flight, HandshakeType::kCertificate));
  ASSERT_TRUE(cert);
  EXPECT_EQ(cert->num_entries, 2u);
}

TEST(Mtls13, CaNamesCanBeLeftOut) {
  ServerConfig13 scfg = mtls_server_config(ClientAuth::kRequired);
  scfg.send_client_ca_names = false;
  ClientConfig13 ccfg;
  ccfg.certificate = &client_certs().rsa;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  Bytes flight;
  s.tamper = [&](Level l, Bytes& b) {
    if (l == Level::kHandshake && flight.empty()) {
      flight = b;
    }
  };
  c.start();
  pump(c, s);
  expect_established(c, s);
  auto cr = parse_certificate_request(message_body(flight, HandshakeType::kCertificateRequest));
  ASSERT_TRUE(cr);
  EXPECT_EQ(cr->num_authorities, 0u);
  EXPECT_TRUE(cr->certificate_authorities.empty());
}

TEST(Mtls13, CaNamesThatDoNotFitAreLeftOut) {
  // A bundle whose subjects exceed the extension's 2^16-1 bytes: the request goes out
  // without certificate_authorities rather than failing.
  const std::string one =
      read_text(vector_path("certs/ca.pem")) + read_text(vector_path("certs/other_ca.pem"));
  std::string pem;
  for (int i = 0; i < 700; i++) {
    pem += one;
  }
  auto big = crypto::CaStore::from_pem(
      std::span(reinterpret_cast<const uint8_t*>(pem.data()), pem.size()));
  ASSERT_TRUE(big);
  size_t names_len = 0;
  for (const auto& dn : big->subject_names()) {
    names_len += 2 + dn.size();
  }
  ASSERT_GT(names_len, 0xffffu);
  ServerConfig13 scfg = mtls_server_config(ClientAuth::kRequired);
  scfg.client_ca = &*big;
  ClientConfig13 ccfg;
  ccfg.certificate = &client_certs().ecdsa;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  Bytes flight;
  s.tamper = [&](Level l, Bytes& b) {
    if (l == Level::kHandshake && flight.empty()) {
      flight = b;
    }
  };
  c.start();
  pump(c, s);
  expect_established(c, s);
  auto cr = parse_certificate_request(message_body(flight, HandshakeType::kCertificateRequest));
  ASSERT_TRUE(cr);
  EXPECT_EQ(cr->num_authorities, 0u);
  expect_identity_of(s.machine().peer_identity(), client_certs().ecdsa);
}

TEST(Mtls13, NoCertificateRequestWithoutClientAuth) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  scfg.client_ca = &client_certs().ca;  // a store alone asks for nothing
  ClientConfig13 ccfg;
  ccfg.certificate = &client_certs().ecdsa;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s);
  expect_established(c, s);
  EXPECT_FALSE(s.machine().sent_certificate_request());
  EXPECT_FALSE(c.machine().certificate_requested());
  EXPECT_FALSE(c.machine().certificate_sent());
  EXPECT_FALSE(s.machine().peer_identity());
}

TEST(Mtls13, ClientAuthWithoutCaStoreIsAnInternalError) {
  ServerConfig13 scfg = server_config({&certs().ecdsa256});
  scfg.client_auth = ClientAuth::kOptional;
  ClientConfig13 ccfg;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s);
  ASSERT_TRUE(s.error);
  EXPECT_EQ(*s.error, Error::kInternalError);
}

TEST(Mtls13, ChainIsCheckedAtTheConfiguredTime) {
  // Before the client certificate's notBefore (2024-01-01): certificate_expired too.
  ServerConfig13 scfg = mtls_server_config(ClientAuth::kRequired);
  scfg.now = [] { return std::time_t{1000000000}; };  // 2001-09
  ClientConfig13 ccfg;
  ccfg.certificate = &client_certs().ecdsa;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s);
  ASSERT_TRUE(s.error);
  EXPECT_EQ(*s.error, Error::kCertificateExpired);
  ASSERT_TRUE(c.alert_received);
  EXPECT_EQ(*c.alert_received, static_cast<uint8_t>(AlertDescription::kCertificateExpired));
}

TEST(Mtls13, WithHelloRetryRequest) {
  ServerConfig13 scfg = mtls_server_config(ClientAuth::kRequired);
  scfg.groups = {NamedGroup::kSecp384r1};
  ClientConfig13 ccfg;
  ccfg.key_share_groups = {NamedGroup::kX25519};  // no share the server takes: HRR
  ccfg.certificate = &client_certs().rsa;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.start();
  pump(c, s);
  expect_established(c, s);
  EXPECT_TRUE(s.machine().sent_hello_retry_request());
  expect_identity_of(s.machine().peer_identity(), client_certs().rsa);
}

// ---- Misordered and malformed client messages (all seen by the server) ----

struct BadClientFlight {
  const char* name;
  std::function<void(Bytes&)> edit;  // of the client's handshake-level flight
  Error error;
  AlertDescription alert;
};

std::vector<BadClientFlight> bad_flights() {
  using A = AlertDescription;
  using T = HandshakeType;
  return {
      // §4.4.2: the client MUST send a Certificate when asked.
      {"FinishedWithoutCertificate",
       [](Bytes& b) {
         ASSERT_TRUE(drop_message(b, T::kCertificateVerify));
         ASSERT_TRUE(drop_message(b, T::kCertificate));
       },
       Error::kUnexpectedMessage, A::kUnexpectedMessage},
      // §4.4.3: a non-empty Certificate MUST be followed by a CertificateVerify.
      {"FinishedWithoutCertificateVerify",
       [](Bytes& b) { ASSERT_TRUE(drop_message(b, T::kCertificateVerify)); },
       Error::kUnexpectedMessage, A::kUnexpectedMessage},
      // §4.4.2: the context must echo the CertificateRequest's (empty).
      {"CertificateWithRequestContext",
       [](Bytes& b) {
         ASSERT_TRUE(edit_message(b, T::kCertificate, [](Bytes& body) {
           ASSERT_EQ(body[0], 0);
           body[0] = 1;
           body.insert(body.begin() + 1, 'x');
         }));
       },
       Error::kIllegalParameter, A::kIllegalParameter},
      {"CertificateTruncated",
       [](Bytes& b) {
         ASSERT_TRUE(edit_message(b, T::kCertificate, [](Bytes& body) { body.pop_back(); }));
       },
       Error::kDecodeError, A::kDecodeError},
      {"CertificateVerifyTruncated",
       [](Bytes& b) {
         ASSERT_TRUE(edit_message(b, T::kCertificateVerify, [](Bytes& body) { body.pop_back(); }));
       },
       Error::kDecodeError, A::kDecodeError},
      {"CertificateVerifyTrailingByte",
       [](Bytes& b) {
         ASSERT_TRUE(
             edit_message(b, T::kCertificateVerify, [](Bytes& body) { body.push_back(0); }));
       },
       Error::kDecodeError, A::kDecodeError},
      {"CertificateVerifyEmptySignature",
       [](Bytes& b) {
         ASSERT_TRUE(edit_message(b, T::kCertificateVerify, [](Bytes& body) {
           body.resize(4);
           body[2] = body[3] = 0;
         }));
       },
       Error::kBadCertificateVerify, A::kDecryptError},
      // A leaf that is not a certificate at all.
      {"GarbageLeaf",
       [](Bytes& b) {
         ASSERT_TRUE(edit_message(b, T::kCertificate, [](Bytes& body) {
           // context(1) list_len(3) cert_len(3) then the DER: break its outer SEQUENCE tag.
           body[7] = 0x05;
         }));
       },
       Error::kBadCertificate, A::kBadCertificate},
      // The CertificateVerify twice (the second where the Finished belongs).
      {"CertificateVerifyTwice",
       [](Bytes& b) {
         auto cv = message_offset(b, T::kCertificateVerify);
         auto fin = message_offset(b, T::kFinished);
         ASSERT_TRUE(cv && fin);
         Bytes copy(b.begin() + static_cast<std::ptrdiff_t>(*cv),
                    b.begin() + static_cast<std::ptrdiff_t>(*fin));
         b.insert(b.begin() + static_cast<std::ptrdiff_t>(*fin), copy.begin(), copy.end());
       },
       Error::kUnexpectedMessage, A::kUnexpectedMessage},
  };
}

class BadClientMessages : public ::testing::TestWithParam<size_t> {};

TEST_P(BadClientMessages, AnsweredWithOneAlert) {
  const BadClientFlight bf = bad_flights()[GetParam()];
  ServerConfig13 scfg = mtls_server_config(ClientAuth::kRequired);
  ClientConfig13 ccfg;
  ccfg.certificate = &client_certs().ecdsa;
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  c.tamper = [&](Level l, Bytes& b) {
    if (l == Level::kHandshake) {
      bf.edit(b);
    }
  };
  c.start();
  pump(c, s);
  ASSERT_TRUE(s.error) << bf.name;
  EXPECT_EQ(*s.error, bf.error) << bf.name << ": " << to_string(*s.error);
  EXPECT_EQ(s.alerts_sent, 1);
  EXPECT_FALSE(s.done());
  ASSERT_TRUE(c.alert_received);
  EXPECT_EQ(*c.alert_received, static_cast<uint8_t>(bf.alert));
  EXPECT_EQ(to_alert(bf.error), bf.alert);
}

INSTANTIATE_TEST_SUITE_P(Mtls13, BadClientMessages,
                         ::testing::Range<size_t>(0, bad_flights().size()),
                         [](const ::testing::TestParamInfo<size_t>& i) {
                           return std::string(bad_flights()[i.param].name);
                         });

// ---- The client's refusals of a bad CertificateRequest (edited in the server's flight) ----

struct BadServerFlight {
  const char* name;
  bool resume;                       // run over a resumed handshake
  std::function<void(Bytes&)> edit;  // of the server's handshake-level flight
  Error error;
};

Bytes certificate_request_message(std::span<const uint8_t> context) {
  const uint16_t schemes[] = {0x0403};
  CertificateRequestParams p;
  p.request_context = context;
  p.signature_algorithms = schemes;
  Bytes out(64);
  ByteWriter w(out);
  EXPECT_TRUE(write_certificate_request(w, p));
  out.resize(w.size());
  return out;
}

std::vector<BadServerFlight> bad_server_flights() {
  using T = HandshakeType;
  return {
      // §4.3.2: the context "SHALL be zero length unless used for the post-handshake
      // authentication exchanges".
      {"RequestContextNotEmpty", false,
       [](Bytes& b) {
         ASSERT_TRUE(edit_message(b, T::kCertificateRequest, [](Bytes& body) {
           ASSERT_EQ(body[0], 0);
           body[0] = 1;
           body.insert(body.begin() + 1, 'x');
         }));
       },
       Error::kIllegalParameter},
      // §4.3.2: "The "signature_algorithms" extension MUST be specified".
      {"NoSignatureAlgorithms", false,
       [](Bytes& b) {
         ASSERT_TRUE(edit_message(b, T::kCertificateRequest, [](Bytes& body) {
           body.assign({0, 0, 0});  // empty context, empty extensions
         }));
       },
       Error::kMissingExtension},
      {"CertificateRequestTwice", false,
       [](Bytes& b) {
         auto at = message_offset(b, T::kCertificate);
         ASSERT_TRUE(at);
         const Bytes cr = certificate_request_message({});
         b.insert(b.begin() + static_cast<std::ptrdiff_t>(*at), cr.begin(), cr.end());
       },
       Error::kUnexpectedMessage},
      // After the server's Certificate it is out of place.
      {"CertificateRequestAfterCertificate", false,
       [](Bytes& b) {
         auto at = message_offset(b, T::kCertificateVerify);
         ASSERT_TRUE(at);
         const Bytes cr = certificate_request_message({});
         b.insert(b.begin() + static_cast<std::ptrdiff_t>(*at), cr.begin(), cr.end());
       },
       Error::kUnexpectedMessage},
      // §4.3.2: no CertificateRequest with a resumption PSK.
      {"CertificateRequestWhenResumed", true,
       [](Bytes& b) {
         auto at = message_offset(b, T::kFinished);
         ASSERT_TRUE(at);
         const Bytes cr = certificate_request_message({});
         b.insert(b.begin() + static_cast<std::ptrdiff_t>(*at), cr.begin(), cr.end());
       },
       Error::kUnexpectedMessage},
  };
}

class BadCertificateRequest : public ::testing::TestWithParam<size_t> {};

TEST_P(BadCertificateRequest, ClientAnswersWithOneAlert) {
  const BadServerFlight bf = bad_server_flights()[GetParam()];
  auto batch = ossl::OsslAeadBatch::create(1).value();
  TicketKeys keys(*batch, crypto::os_rng());
  ASSERT_TRUE(keys.rotate());
  ServerConfig13 scfg = mtls_server_config(ClientAuth::kOptional);
  scfg.ticket_keys = &keys;
  ClientConfig13 ccfg;
  ccfg.certificate = &client_certs().ecdsa;
  std::vector<Session> sessions;
  if (bf.resume) {
    ServerConn s(scfg, true);
    ClientConn c(ccfg, false);
    c.start();
    pump(c, s);
    expect_established(c, s);
    sessions = c.machine().take_sessions();
    ASSERT_FALSE(sessions.empty());
    ccfg.session = &sessions.front();
  }
  ServerConn s(scfg, true);
  ClientConn c(ccfg, false);
  bool edited = false;
  s.tamper = [&](Level l, Bytes& b) {
    if (l == Level::kHandshake && !edited) {
      edited = true;
      bf.edit(b);
    }
  };
  c.start();
  pump(c, s);
  ASSERT_TRUE(edited);
  ASSERT_TRUE(c.error) << bf.name;
  EXPECT_EQ(*c.error, bf.error) << bf.name << ": " << to_string(*c.error);
  EXPECT_EQ(c.alerts_sent, 1);
  EXPECT_FALSE(c.done());
  EXPECT_FALSE(c.machine().certificate_sent());
  EXPECT_FALSE(s.error);
  ASSERT_TRUE(s.alert_received);
  EXPECT_EQ(*s.alert_received, static_cast<uint8_t>(to_alert(bf.error)));
  EXPECT_EQ(s.machine().resumed(), bf.resume);
}

INSTANTIATE_TEST_SUITE_P(Mtls13, BadCertificateRequest,
                         ::testing::Range<size_t>(0, bad_server_flights().size()),
                         [](const ::testing::TestParamInfo<size_t>& i) {
                           return std::string(bad_server_flights()[i.param].name);
                         });

// ---- Fragmentation ----

TEST(Mtls13, OneByteRecordsAndSegments) {
  for (const crypto::CertifiedKey* key : {&client_certs().rsa, &client_certs().ecdsa}) {
    ServerConfig13 scfg = mtls_server_config(ClientAuth::kRequired);
    ClientConfig13 ccfg;
    ccfg.certificate = key;
    ServerConn s(scfg, true);
    ClientConn c(ccfg, false);
    s.record_size = 1;
    c.record_size = 1;
    c.start();
    pump(c, s, 1);
    expect_established(c, s, 1);
    expect_identity_of(s.machine().peer_identity(), *key);
  }
}

// ---- Resumption ----

class MtlsResumption : public ::testing::Test {
 protected:
  MtlsResumption() { EXPECT_TRUE(keys_.rotate()); }

  // One handshake; returns the server's first handshake-level flight's message types.
  std::vector<HandshakeType> run(const ServerConfig13& scfg, const ClientConfig13& ccfg,
                                 std::optional<crypto::VerifiedIdentity>* out_identity,
                                 bool* out_resumed) {
    ServerConn s(scfg, true);
    ClientConn c(ccfg, false);
    std::vector<HandshakeType> types;
    s.tamper = [&](Level l, Bytes& b) {
      if (l == Level::kHandshake && types.empty()) {
        types = message_types(b);
      }
    };
    c.start();
    pump(c, s);
    expect_established(c, s);
    *out_identity = s.machine().peer_identity();
    *out_resumed = s.machine().resumed();
    EXPECT_EQ(s.machine().resumed(), c.machine().resumed());
    std::vector<Session> got = c.machine().take_sessions();
    for (Session& ses : got) {
      sessions_.push_back(std::make_unique<Session>(std::move(ses)));
    }
    return types;
  }

  ServerConfig13 config(ClientAuth mode) {
    ServerConfig13 scfg = mtls_server_config(mode);
    scfg.ticket_keys = &keys_;
    return scfg;
  }

  std::unique_ptr<ossl::OsslAeadBatch> batch_ = ossl::OsslAeadBatch::create(1).value();
  TicketKeys keys_{*batch_, crypto::os_rng()};
  std::vector<std::unique_ptr<Session>> sessions_;
};

TEST_F(MtlsResumption, ResumedSessionSendsNoCertificateRequestAndKeepsTheIdentity) {
  for (ClientAuth mode : {ClientAuth::kRequired, ClientAuth::kOptional}) {
    sessions_.clear();
    ServerConfig13 scfg = config(mode);
    ClientConfig13 ccfg;
    ccfg.certificate = &client_certs().ecdsa;
    std::optional<crypto::VerifiedIdentity> first, second;
    bool resumed = true;
    auto full = run(scfg, ccfg, &first, &resumed);
    EXPECT_FALSE(resumed);
    EXPECT_NE(std::find(full.begin(), full.end(), HandshakeType::kCertificateRequest), full.end());
    expect_identity_of(first, client_certs().ecdsa);
    ASSERT_FALSE(sessions_.empty());
    ClientConfig13 again = ccfg;
    again.session = sessions_.front().get();
    auto types = run(scfg, again, &second, &resumed);
    EXPECT_TRUE(resumed);
    // §4.3.2: no CertificateRequest with a resumption PSK (nor Certificate, CV).
    EXPECT_EQ(types, (std::vector<HandshakeType>{HandshakeType::kEncryptedExtensions,
                                                 HandshakeType::kFinished}));
    expect_identity_of(second, client_certs().ecdsa);
    // The resumed session's tickets carry the identity on.
    ASSERT_GE(sessions_.size(), 2u);
    again.session = sessions_.back().get();
    std::optional<crypto::VerifiedIdentity> third;
    run(scfg, again, &third, &resumed);
    EXPECT_TRUE(resumed);
    expect_identity_of(third, client_certs().ecdsa);
  }
}

TEST_F(MtlsResumption, AnonymousSessionDoesNotResumeWhereACertificateIsRequired) {
  // A ticket from an optional-mode handshake without a certificate...
  ClientConfig13 ccfg;
  std::optional<crypto::VerifiedIdentity> id;
  bool resumed = true;
  run(config(ClientAuth::kOptional), ccfg, &id, &resumed);
  EXPECT_FALSE(id);
  ASSERT_FALSE(sessions_.empty());
  // ...resumes (still anonymous) where certificates are optional,
  ClientConfig13 again = ccfg;
  again.session = sessions_.front().get();
  run(config(ClientAuth::kOptional), again, &id, &resumed);
  EXPECT_TRUE(resumed);
  EXPECT_FALSE(id);
  // ...but not where one is required: a full handshake with a CertificateRequest instead.
  again.certificate = &client_certs().rsa;
  auto types = run(config(ClientAuth::kRequired), again, &id, &resumed);
  EXPECT_FALSE(resumed);
  EXPECT_NE(std::find(types.begin(), types.end(), HandshakeType::kCertificateRequest), types.end());
  expect_identity_of(id, client_certs().rsa);
}

// ---- Codecs ----

TEST(CertificateRequest13, RoundTrip) {
  const uint16_t schemes[] = {0x0403, 0x0804};
  const std::vector<std::vector<uint8_t>> cas = {{0x30, 0x01, 0x02}, {0x30, 0x00}};
  CertificateRequestParams p;
  p.signature_algorithms = schemes;
  p.certificate_authorities = cas;
  Bytes out(256);
  ByteWriter w(out);
  ASSERT_TRUE(write_certificate_request(w, p));
  out.resize(w.size());
  EXPECT_EQ(out[0], static_cast<uint8_t>(HandshakeType::kCertificateRequest));
  auto cr = parse_certificate_request(std::span(out).subspan(kHandshakeHeaderLen));
  ASSERT_TRUE(cr);
  EXPECT_TRUE(cr->request_context.empty());
  EXPECT_EQ(Bytes(cr->signature_algorithms.begin(), cr->signature_algorithms.end()),
            (Bytes{0x04, 0x03, 0x08, 0x04}));
  EXPECT_EQ(cr->num_authorities, 2u);
  EXPECT_EQ(Bytes(cr->certificate_authorities.begin(), cr->certificate_authorities.end()),
            (Bytes{0, 3, 0x30, 0x01, 0x02, 0, 2, 0x30, 0x00}));
}

Result<CertificateRequestMsg, Error> parse_hex_body(std::string_view text) {
  static Bytes keep;
  keep = crypto::testing::hex(text);
  return parse_certificate_request(keep);
}

TEST(CertificateRequest13, ParseRefusals) {
  // context<0..255>, extensions<2..2^16-1>.
  EXPECT_EQ(parse_hex_body("00").error(), Error::kDecodeError);
  EXPECT_EQ(parse_hex_body("000000").error(), Error::kMissingExtension);  // §4.3.2
  EXPECT_TRUE(
      parse_hex_body("000008"
                     "000d000400020403"));
  // Trailing bytes after the extensions.
  EXPECT_EQ(parse_hex_body("000008000d000400020403ff").error(), Error::kDecodeError);
  // An unknown extension is ignored (§4.3.2 "Clients MUST ignore unrecognized extensions").
  EXPECT_TRUE(
      parse_hex_body("00000c"
                     "fafa0000"
                     "000d000400020403"));
  // A known extension the table does not allow in a CertificateRequest (key_share).
  EXPECT_EQ(parse_hex_body("00000c"
                           "00330000"
                           "000d000400020403")
                .error(),
            Error::kMisplacedExtension);
  // Duplicate signature_algorithms.
  EXPECT_EQ(parse_hex_body("000010"
                           "000d000400020403"
                           "000d000400020403")
                .error(),
            Error::kDuplicateExtension);
  // Odd-length scheme list.
  EXPECT_EQ(parse_hex_body("000007000d0003000104").error(), Error::kDecodeError);
  // certificate_authorities: an empty list (<3..>), an empty name (<1..>).
  EXPECT_EQ(parse_hex_body("00000e"
                           "000d000400020403"
                           "002f00020000")
                .error(),
            Error::kDecodeError);
  EXPECT_EQ(parse_hex_body("000011"
                           "000d000400020403"
                           "002f0005000300"
                           "0000")
                .error(),
            Error::kDecodeError);
  auto ok = parse_hex_body(
      "000011"
      "000d000400020403"
      "002f000500030001"
      "aa");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->num_authorities, 1u);
}

TEST(TicketContents13, ClientIdentityRoundTrips) {
  TicketContents c;
  c.suite = CipherSuite::kAes256GcmSha384;
  const Bytes psk(48, 7);
  c.psk.assign(psk);
  crypto::VerifiedIdentity id;
  id.subject = "CN=client.test,O=linetls test";
  id.subject_alt_names = {"DNS:client.test", "email:client@linetls.test"};
  id.sha256_fingerprint.len = 32;
  for (size_t i = 0; i < 32; i++) {
    id.sha256_fingerprint.bytes[i] = static_cast<uint8_t>(i);
  }
  c.client_identity = id;
  Bytes enc = encode_ticket_contents(c);
  auto d = decode_ticket_contents(enc);
  ASSERT_TRUE(d);
  ASSERT_TRUE(d->client_identity);
  EXPECT_EQ(d->client_identity->subject, id.subject);
  EXPECT_EQ(d->client_identity->subject_alt_names, id.subject_alt_names);
  EXPECT_TRUE(same_digest(d->client_identity->sha256_fingerprint, id.sha256_fingerprint));
  // Any truncation or extension fails cleanly.
  for (size_t n = 0; n < enc.size(); n++) {
    EXPECT_FALSE(decode_ticket_contents(std::span(enc).first(n))) << n;
  }
  enc.push_back(0);
  EXPECT_FALSE(decode_ticket_contents(enc));
  // An identity too large for a ticket is not encoded.
  c.client_identity->subject.assign(kMaxTicketIdentityLen, 'x');
  EXPECT_TRUE(encode_ticket_contents(c).empty());
}

}  // namespace
}  // namespace linetls::tls
