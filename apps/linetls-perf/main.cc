// linetls-perf: the load generator (ARCHITECTURE.md "Command line contract"). The same
// stack, worker and batched record sessions as linetls, on the client side: one worker on
// the calling thread (pin it with taskset or EAL -l), one port queue, perf::Load as its only
// application. Prints a progress line each second (stderr), the summary at the end
// (stdout), and --json FILE. Exit status: 0 after a run (errors are in the report), 2 on a
// bad command line, 1 when the port or the EAL cannot be set up.
#include <rte_eal.h>
#include <rte_mbuf.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/linetls-perf/load.h"
#include "apps/linetls-perf/perf_options.h"
#include "apps/linetls-perf/report.h"
#include "drivers/dpdk/eal.h"
#include "drivers/dpdk/port.h"
#include "drivers/ipsecmb/ipsecmb_aead.h"
#include "drivers/ossl/ossl_aead.h"
#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/engine/worker.h"

namespace linetls::perf {
namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop.store(true, std::memory_order_relaxed); }

constexpr uint16_t kTlsRecordRoom = RTE_PKTMBUF_HEADROOM + 16384 + 64;

std::unique_ptr<crypto::AeadBatch> make_aead_batch(uint32_t capacity) {
  if (auto b = ipsecmb::IpsecMbAeadBatch::create(capacity)) {
    return std::move(b).value();
  }
  if (auto o = ossl::OsslAeadBatch::create(capacity)) {
    return std::move(o).value();
  }
  return nullptr;
}

// The first CPU this process may run on: the EAL's lcore by default, so that
// `taskset -c 1 linetls-perf ...` runs the worker on CPU 1.
std::string first_cpu() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    for (int i = 0; i < CPU_SETSIZE; i++) {
      if (CPU_ISSET(i, &set)) {
        return std::to_string(i);
      }
    }
  }
  return "0";
}

bool has_arg(const std::vector<std::string>& args, std::string_view a) {
  for (const auto& s : args) {
    if (s == a || s.starts_with(std::string(a) + "=")) {
      return true;
    }
  }
  return false;
}

