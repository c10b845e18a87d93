#include "apps/linetls/options.h"

#include <algorithm>
#include <charconv>
#include <string_view>

#include "apps/cli_names.h"
#include "apps/linetls/config.h"

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

constexpr unsigned kMaxLcoreId = 127;  // DPDK's RTE_MAX_LCORE is 128 in Debian's build

// "2", "2-3", "2,4": the lcore ids, each once, in order given; nullopt when malformed.
std::optional<std::vector<unsigned>> parse_lcore_ids(std::string_view s) {
  if (!valid_lcores(s)) {
    return std::nullopt;
  }
  std::vector<unsigned> out;
  while (!s.empty()) {
    const size_t comma = s.find(',');
    const std::string_view item = s.substr(0, comma);
    s = comma == std::string_view::npos ? std::string_view() : s.substr(comma + 1);
    const size_t dash = item.find('-');
    unsigned lo = 0;
    unsigned hi = 0;
    if (!parse_uint(item.substr(0, dash), 0, kMaxLcoreId, &lo)) {
      return std::nullopt;
    }
    hi = lo;
    if (dash != std::string_view::npos &&
        (!parse_uint(item.substr(dash + 1), lo, kMaxLcoreId, &hi))) {
      return std::nullopt;
    }
    for (unsigned l = lo; l <= hi; l++) {
      if (std::find(out.begin(), out.end(), l) != out.end()) {
        return std::nullopt;
      }
      out.push_back(l);
    }
  }
  if (out.empty()) {
    return std::nullopt;
  }
  return out;
}

// The flags that take a value, for "needs a value" (the rest are unknown).
constexpr std::string_view kValueFlags[] = {"--tap",
                                            "--host-ip",
                                            "--port",
                                            "--ip",
                                            "--gateway",
                                            "--workers",
                                            "--lcores",
                                            "--handshake-lcores",
                                            "--log-level",
                                            "--mem",
                                            "--serve",
                                            "--cert",
                                            "--key",
                                            "--config",
                                            "--check-config",
                                            "--alpn",
                                            "--key-update-records",
                                            "--handshake-timeout-ms",
                                            "--ticket-rotation-s",
                                            "--ticket-key-file",
                                            "--tls-min",
                                            "--tls-max",
                                            "--client-ca",
                                            "--client-auth",
                                            "--proxy-protocol",
                                            "--connect-timeout-ms",
                                            "--backend-down-ms",
                                            "--idle-timeout-ms",
                                            "--keepalive-ms",
                                            "--persist-timeout-ms",
                                            "--tls12-ems",
                                            "--metrics",
                                            "--stats-interval"};

template <typename T>
void take(std::optional<T>* base, const std::optional<T>& top, Settings* b, std::string_view flag) {
  if (top) {
    *base = top;
    if (auto it = b->origin.find(flag); it != b->origin.end()) {
      b->origin.erase(it);
    }
  }
}

}  // namespace

