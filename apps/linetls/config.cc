// The config file (config.h). toml++ is compiled here header-only, without exceptions
// (meson.build defines TOML_HEADER_ONLY=1 TOML_EXCEPTIONS=0 for this file's library).
#include "apps/linetls/config.h"

#include <toml++/toml.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace linetls::app {
namespace {

enum class Kind : uint8_t {
  kString,      // one value for the flag
  kPath,        // a file name, relative to the config file's directory
  kInt,         // an integer, checked by the flag's own rules
  kBool,        // true/false
  kStringList,  // each element through the flag (--port, --serve)
  kAlpn,        // protocol names
  kEal,         // EAL arguments, as given
  kCerts,       // [{cert, key}, ...]
  kServices,    // [[service]] tables
};

struct KeySpec {
  std::string_view key;
  std::string_view flag;
  Kind kind;
};

constexpr KeySpec kTopKeys[] = {
    {"tap", "--tap", Kind::kString},
    {"host_ip", "--host-ip", Kind::kString},
    {"port", "--port", Kind::kStringList},
    {"ip", "--ip", Kind::kString},
    {"gateway", "--gateway", Kind::kString},
    {"workers", "--workers", Kind::kInt},
    {"lcores", "--lcores", Kind::kString},
    {"handshake_lcores", "--handshake-lcores", Kind::kString},
    {"serve", "--serve", Kind::kStringList},
    {"service", "--serve", Kind::kServices},
    {"certificates", "--cert", Kind::kCerts},
    {"alpn", "--alpn", Kind::kAlpn},
    {"key_update_records", "--key-update-records", Kind::kInt},
    {"handshake_timeout_ms", "--handshake-timeout-ms", Kind::kInt},
    {"ticket_rotation_s", "--ticket-rotation-s", Kind::kInt},
    {"ticket_key_file", "--ticket-key-file", Kind::kPath},
    {"tls_min", "--tls-min", Kind::kString},
    {"tls_max", "--tls-max", Kind::kString},
    {"client_ca", "--client-ca", Kind::kPath},
    {"client_auth", "--client-auth", Kind::kString},
    {"proxy_protocol", "--proxy-protocol", Kind::kString},
    {"connect_timeout_ms", "--connect-timeout-ms", Kind::kInt},
    {"backend_down_ms", "--backend-down-ms", Kind::kInt},
    {"idle_timeout_ms", "--idle-timeout-ms", Kind::kInt},
    {"keepalive_ms", "--keepalive-ms", Kind::kInt},
    {"persist_timeout_ms", "--persist-timeout-ms", Kind::kInt},
    {"tls12_ems", "--tls12-ems", Kind::kString},
    {"tls13_psk_ke", "--tls13-psk-ke", Kind::kBool},
    {"busy_poll", "--busy-poll", Kind::kBool},
    {"log_level", "--log-level", Kind::kInt},
    {"mem", "--mem", Kind::kInt},
    {"metrics", "--metrics", Kind::kString},
    {"stats_interval", "--stats-interval", Kind::kInt},
    {"eal_args", "eal_args", Kind::kEal},
};

// The keys of a [[service]] table; flag: the setting a value is checked as.
constexpr KeySpec kServiceKeys[] = {
    {"port", "", Kind::kInt},
    {"app", "", Kind::kString},
    {"tls", "", Kind::kBool},
    {"backends", "", Kind::kStringList},
    {"proxy_protocol", "--proxy-protocol", Kind::kString},
    {"connect_timeout_ms", "--connect-timeout-ms", Kind::kInt},
    {"backend_down_ms", "--backend-down-ms", Kind::kInt},
    {"idle_timeout_ms", "--idle-timeout-ms", Kind::kInt},
    {"certificates", "--cert", Kind::kCerts},
    {"alpn", "--alpn", Kind::kAlpn},
    {"client_ca", "--client-ca", Kind::kPath},
    {"client_auth", "--client-auth", Kind::kString},
};

class Parser {
 public:
  Parser(const std::string& path, Settings* out) : path_(path), s_(out) {
    const std::filesystem::path p(path);
    dir_ = p.has_parent_path() ? p.parent_path().string() : std::string();
  }

