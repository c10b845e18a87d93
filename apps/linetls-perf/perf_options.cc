#include "apps/linetls-perf/perf_options.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "apps/cli_names.h"
#include "lib/tls/cipher_suite.h"
#include "lib/tls/v12/cipher_suite12.h"

namespace linetls::perf {

namespace {

using app::looks_like_pci;
using app::valid_ifname;

constexpr uint32_t kMaxConnections = 1'000'000;
constexpr double kMaxRate = 1e9;
constexpr double kMaxSeconds = 365.0 * 86400;
constexpr uint64_t kMaxSize = uint64_t{1} << 40;
constexpr uint64_t kDefaultRequestSize = 1024;
constexpr uint64_t kDefaultTransferSize = uint64_t{16} << 20;

// "FLAG: WHAT, got 'VALUE'".
std::string bad(std::string_view flag, std::string_view what, std::string_view value) {
  return std::string(flag) + ": " + std::string(what) + ", got '" + std::string(value) + "'";
}

bool parse_u64(std::string_view s, uint64_t lo, uint64_t hi, uint64_t* out) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) {
    return false;
  }
  *out = v;
  return true;
}

// Digits with at most one '.', at least one digit ("10", "2.5", ".5"); no sign, exponent,
// "inf" or "nan".
bool parse_decimal(std::string_view s, double* out) {
  int digits = 0;
  int dots = 0;
  for (char c : s) {
    if (c >= '0' && c <= '9') {
      digits++;
    } else if (c == '.') {
      dots++;
    } else {
      return false;
    }
  }
  if (digits == 0 || dots > 1) {
    return false;
  }
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v, std::chars_format::fixed);
  if (ec != std::errc() || p != s.data() + s.size() || !std::isfinite(v)) {
    return false;
  }
  *out = v;
  return true;
}

// "1024", "64K", "16M", "1G" (powers of 1024; k, m, g too), 1 .. 2^40.
bool parse_size(std::string_view s, uint64_t* out) {
  uint64_t mult = 1;
  if (!s.empty()) {
    switch (s.back()) {
      case 'K':
      case 'k':
        mult = uint64_t{1} << 10;
        break;
      case 'M':
      case 'm':
        mult = uint64_t{1} << 20;
        break;
      case 'G':
      case 'g':
        mult = uint64_t{1} << 30;
        break;
      default:
        break;
    }
    if (mult != 1) {
      s.remove_suffix(1);
    }
  }
  uint64_t n = 0;
  if (!parse_u64(s, 1, kMaxSize / mult, &n)) {
    return false;
  }
  *out = n * mult;
  return true;
}

// A DNS host name for server_name (RFC 6066 §3): dot-separated labels of 1..63 letters,
// digits, '-' and '_', 253 characters at most, no trailing dot.
bool valid_hostname(std::string_view s) {
  if (s.empty() || s.size() > 253) {
    return false;
  }
  size_t label = 0;
  for (char c : s) {
    if (c == '.') {
      if (label == 0) {
        return false;
      }
      label = 0;
      continue;
    }
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_';
    if (!ok || ++label > 63) {
      return false;
    }
  }
  return label != 0;
}

struct SuiteName {
  uint16_t code;
  uint16_t version;
};

// The suite with IANA name name, from the TLS layers' own tables.
std::optional<SuiteName> find_suite(std::string_view name) {
  for (uint16_t code = 0x1301; code <= 0x1303; code++) {
    if (auto info = tls::suite_info(code); info && name == info->name) {
      return SuiteName{code, 0x0304};
    }
  }
  for (tls::v12::CipherSuite s : tls::v12::kAllSuites) {
    if (name == tls::v12::suite_info(s).name) {
      return SuiteName{static_cast<uint16_t>(s), 0x0303};
    }
  }
  return std::nullopt;
}

// Flags that take no value.
bool is_switch(std::string_view flag) {
  return flag == "--busy-poll" || flag == "--quiet" || flag == "-h" || flag == "--help";
}

constexpr std::string_view kValueFlags[] = {
    "--port",     "--tap",   "--ip",     "--gateway",     "--target",   "--mode",
    "--tls",      "--suite", "--group",  "--connections", "--rate",     "--size",
    "--duration", "--json",  "--verify", "--sni",         "--requests", "--warmup",
    "--queues",   "--flood",   "--cert",   "--key",
};

bool takes_value(std::string_view flag) {
  for (std::string_view f : kValueFlags) {
    if (f == flag) {
      return true;
    }
  }
  return false;
}

// What the flags gave, before the defaults and the checks across flags.
struct Given {
  PerfOptions o;
  bool ip = false;
  bool target = false;
  bool size = false;
  bool connections = false;
};