Result<void, std::string> apply_setting(std::string_view flag, std::string_view value,
                                        Settings* s) {
  if (flag == "--tap") {
    if (!valid_ifname(value)) {
      return fail(std::string("not a valid interface name (1-15 characters)"));
    }
    s->tap = std::string(value);
  } else if (flag == "--host-ip") {
    s->host_ip = net::Ipv4Cidr::parse(value);
    if (!s->host_ip) {
      return fail(std::string("expected an IPv4 address with prefix, e.g. 10.99.0.1/24"));
    }
  } else if (flag == "--ip") {
    s->ip = net::Ipv4Cidr::parse(value);
    if (!s->ip) {
      return fail(std::string("expected an IPv4 address with prefix, e.g. 10.99.0.2/24"));
    }
  } else if (flag == "--gateway") {
    s->gateway = net::Ipv4Addr::parse(value);
    if (!s->gateway) {
      return fail(std::string("expected an IPv4 address"));
    }
  } else if (flag == "--port") {
    auto p = parse_port_spec(value);
    if (!p) {
      return fail(
          std::string("expected a PCI address (0000:3b:00.0) or a vdev spec "
                      "(net_memif0,role=server)"));
    }
    if (!s->ports) {
      s->ports.emplace();
    }
    s->ports->push_back(std::move(*p));
  } else if (flag == "--workers") {
    unsigned n = 0;
    if (!parse_uint(value, 1, 128, &n)) {
      return fail(std::string("expected a number from 1 to 128"));
    }
    s->workers = n;
  } else if (flag == "--lcores") {
    if (!valid_lcores(value)) {
      return fail(std::string("expected an lcore list such as 0-3 or 0,2"));
    }
    s->lcores = std::string(value);
  } else if (flag == "--handshake-lcores") {
    auto ids = parse_lcore_ids(value);
    if (!ids) {
      return fail(std::string("expected distinct lcore ids such as 2 or 2-3"));
    }
    s->handshake_lcores = std::move(*ids);
  } else if (flag == "--log-level") {
    unsigned lvl = 0;
    if (!parse_uint(value, 0, 3, &lvl)) {
      return fail(std::string("expected 0 (errors) to 3 (debug)"));
    }
    s->log_level = static_cast<int>(lvl);
  } else if (flag == "--mem") {
    unsigned mb = 0;
    if (!parse_uint(value, 64, 65536, &mb)) {
      return fail(std::string("expected MiB from 64 to 65536"));
    }
    s->mem_mb = mb;
  } else if (flag == "--serve") {
    auto svc = engine::parse_service(value);
    if (!svc) {
      return fail(svc.error());
    }
    if (!s->services) {
      s->services.emplace();
    }
    for (const auto& other : *s->services) {
      if (other.port == svc->port) {
        return fail("port " + std::to_string(svc->port) + " is served twice");
      }
    }
    s->services->push_back(*svc);
    s->service_overrides.resize(s->services->size());
  } else if (flag == "--cert" || flag == "--key") {
    if (value.empty()) {
      return fail(std::string("expected a PEM file"));
    }
    auto& list = flag == "--cert" ? s->cert_files : s->key_files;
    if (!list) {
      list.emplace();
    }
    list->emplace_back(value);
  } else if (flag == "--alpn") {
    std::vector<std::string> list;
    if (!parse_alpn(value, &list)) {
      return fail(std::string("expected comma-separated protocol names, e.g. http/1.1"));
    }
    s->alpn = std::move(list);
  } else if (flag == "--key-update-records") {
    uint64_t n = 0;
    if (!parse_u64(value, 1, uint64_t{1} << 24, &n)) {
      return fail(std::string("expected a record count from 1 to 16777216"));
    }
    s->key_update_records = n;
  } else if (flag == "--handshake-timeout-ms") {
    unsigned ms = 0;
    if (!parse_uint(value, 1, 3600000, &ms)) {
      return fail(std::string("expected milliseconds from 1 to 3600000"));
    }
    s->handshake_timeout_ms = ms;
  } else if (flag == "--ticket-rotation-s") {
    unsigned sec = 0;
    if (!parse_uint(value, 1, 7 * 86400, &sec)) {
      return fail(std::string("expected seconds from 1 to 604800"));
    }
    s->ticket_rotation_s = sec;
  } else if (flag == "--ticket-key-file") {
    if (value.empty()) {
      return fail(
          std::string("expected a file (nginx's 48 or 80 bytes, or HAProxy's "
                      "base64 lines)"));
    }
    s->ticket_key_file = std::string(value);
  } else if (flag == "--tls-min" || flag == "--tls-max") {
    uint16_t v = 0;
    if (value == "1.2") {
      v = 0x0303;
    } else if (value == "1.3") {
      v = 0x0304;
    } else {
      return fail(std::string("expected 1.2 or 1.3"));
    }
    (flag == "--tls-min" ? s->tls_min : s->tls_max) = v;
  } else if (flag == "--client-ca") {
    if (value.empty()) {
      return fail(std::string("expected a PEM file"));
    }
    s->client_ca = std::string(value);
  } else if (flag == "--client-auth") {
    if (value == "none") {
      s->client_auth = tls::ClientAuth::kNone;
    } else if (value == "optional") {
      s->client_auth = tls::ClientAuth::kOptional;
    } else if (value == "required") {
      s->client_auth = tls::ClientAuth::kRequired;
    } else {
      return fail(std::string("expected none, optional or required"));
    }
  } else if (flag == "--proxy-protocol") {
    if (value == "v2") {
      s->proxy_protocol_v2 = true;
    } else if (value == "none") {
      s->proxy_protocol_v2 = false;
    } else {
      return fail(std::string("expected v2 or none"));
    }
  } else if (flag == "--connect-timeout-ms") {
    unsigned ms = 0;
    if (!parse_uint(value, 1, 3600000, &ms)) {
      return fail(std::string("expected milliseconds from 1 to 3600000"));
    }
    s->connect_timeout_ms = ms;
  } else if (flag == "--backend-down-ms") {
    unsigned ms = 0;
    if (!parse_uint(value, 0, 3600000, &ms)) {
      return fail(std::string("expected milliseconds from 0 to 3600000"));
    }
    s->backend_down_ms = ms;
  } else if (flag == "--idle-timeout-ms") {
    unsigned ms = 0;
    if (!parse_uint(value, 0, 86400000, &ms)) {
      return fail(std::string("expected milliseconds from 0 (off) to 86400000"));
    }
    s->idle_timeout_ms = ms;
  } else if (flag == "--keepalive-ms") {
    unsigned ms = 0;
    if (!parse_uint(value, 0, 86400000, &ms)) {
      return fail(std::string("expected milliseconds from 0 (off) to 86400000"));
    }
    s->keepalive_ms = ms;
  } else if (flag == "--persist-timeout-ms") {
    unsigned ms = 0;
    if (!parse_uint(value, 0, 86400000, &ms)) {
      return fail(std::string("expected milliseconds from 0 (probe forever) to 86400000"));
    }
    s->persist_timeout_ms = ms;
  } else if (flag == "--tls12-ems") {
    if (value == "required") {
      s->tls12_ems_required = true;
    } else if (value == "preferred") {
      s->tls12_ems_required = false;
    } else {
      return fail(std::string("expected required or preferred"));
    }
  } else if (flag == "--busy-poll") {
    if (value != "true" && value != "false") {
      return fail(std::string("expected true or false"));
    }
    s->busy_poll = value == "true";
  } else if (flag == "--tls13-psk-ke") {
    if (value != "true" && value != "false") {
      return fail(std::string("expected true or false"));
    }
    s->tls13_psk_ke = value == "true";
  } else if (flag == "--metrics") {
    s->metrics = ListenAddr::parse(value);
    if (!s->metrics) {
      return fail(std::string("expected IP:PORT, e.g. 127.0.0.1:9100"));
    }
  } else if (flag == "--stats-interval") {
    unsigned sec = 0;
    if (!parse_uint(value, 0, 86400, &sec)) {
      return fail(std::string("expected seconds from 0 (off) to 86400"));
    }
    s->stats_interval_s = sec;
  } else {
    return fail(std::string("unknown option (see --help)"));
  }
  return {};
}

