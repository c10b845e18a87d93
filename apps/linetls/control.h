// The control thread: everything of linetls that is not packet processing, on one plain
// std::thread pinned off the worker cores (the CPUs the process could use at start, less
// the workers' lcores; all of them when nothing is left).
//
//   SIGHUP        re-reads every certificate, key and CA bundle and the ticket key file
//                 (tls_material.h) into a new TlsGeneration and offers it to every worker
//                 (TlsEngine::offer: an atomic pointer each worker swaps out in its timer
//                 phase); handshakes in progress finish on the old material, new ones get
//                 the new. A file that does not load keeps the old generation and logs one
//                 line. SIGHUP is blocked in every thread (main blocks it before EAL
//                 creates its threads); this thread takes it through a signalfd.
//   ticket keys   the --ticket-key-file is stat()ed every second: a new mtime, size or
//                 inode reloads the keys alone (the profiles are shared, not re-read).
//   --metrics     GET /metrics on a kernel TCP socket (metrics.h); one request per
//                 connection, answered and closed.
//   --stats-interval S   one line on stdout every S seconds: connections, handshakes/s,
//                 Gbit/s in and out (TCP payload), drops and errors, in all and per worker.
//
// The config file itself is not re-read: services, ports and addresses need a restart.
#pragma once

#include <sched.h>

#include <array>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "apps/linetls/options.h"
#include "apps/linetls/stats.h"
#include "lib/base/result.h"
#include "lib/engine/tls_service.h"

namespace linetls::app {

struct ControlConfig {
  const Options* options = nullptr;
  const StatsSource* stats = nullptr;                       // workers and port: must outlive stop()
  std::shared_ptr<const engine::TlsGeneration> generation;  // in use; nullptr: no TLS
  std::shared_ptr<const crypto::CertifiedKey> self_signed;  // for profiles without files
  int metrics_fd = -1;  // a listening socket (taken over), or -1
  cpu_set_t cpus{};     // where the thread may run
};

class Control {
 public:
  // Starts the thread. Fails (one line) when the signalfd or eventfd cannot be made.
  static Result<std::unique_ptr<Control>, std::string> start(ControlConfig cfg);
  ~Control();  // stop()s
  Control(const Control&) = delete;
  Control& operator=(const Control&) = delete;

  // Ends the thread and waits for it; idempotent.
  void stop();

  // For telemetry: reloads offered and refused, and the latest generation number offered.
  const std::atomic<uint64_t>& reloads_ok() const noexcept { return reloads_ok_; }
  const std::atomic<uint64_t>& reloads_failed() const noexcept { return reloads_failed_; }
  const std::atomic<uint64_t>& generation() const noexcept { return generation_number_; }

 private:
  explicit Control(ControlConfig cfg) : cfg_(std::move(cfg)) {}
  void run();
  void reload(const char* why);
  void reload_ticket_keys();
  struct FileStamp;
  FileStamp stat_ticket_file() const;
  void serve_metrics();
  void stats_line(double dt_s);
  void offer(std::shared_ptr<const engine::TlsGeneration> g);

  ControlConfig cfg_;
  int signal_fd_ = -1;
  int stop_fd_ = -1;
  std::thread thread_;
  std::atomic<uint64_t> reloads_ok_{0};
  std::atomic<uint64_t> reloads_failed_{0};
  std::atomic<uint64_t> generation_number_{0};
  // The ticket key file as last seen: mtime (ns), size, inode; set when keys were loaded.
  struct FileStamp {
    int64_t mtime_ns = -1;
    int64_t size = -1;
    uint64_t ino = 0;
    bool operator==(const FileStamp&) const = default;
  };
  FileStamp ticket_stamp_;
  // The previous stats line's totals, per worker: handshakes, TCP bytes in and out.
  std::vector<std::array<uint64_t, 3>> last_;
};

// The CPUs the control thread may use: initial (the process's affinity before EAL pinned
// the main thread) less the workers' lcores (as EAL numbers CPUs); initial when that
// leaves none.
cpu_set_t control_cpus(const cpu_set_t& initial);

}  // namespace linetls::app
