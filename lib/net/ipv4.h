// IPv4 (RFC 791) header layout, protocol numbers and address classification.
#pragma once

#include <cstddef>
#include <cstdint>

#include "lib/net/addr.h"

namespace linetls::net {

inline constexpr size_t kIpv4HdrLen = 20;  // without options
inline constexpr size_t kIpv4MaxHdrLen = 60;

inline constexpr uint8_t kIpProtoIcmp = 1;
inline constexpr uint8_t kIpProtoTcp = 6;
inline constexpr uint8_t kIpProtoUdp = 17;

inline constexpr uint16_t kIpv4FlagDf = 0x4000;
inline constexpr uint16_t kIpv4FlagMf = 0x2000;
inline constexpr uint16_t kIpv4FragOffsetMask = 0x1fff;

// The fields of an option-less header that a sender chooses.
struct Ipv4Header {
  uint8_t tos = 0;
  uint16_t total_len = 0;
  uint16_t id = 0;
  uint16_t frag = 0;  // flags and fragment offset
  uint8_t ttl = 64;
  uint8_t proto = 0;
  Ipv4Addr src;
  Ipv4Addr dst;
};

// Writes h as a 20-byte header (version 4, IHL 5) at p, with a zero checksum field.
void store_ipv4(uint8_t* p, const Ipv4Header& h) noexcept;

// True when a cannot be the unicast address of another host as seen from ours
// (RFC 1122 3.2.1.3 and RFC 6890): "this network" 0/8, loopback 127/8, multicast 224/4,
// reserved 240/4 (which holds the limited broadcast), our own address, and the directed
// broadcast of our subnet (when the prefix is /30 or shorter). Such an address is an
// invalid source for a datagram we accept and has no route as a destination.
bool ipv4_bad_peer(Ipv4Addr a, const Ipv4Cidr& ours) noexcept;

}  // namespace linetls::net
