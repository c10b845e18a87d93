#include "apps/linetls/stats.h"

#include <rte_mempool.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "lib/base/clock.h"
#include "lib/tls/errors.h"

namespace linetls::app {

void walk_counters(const StatsSource& src, Reading reading,
                   const std::function<void(int, std::string_view, uint64_t)>& f) {
  std::string name;
  auto with = [&](std::string_view group, std::string_view n) -> std::string_view {
    name.assign(group);
    name += '.';
    name += n;
    return name;
  };
  for (const auto& w : *src.workers) {
    const int id = w->id();
    w->counters().for_each([&](std::string_view n, uint64_t v) { f(id, with("engine", n), v); });
    w->stack().counters().for_each(
        [&](std::string_view n, uint64_t v) { f(id, with("net", n), v); });
    w->tcp().counters().for_each([&](std::string_view n, uint64_t v) { f(id, with("tcp", n), v); });
    if (const engine::TlsEngine* t = w->tls()) {
      const engine::TlsCounters c =
          reading == Reading::kFinal ? t->counters() : t->counters_without_live();
      c.for_each([&](std::string_view n, uint64_t v) { f(id, with("tls", n), v); });
      f(id, "tls.generation", t->generation());
      const engine::TlsAlertCounts a =
          reading == Reading::kFinal ? t->alerts_with_live() : t->alerts();
      for (unsigned d = 0; d < 256; d++) {
        const std::string_view alert = tls::alert_name(static_cast<uint8_t>(d));
        if (a.sent[d] != 0) {
          f(id, with("tls.alert_sent", alert), a.sent[d]);
        }
        if (a.received[d] != 0) {
          f(id, with("tls.alert_received", alert), a.received[d]);
        }
      }
    }
    w->tcp_streams().counters().for_each(
        [&](std::string_view n, uint64_t v) { f(id, with("stream", n), v); });
    // App counters, summed over the services of one kind ("proxy.clients").
    std::vector<std::pair<std::string, uint64_t>> app_counters;
    for (const auto& app : w->apps()) {
      app->for_each_counter([&](std::string_view n, uint64_t v) {
        for (auto& [known, sum] : app_counters) {
          if (known == n) {
            sum += v;
            return;
          }
        }
        app_counters.emplace_back(std::string(n), v);
      });
    }
    for (const auto& [n, v] : app_counters) {
      f(id, n, v);
    }
    w->phase_cycles().for_each(
        [&](std::string_view n, uint64_t v) { f(id, with("cycles", n), v); });
  }
  f(-1, "engine.tsc_hz", tsc_hz());
  const net::PortStats s = src.port->stats();
  f(-1, "port.rx_packets", s.rx_packets);
  f(-1, "port.tx_packets", s.tx_packets);
  f(-1, "port.rx_bytes", s.rx_bytes);
  f(-1, "port.tx_bytes", s.tx_bytes);
  f(-1, "port.rx_dropped", s.rx_dropped);
  f(-1, "port.tx_dropped", s.tx_dropped);
  f(-1, "port.tx_sw_cksum", s.tx_sw_cksum);
}

std::vector<CounterSample> collect_counters(const StatsSource& src, Reading reading) {
  std::vector<CounterSample> out;
  walk_counters(src, reading, [&](int w, std::string_view n, uint64_t v) {
    out.push_back({w, std::string(n), v});
  });
  return out;
}

std::vector<GaugeSample> collect_gauges(const StatsSource& src) {
  std::vector<GaugeSample> out;
  for (const auto& [name, mp] : src.pools) {
    const std::string labels = "pool=\"" + name + "\"";
    out.push_back({"linetls_mempool_in_use", labels, rte_mempool_in_use_count(mp),
                   "Mbufs taken from a pool (per-lcore caches count as in use)."});
  }
  for (const auto& [name, mp] : src.pools) {
    out.push_back(
        {"linetls_mempool_size", "pool=\"" + name + "\"", mp->size, "Mbufs a pool holds in all."});
  }
  return out;
}

void print_counters(const StatsSource& src) {
  // With several workers, each worker counter is also printed summed, after them, as
  // "total NAME VALUE" (a first word of its own: scripts that sum the "counter worker=N"
  // lines are not disturbed).
  std::vector<std::pair<std::string, uint64_t>> totals;
  int max_worker = -1;
  walk_counters(src, Reading::kFinal, [&](int w, std::string_view n, uint64_t v) {
    if (w >= 0) {
      std::printf("counter worker=%d %.*s %llu\n", w, static_cast<int>(n.size()), n.data(),
                  static_cast<unsigned long long>(v));
      max_worker = std::max(max_worker, w);
      auto it = std::find_if(totals.begin(), totals.end(),
                             [&](const auto& t) { return t.first == n; });
      if (it == totals.end()) {
        totals.emplace_back(std::string(n), v);
      } else {
        it->second += v;
      }
      return;
    }
    // "engine.tsc_hz" -> "counter engine tsc_hz N"; "port.rx_packets" -> "counter port ...".
    const size_t dot = n.find('.');
    std::printf("counter %.*s %.*s %llu\n", static_cast<int>(dot), n.data(),
                static_cast<int>(n.size() - dot - 1), n.data() + dot + 1,
                static_cast<unsigned long long>(v));
  });
  if (max_worker >= 1) {
    for (const auto& [n, v] : totals) {
      std::printf("total %s %llu\n", n.c_str(), static_cast<unsigned long long>(v));
    }
  }
  std::fflush(stdout);
}

}  // namespace linetls::app