Result<Settings, std::string> parse_command_line(int argc, const char* const* argv,
                                                 std::optional<std::string>* out_config,
                                                 bool* out_check, bool* out_help) {
  Settings s;
  *out_check = false;
  *out_help = false;
  out_config->reset();
  int first = 1;
  for (int i = 1; i < argc; i++) {
    if (std::string_view(argv[i]) == "--") {
      s.eal_args.emplace();
      for (int j = 1; j < i; j++) {
        s.eal_args->emplace_back(argv[j]);
      }
      first = i + 1;
      break;
    }
  }
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
    if (flag == "-h" || flag == "--help") {
      *out_help = true;
      continue;
    }
    if (flag == "--busy-poll") {
      s.busy_poll = true;
      continue;
    }
    if (flag == "--tls13-psk-ke" && !inline_value) {  // --tls13-psk-ke=false goes on below
      s.tls13_psk_ke = true;
      continue;
    }
    if (!inline_value) {
      if (i + 1 >= argc) {
        for (std::string_view k : kValueFlags) {
          if (flag == k) {
            return fail(err(flag, "needs a value"));
          }
        }
        return fail(err(flag, "unknown option (see --help)"));
      }
      value = argv[++i];
    }
    if (flag == "--config" || flag == "--check-config") {
      if (value.empty()) {
        return fail(err(flag, "expected a TOML file"));
      }
      if (*out_config) {
        return fail(err(flag, "give one --config or --check-config"));
      }
      *out_config = std::string(value);
      *out_check = flag == "--check-config";
      continue;
    }
    if (auto r = apply_setting(flag, value, &s); !r) {
      return fail(err(flag, r.error()));
    }
  }
  return s;
}

