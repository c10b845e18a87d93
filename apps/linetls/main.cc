// linetls: the terminator. Sets up the EAL and the port, runs one Worker per lcore, prints
// "ready", and on SIGINT/SIGTERM stops, prints every counter and releases the port (which
// removes the TAP interface).
#include <rte_eal.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_ring.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apps/linetls/options.h"
#include "drivers/dpdk/eal.h"
#include "drivers/dpdk/port.h"
#include "drivers/ipsecmb/ipsecmb_aead.h"
#include "drivers/ossl/ossl_aead.h"
#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/crypto/rng.h"
#include "lib/engine/worker.h"
#include "lib/tls/errors.h"

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

std::string default_lcores(const Options& o) {
  return o.lcores ? *o.lcores : (o.workers == 1 ? "0" : "0-" + std::to_string(o.workers - 1));
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

void print_counters(const std::vector<std::unique_ptr<engine::Worker>>& workers,
                    const net::Port& port) {
  for (const auto& w : workers) {
    const unsigned id = w->id();
    w->counters().for_each([&](std::string_view n, uint64_t v) {
      std::printf("counter worker=%u engine.%.*s %llu\n", id, static_cast<int>(n.size()),
                  n.data(), static_cast<unsigned long long>(v));
    });
    w->stack().counters().for_each([&](std::string_view n, uint64_t v) {
      std::printf("counter worker=%u net.%.*s %llu\n", id, static_cast<int>(n.size()), n.data(),
                  static_cast<unsigned long long>(v));
    });
    w->tcp().counters().for_each([&](std::string_view n, uint64_t v) {
      std::printf("counter worker=%u tcp.%.*s %llu\n", id, static_cast<int>(n.size()), n.data(),
                  static_cast<unsigned long long>(v));
    });
    if (const engine::TlsEngine* t = w->tls()) {
      t->counters().for_each([&](std::string_view n, uint64_t v) {
        std::printf("counter worker=%u tls.%.*s %llu\n", id, static_cast<int>(n.size()),
                    n.data(), static_cast<unsigned long long>(v));
      });
      const engine::TlsAlertCounts a = t->alerts();
      for (unsigned d = 0; d < 256; d++) {
        const std::string_view name = tls::alert_name(static_cast<uint8_t>(d));
        if (a.sent[d] != 0) {
          std::printf("counter worker=%u tls.alert_sent.%.*s %llu\n", id,
                      static_cast<int>(name.size()), name.data(),
                      static_cast<unsigned long long>(a.sent[d]));
        }
        if (a.received[d] != 0) {
          std::printf("counter worker=%u tls.alert_received.%.*s %llu\n", id,
                      static_cast<int>(name.size()), name.data(),
                      static_cast<unsigned long long>(a.received[d]));
        }
      }
    }
    w->tcp_streams().counters().for_each([&](std::string_view n, uint64_t v) {
      std::printf("counter worker=%u stream.%.*s %llu\n", id, static_cast<int>(n.size()),
                  n.data(), static_cast<unsigned long long>(v));
    });
    // App counters, summed over the services of one kind ("proxy.clients").
    std::vector<std::pair<std::string, uint64_t>> app_counters;
    for (const auto& app : w->apps()) {
      app->for_each_counter([&](std::string_view n, uint64_t v) {
        for (auto& [name, sum] : app_counters) {
          if (name == n) {
            sum += v;
            return;
          }
        }
        app_counters.emplace_back(std::string(n), v);
      });
    }
    for (const auto& [name, v] : app_counters) {
      std::printf("counter worker=%u %s %llu\n", id, name.c_str(),
                  static_cast<unsigned long long>(v));
    }
    w->phase_cycles().for_each([&](std::string_view n, uint64_t v) {
      std::printf("counter worker=%u cycles.%.*s %llu\n", id, static_cast<int>(n.size()),
                  n.data(), static_cast<unsigned long long>(v));
    });
  }
  std::printf("counter engine tsc_hz %llu\n", static_cast<unsigned long long>(tsc_hz()));
  const net::PortStats s = port.stats();
  std::printf("counter port rx_packets %llu\ncounter port tx_packets %llu\n"
              "counter port rx_dropped %llu\ncounter port tx_dropped %llu\n"
              "counter port tx_sw_cksum %llu\n",
              static_cast<unsigned long long>(s.rx_packets),
              static_cast<unsigned long long>(s.tx_packets),
              static_cast<unsigned long long>(s.rx_dropped),
              static_cast<unsigned long long>(s.tx_dropped),
              static_cast<unsigned long long>(s.tx_sw_cksum));
  std::fflush(stdout);
}

int run(int argc, char** argv) {
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

  // TLS material before anything else, so a bad file is a configuration error (exit 2).
  std::vector<crypto::CertifiedKey> cert_keys;
  std::optional<crypto::CaStore> client_ca;
  std::array<uint8_t, 32> ticket_master{};
  if (has_tls_service(o)) {
    auto ca = load_client_ca(o);
    if (!ca) {
      std::fprintf(stderr, "linetls: %s\n", ca.error().c_str());
      return 2;
    }
    client_ca = std::move(ca).value();
    auto keys = load_certificates(o);
    if (!keys) {
      std::fprintf(stderr, "linetls: %s\n", keys.error().c_str());
      return 2;
    }
    cert_keys = std::move(keys).value();
    if (cert_keys.empty()) {
      const std::string ip = o.ip.addr.str();
      const std::string_view sans[] = {ip, "localhost"};
      auto k = crypto::CertifiedKey::self_signed("linetls", sans);
      if (!k) {
        std::fprintf(stderr, "linetls: self-signed certificate: %s\n",
                     std::string(crypto::to_string(k.error())).c_str());
        return 1;
      }
      cert_keys.push_back(std::move(k).value());
      std::fprintf(stderr,
                   "linetls: no --cert given: generated a self-signed ECDSA P-256 certificate "
                   "(CN=linetls, SAN %s, localhost)\n",
                   ip.c_str());
    }
    // What PROXY v2 headers say of each certificate.
    for (const auto& k : cert_keys) {
      auto d = crypto::describe_certificate(k);
      engine::CertAlgs algs;
      if (d) {
        algs.sig_alg = d->sig_alg;
        algs.key_alg = d->key_alg;
      }
      for (auto& svc : o.services) {
        if (svc.app == engine::AppKind::kProxy) {
          svc.proxy.certificates.push_back(algs);
        }
      }
    }
    if (!crypto::os_rng().fill_private(ticket_master)) {
      std::fprintf(stderr, "linetls: cannot draw the ticket key master secret\n");
      return 1;
    }
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
    return 1;
  }
  const unsigned num_workers = rte_lcore_count();

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
      for (const auto& k : cert_keys) {
        tls.certificates.push_back(tls::ServerCertificate::from(k));
        tls.certificates12.push_back(tls::v12::Certificate12::from(k));
      }
      tls.alpn = effective_alpn(o);
      tls.tls_min = o.tls_min;
      tls.tls_max = o.tls_max;
      tls.client_auth = o.client_auth;
      tls.client_ca = client_ca ? &*client_ca : nullptr;
      tls.handshake_timeout_ms = o.handshake_timeout_ms;
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

    struct sigaction sa = {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);

    std::vector<LaunchArg> args(num_workers);
    unsigned idx = 1;
    unsigned lcore = 0;
    RTE_LCORE_FOREACH_WORKER(lcore) {
      args[idx].worker = workers[idx].get();
      rte_eal_remote_launch(worker_main, &args[idx], lcore);
      idx++;
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
    rte_eal_mp_wait_lcore();
    print_counters(workers, *port);
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
