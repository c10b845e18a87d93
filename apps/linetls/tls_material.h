// The TLS material the workers serve, loaded from the files Options names: one
// engine::TlsProfile per Options::tls_profiles entry (certificates and keys, the PROXY v2
// description of each, ALPN, client CA) and the ticket keys of --ticket-key-file, as one
// immutable engine::TlsGeneration. Built at start, again on every SIGHUP (control.h), and
// by --check-config; never on a worker.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "apps/linetls/options.h"
#include "lib/base/result.h"
#include "lib/crypto/cert.h"
#include "lib/engine/tls_service.h"

namespace linetls::app {

// Loads every profile's files and the ticket key file. A profile without certificates
// presents self_signed (which must then be non-null). Returns generation `number`, or a
// one-line reason: the failing files, located in the config file when it named them.
Result<std::shared_ptr<const engine::TlsGeneration>, std::string> load_tls_generation(
    const Options& o, uint64_t number,
    const std::shared_ptr<const crypto::CertifiedKey>& self_signed);

// The same generation with other ticket keys (the key file changed): the profiles are
// shared, not reloaded. Returns number's generation, or a one-line reason.
Result<std::shared_ptr<const engine::TlsGeneration>, std::string> with_ticket_keys(
    const engine::TlsGeneration& g, const Options& o, uint64_t number);

// True when some profile has no certificate files (and so needs the self-signed one).
bool needs_self_signed(const Options& o);

}  // namespace linetls::app
