// ICMP for IPv4 (RFC 792): the echo message layout.
#pragma once

#include <cstddef>
#include <cstdint>

namespace linetls::net {

inline constexpr size_t kIcmpHdrLen = 8;  // type, code, checksum, identifier, sequence
inline constexpr uint8_t kIcmpEchoReply = 0;
inline constexpr uint8_t kIcmpEchoRequest = 8;

}  // namespace linetls::net
