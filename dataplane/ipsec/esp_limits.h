// How many tunnels and ESP SA slots one waypointd holds (docs/ipsec.md
// § ESP in the workers). Header-only with no dependency, so the config
// validator (mgmt/config_validate_ipsec.cc) refuses what does not fit with
// the same numbers the tables are sized by.
#pragma once

#include <cstdint>

namespace wp {

// Tunnel interfaces (config `tunnels`, one per site): issue #20's thousands
// of branch sites.
inline constexpr uint32_t kMaxEspTunnels = 4096;
// SA slots, both directions: 2 per Child SA, so every tunnel holds two Child
// SAs at once (a rekey's make before break) with room to spare.
inline constexpr uint32_t kMaxEspSas = 16384;
// Slots are uint16_t with 0xffff meaning none (kEspNoSa, esp_sa.h).
static_assert(kMaxEspSas < 0xffff);

}  // namespace wp
