// DpdkPort and the EAL helpers against a real net_tap device and the kernel behind it.
//
// Needs root (net_tap creates a kernel interface), so it has its own main: the EAL is
// brought up with the TAP-mode arguments under a per-process file prefix, and only when
// running as root. As any other user every test that needs the device skips with the
// reason.
#include <rte_dev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "drivers/dpdk/eal.h"
#include "drivers/dpdk/port.h"
#include "lib/base/clock.h"

namespace linetls::dpdk {
namespace {

constexpr char kIfName[] = "ltdrvtest0";
constexpr char kDevice[] = "net_tap0";
bool g_eal_up = false;

#define REQUIRE_EAL()                                                             \
  do {                                                                            \
    if (geteuid() != 0) {                                                         \
      GTEST_SKIP() << "needs root: net_tap creates kernel interface " << kIfName; \
    }                                                                             \
    ASSERT_TRUE(g_eal_up) << "the EAL did not come up";                           \
  } while (0)

struct Command {
  int status;
  std::string output;
};

Command run(const std::string& cmd) {
  Command c{-1, {}};
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  if (f == nullptr) {
    return c;
  }
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
    c.output.append(buf, n);
  }
  c.status = pclose(f);
  return c;
}

uint32_t ip4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
  return (uint32_t{a} << 24) | (uint32_t{b} << 16) | (uint32_t{c} << 8) | d;
}

