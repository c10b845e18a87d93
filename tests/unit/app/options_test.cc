#include "apps/linetls/options.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace linetls::app {
namespace {

Result<Options, std::string> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "linetls");
  return parse_options(static_cast<int>(args.size()), args.data());
}

TEST(Options, TapModeDefaults) {
  auto o = parse({"--tap", "lt0"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(*o->tap, "lt0");
  EXPECT_EQ(o->ip.str(), "10.99.0.2/24");
  EXPECT_EQ(o->host_ip.str(), "10.99.0.1/24");
  EXPECT_EQ(o->workers, 1u);
  EXPECT_FALSE(o->busy_poll);
}

TEST(Options, EalArgsBeforeDoubleDash) {
  auto o = parse({"-l", "0-1", "--no-huge", "--", "--port", "0000:3b:00.0", "--ip",
                  "192.168.1.10/24", "--gateway=192.168.1.1", "--workers=2"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->eal_args, (std::vector<std::string>{"-l", "0-1", "--no-huge"}));
  ASSERT_EQ(o->ports.size(), 1u);
  EXPECT_TRUE(o->ports[0].is_pci);
  EXPECT_EQ(o->ports[0].device, "0000:3b:00.0");
  EXPECT_EQ(o->gateway->str(), "192.168.1.1");
  EXPECT_EQ(o->workers, 2u);
}

TEST(Options, VdevPortNameIsTheDeviceName) {
  auto o = parse({"--port", "net_memif0,role=server,socket=/tmp/m.sock", "--ip", "10.0.0.1/24"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_FALSE(o->ports[0].is_pci);
  EXPECT_EQ(o->ports[0].device, "net_memif0");
}

// Every bad command line gets a one-line reason that names the offending flag.
TEST(Options, BadCommandLinesAreRejectedWithAReason) {
  struct Case {
    std::vector<const char*> args;
    const char* must_mention;
  };
  const Case cases[] = {
      {{}, "no port"},
      {{"--tap"}, "--tap"},
      {{"--tap", "this-name-is-far-too-long"}, "--tap"},
      {{"--tap", "a/b"}, "--tap"},
      {{"--tap", "t0", "--ip", "10.99.0.300/24"}, "--ip"},
      {{"--tap", "t0", "--ip", "10.99.0.2/33"}, "--ip"},
      {{"--tap", "t0", "--ip", "10.99.0.2/"}, "--ip"},
      {{"--tap", "t0", "--host-ip", "nonsense"}, "--host-ip"},
      {{"--tap", "t0", "--host-ip", "10.99.0.2/24"}, "differ"},
      {{"--tap", "t0", "--host-ip", "10.98.0.1/24"}, "same subnet"},
      {{"--tap", "t0", "--ip", "10.99.0.0/24", "--host-ip", "10.99.0.1/24"}, "network"},
      {{"--tap", "t0", "--ip", "10.99.0.255/24", "--host-ip", "10.99.0.1/24"}, "broadcast"},
      {{"--tap", "t0", "--gateway", "10.1.1.1"}, "--gateway"},
      {{"--tap", "t0", "--gateway", "x"}, "--gateway"},
      {{"--tap", "t0", "--workers", "0"}, "--workers"},
      {{"--tap", "t0", "--workers", "3x"}, "--workers"},
      {{"--tap", "t0", "--workers", "1000"}, "--workers"},
      {{"--tap", "t0", "--workers", "2", "--lcores", "0-1"}, "choose one"},
      {{"--tap", "t0", "--lcores", "0;rm"}, "--lcores"},
      {{"--tap", "t0", "--port", "net_memif0"}, "choose one"},
      {{"--port", "eth0"}, "--port"},
      {{"--port", "0000:3b:00.0"}, "--ip"},
      {{"--port", "0000:3b:00.0", "--port", "0000:3b:00.1", "--ip", "10.0.0.1/24"}, "one port"},
      {{"--port", "0000:3b:00.0", "--ip", "10.0.0.1/24", "--host-ip", "10.0.0.2/24"},
       "--host-ip"},
      {{"--tap", "t0", "--frobnicate"}, "--frobnicate"},
      {{"--tap", "t0", "stray"}, "stray"},
      {{"--tap", "t0", "--log-level", "9"}, "--log-level"},
      {{"--tap", "t0", "--serve", "7"}, "--serve"},
      {{"--tap", "t0", "--serve", "0=echo"}, "--serve"},
      {{"--tap", "t0", "--serve", "70000=echo"}, "--serve"},
      {{"--tap", "t0", "--serve", "7=telnet"}, "telnet"},
      {{"--tap", "t0", "--serve", "7=echo", "--serve", "7=http"}, "served twice"},
      {{"--tap", "t0", "--serve", "443=tls:http"}, "TLS"},
      {{"--tap", "t0", "--cert", "c.pem"}, "--cert"},
  };
  for (const Case& c : cases) {
    auto o = parse(c.args);
    std::string line;
    for (const char* a : c.args) {
      line += std::string(a) + " ";
    }
    ASSERT_FALSE(o.ok()) << line;
    EXPECT_NE(o.error().find(c.must_mention), std::string::npos)
        << line << " -> " << o.error();
    EXPECT_EQ(o.error().find('\n'), std::string::npos) << "one line: " << o.error();
  }
}

TEST(Options, ServicesAreRepeatable) {
  auto o = parse({"--tap", "t0", "--serve", "7=echo", "--serve=9=discard", "--serve",
                  "8080=http"});
  ASSERT_TRUE(o.ok()) << o.error();
  ASSERT_EQ(o->services.size(), 3u);
  EXPECT_EQ(o->services[0].port, 7);
  EXPECT_EQ(o->services[0].app, engine::AppKind::kEcho);
  EXPECT_EQ(o->services[1].port, 9);
  EXPECT_EQ(o->services[1].app, engine::AppKind::kDiscard);
  EXPECT_EQ(o->services[2].app, engine::AppKind::kHttp);
}

TEST(Options, HelpNeedsNothingElse) {
  auto o = parse({"--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
  EXPECT_NE(std::string(usage()).find("--tap"), std::string::npos);
}

}  // namespace
}  // namespace linetls::app
