#include "lib/tls/server13.h"

#include <cstring>

#include <algorithm>
#include <utility>
#include <cstring>

#include "lib/base/bytes.h"
#include "lib/tls/hello.h"
#include "lib/tls/messages13.h"

namespace linetls::tls {

namespace {

class KeySigner final : public CertificateSigner {
 public:
  explicit KeySigner(const crypto::PrivateKey& key) noexcept : key_(key) {}
  Result<crypto::SignatureScheme, crypto::Error> choose_scheme(
      std::span<const uint16_t> peer_schemes) const noexcept override {
    return crypto::choose_scheme(key_, peer_schemes, crypto::TlsVersion::kTls13);
  }
  size_t max_signature_len() const noexcept override { return key_.max_signature_len(); }
  Result<size_t, crypto::Error> sign(crypto::SignatureScheme scheme,
                                     std::span<const uint8_t> message,
                                     std::span<uint8_t> out) const noexcept override {
    return crypto::sign(key_, scheme, message, out);
  }

 private:
  const crypto::PrivateKey& key_;
};

}  // namespace

ServerCertificate ServerCertificate::from(const crypto::CertifiedKey& key) {
  ServerCertificate c;
  for (const crypto::Certificate& cert : key.chain()) {
    c.chain.push_back(cert.der());
  }
  c.signer = std::make_shared<KeySigner>(key.key());
  for (const std::string& san : key.leaf().subject_alt_names()) {
    if (san.starts_with("DNS:")) {
      c.names.push_back(san.substr(4));
    }
  }
  return c;
}

namespace {

bool ascii_iequal(std::string_view a, std::string_view b) noexcept {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; };
           return lower(x) == lower(y);
         });
}

// RFC 6125 §6.4.3, simplified: exact match, or "*.rest" matching one left-most label.
bool name_matches(std::string_view pattern, std::string_view host) noexcept {
  if (pattern.starts_with("*.")) {
    const size_t dot = host.find('.');
    return dot != std::string_view::npos && dot != 0 &&
           ascii_iequal(pattern.substr(1), host.substr(dot));
  }
  return ascii_iequal(pattern, host);
}

std::vector<uint16_t> u16s(std::span<const uint8_t> list) {
  std::vector<uint16_t> out(list.size() / 2);
  for (size_t i = 0; i < out.size(); i++) {
    out[i] = static_cast<uint16_t>(list[2 * i] << 8 | list[2 * i + 1]);
  }
  return out;
}

const KeyShareEntry* find_share(const ClientHello& ch, uint16_t group) noexcept {
  for (size_t i = 0; i < ch.num_key_shares; i++) {
    if (ch.key_shares[i].group == group) {
      return &ch.key_shares[i];
    }
  }
  return nullptr;
}

bool same(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// CertificateRequest.signature_algorithms: what crypto::verify checks under TLS 1.3, then
// the rsa_pkcs1 schemes that §4.2.3 allows for certificates only.
constexpr uint16_t kClientSchemes[] = {
    0x0403,  // ecdsa_secp256r1_sha256
    0x0503,  // ecdsa_secp384r1_sha384
    0x0807,  // ed25519
    0x0804,  // rsa_pss_rsae_sha256
    0x0805,  // rsa_pss_rsae_sha384
    0x0806,  // rsa_pss_rsae_sha512
    0x0401,  // rsa_pkcs1_sha256 (certificates only)
    0x0501,  // rsa_pkcs1_sha384 (certificates only)
    0x0601,  // rsa_pkcs1_sha512 (certificates only)
};

// Room for the certificate_authorities list: it shares the CertificateRequest's extensions
// block (<0..2^16-1>) with its own headers and signature_algorithms.
constexpr size_t kMaxCaNamesLen = 0xff00;

}  // namespace

std::span<const uint16_t> Server13::client_signature_schemes() noexcept { return kClientSchemes; }

Server13::Server13(const ServerConfig13& config) noexcept : config_(config) {}

std::string_view Server13::state_name() const noexcept { return kStateNames[state_.index()]; }

