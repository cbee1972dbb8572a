// Config validation of a peer's IPv6 waypoints (docs/ipv6.md § IPv6 sessions
// between IPv6 waypoints): an IPv6 entry of peers[].waypoints must parse, be
// a global unicast address (not link-local, multicast, unspecified, loopback
// or IPv4-mapped) and be reachable from a WAN interface: inside one of its
// ipv6_addresses prefixes (that address is then our IPv6 waypoint) or
// covered by an IPv6 route that leaves through a WAN interface with
// ipv6_addresses, or, with `fpm`, by FRR's IPv6 routes, which the workers
// look up per session (control/waypoint6_addr.h waypoint6_route). IPv6
// sessions to the peer then ride IPv6 waypoints.
#include "mgmt/config_validator.h"

namespace wp::mgmt::detail {

// An IPv6 waypoint's address form, whoever's it is (an error with `path` when not).
std::optional<Ipv6> ConfigValidator::waypoint6_address(const std::string& text, const std::string& path) {
  auto addr = parse_ipv6(text);
  if (!addr) return error(path, "\"" + text + "\" is not an IPv4 or IPv6 address"), std::nullopt;
  if (addr->is_link_local() || addr->is_multicast() || addr->is_unspecified() || *addr == Ipv6{0, 1} ||
      (addr->hi == 0 && addr->lo >> 32 == 0xffff))
    return error(path, "\"" + text +
                           "\" must be a global unicast IPv6 address (not link-local, multicast, unspecified, "
                           "loopback or IPv4-mapped)"),
           std::nullopt;
  return addr;
}

// An IPv6 entry of ha.peer_waypoints: the HA peer node's IPv6 waypoint, which
// this node claims with Neighbor Advertisements on the link that holds it
// (docs/ipv6.md § HA of sessions between IPv6 waypoints), so it must sit in
// the IPv6 prefix of one of our WAN interfaces.
void ConfigValidator::check_ha_waypoint6(const std::string& text, const std::string& path) {
  auto addr = waypoint6_address(text, path);
  if (!addr) return;
  for (const Link& l : links_)
    for (const auto& [i, pf] : l.prefixes6)
      if (l.wan && pf.contains(*addr)) return;
  error(path, text + " is not inside the IPv6 prefix of any WAN interface (the takeover claims it on that link)");
}

void ConfigValidator::check_waypoint6(const std::string& text, const std::string& path) {
  auto addr = waypoint6_address(text, path);
  if (!addr) return;
  for (const Link& l : links_) {
    if (!l.wan) continue;
    for (const auto& [i, pf] : l.prefixes6)
      if (pf.contains(*addr)) return;
  }
  for (const config::Route& rt : cfg_.routes()) {
    if (!looks_ipv6(rt.prefix())) continue;
    Ipv6 host;
    auto p = parse_prefix6(rt.prefix(), &host);
    const Link* l = find_link(rt.interface());
    if (p && p->contains(*addr) && l && l->wan && !l->prefixes6.empty()) return;
  }
  // FRR's routes (BGP over an IPv6 WAN) may carry it: known only at run time, where a session to
  // the peer rides IPv4 waypoints (or is refused) while none does.
  if (cfg_.has_fpm()) return;
  error(path, text +
                  " is not reachable from any WAN interface: not inside a WAN interface's ipv6_addresses prefixes "
                  "nor covered by an IPv6 route through a WAN interface with ipv6_addresses (nor `fpm` for FRR's "
                  "routes)");
}

}  // namespace wp::mgmt::detail
