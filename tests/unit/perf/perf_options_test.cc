#include "apps/linetls-perf/perf_options.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace linetls::perf {
namespace {

// The least a valid command line needs, then args.
Result<PerfOptions, std::string> parse(std::vector<std::string> args) {
  std::vector<std::string> all = {"--tap", "lt0", "--ip", "10.99.0.3/24", "--target",
                                  "10.99.0.2:443"};
  all.insert(all.end(), args.begin(), args.end());
  return parse_perf_options(all);
}

TEST(PerfOptions, Defaults) {
  auto o = parse({});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->tap, "lt0");
  EXPECT_FALSE(o->port);
  EXPECT_EQ(o->ip.str(), "10.99.0.3/24");
  EXPECT_FALSE(o->gateway);
  EXPECT_EQ(o->target.str(), "10.99.0.2:443");
  EXPECT_EQ(o->mode, Mode::kHandshake);
  EXPECT_EQ(o->tls_version, 0x0304);
  EXPECT_EQ(o->suite, "");
  EXPECT_EQ(o->suite_code, 0);
  EXPECT_EQ(o->group, crypto::NamedGroup::kX25519);
  EXPECT_EQ(o->connections, 1u);
  EXPECT_FALSE(o->rate);
  EXPECT_EQ(o->size, 0u);
  EXPECT_EQ(o->requests, 0u);
  EXPECT_EQ(o->duration_s, 10.0);
  EXPECT_EQ(o->warmup_s, 0.0);
  EXPECT_FALSE(o->json_file);
  EXPECT_FALSE(o->verify_ca);
  EXPECT_FALSE(o->sni);
  EXPECT_FALSE(o->busy_poll);
  EXPECT_FALSE(o->quiet);
  EXPECT_FALSE(o->help);
}

TEST(PerfOptions, EveryFlag) {
  auto o = parse_perf_options(
      {"--port", "0000:3b:00.0", "--ip", "192.168.1.10/24", "--gateway", "192.168.1.1",
       "--target", "10.0.0.1:8443", "--mode", "request", "--tls", "1.2", "--suite",
       "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "--group", "secp384r1", "--connections",
       "1000000", "--rate", "2500.5", "--size", "4K", "--duration", "2.5", "--json",
       "/tmp/out.json", "--verify", "ca.pem", "--sni", "example.com", "--busy-poll",
       "--requests", "100", "--warmup", "0.5", "--quiet"});
  ASSERT_TRUE(o.ok()) << o.error();
  ASSERT_TRUE(o->port);
  EXPECT_EQ(o->port->spec, "0000:3b:00.0");
  EXPECT_EQ(o->port->device, "0000:3b:00.0");
  EXPECT_TRUE(o->port->is_pci);
  EXPECT_FALSE(o->tap);
  EXPECT_EQ(o->ip.str(), "192.168.1.10/24");
  EXPECT_EQ(o->gateway->str(), "192.168.1.1");
  EXPECT_EQ(o->target.ip.str(), "10.0.0.1");
  EXPECT_EQ(o->target.port, 8443);
  EXPECT_EQ(o->mode, Mode::kRequest);
  EXPECT_EQ(o->tls_version, 0x0303);
  EXPECT_EQ(o->suite, "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384");
  EXPECT_EQ(o->suite_code, 0xC030);
  EXPECT_EQ(o->group, crypto::NamedGroup::kSecp384r1);
  EXPECT_EQ(o->connections, 1000000u);
  EXPECT_EQ(o->rate, 2500.5);
  EXPECT_EQ(o->size, 4096u);
  EXPECT_EQ(o->duration_s, 2.5);
  EXPECT_EQ(o->json_file, "/tmp/out.json");
  EXPECT_EQ(o->verify_ca, "ca.pem");
  EXPECT_EQ(o->sni, "example.com");
  EXPECT_TRUE(o->busy_poll);
  EXPECT_EQ(o->requests, 100u);
  EXPECT_EQ(o->warmup_s, 0.5);
  EXPECT_TRUE(o->quiet);
}

