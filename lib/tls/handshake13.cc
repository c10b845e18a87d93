#include "lib/tls/handshake13.h"

#include <chrono>

#include "lib/base/bytes.h"
#include "lib/tls/key_schedule.h"
#include "lib/tls/messages13.h"

namespace linetls::tls {

const char* to_string(Wait w) noexcept {
  switch (w) {
    case Wait::kNeedMessage:
      return "need_message";
    case Wait::kFlush:
      return "flush";
    case Wait::kPendingKeyExchange:
      return "pending_key_exchange";
    case Wait::kPendingSignature:
      return "pending_signature";
    case Wait::kPendingVerify:
      return "pending_verify";
    case Wait::kDone:
      return "done";
    case Wait::kError:
      return "error";
  }
  return "?";
}

namespace {

// §7.2: application_traffic_secret_N+1 = HKDF-Expand-Label(application_traffic_secret_N,
// "traffic upd", "", Hash.length).
Result<void, Error> advance(const Secrets13& secrets, crypto::HashSecret& secret) noexcept {
  auto next = next_traffic_secret(secrets.suite.hash, secret.view());
  if (!next) {
    return fail(next.error());
  }
  secret = std::move(*next);
  return {};
}

}  // namespace

Result<void, Error> send_key_update13(bool is_server, bool request_peer, Secrets13& secrets,
                                      Flight& flight, PostHandshake13& counters) noexcept {
  std::vector<uint8_t>& out = flight.bytes[static_cast<size_t>(Level::kApplication)];
  const size_t at = out.size();
  out.resize(at + 5);
  ByteWriter w(std::span<uint8_t>(out).subspan(at));
  if (auto ok = write_key_update(
          w, request_peer ? KeyUpdateRequest::kRequested : KeyUpdateRequest::kNotRequested);
      !ok) {
    return ok;
  }
  if (auto ok =
          advance(secrets, is_server ? secrets.server_application : secrets.client_application);
      !ok) {
    return ok;
  }
  flight.rekey_after_application = true;
  counters.own_key_updates++;
  return {};
}

Result<void, Error> handle_post_handshake13(bool is_server, const HandshakeMessage& m,
                                            Secrets13& secrets, Flight& flight,
                                            PostHandshake13& counters) noexcept {
  switch (m.type) {
    case HandshakeType::kKeyUpdate: {
      auto req = parse_key_update(m.body);
      if (!req) {
        return fail(req.error());
      }
      if (auto ok =
              advance(secrets, is_server ? secrets.client_application : secrets.server_application);
          !ok) {
        return ok;
      }
      counters.peer_key_updates++;
      // §4.6.3: "If the request_update field is set to "update_requested", then the receiver
      // MUST send a KeyUpdate of its own with request_update set to "update_not_requested"
      // prior to sending its next Application Data record." One answer covers several
      // requests received before it is sent.
      if (*req == KeyUpdateRequest::kRequested && !flight.rekey_after_application) {
        return send_key_update13(is_server, false, secrets, flight, counters);
      }
      return {};
    }
    case HandshakeType::kNewSessionTicket: {
      if (is_server) {
        return fail(Error::kUnexpectedMessage);
      }
      auto nst = parse_new_session_ticket(m.body);
      if (!nst) {
        return fail(nst.error());
      }
      counters.tickets++;
      return {};
    }
    default:
      // Post-handshake client authentication is not offered, so CertificateRequest is
      // unexpected too.
      return fail(Error::kUnexpectedMessage);
  }
}

uint64_t clock_ms(const std::function<uint64_t()>& injected) noexcept {
  if (injected) {
    return injected();
  }
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace linetls::tls