// Applies one flag with its value. Returns the one-line error.
Result<void, std::string> apply(std::string_view flag, std::string_view v, Given* g) {
  PerfOptions& o = g->o;
  if (flag == "--port") {
    auto p = app::parse_port_spec(v);
    if (!p) {
      return fail(bad(flag,
                      "expected a PCI address (0000:3b:00.0) or a vdev spec "
                      "(net_memif0,role=client)",
                      v));
    }
    o.port = std::move(*p);
  } else if (flag == "--tap") {
    if (!valid_ifname(v)) {
      return fail(bad(flag, "expected an interface name of 1-15 characters", v));
    }
    o.tap = std::string(v);
  } else if (flag == "--ip") {
    const auto cidr = net::Ipv4Cidr::parse(v);
    if (!cidr) {
      return fail(bad(flag, "expected an IPv4 address with prefix length, e.g. 10.99.0.2/24", v));
    }
    o.ip = *cidr;
    g->ip = true;
  } else if (flag == "--gateway") {
    o.gateway = net::Ipv4Addr::parse(v);
    if (!o.gateway) {
      return fail(bad(flag, "expected an IPv4 address", v));
    }
  } else if (flag == "--target") {
    const auto t = Endpoint::parse(v);
    if (!t) {
      return fail(bad(flag, "expected IP:PORT, e.g. 10.99.0.1:443", v));
    }
    o.target = *t;
    g->target = true;
  } else if (flag == "--mode") {
    constexpr Mode kModes[] = {Mode::kHandshake, Mode::kResume, Mode::kRequest,
                               Mode::kDownload,  Mode::kUpload, Mode::kPlain};
    bool found = false;
    for (Mode m : kModes) {
      if (v == mode_name(m)) {
        o.mode = m;
        found = true;
      }
    }
    if (!found) {
      return fail(bad(flag, "expected handshake, resume, request, download, upload or plain", v));
    }
  } else if (flag == "--tls") {
    if (v == "1.2") {
      o.tls_version = 0x0303;
    } else if (v == "1.3") {
      o.tls_version = 0x0304;
    } else {
      return fail(bad(flag, "expected 1.2 or 1.3", v));
    }
  } else if (flag == "--suite") {
    const auto s = find_suite(v);
    if (!s) {
      return fail(
          bad(flag, "expected an IANA cipher suite name such as TLS_AES_128_GCM_SHA256", v));
    }
    o.suite = std::string(v);
    o.suite_code = s->code;
  } else if (flag == "--group") {
    constexpr crypto::NamedGroup kGroups[] = {crypto::NamedGroup::kX25519,
                                              crypto::NamedGroup::kSecp256r1,
                                              crypto::NamedGroup::kSecp384r1};
    bool found = false;
    for (crypto::NamedGroup gr : kGroups) {
      if (v == group_name(gr)) {
        o.group = gr;
        found = true;
      }
    }
    if (!found) {
      return fail(bad(flag, "expected x25519, secp256r1 or secp384r1", v));
    }
  } else if (flag == "--connections") {
    uint64_t n = 0;
    if (!parse_u64(v, 1, kMaxConnections, &n)) {
      return fail(bad(flag, "expected an integer 1-1000000", v));
    }
    o.connections = static_cast<uint32_t>(n);
    g->connections = true;
  } else if (flag == "--queues") {
    uint64_t n = 0;
    if (!parse_u64(v, 1, 64, &n)) {
      return fail(bad(flag, "expected an integer 1-64", v));
    }
    o.queues = static_cast<uint16_t>(n);
  } else if (flag == "--rate") {
    double r = 0;
    if (!parse_decimal(v, &r) || !(r > 0) || r > kMaxRate) {
      return fail(bad(flag, "expected connections per second, above 0 and at most 1000000000", v));
    }
    o.rate = r;
  } else if (flag == "--flood") {
    double r = 0;
    if (!parse_decimal(v, &r) || !(r > 0) || r > kMaxRate) {
      return fail(bad(flag, "expected handshakes per second, above 0 and at most 1000000000", v));
    }
    o.flood_rate = r;
  } else if (flag == "--size") {
    if (!parse_size(v, &o.size)) {
      return fail(bad(
          flag, "expected bytes 1-1099511627776, optionally with K, M or G (powers of 1024)", v));
    }
    g->size = true;
  } else if (flag == "--duration" || flag == "--warmup") {
    double s = 0;
    const bool duration = flag == "--duration";
    if (!parse_decimal(v, &s) || (duration && !(s > 0)) || s > kMaxSeconds) {
      return fail(bad(flag,
                      duration ? "expected seconds, above 0 and at most 31536000"
                               : "expected seconds from 0 to 31536000",
                      v));
    }
    (duration ? o.duration_s : o.warmup_s) = s;
  } else if (flag == "--requests") {
    if (!parse_u64(v, 0, UINT32_MAX, &o.requests)) {
      return fail(bad(flag, "expected an integer 0-4294967295 (0: no limit)", v));
    }
  } else if (flag == "--json") {
    if (v.empty()) {
      return fail(bad(flag, "expected a file name", v));
    }
    o.json_file = std::string(v);
  } else if (flag == "--cert" || flag == "--key") {
    if (v.empty()) {
      return fail(bad(flag, "expected a PEM file", v));
    }
    (flag == "--cert" ? o.cert_file : o.key_file) = std::string(v);
  } else if (flag == "--verify") {
    if (v.empty()) {
      return fail(bad(flag, "expected a PEM file of CA certificates", v));
    }
    o.verify_ca = std::string(v);
  } else if (flag == "--sni") {
    if (net::Ipv4Addr::parse(v)) {
      return fail(bad(flag, "expected a host name (RFC 6066: not an IP address)", v));
    }
    if (!valid_hostname(v)) {
      return fail(bad(flag, "expected a host name such as example.com", v));
    }
    o.sni = std::string(v);
  } else {
    return fail(std::string(flag) + ": unknown option (see --help)");
  }
  return {};
}

