#include "apps/linetls/telemetry.h"

#include <rte_telemetry.h>

#include <map>
#include <mutex>

namespace linetls::app {
namespace {

std::mutex g_mu;  // held by every callback and by set_telemetry_source
const StatsSource* g_src = nullptr;
const TelemetryInfo* g_info = nullptr;

// Telemetry dict keys allow [A-Za-z0-9_/]: "alert_sent.bad_record_mac" -> "alert_sent/...".
std::string key(std::string_view name) {
  std::string k(name);
  for (char& c : k) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '/';
    if (!ok) {
      c = c == '.' ? '/' : '_';
    }
  }
  return k;
}

int not_running(rte_tel_data* d) {
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "error", "not running");
  return 0;
}

// /linetls/stats: {group: {name: sum over workers}}.
int cmd_stats(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_src == nullptr) {
    return not_running(d);
  }
  std::map<std::string, std::vector<std::pair<std::string, uint64_t>>> groups;
  walk_counters(*g_src, Reading::kLive, [&](int, std::string_view n, uint64_t v) {
    const size_t dot = n.find('.');
    if (n == "tls.generation") {
      return;  // a gauge per worker: /linetls/workers and /linetls/tls
    }
    auto& list = groups[std::string(n.substr(0, dot))];
    const std::string k = key(n.substr(dot + 1));
    for (auto& [known, sum] : list) {
      if (known == k) {
        sum += v;
        return;
      }
    }
    list.emplace_back(k, v);
  });
  rte_tel_data_start_dict(d);
  for (const auto& [group, list] : groups) {
    rte_tel_data* g = rte_tel_data_alloc();
    if (g == nullptr) {
      return -ENOMEM;
    }
    rte_tel_data_start_dict(g);
    for (size_t i = 0; i < list.size() && i < RTE_TEL_MAX_DICT_ENTRIES; i++) {
      rte_tel_data_add_dict_u64(g, list[i].first.c_str(), list[i].second);
    }
    rte_tel_data_add_dict_container(d, key(group).c_str(), g, 0);
  }
  return 0;
}

// /linetls/workers: {"N": {a few counters of worker N}}.
int cmd_workers(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_src == nullptr) {
    return not_running(d);
  }
  static constexpr std::string_view kShown[] = {
      "engine.rx_frames",   "engine.tx_frames",       "engine.loops",           "engine.busy_loops",
      "engine.busy_cycles", "tcp.curr_estab",         "tcp.passive_opens",      "tcp.active_opens",
      "tls.handshakes",     "tls.handshakes_resumed", "tls.handshake_failures", "tls.generation",
      "proxy.clients",      "proxy.pairs_closed"};
  std::map<int, std::vector<std::pair<std::string, uint64_t>>> workers;
  walk_counters(*g_src, Reading::kLive, [&](int w, std::string_view n, uint64_t v) {
    if (w < 0) {
      return;
    }
    for (std::string_view s : kShown) {
      if (s == n) {
        workers[w].emplace_back(
            key(n.substr(0, n.find('.'))) + "_" + key(n.substr(n.find('.') + 1)), v);
      }
    }
  });
  rte_tel_data_start_dict(d);
  for (const auto& [w, list] : workers) {
    rte_tel_data* c = rte_tel_data_alloc();
    if (c == nullptr) {
      return -ENOMEM;
    }
    rte_tel_data_start_dict(c);
    for (const auto& [k, v] : list) {
      rte_tel_data_add_dict_u64(c, k.c_str(), v);
    }
    rte_tel_data_add_dict_container(d, std::to_string(w).c_str(), c, 0);
  }
  return 0;
}

// /linetls/tls.
int cmd_tls(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_src == nullptr) {
    return not_running(d);
  }
  uint64_t handshakes = 0, tls13 = 0, tls12 = 0, resumed = 0, failures = 0;
  uint64_t lowest_generation = UINT64_MAX;
  walk_counters(*g_src, Reading::kLive, [&](int, std::string_view n, uint64_t v) {
    handshakes += n == "tls.handshakes" ? v : 0;
    tls13 += n == "tls.tls13" ? v : 0;
    tls12 += n == "tls.tls12" ? v : 0;
    resumed += n == "tls.handshakes_resumed" ? v : 0;
    failures += n == "tls.handshake_failures" ? v : 0;
    if (n == "tls.generation" && v < lowest_generation) {
      lowest_generation = v;
    }
  });
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_u64(d, "generation_offered", g_info->generation->load());
  rte_tel_data_add_dict_u64(d, "generation_in_use",
                            lowest_generation == UINT64_MAX ? 0 : lowest_generation);
  rte_tel_data_add_dict_u64(d, "reloads", g_info->reloads_ok->load());
  rte_tel_data_add_dict_u64(d, "reload_failures", g_info->reloads_failed->load());
  rte_tel_data_add_dict_string(d, "ticket_keys", g_info->ticket_key_file ? "file" : "rotating");
  rte_tel_data_add_dict_u64(d, "profiles", g_info->tls_profiles);
  rte_tel_data_add_dict_u64(d, "handshakes", handshakes);
  rte_tel_data_add_dict_u64(d, "tls13", tls13);
  rte_tel_data_add_dict_u64(d, "tls12", tls12);
  rte_tel_data_add_dict_u64(d, "resumed", resumed);
  rte_tel_data_add_dict_u64(d, "handshake_failures", failures);
  return 0;
}

// /linetls/config.
int cmd_config(const char*, const char*, rte_tel_data* d) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_src == nullptr) {
    return not_running(d);
  }
  rte_tel_data_start_dict(d);
  for (const auto& [k, v] : g_info->config) {
    rte_tel_data_add_dict_string(d, key(k).c_str(), v.c_str());
  }
  return 0;
}

}  // namespace

bool register_telemetry() {
  bool ok = true;
  ok &= rte_telemetry_register_cmd("/linetls/stats", cmd_stats,
                                   "Every counter summed over the workers, by group") == 0;
  ok &= rte_telemetry_register_cmd("/linetls/workers", cmd_workers,
                                   "Per-worker traffic, TCP, TLS and proxy figures") == 0;
  ok &=
      rte_telemetry_register_cmd("/linetls/tls", cmd_tls,
                                 "TLS: material generation, reloads, ticket keys, handshakes") == 0;
  ok &= rte_telemetry_register_cmd("/linetls/config", cmd_config, "The settings in force") == 0;
  return ok;
}

void set_telemetry_source(const StatsSource* src, const TelemetryInfo* info) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_src = src;
  g_info = info;
}

}  // namespace linetls::app
