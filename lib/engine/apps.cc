#include "lib/engine/apps.h"

#include <rte_mbuf.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <vector>

namespace linetls::engine {

using net::tcp::CloseReason;
using net::tcp::Connection;
using net::tcp::Tcp;

std::string_view to_string(AppKind k) noexcept {
  switch (k) {
    case AppKind::kEcho:
      return "echo";
    case AppKind::kDiscard:
      return "discard";
    case AppKind::kHttp:
      return "http";
  }
  return "?";
}

std::string to_string(const ServiceSpec& s) {
  return (s.tls ? "tls:" : "") + std::string(to_string(s.app));
}

Result<ServiceSpec, std::string> parse_service(std::string_view spec) {
  const size_t eq = spec.find('=');
  if (eq == std::string_view::npos) {
    return fail(std::string("expected PORT=APP, e.g. 7=echo"));
  }
  const std::string_view port = spec.substr(0, eq);
  std::string_view app = spec.substr(eq + 1);
  unsigned p = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || p == 0 ||
      p > 65535) {
    return fail("bad port '" + std::string(port) + "' (1-65535)");
  }
  ServiceSpec s;
  s.port = static_cast<uint16_t>(p);
  if (app.starts_with("tls:")) {
    s.tls = true;
    app.remove_prefix(4);
  }
  if (app == "echo") {
    s.app = AppKind::kEcho;
  } else if (app == "discard") {
    s.app = AppKind::kDiscard;
  } else if (app == "http") {
    s.app = AppKind::kHttp;
  } else if (app.starts_with("proxy:")) {
    return fail(std::string("the proxy app is not available yet"));
  } else {
    return fail("unknown app '" + std::string(app) + "' (echo, discard, http; tls:echo, " +
                "tls:discard, tls:http)");
  }
  return s;
}

namespace {

// Detaches from *chain the leading whole segments whose bytes fit in `room`, returning
// them as a chain (nullptr when even the first segment does not fit). *chain keeps the
// rest (nullptr when all went). Payload is never copied or split inside a segment.
rte_mbuf* take_segments(rte_mbuf** chain, uint32_t room) {
  rte_mbuf* head = *chain;
  if (head == nullptr || head->data_len > room) {
    return nullptr;
  }
  if (head->pkt_len <= room) {
    *chain = nullptr;
    return head;
  }
  uint32_t taken = 0;
  uint16_t segs = 0;
  rte_mbuf* last = nullptr;
  for (rte_mbuf* s = head; s != nullptr && taken + s->data_len <= room; s = s->next) {
    taken += s->data_len;
    segs++;
    last = s;
  }
  rte_mbuf* rest = last->next;
  rest->pkt_len = head->pkt_len - taken;
  rest->nb_segs = static_cast<uint16_t>(head->nb_segs - segs);
  last->next = nullptr;
  head->pkt_len = taken;
  head->nb_segs = segs;
  *chain = rest;
  return head;
}

// Appends b to a (either may be nullptr); returns the combined chain.
rte_mbuf* append_chain(rte_mbuf* a, rte_mbuf* b) {
  if (a == nullptr) {
    return b;
  }
  if (b == nullptr) {
    return a;
  }
  rte_pktmbuf_lastseg(a)->next = b;
  a->pkt_len += b->pkt_len;
  a->nb_segs = static_cast<uint16_t>(a->nb_segs + b->nb_segs);
  return a;
}

// Sends back what arrives, in the same mbufs.
class EchoApp final : public App {
 public:
  explicit EchoApp(Tcp& tcp) : tcp_(tcp) {}

  void on_connected(Connection* c) noexcept override { tcp_.set_user_data(c, new State); }
  void on_data(Connection* c, rte_mbuf* chain, uint32_t len) noexcept override {
    State* s = state(c);
    s->pending = append_chain(s->pending, chain);
    s->pending_len += len;
    pump(c, s);
  }
  void on_writable(Connection* c) noexcept override { pump(c, state(c)); }
  void on_peer_closed(Connection* c) noexcept override {
    State* s = state(c);
    s->peer_closed = true;
    if (s->pending == nullptr) {
      tcp_.shutdown(c);
    }
  }
  void on_closed(Connection* c, CloseReason) noexcept override {
    State* s = state(c);
    rte_pktmbuf_free(s->pending);
    delete s;
  }

 private:
  struct State {
    rte_mbuf* pending = nullptr;  // received, not yet handed back to TCP
    uint32_t pending_len = 0;
    bool peer_closed = false;
  };
  State* state(Connection* c) { return static_cast<State*>(tcp_.user_data(c)); }

