// The linetls-perf command line (ARCHITECTURE.md "Command line contract"):
//
//   linetls-perf [EAL args --] --port SPEC | --tap NAME  --ip CIDR  --target IP:PORT
//     [--mode M] [--tls V] [--suite NAME] [--group G] [--connections N] [--rate R] ...
//
// parse_perf_options() takes the arguments after the EAL "--" and returns every setting
// with the defaults filled in and the combinations checked. It neither prints nor exits:
// an error is one line naming the flag, so main() decides what to print and the parser is
// unit-tested. A flag given twice keeps its last value (--port too: one port per process);
// "--flag value" and "--flag=value" are the same.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "apps/cli_names.h"
#include "lib/base/result.h"
#include "lib/crypto/kx.h"
#include "lib/net/addr.h"

namespace linetls::perf {

// What each connection does.
enum class Mode : uint8_t {
  kHandshake,  // connect, full TLS handshake, close
  kResume,     // as kHandshake, resuming an earlier connection's session
  kRequest,    // handshake, then requests of --size bytes, each waiting for its answer
  kDownload,   // handshake, then receive --size bytes
  kUpload,     // handshake, then send --size bytes
  kPlain,      // no TLS: plain TCP connections, the baseline
};

// "handshake", "resume", ...: the --mode spelling.
const char* mode_name(Mode m) noexcept;
// "x25519", "secp256r1", "secp384r1": the --group spelling.
const char* group_name(crypto::NamedGroup g) noexcept;
// "1.2" for 0x0303, "1.3" for 0x0304, "?" otherwise.
const char* tls_version_name(uint16_t version) noexcept;

using app::PortSpec;  // a DPDK device, as apps/linetls keeps it

// The server: --target IP:PORT.
using Endpoint = net::Ipv4Endpoint;

struct PerfOptions {
  // Exactly one of tap (TAP test mode: net_tap NAME) and port is set.
  std::optional<std::string> tap;
  std::optional<PortSpec> port;
  net::Ipv4Cidr ip{};  // our address; prefix 1..30, not the network or broadcast address
  std::optional<net::Ipv4Addr> gateway;  // on ip's subnet; required for an off-subnet target
  Endpoint target{};
  Mode mode = Mode::kHandshake;
  // TLS: ignored by Mode::kPlain. tls_version is 0x0303 (1.2) or 0x0304 (1.3); suite is an
  // IANA name of that version and suite_code its code (empty and 0: offer all of them).
  uint16_t tls_version = 0x0304;
  std::string suite;
  uint16_t suite_code = 0;
  crypto::NamedGroup group = crypto::NamedGroup::kX25519;
  // Closed loop (no rate): connections in flight at all times. Open loop: new connections
  // per second, at most `connections` in flight (starts beyond that are skipped).
  uint32_t connections = 1;
  uint16_t queues = 1;  // --queues: port queue pairs, software RSS over them when > 1
  std::optional<double> rate;
  // --flood R: alongside the measured mode, R full TLS handshakes per second (open loop,
  // same target and TLS settings, at most one second of them in flight), counted apart:
  // how a handshake flood moves the latency of the measured connections.
  std::optional<double> flood_rate;
  // Payload bytes: of each request (kRequest, default 1024), of the transfer (kDownload,
  // kUpload, default 16 MiB). Other modes: as given, else 0.
  uint64_t size = 0;
  uint64_t requests = 0;   // kRequest: requests per connection before it closes; 0: no limit
  double duration_s = 10;  // measured time
  double warmup_s = 0;     // run this long before duration_s starts, not measured
  std::optional<std::string> json_file;  // --json FILE: write to_json(results) there
  std::optional<std::string> verify_ca;  // --verify CA: check the server's chain (default off)
  // --cert FILE --key FILE: a client certificate (PEM chain, leaf first) and its key, sent
  // when the server asks (mutual TLS); both or neither.
  std::optional<std::string> cert_file;
  std::optional<std::string> key_file;
  std::optional<std::string> sni;        // server_name to send (default none)
  bool busy_poll = false;                // never sleep when idle
  bool quiet = false;                    // no per-second progress lines
  bool help = false;                     // -h/--help: nothing else is set or checked
  friend bool operator==(const PerfOptions&, const PerfOptions&) = default;
};

// Parses args (the arguments after the EAL "--", without argv[0]). Returns the options, or
// a one-line error starting with the flag it is about ("--connections: expected an integer
// 1-1000000, got 'x'").
Result<PerfOptions, std::string> parse_perf_options(const std::vector<std::string>& args);

// The --help text.
std::string perf_usage();

}  // namespace linetls::perf
