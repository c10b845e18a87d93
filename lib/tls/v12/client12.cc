#include "lib/tls/v12/client12.h"

#include <algorithm>
#include <cstring>

#include "lib/base/bytes.h"
#include "lib/crypto/cert.h"
#include "lib/crypto/sig.h"
#include "lib/tls/v12/messages12.h"
#include "lib/tls/v12/resumption12.h"

namespace linetls::tls::v12 {

namespace {

bool contains(const std::vector<uint16_t>& v, uint16_t x) noexcept {
  return std::find(v.begin(), v.end(), x) != v.end();
}

void append(std::vector<uint8_t>& to, std::span<const uint8_t> b) {
  to.insert(to.end(), b.begin(), b.end());
}

}  // namespace

Client12::Client12(const ClientConfig12& config) noexcept : config_(config) {}

std::string_view Client12::state_name() const noexcept { return kStateNames[state_.index()]; }

Wait Client12::wait() const noexcept { return wait_of<Done, Failed>(state_); }

bool Client12::expecting_change_cipher_spec() const noexcept {
  return std::holds_alternative<ReadChangeCipherSpec>(state_);
}

Wait Client12::finish(Result<void, Error> r) noexcept {
  if (!r) {
    error_ = r.error();
    flight_ = Flight12{};
    state_.emplace<Failed>();
    return Wait::kError;
  }
  return flight_.empty() ? wait() : Wait::kFlush;
}

Result<crypto::Digest, Error> Client12::hash_of(const Context& ctx) const noexcept {
  auto d = crypto::hash(suite_.hash, ctx.messages);
  if (!d) {
    return fail(Error::kCryptoFailure);
  }
  return *d;
}

Wait Client12::start() noexcept {
  if (!std::holds_alternative<Start>(state_)) {
    return wait();
  }
  auto run = [this]() -> Result<void, Error> {
    crypto::Rng& rng = config_.rng != nullptr ? *config_.rng : crypto::os_rng();
    Context ctx;
    if (!rng.fill(ctx.client_random)) {
      return fail(Error::kCryptoFailure);
    }
    std::vector<std::span<const uint8_t>> alpn;
    for (const std::string& a : config_.alpn) {
      alpn.emplace_back(reinterpret_cast<const uint8_t*>(a.data()), a.size());
    }
    ClientHelloParams12 p;
    p.random = ctx.client_random;
    p.cipher_suites = config_.cipher_suites;
    p.supported_groups = config_.groups;
    p.signature_algorithms = config_.signature_algorithms;
    p.server_name = {reinterpret_cast<const uint8_t*>(config_.server_name.data()),
                     config_.server_name.size()};
    p.alpn = alpn;
    p.extended_master_secret = config_.extended_master_secret;
    p.renegotiation_info = config_.renegotiation_info;
    p.renegotiated_connection = config_.renegotiated_connection;
    p.compression_methods = config_.compression_methods;
    p.legacy_version = config_.legacy_version;
    const SavedSession12* resume = config_.resume;
    if (resume != nullptr && !resume->ticket.empty()) {
      // RFC 5077 §3.4: a session ID of our own tells us whether the ticket was accepted.
      offered_session_id_.resize(kSessionIdLen);
      if (!rng.fill(offered_session_id_)) {
        return fail(Error::kCryptoFailure);
      }
    } else if (resume != nullptr) {
      offered_session_id_ = resume->session_id;
    }
    p.session_id = offered_session_id_;
    p.session_ticket = config_.session_ticket || (resume != nullptr && !resume->ticket.empty());
    if (resume != nullptr) {
      p.ticket = resume->ticket;
    }
    std::vector<uint8_t> out(2048 + p.ticket.size());
    ByteWriter w(out);
    if (auto ok = write_client_hello12(w, p); !ok) {
      return ok;
    }
    out.resize(w.size());
    ctx.messages = out;
    flight_.handshake = std::move(out);
    state_.emplace<ReadServerHello>(ReadServerHello{std::move(ctx)});
    return {};
  };
  state_.emplace<Failed>();
  return finish(run());
}

MessageRules Client12::next_message_rules(size_t max_hello,
                                          size_t max_certificate) const noexcept {
  const auto cap = [](size_t n) { return static_cast<uint32_t>(std::min<size_t>(n, 0xffffff)); };
  MessageRules r;
  r.num = 1;
  if (std::holds_alternative<ReadServerHello>(state_)) {
    r.rule[0] = {HandshakeType::kServerHello, cap(max_hello), std::nullopt};
  } else if (std::holds_alternative<ReadServerCertificate>(state_)) {
    r.rule[0] = {HandshakeType::kCertificate, cap(max_certificate), std::nullopt};
  } else if (std::holds_alternative<ReadServerKeyExchange>(state_)) {
    r.rule[0] = {HandshakeType::kServerKeyExchange, cap(max_hello), std::nullopt};
  } else if (std::holds_alternative<ReadCertificateRequestOrDone>(state_)) {
    r.num = 2;
    r.rule[0] = {HandshakeType::kCertificateRequest, cap(max_hello), std::nullopt};
    r.rule[1] = {HandshakeType::kServerHelloDone, 0, std::nullopt};
  } else if (std::holds_alternative<ReadServerHelloDone>(state_)) {
    r.rule[0] = {HandshakeType::kServerHelloDone, 0, std::nullopt};
  } else if (std::holds_alternative<ReadChangeCipherSpec>(state_)) {
    // RFC 5077 §3.3: the NewSessionTicket comes before the server's ChangeCipherSpec.
    r.rule[0] = {HandshakeType::kNewSessionTicket, cap(max_hello), std::nullopt};
  } else if (std::holds_alternative<ReadServerFinished>(state_)) {
    r.rule[0] = {HandshakeType::kFinished, kVerifyDataLen, std::nullopt};
  } else {
    // Done (Failed takes nothing): we never renegotiate (RFC 5746 not offered for that).
    r.rule[0] = {HandshakeType::kHelloRequest, 0, Error::kRenegotiationRefused};
  }
  return r;
}

Wait Client12::handle(const HandshakeMessage& msg) noexcept {
  Result<void, Error> r = fail(Error::kInternalError);
  State old = std::move(state_);
  state_.emplace<Failed>();
  if (auto* s1 = std::get_if<ReadServerHello>(&old)) {
    r = on_server_hello(std::move(*s1), msg);
  } else if (auto* s2 = std::get_if<ReadServerCertificate>(&old)) {
    r = on_server_certificate(std::move(*s2), msg);
  } else if (auto* s3 = std::get_if<ReadServerKeyExchange>(&old)) {
    r = on_server_key_exchange(std::move(*s3), msg);
  } else if (auto* s4 = std::get_if<ReadCertificateRequestOrDone>(&old)) {
    r = on_certificate_request_or_done(std::move(*s4), msg);
  } else if (auto* s5 = std::get_if<ReadServerHelloDone>(&old)) {
    r = on_server_hello_done(std::move(*s5), msg);
  } else if (auto* s6 = std::get_if<ReadChangeCipherSpec>(&old);
             s6 != nullptr && msg.type == HandshakeType::kNewSessionTicket) {
    r = on_new_session_ticket(std::move(*s6), msg);
  } else if (auto* s7 = std::get_if<ReadServerFinished>(&old)) {
    r = on_server_finished(std::move(*s7), msg);
  } else if (std::holds_alternative<Done>(old)) {
    // RFC 5246 §7.4.1.1: a HelloRequest asks us to renegotiate, which we refuse.
    r = fail(msg.type == HandshakeType::kHelloRequest ? Error::kRenegotiationRefused
                                                      : Error::kUnexpectedMessage);
  } else if (std::holds_alternative<Failed>(old)) {
    return Wait::kError;
  } else {
    r = fail(Error::kUnexpectedMessage);  // Start, or a message where the CCS belongs
  }
  return finish(std::move(r));
}

Wait Client12::handle_change_cipher_spec(bool handshake_pending) noexcept {
  if (std::holds_alternative<Failed>(state_)) {
    return Wait::kError;
  }
  if (auto* s = std::get_if<ReadChangeCipherSpec>(&state_)) {
    if (!handshake_pending) {
      Context ctx = std::move(s->ctx);
      state_.emplace<ReadServerFinished>(ReadServerFinished{std::move(ctx)});
      return Wait::kNeedMessage;
    }
    return finish(fail(Error::kHandshakeSpansKeyChange));
  }
  return finish(fail(Error::kUnexpectedChangeCipherSpec));
}

Result<void, Error> Client12::on_server_hello(ReadServerHello s,
                                              const HandshakeMessage& m) noexcept {
  if (m.type != HandshakeType::kServerHello) {
    return fail(Error::kUnexpectedMessage);
  }
  auto sh = parse_server_hello(m.body);
  if (!sh) {
    return fail(sh.error());
  }
  // RFC 5246 §7.4.1.3: the suite must be one we offered.
  auto info = suite_info(sh->cipher_suite);
  if (!info || !contains(config_.cipher_suites, sh->cipher_suite)) {
    return fail(Error::kIllegalParameter);
  }
  // RFC 8446 §4.1.3: "TLS 1.3 clients receiving a ServerHello indicating TLS 1.2 or below
  // MUST check that the last 8 bytes are not equal to either of these values."
  if (config_.tls13_capable && has_downgrade_sentinel(sh->random)) {
    return fail(Error::kDowngradeDetected);
  }
  // RFC 7627 §5.2: a client that offered the extension and does not wish to talk to legacy
  // servers aborts without it (we require it when we offer it); one that did not offer it
  // must not get it (RFC 5246 §7.4.1.4: unsupported_extension). RFC 5746 §3.4: "the client
  // MUST check that the length of the "renegotiated_connection" field is zero, and if it is
  // not, MUST abort the handshake (by sending a fatal handshake_failure alert)".
  if (sh->extended_master_secret && !config_.extended_master_secret) {
    return fail(Error::kUnsolicitedExtension);
  }
  if (!sh->extended_master_secret && config_.extended_master_secret) {
    return fail(Error::kHandshakeFailure);
  }
  ems_ = sh->extended_master_secret;
  if (config_.renegotiation_info &&
      (!sh->renegotiation_info || !sh->renegotiated_connection.empty())) {
    return fail(Error::kHandshakeFailure);
  }
  if (!sh->alpn_protocol.empty()) {
    const std::string_view p(reinterpret_cast<const char*>(sh->alpn_protocol.data()),
                             sh->alpn_protocol.size());
    if (std::find(config_.alpn.begin(), config_.alpn.end(), p) == config_.alpn.end()) {
      return fail(Error::kIllegalParameter);
    }
    alpn_.assign(sh->alpn_protocol.begin(), sh->alpn_protocol.end());
  }
  suite_ = *info;
  std::memcpy(s.ctx.server_random, sh->random.data(), kRandomLen);
  append(s.ctx.messages, m.bytes);
  server_session_id_.assign(sh->session_id.begin(), sh->session_id.end());
  ticket_expected_ = sh->session_ticket;
  const SavedSession12* resume = config_.resume;
  if (resume != nullptr && !offered_session_id_.empty() &&
      server_session_id_ == offered_session_id_) {
    // RFC 5246 §7.4.1.3: the same session_id means the server resumes; the suite must be
    // the session's.
    if (sh->cipher_suite != resume->suite) {
      return fail(Error::kIllegalParameter);
    }
    // RFC 7627 §5.3: "If the original session used the extension but the new ServerHello
    // does not contain the extension, the client MUST abort the handshake", and the same
    // the other way round.
    if (sh->extended_master_secret != resume->extended_master_secret) {
      return fail(Error::kHandshakeFailure);
    }
    master_.assign(resume->master.view());
    auto keys = derive_key_block(suite_, master_.view(), s.ctx.client_random, s.ctx.server_random);
    if (!keys) {
      return fail(keys.error());
    }
    keys_ = std::move(keys).value();
    resumed_ = true;
    s.ctx.abbreviated = true;
    state_.emplace<ReadChangeCipherSpec>(ReadChangeCipherSpec{std::move(s.ctx)});
    return {};
  }
  state_.emplace<ReadServerCertificate>(ReadServerCertificate{std::move(s.ctx)});
  return {};
}

Result<void, Error> Client12::on_new_session_ticket(ReadChangeCipherSpec s,
                                                    const HandshakeMessage& m) noexcept {
  // RFC 5077 §3.3: sent only if the ServerHello carried the extension, once.
  if (!ticket_expected_ || ticket_received_) {
    return fail(Error::kUnexpectedMessage);
  }
  auto t = parse_new_session_ticket(m.body);
  if (!t) {
    return fail(t.error());
  }
  new_ticket_.assign(t->ticket.begin(), t->ticket.end());
  ticket_received_ = true;
  append(s.ctx.messages, m.bytes);
  state_.emplace<ReadChangeCipherSpec>(std::move(s));
  return {};
}

SavedSession12 Client12::saved_session() const {
  SavedSession12 out;
  out.session_id = server_session_id_;
  out.ticket = new_ticket_;
  if (out.ticket.empty() && resumed_ && config_.resume != nullptr && !ticket_received_) {
    out.ticket = config_.resume->ticket;
  }
  if (!out.ticket.empty() && resumed_ && out.session_id == offered_session_id_ &&
      config_.resume != nullptr && !config_.resume->ticket.empty()) {
    out.session_id.clear();  // our own random id, not the server's cache key
  }
  out.suite = static_cast<uint16_t>(suite_.suite);
  out.master.assign(master_.view());
  out.extended_master_secret = ems_;
  return out;
}

Result<void, Error> Client12::on_server_certificate(ReadServerCertificate s,
                                                    const HandshakeMessage& m) noexcept {
  if (m.type != HandshakeType::kCertificate) {
    return fail(Error::kUnexpectedMessage);
  }
  auto list = parse_certificate(m.body);
  if (!list) {
    return fail(list.error());
  }
  if (list->num_certs == 0) {
    return fail(Error::kBadCertificate);  // §7.4.2: the server's list is never empty
  }
  if (config_.verify_ca != nullptr) {
    const std::span<const std::span<const uint8_t>> chain(list->certs, list->num_certs);
    if (auto ok = config_.verify_ca->verify_server_chain(chain, config_.verify_name); !ok) {
      return fail(from_crypto(ok.error()));
    }
  }
  // A leaf this thread has parsed before is not parsed again.
  auto leaf = crypto::leaf_key(list->certs[0]);
  if (!leaf) {
    return fail(from_crypto(leaf.error().error));
  }
  // RFC 8422 §5.3: the certificate's key must fit the suite's authentication.
  if (!key_serves(leaf->key.type(), suite_.auth)) {
    return fail(Error::kUnsupportedCertificate);
  }
  append(s.ctx.messages, m.bytes);
  state_.emplace<ReadServerKeyExchange>(
      ReadServerKeyExchange{std::move(s.ctx), std::move(leaf->key)});
  return {};
}

Result<void, Error> Client12::on_server_key_exchange(ReadServerKeyExchange s,
                                                     const HandshakeMessage& m) noexcept {
  if (m.type != HandshakeType::kServerKeyExchange) {
    return fail(Error::kUnexpectedMessage);
  }
  auto ske = parse_server_key_exchange(m.body);
  if (!ske) {
    return fail(ske.error());
  }
  const auto group = crypto::named_group_from_code(ske->group);
  if (!group || !contains(config_.groups, ske->group)) {
    return fail(Error::kIllegalParameter);
  }
  const auto scheme = crypto::signature_scheme_from_code(ske->scheme);
  if (!scheme || !contains(config_.signature_algorithms, ske->scheme) ||
      !crypto::key_supports_scheme(s.server_key.type(), *scheme)) {
    return fail(Error::kIllegalParameter);
  }
  auto content = server_key_exchange_signed_content(s.ctx.client_random, s.ctx.server_random,
                                                    ske->group, ske->point);
  if (!content) {
    return fail(Error::kDecodeError);  // a point longer than any group's
  }
  if (!crypto::verify(s.server_key, *scheme, content->view(), ske->signature)) {
    return fail(Error::kBadCertificateVerify);
  }
  std::vector<uint8_t> point(ske->point.begin(), ske->point.end());
  append(s.ctx.messages, m.bytes);
  state_.emplace<ReadCertificateRequestOrDone>(
      ReadCertificateRequestOrDone{std::move(s.ctx), *group, std::move(point)});
  group_ = *group;
  return {};
}

Result<void, Error> Client12::on_certificate_request_or_done(ReadCertificateRequestOrDone s,
                                                             const HandshakeMessage& m) noexcept {
  if (m.type == HandshakeType::kServerHelloDone) {
    if (auto ok = parse_server_hello_done(m.body); !ok) {
      return ok;
    }
    append(s.ctx.messages, m.bytes);
    return send_client_flight(std::move(s.ctx), s.group, s.server_point, nullptr);
  }
  if (m.type != HandshakeType::kCertificateRequest) {
    return fail(Error::kUnexpectedMessage);
  }
  auto cr = parse_certificate_request(m.body);
  if (!cr) {
    return fail(cr.error());
  }
  certificate_requested_ = true;
  append(s.ctx.messages, m.bytes);
  state_.emplace<ReadServerHelloDone>(ReadServerHelloDone{
      std::move(s.ctx), s.group, std::move(s.server_point), u16_values(cr->signature_algorithms)});
  return {};
}

Result<void, Error> Client12::on_server_hello_done(ReadServerHelloDone s,
                                                   const HandshakeMessage& m) noexcept {
  if (m.type != HandshakeType::kServerHelloDone) {
    return fail(Error::kUnexpectedMessage);
  }
  if (auto ok = parse_server_hello_done(m.body); !ok) {
    return ok;
  }
  append(s.ctx.messages, m.bytes);
  return send_client_flight(std::move(s.ctx), s.group, s.server_point, &s.requested_schemes);
}

Result<void, Error> Client12::send_client_flight(
    Context ctx, crypto::NamedGroup group, std::span<const uint8_t> server_point,
    const std::vector<uint16_t>* requested_schemes) noexcept {
  crypto::Rng& rng = config_.rng != nullptr ? *config_.rng : crypto::os_rng();
  const Certificate12* cert = config_.certificate;
  std::optional<crypto::SignatureScheme> scheme;
  if (requested_schemes != nullptr && cert != nullptr && cert->key != nullptr) {
    auto s = crypto::choose_scheme(*cert->key, *requested_schemes, crypto::TlsVersion::kTls12);
    if (s) {
      scheme = *s;
    }
  }
  size_t need = 1024 + (cert != nullptr && cert->key != nullptr ? cert->key->max_signature_len() : 0);
  if (cert != nullptr) {
    for (auto der : cert->chain) {
      need += der.size() + 3;
    }
  }
  std::vector<uint8_t> out(need);
  ByteWriter w(out);
  // RFC 5246 §7.4.6: "If no suitable certificate is available, the client MUST send a
  // certificate message containing no certificates."
  if (requested_schemes != nullptr) {
    std::span<const std::span<const uint8_t>> chain;
    if (scheme) {
      chain = cert->chain;
    }
    if (auto ok = write_certificate(w, chain); !ok) {
      return ok;
    }
    sent_certificate_ = scheme.has_value();
  }
  auto share = crypto::KeyShare::generate(group, rng);
  if (!share) {
    return fail(Error::kCryptoFailure);
  }
  auto shared = share->derive(server_point);
  if (!shared) {
    return fail(from_crypto(shared.error()));
  }
  if (auto ok = write_client_key_exchange(w, share->public_key()); !ok) {
    return ok;
  }
  append(ctx.messages, w.written());
  const size_t before_cv = w.size();
  auto session_hash = hash_of(ctx);
  if (!session_hash) {
    return fail(session_hash.error());
  }
  auto master =
      ems_ ? v12::extended_master_secret(suite_.hash, shared->view(), session_hash->view())
           : v12::master_secret(suite_.hash, shared->view(), ctx.client_random, ctx.server_random);
  if (!master) {
    return fail(master.error());
  }
  master_ = std::move(master).value();
  auto keys = derive_key_block(suite_, master_.view(), ctx.client_random, ctx.server_random);
  if (!keys) {
    return fail(keys.error());
  }
  keys_ = std::move(keys).value();
  if (scheme) {
    // §7.4.8: the signature covers every handshake message so far.
    std::vector<uint8_t> sig(cert->key->max_signature_len());
    auto len = crypto::sign(*cert->key, *scheme, ctx.messages, sig);
    if (!len) {
      return fail(Error::kCryptoFailure);
    }
    if (auto ok = write_certificate_verify(w, static_cast<uint16_t>(*scheme),
                                           std::span(sig).first(*len));
        !ok) {
      return ok;
    }
    append(ctx.messages, w.written().subspan(before_cv));
  }
  out.resize(w.size());
  auto hash = hash_of(ctx);
  if (!hash) {
    return fail(hash.error());
  }
  auto vd = finished_verify_data(suite_.hash, master_.view(), true, hash->view());
  if (!vd) {
    return fail(vd.error());
  }
  std::vector<uint8_t> fin(kHandshakeHeaderLen + kVerifyDataLen);
  ByteWriter fw(fin);
  if (auto ok = write_finished(fw, *vd); !ok) {
    return ok;
  }
  append(ctx.messages, fin);
  flight_.handshake = std::move(out);
  flight_.change_cipher_spec = true;
  flight_.after_ccs = std::move(fin);
  state_.emplace<ReadChangeCipherSpec>(ReadChangeCipherSpec{std::move(ctx)});
  return {};
}

Result<void, Error> Client12::on_server_finished(ReadServerFinished s,
                                                 const HandshakeMessage& m) noexcept {
  if (m.type != HandshakeType::kFinished) {
    return fail(Error::kUnexpectedMessage);
  }
  auto received = parse_finished(m.body);
  if (!received) {
    return fail(received.error());
  }
  auto hash = hash_of(s.ctx);
  if (!hash) {
    return fail(hash.error());
  }
  auto expected = finished_verify_data(suite_.hash, master_.view(), false, hash->view());
  if (!expected) {
    return fail(expected.error());
  }
  if (auto ok = check_verify_data(*expected, *received); !ok) {
    return ok;
  }
  if (s.ctx.abbreviated) {
    // RFC 5246 §7.3: in the abbreviated handshake we answer with CCS and Finished, which
    // covers the server's.
    append(s.ctx.messages, m.bytes);
    auto hash2 = hash_of(s.ctx);
    if (!hash2) {
      return fail(hash2.error());
    }
    auto vd = finished_verify_data(suite_.hash, master_.view(), true, hash2->view());
    if (!vd) {
      return fail(vd.error());
    }
    std::vector<uint8_t> fin(kHandshakeHeaderLen + kVerifyDataLen);
    ByteWriter fw(fin);
    if (auto ok = write_finished(fw, *vd); !ok) {
      return ok;
    }
    flight_.change_cipher_spec = true;
    flight_.after_ccs = std::move(fin);
  }
  state_.emplace<Done>();
  return {};
}

}  // namespace linetls::tls::v12