Wait Server13::wait() const noexcept {
  if (std::holds_alternative<AwaitKeyExchange>(state_)) {
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

MessageRules Server13::next_message_rules(size_t max_client_hello,
                                          size_t max_certificate) const noexcept {
  const auto cap = [](size_t n) { return static_cast<uint32_t>(std::min<size_t>(n, 0xffffff)); };
  MessageRules r;
  r.num = 1;
  if (std::holds_alternative<ReadClientHello>(state_) ||
      std::holds_alternative<ReadSecondClientHello>(state_)) {
    r.rule[0] = {HandshakeType::kClientHello, cap(max_client_hello), std::nullopt};
  } else if (std::holds_alternative<ReadClientCertificate>(state_)) {
    r.rule[0] = {HandshakeType::kCertificate, cap(max_certificate), std::nullopt};
  } else if (std::holds_alternative<ReadClientCertificateVerify>(state_)) {
    r.rule[0] = {HandshakeType::kCertificateVerify, kMaxCertificateVerifyLen, std::nullopt};
  } else if (std::holds_alternative<ReadClientFinished>(state_)) {
    r.rule[0] = {HandshakeType::kFinished, kMaxFinished13Len, std::nullopt};
  } else {
    // Done (Failed takes nothing anyway): the only post-handshake message a client may send
    // us is KeyUpdate (§4.6.3); NewSessionTicket is the server's (§4.6.1) and post-handshake
    // authentication (§4.6.2) is not offered.
    r.rule[0] = {HandshakeType::kKeyUpdate, kKeyUpdateLen, std::nullopt};
  }
  return r;
}

Level Server13::read_level() const noexcept {
  if (std::holds_alternative<ReadClientCertificate>(state_) ||
      std::holds_alternative<ReadClientCertificateVerify>(state_) ||
      std::holds_alternative<ReadClientFinished>(state_) ||
      std::holds_alternative<AwaitClientChain>(state_) ||
      std::holds_alternative<AwaitClientSignature>(state_)) {
    return Level::kHandshake;
  }
  return std::holds_alternative<Done>(state_) ? Level::kApplication : Level::kInitial;
}

Level Server13::write_level() const noexcept {
  // Our Finished is out in every state that reads at the handshake level.
  return read_level() == Level::kInitial ? Level::kInitial : Level::kApplication;
}

Wait Server13::handle(const HandshakeMessage& msg) noexcept {
  Result<void, Error> r = fail(Error::kInternalError);
  State old = std::move(state_);
  state_.emplace<Failed>();  // each transition emplaces the next state on success
  if (auto* st = std::get_if<ReadClientHello>(&old)) {
    r = on_client_hello(std::move(*st), msg);
  } else if (auto* st2 = std::get_if<ReadSecondClientHello>(&old)) {
    r = on_second_client_hello(std::move(*st2), msg);
  } else if (auto* st3 = std::get_if<ReadClientCertificate>(&old)) {
    r = on_client_certificate(std::move(*st3), msg);
  } else if (auto* st4 = std::get_if<ReadClientCertificateVerify>(&old)) {
    r = on_client_certificate_verify(std::move(*st4), msg);
  } else if (auto* st5 = std::get_if<ReadClientFinished>(&old)) {
    r = on_client_finished(std::move(*st5), msg);
  } else if (std::holds_alternative<Done>(old)) {
    state_.emplace<Done>();
    r = handle_post_handshake13(true, msg, secrets_, flight_, post_);
  } else if (std::holds_alternative<Failed>(old)) {
    return Wait::kError;  // Failed stays failed, error_ unchanged
  } else {
    r = fail(Error::kInternalError);  // a message while a job is out: the caller's bug
  }
  return end_step(std::move(r));
}

Result<Server13::Chosen, Error> Server13::negotiate(const ClientHello& ch) const noexcept {
  Chosen c;
  // §4.2.1: "If the "supported_versions" extension in the ClientHello contains no versions
  // acceptable to the server, the server MUST abort the handshake with a "protocol_version"
  // alert." TLS 1.2 arrives with issue 6.
  if (!ch.offers_tls13()) {
    return fail(Error::kProtocolVersion);
  }
  if (auto ok = check_tls13_client_hello(ch); !ok) {
    return fail(ok.error());
  }
  // Cipher suite: ours in our order of preference.
  bool found = false;
  for (CipherSuite s : config_.cipher_suites) {
    if (u16_list_contains(ch.cipher_suites, static_cast<uint16_t>(s))) {
      c.suite = suite_info(s);
      found = true;
      break;
    }
  }
  if (!found) {
    return fail(Error::kNoCommonCipherSuite);
  }
  // Group: the first of ours the client sent a share for; else the first of ours it
  // supports, reached through a HelloRetryRequest (§4.1.4).
  std::optional<crypto::NamedGroup> hrr_group;
  for (crypto::NamedGroup g : config_.groups) {
    const auto code = static_cast<uint16_t>(g);
    if (!u16_list_contains(ch.supported_groups, code)) {
      continue;
    }
    if (const KeyShareEntry* e = find_share(ch, code)) {
      c.group = g;
      c.share = e;
      break;
    }
    if (!hrr_group) {
      hrr_group = g;
    }
  }
  // §4.2.9: psk_ke (0) may be selected only if the client lists it.
  c.psk_ke_offered = config_.allow_psk_ke && ch.has(ExtensionType::kPreSharedKey) &&
                     std::find(ch.psk_modes.begin(), ch.psk_modes.end(), uint8_t{0}) !=
                         ch.psk_modes.end();
  if (c.share == nullptr) {
    // §4.1.1: "If the server is unable to negotiate a supported set of parameters (i.e.,
    // there is no overlap between the client and server parameters), it MUST abort the
    // handshake with either a "handshake_failure" or "insufficient_security" fatal alert".
    // A psk_ke resumption needs no group: that is decided once the PSK is looked at.
    if (!hrr_group) {
      if (!c.psk_ke_offered) {
        return fail(Error::kNoCommonGroup);
      }
      c.no_common_group = true;
    } else {
      c.group = *hrr_group;
    }
  }
  // RFC 7301 §3.2: "In the event that the server supports no protocols that the client
  // advertises, then the server SHALL respond with a fatal "no_application_protocol" alert."
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
  c.session_id = ch.legacy_session_id;
  c.server_name = ch.server_name;
  c.client_record_size_limit = ch.record_size_limit;
  return c;
}

bool Server13::serves_name(const ClientHello& ch) const noexcept {
  const std::string_view sni(reinterpret_cast<const char*>(ch.server_name.data()),
                             ch.server_name.size());
  return !sni.empty() && std::any_of(config_.certificates.begin(), config_.certificates.end(),
                                     [&](const ServerCertificate& cert) {
                                       return std::any_of(cert.names.begin(), cert.names.end(),
                                                          [&](const std::string& n) {
                                                            return name_matches(n, sni);
                                                          });
                                     });
}

Result<void, Error> Server13::choose_certificate(const ClientHello& ch, Chosen* c) const noexcept {
  // §9.2: "If not containing a "pre_shared_key" extension, it MUST contain both a
  // "signature_algorithms" extension and a "supported_groups" extension." A ClientHello that
  // offered a PSK we do not resume with needs them for the full handshake all the same:
  // "Servers receiving a ClientHello which does not conform to these requirements MUST abort
  // the handshake with a "missing_extension" alert."
  if (!ch.has(ExtensionType::kSignatureAlgorithms) || !ch.has(ExtensionType::kSupportedGroups)) {
    return fail(Error::kMissingExtension);
  }
  // Certificate and signature scheme (§4.4.2.2): by server_name, then by the client's
  // signature_algorithms.
  const std::vector<uint16_t> schemes = u16s(ch.signature_algorithms);
  const std::string_view sni(reinterpret_cast<const char*>(ch.server_name.data()),
                             ch.server_name.size());
  for (int pass = sni.empty() ? 1 : 0; pass < 2; pass++) {
    for (size_t i = 0; i < config_.certificates.size(); i++) {
      const ServerCertificate& cert = config_.certificates[i];
      if (pass == 0 && std::none_of(cert.names.begin(), cert.names.end(),
                                    [&](const std::string& n) { return name_matches(n, sni); })) {
        continue;
      }
      auto scheme = cert.signer->choose_scheme(schemes);
      if (scheme) {
        c->cert_index = i;
        c->scheme = *scheme;
        c->sni_used = pass == 0;
        return {};
      }
    }
  }
  return fail(config_.certificates.empty() ? Error::kInternalError
                                           : Error::kNoCommonSignatureScheme);
}

// The ClientHello of m: the facade's parse when it handed one for this very body, else ours.
Result<ClientHello, Error> Server13::take_client_hello(const HandshakeMessage& m) noexcept {
  const ParsedClientHello* pre = std::exchange(pre_hello_, nullptr);
  if (pre != nullptr && pre->body.data() == m.body.data() && pre->body.size() == m.body.size()) {
    return pre->hello;
  }
  return parse_client_hello(m.body);
}

Result<void, Error> Server13::on_client_hello(ReadClientHello, const HandshakeMessage& m) noexcept {
  if (m.type != HandshakeType::kClientHello) {
    return fail(Error::kUnexpectedMessage);
  }
  client_hello_seen_ = true;
  auto ch = take_client_hello(m);
  if (!ch) {
    return fail(ch.error());
  }
  early_data_offered_ = ch->early_data;
  auto chosen = negotiate(*ch);
  if (!chosen) {
    return fail(chosen.error());
  }
  auto transcript = crypto::Transcript::create(chosen->suite.hash);
  if (!transcript || !transcript->update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  // A psk_ke resumption needs no key share: the PSK is looked at before any retry.
  if (chosen->share != nullptr || chosen->psk_ke_offered) {
    // The binder covers the truncated ClientHello alone (no HelloRetryRequest before it).
    auto psk = select_psk(*ch, m.bytes, nullptr, *chosen);
    if (!psk) {
      return fail(psk.error());
    }
    // A certificate only for a full handshake: a PSK-only ClientHello may leave out
    // signature_algorithms (§4.2.3 "... when the client wants to authenticate the server
    // via a certificate"; §9.2).
    if (*psk) {
      chosen->sni_used = serves_name(*ch);
      const std::span<const uint8_t> share =
          (*psk)->psk_ke ? std::span<const uint8_t>() : chosen->share->key_exchange;
      return send_server_flight(*chosen, std::move(*transcript), share, std::move(*psk));
    }
    if (chosen->share != nullptr) {
      if (auto ok = choose_certificate(*ch, &*chosen); !ok) {
        return ok;
      }
      return send_server_flight(*chosen, std::move(*transcript), chosen->share->key_exchange,
                                std::move(*psk));
    }
  }
  // No PSK selected: a full handshake needs a group (§4.1.1, as in negotiate()).
  if (chosen->no_common_group) {
    return fail(Error::kNoCommonGroup);
  }
  // §4.1.4: the server "will send this message in response to a ClientHello message if it
  // is able to find an acceptable set of parameters but the ClientHello does not contain
  // sufficient information to proceed with the handshake." §4.4.1: the transcript restarts
  // with message_hash(ClientHello1).
  std::vector<uint8_t> cookie;
  if (config_.cookie) {
    auto ch1_hash = transcript->digest();
    if (!ch1_hash) {
      return fail(Error::kCryptoFailure);
    }
    auto c = config_.cookie->make(ch1_hash->view());
    if (!c) {
      return fail(c.error());
    }
    cookie = std::move(*c);
    if (cookie.empty() || cookie.size() > 0xffff - 2) {
      return fail(Error::kInternalError);
    }
  }
  if (!crypto::restart_with_message_hash(&*transcript)) {
    return fail(Error::kCryptoFailure);
  }
  flight_.bytes[0].resize(256 + cookie.size());
  ByteWriter w(flight_.bytes[0]);
  HelloRetryRequestParams hrr;
  hrr.legacy_session_id_echo = chosen->session_id;
  hrr.cipher_suite = chosen->suite.suite;
  hrr.selected_group = static_cast<uint16_t>(chosen->group);
  hrr.cookie = cookie;
  if (auto ok = write_hello_retry_request(w, hrr); !ok) {
    return fail(ok.error());
  }
  flight_.bytes[0].resize(w.size());
  if (!transcript->update(flight_.bytes[0])) {
    return fail(Error::kCryptoFailure);
  }
  hrr_sent_ = true;
  request_compat_ccs(chosen->session_id);
  state_.emplace<ReadSecondClientHello>(
      ReadSecondClientHello{chosen->suite, chosen->group, std::move(*transcript),
                            std::vector<uint8_t>(m.body.begin(), m.body.end()), std::move(cookie)});
  return {};
}

Result<void, Error> Server13::on_second_client_hello(ReadSecondClientHello s,
                                                     const HandshakeMessage& m) noexcept {
  if (m.type != HandshakeType::kClientHello) {
    return fail(Error::kUnexpectedMessage);
  }
  auto ch = parse_client_hello(m.body);
  if (!ch) {
    return fail(ch.error());
  }
  auto ch1 = parse_client_hello(s.client_hello1);
  if (!ch1) {
    return fail(Error::kInternalError);
  }
  // §4.1.2: "the client MUST send the same ClientHello without modification, except as
  // follows: [key_share replaced by one share of the indicated group; early_data removed;
  // cookie added; pre_shared_key updated; padding changed]". A server that finds otherwise
  // aborts with illegal_parameter (§4.1.4 consistency, as BoringSSL and rustls do).
  const bool consistent = ch->legacy_version == ch1->legacy_version &&
                          same(ch->random, ch1->random) &&
                          same(ch->legacy_session_id, ch1->legacy_session_id) &&
                          same(ch->cipher_suites, ch1->cipher_suites) &&
                          same(ch->legacy_compression_methods, ch1->legacy_compression_methods) &&
                          same(ch->server_name, ch1->server_name) &&
                          same(ch->supported_versions, ch1->supported_versions) &&
                          same(ch->supported_groups, ch1->supported_groups) &&
                          same(ch->signature_algorithms, ch1->signature_algorithms) &&
                          same(ch->alpn, ch1->alpn) && !ch->early_data;
  // §4.2.8: "Upon receipt of this [HRR] extension in a HelloRetryRequest, the client MUST
  // verify that ... the selected_group field corresponds to a group which was provided in
  // the "supported_groups" extension ... [and] MUST [send] a "key_share" extension
  // containing only a new KeyShareEntry for the group indicated in the selected_group".
  const auto code = static_cast<uint16_t>(s.group);
  // §4.2.2: "When sending the new ClientHello, the client MUST copy the contents of the
  // extension received in the HelloRetryRequest into a "cookie" extension in the new
  // ClientHello."
  const bool cookie_ok =
      same(ch->cookie, s.cookie) && ch->has(ExtensionType::kCookie) == !s.cookie.empty();
  if (!consistent || !cookie_ok || ch->num_key_shares != 1 || ch->key_shares[0].group != code) {
    return fail(Error::kIllegalParameter);
  }
  auto chosen = negotiate(*ch);
  if (!chosen) {
    return fail(chosen.error());
  }
  if (chosen->suite.suite != s.suite.suite || chosen->group != s.group || !chosen->share) {
    return fail(Error::kIllegalParameter);
  }
  // §4.2.11.2: after a HelloRetryRequest the binder covers message_hash(ClientHello1),
  // the HelloRetryRequest and the truncated ClientHello2.
  auto psk = select_psk(*ch, m.bytes, &s.transcript, *chosen);
  if (!psk) {
    return fail(psk.error());
  }
  if (!*psk) {
    if (auto ok = choose_certificate(*ch, &*chosen); !ok) {
      return ok;
    }
  } else {
    chosen->sni_used = serves_name(*ch);
  }
  if (!s.transcript.update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  // psk_ke is preferred here too, though the client now sent the share we asked for.
  const std::span<const uint8_t> share =
      *psk && (*psk)->psk_ke ? std::span<const uint8_t>() : chosen->share->key_exchange;
  return send_server_flight(*chosen, std::move(s.transcript), share, std::move(*psk));
}

void Server13::request_compat_ccs(std::span<const uint8_t> legacy_session_id) noexcept {
  // Appendix D.4: "The server sends a dummy change_cipher_spec record immediately after its
  // first handshake message. This may either be after a ServerHello or a
  // HelloRetryRequest." ... "if the client sends a non-empty session ID, the server MUST
  // send the change_cipher_spec as described in this appendix." Once per connection: the
  // ServerHello after a HelloRetryRequest is not the first handshake message.
  if (legacy_session_id.empty() || compat_ccs_sent_) {
    return;
  }
  flight_.compat_change_cipher_spec = true;
  compat_ccs_sent_ = true;
}

uint64_t Server13::now_ms() const noexcept { return clock_ms(config_.now_ms); }

std::time_t Server13::now() const noexcept {
  return config_.now ? config_.now() : std::time(nullptr);
}

std::span<const std::vector<uint8_t>> Server13::client_ca_names() const noexcept {
  if (!config_.send_client_ca_names || config_.client_ca == nullptr) {
    return {};
  }
  const std::span<const std::vector<uint8_t>> names = config_.client_ca->subject_names();
  size_t len = 0;
  for (const std::vector<uint8_t>& dn : names) {
    len += 2 + dn.size();
  }
  return len <= kMaxCaNamesLen ? names : std::span<const std::vector<uint8_t>>();
}

Result<std::optional<Server13::PskChoice>, Error> Server13::select_psk(
    const ClientHello& ch, std::span<const uint8_t> message, const crypto::Transcript* prefix,
    const Chosen& c) const noexcept {
  const TicketDecoder* decoder =
      config_.ticket_decoder != nullptr ? config_.ticket_decoder : config_.ticket_keys;
  std::optional<PskChoice> none;
  // §4.2.9: "Servers MUST NOT select a key exchange mode that is not listed by the client."
  // psk_ke (0) only with config.allow_psk_ke (c.psk_ke_offered), and then preferred over
  // psk_dhe_ke (1) when the client lists both: it skips the (EC)DHE exchange, which is what
  // enabling it asks for. psk_dhe_ke needs the client's share for our group. Without a
  // usable mode the PSK is ignored: a full handshake.
  const bool dhe_ke =
      c.share != nullptr &&
      std::find(ch.psk_modes.begin(), ch.psk_modes.end(), uint8_t{1}) != ch.psk_modes.end();
  if (decoder == nullptr || ch.num_psks == 0 || (!c.psk_ke_offered && !dhe_ke)) {
    return none;
  }
  const uint64_t now = now_ms();
  for (size_t i = 0; i < ch.num_psks; i++) {
    const PskIdentity& id = ch.psks[i];
    std::optional<TicketContents> t = decoder->open(id.identity);
    // §4.2.11: "the server MUST ensure that it selects a compatible PSK (if any) and cipher
    // suite"; a ticket resumes only under a suite with the same hash (§4.6.1).
    if (!t || suite_info(t->suite).hash != c.suite.hash || now < t->issued_ms ||
        !same(t->server_name, c.server_name)) {
      continue;
    }
    // A session without a client certificate cannot stand in for one that is required now.
    if (config_.client_auth == ClientAuth::kRequired && !t->client_identity) {
      continue;
    }
    // §4.6.1 lifetime, §8.3 age: the client's view of the ticket age must be within a small
    // window of the server's.
    const uint64_t server_age = now - t->issued_ms;
    const uint64_t client_age = static_cast<uint32_t>(id.obfuscated_ticket_age - t->age_add);
    const uint64_t skew =
        client_age > server_age ? client_age - server_age : server_age - client_age;
    if (server_age > uint64_t{std::min(t->lifetime_s, kMaxTicketLifetime)} * 1000 ||
        skew > config_.max_ticket_age_skew_ms) {
      continue;
    }
    // §4.2.11: "Prior to accepting PSK key establishment, the server MUST validate the
    // corresponding binder value ... If this value does not validate, the server MUST abort
    // the handshake."
    KeySchedule early(c.suite.hash);
    if (!early.start(t->psk.view())) {
      return fail(Error::kCryptoFailure);
    }
    auto binder_key = early.binder_key(true);
    if (!binder_key) {
      return fail(binder_key.error());
    }
    auto th = prefix != nullptr ? prefix->clone() : crypto::Transcript::create(c.suite.hash);
    if (!th || !th->update(message.first(kHandshakeHeaderLen + ch.binders_offset))) {
      return fail(Error::kCryptoFailure);
    }
    auto h = th->digest();
    if (!h) {
      return fail(Error::kCryptoFailure);
    }
    if (auto ok = verify_finished(c.suite.hash, binder_key->view(), h->view(), id.binder,
                                  Error::kBadPskBinder);
        !ok) {
      return fail(ok.error());
    }
    PskChoice choice;
    choice.index = static_cast<uint16_t>(i);
    choice.psk = std::move(t->psk);
    choice.client_identity = std::move(t->client_identity);
    choice.psk_ke = c.psk_ke_offered;
    choice.early.emplace(std::move(early));
    return std::optional<PskChoice>(std::move(choice));
  }
  return none;
}

Result<void, Error> Server13::send_tickets() noexcept {
  // A session whose identity does not fit a ticket is not resumable.
  if (config_.ticket_keys == nullptr ||
      (peer_identity_ && ticket_identity_len(*peer_identity_) > kMaxTicketIdentityLen)) {
    return {};
  }
  crypto::Rng& rng = config_.rng != nullptr ? *config_.rng : crypto::os_rng();
  const uint32_t lifetime = std::min(config_.ticket_lifetime_s, kMaxTicketLifetime);
  std::vector<uint8_t>& out = flight_.bytes[2];
  for (size_t i = 0; i < config_.tickets_to_send; i++) {
    // §4.6.1: "The PSK associated with the ticket is computed as HKDF-Expand-Label(
    // resumption_master_secret, "resumption", ticket_nonce, Hash.length)"; nonces are unique
    // per connection.
    uint8_t nonce[8];
    ByteWriter nw(nonce);
    nw.put_u64(i);
    uint8_t age_add[4];
    if (!rng.fill(age_add)) {
      return fail(Error::kCryptoFailure);
    }
    TicketContents t;
    t.suite = secrets_.suite.suite;
    auto psk = resumption_psk(secrets_.suite.hash, secrets_.resumption_master.view(), nonce);
    if (!psk) {
      return fail(psk.error());
    }
    t.psk = std::move(*psk);
    t.issued_ms = now_ms();
    t.lifetime_s = lifetime;
    t.age_add = uint32_t{age_add[0]} << 24 | uint32_t{age_add[1]} << 16 |
                uint32_t{age_add[2]} << 8 | age_add[3];
    t.alpn = alpn_;
    t.server_name = server_name_;
    t.client_identity = peer_identity_;
    auto ticket = config_.ticket_keys->seal(t);
    if (!ticket) {
      return fail(ticket.error());
    }
    NewSessionTicketMsg msg;
    msg.ticket_lifetime = lifetime;
    msg.ticket_age_add = t.age_add;
    msg.ticket_nonce = nonce;
    msg.ticket = *ticket;
    const size_t at = out.size();
    out.resize(at + 64 + ticket->size());
    ByteWriter w(std::span<uint8_t>(out).subspan(at));
    if (auto ok = write_new_session_ticket(w, msg); !ok) {
      return fail(ok.error());
    }
    out.resize(at + w.size());
  }
  return {};
}

crypto::Rng& Server13::rng() const noexcept {
  return config_.rng != nullptr ? *config_.rng : crypto::os_rng();
}

Result<void, Error> Server13::await_job() noexcept {
  if (!pk_.run_here(rng())) {
    return {};  // offloaded: handle() / complete_pk() answer with the pending reason
  }
  return resume_job();
}

Result<void, Error> Server13::resume_job() noexcept {
  State old = std::move(state_);
  state_.emplace<Failed>();
  PkJob& j = pk_.job();
  if (auto* a = std::get_if<AwaitKeyExchange>(&old)) {
    if (!j.ok) {
      // Our key generation failing is ours; the peer's share failing its checks is theirs.
      return fail(j.share ? from_crypto(j.error) : Error::kCryptoFailure);
    }
    return send_server_hello(std::move(a->f), &j);
  }
  if (auto* g = std::get_if<AwaitSignature>(&old)) {
    if (!j.ok) {
      return fail(Error::kCryptoFailure);
    }
    return finish_server_flight(std::move(g->f), j.signature);
  }
  if (auto* cc = std::get_if<AwaitClientChain>(&old)) {
    // The path check (libcrypto, with expiry at now()) maps onto the §6.2 certificate
    // alerts: bad_certificate, unknown_ca, certificate_expired, unsupported_certificate.
    if (!j.ok) {
      return fail(from_crypto(j.error));
    }
    // A verified leaf whose key we cannot check signatures with (§6.2
    // unsupported_certificate: "a certificate was of an unsupported type").
    if (!j.verdict->leaf_key) {
      return fail(Error::kUnsupportedCertificate);
    }
    client_chain_from_cache_ = j.verdict->from_cache;
    state_.emplace<ReadClientCertificateVerify>(ReadClientCertificateVerify{
        cc->suite, std::move(cc->transcript), std::move(cc->schedule),
        std::move(j.verdict->leaf_key).value(), std::move(j.verdict->identity)});
    return {};
  }
  if (auto* cs = std::get_if<AwaitClientSignature>(&old)) {
    // §4.4.3: "If the verification fails, the receiver MUST terminate the handshake with a
    // "decrypt_error" alert."
    if (!j.ok) {
      return fail(Error::kBadCertificateVerify);
    }
    state_.emplace<ReadClientFinished>(ReadClientFinished{
        cs->suite, std::move(cs->transcript), std::move(cs->schedule), std::move(cs->identity)});
    return {};
  }
  return fail(Error::kInternalError);
}

std::unique_ptr<PkJob> Server13::take_pk_job() noexcept {
  return is_pending(wait()) ? pk_.take() : nullptr;
}

Wait Server13::complete_pk(std::unique_ptr<PkJob> job) noexcept {
  if (!is_pending(wait()) || !pk_.give_back(std::move(job))) {
    return end_step(fail(Error::kInternalError));
  }
  return end_step(resume_job());
}

Wait Server13::end_step(Result<void, Error> r) noexcept {
  if (!r) {
    // §6: drop the half-built flight; the caller sends exactly one alert.
    error_ = r.error();
    flight_ = Flight{};
    state_.emplace<Failed>();
    pk_.clear();
    return Wait::kError;
  }
  const Wait w = wait();
  if (is_pending(w)) {
    return w;  // the flight so far waits for the job
  }
  pk_.clear();  // an idle connection keeps no job
  return flight_.empty() ? w : Wait::kFlush;
}

Result<void, Error> Server13::send_server_flight(const Chosen& c, crypto::Transcript transcript,
                                                 std::span<const uint8_t> client_share,
                                                 std::optional<PskChoice> psk) noexcept {
  group_ = c.group;
  cert_index_ = c.cert_index;
  alpn_.assign(c.alpn.begin(), c.alpn.end());
  server_name_.assign(c.server_name.begin(), c.server_name.end());
  secrets_.suite = c.suite;
  resumed_ = psk.has_value();
  // psk_ke (§4.2.9): no key share of ours, no (EC)DHE.
  psk_ke_ = psk && psk->psk_ke;
  if (config_.client_auth != ClientAuth::kNone && config_.client_ca == nullptr) {
    return fail(Error::kInternalError);
  }
  // What the flight needs across its public-key steps; nothing in it views the ClientHello.
  auto f = std::make_unique<FlightWork>(std::move(transcript));
  f->c = c;
  f->c.share = nullptr;
  f->c.alpn = alpn_;
  f->c.server_name = server_name_;
  if (c.session_id.size() > sizeof(f->session_id)) {
    return fail(Error::kInternalError);  // the parser allows <0..32>
  }
  std::memcpy(f->session_id, c.session_id.data(), c.session_id.size());
  f->c.session_id = std::span<const uint8_t>(f->session_id, c.session_id.size());
  // §4.3.2: "Servers which are authenticating with a resumption PSK MUST NOT send the
  // CertificateRequest message in the main handshake"; the ticket's identity carries over.
  f->request_cert = !psk && config_.client_auth != ClientAuth::kNone;
  f->psk = std::move(psk);
  // ServerHello (§4.1.3): random first, then our key share.
  if (!rng().fill(f->random)) {
    return fail(Error::kCryptoFailure);
  }
  if (psk_ke_) {
    return send_server_hello(std::move(f), nullptr);
  }
  PkJob& j = pk_.start(PkKind::kKeyExchange);
  j.group = c.group;
  if (client_share.size() > j.peer.size()) {
    return fail(from_crypto(crypto::Error::kBadPublicKeyLength));
  }
  std::memcpy(j.peer.data(), client_share.data(), client_share.size());
  j.peer_len = static_cast<uint8_t>(client_share.size());
  state_.emplace<AwaitKeyExchange>(AwaitKeyExchange{std::move(f)});
  return await_job();
}

Result<void, Error> Server13::send_server_hello(std::unique_ptr<FlightWork> f,
                                                const PkJob* kx) noexcept {
  const Chosen& c = f->c;
  const crypto::HashAlgo algo = c.suite.hash;
  crypto::Transcript& transcript = f->transcript;
  const std::span<const std::vector<uint8_t>> ca_names =
      f->request_cert ? client_ca_names() : std::span<const std::vector<uint8_t>>();
  size_t cr_len = 0;
  for (const std::vector<uint8_t>& dn : ca_names) {
    cr_len += 2 + dn.size();
  }
  std::vector<uint8_t>& initial = flight_.bytes[0];
  const size_t sh_at = initial.size();
  initial.resize(sh_at + 512);
  ByteWriter shw(std::span<uint8_t>(initial).subspan(sh_at));
  ServerHelloParams shp;
  shp.random = f->random;
  shp.legacy_session_id_echo = c.session_id;
  shp.cipher_suite = c.suite.suite;
  if (kx != nullptr) {
    shp.key_share_group = static_cast<uint16_t>(c.group);
    shp.key_share = kx->share->public_key();
  }
  shp.psk_ke = psk_ke_;  // §4.2.9: "the server MUST NOT supply a "key_share" value"
  if (f->psk) {
    shp.selected_psk = f->psk->index;
  }
  if (auto ok = write_server_hello(shw, shp); !ok) {
    return fail(ok.error());
  }
  initial.resize(sh_at + shw.size());
  request_compat_ccs(c.session_id);
  if (!transcript.update(std::span(initial).subspan(sh_at))) {
    return fail(Error::kCryptoFailure);
  }

  // §7.1 Handshake Secret and the handshake traffic secrets over ClientHello..ServerHello;
  // with psk_ke the (EC)DHE input is the 0-value.
  // A resumption goes on from the schedule its binder check started (select_psk).
  const bool started = f->psk && f->psk->early && f->psk->early->algo() == algo;
  KeySchedule& schedule =
      started ? f->schedule.emplace(std::move(*f->psk->early)) : f->schedule.emplace(algo);
  auto h = transcript.digest();
  if (!h ||
      (!started &&
       !schedule.start(f->psk ? f->psk->psk.view() : std::span<const uint8_t>())) ||
      !(kx != nullptr ? schedule.add_handshake(kx->secret->view())
                      : schedule.add_handshake_without_dhe())) {
    return fail(Error::kCryptoFailure);
  }
  auto chs = schedule.client_handshake_traffic_secret(h->view());
  auto shs = schedule.server_handshake_traffic_secret(h->view());
  if (!chs || !shs) {
    return fail(Error::kCryptoFailure);
  }
  secrets_.client_handshake = std::move(*chs);
  secrets_.server_handshake = std::move(*shs);

  // EncryptedExtensions, Certificate, CertificateVerify, Finished at the handshake level.
  // Certificate and CertificateVerify only in a full handshake (a resumed one may have no
  // certificate to look at: choose_certificate did not run).
  size_t cert_len = 0;
  if (!f->psk) {
    const ServerCertificate& cert = config_.certificates[c.cert_index];
    for (auto der : cert.chain) {
      cert_len += der.size() + 5;
    }
    cert_len += cert.signer->max_signature_len();
  }
  std::vector<uint8_t>& hs = flight_.bytes[1];
  hs.resize(1024 + 2 * config_.advertised_groups.size() + cert_len + crypto::kMaxHashLen + cr_len);
  ByteWriter w(hs);
  size_t at = 0;
  auto absorb = [&]() -> bool {
    const bool ok = transcript.update(w.written().subspan(at)).ok();
    at = w.size();
    return ok;
  };
  EncryptedExtensionsParams ee;
  ee.supported_groups = config_.advertised_groups;
  peer_record_size_limit_ = c.client_record_size_limit;
  if (c.client_record_size_limit != 0 && config_.record_size_limit) {
    ee.record_size_limit = config_.record_size_limit;
    own_record_size_limit_ = *config_.record_size_limit;
  }
  ee.server_name_ack = c.sni_used;
  ee.alpn_protocol = c.alpn;
  if (auto ok = write_encrypted_extensions(w, ee); !ok) {
    return fail(ok.error());
  }
  if (!absorb()) {
    return fail(Error::kCryptoFailure);
  }
  // §4.3.2: "The certificate_request_context ... SHALL be zero length unless used for the
  // post-handshake authentication exchanges"; "The "signature_algorithms" extension MUST be
  // specified".
  if (f->request_cert) {
    CertificateRequestParams cr;
    cr.signature_algorithms = kClientSchemes;
    cr.certificate_authorities = ca_names;
    if (auto ok = write_certificate_request(w, cr); !ok) {
      return fail(ok.error());
    }
    if (!absorb()) {
      return fail(Error::kCryptoFailure);
    }
    cert_request_sent_ = true;
  }
  // §2.2: a PSK handshake authenticates by the PSK; no Certificate or CertificateVerify.
  if (f->psk) {
    f->hs_len = w.size();
    return finish_server_flight(std::move(f), {});
  }
  const ServerCertificate& cert = config_.certificates[c.cert_index];
  if (auto ok = write_certificate(w, cert.chain); !ok) {
    return fail(ok.error());
  }
  if (!absorb()) {
    return fail(Error::kCryptoFailure);
  }
  f->hs_len = w.size();
  // §4.4.3: the signature covers Transcript-Hash(Handshake Context, Certificate).
  auto cv_hash = transcript.digest();
  if (!cv_hash) {
    return fail(Error::kCryptoFailure);
  }
  const CertificateVerifyContent content = certificate_verify_content(true, cv_hash->view());
  PkJob& j = pk_.start(PkKind::kSign);
  j.signer = cert.signer.get();
  j.scheme = c.scheme;
  j.max_signature_len = cert.signer->max_signature_len();
  j.message.assign(content.view().begin(), content.view().end());
  state_.emplace<AwaitSignature>(AwaitSignature{std::move(f)});
  return await_job();
}

Result<void, Error> Server13::finish_server_flight(std::unique_ptr<FlightWork> f,
                                                   std::span<const uint8_t> signature) noexcept {
  const Chosen& c = f->c;
  const crypto::HashAlgo algo = c.suite.hash;
  crypto::Transcript& transcript = f->transcript;
  KeySchedule& schedule = *f->schedule;
  std::vector<uint8_t>& hs = flight_.bytes[1];
  ByteWriter w(std::span<uint8_t>(hs).subspan(f->hs_len));
  size_t at = 0;
  auto absorb = [&]() -> bool {
    const bool ok = transcript.update(w.written().subspan(at)).ok();
    at = w.size();
    return ok;
  };
  if (!f->psk) {
    if (auto ok = write_certificate_verify(w, static_cast<uint16_t>(c.scheme), signature); !ok) {
      return fail(ok.error());
    }
    if (!absorb()) {
      return fail(Error::kCryptoFailure);
    }
  }
  // §4.4.4: verify_data over Handshake Context, Certificate, CertificateVerify.
  auto fin_hash = transcript.digest();
  if (!fin_hash) {
    return fail(Error::kCryptoFailure);
  }
  auto verify_data = finished_verify_data(algo, secrets_.server_handshake.view(), fin_hash->view());
  if (!verify_data) {
    return fail(verify_data.error());
  }
  if (auto ok = write_finished(w, verify_data->view()); !ok) {
    return fail(ok.error());
  }
  if (!absorb()) {
    return fail(Error::kCryptoFailure);
  }
  hs.resize(f->hs_len + w.size());

  // §7.1 Master Secret; application secrets over ClientHello..server Finished.
  auto to_server_fin = transcript.digest();
  if (!to_server_fin || !schedule.add_master()) {
    return fail(Error::kCryptoFailure);
  }
  auto cap = schedule.client_application_traffic_secret(to_server_fin->view());
  auto sap = schedule.server_application_traffic_secret(to_server_fin->view());
  auto exp = schedule.exporter_master_secret(to_server_fin->view());
  if (!cap || !sap || !exp) {
    return fail(Error::kCryptoFailure);
  }
  secrets_.client_application = std::move(*cap);
  secrets_.server_application = std::move(*sap);
  secrets_.exporter_master = std::move(*exp);
  if (f->request_cert) {
    state_.emplace<ReadClientCertificate>(
        ReadClientCertificate{c.suite, std::move(transcript), std::move(schedule)});
  } else {
    state_.emplace<ReadClientFinished>(
        ReadClientFinished{c.suite, std::move(transcript), std::move(schedule),
                           f->psk ? f->psk->client_identity : std::nullopt});
  }
  return {};
}

Result<void, Error> Server13::on_client_certificate(ReadClientCertificate s,
                                                    const HandshakeMessage& m) noexcept {
  // §4.4.2: "The client MUST send a Certificate message if and only if the server has
  // requested client authentication via a CertificateRequest message".
  if (m.type != HandshakeType::kCertificate) {
    return fail(Error::kUnexpectedMessage);
  }
  auto cert = parse_certificate(m.body);
  if (!cert) {
    return fail(cert.error());
  }
  // §4.4.2: certificate_request_context: "If this message is in response to a
  // CertificateRequest, the value of certificate_request_context in that message" (ours is
  // empty).
  if (!cert->request_context.empty()) {
    return fail(Error::kIllegalParameter);
  }
  if (!s.transcript.update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  if (cert->num_entries == 0) {
    // §4.4.2.4: "If the client does not send any certificates (i.e., it sends an empty
    // Certificate message), the server MAY at its discretion either continue the handshake
    // without client authentication or abort the handshake with a "certificate_required"
    // alert."
    if (config_.client_auth == ClientAuth::kRequired) {
      return fail(Error::kCertificateRequired);
    }
    state_.emplace<ReadClientFinished>(
        ReadClientFinished{s.suite, std::move(s.transcript), std::move(s.schedule), {}});
    return {};
  }
  // The chain (and the leaf's key) are checked by a job: copy the certificates out of the
  // message, which does not outlive this call.
  PkJob& j = pk_.start(PkKind::kVerifyChain);
  j.ca = config_.client_ca;
  j.now = now();
  for (size_t i = 0; i < cert->num_entries; i++) {
    j.chain.insert(j.chain.end(), cert->entries[i].begin(), cert->entries[i].end());
    j.chain_lens.push_back(static_cast<uint32_t>(cert->entries[i].size()));
  }
  state_.emplace<AwaitClientChain>(
      AwaitClientChain{s.suite, std::move(s.transcript), std::move(s.schedule)});
  return await_job();
}

Result<void, Error> Server13::on_client_certificate_verify(ReadClientCertificateVerify s,
                                                           const HandshakeMessage& m) noexcept {
  // §4.4.3: "Clients MUST send this message whenever authenticating via a certificate (i.e.,
  // when the Certificate message is non-empty)."
  if (m.type != HandshakeType::kCertificateVerify) {
    return fail(Error::kUnexpectedMessage);
  }
  auto cv = parse_certificate_verify(m.body);
  if (!cv) {
    return fail(cv.error());
  }
  // §4.4.3: "If sent by a client, the signature algorithm used in the signature MUST be one
  // of those present in the supported_signature_algorithms field of the
  // "signature_algorithms" extension in the CertificateRequest message." and "RSASSA-PKCS1-v1_5
  // signature algorithms ... MUST NOT be used"; the scheme must also fit the leaf key.
  auto scheme = crypto::signature_scheme_from_code(cv->scheme);
  const bool offered = std::find(std::begin(kClientSchemes), std::end(kClientSchemes),
                                 cv->scheme) != std::end(kClientSchemes);
  if (!scheme || !offered || !crypto::scheme_allowed(*scheme, crypto::TlsVersion::kTls13) ||
      !crypto::key_supports_scheme(s.client_key.type(), *scheme)) {
    return fail(Error::kIllegalParameter);
  }
  // §4.4.3: the signature covers Transcript-Hash(Handshake Context, Certificate), the
  // context string "TLS 1.3, client CertificateVerify"; "If the verification fails, the
  // receiver MUST terminate the handshake with a "decrypt_error" alert."
  auto h = s.transcript.digest();
  if (!h) {
    return fail(Error::kCryptoFailure);
  }
  const CertificateVerifyContent content = certificate_verify_content(false, h->view());
  if (!s.transcript.update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  PkJob& j = pk_.start(PkKind::kVerify);
  j.scheme = *scheme;
  j.verify_key.emplace(std::move(s.client_key));
  j.message.assign(content.view().begin(), content.view().end());
  j.peer_signature.assign(cv->signature.begin(), cv->signature.end());
  state_.emplace<AwaitClientSignature>(AwaitClientSignature{
      s.suite, std::move(s.transcript), std::move(s.schedule), std::move(s.identity)});
  return await_job();
}

Result<void, Error> Server13::on_client_finished(ReadClientFinished s,
                                                 const HandshakeMessage& m) noexcept {
  if (m.type != HandshakeType::kFinished) {
    return fail(Error::kUnexpectedMessage);
  }
  auto received = parse_finished(m.body, s.suite.hash);
  if (!received) {
    return fail(received.error());
  }
  auto h = s.transcript.digest();
  if (!h) {
    return fail(Error::kCryptoFailure);
  }
  // §4.4.4: "Recipients of Finished messages MUST verify that the contents are correct and
  // if incorrect MUST terminate the connection with a "decrypt_error" alert."
  if (auto ok =
          verify_finished(s.suite.hash, secrets_.client_handshake.view(), h->view(), *received);
      !ok) {
    return fail(ok.error());
  }
  if (!s.transcript.update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  auto to_client_fin = s.transcript.digest();
  if (!to_client_fin) {
    return fail(Error::kCryptoFailure);
  }
  auto res = s.schedule.resumption_master_secret(to_client_fin->view());
  if (!res) {
    return fail(res.error());
  }
  secrets_.resumption_master = std::move(*res);
  peer_identity_ = std::move(s.client_identity);
  state_.emplace<Done>();
  // §4.6.1: tickets go out once the client's Finished is verified.
  return send_tickets();
}

}  // namespace linetls::tls

namespace linetls::tls {

Wait Server13::update_keys(bool request_peer) noexcept {
  if (!std::holds_alternative<Done>(state_)) {
    return wait();
  }
  if (auto ok = send_key_update13(true, request_peer, secrets_, flight_, post_); !ok) {
    error_ = ok.error();
    flight_ = Flight{};
    state_.emplace<Failed>();
    return Wait::kError;
  }
  return Wait::kFlush;
}

}  // namespace linetls::tls
