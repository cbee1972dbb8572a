// Pair-key version order (crypto/pair_keys.h), without the crypto headers:
// the config validator uses it too.
#pragma once

#include <cstdint>

namespace wp {

// Versions are compared as 8-bit serial numbers (RFC 1982): `a` is newer
// than `b` when it is 1..127 steps after it, so a rotation from 255 to 1
// moves forward like one from 1 to 2 (the two versions a router holds are
// never 128 or more apart; the config validator refuses that).
inline constexpr bool key_version_newer(uint32_t a, uint32_t b) {
  const uint8_t d = static_cast<uint8_t>(a - b);
  return d >= 1 && d <= 127;
}

}  // namespace wp
