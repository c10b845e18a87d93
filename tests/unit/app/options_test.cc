#include "apps/linetls/options.h"

#include <fstream>
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
      {{"--port", "0000:3b:00.0", "--ip", "10.0.0.1/24", "--host-ip", "10.0.0.2/24"}, "--host-ip"},
      {{"--tap", "t0", "--frobnicate"}, "--frobnicate"},
      {{"--tap", "t0", "stray"}, "stray"},
      {{"--tap", "t0", "--log-level", "9"}, "--log-level"},
      {{"--tap", "t0", "--serve", "7"}, "--serve"},
      {{"--tap", "t0", "--serve", "0=echo"}, "--serve"},
      {{"--tap", "t0", "--serve", "70000=echo"}, "--serve"},
      {{"--tap", "t0", "--serve", "7=telnet"}, "telnet"},
      {{"--tap", "t0", "--serve", "7=echo", "--serve", "7=http"}, "served twice"},
      {{"--tap", "t0", "--serve", "443=tls:gopher"}, "gopher"},
      {{"--tap", "t0", "--cert", "c.pem"}, "--cert"},
      {{"--tap", "t0", "--key", "k.pem"}, "--key"},
      {{"--tap", "t0", "--cert", "a.pem", "--key", "a.key", "--cert", "b.pem"}, "pairs"},
      {{"--tap", "t0", "--alpn", ""}, "--alpn"},
      {{"--tap", "t0", "--alpn", "h2,"}, "--alpn"},
      {{"--tap", "t0", "--key-update-records", "0"}, "--key-update-records"},
      {{"--tap", "t0", "--handshake-timeout-ms", "x"}, "--handshake-timeout-ms"},
      {{"--tap", "t0", "--config", "/nonexistent/x.toml"},
       "--config /nonexistent/x.toml: cannot open"},
      {{"--tap", "t0", "--check-config", "/nonexistent/x.toml"},
       "--check-config /nonexistent/x.toml: cannot open"},
      {{"--tap", "t0", "--config"}, "--config: needs a value"},
      {{"--tap", "t0", "--check-config"}, "--check-config: needs a value"},
      {{"--tap", "t0", "--config="}, "--config: expected a TOML file"},
      {{"--tap", "t0", "--config", "a.toml", "--check-config", "a.toml"},
       "--check-config: give one --config or --check-config"},
      {{"--tap", "t0", "--ticket-key-file"}, "--ticket-key-file: needs a value"},
      {{"--tap", "t0", "--ticket-key-file="}, "--ticket-key-file: expected a file"},
      {{"--tap", "t0", "--metrics", "9100"}, "--metrics: expected IP:PORT"},
      {{"--tap", "t0", "--metrics", "127.0.0.1:0"}, "--metrics: expected IP:PORT"},
      {{"--tap", "t0", "--metrics", "127.0.0.1:65536"}, "--metrics: expected IP:PORT"},
      {{"--tap", "t0", "--metrics", "localhost:9100"}, "--metrics: expected IP:PORT"},
      {{"--tap", "t0", "--metrics"}, "--metrics: needs a value"},
      {{"--tap", "t0", "--stats-interval", "x"}, "--stats-interval: expected seconds"},
      {{"--tap", "t0", "--stats-interval", "-1"}, "--stats-interval: expected seconds"},
      {{"--tap", "t0", "--stats-interval", "86401"}, "--stats-interval: expected seconds"},
      {{"--tap", "t0", "--tls-min", "1.1"}, "--tls-min"},
      {{"--tap", "t0", "--tls-max", "1.0"}, "--tls-max"},
      {{"--tap", "t0", "--tls-max", "tls1.3"}, "--tls-max"},
      {{"--tap", "t0", "--tls-min", "1.3", "--tls-max", "1.2"}, "--tls-min"},
      {{"--tap", "t0", "--client-auth", "maybe"}, "--client-auth"},
      {{"--tap", "t0", "--client-auth", "required"}, "--client-ca"},
      {{"--tap", "t0", "--client-auth", "optional"}, "--client-ca"},
      {{"--tap", "t0", "--client-ca"}, "--client-ca"},
      {{"--tap", "t0", "--client-ca", ""}, "--client-ca"},
      {{"--tap", "t0", "--serve", "443=tls:proxy:"}, "HOST:PORT"},
      {{"--tap", "t0", "--serve", "443=tls:proxy:10.0.0.300:80"}, "host"},
      {{"--tap", "t0", "--serve", "443=proxy:backend.example:80"}, "host"},
      {{"--tap", "t0", "--serve", "443=proxy:10.0.0.1"}, "HOST:PORT"},
      {{"--tap", "t0", "--serve", "443=proxy:10.0.0.1:0"}, "port"},
      {{"--tap", "t0", "--serve", "443=proxy:10.0.0.1:80,"}, "backend"},
      {{"--tap", "t0", "--serve", "443=proxy:10.0.0.1:80,,10.0.0.2:80"}, "backend"},
      {{"--tap", "t0", "--serve", "80=http", "--proxy-protocol", "v2"}, "--proxy-protocol"},
      {{"--tap", "t0", "--serve", "80=proxy:10.0.0.1:80", "--proxy-protocol", "v1"},
       "--proxy-protocol"},
      {{"--tap", "t0", "--connect-timeout-ms", "0"}, "--connect-timeout-ms"},
      {{"--tap", "t0", "--idle-timeout-ms", "-1"}, "--idle-timeout-ms"},
      {{"--tap", "t0", "--backend-down-ms", "x"}, "--backend-down-ms"},
      {{"--tap", "t0", "--keepalive-ms", "1e3"}, "--keepalive-ms"},
      {{"--tap", "t0", "--tls12-ems", "maybe"}, "--tls12-ems"},
      {{"--tap", "t0", "--persist-timeout-ms"}, "--persist-timeout-ms"},
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