// The checks across flags, and the defaults that depend on other flags.
Result<PerfOptions, std::string> finish(Given g) {
  PerfOptions& o = g.o;
  if (o.tap && o.port) {
    return fail(std::string("--tap and --port: choose one"));
  }
  if (!o.tap && !o.port) {
    return fail(std::string("no port: give --port SPEC or --tap NAME"));
  }
  if (!g.ip) {
    return fail(std::string("--ip: required (our address with prefix length, e.g. 10.99.0.2/24)"));
  }
  if (o.ip.prefix_len == 0 || o.ip.prefix_len > 30) {
    return fail(bad("--ip", "expected a prefix length of 1-30", o.ip.str()));
  }
  const uint32_t host_bits = ~o.ip.mask();
  if ((o.ip.addr.v & host_bits) == 0 || (o.ip.addr.v & host_bits) == host_bits) {
    return fail("--ip: " + o.ip.str() + " is a network or broadcast address");
  }
  if (o.gateway && (!o.ip.contains(*o.gateway) || *o.gateway == o.ip.addr)) {
    return fail("--gateway: " + o.gateway->str() + " is not another address on " + o.ip.str());
  }
  if (!g.target) {
    return fail(std::string("--target: required (the server, IP:PORT)"));
  }
  if (o.target.ip == o.ip.addr) {
    return fail("--target: " + o.target.ip.str() + " is our own address (--ip)");
  }
  if (!o.ip.contains(o.target.ip) && !o.gateway) {
    return fail("--target: " + o.target.ip.str() + " is not on " + o.ip.str() +
                "; give --gateway IP");
  }
  if (o.suite_code != 0) {
    const uint16_t suite_version = find_suite(o.suite)->version;
    if (suite_version != o.tls_version) {
      return fail("--suite: " + o.suite + " is a TLS " + tls_version_name(suite_version) +
                  " suite, but --tls is " + tls_version_name(o.tls_version));
    }
  }
  // Open loop: --connections is only the cap on what is in flight; without one, room for a
  // second of starts (so the schedule, not the cap, sets the pace), within 1-65536.
  if (o.cert_file.has_value() != o.key_file.has_value()) {
    return fail(std::string(o.cert_file ? "--cert: needs --key" : "--key: needs --cert"));
  }
  if (o.flood_rate && o.mode == Mode::kPlain) {
    return fail(std::string("--flood: TLS handshakes; not with --mode plain"));
  }
  if (o.rate && !g.connections) {
    o.connections = static_cast<uint32_t>(std::clamp(*o.rate, 1.0, 65536.0));
  }
  if (!g.size) {
    switch (o.mode) {
      case Mode::kRequest:
        o.size = kDefaultRequestSize;
        break;
      case Mode::kDownload:
      case Mode::kUpload:
        o.size = kDefaultTransferSize;
        break;
      case Mode::kHandshake:
      case Mode::kResume:
      case Mode::kPlain:
        o.size = 0;
        break;
    }
  }
  return std::move(o);
}

}  // namespace

const char* mode_name(Mode m) noexcept {
  switch (m) {
    case Mode::kHandshake:
      return "handshake";
    case Mode::kResume:
      return "resume";
    case Mode::kRequest:
      return "request";
    case Mode::kDownload:
      return "download";
    case Mode::kUpload:
      return "upload";
    case Mode::kPlain:
      return "plain";
  }
  return "?";
}

