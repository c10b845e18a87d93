// linetls-perf's reading of response heads: what the servers under test send, and what a
// broken or hostile one might.
#include "apps/linetls-perf/http_response.h"

#include <gtest/gtest.h>

#include <string>

namespace linetls::perf {
namespace {

TEST(HttpResponse, WhatNginxHaproxyAndLinetlsSend) {
  auto r = parse_response_head(
      "HTTP/1.1 200 OK\r\nServer: nginx/1.22.1\r\nContent-Type: application/octet-stream\r\n"
      "Content-Length: 1024\r\nConnection: keep-alive\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200u);
  EXPECT_EQ(r->content_length, 1024u);
  EXPECT_FALSE(r->close);
  r = parse_response_head("HTTP/1.1 200 OK\r\ncontent-length:  16777216 \r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->content_length, 16777216u);
  r = parse_response_head("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: Close\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404u);
  EXPECT_TRUE(r->close);
  r = parse_response_head("HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->close);  // HTTP/1.0 closes
  r = parse_response_head("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n");  // no reason phrase
  ASSERT_TRUE(r);
  EXPECT_EQ(r->content_length, 0u);
}

TEST(HttpResponse, RefusesWhatItCannotTrust) {
  for (const char* bad : {
           "",
           "HTTP/1.1 200 OK\r\n\r\n",                                        // no length
           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",  // two
           "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 1125899906842625\r\n\r\n",  // 2^50 + 1
           "HTTP/2 200\r\nContent-Length: 1\r\n\r\n",
           "HTTP/1.1 2x0 OK\r\nContent-Length: 1\r\n\r\n",
           "HTTP/1.1 099 OK\r\nContent-Length: 1\r\n\r\n",
           "HTTP/1.1 200OK\r\nContent-Length: 1\r\n\r\n",
           "HTTP/1.1 200 OK\r\nno colon here\r\nContent-Length: 1\r\n\r\n",
           "HTTP/1.1 200 OK\r\n: empty name\r\nContent-Length: 1\r\n\r\n",
           "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n",  // not a whole head
           "HTTP/1.1 200 OK\nContent-Length: 1\n\n",    // bare LFs
       }) {
    EXPECT_FALSE(parse_response_head(bad)) << bad;
  }
}

}  // namespace
}  // namespace linetls::perf
