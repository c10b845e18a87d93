// Prometheus text exposition (format 0.0.4) of the engine's counters, for --metrics.
//
// The input is the one counter walk (stats.h) that the exit printout and telemetry use:
// samples "group.name" per worker, and process-wide ones (worker -1). Names follow the
// Prometheus conventions: linetls_<group>_<name>_total for counters, with
// worker="N"; a few become labels of one family:
//   tls.tls13 / tls.tls12        linetls_tls_handshakes_total{version="1.3"|"1.2"}
//                                (their sum is the tls.handshakes counter)
//   tls.suite.X / tls.group.X    linetls_tls_suite_handshakes_total{suite="X"},
//                                linetls_tls_group_handshakes_total{group="X"}
//   tls.alert_sent.X / _received linetls_tls_alerts_sent_total{alert="X"}, ..._received_...
//   cycles.PHASE                 linetls_cycles_total{phase="PHASE"}
//   port.X                       linetls_port_X_total (no worker label)
// gauges:
//   tcp.curr_estab               linetls_tcp_connections{state="established"}
//   proxy.clients - pairs_closed linetls_proxy_pairs (live client/backend pairs)
//   tls.generation (per worker)  linetls_tls_generation (the material new handshakes use)
//   extra gauges (mempools)      linetls_mempool_in_use{pool}, linetls_mempool_size{pool}
//   engine.tsc_hz                linetls_tsc_hz
// and the batch-size buckets tls.open_batch.* / tls.seal_batch.* as histograms
// linetls_tls_open_batch_size and linetls_tls_seal_batch_size: cumulative
// _bucket{le="1"|"3"|"7"|"15"|"31"|"+Inf"}, _sum = tls.open_ops / seal_ops (records),
// _count = tls.open_batches / seal_batches.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace linetls::app {

struct CounterSample {
  int worker = -1;   // -1: process-wide
  std::string name;  // "tls.handshakes", "port.rx_packets"
  uint64_t value = 0;
};

struct GaugeSample {
  std::string family;  // "linetls_mempool_in_use"
  std::string labels;  // "pool=\"lt_tls_q0\"" (already escaped), or ""
  uint64_t value = 0;
  std::string help;
};

// Renders samples (in walk order) and extra gauges as the text GET /metrics returns.
std::string render_prometheus(const std::vector<CounterSample>& samples,
                              const std::vector<GaugeSample>& gauges);

}  // namespace linetls::app
