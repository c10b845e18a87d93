#include "drivers/ipsecmb/ipsecmb_aead.h"

#include <emmintrin.h>
#include <intel-ipsec-mb.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <new>

#include "lib/base/secret.h"

namespace linetls::ipsecmb {

using crypto::AeadAlgo;
using crypto::AeadError;
using crypto::AeadKeyPtr;
using crypto::AeadStatus;
using crypto::IoSeg;
using crypto::kAeadTagLen;

namespace {

// Jobs per IMB_SUBMIT_BURST call: the library's maximum.
constexpr uint32_t kBurst = IMB_MAX_BURST_SIZE;
// Scatter-gather descriptors available to one burst. An op needs at most kAeadMaxSegs, so a
// burst always fits at least one; a burst of many segmented ops is cut short instead.
constexpr uint32_t kIovPool = 1024;
static_assert(crypto::kAeadMaxSegs <= kIovPool);
constexpr uint32_t kChachaKeyLen = 32;
// backend_id() = kBackendTag | arch: keys are interchangeable only within one architecture.
constexpr uint32_t kBackendTag = 0x494d4200;  // "IMB\0"

struct IpsecMbKey final : crypto::AeadKey {
  IpsecMbKey(AeadAlgo algo, uint32_t backend_id) noexcept : AeadKey(algo, backend_id) {}
  ~IpsecMbKey() override {
    secure_wipe({reinterpret_cast<uint8_t*>(&gcm), sizeof(gcm)});
    secure_wipe(chacha);
  }

  // AES round keys and GHASH key powers, in the layout of the batch's architecture.
  alignas(64) gcm_key_data gcm;
  alignas(16) uint8_t chacha[kChachaKeyLen];
};

// Constant-time equality of two 16-byte tags: one compare of the whole block, no branch
// before the single yes/no answer. (lib/base's constant_time_equal is generic over lengths and
// goes byte by byte through a volatile, which costs as much as decrypting a 64-byte record.)
static_assert(kAeadTagLen == sizeof(__m128i));
inline bool tags_equal(const uint8_t* a, const uint8_t* b) noexcept {
  const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a));
  const __m128i y = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
  return _mm_movemask_epi8(_mm_cmpeq_epi8(x, y)) == 0xffff;
}

union SglContext {
  gcm_context_data gcm;
  chacha20_poly1305_context_data chacha;
};

bool init_arch(IMB_MGR* mgr, Arch want, Arch* out_arch) noexcept {
  switch (want) {
    case Arch::kAuto: {
      IMB_ARCH picked = IMB_ARCH_NONE;
      init_mb_mgr_auto(mgr, &picked);
      switch (picked) {
        case IMB_ARCH_SSE:
          *out_arch = Arch::kSse;
          break;
        case IMB_ARCH_AVX:
          *out_arch = Arch::kAvx;
          break;
        case IMB_ARCH_AVX2:
          *out_arch = Arch::kAvx2;
          break;
        case IMB_ARCH_AVX512:
          *out_arch = Arch::kAvx512;
          break;
        default:
          return false;  // no AES-NI (emulation only) or no usable path at all
      }
      break;
    }
    case Arch::kSse:
      init_mb_mgr_sse(mgr);
      *out_arch = want;
      break;
    case Arch::kAvx:
      init_mb_mgr_avx(mgr);
      *out_arch = want;
      break;
    case Arch::kAvx2:
      init_mb_mgr_avx2(mgr);
      *out_arch = want;
      break;
    case Arch::kAvx512:
      init_mb_mgr_avx512(mgr);
      *out_arch = want;
      break;
  }
  return imb_get_errno(mgr) == 0;
}

}  // namespace

// Per-burst-slot memory the jobs point into; slot k belongs to the k-th job of the burst.
struct IpsecMbAeadBatch::Scratch {
  alignas(64) uint8_t tags[kBurst][kAeadTagLen];  // computed tags of opens
  alignas(64) SglContext ctx[kBurst];             // state of SGL jobs
  IMB_SGL_IOV iovs[kIovPool];
  alignas(16) uint8_t empty[16] = {};  // src/dst/aad of empty messages and AAD
};

