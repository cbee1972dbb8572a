// Config validation of IPv6 routing (docs/ipv6.md § IPv6 routing and
// sessions): static routes with an IPv6 destination and an IPv6 next hop
// on-link on a port with ipv6_addresses (or into an IPsec tunnel, without a
// next hop), and services' IPv6 prefixes. IPv6
// services are delivered by routing on this router only: SVR over IPv6
// (next_peer), breakout, NAT64 and NAT46 of IPv6 destinations are refused
// here, so the dataplane never meets them. Address text is parsed with
// dataplane/ip/ipv6.h, like the packet path.
#include "mgmt/config_validator.h"

namespace wp::mgmt::detail {

bool looks_ipv6(const std::string& text) { return text.find(':') != std::string::npos; }

std::optional<Ipv6Prefix> ConfigValidator::cidr6(const std::string& text, const std::string& path) {
  Ipv6 host;
  auto p = parse_prefix6(text, &host);
  if (!p) {
    error(path, "\"" + text + "\" is not an IPv6 prefix (\"2001:db8:72::/64\")");
  } else if (host != p->addr) {
    error(path, "\"" + text + "\" has host bits set (did you mean " + format_prefix6(*p) + "?)");
    return std::nullopt;
  }
  return p;
}

void ConfigValidator::cidr46(const std::string& text, const std::string& path) {
  if (looks_ipv6(text))
    cidr6(text, path);
  else
    cidr(text, path, true);
}

void ConfigValidator::check_route6(const config::Route& rt, const std::string& path) {
  auto p = cidr6(rt.prefix(), path + ".prefix");
  if (p) {
    if (std::find(routes6_.begin(), routes6_.end(), *p) != routes6_.end())
      error(path + ".prefix", format_prefix6(*p) + " is routed twice");
    routes6_.push_back(*p);
  }
  const Link* link = nullptr;
  if (required(rt.interface(), path + ".interface")) {
    link = find_link(rt.interface());
    // Into an IPsec tunnel (docs/ipsec.md § IPv6 inside tunnels): the tunnel is the next hop,
    // as for IPv4 routes (a tunnel named like a port is refused in check_tunnels; the port wins).
    if (!link && is_tunnel(rt.interface())) {
      if (!rt.next_hop().empty())
        error(path + ".next_hop", "a route into tunnel \"" + rt.interface() + "\" has no next hop (leave it empty)");
      return;
    }
    if (!link)
      error(path + ".interface", "unknown interface \"" + rt.interface() +
                                     "\" (IPv6 routes leave by a LAN or WAN port or into a tunnel)");
    else if (link->prefixes6.empty())
      error(path + ".interface", "interface \"" + link->name + "\" has no ipv6_addresses: no IPv6 next hop is on-link there");
  }
  if (!required(rt.next_hop(), path + ".next_hop")) return;
  if (parse_ipv4(rt.next_hop())) {
    error(path + ".next_hop", "\"" + rt.next_hop() + "\" is an IPv4 address: an IPv6 route needs an IPv6 next hop");
    return;
  }
  auto hop = parse_ipv6(rt.next_hop());
  if (!hop) {
    error(path + ".next_hop", "\"" + rt.next_hop() + "\" is not an IPv6 address");
    return;
  }
  if (hop->is_unspecified() || hop->is_multicast() || hop->is_link_local()) {
    error(path + ".next_hop", "\"" + rt.next_hop() +
                                  "\" must be a unicast address inside the interface's IPv6 prefixes (link-local next "
                                  "hops are not supported yet)");
    return;
  }
  if (!link || link->prefixes6.empty()) return;
  std::string on;
  for (const auto& [i, pf] : link->prefixes6) {
    if (pf.contains(*hop)) return;
    on += (on.empty() ? "" : ", ") + format_prefix6(pf);
  }
  error(path + ".next_hop", rt.next_hop() + " is not on-link: not inside " + on + ", the IPv6 prefixes of interface \"" +
                                link->name + "\"");
}

void ConfigValidator::check_service_ipv6(const config::Service& s, const std::string& path) {
  const std::string why = " (docs/ipv6.md § IPv6 routing and sessions: IPv6 services are routed on this router)";
  // next_peer: IPv6 sessions between IPv4 waypoints (svr/svr6_lan.h, docs/ipv6.md).
  if (s.has_breakout()) error(path + ".breakout", "IPv6 prefixes with breakout are not supported" + why);
  if (s.has_nat64()) error(path + ".nat64", "a NAT64 service's prefixes are IPv4 destinations, not IPv6");
  if (s.has_nat46()) error(path + ".nat46", "a NAT46 service's prefixes are IPv4 destinations, not IPv6");
}

}  // namespace wp::mgmt::detail
