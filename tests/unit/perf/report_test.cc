#include "apps/linetls-perf/report.h"

#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace linetls::perf {
namespace {

using nlohmann::json;

// Results of a short made-up run: 10 s, 1000 handshakes/s, a few errors.
std::unique_ptr<Results> sample() {
  auto r = std::make_unique<Results>();
  auto o = parse_perf_options({"--tap", "lt0", "--ip", "10.99.0.3/24", "--target",
                               "10.99.0.2:443", "--mode", "request", "--suite",
                               "TLS_AES_256_GCM_SHA384", "--connections", "64", "--rate",
                               "1000", "--sni", "example.com"});
  EXPECT_TRUE(o.ok()) << o.error();
  r->options = *o;
  r->server_label = "10.99.0.2:443";
  r->elapsed_s = 10;
  r->connects = 10000;
  r->handshakes = 9990;
  r->resumed = 0;
  r->requests = 50000;
  r->bytes_rx = 1'250'000'000;  // 1 Gbit/s over 10 s
  r->bytes_tx = 625'000'000;    // 0.5 Gbit/s
  r->errors["refused"] = 7;
  r->errors["overload"] = 3;
  for (uint64_t i = 1; i <= 1000; i++) {
    r->connect.record(i * 100);       // 0.1 .. 100 us
    r->handshake.record(i * 1000);    // 1 .. 1000 us
    r->first_byte.record(50 + i % 50);  // under 128 ns: exact
  }
  for (int t = 1; t <= 3; t++) {
    r->seconds.push_back(Second{static_cast<double>(t), 1000, 999, 5000,
                                125'000'000, 62'500'000, 1, 64});
  }
  r->counters["tx.batch_avg"] = 31;
  r->counters["rx.packets"] = 123456;
  return r;
}

TEST(Report, ProgressLineOfAKnownSecond) {
  const Second s{3.0, 1200, 1198, 0, 1'500'000, 375'000, 2, 64};
  EXPECT_EQ(progress_line(s, 1.0),
            "t=3.0s conn/s=1200, hs/s=1198, req/s=0, Gbit/s rx=0.012 tx=0.003, errors=2, "
            "in_flight=64");
  // Over half a second the rates double; the counts of errors and in_flight do not.
  const Second h{0.5, 100, 100, 10, 125'000'000, 0, 0, 3};
  EXPECT_EQ(progress_line(h, 0.5),
            "t=0.5s conn/s=200, hs/s=200, req/s=20, Gbit/s rx=2.000 tx=0.000, errors=0, "
            "in_flight=3");
  EXPECT_EQ(progress_line(h, 0),
            "t=0.5s conn/s=0, hs/s=0, req/s=0, Gbit/s rx=0.000 tx=0.000, errors=0, in_flight=3");
}

TEST(Report, JsonParsesBackWithTheNumbers) {
  const auto r = sample();
  const std::string text = to_json(*r);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  const json j = json::parse(text);
  ASSERT_TRUE(j.is_object());

  EXPECT_EQ(j["options"]["mode"], "request");
  EXPECT_EQ(j["options"]["tls"], "1.3");
  EXPECT_EQ(j["options"]["suite"], "TLS_AES_256_GCM_SHA384");
  EXPECT_EQ(j["options"]["group"], "x25519");
  EXPECT_EQ(j["options"]["tap"], "lt0");
  EXPECT_TRUE(j["options"]["port"].is_null());
  EXPECT_EQ(j["options"]["ip"], "10.99.0.3/24");
  EXPECT_EQ(j["options"]["target"], "10.99.0.2:443");
  EXPECT_EQ(j["options"]["connections"], 64);
  EXPECT_EQ(j["options"]["rate"], 1000.0);
  EXPECT_EQ(j["options"]["size"], 1024);
  EXPECT_EQ(j["options"]["duration_s"], 10.0);
  EXPECT_EQ(j["options"]["sni"], "example.com");
  EXPECT_TRUE(j["options"]["verify"].is_null());
  EXPECT_EQ(j["options"]["busy_poll"], false);

  EXPECT_EQ(j["server"], "10.99.0.2:443");
  EXPECT_EQ(j["elapsed_s"], 10.0);
  EXPECT_EQ(j["totals"]["connects"], 10000);
  EXPECT_EQ(j["totals"]["handshakes"], 9990);
  EXPECT_EQ(j["totals"]["resumed"], 0);
  EXPECT_EQ(j["totals"]["requests"], 50000);
  EXPECT_EQ(j["totals"]["bytes_rx"], 1'250'000'000u);
  EXPECT_EQ(j["totals"]["bytes_tx"], 625'000'000u);
  EXPECT_EQ(j["totals"]["errors"], 10);
  EXPECT_DOUBLE_EQ(j["rates"]["connects_per_s"].get<double>(), 1000.0);
  EXPECT_DOUBLE_EQ(j["rates"]["handshakes_per_s"].get<double>(), 999.0);
  EXPECT_DOUBLE_EQ(j["rates"]["requests_per_s"].get<double>(), 5000.0);
  EXPECT_DOUBLE_EQ(j["rates"]["rx_gbit_per_s"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["rates"]["tx_gbit_per_s"].get<double>(), 0.5);

  EXPECT_EQ(j["errors"]["refused"], 7);
  EXPECT_EQ(j["errors"]["overload"], 3);
  EXPECT_EQ(j["counters"]["tx.batch_avg"], 31);
  EXPECT_EQ(j["counters"]["rx.packets"], 123456);

  ASSERT_EQ(j["seconds"].size(), 3u);
  EXPECT_EQ(j["seconds"][2]["t_s"], 3.0);
  EXPECT_EQ(j["seconds"][2]["connects"], 1000);
  EXPECT_EQ(j["seconds"][2]["handshakes"], 999);
  EXPECT_EQ(j["seconds"][2]["requests"], 5000);
  EXPECT_EQ(j["seconds"][2]["bytes_rx"], 125'000'000);
  EXPECT_EQ(j["seconds"][2]["bytes_tx"], 62'500'000);
  EXPECT_EQ(j["seconds"][2]["errors"], 1);
  EXPECT_EQ(j["seconds"][2]["in_flight"], 64);
}

TEST(Report, JsonLatencyPercentilesAndBuckets) {
  const auto r = sample();
  const json j = json::parse(to_json(*r));
  for (const char* name : {"connect", "handshake", "first_byte"}) {
    const json& l = j["latency_us"][name];
    for (const char* key : {"count", "min", "mean", "p50", "p90", "p99", "p99.9", "max",
                            "buckets_ns"}) {
      EXPECT_TRUE(l.contains(key)) << name << " " << key;
    }
    EXPECT_EQ(l["count"], 1000) << name;
  }
  const Histogram* hists[] = {&r->connect, &r->handshake, &r->first_byte};
  const char* names[] = {"connect", "handshake", "first_byte"};
  for (int i = 0; i < 3; i++) {
    const json& l = j["latency_us"][names[i]];
    const Histogram& h = *hists[i];
    EXPECT_DOUBLE_EQ(l["p50"].get<double>(), h.percentile(50) / 1000.0) << names[i];
    EXPECT_DOUBLE_EQ(l["p90"].get<double>(), h.percentile(90) / 1000.0) << names[i];
    EXPECT_DOUBLE_EQ(l["p99"].get<double>(), h.percentile(99) / 1000.0) << names[i];
    EXPECT_DOUBLE_EQ(l["p99.9"].get<double>(), h.percentile(99.9) / 1000.0) << names[i];
    EXPECT_DOUBLE_EQ(l["max"].get<double>(), h.max() / 1000.0) << names[i];
    EXPECT_DOUBLE_EQ(l["mean"].get<double>(), h.mean() / 1000.0) << names[i];
    // The buckets, as for_each_bucket gives them, summing to the count.
    json want = json::array();
    h.for_each_bucket([&](uint64_t lo, uint64_t hi, uint64_t n) {
      want.push_back(json::array({lo, hi, n}));
    });
    EXPECT_EQ(l["buckets_ns"], want) << names[i];
    uint64_t total = 0;
    for (const json& b : l["buckets_ns"]) {
      ASSERT_EQ(b.size(), 3u);
      EXPECT_LE(b[0].get<uint64_t>(), b[1].get<uint64_t>());
      total += b[2].get<uint64_t>();
    }
    EXPECT_EQ(total, 1000u);
  }
  // Known values: handshake 1..1000 us; p50 is 500 us within the 1/64 bucket width.
  const double p50 = j["latency_us"]["handshake"]["p50"].get<double>();
  EXPECT_GE(p50, 500.0);
  EXPECT_LT(p50, 500.0 * (1 + 1.0 / 64));
  EXPECT_DOUBLE_EQ(j["latency_us"]["handshake"]["max"].get<double>(), 1000.0);
  EXPECT_DOUBLE_EQ(j["latency_us"]["handshake"]["min"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["latency_us"]["first_byte"]["max"].get<double>(), 0.099);
}

TEST(Report, JsonOfEmptyResults) {
  auto r = std::make_unique<Results>();
  const json j = json::parse(to_json(*r));
  EXPECT_EQ(j["totals"]["connects"], 0);
  EXPECT_EQ(j["rates"]["connects_per_s"], 0.0);  // elapsed 0: no division by zero
  EXPECT_EQ(j["latency_us"]["connect"]["count"], 0);
  EXPECT_EQ(j["latency_us"]["connect"]["p99"], 0.0);
  EXPECT_TRUE(j["latency_us"]["connect"]["buckets_ns"].empty());
  EXPECT_TRUE(j["seconds"].is_array());
  EXPECT_TRUE(j["errors"].is_object());
  EXPECT_TRUE(j["counters"].is_object());
  EXPECT_TRUE(j["options"]["rate"].is_null());
}

TEST(Report, JsonSurvivesBadUtf8) {
  auto r = sample();
  r->errors["bad\xff kind"] = 1;
  r->server_label = "srv\xc3";
  const json j = json::parse(to_json(*r));
  EXPECT_EQ(j["totals"]["errors"], 11);
  EXPECT_EQ(j["server"], "srv\xef\xbf\xbd");
}

TEST(Report, SummaryHasTotalsLatenciesAndErrorKinds) {
  const auto r = sample();
  const std::string s = summary(*r);
  for (const char* want : {"request", "TLS 1.3", "TLS_AES_256_GCM_SHA384", "x25519",
                           "10.99.0.2:443", "open loop", "1000 connections/s",
                           "at most 64 in flight", "10.00 s measured", "connects", "10000",
                           "1000.0", "handshakes", "9990", "resumed 0", "requests", "5000.0",
                           "1.000 Gbit/s", "0.500 Gbit/s", "latency us", "p50", "p90", "p99",
                           "p99.9", "max", "connect", "handshake", "first byte", "errors by kind",
                           "refused", "overload", "counters", "tx.batch_avg", "123456"}) {
    EXPECT_NE(s.find(want), std::string::npos) << "missing '" << want << "' in:\n" << s;
  }
  EXPECT_EQ(s.back(), '\n');
  // The handshake row: p50 about 500 us, max 1000.0 us, 1000 samples.
  const size_t row = s.find("  handshake   ");
  ASSERT_NE(row, std::string::npos) << s;
  const std::string line = s.substr(row, s.find('\n', row) - row);
  EXPECT_NE(line.find(" 1000.0 "), std::string::npos) << line;
  EXPECT_NE(line.find(" 1000"), std::string::npos) << line;
}

TEST(Report, SummaryOfClosedLoopPlainAndEmptyHistograms) {
  auto r = std::make_unique<Results>();
  auto o = parse_perf_options({"--tap", "lt0", "--ip", "10.99.0.3/24", "--target",
                               "10.99.0.2:80", "--mode", "plain", "--connections", "8"});
  ASSERT_TRUE(o.ok()) << o.error();
  r->options = *o;
  r->server_label = "nginx";
  r->elapsed_s = 2;
  const std::string s = summary(*r);
  EXPECT_NE(s.find("plain, no TLS"), std::string::npos) << s;
  EXPECT_NE(s.find("closed loop: 8 connections"), std::string::npos) << s;
  EXPECT_NE(s.find("server nginx"), std::string::npos) << s;
  EXPECT_EQ(s.find("errors by kind"), std::string::npos) << s;  // none to list
  EXPECT_EQ(s.find("counters"), std::string::npos) << s;
  const size_t row = s.find("  connect  ");
  ASSERT_NE(row, std::string::npos) << s;
  EXPECT_NE(s.substr(row, s.find('\n', row) - row).find(" - "), std::string::npos) << s;
}

}  // namespace
}  // namespace linetls::perf
