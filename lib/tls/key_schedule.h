// The TLS 1.3 key schedule (RFC 8446 §7.1-§7.5, §4.4.4, §4.6.1, §4.2.11.2).
//
//              0
//              |
//              v
//    PSK ->  HKDF-Extract = Early Secret   -> binder_key, c e traffic, e exp master
//              |
//        Derive-Secret(., "derived", "")
//              v
// (EC)DHE -> HKDF-Extract = Handshake Secret -> c hs traffic, s hs traffic
//              |
//        Derive-Secret(., "derived", "")
//              v
//     0 -> HKDF-Extract = Master Secret     -> c ap traffic, s ap traffic, exp master,
//                                              res master
//
// KeySchedule walks the three stages in order and holds only the current stage's secret;
// each derive_* call returns a HashSecret the caller owns. Transcript hashes are passed in
// (the state machine keeps the Transcript). Calls out of order return kInternalError.
// Everything else here is a free function over secrets. All secrets are HashSecret (wiped
// on destruction); libcrypto failures are kCryptoFailure.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "lib/base/result.h"
#include <optional>

#include "lib/crypto/hash.h"
#include "lib/tls/cipher_suite.h"
#include "lib/tls/errors.h"

namespace linetls::tls {

using crypto::HashSecret;

class KeySchedule {
 public:
  enum class Stage : uint8_t { kNone, kEarly, kHandshake, kMaster };

  explicit KeySchedule(crypto::HashAlgo algo) noexcept : algo_(algo) {}

  crypto::HashAlgo algo() const noexcept { return algo_; }
  Stage stage() const noexcept { return stage_; }
  // The current stage's secret (Early, Handshake or Master Secret), for tests and key logs.
  std::span<const uint8_t> secret() const noexcept { return secret_.view(); }

  // Early Secret = HKDF-Extract(0, PSK); an empty psk means Hash.length zeros (§7.1: "if PSK
  // is not in use, IKM is a string of Hash.length zero bytes" likewise for the salt).
  Result<void, Error> start(std::span<const uint8_t> psk = {}) noexcept;
  // binder_key = Derive-Secret(Early Secret, "res binder" or "ext binder", "").
  Result<HashSecret, Error> binder_key(bool resumption) const noexcept;
  // client_early_traffic_secret = Derive-Secret(Early Secret, "c e traffic", ClientHello).
  Result<HashSecret, Error> client_early_traffic_secret(
      std::span<const uint8_t> ch_hash) const noexcept;
  // early_exporter_master_secret = Derive-Secret(Early Secret, "e exp master", ClientHello).
  Result<HashSecret, Error> early_exporter_master_secret(
      std::span<const uint8_t> ch_hash) const noexcept;

  // Handshake Secret = HKDF-Extract(Derive-Secret(Early Secret, "derived", ""), (EC)DHE).
  // An empty shared_secret is a caller's mistake (kInternalError): psk_ke says so with
  // add_handshake_without_dhe().
  Result<void, Error> add_handshake(std::span<const uint8_t> shared_secret) noexcept;
  // The same without (EC)DHE, for a psk_ke resumption (§4.2.9): the IKM is Hash.length zero
  // bytes (§7.1: "If a given secret is not available, then the 0-value consisting of a string
  // of Hash.length bytes set to zeros is used."), so every later secret derives from the PSK
  // alone. Only after start() with a PSK (kInternalError otherwise: nothing would be secret).
  Result<void, Error> add_handshake_without_dhe() noexcept;
  // {client,server}_handshake_traffic_secret = Derive-Secret(Handshake Secret,
  // "{c,s} hs traffic", ClientHello...ServerHello).
  Result<HashSecret, Error> client_handshake_traffic_secret(
      std::span<const uint8_t> ch_sh_hash) const noexcept;
  Result<HashSecret, Error> server_handshake_traffic_secret(
      std::span<const uint8_t> ch_sh_hash) const noexcept;

