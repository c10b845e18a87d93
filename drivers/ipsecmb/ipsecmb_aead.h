// drivers/ipsecmb: crypto::AeadBatch on Intel ipsec-mb (burst API, one IMB_MGR per object).
//
// run() hands the batch to the library in bursts of up to 128 jobs (IMB_GET_NEXT_BURST,
// IMB_SUBMIT_BURST, IMB_FLUSH_BURST), in the order the ops were added. A contiguous op (at
// most one non-empty segment) is an IMB_CIPHER_GCM / IMB_CIPHER_CHACHA20_POLY1305 job; an op
// over several segments is one IMB_CIPHER_GCM_SGL / IMB_CIPHER_CHACHA20_POLY1305_SGL job with
// sgl_state IMB_SGL_ALL and the segment list. ipsec-mb computes tags but does not check them:
// an open writes its computed tag to per-slot scratch memory, which is compared with the
// caller's tag in constant time and wiped.
//
// Job validation. AeadBatch::add() already rejects every op the library would (foreign key,
// null tag or data, oversize), and the driver fills the remaining fields from constants, so
// bursts go through IMB_SUBMIT_BURST_NOCHECK: the library's own per-job checks cost about 25
// ns per job, as much as sealing a 64-byte record (docs/PERFORMANCE.md, "AEAD").
// Options::library_checks switches to IMB_SUBMIT_BURST; the tests run the cross-checks that
// way to show the library accepts every job the driver builds. If the library ever refused a
// burst, all of its ops would fail closed (kInvalid).
//
// Architecture. Arch::kAuto lets the library pick the best code path for this CPU
// (init_mb_mgr_auto); on a CPU with AVX-512, VAES and VPCLMULQDQ that is kAvx512 using the
// VAES/VPCLMULQDQ GCM code. AES key schedules (gcm_key_data) are laid out per architecture,
// so backend_id() includes the architecture and keys only move between batches of the same
// one.
#pragma once

#include <cstdint>
#include <memory>
#include <span>

#include "lib/base/result.h"
#include "lib/crypto/aead.h"

struct IMB_MGR;

namespace linetls::ipsecmb {

enum class Arch : uint8_t { kAuto, kSse, kAvx, kAvx2, kAvx512 };

// Returns "auto", "sse", "avx", "avx2" or "avx512".
const char* arch_name(Arch arch) noexcept;

class IpsecMbAeadBatch final : public crypto::AeadBatch {
 public:
  struct Options {
    Arch arch = Arch::kAuto;
    bool library_checks = false;  // IMB_SUBMIT_BURST instead of IMB_SUBMIT_BURST_NOCHECK
  };

  // Returns a batch holding up to capacity ops whose IMB_MGR is initialised for
  // options.arch, or kBadCapacity for capacity 0, kBackend if the CPU lacks that architecture
  // (or the library fails to initialise), kNoMemory if allocation fails.
  static Result<std::unique_ptr<IpsecMbAeadBatch>, crypto::AeadError> create(
      uint32_t capacity, const Options& options) noexcept;
  static Result<std::unique_ptr<IpsecMbAeadBatch>, crypto::AeadError> create(
      uint32_t capacity = crypto::kAeadDefaultCapacity) noexcept {
    return create(capacity, Options{});
  }
  ~IpsecMbAeadBatch() override;

  // The architecture in use (never kAuto).
  Arch arch() const noexcept { return arch_; }
  // True when the AES-GCM code path uses VAES and VPCLMULQDQ (AVX-512 type 2 and up).
  bool uses_vaes() const noexcept { return uses_vaes_; }
  const char* impl_name() const noexcept override { return impl_name_; }

  Result<crypto::AeadKeyPtr, crypto::AeadError> make_key(
      crypto::AeadAlgo algo, std::span<const uint8_t> key) noexcept override;

 private:
  struct Scratch;
  IpsecMbAeadBatch(uint32_t backend_id, IMB_MGR* mgr, Arch arch, bool uses_vaes,
                   bool library_checks) noexcept;
  void process(std::span<Op> ops) noexcept override;
  // Submits ops[0, n) (n <= the burst size) as one burst and completes them.
  // Runs n ops as one burst; returns how many opens failed their tag check. restore: the ops
  // are opens whose tag did not verify; encrypt their segments again under the same key and
  // nonce to put the ciphertext back (returns 0).
  uint32_t submit_burst(Op* const* ops, uint32_t n, bool restore) noexcept;
  // A contiguous AES-GCM op through the direct API; false (nothing done) for any other op.
  bool process_direct(Op& op) noexcept;

  IMB_MGR* mgr_;
  std::unique_ptr<Scratch> scratch_;
  Arch arch_;
  bool uses_vaes_;
  bool library_checks_;
  char impl_name_[96] = {};
};

}  // namespace linetls::ipsecmb
