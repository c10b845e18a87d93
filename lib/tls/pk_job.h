// Public-key work a server handshake machine stops for.
//
// Server13 and Server12 never run their expensive public-key steps themselves: at each one
// they stop with Wait::kPendingKeyExchange or Wait::kPendingSignature and hand out a PkJob
// (take_pk_job()). Whoever runs it (run_pk_job(): the session inline, or a handshake lcore
// after a trip through a ring) fills in its results and gives it back (complete_pk()); the
// machine then goes on from where it stopped. Inline or not, the job is the same object run
// by the same function; only the thread differs.
//
// A job holds everything it needs: the peer's public key is copied in, the private keys it
// borrows (the certificate's signing key) belong to the configuration, which the caller
// keeps alive while the job is out (keep_alive). Nothing in it points into the machine, so a
// connection that ends while its job is out just drops the job when it comes back.
#pragma once

#include <array>
#include <ctime>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "lib/base/clock.h"
#include "lib/crypto/cert.h"
#include "lib/crypto/error.h"
#include "lib/crypto/kx.h"
#include "lib/crypto/rng.h"
#include "lib/crypto/sig.h"
#include "lib/tls/handshake13.h"

namespace linetls::tls {

class CertificateSigner;

enum class PkKind : uint8_t {
  kNone,
  kKeyExchange,  // a fresh key pair for group, and the secret shared with peer (TLS 1.3)
  kKeyGen,       // a fresh key pair for group (TLS 1.2's ServerKeyExchange)
  kDerive,       // the secret shared between share (ours, from kKeyGen) and peer (TLS 1.2)
  kSign,         // a signature over message under scheme, by signer or key
  kVerifyChain,  // a client's certificate chain against ca at now, and its leaf's key (mTLS)
  kVerify,       // the client's CertificateVerify: signature over message under verify_key
};
inline constexpr size_t kNumPkKinds = 7;

// Returns "key_exchange" etc.
const char* to_string(PkKind k) noexcept;

struct PkJob {
  PkKind kind = PkKind::kNone;
  // (EC)DHE: kKeyExchange, kKeyGen, kDerive.
  crypto::NamedGroup group = crypto::NamedGroup::kX25519;
  std::array<uint8_t, crypto::kMaxPublicKeyLen> peer{};  // the peer's encoded public key
  uint8_t peer_len = 0;
  // Out for kKeyExchange and kKeyGen, in for kDerive (and out again, unchanged).
  std::optional<crypto::KeyShare> share;
  // Signing, kSign: exactly one of signer (TLS 1.3) or key (TLS 1.2); both borrowed.
  const CertificateSigner* signer = nullptr;
  const crypto::PrivateKey* key = nullptr;
  crypto::SignatureScheme scheme = crypto::SignatureScheme::kEcdsaSecp256r1Sha256;
  size_t max_signature_len = 0;
  std::vector<uint8_t> message;  // what to sign, or what the peer signed (kVerify)
  // Client certificates, kVerifyChain: the chain's DER certificates back to back (copied
  // from the Certificate message), each one's length, the trust store (borrowed) and the
  // time to check validity at. kVerify: the leaf's key (moved in and back) and the peer's
  // signature.
  const crypto::CaStore* ca = nullptr;
  std::vector<uint8_t> chain;
  std::vector<uint32_t> chain_lens;
  std::time_t now = 0;
  std::optional<crypto::PublicKey> verify_key;
  std::vector<uint8_t> peer_signature;
  // Results. ok false: error says why (the machine fails with its TLS error).
  bool done = false;
  bool ok = false;
  crypto::Error error = crypto::Error::kInternal;
  std::optional<crypto::SharedSecret> secret;  // kKeyExchange, kDerive
  std::vector<uint8_t> signature;              // kSign, exactly the signature's bytes
  // kVerifyChain: the verdict (identity, the leaf's key or why it cannot sign, whether the
  // thread's cache answered); ok false and error: the chain did not verify.
  std::optional<crypto::VerifiedClientChain> verdict;

  // The caller's: what keeps borrowed keys alive while the job is out, which connection it
  // belongs to, and where it ran. The machine never reads these.
  std::shared_ptr<const void> keep_alive;
  uint64_t owner = 0;
  uint64_t enqueued_tsc = 0;
  bool ran_offloaded = false;

