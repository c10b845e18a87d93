// The linetls command line (ARCHITECTURE.md "Command line contract") and the config file
// laid under it (config.h).
//
//   linetls [EAL args --] [options]
//
// Settings come in layers: the command line, and a TOML file named by --config or
// --check-config (config.h). Each layer is a Settings, every field set only when that
// layer gave it; merge() lays the command line over the file, and finalize() fills in the
// defaults, checks the combinations and resolves each service's own settings into the
// Options the rest of main() uses. parse_options() does all of it. None of this exits or
// prints: errors are one line, so main() decides what to print and the parser is
// unit-tested.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/cli_names.h"
#include "lib/base/result.h"
#include "lib/crypto/cert.h"
#include "lib/engine/apps.h"
#include "lib/net/addr.h"
#include "lib/tls/server13.h"

namespace linetls::app {



// An IPv4 address and TCP port: --metrics 127.0.0.1:9100.
using ListenAddr = net::Ipv4Endpoint;

// A certificate chain file and its key file.
struct CertKeyFiles {
  std::string cert;
  std::string key;
  friend bool operator==(const CertKeyFiles&, const CertKeyFiles&) = default;
};

// What a [[service]] table of a config file sets for its own service; unset fields take
// the global setting. The command line has no per-service settings (its services get
// all-unset overrides).
struct ServiceOverrides {
  std::optional<bool> proxy_protocol_v2;
  std::optional<unsigned> connect_timeout_ms;
  std::optional<unsigned> backend_down_ms;
  std::optional<unsigned> idle_timeout_ms;
  std::optional<std::vector<CertKeyFiles>> certificates;
  std::optional<std::vector<std::string>> alpn;
  std::optional<std::string> client_ca;
  std::optional<tls::ClientAuth> client_auth;
  friend bool operator==(const ServiceOverrides&, const ServiceOverrides&) = default;
};

// One distinct TLS configuration that tls: services present: ServiceSpec::tls_profile
// indexes Options::tls_profiles.
struct TlsProfileFiles {
  std::vector<CertKeyFiles> certificates;  // empty: the self-signed certificate
  std::vector<std::string> alpn;           // offered, server preference
  std::optional<std::string> client_ca;
  tls::ClientAuth client_auth = tls::ClientAuth::kNone;
  friend bool operator==(const TlsProfileFiles&, const TlsProfileFiles&) = default;
};

// One layer of settings (the command line, or a config file): a field is set only if the
// layer gave it. Lists (--serve, --cert/--key, --port, EAL args) are one setting each.
struct Settings {
  std::optional<std::vector<std::string>> eal_args;
  std::optional<std::string> tap;
  std::optional<net::Ipv4Cidr> host_ip;
  std::optional<std::vector<PortSpec>> ports;
  std::optional<net::Ipv4Cidr> ip;
  std::optional<net::Ipv4Addr> gateway;
  std::optional<unsigned> workers;
  std::optional<std::string> lcores;
  std::optional<std::vector<unsigned>> handshake_lcores;
  std::optional<std::vector<engine::ServiceSpec>> services;
  std::vector<ServiceOverrides> service_overrides;  // with services: one per service
  std::optional<std::vector<std::string>> cert_files;
  std::optional<std::vector<std::string>> key_files;
  std::optional<std::vector<std::string>> alpn;
  std::optional<uint64_t> key_update_records;
  std::optional<unsigned> handshake_timeout_ms;
  std::optional<unsigned> ticket_rotation_s;
  std::optional<std::string> ticket_key_file;
  std::optional<uint16_t> tls_min;
  std::optional<uint16_t> tls_max;
  std::optional<std::string> client_ca;
  std::optional<tls::ClientAuth> client_auth;
  std::optional<bool> proxy_protocol_v2;
  std::optional<unsigned> connect_timeout_ms;
  std::optional<unsigned> backend_down_ms;
  std::optional<unsigned> idle_timeout_ms;
  std::optional<unsigned> keepalive_ms;
  std::optional<unsigned> persist_timeout_ms;
  std::optional<bool> tls12_ems_required;
  std::optional<bool> tls13_psk_ke;
  std::optional<bool> busy_poll;
  std::optional<int> log_level;
  std::optional<unsigned> mem_mb;
  std::optional<ListenAddr> metrics;
  std::optional<unsigned> stats_interval_s;
  // Where a config file gave a setting ("linetls.toml:12:9"), by its flag ("--tls-min");
  // a [[service]] table by "service#N" (N from 0). Errors about it start with that.
  std::map<std::string, std::string, std::less<>> origin;
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
  // --handshake-lcores: lcores that run the handshakes' public-key jobs (they must be in
  // the EAL lcore list; with the default list they are added to it); empty: inline.
  std::vector<unsigned> handshake_lcores;
  std::vector<engine::ServiceSpec> services;  // --serve PORT=APP | PORT=tls:APP
  std::vector<ServiceOverrides> service_overrides;  // one per service (config file)
  // TLS, the global settings: --cert/--key pairs in order (same count), ALPN list, limits.
  std::vector<std::string> cert_files;
  std::vector<std::string> key_files;
  std::optional<std::vector<std::string>> alpn;  // --alpn LIST; unset: http/1.1 for tls:http
  std::optional<uint64_t> key_update_records;    // our KeyUpdate after this many records
  unsigned handshake_timeout_ms = 10000;
  unsigned ticket_rotation_s = 3600;
  std::optional<std::string> ticket_key_file;  // --ticket-key-file (nginx or HAProxy format)
  // --tls-min / --tls-max: the versions accepted (0x0303 TLS 1.2, 0x0304 TLS 1.3).
  uint16_t tls_min = 0x0303;
  uint16_t tls_max = 0x0304;
  // --client-ca FILE (PEM bundle of trust anchors for client certificates) and
  // --client-auth; client_auth defaults to kRequired with --client-ca, else kNone.
  std::optional<std::string> client_ca;
  tls::ClientAuth client_auth = tls::ClientAuth::kNone;
  // The distinct TLS configurations of the tls: services, each service's global settings
  // with its own overrides applied; ServiceSpec::tls_profile indexes it.
  std::vector<TlsProfileFiles> tls_profiles;
  // Proxy services: --proxy-protocol v2, --connect-timeout-ms, --backend-down-ms and
  // --idle-timeout-ms, copied into every proxy ServiceSpec whose table does not set its own.
  bool proxy_protocol_v2 = false;
  unsigned connect_timeout_ms = 3000;
  unsigned backend_down_ms = 10000;
  unsigned idle_timeout_ms = 300000;  // also every TCP connection's idle timeout
  unsigned keepalive_ms = 60000;      // TCP keepalive: first probe after this much silence
  unsigned persist_timeout_ms = 120000;  // a zero window held this long: given up
  // --tls12-ems required|preferred (RFC 7627 extended master secret in TLS 1.2).
  bool tls12_ems_required = false;
  // --tls13-psk-ke: TLS 1.3 resumption without (EC)DHE for clients that offer psk_ke (RFC
  // 8446 §4.2.9): tls::ServerConfig13::allow_psk_ke, which says what it gives up (forward
  // secrecy of those resumed sessions).
  bool tls13_psk_ke = false;
  bool busy_poll = false;
  int log_level = 2;      // 0 error .. 3 debug
  unsigned mem_mb = 512;  // TAP mode EAL memory (no hugepages)
  std::optional<ListenAddr> metrics;       // --metrics IP:PORT: Prometheus text on GET /metrics
  unsigned stats_interval_s = 0;           // --stats-interval S: a stats line every S s; 0: off
  std::optional<std::string> config_file;  // --config FILE or --check-config FILE
  bool check_config = false;               // --check-config: validate, then exit
  bool help = false;
  std::map<std::string, std::string, std::less<>> origin;  // as Settings::origin
  friend bool operator==(const Options&, const Options&) = default;
};

// Parses argv: the command line, and the config file it names. Returns the options, or a
// one-line error naming the bad flag or value (for a setting from the file, starting with
// "FILE:LINE:COLUMN: ").
Result<Options, std::string> parse_options(int argc, const char* const* argv);

// The command line alone, as a layer. *out_config gets --config/--check-config FILE,
// *out_check whether it was --check-config, *out_help -h/--help.
Result<Settings, std::string> parse_command_line(int argc, const char* const* argv,
                                                 std::optional<std::string>* out_config,
                                                 bool* out_check, bool* out_help);

// Applies one setting, as the command-line flag (with its leading dashes) would, to s:
// lists grow by one. Returns what was wrong with value, without the flag's name ("expected
// a number from 1 to 128"). The config file (config.cc) validates through it too.
Result<void, std::string> apply_setting(std::string_view flag, std::string_view value, Settings* s);

// Lays top over base, returning the result: each setting top gives replaces base's; a
// list is replaced whole (a command line with any --serve replaces the file's services and
// their [[service]] tables; any --cert or --key replaces the file's certificates; any
// --port, the file's ports; EAL args before "--", the file's eal_args).
Settings merge(Settings base, const Settings& top);

// Fills in defaults, checks the combinations, applies each service's overrides and
// collects the TLS profiles. A one-line error on a bad combination.
Result<Options, std::string> finalize(const Settings& s);

// True when some --serve entry is tls:APP.
bool has_tls_service(const Options& o);
// The global ALPN protocols to offer: --alpn, else "http/1.1" when a tls:http service
// exists. A service's own alpn (config file) replaces it for that service.
std::vector<std::string> effective_alpn(const Options& o);

// Where an error about flag (or "service#N") should point: "FILE:LINE:COLUMN: " when the
// config file gave it, else "".
std::string origin_of(const Options& o, std::string_view flag);

// Loads the global --cert/--key pairs, in order. Returns them, or a one-line reason naming
// the file that failed (missing, unreadable, not PEM, key not matching the certificate).
Result<std::vector<crypto::CertifiedKey>, std::string> load_certificates(const Options& o);

// Loads the global --client-ca. Returns the trust anchors (nullopt without --client-ca), or
// a one-line reason naming the file.
Result<std::optional<crypto::CaStore>, std::string> load_client_ca(const Options& o);

// The --help text.
const char* usage();

}  // namespace linetls::app
