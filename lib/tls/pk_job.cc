#include "lib/tls/pk_job.h"

#include "lib/tls/server13.h"

namespace linetls::tls {

const char* to_string(PkKind k) noexcept {
  switch (k) {
    case PkKind::kNone:
      return "none";
    case PkKind::kKeyExchange:
      return "key_exchange";
    case PkKind::kKeyGen:
      return "key_gen";
    case PkKind::kDerive:
      return "derive";
    case PkKind::kSign:
      return "sign";
    case PkKind::kVerifyChain:
      return "verify_chain";
    case PkKind::kVerify:
      return "verify";
  }
  return "?";
}

void PkJob::reset() noexcept {
  kind = PkKind::kNone;
  peer_len = 0;
  share.reset();
  signer = nullptr;
  key = nullptr;
  max_signature_len = 0;
  message.clear();
  ca = nullptr;
  chain.clear();
  chain_lens.clear();
  now = 0;
  verify_key.reset();
  peer_signature.clear();
  verdict.reset();
  done = false;
  ok = false;
  error = crypto::Error::kInternal;
  secret.reset();
  signature.clear();
  ran_offloaded = false;
}

namespace {

// The most certificates a chain job carries (the Certificate parsers' own bound).
constexpr size_t kMaxChainCerts = 16;

bool fail_job(PkJob& job, crypto::Error e) noexcept {
  job.ok = false;
  job.error = e;
  return false;
}

bool run(PkJob& job, crypto::Rng& rng) noexcept {
  switch (job.kind) {
    case PkKind::kKeyExchange:
    case PkKind::kKeyGen: {
      auto ks = crypto::KeyShare::generate(job.group, rng);
      if (!ks) {
        return fail_job(job, ks.error());
      }
      job.share.emplace(std::move(*ks));
      if (job.kind == PkKind::kKeyGen) {
        return true;
      }
      [[fallthrough]];
    }
    case PkKind::kDerive: {
      if (!job.share) {
        return fail_job(job, crypto::Error::kInvalidArgument);
      }
      auto s = job.share->derive(job.peer_key());
      if (!s) {
        return fail_job(job, s.error());
      }
      job.secret.emplace(std::move(*s));
      return true;
    }
    case PkKind::kSign: {
      if ((job.signer == nullptr) == (job.key == nullptr)) {
        return fail_job(job, crypto::Error::kInvalidArgument);
      }
      job.signature.resize(job.max_signature_len);
      auto n = job.signer != nullptr ? job.signer->sign(job.scheme, job.message, job.signature)
                                     : crypto::sign(*job.key, job.scheme, job.message,
                                                    job.signature);
      if (!n) {
        job.signature.clear();
        return fail_job(job, n.error());
      }
      job.signature.resize(*n);
      return true;
    }
    case PkKind::kVerifyChain: {
      if (job.ca == nullptr || job.chain_lens.empty() ||
          job.chain_lens.size() > kMaxChainCerts) {
        return fail_job(job, crypto::Error::kInvalidArgument);
      }
      std::span<const uint8_t> certs[kMaxChainCerts];
      size_t at = 0;
      for (size_t i = 0; i < job.chain_lens.size(); i++) {
        if (job.chain_lens[i] > job.chain.size() - at) {
          return fail_job(job, crypto::Error::kInvalidArgument);
        }
        certs[i] = std::span<const uint8_t>(job.chain).subspan(at, job.chain_lens[i]);
        at += job.chain_lens[i];
      }
      auto v = job.ca->verify_client_chain_and_key(
          std::span<const std::span<const uint8_t>>(certs, job.chain_lens.size()), job.now);
      if (!v) {
        return fail_job(job, v.error());
      }
      job.verdict.emplace(std::move(*v));
      return true;
    }
    case PkKind::kVerify: {
      if (!job.verify_key) {
        return fail_job(job, crypto::Error::kInvalidArgument);
      }
      if (auto ok = crypto::verify(*job.verify_key, job.scheme, job.message, job.peer_signature);
          !ok) {
        return fail_job(job, ok.error());
      }
      return true;
    }
    case PkKind::kNone:
      break;
  }
  return fail_job(job, crypto::Error::kInvalidArgument);
}

}  // namespace

void run_pk_job(PkJob& job, crypto::Rng& rng) noexcept {
  job.ok = run(job, rng);
  job.done = true;
}

PkJob& PkSlot::start(PkKind kind) noexcept {
  if (!job_) {
    job_ = std::make_unique<PkJob>();
  }
  job_->reset();
  job_->kind = kind;
  return *job_;
}

bool PkSlot::run_here(crypto::Rng& rng) noexcept {
  if (offload_) {
    return false;
  }
  run_pk_job(*job_, rng);
  ran_here_++;
  return true;
}

bool PkSlot::give_back(std::unique_ptr<PkJob> job) noexcept {
  if (job_ != nullptr || job == nullptr || !job->done) {
    return false;
  }
  job_ = std::move(job);
  return true;
}

}  // namespace linetls::tls