  void pump(Connection* c, State* s) {
    while (s->pending != nullptr) {
      rte_mbuf* part = take_segments(&s->pending, tcp_.send_space(c));
      if (part == nullptr) {
        return;  // on_writable() resumes
      }
      const uint32_t n = part->pkt_len;
      if (!tcp_.send(c, part)) {
        s->pending = append_chain(part, s->pending);  // cannot send any more (closing)
        return;
      }
      s->pending_len -= n;
      tcp_.release(c, n);  // handed on: the peer may send more
    }
    if (s->peer_closed) {
      tcp_.shutdown(c);
    }
  }

  Tcp& tcp_;
};

// Drops everything it receives.
class DiscardApp final : public App {
 public:
  explicit DiscardApp(Tcp& tcp) : tcp_(tcp) {}
  void on_connected(Connection*) noexcept override {}
  void on_data(Connection* c, rte_mbuf* chain, uint32_t len) noexcept override {
    rte_pktmbuf_free(chain);
    tcp_.release(c, len);
  }
  void on_peer_closed(Connection* c) noexcept override { tcp_.close(c); }
  void on_closed(Connection*, CloseReason) noexcept override {}

 private:
  Tcp& tcp_;
};

constexpr std::string_view kDefaultPage = kHttpDefaultPage;

// HTTP/1.1 responder: 200 with a small page, or /bytes/N with N pattern bytes.
class HttpApp final : public App {
 public:
  HttpApp(Tcp& tcp, rte_mempool* pool) : tcp_(tcp), pool_(pool) {}

  void on_connected(Connection* c) noexcept override { tcp_.set_user_data(c, new State); }
  void on_data(Connection* c, rte_mbuf* chain, uint32_t len) noexcept override {
    State* s = state(c);
    // Request heads are small; copy them out (bounded) and give the mbufs back at once.
    for (rte_mbuf* seg = chain; seg != nullptr; seg = seg->next) {
      if (s->in.size() + seg->data_len > kHttpMaxHead * 2) {
        rte_pktmbuf_free(chain);
        tcp_.release(c, len);
        tcp_.abort(c);  // on_closed has run: s is gone
        return;
      }
      s->in.append(rte_pktmbuf_mtod(seg, const char*), seg->data_len);
    }
    rte_pktmbuf_free(chain);
    tcp_.release(c, len);
    serve(c, s);
  }
  void on_writable(Connection* c) noexcept override { serve(c, state(c)); }
  void on_peer_closed(Connection* c) noexcept override {
    State* s = state(c);
    s->peer_closed = true;
    serve(c, s);
  }
  void on_closed(Connection* c, CloseReason) noexcept override {
    State* s = state(c);
    if (s->starved) {
      std::erase(starved_, c);
    }
    delete s;
  }

  // Connections that stopped for want of mbufs (not of send space, which on_writable
  // covers) try again each iteration.
  bool poll() noexcept override {
    if (starved_.empty()) {
      return false;
    }
    std::vector<Connection*> retry;
    retry.swap(starved_);
    for (Connection* c : retry) {
      State* s = state(c);
      s->starved = false;
      serve(c, s);
    }
    return true;
  }

 private:
  struct State {
    std::string in;       // received request bytes not yet answered
    std::string out;      // response head (or error page) still to send
    size_t out_off = 0;
    uint64_t body_left = 0;
    uint64_t body_off = 0;
    bool default_page = false;
    bool responding = false;
    bool close_after = false;
    bool peer_closed = false;
    bool starved = false;  // listed in starved_
  };
  State* state(Connection* c) { return static_cast<State*>(tcp_.user_data(c)); }

  void serve(Connection* c, State* s) {
    for (;;) {
      if (s->responding) {
        if (!pump(c, s)) {
          return;  // on_writable() resumes
        }
        s->responding = false;
        if (s->close_after) {
          tcp_.shutdown(c);
        }
      }
      if (s->close_after) {
        s->in.clear();  // answered the last request; ignore anything after it
        return;
      }
      const size_t end = s->in.find("\r\n\r\n");
      if (end == std::string::npos) {
        if (s->in.size() > kHttpMaxHead) {
          start(s, std::string(kHttp431));
          s->close_after = true;
          continue;
        }
        if (s->peer_closed) {
          tcp_.close(c);
        }
        return;
      }
      const auto req = parse_http_request(std::string_view(s->in).substr(0, end + 4));
      s->in.erase(0, end + 4);
      if (!req) {
        start(s, std::string(kHttp400));
        s->close_after = true;
        continue;
      }
      const uint64_t body = req->is_bytes ? req->body_len : kDefaultPage.size();
      start(s, http_response_head(*req, body));
      s->body_left = req->head ? 0 : body;
      s->default_page = !req->is_bytes;
      s->close_after = req->close;
    }
  }

  static void start(State* s, std::string head) {
    s->out = std::move(head);
    s->out_off = 0;
    s->body_left = 0;
    s->body_off = 0;
    s->responding = true;
  }

