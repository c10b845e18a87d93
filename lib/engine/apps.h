// The engine's built-in applications, each written once over engine::Stream (stream.h), so
// the same code serves plain TCP and TLS: echo, discard, a small HTTP responder, and the
// proxy (proxy.h).
//
//   echo     sends back what arrives, in the same mbufs (over TLS: the decrypted records'
//            mbufs, copied into the records going back); releases received bytes only once
//            they are handed back, so a client that does not read stops being read.
//   discard  drops everything.
//   http     answers GET/HEAD with a small page, or /bytes/N with N pattern bytes generated
//            straight into the transport's buffers (write_pull); over TLS the answer carries
//            X-TLS-Version, X-TLS-Cipher and, for a verified client certificate,
//            X-Client-Subject and X-Client-SHA256.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "lib/engine/http.h"
#include "lib/engine/service.h"
#include "lib/engine/stream.h"

namespace linetls::engine {

// Calls f(name, value) for each of an app's counters, the name with its group
// ("proxy.clients").
using CounterVisitor = std::function<void(const std::string&, uint64_t)>;

// An App with counters to report (apps without counters report none).
class ServiceApp : public App {
 public:
  virtual void for_each_counter(const CounterVisitor& f) const { (void)f; }
};

// Creates the app for spec, serving streams on a worker whose services ctx offers.
std::unique_ptr<ServiceApp> make_app(const ServiceSpec& spec, Context& ctx);

// "X-TLS-Version: 1.3\r\nX-TLS-Cipher: ...\r\n[X-Client-Subject..., X-Client-SHA256...]":
// the headers the http app adds over TLS.
std::string tls_headers(const TlsFacts& t);

}  // namespace linetls::engine
