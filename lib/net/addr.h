// Link and network addresses as small value types (network byte order kept internally as
// plain integers in host order; conversion happens only at the wire boundary).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace linetls::net {

struct MacAddr {
  std::array<uint8_t, 6> b{};

  static constexpr MacAddr broadcast() noexcept { return {{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}; }
  constexpr bool is_broadcast() const noexcept { return *this == broadcast(); }
  constexpr bool is_multicast() const noexcept { return (b[0] & 1) != 0; }
  constexpr bool is_zero() const noexcept { return *this == MacAddr{}; }
  friend constexpr bool operator==(const MacAddr&, const MacAddr&) = default;
  // "aa:bb:cc:dd:ee:ff".
  std::string str() const;
};

// An IPv4 address in host byte order (10.99.0.2 == 0x0a630002).
struct Ipv4Addr {
  uint32_t v = 0;

  friend constexpr bool operator==(const Ipv4Addr&, const Ipv4Addr&) = default;
  friend constexpr auto operator<=>(const Ipv4Addr&, const Ipv4Addr&) = default;
  // Parses dotted quad; nullopt on anything else.
  static std::optional<Ipv4Addr> parse(std::string_view s) noexcept;
  std::string str() const;
};

// An address with a prefix length: "10.99.0.2/24".
struct Ipv4Cidr {
  Ipv4Addr addr;
  uint8_t prefix_len = 32;

  static std::optional<Ipv4Cidr> parse(std::string_view s) noexcept;
  constexpr uint32_t mask() const noexcept {
    return prefix_len == 0 ? 0 : ~uint32_t{0} << (32 - prefix_len);
  }
  constexpr bool contains(Ipv4Addr a) const noexcept {
    return (a.v & mask()) == (addr.v & mask());
  }
  std::string str() const;
  friend constexpr bool operator==(const Ipv4Cidr&, const Ipv4Cidr&) = default;
};

// An IPv4 address and a TCP port: "10.0.0.1:443" (--target, --metrics).
struct Ipv4Endpoint {
  Ipv4Addr ip;
  uint16_t port = 0;
  // A dotted quad, ':', a port 1-65535; nullopt otherwise.
  static std::optional<Ipv4Endpoint> parse(std::string_view s) noexcept;
  std::string str() const;
  friend bool operator==(const Ipv4Endpoint&, const Ipv4Endpoint&) = default;
};

}  // namespace linetls::net
