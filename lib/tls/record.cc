#include "lib/tls/record.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "lib/base/bytes.h"

namespace linetls::tls {

Result<void, Error> Deframer::check_header(const uint8_t* h) const noexcept {
  // §5: "If a TLS implementation receives an unexpected record type, it MUST terminate the
  // connection with an unexpected_message alert."
  if (!is_known_content_type(h[0])) {
    return fail(Error::kBadRecordType);
  }
  // §5.1 legacy_record_version: 0x0303, or 0x0301 on an initial ClientHello. Anything
  // outside 0x03XX is not TLS at all (SSLv2-format hellos start 0x80/0x00).
  const uint16_t version = load_be16(h + 1);
  if ((version >> 8) != 0x03 || (strict_version_ && version != 0x0303)) {
    return fail(Error::kBadRecordVersion);
  }
  const size_t len = load_be16(h + 3);
  if (len > max_fragment_len()) {
    return fail(Error::kRecordOverflow);
  }
  // §5.1: "Implementations MUST NOT send zero-length fragments of Handshake types, even if
  // those fragments contain padding." and alerts are exactly two bytes; so neither may be
  // empty on the wire.
  const auto type = static_cast<ContentType>(h[0]);
  if (len == 0 && (type == ContentType::kHandshake || type == ContentType::kAlert)) {
    return fail(Error::kEmptyFragment);
  }
  return {};
}

Deframer::Deframer(Deframer&& o) noexcept
    : config_(o.config_),
      stats_(o.stats_),
      buf_(std::exchange(o.buf_, nullptr)),
      capacity_(std::exchange(o.capacity_, 0)),
      filled_(std::exchange(o.filled_, 0)),
      held_(std::exchange(o.held_, false)),
      strict_version_(o.strict_version_),
      protected_(o.protected_),
      failed_(o.failed_) {
  std::memcpy(header_, o.header_, sizeof(header_));
}

Deframer& Deframer::operator=(Deframer&& o) noexcept {
  if (this != &o) {
    std::free(buf_);
    config_ = o.config_;
    stats_ = o.stats_;
    std::memcpy(header_, o.header_, sizeof(header_));
    buf_ = std::exchange(o.buf_, nullptr);
    capacity_ = std::exchange(o.capacity_, 0);
    filled_ = std::exchange(o.filled_, 0);
    held_ = std::exchange(o.held_, false);
    strict_version_ = o.strict_version_;
    protected_ = o.protected_;
    failed_ = o.failed_;
  }
  return *this;
}

Deframer::~Deframer() { std::free(buf_); }

void Deframer::release_assembled() noexcept {
  held_ = false;
  if (filled_ == 0) {
    std::free(buf_);
    buf_ = nullptr;
    capacity_ = 0;
  }
}

bool Deframer::grow(size_t need, size_t total) noexcept {
  if (capacity_ >= need) {
    return true;
  }
  // Memory follows the bytes received: double (from 512 bytes), never past this record.
  const size_t cap = std::min(std::max({need, 2 * capacity_, size_t{512}}), total);
  auto* p = static_cast<uint8_t*>(std::realloc(buf_, cap));
  if (p == nullptr) {
    return false;
  }
  buf_ = p;
  capacity_ = cap;
  return true;
}

Result<Deframer::Step, Error> Deframer::next(std::span<uint8_t> piece) noexcept {
  Step step;
  if (failed_) {
    return fail(Error::kInternalError);
  }
  if (piece.empty()) {
    return step;
  }
  if (filled_ == 0 && piece.size() >= kRecordHeaderLen) {
    if (auto ok = check_header(piece.data()); !ok) {
      failed_ = true;
      return fail(ok.error());
    }
    const size_t total = kRecordHeaderLen + load_be16(piece.data() + 3);
    if (piece.size() >= total) {
      step.consumed = total;
      step.has_record = true;
      step.record.type = static_cast<ContentType>(piece[0]);
      step.record.version = load_be16(piece.data() + 1);
      step.record.header = piece.first(kRecordHeaderLen);
      step.record.fragment = piece.subspan(kRecordHeaderLen, total - kRecordHeaderLen);
      stats_.records++;
      return step;
    }
  }
  // The record continues beyond this piece: assemble it (the header in header_, then header
  // and fragment together in buf_ as the fragment's bytes come).
  if (held_) {
    return step;
  }
  size_t used = 0;
  if (filled_ < kRecordHeaderLen) {
    const size_t n = std::min(kRecordHeaderLen - filled_, piece.size());
    std::memcpy(header_ + filled_, piece.data(), n);
    filled_ += n;
    used += n;
    if (filled_ < kRecordHeaderLen) {
      stats_.bytes_copied += n;
      step.consumed = used;
      return step;
    }
    if (auto ok = check_header(header_); !ok) {
      failed_ = true;
      return fail(ok.error());
    }
  }
  const size_t total = kRecordHeaderLen + load_be16(header_ + 3);
  const size_t n = std::min(total - filled_, piece.size() - used);
  // A record with an empty fragment (application data, change_cipher_spec) still gets a
  // buffer: the record returned is a view into it.
  if (n != 0 || filled_ == total) {
    const bool first = capacity_ == 0;
    if (!grow(filled_ + n, total)) {
      failed_ = true;
      return fail(Error::kInternalError);
    }
    if (first) {
      std::memcpy(buf_, header_, kRecordHeaderLen);
    }
    if (n != 0) {
      std::memcpy(buf_ + filled_, piece.data() + used, n);
    }
  }
  filled_ += n;
  used += n;
  stats_.bytes_copied += used;
  step.consumed = used;
  if (filled_ == total) {
    std::span<uint8_t> rec(buf_, total);
    step.has_record = true;
    step.record.type = static_cast<ContentType>(rec[0]);
    step.record.version = load_be16(rec.data() + 1);
    step.record.header = rec.first(kRecordHeaderLen);
    step.record.fragment = rec.subspan(kRecordHeaderLen);
    step.record.assembled = true;
    filled_ = 0;
    held_ = true;
    stats_.records++;
    stats_.assembled++;
  }
  return step;
}

void Deframer::set_max_plaintext_len(size_t n) noexcept {
  config_.max_plaintext_len = std::min(n, kMaxPlaintextLen);
}

Result<InnerPlaintext, Error> parse_inner_plaintext(std::span<uint8_t> plaintext,
                                                    size_t max_plaintext_len) noexcept {
  // §5.4: "The length [of the TLSInnerPlaintext] MUST NOT exceed 2^14 + 1 octets."
  if (plaintext.size() > std::min(max_plaintext_len, kMaxPlaintextLen) + 1) {
    return fail(Error::kPlaintextOverflow);
  }
  // §5.4: "the receiving implementation scans the field from the end toward the beginning
  // until it finds a non-zero octet. This non-zero octet is the content type of the
  // message." Padding length is not secret from the record length, so a plain scan is fine.
  size_t i = plaintext.size();
  while (i > 0 && plaintext[i - 1] == 0) {
    i--;
  }
  if (i == 0) {
    return fail(Error::kAllZeroInnerPlaintext);
  }
  const uint8_t type = plaintext[i - 1];
  if (!is_known_content_type(type)) {
    return fail(Error::kBadRecordType);
  }
  InnerPlaintext out;
  out.type = static_cast<ContentType>(type);
  out.content = plaintext.first(i - 1);
  // §5: "An implementation which ... receives a protected change_cipher_spec record MUST
  // abort the handshake with an unexpected_message alert."
  if (out.type == ContentType::kChangeCipherSpec) {
    return fail(Error::kBadChangeCipherSpec);
  }
  if (out.content.empty() &&
      (out.type == ContentType::kHandshake || out.type == ContentType::kAlert)) {
    return fail(Error::kEmptyFragment);
  }
  return out;
}

Result<void, Error> check_compat_ccs(const Record& rec, const CcsWindow& window) noexcept {
  // §5: "An implementation which receives any other change_cipher_spec value ... MUST abort
  // the handshake with an unexpected_message alert."
  if (rec.fragment.size() != 1 || rec.fragment[0] != 0x01) {
    return fail(Error::kBadChangeCipherSpec);
  }
  // §5: "If an implementation detects a change_cipher_spec record received before the first
  // ClientHello message or after the peer's Finished message, it MUST be treated as an
  // unexpected record type."
  if (!window.first_client_hello_done || window.peer_finished_received) {
    return fail(Error::kUnexpectedChangeCipherSpec);
  }
  return {};
}

void write_record_header(uint8_t* out, ContentType type, uint16_t length,
                         uint16_t version) noexcept {
  out[0] = static_cast<uint8_t>(type);
  store_be16(out + 1, version);
  store_be16(out + 3, length);
}

}  // namespace linetls::tls