Settings merge(Settings base, const Settings& top) {
  Settings* b = &base;
  take(&b->eal_args, top.eal_args, b, "eal_args");
  take(&b->tap, top.tap, b, "--tap");
  take(&b->host_ip, top.host_ip, b, "--host-ip");
  take(&b->ports, top.ports, b, "--port");
  take(&b->ip, top.ip, b, "--ip");
  take(&b->gateway, top.gateway, b, "--gateway");
  take(&b->workers, top.workers, b, "--workers");
  take(&b->lcores, top.lcores, b, "--lcores");
  take(&b->handshake_lcores, top.handshake_lcores, b, "--handshake-lcores");
  if (top.services) {
    b->services = top.services;
    b->service_overrides = top.service_overrides;
    std::erase_if(b->origin, [](const auto& kv) {
      return kv.first == "--serve" || kv.first.starts_with("service#");
    });
  }
  if (top.cert_files || top.key_files) {
    b->cert_files = top.cert_files.value_or(std::vector<std::string>{});
    b->key_files = top.key_files.value_or(std::vector<std::string>{});
    b->origin.erase("--cert");
    b->origin.erase("--key");
  }
  take(&b->alpn, top.alpn, b, "--alpn");
  take(&b->key_update_records, top.key_update_records, b, "--key-update-records");
  take(&b->handshake_timeout_ms, top.handshake_timeout_ms, b, "--handshake-timeout-ms");
  take(&b->ticket_rotation_s, top.ticket_rotation_s, b, "--ticket-rotation-s");
  take(&b->ticket_key_file, top.ticket_key_file, b, "--ticket-key-file");
  take(&b->tls_min, top.tls_min, b, "--tls-min");
  take(&b->tls_max, top.tls_max, b, "--tls-max");
  take(&b->client_ca, top.client_ca, b, "--client-ca");
  take(&b->client_auth, top.client_auth, b, "--client-auth");
  take(&b->proxy_protocol_v2, top.proxy_protocol_v2, b, "--proxy-protocol");
  take(&b->connect_timeout_ms, top.connect_timeout_ms, b, "--connect-timeout-ms");
  take(&b->backend_down_ms, top.backend_down_ms, b, "--backend-down-ms");
  take(&b->idle_timeout_ms, top.idle_timeout_ms, b, "--idle-timeout-ms");
  take(&b->keepalive_ms, top.keepalive_ms, b, "--keepalive-ms");
  take(&b->persist_timeout_ms, top.persist_timeout_ms, b, "--persist-timeout-ms");
  take(&b->tls12_ems_required, top.tls12_ems_required, b, "--tls12-ems");
  take(&b->tls13_psk_ke, top.tls13_psk_ke, b, "--tls13-psk-ke");
  take(&b->busy_poll, top.busy_poll, b, "--busy-poll");
  take(&b->log_level, top.log_level, b, "--log-level");
  take(&b->mem_mb, top.mem_mb, b, "--mem");
  take(&b->metrics, top.metrics, b, "--metrics");
  take(&b->stats_interval_s, top.stats_interval_s, b, "--stats-interval");
  for (const auto& [k, v] : top.origin) {
    b->origin[k] = v;
  }
  return base;
}