  // Sends as much of the response as fits; true when all of it has gone to TCP.
  bool pump(Connection* c, State* s) {
    while (s->out_off < s->out.size() || s->body_left > 0) {
      const uint32_t space = tcp_.send_space(c);
      if (space == 0) {
        return false;
      }
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      if (m == nullptr) {
        if (!s->starved) {
          s->starved = true;
          starved_.push_back(c);
        }
        return false;
      }
      const uint32_t cap = std::min<uint32_t>(rte_pktmbuf_tailroom(m), space);
      auto* p = rte_pktmbuf_mtod(m, uint8_t*);
      uint32_t n = 0;
      if (s->out_off < s->out.size()) {
        n = static_cast<uint32_t>(std::min<size_t>(cap, s->out.size() - s->out_off));
        std::memcpy(p, s->out.data() + s->out_off, n);
        s->out_off += n;
      }
      const uint32_t b = static_cast<uint32_t>(std::min<uint64_t>(cap - n, s->body_left));
      for (uint32_t i = 0; i < b; i++) {
        p[n + i] = s->default_page ? static_cast<uint8_t>(kDefaultPage[s->body_off + i])
                                   : http_body_byte(s->body_off + i);
      }
      s->body_off += b;
      s->body_left -= b;
      rte_pktmbuf_append(m, static_cast<uint16_t>(n + b));
      if (!tcp_.send(c, m)) {
        rte_pktmbuf_free(m);
        return false;
      }
    }
    return true;
  }

  Tcp& tcp_;
  rte_mempool* pool_;
  std::vector<Connection*> starved_;
};

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x | 0x20) == (y | 0x20);
         });
}

}  // namespace

std::string http_response_head(const HttpRequest& req, uint64_t body_len,
                               std::string_view extra_headers) {
  std::string head = "HTTP/1.1 200 OK\r\nServer: linetls\r\nContent-Type: ";
  head += req.is_bytes ? "application/octet-stream" : "text/plain";
  head += "\r\nContent-Length: " + std::to_string(body_len) + "\r\n";
  if (req.close) {
    head += "Connection: close\r\n";
  }
  head += extra_headers;
  head += "\r\n";
  return head;
}

std::optional<HttpRequest> parse_http_request(std::string_view head) noexcept {
  // Request-line: method SP request-target SP HTTP-version CRLF (RFC 9112 §3).
  const size_t eol = head.find("\r\n");
  if (eol == std::string_view::npos || head.size() > kHttpMaxHead) {
    return std::nullopt;
  }
  const std::string_view line = head.substr(0, eol);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = line.rfind(' ');
  if (sp1 == std::string_view::npos || sp2 == sp1) {
    return std::nullopt;
  }
  const std::string_view method = line.substr(0, sp1);
  const std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string_view version = line.substr(sp2 + 1);
  HttpRequest r;
  if (method == "HEAD") {
    r.head = true;
  } else if (method != "GET" && method != "POST") {
    return std::nullopt;
  }
  if (target.empty() || target[0] != '/' || target.find(' ') != std::string_view::npos) {
    return std::nullopt;
  }
  if (version == "HTTP/1.0") {
    r.close = true;
  } else if (version != "HTTP/1.1") {
    return std::nullopt;
  }
  constexpr std::string_view kBytes = "/bytes/";
  if (target.starts_with(kBytes)) {
    std::string_view n = target.substr(kBytes.size());
    n = n.substr(0, n.find('?'));
    uint64_t v = 0;
    auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), v);
    if (n.empty() || ec != std::errc() || end != n.data() + n.size() || v > kHttpMaxBytes) {
      return std::nullopt;
    }
    r.is_bytes = true;
    r.body_len = v;
  }
  // Header fields: only Connection matters here.
  size_t pos = eol + 2;
  while (pos < head.size()) {
    const size_t e = head.find("\r\n", pos);
    if (e == std::string_view::npos) {
      return std::nullopt;
    }
    const std::string_view field = head.substr(pos, e - pos);
    pos = e + 2;
    if (field.empty()) {
      break;
    }
    const size_t colon = field.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return std::nullopt;
    }
    std::string_view value = field.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
      value.remove_prefix(1);
    }
    while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) {
      value.remove_suffix(1);
    }
    if (iequals(field.substr(0, colon), "connection")) {
      if (iequals(value, "close")) {
        r.close = true;
      } else if (iequals(value, "keep-alive")) {
        r.close = false;
      }
    }
  }
  return r;
}

std::unique_ptr<App> make_app(AppKind kind, Tcp& tcp, rte_mempool* pool) {
  switch (kind) {
    case AppKind::kEcho:
      return std::make_unique<EchoApp>(tcp);
    case AppKind::kDiscard:
      return std::make_unique<DiscardApp>(tcp);
    case AppKind::kHttp:
      return std::make_unique<HttpApp>(tcp, pool);
  }
  return nullptr;
}

}  // namespace linetls::engine
