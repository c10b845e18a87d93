#include "lib/tls/key_schedule.h"

#include <array>

namespace linetls::tls {

namespace {

// The Hash("") that "derived" and the binder/exporter labels use as context.
Result<crypto::Digest, Error> empty_hash(crypto::HashAlgo algo) noexcept {
  auto h = crypto::hash(algo, {});
  if (!h) {
    return fail(Error::kCryptoFailure);
  }
  return *h;
}

// Hash("") per algorithm, computed once (SHA-256 and SHA-384 of nothing).
Result<crypto::Digest, Error> empty_hash_cached(crypto::HashAlgo algo) noexcept {
  static const Result<crypto::Digest, Error> sha256 = empty_hash(crypto::HashAlgo::kSha256);
  static const Result<crypto::Digest, Error> sha384 = empty_hash(crypto::HashAlgo::kSha384);
  return algo == crypto::HashAlgo::kSha384 ? sha384 : sha256;
}

Result<HashSecret, Error> expand_label(crypto::HashAlgo algo, std::span<const uint8_t> secret,
                                       std::string_view label,
                                       std::span<const uint8_t> context) noexcept {
  HashSecret out;
  if (!crypto::hkdf_expand_label(algo, secret, label, context,
                                 out.resize(crypto::hash_len(algo)))) {
    return fail(Error::kCryptoFailure);
  }
  return out;
}

// Without a PSK the early stage is the same for every handshake of one hash, and public:
// Early Secret = HKDF-Extract(0, 0), and the salt the handshake stage starts from,
// Derive-Secret(Early Secret, "derived", ""). Computed once per algorithm.
struct NoPskEarly {
  HashSecret early;
  HashSecret derived;
  bool ok = false;
};

NoPskEarly make_no_psk_early(crypto::HashAlgo algo) noexcept {
  NoPskEarly e;
  const std::array<uint8_t, crypto::kMaxHashLen> zeros{};
  auto s = crypto::hkdf_extract(algo, {},
                                std::span<const uint8_t>(zeros.data(), crypto::hash_len(algo)));
  auto eh = empty_hash(algo);
  if (!s || !eh) {
    return e;
  }
  auto d = crypto::derive_secret(algo, s->view(), "derived", eh->view());
  if (!d) {
    return e;
  }
  e.early = std::move(s).value();
  e.derived = std::move(d).value();
  e.ok = true;
  return e;
}

const NoPskEarly& no_psk_early(crypto::HashAlgo algo) noexcept {
  static const NoPskEarly sha256 = make_no_psk_early(crypto::HashAlgo::kSha256);
  static const NoPskEarly sha384 = make_no_psk_early(crypto::HashAlgo::kSha384);
  return algo == crypto::HashAlgo::kSha384 ? sha384 : sha256;
}

}  // namespace

Result<void, Error> KeySchedule::start(std::span<const uint8_t> psk) noexcept {
  if (stage_ != Stage::kNone) {
    return fail(Error::kInternalError);
  }
  if (psk.empty()) {
    const NoPskEarly& e = no_psk_early(algo_);
    if (!e.ok) {
      return fail(Error::kCryptoFailure);
    }
    secret_ = e.early.clone();
    prk_.reset();  // keyed on first use (nothing but "derived" is asked without a PSK)
    stage_ = Stage::kEarly;
    has_psk_ = false;
    return {};
  }
  const std::array<uint8_t, crypto::kMaxHashLen> zeros{};
  const std::span<const uint8_t> ikm =
      psk.empty() ? std::span<const uint8_t>(zeros.data(), crypto::hash_len(algo_)) : psk;
  auto s = crypto::hkdf_extract(algo_, {}, ikm);
  if (!s) {
    return fail(Error::kCryptoFailure);
  }
  if (auto ok = set_secret(std::move(s).value()); !ok) {
    return ok;
  }
  stage_ = Stage::kEarly;
  has_psk_ = !psk.empty();
  return {};
}

Result<HashSecret, Error> KeySchedule::derive(Stage need, std::string_view label,
                                              std::span<const uint8_t> hash) const noexcept {
  if (stage_ != need || hash.size() != crypto::hash_len(algo_)) {
    return fail(Error::kInternalError);
  }
  if (!prk_) {
    auto h = crypto::Hmac::create(algo_, secret_.view());
    if (!h) {
      return fail(Error::kCryptoFailure);
    }
    prk_.emplace(std::move(h).value());
  }
  auto s = crypto::derive_secret(*prk_, label, hash);
  if (!s) {
    return fail(Error::kCryptoFailure);
  }
  return std::move(s).value();
}

Result<void, Error> KeySchedule::set_secret(HashSecret s) noexcept {
  auto h = crypto::Hmac::create(algo_, s.view());
  if (!h) {
    return fail(Error::kCryptoFailure);
  }
  secret_ = std::move(s);
  prk_.emplace(std::move(h).value());
  return {};
}

Result<void, Error> KeySchedule::advance(Stage from, std::span<const uint8_t> ikm) noexcept {
  if (stage_ != from) {
    return fail(Error::kInternalError);
  }
  HashSecret salt;
  if (from == Stage::kEarly && !has_psk_) {
    salt = no_psk_early(algo_).derived.clone();  // start() checked it is there
  } else {
    auto eh = empty_hash_cached(algo_);
    if (!eh) {
      return fail(eh.error());
    }
    auto d = derive(from, "derived", eh->view());
    if (!d) {
      return fail(d.error());
    }
    salt = std::move(d).value();
  }
  auto s = crypto::hkdf_extract(algo_, salt.view(), ikm);
  if (!s) {
    return fail(Error::kCryptoFailure);
  }
  if (auto ok = set_secret(std::move(s).value()); !ok) {
    return ok;
  }
  stage_ = static_cast<Stage>(static_cast<uint8_t>(from) + 1);
  return {};
}

Result<HashSecret, Error> KeySchedule::binder_key(bool resumption) const noexcept {
  auto eh = empty_hash_cached(algo_);
  if (!eh) {
    return fail(eh.error());
  }
  return derive(Stage::kEarly, resumption ? "res binder" : "ext binder", eh->view());
}

Result<HashSecret, Error> KeySchedule::client_early_traffic_secret(
    std::span<const uint8_t> ch_hash) const noexcept {
  return derive(Stage::kEarly, "c e traffic", ch_hash);
}

Result<HashSecret, Error> KeySchedule::early_exporter_master_secret(
    std::span<const uint8_t> ch_hash) const noexcept {
  return derive(Stage::kEarly, "e exp master", ch_hash);
}

Result<void, Error> KeySchedule::add_handshake(std::span<const uint8_t> shared_secret) noexcept {
  if (shared_secret.empty()) {
    return fail(Error::kInternalError);  // psk_ke goes through add_handshake_without_dhe()
  }
  return advance(Stage::kEarly, shared_secret);
}

Result<void, Error> KeySchedule::add_handshake_without_dhe() noexcept {
  if (!has_psk_) {
    return fail(Error::kInternalError);
  }
  const std::array<uint8_t, crypto::kMaxHashLen> zeros{};
  return advance(Stage::kEarly, std::span<const uint8_t>(zeros.data(), crypto::hash_len(algo_)));
}

Result<HashSecret, Error> KeySchedule::client_handshake_traffic_secret(
    std::span<const uint8_t> ch_sh_hash) const noexcept {
  return derive(Stage::kHandshake, "c hs traffic", ch_sh_hash);
}

Result<HashSecret, Error> KeySchedule::server_handshake_traffic_secret(
    std::span<const uint8_t> ch_sh_hash) const noexcept {
  return derive(Stage::kHandshake, "s hs traffic", ch_sh_hash);
}

Result<void, Error> KeySchedule::add_master() noexcept {
  const std::array<uint8_t, crypto::kMaxHashLen> zeros{};
  return advance(Stage::kHandshake,
                 std::span<const uint8_t>(zeros.data(), crypto::hash_len(algo_)));
}

Result<HashSecret, Error> KeySchedule::client_application_traffic_secret(
    std::span<const uint8_t> hash_to_server_finished) const noexcept {
  return derive(Stage::kMaster, "c ap traffic", hash_to_server_finished);
}

Result<HashSecret, Error> KeySchedule::server_application_traffic_secret(
    std::span<const uint8_t> hash_to_server_finished) const noexcept {
  return derive(Stage::kMaster, "s ap traffic", hash_to_server_finished);
}

Result<HashSecret, Error> KeySchedule::exporter_master_secret(
    std::span<const uint8_t> hash_to_server_finished) const noexcept {
  return derive(Stage::kMaster, "exp master", hash_to_server_finished);
}

Result<HashSecret, Error> KeySchedule::resumption_master_secret(
    std::span<const uint8_t> hash_to_client_finished) const noexcept {
  return derive(Stage::kMaster, "res master", hash_to_client_finished);
}

Result<TrafficKeys, Error> derive_traffic_keys(const SuiteInfo& suite,
                                               std::span<const uint8_t> traffic_secret) noexcept {
  TrafficKeys keys;
  keys.aead = suite.aead;
  // Both from one keyed HMAC: the secret's pads once, not per label.
  auto prk = crypto::Hmac::create(suite.hash, traffic_secret);
  if (!prk ||
      !crypto::hkdf_expand_label(*prk, "key", {},
                                 keys.key.resize(crypto::aead_key_len(suite.aead))) ||
      !crypto::hkdf_expand_label(*prk, "iv", {}, keys.iv.resize(kIvLen))) {
    return fail(Error::kCryptoFailure);
  }
  return keys;
}

Result<HashSecret, Error> finished_key(crypto::HashAlgo algo,
                                       std::span<const uint8_t> base_key) noexcept {
  return expand_label(algo, base_key, "finished", {});
}

Result<crypto::Digest, Error> finished_verify_data(
    crypto::HashAlgo algo, std::span<const uint8_t> base_key,
    std::span<const uint8_t> transcript_hash) noexcept {
  auto key = finished_key(algo, base_key);
  if (!key) {
    return fail(key.error());
  }
  auto mac = crypto::hmac(algo, key->view(), transcript_hash);
  if (!mac) {
    return fail(Error::kCryptoFailure);
  }
  return *mac;
}

Result<void, Error> verify_finished(crypto::HashAlgo algo, std::span<const uint8_t> base_key,
                                    std::span<const uint8_t> transcript_hash,
                                    std::span<const uint8_t> received, Error mismatch) noexcept {
  auto want = finished_verify_data(algo, base_key, transcript_hash);
  if (!want) {
    return fail(want.error());
  }
  // §4.4.4: "Recipients of Finished messages MUST verify that the contents are correct and
  // if incorrect MUST terminate the connection with a decrypt_error alert."
  if (!constant_time_equal(want->view(), received)) {
    return fail(mismatch);
  }
  return {};
}

Result<HashSecret, Error> next_traffic_secret(crypto::HashAlgo algo,
                                              std::span<const uint8_t> secret) noexcept {
  return expand_label(algo, secret, "traffic upd", {});
}

Result<HashSecret, Error> resumption_psk(crypto::HashAlgo algo,
                                         std::span<const uint8_t> resumption_master_secret,
                                         std::span<const uint8_t> ticket_nonce) noexcept {
  return expand_label(algo, resumption_master_secret, "resumption", ticket_nonce);
}

Result<void, Error> export_keying_material(crypto::HashAlgo algo,
                                           std::span<const uint8_t> exporter_master_secret,
                                           std::string_view label, std::span<const uint8_t> context,
                                           std::span<uint8_t> out) noexcept {
  auto eh = empty_hash(algo);
  if (!eh) {
    return fail(eh.error());
  }
  auto per_label = crypto::derive_secret(algo, exporter_master_secret, label, eh->view());
  if (!per_label) {
    return fail(Error::kCryptoFailure);
  }
  auto ctx_hash = crypto::hash(algo, context);
  if (!ctx_hash) {
    return fail(Error::kCryptoFailure);
  }
  if (!crypto::hkdf_expand_label(algo, per_label->view(), "exporter", ctx_hash->view(), out)) {
    return fail(Error::kCryptoFailure);
  }
  return {};
}

}  // namespace linetls::tls
