// The linetls config file: TOML (toml++), the same settings as the command line plus
// per-service tables. docs/linetls.example.toml shows every key.
//
// A key is its flag's name without the dashes, '-' written '_' (--idle-timeout-ms is
// idle_timeout_ms; --stats-interval is stats_interval; --mem is mem). Repeatable flags
// take arrays: port = ["..."], serve = ["443=tls:http"], eal_args = ["-l", "0-1"],
// alpn = ["h2", "http/1.1"]; certificates = [{ cert = "a.pem", key = "a.key" }] stands for
// the --cert/--key pairs. [[service]] tables are the structured form of serve (both may be
// used; together they are the service list):
//
//   [[service]]
//   port = 443            app = "proxy"          tls = true
//   backends = ["10.0.0.5:8080"]   proxy_protocol = "v2"
//   connect_timeout_ms = 3000   backend_down_ms = 10000   idle_timeout_ms = 300000
//   certificates = [{ cert = "a.pem", key = "a.key" }]   alpn = ["http/1.1"]
//   client_ca = "ca.pem"   client_auth = "required"
//
// A service's own keys replace the global ones for it alone. Relative file names (cert,
// key, client_ca, ticket_key_file) are relative to the config file's directory. Every
// value is checked as its flag's value is; unknown keys, wrong types and keys that do not
// apply to a service (backends without app = "proxy", certificates without tls = true)
// are errors. Every error is one line: "FILE:LINE:COLUMN: KEY: what was expected".
//
// toml++ is used header-only with TOML_EXCEPTIONS=0 (config.cc alone includes it): its
// parse_result carries the error, nothing on this path throws but std::bad_alloc.
#pragma once

#include <string>
#include <string_view>

#include "apps/linetls/options.h"
#include "lib/base/result.h"

namespace linetls::app {

// Parses text, the contents of the config file at path (path names it in errors and
// anchors relative file names). Returns its settings, every one with its origin.
Result<Settings, std::string> parse_config(std::string_view text, const std::string& path);

// Returns the contents of the config file at path, or "PATH: cannot open: reason".
Result<std::string, std::string> read_config_file(const std::string& path);

// Reads and parses the config file at path.
Result<Settings, std::string> load_config_file(const std::string& path);

}  // namespace linetls::app
