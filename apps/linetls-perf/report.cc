#include "apps/linetls-perf/report.h"

#include <nlohmann/json.hpp>

#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <iterator>

namespace linetls::perf {

namespace {

// The percentiles in the summary and the JSON report.
struct Pct {
  const char* label;
  double p;
};
constexpr Pct kPercentiles[] = {{"p50", 50}, {"p90", 90}, {"p99", 99}, {"p99.9", 99.9}};

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string format(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  va_list again;
  va_copy(again, ap);
  const int n = std::vsnprintf(nullptr, 0, fmt, ap);
  va_end(ap);
  std::string s(n > 0 ? static_cast<size_t>(n) : 0, '\0');
  if (n > 0) {
    std::vsnprintf(s.data(), s.size() + 1, fmt, again);
  }
  va_end(again);
  return s;
}

double per_s(uint64_t n, double s) { return s > 0 ? static_cast<double>(n) / s : 0.0; }
double gbit_per_s(uint64_t bytes, double s) {
  return s > 0 ? static_cast<double>(bytes) * 8 / s / 1e9 : 0.0;
}
double us(uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

uint64_t error_total(const Results& r) {
  uint64_t n = 0;
  for (const auto& [kind, count] : r.errors) {
    n += count;
  }
  return n;
}

// "handshake, TLS 1.3 TLS_AES_128_GCM_SHA256 x25519" or "plain, TCP only".
std::string what(const PerfOptions& o) {
  std::string s = mode_name(o.mode);
  if (o.mode == Mode::kPlain) {
    return s + ", no TLS";
  }
  s += std::string(", TLS ") + tls_version_name(o.tls_version) + " " +
       (o.suite.empty() ? std::string("any suite") : o.suite) + " " + group_name(o.group);
  return s;
}

std::string latency_row(const char* name, const Histogram& h) {
  std::string row = format("  %-11s", name);
  if (h.count() == 0) {
    for (size_t i = 0; i < std::size(kPercentiles) + 2; i++) {
      row += format(" %10s", "-");
    }
  } else {
    for (const Pct& p : kPercentiles) {
      row += format(" %10.1f", us(h.percentile(p.p)));
    }
    row += format(" %10.1f %10.1f", us(h.max()), h.mean() / 1000.0);
  }
  return row + format(" %10" PRIu64 "\n", h.count());
}

nlohmann::json latency_json(const Histogram& h) {
  nlohmann::json j;
  j["count"] = h.count();
  j["min"] = us(h.min());
  j["mean"] = h.mean() / 1000.0;
  for (const Pct& p : kPercentiles) {
    j[p.label] = us(h.percentile(p.p));
  }
  j["max"] = us(h.max());
  nlohmann::json buckets = nlohmann::json::array();
  h.for_each_bucket([&](uint64_t lo, uint64_t hi, uint64_t count) {
    buckets.push_back(nlohmann::json::array({lo, hi, count}));
  });
  j["buckets_ns"] = std::move(buckets);
  return j;
}

nlohmann::json options_json(const PerfOptions& o) {
  nlohmann::json j;
  j["mode"] = mode_name(o.mode);
  j["tls"] = tls_version_name(o.tls_version);
  j["suite"] = o.suite.empty() ? nlohmann::json(nullptr) : nlohmann::json(o.suite);
  j["group"] = group_name(o.group);
  j["port"] = o.port ? nlohmann::json(o.port->spec) : nlohmann::json(nullptr);
  j["tap"] = o.tap ? nlohmann::json(*o.tap) : nlohmann::json(nullptr);
  j["ip"] = o.ip.str();
  j["gateway"] = o.gateway ? nlohmann::json(o.gateway->str()) : nlohmann::json(nullptr);
  j["target"] = o.target.str();
  j["connections"] = o.connections;
  j["rate"] = o.rate ? nlohmann::json(*o.rate) : nlohmann::json(nullptr);
  j["size"] = o.size;
  j["requests"] = o.requests;
  j["duration_s"] = o.duration_s;
  j["warmup_s"] = o.warmup_s;
  j["verify"] = o.verify_ca ? nlohmann::json(*o.verify_ca) : nlohmann::json(nullptr);
  j["sni"] = o.sni ? nlohmann::json(*o.sni) : nlohmann::json(nullptr);
  j["busy_poll"] = o.busy_poll;
  return j;
}

}  // namespace

std::string progress_line(const Second& s, double interval_s) {
  return format(
      "t=%.1fs conn/s=%.0f, hs/s=%.0f, req/s=%.0f, Gbit/s rx=%.3f tx=%.3f, "
      "errors=%" PRIu64 ", in_flight=%" PRIu32,
      s.t_s, per_s(s.connects, interval_s), per_s(s.handshakes, interval_s),
      per_s(s.requests, interval_s), gbit_per_s(s.bytes_rx, interval_s),
      gbit_per_s(s.bytes_tx, interval_s), s.errors, s.in_flight);
}

std::string summary(const Results& r) {
  const PerfOptions& o = r.options;
  const double t = r.elapsed_s;
  std::string s = "linetls-perf: " + what(o) + ", server " + r.server_label + "\n";
  if (o.rate) {
    s += format("  open loop: %.6g connections/s, at most %" PRIu32 " in flight; %.2f s measured\n",
                *o.rate, o.connections, t);
  } else {
    s += format("  closed loop: %" PRIu32 " connections; %.2f s measured\n", o.connections, t);
  }
  s += "\n";
  s += format("  %-11s %14s %14s\n", "", "total", "per second");
  s += format("  %-11s %14" PRIu64 " %14.1f\n", "connects", r.connects, per_s(r.connects, t));
  s += format("  %-11s %14" PRIu64 " %14.1f   (resumed %" PRIu64 ")\n", "handshakes", r.handshakes,
              per_s(r.handshakes, t), r.resumed);
  s += format("  %-11s %14" PRIu64 " %14.1f\n", "requests", r.requests, per_s(r.requests, t));
  s += format("  %-11s %14" PRIu64 " %14.3f Gbit/s\n", "bytes rx", r.bytes_rx,
              gbit_per_s(r.bytes_rx, t));
  s += format("  %-11s %14" PRIu64 " %14.3f Gbit/s\n", "bytes tx", r.bytes_tx,
              gbit_per_s(r.bytes_tx, t));
  s += format("  %-11s %14" PRIu64 " %14.1f\n", "errors", error_total(r), per_s(error_total(r), t));
  s += "\n";
  s += format("  %-11s", "latency us");
  for (const Pct& p : kPercentiles) {
    s += format(" %10s", p.label);
  }
  s += format(" %10s %10s %10s\n", "max", "mean", "count");
  s += latency_row("connect", r.connect);
  s += latency_row("handshake", r.handshake);
  s += latency_row("first byte", r.first_byte);
  if (!r.errors.empty()) {
    s += "\n  errors by kind\n";
    for (const auto& [kind, count] : r.errors) {
      s += format("    %-24s %14" PRIu64 "\n", kind.c_str(), count);
    }
  }
  if (!r.counters.empty()) {
    s += "\n  counters\n";
    for (const auto& [name, value] : r.counters) {
      s += format("    %-24s %14" PRIu64 "\n", name.c_str(), value);
    }
  }
  return s;
}

std::string to_json(const Results& r) {
  const double t = r.elapsed_s;
  nlohmann::json j;
  j["options"] = options_json(r.options);
  j["server"] = r.server_label;
  j["elapsed_s"] = t;
  j["totals"] = {
      {"connects", r.connects},   {"handshakes", r.handshakes}, {"resumed", r.resumed},
      {"requests", r.requests},   {"bytes_rx", r.bytes_rx},     {"bytes_tx", r.bytes_tx},
      {"errors", error_total(r)},
  };
  j["rates"] = {
      {"connects_per_s", per_s(r.connects, t)},     {"handshakes_per_s", per_s(r.handshakes, t)},
      {"requests_per_s", per_s(r.requests, t)},     {"rx_gbit_per_s", gbit_per_s(r.bytes_rx, t)},
      {"tx_gbit_per_s", gbit_per_s(r.bytes_tx, t)},
  };
  j["latency_us"] = {
      {"connect", latency_json(r.connect)},
      {"handshake", latency_json(r.handshake)},
      {"first_byte", latency_json(r.first_byte)},
  };
  nlohmann::json seconds = nlohmann::json::array();
  for (const Second& s : r.seconds) {
    seconds.push_back({{"t_s", s.t_s},
                       {"connects", s.connects},
                       {"handshakes", s.handshakes},
                       {"requests", s.requests},
                       {"bytes_rx", s.bytes_rx},
                       {"bytes_tx", s.bytes_tx},
                       {"errors", s.errors},
                       {"in_flight", s.in_flight}});
  }
  j["seconds"] = std::move(seconds);
  j["errors"] = nlohmann::json::object();
  for (const auto& [kind, count] : r.errors) {
    j["errors"][kind] = count;
  }
  j["counters"] = nlohmann::json::object();
  for (const auto& [name, value] : r.counters) {
    j["counters"][name] = value;
  }
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace linetls::perf
