// The config file (apps/linetls/config.h): the example in docs/ loads; each broken file
// gets its exact one-line error with FILE:LINE:COLUMN; a file equivalent to a command line
// gives the same Options; the command line overrides the file as README says.
#include "apps/linetls/config.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "apps/linetls/options.h"

namespace linetls::app {
namespace {

Result<Options, std::string> from_text(const std::string& text) {
  auto s = parse_config(text, "t.toml");
  if (!s) {
    return fail(s.error());
  }
  return finalize(*s);
}

Result<Options, std::string> from_argv(std::vector<const char*> args) {
  args.insert(args.begin(), "linetls");
  return parse_options(static_cast<int>(args.size()), args.data());
}

std::string example_path() {
  const char* root = std::getenv("LT_SOURCE_ROOT");
  return std::string(root != nullptr ? root : ".") + "/docs/linetls.example.toml";
}

// Options without what only says where settings came from.
Options comparable(Options o) {
  o.origin.clear();
  o.config_file.reset();
  return o;
}

TEST(Config, TheExampleFileLoads) {
  const std::string path = example_path();
  auto s = load_config_file(path);
  ASSERT_TRUE(s.ok()) << s.error();
  auto o = finalize(*s);
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(*o->tap, "lt0");
  EXPECT_EQ(o->ip.str(), "10.99.0.2/24");
  EXPECT_EQ(o->metrics->str(), "127.0.0.1:9100");
  const std::string dir = path.substr(0, path.rfind('/'));
  EXPECT_EQ(*o->ticket_key_file, dir + "/ticket.key");  // relative to the file
  ASSERT_EQ(o->services.size(), 5u);
  EXPECT_EQ(engine::to_string(o->services[0]), "echo");
  EXPECT_EQ(engine::to_string(o->services[2]), "tls:proxy:10.99.0.1:8080,10.99.0.1:8081");
  // The proxy's own settings over the global ones.
  EXPECT_TRUE(o->services[2].proxy.proxy_protocol_v2);
  EXPECT_EQ(o->services[2].proxy.idle_timeout_ms, 60000u);
  EXPECT_EQ(o->services[2].idle_timeout_ms, 60000u);  // the TCP connections' too
  EXPECT_EQ(o->services[3].idle_timeout_ms, 30000u);  // any app may set it
  EXPECT_FALSE(o->services[0].idle_timeout_ms.has_value());
  EXPECT_EQ(o->keepalive_ms, 60000u);
  EXPECT_EQ(o->persist_timeout_ms, 120000u);
  EXPECT_FALSE(o->tls12_ems_required);
  EXPECT_FALSE(o->tls13_psk_ke);  // listed, off
  EXPECT_EQ(o->services[2].proxy.connect_timeout_ms, 3000u);
  // Two TLS profiles: the global certificates, and 8443's own with mutual TLS.
  ASSERT_EQ(o->tls_profiles.size(), 2u);
  EXPECT_EQ(o->services[2].tls_profile, 0);
  EXPECT_EQ(o->services[3].tls_profile, 1);
  const TlsProfileFiles& global = o->tls_profiles[0];
  ASSERT_EQ(global.certificates.size(), 2u);
  EXPECT_EQ(global.certificates[1].cert, dir + "/certs/rsa.pem");
  EXPECT_EQ(global.alpn, (std::vector<std::string>{"http/1.1"}));
  EXPECT_EQ(global.client_auth, tls::ClientAuth::kNone);
  const TlsProfileFiles& internal = o->tls_profiles[1];
  EXPECT_EQ(internal.certificates[0].key, dir + "/certs/internal.key");
  EXPECT_EQ(internal.alpn, (std::vector<std::string>{"http/1.1", "http/1.0"}));
  EXPECT_EQ(*internal.client_ca, dir + "/certs/clients-ca.pem");
  EXPECT_EQ(internal.client_auth, tls::ClientAuth::kOptional);
}

// Every broken file: its exact error, one line, FILE:LINE:COLUMN first.
TEST(Config, BrokenFilesGetTheirExactErrors) {
  struct Case {
    const char* text;
    const char* error;
  };
  const Case cases[] = {
      {"tap = \"lt0\"\nwokers = 2\n",
       "t.toml:2:1: unknown key 'wokers' (the keys are listed in docs/linetls.example.toml)"},
      {"tap = \"lt0\"\nworkers = \"2\"\n", "t.toml:2:11: workers: expected an integer"},
      {"tap = \"lt0\"\nworkers = 0\n", "t.toml:2:11: workers: expected a number from 1 to 128"},
      {"tap = \"lt0\"\nworkers = 2\nworkers = 3\n", nullptr},  // toml++: redefinition
      {"tap = \"lt0\"\nip = \"10.99.0.300/24\"\n",
       "t.toml:2:6: ip: expected an IPv4 address with prefix, e.g. 10.99.0.2/24"},
      {"tap = \"lt0\"\nbusy_poll = 1\n", "t.toml:2:13: busy_poll: expected true or false"},
      {"tap = \"lt0\"\ntls13_psk_ke = \"yes\"\n",
       "t.toml:2:16: tls13_psk_ke: expected true or false"},
      {"tap = \"lt0\"\nserve = \"7=echo\"\n", "t.toml:2:9: serve: expected an array of strings"},
      {"tap = \"lt0\"\nserve = [\"7=echo\", \"7=http\"]\n",
       "t.toml:2:20: serve: port 7 is served twice"},
      {"tap = \"lt0\"\nserve = [\"7=telnet\"]\n", nullptr},
      {"tap = \"lt0\"\nalpn = [\"h2\", \"\"]\n",
       "t.toml:2:15: alpn: expected a protocol name of 1-255 printable bytes, no ','"},
      {"tap = \"lt0\"\nalpn = []\n", "t.toml:2:8: alpn: expected at least one protocol name"},
      {"tap = \"lt0\"\ncertificates = [{ cert = \"a.pem\" }]\n",
       "t.toml:2:17: certificates: missing key (each entry is { cert = FILE, key = FILE })"},
      {"tap = \"lt0\"\ncertificates = [{ cert = \"a.pem\", key = \"a.key\", pass = \"x\" }]\n",
       "t.toml:2:50: certificates: unknown key 'pass' (expected cert and key)"},
      {"tap = \"lt0\"\ntls_min = 1.3\n", "t.toml:2:11: tls_min: expected a string"},
      {"tap = \"lt0\"\ntls_min = \"1.3\"\ntls_max = \"1.2\"\n",
       "t.toml:2:1: --tls-min 1.3 is above --tls-max 1.2"},
      {"tap = \"lt0\"\nclient_auth = \"required\"\n",
       "t.toml:2:1: --client-auth: optional and required need --client-ca FILE"},
      {"tap = \"lt0\"\nmetrics = \"localhost:9100\"\n",
       "t.toml:2:11: metrics: expected IP:PORT, e.g. 127.0.0.1:9100"},
      {"tap = \"lt0\"\nstats_interval = -1\n",
       "t.toml:2:18: stats_interval: expected seconds from 0 (off) to 86400"},
      {"tap = \"lt0\"\nport = [\"net_memif0\"]\n",
       "t.toml:1:1: --tap and --port: choose one (TAP mode creates its own port)"},
      {"workers = 1\n", "no port: give --tap NAME (test mode) or --port SPEC"},
      {"tap = \"lt0\"\nconfig = \"other.toml\"\n",
       "t.toml:2:1: unknown key 'config' (the keys are listed in docs/linetls.example.toml)"},
      {"tap = \"lt0\"\n[[service]]\nport = 443\n",
       "t.toml:2:1: service: missing key 'app' (each [[service]] has port and app)"},
      {"tap = \"lt0\"\n[[service]]\nport = 443\napp = \"gopher\"\n",
       "t.toml:4:7: app: expected echo, discard, http or proxy"},
      {"tap = \"lt0\"\n[[service]]\nport = 70000\napp = \"echo\"\n", nullptr},
      {"tap = \"lt0\"\n[[service]]\nport = 443\napp = \"proxy\"\n",
       "t.toml:2:1: service: app = \"proxy\" needs backends = [\"HOST:PORT\", ...]"},
      {"tap = \"lt0\"\n[[service]]\nport = 443\napp = \"proxy\"\nbackends = [\"x:80\"]\n", nullptr},
      {"tap = \"lt0\"\n[[service]]\nport = 80\napp = \"http\"\nbackends = [\"10.0.0.1:80\"]\n",
       "t.toml:5:1: backends: only for app = \"proxy\""},
      {"tap = \"lt0\"\n[[service]]\nport = 80\napp = \"http\"\nalpn = [\"http/1.1\"]\n",
       "t.toml:5:1: alpn: only for tls = true services"},
      {"tap = \"lt0\"\n[[service]]\nport = 80\napp = \"http\"\nlisten = 1\n", nullptr},
      {"tap = \"lt0\"\n[[service]]\nport = 443\napp = \"http\"\ntls = true\n"
       "client_auth = \"required\"\n",
       "t.toml:2:1: service 443: client_auth optional and required need a client_ca"},
      {"tap = \"lt0\"\n[[service]]\nport = 443\napp = \"proxy\"\nbackends = [\"10.0.0.1:80\"]\n"
       "idle_timeout_ms = \"1s\"\n",
       "t.toml:6:19: idle_timeout_ms: expected an integer"},
      {"tap = \"lt0\"\nserve = [\"7=echo\"]\n[[service]]\nport = 7\napp = \"http\"\n",
       "t.toml:4:8: port: port 7 is served twice"},
      {"tap = \"lt0\"\nworkers = \n", nullptr},  // TOML syntax, toml++'s words
  };
  for (const Case& c : cases) {
    auto o = from_text(c.text);
    ASSERT_FALSE(o.ok()) << c.text;
    EXPECT_EQ(o.error().find('\n'), std::string::npos) << "one line: " << o.error();
    if (c.error != nullptr) {
      EXPECT_EQ(o.error(), c.error) << c.text;
    } else {
      EXPECT_TRUE(o.error().starts_with("t.toml:")) << c.text << " -> " << o.error();
    }
  }
}

TEST(Config, AFileEquivalentToACommandLineGivesTheSameOptions) {
  const char* text = R"(
tap = "lt5"
ip = "10.99.50.2/24"
host_ip = "10.99.50.1/24"
workers = 2
serve = ["7=echo", "443=tls:http"]
certificates = [{ cert = "/c/a.pem", key = "/c/a.key" }, { cert = "/c/b.pem", key = "/c/b.key" }]
alpn = ["http/1.1"]
tls_min = "1.3"
client_ca = "/c/ca.pem"
client_auth = "optional"
handshake_timeout_ms = 2000
ticket_key_file = "/c/ticket.key"
proxy_protocol = "v2"
connect_timeout_ms = 100
idle_timeout_ms = 0
tls13_psk_ke = true
busy_poll = true
log_level = 1
mem = 256
metrics = "127.0.0.1:9100"
stats_interval = 5

[[service]]
port = 8443
app = "proxy"
tls = true
backends = ["10.99.50.1:8080"]
)";
  auto file = from_text(text);
  ASSERT_TRUE(file.ok()) << file.error();
  auto cli = from_argv({"--tap",
                        "lt5",
                        "--ip",
                        "10.99.50.2/24",
                        "--host-ip",
                        "10.99.50.1/24",
                        "--workers",
                        "2",
                        "--serve",
                        "7=echo",
                        "--serve",
                        "443=tls:http",
                        "--cert",
                        "/c/a.pem",
                        "--key",
                        "/c/a.key",
                        "--cert",
                        "/c/b.pem",
                        "--key",
                        "/c/b.key",
                        "--alpn",
                        "http/1.1",
                        "--tls-min",
                        "1.3",
                        "--client-ca",
                        "/c/ca.pem",
                        "--client-auth",
                        "optional",
                        "--handshake-timeout-ms",
                        "2000",
                        "--ticket-key-file",
                        "/c/ticket.key",
                        "--proxy-protocol",
                        "v2",
                        "--connect-timeout-ms",
                        "100",
                        "--idle-timeout-ms",
                        "0",
                        "--tls13-psk-ke",
                        "--busy-poll",
                        "--log-level",
                        "1",
                        "--mem",
                        "256",
                        "--metrics",
                        "127.0.0.1:9100",
                        "--stats-interval",
                        "5",
                        "--serve",
                        "8443=tls:proxy:10.99.50.1:8080"});
  ASSERT_TRUE(cli.ok()) << cli.error();
  EXPECT_TRUE(comparable(*file) == comparable(*cli));
  EXPECT_TRUE(file->tls13_psk_ke);
  // Both tls services share one profile, and it is what the flags say.
  ASSERT_EQ(cli->tls_profiles.size(), 1u);
  EXPECT_EQ(cli->tls_profiles[0].client_auth, tls::ClientAuth::kOptional);
  EXPECT_EQ(file->services[2].tls_profile, 0);
  // A difference anywhere shows.
  auto other = from_text(std::string(text) + "\n[[service]]\nport = 9\napp = \"discard\"\n");
  ASSERT_TRUE(other.ok()) << other.error();
  EXPECT_FALSE(comparable(*other) == comparable(*cli));
}

TEST(Config, TheCommandLineOverridesTheFile) {
  const std::string path = ::testing::TempDir() + "/linetls_override.toml";
  {
    std::ofstream f(path);
    f << "tap = \"lt5\"\nworkers = 2\nserve = [\"7=echo\"]\n"
         "certificates = [{ cert = \"/c/a.pem\", key = \"/c/a.key\" }]\n"
         "[[service]]\nport = 443\napp = \"proxy\"\ntls = true\nbackends = [\"10.0.0.1:80\"]\n"
         "idle_timeout_ms = 5\n";
  }
  auto file_only = from_argv({"--config", path.c_str()});
  ASSERT_TRUE(file_only.ok()) << file_only.error();
  EXPECT_EQ(file_only->workers, 2u);
  EXPECT_EQ(file_only->services.size(), 2u);
  EXPECT_EQ(*file_only->config_file, path);
  EXPECT_FALSE(file_only->check_config);

  // A scalar flag replaces the file's value; the rest of the file stays.
  auto o = from_argv({"--config", path.c_str(), "--workers", "1"});
  ASSERT_TRUE(o.ok()) << o.error();
  EXPECT_EQ(o->workers, 1u);
  EXPECT_EQ(o->services.size(), 2u);
  EXPECT_EQ(o->services[1].proxy.idle_timeout_ms, 5u);
  EXPECT_EQ(o->cert_files, (std::vector<std::string>{"/c/a.pem"}));
  // --serve replaces the whole service list, [[service]] tables included.
  auto s = from_argv({"--config", path.c_str(), "--serve", "9=discard"});
  ASSERT_TRUE(s.ok()) << s.error();
  ASSERT_EQ(s->services.size(), 1u);
  EXPECT_EQ(s->services[0].port, 9);
  // --cert/--key replace the file's certificates whole.
  auto c = from_argv({"--config", path.c_str(), "--cert", "/d/x.pem", "--key", "/d/x.key"});
  ASSERT_TRUE(c.ok()) << c.error();
  EXPECT_EQ(c->cert_files, (std::vector<std::string>{"/d/x.pem"}));
  EXPECT_EQ(c->tls_profiles[0].certificates[0].cert, "/d/x.pem");
  // --check-config names the same file and asks for a check.
  auto k = from_argv({"--check-config", path.c_str()});
  ASSERT_TRUE(k.ok()) << k.error();
  EXPECT_TRUE(k->check_config);
  // A boolean the file turns on, the command line turns off.
  const std::string psk_ke_path = ::testing::TempDir() + "/linetls_psk_ke.toml";
  {
    std::ofstream f(psk_ke_path);
    f << "tap = \"lt5\"\ntls13_psk_ke = true\n";
  }
  auto on = from_argv({"--config", psk_ke_path.c_str()});
  ASSERT_TRUE(on.ok()) << on.error();
  EXPECT_TRUE(on->tls13_psk_ke);
  auto off = from_argv({"--config", psk_ke_path.c_str(), "--tls13-psk-ke=false"});
  ASSERT_TRUE(off.ok()) << off.error();
  EXPECT_FALSE(off->tls13_psk_ke);
  // An error from a file value names the file position; from a flag, the flag.
  auto e = from_argv({"--config", path.c_str(), "--tls-min", "1.3", "--tls-max", "1.2"});
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.error(), "--tls-min 1.3 is above --tls-max 1.2");
}

}  // namespace
}  // namespace linetls::app