const char* arch_name(Arch arch) noexcept {
  switch (arch) {
    case Arch::kAuto:
      return "auto";
    case Arch::kSse:
      return "sse";
    case Arch::kAvx:
      return "avx";
    case Arch::kAvx2:
      return "avx2";
    case Arch::kAvx512:
      return "avx512";
  }
  return "?";
}

IpsecMbAeadBatch::IpsecMbAeadBatch(uint32_t backend_id, IMB_MGR* mgr, Arch arch, bool uses_vaes,
                                   bool library_checks) noexcept
    : AeadBatch(backend_id),
      mgr_(mgr),
      arch_(arch),
      uses_vaes_(uses_vaes),
      library_checks_(library_checks) {}

IpsecMbAeadBatch::~IpsecMbAeadBatch() {
  if (scratch_ != nullptr) {
    secure_wipe({reinterpret_cast<uint8_t*>(scratch_.get()), sizeof(Scratch)});
  }
  free_mb_mgr(mgr_);
}

Result<std::unique_ptr<IpsecMbAeadBatch>, AeadError> IpsecMbAeadBatch::create(
    uint32_t capacity, const Options& options) noexcept {
  if (capacity == 0) {
    return fail(AeadError::kBadCapacity);
  }
  IMB_MGR* mgr = alloc_mb_mgr(0);
  if (mgr == nullptr) {
    return fail(AeadError::kNoMemory);
  }
  Arch used = Arch::kAuto;
  if (!init_arch(mgr, options.arch, &used)) {
    free_mb_mgr(mgr);
    return fail(AeadError::kBackend);
  }
  bool vaes =
      used == Arch::kAvx512 && (mgr->features & IMB_CPUFLAGS_AVX512_T2) == IMB_CPUFLAGS_AVX512_T2;
  std::unique_ptr<IpsecMbAeadBatch> batch(new (std::nothrow) IpsecMbAeadBatch(
      kBackendTag | static_cast<uint32_t>(used), mgr, used, vaes, options.library_checks));
  if (batch == nullptr) {
    free_mb_mgr(mgr);
    return fail(AeadError::kNoMemory);
  }
  batch->scratch_.reset(new (std::nothrow) Scratch);
  if (batch->scratch_ == nullptr || !batch->reserve(capacity)) {
    return fail(AeadError::kNoMemory);
  }
  std::snprintf(batch->impl_name_, sizeof(batch->impl_name_), "ipsec-mb %s %s%s",
                imb_get_version_str(), arch_name(used), vaes ? " (vaes, vpclmulqdq)" : "");
  return batch;
}

Result<AeadKeyPtr, AeadError> IpsecMbAeadBatch::make_key(AeadAlgo algo,
                                                         std::span<const uint8_t> key) noexcept {
  if (key.size() != crypto::aead_key_len(algo)) {
    return fail(AeadError::kBadKeyLength);
  }
  std::unique_ptr<IpsecMbKey> k(new (std::nothrow) IpsecMbKey(algo, backend_id()));
  if (k == nullptr) {
    return fail(AeadError::kNoMemory);
  }
  std::memset(&k->gcm, 0, sizeof(k->gcm));
  std::memset(k->chacha, 0, sizeof(k->chacha));
  switch (algo) {
    case AeadAlgo::kAes128Gcm:
      IMB_AES128_GCM_PRE(mgr_, key.data(), &k->gcm);
      break;
    case AeadAlgo::kAes256Gcm:
      IMB_AES256_GCM_PRE(mgr_, key.data(), &k->gcm);
      break;
    case AeadAlgo::kChacha20Poly1305:
      std::memcpy(k->chacha, key.data(), kChachaKeyLen);
      break;
  }
  if (imb_get_errno(mgr_) != 0) {
    return fail(AeadError::kBackend);
  }
  return AeadKeyPtr(k.release());
}

