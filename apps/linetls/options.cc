#include "apps/linetls/options.h"

#include <charconv>
#include <string_view>

namespace linetls::app {

namespace {

constexpr std::string_view kDefaultTapIp = "10.99.0.2/24";
constexpr std::string_view kDefaultHostIp = "10.99.0.1/24";

std::string err(std::string_view flag, std::string_view what) {
  return std::string(flag) + ": " + std::string(what);
}

bool parse_uint(std::string_view s, unsigned lo, unsigned hi, unsigned* out) {
  unsigned v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) {
    return false;
  }
  *out = v;
  return true;
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

// "h2,http/1.1": comma-separated protocol names of 1..255 printable bytes.
bool parse_alpn(std::string_view s, std::vector<std::string>* out) {
  out->clear();
  while (!s.empty()) {
    const size_t comma = s.find(',');
    const std::string_view p = s.substr(0, comma);
    if (p.empty() || p.size() > 255) {
      return false;
    }
    for (char c : p) {
      if (c <= ' ' || c > '~') {
        return false;
      }
    }
    out->emplace_back(p);
    if (comma == std::string_view::npos) {
      break;
    }
    s.remove_prefix(comma + 1);
    if (s.empty()) {
      return false;
    }
  }
  return !out->empty();
}

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// "0000:3b:00.0" or "3b:00.0" (domain optional).
bool looks_like_pci(std::string_view s) {
  const std::string_view shapes[] = {"XXXX:XX:XX.X", "XX:XX.X"};
  for (std::string_view shape : shapes) {
    if (s.size() != shape.size()) {
      continue;
    }
    bool ok = true;
    for (size_t i = 0; i < s.size() && ok; i++) {
      ok = shape[i] == 'X' ? is_hex(s[i]) : s[i] == shape[i];
    }
    if (ok) {
      return true;
    }
  }
  return false;
}

// Linux interface names: 1..15 chars, no '/', whitespace, ':' or ','.
bool valid_ifname(std::string_view s) {
  if (s.empty() || s.size() > 15) {
    return false;
  }
  for (char c : s) {
    if (c == '/' || c == ':' || c == ',' || c == '=' || c <= ' ' || c > '~') {
      return false;
    }
  }
  return true;
}

// "0", "0-3", "0,2,4", "0-1,4": digits, commas and dashes, nothing else.
bool valid_lcores(std::string_view s) {
  if (s.empty()) {
    return false;
  }
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || c == ',' || c == '-')) {
      return false;
    }
  }
  return true;
}

}  // namespace

