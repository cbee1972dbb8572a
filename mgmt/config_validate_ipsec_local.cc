// `ipsec_peers[].local_address` (issue #20; docs/ipsec.md
// § Dynamic routing over tunnels): our IKE and ESP address for one peer, so a site can
// reach the headend on two addresses with a tunnel each (two tunnels to two
// headend addresses: failover by routing alone). It must be one of our WAN
// addresses: router.wan[].address or one of its waypoint_addresses (those
// are answered for ARP already and carry no other IKE role), or in an HA
// pair one of ha.peer_waypoints (the record of an SA travels with its local
// address, and the survivor answers for it after a takeover). With
// `initiate_from` both must name the same address (both say where we speak
// from). Two peers may share a remote_id only when both name a
// local_address and the two differ: the responder tells them apart by the
// address the site's IKE arrived at (RFC 7296 § 2.15's IDi alone cannot).
//
// IPv6 outer addresses (docs/ipsec.md § IPv6 outer addresses): an IPv6
// `address` is checked as an IPv6 waypoint is (global unicast: no
// link-local, which would need a zone; reachable from a WAN interface with
// ipv6_addresses), an IPv6 `local_address` must be one of a WAN interface's
// ipv6_addresses, and both must be of one family (an IKE SA's two ends
// are). waypointd's IKE service and workers speak IKE and ESP over IPv4
// only so far, so an IPv6 `address` is then refused with that reason rather
// than accepted and never answered.
#include "mgmt/config_validator.h"

namespace wp::mgmt::detail {

bool ConfigValidator::ipsec_wan_address(Ipv4 a, bool with_ha_peer) const {
  for (const config::Interface& w : cfg_.router().wan()) {
    Ipv4 host = 0;
    if (parse_prefix(w.address(), &host) && host == a) return true;
    for (const std::string& s : w.waypoint_addresses())
      if (parse_ipv4(s) == a) return true;
  }
  if (with_ha_peer && cfg_.has_ha())
    for (const std::string& s : cfg_.ha().peer_waypoints())
      if (parse_ipv4(s) == a) return true;
  return false;
}

bool ConfigValidator::ipsec_wan_address6(const Ipv6& a) const {
  for (const config::Interface& w : cfg_.router().wan())
    for (const std::string& s : w.ipv6_addresses()) {
      Ipv6 host;
      if (parse_prefix6(s, &host) && host == a) return true;
    }
  return false;
}

void ConfigValidator::check_ipsec_address(const config::IpsecPeer& p, const std::string& path) {
  const std::string at = path + ".address";
  if (!required(p.address(), at)) return;
  if (!looks_ipv6(p.address())) return check_waypoint(p.address(), at);
  const size_t before = errors_.size();
  check_waypoint6(p.address(), at);
  if (errors_.size() != before) return;
  error(at, "\"" + p.address() +
                "\" is an IPv6 address: IKE and ESP over IPv6 outer addresses are not built in waypointd yet "
                "(docs/ipsec.md § IPv6 outer addresses); reach the site over IPv4 (IPv6 inside the tunnel works)");
}

void ConfigValidator::check_ipsec_local_address(const config::IpsecPeer& p, const std::string& path) {
  if (p.local_address().empty()) return;
  const std::string at = path + ".local_address";
  if (looks_ipv6(p.local_address()) != looks_ipv6(p.address()) && !p.address().empty())
    return error(at, "\"" + p.local_address() + "\" and address \"" + p.address() +
                         "\" are of different families (both ends of an IKE SA are IPv4, or both IPv6)");
  if (looks_ipv6(p.local_address())) {
    const auto addr6 = parse_ipv6(p.local_address());
    if (!addr6) return error(at, "\"" + p.local_address() + "\" is not an IPv4 or IPv6 address");
    if (addr6->is_link_local())
      return error(at, "\"" + p.local_address() + "\" is link-local (it would need a zone): use a global address");
    if (!ipsec_wan_address6(*addr6))
      error(at, "\"" + p.local_address() + "\" is not one of our WAN IPv6 addresses (router.wan[].ipv6_addresses)");
    return;
  }
  const auto addr = parse_ipv4(p.local_address());
  if (!addr) return error(at, "\"" + p.local_address() + "\" is not an IPv4 address");
  if (!ipsec_wan_address(*addr, true))
    return error(at, "\"" + p.local_address() + "\" is not one of our WAN addresses (router.wan[].address or " +
                         "waypoint_addresses" + std::string(cfg_.has_ha() ? ", or ha.peer_waypoints)" : ")"));
  if (!p.initiate_from().empty() && parse_ipv4(p.initiate_from()) != addr)
    error(at, "\"" + p.local_address() + "\" differs from initiate_from \"" + p.initiate_from() +
                  "\" (we initiate from local_address; leave initiate_from empty or the same)");
}

// Peer `peer` repeats an earlier peer's remote_id: fine when it and every
// earlier peer with that remote_id name distinct local addresses.
bool ConfigValidator::ipsec_remote_id_shared_ok(int peer) const {
  const config::IpsecPeer& p = cfg_.ipsec_peers(peer);
  const auto mine = parse_ipv4(p.local_address());
  if (!mine) return false;
  for (int i = 0; i < peer; ++i) {
    const config::IpsecPeer& o = cfg_.ipsec_peers(i);
    if (o.remote_id() != p.remote_id()) continue;
    const auto theirs = parse_ipv4(o.local_address());
    if (!theirs || *theirs == *mine) return false;
  }
  return true;
}

}  // namespace wp::mgmt::detail
