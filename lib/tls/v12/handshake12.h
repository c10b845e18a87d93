// What the TLS 1.2 server and client machines (server12.h, client12.h) have in common: the
// flight they hand their caller, the certificate a side presents, and the ClientHello a 1.2
// client writes.
//
// The machines are sans-IO like the 1.3 ones (lib/tls/handshake13.h) and stop with the same
// Wait reasons. What differs is the key change: in TLS 1.2 it is signalled by the
// change_cipher_spec protocol message (RFC 5246 §7.1), a record of its own. So a machine
// takes two kinds of input, handle(HandshakeMessage) and handle_change_cipher_spec(), and a
// Flight12 says where our own ChangeCipherSpec goes: the caller sends `handshake` under the
// current write state, then (if change_cipher_spec) one CCS record, switches its write state
// to our side's keys (keys() of the machine, RecordProtector12), and sends `after_ccs` (the
// Finished) under them. When the peer's CCS arrives, the caller calls
// handle_change_cipher_spec() and, if that succeeds, switches its read state to the peer's
// keys. On kError the caller sends the one alert to_alert(error()) and closes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "lib/base/bytes.h"
#include "lib/base/result.h"
#include "lib/crypto/cert.h"
#include "lib/crypto/key.h"
#include "lib/tls/errors.h"
#include "lib/tls/handshake13.h"
#include "lib/tls/v12/cipher_suite12.h"

namespace linetls::tls::v12 {

using tls::Wait;

struct Flight12 {
  std::vector<uint8_t> handshake;  // whole handshake messages under the current write state
  bool change_cipher_spec = false;  // then our CCS, then switch to our write keys
  std::vector<uint8_t> after_ccs;   // whole handshake messages under the new keys (Finished)

  bool empty() const noexcept {
    return handshake.empty() && !change_cipher_spec && after_ccs.empty();
  }
};

// A certificate chain and its private key, as a TLS 1.2 endpoint presents them. In 1.2 the
// key's type decides which suites it can serve (ECDSA keys: ECDHE_ECDSA; RSA keys:
// ECDHE_RSA), and signatures may use rsa_pkcs1_* too, so this carries the key itself
// rather than the 1.3 CertificateSigner.
struct Certificate12 {
  std::vector<std::span<const uint8_t>> chain;  // DER, leaf first; borrowed
  const crypto::PrivateKey* key = nullptr;      // borrowed
  std::vector<std::string> names;               // DNS subjectAltNames (server side)

  // Returns key's chain, its private key and its leaf's DNS names; key is borrowed and must
  // outlive the result.
  static Certificate12 from(const crypto::CertifiedKey& key);
};

// Returns true if a key of type may authenticate a suite of kind auth.
bool key_serves(crypto::KeyType type, AuthKind auth) noexcept;

struct ClientHelloParams12 {
  std::span<const uint8_t> random;      // 32 bytes
  std::span<const uint8_t> session_id;  // 0..32 bytes
  std::span<const uint16_t> cipher_suites;
  std::span<const uint16_t> supported_groups;
  std::span<const uint16_t> signature_algorithms;
  std::span<const uint8_t> server_name;            // empty: not sent
  std::span<const std::span<const uint8_t>> alpn;  // empty: not sent
  bool extended_master_secret = true;
  bool renegotiation_info = true;       // the extension (empty renegotiated_connection)
  std::span<const uint8_t> renegotiated_connection;  // tests only: non-empty is illegal
  bool ec_point_formats = true;         // {uncompressed}
  std::span<const uint8_t> compression_methods;  // empty: {null}
  uint16_t legacy_version = 0x0303;     // tests: 0x0302 and below
  bool session_ticket = false;          // RFC 5077 SessionTicket, carrying ticket
  std::span<const uint8_t> ticket;
};

// Writes a ClientHello offering TLS 1.2 only (no supported_versions): extensions
// server_name, supported_groups, ec_point_formats, signature_algorithms, ALPN,
// extended_master_secret, renegotiation_info, as enabled.
Result<void, Error> write_client_hello12(ByteWriter& w, const ClientHelloParams12& p) noexcept;

// Returns the u16 values of a u16 list as parsed from the wire.
std::vector<uint16_t> u16_values(std::span<const uint8_t> list);

}  // namespace linetls::tls::v12