Result<Options, std::string> parse_options(int argc, const char* const* argv) {
  Options o;
  int first = 1;
  for (int i = 1; i < argc; i++) {
    if (std::string_view(argv[i]) == "--") {
      for (int j = 1; j < i; j++) {
        o.eal_args.emplace_back(argv[j]);
      }
      first = i + 1;
      break;
    }
  }
  std::optional<net::Ipv4Cidr> ip, host_ip;
  std::optional<tls::ClientAuth> client_auth;
  bool workers_given = false;

  for (int i = first; i < argc; i++) {
    std::string_view flag = argv[i];
    std::string_view value;
    const size_t eq = flag.find('=');
    bool inline_value = false;
    if (flag.starts_with("--") && eq != std::string_view::npos) {
      value = flag.substr(eq + 1);
      flag = flag.substr(0, eq);
      inline_value = true;
    }
    auto need_value = [&]() -> bool {
      if (inline_value) {
        return true;
      }
      if (i + 1 >= argc) {
        return false;
      }
      value = argv[++i];
      return true;
    };

    if (flag == "-h" || flag == "--help") {
      o.help = true;
      continue;
    }
    if (flag == "--busy-poll") {
      o.busy_poll = true;
      continue;
    }
    if (!need_value()) {
      if (flag.starts_with("-")) {
        bool known = false;
        for (std::string_view k : {"--tap", "--host-ip", "--port", "--ip", "--gateway",
                                   "--workers", "--lcores", "--log-level", "--mem",
                                   "--serve", "--cert", "--key", "--config", "--alpn",
                                   "--key-update-records", "--handshake-timeout-ms",
                                   "--ticket-rotation-s", "--tls-min", "--tls-max",
                                   "--client-ca", "--client-auth", "--proxy-protocol",
                                   "--connect-timeout-ms", "--backend-down-ms",
                                   "--idle-timeout-ms", "--keepalive-ms",
                                   "--persist-timeout-ms", "--tls12-ems"}) {
          known |= flag == k;
        }
        if (known) {
          return fail(err(flag, "needs a value"));
        }
      }
      return fail(err(flag, "unknown option (see --help)"));
    }
    if (flag == "--tap") {
      if (!valid_ifname(value)) {
        return fail(err(flag, "not a valid interface name (1-15 characters)"));
      }
      o.tap = std::string(value);
    } else if (flag == "--host-ip") {
      host_ip = net::Ipv4Cidr::parse(value);
      if (!host_ip) {
        return fail(err(flag, "expected an IPv4 address with prefix, e.g. 10.99.0.1/24"));
      }
    } else if (flag == "--ip") {
      ip = net::Ipv4Cidr::parse(value);
      if (!ip) {
        return fail(err(flag, "expected an IPv4 address with prefix, e.g. 10.99.0.2/24"));
      }
    } else if (flag == "--gateway") {
      auto gw = net::Ipv4Addr::parse(value);
      if (!gw) {
        return fail(err(flag, "expected an IPv4 address"));
      }
      o.gateway = *gw;
    } else if (flag == "--port") {
      PortSpec p;
      p.spec = std::string(value);
      const std::string_view name = value.substr(0, value.find(','));
      if (looks_like_pci(value)) {
        p.is_pci = true;
        p.device = std::string(value);
      } else if (name.starts_with("net_") && name.size() > 4) {
        p.device = std::string(name);
      } else {
        return fail(err(flag, "expected a PCI address (0000:3b:00.0) or a vdev spec "
                              "(net_memif0,role=server)"));
      }
      o.ports.push_back(std::move(p));
    } else if (flag == "--workers") {
      if (!parse_uint(value, 1, 128, &o.workers)) {
        return fail(err(flag, "expected a number from 1 to 128"));
      }
      workers_given = true;
    } else if (flag == "--lcores") {
      if (!valid_lcores(value)) {
        return fail(err(flag, "expected an lcore list such as 0-3 or 0,2"));
      }
      o.lcores = std::string(value);
    } else if (flag == "--log-level") {
      unsigned lvl = 0;
      if (!parse_uint(value, 0, 3, &lvl)) {
        return fail(err(flag, "expected 0 (errors) to 3 (debug)"));
      }
      o.log_level = static_cast<int>(lvl);
    } else if (flag == "--mem") {
      if (!parse_uint(value, 64, 65536, &o.mem_mb)) {
        return fail(err(flag, "expected MiB from 64 to 65536"));
      }
    } else if (flag == "--serve") {
      auto svc = engine::parse_service(value);
      if (!svc) {
        return fail(err(flag, svc.error()));
      }
      for (const auto& other : o.services) {
        if (other.port == svc->port) {
          return fail(err(flag, "port " + std::to_string(svc->port) + " is served twice"));
        }
      }
      o.services.push_back(*svc);
    } else if (flag == "--cert") {
      o.cert_files.emplace_back(value);
    } else if (flag == "--key") {
      o.key_files.emplace_back(value);
    } else if (flag == "--alpn") {
      std::vector<std::string> list;
      if (!parse_alpn(value, &list)) {
        return fail(err(flag, "expected comma-separated protocol names, e.g. http/1.1"));
      }
      o.alpn = std::move(list);
    } else if (flag == "--key-update-records") {
      uint64_t n = 0;
      if (!parse_u64(value, 1, uint64_t{1} << 24, &n)) {
        return fail(err(flag, "expected a record count from 1 to 16777216"));
      }
      o.key_update_records = n;
    } else if (flag == "--handshake-timeout-ms") {
      if (!parse_uint(value, 1, 3600000, &o.handshake_timeout_ms)) {
        return fail(err(flag, "expected milliseconds from 1 to 3600000"));
      }
    } else if (flag == "--ticket-rotation-s") {
      if (!parse_uint(value, 1, 7 * 86400, &o.ticket_rotation_s)) {
        return fail(err(flag, "expected seconds from 1 to 604800"));
      }
    } else if (flag == "--tls-min" || flag == "--tls-max") {
      uint16_t v = 0;
      if (value == "1.2") {
        v = 0x0303;
      } else if (value == "1.3") {
        v = 0x0304;
      } else {
        return fail(err(flag, "expected 1.2 or 1.3"));
      }
      (flag == "--tls-min" ? o.tls_min : o.tls_max) = v;
    } else if (flag == "--client-ca") {
      if (value.empty()) {
        return fail(err(flag, "expected a PEM file"));
      }
      o.client_ca = std::string(value);
    } else if (flag == "--client-auth") {
      if (value == "none") {
        client_auth = tls::ClientAuth::kNone;
      } else if (value == "optional") {
        client_auth = tls::ClientAuth::kOptional;
      } else if (value == "required") {
        client_auth = tls::ClientAuth::kRequired;
      } else {
        return fail(err(flag, "expected none, optional or required"));
      }
    } else if (flag == "--proxy-protocol") {
      if (value == "v2") {
        o.proxy_protocol_v2 = true;
      } else if (value == "none") {
        o.proxy_protocol_v2 = false;
      } else {
        return fail(err(flag, "expected v2 or none"));
      }
    } else if (flag == "--connect-timeout-ms") {
      if (!parse_uint(value, 1, 3600000, &o.connect_timeout_ms)) {
        return fail(err(flag, "expected milliseconds from 1 to 3600000"));
      }
    } else if (flag == "--backend-down-ms") {
      if (!parse_uint(value, 0, 3600000, &o.backend_down_ms)) {
        return fail(err(flag, "expected milliseconds from 0 to 3600000"));
      }
    } else if (flag == "--idle-timeout-ms") {
      if (!parse_uint(value, 0, 86400000, &o.idle_timeout_ms)) {
        return fail(err(flag, "expected milliseconds from 0 (off) to 86400000"));
      }
    } else if (flag == "--keepalive-ms") {
      if (!parse_uint(value, 0, 86400000, &o.keepalive_ms)) {
        return fail(err(flag, "expected milliseconds from 0 (off) to 86400000"));
      }
    } else if (flag == "--persist-timeout-ms") {
      if (!parse_uint(value, 0, 86400000, &o.persist_timeout_ms)) {
        return fail(err(flag, "expected milliseconds from 0 (probe forever) to 86400000"));
      }
    } else if (flag == "--tls12-ems") {
      if (value == "required") {
        o.tls12_ems_required = true;
      } else if (value == "preferred") {
        o.tls12_ems_required = false;
      } else {
        return fail(err(flag, "expected required or preferred"));
      }
    } else if (flag == "--config") {
      return fail(err(flag, "not available yet"));
    } else {
      return fail(err(flag, "unknown option (see --help)"));
    }
  }
  if (o.help) {
    return o;
  }

  if (o.cert_files.size() != o.key_files.size()) {
    return fail(std::string(o.cert_files.size() > o.key_files.size() ? "--cert" : "--key") +
                ": --cert FILE and --key FILE come in pairs (" +
                std::to_string(o.cert_files.size()) + " --cert, " +
                std::to_string(o.key_files.size()) + " --key)");
  }
  if (o.tls_min > o.tls_max) {
    return fail(std::string("--tls-min 1.3 is above --tls-max 1.2"));
  }
  if (client_auth && *client_auth != tls::ClientAuth::kNone && !o.client_ca) {
    return fail(std::string("--client-auth: optional and required need --client-ca FILE"));
  }
  o.client_auth = client_auth.value_or(o.client_ca ? tls::ClientAuth::kRequired
                                                   : tls::ClientAuth::kNone);
  bool any_proxy = false;
  for (auto& svc : o.services) {
    if (svc.app == engine::AppKind::kProxy) {
      any_proxy = true;
      svc.proxy.proxy_protocol_v2 = o.proxy_protocol_v2;
      svc.proxy.connect_timeout_ms = o.connect_timeout_ms;
      svc.proxy.backend_down_ms = o.backend_down_ms;
      svc.proxy.idle_timeout_ms = o.idle_timeout_ms;
    }
  }
  if (o.proxy_protocol_v2 && !any_proxy) {
    return fail(std::string("--proxy-protocol: no --serve PORT=[tls:]proxy:... service"));
  }
  if (o.tap && !o.ports.empty()) {
    return fail(std::string("--tap and --port: choose one (TAP mode creates its own port)"));
  }
  if (!o.tap && o.ports.empty()) {
    return fail(std::string("no port: give --tap NAME (test mode) or --port SPEC"));
  }
  if (o.ports.size() > 1) {
    return fail(std::string("--port: one port per process is supported for now"));
  }
  if (workers_given && o.lcores) {
    return fail(std::string("--workers and --lcores: choose one"));
  }
  if (o.tap) {
    o.ip = ip.value_or(*net::Ipv4Cidr::parse(kDefaultTapIp));
    o.host_ip = host_ip.value_or(*net::Ipv4Cidr::parse(kDefaultHostIp));
    if (o.host_ip.addr == o.ip.addr) {
      return fail(std::string("--host-ip and --ip must differ"));
    }
    if (!o.ip.contains(o.host_ip.addr) || o.host_ip.prefix_len != o.ip.prefix_len) {
      return fail(std::string("--host-ip ") + o.host_ip.str() + " and --ip " + o.ip.str() +
                  " must be on the same subnet");
    }
  } else {
    if (host_ip) {
      return fail(std::string("--host-ip: only meaningful with --tap"));
    }
    if (!ip) {
      return fail(std::string("--ip: required with --port"));
    }
    o.ip = *ip;
  }
  if (o.ip.prefix_len == 0 || o.ip.prefix_len > 30) {
    return fail(std::string("--ip: prefix length must be 1..30"));
  }
  const uint32_t host_bits = ~o.ip.mask();
  if ((o.ip.addr.v & host_bits) == 0 || (o.ip.addr.v & host_bits) == host_bits) {
    return fail(std::string("--ip: ") + o.ip.str() + " is a network or broadcast address");
  }
  if (o.gateway && !o.ip.contains(*o.gateway)) {
    return fail(std::string("--gateway: ") + o.gateway->str() + " is not on " + o.ip.str());
  }
  return o;
}