// Contiguous AES-GCM records (every TLS record the engine builds or receives in one mbuf)
// take the direct API, one call each: the burst API's per-job set-up and completion were the
// whole gap between a batch and raw single-buffer ipsec-mb at small records (79% at 256 B;
// docs/PERFORMANCE.md), and ipsec-mb 1.3 runs GCM jobs one after another anyway. ChaCha20-
// Poly1305 (multi-buffer in the burst API) and scatter-gather records go in bursts.
//
// add() has checked everything the library would (key, pointers, lengths), so there is no
// error to look for. The context is scratch slot 0, which bursts only use inside
// submit_burst(); process() wipes it once at the end.
bool IpsecMbAeadBatch::process_direct(Op& op) noexcept {
  const auto& key = static_cast<const IpsecMbKey&>(*op.key);
  if (key.algo() == AeadAlgo::kChacha20Poly1305) {
    return false;
  }
  Scratch& s = *scratch_;
  uint8_t* buf = s.empty;
  uint32_t nonempty = 0;
  for (const IoSeg& seg : op.segs) {
    if (seg.len != 0) {
      buf = seg.data;
      nonempty++;
    }
  }
  if (nonempty > 1) {
    return false;
  }
  gcm_context_data* ctx = &s.ctx[0].gcm;
  const uint8_t* aad = op.aad.empty() ? s.empty : op.aad.data();
  // What IMB_AES128/256_GCM_ENC/DEC expand to: the manager's functions for its architecture.
  const bool aes128 = key.algo() == AeadAlgo::kAes128Gcm;
  const aes_gcm_enc_dec_t enc = aes128 ? mgr_->gcm128_enc : mgr_->gcm256_enc;
  const aes_gcm_enc_dec_t dec = aes128 ? mgr_->gcm128_dec : mgr_->gcm256_dec;
  if (op.dir == Dir::kSeal) {
    enc(&key.gcm, ctx, buf, buf, op.len, op.nonce.data(), aad, op.aad.size(), op.tag, kAeadTagLen);
    op.status = AeadStatus::kOk;
    return true;
  }
  uint8_t* computed = s.tags[0];
  dec(&key.gcm, ctx, buf, buf, op.len, op.nonce.data(), aad, op.aad.size(), computed, kAeadTagLen);
  const bool good = tags_equal(computed, op.tag);
  // The computed tag would authenticate a forged record: it never outlives the check.
  _mm_storeu_si128(reinterpret_cast<__m128i*>(computed), _mm_setzero_si128());
  if (good) {
    op.status = AeadStatus::kOk;
    return true;
  }
  // aead.h: a failed open gets its ciphertext back. Encrypting the wrongly decrypted bytes
  // again applies the same keystream; that tag goes to scratch and is wiped.
  enc(&key.gcm, ctx, buf, buf, op.len, op.nonce.data(), aad, op.aad.size(), computed, kAeadTagLen);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(computed), _mm_setzero_si128());
  op.status = AeadStatus::kAuthFailed;
  return true;
}

void IpsecMbAeadBatch::process(std::span<Op> ops) noexcept {
  Op* burst[kBurst];
  size_t i = 0;
  bool direct = false;
  while (i < ops.size()) {
    uint32_t n = 0;
    uint32_t iovs = 0;
    for (; i < ops.size() && n < kBurst; i++) {
      Op& op = ops[i];
      if (op.status != AeadStatus::kPending) {
        continue;
      }
      if (process_direct(op)) {
        direct = true;
        continue;
      }
      if (op.segs.size() > 1) {
        uint32_t nonempty = 0;
        for (const IoSeg& s : op.segs) {
          nonempty += s.len != 0 ? 1 : 0;
        }
        if (nonempty > 1 && iovs + nonempty > kIovPool) {
          break;  // descriptor pool used up: this op starts the next burst
        }
        iovs += nonempty > 1 ? nonempty : 0;
      }
      burst[n++] = &op;
    }
    if (n != 0 && submit_burst(burst, n, false) != 0) {
      // aead.h: the opens whose tag did not verify get their ciphertext back, in a second
      // burst (they are a subset of this one, so they fit its descriptors).
      Op* failed[kBurst];
      uint32_t m = 0;
      for (uint32_t k = 0; k < n; k++) {
        if (burst[k]->status == AeadStatus::kAuthFailed) {
          failed[m++] = burst[k];
        }
      }
      submit_burst(failed, m, true);
    }
  }
  if (direct) {
    secure_wipe({reinterpret_cast<uint8_t*>(&scratch_->ctx[0]), sizeof(scratch_->ctx[0])});
  }
}