  // Master Secret = HKDF-Extract(Derive-Secret(Handshake Secret, "derived", ""), 0).
  Result<void, Error> add_master() noexcept;
  // Derive-Secret(Master Secret, "{c,s} ap traffic" / "exp master", ClientHello...server
  // Finished).
  Result<HashSecret, Error> client_application_traffic_secret(
      std::span<const uint8_t> hash_to_server_finished) const noexcept;
  Result<HashSecret, Error> server_application_traffic_secret(
      std::span<const uint8_t> hash_to_server_finished) const noexcept;
  Result<HashSecret, Error> exporter_master_secret(
      std::span<const uint8_t> hash_to_server_finished) const noexcept;
  // resumption_master_secret = Derive-Secret(Master Secret, "res master", ClientHello...client
  // Finished).
  Result<HashSecret, Error> resumption_master_secret(
      std::span<const uint8_t> hash_to_client_finished) const noexcept;

 private:
  Result<HashSecret, Error> derive(Stage need, std::string_view label,
                                   std::span<const uint8_t> hash) const noexcept;
  // Derive-Secret(current, "derived", "") then HKDF-Extract(that, ikm) into secret_.
  Result<void, Error> advance(Stage from, std::span<const uint8_t> ikm) noexcept;

  // secret_ = s, and prk_ keyed with it.
  Result<void, Error> set_secret(HashSecret s) noexcept;

  crypto::HashAlgo algo_;
  Stage stage_ = Stage::kNone;
  bool has_psk_ = false;  // start() was given a PSK
  HashSecret secret_;
  // HMAC keyed with secret_: each stage derives two to four secrets from it, and its pads
  // are computed once per stage instead of once per derivation. Rearmed after every use
  // (derive() is logically const).
  mutable std::optional<crypto::Hmac> prk_;
};

// §7.3: [sender]_write_key = HKDF-Expand-Label(Secret, "key", "", key_length) and
// [sender]_write_iv = HKDF-Expand-Label(Secret, "iv", "", iv_length).
Result<TrafficKeys, Error> derive_traffic_keys(const SuiteInfo& suite,
                                               std::span<const uint8_t> traffic_secret) noexcept;

// §4.4.4: finished_key = HKDF-Expand-Label(BaseKey, "finished", "", Hash.length).
Result<HashSecret, Error> finished_key(crypto::HashAlgo algo,
                                       std::span<const uint8_t> base_key) noexcept;
// §4.4.4: verify_data = HMAC(finished_key, Transcript-Hash(Handshake Context, Certificate*,
// CertificateVerify*)). Also the PSK binder (§4.2.11.2) with base_key = binder_key and the
// hash of the truncated ClientHello.
Result<crypto::Digest, Error> finished_verify_data(
    crypto::HashAlgo algo, std::span<const uint8_t> base_key,
    std::span<const uint8_t> transcript_hash) noexcept;
// Compares received with the expected verify_data in constant time; kBadFinished (or the
// given mismatch error, e.g. kBadPskBinder) when they differ.
Result<void, Error> verify_finished(crypto::HashAlgo algo, std::span<const uint8_t> base_key,
                                    std::span<const uint8_t> transcript_hash,
                                    std::span<const uint8_t> received,
                                    Error mismatch = Error::kBadFinished) noexcept;

// §7.2: application_traffic_secret_N+1 = HKDF-Expand-Label(application_traffic_secret_N,
// "traffic upd", "", Hash.length).
Result<HashSecret, Error> next_traffic_secret(crypto::HashAlgo algo,
                                              std::span<const uint8_t> secret) noexcept;

// §4.6.1: the PSK of a ticket = HKDF-Expand-Label(resumption_master_secret, "resumption",
// ticket_nonce, Hash.length).
Result<HashSecret, Error> resumption_psk(crypto::HashAlgo algo,
                                         std::span<const uint8_t> resumption_master_secret,
                                         std::span<const uint8_t> ticket_nonce) noexcept;

// §7.5: TLS-Exporter(label, context_value, key_length) = HKDF-Expand-Label(
// Derive-Secret(Secret, label, ""), "exporter", Hash(context_value), key_length), written to
// out (key_length = out.size()).
Result<void, Error> export_keying_material(crypto::HashAlgo algo,
                                           std::span<const uint8_t> exporter_master_secret,
                                           std::string_view label, std::span<const uint8_t> context,
                                           std::span<uint8_t> out) noexcept;

}  // namespace linetls::tls
