// Per-worker counters: a plain array of uint64 indexed by a module's enum.
//
// Each module declares `enum class XCounter : uint16_t { ..., kCount }` and a constexpr
// array of names in the same order. A CounterSet lives in the worker's own struct, so
// increments are plain adds with no atomics; readers on other threads (stats printing at
// exit) read after the worker stops, or accept torn-free 64-bit loads.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace linetls {

template <typename Enum, const auto& kNames>
class CounterSet {
 public:
  static constexpr size_t kSize = static_cast<size_t>(Enum::kCount);
  static_assert(kNames.size() == kSize, "one name per counter");

  void inc(Enum c, uint64_t by = 1) noexcept { v_[static_cast<size_t>(c)] += by; }
  uint64_t get(Enum c) const noexcept { return v_[static_cast<size_t>(c)]; }
  static constexpr std::string_view name(Enum c) noexcept {
    return kNames[static_cast<size_t>(c)];
  }
  // Calls f(name, value) for every counter, in declaration order.
  template <typename F>
  void for_each(F&& f) const {
    for (size_t i = 0; i < kSize; i++) {
      f(kNames[i], v_[i]);
    }
  }
  CounterSet& operator+=(const CounterSet& o) noexcept {
    for (size_t i = 0; i < kSize; i++) {
      v_[i] += o.v_[i];
    }
    return *this;
  }

 private:
  std::array<uint64_t, kSize> v_{};
};

}  // namespace linetls
