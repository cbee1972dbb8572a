// Config validation of Router Advertisements (router.lan.ipv6_ra; docs/ipv6.md
// § Router Advertisements): RFC 4861 § 6.2.1's bounds on the interval and the
// Router Lifetime, prefix lifetimes that make sense, and advertising only
// where hosts can use it: a LAN interface with ipv6_addresses to advertise.
// The options beyond RFC 4861: DNS servers and search domains (RFC 8106),
// routes (RFC 4191), and the whole RA within 1280 bytes (not split).
#include <algorithm>

#include "dataplane/ip/router_advert.h"
#include "mgmt/config_validator.h"

namespace wp::mgmt::detail {

void ConfigValidator::check_router_adverts(const config::Interface& itf, const std::string& path, const Link& link) {
  if (!itf.has_ipv6_ra()) return;
  const config::Ipv6RouterAdvertisements& ra = itf.ipv6_ra();
  const std::string at = path + ".ipv6_ra";
  if (ra.enabled() && link.wan)
    error(at + ".enabled", "Router Advertisements are sent on LAN interfaces only, not on a WAN interface");
  if (ra.enabled() && itf.ipv6_addresses_size() == 0)
    error(at + ".enabled", "the interface has no ipv6_addresses: there is no prefix to advertise and hosts would "
                           "have no on-link address of ours");
  if (ra.enabled() && itf.mtu() != 0 && itf.mtu() < 1280)
    error(at + ".enabled", "the interface's mtu " + std::to_string(itf.mtu()) +
                               " is below 1280, the IPv6 minimum link MTU (RFC 8200 § 5): hosts would ignore the "
                               "advertised MTU (RFC 4861 § 6.3.4) and the link cannot carry IPv6");
  const uint32_t interval = ra.interval_s() ? ra.interval_s() : 600;
  if (ra.interval_s() != 0 && (ra.interval_s() < 4 || ra.interval_s() > 1800))
    error(at + ".interval_s", std::to_string(ra.interval_s()) + " is out of range (0 = 600, or 4..1800: RFC 4861 § 6.2.1)");
  if (ra.router_lifetime_s() > 9000)
    error(at + ".router_lifetime_s", std::to_string(ra.router_lifetime_s()) + " is out of range (at most 9000 s)");
  else if (ra.router_lifetime_s() != 0 && ra.router_lifetime_s() < interval)
    error(at + ".router_lifetime_s", std::to_string(ra.router_lifetime_s()) + " is shorter than interval_s (" +
                                         std::to_string(interval) +
                                         "): hosts would drop us as their router between two advertisements");
  if (ra.router_lifetime_s() != 0 && ra.not_default_router())
    error(at + ".router_lifetime_s", "set with not_default_router, which advertises a Router Lifetime of 0");
  const uint32_t valid = ra.valid_lifetime_s() ? ra.valid_lifetime_s() : 2'592'000;
  const uint32_t preferred = ra.preferred_lifetime_s() ? ra.preferred_lifetime_s() : 604'800;
  if (preferred > valid)
    error(at + ".preferred_lifetime_s", std::to_string(preferred) + " is longer than the valid lifetime (" +
                                            std::to_string(valid) + "): RFC 4862 § 5.5.3 c) ignores such a prefix");
  using Lifetime = std::pair<const char*, uint32_t>;
  for (const auto& [field, value] : {Lifetime{".dns_lifetime_s", ra.dns_lifetime_s()}, Lifetime{".route_lifetime_s", ra.route_lifetime_s()}})
    if (value != 0 && value < interval)
      error(at + field, std::to_string(value) + " is shorter than interval_s (" + std::to_string(interval) +
                            "): hosts would forget it between two advertisements");
  RaSettings s;  // what the RA will carry, for its length
  s.mtu_option = !ra.omit_mtu();
  check_ra_dns(ra, at, s);
  check_ra_routes(ra, at, link, s);
  std::vector<Ipv6Prefix> prefixes;
  for (const auto& [i, p] : link.prefixes6)
    if (std::find(prefixes.begin(), prefixes.end(), p) == prefixes.end()) prefixes.push_back(p);
  const uint32_t len = kIpv6HdrLen + router_advert_len(s, prefixes.size());
  if (ra.enabled() && len > kRaMaxIpv6Len)
    error(at, "the Router Advertisement would be " + std::to_string(len) + " bytes, over " +
                  std::to_string(kRaMaxIpv6Len) + " (the IPv6 minimum MTU, RFC 8200 § 5; it is not split): list fewer " +
                  "route_prefixes, dns_search names or ipv6_addresses prefixes");
}

// RFC 8106: global unicast servers, at most kRaMaxDnsServers, each once; search names per RFC 1035.
void ConfigValidator::check_ra_dns(const config::Ipv6RouterAdvertisements& ra, const std::string& at, RaSettings& s) {
  if (ra.dns_servers_size() > static_cast<int>(kRaMaxDnsServers))
    error(at + ".dns_servers", std::to_string(ra.dns_servers_size()) + " servers: at most " +
                                   std::to_string(kRaMaxDnsServers) + " (resolvers use the first three, RFC 8106 § 5.3.1)");
  for (int i = 0; i < ra.dns_servers_size(); ++i) {
    const std::string& text = ra.dns_servers(i);
    const std::string path = at + ".dns_servers[" + std::to_string(i) + "]";
    auto a = parse_ipv6(text);
    std::string why;
    if (!a)
      why = "is not an IPv6 address (\"2001:db8::53\")";
    else if (a->is_multicast() || a->is_unspecified() || *a == Ipv6{0, 1})
      why = "is not a unicast address (multicast, :: or ::1)";
    else if (a->is_link_local())
      why = "is link-local: a host could not tell on which of its links to reach it (RFC 8106 § 5.1 wants an "
            "address the host can use; configure the server's global or ULA address)";
    else if (a->hi == 0 && a->lo >> 32 == 0xffff)
      why = "is an IPv4-mapped address (::ffff:0:0/96)";
    else if (std::find(s.dns_servers.begin(), s.dns_servers.end(), *a) != s.dns_servers.end())
      why = "is listed twice";
    if (!why.empty()) {
      error(path, "\"" + text + "\" " + why);
      continue;
    }
    s.dns_servers.push_back(*a);
  }
  for (int i = 0; i < ra.dns_search_size(); ++i) {
    const std::string& name = ra.dns_search(i);
    if (std::string why = encode_dns_name(name, s.dns_search); !why.empty())
      error(at + ".dns_search[" + std::to_string(i) + "]", "\"" + name + "\" " + why);
  }
}

// RFC 4191: canonical prefixes (no host bits), each once, not inside one of
// the interface's on-link prefixes (hosts reach those directly; a route there
// would send them through us), and a known preference.
void ConfigValidator::check_ra_routes(const config::Ipv6RouterAdvertisements& ra, const std::string& at,
                                      const Link& link, RaSettings& s) {
  const std::string& pref = ra.route_preference();
  if (!pref.empty() && pref != "low" && pref != "medium" && pref != "high")
    error(at + ".route_preference", "\"" + pref + "\" is not low, medium or high (RFC 4191 § 2.1)");
  for (int i = 0; i < ra.route_prefixes_size(); ++i) {
    const std::string& text = ra.route_prefixes(i);
    const std::string path = at + ".route_prefixes[" + std::to_string(i) + "]";
    Ipv6 written;
    auto p = parse_prefix6(text, &written);
    if (!p) {
      error(path, "\"" + text + "\" is not an IPv6 prefix with a length 0..128 (\"2001:db8:100::/48\")");
      continue;
    }
    if (written != p->addr) {
      error(path, "\"" + text + "\" has bits set past its length: write " + format_prefix6(*p));
      continue;
    }
    if (p->addr.is_multicast() || p->addr.is_link_local()) {
      error(path, "\"" + text + "\" is a multicast or link-local prefix: hosts route neither through a router");
      continue;
    }
    if (std::find(s.routes.begin(), s.routes.end(), *p) != s.routes.end()) {
      error(path, "\"" + text + "\" is listed twice");
      continue;
    }
    auto on_link = std::find_if(link.prefixes6.begin(), link.prefixes6.end(), [&](const auto& l) {
      return l.second.len <= p->len && l.second.contains(p->addr);
    });
    if (on_link != link.prefixes6.end()) {
      error(path, "\"" + text + "\" is inside " + format_prefix6(on_link->second) + " (" + link.path +
                      ".ipv6_addresses[" + std::to_string(on_link->first) +
                      "]), which is on-link: hosts reach it directly, not through a route");
      continue;
    }
    s.routes.push_back(*p);
  }
}

}  // namespace wp::mgmt::detail
