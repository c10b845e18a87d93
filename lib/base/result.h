// Result<T, E>: a value or an error, never both, never neither.
//
// C++20 has no std::expected, so this is the small subset we need. Every module declares its
// own `enum class Error`; Result carries it. Functions on the packet path return Result and
// are noexcept; the [[nodiscard]] on the class makes a dropped result a compile error under
// -Werror.
#pragma once

#include <cassert>
#include <type_traits>
#include <utility>
#include <variant>

namespace linetls {

template <typename E>
struct Unexpected {
  E error;
};

// fail(e) builds the error side of any Result<T, E>.
template <typename E>
constexpr Unexpected<E> fail(E e) noexcept {
  return Unexpected<E>{e};
}

template <typename T, typename E>
class [[nodiscard]] Result {
 public:
  using value_type = T;
  using error_type = E;

  constexpr Result(const T& v) : v_(std::in_place_index<0>, v) {}  // NOLINT: implicit
  constexpr Result(T&& v) : v_(std::in_place_index<0>, std::move(v)) {}  // NOLINT
  constexpr Result(Unexpected<E> u) : v_(std::in_place_index<1>, u.error) {}  // NOLINT

  constexpr bool ok() const noexcept { return v_.index() == 0; }
  constexpr explicit operator bool() const noexcept { return ok(); }

  // value() and error() assert on the wrong side: reading the wrong side is our bug.
  constexpr T& value() & noexcept {
    assert(ok());
    return *std::get_if<0>(&v_);
  }
  constexpr const T& value() const& noexcept {
    assert(ok());
    return *std::get_if<0>(&v_);
  }
  constexpr T&& value() && noexcept {
    assert(ok());
    return std::move(*std::get_if<0>(&v_));
  }
  constexpr E error() const noexcept {
    assert(!ok());
    return *std::get_if<1>(&v_);
  }
  constexpr T& operator*() & noexcept { return value(); }
  constexpr const T& operator*() const& noexcept { return value(); }
  constexpr T* operator->() noexcept { return &value(); }
  constexpr const T* operator->() const noexcept { return &value(); }

 private:
  std::variant<T, E> v_;
};

// Result<void, E>: success or an error.
template <typename E>
class [[nodiscard]] Result<void, E> {
 public:
  using error_type = E;
  constexpr Result() noexcept = default;
  constexpr Result(Unexpected<E> u) noexcept : has_error_(true), e_(u.error) {}  // NOLINT

  constexpr bool ok() const noexcept { return !has_error_; }
  constexpr explicit operator bool() const noexcept { return ok(); }
  constexpr E error() const noexcept {
    assert(!ok());
    return e_;
  }

 private:
  bool has_error_ = false;
  E e_{};
};

}  // namespace linetls
