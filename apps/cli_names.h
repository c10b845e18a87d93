// Command-line names both programs check the same way (linetls and linetls-perf): a PCI
// address for --port, a Linux interface name for --tap.
#pragma once

#include <string_view>

namespace linetls::app {

inline bool is_hex_digit(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// "0000:3b:00.0" or "3b:00.0" (domain optional).
inline bool looks_like_pci(std::string_view s) noexcept {
  // h: a hex digit; anything else must match exactly.
  const std::string_view shapes[] = {"hhhh:hh:hh.h", "hh:hh.h"};
  for (std::string_view shape : shapes) {
    if (s.size() != shape.size()) {
      continue;
    }
    bool ok = true;
    for (size_t i = 0; i < s.size() && ok; i++) {
      ok = shape[i] == 'h' ? is_hex_digit(s[i]) : s[i] == shape[i];
    }
    if (ok) {
      return true;
    }
  }
  return false;
}

// Linux interface names: 1..15 printable characters, none of '/', ':', ',', '='.
inline bool valid_ifname(std::string_view s) noexcept {
  if (s.empty() || s.size() > 15) {
    return false;
  }
  for (char c : s) {
    if (c == '/' || c == ':' || c == ',' || c == '=' || c <= ' ' || c > '~') {
      return false;
    }
  }
  return true;
}

}  // namespace linetls::app
