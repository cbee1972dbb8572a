// Which node of an HA pair answers for an IKE SA's local address
// (docs/ipsec.md § HA, "Who holds an SA"): the IKE service's AnswersFn in
// waypointd (DataplaneRuntime::attach_ike_ha), here so the unit tests drive
// the service with the rule waypointd uses. One of the peer's addresses (an
// IPv4 waypoint or IPv6 waypoint stand-in, or one of ha.peer_addresses6) is
// ours only while HA holds it after a takeover; any other is our own while
// we hold our own addresses. Control path (a few calls per IKE SA per poll).
#pragma once

#include <atomic>

#include "dataplane/control/ike_service.h"
#include "dataplane/ip/ip_address.h"
#include "dataplane/worker/ha_dataplane.h"

namespace wp {

inline bool ha_is_peer_address(const HaDataplane& ha, const IpAddress& a) {
  if (!a.v6) return ha.is_peer_address(a.v4);
  for (const HaAddress6& p : ha.peer_addresses6)
    if (p.addr == a.addr6) return true;
  return false;
}

inline IkeService::HaAddress ike_ha_answers(const HaDataplane& ha, const IpAddress& local) {
  using A = IkeService::HaAddress;
  if (ha_is_peer_address(ha, local))
    return ha.peer_taken.load(std::memory_order_acquire) ? A::peers_taken_over : A::not_ours_now;
  return ha.own_held.load(std::memory_order_acquire) ? A::own : A::not_ours_now;
}

}  // namespace wp
