#include "apps/linetls/metrics.h"

#include <array>
#include <map>
#include <string_view>

namespace linetls::app {
namespace {

struct Family {
  std::string type;  // counter, gauge, histogram
  std::string help;
  std::string lines;
};

// The families in first-seen order (the format wants each family's samples together).
class Families {
 public:
  Family& get(const std::string& name, std::string_view type, std::string_view help) {
    auto [it, inserted] = index_.emplace(name, order_.size());
    if (inserted) {
      order_.push_back({name, Family{std::string(type), std::string(help), {}}});
    }
    return order_[it->second].second;
  }
  void add(const std::string& name, std::string_view type, std::string_view help,
           const std::string& labels, uint64_t v) {
    Family& f = get(name, type, help);
    f.lines += name;
    if (!labels.empty()) {
      f.lines += "{" + labels + "}";
    }
    f.lines += " " + std::to_string(v) + "\n";
  }
  std::string render() const {
    std::string out;
    for (const auto& [name, f] : order_) {
      out += "# HELP " + name + " " + f.help + "\n# TYPE " + name + " " + f.type + "\n" + f.lines;
    }
    return out;
  }

 private:
  std::map<std::string, size_t> index_;
  std::vector<std::pair<std::string, Family>> order_;
};

std::string sanitize(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!ok) {
      c = '_';
    }
  }
  return out;
}

// The batch-size buckets of TlsCounters ("open_batch.1", "open_batch.2_3", ...) and the
// upper bound (le) each stands for.
constexpr std::array<std::string_view, 6> kBucketNames = {"1",    "2_3",   "4_7",
                                                          "8_15", "16_31", "32_plus"};
constexpr std::array<std::string_view, 6> kBucketLe = {"1", "3", "7", "15", "31", "+Inf"};

struct Histogram {
  std::array<uint64_t, 6> buckets{};
  uint64_t sum = 0;
  uint64_t count = 0;
  bool seen = false;
};

}  // namespace

std::string render_prometheus(const std::vector<CounterSample>& samples,
                              const std::vector<GaugeSample>& gauges) {
  Families fam;
  std::map<int, std::array<Histogram, 2>> hist;        // worker -> open, seal
  std::map<int, std::pair<uint64_t, uint64_t>> pairs;  // worker -> clients, pairs_closed
  for (const CounterSample& s : samples) {
    const std::string_view n = s.name;
    const size_t dot = n.find('.');
    const std::string_view group = n.substr(0, dot);
    const std::string_view rest = dot == std::string_view::npos ? "" : n.substr(dot + 1);
    const std::string w = s.worker >= 0 ? "worker=\"" + std::to_string(s.worker) + "\"" : "";
    auto with = [&](const std::string& label) { return w.empty() ? label : w + "," + label; };
    // Batch histograms.
    bool hist_part = false;
    for (int open = 1; open >= 0 && group == "tls"; open--) {
      const std::string_view side = open ? "open" : "seal";
      Histogram& h = hist[s.worker][open ? 0 : 1];
      if (rest == std::string(side) + "_batches") {
        h.count = s.value;
        h.seen = hist_part = true;
      } else if (rest == std::string(side) + "_ops") {
        h.sum = s.value;
        h.seen = hist_part = true;
      } else if (rest.starts_with(std::string(side) + "_batch.")) {
        const std::string_view b = rest.substr(side.size() + 7);
        for (size_t i = 0; i < kBucketNames.size(); i++) {
          if (b == kBucketNames[i]) {
            h.buckets[i] = s.value;
            h.seen = hist_part = true;
          }
        }
      }
    }
    if (hist_part) {
      continue;
    }
    if (n == "tls.handshakes") {
      continue;  // the sum of the version-labelled family
    }
    if (n == "tls.tls13" || n == "tls.tls12") {
      fam.add("linetls_tls_handshakes_total", "counter", "TLS handshakes completed.",
              with(std::string("version=\"") + (n == "tls.tls13" ? "1.3" : "1.2") + "\""), s.value);
    } else if (group == "tls" && rest.starts_with("suite.")) {
      fam.add("linetls_tls_suite_handshakes_total", "counter",
              "TLS handshakes completed, by cipher suite.",
              with("suite=\"" + std::string(rest.substr(6)) + "\""), s.value);
    } else if (group == "tls" && rest.starts_with("group.")) {
      fam.add("linetls_tls_group_handshakes_total", "counter",
              "TLS handshakes completed, by key exchange group.",
              with("group=\"" + std::string(rest.substr(6)) + "\""), s.value);
    } else if (group == "tls" && rest.starts_with("alert_sent.")) {
      fam.add("linetls_tls_alerts_sent_total", "counter", "TLS alerts sent, by description.",
              with("alert=\"" + std::string(rest.substr(11)) + "\""), s.value);
    } else if (group == "tls" && rest.starts_with("alert_received.")) {
      fam.add("linetls_tls_alerts_received_total", "counter",
              "TLS alerts received, by description.",
              with("alert=\"" + std::string(rest.substr(15)) + "\""), s.value);
    } else if (n == "tls.generation") {
      fam.add("linetls_tls_generation", "gauge",
              "The TLS material generation new handshakes use (1 at start, +1 per reload).", w,
              s.value);
    } else if (n == "tcp.curr_estab") {
      fam.add("linetls_tcp_connections", "gauge", "TCP connections, by state.",
              with("state=\"established\""), s.value);
    } else if (group == "cycles") {
      fam.add("linetls_cycles_total", "counter", "TSC cycles spent, by poll-loop phase.",
              with("phase=\"" + std::string(rest) + "\""), s.value);
    } else if (n == "engine.tsc_hz") {
      fam.add("linetls_tsc_hz", "gauge", "TSC frequency (cycles per second).", w, s.value);
    } else {
      if (n == "proxy.clients") {
        pairs[s.worker].first = s.value;
      } else if (n == "proxy.pairs_closed") {
        pairs[s.worker].second = s.value;
      }
      fam.add("linetls_" + sanitize(n) + "_total", "counter",
              "linetls counter " + std::string(n) + ".", w, s.value);
    }
  }
  for (const auto& [worker, p] : pairs) {
    fam.add("linetls_proxy_pairs", "gauge", "Proxied client/backend pairs alive.",
            worker >= 0 ? "worker=\"" + std::to_string(worker) + "\"" : "",
            p.first >= p.second ? p.first - p.second : 0);
  }
  for (const GaugeSample& g : gauges) {
    fam.add(g.family, "gauge", g.help, g.labels, g.value);
  }
  for (int side = 0; side < 2; side++) {
    const std::string name =
        side == 0 ? "linetls_tls_open_batch_size" : "linetls_tls_seal_batch_size";
    for (const auto& [worker, both] : hist) {
      const Histogram& h = both[side];
      if (!h.seen) {
        continue;
      }
      Family& f =
          fam.get(name, "histogram",
                  side == 0 ? "Records opened per AEAD batch." : "Records sealed per AEAD batch.");
      const std::string w = "worker=\"" + std::to_string(worker) + "\"";
      uint64_t cumulative = 0;
      for (size_t i = 0; i < kBucketLe.size(); i++) {
        cumulative += h.buckets[i];
        f.lines += name + "_bucket{" + w + ",le=\"" + std::string(kBucketLe[i]) + "\"} " +
                   std::to_string(cumulative) + "\n";
      }
      f.lines += name + "_sum{" + w + "} " + std::to_string(h.sum) + "\n";
      f.lines += name + "_count{" + w + "} " + std::to_string(h.count) + "\n";
    }
  }
  return fam.render();
}

}  // namespace linetls::app