const char* group_name(crypto::NamedGroup g) noexcept {
  switch (g) {
    case crypto::NamedGroup::kX25519:
      return "x25519";
    case crypto::NamedGroup::kSecp256r1:
      return "secp256r1";
    case crypto::NamedGroup::kSecp384r1:
      return "secp384r1";
  }
  return "?";
}

const char* tls_version_name(uint16_t version) noexcept {
  return version == 0x0303 ? "1.2" : version == 0x0304 ? "1.3" : "?";
}

Result<PerfOptions, std::string> parse_perf_options(const std::vector<std::string>& args) {
  Given g;
  for (size_t i = 0; i < args.size(); i++) {
    std::string_view flag = args[i];
    std::string_view value;
    bool inline_value = false;
    if (const size_t eq = flag.find('='); flag.starts_with("--") && eq != std::string_view::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      inline_value = true;
    }
    if (!flag.starts_with("-")) {
      return fail("unexpected argument '" + std::string(flag) + "' (options start with --)");
    }
    if (is_switch(flag)) {
      if (inline_value) {
        return fail(std::string(flag) + ": takes no value");
      }
      if (flag == "-h" || flag == "--help") {
        PerfOptions help;
        help.help = true;
        return help;
      }
      (flag == "--busy-poll" ? g.o.busy_poll : g.o.quiet) = true;
      continue;
    }
    if (!takes_value(flag)) {
      return fail(std::string(flag) + ": unknown option (see --help)");
    }
    if (!inline_value) {
      if (i + 1 >= args.size()) {
        return fail(std::string(flag) + ": needs a value");
      }
      value = args[++i];
    }
    if (auto r = apply(flag, value, &g); !r) {
      return fail(r.error());
    }
  }
  return finish(std::move(g));
}

std::string perf_usage() {
  return R"(usage: linetls-perf [EAL args --] --port SPEC | --tap NAME  --ip CIDR  --target IP:PORT
                    [options]

  --port SPEC         the DPDK device: PCI address or vdev spec (e.g. net_memif0,role=client)
  --tap NAME          TAP test mode instead: create net_tap interface NAME
  --ip CIDR           our address with prefix length, e.g. 10.99.0.3/24 (required)
  --gateway IP        next hop for a target off our subnet
  --target IP:PORT    the server (required)
  --mode MODE         what each connection does (default handshake):
                        handshake  connect, full TLS handshake, close
                        resume     the same, resuming an earlier connection's session
                        request    requests of --size bytes (default 1024), each waiting
                                   for its answer
                        download   receive --size bytes (default 16M)
                        upload     send --size bytes (default 16M)
                        plain      no TLS: plain TCP connections, the baseline
  --tls V             TLS version: 1.2 or 1.3 (default 1.3)
  --suite NAME        offer only this IANA cipher suite (default: all of the version's):
                        1.3: TLS_AES_128_GCM_SHA256 TLS_AES_256_GCM_SHA384
                             TLS_CHACHA20_POLY1305_SHA256
                        1.2: TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
                             TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
                             TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
                             TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
                             TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
                             TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
  --group G           key exchange: x25519 (default), secp256r1 or secp384r1
  --connections N     connections in flight, 1-1000000 (default 1); with --rate, the most
                      in flight (starts beyond it are skipped and counted; default: one
                      second of starts, at most 65536)
  --rate R            open loop: R new connections per second (decimals allowed), latency
                      measured from each one's intended start (default: closed loop)
  --cert FILE --key FILE  a client certificate chain (PEM) and its key, sent when the
                      server asks for one (mutual TLS; default none)
  --flood R           meanwhile, R full TLS handshakes per second (open loop) on other
                      connections, reported apart: the measured mode's latency under a
                      handshake flood
  --queues N          queue pairs of the port (default 1); with N > 1 each flow is sent on
                      the queue its symmetric Toeplitz hash selects (software RSS, for a
                      server with N workers on a port that cannot steer, as memif)
  --size BYTES        payload size, suffix K, M or G for powers of 1024
  --requests N        request mode: requests per connection, then it closes (default 0:
                      no limit)
  --duration S        measured seconds, decimals allowed (default 10)
  --warmup S          run this long first, not measured (default 0)
  --json FILE         write the results as one JSON object to FILE
  --verify CA         verify the server's certificate chain against the PEM file CA
                      (default: not verified)
  --sni NAME          send server_name NAME (default: none)
  --busy-poll         never sleep when idle
  --quiet             no per-second progress lines
  -h, --help          this text

A flag given twice keeps its last value.
)";
}

}  // namespace linetls::perf
