#include "lib/tls/v12/server12.h"

#include <algorithm>
#include <utility>
#include <cstring>

#include "lib/base/bytes.h"
#include "lib/tls/extensions.h"
#include "lib/tls/v12/messages12.h"

namespace linetls::tls::v12 {

namespace {

// What our CertificateRequest offers (RFC 5246 §7.4.4 supported_signature_algorithms), best
// first; every one is a scheme lib/crypto can verify under TLS 1.2.
constexpr uint16_t kClientSchemes[] = {0x0403, 0x0503, 0x0804, 0x0805, 0x0806,
                                       0x0807, 0x0401, 0x0501, 0x0601};
constexpr uint8_t kClientCertTypes[] = {kCertTypeEcdsaSign, kCertTypeRsaSign};

bool ascii_iequal(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// RFC 6125 §6.4.3, simplified as in Server13: exact, or "*.rest" for one left-most label.
bool name_matches(std::string_view pattern, std::string_view host) noexcept {
  if (pattern.starts_with("*.")) {
    const size_t dot = host.find('.');
    return dot != std::string_view::npos && dot != 0 &&
           ascii_iequal(pattern.substr(1), host.substr(dot));
  }
  return ascii_iequal(pattern, host);
}

bool same(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

Error crypto_failure(crypto::Error) noexcept { return Error::kCryptoFailure; }

// The TLS 1.2 extensions of a ClientHello that parse_client_hello leaves unread.
struct ClientHello12Extensions {
  bool renegotiation_info = false;
  bool ec_point_formats = false;
  bool session_ticket = false;
  std::span<const uint8_t> ticket;
};

Result<ClientHello12Extensions, Error> read_tls12_extensions(const ClientHello& ch) noexcept {
  ClientHello12Extensions x;
  auto ok = walk_extensions(
      ch.extensions, ExtMessage::kClientHello, [&x](const RawExtension& e) -> Result<void, Error> {
        ByteReader r(e.data);
        ByteReader v;
        switch (static_cast<ExtensionType>(e.type)) {
          case ExtensionType::kRenegotiationInfo:
            // RFC 5746 §3.2 opaque renegotiated_connection<0..255>; §3.6: the server "MUST
            // then verify that the length of the "renegotiated_connection" field is zero,
            // and if it is not, MUST abort the handshake (by sending a fatal
            // handshake_failure alert)".
            if (!r.read_u8_prefixed(&v) || !r.empty()) {
              return fail(Error::kDecodeError);
            }
            if (!v.empty()) {
              return fail(Error::kHandshakeFailure);
            }
            x.renegotiation_info = true;
            return {};
          case ExtensionType::kEcPointFormats: {
            // RFC 8422 §5.1.2: ec_point_format_list<1..2^8-1>, and "If the client sends the
            // extension and the extension does not contain the uncompressed point format,
            // and the client has used the Supported Groups extension ..., then the server
            // MUST abort the handshake and return an illegal_parameter alert."
            if (!r.read_u8_prefixed(&v) || !r.empty() || v.empty()) {
              return fail(Error::kDecodeError);
            }
            const auto formats = v.rest();
            if (std::find(formats.begin(), formats.end(), uint8_t{0}) == formats.end()) {
              return fail(Error::kIllegalParameter);
            }
            x.ec_point_formats = true;
            return {};
          }
          case ExtensionType::kExtendedMasterSecret:
            return parse_empty(e.data);  // RFC 7627 §5.1: empty
          case ExtensionType::kSessionTicket:
            // RFC 5077 §3.2: the extension data is the ticket itself (empty: none yet).
            x.session_ticket = true;
            x.ticket = e.data;
            return {};
          default:
            return {};
        }
      });
  if (!ok) {
    return fail(ok.error());
  }
  return x;
}


// RFC 8422 §5.1: with the Supported Elliptic Curves extension present, an ECDSA
// certificate's key must be on a curve the client listed, or the client cannot verify the
// ServerKeyExchange signature (OpenSSL aborts with "wrong curve").
bool curve_offered(crypto::KeyType type, const ClientHello& ch) {
  if (!ch.has(ExtensionType::kSupportedGroups)) {
    return true;
  }
  switch (type) {
    case crypto::KeyType::kEcdsaP256:
      return u16_list_contains(ch.supported_groups,
                               static_cast<uint16_t>(crypto::NamedGroup::kSecp256r1));
    case crypto::KeyType::kEcdsaP384:
      return u16_list_contains(ch.supported_groups,
                               static_cast<uint16_t>(crypto::NamedGroup::kSecp384r1));
    default:
      return true;
  }
}

}  // namespace

Server12::Server12(const ServerConfig12& config) noexcept : config_(config) {}

std::string_view Server12::state_name() const noexcept { return kStateNames[state_.index()]; }

Wait Server12::wait() const noexcept {
  if (std::holds_alternative<AwaitKeyGen>(state_) || std::holds_alternative<AwaitDerive>(state_)) {
    return Wait::kPendingKeyExchange;
  }
  if (std::holds_alternative<AwaitSignature>(state_)) {
    return Wait::kPendingSignature;
  }
  if (std::holds_alternative<AwaitClientChain>(state_) ||
      std::holds_alternative<AwaitClientSignature>(state_)) {
    return Wait::kPendingVerify;
  }
  return wait_of<Done, Failed>(state_);
}

Result<void, Error> Server12::await_job() noexcept {
  if (!pk_.run_here(rng())) {
    return {};  // offloaded: handle() / complete_pk() answer with the pending reason
  }
  return resume_job();
}

Result<void, Error> Server12::resume_job() noexcept {
  State old = std::move(state_);
  state_.emplace<Failed>();
  PkJob& j = pk_.job();
  if (auto* a = std::get_if<AwaitKeyGen>(&old)) {
    if (!j.ok) {
      return fail(Error::kCryptoFailure);
    }
    crypto::KeyShare ephemeral = std::move(*j.share);
    j.share.reset();
    return send_server_hello(std::move(a->f), std::move(ephemeral));
  }
  if (auto* g = std::get_if<AwaitSignature>(&old)) {
    if (!j.ok) {
      return fail(crypto_failure(j.error));
    }
    return finish_server_hello(std::move(g->f), j.signature);
  }
  if (auto* d = std::get_if<AwaitDerive>(&old)) {
    if (!j.ok) {
      return fail(from_crypto(j.error));
    }
    return finish_key_exchange(std::move(*d), *j.secret);
  }
  if (auto* cc = std::get_if<AwaitClientChain>(&old)) {
    if (!j.ok) {
      return fail(from_crypto(j.error));
    }
    if (!j.verdict->leaf_key) {
      return fail(from_crypto(j.verdict->leaf_key.error()));
    }
    pending_identity_ = std::move(j.verdict->identity);
    client_chain_from_cache_ = j.verdict->from_cache;
    state_.emplace<ReadClientKeyExchange>(ReadClientKeyExchange{
        std::move(cc->ctx), std::move(cc->ephemeral), std::move(j.verdict->leaf_key).value()});
    return {};
  }
  if (auto* cs = std::get_if<AwaitClientSignature>(&old)) {
    if (!j.ok) {
      return fail(Error::kBadCertificateVerify);
    }
    client_identity_ = std::move(pending_identity_);
    pending_identity_.reset();
    state_.emplace<ReadChangeCipherSpec>(ReadChangeCipherSpec{std::move(cs->ctx)});
    return {};
  }
  return fail(Error::kInternalError);
}

std::unique_ptr<PkJob> Server12::take_pk_job() noexcept {
  return is_pending(wait()) ? pk_.take() : nullptr;
}

Wait Server12::complete_pk(std::unique_ptr<PkJob> job) noexcept {
  if (!is_pending(wait()) || !pk_.give_back(std::move(job))) {
    return end_step(fail(Error::kInternalError));
  }
  return end_step(resume_job());
}

Wait Server12::end_step(Result<void, Error> r) noexcept {
  if (!r) {
    error_ = r.error();
    flight_ = Flight12{};  // drop the half-built flight: exactly one alert goes out
    state_.emplace<Failed>();
    pk_.clear();
    return Wait::kError;
  }
  const Wait w = wait();
  if (is_pending(w)) {
    return w;
  }
  pk_.clear();  // an idle connection keeps no job
  return flight_.empty() ? w : Wait::kFlush;
}

bool Server12::expecting_change_cipher_spec() const noexcept {
  return std::holds_alternative<ReadChangeCipherSpec>(state_);
}

std::span<const uint16_t> Server12::client_schemes() const noexcept { return kClientSchemes; }

MessageRules Server12::next_message_rules(size_t max_client_hello,
                                          size_t max_certificate) const noexcept {
  const auto cap = [](size_t n) { return static_cast<uint32_t>(std::min<size_t>(n, 0xffffff)); };
  MessageRules r;
  r.num = 1;
  if (std::holds_alternative<ReadClientHello>(state_)) {
    r.rule[0] = {HandshakeType::kClientHello, cap(max_client_hello), std::nullopt};
  } else if (std::holds_alternative<ReadClientCertificate>(state_)) {
    r.rule[0] = {HandshakeType::kCertificate, cap(max_certificate), std::nullopt};
  } else if (std::holds_alternative<ReadClientKeyExchange>(state_)) {
    // RFC 8422 §5.7: ClientECDiffieHellmanPublic { ECPoint ecdh_Yc<1..2^8-1> }.
    r.rule[0] = {HandshakeType::kClientKeyExchange, 1 + 255, std::nullopt};
  } else if (std::holds_alternative<ReadCertificateVerify>(state_)) {
    r.rule[0] = {HandshakeType::kCertificateVerify, kMaxCertificateVerifyLen, std::nullopt};
  } else if (std::holds_alternative<ReadClientFinished>(state_)) {
    r.rule[0] = {HandshakeType::kFinished, kVerifyDataLen, std::nullopt};
  } else if (std::holds_alternative<ReadChangeCipherSpec>(state_)) {
    // RFC 5246 §7.4.9: "It is a fatal error if a Finished message is not preceded by a
    // ChangeCipherSpec message": no handshake message at all is taken now.
    r.rule[0] = {HandshakeType::kFinished, 0, Error::kUnexpectedMessage};
  } else if (is_pending(wait())) {
    // A job is out: the caller holds everything until complete_pk().
    r.rule[0] = {HandshakeType::kFinished, 0, Error::kInternalError};
  } else {
    // Done (Failed takes nothing): renegotiation is refused on the ClientHello's header.
    r.rule[0] = {HandshakeType::kClientHello, 0, Error::kRenegotiationRefused};
  }
  return r;
}

crypto::Rng& Server12::rng() const noexcept {
  return config_.rng != nullptr ? *config_.rng : crypto::os_rng();
}

std::time_t Server12::now() const noexcept {
  return config_.now ? config_.now() : std::time(nullptr);
}

Wait Server12::handle(const HandshakeMessage& msg) noexcept {
  Result<void, Error> r = fail(Error::kInternalError);
  State old = std::move(state_);
  state_.emplace<Failed>();  // each transition emplaces the next state on success
  if (auto* s1 = std::get_if<ReadClientHello>(&old)) {
    r = on_client_hello(std::move(*s1), msg);
  } else if (auto* s2 = std::get_if<ReadClientCertificate>(&old)) {
    r = on_client_certificate(std::move(*s2), msg);
  } else if (auto* s3 = std::get_if<ReadClientKeyExchange>(&old)) {
    r = on_client_key_exchange(std::move(*s3), msg);
  } else if (auto* s4 = std::get_if<ReadCertificateVerify>(&old)) {
    r = on_certificate_verify(std::move(*s4), msg);
  } else if (std::holds_alternative<ReadChangeCipherSpec>(old)) {
    // RFC 5246 §7.4.9: "It is a fatal error if a Finished message is not preceded by a
    // ChangeCipherSpec message at the appropriate point in the handshake."
    r = fail(Error::kUnexpectedMessage);
  } else if (auto* s6 = std::get_if<ReadClientFinished>(&old)) {
    r = on_client_finished(std::move(*s6), msg);
  } else if (std::holds_alternative<Done>(old)) {
    // RFC 5746 §4.4 / RFC 5246 §7.4.1.2: a ClientHello on an established connection asks
    // for renegotiation, which this server refuses (no_renegotiation); the alert is fatal
    // here, as the issue chose. Nothing else may follow the handshake in TLS 1.2.
    r = fail(msg.type == HandshakeType::kClientHello ? Error::kRenegotiationRefused
                                                     : Error::kUnexpectedMessage);
  } else if (std::holds_alternative<Failed>(old)) {
    return Wait::kError;  // Failed stays failed, error_ unchanged
  } else {
    r = fail(Error::kInternalError);  // a message while a job is out: the caller's bug
  }
  return end_step(std::move(r));
}

Wait Server12::handle_change_cipher_spec(bool handshake_pending) noexcept {
  if (std::holds_alternative<Failed>(state_)) {
    return Wait::kError;
  }
  Error e = Error::kUnexpectedChangeCipherSpec;
  if (auto* s = std::get_if<ReadChangeCipherSpec>(&state_)) {
    if (!handshake_pending) {
      Context ctx = std::move(s->ctx);
      state_.emplace<ReadClientFinished>(ReadClientFinished{std::move(ctx)});
      return Wait::kNeedMessage;
    }
    // RFC 5246 §7.4.1.1 / RFC 8446 §5.1: handshake messages must not span a key change.
    e = Error::kHandshakeSpansKeyChange;
  }
  error_ = e;
  flight_ = Flight12{};
  state_.emplace<Failed>();
  return Wait::kError;
}

Result<Server12::Chosen, Error> Server12::negotiate(const ClientHello& ch) const noexcept {
  Chosen c;
  // RFC 5246 Appendix E.1: a server that does not support the client's version "MUST send
  // a "protocol_version" alert message and close the connection"; SSL 3.0, TLS 1.0 and 1.1
  // are refused (issue 6, RFC 8996).
  if (ch.legacy_version < kTls12 ||
      (ch.has(ExtensionType::kSupportedVersions) &&
       !u16_list_contains(ch.supported_versions, kTls12))) {
    return fail(Error::kProtocolVersion);
  }
  // RFC 7507 §3: "If TLS_FALLBACK_SCSV appears in ClientHello.cipher_suites and the highest
  // protocol version supported by the server is higher than the version indicated by the
  // client, the server MUST respond with a fatal inappropriate_fallback alert".
  if (config_.tls13_enabled && !ch.offers_tls13() &&
      u16_list_contains(ch.cipher_suites, kFallbackScsv)) {
    return fail(Error::kInappropriateFallback);
  }
  auto ext = read_tls12_extensions(ch);
  if (!ext) {
    return fail(ext.error());
  }
  // RFC 7627 §5.2: "If the server receives a ClientHello without the extension, it SHOULD
  // abort the handshake if it does not wish to interoperate with legacy clients. If the
  // client and server choose to continue a full handshake without the extension, they MUST
  // use the standard master secret derivation instead." The policy says which.
  c.extended_master_secret = ch.has(ExtensionType::kExtendedMasterSecret);
  if (!c.extended_master_secret && config_.ems_policy == EmsPolicy::kRequired) {
    return fail(Error::kHandshakeFailure);
  }
  // RFC 5746 §3.6: the client signalled with the extension or the SCSV.
  c.session_ticket = ext->session_ticket;
  c.ticket = ext->ticket;
  c.secure_renegotiation = ext->renegotiation_info ||
                           u16_list_contains(ch.cipher_suites, kEmptyRenegotiationInfoScsv);
  // Group: ours in our order among the client's; RFC 8422 §5.1: "If no Supported Elliptic
  // Curves Extension is present, the server may choose any curve".
  bool have_group = false;
  for (crypto::NamedGroup g : config_.groups) {
    if (!ch.has(ExtensionType::kSupportedGroups) ||
        u16_list_contains(ch.supported_groups, static_cast<uint16_t>(g))) {
      c.group = g;
      have_group = true;
      break;
    }
  }
  // Suite, certificate and scheme together: a suite is usable only with a certificate of
  // its key kind that can sign a scheme the client accepts.
  const std::vector<uint16_t> schemes = u16_values(ch.signature_algorithms);
  const std::string_view sni(reinterpret_cast<const char*>(ch.server_name.data()),
                             ch.server_name.size());
  bool offered = false;
  bool found = false;
  for (size_t si = 0; si < config_.cipher_suites.size() && !found; si++) {
    const SuiteInfo info = suite_info(config_.cipher_suites[si]);
    if (!u16_list_contains(ch.cipher_suites, static_cast<uint16_t>(info.suite))) {
      continue;
    }
    offered = true;
    if (!have_group) {
      break;
    }
    for (int pass = sni.empty() ? 1 : 0; pass < 2 && !found; pass++) {
      for (size_t i = 0; i < config_.certificates.size() && !found; i++) {
        const Certificate12& cert = config_.certificates[i];
        if (cert.key == nullptr || !key_serves(cert.key->type(), info.auth) ||
            !curve_offered(cert.key->type(), ch)) {
          continue;
        }
        if (pass == 0 && std::none_of(cert.names.begin(), cert.names.end(),
                                      [&](const std::string& n) { return name_matches(n, sni); })) {
          continue;
        }
        auto scheme = crypto::choose_scheme(*cert.key, schemes, crypto::TlsVersion::kTls12);
        if (scheme) {
          c.suite = info;
          c.cert_index = i;
          c.scheme = *scheme;
          c.sni_used = pass == 0;
          found = true;
        }
      }
    }
  }
  // RFC 5246 §7.4.1.3: "If no acceptable choices are presented, return a handshake failure
  // alert and close the connection." The three errors all map to handshake_failure.
  if (!offered) {
    return fail(Error::kNoCommonCipherSuite);
  }
  if (!have_group) {
    return fail(Error::kNoCommonGroup);
  }
  if (!found) {
    return fail(config_.certificates.empty() ? Error::kInternalError
                                             : Error::kNoCommonSignatureScheme);
  }
  // RFC 7301 §3.2: no protocol in common is no_application_protocol.
  if (!config_.alpn.empty() && ch.has(ExtensionType::kAlpn)) {
    for (const std::string& ours : config_.alpn) {
      ByteReader names(ch.alpn);
      ByteReader name;
      while (c.alpn.empty() && names.read_u8_prefixed(&name)) {
        if (same(name.rest(),
                 std::span(reinterpret_cast<const uint8_t*>(ours.data()), ours.size()))) {
          c.alpn = name.rest();
        }
      }
      if (!c.alpn.empty()) {
        break;
      }
    }
    if (c.alpn.empty()) {
      return fail(Error::kNoApplicationProtocol);
    }
  }
  return c;
}

// The ClientHello of m: the facade's parse when it handed one for this very body, else ours.
Result<ClientHello, Error> Server12::take_client_hello(const HandshakeMessage& m) noexcept {
  const ParsedClientHello* pre = std::exchange(pre_hello_, nullptr);
  if (pre != nullptr && pre->body.data() == m.body.data() && pre->body.size() == m.body.size()) {
    return pre->hello;
  }
  return parse_client_hello(m.body);
}

Result<void, Error> Server12::on_client_hello(ReadClientHello, const HandshakeMessage& m) noexcept {
  if (m.type != HandshakeType::kClientHello) {
    return fail(Error::kUnexpectedMessage);
  }
  auto ch = take_client_hello(m);
  if (!ch) {
    return fail(ch.error());
  }
  auto chosen = negotiate(*ch);
  if (!chosen) {
    return fail(chosen.error());
  }
  const Chosen& c = *chosen;
  const bool want_cert = config_.client_auth != ClientAuth::kNone;
  if (want_cert && config_.client_ca == nullptr) {
    return fail(Error::kInternalError);
  }
  server_name_.assign(ch->server_name.begin(), ch->server_name.end());
  issue_ticket_ = config_.ticket_keys != nullptr && c.session_ticket;
  auto session = find_session(*ch, c);
  if (!session) {
    return fail(session.error());
  }
  if (*session) {
    return resume(std::move(**session), *ch, c, m);
  }
  ems_ = c.extended_master_secret;
  crypto::Rng& rng = this->rng();
  if (config_.session_cache != nullptr) {
    // RFC 5246 §7.4.1.3: a session_id that identifies the new session.
    if (!rng.fill(session_id_)) {
      return fail(Error::kCryptoFailure);
    }
    session_id_len_ = kSessionIdLen;
  }
  auto transcript = crypto::Transcript::create(c.suite.hash);
  if (!transcript) {
    return fail(Error::kCryptoFailure);
  }
  Context ctx{std::move(transcript).value(), {}, {}, {}};
  std::memcpy(ctx.client_random, ch->random.data(), kRandomLen);
  if (!rng.fill(ctx.server_random)) {
    return fail(Error::kCryptoFailure);
  }
  if (config_.tls13_enabled) {
    set_downgrade_sentinel(ctx.server_random);
  }
  if (!ctx.transcript.update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  if (want_cert) {
    ctx.messages.assign(m.bytes.begin(), m.bytes.end());
  }
  suite_ = c.suite;
  group_ = c.group;
  alpn_.assign(c.alpn.begin(), c.alpn.end());
  cert_index_ = c.cert_index;
  secure_renegotiation_ = c.secure_renegotiation;
  // What the flight needs across its public-key steps; nothing in it views the ClientHello.
  auto f = std::make_unique<HelloWork>(std::move(ctx));
  f->c = c;
  f->c.alpn = alpn_;
  f->c.ticket = {};
  f->want_cert = want_cert;
  f->ec_point_formats = ch->has(ExtensionType::kEcPointFormats);
  pk_.start(PkKind::kKeyGen).group = c.group;
  state_.emplace<AwaitKeyGen>(AwaitKeyGen{std::move(f)});
  return await_job();
}

Result<void, Error> Server12::send_server_hello(std::unique_ptr<HelloWork> f,
                                                crypto::KeyShare ephemeral) noexcept {
  const Chosen& c = f->c;
  const Certificate12& cert = config_.certificates[c.cert_index];
  const std::span<const std::vector<uint8_t>> ca_names =
      f->want_cert ? client_ca_names() : std::span<const std::vector<uint8_t>>();
  size_t need = 1024 + cert.key->max_signature_len();
  for (auto der : cert.chain) {
    need += der.size() + 3;
  }
  for (const auto& dn : ca_names) {
    need += dn.size() + 2;
  }
  f->out.resize(need);
  ByteWriter w(f->out);

  // RFC 5246 §7.4.1.3 ServerHello; RFC 8422 §5.2: ec_point_formats only in answer to the
  // client's; RFC 5746 §3.6: an empty renegotiation_info when the client signalled.
  ServerHelloParams sh;
  sh.random = f->ctx.server_random;
  sh.session_id = session_id();
  sh.cipher_suite = c.suite.suite;
  sh.renegotiation_info = c.secure_renegotiation;
  // RFC 7627 §5.1: the server's empty extension only in answer to the client's.
  sh.extended_master_secret = ems_;
  sh.ec_point_formats = f->ec_point_formats;
  sh.alpn_protocol = c.alpn;
  sh.session_ticket = issue_ticket_;  // RFC 5077 §3.2: a NewSessionTicket will follow
  sh.server_name_ack = c.sni_used;
  if (auto ok = write_server_hello(w, sh); !ok) {
    return ok;
  }
  if (auto ok = write_certificate(w, cert.chain); !ok) {
    return ok;
  }
  f->out_len = w.size();
  // RFC 8422 §5.4: the signature covers ClientHello.random + ServerHello.random +
  // ServerECDHParams.
  auto content = server_key_exchange_signed_content(f->ctx.client_random, f->ctx.server_random,
                                                    static_cast<uint16_t>(c.group),
                                                    ephemeral.public_key());
  if (!content) {
    return fail(content.error());
  }
  f->ephemeral.emplace(std::move(ephemeral));
  PkJob& j = pk_.start(PkKind::kSign);
  j.key = cert.key;
  j.scheme = c.scheme;
  j.max_signature_len = cert.key->max_signature_len();
  j.message.assign(content->view().begin(), content->view().end());
  state_.emplace<AwaitSignature>(AwaitSignature{std::move(f)});
  return await_job();
}

Result<void, Error> Server12::finish_server_hello(std::unique_ptr<HelloWork> f,
                                                  std::span<const uint8_t> signature) noexcept {
  const Chosen& c = f->c;
  std::vector<uint8_t>& out = f->out;
  ByteWriter w(std::span<uint8_t>(out).subspan(f->out_len));
  if (auto ok = write_server_key_exchange(w, static_cast<uint16_t>(c.group),
                                          f->ephemeral->public_key(),
                                          static_cast<uint16_t>(c.scheme), signature);
      !ok) {
    return ok;
  }
  if (f->want_cert) {
    std::vector<std::span<const uint8_t>> cas;
    for (const auto& dn : client_ca_names()) {
      cas.emplace_back(dn);
    }
    CertificateRequestParams cr{kClientCertTypes, client_schemes(), cas};
    if (auto ok = write_certificate_request(w, cr); !ok) {
      return ok;
    }
  }
  if (auto ok = write_server_hello_done(w); !ok) {
    return ok;
  }
  out.resize(f->out_len + w.size());
  Context& ctx = f->ctx;
  if (!ctx.transcript.update(out)) {
    return fail(Error::kCryptoFailure);
  }
  if (f->want_cert) {
    ctx.messages.insert(ctx.messages.end(), out.begin(), out.end());
  }
  flight_.handshake = std::move(out);
  if (f->want_cert) {
    state_.emplace<ReadClientCertificate>(
        ReadClientCertificate{std::move(ctx), std::move(*f->ephemeral)});
  } else {
    state_.emplace<ReadClientKeyExchange>(
        ReadClientKeyExchange{std::move(ctx), std::move(*f->ephemeral), std::nullopt});
  }
  return {};
}

Result<void, Error> Server12::on_client_certificate(ReadClientCertificate s,
                                                    const HandshakeMessage& m) noexcept {
  // RFC 5246 §7.4.6: "This is the first message the client can send after receiving a
  // ServerHelloDone message. This message is only sent if the server requests a
  // certificate."
  if (m.type != HandshakeType::kCertificate) {
    return fail(Error::kUnexpectedMessage);
  }
  auto list = parse_certificate(m.body);
  if (!list) {
    return fail(list.error());
  }
  if (!s.ctx.transcript.update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  s.ctx.messages.insert(s.ctx.messages.end(), m.bytes.begin(), m.bytes.end());
  if (list->num_certs == 0) {
    // "If the client does not send any certificates, the server MAY at its discretion either
    // continue the handshake without client authentication, or respond with a fatal
    // handshake_failure alert."
    if (config_.client_auth == ClientAuth::kRequired) {
      client_certificate_missing_ = true;
      return fail(Error::kHandshakeFailure);
    }
    state_.emplace<ReadClientKeyExchange>(
        ReadClientKeyExchange{std::move(s.ctx), std::move(s.ephemeral), std::nullopt});
    return {};
  }
  // The chain (and the leaf's key, which comes with the verdict) are checked by a job: copy
  // the certificates out of the message, which does not outlive this call.
  PkJob& j = pk_.start(PkKind::kVerifyChain);
  j.ca = config_.client_ca;
  j.now = now();
  for (size_t i = 0; i < list->num_certs; i++) {
    j.chain.insert(j.chain.end(), list->certs[i].begin(), list->certs[i].end());
    j.chain_lens.push_back(static_cast<uint32_t>(list->certs[i].size()));
  }
  state_.emplace<AwaitClientChain>(AwaitClientChain{std::move(s.ctx), std::move(s.ephemeral)});
  return await_job();
}

Result<void, Error> Server12::on_client_key_exchange(ReadClientKeyExchange s,
                                                     const HandshakeMessage& m) noexcept {
  if (m.type != HandshakeType::kClientKeyExchange) {
    return fail(Error::kUnexpectedMessage);
  }
  auto point = parse_client_key_exchange(m.body);
  if (!point) {
    return fail(point.error());
  }
  if (!s.ctx.transcript.update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  if (s.client_key) {
    s.ctx.messages.insert(s.ctx.messages.end(), m.bytes.begin(), m.bytes.end());
  }
  // RFC 8422 §5.10: the premaster secret is the x-coordinate (NIST curves) or the X25519
  // output; KeyShare::derive (the job) checks the point (RFC 8422 §5.11) and rejects
  // all-zero X25519.
  if (point->size() > crypto::kMaxPublicKeyLen) {
    return fail(from_crypto(crypto::Error::kBadPublicKeyLength));
  }
  PkJob& j = pk_.start(PkKind::kDerive);
  j.group = group_;
  j.share.emplace(std::move(s.ephemeral));
  std::memcpy(j.peer.data(), point->data(), point->size());
  j.peer_len = static_cast<uint8_t>(point->size());
  state_.emplace<AwaitDerive>(AwaitDerive{std::move(s.ctx), std::move(s.client_key)});
  return await_job();
}

Result<void, Error> Server12::finish_key_exchange(AwaitDerive s,
                                                  const crypto::SharedSecret& shared) noexcept {
  // RFC 7627 §3: session_hash = Hash(handshake_messages) "up to and including the
  // ClientKeyExchange message"; without the extension, RFC 5246 §8.1 over the randoms.
  auto session_hash = s.ctx.transcript.digest();
  if (!session_hash) {
    return fail(Error::kCryptoFailure);
  }
  auto master = ems_
                    ? v12::extended_master_secret(suite_.hash, shared.view(), session_hash->view())
                    : v12::master_secret(suite_.hash, shared.view(), s.ctx.client_random,
                                         s.ctx.server_random);
  if (!master) {
    return fail(master.error());
  }
  master_ = std::move(master).value();
  auto keys = derive_key_block(suite_, master_.view(), s.ctx.client_random, s.ctx.server_random);
  if (!keys) {
    return fail(keys.error());
  }
  keys_ = std::move(keys).value();
  if (s.client_key) {
    state_.emplace<ReadCertificateVerify>(
        ReadCertificateVerify{std::move(s.ctx), std::move(*s.client_key)});
  } else {
    s.ctx.messages = std::vector<uint8_t>();  // freed, not just emptied
    state_.emplace<ReadChangeCipherSpec>(ReadChangeCipherSpec{std::move(s.ctx)});
  }
  return {};
}

Result<void, Error> Server12::on_certificate_verify(ReadCertificateVerify s,
                                                    const HandshakeMessage& m) noexcept {
  // RFC 5246 §7.4.8: sent after the ClientKeyExchange by a client whose certificate can
  // sign; a client that sent a certificate and skips it has not authenticated.
  if (m.type != HandshakeType::kCertificateVerify) {
    return fail(Error::kUnexpectedMessage);
  }
  auto cv = parse_certificate_verify(m.body);
  if (!cv) {
    return fail(cv.error());
  }
  // "The hash and signature algorithms used in the signature MUST be one of those present
  // in the supported_signature_algorithms field of the CertificateRequest message."
  const auto offered = client_schemes();
  const auto scheme = crypto::signature_scheme_from_code(cv->scheme);
  if (std::find(offered.begin(), offered.end(), cv->scheme) == offered.end() || !scheme ||
      !crypto::scheme_allowed(*scheme, crypto::TlsVersion::kTls12) ||
      !crypto::key_supports_scheme(s.client_key.type(), *scheme)) {
    return fail(Error::kIllegalParameter);
  }
  if (!s.ctx.transcript.update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  // §7.4.8: "The handshake_messages refers to all handshake messages sent or received,
  // starting at client hello and up to, but not including, this message": the raw messages
  // move to the job (and are freed with it).
  PkJob& j = pk_.start(PkKind::kVerify);
  j.scheme = *scheme;
  j.verify_key.emplace(std::move(s.client_key));
  j.message = std::move(s.ctx.messages);
  s.ctx.messages = std::vector<uint8_t>();
  j.peer_signature.assign(cv->signature.begin(), cv->signature.end());
  state_.emplace<AwaitClientSignature>(AwaitClientSignature{std::move(s.ctx)});
  return await_job();
}

Result<void, Error> Server12::on_client_finished(ReadClientFinished s,
                                                 const HandshakeMessage& m) noexcept {
  if (m.type != HandshakeType::kFinished) {
    return fail(Error::kUnexpectedMessage);
  }
  auto received = parse_finished(m.body);
  if (!received) {
    return fail(received.error());
  }
  auto hash = s.ctx.transcript.digest();
  if (!hash) {
    return fail(Error::kCryptoFailure);
  }
  auto expected = finished_verify_data(suite_.hash, master_.view(), true, hash->view());
  if (!expected) {
    return fail(expected.error());
  }
  // §7.4.9: "Recipients of Finished messages MUST verify that the contents are correct."
  if (auto ok = check_verify_data(*expected, *received); !ok) {
    return ok;
  }
  if (s.ctx.abbreviated) {
    // RFC 5246 §7.3: in the abbreviated handshake the client's Finished is the last message.
    state_.emplace<Done>();
    return {};
  }
  // The server's Finished covers the client's too.
  if (!s.ctx.transcript.update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  Session12 session;
  session.suite = suite_.suite;
  session.master.assign(master_.view());
  session.extended_master_secret = ems_;
  session.created_s = static_cast<uint64_t>(now());
  session.lifetime_s = config_.session_lifetime_s;
  session.server_name = server_name_;
  session.client_identity = client_identity_;
  std::vector<uint8_t> nst;
  if (issue_ticket_) {
    // RFC 5077 §3.3: the NewSessionTicket goes after the client's Finished and before our
    // ChangeCipherSpec, and is part of the transcript our Finished covers.
    auto msg = new_session_ticket(session);
    if (!msg) {
      return fail(msg.error());
    }
    nst = std::move(msg).value();
    if (!s.ctx.transcript.update(nst)) {
      return fail(Error::kCryptoFailure);
    }
  }
  if (config_.session_cache != nullptr && session_id_len_ == kSessionIdLen) {
    config_.session_cache->insert(session_id(), std::move(session));
  }
  auto hash2 = s.ctx.transcript.digest();
  if (!hash2) {
    return fail(Error::kCryptoFailure);
  }
  auto ours = finished_verify_data(suite_.hash, master_.view(), false, hash2->view());
  if (!ours) {
    return fail(ours.error());
  }
  std::vector<uint8_t> out(kHandshakeHeaderLen + kVerifyDataLen);
  ByteWriter w(out);
  if (auto ok = write_finished(w, *ours); !ok) {
    return ok;
  }
  flight_.handshake = std::move(nst);
  flight_.change_cipher_spec = true;
  flight_.after_ccs = std::move(out);
  state_.emplace<Done>();
  return {};
}

Result<std::optional<Session12>, Error> Server12::find_session(const ClientHello& ch,
                                                               const Chosen& c) const noexcept {
  const uint64_t now_s = static_cast<uint64_t>(now());
  std::optional<Session12> session;
  // RFC 5077 §3.4: a ticket takes precedence; the session ID then only echoes.
  if (config_.ticket_keys != nullptr && !c.ticket.empty()) {
    session = open_ticket12(*config_.ticket_keys, c.ticket);
  }
  if (!session && config_.session_cache != nullptr &&
      ch.legacy_session_id.size() == kSessionIdLen) {
    session = config_.session_cache->find(ch.legacy_session_id, now_s);
  }
  if (!session || !session->fresh(now_s)) {
    return std::optional<Session12>();
  }
  // RFC 5246 §7.4.1.2: the resumed session's suite must be offered (and still ours).
  const uint16_t suite = static_cast<uint16_t>(session->suite);
  if (!u16_list_contains(ch.cipher_suites, suite) ||
      std::find(config_.cipher_suites.begin(), config_.cipher_suites.end(), session->suite) ==
          config_.cipher_suites.end()) {
    return std::optional<Session12>();
  }
  // RFC 6066 §3: "the server MUST NOT accept the request to resume the session if the
  // server_name extension contains a different name".
  if (!same(session->server_name, ch.server_name)) {
    return std::optional<Session12>();
  }
  if (config_.client_auth == ClientAuth::kRequired && !session->client_identity) {
    return std::optional<Session12>();
  }
  // RFC 7627 §5.3: "If the original session used the "extended_master_secret" extension but
  // the new ClientHello does not contain it, the server MUST abort the abbreviated handshake."
  if (session->extended_master_secret && !c.extended_master_secret) {
    return fail(Error::kHandshakeFailure);
  }
  // "If the original session did not use the "extended_master_secret" extension but the new
  // ClientHello contains the extension, then the server MUST NOT perform the abbreviated
  // handshake. Instead, it SHOULD continue with a full handshake".
  if (!session->extended_master_secret && c.extended_master_secret) {
    return std::optional<Session12>();
  }
  return std::optional<Session12>(std::move(session));
}

Result<std::vector<uint8_t>, Error> Server12::new_session_ticket(
    const Session12& session) noexcept {
  auto ticket = seal_ticket12(*config_.ticket_keys, rng(), session);
  NewSessionTicket t;
  // RFC 5077 §3.3: "If the server determines that it does not want to include a ticket after
  // it has included the SessionTicket extension in the ServerHello, then it sends a
  // zero-length ticket in the NewSessionTicket handshake message." A session that does not
  // fit a ticket (ticket<0..2^16-1>) gets that.
  if (ticket && ticket->size() <= 0xffff) {
    t.lifetime_hint = session.lifetime_s;
    t.ticket = *ticket;
  }
  // Sized from the ticket itself: header, lifetime_hint, the ticket's length and bytes.
  std::vector<uint8_t> out(kHandshakeHeaderLen + 4 + 2 + t.ticket.size());
  ByteWriter w(out);
  if (auto ok = write_new_session_ticket(w, t); !ok) {
    return fail(ok.error());
  }
  out.resize(w.size());
  ticket_sent_ = true;
  return out;
}

std::span<const std::vector<uint8_t>> Server12::client_ca_names() const noexcept {
  // RFC 5246 §7.4.4: DistinguishedName certificate_authorities<0..2^16-1>. A list that
  // would not fit is left out altogether, as Server13 does: an empty list means "any CA the
  // client has" (the client then picks its certificate itself), a cut list would mislead it.
  size_t len = 0;
  for (const std::vector<uint8_t>& dn : config_.client_ca_names) {
    len += 2 + dn.size();
  }
  if (len > 0xffff) {
    return {};
  }
  return config_.client_ca_names;
}

Result<void, Error> Server12::resume(Session12 session, const ClientHello& ch, const Chosen& c,
                                     const HandshakeMessage& m) noexcept {
  const SuiteInfo info = suite_info(session.suite);
  auto transcript = crypto::Transcript::create(info.hash);
  if (!transcript) {
    return fail(Error::kCryptoFailure);
  }
  Context ctx{std::move(transcript).value(), {}, {}, {}, true};
  std::memcpy(ctx.client_random, ch.random.data(), kRandomLen);
  if (!rng().fill(ctx.server_random)) {
    return fail(Error::kCryptoFailure);
  }
  if (config_.tls13_enabled) {
    set_downgrade_sentinel(ctx.server_random);
  }
  if (!ctx.transcript.update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  // RFC 5246 §7.4.1.3 / RFC 5077 §3.4: the ServerHello echoes the client's session_id.
  std::memcpy(session_id_, ch.legacy_session_id.data(), ch.legacy_session_id.size());
  session_id_len_ = ch.legacy_session_id.size();
  std::vector<uint8_t> out(1024 + session.server_name.size());
  ByteWriter w(out);
  ServerHelloParams sh;
  sh.random = ctx.server_random;
  sh.session_id = session_id();
  sh.cipher_suite = session.suite;
  sh.renegotiation_info = c.secure_renegotiation;
  // The session's master secret is what both sides use: find_session() saw to it that the
  // ClientHello offered EMS exactly when the session has it.
  sh.extended_master_secret = session.extended_master_secret;
  sh.ec_point_formats = ch.has(ExtensionType::kEcPointFormats);
  sh.alpn_protocol = c.alpn;  // RFC 7301 §3.1: negotiated in every handshake
  sh.session_ticket = issue_ticket_;
  // RFC 6066 §3: "When resuming a session, the server MUST NOT include a server_name
  // extension in the server hello."
  if (auto ok = write_server_hello(w, sh); !ok) {
    return ok;
  }
  out.resize(w.size());
  if (issue_ticket_) {
    // RFC 5077 §3.3: the renewed ticket follows the ServerHello in the abbreviated handshake.
    auto nst = new_session_ticket(session);
    if (!nst) {
      return fail(nst.error());
    }
    out.insert(out.end(), nst->begin(), nst->end());
  }
  if (!ctx.transcript.update(out)) {
    return fail(Error::kCryptoFailure);
  }
  auto keys = derive_key_block(info, session.master.view(), ctx.client_random,
                               ctx.server_random);
  if (!keys) {
    return fail(keys.error());
  }
  auto hash = ctx.transcript.digest();
  if (!hash) {
    return fail(Error::kCryptoFailure);
  }
  auto ours = finished_verify_data(info.hash, session.master.view(), false, hash->view());
  if (!ours) {
    return fail(ours.error());
  }
  std::vector<uint8_t> fin(kHandshakeHeaderLen + kVerifyDataLen);
  ByteWriter fw(fin);
  if (auto ok = write_finished(fw, *ours); !ok) {
    return ok;
  }
  // The client's Finished covers ours.
  if (!ctx.transcript.update(fin)) {
    return fail(Error::kCryptoFailure);
  }
  flight_.handshake = std::move(out);
  flight_.change_cipher_spec = true;
  flight_.after_ccs = std::move(fin);
  suite_ = info;
  keys_ = std::move(keys).value();
  master_ = std::move(session.master);
  ems_ = session.extended_master_secret;
  alpn_.assign(c.alpn.begin(), c.alpn.end());
  secure_renegotiation_ = c.secure_renegotiation;
  client_identity_ = std::move(session.client_identity);
  resumed_ = true;
  state_.emplace<ReadChangeCipherSpec>(ReadChangeCipherSpec{std::move(ctx)});
  return {};
}

}  // namespace linetls::tls::v12
