// The ownership claim an HA node appends to its gratuitous ARPs
// (docs/operations.md § HA).
//
// A gratuitous ARP says "this MAC answers for this address" but not since
// when, so two HA nodes that both believe they own an address (the corosync
// ring between them cut, both alive) cannot tell which announcement is stale.
// The ARP frame is padded to the 60-byte Ethernet minimum anyway; the first
// 16 bytes of that padding carry "WPHA", whether the sender owns the address
// or has taken it over from its peer, and the pair-wide ownership epoch. Other
// hosts ignore padding (RFC 826 reads only the ARP fields); the HA thread
// compares epochs and the older claim yields.
#pragma once

#include <cstdint>
#include <cstring>

#include "dataplane/ip/packet.h"

namespace wp {

struct HaArpClaim {
  bool present = false;  // the frame carried a claim (a Waypoint HA node sent it)
  bool owner = false;    // the sender owns the address (else it took it over)
  uint64_t epoch = 0;
};

inline constexpr uint32_t kHaArpClaimOffset = kEthHdrLen + 28;
inline constexpr uint32_t kHaArpClaimLen = 16;
inline constexpr uint8_t kHaArpMagic[4] = {'W', 'P', 'H', 'A'};

inline void write_ha_arp_claim(uint8_t* at, bool owner, uint64_t epoch) {
  std::memcpy(at, kHaArpMagic, 4);
  at[4] = owner ? 1 : 2;
  at[5] = at[6] = at[7] = 0;
  for (int i = 0; i < 8; ++i) at[8 + i] = static_cast<uint8_t>(epoch >> (56 - 8 * i));
}

inline HaArpClaim read_ha_arp_claim(const uint8_t* frame, uint32_t len) {
  HaArpClaim c;
  if (len < kHaArpClaimOffset + kHaArpClaimLen) return c;
  const uint8_t* at = frame + kHaArpClaimOffset;
  if (std::memcmp(at, kHaArpMagic, 4) != 0 || (at[4] != 1 && at[4] != 2)) return c;
  c.present = true;
  c.owner = at[4] == 1;
  for (int i = 0; i < 8; ++i) c.epoch = c.epoch << 8 | at[8 + i];
  return c;
}

}  // namespace wp
