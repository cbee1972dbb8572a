// IPv6 session lifecycle events: workers -> the mgmt event thread (REST
// session snapshot, IPFIX; issue #19 "IPv6 everywhere").
//
// The IPv6 twin of session/events.h: IPv6 sessions live in their own table
// (session/table6.h) with their own layout, so their events carry a copy of
// a Session6 (144 B) in rings of their own, one SPSC ring per worker, made
// only when the router routes IPv6 and the `ipfix` consumer (the mgmt feed)
// is on. The IPv4 SessionEvent and its rings are unchanged, so IPv4's cost
// per event is too. Same rules as IPv4's: posting never blocks, a full ring
// drops the event and counts it (`ipfix_events_dropped`, shared with IPv4),
// and the consumer's event kinds (DataplaneShared::event_kinds) apply.
// The HA thread (ha_dataplane.h) and the offload manager (routed sessions'
// established and closed, rings of their own: DataplaneShared::offload_events6)
// take them too.
#pragma once

#include <cstdint>

#include "dataplane/session/events.h"
#include "dataplane/session/table6.h"

namespace wp {

struct Session6Event {
  SessionEventKind kind;
  SessionEndReason reason;
  uint16_t worker;
  uint32_t now_ms;   // worker clock when posted
  Session6 session;  // a copy: counters and flags as of now_ms
};
static_assert(sizeof(Session6Event) % 4 == 0, "rte_ring element size must be a multiple of 4");

// What the offload manager takes of routed IPv6 sessions: rules when one is
// established, removed when it ends.
inline constexpr uint8_t kOffload6EventKinds =
    event_bit(SessionEventKind::established) | event_bit(SessionEventKind::closed);

}  // namespace wp
