// Secret<N>: key material of up to N bytes.
//
// It wipes itself on destruction and on reassignment, compares in constant time, and has
// no stream operator or formatter, so it cannot be logged by accident. Copying is explicit
// (clone()); moves wipe the source.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string.h>  // explicit_bzero

namespace linetls {

// Overwrites b with zeros in a way the compiler may not elide.
inline void secure_wipe(std::span<uint8_t> b) noexcept {
  if (!b.empty()) {
    explicit_bzero(b.data(), b.size());
  }
}

// Constant-time equality of two equal-length byte strings; different lengths are unequal
// (the lengths themselves are not secret).
inline bool constant_time_equal(std::span<const uint8_t> a, std::span<const uint8_t> b) noexcept {
  if (a.size() != b.size()) {
    return false;
  }
  volatile uint8_t acc = 0;
  for (size_t i = 0; i < a.size(); i++) {
    acc = acc | (a[i] ^ b[i]);
  }
  return acc == 0;
}

template <size_t N>
class Secret {
 public:
  static constexpr size_t kCapacity = N;

  Secret() noexcept = default;
  // Copies src (which must fit) into a new secret; the caller wipes its own copy.
  explicit Secret(std::span<const uint8_t> src) noexcept { assign(src); }
  ~Secret() { wipe(); }

  Secret(const Secret&) = delete;
  Secret& operator=(const Secret&) = delete;
  Secret(Secret&& o) noexcept {
    assign(o.view());
    o.wipe();
  }
  Secret& operator=(Secret&& o) noexcept {
    if (this != &o) {
      assign(o.view());
      o.wipe();
    }
    return *this;
  }

  // Replaces the contents; src longer than N is our bug and asserts in tests via size().
  void assign(std::span<const uint8_t> src) noexcept {
    wipe();
    len_ = src.size() <= N ? src.size() : N;
    if (len_ != 0) {
      std::memcpy(bytes_, src.data(), len_);
    }
  }
  // Sets the length to n (<= N) and returns the bytes to fill in.
  std::span<uint8_t> resize(size_t n) noexcept {
    wipe();
    len_ = n <= N ? n : N;
    return {bytes_, len_};
  }
  Secret clone() const noexcept { return Secret(view()); }
  void wipe() noexcept {
    secure_wipe({bytes_, N});
    len_ = 0;
  }

  size_t size() const noexcept { return len_; }
  bool empty() const noexcept { return len_ == 0; }
  std::span<const uint8_t> view() const noexcept { return {bytes_, len_}; }
  std::span<uint8_t> mutable_view() noexcept { return {bytes_, len_}; }

  bool equals(std::span<const uint8_t> other) const noexcept {
    return constant_time_equal(view(), other);
  }
  friend bool operator==(const Secret& a, const Secret& b) noexcept { return a.equals(b.view()); }

 private:
  uint8_t bytes_[N] = {};
  size_t len_ = 0;
};

}  // namespace linetls