TEST(PerfOptions, InlineValuesAreTheSame) {
  auto a = parse_perf_options({"--tap=lt1", "--ip=10.1.0.2/16", "--target=10.1.2.3:80",
                               "--mode=plain", "--connections=8", "--size=1M"});
  auto b = parse_perf_options({"--tap", "lt1", "--ip", "10.1.0.2/16", "--target",
                               "10.1.2.3:80", "--mode", "plain", "--connections", "8",
                               "--size", "1M"});
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_TRUE(b.ok()) << b.error();
  EXPECT_EQ(*a, *b);
  EXPECT_EQ(a->size, uint64_t{1} << 20);
}

TEST(PerfOptions, VdevPortIsTheNameBeforeTheComma) {
  auto o = parse_perf_options({"--port", "net_memif0,role=client,socket=/tmp/m.sock", "--ip",
                               "10.0.0.2/24", "--target", "10.0.0.1:443"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->port->spec, "net_memif0,role=client,socket=/tmp/m.sock");
  EXPECT_EQ(o->port->device, "net_memif0");
  EXPECT_FALSE(o->port->is_pci);
  auto short_pci = parse_perf_options(
      {"--port", "3b:00.1", "--ip", "10.0.0.2/24", "--target", "10.0.0.1:443"});
  ASSERT_TRUE(short_pci.ok()) << short_pci.error();
  EXPECT_TRUE(short_pci->port->is_pci);
}

TEST(PerfOptions, SizeDefaultsPerMode) {
  struct Case {
    const char* mode;
    Mode want;
    uint64_t size;
  };
  const Case cases[] = {
      {"handshake", Mode::kHandshake, 0},
      {"resume", Mode::kResume, 0},
      {"request", Mode::kRequest, 1024},
      {"download", Mode::kDownload, 16u << 20},
      {"upload", Mode::kUpload, 16u << 20},
      {"plain", Mode::kPlain, 0},
  };
  for (const Case& c : cases) {
    auto o = parse({"--mode", c.mode});
    ASSERT_TRUE(o.ok()) << o.error();
    EXPECT_EQ(o->mode, c.want) << c.mode;
    EXPECT_EQ(o->size, c.size) << c.mode;
    EXPECT_STREQ(mode_name(o->mode), c.mode);
    // A --size given wins in every mode, before or after --mode.
    auto sized = parse({"--size", "77", "--mode", c.mode});
    ASSERT_TRUE(sized.ok()) << sized.error();
    EXPECT_EQ(sized->size, 77u) << c.mode;
  }
}

TEST(PerfOptions, SizeSuffixesArePowersOf1024) {
  const std::pair<const char*, uint64_t> cases[] = {
      {"1", 1},
      {"1000", 1000},
      {"2K", 2048},
      {"2k", 2048},
      {"16M", 16u << 20},
      {"3m", 3u << 20},
      {"1G", uint64_t{1} << 30},
      {"1024G", uint64_t{1} << 40},
      {"1099511627776", uint64_t{1} << 40},
  };
  for (const auto& [text, want] : cases) {
    auto o = parse({"--size", text});
    ASSERT_TRUE(o.ok()) << text << ": " << o.error();
    EXPECT_EQ(o->size, want) << text;
  }
}

TEST(PerfOptions, EverySuiteWithItsVersion) {
  const std::pair<const char*, uint16_t> tls13[] = {
      {"TLS_AES_128_GCM_SHA256", 0x1301},
      {"TLS_AES_256_GCM_SHA384", 0x1302},
      {"TLS_CHACHA20_POLY1305_SHA256", 0x1303},
  };
  for (const auto& [name, code] : tls13) {
    auto o = parse({"--suite", name});
    ASSERT_TRUE(o.ok()) << o.error();
    EXPECT_EQ(o->suite, name);
    EXPECT_EQ(o->suite_code, code);
  }
  const std::pair<const char*, uint16_t> tls12[] = {
      {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", 0xC02B},
      {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", 0xC02C},
      {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", 0xC02F},
      {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", 0xC030},
      {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA9},
      {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", 0xCCA8},
  };
  for (const auto& [name, code] : tls12) {
    auto o = parse({"--suite", name, "--tls", "1.2"});
    ASSERT_TRUE(o.ok()) << o.error();
    EXPECT_EQ(o->suite, name);
    EXPECT_EQ(o->suite_code, code);
  }
}

TEST(PerfOptions, SuiteAndVersionMustMatch) {
  auto a = parse({"--tls", "1.2", "--suite", "TLS_AES_128_GCM_SHA256"});
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error(), "--suite: TLS_AES_128_GCM_SHA256 is a TLS 1.3 suite, but --tls is 1.2");
  // The default version is 1.3; the order of the flags does not matter.
  auto b = parse({"--suite", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error(),
            "--suite: TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 is a TLS 1.2 suite, but --tls is 1.3");
  auto c = parse({"--suite", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "--tls", "1.2"});
  EXPECT_TRUE(c.ok()) << c.error();
}

TEST(PerfOptions, Groups) {
  for (const char* g : {"x25519", "secp256r1", "secp384r1"}) {
    auto o = parse({"--group", g});
    ASSERT_TRUE(o.ok()) << o.error();
    EXPECT_STREQ(group_name(o->group), g);
  }
}

TEST(PerfOptions, RepeatedFlagsKeepTheLastValue) {
  auto o = parse({"--connections", "5", "--connections", "7", "--mode", "upload", "--mode",
                  "download", "--tap", "lt9", "--target", "10.99.0.9:80", "--rate", "1",
                  "--rate", "2"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->connections, 7u);
  EXPECT_EQ(o->mode, Mode::kDownload);
  EXPECT_EQ(o->tap, "lt9");
  EXPECT_EQ(o->target.str(), "10.99.0.9:80");
  EXPECT_EQ(o->rate, 2.0);
  auto p = parse_perf_options({"--port", "0000:3b:00.0", "--port", "net_af_packet0,iface=eth0",
                               "--ip", "10.0.0.2/24", "--target", "10.0.0.1:443"});
  ASSERT_TRUE(p.ok()) << p.error();
  EXPECT_EQ(p->port->device, "net_af_packet0");
}

TEST(PerfOptions, DecimalSeconds) {
  auto o = parse({"--duration", "0.25", "--warmup", "3", "--rate", ".5"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->duration_s, 0.25);
  EXPECT_EQ(o->warmup_s, 3.0);
  EXPECT_EQ(o->rate, 0.5);
  auto w = parse({"--warmup", "0"});
  ASSERT_TRUE(w.ok()) << w.error();
  EXPECT_EQ(w->warmup_s, 0.0);
}

TEST(PerfOptions, TargetOffSubnetNeedsAGateway) {
  auto no_gw = parse_perf_options({"--tap", "t0", "--ip", "10.99.0.3/24", "--target",
                                   "10.1.0.1:443"});
  ASSERT_FALSE(no_gw.ok());
  EXPECT_EQ(no_gw.error(), "--target: 10.1.0.1 is not on 10.99.0.3/24; give --gateway IP");
  auto gw = parse_perf_options({"--tap", "t0", "--ip", "10.99.0.3/24", "--target",
                                "10.1.0.1:443", "--gateway", "10.99.0.1"});
  EXPECT_TRUE(gw.ok()) << gw.error();
}

TEST(PerfOptions, HelpWinsOverEverythingElse) {
  for (const char* h : {"-h", "--help"}) {
    auto o = parse_perf_options({"--connections", "3", h, "--frobnicate"});
    ASSERT_TRUE(o.ok()) << o.error();
    EXPECT_TRUE(o->help);
    EXPECT_EQ(o->connections, 1u);  // nothing else is set
  }
  auto alone = parse_perf_options({"--help"});
  ASSERT_TRUE(alone.ok());
  EXPECT_TRUE(alone->help);
}

TEST(PerfOptions, UsageMentionsEveryFlag) {
  const std::string u = perf_usage();
  for (const char* flag :
       {"--port", "--tap", "--ip", "--gateway", "--target", "--mode", "--tls", "--suite",
        "--group", "--connections", "--rate", "--size", "--duration", "--json", "--verify",
        "--sni", "--busy-poll", "--requests", "--warmup", "--quiet", "--help", "--queues"}) {
    EXPECT_NE(u.find(flag), std::string::npos) << flag;
  }
}

TEST(PerfOptions, OpenLoopCapDefaultsToOneSecondOfStarts) {
  auto o = parse({"--rate", "1500"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->connections, 1500u);
  o = parse({"--rate", "1000000"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->connections, 65536u);
  o = parse({"--rate", "0.5"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->connections, 1u);
  o = parse({"--rate", "1500", "--connections", "7"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->connections, 7u);  // given: kept
}

TEST(PerfOptions, FloodBesideTheMeasuredMode) {
  auto o = parse({"--mode", "request", "--flood", "500"});
  ASSERT_TRUE(o.ok()) << o.error();
  ASSERT_TRUE(o->flood_rate.has_value());
  EXPECT_EQ(*o->flood_rate, 500.0);
  EXPECT_EQ(o->mode, Mode::kRequest);
  EXPECT_FALSE(o->rate.has_value());  // the measured mode stays closed loop
  for (const char* bad : {"0", "-1", "x", ""}) {
    SCOPED_TRACE(bad);
    auto e = parse({"--flood", bad});
    ASSERT_FALSE(e.ok());
    EXPECT_EQ(e.error().rfind("--flood", 0), 0u) << e.error();
  }
  auto plain = parse({"--mode", "plain", "--flood", "10"});
  ASSERT_FALSE(plain.ok());
  EXPECT_EQ(plain.error().rfind("--flood", 0), 0u) << plain.error();
}

TEST(PerfOptions, ClientCertificateNeedsBothFiles) {
  auto o = parse({"--cert", "c.pem", "--key", "c.key"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->cert_file, "c.pem");
  EXPECT_EQ(o->key_file, "c.key");
  auto d = parse({});
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_FALSE(d->cert_file.has_value());
  auto no_key = parse({"--cert", "c.pem"});
  ASSERT_FALSE(no_key.ok());
  EXPECT_EQ(no_key.error().rfind("--cert", 0), 0u) << no_key.error();
  auto no_cert = parse({"--key", "c.key"});
  ASSERT_FALSE(no_cert.ok());
  EXPECT_EQ(no_cert.error().rfind("--key", 0), 0u) << no_cert.error();
}

TEST(PerfOptions, QueuesForSoftwareRss) {
  auto o = parse({});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->queues, 1);
  o = parse({"--queues", "4"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->queues, 4);
  for (const char* bad : {"0", "65", "x", "-1", ""}) {
    auto e = parse({"--queues", bad});
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.error(), std::string("--queues: expected an integer 1-64, got '") + bad + "'");
  }
}

TEST(PerfOptions, EndpointParse) {
  EXPECT_EQ(Endpoint::parse("1.2.3.4:1")->str(), "1.2.3.4:1");
  EXPECT_EQ(Endpoint::parse("1.2.3.4:65535")->port, 65535);
  for (const char* bad : {"1.2.3.4", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", ":443",
                          "host:443", "1.2.3.4:44x", "1.2.3.4:-1"}) {
    EXPECT_FALSE(Endpoint::parse(bad)) << bad;
  }
}

// Every error is exactly one line naming its flag.
TEST(PerfOptions, ErrorsAreOneLineNamingTheFlag) {
  struct Case {
    std::vector<std::string> args;  // after the minimal valid command line
    const char* error;
  };
  const Case cases[] = {
      {{"--connections", "x"}, "--connections: expected an integer 1-1000000, got 'x'"},
      {{"--connections", "0"}, "--connections: expected an integer 1-1000000, got '0'"},
      {{"--connections", "1000001"},
       "--connections: expected an integer 1-1000000, got '1000001'"},
      {{"--connections", "-1"}, "--connections: expected an integer 1-1000000, got '-1'"},
      {{"--connections", ""}, "--connections: expected an integer 1-1000000, got ''"},
      {{"--connections"}, "--connections: needs a value"},
      {{"--port", "eth0"},
       "--port: expected a PCI address (0000:3b:00.0) or a vdev spec (net_memif0,role=client), "
       "got 'eth0'"},
      {{"--port", "net_"},
       "--port: expected a PCI address (0000:3b:00.0) or a vdev spec (net_memif0,role=client), "
       "got 'net_'"},
      {{"--port", "net_memif0"}, "--tap and --port: choose one"},
      {{"--tap", "this-name-is-too-long"},
       "--tap: expected an interface name of 1-15 characters, got 'this-name-is-too-long'"},
      {{"--tap", "a/b"}, "--tap: expected an interface name of 1-15 characters, got 'a/b'"},
      {{"--ip", "10.99.0.300/24"},
       "--ip: expected an IPv4 address with prefix length, e.g. 10.99.0.2/24, got "
       "'10.99.0.300/24'"},
      {{"--ip", "10.99.0.3/31"}, "--ip: expected a prefix length of 1-30, got '10.99.0.3/31'"},
      {{"--ip", "10.99.0.0/24"}, "--ip: 10.99.0.0/24 is a network or broadcast address"},
      {{"--ip", "10.99.0.255/24"}, "--ip: 10.99.0.255/24 is a network or broadcast address"},
      {{"--gateway", "x"}, "--gateway: expected an IPv4 address, got 'x'"},
      {{"--gateway", "10.1.1.1"}, "--gateway: 10.1.1.1 is not another address on 10.99.0.3/24"},
      {{"--gateway", "10.99.0.3"},
       "--gateway: 10.99.0.3 is not another address on 10.99.0.3/24"},
      {{"--target", "10.99.0.2"},
       "--target: expected IP:PORT, e.g. 10.99.0.1:443, got '10.99.0.2'"},
      {{"--target", "10.99.0.3:443"}, "--target: 10.99.0.3 is our own address (--ip)"},
      {{"--mode", "stream"},
       "--mode: expected handshake, resume, request, download, upload or plain, got 'stream'"},
      {{"--tls", "1.1"}, "--tls: expected 1.2 or 1.3, got '1.1'"},
      {{"--tls", "tls1.3"}, "--tls: expected 1.2 or 1.3, got 'tls1.3'"},
      {{"--suite", "AES128-GCM-SHA256"},
       "--suite: expected an IANA cipher suite name such as TLS_AES_128_GCM_SHA256, got "
       "'AES128-GCM-SHA256'"},
      {{"--suite", "TLS_RSA_WITH_AES_128_GCM_SHA256"},
       "--suite: expected an IANA cipher suite name such as TLS_AES_128_GCM_SHA256, got "
       "'TLS_RSA_WITH_AES_128_GCM_SHA256'"},
      {{"--group", "x448"}, "--group: expected x25519, secp256r1 or secp384r1, got 'x448'"},
      {{"--rate", "0"},
       "--rate: expected connections per second, above 0 and at most 1000000000, got '0'"},
      {{"--rate", "-5"},
       "--rate: expected connections per second, above 0 and at most 1000000000, got '-5'"},
      {{"--rate", "1e3"},
       "--rate: expected connections per second, above 0 and at most 1000000000, got '1e3'"},
      {{"--rate", "inf"},
       "--rate: expected connections per second, above 0 and at most 1000000000, got 'inf'"},
      {{"--rate", "1.2.3"},
       "--rate: expected connections per second, above 0 and at most 1000000000, got '1.2.3'"},
      {{"--rate", "2000000000"},
       "--rate: expected connections per second, above 0 and at most 1000000000, got "
       "'2000000000'"},
      {{"--size", "0"},
       "--size: expected bytes 1-1099511627776, optionally with K, M or G (powers of 1024), "
       "got '0'"},
      {{"--size", "1T"},
       "--size: expected bytes 1-1099511627776, optionally with K, M or G (powers of 1024), "
       "got '1T'"},
      {{"--size", "1025G"},
       "--size: expected bytes 1-1099511627776, optionally with K, M or G (powers of 1024), "
       "got '1025G'"},
      {{"--size", "K"},
       "--size: expected bytes 1-1099511627776, optionally with K, M or G (powers of 1024), "
       "got 'K'"},
      {{"--size", "1.5M"},
       "--size: expected bytes 1-1099511627776, optionally with K, M or G (powers of 1024), "
       "got '1.5M'"},
      {{"--duration", "0"},
       "--duration: expected seconds, above 0 and at most 31536000, got '0'"},
      {{"--duration", "ten"},
       "--duration: expected seconds, above 0 and at most 31536000, got 'ten'"},
      {{"--duration", "31536001"},
       "--duration: expected seconds, above 0 and at most 31536000, got '31536001'"},
      {{"--warmup", "-1"}, "--warmup: expected seconds from 0 to 31536000, got '-1'"},
      {{"--warmup", "."}, "--warmup: expected seconds from 0 to 31536000, got '.'"},
      {{"--requests", "x"},
       "--requests: expected an integer 0-4294967295 (0: no limit), got 'x'"},
      {{"--requests", "4294967296"},
       "--requests: expected an integer 0-4294967295 (0: no limit), got '4294967296'"},
      {{"--json", ""}, "--json: expected a file name, got ''"},
      {{"--json"}, "--json: needs a value"},
      {{"--verify", ""}, "--verify: expected a PEM file of CA certificates, got ''"},
      {{"--sni", "10.0.0.1"},
       "--sni: expected a host name (RFC 6066: not an IP address), got '10.0.0.1'"},
      {{"--sni", "bad name"}, "--sni: expected a host name such as example.com, got 'bad name'"},
      {{"--sni", "a..b"}, "--sni: expected a host name such as example.com, got 'a..b'"},
      {{"--sni", "example.com."},
       "--sni: expected a host name such as example.com, got 'example.com.'"},
      {{"--sni", ""}, "--sni: expected a host name such as example.com, got ''"},
      {{"--busy-poll=false"}, "--busy-poll: takes no value"},
      {{"--quiet=1"}, "--quiet: takes no value"},
      {{"--frobnicate"}, "--frobnicate: unknown option (see --help)"},
      {{"--frobnicate", "3"}, "--frobnicate: unknown option (see --help)"},
      {{"-c", "3"}, "-c: unknown option (see --help)"},
      {{"stray"}, "unexpected argument 'stray' (options start with --)"},
  };
  for (const Case& c : cases) {
    auto o = parse(c.args);
    ASSERT_FALSE(o.ok()) << c.args[0];
    EXPECT_EQ(o.error(), c.error);
    EXPECT_EQ(o.error().find('\n'), std::string::npos);
  }
}

TEST(PerfOptions, RequiredFlagsAndThePort) {
  struct Case {
    std::vector<std::string> args;
    const char* error;
  };
  const Case cases[] = {
      {{}, "no port: give --port SPEC or --tap NAME"},
      {{"--ip", "10.0.0.2/24", "--target", "10.0.0.1:443"},
       "no port: give --port SPEC or --tap NAME"},
      {{"--tap", "t0", "--port", "0000:3b:00.0", "--ip", "10.0.0.2/24", "--target",
        "10.0.0.1:443"},
       "--tap and --port: choose one"},
      {{"--tap", "t0", "--target", "10.0.0.1:443"},
       "--ip: required (our address with prefix length, e.g. 10.99.0.2/24)"},
      {{"--port", "0000:3b:00.0", "--ip", "10.0.0.2/24"},
       "--target: required (the server, IP:PORT)"},
  };
  for (const Case& c : cases) {
    auto o = parse_perf_options(c.args);
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.error(), c.error);
  }
}

}  // namespace
}  // namespace linetls::perf
