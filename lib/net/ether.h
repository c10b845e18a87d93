// Ethernet II framing: header layout, ethertypes and MAC loads/stores.
//
// IEEE 802.3 / RFC 894: destination MAC, source MAC, 16-bit ethertype, then the payload.
// The frame check sequence is the NIC's business; frames here start at the destination MAC.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "lib/base/bytes.h"
#include "lib/net/addr.h"

namespace linetls::net {

inline constexpr size_t kEtherAddrLen = 6;
inline constexpr size_t kEtherHdrLen = 14;
// The shortest frame on the wire without the FCS; shorter frames are padded by the sender
// (RFC 894), so receivers must ignore bytes beyond what the upper layer's length says.
inline constexpr size_t kEtherMinFrameLen = 60;

inline constexpr uint16_t kEtherTypeIpv4 = 0x0800;
inline constexpr uint16_t kEtherTypeArp = 0x0806;
inline constexpr uint16_t kEtherTypeVlan = 0x8100;
inline constexpr uint16_t kEtherTypeIpv6 = 0x86dd;

inline MacAddr load_mac(const uint8_t* p) noexcept {
  MacAddr m;
  std::memcpy(m.b.data(), p, kEtherAddrLen);
  return m;
}
inline void store_mac(uint8_t* p, const MacAddr& m) noexcept {
  std::memcpy(p, m.b.data(), kEtherAddrLen);
}

struct EtherHeader {
  MacAddr dst;
  MacAddr src;
  uint16_t ethertype = 0;
};

// Reads the 14-byte header at p (the caller has checked that 14 bytes are there).
inline EtherHeader load_ether(const uint8_t* p) noexcept {
  return EtherHeader{load_mac(p), load_mac(p + kEtherAddrLen), load_be16(p + 2 * kEtherAddrLen)};
}
// Writes the 14-byte header at p.
inline void store_ether(uint8_t* p, const EtherHeader& h) noexcept {
  store_mac(p, h.dst);
  store_mac(p + kEtherAddrLen, h.src);
  store_be16(p + 2 * kEtherAddrLen, h.ethertype);
}

}  // namespace linetls::net
