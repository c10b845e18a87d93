#include "apps/linetls/control.h"

#include <poll.h>
#include <pthread.h>
#include <rte_lcore.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

#include "apps/linetls/metrics.h"
#include "apps/linetls/tls_material.h"
#include "lib/base/clock.h"
#include "lib/base/log.h"

namespace linetls::app {
namespace {

constexpr int kTickMs = 1000;

}  // namespace

cpu_set_t control_cpus(const cpu_set_t& initial) {
  cpu_set_t set = initial;
  unsigned lcore = 0;
  RTE_LCORE_FOREACH(lcore) {
    const rte_cpuset_t workers = rte_lcore_cpuset(lcore);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
      if (CPU_ISSET(cpu, &workers)) {
        CPU_CLR(cpu, &set);
      }
    }
  }
  return CPU_COUNT(&set) == 0 ? initial : set;
}

Result<std::unique_ptr<Control>, std::string> Control::start(ControlConfig cfg) {
  std::unique_ptr<Control> c(new Control(std::move(cfg)));
  sigset_t hup;
  sigemptyset(&hup);
  sigaddset(&hup, SIGHUP);
  c->signal_fd_ = signalfd(-1, &hup, SFD_NONBLOCK | SFD_CLOEXEC);
  c->stop_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (c->signal_fd_ < 0 || c->stop_fd_ < 0) {
    return fail(std::string("control thread: ") + std::strerror(errno));
  }
  c->generation_number_ = c->cfg_.generation != nullptr ? c->cfg_.generation->number : 0;
  if (c->cfg_.options->ticket_key_file) {
    c->ticket_stamp_ = c->stat_ticket_file();  // (main loaded the keys just before)
  }
  c->thread_ = std::thread([p = c.get()] { p->run(); });
  return c;
}

Control::~Control() {
  stop();
  if (signal_fd_ >= 0) {
    close(signal_fd_);
  }
  if (stop_fd_ >= 0) {
    close(stop_fd_);
  }
  if (cfg_.metrics_fd >= 0) {
    close(cfg_.metrics_fd);
  }
}

void Control::stop() {
  if (thread_.joinable()) {
    const uint64_t one = 1;
    if (write(stop_fd_, &one, sizeof(one)) != sizeof(one)) {
      LT_WARN("control thread: cannot signal the stop: %s", std::strerror(errno));
    }
    thread_.join();
  }
}

void Control::offer(std::shared_ptr<const engine::TlsGeneration> g) {
  for (const auto& w : *cfg_.stats->workers) {
    w->offer_tls(g);
  }
  generation_number_.store(g->number);
  cfg_.generation = std::move(g);
}

void Control::reload(const char* why) {
  if (cfg_.generation == nullptr) {
    LT_INFO("%s: no tls service, nothing to reload", why);
    return;
  }
  const uint64_t number = cfg_.generation->number + 1;
  const FileStamp stamp = cfg_.options->ticket_key_file ? stat_ticket_file() : FileStamp{};
  auto g = load_tls_generation(*cfg_.options, number, cfg_.self_signed);
  if (!g) {
    reloads_failed_++;
    LT_ERROR("reload (%s) failed, keeping generation %llu: %s", why,
             static_cast<unsigned long long>(cfg_.generation->number), g.error().c_str());
    return;
  }
  offer(std::move(g).value());
  reloads_ok_++;
  ticket_stamp_ = stamp;  // the keys just loaded are current
  LT_INFO("reload (%s): generation %llu offered to %zu workers", why,
          static_cast<unsigned long long>(number), cfg_.stats->workers->size());
}