  Result<void, std::string> top(const toml::table& t) {
    for (auto&& [k, v] : t) {
      const KeySpec* spec = find(kTopKeys, k.str());
      if (spec == nullptr) {
        return fail(at(k.source()) + "unknown key '" + std::string(k.str()) +
                    "' (the keys are listed in docs/linetls.example.toml)");
      }
      if (auto r = top_value(*spec, v); !r) {
        return r;
      }
      if (spec->kind != Kind::kServices) {
        s_->origin[std::string(spec->flag)] = where(k.source());
      }
      if (spec->kind == Kind::kCerts) {
        s_->origin["--key"] = where(k.source());
      }
    }
    return {};
  }

 private:
  template <size_t N>
  static const KeySpec* find(const KeySpec (&table)[N], std::string_view key) {
    for (const KeySpec& k : table) {
      if (k.key == key) {
        return &k;
      }
    }
    return nullptr;
  }

  std::string where(const toml::source_region& r) const {
    return path_ + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
  }
  std::string at(const toml::source_region& r) const { return where(r) + ": "; }
  // "FILE:L:C: key: what".
  std::string bad(const toml::node& n, std::string_view key, std::string_view what) const {
    return at(n.source()) + std::string(key) + ": " + std::string(what);
  }

  std::string resolve(std::string_view file) const {
    if (file.empty() || file.front() == '/' || dir_.empty()) {
      return std::string(file);
    }
    return (std::filesystem::path(dir_) / std::string(file)).string();
  }

  // The value of n as its flag takes it, or an error naming what the key expects.
  Result<std::string, std::string> scalar(const toml::node& n, std::string_view key,
                                          Kind kind) const {
    switch (kind) {
      case Kind::kInt:
        if (const auto* i = n.as_integer()) {
          return std::to_string(i->get());
        }
        return fail(bad(n, key, "expected an integer"));
      case Kind::kBool:
        if (const auto* b = n.as_boolean()) {
          return std::string(b->get() ? "true" : "false");
        }
        return fail(bad(n, key, "expected true or false"));
      case Kind::kPath:
        if (const auto* str = n.as_string()) {
          return resolve(str->get());
        }
        return fail(bad(n, key, "expected a string (a file name)"));
      default:
        if (const auto* str = n.as_string()) {
          return std::string(str->get());
        }
        return fail(bad(n, key, "expected a string"));
    }
  }

  // Applies n as flag's value to into, the error located at n.
  Result<void, std::string> apply(const toml::node& n, std::string_view key, std::string_view flag,
                                  Kind kind, Settings* into) const {
    auto v = scalar(n, key, kind);
    if (!v) {
      return fail(v.error());
    }
    if (auto r = apply_setting(flag, *v, into); !r) {
      return fail(bad(n, key, r.error()));
    }
    return {};
  }

  Result<std::vector<std::string>, std::string> strings(const toml::node& n,
                                                        std::string_view key) const {
    const toml::array* a = n.as_array();
    if (a == nullptr) {
      return fail(bad(n, key, "expected an array of strings"));
    }
    std::vector<std::string> out;
    for (const toml::node& e : *a) {
      const auto* str = e.as_string();
      if (str == nullptr) {
        return fail(bad(e, key, "expected a string"));
      }
      out.emplace_back(str->get());
    }
    return out;
  }

  Result<std::vector<std::string>, std::string> alpn(const toml::node& n,
                                                     std::string_view key) const {
    auto list = strings(n, key);
    if (!list) {
      return fail(list.error());
    }
    if (list->empty()) {
      return fail(bad(n, key, "expected at least one protocol name"));
    }
    const toml::array& a = *n.as_array();
    for (size_t i = 0; i < list->size(); i++) {
      Settings scratch;
      if (!apply_setting("--alpn", (*list)[i], &scratch) || scratch.alpn->size() != 1) {
        return fail(
            bad(*a.get(i), key, "expected a protocol name of 1-255 printable bytes, no ','"));
      }
    }
    return list;
  }