std::string origin_of(const Options& o, std::string_view flag) {
  const auto it = o.origin.find(flag);
  return it == o.origin.end() ? std::string() : it->second + ": ";
}

Result<Options, std::string> finalize(const Settings& s) {
  Options o;
  o.origin = s.origin;
  // An error about flag, located in the config file when it came from there.
  auto bad = [&](std::string_view flag, std::string what) -> std::string {
    return origin_of(o, flag) + what;
  };
  o.eal_args = s.eal_args.value_or(std::vector<std::string>{});
  o.tap = s.tap;
  o.ports = s.ports.value_or(std::vector<PortSpec>{});
  o.gateway = s.gateway;
  o.workers = s.workers.value_or(1);
  o.lcores = s.lcores;
  o.handshake_lcores = s.handshake_lcores.value_or(std::vector<unsigned>{});
  o.services = s.services.value_or(std::vector<engine::ServiceSpec>{});
  o.service_overrides = s.service_overrides;
  o.service_overrides.resize(o.services.size());
  o.cert_files = s.cert_files.value_or(std::vector<std::string>{});
  o.key_files = s.key_files.value_or(std::vector<std::string>{});
  o.alpn = s.alpn;
  o.key_update_records = s.key_update_records;
  o.handshake_timeout_ms = s.handshake_timeout_ms.value_or(o.handshake_timeout_ms);
  o.ticket_rotation_s = s.ticket_rotation_s.value_or(o.ticket_rotation_s);
  o.ticket_key_file = s.ticket_key_file;
  o.tls_min = s.tls_min.value_or(o.tls_min);
  o.tls_max = s.tls_max.value_or(o.tls_max);
  o.client_ca = s.client_ca;
  o.proxy_protocol_v2 = s.proxy_protocol_v2.value_or(false);
  o.connect_timeout_ms = s.connect_timeout_ms.value_or(o.connect_timeout_ms);
  o.backend_down_ms = s.backend_down_ms.value_or(o.backend_down_ms);
  o.idle_timeout_ms = s.idle_timeout_ms.value_or(o.idle_timeout_ms);
  o.keepalive_ms = s.keepalive_ms.value_or(o.keepalive_ms);
  o.persist_timeout_ms = s.persist_timeout_ms.value_or(o.persist_timeout_ms);
  o.tls12_ems_required = s.tls12_ems_required.value_or(false);
  o.tls13_psk_ke = s.tls13_psk_ke.value_or(false);
  o.busy_poll = s.busy_poll.value_or(false);
  o.log_level = s.log_level.value_or(o.log_level);
  o.mem_mb = s.mem_mb.value_or(o.mem_mb);
  o.metrics = s.metrics;
  o.stats_interval_s = s.stats_interval_s.value_or(0);

  if (o.cert_files.size() != o.key_files.size()) {
    const char* more = o.cert_files.size() > o.key_files.size() ? "--cert" : "--key";
    return fail(bad(more, std::string(more) + ": --cert FILE and --key FILE come in pairs (" +
                              std::to_string(o.cert_files.size()) + " --cert, " +
                              std::to_string(o.key_files.size()) + " --key)"));
  }
  if (o.tls_min > o.tls_max) {
    return fail(bad("--tls-min", "--tls-min 1.3 is above --tls-max 1.2"));
  }
  if (s.client_auth && *s.client_auth != tls::ClientAuth::kNone && !o.client_ca) {
    return fail(bad("--client-auth", "--client-auth: optional and required need --client-ca FILE"));
  }
  o.client_auth =
      s.client_auth.value_or(o.client_ca ? tls::ClientAuth::kRequired : tls::ClientAuth::kNone);
  for (size_t i = 0; i < o.services.size(); i++) {
    for (size_t j = 0; j < i; j++) {
      if (o.services[j].port == o.services[i].port) {
        const std::string where = "service#" + std::to_string(i);
        return fail(
            bad(o.origin.contains(where) ? std::string_view(where) : "--serve",
                "--serve: port " + std::to_string(o.services[i].port) + " is served twice"));
      }
    }
  }
  // Each service: its own settings over the global ones.
  bool any_proxy = false;
  const std::vector<std::string> global_alpn = effective_alpn(o);
  std::vector<CertKeyFiles> global_certs;
  for (size_t i = 0; i < o.cert_files.size(); i++) {
    global_certs.push_back({o.cert_files[i], o.key_files[i]});
  }
  for (size_t i = 0; i < o.services.size(); i++) {
    engine::ServiceSpec& svc = o.services[i];
    const ServiceOverrides& ov = o.service_overrides[i];
    if (ov.idle_timeout_ms) {
      svc.idle_timeout_ms = *ov.idle_timeout_ms;  // its connections' TCP idle timeout too
    }
    if (svc.app == engine::AppKind::kProxy) {
      any_proxy = true;
      svc.proxy.proxy_protocol_v2 = ov.proxy_protocol_v2.value_or(o.proxy_protocol_v2);
      svc.proxy.connect_timeout_ms = ov.connect_timeout_ms.value_or(o.connect_timeout_ms);
      svc.proxy.backend_down_ms = ov.backend_down_ms.value_or(o.backend_down_ms);
      svc.proxy.idle_timeout_ms = ov.idle_timeout_ms.value_or(o.idle_timeout_ms);
    }
    if (!svc.tls) {
      continue;
    }
    TlsProfileFiles p;
    p.certificates = ov.certificates.value_or(global_certs);
    p.alpn = ov.alpn.value_or(global_alpn);
    p.client_ca = ov.client_ca ? ov.client_ca : o.client_ca;
    p.client_auth = ov.client_auth ? *ov.client_auth
                    : ov.client_ca ? tls::ClientAuth::kRequired
                                   : o.client_auth;
    if (p.client_auth != tls::ClientAuth::kNone && !p.client_ca) {
      return fail(bad("service#" + std::to_string(i),
                      "service " + std::to_string(svc.port) +
                          ": client_auth optional and required need a client_ca"));
    }
    size_t idx = 0;
    while (idx < o.tls_profiles.size() && !(o.tls_profiles[idx] == p)) {
      idx++;
    }
    if (idx == o.tls_profiles.size()) {
      o.tls_profiles.push_back(std::move(p));
    }
    svc.tls_profile = static_cast<uint16_t>(idx);
  }
  if (o.proxy_protocol_v2 && !any_proxy) {
    return fail(
        bad("--proxy-protocol", "--proxy-protocol: no --serve PORT=[tls:]proxy:... service"));
  }
  if (o.tap && !o.ports.empty()) {
    return fail(bad("--tap", "--tap and --port: choose one (TAP mode creates its own port)"));
  }
  if (!o.tap && o.ports.empty()) {
    return fail(std::string("no port: give --tap NAME (test mode) or --port SPEC"));
  }
  if (o.ports.size() > 1) {
    return fail(bad("--port", "--port: one port per process is supported for now"));
  }
  if (s.workers && o.lcores) {
    return fail(bad("--workers", "--workers and --lcores: choose one"));
  }
  if (o.tap) {
    o.ip = s.ip.value_or(*net::Ipv4Cidr::parse(kDefaultTapIp));
    o.host_ip = s.host_ip.value_or(*net::Ipv4Cidr::parse(kDefaultHostIp));
    if (o.host_ip.addr == o.ip.addr) {
      return fail(bad("--host-ip", "--host-ip and --ip must differ"));
    }
    if (!o.ip.contains(o.host_ip.addr) || o.host_ip.prefix_len != o.ip.prefix_len) {
      return fail(bad("--ip", "--host-ip " + o.host_ip.str() + " and --ip " + o.ip.str() +
                                  " must be on the same subnet"));
    }
  } else {
    if (s.host_ip) {
      return fail(bad("--host-ip", "--host-ip: only meaningful with --tap"));
    }
    if (!s.ip) {
      return fail(std::string("--ip: required with --port"));
    }
    o.ip = *s.ip;
  }
  if (o.ip.prefix_len == 0 || o.ip.prefix_len > 30) {
    return fail(bad("--ip", "--ip: prefix length must be 1..30"));
  }
  const uint32_t host_bits = ~o.ip.mask();
  if ((o.ip.addr.v & host_bits) == 0 || (o.ip.addr.v & host_bits) == host_bits) {
    return fail(bad("--ip", "--ip: " + o.ip.str() + " is a network or broadcast address"));
  }
  if (o.gateway && !o.ip.contains(*o.gateway)) {
    return fail(bad("--gateway", "--gateway: " + o.gateway->str() + " is not on " + o.ip.str()));
  }
  return o;
}