void Control::reload_ticket_keys() {
  if (cfg_.generation == nullptr) {
    return;
  }
  const uint64_t number = cfg_.generation->number + 1;
  auto g = with_ticket_keys(*cfg_.generation, *cfg_.options, number);
  if (!g) {
    reloads_failed_++;
    LT_ERROR("ticket key file changed but does not load, keeping generation %llu: %s",
             static_cast<unsigned long long>(cfg_.generation->number), g.error().c_str());
    return;
  }
  offer(std::move(g).value());
  reloads_ok_++;
  LT_INFO("ticket key file changed: generation %llu offered to %zu workers",
          static_cast<unsigned long long>(number), cfg_.stats->workers->size());
}

Control::FileStamp Control::stat_ticket_file() const {
  struct stat st {};
  FileStamp now;
  if (stat(cfg_.options->ticket_key_file->c_str(), &st) == 0) {
    now.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec;
    now.size = st.st_size;
    now.ino = st.st_ino;
  }
  return now;
}

void Control::serve_metrics() {
  const int fd = accept4(cfg_.metrics_fd, nullptr, nullptr, SOCK_CLOEXEC);
  if (fd < 0) {
    return;
  }
  timeval tv{1, 0};  // a client that says nothing does not hold the thread long
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  std::string req;
  char buf[1024];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 8192) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) {
      break;
    }
    req.append(buf, static_cast<size_t>(n));
  }
  std::string body;
  std::string status = "200 OK";
  if (req.starts_with("GET /metrics ") || req.starts_with("GET /metrics?")) {
    body = render_prometheus(collect_counters(*cfg_.stats, Reading::kLive),
                             collect_gauges(*cfg_.stats));
  } else {
    status = "404 Not Found";
    body = "linetls: GET /metrics\n";
  }
  const std::string resp = "HTTP/1.1 " + status +
                           "\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
                           "Content-Length: " +
                           std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
  size_t off = 0;
  while (off < resp.size()) {
    const ssize_t n = send(fd, resp.data() + off, resp.size() - off, MSG_NOSIGNAL);
    if (n <= 0) {
      break;
    }
    off += static_cast<size_t>(n);
  }
  close(fd);
}

void Control::stats_line(double dt_s) {
  const auto samples = collect_counters(*cfg_.stats, Reading::kLive);
  const size_t n = cfg_.stats->workers->size();
  struct W {
    uint64_t conns = 0, handshakes = 0, in = 0, out = 0;
  };
  std::vector<W> w(n);
  uint64_t drops = 0, errors = 0;
  for (const CounterSample& s : samples) {
    if (s.worker >= 0 && static_cast<size_t>(s.worker) < n) {
      W& x = w[static_cast<size_t>(s.worker)];
      if (s.name == "tcp.curr_estab") {
        x.conns = s.value;
      } else if (s.name == "tls.handshakes") {
        x.handshakes = s.value;
      } else if (s.name == "tcp.bytes_in") {
        x.in = s.value;
      } else if (s.name == "tcp.bytes_out") {
        x.out = s.value;
      } else if (s.name.starts_with("tcp.drop_") || s.name == "net.tx_queue_full") {
        drops += s.value;
      } else if (s.name == "tls.handshake_failures" || s.name == "tls.handshake_timeouts" ||
                 s.name == "proxy.backend_failures" || s.name == "tcp.estab_resets") {
        errors += s.value;
      }
    } else if (s.name == "port.rx_dropped" || s.name == "port.tx_dropped") {
      drops += s.value;
    }
  }
  if (last_.size() != n) {
    last_.assign(n, {0, 0, 0});
  }
  auto rate = [&](uint64_t now, uint64_t before) {
    return dt_s > 0 && now >= before ? static_cast<double>(now - before) / dt_s : 0.0;
  };
  W total;
  double hs = 0, in = 0, out = 0;
  std::string per;
  for (size_t i = 0; i < n; i++) {
    const double whs = rate(w[i].handshakes, last_[i][0]);
    const double win = rate(w[i].in, last_[i][1]) * 8 / 1e9;
    const double wout = rate(w[i].out, last_[i][2]) * 8 / 1e9;
    last_[i] = {w[i].handshakes, w[i].in, w[i].out};
    total.conns += w[i].conns;
    hs += whs;
    in += win;
    out += wout;
    char one[160];
    std::snprintf(one, sizeof(one), " | w%zu conns=%llu hs/s=%.1f in=%.3f out=%.3f", i,
                  static_cast<unsigned long long>(w[i].conns), whs, win, wout);
    per += one;
  }
  std::printf("stats conns=%llu hs/s=%.1f in=%.3fGbit/s out=%.3fGbit/s drops=%llu errors=%llu%s\n",
              static_cast<unsigned long long>(total.conns), hs, in, out,
              static_cast<unsigned long long>(drops), static_cast<unsigned long long>(errors),
              per.c_str());
  std::fflush(stdout);
}

