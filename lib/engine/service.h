// What a worker serves: one ServiceSpec per --serve entry, "PORT=APP" or "PORT=tls:APP"
// with APP one of echo | discard | http | proxy:HOST:PORT[,HOST:PORT...].
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lib/base/result.h"
#include "lib/net/addr.h"

namespace linetls::engine {

enum class AppKind : uint8_t { kEcho, kDiscard, kHttp, kProxy };

struct Backend {
  net::Ipv4Addr ip;
  uint16_t port = 0;
  friend bool operator==(const Backend&, const Backend&) = default;
};

// What the PROXY v2 SSL TLVs say of one of our certificates (crypto::describe_certificate).
struct CertAlgs {
  std::string sig_alg;  // "ecdsa-with-SHA256"
  std::string key_alg;  // "EC256"
  friend bool operator==(const CertAlgs&, const CertAlgs&) = default;
};

// The proxy app's settings (proxy.h); the backends come from the --serve entry, the rest
// from the command line or the service's own table in a config file.
struct ProxyOptions {
  std::vector<Backend> backends;
  std::vector<CertAlgs> certificates;  // by the TLS certificate index (PROXY v2 TLVs)
  bool proxy_protocol_v2 = false;      // --proxy-protocol v2: a PROXY v2 header first
  uint32_t connect_timeout_ms = 3000;  // a backend that has not answered by then is down
  uint32_t backend_down_ms = 10000;    // a backend that refused or timed out is skipped this long
  uint32_t idle_timeout_ms = 300000;   // a pair with no bytes either way is closed after this
  friend bool operator==(const ProxyOptions&, const ProxyOptions&) = default;
};

inline constexpr size_t kMaxBackends = 64;

struct ServiceSpec {
  uint16_t port = 0;
  AppKind app = AppKind::kEcho;
  bool tls = false;  // TLS 1.2/1.3 terminated in the engine, APP over the plaintext
  // Which of the worker's TLS profiles (TlsGeneration::profiles: certificates, ALPN, client
  // authentication) the service presents; services with the same settings share one.
  uint16_t tls_profile = 0;
  ProxyOptions proxy;  // kProxy only
  // This service's connections' idle timeout (TCP: no bytes either way); unset: the
  // worker's (--idle-timeout-ms).
  std::optional<uint32_t> idle_timeout_ms;
  friend bool operator==(const ServiceSpec&, const ServiceSpec&) = default;
};

// Parses "PORT=APP" or "PORT=tls:APP"; a one-line reason on failure.
Result<ServiceSpec, std::string> parse_service(std::string_view spec);
std::string_view to_string(AppKind k) noexcept;
// "echo", "tls:http", "tls:proxy:10.0.0.1:80,10.0.0.2:80": the APP part of a --serve entry.
std::string to_string(const ServiceSpec& s);

}  // namespace linetls::engine