bool has_tls_service(const Options& o) {
  for (const auto& s : o.services) {
    if (s.tls) {
      return true;
    }
  }
  return false;
}

std::vector<std::string> effective_alpn(const Options& o) {
  if (o.alpn) {
    return *o.alpn;
  }
  for (const auto& s : o.services) {
    if (s.tls && s.app == engine::AppKind::kHttp) {
      return {"http/1.1"};
    }
  }
  return {};
}

Result<std::vector<crypto::CertifiedKey>, std::string> load_certificates(const Options& o) {
  std::vector<crypto::CertifiedKey> keys;
  for (size_t i = 0; i < o.cert_files.size() && i < o.key_files.size(); i++) {
    auto k = crypto::CertifiedKey::load(o.cert_files[i], o.key_files[i]);
    if (!k) {
      return fail("--cert " + o.cert_files[i] + " --key " + o.key_files[i] + ": " +
                  std::string(crypto::to_string(k.error())));
    }
    keys.push_back(std::move(k).value());
  }
  return keys;
}

Result<std::optional<crypto::CaStore>, std::string> load_client_ca(const Options& o) {
  if (!o.client_ca) {
    return std::optional<crypto::CaStore>();
  }
  auto ca = crypto::CaStore::load(*o.client_ca);
  if (!ca) {
    return fail("--client-ca " + *o.client_ca + ": " +
                std::string(crypto::to_string(ca.error())));
  }
  return std::optional<crypto::CaStore>(std::move(ca).value());
}

