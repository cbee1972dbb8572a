// Config validation of NAT46 (docs/ipv6.md § NAT46): services[].nat46.
//
// A NAT46 service is reached by IPv4 clients on the LAN at its IPv4
// `prefixes`; each destination stands for an IPv6 server on-link on
// `nat46.interface` (RFC 6052 embedding under `server_prefix`, or an explicit
// `servers` map), and the client's IPv4 source is written under
// `source_prefix` (RFC 6052 again), a prefix the servers route back to this
// router. So:
// - the server prefix (and every mapped server) is inside one of the
//   interface's IPv6 prefixes (on-link, resolved with Neighbor Discovery),
//   or behind a router on that link: inside a static IPv6 route out of the
//   interface, or anywhere when FRR's routes come at run time (`fpm`);
// - the source prefix is on no interface (an on-link source prefix would need
//   this router to answer Neighbor Solicitations for every client) and
//   overlaps neither a server prefix nor a NAT64 prefix (one IPv6 address, one
//   meaning);
// - the service's IPv4 prefixes are on no interface's subnet: clients reach
//   them through this router (by their default route), not on-link by ARP.
#include <set>

#include "dataplane/ip/nat64.h"
#include "mgmt/config_validator.h"

namespace wp::mgmt::detail {
namespace {

constexpr int kMaxServers = 16;  // RouterModel keeps the map as a small vector, searched per new session

bool overlaps(const Ipv6Prefix& a, const Ipv6Prefix& b) { return a.contains(b.addr) || b.contains(a.addr); }

// The interface's IPv6 prefix that holds `p` whole, if any.
const Ipv6Prefix* on_link(const Link& l, const Ipv6Prefix& p) {
  for (const auto& [k, p6] : l.prefixes6)
    if (p6.len <= p.len && p6.contains(p.addr)) return &p6;
  return nullptr;
}

// A static IPv6 route out of `l` (its `interface`) that holds `p` whole.
bool routed(const config::Config& cfg, const Link& l, const Ipv6Prefix& p) {
  for (const config::Route& r : cfg.routes()) {
    auto rp = parse_prefix6(r.prefix());
    if (rp && r.interface() == l.name && rp->len <= p.len && rp->contains(p.addr)) return true;
  }
  return false;
}

std::string prefixes6_of(const Link& l) {
  std::string out;
  for (const auto& [k, p6] : l.prefixes6) out += (out.empty() ? "" : ", ") + format_prefix6(p6);
  return out;
}

}  // namespace

// On-link on `l`, or behind a router there: a static route out of `l`, or
// FRR's routes (`fpm` set: they arrive at run time; a server with none is
// looked for on-link, and Neighbor Discovery's failure is `nd_unresolved`).
bool ConfigValidator::reachable(const Link& l, const Ipv6Prefix& p) const {
  return on_link(l, p) || routed(cfg_, l, p) || cfg_.has_fpm();
}

void ConfigValidator::check_nat46() {
  for (int i = 0; i < cfg_.services_size(); ++i)
    if (cfg_.services(i).has_nat46()) check_nat46_service(cfg_.services(i), at("services", i));
}

void ConfigValidator::check_nat46_service(const config::Service& s, const std::string& path) {
  const config::Nat46& n = s.nat46();
  const std::string at_n = path + ".nat46";
  if (!s.next_peer().empty())
    error(at_n, "a NAT46 service is delivered from this router, not a peer (remove next_peer)");
  if (s.has_breakout()) error(at_n, "set either nat46 or breakout, not both");
  if (s.has_nat64()) error(at_n, "set either nat46 or nat64, not both (NAT64 is for IPv6 clients, NAT46 for IPv4 ones)");
  // (paths and sla need a next_peer: check_paths says so.)

  // Clients reach the service's addresses through this router.
  for (int j = 0; j < s.prefixes_size(); ++j) {
    auto p = parse_prefix(s.prefixes(j));
    if (!p) continue;  // check_services reported it
    for (const Link& l : links_)
      if (l.prefix && (l.prefix->contains(p->addr) || p->contains(l.prefix->addr)))
        error(at(path + ".prefixes", j), "\"" + s.prefixes(j) + "\" overlaps " + l.name + "'s subnet " +
                                             format_prefix(*l.prefix) +
                                             ": NAT46 addresses are reached through this router, not on-link");
  }

  const Link* l = nullptr;
  if (required(n.interface(), at_n + ".interface")) {
    l = find_link(n.interface());
    if (!l)
      error(at_n + ".interface", "\"" + n.interface() + "\" is not an interface name");
    else if (l->prefixes6.empty())
      error(at_n + ".interface", "\"" + n.interface() +
                                     "\" has no ipv6_addresses (the IPv6 servers are on-link there, resolved with "
                                     "Neighbor Discovery)");
  }
  if (l && l->prefixes6.empty()) l = nullptr;  // reported: no on-link checks against it

  std::optional<Ipv6Prefix> server;
  if (n.server_prefix().empty() && n.servers().empty()) {
    error(at_n + ".server_prefix", "required (or a servers map): how an IPv4 destination becomes a server's IPv6 address");
  } else if (!n.server_prefix().empty() && !n.servers().empty()) {
    error(at_n + ".server_prefix", "set either server_prefix or servers, not both");
  } else if (!n.server_prefix().empty()) {
    server = rfc6052_prefix(n.server_prefix(), at_n + ".server_prefix", "2001:db8:46::/96", true);
    if (server && l && !reachable(*l, *server))
      error(at_n + ".server_prefix", "\"" + n.server_prefix() + "\" is not inside an IPv6 prefix of " + l->name + " (" +
                                         prefixes6_of(*l) + ") nor a static IPv6 route out of it: the servers must be "
                                         "on-link there or behind a router on that link");
  } else {
    check_nat46_servers(s, at_n, l);
  }

  if (!required(n.source_prefix(), at_n + ".source_prefix")) return;
  auto src = rfc6052_prefix(n.source_prefix(), at_n + ".source_prefix", "2001:db8:4646::/96", true);
  if (!src) return;
  for (const Link& k : links_)
    for (const auto& [j, p6] : k.prefixes6)
      if (overlaps(*src, p6))
        error(at_n + ".source_prefix", "\"" + n.source_prefix() + "\" overlaps " + k.name + "'s IPv6 prefix " +
                                           format_prefix6(p6) +
                                           " (the servers route the clients' prefix to this router: it is on no link)");
  if (server && overlaps(*src, *server))
    error(at_n + ".source_prefix", "\"" + n.source_prefix() + "\" overlaps server_prefix " + format_prefix6(*server));
  for (const auto& o : cfg_.services()) {
    if (!o.has_nat64()) continue;
    auto p = o.nat64().prefix().empty() ? parse_prefix6("64:ff9b::/96") : parse_prefix6(o.nat64().prefix());
    if (p && overlaps(*src, *p))
      error(at_n + ".source_prefix", "\"" + n.source_prefix() + "\" overlaps service " + o.name() +
                                         "'s NAT64 prefix " + format_prefix6(*p));
  }
}

// The explicit map: 1..16 entries, each an IPv4 address of the service (once)
// and an on-link IPv6 unicast server address (once).
void ConfigValidator::check_nat46_servers(const config::Service& s, const std::string& at_n, const Link* l) {
  const std::string list = at_n + ".servers";
  if (s.nat46().servers_size() > kMaxServers)
    error(list, "at most " + std::to_string(kMaxServers) + " entries (use server_prefix for more)");
  std::set<Ipv4> seen4;
  std::set<Ipv6> seen6;
  for (int j = 0; j < s.nat46().servers_size(); ++j) {
    const config::Nat46Server& e = s.nat46().servers(j);
    const std::string p = at(list, j);
    if (auto a = parse_ipv4(e.ipv4()); !a) {
      error(p + ".ipv4", "\"" + e.ipv4() + "\" is not an IPv4 address (A.B.C.D)");
    } else {
      bool in = false;
      for (const auto& text : s.prefixes())
        if (auto pf = parse_prefix(text)) in = in || pf->contains(*a);
      if (!in) error(p + ".ipv4", "\"" + e.ipv4() + "\" is not in the service's prefixes");
      if (!seen4.insert(*a).second) error(p + ".ipv4", "\"" + e.ipv4() + "\" is listed twice");
    }
    auto v6 = parse_ipv6(e.ipv6());
    if (!v6) {
      error(p + ".ipv6", "\"" + e.ipv6() + "\" is not an IPv6 address (2001:db8:46::10)");
      continue;
    }
    if (v6->is_unspecified() || v6->is_multicast()) {
      error(p + ".ipv6", "\"" + e.ipv6() + "\" is not a unicast address");
      continue;
    }
    if (!seen6.insert(*v6).second) error(p + ".ipv6", "\"" + e.ipv6() + "\" is listed twice");
    if (l && !reachable(*l, Ipv6Prefix{*v6, 128}))
      error(p + ".ipv6", "\"" + e.ipv6() + "\" is not inside an IPv6 prefix of " + l->name + " (" + prefixes6_of(*l) +
                             ") nor a static IPv6 route out of it: the server must be on-link there or behind a "
                             "router on that link");
  }
}

}  // namespace wp::mgmt::detail
