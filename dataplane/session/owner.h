// The owner rule (docs/architecture.md § Sessions).
//
// The owner of a session is a pure function of any of its packets, so every
// worker (and the HA peer, whatever its worker count) finds it without a
// shared table: h = symmetric hash of the original 5-tuple, affinity class
// c = h & 63, owner = c % workers. WAN packets carry the class in their
// waypoint ports ((port >> 1) & 63), so they dispatch without parsing
// metadata. Always c % workers, never h % workers: they differ when the
// worker count is not a power of two.
#pragma once

#include <cstdint>

#include "dataplane/ip/tuple.h"

namespace wp {

inline constexpr uint32_t kAffinityClasses = 64;
inline constexpr uint16_t kWaypointPortMin = 16384;
inline constexpr uint16_t kWaypointPortMax = 65534;

inline uint32_t affinity_class(const FiveTuple& t) { return symmetric_hash(t) & (kAffinityClasses - 1); }
// IPv6 sessions (session/table6.h) by the same rule over their FiveTuple6.
inline uint32_t affinity_class6(const FiveTuple6& t) { return symmetric_hash(t) & (kAffinityClasses - 1); }
inline uint32_t class_of_port(uint16_t port) { return (port >> 1) & (kAffinityClasses - 1); }
inline uint32_t owner_of_class(uint32_t cls, uint32_t workers) { return cls % workers; }
inline bool is_waypoint_port(uint16_t port) { return port >= kWaypointPortMin && port <= kWaypointPortMax; }

}  // namespace wp
