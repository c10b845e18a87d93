#include "lib/engine/service.h"

#include <charconv>

namespace linetls::engine {

namespace {

// A decimal port 1-65535, nothing else.
bool parse_port(std::string_view s, uint16_t* out_port) {
  unsigned p = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), p);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || p == 0 || p > 65535) {
    return false;
  }
  *out_port = static_cast<uint16_t>(p);
  return true;
}

// "HOST:PORT[,HOST:PORT...]" with HOST a dotted-quad IPv4 address.
Result<std::vector<Backend>, std::string> parse_backends(std::string_view list) {
  std::vector<Backend> out;
  if (list.empty()) {
    return fail(std::string("proxy: expected HOST:PORT[,HOST:PORT...]"));
  }
  size_t pos = 0;
  for (;;) {
    const size_t comma = list.find(',', pos);
    const std::string_view one =
        list.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    const size_t colon = one.rfind(':');
    if (one.empty() || colon == std::string_view::npos) {
      return fail("proxy: bad backend '" + std::string(one) + "' (expected HOST:PORT)");
    }
    const auto ip = net::Ipv4Addr::parse(one.substr(0, colon));
    if (!ip) {
      return fail("proxy: bad backend host '" + std::string(one.substr(0, colon)) +
                  "' (an IPv4 address)");
    }
    Backend b;
    b.ip = *ip;
    if (!parse_port(one.substr(colon + 1), &b.port)) {
      return fail("proxy: bad backend port '" + std::string(one.substr(colon + 1)) +
                  "' (1-65535)");
    }
    if (out.size() == kMaxBackends) {
      return fail("proxy: more than " + std::to_string(kMaxBackends) + " backends");
    }
    out.push_back(b);
    if (comma == std::string_view::npos) {
      return out;
    }
    pos = comma + 1;
  }
}

}  // namespace

std::string_view to_string(AppKind k) noexcept {
  switch (k) {
    case AppKind::kEcho:
      return "echo";
    case AppKind::kDiscard:
      return "discard";
    case AppKind::kHttp:
      return "http";
    case AppKind::kProxy:
      return "proxy";
  }
  return "?";
}

std::string to_string(const ServiceSpec& s) {
  std::string out = (s.tls ? "tls:" : "") + std::string(to_string(s.app));
  if (s.app == AppKind::kProxy) {
    for (size_t i = 0; i < s.proxy.backends.size(); i++) {
      out += i == 0 ? ':' : ',';
      out += s.proxy.backends[i].ip.str() + ":" + std::to_string(s.proxy.backends[i].port);
    }
  }
  return out;
}

Result<ServiceSpec, std::string> parse_service(std::string_view spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string_view::npos) {
    return fail(std::string("expected PORT=APP, e.g. 7=echo"));
  }
  const std::string_view port = spec.substr(0, eq);
  std::string_view app = spec.substr(eq + 1);
  ServiceSpec s;
  if (!parse_port(port, &s.port)) {
    return fail("bad port '" + std::string(port) + "' (1-65535)");
  }
  if (app.starts_with("tls:")) {
    s.tls = true;
    app.remove_prefix(4);
  }
  if (app == "echo") {
    s.app = AppKind::kEcho;
  } else if (app == "discard") {
    s.app = AppKind::kDiscard;
  } else if (app == "http") {
    s.app = AppKind::kHttp;
  } else if (app.starts_with("proxy:")) {
    auto b = parse_backends(app.substr(6));
    if (!b) {
      return fail(b.error());
    }
    s.app = AppKind::kProxy;
    s.proxy.backends = std::move(b).value();
  } else {
    return fail("unknown app '" + std::string(app) +
                "' (echo, discard, http, proxy:HOST:PORT[,HOST:PORT...], each optionally "
                "behind tls:)");
  }
  return s;
}

}  // namespace linetls::engine
