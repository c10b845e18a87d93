// linetls: the terminator. Sets up the EAL and the port, runs one Worker per lcore and the
// control thread (control.h: SIGHUP reloads, ticket key file, --metrics, --stats-interval),
// registers the telemetry commands (telemetry.h), prints "ready", and on SIGINT/SIGTERM
// stops, prints every counter (stats.h) and releases the port (which removes the TAP
// interface). --check-config loads everything a start would, then exits.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>

#include <algorithm>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/linetls/control.h"
#include "apps/linetls/options.h"
#include "apps/linetls/stats.h"
#include "apps/linetls/telemetry.h"
#include "apps/linetls/tls_material.h"
#include "drivers/dpdk/eal.h"
#include "drivers/dpdk/port.h"
#include "drivers/ipsecmb/ipsecmb_aead.h"
#include "drivers/ossl/ossl_aead.h"
#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/crypto/rng.h"
#include "lib/engine/pk_offload.h"
#include "lib/engine/worker.h"

namespace linetls::app {
namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

struct LaunchArg {
  engine::Worker* worker;
};

int worker_main(void* arg) {
  static_cast<LaunchArg*>(arg)->worker->run(g_stop);
  return 0;
}

// Removes runtime directories left by linetls processes that no longer exist (a killed
// engine), so /var/run/dpdk does not fill up across runs. Ours are "linetls-<pid>".
void remove_stale_runtime_dirs() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/var/run/dpdk", ec)) {
    const std::string name = e.path().filename().string();
    if (!name.starts_with("linetls-")) {
      continue;
    }
    const std::string pid = name.substr(8);
    if (pid.empty() || pid.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    if (!std::filesystem::exists("/proc/" + pid, ec)) {
      std::filesystem::remove_all(e.path(), ec);
    }
  }
}

bool has_arg(const std::vector<std::string>& args, std::string_view a) {
  for (const auto& s : args) {
    if (s == a || s.starts_with(std::string(a) + "=")) {
      return true;
    }
  }
  return false;
}

// The value of --file-prefix=X or --file-prefix X in args.
std::string user_file_prefix(const std::vector<std::string>& args) {
  for (size_t i = 0; i < args.size(); i++) {
    if (args[i].starts_with("--file-prefix=")) {
      return args[i].substr(14);
    }
    if (args[i] == "--file-prefix" && i + 1 < args.size()) {
      return args[i + 1];
    }
  }
  return {};
}

bool is_handshake_lcore(const Options& o, unsigned lcore) {
  return std::find(o.handshake_lcores.begin(), o.handshake_lcores.end(), lcore) !=
         o.handshake_lcores.end();
}

// The EAL lcore list: --lcores, or the workers' lcores (the first --workers ids that are
// not handshake lcores) and the handshake lcores.
std::string default_lcores(const Options& o) {
  if (o.lcores) {
    return *o.lcores;
  }
  std::string list;
  unsigned placed = 0;
  for (unsigned l = 0; placed < o.workers; l++) {
    if (!is_handshake_lcore(o, l)) {
      list += (list.empty() ? "" : ",") + std::to_string(l);
      placed++;
    }
  }
  for (unsigned l : o.handshake_lcores) {
    list += "," + std::to_string(l);
  }
  return list;
}

// Records of up to 2^14 content bytes plus header, inner type and tag, in one mbuf.
constexpr uint16_t kTlsRecordRoom = RTE_PKTMBUF_HEADROOM + 16384 + 64;
constexpr unsigned kTlsRecordMbufs = 2047;  // per worker (~34 MiB)