uint32_t IpsecMbAeadBatch::submit_burst(Op* const* ops, uint32_t n, bool restore) noexcept {
  Scratch& s = *scratch_;
  IMB_JOB* jobs[kBurst];
  // The queue is empty between bursts (every burst is flushed), so it has room for n.
  const uint32_t got = IMB_GET_NEXT_BURST(mgr_, n, jobs);
  uint32_t next_iov = 0;
  for (uint32_t k = 0; k < got; k++) {
    IMB_JOB* job = jobs[k];
    const Op& op = *ops[k];
    const auto& key = static_cast<const IpsecMbKey&>(*op.key);
    // A restore encrypts the wrongly decrypted bytes of a failed open again: the same
    // keystream XOR gives back the ciphertext; its tag goes to scratch and is discarded.
    const bool seal = op.dir == Dir::kSeal || restore;
    const bool gcm = key.algo() != AeadAlgo::kChacha20Poly1305;
    const uint8_t* aad = op.aad.empty() ? s.empty : op.aad.data();

    job->cipher_direction = seal ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
    job->chain_order = seal ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
    if (gcm) {
      job->enc_keys = &key.gcm;
      job->dec_keys = &key.gcm;
      job->key_len_in_bytes =
          key.algo() == AeadAlgo::kAes128Gcm ? IMB_KEY_128_BYTES : IMB_KEY_256_BYTES;
      job->u.GCM.aad = aad;
      job->u.GCM.aad_len_in_bytes = op.aad.size();
      job->u.GCM.ctx = &s.ctx[k].gcm;
    } else {
      job->enc_keys = key.chacha;
      job->dec_keys = key.chacha;
      job->key_len_in_bytes = kChachaKeyLen;
      job->u.CHACHA20_POLY1305.aad = aad;
      job->u.CHACHA20_POLY1305.aad_len_in_bytes = op.aad.size();
      job->u.CHACHA20_POLY1305.ctx = &s.ctx[k].chacha;
    }
    job->iv = op.nonce.data();
    job->iv_len_in_bytes = op.nonce.size();
    job->cipher_start_src_offset_in_bytes = 0;
    job->hash_start_src_offset_in_bytes = 0;
    job->msg_len_to_cipher_in_bytes = op.len;
    job->msg_len_to_hash_in_bytes = op.len;
    job->auth_tag_output = seal && !restore ? op.tag : s.tags[k];
    job->auth_tag_output_len_in_bytes = kAeadTagLen;
    job->user_data = ops[k];
    job->user_data2 = &s.ctx[k];

    // Empty segments are dropped; one non-empty segment is a contiguous job.
    uint32_t nonempty = 0;
    uint8_t* first = s.empty;
    for (const IoSeg& seg : op.segs) {
      if (seg.len != 0) {
        first = nonempty == 0 ? seg.data : first;
        nonempty++;
      }
    }
    if (nonempty <= 1) {
      job->src = first;
      job->dst = first;
      job->cipher_mode = gcm ? IMB_CIPHER_GCM : IMB_CIPHER_CHACHA20_POLY1305;
      job->hash_alg = gcm ? IMB_AUTH_AES_GMAC : IMB_AUTH_CHACHA20_POLY1305;
    } else {
      IMB_SGL_IOV* iov = &s.iovs[next_iov];
      uint32_t m = 0;
      for (const IoSeg& seg : op.segs) {
        if (seg.len != 0) {
          iov[m].in = seg.data;
          iov[m].out = seg.data;
          iov[m].len = seg.len;
          m++;
        }
      }
      next_iov += m;
      job->sgl_io_segs = iov;
      job->num_sgl_io_segs = m;
      job->sgl_state = IMB_SGL_ALL;
      job->cipher_mode = gcm ? IMB_CIPHER_GCM_SGL : IMB_CIPHER_CHACHA20_POLY1305_SGL;
      job->hash_alg = gcm ? IMB_AUTH_GCM_SGL : IMB_AUTH_CHACHA20_POLY1305_SGL;
    }
  }

  auto wipe_segs = [](const Op& op) {
    for (const IoSeg& seg : op.segs) {
      secure_wipe({seg.data, seg.len});
    }
  };
  bool restored[kBurst];  // restore: the op's encrypt job completed
  if (restore) {
    std::fill_n(restored, n, false);
  }
  uint32_t num_auth_failed = 0;
  auto complete = [&](IMB_JOB* job) {
    Op& op = *static_cast<Op*>(job->user_data);
    auto* slot = static_cast<SglContext*>(job->user_data2);
    const size_t k = static_cast<size_t>(slot - s.ctx);
    if (job->cipher_mode == IMB_CIPHER_GCM_SGL ||
        job->cipher_mode == IMB_CIPHER_CHACHA20_POLY1305_SGL) {
      secure_wipe({reinterpret_cast<uint8_t*>(slot), sizeof(*slot)});
    }
    if (restore) {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(s.tags[k]), _mm_setzero_si128());
      if (job->status == IMB_STATUS_COMPLETED) {
        restored[k] = true;
      }
      return;  // the op stays kAuthFailed
    }
    if (job->status != IMB_STATUS_COMPLETED) {
      if (op.dir == Dir::kOpen) {
        wipe_segs(op);
      }
      op.status = AeadStatus::kInvalid;
      return;
    }
    if (op.dir == Dir::kSeal) {
      op.status = AeadStatus::kOk;
      return;
    }
    const bool good = tags_equal(s.tags[k], op.tag);
    // The computed tag would authenticate a forged record: it never outlives the check.
    _mm_storeu_si128(reinterpret_cast<__m128i*>(s.tags[k]), _mm_setzero_si128());
    // A failed open keeps its (wrongly decrypted) bytes until the restore burst.
    op.status = good ? AeadStatus::kOk : AeadStatus::kAuthFailed;
    num_auth_failed += good ? 0 : 1;
  };

  uint32_t done = library_checks_ ? IMB_SUBMIT_BURST(mgr_, got, jobs)
                                  : IMB_SUBMIT_BURST_NOCHECK(mgr_, got, jobs);
  if (done == 0 && imb_get_errno(mgr_) != 0) {
    // (library_checks_ only) The library rejected a job it considered malformed and
    // processed none of the burst. add() should make this unreachable; fail closed.
    for (uint32_t k = 0; k < got; k++) {
      if (!restore) {
        ops[k]->status = AeadStatus::kInvalid;
      }
    }
  } else {
    for (uint32_t k = 0; k < done; k++) {
      complete(jobs[k]);
    }
    while (done < got) {
      const uint32_t flushed = IMB_FLUSH_BURST(mgr_, got - done, jobs);
      if (flushed == 0) {
        break;
      }
      for (uint32_t k = 0; k < flushed; k++) {
        complete(jobs[k]);
      }
      done += flushed;
    }
  }
  if (restore) {
    // An open whose ciphertext could not be put back is wiped (aead.h).
    for (uint32_t k = 0; k < n; k++) {
      if (!restored[k]) {
        wipe_segs(*ops[k]);
      }
    }
    return 0;
  }
  // Anything the library did not hand back (never expected) fails closed too.
  for (uint32_t k = 0; k < n; k++) {
    if (ops[k]->status == AeadStatus::kPending) {
      if (ops[k]->dir == Dir::kOpen) {
        wipe_segs(*ops[k]);
      }
      ops[k]->status = AeadStatus::kInvalid;
    }
  }
  return num_auth_failed;
}

}  // namespace linetls::ipsecmb
