// EAL start-up and the kernel side of a TAP device (see eal.h).
#include "drivers/dpdk/eal.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <list>
#include <system_error>

namespace linetls::dpdk {
namespace {

std::string errno_text(int err) { return std::system_category().message(err); }

// A socket closed on every path out of configure_kernel_if.
class Fd {
 public:
  explicit Fd(int fd) noexcept : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const noexcept { return fd_; }

 private:
  int fd_;
};

sockaddr_in make_sockaddr(uint32_t host_order_addr) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_addr.s_addr = htonl(host_order_addr);
  return sin;
}

}  // namespace

Result<void, std::string> eal_init(const std::vector<std::string>& args) {
  if (args.empty()) {
    return fail(std::string("eal_init: no arguments (args[0] must be the program name)"));
  }
  // The EAL permutes argv and may keep pointers into it, so every argument vector it is
  // given lives as long as the process (one small allocation per call; a list, so that a
  // later call never moves an earlier one).
  struct Argv {
    std::vector<std::string> strings;
    std::vector<char*> ptrs;
  };
  static std::list<Argv> kept;
  Argv& a = kept.emplace_back();
  a.strings = args;
  for (auto& s : a.strings) {
    a.ptrs.push_back(s.data());
  }
  a.ptrs.push_back(nullptr);
  const int rc = rte_eal_init(static_cast<int>(a.strings.size()), a.ptrs.data());
  if (rc < 0) {
    const int err = rte_errno;
    std::string why = rte_strerror(err);
    if (err == EALREADY) {
      why = "the EAL is already initialised in this process";
    }
    return fail("rte_eal_init: " + why);
  }
  return {};
}

void eal_cleanup(const std::string& file_prefix) {
  // Only a plain file prefix names a directory of ours: never let "", "." or a path
  // turn the removal into something wider than this process's runtime directory.
  const bool safe_prefix = !file_prefix.empty() && file_prefix != "." && file_prefix != ".." &&
                           file_prefix.find('/') == std::string::npos;
  std::filesystem::path dir = rte_eal_get_runtime_dir();
  rte_eal_cleanup();
  if (!safe_prefix) {
    return;
  }
  if (dir.empty() || dir.filename() != file_prefix) {
    // The EAL puts the runtime directory under /var/run/dpdk for root and under
    // $XDG_RUNTIME_DIR (or /tmp) otherwise.
    std::filesystem::path base = "/var/run/dpdk";
    if (geteuid() != 0) {
      const char* xdg = getenv("XDG_RUNTIME_DIR");
      base = std::filesystem::path(xdg != nullptr ? xdg : "/tmp") / "dpdk";
    }
    dir = base / file_prefix;
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);  // best effort: a leftover directory is harmless
}

std::vector<std::string> tap_mode_eal_args(const std::string& prog, const std::string& ifname,
                                           const std::string& file_prefix,
                                           const std::string& lcores, unsigned mem_mb) {
  return {
      prog,
      "-l",
      lcores,
      "--no-huge",
      "-m",
      std::to_string(mem_mb),
      "--no-pci",
      "--no-shconf",
      "--file-prefix=" + file_prefix,
      // Errors only: start-up notices from the EAL and PMDs would drown the one "ready"
      // line scripts wait for.
      "--log-level=error",
      "--vdev=net_tap0,iface=" + ifname,
  };
}

Result<void, std::string> configure_kernel_if(const std::string& ifname,
                                              const net::Ipv4Cidr& host) {
  const std::string what = "configure " + ifname + " as " + host.str();
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) {
    return fail(what + ": interface name must be 1.." + std::to_string(IFNAMSIZ - 1) +
                " characters");
  }
  if (host.prefix_len > 32) {
    return fail(what + ": prefix length above 32");
  }
  Fd sock(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (sock.get() < 0) {
    return fail(what + ": socket(AF_INET): " + errno_text(errno));
  }
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, ifname.c_str(), ifname.size() + 1);

  const sockaddr_in addr = make_sockaddr(host.addr.v);
  std::memcpy(&ifr.ifr_addr, &addr, sizeof(addr));
  if (ioctl(sock.get(), SIOCSIFADDR, &ifr) < 0) {
    return fail(what + ": SIOCSIFADDR: " + errno_text(errno));
  }
  const sockaddr_in mask = make_sockaddr(host.mask());
  std::memcpy(&ifr.ifr_netmask, &mask, sizeof(mask));
  if (ioctl(sock.get(), SIOCSIFNETMASK, &ifr) < 0) {
    return fail(what + ": SIOCSIFNETMASK: " + errno_text(errno));
  }
  if (ioctl(sock.get(), SIOCGIFFLAGS, &ifr) < 0) {
    return fail(what + ": SIOCGIFFLAGS: " + errno_text(errno));
  }
  ifr.ifr_flags = static_cast<short>(ifr.ifr_flags | IFF_UP | IFF_RUNNING);
  if (ioctl(sock.get(), SIOCSIFFLAGS, &ifr) < 0) {
    return fail(what + ": SIOCSIFFLAGS up: " + errno_text(errno));
  }
  return {};
}

}  // namespace linetls::dpdk