TEST(Options, ProxyServicesAndTheirSettings) {
  auto o = parse({"--tap", "t0", "--serve", "443=tls:proxy:10.0.0.1:8080,10.0.0.2:8081",
                  "--serve", "80=proxy:10.0.0.3:80", "--proxy-protocol", "v2",
                  "--connect-timeout-ms", "500", "--backend-down-ms", "0",
                  "--idle-timeout-ms", "0"});
  ASSERT_TRUE(o.ok()) << o.error();
  ASSERT_EQ(o->services.size(), 2u);
  const engine::ServiceSpec& s = o->services[0];
  EXPECT_TRUE(s.tls);
  EXPECT_EQ(s.app, engine::AppKind::kProxy);
  ASSERT_EQ(s.proxy.backends.size(), 2u);
  EXPECT_EQ(s.proxy.backends[0].ip, *net::Ipv4Addr::parse("10.0.0.1"));
  EXPECT_EQ(s.proxy.backends[0].port, 8080);
  EXPECT_EQ(s.proxy.backends[1].port, 8081);
  EXPECT_EQ(engine::to_string(s), "tls:proxy:10.0.0.1:8080,10.0.0.2:8081");
  for (const auto& svc : o->services) {  // every proxy service gets the flags
    EXPECT_TRUE(svc.proxy.proxy_protocol_v2);
    EXPECT_EQ(svc.proxy.connect_timeout_ms, 500u);
    EXPECT_EQ(svc.proxy.backend_down_ms, 0u);
    EXPECT_EQ(svc.proxy.idle_timeout_ms, 0u);
  }
  auto d = parse({"--tap", "t0", "--serve", "80=proxy:10.0.0.3:80"});
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_FALSE(d->services[0].proxy.proxy_protocol_v2);
  EXPECT_EQ(d->services[0].proxy.connect_timeout_ms, 3000u);
  EXPECT_EQ(d->services[0].proxy.idle_timeout_ms, 300000u);
}

TEST(Options, TlsServicesCertificatesAndAlpn) {
  auto o = parse({"--tap", "t0", "--serve", "443=tls:http", "--serve", "7443=tls:echo",
                  "--cert", "a.pem", "--key", "a.key", "--cert=b.pem", "--key=b.key",
                  "--key-update-records", "8", "--handshake-timeout-ms", "250"});
  ASSERT_TRUE(o.ok()) << o.error();
  ASSERT_EQ(o->services.size(), 2u);
  EXPECT_TRUE(o->services[0].tls);
  EXPECT_EQ(o->services[0].app, engine::AppKind::kHttp);
  EXPECT_TRUE(o->services[1].tls);
  EXPECT_EQ(o->services[1].app, engine::AppKind::kEcho);
  EXPECT_EQ(o->cert_files, (std::vector<std::string>{"a.pem", "b.pem"}));
  EXPECT_EQ(o->key_files, (std::vector<std::string>{"a.key", "b.key"}));
  EXPECT_EQ(*o->key_update_records, 8u);
  EXPECT_EQ(o->handshake_timeout_ms, 250u);
  EXPECT_TRUE(has_tls_service(*o));
  EXPECT_EQ(effective_alpn(*o), (std::vector<std::string>{"http/1.1"}));

  auto echo = parse({"--tap", "t0", "--serve", "7443=tls:echo"});
  ASSERT_TRUE(echo.ok());
  EXPECT_TRUE(effective_alpn(*echo).empty());
  auto given = parse({"--tap", "t0", "--serve", "443=tls:http", "--alpn", "h2,http/1.1"});
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(effective_alpn(*given), (std::vector<std::string>{"h2", "http/1.1"}));
  auto plain = parse({"--tap", "t0", "--serve", "80=http"});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(has_tls_service(*plain));
}

