#include "lib/tls/handshake_msg.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "lib/base/bytes.h"

namespace linetls::tls {

const char* handshake_type_name(uint8_t type) noexcept {
  switch (type) {
    case 0:
      return "hello_request";
    case 1:
      return "client_hello";
    case 2:
      return "server_hello";
    case 4:
      return "new_session_ticket";
    case 5:
      return "end_of_early_data";
    case 8:
      return "encrypted_extensions";
    case 11:
      return "certificate";
    case 12:
      return "server_key_exchange";
    case 13:
      return "certificate_request";
    case 14:
      return "server_hello_done";
    case 15:
      return "certificate_verify";
    case 16:
      return "client_key_exchange";
    case 20:
      return "finished";
    case 24:
      return "key_update";
    default:
      return nullptr;
  }
}

namespace {

uint32_t load_be24(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
}

HandshakeMessage make_message(std::span<const uint8_t> bytes, bool assembled) noexcept {
  HandshakeMessage m;
  m.type = static_cast<HandshakeType>(bytes[0]);
  m.bytes = bytes;
  m.body = bytes.subspan(kHandshakeHeaderLen);
  m.assembled = assembled;
  return m;
}

}  // namespace

HandshakeReassembler::HandshakeReassembler(HandshakeReassembler&& o) noexcept
    : max_message_len_(o.max_message_len_),
      buf_(std::exchange(o.buf_, nullptr)),
      capacity_(std::exchange(o.capacity_, 0)),
      filled_(std::exchange(o.filled_, 0)),
      total_(std::exchange(o.total_, 0)),
      num_assembled_(o.num_assembled_),
      handed_out_(std::exchange(o.handed_out_, false)),
      failed_(o.failed_) {
  std::memcpy(header_, o.header_, sizeof(header_));
}

HandshakeReassembler& HandshakeReassembler::operator=(HandshakeReassembler&& o) noexcept {
  if (this != &o) {
    std::free(buf_);
    max_message_len_ = o.max_message_len_;
    std::memcpy(header_, o.header_, sizeof(header_));
    buf_ = std::exchange(o.buf_, nullptr);
    capacity_ = std::exchange(o.capacity_, 0);
    filled_ = std::exchange(o.filled_, 0);
    total_ = std::exchange(o.total_, 0);
    num_assembled_ = o.num_assembled_;
    handed_out_ = std::exchange(o.handed_out_, false);
    failed_ = o.failed_;
  }
  return *this;
}

HandshakeReassembler::~HandshakeReassembler() { std::free(buf_); }

void HandshakeReassembler::release() noexcept {
  std::free(buf_);
  buf_ = nullptr;
  capacity_ = 0;
  handed_out_ = false;
}

void HandshakeReassembler::trim() noexcept {
  if (filled_ == 0) {
    release();
  }
}

bool HandshakeReassembler::grow(size_t need) noexcept {
  if (capacity_ >= need) {
    return true;
  }
  // As the bytes arrive: double what is held (at least 256 bytes), never past the message.
  size_t cap = std::max({need, 2 * capacity_, size_t{256}});
  cap = std::min(cap, total_);
  auto* p = static_cast<uint8_t*>(std::realloc(buf_, cap));
  if (p == nullptr) {
    return false;
  }
  buf_ = p;
  capacity_ = cap;
  return true;
}

Result<void, Error> HandshakeReassembler::check_header(
    const uint8_t* h, std::span<const MessageRule> rules) const noexcept {
  if (handshake_type_name(h[0]) == nullptr) {
    return fail(Error::kUnknownHandshakeType);
  }
  const uint32_t len = load_be24(h + 1);
  if (rules.empty()) {
    if (len > max_message_len_) {
      return fail(Error::kHandshakeMessageTooLarge);
    }
    return {};
  }
  for (const MessageRule& rule : rules) {
    if (static_cast<uint8_t>(rule.type) != h[0]) {
      continue;
    }
    if (rule.refuse) {
      return fail(*rule.refuse);
    }
    if (len > rule.max_len) {
      return fail(Error::kHandshakeMessageTooLarge);
    }
    return {};
  }
  return fail(Error::kUnexpectedMessage);
}

Result<HandshakeReassembler::Step, Error> HandshakeReassembler::next(
    std::span<const uint8_t> content, std::span<const MessageRule> rules) noexcept {
  Step step;
  if (failed_) {
    return fail(Error::kInternalError);
  }
  if (handed_out_) {
    release();  // the message handed out last time is no longer the caller's
  }
  if (content.empty()) {
    return step;
  }
  if (filled_ == 0 && content.size() >= kHandshakeHeaderLen) {
    if (auto ok = check_header(content.data(), rules); !ok) {
      failed_ = true;
      return fail(ok.error());
    }
    const size_t total = kHandshakeHeaderLen + load_be24(content.data() + 1);
    if (content.size() >= total) {
      step.consumed = total;
      step.has_message = true;
      step.message = make_message(content.first(total), false);
      return step;
    }
  }
  size_t used = 0;
  if (filled_ < kHandshakeHeaderLen) {
    const size_t n = std::min(kHandshakeHeaderLen - filled_, content.size());
    std::memcpy(header_ + filled_, content.data(), n);
    filled_ += n;
    used += n;
    if (filled_ < kHandshakeHeaderLen) {
      step.consumed = used;
      return step;
    }
    if (auto ok = check_header(header_, rules); !ok) {
      failed_ = true;
      return fail(ok.error());
    }
    total_ = kHandshakeHeaderLen + load_be24(header_ + 1);
  }
  const size_t n = std::min(total_ - filled_, content.size() - used);
  if (total_ == kHandshakeHeaderLen) {
    // An empty body: the message is the header alone.
    step.consumed = used;
    step.has_message = true;
    step.message = make_message({header_, kHandshakeHeaderLen}, true);
    filled_ = 0;
    handed_out_ = true;
    num_assembled_++;
    return step;
  }
  if (n != 0) {
    const bool first = capacity_ == 0;
    if (!grow(filled_ + n)) {
      failed_ = true;
      return fail(Error::kInternalError);
    }
    if (first) {
      std::memcpy(buf_, header_, kHandshakeHeaderLen);
    }
    std::memcpy(buf_ + filled_, content.data() + used, n);
  }
  filled_ += n;
  used += n;
  step.consumed = used;
  if (filled_ == total_) {
    step.has_message = true;
    step.message = make_message({buf_, total_}, true);
    filled_ = 0;
    handed_out_ = true;
    num_assembled_++;
  }
  return step;
}

Result<void, Error> HandshakeReassembler::check_key_change(
    std::span<const uint8_t> rest_of_record) const noexcept {
  if (!rest_of_record.empty() || filled_ != 0) {
    return fail(Error::kHandshakeSpansKeyChange);
  }
  return {};
}

}  // namespace linetls::tls
