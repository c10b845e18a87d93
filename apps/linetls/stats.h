// One walk over every counter of the process: the workers' (engine, net, tcp, tls with its
// alerts, stream, the apps summed per kind, cycles) and the port's. The exit printout
// ("counter worker=N group.name value" lines), DPDK telemetry (telemetry.h), GET /metrics
// (metrics.h) and the --stats-interval line (control.h) all read through it.
//
// Reading while the workers run (Reading::kLive, the control and telemetry threads) uses
// only plain 64-bit loads of the workers' counter arrays (lib/base/counters.h): no walk of
// a worker's containers, so TLS record and byte counts of sessions still open appear when
// they close. Whoever reads live must do so only while the workers exist (main starts the
// control thread and publishes the telemetry source after creating the workers, and stops
// both before destroying them).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "apps/linetls/metrics.h"
#include "lib/engine/worker.h"
#include "lib/net/port.h"

struct rte_mempool;

namespace linetls::app {

struct StatsSource {
  const std::vector<std::unique_ptr<engine::Worker>>* workers = nullptr;
  const net::Port* port = nullptr;
  std::vector<std::pair<std::string, rte_mempool*>> pools;  // by name, for gauges
};

enum class Reading : uint8_t {
  kLive,   // workers running: counters_without_live() for TLS
  kFinal,  // workers stopped: everything, including open sessions' stats
};

// Calls f(worker, name, value) for every counter: worker >= 0 with "group.name" names
// ("tls.handshakes", "tls.alert_sent.bad_record_mac", "proxy.clients", "tls.generation"),
// then worker -1 for "engine.tsc_hz" and "port.*".
void walk_counters(const StatsSource& src, Reading reading,
                   const std::function<void(int, std::string_view, uint64_t)>& f);

// The walk as samples (metrics.h), and the mempool gauges.
std::vector<CounterSample> collect_counters(const StatsSource& src, Reading reading);
std::vector<GaugeSample> collect_gauges(const StatsSource& src);

// The exit printout on stdout (Reading::kFinal).
void print_counters(const StatsSource& src);

}  // namespace linetls::app
