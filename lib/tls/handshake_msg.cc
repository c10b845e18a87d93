#include "lib/tls/handshake_msg.h"

#include <algorithm>
#include <cstring>
#include <new>

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

Result<void, Error> HandshakeReassembler::check_header(const uint8_t* h) const noexcept {
  if (handshake_type_name(h[0]) == nullptr) {
    return fail(Error::kUnknownHandshakeType);
  }
  if (load_be24(h + 1) > max_message_len_) {
    return fail(Error::kHandshakeMessageTooLarge);
  }
  return {};
}

Result<HandshakeReassembler::Step, Error> HandshakeReassembler::next(
    std::span<const uint8_t> content) noexcept {
  Step step;
  if (failed_) {
    return fail(Error::kInternalError);
  }
  if (content.empty()) {
    return step;
  }
  if (filled_ == 0 && content.size() >= kHandshakeHeaderLen) {
    if (auto ok = check_header(content.data()); !ok) {
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
    if (buf_ == nullptr) {
      buf_.reset(new (std::nothrow) uint8_t[kHandshakeHeaderLen]);
      capacity_ = buf_ != nullptr ? kHandshakeHeaderLen : 0;
      if (buf_ == nullptr) {
        failed_ = true;
        return fail(Error::kInternalError);
      }
    }
    const size_t n = std::min(kHandshakeHeaderLen - filled_, content.size());
    std::memcpy(buf_.get() + filled_, content.data(), n);
    filled_ += n;
    used += n;
    if (filled_ < kHandshakeHeaderLen) {
      step.consumed = used;
      return step;
    }
    if (auto ok = check_header(buf_.get()); !ok) {
      failed_ = true;
      return fail(ok.error());
    }
  }
  const size_t total = kHandshakeHeaderLen + load_be24(buf_.get() + 1);
  if (capacity_ < total) {
    // Grow once to the announced size (bounded by max_message_len_ in check_header).
    std::unique_ptr<uint8_t[]> bigger(new (std::nothrow) uint8_t[total]);
    if (bigger == nullptr) {
      failed_ = true;
      return fail(Error::kInternalError);
    }
    std::memcpy(bigger.get(), buf_.get(), filled_);
    buf_ = std::move(bigger);
    capacity_ = total;
  }
  const size_t n = std::min(total - filled_, content.size() - used);
  if (n != 0) {
    std::memcpy(buf_.get() + filled_, content.data() + used, n);
  }
  filled_ += n;
  used += n;
  step.consumed = used;
  if (filled_ == total) {
    step.has_message = true;
    step.message = make_message({buf_.get(), total}, true);
    filled_ = 0;
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
