#include "lib/net/addr.h"

#include <charconv>
#include <cstdio>
#include <string>

namespace linetls::net {

std::string MacAddr::str() const {
  char buf[18];
  std::snprintf(buf, sizeof(buf), "%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4],
                b[5]);
  return buf;
}

std::optional<Ipv4Addr> Ipv4Addr::parse(std::string_view s) noexcept {
  uint32_t v = 0;
  const char* p = s.data();
  const char* end = s.data() + s.size();
  for (int i = 0; i < 4; i++) {
    if (i > 0) {
      if (p == end || *p != '.') {
        return std::nullopt;
      }
      ++p;
    }
    // Digits only (from_chars would accept nothing else anyway), 1..3 of them, <= 255.
    if (p == end || *p < '0' || *p > '9') {
      return std::nullopt;
    }
    unsigned octet = 0;
    auto [next, ec] = std::from_chars(p, end, octet);
    if (ec != std::errc() || octet > 255 || next - p > 3) {
      return std::nullopt;
    }
    p = next;
    v = (v << 8) | octet;
  }
  if (p != end) {
    return std::nullopt;
  }
  return Ipv4Addr{v};
}

std::string Ipv4Addr::str() const {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%u.%u.%u.%u", v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff,
                v & 0xff);
  return buf;
}

std::optional<Ipv4Endpoint> Ipv4Endpoint::parse(std::string_view s) noexcept {
  const size_t colon = s.rfind(':');
  if (colon == std::string_view::npos) {
    return std::nullopt;
  }
  const auto ip = Ipv4Addr::parse(s.substr(0, colon));
  const std::string_view p = s.substr(colon + 1);
  unsigned port = 0;
  const auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), port);
  if (!ip || p.empty() || ec != std::errc{} || end != p.data() + p.size() || port < 1 ||
      port > 65535 || p[0] == '+' || p[0] == '-') {
    return std::nullopt;
  }
  return Ipv4Endpoint{*ip, static_cast<uint16_t>(port)};
}

std::string Ipv4Endpoint::str() const { return ip.str() + ":" + std::to_string(port); }

std::optional<Ipv4Cidr> Ipv4Cidr::parse(std::string_view s) noexcept {
  const size_t slash = s.find('/');
  auto addr = Ipv4Addr::parse(s.substr(0, slash));
  if (!addr) {
    return std::nullopt;
  }
  if (slash == std::string_view::npos) {
    return Ipv4Cidr{*addr, 32};
  }
  std::string_view len = s.substr(slash + 1);
  unsigned n = 0;
  auto [next, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
  if (len.empty() || ec != std::errc() || next != len.data() + len.size() || n > 32) {
    return std::nullopt;
  }
  return Ipv4Cidr{*addr, static_cast<uint8_t>(n)};
}

std::string Ipv4Cidr::str() const { return addr.str() + "/" + std::to_string(prefix_len); }

}  // namespace linetls::net
