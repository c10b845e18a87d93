// Public-key microbenchmarks through lib/crypto's wrappers (what a handshake pays).
//
//   BM_X25519          KeyShare::generate(X25519) + derive against a fixed peer key
//   BM_P256Ecdh        the same for secp256r1 (peer point checked on the curve)
//   BM_P384Ecdh        the same for secp384r1
//   BM_EcdsaP256Sign   sign() with ecdsa_secp256r1_sha256 over a 130-byte message
//   BM_RsaPss2048Sign  sign() with rsa_pss_rsae_sha256, RSA-2048
//   BM_Ed25519Sign     sign() with ed25519
//   BM_*Verify         verify() of the same signatures
//   BM_RawP256Ecdh     the same work as BM_P256Ecdh on raw EVP calls, to price the wrapper
//
// The message size is that of a TLS 1.3 CertificateVerify content with SHA-256 (64 spaces,
// a 33-byte context string, a zero byte, a 32-byte transcript hash). Items are operations,
// so Google Benchmark prints them as items_per_second.
#include <benchmark/benchmark.h>
#include <openssl/evp.h>

#include <cstdlib>
#include <vector>

#include "lib/crypto/key.h"
#include "lib/crypto/kx.h"
#include "lib/crypto/rng.h"
#include "lib/crypto/sig.h"

namespace linetls::crypto {
namespace {

constexpr size_t kMessageLen = 64 + 33 + 1 + 32;

void check(bool ok, benchmark::State& state, const char* what) {
  if (!ok) {
    state.SkipWithError(what);
  }
}

void bench_kx(benchmark::State& state, NamedGroup group) {
  Result<KeyShare, Error> peer = KeyShare::generate(group, os_rng());
  check(peer.ok(), state, "peer keygen failed");
  for (auto _ : state) {
    Result<KeyShare, Error> ours = KeyShare::generate(group, os_rng());
    if (!ours) {
      state.SkipWithError("keygen failed");
      break;
    }
    Result<SharedSecret, Error> secret = ours->derive(peer->public_key());
    if (!secret) {
      state.SkipWithError("derive failed");
      break;
    }
    benchmark::DoNotOptimize(secret->view().data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_X25519(benchmark::State& state) { bench_kx(state, NamedGroup::kX25519); }
void BM_P256Ecdh(benchmark::State& state) { bench_kx(state, NamedGroup::kSecp256r1); }
void BM_P384Ecdh(benchmark::State& state) { bench_kx(state, NamedGroup::kSecp384r1); }
BENCHMARK(BM_X25519);
BENCHMARK(BM_P256Ecdh);
BENCHMARK(BM_P384Ecdh);

// Keys are generated once per process: RSA generation takes a noticeable fraction of a second.
const PrivateKey& bench_key(KeyType type) {
  static Result<PrivateKey, Error> rsa = PrivateKey::generate(KeyType::kRsa, 2048);
  static Result<PrivateKey, Error> p256 = PrivateKey::generate(KeyType::kEcdsaP256);
  static Result<PrivateKey, Error> ed = PrivateKey::generate(KeyType::kEd25519);
  Result<PrivateKey, Error>& key = type == KeyType::kRsa         ? rsa
                                   : type == KeyType::kEcdsaP256 ? p256
                                                                 : ed;
  if (!key) {
    std::abort();  // no point measuring without a key
  }
  return *key;
}

void bench_sign(benchmark::State& state, KeyType type, SignatureScheme scheme) {
  const PrivateKey& key = bench_key(type);
  const std::vector<uint8_t> message(kMessageLen, 0x20);
  std::vector<uint8_t> sig(key.max_signature_len());
  for (auto _ : state) {
    Result<size_t, Error> n = sign(key, scheme, message, sig);
    if (!n) {
      state.SkipWithError("sign failed");
      break;
    }
    benchmark::DoNotOptimize(sig.data());
  }
  state.SetItemsProcessed(state.iterations());
}

void bench_verify(benchmark::State& state, KeyType type, SignatureScheme scheme) {
  const PrivateKey& key = bench_key(type);
  const PublicKey pub = key.public_key();
  const std::vector<uint8_t> message(kMessageLen, 0x20);
  std::vector<uint8_t> sig(key.max_signature_len());
  Result<size_t, Error> n = sign(key, scheme, message, sig);
  check(n.ok(), state, "sign failed");
  sig.resize(n ? *n : 0);
  for (auto _ : state) {
    if (!verify(pub, scheme, message, sig)) {
      state.SkipWithError("verify failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_EcdsaP256Sign(benchmark::State& state) {
  bench_sign(state, KeyType::kEcdsaP256, SignatureScheme::kEcdsaSecp256r1Sha256);
}
void BM_RsaPss2048Sign(benchmark::State& state) {
  bench_sign(state, KeyType::kRsa, SignatureScheme::kRsaPssRsaeSha256);
}
void BM_Ed25519Sign(benchmark::State& state) {
  bench_sign(state, KeyType::kEd25519, SignatureScheme::kEd25519);
}
void BM_EcdsaP256Verify(benchmark::State& state) {
  bench_verify(state, KeyType::kEcdsaP256, SignatureScheme::kEcdsaSecp256r1Sha256);
}
void BM_RsaPss2048Verify(benchmark::State& state) {
  bench_verify(state, KeyType::kRsa, SignatureScheme::kRsaPssRsaeSha256);
}
void BM_Ed25519Verify(benchmark::State& state) {
  bench_verify(state, KeyType::kEd25519, SignatureScheme::kEd25519);
}
BENCHMARK(BM_EcdsaP256Sign);
BENCHMARK(BM_RsaPss2048Sign);
BENCHMARK(BM_Ed25519Sign);
BENCHMARK(BM_EcdsaP256Verify);
BENCHMARK(BM_RsaPss2048Verify);
BENCHMARK(BM_Ed25519Verify);

// Baseline: P-256 keygen + derive with raw EVP calls (libcrypto's own keygen, its own peer
// check), to show what KeyShare's injectable-RNG keygen and point checks cost on top.
void BM_RawP256Ecdh(benchmark::State& state) {
  EVP_PKEY* peer = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  check(peer != nullptr, state, "peer keygen failed");
  for (auto _ : state) {
    EVP_PKEY* ours = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, ours, nullptr);
    unsigned char secret[32];
    size_t len = sizeof(secret);
    const bool ok = ctx != nullptr && EVP_PKEY_derive_init(ctx) == 1 &&
                    EVP_PKEY_derive_set_peer_ex(ctx, peer, 1) == 1 &&
                    EVP_PKEY_derive(ctx, secret, &len) == 1;
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(ours);
    if (!ok) {
      state.SkipWithError("raw derive failed");
      break;
    }
    benchmark::DoNotOptimize(secret);
  }
  EVP_PKEY_free(peer);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RawP256Ecdh);

}  // namespace
}  // namespace linetls::crypto