  std::span<const uint8_t> peer_key() const noexcept { return {peer.data(), peer_len}; }
  // Clears the inputs and results for the next step (keeps the buffers' capacity).
  void reset() noexcept;
};

// Runs job: fills share, secret or signature and sets done and ok (or error). Keys are
// drawn from rng. Safe on any thread: it touches only the job and what it borrows read-only.
void run_pk_job(PkJob& job, crypto::Rng& rng) noexcept;

// A server machine's job slot (Server13, Server12): the job between steps, whether jobs go
// out to the caller (offload) or run here, and how many ran here.
class PkSlot {
 public:
  void set_offload(bool on) noexcept { offload_ = on; }
  // The slot's job, reset for kind (allocated once per handshake).
  PkJob& start(PkKind kind) noexcept;
  // Inline: runs the job now with rng and returns true (the machine goes on). Offloaded:
  // false (the machine stops with its pending reason).
  bool run_here(crypto::Rng& rng) noexcept;
  PkJob& job() noexcept { return *job_; }
  std::unique_ptr<PkJob> take() noexcept { return std::move(job_); }
  // Takes a job back; false (and the job is dropped) when one is here already, or it is
  // null or was not run.
  bool give_back(std::unique_ptr<PkJob> job) noexcept;
  void clear() noexcept { job_.reset(); }
  uint32_t ran_here() const noexcept { return ran_here_; }

 private:
  std::unique_ptr<PkJob> job_;
  bool offload_ = false;
  uint8_t ran_here_ = 0;
};

// What a record session (RecordSession13, RecordSession12) keeps while its server
// machine's job is out: the flag that holds its input, and the handshake bytes of the record
// after the paused message. The machine is a template parameter: client machines have no
// jobs, and every call is then a no-op.
class PkHold {
 public:
  bool pending() const noexcept { return pending_; }
  size_t held_capacity() const noexcept { return held_.capacity(); }

  template <class M>
  static void set_offload(M& m, bool on) noexcept {
    if constexpr (requires { m.set_pk_offload(on); }) {
      m.set_pk_offload(on);
    }
  }
  // After m handled a message with w: true if m stopped for a job; rest (the record's bytes
  // after the message) is kept until then. *inline_jobs gets the jobs m ran itself.
  template <class M>
  bool after_handle(const M& m, Wait w, std::span<const uint8_t> rest,
                    uint32_t* inline_jobs) noexcept {
    if constexpr (requires { m.pk_jobs_inline(); }) {
      *inline_jobs = m.pk_jobs_inline();
    }
    if (!is_pending(w)) {
      return false;
    }
    pending_ = true;
    held_.assign(rest.begin(), rest.end());
    return true;
  }
  template <class M>
  std::unique_ptr<PkJob> take(M& m) noexcept {
    if constexpr (requires { m.take_pk_job(); }) {
      return pending_ ? m.take_pk_job() : nullptr;
    }
    return nullptr;
  }
  // Gives job back to m. Returns the wait reason the session goes on with, the held bytes
  // moved to *rest; nullopt when there is nothing to go on with: nothing was out, the
  // session failed meanwhile (failed: the job and the held bytes are dropped), or m stopped
  // for its next job. *ticks gets the TSC cycles spent in m.
  template <class M>
  std::optional<Wait> complete(M& m, std::unique_ptr<PkJob> job, bool failed, uint64_t* ticks,
                               std::vector<uint8_t>* rest) noexcept {
    if constexpr (requires { m.complete_pk(std::move(job)); }) {
      if (failed) {
        pending_ = false;
        held_ = std::vector<uint8_t>();
        return std::nullopt;
      }
      if (!pending_) {
        return std::nullopt;
      }
      const uint64_t t0 = tsc();
      const Wait w = m.complete_pk(std::move(job));
      *ticks += tsc() - t0;
      if (is_pending(w)) {
        return std::nullopt;
      }
      pending_ = false;
      *rest = std::move(held_);
      held_ = std::vector<uint8_t>();
      return w;
    }
    return std::nullopt;
  }

 private:
  bool pending_ = false;
  std::vector<uint8_t> held_;
};

}  // namespace linetls::tls