void put_be32(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

uint32_t get_be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// A broadcast ARP request "who has target? tell sender", padded to the 60-byte minimum.
rte_mbuf* arp_request(rte_mempool* pool, const net::MacAddr& mac, uint32_t sender,
                      uint32_t target) {
  rte_mbuf* m = rte_pktmbuf_alloc(pool);
  if (m == nullptr) {
    return nullptr;
  }
  auto* p = reinterpret_cast<uint8_t*>(rte_pktmbuf_append(m, 60));
  std::memset(p, 0, 60);
  std::memset(p, 0xff, 6);
  std::memcpy(p + 6, mac.b.data(), 6);
  p[12] = 0x08;
  p[13] = 0x06;
  uint8_t* arp = p + 14;
  arp[1] = 1;     // htype Ethernet
  arp[2] = 0x08;  // ptype IPv4
  arp[4] = 6;
  arp[5] = 4;
  arp[7] = 1;  // request
  std::memcpy(arp + 8, mac.b.data(), 6);
  put_be32(arp + 14, sender);
  put_be32(arp + 24, target);
  return m;
}

bool is_arp_reply(const rte_mbuf* m, uint32_t from, uint32_t to) {
  if (m->data_len < 42) {
    return false;
  }
  const auto* p = rte_pktmbuf_mtod(m, const uint8_t*);
  return p[12] == 0x08 && p[13] == 0x06 && p[20] == 0 && p[21] == 2 && get_be32(p + 28) == from &&
         get_be32(p + 38) == to;
}

TEST(DpdkEal, TapModeArgs) {
  const std::vector<std::string> args = tap_mode_eal_args("prog", "tapx", "pfx", "0-1", 512);
  ASSERT_FALSE(args.empty());
  EXPECT_EQ(args[0], "prog");
  auto has = [&](const std::string& a) {
    return std::find(args.begin(), args.end(), a) != args.end();
  };
  EXPECT_TRUE(has("--no-huge"));
  EXPECT_TRUE(has("--no-pci"));
  EXPECT_TRUE(has("--no-shconf"));
  EXPECT_TRUE(has("--file-prefix=pfx"));
  EXPECT_TRUE(has("--vdev=net_tap0,iface=tapx"));
  auto after = [&](const std::string& a) {
    auto it = std::find(args.begin(), args.end(), a);
    return it == args.end() || it + 1 == args.end() ? std::string() : *(it + 1);
  };
  EXPECT_EQ(after("-l"), "0-1");
  EXPECT_EQ(after("-m"), "512");
}

TEST(DpdkEal, SecondInitIsAnErrorNotACrash) {
  REQUIRE_EAL();
  auto r = eal_init({"again", "--no-huge", "-m", "64", "--no-pci"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("rte_eal_init"), std::string::npos) << r.error();
  EXPECT_EQ(r.error().find('\n'), std::string::npos) << "one line";
}

TEST(DpdkPort, UnknownDeviceIsAnErrorNotACrash) {
  REQUIRE_EAL();
  PortConfig cfg;
  cfg.device = "net_nosuchdev7";
  auto r = DpdkPort::open(cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("net_nosuchdev7"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("no such ethdev"), std::string::npos) << r.error();
  EXPECT_EQ(r.error().find('\n'), std::string::npos) << "one line";
}

TEST(DpdkPort, BadConfigIsAnError) {
  REQUIRE_EAL();
  PortConfig cfg;
  cfg.device = kDevice;
  cfg.num_queues = 0;
  auto r = DpdkPort::open(cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("num_queues"), std::string::npos) << r.error();
  cfg.num_queues = 1;
  cfg.mtu = 10;
  r = DpdkPort::open(cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("mtu 10"), std::string::npos) << r.error();
}

TEST(DpdkKernelIf, BadInterfaceIsAnError) {
  REQUIRE_EAL();
  const auto cidr = net::Ipv4Cidr::parse("10.98.8.1/24");
  ASSERT_TRUE(cidr.has_value());
  auto r = configure_kernel_if("ltnosuch0", *cidr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("ltnosuch0"), std::string::npos) << r.error();
  EXPECT_NE(r.error().find("SIOCSIFADDR"), std::string::npos) << r.error();
  r = configure_kernel_if("an-interface-name-too-long", *cidr);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().find("name"), std::string::npos) << r.error();
}

// Brings the TAP port up, gives the kernel side an address, and has the kernel answer an
// ARP request sent through tx_burst: frames really cross in both directions.
TEST(DpdkPort, TapPortTalksToTheKernel) {
  REQUIRE_EAL();
  const uint32_t kernel_ip = ip4(10, 98, 7, 1);
  const uint32_t port_ip = ip4(10, 98, 7, 2);
  {
    PortConfig cfg;
    cfg.device = kDevice;
    cfg.mbufs_per_queue = 2048;
    auto r = DpdkPort::open(cfg);
    ASSERT_TRUE(r.ok()) << r.error();
    DpdkPort& port = **r;
    EXPECT_EQ(port.name(), kDevice);
    EXPECT_EQ(port.caps().driver, "net_tap");
    EXPECT_EQ(port.caps().num_queues, 1);
    EXPECT_FALSE(port.caps().rss) << "one queue: nothing to steer";
    EXPECT_EQ(port.caps().mtu, 1500);
    EXPECT_FALSE(port.mac().is_zero());
    EXPECT_FALSE(port.mac().is_multicast());
    rte_mempool* pool = port.pktmbuf_pool(0);
    ASSERT_NE(pool, nullptr);
    EXPECT_EQ(port.pktmbuf_pool(1), nullptr);

    const auto cidr = net::Ipv4Cidr::parse("10.98.7.1/24");
    ASSERT_TRUE(cidr.has_value());
    auto k = configure_kernel_if(kIfName, *cidr);
    ASSERT_TRUE(k.ok()) << k.error();
    const Command show = run(std::string("ip -4 addr show ") + kIfName);
    EXPECT_EQ(show.status, 0) << show.output;
    EXPECT_NE(show.output.find("inet 10.98.7.1/24"), std::string::npos) << show.output;
    EXPECT_TRUE(port.wait_link_up(3000));

    rte_mbuf* req = arp_request(pool, port.mac(), port_ip, kernel_ip);
    ASSERT_NE(req, nullptr);
    ASSERT_EQ(port.tx_burst(0, &req, 1), 1);

    bool replied = false;
    const uint64_t deadline = monotonic_ns() + 3000000000ull;
    while (!replied && monotonic_ns() < deadline) {
      rte_mbuf* pkts[16];
      const uint16_t n = port.rx_burst(0, pkts, 16);
      for (uint16_t i = 0; i < n; i++) {
        replied = replied || is_arp_reply(pkts[i], kernel_ip, port_ip);
        rte_pktmbuf_free(pkts[i]);
      }
      if (n == 0) {
        usleep(1000);
      }
    }
    EXPECT_TRUE(replied) << "the kernel answered our ARP request";
    const net::PortStats s = port.stats();
    EXPECT_GE(s.tx_packets, 1u);
    EXPECT_GE(s.tx_bytes, 60u);
    EXPECT_GE(s.rx_packets, 1u);
  }
  // Closing the port removes the kernel interface.
  const Command gone = run(std::string("ip link show ") + kIfName);
  EXPECT_NE(gone.status, 0) << gone.output;
}

// A second TAP hot-plugged at run time, with two queue pairs and a non-default MTU.
TEST(DpdkPort, TwoQueuesAndMtu) {
  REQUIRE_EAL();
  ASSERT_EQ(rte_dev_probe("net_tap1,iface=ltdrvtest1"), 0);
  {
    PortConfig cfg;
    cfg.device = "net_tap1";
    cfg.num_queues = 2;
    cfg.mbufs_per_queue = 1024;
    // net_tap receives frames of at most 1522 bytes: a jumbo MTU is refused up front,
    // naming the range, and the device stays usable.
    cfg.mtu = 9000;
    auto bad = DpdkPort::open(cfg);
    ASSERT_FALSE(bad.ok());
    EXPECT_NE(bad.error().find("mtu 9000 outside the device's range"), std::string::npos)
        << bad.error();
    cfg.mtu = 1400;
    auto r = DpdkPort::open(cfg);
    ASSERT_TRUE(r.ok()) << r.error();
    DpdkPort& port = **r;
    EXPECT_EQ(port.caps().num_queues, 2);
    EXPECT_FALSE(port.caps().rss) << "net_tap's queues are not fed by a Toeplitz hash";
    EXPECT_EQ(port.caps().mtu, 1400);
    ASSERT_NE(port.pktmbuf_pool(0), nullptr);
    ASSERT_NE(port.pktmbuf_pool(1), nullptr);
    EXPECT_NE(port.pktmbuf_pool(0), port.pktmbuf_pool(1)) << "one pool per queue";
    EXPECT_EQ(rte_mempool_avail_count(port.pktmbuf_pool(1)) +
                  rte_mempool_in_use_count(port.pktmbuf_pool(1)),
              1023u)
        << "rounded to 2^n - 1";
    const Command link = run("ip link show ltdrvtest1");
    EXPECT_NE(link.output.find("mtu 1400"), std::string::npos) << link.output;
  }
  EXPECT_NE(run("ip link show ltdrvtest1").status, 0) << "closed port removes its interface";
}

}  // namespace
}  // namespace linetls::dpdk

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  const std::string prefix = "lt-drvtest-" + std::to_string(getpid());
  if (geteuid() == 0) {
    auto r = linetls::dpdk::eal_init(linetls::dpdk::tap_mode_eal_args(
        "test_dpdk_port", linetls::dpdk::kIfName, prefix, "0", 512));
    if (!r.ok()) {
      std::fprintf(stderr, "test_dpdk_port: %s\n", r.error().c_str());
      return 1;
    }
    linetls::dpdk::g_eal_up = true;
  }
  const int rc = RUN_ALL_TESTS();
  if (linetls::dpdk::g_eal_up) {
    linetls::dpdk::eal_cleanup(prefix);
  }
  return rc;
}