void Control::run() {
  pthread_setname_np(pthread_self(), "lt-control");
  if (pthread_setaffinity_np(pthread_self(), sizeof(cfg_.cpus), &cfg_.cpus) != 0) {
    LT_WARN("control thread: cannot set its CPU affinity");
  }
  const unsigned interval = cfg_.options->stats_interval_s;
  uint64_t next_tick = monotonic_ns() + uint64_t{kTickMs} * 1000000;
  uint64_t last_stats = monotonic_ns();
  uint64_t next_stats = interval != 0 ? last_stats + uint64_t{interval} * 1000000000 : 0;
  if (interval != 0) {
    last_.assign(cfg_.stats->workers->size(), {0, 0, 0});
    for (const CounterSample& s : collect_counters(*cfg_.stats, Reading::kLive)) {
      if (s.worker >= 0 && static_cast<size_t>(s.worker) < last_.size()) {
        auto& l = last_[static_cast<size_t>(s.worker)];
        l[0] = s.name == "tls.handshakes" ? s.value : l[0];
        l[1] = s.name == "tcp.bytes_in" ? s.value : l[1];
        l[2] = s.name == "tcp.bytes_out" ? s.value : l[2];
      }
    }
  }
  for (;;) {
    pollfd fds[3] = {{stop_fd_, POLLIN, 0}, {signal_fd_, POLLIN, 0}, {cfg_.metrics_fd, POLLIN, 0}};
    const uint64_t now = monotonic_ns();
    uint64_t due = next_tick;
    if (next_stats != 0 && next_stats < due) {
      due = next_stats;
    }
    const int timeout_ms = due > now ? static_cast<int>((due - now) / 1000000) + 1 : 0;
    const int r = poll(fds, cfg_.metrics_fd >= 0 ? 3 : 2, timeout_ms);
    if (r < 0 && errno != EINTR) {
      LT_ERROR("control thread: poll: %s", std::strerror(errno));
      return;
    }
    if (fds[0].revents != 0) {
      return;
    }
    if (fds[1].revents != 0) {
      signalfd_siginfo si{};
      while (read(signal_fd_, &si, sizeof(si)) == sizeof(si)) {
        reload("SIGHUP");
      }
    }
    if (cfg_.metrics_fd >= 0 && fds[2].revents != 0) {
      serve_metrics();
    }
    const uint64_t t = monotonic_ns();
    if (t >= next_tick) {
      next_tick = t + uint64_t{kTickMs} * 1000000;
      if (cfg_.options->ticket_key_file && cfg_.generation != nullptr) {
        // A new stamp is taken as seen even if the file does not load: one log line per
        // change, not one per second.
        const FileStamp stamp = stat_ticket_file();
        if (!(stamp == ticket_stamp_)) {
          ticket_stamp_ = stamp;
          reload_ticket_keys();
        }
      }
    }
    if (next_stats != 0 && t >= next_stats) {
      stats_line(static_cast<double>(t - last_stats) / 1e9);
      last_stats = t;
      next_stats = t + uint64_t{interval} * 1000000000;
    }
  }
}

}  // namespace linetls::app
