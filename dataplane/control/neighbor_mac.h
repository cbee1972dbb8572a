// What the IPv4 and IPv6 neighbor tables (neighbor.h, neighbor6.h) share: a
// MAC packed into one 64-bit word that workers read atomically (bit 48 set =
// resolved), and the wrap-safe millisecond comparison their timers use.
#pragma once

#include <cstdint>

namespace wp {

inline uint64_t pack_neighbor_mac(const uint8_t mac[6]) {
  uint64_t v = uint64_t{1} << 48;
  for (int b = 0; b < 6; ++b) v |= uint64_t{mac[b]} << (40 - 8 * b);
  return v;
}

// The MAC in `v`; false when the entry is not resolved (bit 48 clear).
inline bool unpack_neighbor_mac(uint64_t v, uint8_t mac[6]) {
  if (!(v >> 48)) return false;
  for (int i = 0; i < 6; ++i) mac[i] = static_cast<uint8_t>(v >> (40 - 8 * i));
  return true;
}

// a earlier than b on the 32-bit millisecond clock, across its wrap.
inline bool ms_before(uint32_t a_ms, uint32_t b_ms) { return static_cast<int32_t>(a_ms - b_ms) < 0; }

}  // namespace wp
