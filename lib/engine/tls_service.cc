#include "lib/engine/tls_service.h"

#include <rte_mbuf.h>

#include <algorithm>
#include <cstring>
#include <ctime>
#include <new>
#include <optional>

#include "lib/base/clock.h"
#include "lib/base/log.h"
#include "lib/engine/pk_offload.h"
#include "lib/engine/tls_conn.h"

namespace linetls::engine {

using net::tcp::CloseReason;
using net::tcp::Connection;

namespace {

constexpr uint64_t kRotationCheckNs = 1'000'000'000;
// A record needs its header, inner type and tag around the content (TLS 1.3), or its header,
// explicit nonce and tag (TLS 1.2 AES-GCM, the most of either version).
constexpr size_t kOverhead = std::max<size_t>(tls::kProtectedOverhead, 5 + 8 + 16);
// Room kept free when sizing an application record: the session may have to put a
// KeyUpdate (a 27-byte record, kKeyUpdateBarrierLen at most) in front of it.
constexpr size_t kKeyUpdateReserve = tls::kKeyUpdateBarrierLen;

// Every worker derives the same keys for an epoch from the process's master secret, so a
// ticket issued by one worker opens on any other and across rotations (current+previous).
Result<void, tls::Error> rotate_ticket_keys(tls::TicketKeys& keys, uint64_t epoch,
                                            const std::array<uint8_t, 32>& master) {
  return keys.rotate_to(static_cast<uint32_t>(epoch), master);
}

// Errors that mean the client's certificate or its CertificateVerify was refused.
bool is_client_cert_error(tls::Error e) {
  const tls::AlertDescription a = tls::to_alert(e);
  return a == tls::AlertDescription::kBadCertificate ||
         a == tls::AlertDescription::kUnknownCa ||
         a == tls::AlertDescription::kCertificateExpired ||
         a == tls::AlertDescription::kCertificateRequired ||
         a == tls::AlertDescription::kDecryptError ||
         a == tls::AlertDescription::kUnsupportedCertificate ||
         a == tls::AlertDescription::kCertificateUnknown;
}

// Frees the segments of a chain one by one (they may be linked without a consistent head).
void free_segments(rte_mbuf* m) {
  while (m != nullptr) {
    rte_mbuf* next = m->next;
    m->next = nullptr;
    m->nb_segs = 1;
    rte_pktmbuf_free_seg(m);
    m = next;
  }
}


}  // namespace

class TlsEngine::Listener final : public net::tcp::Handler {
 public:
  Listener(TlsEngine& e, App* app, uint16_t profile) : e_(e), app_(app), profile_(profile) {}
  void on_connected(Connection* c) noexcept override { e_.on_connected(c, app_, profile_); }
  void on_data(Connection* c, rte_mbuf* chain, uint32_t len) noexcept override {
    e_.on_data(c, chain, len);
  }
  void on_writable(Connection* c) noexcept override { e_.on_writable(c); }
  void on_peer_closed(Connection* c) noexcept override { e_.on_peer_closed(c); }
  void on_closed(Connection* c, CloseReason why) noexcept override { e_.on_closed(c, why); }

