// A private, hugepage-free DPDK EAL and one mbuf pool for a fuzz target, set up once from
// LLVMFuzzerInitialize. The runtime directory (per-pid prefix) is removed at exit, so
// fuzz runs leave nothing under /var/run/dpdk.
#pragma once

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_mbuf.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

namespace linetls::fuzz {

inline std::string& runtime_dir() {
  static std::string dir;
  return dir;
}

// Initialises the EAL with mem_mb of memory and returns a pool of pool_size mbufs; aborts
// on failure (a fuzz harness that cannot start must not report "no crash").
inline rte_mempool* init_eal_and_pool(const char* target, unsigned mem_mb, unsigned pool_size) {
  const std::string prefix = std::string("lt-") + target + "-" + std::to_string(getpid());
  std::vector<std::string> args = {target,
                                   "--no-huge",
                                   "-m",
                                   std::to_string(mem_mb),
                                   "--no-pci",
                                   "--no-shconf",
                                   "--file-prefix=" + prefix,
                                   "--log-level=error",
                                   "-l",
                                   "0"};
  std::vector<char*> cargs;
  for (auto& a : args) {
    cargs.push_back(a.data());
  }
  if (rte_eal_init(static_cast<int>(cargs.size()), cargs.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
    std::abort();
  }
  runtime_dir() = "/var/run/dpdk/" + prefix;
  std::atexit([] {
    std::error_code ec;
    std::filesystem::remove_all(runtime_dir(), ec);
  });
  rte_mempool* pool = rte_pktmbuf_pool_create((std::string(target) + "_pool").c_str(), pool_size,
                                              0, 0, RTE_MBUF_DEFAULT_BUF_SIZE, SOCKET_ID_ANY);
  if (pool == nullptr) {
    std::abort();
  }
  return pool;
}

}  // namespace linetls::fuzz
