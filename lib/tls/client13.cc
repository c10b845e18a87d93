#include "lib/tls/client13.h"

#include <algorithm>
#include <cstring>

#include "lib/base/bytes.h"
#include "lib/crypto/cert.h"
#include "lib/crypto/sig.h"
#include "lib/tls/hello.h"

namespace linetls::tls {

namespace {

bool same(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

crypto::Rng& rng_of(const ClientConfig13& c) noexcept {
  return c.rng != nullptr ? *c.rng : crypto::os_rng();
}

}  // namespace

Client13::Client13(const ClientConfig13& config) noexcept : config_(config) {}

uint64_t Client13::now_ms() const noexcept { return clock_ms(config_.now_ms); }

std::string_view Client13::state_name() const noexcept { return kStateNames[state_.index()]; }

Wait Client13::wait() const noexcept { return wait_of<Done, Failed>(state_); }

Level Client13::read_level() const noexcept {
  if (std::holds_alternative<Start>(state_) || std::holds_alternative<ReadServerHello>(state_)) {
    return Level::kInitial;
  }
  return std::holds_alternative<Done>(state_) ? Level::kApplication : Level::kHandshake;
}

MessageRules Client13::next_message_rules(size_t max_hello,
                                          size_t max_certificate) const noexcept {
  const auto cap = [](size_t n) { return static_cast<uint32_t>(std::min<size_t>(n, 0xffffff)); };
  MessageRules r;
  r.num = 1;
  if (std::holds_alternative<ReadServerHello>(state_)) {
    r.rule[0] = {HandshakeType::kServerHello, cap(max_hello), std::nullopt};
  } else if (std::holds_alternative<ReadEncryptedExtensions>(state_)) {
    r.rule[0] = {HandshakeType::kEncryptedExtensions, cap(max_hello), std::nullopt};
  } else if (std::holds_alternative<ReadCertificate>(state_)) {
    r.num = 2;
    r.rule[0] = {HandshakeType::kCertificateRequest, cap(max_hello), std::nullopt};
    r.rule[1] = {HandshakeType::kCertificate, cap(max_certificate), std::nullopt};
  } else if (std::holds_alternative<ReadCertificateVerify>(state_)) {
    r.rule[0] = {HandshakeType::kCertificateVerify, kMaxCertificateVerifyLen, std::nullopt};
  } else if (std::holds_alternative<ReadFinished>(state_)) {
    r.rule[0] = {HandshakeType::kFinished, kMaxFinished13Len, std::nullopt};
  } else {
    // Done: tickets (§4.6.1) and the server's KeyUpdate (§4.6.3).
    r.num = 2;
    r.rule[0] = {HandshakeType::kNewSessionTicket, cap(max_hello), std::nullopt};
    r.rule[1] = {HandshakeType::kKeyUpdate, kKeyUpdateLen, std::nullopt};
  }
  return r;
}

Level Client13::write_level() const noexcept {
  // After the ServerHello our alerts (and later our Finished) go under the handshake keys.
  return read_level();
}

Wait Client13::finish_step(Result<void, Error> r) noexcept {
  if (!r) {
    error_ = r.error();
    flight_ = Flight{};
    state_.emplace<Failed>();
    return Wait::kError;
  }
  return flight_.empty() ? wait() : Wait::kFlush;
}

Wait Client13::update_keys(bool request_peer) noexcept {
  if (!std::holds_alternative<Done>(state_)) {
    return wait();
  }
  return finish_step(send_key_update13(false, request_peer, secrets_, flight_, post_));
}

std::span<const uint8_t> Client13::sent_session_id(const ReadServerHello& s) const noexcept {
  // §4.1.2: "In compatibility mode (see Appendix D.4), this field MUST be non-empty"; tests
  // turn compatibility mode off.
  if (config_.empty_session_id) {
    return {};
  }
  return s.session_id;
}

Wait Client13::start() noexcept {
  if (!std::holds_alternative<Start>(state_)) {
    return finish_step(fail(Error::kInternalError));
  }
  ReadServerHello s;
  crypto::Rng& rng = rng_of(config_);
  if (!rng.fill(s.random) || !rng.fill(s.session_id)) {
    return finish_step(fail(Error::kCryptoFailure));
  }
  for (crypto::NamedGroup g : config_.key_share_groups) {
    auto ks = crypto::KeyShare::generate(g, rng);
    if (!ks) {
      return finish_step(fail(Error::kCryptoFailure));
    }
    s.shares.push_back(std::move(*ks));
  }
  if (const Session* ses = config_.session) {
    const crypto::HashAlgo h = suite_info(ses->suite).hash;
    s.psk_offered = std::any_of(config_.cipher_suites.begin(), config_.cipher_suites.end(),
                                [&](CipherSuite c) { return suite_info(c).hash == h; });
  }
  auto r = write_hello(s, {}, nullptr);
  if (r) {
    state_.emplace<ReadServerHello>(std::move(s));
  }
  return finish_step(std::move(r));
}

Result<void, Error> Client13::write_hello(ReadServerHello& s, std::span<const uint8_t> cookie,
                                          const crypto::Transcript* prefix) noexcept {
  std::vector<uint16_t> suites, groups;
  for (CipherSuite c : config_.cipher_suites) {
    suites.push_back(static_cast<uint16_t>(c));
  }
  for (crypto::NamedGroup g : config_.groups) {
    groups.push_back(static_cast<uint16_t>(g));
  }
  std::vector<KeyShareEntry> shares;
  for (const crypto::KeyShare& ks : s.shares) {
    shares.push_back(KeyShareEntry{static_cast<uint16_t>(ks.group()), ks.public_key()});
  }
  std::vector<std::span<const uint8_t>> alpn;
  for (const std::string& a : config_.alpn) {
    alpn.emplace_back(reinterpret_cast<const uint8_t*>(a.data()), a.size());
  }
  ClientHelloParams p;
  p.random = s.random;
  p.session_id = sent_session_id(s);
  p.cipher_suites = suites;
  p.supported_groups = groups;
  p.key_shares = shares;
  p.signature_algorithms = config_.signature_algorithms;
  p.server_name = std::span(reinterpret_cast<const uint8_t*>(config_.server_name.data()),
                            config_.server_name.size());
  p.alpn = alpn;
  p.record_size_limit = config_.record_size_limit;
  p.cookie = cookie;
  p.compression_method = config_.compression_method;
  p.omit_supported_versions = config_.omit_supported_versions;
  p.omit_signature_algorithms = config_.omit_signature_algorithms;
  p.omit_key_share = config_.omit_key_share;
  p.duplicate_supported_groups = config_.duplicate_supported_groups;
  p.early_data = config_.offer_early_data && !prefix;  // §4.2.10: none after an HRR
  const Session* ses = s.psk_offered ? config_.session : nullptr;
  crypto::HashAlgo psk_hash = crypto::HashAlgo::kSha256;
  if (ses != nullptr) {
    p.psk_modes = config_.psk_modes;
    psk_hash = suite_info(ses->suite).hash;
    // §4.2.11.1: obfuscated_ticket_age = (ticket age in ms + ticket_age_add) mod 2^32.
    p.psk_identity = ses->ticket;
    p.psk_obfuscated_age = static_cast<uint32_t>(now_ms() - ses->received_ms) + ses->age_add;
    p.psk_binder_len = crypto::hash_len(psk_hash);
  }
  size_t room = 64 + p.psk_identity.size() + p.psk_binder_len +
      2048 + config_.server_name.size() + cookie.size() + config_.signature_algorithms.size() * 2;
  for (const std::string& a : config_.alpn) {
    room += 1 + a.size();
  }
  s.client_hello.resize(room);
  ByteWriter w(s.client_hello);
  if (auto ok = write_client_hello(w, p); !ok) {
    return ok;
  }
  s.client_hello.resize(w.size());
  if (ses != nullptr) {
    // §4.2.11.2: the binder is a Finished MAC keyed by the "res binder" key over the
    // transcript up to and including the truncated ClientHello.
    KeySchedule early(psk_hash);
    if (!early.start(ses->psk.view())) {
      return fail(Error::kCryptoFailure);
    }
    auto binder_key = early.binder_key(true);
    if (!binder_key) {
      return fail(binder_key.error());
    }
    auto th = prefix != nullptr ? prefix->clone() : crypto::Transcript::create(psk_hash);
    const size_t tail = kPskBindersTail + p.psk_binder_len;
    if (!th || !th->update(std::span(s.client_hello).first(s.client_hello.size() - tail))) {
      return fail(Error::kCryptoFailure);
    }
    auto h = th->digest();
    if (!h) {
      return fail(Error::kCryptoFailure);
    }
    auto binder = finished_verify_data(psk_hash, binder_key->view(), h->view());
    if (!binder) {
      return fail(binder.error());
    }
    std::memcpy(s.client_hello.data() + s.client_hello.size() - p.psk_binder_len,
                binder->view().data(), p.psk_binder_len);
    s.early.emplace(std::move(early));
    if (config_.corrupt_binder) {
      s.client_hello.back() ^= 1;
    }
  }
  flight_.bytes[0].insert(flight_.bytes[0].end(), s.client_hello.begin(), s.client_hello.end());
  return {};
}

Wait Client13::handle(const HandshakeMessage& msg) noexcept {
  Result<void, Error> r = fail(Error::kInternalError);
  State old = std::move(state_);
  state_.emplace<Failed>();
  if (auto* a = std::get_if<ReadServerHello>(&old)) {
    r = on_server_hello(std::move(*a), msg);
  } else if (auto* b = std::get_if<ReadEncryptedExtensions>(&old)) {
    r = on_encrypted_extensions(std::move(*b), msg);
  } else if (auto* c = std::get_if<ReadCertificate>(&old)) {
    r = on_certificate(std::move(*c), msg);
  } else if (auto* d = std::get_if<ReadCertificateVerify>(&old)) {
    r = on_certificate_verify(std::move(*d), msg);
  } else if (auto* e = std::get_if<ReadFinished>(&old)) {
    r = on_finished(std::move(*e), msg);
  } else if (std::holds_alternative<Done>(old)) {
    state_.emplace<Done>();
    r = handle_post_handshake13(false, msg, secrets_, flight_, post_);
    if (r && msg.type == HandshakeType::kNewSessionTicket) {
      r = store_ticket(msg);
    }
  } else if (std::holds_alternative<Failed>(old)) {
    return Wait::kError;
  } else {
    r = fail(Error::kUnexpectedMessage);  // Start: no ClientHello sent yet
  }
  return finish_step(std::move(r));
}

Result<void, Error> Client13::on_server_hello(ReadServerHello s,
                                              const HandshakeMessage& m) noexcept {
  if (m.type != HandshakeType::kServerHello) {
    return fail(Error::kUnexpectedMessage);
  }
  auto sh = parse_server_hello(m.body);
  if (!sh) {
    return fail(sh.error());
  }
  // §4.1.3: "A client which receives a legacy_session_id_echo field that does not match what
  // it sent in the ClientHello MUST abort the handshake with an "illegal_parameter" alert."
  // "A client which receives a cipher suite that was not offered MUST abort the handshake
  // with an "illegal_parameter" alert." §4.2.1: selected_version must be one offered.
  const auto offered = [&](uint16_t suite) {
    return std::any_of(config_.cipher_suites.begin(), config_.cipher_suites.end(),
                       [&](CipherSuite c) { return static_cast<uint16_t>(c) == suite; });
  };
  if (!same(sh->legacy_session_id_echo, sent_session_id(s)) || !offered(sh->cipher_suite) ||
      sh->selected_version != kTls13 || (sh->selected_psk && sh->is_hello_retry_request) ||
      (s.hrr_suite && *s.hrr_suite != sh->cipher_suite)) {
    return fail(Error::kIllegalParameter);
  }
  const SuiteInfo suite = *suite_info(sh->cipher_suite);
  if (sh->is_hello_retry_request) {
    // §4.1.4: "If a client receives a second HelloRetryRequest in the same connection (i.e.,
    // where the ClientHello was itself in response to a HelloRetryRequest), it MUST abort
    // the handshake with an "unexpected_message" alert."
    if (s.hrr_suite) {
      return fail(Error::kUnexpectedMessage);
    }
    // §4.2.8: the selected_group must be in supported_groups and not already have a share;
    // "If either of these checks fails, then the client MUST abort the handshake with an
    // "illegal_parameter" alert."
    auto group = crypto::named_group_from_code(sh->key_share_group);
    const bool supported = group && std::find(config_.groups.begin(), config_.groups.end(),
                                              *group) != config_.groups.end();
    const bool had_share =
        std::any_of(s.shares.begin(), s.shares.end(),
                    [&](const crypto::KeyShare& k) { return group && k.group() == *group; });
    if (!supported || had_share) {
      return fail(Error::kIllegalParameter);
    }
    auto t = crypto::Transcript::create(suite.hash);
    if (!t || !t->update(s.client_hello) || !crypto::restart_with_message_hash(&*t) ||
        !t->update(m.bytes)) {
      return fail(Error::kCryptoFailure);
    }
    s.shares.clear();
    auto ks = crypto::KeyShare::generate(*group, rng_of(config_));
    if (!ks) {
      return fail(Error::kCryptoFailure);
    }
    s.shares.push_back(std::move(*ks));
    hrr_ = true;
    s.hrr_suite = sh->cipher_suite;
    // §4.1.4: the client "SHOULD" drop PSKs whose hash does not match the selected suite.
    if (s.psk_offered && suite_info(config_.session->suite).hash != suite.hash) {
      s.psk_offered = false;
    }
    std::vector<uint8_t> cookie(sh->cookie.begin(), sh->cookie.end());
    if (auto ok = write_hello(s, cookie, &*t); !ok) {
      return ok;
    }
    if (!t->update(s.client_hello)) {
      return fail(Error::kCryptoFailure);
    }
    s.transcript = std::move(*t);
    state_.emplace<ReadServerHello>(std::move(s));
    return {};
  }
  // §4.2.11: "Clients MUST verify that the server's selected_identity is within the range
  // supplied by the client, that the server selected a cipher suite indicating a Hash
  // associated with the PSK ... If these values are not consistent, the client MUST abort
  // the handshake with an "illegal_parameter" alert."
  std::span<const uint8_t> psk;
  if (sh->selected_psk) {
    if (!s.psk_offered || *sh->selected_psk != 0 ||
        suite_info(config_.session->suite).hash != suite.hash) {
      return fail(Error::kIllegalParameter);
    }
    psk = config_.session->psk.view();
    resumed_ = true;
  }
  // §4.2.9: the key exchange mode shows in the key_share: psk_ke, "the server MUST NOT supply
  // a "key_share" value"; psk_dhe_ke, "the client and server MUST supply "key_share" values".
  // "Servers MUST NOT select a key exchange mode that is not listed by the client." A
  // ServerHello without key_share (parse_server_hello lets it through only with
  // pre_shared_key, §4.1.3) is psk_ke: unless we listed it, the key_share we need is missing
  // (§6.2 missing_extension). A key_share with our PSK when we did not list psk_dhe_ke is a
  // mode we did not offer: illegal_parameter.
  const auto listed = [&](uint8_t mode) {
    return std::find(config_.psk_modes.begin(), config_.psk_modes.end(), mode) !=
           config_.psk_modes.end();
  };
  psk_ke_ = sh->key_share.empty();
  if (psk_ke_ && !listed(0)) {
    return fail(Error::kMissingExtension);
  }
  if (!psk_ke_ && resumed_ && !listed(1)) {
    return fail(Error::kIllegalParameter);
  }
  std::optional<crypto::SharedSecret> shared;
  if (!psk_ke_) {
    // §4.2.8: "If using (EC)DHE key establishment and a HelloRetryRequest containing a
    // "key_share" extension was received by the client, the client MUST verify that the
    // selected NamedGroup in the ServerHello is the same as that in the HelloRetryRequest."
    // and the server's share must be for a group we sent a share for.
    const crypto::KeyShare* mine = nullptr;
    for (const crypto::KeyShare& k : s.shares) {
      if (static_cast<uint16_t>(k.group()) == sh->key_share_group) {
        mine = &k;
      }
    }
    if (mine == nullptr) {
      return fail(Error::kIllegalParameter);
    }
    auto secret = mine->derive(sh->key_share);
    if (!secret) {
      return fail(from_crypto(secret.error()));
    }
    shared.emplace(std::move(*secret));
    group_ = mine->group();
  }
  // Without an HRR the transcript starts here: the hash is known only now.
  std::optional<crypto::Transcript> started = std::move(s.transcript);
  if (!started) {
    auto t = crypto::Transcript::create(suite.hash);
    if (!t || !t->update(s.client_hello)) {
      return fail(Error::kCryptoFailure);
    }
    started.emplace(std::move(*t));
  }
  crypto::Transcript transcript = std::move(*started);
  if (!transcript.update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  // §7.1: with psk_ke the (EC)DHE input is the 0-value.
  // A resumption goes on from the schedule the binder was computed with.
  const bool early_started = !psk.empty() && s.early && s.early->algo() == suite.hash;
  KeySchedule schedule = early_started ? std::move(*s.early) : KeySchedule(suite.hash);
  auto h = transcript.digest();
  if (!h || (!early_started && !schedule.start(psk)) ||
      !(shared ? schedule.add_handshake(shared->view()) : schedule.add_handshake_without_dhe())) {
    return fail(Error::kCryptoFailure);
  }
  auto chs = schedule.client_handshake_traffic_secret(h->view());
  auto shs = schedule.server_handshake_traffic_secret(h->view());
  if (!chs || !shs) {
    return fail(Error::kCryptoFailure);
  }
  secrets_.suite = suite;
  secrets_.client_handshake = std::move(*chs);
  secrets_.server_handshake = std::move(*shs);
  state_.emplace<ReadEncryptedExtensions>(
      ReadEncryptedExtensions{suite, std::move(transcript), std::move(schedule)});
  return {};
}

Result<void, Error> Client13::on_encrypted_extensions(ReadEncryptedExtensions s,
                                                      const HandshakeMessage& m) noexcept {
  if (m.type != HandshakeType::kEncryptedExtensions) {
    return fail(Error::kUnexpectedMessage);
  }
  auto ee = parse_encrypted_extensions(m.body);
  if (!ee) {
    return fail(ee.error());
  }
  // RFC 7301 §3.1: the server's protocol must be one the client offered; ALPN we did not ask
  // for is unsolicited (§4.2: unsupported_extension).
  if (!ee->alpn_protocol.empty()) {
    if (config_.alpn.empty()) {
      return fail(Error::kUnsolicitedExtension);
    }
    const std::string_view got(reinterpret_cast<const char*>(ee->alpn_protocol.data()),
                               ee->alpn_protocol.size());
    if (std::find(config_.alpn.begin(), config_.alpn.end(), got) == config_.alpn.end()) {
      return fail(Error::kIllegalParameter);
    }
    alpn_.assign(ee->alpn_protocol.begin(), ee->alpn_protocol.end());
  }
  if ((ee->server_name_ack && config_.server_name.empty()) || ee->early_data ||
      (ee->record_size_limit != 0 && !config_.record_size_limit)) {
    return fail(Error::kUnsolicitedExtension);
  }
  sni_ack_ = ee->server_name_ack;
  peer_record_size_limit_ = ee->record_size_limit;
  if (!s.transcript.update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  if (resumed_) {  // §2.2: authenticated by the PSK, Finished follows
    state_.emplace<ReadFinished>(
        ReadFinished{s.suite, std::move(s.transcript), std::move(s.schedule), std::nullopt});
    return {};
  }
  state_.emplace<ReadCertificate>(
      ReadCertificate{s.suite, std::move(s.transcript), std::move(s.schedule), std::nullopt});
  return {};
}

Result<void, Error> Client13::on_certificate(ReadCertificate s,
                                             const HandshakeMessage& m) noexcept {
  // §4.3.2: "A server which is authenticating with a certificate MAY optionally request a
  // certificate from the client. This message, if sent, MUST follow EncryptedExtensions."
  if (m.type == HandshakeType::kCertificateRequest && !s.request) {
    auto cr = parse_certificate_request(m.body);
    if (!cr) {
      return fail(cr.error());
    }
    // §4.3.2: "This field SHALL be zero length unless used for the post-handshake
    // authentication exchanges".
    if (!cr->request_context.empty()) {
      return fail(Error::kIllegalParameter);
    }
    if (!s.transcript.update(m.bytes)) {
      return fail(Error::kCryptoFailure);
    }
    CertificateRequested req;
    for (size_t i = 0; i + 1 < cr->signature_algorithms.size(); i += 2) {
      req.schemes.push_back(static_cast<uint16_t>(cr->signature_algorithms[i] << 8 |
                                                  cr->signature_algorithms[i + 1]));
    }
    cert_requested_ = true;
    s.request = std::move(req);
    state_.emplace<ReadCertificate>(std::move(s));
    return {};
  }
  if (m.type != HandshakeType::kCertificate) {
    return fail(Error::kUnexpectedMessage);
  }
  auto cert = parse_certificate(m.body);
  if (!cert) {
    return fail(cert.error());
  }
  // §4.4.2: "in the case of server authentication, this field SHALL be zero length."
  if (!cert->request_context.empty()) {
    return fail(Error::kIllegalParameter);
  }
  // §4.4.2.4: "If the server supplies an empty Certificate message, the client MUST abort the
  // handshake with a "decode_error" alert."
  if (cert->num_entries == 0) {
    return fail(Error::kDecodeError);
  }
  if (config_.verify_ca != nullptr) {
    const std::span<const std::span<const uint8_t>> chain(cert->entries, cert->num_entries);
    if (auto ok = config_.verify_ca->verify_server_chain(chain, config_.verify_name); !ok) {
      return fail(from_crypto(ok.error()));
    }
  }
  // The leaf's key and fingerprint; a leaf this thread has parsed before is not parsed again.
  auto leaf = crypto::leaf_key(cert->entries[0]);
  if (!leaf) {
    using Step = crypto::LeafKeyError::Step;
    return fail(leaf.error().step == Step::kParse  ? Error::kBadCertificate
                : leaf.error().step == Step::kKey ? Error::kUnsupportedCertificate
                                                  : Error::kCryptoFailure);
  }
  leaf_sha256_ = leaf->sha256;
  if (!s.transcript.update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  state_.emplace<ReadCertificateVerify>(
      ReadCertificateVerify{s.suite, std::move(s.transcript), std::move(s.schedule),
                            std::move(leaf->key), std::move(s.request)});
  return {};
}

Result<void, Error> Client13::on_certificate_verify(ReadCertificateVerify s,
                                                    const HandshakeMessage& m) noexcept {
  if (m.type != HandshakeType::kCertificateVerify) {
    return fail(Error::kUnexpectedMessage);
  }
  auto cv = parse_certificate_verify(m.body);
  if (!cv) {
    return fail(cv.error());
  }
  // §4.4.3: "If the CertificateVerify message is sent by a server, the signature algorithm
  // MUST be one offered in the client's "signature_algorithms" extension unless no valid
  // certificate chain can be produced without unsupported algorithms."
  auto scheme = crypto::signature_scheme_from_code(cv->scheme);
  const bool offered =
      std::find(config_.signature_algorithms.begin(), config_.signature_algorithms.end(),
                cv->scheme) != config_.signature_algorithms.end();
  if (!scheme || !offered || !crypto::scheme_allowed(*scheme, crypto::TlsVersion::kTls13) ||
      !crypto::key_supports_scheme(s.server_key.type(), *scheme)) {
    return fail(Error::kIllegalParameter);
  }
  auto h = s.transcript.digest();
  if (!h) {
    return fail(Error::kCryptoFailure);
  }
  // §4.4.3: "If the verification fails, the receiver MUST terminate the handshake with a
  // "decrypt_error" alert."
  const CertificateVerifyContent content = certificate_verify_content(true, h->view());
  if (!crypto::verify(s.server_key, *scheme, content.view(), cv->signature)) {
    return fail(Error::kBadCertificateVerify);
  }
  if (!s.transcript.update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  state_.emplace<ReadFinished>(
      ReadFinished{s.suite, std::move(s.transcript), std::move(s.schedule), std::move(s.request)});
  return {};
}

Result<void, Error> Client13::write_client_certificate(ByteWriter& w,
                                                       const CertificateRequested& request,
                                                       crypto::Transcript& transcript) noexcept {
  // §4.4.2: "If the server requests client authentication but no suitable certificate is
  // available, the client MUST send a Certificate message containing no certificates."
  const crypto::CertifiedKey* key = config_.certificate;
  std::optional<crypto::SignatureScheme> scheme;
  if (key != nullptr) {
    auto chosen = crypto::choose_scheme(key->key(), request.schemes, crypto::TlsVersion::kTls13);
    if (chosen) {
      scheme = *chosen;
    }
  }
  std::vector<std::span<const uint8_t>> chain;
  if (scheme) {
    for (const crypto::Certificate& c : key->chain()) {
      chain.push_back(c.der());
    }
  }
  const size_t at = w.size();
  if (auto ok = write_certificate(w, chain, request.context); !ok) {
    return ok;
  }
  if (!transcript.update(w.written().subspan(at))) {
    return fail(Error::kCryptoFailure);
  }
  if (!scheme) {
    return {};
  }
  // §4.4.3: the signature covers Transcript-Hash(Handshake Context, Certificate) under the
  // context string "TLS 1.3, client CertificateVerify".
  auto h = transcript.digest();
  if (!h) {
    return fail(Error::kCryptoFailure);
  }
  const CertificateVerifyContent content = certificate_verify_content(false, h->view());
  std::vector<uint8_t> sig(key->key().max_signature_len());
  auto sig_len = crypto::sign(key->key(), *scheme, content.view(), sig);
  if (!sig_len) {
    return fail(Error::kCryptoFailure);
  }
  const size_t cv_at = w.size();
  if (auto ok = write_certificate_verify(w, static_cast<uint16_t>(*scheme),
                                         std::span(sig).first(*sig_len));
      !ok) {
    return ok;
  }
  if (!transcript.update(w.written().subspan(cv_at))) {
    return fail(Error::kCryptoFailure);
  }
  cert_sent_ = true;
  return {};
}

Result<void, Error> Client13::on_finished(ReadFinished s, const HandshakeMessage& m) noexcept {
  if (m.type != HandshakeType::kFinished) {
    return fail(Error::kUnexpectedMessage);
  }
  const crypto::HashAlgo algo = s.suite.hash;
  auto received = parse_finished(m.body, algo);
  if (!received) {
    return fail(received.error());
  }
  auto h = s.transcript.digest();
  if (!h) {
    return fail(Error::kCryptoFailure);
  }
  if (auto ok = verify_finished(algo, secrets_.server_handshake.view(), h->view(), *received);
      !ok) {
    return fail(ok.error());
  }
  if (!s.transcript.update(m.bytes)) {
    return fail(Error::kCryptoFailure);
  }
  auto to_server_fin = s.transcript.digest();
  if (!to_server_fin || !s.schedule.add_master()) {
    return fail(Error::kCryptoFailure);
  }
  auto cap = s.schedule.client_application_traffic_secret(to_server_fin->view());
  auto sap = s.schedule.server_application_traffic_secret(to_server_fin->view());
  auto exp = s.schedule.exporter_master_secret(to_server_fin->view());
  if (!cap || !sap || !exp) {
    return fail(Error::kCryptoFailure);
  }
  secrets_.client_application = std::move(*cap);
  secrets_.server_application = std::move(*sap);
  secrets_.exporter_master = std::move(*exp);
  std::vector<uint8_t>& out = flight_.bytes[1];
  size_t room = 64 + crypto::kMaxHashLen;
  if (s.request && config_.certificate != nullptr) {
    room += config_.certificate->key().max_signature_len() + s.request->context.size();
    for (const crypto::Certificate& c : config_.certificate->chain()) {
      room += 5 + c.der().size();
    }
  }
  out.resize(room);
  ByteWriter w(out);
  if (s.request) {
    if (auto ok = write_client_certificate(w, *s.request, s.transcript); !ok) {
      return ok;
    }
  }
  // §4.4.4: the client's verify_data covers the transcript through its CertificateVerify.
  auto to_client_cv = s.transcript.digest();
  if (!to_client_cv) {
    return fail(Error::kCryptoFailure);
  }
  auto verify_data =
      finished_verify_data(algo, secrets_.client_handshake.view(), to_client_cv->view());
  if (!verify_data) {
    return fail(Error::kCryptoFailure);
  }
  const size_t fin_at = w.size();
  if (auto ok = write_finished(w, verify_data->view()); !ok) {
    return ok;
  }
  out.resize(w.size());
  if (!s.transcript.update(std::span(out).subspan(fin_at))) {
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
  state_.emplace<Done>();
  return {};
}

Result<void, Error> Client13::store_ticket(const HandshakeMessage& m) noexcept {
  auto nst = parse_new_session_ticket(m.body);
  if (!nst) {
    return fail(nst.error());
  }
  // §4.6.1: "The value of zero indicates that the ticket should be discarded immediately."
  if (nst->ticket_lifetime == 0) {
    return {};
  }
  auto psk =
      resumption_psk(secrets_.suite.hash, secrets_.resumption_master.view(), nst->ticket_nonce);
  if (!psk) {
    return fail(psk.error());
  }
  Session ses;
  ses.ticket.assign(nst->ticket.begin(), nst->ticket.end());
  ses.psk = std::move(*psk);
  ses.suite = secrets_.suite.suite;
  ses.lifetime_s = nst->ticket_lifetime;
  ses.age_add = nst->ticket_age_add;
  ses.received_ms = now_ms();
  sessions_.push_back(std::move(ses));
  return {};
}

}  // namespace linetls::tls
