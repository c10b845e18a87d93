// Command-line names both programs check the same way (linetls and linetls-perf): a DPDK
// device for --port (a PCI address or a vdev spec), a Linux interface name for --tap.
#pragma once

#include <optional>
#include <string>
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

// A DPDK device as --port gives it.
struct PortSpec {
  std::string spec;    // as given: "0000:3b:00.0" or "net_memif0,role=server"
  std::string device;  // the ethdev name after EAL init: the PCI address or vdev name
  bool is_pci = false;
  friend bool operator==(const PortSpec&, const PortSpec&) = default;
};

// A PCI address, or a vdev spec whose name (before the first ',') is net_<something>;
// nullopt otherwise.
inline std::optional<PortSpec> parse_port_spec(std::string_view v) {
  PortSpec p;
  p.spec = std::string(v);
  const std::string_view name = v.substr(0, v.find(','));
  if (looks_like_pci(v)) {
    p.is_pci = true;
    p.device = std::string(v);
  } else if (name.starts_with("net_") && name.size() > 4) {
    p.device = std::string(name);
  } else {
    return std::nullopt;
  }
  return p;
}

}  // namespace linetls::app
