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
  done = false;
  ok = false;
  error = crypto::Error::kInternal;
  secret.reset();
  signature.clear();
  ran_offloaded = false;
}

namespace {

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

}  // namespace linetls::tls
