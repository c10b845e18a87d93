#include "lib/engine/proxy.h"

#include <rte_mbuf.h>

#include <cstring>
#include <vector>

#include "lib/base/log.h"
#include "lib/crypto/cert.h"
#include "lib/engine/chain.h"
#include "lib/proxy/proxy_v2.h"

namespace linetls::engine {

namespace {
constexpr uint64_t kNsPerMs = 1000000;

// The pair's idle timer knows its pair.
template <typename P>
struct PairTimer : AppTimer {
  P* pair = nullptr;
};
}  // namespace

struct ProxyApp::Pair {
  Side client;
  Side backend;
  PairTimer<Pair> idle;
  uint64_t last_activity_ns = 0;
  uint32_t attempts = 0;       // backends tried for this client
  uint32_t backend_index = 0;  // the one tried last
  rte_mbuf* header = nullptr;  // the PROXY v2 header, sent (as a reference) to each backend
  Pair* prev = nullptr;        // ProxyApp::pairs_
  Pair* next = nullptr;
};

ProxyApp::Side& ProxyApp::other(Side& x) {
  return x.is_client ? x.pair->backend : x.pair->client;
}

ProxyApp::ProxyApp(const ProxyOptions& options, Context& ctx) : options_(options), ctx_(ctx) {
  for (const Backend& b : options_.backends) {
    backends_.push_back(BackendState{b, 0});
  }
}

ProxyApp::~ProxyApp() {
  // The streams are gone by now (the worker frees them first, without callbacks).
  while (pairs_ != nullptr) {
    Pair* p = pairs_;
    pairs_ = p->next;
    ctx_.timers().cancel(&p->idle);
    rte_pktmbuf_free(p->client.pending);
    rte_pktmbuf_free(p->backend.pending);
    rte_pktmbuf_free(p->header);
    delete p;
  }
}

void ProxyApp::for_each_counter(const CounterVisitor& f) const {
  counters_.for_each([&](std::string_view n, uint64_t v) { f("proxy." + std::string(n), v); });
}

void ProxyApp::on_open(Stream* s) noexcept {
  if (s->user_data != nullptr) {
    // A backend we opened is established.
    Side& b = *side(s);
    Pair* p = b.pair;
    b.open = true;
    counters_.inc(ProxyCounter::kBackendOpen);
    if (p->header != nullptr) {
      rte_mbuf* h = rte_pktmbuf_clone(p->header, ctx_.pool());
      if (h == nullptr || !s->write(h)) {
        rte_pktmbuf_free(h);
        counters_.inc(ProxyCounter::kProxyHeaderErrors);
        reset_pair(p);
        return;
      }
      counters_.inc(ProxyCounter::kProxyHeaders);
    }
    pump(p->client);  // what the client sent while we connected, and its FIN
    return;
  }
  // A new client.
  counters_.inc(ProxyCounter::kClients);
  auto* p = new Pair;
  p->next = pairs_;
  if (pairs_ != nullptr) {
    pairs_->prev = p;
  }
  pairs_ = p;
  num_pairs_++;
  p->client.pair = p;
  p->client.s = s;
  p->client.open = true;
  p->client.is_client = true;
  p->backend.pair = p;
  s->user_data = &p->client;
  p->idle.target = this;
  p->idle.pair = p;
  p->last_activity_ns = ctx_.now_ns();
  if (options_.idle_timeout_ms != 0) {
    ctx_.timers().schedule(&p->idle,
                           p->last_activity_ns + uint64_t{options_.idle_timeout_ms} * kNsPerMs);
  }
  if (options_.proxy_protocol_v2 && !build_proxy_header(p)) {
    counters_.inc(ProxyCounter::kProxyHeaderErrors);
    reset_pair(p);
    return;
  }
  connect_backend(p);
}

void ProxyApp::connect_backend(Pair* p) noexcept {
  const uint64_t now = ctx_.now_ns();
  const uint32_t n = static_cast<uint32_t>(backends_.size());
  while (p->attempts < n) {
    const uint32_t idx = cursor_++ % n;
    p->attempts++;
    BackendState& b = backends_[idx];
    if (b.down_until_ns > now) {
      counters_.inc(ProxyCounter::kBackendSkipped);
      continue;
    }
    counters_.inc(ProxyCounter::kBackendConnects);
    auto r = ctx_.connect(b.addr.ip, b.addr.port, this, options_.connect_timeout_ms);
    if (!r) {
      continue;  // no source port or connection slot here: try the next one
    }
    p->backend_index = idx;
    p->backend.s = *r;
    p->backend.open = false;
    (*r)->user_data = &p->backend;
    return;
  }
  // None left: close the client cleanly (over TLS close_notify, then FIN).
  counters_.inc(ProxyCounter::kNoBackend);
  if (p->client.s != nullptr) {
    p->client.s->close();
  }
}

bool ProxyApp::build_proxy_header(Pair* p) noexcept {
  const Stream* c = p->client.s;
  proxy::ProxyV2Info info;
  std::string cn;
  info.src = {c->remote_ip().v, c->remote_port()};
  info.dst = {c->local_ip().v, c->local_port()};
  if (const TlsFacts* t = c->tls()) {
    info.alpn = t->alpn;
    info.authority = std::string_view(reinterpret_cast<const char*>(t->sni.data()), t->sni.size());
    proxy::TlsFacts f;
    f.version = proxy::tls_version_name(t->version);
    f.cipher = proxy::openssl_cipher_name(t->suite);
    if (!t->certificate_sig_alg.empty() || !t->certificate_key_alg.empty()) {
      f.sig_alg = t->certificate_sig_alg;  // the material of this connection's generation
      f.key_alg = t->certificate_key_alg;
    } else if (t->certificate_index < options_.certificates.size()) {
      f.sig_alg = options_.certificates[t->certificate_index].sig_alg;
      f.key_alg = options_.certificates[t->certificate_index].key_alg;
    }
    if (t->client != nullptr) {
      f.client_cert_sess = true;
      f.client_cert_conn = !t->resumed;
      f.verified = true;
      // A resumed session's identity came through a ticket, which keeps the subject.
      cn = t->client->common_name.empty() ? crypto::common_name_from_rfc2253(t->client->subject)
                                          : t->client->common_name;
      f.cn = cn;
    }
    info.tls = f;
  }
  auto size = proxy::proxy_v2_size(info);
  if (!size) {
    return false;
  }
  // The header (a few hundred bytes at most in practice) into one or more pool mbufs.
  std::vector<uint8_t> bytes(*size);
  if (!proxy::encode_proxy_v2(info, bytes)) {
    return false;
  }
  rte_mbuf* head = nullptr;
  for (size_t off = 0; off < bytes.size();) {
    rte_mbuf* m = rte_pktmbuf_alloc(ctx_.pool());
    if (m == nullptr) {
      rte_pktmbuf_free(head);
      return false;
    }
    const size_t n = std::min<size_t>(bytes.size() - off, rte_pktmbuf_tailroom(m));
    std::memcpy(rte_pktmbuf_append(m, static_cast<uint16_t>(n)), bytes.data() + off, n);
    head = chain_append(head, m);
    off += n;
  }
  p->header = head;
  return true;
}

void ProxyApp::on_data(Stream* s, rte_mbuf* chain, uint32_t) noexcept {
  Side& x = *side(s);
  x.pending = chain_append(x.pending, chain);
  x.pair->last_activity_ns = ctx_.now_ns();
  pump(x);
}

void ProxyApp::on_writable(Stream* s) noexcept {
  Side& x = *side(s);
  x.pair->last_activity_ns = ctx_.now_ns();
  pump(other(x));
}

void ProxyApp::on_peer_closed(Stream* s) noexcept {
  Side& x = *side(s);
  x.eof = true;
  pump(x);
}

void ProxyApp::pump(Side& from) noexcept {
  Side& to = other(from);
  if (!to.open || to.s == nullptr) {
    return;  // the backend is not there yet: the client's bytes wait, unreleased
  }
  while (from.pending != nullptr) {
    const uint32_t space = to.s->write_space();
    rte_mbuf* part = chain_take(&from.pending, space, ctx_.pool());
    if (part == nullptr) {
      return;  // on_writable(to) resumes
    }
    const uint32_t n = part->pkt_len;
    if (!to.s->write(part)) {
      from.pending = chain_append(part, from.pending);
      return;
    }
    counters_.inc(from.is_client ? ProxyCounter::kBytesUp : ProxyCounter::kBytesDown, n);
    if (from.s != nullptr) {
      from.s->release(n);  // taken: the source may send more
    }
  }
  if (from.eof && !from.eof_sent) {
    from.eof_sent = true;
    counters_.inc(from.is_client ? ProxyCounter::kHalfCloseUp : ProxyCounter::kHalfCloseDown);
    to.s->shutdown();
  }
}

void ProxyApp::on_closed(Stream* s, StreamEnd why) noexcept {
  Side& x = *side(s);
  Pair* p = x.pair;
  x.s = nullptr;
  if (!x.is_client && !x.open) {
    // The backend never opened: it is down for a while; try the next one.
    if (why == StreamEnd::kRefused || why == StreamEnd::kTimeout) {
      counters_.inc(ProxyCounter::kBackendFailures);
      backends_[p->backend_index].down_until_ns =
          ctx_.now_ns() + uint64_t{options_.backend_down_ms} * kNsPerMs;
    }
    if (p->client.s != nullptr) {
      connect_backend(p);
    } else {
      maybe_free(p);
    }
    return;
  }
  if (why != StreamEnd::kClosed) {
    LT_DEBUG("proxy: %s %s:%u ended: %.*s", x.is_client ? "client" : "backend",
             s->remote_ip().str().c_str(), s->remote_port(),
             static_cast<int>(to_string(why).size()), to_string(why).data());
    counters_.inc(x.is_client ? ProxyCounter::kClientAborts : ProxyCounter::kBackendAborts);
    reset_pair(p);
    return;
  }
  // A clean end: whatever it sent before is still carried over, then its FIN.
  x.eof = true;
  pump(x);
  maybe_free(p);
}

void ProxyApp::on_timer(AppTimer* t) noexcept {
  Pair* p = static_cast<PairTimer<Pair>*>(t)->pair;
  const uint64_t until = p->last_activity_ns + uint64_t{options_.idle_timeout_ms} * kNsPerMs;
  if (ctx_.now_ns() < until) {
    ctx_.timers().schedule(&p->idle, until);
    return;
  }
  counters_.inc(ProxyCounter::kIdleTimeouts);
  reset_pair(p);
}

void ProxyApp::reset_pair(Pair* p) noexcept {
  for (Side* x : {&p->client, &p->backend}) {
    if (x->s != nullptr) {
      Stream* s = x->s;
      x->s = nullptr;
      s->abort();  // no on_closed follows
    }
  }
  maybe_free(p);
}

void ProxyApp::maybe_free(Pair* p) noexcept {
  if (p->client.s != nullptr || p->backend.s != nullptr) {
    return;
  }
  ctx_.timers().cancel(&p->idle);
  rte_pktmbuf_free(p->client.pending);
  rte_pktmbuf_free(p->backend.pending);
  rte_pktmbuf_free(p->header);
  if (p->prev != nullptr) {
    p->prev->next = p->next;
  } else {
    pairs_ = p->next;
  }
  if (p->next != nullptr) {
    p->next->prev = p->prev;
  }
  num_pairs_--;
  counters_.inc(ProxyCounter::kPairsClosed);
  delete p;
}

}  // namespace linetls::engine