int run(int argc, char** argv) {
  std::vector<std::string> eal_user, args;
  bool split = false;
  for (int i = 1; i < argc; i++) {
    if (std::string_view(argv[i]) == "--" && !split) {
      split = true;
      eal_user = args;
      args.clear();
      continue;
    }
    args.emplace_back(argv[i]);
  }
  auto parsed = parse_perf_options(args);
  if (!parsed) {
    std::fprintf(stderr, "linetls-perf: %s\n", parsed.error().c_str());
    return 2;
  }
  const PerfOptions o = std::move(parsed).value();
  if (o.help) {
    std::fputs(perf_usage().c_str(), stdout);
    return 0;
  }
  // LT_PERF_DEBUG=1: the engine's per-connection debug lines (why a handshake failed).
  if (const char* d = std::getenv("LT_PERF_DEBUG"); d != nullptr && *d == '1') {
    set_log_level(LogLevel::kDebug);
  }
  std::optional<crypto::CaStore> verify_ca;
  if (o.verify_ca) {
    auto ca = crypto::CaStore::load(*o.verify_ca);
    if (!ca) {
      std::fprintf(stderr, "linetls-perf: --verify %s: %s\n", o.verify_ca->c_str(),
                   std::string(crypto::to_string(ca.error())).c_str());
      return 2;
    }
    verify_ca.emplace(std::move(ca).value());
  }
  std::optional<crypto::CertifiedKey> client_cert;
  if (o.cert_file) {
    auto ck = crypto::CertifiedKey::load(*o.cert_file, *o.key_file);
    if (!ck) {
      std::fprintf(stderr, "linetls-perf: --cert %s --key %s: %s\n", o.cert_file->c_str(),
                   o.key_file->c_str(), std::string(crypto::to_string(ck.error())).c_str());
      return 2;
    }
    client_cert.emplace(std::move(ck).value());
  }
  const crypto::CertifiedKey* cert = client_cert ? &*client_cert : nullptr;

  std::string prefix = "linetls-perf-" + std::to_string(getpid());
  std::vector<std::string> eal;
  std::string device;
  const std::string lcores = first_cpu();
  if (o.tap) {
    eal = dpdk::tap_mode_eal_args(argv[0], *o.tap, prefix, lcores, 512);
    eal.insert(eal.end(), eal_user.begin(), eal_user.end());
    device = "net_tap0";
  } else {
    eal.push_back(argv[0]);
    eal.insert(eal.end(), eal_user.begin(), eal_user.end());
    if (!has_arg(eal, "-l") && !has_arg(eal, "--lcores")) {
      eal.push_back("-l");
      eal.push_back(lcores);
    }
    if (!has_arg(eal, "--file-prefix")) {
      eal.push_back("--file-prefix=" + prefix);
    }
    if (!has_arg(eal, "--log-level")) {
      eal.push_back("--log-level=error");
    }
    eal.push_back(o.port->is_pci ? "-a" : "--vdev");
    eal.push_back(o.port->spec);
    device = o.port->device;
  }
  if (auto r = dpdk::eal_init(eal); !r) {
    std::fprintf(stderr, "linetls-perf: EAL: %s\n", r.error().c_str());
    return 1;
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);

  int rc = 0;
  {
    dpdk::PortConfig pc;
    pc.device = device;
    pc.num_queues = o.queues;
    pc.mbufs_per_queue = 32768;
    pc.want_cksum_offload = !o.tap;  // as linetls: net_tap's offload is not trusted
    auto port_or = dpdk::DpdkPort::open(pc);
    if (!port_or) {
      std::fprintf(stderr, "linetls-perf: port: %s\n", port_or.error().c_str());
      dpdk::eal_cleanup(prefix);
      return 1;
    }
    std::unique_ptr<dpdk::DpdkPort> port = std::move(port_or).value();
    if (port->caps().num_queues < o.queues) {
      std::fprintf(stderr, "linetls-perf: port: %s offers %u queues, --queues %u asked\n",
                   device.c_str(), port->caps().num_queues, unsigned{o.queues});
      port.reset();
      dpdk::eal_cleanup(prefix);
      return 1;
    }
    if (o.tap) {
      // The kernel side of the TAP is the target's address (a kernel server behind it).
      if (auto r = dpdk::configure_kernel_if(*o.tap, net::Ipv4Cidr{o.target.ip, o.ip.prefix_len});
          !r) {
        std::fprintf(stderr, "linetls-perf: tap: %s\n", r.error().c_str());
        port.reset();
        dpdk::eal_cleanup(prefix);
        return 1;
      }
    }
    if (!port->wait_link_up(3000)) {
      LT_WARN("link of %s is not up yet; continuing", device.c_str());
    }
    rte_mempool* record_pool = rte_pktmbuf_pool_create("ltp_rec", 4095, 64, 0, kTlsRecordRoom,
                                                       rte_socket_id());
    if (record_pool == nullptr) {
      std::fprintf(stderr, "linetls-perf: cannot create the record pool\n");
      port.reset();
      dpdk::eal_cleanup(prefix);
      return 1;
    }
    engine::WorkerConfig wc;
    wc.stack.ip = o.ip;
    wc.stack.gateway = o.gateway;
    wc.tcp.mss = static_cast<uint16_t>(port->caps().mtu - 40);
    wc.idle.busy_poll = o.busy_poll;
    wc.tls_client = o.mode != Mode::kPlain;
    wc.soft_rss_queues = o.queues;  // one worker owns every queue (software RSS when > 1)
    wc.tls.make_batch = make_aead_batch;
    wc.tls.record_pool = record_pool;
    auto w = engine::Worker::create(wc, *port);
    if (!w) {
      std::fprintf(stderr, "linetls-perf: %s\n", w.error().c_str());
      rte_mempool_free(record_pool);
      port.reset();
      dpdk::eal_cleanup(prefix);
      return 1;
    }
    std::unique_ptr<engine::Worker> worker = std::move(w).value();
    auto load = std::make_unique<Load>(o, *worker, verify_ca ? &*verify_ca : nullptr, cert);
    // --flood: full handshakes in open loop on their own connections, counted apart.
    PerfOptions fo = o;
    std::unique_ptr<Load> flood;
    if (o.flood_rate) {
      fo.mode = Mode::kHandshake;
      fo.rate = *o.flood_rate;
      fo.connections = static_cast<uint32_t>(std::clamp(*o.flood_rate, 1.0, 65536.0));
      fo.quiet = true;
      fo.json_file.reset();
      flood = std::make_unique<Load>(fo, *worker, verify_ca ? &*verify_ca : nullptr, cert);
    }
    std::fprintf(stderr,
                 "linetls-perf: ready: %s %s -> %s, mode %s, TLS %s, %u connections%s, %.1f s\n",
                 device.c_str(), o.ip.str().c_str(), o.target.str().c_str(), mode_name(o.mode),
                 o.mode == Mode::kPlain ? "off" : tls_version_name(o.tls_version), o.connections,
                 o.rate ? (", " + std::to_string(static_cast<uint64_t>(*o.rate)) + "/s").c_str()
                        : " (closed loop)",
                 o.duration_s);

    const engine::WorkerCounters w0 = worker->counters();
    uint64_t now = monotonic_ns();
    load->start(now);
    if (flood) {
      flood->start(now);
    }
    uint32_t empty = 0;
    while (!g_stop.load(std::memory_order_relaxed) && !load->finished(now)) {
      now = monotonic_ns();
      load->tick(now);
      if (flood) {
        flood->tick(now);
      }
      const bool worked = worker->poll_once(now);
      if (worked || o.busy_poll) {
        empty = 0;
      } else if (++empty > 64) {
        usleep(empty > 1024 ? 200 : 20);
      }
    }
    load->stop();
    if (flood) {
      flood->stop();
    }
    Results& r = load->results();
    if (flood) {
      const Results& f = flood->results();
      uint64_t flood_errors = 0;
      for (const auto& [kind, n] : f.errors) {
        flood_errors += n;
      }
      r.counters["flood.handshakes"] = f.handshakes;
      r.counters["flood.errors"] = flood_errors;
    }
    r.server_label = o.target.str();
    if (const engine::TlsEngine* t = worker->tls()) {
      t->counters().for_each(
          [&](std::string_view name, uint64_t v) { r.counters["tls." + std::string(name)] = v; });
    }
    const engine::WorkerCounters w1 = worker->counters();
    r.counters["worker.busy_cycles"] = w1.get(engine::WorkerCounter::kBusyCycles) -
                                       w0.get(engine::WorkerCounter::kBusyCycles);
    r.counters["worker.tsc_hz"] = tsc_hz();
    r.counters["worker.tx_frames"] = w1.get(engine::WorkerCounter::kTxFrames);
    r.counters["worker.rx_frames"] = w1.get(engine::WorkerCounter::kRxFrames);
    std::fputs(summary(r).c_str(), stdout);
    std::fflush(stdout);
    if (o.json_file) {
      std::ofstream f(*o.json_file);
      f << to_json(r) << "\n";
      if (!f) {
        std::fprintf(stderr, "linetls-perf: cannot write %s\n", o.json_file->c_str());
        rc = 1;
      }
    }
    worker.reset();  // ends what is still in flight (the load hears kAborted, uncounted)
    flood.reset();
    load.reset();
    rte_mempool_free(record_pool);
    port.reset();
  }
  dpdk::eal_cleanup(prefix);
  return rc;
}

}  // namespace
}  // namespace linetls::perf

int main(int argc, char** argv) { return linetls::perf::run(argc, argv); }
