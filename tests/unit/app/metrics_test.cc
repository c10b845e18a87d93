// GET /metrics text (apps/linetls/metrics.h): names per the Prometheus conventions, the
// labelled families, gauges, and the batch-size buckets as cumulative histograms.
#include "apps/linetls/metrics.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace linetls::app {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(Metrics, CountersGaugesAndHistograms) {
  const std::vector<CounterSample> samples = {
      {0, "tcp.passive_opens", 7},
      {0, "tcp.curr_estab", 3},
      {0, "tls.handshakes", 5},
      {0, "tls.tls13", 4},
      {0, "tls.tls12", 1},
      {0, "tls.suite.tls13_aes_128_gcm_sha256", 4},
      {0, "tls.open_batches", 10},
      {0, "tls.open_ops", 40},
      {0, "tls.open_batch.1", 2},
      {0, "tls.open_batch.2_3", 3},
      {0, "tls.open_batch.4_7", 0},
      {0, "tls.open_batch.8_15", 4},
      {0, "tls.open_batch.16_31", 1},
      {0, "tls.open_batch.32_plus", 0},
      {0, "tls.alert_sent.bad_record_mac", 2},
      {0, "tls.generation", 2},
      {0, "proxy.clients", 9},
      {0, "proxy.pairs_closed", 6},
      {0, "cycles.rx", 100},
      {1, "tcp.passive_opens", 1},
      {-1, "port.rx_packets", 77},
      {-1, "engine.tsc_hz", 2000000000},
  };
  const std::vector<GaugeSample> gauges = {
      {"linetls_mempool_in_use", "pool=\"lt_tls_q0\"", 12, "Mbufs in use."}};
  const std::string t = render_prometheus(samples, gauges);
  EXPECT_TRUE(has_line(t, "# TYPE linetls_tcp_passive_opens_total counter")) << t;
  EXPECT_TRUE(has_line(t, "linetls_tcp_passive_opens_total{worker=\"0\"} 7"));
  EXPECT_TRUE(has_line(t, "linetls_tcp_passive_opens_total{worker=\"1\"} 1"));
  EXPECT_TRUE(has_line(t, "# TYPE linetls_tcp_connections gauge"));
  EXPECT_TRUE(has_line(t, "linetls_tcp_connections{worker=\"0\",state=\"established\"} 3"));
  EXPECT_TRUE(has_line(t, "linetls_tls_handshakes_total{worker=\"0\",version=\"1.3\"} 4"));
  EXPECT_TRUE(has_line(t, "linetls_tls_handshakes_total{worker=\"0\",version=\"1.2\"} 1"));
  EXPECT_EQ(t.find("linetls_tls_handshakes_total{worker=\"0\"}"), std::string::npos);
  EXPECT_TRUE(has_line(
      t, "linetls_tls_suite_handshakes_total{worker=\"0\",suite=\"tls13_aes_128_gcm_sha256\"} 4"));
  EXPECT_TRUE(
      has_line(t, "linetls_tls_alerts_sent_total{worker=\"0\",alert=\"bad_record_mac\"} 2"));
  EXPECT_TRUE(has_line(t, "linetls_tls_generation{worker=\"0\"} 2"));
  EXPECT_TRUE(has_line(t, "linetls_proxy_clients_total{worker=\"0\"} 9"));
  EXPECT_TRUE(has_line(t, "linetls_proxy_pairs{worker=\"0\"} 3"));
  EXPECT_TRUE(has_line(t, "linetls_cycles_total{worker=\"0\",phase=\"rx\"} 100"));
  EXPECT_TRUE(has_line(t, "linetls_port_rx_packets_total 77"));
  EXPECT_TRUE(has_line(t, "linetls_tsc_hz 2000000000"));
  EXPECT_TRUE(has_line(t, "linetls_mempool_in_use{pool=\"lt_tls_q0\"} 12"));
  // The histogram: cumulative buckets, sum = records, count = batches.
  EXPECT_TRUE(has_line(t, "# TYPE linetls_tls_open_batch_size histogram"));
  const char* expected[] = {
      "linetls_tls_open_batch_size_bucket{worker=\"0\",le=\"1\"} 2",
      "linetls_tls_open_batch_size_bucket{worker=\"0\",le=\"3\"} 5",
      "linetls_tls_open_batch_size_bucket{worker=\"0\",le=\"7\"} 5",
      "linetls_tls_open_batch_size_bucket{worker=\"0\",le=\"15\"} 9",
      "linetls_tls_open_batch_size_bucket{worker=\"0\",le=\"31\"} 10",
      "linetls_tls_open_batch_size_bucket{worker=\"0\",le=\"+Inf\"} 10",
      "linetls_tls_open_batch_size_sum{worker=\"0\"} 40",
      "linetls_tls_open_batch_size_count{worker=\"0\"} 10",
  };
  for (const char* line : expected) {
    EXPECT_TRUE(has_line(t, line)) << line;
  }
  EXPECT_EQ(t.find("open_batch_1"), std::string::npos);  // buckets are not counters too
  // Each family is declared once, before its samples.
  EXPECT_EQ(t.find("# TYPE linetls_tcp_passive_opens_total"),
            t.rfind("# TYPE linetls_tcp_passive_opens_total"));
  EXPECT_LT(t.find("# TYPE linetls_tcp_passive_opens_total"),
            t.find("linetls_tcp_passive_opens_total{worker=\"1\"}"));
}

}  // namespace
}  // namespace linetls::app
