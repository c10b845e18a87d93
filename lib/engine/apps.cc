#include "lib/engine/apps.h"

#include <rte_mbuf.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "lib/crypto/cert.h"
#include "lib/engine/chain.h"
#include "lib/engine/proxy.h"

namespace linetls::engine {

namespace {

// The /bytes/N pattern, long enough that any run of up to 2^16 bytes starting at any
// phase of the 26-byte cycle is one memcpy.
constexpr size_t kPatternRun = 65536;
constexpr size_t kPatternLen = kPatternRun + 26;
constexpr std::array<uint8_t, kPatternLen> kPattern = [] {
  std::array<uint8_t, kPatternLen> p{};
  for (size_t i = 0; i < kPatternLen; i++) {
    p[i] = http_body_byte(i);
  }
  return p;
}();

// A header value made safe: control characters (CR, LF, ...) become '?'.
std::string header_value(std::string_view v) {
  std::string out(v);
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      c = '?';
    }
  }
  return out;
}

std::string hex(std::span<const uint8_t> b) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(b.size() * 2);
  for (uint8_t x : b) {
    out += kDigits[x >> 4];
    out += kDigits[x & 15];
  }
  return out;
}

// Sends back what arrives, in the same mbufs.
class EchoApp final : public ServiceApp {
 public:
  explicit EchoApp(Context& ctx) : ctx_(ctx) {}

  void on_open(Stream* s) noexcept override { s->user_data = new State; }
  void on_data(Stream* s, rte_mbuf* chain, uint32_t) noexcept override {
    State* st = state(s);
    st->pending = chain_append(st->pending, chain);
    pump(s, st);
  }
  void on_writable(Stream* s) noexcept override { pump(s, state(s)); }
  void on_peer_closed(Stream* s) noexcept override {
    State* st = state(s);
    st->peer_closed = true;
    pump(s, st);
  }
  void on_closed(Stream* s, StreamEnd) noexcept override { destroy(s); }

 private:
  struct State {
    rte_mbuf* pending = nullptr;  // received, not yet handed back
    bool peer_closed = false;
  };
  static State* state(Stream* s) { return static_cast<State*>(s->user_data); }
  static void destroy(Stream* s) {
    State* st = state(s);
    rte_pktmbuf_free(st->pending);
    delete st;
    s->user_data = nullptr;
  }

  void pump(Stream* s, State* st) {
    while (st->pending != nullptr) {
      rte_mbuf* part = chain_take(&st->pending, s->write_space(), ctx_.pool());
      if (part == nullptr) {
        return;  // on_writable() resumes (or the next segment split finds an mbuf)
      }
      const uint32_t n = part->pkt_len;
      if (!s->write(part)) {
        st->pending = chain_append(part, st->pending);
        return;
      }
      s->release(n);  // handed on: the peer may send more
    }
    if (st->peer_closed) {
      s->shutdown();
    }
  }

  Context& ctx_;
};

// Drops everything it receives.
class DiscardApp final : public ServiceApp {
 public:
  void on_open(Stream*) noexcept override {}
  void on_data(Stream* s, rte_mbuf* chain, uint32_t len) noexcept override {
    rte_pktmbuf_free(chain);
    s->release(len);
  }
  void on_peer_closed(Stream* s) noexcept override { s->close(); }
  void on_closed(Stream*, StreamEnd) noexcept override {}
};

