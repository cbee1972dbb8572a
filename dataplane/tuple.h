// The 5-tuple and the owner function (DESIGN.md § Sessions).
//
// Owner of a session is a pure function of any of its packets, so every
// worker (and the HA peer, whatever its worker count) finds it without a
// shared table: h = symmetric hash of the original 5-tuple, affinity class
// c = h & 63, owner = c % workers. WAN packets carry the class in their
// waypoint ports ((port >> 1) & 63), so they dispatch without parsing
// metadata. Always c % workers, never h % workers: they differ when the
// worker count is not a power of two.
#pragma once

#include <cstdint>

#include "dataplane/ipv4.h"

namespace wp {

inline constexpr uint32_t kAffinityClasses = 64;
inline constexpr uint16_t kWaypointPortMin = 16384;
inline constexpr uint16_t kWaypointPortMax = 65534;

struct FiveTuple {
  Ipv4 src = 0;
  Ipv4 dst = 0;
  uint16_t sport = 0;
  uint16_t dport = 0;
  uint8_t proto = 0;

  bool operator==(const FiveTuple&) const = default;
  FiveTuple reversed() const { return {dst, src, dport, sport, proto}; }
};

inline uint32_t mix32(uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352dU;
  x ^= x >> 15;
  x *= 0x846ca68bU;
  x ^= x >> 16;
  return x;
}

// Same value for a tuple and its reverse.
inline uint32_t symmetric_hash(const FiveTuple& t) {
  uint64_t a = uint64_t{t.src} << 16 | t.sport;
  uint64_t b = uint64_t{t.dst} << 16 | t.dport;
  uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
  uint32_t h = mix32(static_cast<uint32_t>(lo) ^ 0x9e3779b9U);
  h = mix32(h ^ static_cast<uint32_t>(lo >> 32) ^ static_cast<uint32_t>(hi << 16));
  h = mix32(h ^ static_cast<uint32_t>(hi >> 16) ^ (uint32_t{t.proto} << 24));
  return h;
}

inline uint32_t affinity_class(const FiveTuple& t) { return symmetric_hash(t) & (kAffinityClasses - 1); }
inline uint32_t class_of_port(uint16_t port) { return (port >> 1) & (kAffinityClasses - 1); }
inline uint32_t owner_of_class(uint32_t cls, uint32_t workers) { return cls % workers; }
inline bool is_waypoint_port(uint16_t port) { return port >= kWaypointPortMin && port <= kWaypointPortMax; }

}  // namespace wp
