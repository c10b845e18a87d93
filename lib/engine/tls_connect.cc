// TlsEngine's outgoing connections (Context::connect_tls): the client side of the same
// batched record path (tls_service.h).
#include <rte_mbuf.h>

#include <string_view>
#include <utility>
#include <vector>

#include "lib/engine/tls_conn.h"
#include "lib/engine/tls_service.h"

namespace linetls::engine {

using net::tcp::Connection;

Result<Stream*, std::string_view> TlsEngine::connect(net::Ipv4Addr dst, uint16_t port, App* app,
                                                     uint32_t timeout_ms,
                                                     const tls::ClientSessionConfig& config,
                                                     uint64_t now_ns) noexcept {
  if (outgoing_ == nullptr) {
    outgoing_ = std::make_unique<Outgoing>(*this);
  }
  auto c = tcp_.connect(dst, port, outgoing_.get(), now_ns);
  if (!c) {
    return fail(net::tcp::to_string(c.error()));
  }
  Conn* k = new Conn(*this, config, limits_);
  k->tcp = *c;
  k->app = app;
  k->serial = next_serial_++;
  k->set_addresses(tcp_.info(*c).tuple);
  tcp_.set_user_data(*c, k);
  live_.emplace(k->serial, k);
  // One deadline for the TCP connect and the handshake together.
  const uint32_t ms = timeout_ms != 0 ? timeout_ms : settings_.handshake_timeout_ms;
  deadlines_.push_back({k->serial, now_ns + uint64_t{ms} * 1000000});
  counters_.inc(TlsCounter::kClientConnections);
  return static_cast<Stream*>(k);
}

void TlsEngine::on_client_connected(Connection* c) noexcept {
  Conn* k = static_cast<Conn*>(tcp_.user_data(c));
  k->connected = true;
  k->set_addresses(tcp_.info(c).tuple);
  mark_output(k);  // the ClientHello
}

void TlsEngine::count_client_handshake(Conn* k) noexcept {
  const tls::ServerSession& s = k->session;
  counters_.inc(TlsCounter::kClientHandshakes);
  if (s.resumed()) {
    counters_.inc(TlsCounter::kClientHandshakesResumed);
  }
  if (k->client->on_session12) {
    if (auto saved = s.saved_session12()) {
      k->client->on_session12(std::move(*saved));
    }
  }
  k->facts.version = s.version();
  k->facts.suite = s.suite_code();
  k->facts.suite_name = s.suite_name();
  k->facts.alpn = s.alpn();
  k->facts.resumed = s.resumed();
  if (k->app != nullptr) {
    k->app_open = true;
    k->app->on_open(k);
  }
}

void TlsEngine::deliver_tickets(Conn* k) noexcept {
  std::vector<tls::Session> tickets = k->session.take_tickets13();
  counters_.inc(TlsCounter::kClientTickets, tickets.size());
  if (k->client->on_ticket13) {
    for (tls::Session& t : tickets) {
      k->client->on_ticket13(std::move(t));
    }
  }
}

}  // namespace linetls::engine
