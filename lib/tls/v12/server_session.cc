#include "lib/tls/v12/server_session.h"

#include <algorithm>
#include <type_traits>

#include "lib/tls/hello.h"

namespace linetls::tls {

namespace {

template <typename... Fs>
struct Overload : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
Overload(Fs...) -> Overload<Fs...>;

// Which alternative a generic lambda got.
template <typename S>
constexpr bool kIs13 = std::is_same_v<S, ServerSession13> || std::is_same_v<S, ClientSession13>;
template <typename S>
constexpr bool kIsServer =
    std::is_same_v<S, ServerSession13> || std::is_same_v<S, v12::ServerSession12>;
// The half of an AnySlot a session of type S uses.
template <typename S>
auto* slot_of(AnySlot* a) noexcept {
  if constexpr (kIs13<S>) {
    return &a->s13;
  } else {
    return &a->s12;
  }
}
template <typename S>
const auto& slot_of(const AnySlot& a) noexcept {
  if constexpr (kIs13<S>) {
    return a.s13;
  } else {
    return a.s12;
  }
}

// fail() is also a member here.
Unexpected<Error> err(Error e) noexcept { return ::linetls::fail(e); }

constexpr uint8_t kFatal = 2;
constexpr size_t kAlertRecordLen = kRecordHeaderLen + 2;

}  // namespace

ServerSession::ServerSession(const ServerSessionConfig& config,
                             const SessionLimits& limits) noexcept
    : config_(config), limits_(limits), reasm_(limits.max_client_hello) {}

ServerSession::ServerSession(const ClientSessionConfig& config,
                             const SessionLimits& limits) noexcept
    : limits_(limits), reasm_(limits.max_client_hello) {
  if (config.version == kTls12 && config.tls12 != nullptr) {
    s_.emplace<v12::ClientSession12>(*config.tls12, limits);
  } else if (config.version == kTls13 && config.tls13 != nullptr) {
    s_.emplace<ClientSession13>(*config.tls13, limits);
  } else {
    queue_alert(Error::kInternalError);  // no configuration for that version
    alert_handed_out_ = true;            // nothing was said to the peer: no alert to send
  }
}

// ---- Picking the version.

Result<Deframer::Step, Error> ServerSession::next(std::span<uint8_t> piece) noexcept {
  return std::visit(Overload{[&](Picking&) { return next_before_version(piece); },
                             [&](auto& s) { return s.next(piece); }},
                    s_);
}

Result<Deframer::Step, Error> ServerSession::next_before_version(
    std::span<uint8_t> piece) noexcept {
  if (error_) {
    return err(*error_);
  }
  Deframer::Step out;
  if (replay_pending_) {
    return out;  // the last record was handed out; accept() must come first
  }
  // RFC 5246 §E.2: an SSL 2.0 ClientHello starts with a 2-byte header with the high bit set;
  // a TLS record starts with a content type (20..23). The first byte tells which: only a
  // possible SSLv2 hello is held back (3 bytes) from the deframer.
  if (first_len_ < 3 && !piece.empty()) {
    if (first_len_ == 0 && (piece[0] & 0x80) == 0) {
      first_len_ = 3;  // a TLS record (or garbage the deframer names)
    } else {
      const size_t n = std::min(piece.size(), 3 - first_len_);
      std::copy_n(piece.begin(), n, first_ + first_len_);
      first_len_ += n;
      out.consumed = n;
      if (first_len_ < 3) {
        return out;
      }
      // Not a TLS record whatever follows: protocol_version for an SSLv2 hello, else the
      // unknown record type it starts with.
      const Error e = v12::is_sslv2_client_hello({first_, first_len_}) ? Error::kProtocolVersion
                                                                        : Error::kBadRecordType;
      queue_alert(e);
      return err(e);
    }
  }
  auto step = deframer_.next(piece);
  if (!step) {
    queue_alert(step.error());
    return err(step.error());
  }
  out.consumed = step->consumed;
  if (!step->has_record) {
    return out;
  }
  const bool picked = take_first_record(step->record);
  if (step->record.assembled) {
    deframer_.release_assembled();
  }
  if (error_) {
    return err(*error_);
  }
  if (picked) {
    // Hand the engine the last record (our copy): its accept() replays everything.
    Record rec;
    rec.type = ContentType::kHandshake;
    rec.version = record_version_;
    std::span<uint8_t> last = std::span<uint8_t>(replay_).subspan(last_record_at_);
    rec.header = last.first(kRecordHeaderLen);
    rec.fragment = last.subspan(kRecordHeaderLen);
    out.has_record = true;
    out.record = rec;
  }
  return out;
}

bool ServerSession::take_first_record(const Record& rec) noexcept {
  // RFC 8446 §5.1: "if a handshake message is split over two or more records, there MUST NOT
  // be any other records between them."
  if (rec.type != ContentType::kHandshake && reasm_.mid_message()) {
    queue_alert(Error::kInterleavedRecord);
    return false;
  }
  if (rec.type == ContentType::kChangeCipherSpec) {
    queue_alert(Error::kUnexpectedChangeCipherSpec);
    return false;
  }
  if (rec.type != ContentType::kHandshake) {
    queue_alert(Error::kUnexpectedMessage);
    return false;
  }
  if (prefix_.empty() && !reasm_.mid_message()) {
    record_version_ = rec.version;
  }
  std::span<const uint8_t> rest = rec.fragment;
  std::optional<HandshakeMessage> hello;
  // The first message must be a ClientHello of at most limits.max_client_hello bytes: checked
  // on its header, before its body is buffered.
  const MessageRule hello_rule{
      HandshakeType::kClientHello,
      static_cast<uint32_t>(std::min<size_t>(limits_.max_client_hello, 0xffffff)), std::nullopt};
  while (!rest.empty()) {
    auto step = reasm_.next(rest, {&hello_rule, 1});
    if (!step) {
      queue_alert(step.error());
      return false;
    }
    rest = rest.subspan(step->consumed);
    if (step->has_message) {
      hello = step->message;
      break;
    }
  }
  if (!hello) {
    // The message goes on in the next record. The reassembler checked its length against
    // the limit, so prefix_ stays below it too.
    prefix_.insert(prefix_.end(), rec.fragment.begin(), rec.fragment.end());
    return false;
  }
  if (hello->type != HandshakeType::kClientHello) {
    queue_alert(Error::kUnexpectedMessage);
    return false;
  }
  // The records to replay: the earlier bytes re-framed, then this record as it came. Built
  // first, so the ClientHello is parsed (once) in the copy the machine will read: when the
  // message lies inside this record, its parse goes to the machine with the replay.
  replay_.clear();
  replay_.reserve(prefix_.size() + (prefix_.size() / kMaxPlaintextLen + 2) * kRecordHeaderLen +
                  rec.fragment.size());
  for (size_t at = 0; at < prefix_.size(); at += kMaxPlaintextLen) {
    const size_t n = std::min(kMaxPlaintextLen, prefix_.size() - at);
    const size_t h = replay_.size();
    replay_.resize(h + kRecordHeaderLen);
    write_record_header(replay_.data() + h, ContentType::kHandshake, static_cast<uint16_t>(n),
                        record_version_);
    replay_.insert(replay_.end(), prefix_.begin() + at, prefix_.begin() + at + n);
  }
  last_record_at_ = replay_.size();
  replay_.insert(replay_.end(), rec.header.begin(), rec.header.end());
  replay_.insert(replay_.end(), rec.fragment.begin(), rec.fragment.end());
  std::span<const uint8_t> body = hello->body;
  const bool in_record = prefix_.empty() && !hello->assembled &&
                         body.data() >= rec.fragment.data() &&
                         body.data() + body.size() <= rec.fragment.data() + rec.fragment.size();
  if (in_record) {
    body = std::span<const uint8_t>(replay_).subspan(
        last_record_at_ + kRecordHeaderLen + static_cast<size_t>(body.data() - rec.fragment.data()),
        body.size());
  }
  auto ch = parse_client_hello(body);
  if (!ch) {
    queue_alert(ch.error());
    return false;
  }
  // Per thread: the machine reads it at this connection's replay, which may come after other
  // connections picked their versions (a full batch); its body check then falls back.
  static thread_local ParsedClientHello parsed;
  parsed.hello = *ch;
  parsed.body = body;
  auto version = v12::select_version(*ch, config_.versions);
  if (!version) {
    queue_alert(version.error());
    return false;
  }
  if ((*version == kTls13 && config_.tls13 == nullptr) ||
      (*version == kTls12 && config_.tls12 == nullptr)) {
    queue_alert(Error::kInternalError);
    return false;
  }
  prefix_ = std::vector<uint8_t>();  // (= {} would keep the capacity)
  picked_stats_ = deframer_.stats();

  if (*version == kTls13) {
    auto& s13 = s_.emplace<ServerSession13>(*config_.tls13, limits_);
    s13.set_pk_offload(config_.pk_offload);
    if (in_record) {
      s13.machine().set_parsed_client_hello(&parsed);
    }
  } else {
    auto& s12 = s_.emplace<v12::ServerSession12>(*config_.tls12, limits_);
    s12.set_pk_offload(config_.pk_offload);
    if (in_record) {
      s12.machine().set_parsed_client_hello(&parsed);
    }
  }
  replay_pending_ = true;
  // The machine's session deframes from now on: give back the buffers picking used (the
  // assembly buffer is a whole record), so a connection does not carry two.
  deframer_ = Deframer();
  reasm_ = HandshakeReassembler(limits_.max_client_hello);
  return true;
}

Result<ServerSession::Accepted, Error> ServerSession::replay(crypto::AeadBatch& batch,
                                                            AnySlot* slot,
                                                            void* user_data) noexcept {
  replay_pending_ = false;
  std::vector<uint8_t> bytes = std::move(replay_);
  replay_ = std::vector<uint8_t>();
  std::span<uint8_t> rest(bytes);
  return std::visit(
      Overload{[&](Picking&) -> Result<Accepted, Error> { return err(Error::kInternalError); },
               [&](auto& s) -> Result<Accepted, Error> {
                 // Every replayed record is plaintext handshake, handled at once. The
                 // last completes the ClientHello, whose public-key job may then be out.
                 while (!rest.empty() && !s.input_closed()) {
                   if (s.pk_pending()) {
                     s.fail(Error::kInternalError);  // nothing can follow the ClientHello
                     return err(Error::kInternalError);
                   }
                   auto step = s.next(rest);
                   if (!step) {
                     return err(step.error());
                   }
                   rest = rest.subspan(step->consumed);
                   if (!step->has_record) {
                     continue;
                   }
                   Result<Accepted, Error> a = [&]() -> Result<Accepted, Error> {
                     using S = std::decay_t<decltype(s)>;
                     auto r = s.accept(step->record, batch, slot_of<S>(slot), user_data);
                     if (!r) {
                       return err(r.error());
                     }
                     return *r;
                   }();
                   if (!a) {
                     return a;
                   }
                   if (*a != Accepted::kHandled) {
                     // A plaintext handshake record is never queued.
                     s.fail(Error::kInternalError);
                     return err(Error::kInternalError);
                   }
                 }
                 return Accepted::kHandled;
               }},
      s_);
}

// ---- Input.

Result<ServerSession::Accepted, Error> ServerSession::accept(const Record& rec,
                                                            crypto::AeadBatch& batch,
                                                            AnySlot* slot,
                                                            void* user_data) noexcept {
  if (replay_pending_) {
    return replay(batch, slot, user_data);
  }
  return std::visit(
      Overload{[&](Picking&) -> Result<Accepted, Error> {
                 return err(error_.value_or(Error::kInternalError));
               },
               [&](auto& s) -> Result<Accepted, Error> {
                 using S = std::decay_t<decltype(s)>;
                 auto r = s.accept(rec, batch, slot_of<S>(slot), user_data);
                 if (!r) {
                   return err(r.error());
                 }
                 return *r;
               }},
      s_);
}

bool ServerSession::pk_pending() const noexcept {
  return std::visit(Overload{[](const Picking&) { return false; },
                             [](const auto& s) { return s.pk_pending(); }},
                    s_);
}

std::unique_ptr<PkJob> ServerSession::take_pk_job() noexcept {
  return std::visit(Overload{[](Picking&) -> std::unique_ptr<PkJob> { return nullptr; },
                             [](auto& s) { return s.take_pk_job(); }},
                    s_);
}

void ServerSession::complete_pk(std::unique_ptr<PkJob> job) noexcept {
  std::visit(Overload{[](Picking&) {}, [&](auto& s) { s.complete_pk(std::move(job)); }}, s_);
}

bool ServerSession::barrier() const noexcept {
  return std::visit(Overload{[](const Picking&) { return false; },
                             [](const auto& s) { return s.barrier(); }},
                    s_);
}

Result<std::span<uint8_t>, Error> ServerSession::on_opened(crypto::AeadStatus status,
                                                          const AnySlot& slot) noexcept {
  return std::visit(
      Overload{[&](Picking&) -> Result<std::span<uint8_t>, Error> {
                 return err(Error::kInternalError);  // nothing is queued before a machine
               },
               [&](auto& s) {
                 return s.on_opened(status, slot_of<std::decay_t<decltype(s)>>(slot));
               }},
      s_);
}

// ---- Output.

ServerSession::Out ServerSession::next_output(size_t max_content) const noexcept {
  return std::visit(Overload{[&](const Picking&) {
                               Out o;
                               if (error_ && !alert_handed_out_ && stats_.alert_sent) {
                                 o.kind = OutKind::kAlert;
                                 o.record_len = kAlertRecordLen;
                               }
                               return o;
                             },
                             [&](const auto& s) { return s.next_output(max_content); }},
                    s_);
}

Result<size_t, Error> ServerSession::write_control(std::span<uint8_t> out, size_t max_content,
                                                   crypto::AeadBatch& batch, AnySlot* slot,
                                                   void* user_data) noexcept {
  return std::visit(
      Overload{[&](Picking&) -> Result<size_t, Error> {
                 if (!error_ || alert_handed_out_ || !stats_.alert_sent) {
                   return size_t{0};
                 }
                 if (out.size() < kAlertRecordLen) {
                   return err(Error::kInternalError);
                 }
                 write_record_header(out.data(), ContentType::kAlert, 2);
                 out[kRecordHeaderLen] = kFatal;
                 out[kRecordHeaderLen + 1] = *stats_.alert_sent;
                 alert_handed_out_ = true;
                 return kAlertRecordLen;
               },
               [&](auto& s) {
                 return s.write_control(out, max_content, batch,
                                        slot_of<std::decay_t<decltype(s)>>(slot), user_data);
               }},
      s_);
}

bool ServerSession::app_writable() const noexcept {
  return std::visit(Overload{[](const Picking&) { return false; },
                             [](const auto& s) { return s.app_writable(); }},
                    s_);
}

size_t ServerSession::max_app_content() const noexcept {
  return std::visit(Overload{[](const Picking&) { return kMaxPlaintextLen; },
                             [](const auto& s) { return s.max_app_content(); }},
                    s_);
}

size_t ServerSession::record_len(size_t content_len) const noexcept {
  return std::visit(Overload{[&](const Picking&) { return ServerSession13::record_len(content_len); },
                             [&](const auto& s) { return s.record_len(content_len); }},
                    s_);
}

size_t ServerSession::content_offset() const noexcept {
  return std::visit(Overload{[](const Picking&) { return kRecordHeaderLen; },
                             [](const auto& s) -> size_t {
                               if constexpr (kIs13<std::decay_t<decltype(s)>>) {
                                 return kRecordHeaderLen;
                               } else {
                                 return s.content_offset();
                               }
                             }},
                    s_);
}

Result<bool, Error> ServerSession::seal_app(std::span<uint8_t> record, size_t content_len,
                                           crypto::AeadBatch& batch, AnySlot* slot,
                                           void* user_data) noexcept {
  return std::visit(
      Overload{[&](Picking&) -> Result<bool, Error> { return false; },
               [&](auto& s) {
                 return s.seal_app(record, content_len, batch,
                                   slot_of<std::decay_t<decltype(s)>>(slot), user_data);
               }},
      s_);
}

void ServerSession::batch_done() noexcept {
  std::visit(Overload{[](Picking&) {}, [](auto& s) { s.batch_done(); }}, s_);
}

void ServerSession::park_keys() noexcept {
  std::visit(Overload{[](Picking&) {}, [](auto& s) { s.park_keys(); }}, s_);
}

// ---- Lifecycle.

void ServerSession::queue_alert(Error e) noexcept {
  if (error_) {
    return;
  }
  error_ = e;
  stats_.alert_sent = static_cast<uint8_t>(to_alert(e));
}

void ServerSession::close() noexcept {
  // Before a machine exists nothing was said: closing then is failing the handshake.
  std::visit(Overload{[&](Picking&) { queue_alert(Error::kUserCanceled); },
                      [](auto& s) { s.close(); }},
             s_);
}

void ServerSession::fail(Error e) noexcept {
  std::visit(Overload{[&](Picking&) { queue_alert(e); }, [&](auto& s) { s.fail(e); }}, s_);
}

bool ServerSession::handshake_done() const noexcept {
  return std::visit(Overload{[](const Picking&) { return false; },
                             [](const auto& s) { return s.handshake_done(); }},
                    s_);
}

bool ServerSession::take_handshake_completed() noexcept {
  return std::visit(Overload{[](Picking&) { return false; },
                             [](auto& s) { return s.take_handshake_completed(); }},
                    s_);
}

bool ServerSession::peer_closed() const noexcept {
  return std::visit(Overload{[](const Picking&) { return false; },
                             [](const auto& s) { return s.peer_closed(); }},
                    s_);
}

bool ServerSession::input_closed() const noexcept {
  return std::visit(Overload{[&](const Picking&) { return error_.has_value(); },
                             [](const auto& s) { return s.input_closed(); }},
                    s_);
}

bool ServerSession::closed() const noexcept {
  return std::visit(
      Overload{[&](const Picking&) { return alert_handed_out_ || (error_ && !stats_.alert_sent); },
               [](const auto& s) { return s.closed(); }},
      s_);
}

std::optional<Error> ServerSession::error() const noexcept {
  return std::visit(Overload{[&](const Picking&) { return error_; },
                             [](const auto& s) { return s.error(); }},
                    s_);
}

const SessionStats& ServerSession::stats() const noexcept {
  return std::visit(Overload{[&](const Picking&) -> const SessionStats& { return stats_; },
                             [](const auto& s) -> const SessionStats& { return s.stats(); }},
                    s_);
}

Deframer::Stats ServerSession::deframer_stats() const noexcept {
  Deframer::Stats d = std::holds_alternative<Picking>(s_) ? deframer_.stats() : picked_stats_;
  std::visit(Overload{[](const Picking&) {},
                      [&](const auto& s) {
                        d.records += s.deframer_stats().records;
                        d.assembled += s.deframer_stats().assembled;
                        d.bytes_copied += s.deframer_stats().bytes_copied;
                      }},
             s_);
  return d;
}

size_t ServerSession::buffered_bytes() const noexcept {
  return std::visit(
      Overload{[&](const Picking&) {
                 return deframer_.assembly_capacity() + reasm_.capacity() + prefix_.capacity() +
                        replay_.capacity();
               },
               [&](const auto& s) { return s.buffered_bytes() + replay_.capacity(); }},
      s_);
}

// ---- What was negotiated.

uint16_t ServerSession::version() const noexcept {
  return std::visit(Overload{[](const Picking&) -> uint16_t { return 0; },
                             [](const auto& s) -> uint16_t {
                               return kIs13<std::decay_t<decltype(s)>> ? kTls13 : kTls12;
                             }},
                    s_);
}

std::string_view ServerSession::suite_name() const noexcept {
  return std::visit(
      Overload{[](const Picking&) -> std::string_view { return ""; },
               [](const auto& s) -> std::string_view {
                 const char* name;
                 if constexpr (kIs13<std::decay_t<decltype(s)>>) {
                   name = s.machine().secrets().suite.name;
                 } else {
                   name = s.machine().suite().name;
                 }
                 return name != nullptr ? name : "";
               }},
      s_);
}

uint16_t ServerSession::suite_code() const noexcept {
  return std::visit(Overload{[](const Picking&) -> uint16_t { return 0; },
                             [](const auto& s) -> uint16_t {
                               if constexpr (kIs13<std::decay_t<decltype(s)>>) {
                                 return static_cast<uint16_t>(s.machine().secrets().suite.suite);
                               } else {
                                 return static_cast<uint16_t>(s.machine().suite().suite);
                               }
                             }},
                    s_);
}

crypto::NamedGroup ServerSession::group() const noexcept {
  return std::visit(
      Overload{[](const Picking&) { return crypto::NamedGroup::kX25519; },
               [](const auto& s) { return s.machine().group(); }},
      s_);
}

bool ServerSession::resumed() const noexcept {
  return std::visit(Overload{[](const Picking&) { return false; },
                             [](const auto& s) { return s.machine().resumed(); }},
                    s_);
}

bool ServerSession::hello_retry_request_sent() const noexcept {
  const auto* s = session13();
  return s != nullptr && s->machine().sent_hello_retry_request();
}

std::span<const uint8_t> ServerSession::alpn() const noexcept {
  return std::visit(
      Overload{[](const Picking&) { return std::span<const uint8_t>(); },
               [](const auto& s) { return s.machine().alpn(); }},
      s_);
}

std::span<const uint8_t> ServerSession::server_name() const noexcept {
  return std::visit(
      Overload{[](const Picking&) { return std::span<const uint8_t>(); },
               [](const auto& s) {
                 if constexpr (kIsServer<std::decay_t<decltype(s)>>) {
                   return s.machine().server_name();
                 } else {
                   return std::span<const uint8_t>();  // ours: the config has it
                 }
               }},
      s_);
}

size_t ServerSession::certificate_index() const noexcept {
  return std::visit(Overload{[](const Picking&) { return size_t{0}; },
                             [](const auto& s) -> size_t {
                               if constexpr (kIsServer<std::decay_t<decltype(s)>>) {
                                 return s.machine().certificate_index();
                               } else {
                                 return 0;
                               }
                             }},
                    s_);
}

bool ServerSession::client_certificate_missing() const noexcept {
  if (const auto* s12 = std::get_if<v12::ServerSession12>(&s_)) {
    return s12->machine().client_certificate_missing();
  }
  if (const auto* s13 = std::get_if<ServerSession13>(&s_)) {
    return s13->error() == Error::kCertificateRequired;
  }
  return false;
}

const crypto::VerifiedIdentity* ServerSession::client_identity() const noexcept {
  const std::optional<crypto::VerifiedIdentity>* id = std::visit(
      Overload{[](const Picking&) -> const std::optional<crypto::VerifiedIdentity>* {
                 return nullptr;
               },
               [](const ServerSession13& s) -> const std::optional<crypto::VerifiedIdentity>* {
                 return &s.machine().peer_identity();
               },
               [](const v12::ServerSession12& s)
                   -> const std::optional<crypto::VerifiedIdentity>* {
                 return &s.machine().client_identity();
               },
               [](const auto&) -> const std::optional<crypto::VerifiedIdentity>* {
                 return nullptr;  // a client session: the server's certificate is not ours
               }},
      s_);
  return id != nullptr && id->has_value() ? &**id : nullptr;
}

// ---- Client sessions.

std::vector<Session> ServerSession::take_tickets13() noexcept {
  if (auto* c = std::get_if<ClientSession13>(&s_)) {
    return c->machine().take_sessions();
  }
  return {};
}

std::optional<v12::SavedSession12> ServerSession::saved_session12() const {
  if (const auto* c = std::get_if<v12::ClientSession12>(&s_); c != nullptr && c->handshake_done()) {
    return c->machine().saved_session();
  }
  return std::nullopt;
}

bool ServerSession::is_client() const noexcept {
  return std::holds_alternative<ClientSession13>(s_) ||
         std::holds_alternative<v12::ClientSession12>(s_);
}

}  // namespace linetls::tls
