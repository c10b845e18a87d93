// The engine's part around one tls::ServerSession (the version-dispatching facade), for
// tests: the shared session driver (tests/unit/tls/session_test_driver.h) over the facade;
// a 1.3 and a 1.2 server config over the harness certificates; and helpers to check a
// handshake's outcome and to feed raw bytes.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "lib/tls/v12/server_session.h"
#include "tests/unit/tls/handshake13_harness.h"
#include "tests/unit/tls/session_test_driver.h"
#include "tests/unit/tls12/session12_harness.h"

namespace linetls::tls::facade_testing {

using Bytes = std::vector<uint8_t>;
using v12::ClientConfig12;
using v12::ServerConfig12;
using v12::VersionRange;

inline crypto::AeadBatch& batch() { return testing13::batch(); }

// The server side: a 1.3 and a 1.2 config over the same ECDSA P-256 (and RSA) certificates.
struct Configs {
  explicit Configs(VersionRange range = {}) {
    c13 = testing13::server_config({&testing13::certs().ecdsa256, &testing13::certs().rsa});
    c12 = v12::testing12::server_config();
    c12.tls13_enabled = range.max == kTls13;
    sc.tls13 = &c13;
    sc.tls12 = &c12;
    sc.versions = range;
  }
  ServerConfig13 c13;
  ServerConfig12 c12;
  ServerSessionConfig sc;
};

// Plays the engine for one ServerSession (tests/unit/tls/session_test_driver.h).
using Driver = session_testing::SessionTestDriver<ServerSession, AnySlot>;
using session_testing::pump;

template <typename C>
void expect_established(C& c, Driver& d, uint16_t version, size_t segment_size = 1 << 20) {
  ASSERT_FALSE(c.error) << to_string(*c.error);
  ASSERT_FALSE(d.s.error()) << to_string(*d.s.error());
  ASSERT_TRUE(c.done());
  ASSERT_TRUE(d.s.handshake_done());
  EXPECT_EQ(d.s.version(), version);
  EXPECT_TRUE(d.s.take_handshake_completed());
  const Bytes ping = testing13::bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  const Bytes pong = v12::testing12::pattern(40000, 3);
  c.send_app(ping);
  d.send_app(pong);
  pump(c, d, segment_size);
  EXPECT_EQ(d.app_in, ping);
  EXPECT_EQ(c.app_in, pong);
  EXPECT_FALSE(c.alert_received);
  EXPECT_EQ(d.alerts, 0);
}

// The one alert a refused client saw, and that the server is closed after it.
template <typename C>
void expect_refused(C& c, Driver& d, AlertDescription alert) {
  ASSERT_TRUE(c.alert_received.has_value());
  EXPECT_EQ(*c.alert_received, static_cast<uint8_t>(alert)) << alert_name(*c.alert_received);
  EXPECT_EQ(d.alerts, 1);
  EXPECT_TRUE(d.s.closed());
  EXPECT_FALSE(d.s.handshake_done());
  ASSERT_TRUE(d.s.stats().alert_sent.has_value());
  EXPECT_EQ(*d.s.stats().alert_sent, static_cast<uint8_t>(alert));
}

// Feeds raw bytes; returns what the server wrote.
inline Bytes feed(Driver& d, Bytes in, size_t segment_size = 1 << 20) {
  d.receive(in, segment_size);
  Bytes out = std::move(d.wire);
  d.wire.clear();
  return out;
}

inline Bytes alert_record(AlertDescription a) {
  return {21, 3, 3, 0, 2, 2, static_cast<uint8_t>(a)};
}

}  // namespace linetls::tls::facade_testing