// The worker's AEAD batch: ipsec-mb, or OpenSSL's EVP when ipsec-mb cannot initialise.
std::unique_ptr<crypto::AeadBatch> make_aead_batch(uint32_t capacity) {
  auto b = ipsecmb::IpsecMbAeadBatch::create(capacity);
  if (b) {
    return std::move(b).value();
  }
  LT_WARN("ipsec-mb: %s; using OpenSSL EVP for record protection",
          crypto::aead_error_name(b.error()));
  auto o = ossl::OsslAeadBatch::create(capacity);
  if (o) {
    return std::move(o).value();
  }
  LT_ERROR("OpenSSL AEAD: %s", crypto::aead_error_name(o.error()));
  return nullptr;
}

// A listening TCP socket on addr for --metrics (non-blocking accept), or a one-line reason.
Result<int, std::string> listen_metrics(const ListenAddr& addr) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return fail("--metrics " + addr.str() + ": socket: " + std::strerror(errno));
  }
  const int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(addr.port);
  sa.sin_addr.s_addr = htonl(addr.ip.v);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 || listen(fd, 16) != 0) {
    const std::string why = std::strerror(errno);
    close(fd);
    return fail("--metrics " + addr.str() + ": cannot listen: " + why);
  }
  return fd;
}

// The self-signed certificate for TLS profiles without files, or a one-line reason.
Result<std::shared_ptr<const crypto::CertifiedKey>, std::string> make_self_signed(const Options& o,
                                                                                  bool announce) {
  const std::string ip = o.ip.addr.str();
  const std::string_view sans[] = {ip, "localhost"};
  auto k = crypto::CertifiedKey::self_signed("linetls", sans);
  if (!k) {
    return fail("self-signed certificate: " + std::string(crypto::to_string(k.error())));
  }
  if (announce) {
    std::fprintf(stderr,
                 "linetls: no --cert given: generated a self-signed ECDSA P-256 certificate "
                 "(CN=linetls, SAN %s, localhost)\n",
                 ip.c_str());
  }
  return std::make_shared<const crypto::CertifiedKey>(std::move(k).value());
}

// --check-config: everything a start loads, without starting. Exit status 0 or 2.
int check_config(const Options& o) {
  std::shared_ptr<const crypto::CertifiedKey> self_signed;
  if (needs_self_signed(o)) {
    auto k = make_self_signed(o, false);
    if (!k) {
      std::fprintf(stderr, "linetls: %s\n", k.error().c_str());
      return 2;
    }
    self_signed = std::move(k).value();
  }
  auto g = load_tls_generation(o, 1, self_signed);
  if (!g) {
    std::fprintf(stderr, "linetls: %s\n", g.error().c_str());
    return 2;
  }
  std::printf("linetls: %s: ok (%zu services, %zu TLS profiles%s)\n", o.config_file->c_str(),
              o.services.size(), o.tls_profiles.size(),
              o.ticket_key_file ? ", ticket key file" : "");
  return 0;
}

// What /linetls/config reports.
std::vector<std::pair<std::string, std::string>> config_summary(const Options& o,
                                                                unsigned workers) {
  std::string services;
  for (const auto& svc : o.services) {
    services +=
        (services.empty() ? "" : " ") + std::to_string(svc.port) + "=" + engine::to_string(svc);
  }
  return {{"tap", o.tap.value_or("")},
          {"port", o.ports.empty() ? "" : o.ports.front().spec},
          {"ip", o.ip.str()},
          {"workers", std::to_string(workers)},
          {"services", services},
          {"tls_profiles", std::to_string(o.tls_profiles.size())},
          {"config_file", o.config_file.value_or("")},
          {"ticket_key_file", o.ticket_key_file.value_or("")},
          {"metrics", o.metrics ? o.metrics->str() : ""},
          {"stats_interval", std::to_string(o.stats_interval_s)}};
}