 private:
  TlsEngine& e_;
  App* app_;
  uint16_t profile_;
};

TlsEngine::TlsEngine(const TlsSettings& settings, net::tcp::Tcp& tcp, rte_mempool* pool)
    : settings_(settings), tcp_(tcp), pool_(pool) {}

void TlsEngine::detach() noexcept {
  for (auto& [serial, k] : live_) {
    k->tcp = nullptr;
    k->dead = true;
  }
}

void TlsEngine::end_all() noexcept {
  for (auto& [serial, k] : live_) {
    if (k->app != nullptr && k->app_open) {
      end_app(k, StreamEnd::kAborted);
    }
    k->app = nullptr;
  }
}

TlsEngine::~TlsEngine() {
  // TCP is gone by now (the worker resets it first, without callbacks): free what we hold.
  for (auto& [serial, k] : live_) {
    k->tcp = nullptr;
    free_segments(k->rx_head);
    free_segments(k->prepared);
    rte_pktmbuf_free(k->in_head);
    rte_pktmbuf_free(k->out_q);
    for (rte_mbuf* m : k->sendq) {
      rte_pktmbuf_free(m);
    }
    delete k;
  }
  delete mailbox_.exchange(nullptr);
}

Result<std::unique_ptr<TlsEngine>, std::string> TlsEngine::create(const TlsSettings& settings,
                                                                 net::tcp::Tcp& tcp,
                                                                 rte_mempool* pool) {
  if (!settings.make_batch) {
    return fail(std::string("tls: no AEAD backend configured"));
  }
  std::shared_ptr<const TlsGeneration> generation = settings.generation;
  if (generation == nullptr && settings.certificates.empty()) {
    // A client-only engine (WorkerConfig::tls_client): no profile to present, no listener.
    generation = std::make_shared<TlsGeneration>();
  } else if (generation == nullptr) {
    auto p = std::make_shared<TlsProfile>();
    p->certificates = settings.certificates;
    p->certificates12 = settings.certificates12;
    p->alpn = settings.alpn;
    p->client_auth = settings.client_auth;
    p->client_ca = settings.client_ca;
    auto g = std::make_shared<TlsGeneration>();
    g->profiles.push_back(std::move(p));
    generation = std::move(g);
  }
  if (!tls::v12::valid_range({settings.tls_min, settings.tls_max})) {
    return fail(std::string("tls: bad version range"));
  }
  std::unique_ptr<TlsEngine> e(new TlsEngine(settings, tcp, pool));
  e->batch_ = settings.make_batch(settings.batch_capacity);
  e->ticket_batch_ = settings.make_batch(4);
  if (e->batch_ == nullptr || e->ticket_batch_ == nullptr) {
    return fail(std::string("tls: cannot create an AEAD batch"));
  }
  e->ops_.resize(e->batch_->capacity());
  e->now_ns_ = monotonic_ns();
  e->next_rotation_check_ns_ = e->now_ns_ + kRotationCheckNs;
  e->ticket_keys_ = std::make_unique<tls::TicketKeys>(*e->ticket_batch_, crypto::os_rng());
  e->ticket_epoch_ = static_cast<uint64_t>(std::time(nullptr)) /
                     std::max<uint32_t>(settings.ticket_rotation_s, 1);
  if (auto r = rotate_ticket_keys(*e->ticket_keys_, e->ticket_epoch_, settings.ticket_master);
      !r) {
    return fail("tls: ticket keys: " + std::string(tls::to_string(r.error())));
  }
  e->session_cache_ = std::make_unique<tls::v12::SessionCache12>(
      std::max<size_t>(settings.session_cache_entries, 1));
  e->settings_.generation.reset();  // the profiles keep it while it is current
  std::string why;
  if (!e->adopt(std::move(generation), &why)) {
    return fail("tls: " + why);
  }
  e->limits_.key_update_records = settings.key_update_records;
  return e;
}

net::tcp::Handler* TlsEngine::listener(App* app, uint16_t profile) {
  if (profile >= profiles_.size()) {
    return nullptr;
  }
  profiles_needed_ = std::max<uint16_t>(profiles_needed_, profile + 1);
  listeners_.push_back(std::make_unique<Listener>(*this, app, profile));
  return listeners_.back().get();
}

void TlsEngine::offer(std::shared_ptr<const TlsGeneration> generation) noexcept {
  auto* box = new (std::nothrow) std::shared_ptr<const TlsGeneration>(std::move(generation));
  if (box == nullptr) {
    return;
  }
  // The worker never saw an offer it has not taken: whoever exchanges it out owns it.
  delete mailbox_.exchange(box, std::memory_order_acq_rel);
}

bool TlsEngine::adopt(std::shared_ptr<const TlsGeneration> g, std::string* out_error) {
  // A generation without profiles serves only a client-only engine (no listener yet).
  const size_t needed = profiles_.empty() && g->profiles.empty() && profiles_needed_ == 0
                            ? 0
                            : std::max<size_t>(profiles_needed_, 1);
  if (g->profiles.size() < needed) {
    *out_error = "generation " + std::to_string(g->number) + " has " +
                 std::to_string(g->profiles.size()) + " TLS profiles, the listeners use " +
                 std::to_string(profiles_needed_);
    return false;
  }
  std::vector<std::shared_ptr<const ProfileState>> states;
  for (size_t i = 0; i < g->profiles.size(); i++) {
    const TlsProfile& p = *g->profiles[i];
    if (p.certificates.empty() || p.certificates.size() != p.certificates12.size()) {
      *out_error = "profile " + std::to_string(i) + ": no certificate";
      return false;
    }
    if (p.client_auth != tls::ClientAuth::kNone && p.client_ca == nullptr) {
      *out_error = "profile " + std::to_string(i) + ": client certificates need a CA bundle";
      return false;
    }
    auto st = std::make_shared<ProfileState>();
    st->generation = g;
    st->profile = &p;
    st->config13.certificates = p.certificates;
    st->config13.alpn = p.alpn;
    st->config13.ticket_keys = ticket_keys_.get();
    st->config13.client_auth = p.client_auth;
    st->config13.client_ca = p.client_ca;
    st->config13.allow_psk_ke = settings_.tls13_psk_ke;
    st->config12.certificates = p.certificates12;
    st->config12.alpn = p.alpn;
    st->config12.ticket_keys = ticket_keys_.get();
    st->config12.client_auth = static_cast<tls::v12::ClientAuth>(p.client_auth);
    st->config12.client_ca = p.client_ca;
    if (p.client_ca != nullptr) {
      const auto names = p.client_ca->subject_names();
      st->config12.client_ca_names.assign(names.begin(), names.end());
    }
    st->config12.tls13_enabled = settings_.tls_max == tls::kTls13;
    st->config12.ems_policy = settings_.ems_policy;
    st->config12.session_cache = session_cache_.get();
    st->session.tls13 = &st->config13;
    st->session.tls12 = &st->config12;
    st->session.versions = {settings_.tls_min, settings_.tls_max};
    st->session.pk_offload = settings_.pk_offload != nullptr;
    states.push_back(std::move(st));
  }
  if (g->ticket_keys) {
    if (auto r = ticket_keys_->install(g->ticket_keys->keys, g->ticket_keys->seal_index); !r) {
      *out_error = "ticket keys: " + std::string(tls::to_string(r.error()));
      return false;
    }
  } else {
    ticket_keys_->clear_explicit();
  }
  profiles_ = std::move(states);
  generation_number_.store(g->number, std::memory_order_release);
  return true;
}

// ---- TCP callbacks (run during net input, timers and our own phases).

void TlsEngine::on_connected(Connection* c, App* app, uint16_t profile) noexcept {
  Conn* k = new Conn(*this, profiles_[profile], limits_);
  k->connected = true;
  k->tcp = c;
  k->app = app;
  k->serial = next_serial_++;
  k->set_addresses(tcp_.info(c).tuple);
  tcp_.set_user_data(c, k);
  live_.emplace(k->serial, k);
  deadlines_.push_back({k->serial, now_ns_ + uint64_t{settings_.handshake_timeout_ms} * 1000000});
  counters_.inc(TlsCounter::kConnections);
}

void TlsEngine::on_data(Connection* c, rte_mbuf* chain, uint32_t len) noexcept {
  Conn* k = static_cast<Conn*>(tcp_.user_data(c));
  if (k->session.input_closed()) {
    rte_pktmbuf_free(chain);
    tcp_.release(c, len);
    return;
  }
  rte_mbuf* last = rte_pktmbuf_lastseg(chain);
  if (k->rx_tail != nullptr) {
    k->rx_tail->next = chain;
  } else {
    k->rx_head = chain;
  }
  k->rx_tail = last;
  if (k->cur == nullptr) {
    k->cur = chain;
    k->cur_off = 0;
  }
  mark_dirty(k);
}

void TlsEngine::on_writable(Connection* c) noexcept {
  mark_output(static_cast<Conn*>(tcp_.user_data(c)));
}

void TlsEngine::on_peer_closed(Connection* c) noexcept {
  Conn* k = static_cast<Conn*>(tcp_.user_data(c));
  k->tcp_fin = true;
  mark_dirty(k);
}

void TlsEngine::on_closed(Connection* c, CloseReason why) noexcept {
  Conn* k = static_cast<Conn*>(tcp_.user_data(c));
  k->tcp = nullptr;
  if (why == CloseReason::kNormal && !k->dead && k->has_input() &&
      !k->session.input_closed()) {
    k->drain_close = true;
    mark_dirty(k);
    return;
  }
  end_closed(k, why);
}

void TlsEngine::end_closed(Conn* k, CloseReason why) noexcept {
  k->drain_close = false;
  k->dead = true;
  dead_.push_back(k);  // freed by reap(): queued ops may still point into its buffers
  if (k->app != nullptr && (k->app_open || k->client != nullptr)) {
    StreamEnd end = StreamEnd::kClosed;
    if (k->timed_out) {
      end = StreamEnd::kTimeout;
    } else if (why == CloseReason::kRefused) {
      end = StreamEnd::kRefused;
    } else if (k->session.error() ||
               (k->session.input_closed() && !k->session.peer_closed())) {
      end = StreamEnd::kTlsError;
    } else if (k->truncated && !k->close_called) {
      end = StreamEnd::kTruncated;
    } else if (why == CloseReason::kReset && !(k->session.peer_closed() && k->close_called)) {
      // (A reset after close_notify both ways is how many clients close: curl closes its
      // socket after its close_notify, and ours then meets a RST. Nothing was lost.)
      end = StreamEnd::kReset;
    } else if (why == CloseReason::kTimeout) {
      end = StreamEnd::kTimeout;
    } else if (why == CloseReason::kAborted) {
      end = StreamEnd::kAborted;
    }
    end_app(k, end);
  }
  k->app = nullptr;
}

void TlsEngine::mark_dirty(Conn* k) noexcept {
  if (!k->dirty && !k->dead) {
    k->dirty = true;
    dirty_.push_back(k);
  }
}

void TlsEngine::mark_output(Conn* k) noexcept {
  if (!k->in_output && !k->dead) {
    k->in_output = true;
    output_.push_back(k);
  }
}

void TlsEngine::end_app(Conn* k, StreamEnd why) noexcept {
  App* app = k->app;
  k->app = nullptr;
  // What the app had queued will never be sealed.
  rte_pktmbuf_free(k->out_q);
  k->out_q = k->out_tail = nullptr;
  k->out_len = 0;
  k->pull_left = 0;
  rte_pktmbuf_free(k->in_head);
  k->in_head = k->in_tail = nullptr;
  if (app != nullptr && (k->app_open || k->client != nullptr)) {
    app->on_closed(k, why);
  }
}

// ---- tls_open.

bool TlsEngine::collect(Conn* k) noexcept {
  if (k->session.input_closed() || (k->tcp == nullptr && !k->drain_close) || k->pk_out) {
    return true;  // (a public-key job out: nothing is read until it is back)
  }
  for (;;) {
    tls::Record rec;
    rte_mbuf* seg = nullptr;
    if (k->held) {
      rec = *k->held;
      seg = k->held_seg;
    } else {
      if (!k->wants_input() || k->cur == nullptr) {
        return true;  // back-pressure: release() marks it dirty again
      }
      std::span<uint8_t> piece(rte_pktmbuf_mtod(k->cur, uint8_t*) + k->cur_off,
                               k->cur->data_len - k->cur_off);
      rte_mbuf* piece_seg = k->cur;
      auto step = k->session.next(piece);
      if (!step) {
        return true;  // fatal; the alert goes out in tls_seal
      }
      k->cur_off += static_cast<uint32_t>(step->consumed);
      k->unreleased += static_cast<uint32_t>(step->consumed);
      while (k->cur != nullptr && k->cur_off >= k->cur->data_len) {
        k->cur = k->cur->next;
        k->cur_off = 0;
      }
      if (!step->has_record) {
        if (step->consumed == 0 && !piece.empty()) {
          return true;  // the assembly buffer is held: the next round goes on
        }
        continue;
      }
      rec = step->record;
      const uint8_t* at = rec.fragment.data();
      if (!rec.assembled && at >= piece.data() && at + rec.fragment.size() <= piece.data() + piece.size()) {
        seg = piece_seg;
      }
    }
    if (batch_->full()) {
      k->held = rec;
      k->held_seg = seg;
      return false;
    }
    OpEntry& e = ops_[batch_->size()];
    e.conn = k;
    e.seg = seg;
    touch(k);
    auto a = k->session.accept(rec, *batch_, &e.slot);
    if (!a) {
      k->held.reset();
      return true;
    }
    if (*a == tls::ServerSession::Accepted::kBatchFull) {
      k->held = rec;
      k->held_seg = seg;
      return false;
    }
    k->held.reset();
    if (*a == tls::ServerSession::Accepted::kQueued && !k->in_batch) {
      k->in_batch = true;
      in_batch_.push_back(k);
    }
    if (k->session.barrier()) {
      return true;
    }
  }
}

void TlsEngine::free_consumed(Conn* k) noexcept {
  if (k->held) {
    return;  // the held record may point into any segment
  }
  while (k->rx_head != nullptr && k->rx_head != k->cur) {
    rte_mbuf* m = k->rx_head;
    k->rx_head = m->next;
    m->next = nullptr;
    m->nb_segs = 1;
    rte_pktmbuf_free_seg(m);  // the app's references (indirect mbufs) keep the data alive
  }
  if (k->rx_head == nullptr) {
    k->rx_tail = nullptr;
  }
  if (k->session.input_closed()) {
    // Nothing more will be read: drop the rest.
    for (rte_mbuf* m = k->cur; m != nullptr; m = m->next) {
      k->unreleased += m->data_len - (m == k->cur ? k->cur_off : 0);
    }
    free_segments(k->rx_head);
    k->rx_head = k->rx_tail = k->cur = nullptr;
    k->cur_off = 0;
  }
  if (k->unreleased != 0 && k->tcp != nullptr) {
    tcp_.release(k->tcp, k->unreleased);
  }
  k->unreleased = 0;
}

void TlsEngine::take_plaintext(Conn* k, std::span<uint8_t> plain, rte_mbuf* seg) noexcept {
  if (plain.empty() || k->app == nullptr || k->app_closing) {
    return;  // nobody reads it: consumed with its segment
  }
  rte_mbuf* chain = nullptr;
  if (seg != nullptr) {
    // A reference to the decrypted bytes where they lie.
    rte_mbuf* m = rte_pktmbuf_alloc(pool_);
    if (m != nullptr) {
      rte_pktmbuf_attach(m, seg);
      m->data_off = static_cast<uint16_t>(plain.data() - static_cast<uint8_t*>(m->buf_addr));
      m->data_len = static_cast<uint16_t>(plain.size());
      m->pkt_len = static_cast<uint32_t>(plain.size());
      chain = m;
    }
  } else {
    // The record was assembled in the session's buffer: copy it out.
    counters_.inc(TlsCounter::kPlaintextCopies);
    rte_mbuf* tail = nullptr;
    for (size_t off = 0; off < plain.size();) {
      rte_mbuf* m = rte_pktmbuf_alloc(pool_);
      if (m == nullptr) {
        rte_pktmbuf_free(chain);
        chain = nullptr;
        break;
      }
      const size_t n = std::min<size_t>(plain.size() - off, rte_pktmbuf_tailroom(m));
      std::memcpy(rte_pktmbuf_mtod(m, uint8_t*), plain.data() + off, n);
      m->data_len = static_cast<uint16_t>(n);
      m->pkt_len = static_cast<uint32_t>(n);
      append(&chain, &tail, m);
      off += n;
    }
  }
  if (chain == nullptr) {
    // Dropping the bytes would corrupt the stream: fail the connection instead.
    counters_.inc(TlsCounter::kPlaintextNoMbuf);
    k->session.fail(tls::Error::kInternalError);
    return;
  }
  k->app_unreleased += chain->pkt_len;
  append(&k->in_head, &k->in_tail, chain);
}

void TlsEngine::count_handshake(Conn* k) noexcept {
  if (!k->session.take_handshake_completed()) {
    return;
  }
  const tls::ServerSession& s = k->session;
  if (k->client != nullptr) {
    count_client_handshake(k);
    return;
  }
  counters_.inc(TlsCounter::kHandshakes);
  counters_.inc(s.version() == tls::kTls12 ? TlsCounter::kTls12 : TlsCounter::kTls13);
  const tls::ServerSession13* s13 = s.session13();
  const bool psk_ke = s13 != nullptr && s13->machine().psk_ke();
  if (s.resumed()) {
    counters_.inc(TlsCounter::kHandshakesResumed);
  }
  if (psk_ke) {
    counters_.inc(TlsCounter::kHandshakesPskKe);
  }
  if (s.hello_retry_request_sent()) {
    counters_.inc(TlsCounter::kHelloRetryRequests);
  }
  switch (s.suite_code()) {
    case 0x1301:
      counters_.inc(TlsCounter::kSuiteAes128);
      break;
    case 0x1302:
      counters_.inc(TlsCounter::kSuiteAes256);
      break;
    case 0x1303:
      counters_.inc(TlsCounter::kSuiteChacha20);
      break;
    case 0xC02B:
      counters_.inc(TlsCounter::kSuite12EcdsaAes128);
      break;
    case 0xC02C:
      counters_.inc(TlsCounter::kSuite12EcdsaAes256);
      break;
    case 0xC02F:
      counters_.inc(TlsCounter::kSuite12RsaAes128);
      break;
    case 0xC030:
      counters_.inc(TlsCounter::kSuite12RsaAes256);
      break;
    case 0xCCA8:
      counters_.inc(TlsCounter::kSuite12RsaChacha20);
      break;
    case 0xCCA9:
      counters_.inc(TlsCounter::kSuite12EcdsaChacha20);
      break;
    default:
      break;
  }
  // A psk_ke resumption exchanged no key: it has no group to count.
  if (!psk_ke) {
    switch (s.group()) {
      case crypto::NamedGroup::kX25519:
        counters_.inc(TlsCounter::kGroupX25519);
        break;
      case crypto::NamedGroup::kSecp256r1:
        counters_.inc(TlsCounter::kGroupP256);
        break;
      case crypto::NamedGroup::kSecp384r1:
        counters_.inc(TlsCounter::kGroupP384);
        break;
    }
  }
  const tls::ClientAuth auth = k->profile->profile->client_auth;
  const crypto::VerifiedIdentity* id = s.client_identity();
  if (auth != tls::ClientAuth::kNone) {
    counters_.inc(TlsCounter::kMtlsHandshakes);
    counters_.inc(id != nullptr ? TlsCounter::kClientCertVerified : TlsCounter::kClientCertMissing);
    const tls::v12::ServerSession12* s12 = s.session12();
    // A resumed handshake verified nothing: its identity came with the ticket.
    if (id != nullptr && !s.resumed() &&
        ((s13 != nullptr && s13->machine().client_chain_from_cache()) ||
         (s12 != nullptr && s12->machine().client_chain_from_cache()))) {
      counters_.inc(TlsCounter::kClientChainCacheHits);
    }
  }
  // The app's stream opens now.
  k->facts.version = s.version();
  k->facts.suite = s.suite_code();
  k->facts.suite_name = s.suite_name();
  k->facts.sni = s.server_name();
  k->facts.alpn = s.alpn();
  k->facts.client = id;
  k->facts.resumed = s.resumed();
  k->facts.certificate_index = s.certificate_index();
  const std::vector<CertAlgs>& algs = k->profile->profile->certificate_algs;
  if (k->facts.certificate_index < algs.size()) {
    k->facts.certificate_sig_alg = algs[k->facts.certificate_index].sig_alg;
    k->facts.certificate_key_alg = algs[k->facts.certificate_index].key_alg;
  }
  if (k->app != nullptr) {
    k->app_open = true;
    k->app->on_open(k);
  }
}

void TlsEngine::after_input(Conn* k) noexcept {
  if (k->dead) {
    return;
  }
  // (Without handshake lcores the machines run their jobs inline: nothing is ever pending.)
  if (settings_.pk_offload != nullptr && !k->pk_out && k->session.pk_pending()) {
    dispatch_pk(k);
  }
  free_consumed(k);
  count_handshake(k);
  // The round's plaintext, then what ended the input.
  if (k->in_head != nullptr) {
    rte_mbuf* chain = k->in_head;
    k->in_head = k->in_tail = nullptr;
    if (k->app != nullptr && k->app_open) {
      k->app->on_data(k, chain, chain->pkt_len);
    } else {
      rte_pktmbuf_free(chain);
    }
  }
  if (k->dead) {
    return;  // the app aborted it
  }
  if (k->tcp_fin && !k->has_input() && !k->session.input_closed() && !k->truncated) {
    // FIN without close_notify: the peer cannot prove it sent everything (§6.1).
    k->truncated = true;
    if (k->session.handshake_done()) {
      counters_.inc(TlsCounter::kTruncated);
    }
    // Once our close_notify is out, a peer that just closes TCP (as many clients do) ends
    // the stream cleanly; before it, what it sent may have been cut short.
    end_app(k, k->close_called ? StreamEnd::kClosed : StreamEnd::kTruncated);
  }
  if (k->client != nullptr) {
    deliver_tickets(k);
  }
  if (k->app != nullptr && (k->app_open || k->client != nullptr)) {
    if (k->session.error() || (k->session.input_closed() && !k->session.peer_closed())) {
      end_app(k, StreamEnd::kTlsError);  // a fatal alert, ours or theirs
    } else if (k->session.peer_closed() && !k->peer_close_told) {
      k->peer_close_told = true;
      k->app->on_peer_closed(k);
    }
  }
  if (k->dead) {
    return;
  }
  if (k->drain_close && (!k->has_input() || k->session.input_closed())) {
    end_closed(k, CloseReason::kNormal);  // everything the peer sent is handed over
    return;
  }
  if (k->has_input() && k->wants_input() && !k->session.input_closed() && !k->pk_out) {
    mark_dirty(k);  // stopped at a barrier or a full batch
  }
  mark_output(k);
}

void TlsEngine::dispatch_pk(Conn* k) noexcept {
  while (k->session.pk_pending() && !k->pk_out) {
    std::unique_ptr<tls::PkJob> job = k->session.take_pk_job();
    if (job == nullptr) {
      k->session.fail(tls::Error::kInternalError);
      return;
    }
    job->owner = k->serial;
    job->keep_alive = k->profile;  // the certificate keys a signature borrows
    if (settings_.pk_offload->submit(settings_.pk_worker, job.get())) {
      job.release();  // poll_pk() takes it back
      k->pk_out = true;
      return;
    }
    // Every ring of this worker is full: the handshake cores are behind. Run it here rather
    // than stall the connection (counted: the operator sees the lcores are too few).
    counters_.inc(TlsCounter::kPkJobsRingFull);
    tls::run_pk_job(*job, crypto::os_rng());
    job->keep_alive.reset();
    k->session.complete_pk(std::move(job));
  }
}

bool TlsEngine::poll_pk() noexcept {
  if (settings_.pk_offload == nullptr) {
    return false;
  }
  constexpr uint32_t kBurst = 32;
  tls::PkJob* done[kBurst];
  bool any = false;
  for (;;) {
    const uint32_t n = settings_.pk_offload->poll(settings_.pk_worker, done, kBurst);
    for (uint32_t i = 0; i < n; i++) {
      std::unique_ptr<tls::PkJob> job(done[i]);
      job->keep_alive.reset();
      auto it = live_.find(job->owner);
      if (it == live_.end() || it->second->dead || !it->second->pk_out) {
        counters_.inc(TlsCounter::kPkJobsDropped);  // ended while the job was out
        continue;
      }
      Conn* k = it->second;
      k->pk_out = false;
      counters_.inc(job->ran_offloaded ? TlsCounter::kPkJobsOffloaded
                                       : TlsCounter::kPkJobsRingFull);
      k->session.complete_pk(std::move(job));
      dispatch_pk(k);  // the handshake's next job, if it has one
      if (!k->pk_out) {
        mark_dirty(k);  // the input held back, and after_input()'s bookkeeping
      }
      mark_output(k);
    }
    any = any || n != 0;
    if (n < kBurst) {
      return any;
    }
  }
}

void TlsEngine::count_batch(bool open, uint32_t n) noexcept {
  counters_.inc(open ? TlsCounter::kOpenBatches : TlsCounter::kSealBatches);
  counters_.inc(open ? TlsCounter::kOpenOps : TlsCounter::kSealOps, n);
  const uint32_t bucket = n >= 32 ? 5 : n >= 16 ? 4 : n >= 8 ? 3 : n >= 4 ? 2 : n >= 2 ? 1 : 0;
  const auto first = open ? TlsCounter::kOpenBatch1 : TlsCounter::kSealBatch1;
  counters_.inc(static_cast<TlsCounter>(static_cast<uint16_t>(first) + bucket));
}

bool TlsEngine::open_phase(uint64_t now_ns, uint64_t* out_app_cycles) noexcept {
  now_ns_ = now_ns;
  *out_app_cycles = 0;
  reap();
  const bool pk_back = poll_pk();
  if (dirty_.empty()) {
    return pk_back;
  }
  std::vector<Conn*>& round = round_scratch_;  // a member: swapping keeps both buffers
  for (uint32_t r = 0; r < settings_.max_rounds && !dirty_.empty(); r++) {
    counters_.inc(TlsCounter::kOpenRounds);
    round.clear();
    round.swap(dirty_);
    for (Conn* k : round) {
      k->dirty = false;
    }
    for (Conn* k : round) {
      if (!k->dead && !collect(k)) {
        break;  // batch full: the rest (k included) are marked dirty by after_input
      }
    }
    // tls_open is the collection above (deframing, handshake steps on plaintext records)
    // and the batch run (AEAD); from here on, on_opened (handshake steps on protected
    // records) and the application callbacks count as apps.
    const uint32_t n = batch_->size();
    if (n != 0) {
      batch_->run();
      count_batch(true, n);
    }
    const uint64_t t0 = tsc();
    for (uint32_t i = 0; i < n; i++) {
      Conn* k = ops_[i].conn;
      if (k->dead) {
        continue;
      }
      auto plain = k->session.on_opened(batch_->status(i), ops_[i].slot);
      if (plain) {
        take_plaintext(k, *plain, ops_[i].seg);
      }
    }
    for (Conn* k : in_batch_) {
      k->session.batch_done();
      k->in_batch = false;
    }
    in_batch_.clear();
    batch_->clear();
    for (Conn* k : round) {
      after_input(k);
    }
    *out_app_cycles += tsc() - t0;
  }
  if (!dirty_.empty()) {
    counters_.inc(TlsCounter::kOpenRoundsExhausted);
  }
  return true;
}

// ---- tls_seal.

void TlsEngine::touch(Conn* k) noexcept {
  k->last_active_ns = now_ns_;
  if (!k->hot) {
    k->hot = true;
    k->hot_prev = nullptr;
    k->hot_next = hot_;
    if (hot_ != nullptr) {
      hot_->hot_prev = k;
    }
    hot_ = k;
  }
}

void TlsEngine::unlink_hot(Conn* k) noexcept {
  if (!k->hot) {
    return;
  }
  if (k->hot_prev != nullptr) {
    k->hot_prev->hot_next = k->hot_next;
  } else {
    hot_ = k->hot_next;
  }
  if (k->hot_next != nullptr) {
    k->hot_next->hot_prev = k->hot_prev;
  }
  k->hot = false;
}

void TlsEngine::park_idle(uint64_t now_ns) noexcept {
  const uint64_t idle_ns = uint64_t{settings_.park_keys_after_ms} * 1000000;
  for (Conn* k = hot_; k != nullptr;) {
    Conn* next = k->hot_next;
    if (now_ns - k->last_active_ns >= idle_ns && !k->in_batch && !k->dead &&
        k->session.handshake_done()) {
      k->session.park_keys();
      unlink_hot(k);
      counters_.inc(TlsCounter::kKeysParked);
    }
    k = next;
  }
}

void TlsEngine::update_big_pressure() noexcept {
  const uint64_t size = settings_.record_pool->size;
  big_empty_ = big_free_ == 0;
  big_low_ = big_free_ * 100 < size * settings_.big_reserve_percent;
  big_pressure_ = big_free_ * 2 < size;
}

rte_mbuf* TlsEngine::alloc_record(size_t len) noexcept {
  rte_mbuf* m = nullptr;
  if (len <= size_t{rte_pktmbuf_data_room_size(pool_)} - RTE_PKTMBUF_HEADROOM) {
    m = rte_pktmbuf_alloc(pool_);
  }
  if (m == nullptr && settings_.record_pool != nullptr) {
    m = rte_pktmbuf_alloc(settings_.record_pool);
    if (m != nullptr && big_free_ > 0) {
      big_free_--;  // what this phase takes counts at once, not at the next phase
      update_big_pressure();
    }
  }
  if (m == nullptr || rte_pktmbuf_tailroom(m) < len) {
    rte_pktmbuf_free(m);
    counters_.inc(TlsCounter::kRecordPoolEmpty);
    return nullptr;
  }
  m->data_len = static_cast<uint16_t>(len);
  m->pkt_len = static_cast<uint32_t>(len);
  return m;
}

void TlsEngine::produce(Conn* k, uint8_t* p, size_t n) noexcept {
  // What the app wrote first, segment by segment, freeing what is used up.
  while (n != 0 && k->out_q != nullptr) {
    rte_mbuf* m = k->out_q;
    const size_t c = std::min<size_t>(n, m->data_len);
    std::memcpy(p, rte_pktmbuf_mtod(m, const uint8_t*), c);
    p += c;
    n -= c;
    k->out_len -= static_cast<uint32_t>(c);
    if (c == m->data_len) {
      rte_mbuf* next = m->next;
      if (next != nullptr) {
        next->pkt_len = m->pkt_len - c;
        next->nb_segs = static_cast<uint16_t>(m->nb_segs - 1);
      }
      m->next = nullptr;
      m->nb_segs = 1;
      rte_pktmbuf_free_seg(m);
      k->out_q = next;
    } else {
      m->data_off = static_cast<uint16_t>(m->data_off + c);
      m->data_len = static_cast<uint16_t>(m->data_len - c);
      m->pkt_len -= static_cast<uint32_t>(c);
    }
  }
  if (k->out_q == nullptr) {
    k->out_tail = nullptr;
  }
  // Then the bytes it generates on demand.
  if (n != 0) {
    k->pull_left -= n;
    k->app->on_pull(k, p, static_cast<uint32_t>(n));
  }
}

bool TlsEngine::build(Conn* k) noexcept {
  const bool more = build_records(k);
  if (!k->sendq.empty()) {
    touch(k);
  }
  // Records built before a full batch stopped us go out with this pass too.
  if ((!k->sendq.empty() || k->close_tcp) && !k->sending) {
    k->sending = true;
    sending_scratch_.push_back(k);
  }
  return more;
}

bool TlsEngine::build_records(Conn* k) noexcept {
  if (k->tcp == nullptr || k->tcp_done || k->seal_failed) {
    return true;
  }
  size_t queued = 0;  // built earlier in this pass, not yet handed to TCP
  for (const rte_mbuf* m : k->sendq) {
    queued += m->pkt_len;
  }
  const size_t tcp_space = tcp_.send_space(k->tcp);
  const size_t space = tcp_space > queued ? tcp_space - queued : 0;
  const size_t small = size_t{rte_pktmbuf_data_room_size(pool_)} - RTE_PKTMBUF_HEADROOM;
  const size_t big = settings_.record_pool != nullptr && !big_empty_
                         ? rte_pktmbuf_data_room_size(settings_.record_pool) - RTE_PKTMBUF_HEADROOM
                         : small;
  // Application records: big ones while the big pool is not low, and under pressure no
  // more than pressure_queue_cap queued in TCP per connection.
  const size_t app_big = big_low_ ? small : big;
  size_t app_space = space;
  if (big_pressure_) {
    const size_t snd_buf = tcp_.config().snd_buf;
    const size_t in_tcp = snd_buf > tcp_space ? snd_buf - tcp_space : 0;
    const size_t cap = settings_.pressure_queue_cap;
    app_space = std::min(space, cap > in_tcp + queued ? cap - in_tcp - queued : size_t{0});
  }
  size_t used = 0;
  bool blocked = false;  // waits for something other than on_writable (mbufs, a tiny window)
  for (int guard = 0; guard < 4096; guard++) {
    const size_t room = space - used;
    const size_t max_content =
        std::min({tls::kMaxPlaintextLen, room > kOverhead ? room - kOverhead : size_t{0},
                  big - kOverhead});
    if (k->truncated && !k->session.closed()) {
      k->close_tcp = true;  // no close_notify came: close without one of ours either
      break;
    }
    const auto out = k->session.next_output(std::max<size_t>(max_content, 1));
    if (out.kind != tls::ServerSession::OutKind::kNone) {
      // A control record: handshake flight, alert, KeyUpdate, close_notify.
      if (out.record_len > room) {
        blocked = room != 0;
        break;
      }
      if (batch_->full()) {
        return false;
      }
      rte_mbuf* m = alloc_record(out.record_len);
      if (m == nullptr) {
        blocked = true;
        break;
      }
      OpEntry& e = ops_[batch_->size()];
      e.conn = k;
      const uint32_t before = batch_->size();
      auto n = k->session.write_control(
          std::span<uint8_t>(rte_pktmbuf_mtod(m, uint8_t*), out.record_len),
          std::max<size_t>(max_content, 1), *batch_, &e.slot);
      if (!n || *n == 0) {
        rte_pktmbuf_free(m);
        if (n) {
          return false;  // batch full
        }
        continue;  // fatal: next_output() now reports the alert
      }
      m->data_len = static_cast<uint16_t>(*n);
      m->pkt_len = static_cast<uint32_t>(*n);
      k->sendq.push_back(m);
      used += *n;
      if (batch_->size() > before && !k->in_batch) {
        k->in_batch = true;
        in_batch_.push_back(k);
      }
      continue;
    }
    if (k->prepared != nullptr) {
      // An application record whose content is written: queue its seal.
      if (batch_->full()) {
        return false;
      }
      OpEntry& e = ops_[batch_->size()];
      e.conn = k;
      const size_t len = k->session.record_len(k->prepared_len);
      if (len > room) {
        blocked = true;  // retried next poll (a KeyUpdate went first and took the room)
        break;
      }
      auto r = k->session.seal_app(
          std::span<uint8_t>(rte_pktmbuf_mtod(k->prepared, uint8_t*), len), k->prepared_len,
          *batch_, &e.slot);
      if (!r) {
        rte_pktmbuf_free(k->prepared);
        k->prepared = nullptr;
        continue;
      }
      if (!*r) {
        if (batch_->full()) {
          return false;
        }
        if (k->session.next_output(1).kind == tls::ServerSession::OutKind::kNone) {
          if (k->session.closed()) {
            // TLS 1.2 at the AES-GCM record limit: its close_notify is out, the prepared
            // record never will be.
            rte_pktmbuf_free(k->prepared);
            k->prepared = nullptr;
            k->close_called = true;  // counted as close_notify_sent
            k->close_tcp = true;
          }
          break;
        }
        continue;  // a KeyUpdate (1.3) or the close_notify at the GCM limit (1.2) goes first
      }
      k->sendq.push_back(k->prepared);
      k->prepared = nullptr;
      used += len;
      if (!k->in_batch) {
        k->in_batch = true;
        in_batch_.push_back(k);
      }
      continue;
    }
    if (k->session.app_writable() && k->app != nullptr && k->app_output()) {
      // The app's bytes into a new record.
      const size_t app_room = app_space > used ? app_space - used : 0;
      const size_t app_max = std::min(
          {tls::kMaxPlaintextLen, app_room > kOverhead ? app_room - kOverhead : size_t{0},
           app_big - kOverhead});
      const size_t content = static_cast<size_t>(std::min<uint64_t>(
          {uint64_t{k->out_len} + k->pull_left, k->session.max_app_content(),
           app_max > kKeyUpdateReserve ? app_max - kKeyUpdateReserve : 0}));
      if (port_low_ && app_big == small) {
        blocked = true;  // both pools low: wait (the timers free what stuck peers hold)
        break;
      }
      if (content == 0) {
        if (app_room < room) {
          // Capped: TCP's next acknowledgement wakes it (a stuck peer never does).
          counters_.inc(TlsCounter::kQueueCapped);
          tcp_.want_writable(k->tcp);
        } else {
          blocked = room != 0;
        }
        break;
      }
      if (app_big == small && settings_.record_pool != nullptr) {
        counters_.inc(TlsCounter::kSmallRecords);
      }
      rte_mbuf* m = alloc_record(k->session.record_len(content));
      if (m == nullptr) {
        blocked = true;
        break;
      }
      produce(k, rte_pktmbuf_mtod(m, uint8_t*) + k->session.content_offset(), content);
      k->prepared = m;
      k->prepared_len = content;
      continue;
    }
    // Nothing to send now.
    if (k->session.closed()) {
      k->close_tcp = true;
      break;
    }
    if (!k->close_called && k->session.app_writable() && !k->app_output() &&
        (k->app_shut || (k->app == nullptr && k->session.peer_closed()))) {
      k->session.close();  // our close_notify after everything the app wrote
      k->close_called = true;
      continue;
    }
    break;
  }
  if (blocked && !k->starved) {
    k->starved = true;
    starved_.push_back(k);
  }
  return true;
}

void TlsEngine::finish_seal_batch() noexcept {
  const uint32_t n = batch_->size();
  if (n != 0) {
    batch_->run();
    count_batch(false, n);
    for (uint32_t i = 0; i < n; i++) {
      if (!batch_->ok(i)) {
        counters_.inc(TlsCounter::kSealFailures);
        ops_[i].conn->seal_failed = true;
      }
    }
  }
  for (Conn* k : in_batch_) {
    k->session.batch_done();
    k->in_batch = false;
  }
  in_batch_.clear();
  batch_->clear();
  for (Conn* k : sending_scratch_) {
    k->sending = false;
    if (k->dead || k->seal_failed || k->tcp == nullptr) {
      for (rte_mbuf* m : k->sendq) {
        rte_pktmbuf_free(m);
      }
      k->sendq.clear();
      if (!k->dead && k->tcp != nullptr) {
        end_app(k, StreamEnd::kAborted);
        tcp_.abort(k->tcp);  // on_closed runs now; k is reaped later
      }
      continue;
    }
    bool refused = false;
    for (rte_mbuf* m : k->sendq) {
      if (refused) {
        rte_pktmbuf_free(m);
        continue;
      }
      const uint32_t len = m->pkt_len;
      if (auto r = tcp_.send(k->tcp, m); !r) {
        // The record's sequence number is spent: the stream cannot go on without it.
        LT_DEBUG("tls: conn %llu: tcp send of a %u-byte record refused: %.*s",
                 static_cast<unsigned long long>(k->serial), len,
                 static_cast<int>(net::tcp::to_string(r.error()).size()),
                 net::tcp::to_string(r.error()).data());
        rte_pktmbuf_free(m);
        counters_.inc(TlsCounter::kSendRefused);
        refused = true;
      }
    }
    k->sendq.clear();
    if (refused) {
      if (!k->dead && k->tcp != nullptr) {
        end_app(k, StreamEnd::kAborted);
        tcp_.abort(k->tcp);  // on_closed runs now; k is reaped later
      }
      continue;
    }
    if (k->close_tcp && !k->tcp_done) {
      k->tcp_done = true;
      // After our close_notify (answering theirs, or the app's shutdown) only a FIN; after a
      // fatal alert, a truncation or the peer's fatal alert, stop reading too.
      const bool graceful = !k->session.error() && !k->truncated &&
                            (k->session.peer_closed() || !k->session.input_closed());
      if (graceful) {
        tcp_.shutdown(k->tcp);
      } else {
        end_app(k, StreamEnd::kTlsError);
        tcp_.close(k->tcp);
      }
    }
    if (k->app != nullptr && k->want_writable && k->out_len < kTlsWriteBudget / 2 &&
        !k->app_shut) {
      k->want_writable = false;
      k->app->on_writable(k);  // may write more: it is marked for output again
    }
  }
  sending_scratch_.clear();
}

bool TlsEngine::seal_phase(uint64_t now_ns) noexcept {
  now_ns_ = now_ns;
  if (!output_.empty() || !starved_.empty()) {
    // rte_mempool_avail_count walks the per-lcore caches: once per phase, not per record.
    if (settings_.record_pool != nullptr) {
      big_free_ = rte_mempool_avail_count(settings_.record_pool);
      update_big_pressure();
    }
    const uint64_t port_free = rte_mempool_avail_count(pool_);
    port_low_ = port_free * 100 < uint64_t{pool_->size} * settings_.port_reserve_percent;
  }
  if (!starved_.empty()) {
    std::vector<Conn*>& retry = retry_scratch_;
    retry.clear();
    retry.swap(starved_);
    for (Conn* k : retry) {
      k->starved = false;
      mark_output(k);
    }
    retry.clear();
  }
  bool worked = false;
  std::vector<Conn*>& list = output_scratch_;
  for (int pass = 0; pass < 8 && !output_.empty(); pass++) {
    list.clear();
    list.swap(output_);
    for (Conn* k : list) {
      k->in_output = false;
    }
    for (size_t i = 0; i < list.size(); i++) {
      if (!list[i]->dead && !build(list[i])) {
        for (size_t j = i; j < list.size(); j++) {
          mark_output(list[j]);  // the batch is full: next pass
        }
        break;
      }
    }
    worked |= batch_->size() != 0 || !sending_scratch_.empty();
    finish_seal_batch();
  }
  reap();
  return worked;
}

// ---- Timers, lifetime, statistics.

void TlsEngine::rotate_tickets(uint64_t now_ns) noexcept {
  next_rotation_check_ns_ = now_ns + kRotationCheckNs;
  const uint64_t epoch = static_cast<uint64_t>(std::time(nullptr)) /
                         std::max<uint32_t>(settings_.ticket_rotation_s, 1);
  if (epoch == ticket_epoch_) {
    return;
  }
  if (auto r = rotate_ticket_keys(*ticket_keys_, epoch, settings_.ticket_master); !r) {
    LT_WARN("tls: ticket key rotation failed: %.*s",
            static_cast<int>(tls::to_string(r.error()).size()), tls::to_string(r.error()).data());
    return;
  }
  ticket_epoch_ = epoch;
}

bool TlsEngine::on_timer(uint64_t now_ns) noexcept {
  now_ns_ = now_ns;
  bool worked = false;
  if (settings_.park_keys_after_ms != 0 && now_ns >= next_park_ns_) {
    next_park_ns_ = now_ns + uint64_t{settings_.park_keys_after_ms} * 1000000 / 4;
    park_idle(now_ns);
  }
  // A new generation from the control thread: one relaxed load per poll when there is none.
  if (mailbox_.load(std::memory_order_relaxed) != nullptr) {
    std::shared_ptr<const TlsGeneration>* box =
        mailbox_.exchange(nullptr, std::memory_order_acq_rel);
    if (box != nullptr) {
      std::string why;
      const uint64_t number = (*box)->number;
      if (adopt(std::move(*box), &why)) {
        counters_.inc(TlsCounter::kGenerationsAdopted);
      } else {
        counters_.inc(TlsCounter::kGenerationsRefused);
        LT_WARN("tls: generation %llu refused, keeping %llu: %s",
                static_cast<unsigned long long>(number),
                static_cast<unsigned long long>(generation()), why.c_str());
      }
      delete box;
      worked = true;
    }
  }
  if (now_ns >= next_rotation_check_ns_) {
    rotate_tickets(now_ns);
  }
  while (!deadlines_.empty() && deadlines_.front().deadline_ns <= now_ns) {
    const uint64_t serial = deadlines_.front().serial;
    deadlines_.pop_front();
    auto it = live_.find(serial);
    if (it == live_.end()) {
      continue;
    }
    Conn* k = it->second;
    if (k->dead || k->session.handshake_done() || k->session.closed() || k->session.error()) {
      continue;
    }
    if (!k->connected) {
      // An outgoing connection whose TCP connect did not complete: nothing to say in TLS.
      k->timed_out = true;
      counters_.inc(TlsCounter::kHandshakeTimeouts);
      tcp_.abort(k->tcp);  // on_closed(kAborted): the app hears kTimeout
      worked = true;
      continue;
    }
    k->session.fail(tls::Error::kHandshakeTimeout);
    counters_.inc(TlsCounter::kHandshakeTimeouts);
    mark_output(k);
    worked = true;
  }
  reap();
  return worked;
}

void TlsEngine::add_session_stats(const Conn& k, TlsCounters* out) const noexcept {
  const tls::SessionStats& s = k.session.stats();
  out->inc(TlsCounter::kRecordsOpened, s.records_opened);
  out->inc(TlsCounter::kBytesOpened, s.bytes_opened);
  out->inc(TlsCounter::kRecordsSealed, s.records_sealed);
  out->inc(TlsCounter::kBytesSealed, s.bytes_sealed);
  out->inc(TlsCounter::kEarlyDataSkipped, s.early_data_skipped);
  out->inc(TlsCounter::kKeyUpdatesSent, s.key_updates_sent);
  out->inc(TlsCounter::kKeyUpdatesReceived, s.key_updates_received);
  out->inc(TlsCounter::kHandshakeMachineCycles, s.handshake_machine_ticks);
  out->inc(TlsCounter::kPkJobsInline, s.pk_jobs_inline);
  out->inc(TlsCounter::kAssembledRecords, k.session.deframer_stats().assembled);
  out->inc(TlsCounter::kAssembledBytes, k.session.deframer_stats().bytes_copied);
}

void TlsEngine::reap() noexcept {
  if (dead_.empty()) {
    return;
  }
  std::vector<Conn*> dead;
  dead.swap(dead_);
  for (Conn* k : dead) {
    destroy(k);
  }
}

void TlsEngine::destroy(Conn* k) noexcept {
  unlink_hot(k);
  if (k->dirty) {
    std::erase(dirty_, k);
  }
  if (k->in_output) {
    std::erase(output_, k);
  }
  if (k->starved) {
    std::erase(starved_, k);
  }
  free_segments(k->rx_head);
  free_segments(k->prepared);
  rte_pktmbuf_free(k->in_head);
  rte_pktmbuf_free(k->out_q);
  for (rte_mbuf* m : k->sendq) {
    rte_pktmbuf_free(m);
  }
  count_end(*k, &counters_, &alerts_);
  if (log_enabled(LogLevel::kDebug)) {
    const tls::SessionStats& s = k->session.stats();
    const auto err = k->session.error();
    const std::string_view e = err ? tls::to_string(*err) : std::string_view("none");
    LT_DEBUG("tls: conn %llu closed: version=%04x handshake=%s resumed=%d opened=%llu/%lluB "
             "sealed=%llu/%lluB key_updates=%llu/%llu alert_sent=%d alert_received=%d "
             "error=%.*s assembled=%llu",
             static_cast<unsigned long long>(k->serial),
             k->session.version(), k->session.handshake_done() ? "done" : "incomplete",
             k->session.resumed(),
             static_cast<unsigned long long>(s.records_opened),
             static_cast<unsigned long long>(s.bytes_opened),
             static_cast<unsigned long long>(s.records_sealed),
             static_cast<unsigned long long>(s.bytes_sealed),
             static_cast<unsigned long long>(s.key_updates_sent),
             static_cast<unsigned long long>(s.key_updates_received),
             s.alert_sent ? *s.alert_sent : -1, s.alert_received ? *s.alert_received : -1,
             static_cast<int>(e.size()), e.data(),
             static_cast<unsigned long long>(k->session.deframer_stats().assembled));
  }
  live_.erase(k->serial);
  delete k;
}

// What a connection adds to the counters when it ends: its session's stats, its alerts,
// closure and, for a handshake that failed, why.
void TlsEngine::count_end(const Conn& k, TlsCounters* c, TlsAlertCounts* a) const noexcept {
  add_session_stats(k, c);
  const tls::SessionStats& s = k.session.stats();
  if (s.alert_sent) {
    a->sent[*s.alert_sent]++;
  }
  if (s.alert_received) {
    a->received[*s.alert_received]++;
  }
  if (k.session.peer_closed()) {
    c->inc(TlsCounter::kCloseNotifyReceived);
  }
  if (k.close_called && !k.session.error()) {
    c->inc(TlsCounter::kCloseNotifySent);
  }
  const auto err = k.session.error();
  if (!k.session.handshake_done() && err && *err != tls::Error::kHandshakeTimeout) {
    c->inc(TlsCounter::kHandshakeFailures);
    if (*err == tls::Error::kProtocolVersion) {
      c->inc(TlsCounter::kVersionRefused);
    } else if (*err == tls::Error::kInappropriateFallback) {
      c->inc(TlsCounter::kFallbackRefused);
    } else if (k.profile != nullptr &&
               k.profile->profile->client_auth != tls::ClientAuth::kNone &&
               (is_client_cert_error(*err) || k.session.client_certificate_missing())) {
      c->inc(TlsCounter::kClientCertRejected);
    }
  }
}

TlsCounters TlsEngine::counters() const noexcept {
  TlsCounters c = counters_;
  TlsAlertCounts unused;
  for (const auto& [serial, k] : live_) {
    count_end(*k, &c, &unused);
  }
  return c;
}

TlsAlertCounts TlsEngine::alerts_with_live() const noexcept {
  TlsAlertCounts a = alerts_;
  TlsCounters unused;
  for (const auto& [serial, k] : live_) {
    count_end(*k, &unused, &a);
  }
  return a;
}

}  // namespace linetls::engine
