// AEAD microbenchmarks: the batched ipsec-mb backend against OpenSSL EVP and against raw
// single-buffer ipsec-mb.
//
//   BM_Seal/<cipher>/<record_bytes>/<batch>         IpsecMbAeadBatch, batch seals per run()
//   BM_OpenSSLSeal/<cipher>/<record_bytes>/<batch>  OsslAeadBatch, same work
//   BM_Open/..., BM_OpenSSLOpen/...                 the same for open (tag checked)
//   BM_RawIpsecMb{Seal,Open}/<aes-gcm>/<bytes>      IMB_AES*_GCM_ENC / _DEC on one buffer, no batch
//
// Every record is contiguous, in place, with a 5-byte AAD (a TLS 1.3 record header) and its
// own nonce. One iteration is one batch: clear, add every op, run. Bytes processed counts
// record payload, so Google Benchmark prints bytes/s; items are records.
//
// Open needs fresh ciphertext every iteration without copying it back in. GCM and ChaCha20
// are XOR stream ciphers, so opening a record turns C into P and opening P under the same key
// and nonce turns it back into C; the tag for "P as ciphertext" is what sealing C produces.
// Setup computes both tags and the iterations alternate between them, so every open does the
// full work and succeeds.
#include <benchmark/benchmark.h>
#include <intel-ipsec-mb.h>

#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "drivers/ipsecmb/ipsecmb_aead.h"
#include "drivers/ossl/ossl_aead.h"
#include "lib/crypto/aead.h"

namespace {

using linetls::crypto::AeadAlgo;
using linetls::crypto::AeadBatch;
using linetls::crypto::AeadKeyPtr;
using linetls::crypto::AeadNonce;
using linetls::crypto::IoSeg;
using linetls::crypto::kAeadTagLen;

enum class Impl { kIpsecMb, kOssl };
enum class Op { kSeal, kOpen };

constexpr AeadAlgo kAlgos[] = {AeadAlgo::kAes128Gcm, AeadAlgo::kAes256Gcm,
                               AeadAlgo::kChacha20Poly1305};
constexpr size_t kRecordBytes[] = {64, 256, 1024, 4096, 16384};
constexpr uint32_t kBatches[] = {1, 8, 32, 128};

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};
using AlignedBuf = std::unique_ptr<uint8_t, FreeDeleter>;

AlignedBuf aligned_bytes(size_t n, uint8_t fill) {
  AlignedBuf b(static_cast<uint8_t*>(std::aligned_alloc(64, (n + 63) / 64 * 64)));
  if (b != nullptr) {
    std::memset(b.get(), fill, n);
  }
  return b;
}

std::unique_ptr<AeadBatch> make_impl(Impl impl, uint32_t capacity) {
  if (impl == Impl::kIpsecMb) {
    auto r = linetls::ipsecmb::IpsecMbAeadBatch::create(capacity);
    return r.ok() ? std::move(r).value() : nullptr;
  }
  auto r = linetls::ossl::OsslAeadBatch::create(capacity);
  return r.ok() ? std::move(r).value() : nullptr;
}

// n records of `bytes` each, a key, nonces, and (for open) both alternating tags.
struct Records {
  std::unique_ptr<AeadBatch> batch;
  AeadKeyPtr key;
  AlignedBuf mem;
  std::vector<IoSeg> segs;
  std::vector<AeadNonce> nonces;
  std::vector<std::array<uint8_t, kAeadTagLen>> tags[2];
  std::array<uint8_t, 5> aad = {0x17, 0x03, 0x03, 0x40, 0x11};
};

bool setup(Records& r, Impl impl, AeadAlgo algo, size_t bytes, uint32_t n, Op op) {
  r.batch = make_impl(impl, n);
  if (r.batch == nullptr) {
    return false;
  }
  std::array<uint8_t, 32> key_bytes;
  for (size_t i = 0; i < key_bytes.size(); i++) {
    key_bytes[i] = static_cast<uint8_t>(0x40 + i);
  }
  auto k = r.batch->make_key(algo, std::span(key_bytes).first(linetls::crypto::aead_key_len(algo)));
  if (!k.ok()) {
    return false;
  }
  r.key = std::move(k).value();
  // Records 64-byte aligned and a cache line apart, as in separate mbufs.
  const size_t stride = (bytes + 64 + 63) / 64 * 64;
  r.mem = aligned_bytes(stride * n, 0xa5);
  if (r.mem == nullptr) {
    return false;
  }
  r.segs.resize(n);
  r.nonces.resize(n);
  r.tags[0].resize(n);
  r.tags[1].resize(n);
  for (uint32_t i = 0; i < n; i++) {
    r.segs[i] = {r.mem.get() + i * stride, static_cast<uint32_t>(bytes)};
    r.nonces[i] = AeadNonce{};
    std::memcpy(r.nonces[i].data() + 4, &i, sizeof(i));
  }
  if (op == Op::kOpen) {
    // P -> C with tag[1] (the tag of C); then C -> P with tag[0] (the tag of P as ciphertext).
    for (int t : {1, 0}) {
      r.batch->clear();
      for (uint32_t i = 0; i < n; i++) {
        r.batch->add_seal(*r.key, r.nonces[i], r.aad, {&r.segs[i], 1}, r.tags[t][i].data());
      }
      if (r.batch->run() != n) {
        return false;
      }
    }
  }
  return true;
}