int run(int argc, char** argv) {
  // Before EAL creates any thread: every thread inherits SIGHUP blocked (the control
  // thread takes it from a signalfd), and the CPUs we may use before EAL pins this one.
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &hup, nullptr);
  cpu_set_t initial_cpus;
  CPU_ZERO(&initial_cpus);
  sched_getaffinity(0, sizeof(initial_cpus), &initial_cpus);

  auto parsed = parse_options(argc, argv);
  if (!parsed) {
    std::fprintf(stderr, "linetls: %s\n", parsed.error().c_str());
    return 2;
  }
  Options o = std::move(parsed).value();
  if (o.help) {
    std::fputs(usage(), stdout);
    return 0;
  }
  set_log_level(static_cast<LogLevel>(o.log_level));
  if (o.check_config) {
    return check_config(o);
  }

  // TLS material before anything else, so a bad file is a configuration error (exit 2):
  // generation 1 of what the workers serve (tls_material.h); SIGHUP makes the next ones.
  std::shared_ptr<const crypto::CertifiedKey> self_signed;
  std::shared_ptr<const engine::TlsGeneration> generation;
  std::array<uint8_t, 32> ticket_master{};
  if (has_tls_service(o)) {
    if (needs_self_signed(o)) {
      auto k = make_self_signed(o, true);
      if (!k) {
        std::fprintf(stderr, "linetls: %s\n", k.error().c_str());
        return 1;
      }
      self_signed = std::move(k).value();
    }
    auto g = load_tls_generation(o, 1, self_signed);
    if (!g) {
      std::fprintf(stderr, "linetls: %s\n", g.error().c_str());
      return 2;
    }
    generation = std::move(g).value();
    if (!crypto::os_rng().fill_private(ticket_master)) {
      std::fprintf(stderr, "linetls: cannot draw the ticket key master secret\n");
      return 1;
    }
  }
  int metrics_fd = -1;
  if (o.metrics) {
    auto fd = listen_metrics(*o.metrics);
    if (!fd) {
      std::fprintf(stderr, "linetls: %s\n", fd.error().c_str());
      return 2;
    }
    metrics_fd = *fd;
  }

  std::string prefix = "linetls-" + std::to_string(getpid());
  std::vector<std::string> eal;
  std::string device;
  if (o.tap) {
    remove_stale_runtime_dirs();
    eal = dpdk::tap_mode_eal_args(argv[0], *o.tap, prefix, default_lcores(o), o.mem_mb);
    eal.insert(eal.end(), o.eal_args.begin(), o.eal_args.end());
    device = "net_tap0";
  } else {
    eal.push_back(argv[0]);
    eal.insert(eal.end(), o.eal_args.begin(), o.eal_args.end());
    if (!has_arg(eal, "-l") && !has_arg(eal, "--lcores")) {
      eal.push_back("-l");
      eal.push_back(default_lcores(o));
    }
    if (!has_arg(eal, "--file-prefix")) {
      eal.push_back("--file-prefix=" + prefix);
    } else {
      prefix = user_file_prefix(eal);  // clean up the runtime directory we actually used
    }
    const PortSpec& p = o.ports.front();
    eal.push_back(p.is_pci ? "-a" : "--vdev");
    eal.push_back(p.spec);
    device = p.device;
  }

  if (auto r = dpdk::eal_init(eal); !r) {
    std::fprintf(stderr, "linetls: EAL: %s\n", r.error().c_str());
    if (metrics_fd >= 0) {
      close(metrics_fd);
    }
    return 1;
  }
  if (!register_telemetry()) {
    LT_WARN("telemetry: cannot register the /linetls commands");
  }
  // Every EAL lcore runs a worker, except the handshake lcores (--handshake-lcores).
  for (unsigned l : o.handshake_lcores) {
    if (!rte_lcore_is_enabled(l) || l == rte_get_main_lcore()) {
      std::fprintf(stderr, "linetls: --handshake-lcores: lcore %u is %s\n", l,
                   rte_lcore_is_enabled(l) ? "the main lcore (it runs a worker)"
                                           : "not in the EAL lcore list");
      dpdk::eal_cleanup(prefix);
      return 1;
    }
  }
  const unsigned num_workers =
      rte_lcore_count() - static_cast<unsigned>(o.handshake_lcores.size());

  int rc = 0;
  {
    dpdk::PortConfig pc;
    pc.device = device;
    pc.num_queues = static_cast<uint16_t>(num_workers);
    // Per queue: TCP keeps unacknowledged data and held out-of-order segments as mbufs,
    // and ARP holds frames for unresolved neighbours; 32K buffers (~70 MiB) per queue.
    pc.mbufs_per_queue = 32768;
    // net_tap (DPDK 22.11) gets offloaded TCP checksums of chained frames wrong: the odd-
    // segment case is patched in DpdkPort::tx_burst, but the kernel still counted
    // TcpInCsumErrors under the tap_tcp SYN-flood echo, which then stalled. In TAP mode the
    // stack computes every checksum itself (the path the wire tests cover).
    pc.want_cksum_offload = !o.tap;
    auto port_or = dpdk::DpdkPort::open(pc);
    if (!port_or) {
      std::fprintf(stderr, "linetls: port: %s\n", port_or.error().c_str());
      dpdk::eal_cleanup(prefix);
      return 1;
    }
    std::unique_ptr<dpdk::DpdkPort> port = std::move(port_or).value();
    if (port->caps().num_queues < num_workers) {
      std::fprintf(stderr, "linetls: port: %s offers %u queues, %u workers asked\n",
                   device.c_str(), port->caps().num_queues, num_workers);
      port.reset();
      dpdk::eal_cleanup(prefix);
      return 1;
    }
    if (o.tap) {
      if (auto r = dpdk::configure_kernel_if(*o.tap, o.host_ip); !r) {
        std::fprintf(stderr, "linetls: tap: %s\n", r.error().c_str());
        port.reset();
        dpdk::eal_cleanup(prefix);
        return 1;
      }
    }
    if (!port->wait_link_up(3000)) {
      LT_WARN("link of %s is not up yet; continuing", device.c_str());
    }

    // TLS: one pool of big mbufs per worker for full-size records, the settings all workers
    // share (each makes its own batch, ticket keys and ServerConfig13 from them).
    std::vector<rte_mempool*> record_pools;
    engine::TlsSettings tls;
    if (has_tls_service(o)) {
      tls.generation = generation;
      tls.tls_min = o.tls_min;
      tls.tls_max = o.tls_max;
      tls.handshake_timeout_ms = o.handshake_timeout_ms;
      tls.tls13_psk_ke = o.tls13_psk_ke;
      tls.ems_policy = o.tls12_ems_required ? tls::v12::EmsPolicy::kRequired
                                            : tls::v12::EmsPolicy::kPreferred;
      tls.ticket_rotation_s = o.ticket_rotation_s;
      if (o.key_update_records) {
        tls.key_update_records = *o.key_update_records;
      }
      tls.ticket_master = ticket_master;
      tls.make_batch = make_aead_batch;
      for (unsigned i = 0; i < num_workers; i++) {
        const std::string name = "lt_tls_q" + std::to_string(i);
        rte_mempool* mp = rte_pktmbuf_pool_create(name.c_str(), kTlsRecordMbufs, 64, 0,
                                                  kTlsRecordRoom, rte_socket_id());
        if (mp == nullptr) {
          std::fprintf(stderr, "linetls: cannot create mempool %s (%u x %u bytes)\n",
                       name.c_str(), kTlsRecordMbufs, unsigned{kTlsRecordRoom});
          for (rte_mempool* p : record_pools) {
            rte_mempool_free(p);
          }
          port.reset();
          dpdk::eal_cleanup(prefix);
          return 1;
        }
        record_pools.push_back(mp);
      }
      if (auto probe = make_aead_batch(1)) {
        LT_INFO("tls: record protection by %s", probe->impl_name());
      }
    }

    // Handshake lcores: one request and one completion ring per (worker, lcore) pair.
    std::unique_ptr<engine::PkOffload> offload;
    if (!o.handshake_lcores.empty() && !record_pools.empty()) {
      engine::PkOffloadConfig pc2;
      pc2.workers = num_workers;
      pc2.lcores = static_cast<uint32_t>(o.handshake_lcores.size());
      pc2.busy_poll = o.busy_poll;
      auto off = engine::PkOffload::create(pc2);
      if (!off) {
        std::fprintf(stderr, "linetls: --handshake-lcores: %s\n", off.error().c_str());
        return 1;
      }
      offload = std::move(off).value();
      tls.pk_offload = offload.get();
    }
    std::vector<std::unique_ptr<engine::Worker>> workers;
    for (unsigned i = 0; i < num_workers; i++) {
      engine::WorkerConfig wc;
      wc.id = static_cast<uint16_t>(i);
      wc.num_queues = static_cast<uint16_t>(num_workers);
      wc.stack.ip = o.ip;
      wc.stack.gateway = o.gateway;
      wc.tcp.mss = static_cast<uint16_t>(port->caps().mtu - 40);
      wc.tcp.idle_timeout_ms = o.idle_timeout_ms;
      wc.tcp.keepalive_ms = o.keepalive_ms;
      wc.tcp.persist_timeout_ms = o.persist_timeout_ms;
      wc.services = o.services;
      wc.idle.busy_poll = o.busy_poll;
      if (!record_pools.empty()) {
        wc.tls = tls;
        wc.tls.record_pool = record_pools[i];
        wc.tls.pk_worker = i;
      }
      auto w = engine::Worker::create(wc, *port);
      if (!w) {
        std::fprintf(stderr, "linetls: %s\n", w.error().c_str());
        workers.clear();
        for (rte_mempool* p : record_pools) {
          rte_mempool_free(p);
        }
        port.reset();
        dpdk::eal_cleanup(prefix);
        return 1;
      }
      workers.push_back(std::move(w).value());
    }

    // Every worker keeps its own neighbour table; ARP reaches one queue, so each worker
    // mirrors what it receives to the others' inboxes.
    std::vector<rte_ring*> inboxes;
    if (num_workers > 1) {
      for (unsigned i = 0; i < num_workers; i++) {
        const std::string name = "arp_inbox_" + std::to_string(i);
        rte_ring* r = rte_ring_create(name.c_str(), 1024, rte_socket_id(), RING_F_SC_DEQ);
        if (r == nullptr) {
          std::fprintf(stderr, "linetls: cannot create ring %s\n", name.c_str());
          return 1;
        }
        inboxes.push_back(r);
      }
      for (unsigned i = 0; i < num_workers; i++) {
        std::vector<rte_ring*> peers;
        for (unsigned j = 0; j < num_workers; j++) {
          if (j != i) {
            peers.push_back(inboxes[j]);
          }
        }
        workers[i]->set_arp_peers(inboxes[i], std::move(peers));
      }
    }

    // Readers of the workers' counters on other threads, from now until before the workers
    // go: telemetry (EAL's thread) and the control thread.
    StatsSource stats;
    stats.workers = &workers;
    stats.port = port.get();
    for (unsigned q = 0; q < num_workers; q++) {
      rte_mempool* mp = port->pktmbuf_pool(static_cast<uint16_t>(q));
      if (mp != nullptr) {
        stats.pools.emplace_back(mp->name, mp);
      }
    }
    for (rte_mempool* mp : record_pools) {
      stats.pools.emplace_back(mp->name, mp);
    }
    ControlConfig cc;
    cc.options = &o;
    cc.stats = &stats;
    cc.generation = generation;
    cc.self_signed = self_signed;
    cc.metrics_fd = metrics_fd;
    cc.cpus = control_cpus(initial_cpus);
    auto control = Control::start(std::move(cc));
    if (!control) {
      std::fprintf(stderr, "linetls: %s\n", control.error().c_str());
      return 1;
    }
    TelemetryInfo info;
    info.config = config_summary(o, num_workers);
    info.tls_profiles = o.tls_profiles.size();
    info.ticket_key_file = o.ticket_key_file.has_value();
    info.reloads_ok = &(*control)->reloads_ok();
    info.reloads_failed = &(*control)->reloads_failed();
    info.generation = &(*control)->generation();
    set_telemetry_source(&stats, &info);

    struct sigaction sa = {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    std::vector<LaunchArg> args(num_workers);
    std::vector<engine::PkLcoreArg> pk_args(o.handshake_lcores.size());
    unsigned idx = 1;
    unsigned lcore = 0;
    RTE_LCORE_FOREACH_WORKER(lcore) {
      if (is_handshake_lcore(o, lcore)) {
        continue;
      }
      args[idx].worker = workers[idx].get();
      rte_eal_remote_launch(worker_main, &args[idx], lcore);
      idx++;
    }
    for (size_t h = 0; h < o.handshake_lcores.size(); h++) {
      if (offload == nullptr) {
        break;  // no TLS service: nothing to run there
      }
      pk_args[h] = {offload.get(), static_cast<uint32_t>(h)};
      rte_eal_remote_launch(engine::PkOffload::lcore_main, &pk_args[h],
                            o.handshake_lcores[h]);
    }
    std::string serving;
    for (const auto& svc : o.services) {
      serving += " " + std::to_string(svc.port) + "=" + engine::to_string(svc);
    }
    std::printf("linetls ready: port=%s%s%s mac=%s ip=%s workers=%u driver=%s serve=[%s]\n",
                device.c_str(), o.tap ? " tap=" : "", o.tap ? o.tap->c_str() : "",
                port->mac().str().c_str(), o.ip.str().c_str(), num_workers,
                port->caps().driver.c_str(), serving.empty() ? "" : serving.c_str() + 1);
    std::fflush(stdout);

    workers[0]->run(g_stop);
    if (offload != nullptr) {
      offload->stop();
    }
    rte_eal_mp_wait_lcore();
    set_telemetry_source(nullptr, nullptr);
    (*control)->stop();
    print_counters(stats);
    for (size_t h = 0; offload != nullptr && h < o.handshake_lcores.size(); h++) {
      const engine::PkLcoreStats st = offload->lcore_stats(static_cast<uint32_t>(h));
      std::printf("counter handshake_lcore=%u key_exchange=%llu key_gen=%llu derive=%llu "
                  "sign=%llu verify_chain=%llu verify=%llu pool_hits=%llu pool_misses=%llu "
                  "busy_cycles=%llu\n",
                  o.handshake_lcores[h], static_cast<unsigned long long>(st.jobs[1]),
                  static_cast<unsigned long long>(st.jobs[2]),
                  static_cast<unsigned long long>(st.jobs[3]),
                  static_cast<unsigned long long>(st.jobs[4]),
                  static_cast<unsigned long long>(st.jobs[5]),
                  static_cast<unsigned long long>(st.jobs[6]),
                  static_cast<unsigned long long>(st.pool_hits),
                  static_cast<unsigned long long>(st.pool_misses),
                  static_cast<unsigned long long>(st.busy_cycles));
    }
    workers.clear();  // frees frames still queued, before the pools go
    for (rte_ring* r : inboxes) {
      void* m = nullptr;
      while (rte_ring_dequeue(r, &m) == 0) {
        rte_pktmbuf_free(static_cast<rte_mbuf*>(m));
      }
      rte_ring_free(r);
    }
    for (rte_mempool* p : record_pools) {
      rte_mempool_free(p);  // after the workers: TCP's queues held references into them
    }
    port.reset();     // stops and closes the device: the TAP interface disappears
  }
  dpdk::eal_cleanup(prefix);
  return rc;
}

}  // namespace
}  // namespace linetls::app

int main(int argc, char** argv) { return linetls::app::run(argc, argv); }