  Result<std::vector<CertKeyFiles>, std::string> certificates(const toml::node& n,
                                                              std::string_view key) const {
    const toml::array* a = n.as_array();
    if (a == nullptr) {
      return fail(bad(n, key, "expected an array of { cert = FILE, key = FILE } tables"));
    }
    if (a->empty()) {
      return fail(bad(n, key, "expected at least one { cert = FILE, key = FILE }"));
    }
    std::vector<CertKeyFiles> out;
    for (const toml::node& e : *a) {
      const toml::table* t = e.as_table();
      if (t == nullptr) {
        return fail(bad(e, key, "expected a table { cert = FILE, key = FILE }"));
      }
      CertKeyFiles ck;
      for (auto&& [k, v] : *t) {
        if (k.str() != "cert" && k.str() != "key") {
          return fail(at(k.source()) + std::string(key) + ": unknown key '" + std::string(k.str()) +
                      "' (expected cert and key)");
        }
        auto file = scalar(v, k.str(), Kind::kPath);
        if (!file) {
          return fail(file.error());
        }
        if (file->empty()) {
          return fail(bad(v, k.str(), "expected a PEM file"));
        }
        (k.str() == "cert" ? ck.cert : ck.key) = std::move(file).value();
      }
      if (ck.cert.empty() || ck.key.empty()) {
        return fail(bad(e, key,
                        std::string("missing ") + (ck.cert.empty() ? "cert" : "key") +
                            " (each entry is { cert = FILE, key = FILE })"));
      }
      out.push_back(std::move(ck));
    }
    return out;
  }

  Result<void, std::string> top_value(const KeySpec& spec, const toml::node& v) {
    switch (spec.kind) {
      case Kind::kString:
      case Kind::kPath:
      case Kind::kInt:
      case Kind::kBool:
        return apply(v, spec.key, spec.flag, spec.kind, s_);
      case Kind::kStringList: {
        const toml::array* a = v.as_array();
        if (a == nullptr) {
          return fail(bad(v, spec.key, "expected an array of strings"));
        }
        for (const toml::node& e : *a) {
          if (auto r = apply(e, spec.key, spec.flag, Kind::kString, s_); !r) {
            return r;
          }
        }
        return {};
      }
      case Kind::kAlpn: {
        auto list = alpn(v, spec.key);
        if (!list) {
          return fail(list.error());
        }
        s_->alpn = std::move(list).value();
        return {};
      }
      case Kind::kEal: {
        auto list = strings(v, spec.key);
        if (!list) {
          return fail(list.error());
        }
        s_->eal_args = std::move(list).value();
        return {};
      }
      case Kind::kCerts: {
        auto list = certificates(v, spec.key);
        if (!list) {
          return fail(list.error());
        }
        s_->cert_files.emplace();
        s_->key_files.emplace();
        for (CertKeyFiles& ck : *list) {
          s_->cert_files->push_back(std::move(ck.cert));
          s_->key_files->push_back(std::move(ck.key));
        }
        return {};
      }
      case Kind::kServices: {
        const toml::array* a = v.as_array();
        if (a == nullptr) {
          return fail(bad(v, spec.key, "expected [[service]] tables"));
        }
        for (const toml::node& e : *a) {
          const toml::table* t = e.as_table();
          if (t == nullptr) {
            return fail(bad(e, spec.key, "expected a table ([[service]])"));
          }
          if (auto r = service(*t); !r) {
            return r;
          }
        }
        return {};
      }
    }
    return {};
  }

