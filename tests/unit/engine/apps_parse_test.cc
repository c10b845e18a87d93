// The engine apps' parsers: --serve specs and HTTP request heads (untrusted input).
#include <gtest/gtest.h>

#include "lib/engine/apps.h"

namespace linetls::engine {
namespace {

TEST(ParseService, AcceptsEveryApp) {
  auto e = parse_service("7=echo");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->port, 7);
  EXPECT_EQ(e->app, AppKind::kEcho);
  EXPECT_EQ(parse_service("9=discard")->app, AppKind::kDiscard);
  EXPECT_EQ(parse_service("65535=http")->port, 65535);
  EXPECT_FALSE(e->tls);
}

TEST(ParseService, TlsPrefixTerminatesTlsInTheEngine) {
  for (auto [spec, app] : {std::pair{"443=tls:http", AppKind::kHttp},
                           std::pair{"7443=tls:echo", AppKind::kEcho},
                           std::pair{"9443=tls:discard", AppKind::kDiscard}}) {
    auto s = parse_service(spec);
    ASSERT_TRUE(s.ok()) << spec << ": " << s.error();
    EXPECT_TRUE(s->tls);
    EXPECT_EQ(s->app, app);
    EXPECT_EQ(std::string(spec).substr(std::string(spec).find('=') + 1), to_string(*s));
  }
}

TEST(ParseService, RejectsBadSpecsWithAReason) {
  for (const char* bad : {"", "7", "=echo", "7=", "x=echo", "0=echo", "65536=echo", "-1=echo",
                          "7 =echo", "7=ECHO", "7=echo ", "443=tls:", "443=tls:tls:http",
                          "443=TLS:http", "80=proxy:a:1", "80=proxy:", "80=proxy:1.2.3.4",
                          "80=proxy:1.2.3.4:", "80=proxy:1.2.3.4:99999", "80=proxy:1.2.3:80",
                          "80=proxy:1.2.3.4:80,"}) {
    auto r = parse_service(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_FALSE(r.error().empty());
  }
}

TEST(ParseService, ProxyBackendsInOrder) {
  auto s = parse_service("443=tls:proxy:10.0.0.1:80,192.168.1.20:8443");
  ASSERT_TRUE(s.ok()) << s.error();
  EXPECT_TRUE(s->tls);
  EXPECT_EQ(s->app, AppKind::kProxy);
  ASSERT_EQ(s->proxy.backends.size(), 2u);
  EXPECT_EQ(s->proxy.backends[0].ip.str(), "10.0.0.1");
  EXPECT_EQ(s->proxy.backends[0].port, 80);
  EXPECT_EQ(s->proxy.backends[1].ip.str(), "192.168.1.20");
  EXPECT_EQ(s->proxy.backends[1].port, 8443);
  EXPECT_EQ(to_string(*s), "tls:proxy:10.0.0.1:80,192.168.1.20:8443");
  std::string many = "80=proxy:";
  for (size_t i = 0; i <= kMaxBackends; i++) {
    many += (i ? "," : "") + std::string("10.0.0.1:") + std::to_string(1000 + i);
  }
  auto m = parse_service(many);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.error().find("backends"), std::string::npos) << m.error();
}

TEST(ParseHttp, GetDefaultPage) {
  auto r = parse_http_request("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_FALSE(r->is_bytes);
  EXPECT_FALSE(r->close);
  EXPECT_FALSE(r->head);
}

TEST(ParseHttp, BytesAndConnectionHandling) {
  auto r = parse_http_request("GET /bytes/104857600 HTTP/1.1\r\nConnection: Close\r\n\r\n");
  ASSERT_TRUE(r.has_value());
  EXPECT_TRUE(r->is_bytes);
  EXPECT_EQ(r->body_len, 104857600u);
  EXPECT_TRUE(r->close);
  auto q = parse_http_request("GET /bytes/0?x=1 HTTP/1.0\r\nconnection:keep-alive\r\n\r\n");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->body_len, 0u);
  EXPECT_FALSE(q->close);  // HTTP/1.0 with keep-alive stays open
  EXPECT_TRUE(parse_http_request("GET / HTTP/1.0\r\n\r\n")->close);
  EXPECT_TRUE(parse_http_request("HEAD /bytes/5 HTTP/1.1\r\n\r\n")->head);
}

TEST(ParseHttp, RejectsMalformedHeads) {
  const char* bad[] = {
      "",
      "GET / HTTP/1.1",                       // no CRLF at all
      "GET /\r\n\r\n",                        // no version
      "GET / HTTP/2.0\r\n\r\n",               // unsupported version
      "DELETE / HTTP/1.1\r\n\r\n",            // method we do not serve
      "GET x HTTP/1.1\r\n\r\n",               // target not absolute-path
      "GET /bytes/abc HTTP/1.1\r\n\r\n",      // not a number
      "GET /bytes/-1 HTTP/1.1\r\n\r\n",
      "GET /bytes/99999999999999999999 HTTP/1.1\r\n\r\n",  // overflows uint64
      "GET /bytes/2000000000000 HTTP/1.1\r\n\r\n",         // above kHttpMaxBytes
      "GET / HTTP/1.1\r\nno colon here\r\n\r\n",
      "GET / HTTP/1.1\r\n: empty name\r\n\r\n",
  };
  for (const char* b : bad) {
    EXPECT_FALSE(parse_http_request(b).has_value()) << b;
  }
  std::string huge = "GET / HTTP/1.1\r\nX: " + std::string(kHttpMaxHead, 'a') + "\r\n\r\n";
  EXPECT_FALSE(parse_http_request(huge).has_value());
}

TEST(ParseHttp, BodyPatternIsStable) {
  EXPECT_EQ(http_body_byte(0), 'a');
  EXPECT_EQ(http_body_byte(25), 'z');
  EXPECT_EQ(http_body_byte(26), 'a');
}

}  // namespace
}  // namespace linetls::engine
