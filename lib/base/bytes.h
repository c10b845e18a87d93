// Bounded big-endian parsing and serialisation (after BoringSSL's CBS/CBB).
//
// ByteReader is a non-owning view; every getter either succeeds and advances, or fails and
// leaves the cursor exactly where it was. Length-prefixed children are readers over the
// sub-range. A parse of a structure ends with `empty()` to reject trailing bytes.
//
// ByteWriter writes into caller-owned fixed memory. The first failure (overflow, a length
// that does not fit its prefix) sets a sticky error bit; every later call is a no-op, so a
// sequence of writes is checked once at the end with ok().
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace linetls {

class ByteReader {
 public:
  constexpr ByteReader() noexcept = default;
  constexpr explicit ByteReader(std::span<const uint8_t> data) noexcept : data_(data) {}

  constexpr size_t remaining() const noexcept { return data_.size(); }
  constexpr bool empty() const noexcept { return data_.empty(); }
  // The unread bytes.
  constexpr std::span<const uint8_t> rest() const noexcept { return data_; }

  [[nodiscard]] bool read_u8(uint8_t* out) noexcept { return read_uint(1, out); }
  [[nodiscard]] bool read_u16(uint16_t* out) noexcept { return read_uint(2, out); }
  [[nodiscard]] bool read_u24(uint32_t* out) noexcept { return read_uint(3, out); }
  [[nodiscard]] bool read_u32(uint32_t* out) noexcept { return read_uint(4, out); }
  [[nodiscard]] bool read_u48(uint64_t* out) noexcept { return read_uint(6, out); }
  [[nodiscard]] bool read_u64(uint64_t* out) noexcept { return read_uint(8, out); }

  // Sets *out to the next n bytes (a view into the same memory) and advances.
  [[nodiscard]] bool read_bytes(size_t n, std::span<const uint8_t>* out) noexcept {
    if (n > data_.size()) {
      return false;
    }
    *out = data_.first(n);
    data_ = data_.subspan(n);
    return true;
  }
  // Copies the next out.size() bytes into out and advances.
  [[nodiscard]] bool copy_bytes(std::span<uint8_t> out) noexcept {
    if (out.size() > data_.size()) {
      return false;
    }
    if (!out.empty()) {
      std::memcpy(out.data(), data_.data(), out.size());
    }
    data_ = data_.subspan(out.size());
    return true;
  }
  [[nodiscard]] bool skip(size_t n) noexcept {
    std::span<const uint8_t> unused;
    return read_bytes(n, &unused);
  }

  // Reads a big-endian length of prefix_len (1..4) bytes, then that many bytes as a child
  // reader. On failure (short prefix or short body) nothing is consumed.
  [[nodiscard]] bool read_prefixed(size_t prefix_len, ByteReader* out_child) noexcept {
    uint64_t len = 0;
    ByteReader copy = *this;
    if (!copy.read_uint(prefix_len, &len) || len > copy.data_.size()) {
      return false;
    }
    *out_child = ByteReader(copy.data_.first(static_cast<size_t>(len)));
    data_ = copy.data_.subspan(static_cast<size_t>(len));
    return true;
  }
  [[nodiscard]] bool read_u8_prefixed(ByteReader* out_child) noexcept {
    return read_prefixed(1, out_child);
  }
  [[nodiscard]] bool read_u16_prefixed(ByteReader* out_child) noexcept {
    return read_prefixed(2, out_child);
  }
  [[nodiscard]] bool read_u24_prefixed(ByteReader* out_child) noexcept {
    return read_prefixed(3, out_child);
  }

 private:
  template <typename U>
  bool read_uint(size_t n, U* out) noexcept {
    if (n == 0 || n > sizeof(uint64_t) || n > data_.size()) {
      return false;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
      v = (v << 8) | data_[i];
    }
    if constexpr (sizeof(U) < sizeof(uint64_t)) {
      if (v >> (8 * sizeof(U)) != 0) {
        return false;  // Caller asked for more bytes than U holds: our bug, not the wire's.
      }
    }
    *out = static_cast<U>(v);
    data_ = data_.subspan(n);
    return true;
  }

  std::span<const uint8_t> data_;
};

class ByteWriter {
 public:
  // A length prefix reserved by begin_prefixed() and filled in by end_prefixed().
  struct Prefix {
    size_t pos = 0;
    size_t len_bytes = 0;
  };

  explicit ByteWriter(std::span<uint8_t> buf) noexcept : buf_(buf) {}

  bool ok() const noexcept { return ok_; }
  // Bytes written so far (valid only while ok()).
  size_t size() const noexcept { return pos_; }
  std::span<uint8_t> written() const noexcept { return buf_.first(pos_); }
  size_t capacity_left() const noexcept { return buf_.size() - pos_; }

  void put_u8(uint8_t v) noexcept { put_uint(v, 1); }
  void put_u16(uint16_t v) noexcept { put_uint(v, 2); }
  void put_u24(uint32_t v) noexcept {
    if (v >= (1u << 24)) {
      ok_ = false;
      return;
    }
    put_uint(v, 3);
  }
  void put_u32(uint32_t v) noexcept { put_uint(v, 4); }
  void put_u64(uint64_t v) noexcept { put_uint(v, 8); }
  void put_bytes(std::span<const uint8_t> b) noexcept {
    uint8_t* dst = reserve(b.size());
    if (dst != nullptr && !b.empty()) {
      std::memcpy(dst, b.data(), b.size());
    }
  }
  void put_string(std::string_view s) noexcept {
    put_bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  }
  void put_zeros(size_t n) noexcept {
    uint8_t* dst = reserve(n);
    if (dst != nullptr && n != 0) {
      std::memset(dst, 0, n);
    }
  }
  // Returns a pointer to n bytes to fill in, or nullptr (and the sticky error) on overflow.
  uint8_t* reserve(size_t n) noexcept {
    if (!ok_ || n > buf_.size() - pos_) {
      ok_ = false;
      return nullptr;
    }
    uint8_t* p = buf_.data() + pos_;
    pos_ += n;
    return p;
  }

  // Reserves a len_bytes (1..4) big-endian length; end_prefixed() back-patches it with the
  // number of bytes written in between, failing if that does not fit.
  Prefix begin_prefixed(size_t len_bytes) noexcept {
    Prefix p{pos_, len_bytes};
    if (len_bytes == 0 || len_bytes > 4) {
      ok_ = false;
      return p;
    }
    put_zeros(len_bytes);
    return p;
  }
  void end_prefixed(const Prefix& p) noexcept {
    if (!ok_) {
      return;
    }
    size_t body = pos_ - p.pos - p.len_bytes;
    if (p.len_bytes < 8 && body >= (uint64_t{1} << (8 * p.len_bytes))) {
      ok_ = false;
      return;
    }
    for (size_t i = 0; i < p.len_bytes; i++) {
      buf_[p.pos + i] = static_cast<uint8_t>(body >> (8 * (p.len_bytes - 1 - i)));
    }
  }

 private:
  void put_uint(uint64_t v, size_t n) noexcept {
    uint8_t* dst = reserve(n);
    if (dst == nullptr) {
      return;
    }
    for (size_t i = 0; i < n; i++) {
      dst[i] = static_cast<uint8_t>(v >> (8 * (n - 1 - i)));
    }
  }

  std::span<uint8_t> buf_;
  size_t pos_ = 0;
  bool ok_ = true;
};

// Big-endian loads and stores at a raw pointer, for fixed-layout headers whose length the
// caller has already checked. Never cast a packed struct over wire bytes.
inline uint16_t load_be16(const uint8_t* p) noexcept {
  return static_cast<uint16_t>((p[0] << 8) | p[1]);
}
inline uint32_t load_be32(const uint8_t* p) noexcept {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}
inline void store_be16(uint8_t* p, uint16_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}
inline void store_be32(uint8_t* p, uint32_t v) noexcept {
  p[0] = static_cast<uint8_t>(v >> 24);
  p[1] = static_cast<uint8_t>(v >> 16);
  p[2] = static_cast<uint8_t>(v >> 8);
  p[3] = static_cast<uint8_t>(v);
}

}  // namespace linetls