// Certificate files that cannot be used are a one-line error naming the file.
TEST(Options, BadCertificateFilesAreRejectedWithAReason) {
  const std::string dir = ::testing::TempDir();
  const std::string garbage = dir + "/linetls_garbage.pem";
  {
    std::ofstream f(garbage);
    f << "not a certificate\n";
  }
  struct Case {
    std::vector<std::string> args;
    const char* must_mention;
  };
  const Case cases[] = {
      {{"--cert", dir + "/linetls_missing.pem", "--key", dir + "/linetls_missing.key"},
       "linetls_missing.pem"},
      {{"--cert", garbage, "--key", garbage}, "linetls_garbage.pem"},
  };
  for (const Case& c : cases) {
    std::vector<const char*> args = {"--tap", "t0", "--serve", "443=tls:http"};
    for (const auto& a : c.args) {
      args.push_back(a.c_str());
    }
    auto o = parse(args);
    ASSERT_TRUE(o.ok()) << o.error();
    auto keys = load_certificates(*o);
    ASSERT_FALSE(keys.ok());
    EXPECT_NE(keys.error().find(c.must_mention), std::string::npos) << keys.error();
    EXPECT_EQ(keys.error().find('\n'), std::string::npos) << "one line: " << keys.error();
  }
}

TEST(Options, TlsVersionsAndClientAuth) {
  auto d = parse({"--tap", "t0", "--serve", "443=tls:http"});
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_EQ(d->tls_min, 0x0303);
  EXPECT_EQ(d->tls_max, 0x0304);
  EXPECT_FALSE(d->client_ca);
  EXPECT_EQ(d->client_auth, tls::ClientAuth::kNone);

  struct Case {
    std::vector<const char*> args;
    uint16_t min, max;
    tls::ClientAuth auth;
  };
  const Case cases[] = {
      {{"--tls-min", "1.3"}, 0x0304, 0x0304, tls::ClientAuth::kNone},
      {{"--tls-max", "1.2"}, 0x0303, 0x0303, tls::ClientAuth::kNone},
      {{"--tls-min=1.2", "--tls-max=1.3"}, 0x0303, 0x0304, tls::ClientAuth::kNone},
      {{"--client-ca", "ca.pem"}, 0x0303, 0x0304, tls::ClientAuth::kRequired},
      {{"--client-ca", "ca.pem", "--client-auth", "optional"}, 0x0303, 0x0304,
       tls::ClientAuth::kOptional},
      {{"--client-auth", "required", "--client-ca", "ca.pem"}, 0x0303, 0x0304,
       tls::ClientAuth::kRequired},
      {{"--client-ca", "ca.pem", "--client-auth", "none"}, 0x0303, 0x0304,
       tls::ClientAuth::kNone},
      {{"--client-auth", "none"}, 0x0303, 0x0304, tls::ClientAuth::kNone},
  };
  for (const Case& c : cases) {
    std::vector<const char*> args = {"--tap", "t0", "--serve", "443=tls:http"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    auto o = parse(args);
    ASSERT_TRUE(o.ok()) << o.error();
    EXPECT_EQ(o->tls_min, c.min) << c.args[0];
    EXPECT_EQ(o->tls_max, c.max) << c.args[0];
    EXPECT_EQ(o->client_auth, c.auth) << c.args[0];
  }
}

TEST(Options, BadClientCaFilesAreRejectedWithAReason) {
  const std::string dir = ::testing::TempDir();
  const std::string garbage = dir + "/linetls_garbage_ca.pem";
  {
    std::ofstream f(garbage);
    f << "not a certificate\n";
  }
  for (const std::string& file : {dir + "/linetls_missing_ca.pem", garbage}) {
    auto o = parse({"--tap", "t0", "--serve", "443=tls:http", "--client-ca", file.c_str()});
    ASSERT_TRUE(o.ok()) << o.error();
    auto ca = load_client_ca(*o);
    ASSERT_FALSE(ca.ok());
    EXPECT_NE(ca.error().find("--client-ca " + file), std::string::npos) << ca.error();
    EXPECT_EQ(ca.error().find('\n'), std::string::npos) << "one line: " << ca.error();
  }
  auto none = parse({"--tap", "t0"});
  ASSERT_TRUE(none.ok());
  auto ca = load_client_ca(*none);
  ASSERT_TRUE(ca.ok());
  EXPECT_FALSE(ca->has_value());
}

TEST(Options, OperationsFlags) {
  auto d = parse({"--tap", "t0"});
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_FALSE(d->metrics);
  EXPECT_EQ(d->stats_interval_s, 0u);
  EXPECT_FALSE(d->ticket_key_file);
  EXPECT_FALSE(d->config_file);
  EXPECT_FALSE(d->check_config);
  auto o = parse({"--tap", "t0", "--metrics", "127.0.0.1:9100", "--stats-interval=2",
                  "--ticket-key-file", "/etc/linetls/ticket.key"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->metrics->ip, *net::Ipv4Addr::parse("127.0.0.1"));
  EXPECT_EQ(o->metrics->port, 9100);
  EXPECT_EQ(o->metrics->str(), "127.0.0.1:9100");
  EXPECT_EQ(o->stats_interval_s, 2u);
  EXPECT_EQ(*o->ticket_key_file, "/etc/linetls/ticket.key");
  const std::string help = usage();
  for (const char* flag :
       {"--config", "--check-config", "--ticket-key-file", "--metrics", "--stats-interval"}) {
    EXPECT_NE(help.find(flag), std::string::npos) << flag;
  }
}

// --tls13-psk-ke: off by default; the bare flag turns it on, =true/=false say so, anything
// else is refused naming the flag; --help says what it trades.
TEST(Options, Tls13PskKe) {
  auto d = parse({"--tap", "t0"});
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_FALSE(d->tls13_psk_ke);
  auto on = parse({"--tap", "t0", "--tls13-psk-ke"});
  ASSERT_TRUE(on.ok()) << on.error();
  EXPECT_TRUE(on->tls13_psk_ke);
  auto explicit_on = parse({"--tls13-psk-ke=true", "--tap", "t0"});
  ASSERT_TRUE(explicit_on.ok()) << explicit_on.error();
  EXPECT_TRUE(explicit_on->tls13_psk_ke);
  auto off = parse({"--tap", "t0", "--tls13-psk-ke=false"});
  ASSERT_TRUE(off.ok()) << off.error();
  EXPECT_FALSE(off->tls13_psk_ke);
  auto bad = parse({"--tap", "t0", "--tls13-psk-ke=yes"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().find("--tls13-psk-ke"), std::string::npos) << bad.error();
  const std::string help = usage();
  const size_t at = help.find("--tls13-psk-ke");
  ASSERT_NE(at, std::string::npos);
  EXPECT_NE(help.find("forward secrecy", at), std::string::npos);
}

TEST(Options, HandshakeLcores) {
  auto d = parse({"--tap", "t0"});
  ASSERT_TRUE(d.ok()) << d.error();
  EXPECT_TRUE(d->handshake_lcores.empty());  // inline
  auto one = parse({"--tap", "t0", "--handshake-lcores", "1"});
  ASSERT_TRUE(one.ok()) << one.error();
  EXPECT_EQ(one->handshake_lcores, (std::vector<unsigned>{1}));
  auto list = parse({"--tap", "t0", "--handshake-lcores=2-3,6"});
  ASSERT_TRUE(list.ok()) << list.error();
  EXPECT_EQ(list->handshake_lcores, (std::vector<unsigned>{2, 3, 6}));
  for (const char* bad : {"", "x", "1,1", "3-2", "1;rm", "200"}) {
    SCOPED_TRACE(bad);
    auto e = parse({"--tap", "t0", "--handshake-lcores", bad});
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.error().find("--handshake-lcores"), std::string::npos) << e.error();
  }
}

TEST(Options, HelpNeedsNothingElse) {
  auto o = parse({"--help"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->help);
  EXPECT_NE(std::string(usage()).find("--tap"), std::string::npos);
}

}  // namespace
}  // namespace linetls::app