Result<Options, std::string> parse_options(int argc, const char* const* argv) {
  std::optional<std::string> config;
  bool check = false;
  bool help = false;
  auto cli = parse_command_line(argc, argv, &config, &check, &help);
  if (!cli) {
    return fail(cli.error());
  }
  if (help) {
    Options o;
    o.help = true;
    return o;
  }
  Settings s = std::move(cli).value();
  if (config) {
    auto text = read_config_file(*config);
    if (!text) {
      return fail(std::string(check ? "--check-config " : "--config ") + text.error());
    }
    auto file = parse_config(*text, *config);
    if (!file) {
      return fail(file.error());
    }
    s = merge(std::move(file).value(), s);
  }
  auto o = finalize(s);
  if (!o) {
    return fail(o.error());
  }
  o->config_file = config;
  o->check_config = check;
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
  --tls13-psk-ke      psk_ke: resumed TLS 1.3 sessions skip X25519 but lose forward secrecy
  --client-ca FILE    PEM bundle of CAs for client certificates (mutual TLS)
  --client-auth MODE  none | optional | required (default: required with --client-ca,
                      else none)
  --handshake-timeout-ms N   TLS handshake deadline (default 10000)
  --key-update-records N     send a KeyUpdate after N records under one key (default 2^24)
  --ticket-rotation-s N      session ticket key lifetime (default 3600)
  --ticket-key-file FILE     session ticket keys shared with other linetls processes:
                             nginx's format (a file of 48 or 80 random bytes) or HAProxy's
                             (base64 keys, one per line; the penultimate one seals). Re-read
                             on SIGHUP and when the file changes (default: keys rotate from
                             a per-process random secret)
  --workers N         worker cores (one RX/TX queue each; default 1)
  --lcores LIST       EAL lcore list for the workers instead of --workers (e.g. 0-3)
  --handshake-lcores LIST  lcores that run the handshakes' public-key work (X25519,
                      signatures) for every worker, through rings; they are added to the
                      default lcore list, or must be in --lcores/-l (default: inline)
  --busy-poll         never sleep when idle (benchmarks); default backs off when idle
  --mem MB            EAL memory in TAP mode (default 512)
  --log-level N       0 errors, 1 warnings, 2 info (default), 3 debug
  --metrics IP:PORT   serve Prometheus text on http://IP:PORT/metrics (a control thread,
                      not a worker core), e.g. 127.0.0.1:9100
  --stats-interval S  print a stats line every S seconds on stdout (default 0: off)
  --config FILE       TOML file with any of these settings and per-service tables (see
                      docs/linetls.example.toml); flags given here override it, and a
                      list flag (--serve, --cert/--key, --port) replaces its list whole
  --check-config FILE load FILE (and the other flags), every certificate, key, CA bundle
                      and the ticket key file; print "ok" and exit 0, or the error, exit 2
  -h, --help          this text

Prints a line containing "ready" when the port is up. SIGINT/SIGTERM stop it cleanly and
print counters. SIGHUP re-reads certificates, keys, CA bundles and the ticket key file
without dropping a connection (a bad file keeps the old material and logs one line).
DPDK telemetry answers /linetls/stats, /linetls/workers, /linetls/tls, /linetls/config.
Bad options exit with status 2 and one line on stderr.
)";
}

}  // namespace linetls::app
