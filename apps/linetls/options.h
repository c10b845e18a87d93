// The linetls command line (ARCHITECTURE.md "Command line contract").
//
//   linetls [EAL args --] [options]
//
// parse_options() never exits or prints: it returns the options or a one-line reason, so
// main() decides what to print and the parser is unit-tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/base/result.h"
#include "lib/crypto/cert.h"
#include "lib/engine/apps.h"
#include "lib/net/addr.h"
#include "lib/tls/server13.h"

namespace linetls::app {

struct PortSpec {
  std::string spec;    // as given: "0000:3b:00.0" or "net_memif0,role=server"
  std::string device;  // the ethdev name after EAL init: the PCI address or vdev name
  bool is_pci = false;
};

struct Options {
  std::vector<std::string> eal_args;  // user EAL args (before "--"), without argv[0]
  std::optional<std::string> tap;     // TAP mode: kernel interface name
  net::Ipv4Cidr host_ip{};            // kernel side of the TAP
  std::vector<PortSpec> ports;
  net::Ipv4Cidr ip{};
  std::optional<net::Ipv4Addr> gateway;
  unsigned workers = 1;
  std::optional<std::string> lcores;  // EAL -l list; overrides workers' default lcores
  std::vector<engine::ServiceSpec> services;  // --serve PORT=APP | PORT=tls:APP
  // TLS: --cert/--key pairs in order (same count), ALPN list, limits.
  std::vector<std::string> cert_files;
  std::vector<std::string> key_files;
  std::optional<std::vector<std::string>> alpn;  // --alpn LIST; unset: http/1.1 for tls:http
  std::optional<uint64_t> key_update_records;    // our KeyUpdate after this many records
  unsigned handshake_timeout_ms = 10000;
  unsigned ticket_rotation_s = 3600;
  // --tls-min / --tls-max: the versions accepted (0x0303 TLS 1.2, 0x0304 TLS 1.3).
  uint16_t tls_min = 0x0303;
  uint16_t tls_max = 0x0304;
  // --client-ca FILE (PEM bundle of trust anchors for client certificates) and
  // --client-auth; client_auth defaults to kRequired with --client-ca, else kNone.
  std::optional<std::string> client_ca;
  tls::ClientAuth client_auth = tls::ClientAuth::kNone;
  // --tls12-ems required|preferred (RFC 7627 extended master secret in TLS 1.2).
  bool tls12_ems_required = false;
  // Proxy services: --proxy-protocol v2, --connect-timeout-ms, --backend-down-ms and
  // --idle-timeout-ms, copied into every proxy ServiceSpec once parsing is done.
  bool proxy_protocol_v2 = false;
  unsigned connect_timeout_ms = 3000;
  unsigned backend_down_ms = 10000;
  unsigned idle_timeout_ms = 300000;  // also every TCP connection's idle timeout
  unsigned keepalive_ms = 60000;      // TCP keepalive: first probe after this much silence
  unsigned persist_timeout_ms = 120000;  // a zero window held this long: given up
  bool busy_poll = false;
  int log_level = 2;      // 0 error .. 3 debug
  unsigned mem_mb = 512;  // TAP mode EAL memory (no hugepages)
  bool help = false;
};

// Parses argv. Returns the options, or a one-line error naming the bad flag or value.
Result<Options, std::string> parse_options(int argc, const char* const* argv);

// True when some --serve entry is tls:APP.
bool has_tls_service(const Options& o);
// The ALPN protocols to offer: --alpn, else "http/1.1" when a tls:http service exists.
std::vector<std::string> effective_alpn(const Options& o);

// Loads the --cert/--key pairs, in order. Returns them, or a one-line reason naming the
// file that failed (missing, unreadable, not PEM, key not matching the certificate).
Result<std::vector<crypto::CertifiedKey>, std::string> load_certificates(const Options& o);

// Loads --client-ca. Returns the trust anchors (nullopt without --client-ca), or a one-line
// reason naming the file.
Result<std::optional<crypto::CaStore>, std::string> load_client_ca(const Options& o);

// The --help text.
const char* usage();

}  // namespace linetls::app