void run_aead(benchmark::State& state, Impl impl, Op op, AeadAlgo algo, size_t bytes, uint32_t n) {
  Records r;
  if (!setup(r, impl, algo, bytes, n, op)) {
    state.SkipWithError("setup failed");
    return;
  }
  AeadBatch& b = *r.batch;
  uint64_t iter = 0;
  for (auto _ : state) {
    b.clear();
    if (op == Op::kSeal) {
      for (uint32_t i = 0; i < n; i++) {
        b.add_seal(*r.key, r.nonces[i], r.aad, {&r.segs[i], 1}, r.tags[0][i].data());
      }
    } else {
      // The buffers hold P on even iterations (open with tags[0]) and C on odd ones.
      const auto& tags = r.tags[iter & 1];
      for (uint32_t i = 0; i < n; i++) {
        b.add_open(*r.key, r.nonces[i], r.aad, {&r.segs[i], 1}, tags[i].data());
      }
    }
    if (b.run() != n) {
      state.SkipWithError("an op failed");
      break;
    }
    iter++;
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
}

// Raw single-buffer ipsec-mb: the direct GCM API on one buffer in place, no batch, the
// ceiling for a batch of contiguous records. Open decrypts and compares the tag (the buffer
// alternates between ciphertext and plaintext, as in run_aead, so no tag ever matches and
// every call does the whole work; the comparison is what a real open adds).
void raw_ipsecmb(benchmark::State& state, AeadAlgo algo, Op op, size_t bytes) {
  IMB_MGR* mgr = alloc_mb_mgr(0);
  if (mgr == nullptr) {
    state.SkipWithError("alloc_mb_mgr failed");
    return;
  }
  init_mb_mgr_auto(mgr, nullptr);
  struct alignas(64) KeyData {
    gcm_key_data k;
  };
  auto key_holder = std::make_unique<KeyData>();
  gcm_key_data* key_data_ptr = &key_holder->k;
  std::array<uint8_t, 32> key;
  for (size_t i = 0; i < key.size(); i++) {
    key[i] = static_cast<uint8_t>(0x40 + i);
  }
  const bool aes128 = algo == AeadAlgo::kAes128Gcm;
  if (aes128) {
    IMB_AES128_GCM_PRE(mgr, key.data(), key_data_ptr);
  } else {
    IMB_AES256_GCM_PRE(mgr, key.data(), key_data_ptr);
  }
  gcm_context_data ctx;
  AlignedBuf buf = aligned_bytes(bytes, 0xa5);
  const std::array<uint8_t, 12> iv{};
  const std::array<uint8_t, 5> aad = {0x17, 0x03, 0x03, 0x40, 0x11};
  std::array<uint8_t, 16> tag;
  const std::array<uint8_t, 16> expected{};
  uint64_t matches = 0;
  for (auto _ : state) {
    if (op == Op::kSeal) {
      if (aes128) {
        IMB_AES128_GCM_ENC(mgr, key_data_ptr, &ctx, buf.get(), buf.get(), bytes, iv.data(),
                           aad.data(), aad.size(), tag.data(), tag.size());
      } else {
        IMB_AES256_GCM_ENC(mgr, key_data_ptr, &ctx, buf.get(), buf.get(), bytes, iv.data(),
                           aad.data(), aad.size(), tag.data(), tag.size());
      }
    } else {
      if (aes128) {
        IMB_AES128_GCM_DEC(mgr, key_data_ptr, &ctx, buf.get(), buf.get(), bytes, iv.data(),
                           aad.data(), aad.size(), tag.data(), tag.size());
      } else {
        IMB_AES256_GCM_DEC(mgr, key_data_ptr, &ctx, buf.get(), buf.get(), bytes, iv.data(),
                           aad.data(), aad.size(), tag.data(), tag.size());
      }
      matches += std::memcmp(tag.data(), expected.data(), tag.size()) == 0 ? 1 : 0;
    }
    benchmark::DoNotOptimize(tag.data());
  }
  benchmark::DoNotOptimize(matches);
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  free_mb_mgr(mgr);
}

bool register_aead_benchmarks() {
  struct Family {
    const char* name;
    Impl impl;
    Op op;
  };
  const Family families[] = {{"BM_Seal", Impl::kIpsecMb, Op::kSeal},
                             {"BM_OpenSSLSeal", Impl::kOssl, Op::kSeal},
                             {"BM_Open", Impl::kIpsecMb, Op::kOpen},
                             {"BM_OpenSSLOpen", Impl::kOssl, Op::kOpen}};
  for (Op op : {Op::kSeal, Op::kOpen}) {
    for (AeadAlgo algo : {AeadAlgo::kAes128Gcm, AeadAlgo::kAes256Gcm}) {
      for (size_t bytes : kRecordBytes) {
        const std::string name =
            std::string(op == Op::kSeal ? "BM_RawIpsecMbSeal/" : "BM_RawIpsecMbOpen/") +
            linetls::crypto::aead_name(algo) + "/" + std::to_string(bytes);
        benchmark::RegisterBenchmark(name.c_str(), [algo, op, bytes](benchmark::State& s) {
          raw_ipsecmb(s, algo, op, bytes);
        });
      }
    }
  }
  for (const Family& f : families) {
    for (AeadAlgo algo : kAlgos) {
      for (size_t bytes : kRecordBytes) {
        for (uint32_t n : kBatches) {
          const std::string name = std::string(f.name) + "/" + linetls::crypto::aead_name(algo) +
                                   "/" + std::to_string(bytes) + "/" + std::to_string(n);
          benchmark::RegisterBenchmark(name.c_str(), [f, algo, bytes, n](benchmark::State& s) {
            run_aead(s, f.impl, f.op, algo, bytes, n);
          });
        }
      }
    }
  }
  return true;
}

[[maybe_unused]] const bool kRegistered = register_aead_benchmarks();

}  // namespace
