// Validation of the `ha` section (node id, CPG group, the peer's
// addresses that this node takes over). Each peer address must sit in the
// connected prefix of one of our interfaces of the right kind, or the
// takeover could not answer ARP for it there.
#include "mgmt/config_validator.h"

#include "dataplane/control/waypoint6_addr.h"

namespace wp::mgmt::detail {

void ConfigValidator::check_ha() {
  if (!cfg_.has_ha()) return;
  const config::Ha& ha = cfg_.ha();
  if (ha.node_id() == 0) error("ha.node_id", "must be the corosync nodeid of this node (>= 1)");
  if (ha.group().empty())
    error("ha.group", "is required (the CPG group name both nodes join)");
  else if (ha.group().size() > 127)
    error("ha.group", "longer than 127 bytes (CPG limit)");
  if (ha.event_ring() != 0 && (ha.event_ring() & (ha.event_ring() - 1)) != 0)
    error("ha.event_ring", "must be a power of two");
  if (ha.batch_ms() > 1000) error("ha.batch_ms", "at most 1000");
  if (ha.unquorate_release_ms() > 60000)
    error("ha.unquorate_release_ms", "at most 60000 (a node without quorum must not hold its addresses for long)");
  size_t waypoints6 = 0;
  auto check_addresses = [&](const auto& list, const std::string& field, bool wan) {
    for (int i = 0; i < list.size(); ++i) {
      const std::string path = "ha." + field + "[" + std::to_string(i) + "]";
      if (wan && looks_ipv6(list.Get(i))) {  // #19: the peer node's IPv6 waypoint (0.255.254.j)
        if (++waypoints6 > kWaypoint6MaxHaPeer)
          error(path, "at most " + std::to_string(kWaypoint6MaxHaPeer) + " IPv6 waypoints of the peer node");
        check_ha_waypoint6(list.Get(i), path);
        continue;
      }
      auto addr = parse_ipv4(list.Get(i));
      if (!addr) {
        error(path, "\"" + list.Get(i) + "\" is not an IPv4 address");
        continue;
      }
      bool placed = false;
      for (const Link& l : links_) placed |= l.wan == wan && l.prefix && l.prefix->contains(*addr);
      if (!placed)
        error(path, list.Get(i) + " is not inside the connected prefix of any " + (wan ? "WAN" : "LAN") + " interface");
    }
  };
  if (ha.peer_waypoints().empty()) error("ha.peer_waypoints", "list the peer's waypoint addresses to take over");
  check_addresses(ha.peer_waypoints(), "peer_waypoints", true);
  check_addresses(ha.peer_lan(), "peer_lan", false);
  for (int i = 0; i < ha.peer_addresses6_size(); ++i) {
    const std::string path = "ha.peer_addresses6[" + std::to_string(i) + "]";
    auto addr = parse_ipv6(ha.peer_addresses6(i));
    if (!addr || addr->is_multicast() || addr->is_unspecified() || addr->is_link_local()) {
      error(path, "\"" + ha.peer_addresses6(i) + "\" is not a global or unique-local IPv6 address");
      continue;
    }
    bool placed = false;
    for (const Link& l : links_)
      for (const auto& [idx, prefix] : l.prefixes6) placed |= prefix.contains(*addr);
    if (!placed) error(path, ha.peer_addresses6(i) + " is not inside the IPv6 prefix of any interface");
  }
}

}  // namespace wp::mgmt::detail
