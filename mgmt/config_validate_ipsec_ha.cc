// `ipsec_peers[].initiate_from` (docs/ipsec.md § HA): in an HA pair both
// nodes carry the same ipsec_peers, so a peer with `initiate` would be
// initiated by both, each from its own address, and the two SAs would race
// at the site. The pair names one address instead; the node that answers
// for it (its owner, or the survivor that took it over) initiates, the
// other carries the synced SA on only after a takeover. It must be one of
// the pair's WAN addresses: ours (router.wan[].address or
// waypoint_addresses) or one of ha.peer_waypoints. An IPv6 peer is
// initiated from its local_address instead, required with initiate in a
// pair (one of our WAN IPv6 addresses or the HA peer's).
#include "mgmt/config_validator.h"

namespace wp::mgmt::detail {

void ConfigValidator::check_ipsec_initiate_from(const config::IpsecPeer& p, const std::string& path) {
  const std::string at = path + ".initiate_from";
  // An IPv6 peer is initiated from local_address (initiate_from is IPv4): in a
  // pair it names the pair's IPv6 address whose holder initiates.
  if (looks_ipv6(p.address()) && p.initiate() && cfg_.has_ha() && p.local_address().empty())
    return error(path + ".local_address",
                 "required with initiate to an IPv6 peer in an HA pair (ha): the IPv6 address whose holder initiates, "
                 "ours or the HA peer's, the same on both nodes (docs/ipsec.md § HA)");
  if (p.initiate_from().empty()) {
    if (looks_ipv6(p.address())) return;
    if (p.initiate() && cfg_.has_ha())
      error(at, "required with initiate in an HA pair (ha): the WAN address whose holder initiates, the same on both "
                "nodes (docs/ipsec.md § HA)");
    return;
  }
  if (!p.initiate()) return error(at, "set without initiate: nothing is initiated to this peer");
  if (looks_ipv6(p.address()))
    return error(at, "\"" + p.initiate_from() + "\" with an IPv6 address: an IPv6 peer is initiated from " +
                         "local_address (or the WAN address its route leaves)");
  const auto addr = parse_ipv4(p.initiate_from());
  if (!addr) return error(at, "\"" + p.initiate_from() + "\" is not an IPv4 address");
  for (const config::Interface& w : cfg_.router().wan()) {
    Ipv4 host = 0;
    if (parse_prefix(w.address(), &host) && host == *addr) return;
    for (const std::string& a : w.waypoint_addresses())
      if (parse_ipv4(a) == addr) return;
  }
  if (cfg_.has_ha())
    for (const std::string& a : cfg_.ha().peer_waypoints())
      if (parse_ipv4(a) == addr) return;
  error(at, "\"" + p.initiate_from() + "\" is not one of our WAN addresses" +
                std::string(cfg_.has_ha() ? " nor one of ha.peer_waypoints" : ""));
}

}  // namespace wp::mgmt::detail
