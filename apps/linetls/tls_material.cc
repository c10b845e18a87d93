#include "apps/linetls/tls_material.h"

#include "apps/linetls/ticket_key_file.h"

namespace linetls::app {
namespace {

// Where an error about profile i's files should point: the [[service]] table that gave
// them, else where the global flag came from.
std::string profile_origin(const Options& o, size_t profile, std::string_view global_flag,
                           bool from_service) {
  for (size_t i = 0; i < o.services.size(); i++) {
    if (o.services[i].tls && o.services[i].tls_profile == profile) {
      if (from_service) {
        return origin_of(o, "service#" + std::to_string(i));
      }
      break;
    }
  }
  return origin_of(o, global_flag);
}

// The overrides of the first service using profile i.
const ServiceOverrides* overrides_of(const Options& o, size_t profile) {
  for (size_t i = 0; i < o.services.size(); i++) {
    if (o.services[i].tls && o.services[i].tls_profile == profile) {
      return &o.service_overrides[i];
    }
  }
  return nullptr;
}

}  // namespace

bool needs_self_signed(const Options& o) {
  for (const TlsProfileFiles& p : o.tls_profiles) {
    if (p.certificates.empty()) {
      return true;
    }
  }
  return false;
}

Result<std::shared_ptr<const engine::TlsGeneration>, std::string> load_tls_generation(
    const Options& o, uint64_t number,
    const std::shared_ptr<const crypto::CertifiedKey>& self_signed) {
  auto g = std::make_shared<engine::TlsGeneration>();
  g->number = number;
  for (size_t i = 0; i < o.tls_profiles.size(); i++) {
    const TlsProfileFiles& files = o.tls_profiles[i];
    const ServiceOverrides* ov = overrides_of(o, i);
    auto p = std::make_shared<engine::TlsProfile>();
    std::vector<std::shared_ptr<const crypto::CertifiedKey>> keys;
    for (const CertKeyFiles& ck : files.certificates) {
      auto k = crypto::CertifiedKey::load(ck.cert, ck.key);
      if (!k) {
        return fail(profile_origin(o, i, "--cert", ov != nullptr && ov->certificates) + "--cert " +
                    ck.cert + " --key " + ck.key + ": " +
                    std::string(crypto::to_string(k.error())));
      }
      keys.push_back(std::make_shared<const crypto::CertifiedKey>(std::move(k).value()));
    }
    if (keys.empty()) {
      if (self_signed == nullptr) {
        return fail(std::string("tls: no certificate and no self-signed one"));
      }
      keys.push_back(self_signed);
    }
    for (const auto& k : keys) {
      p->certificates.push_back(tls::ServerCertificate::from(*k));
      p->certificates12.push_back(tls::v12::Certificate12::from(*k));
      engine::CertAlgs algs;
      if (auto d = crypto::describe_certificate(*k)) {
        algs.sig_alg = d->sig_alg;
        algs.key_alg = d->key_alg;
      }
      p->certificate_algs.push_back(std::move(algs));
      p->owned.push_back(k);
    }
    if (files.client_ca) {
      auto ca = crypto::CaStore::load(*files.client_ca);
      if (!ca) {
        return fail(profile_origin(o, i, "--client-ca", ov != nullptr && ov->client_ca) +
                    "--client-ca " + *files.client_ca + ": " +
                    std::string(crypto::to_string(ca.error())));
      }
      auto store = std::make_shared<const crypto::CaStore>(std::move(ca).value());
      p->client_ca = store.get();
      p->owned.push_back(std::move(store));
    }
    p->alpn = files.alpn;
    p->client_auth = files.client_auth;
    g->profiles.push_back(std::move(p));
  }
  if (o.ticket_key_file) {
    auto keys = load_ticket_keys(*o.ticket_key_file);
    if (!keys) {
      return fail(origin_of(o, "--ticket-key-file") + "--ticket-key-file " + keys.error());
    }
    g->ticket_keys = std::move(keys).value();
  }
  return std::shared_ptr<const engine::TlsGeneration>(std::move(g));
}

Result<std::shared_ptr<const engine::TlsGeneration>, std::string> with_ticket_keys(
    const engine::TlsGeneration& g, const Options& o, uint64_t number) {
  auto next = std::make_shared<engine::TlsGeneration>();
  next->number = number;
  next->profiles = g.profiles;
  if (o.ticket_key_file) {
    auto keys = load_ticket_keys(*o.ticket_key_file);
    if (!keys) {
      return fail("--ticket-key-file " + keys.error());
    }
    next->ticket_keys = std::move(keys).value();
  }
  return std::shared_ptr<const engine::TlsGeneration>(std::move(next));
}

}  // namespace linetls::app
