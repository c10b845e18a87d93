// What linetls-perf prints (h2load's shape): a progress line per interval while it runs,
// then a summary a person reads at a glance, and the same results as one JSON object for
// scripts and plots (--json).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "apps/linetls-perf/histogram.h"
#include "apps/linetls-perf/perf_options.h"

namespace linetls::perf {

// One progress interval: the counts are what happened during it.
struct Second {
  double t_s = 0;  // end of the interval, seconds since the measurement started
  uint64_t connects = 0;
  uint64_t handshakes = 0;
  uint64_t requests = 0;
  uint64_t bytes_rx = 0;  // payload bytes (TLS plaintext; TCP payload in plain mode)
  uint64_t bytes_tx = 0;
  uint64_t errors = 0;
  uint32_t in_flight = 0;  // at the end of the interval
};

struct Results {
  PerfOptions options;
  std::string server_label;  // how the server is named in the report, e.g. "10.99.0.1:443"
  double elapsed_s = 0;      // measured time, the denominator of every rate
  uint64_t connects = 0;
  uint64_t handshakes = 0;
  uint64_t resumed = 0;  // handshakes that resumed a session (of handshakes)
  uint64_t requests = 0;
  uint64_t bytes_rx = 0;
  uint64_t bytes_tx = 0;
  std::map<std::string, uint64_t> errors;  // by kind: "refused", "timeout", "overload", ...
  // Latencies in ns, from the connection's (intended, in open loop) start to: TCP
  // established, handshake complete, first byte of the first response.
  Histogram connect;
  Histogram handshake;
  Histogram first_byte;
  std::vector<Second> seconds;
  std::map<std::string, uint64_t> counters;  // engine counters of the generator's own worker
};

// Returns one line for one interval of interval_s seconds, without a newline:
// "t=3.0s conn/s=1200, hs/s=1198, req/s=0, Gbit/s rx=0.012 tx=0.003, errors=0, in_flight=64".
std::string progress_line(const Second& s, double interval_s);

// Returns the human summary: totals and rates over elapsed_s, throughput, the latency
// table (p50/p90/p99/p99.9/max in microseconds), errors by kind, counters. Several lines,
// each ending in a newline.
std::string summary(const Results& r);

// Returns r as one JSON object on one line (no trailing newline): the options, totals,
// rates, each latency's count, mean and percentiles in microseconds with its non-empty
// buckets as [lo_ns, hi_ns, count] triples, the per-interval series, errors and counters.
// Strings that are not UTF-8 are written with U+FFFD in place of the bad bytes.
std::string to_json(const Results& r);

}  // namespace linetls::perf