  Result<void, std::string> service(const toml::table& t) {
    const std::string here = at(t.source());
    const toml::node* port = t.get("port");
    const toml::node* app = t.get("app");
    if (port == nullptr || app == nullptr) {
      return fail(here + "service: missing key '" + (port == nullptr ? "port" : "app") +
                  "' (each [[service]] has port and app)");
    }
    bool tls = false;
    std::vector<std::string> backends;
    ServiceOverrides ov;
    Settings scratch;  // values checked as their flags' values
    for (auto&& [k, v] : t) {
      const KeySpec* spec = find(kServiceKeys, k.str());
      if (spec == nullptr) {
        return fail(at(k.source()) + "service: unknown key '" + std::string(k.str()) +
                    "' (expected port, app, tls, backends, proxy_protocol, "
                    "connect_timeout_ms, backend_down_ms, idle_timeout_ms, certificates, "
                    "alpn, client_ca, client_auth)");
      }
      const std::string_view key = spec->key;
      if (key == "port" || key == "app") {
        auto s = scalar(v, key, spec->kind);
        if (!s) {
          return fail(s.error());
        }
        if (key == "app" && *s != "echo" && *s != "discard" && *s != "http" && *s != "proxy") {
          return fail(bad(v, key, "expected echo, discard, http or proxy"));
        }
      } else if (key == "tls") {
        const auto* b = v.as_boolean();
        if (b == nullptr) {
          return fail(bad(v, key, "expected true or false"));
        }
        tls = b->get();
      } else if (key == "backends") {
        auto list = strings(v, key);
        if (!list) {
          return fail(list.error());
        }
        if (list->empty()) {
          return fail(bad(v, key, "expected at least one HOST:PORT"));
        }
        backends = std::move(list).value();
      } else if (key == "certificates") {
        auto list = certificates(v, key);
        if (!list) {
          return fail(list.error());
        }
        ov.certificates = std::move(list).value();
      } else if (key == "alpn") {
        auto list = alpn(v, key);
        if (!list) {
          return fail(list.error());
        }
        ov.alpn = std::move(list).value();
      } else if (auto r = apply(v, key, spec->flag, spec->kind, &scratch); !r) {
        return r;
      }
    }
    const std::string app_name(app->as_string()->get());
    const bool proxy = app_name == "proxy";
    // Keys that do not apply to this service.
    for (auto&& [k, v] : t) {
      const std::string_view key = k.str();
      const bool proxy_key = key == "backends" || key == "proxy_protocol" ||
                             key == "connect_timeout_ms" || key == "backend_down_ms";
      const bool tls_key =
          key == "certificates" || key == "alpn" || key == "client_ca" || key == "client_auth";
      if (proxy_key && !proxy) {
        return fail(at(k.source()) + std::string(key) + ": only for app = \"proxy\"");
      }
      if (tls_key && !tls) {
        return fail(at(k.source()) + std::string(key) + ": only for tls = true services");
      }
    }
    if (proxy && backends.empty()) {
      return fail(here + "service: app = \"proxy\" needs backends = [\"HOST:PORT\", ...]");
    }
    ov.proxy_protocol_v2 = scratch.proxy_protocol_v2;
    ov.connect_timeout_ms = scratch.connect_timeout_ms;
    ov.backend_down_ms = scratch.backend_down_ms;
    ov.idle_timeout_ms = scratch.idle_timeout_ms;
    ov.client_ca = scratch.client_ca;
    ov.client_auth = scratch.client_auth;
    std::string spec =
        std::to_string(port->as_integer()->get()) + "=" + (tls ? "tls:" : "") + app_name;
    for (size_t i = 0; i < backends.size(); i++) {
      spec += (i == 0 ? ":" : ",") + backends[i];
    }
    if (auto r = apply_setting("--serve", spec, s_); !r) {
      const bool about_backends = proxy && r.error().starts_with("proxy:");
      return fail(bad(about_backends ? *t.get("backends") : *port,
                      about_backends ? "backends" : "port", r.error()));
    }
    s_->service_overrides.back() = std::move(ov);
    s_->origin["service#" + std::to_string(s_->services->size() - 1)] = where(t.source());
    return {};
  }

  std::string path_;
  std::string dir_;
  Settings* s_;
};

}  // namespace

Result<Settings, std::string> parse_config(std::string_view text, const std::string& path) {
  toml::parse_result parsed = toml::parse(text, std::string_view(path));
  if (!parsed) {
    const toml::parse_error& e = parsed.error();
    return fail(path + ":" + std::to_string(e.source().begin.line) + ":" +
                std::to_string(e.source().begin.column) + ": " + std::string(e.description()));
  }
  Settings s;
  Parser p(path, &s);
  if (auto r = p.top(parsed.table()); !r) {
    return fail(r.error());
  }
  return s;
}

Result<std::string, std::string> read_config_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    return fail(path + ": cannot open: " + std::strerror(errno));
  }
  std::ostringstream text;
  text << f.rdbuf();
  if (f.bad()) {
    return fail(path + ": cannot read: " + std::strerror(errno));
  }
  return text.str();
}

Result<Settings, std::string> load_config_file(const std::string& path) {
  auto text = read_config_file(path);
  if (!text) {
    return fail(text.error());
  }
  return parse_config(*text, path);
}

}  // namespace linetls::app
