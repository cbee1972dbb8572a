// Config validation of Router Advertisements (router.lan.ipv6_ra; docs/ipv6.md
// § Router Advertisements): RFC 4861 § 6.2.1's bounds on the interval and the
// Router Lifetime, prefix lifetimes that make sense, and advertising only
// where hosts can use it: a LAN interface with ipv6_addresses to advertise.
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
}

}  // namespace wp::mgmt::detail