// HTTP/1.1 responder: 200 with a small page, or /bytes/N with N pattern bytes.
class HttpApp final : public ServiceApp {
 public:
  void on_open(Stream* s) noexcept override { s->user_data = new State; }
  void on_data(Stream* s, rte_mbuf* chain, uint32_t len) noexcept override {
    State* st = state(s);
    // Request heads are small; copy them out (bounded) and give the mbufs back at once.
    for (rte_mbuf* seg = chain; seg != nullptr; seg = seg->next) {
      if (st->in.size() + seg->data_len > kHttpMaxHead * 2) {
        rte_pktmbuf_free(chain);
        delete st;
        s->abort();  // gone for us at once
        return;
      }
      if (!st->close_after) {
        st->in.append(rte_pktmbuf_mtod(seg, const char*), seg->data_len);
      }  // else: answered the last request; anything after it is dropped
    }
    rte_pktmbuf_free(chain);
    s->release(len);
    serve(s, st);
  }
  void on_peer_closed(Stream* s) noexcept override {
    State* st = state(s);
    st->peer_closed = true;
    serve(s, st);
  }
  void on_pull(Stream* s, uint8_t* dst, uint32_t len) noexcept override {
    State* st = state(s);
    size_t done = 0;
    if (st->head_off < st->head.size()) {
      done = std::min<size_t>(len, st->head.size() - st->head_off);
      std::memcpy(dst, st->head.data() + st->head_off, done);
      st->head_off += done;
    }
    while (done < len) {
      const size_t b = std::min<size_t>(len - done, kPatternRun);
      if (st->default_page) {
        std::memcpy(dst + done, kHttpDefaultPage.data() + st->body_off, b);
      } else {
        std::memcpy(dst + done, kPattern.data() + st->body_off % 26, b);
      }
      st->body_off += b;
      st->body_left -= b;
      done += b;
    }
    if (st->head_off == st->head.size() && st->body_left == 0) {
      st->responding = false;
      serve(s, st);  // the next request, or the end (on_pull may write_pull and shutdown)
    }
  }
  void on_closed(Stream* s, StreamEnd) noexcept override {
    delete state(s);
    s->user_data = nullptr;
  }

 private:
  struct State {
    std::string in;    // received request bytes not yet answered
    std::string head;  // response head (or error page) being produced
    size_t head_off = 0;
    uint64_t body_left = 0;
    uint64_t body_off = 0;
    bool default_page = false;
    bool responding = false;
    bool close_after = false;
    bool peer_closed = false;
  };
  static State* state(Stream* s) { return static_cast<State*>(s->user_data); }

  // Starts answering the next complete request (one at a time), or ends the stream.
  static void serve(Stream* s, State* st) {
    if (st->responding) {
      return;  // on_pull() comes back here when this answer is out
    }
    if (st->close_after) {
      st->in.clear();
      s->shutdown();
      return;
    }
    const size_t end = st->in.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (st->in.size() > kHttpMaxHead) {
        start(s, st, std::string(kHttp431), 0, true);
      } else if (st->peer_closed) {
        s->close();
      }
      return;
    }
    const auto req = parse_http_request(std::string_view(st->in).substr(0, end + 4));
    st->in.erase(0, end + 4);
    if (!req) {
      start(s, st, std::string(kHttp400), 0, true);
      return;
    }
    const uint64_t body = req->is_bytes ? req->body_len : kHttpDefaultPage.size();
    const TlsFacts* t = s->tls();
    start(s, st, http_response_head(*req, body, t != nullptr ? tls_headers(*t) : std::string()),
          req->head ? 0 : body, req->close);
    st->default_page = !req->is_bytes;
  }

  static void start(Stream* s, State* st, std::string head, uint64_t body, bool close_after) {
    st->head = std::move(head);
    st->head_off = 0;
    st->body_left = body;
    st->body_off = 0;
    st->default_page = false;
    st->responding = true;
    st->close_after = close_after;
    s->write_pull(st->head.size() + body);
  }
};

}  // namespace

std::string tls_headers(const TlsFacts& t) {
  std::string h = "X-TLS-Version: ";
  h += t.version == 0x0303 ? "1.2" : "1.3";
  h += "\r\nX-TLS-Cipher: ";
  h += t.suite_name;
  h += "\r\n";
  if (t.client != nullptr) {
    h += "X-Client-Subject: " + header_value(t.client->subject) + "\r\n";
    h += "X-Client-SHA256: " + hex(t.client->sha256_fingerprint.view()) + "\r\n";
  }
  return h;
}

std::unique_ptr<ServiceApp> make_app(const ServiceSpec& spec, Context& ctx) {
  switch (spec.app) {
    case AppKind::kEcho:
      return std::make_unique<EchoApp>(ctx);
    case AppKind::kDiscard:
      return std::make_unique<DiscardApp>();
    case AppKind::kHttp:
      return std::make_unique<HttpApp>();
    case AppKind::kProxy:
      return std::make_unique<ProxyApp>(spec.proxy, ctx);
  }
  return nullptr;
}

}  // namespace linetls::engine