const char* usage() {
  return R"(usage: linetls [EAL args --] [options]

  --tap NAME          TAP test mode: create net_tap interface NAME (no hugepages needed)
  --host-ip CIDR      kernel side of the TAP (default 10.99.0.1/24)
  --port SPEC         a DPDK device instead: PCI address or vdev spec (e.g. net_memif0,role=server)
  --ip CIDR           the engine's own address (default 10.99.0.2/24 in TAP mode)
  --gateway IP        next hop for addresses off the local subnet
  --serve PORT=APP    serve APP on TCP PORT (repeatable): echo | discard | http |
                      proxy:HOST:PORT[,HOST:PORT...] (each client to one backend, round
                      robin), each optionally behind tls: (TLS 1.2/1.3 terminated in the
                      engine), e.g. 443=tls:proxy:10.99.0.1:8080
  --proxy-protocol v2 send a PROXY protocol v2 header (client address, ALPN, SNI, TLS
                      facts) first on each backend connection (default: none)
  --connect-timeout-ms N     a backend that has not answered by then is down (default 3000)
  --backend-down-ms N        a backend that refused or timed out is skipped this long
                             (default 10000)
  --idle-timeout-ms N        a connection (and a proxied pair) with no bytes either way
                             for this long is reset (default 300000; 0: never)
  --keepalive-ms N           TCP keepalive: probe a peer silent this long, every 10 s,
                             reset after 5 unanswered probes (default 60000; 0: off)
  --persist-timeout-ms N     give up a peer whose window stays zero this long while data
                             waits (default 120000; 0: probe forever)
  --cert FILE         PEM certificate chain, leaf first (repeatable; pairs with --key)
  --key FILE          PEM private key of the preceding --cert; without any --cert a
                      self-signed ECDSA P-256 certificate is generated at start
  --alpn LIST         ALPN protocols to offer, e.g. http/1.1 (default: http/1.1 when a
                      tls:http service exists, else none)
  --tls-min V         lowest TLS version accepted: 1.2 (default) or 1.3
  --tls-max V         highest TLS version accepted: 1.2 or 1.3 (default)
  --tls12-ems MODE    TLS 1.2 extended master secret (RFC 7627): preferred (default; a
                      client without it gets the RFC 5246 master secret) or required
  --client-ca FILE    PEM bundle of CAs for client certificates (mutual TLS)
  --client-auth MODE  none | optional | required (default: required with --client-ca,
                      else none)
  --handshake-timeout-ms N   TLS handshake deadline (default 10000)
  --key-update-records N     send a KeyUpdate after N records under one key (default 2^24)
  --ticket-rotation-s N      session ticket key lifetime (default 3600)
  --workers N         worker cores (one RX/TX queue each; default 1)
  --lcores LIST       EAL lcore list for the workers instead of --workers (e.g. 0-3)
  --busy-poll         never sleep when idle (benchmarks); default backs off when idle
  --mem MB            EAL memory in TAP mode (default 512)
  --log-level N       0 errors, 1 warnings, 2 info (default), 3 debug
  -h, --help          this text

Prints a line containing "ready" when the port is up. SIGINT/SIGTERM stop it cleanly and
print counters. Bad options exit with status 2 and one line on stderr.
)";
}

}  // namespace linetls::app
