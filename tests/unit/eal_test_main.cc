// gtest main for tests that need DPDK mbufs: a private EAL with no hugepages, no PCI and no
// shared config, under a per-process file prefix that is removed at exit, so test
// processes can run one after another (or side by side) without leftover state.
#include <rte_eal.h>
#include <rte_errno.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const std::string prefix = "lt-test-" + std::to_string(getpid());
  std::vector<std::string> args = {"linetls-test", "--no-huge", "-m", "256", "--no-pci",
                                   "--no-shconf", "--file-prefix=" + prefix,
                                   "--log-level=error", "-l", "0"};
  std::vector<char*> cargs;
  for (auto& a : args) {
    cargs.push_back(a.data());
  }
  if (rte_eal_init(static_cast<int>(cargs.size()), cargs.data()) < 0) {
    std::fprintf(stderr, "rte_eal_init failed: %s\n", rte_strerror(rte_errno));
    return 1;
  }
  int rc = RUN_ALL_TESTS();
  rte_eal_cleanup();
  std::error_code ec;
  std::filesystem::remove_all("/var/run/dpdk/" + prefix, ec);
  return rc;
}
