// DPDK telemetry commands (rte_telemetry_register_cmd), answered on EAL's telemetry thread
// through the socket <runtime dir>/dpdk_telemetry.v2 (/var/run/dpdk/linetls-<pid>/ in TAP
// mode), readable with dpdk-telemetry.py --file-prefix linetls-<pid>:
//
//   /linetls/stats    every counter summed over the workers: {"tls": {"handshakes": N,
//                     "suite/tls13_aes_128_gcm_sha256": N, "alert_sent/bad_record_mac": N,
//                     ...}, "tcp": {...}, "net", "engine", "stream", "proxy", "cycles",
//                     "port": {...}} (a name's '.' written '/'; telemetry keys allow [A-Za-z0-9_/])
//   /linetls/workers  per worker ("0", "1", ...): rx/tx frames, busy loops, TCP
//                     established, TLS handshakes, the TLS generation, proxy pairs alive
//   /linetls/tls      TLS: the generation in use, reloads done and failed, the ticket key
//                     source ("file" or "rotating"), profiles, handshakes by version
//   /linetls/config   the settings in force: tap/port, ip, workers, services, the config
//                     file, the ticket key file, metrics, stats_interval
//
// The callbacks read the workers' counters the way the control thread does (stats.h,
// Reading::kLive) and only while a source is published: main publishes it once the
// workers exist and withdraws it (under the same lock the callbacks hold) before they go.
// DPDK 22.11 has no way to unregister a command, so the commands stay and answer
// {"error": "not running"} outside that window.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "apps/linetls/stats.h"

namespace linetls::app {

// What /linetls/tls and /linetls/config report besides counters.
struct TelemetryInfo {
  std::vector<std::pair<std::string, std::string>> config;  // key -> value, in order
  size_t tls_profiles = 0;
  bool ticket_key_file = false;
  const std::atomic<uint64_t>* reloads_ok = nullptr;  // owned by the control thread
  const std::atomic<uint64_t>* reloads_failed = nullptr;
  const std::atomic<uint64_t>* generation = nullptr;  // the latest generation offered
};

// Registers the commands; once, after rte_eal_init. Returns false if EAL refused one.
bool register_telemetry();

// Publishes (src and info non-null) or withdraws (nullptr) what the commands read. Both
// must stay valid until withdrawn; withdrawing waits for a running callback to finish.
void set_telemetry_source(const StatsSource* src, const TelemetryInfo* info);

}  // namespace linetls::app
