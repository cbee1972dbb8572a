// Lookups in the compiled router model; see router_model.h (building it: model_build.cc).
#include "dataplane/control/router_model.h"

#include <algorithm>

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/ip/packet.h"

namespace wp {
namespace {

// Among the services whose `iface` member is set and that match (a, proto,
// port), the one with the most specific IPv4 prefix holding `a`; kNone if none.
template <class Iface>
int longest_service(const RouterModel& m, Iface ServiceModel::*iface, Ipv4 a, uint8_t proto, uint16_t port) {
  int best = kNone, best_len = -1;
  for (size_t s = 0; s < m.services.size(); ++s) {
    if (m.services[s].*iface == kNone || !m.service_matches(static_cast<int>(s), a, proto, port)) continue;
    for (const auto& p : m.services[s].prefixes)
      if (p.contains(a) && p.len > best_len) {
        best = static_cast<int>(s);
        best_len = p.len;
      }
  }
  return best;
}

}  // namespace

int RouterModel::tenant_for(Ipv4 src, int iface) const {
  for (const auto& tp : tenant_prefixes_)
    if (tp.prefix.contains(src)) return tp.tenant;
  if (iface >= 0 && static_cast<size_t>(iface) < tenant_of_iface_.size()) return tenant_of_iface_[iface];
  return kNone;
}

int RouterModel::tenant_for6(const Ipv6& src, int iface) const {
  for (const auto& tp : tenant_prefixes6_)
    if (tp.prefix.contains(src)) return tp.tenant;
  if (iface >= 0 && static_cast<size_t>(iface) < tenant_of_iface_.size()) return tenant_of_iface_[iface];
  return kNone;
}

bool RouterModel::service_matches(int s, Ipv4 dst, uint8_t proto, uint16_t dport) const {
  const ServiceModel& svc = services[s];
  if (svc.proto != 0 && svc.proto != proto) return false;
  // ICMP echo's "port" is its identifier, which port lists do not mean.
  if (!svc.ports.empty() && proto == kProtoIcmp) return false;
  if (!svc.ports.empty() &&
      std::none_of(svc.ports.begin(), svc.ports.end(), [&](const PortRange& r) { return r.contains(dport); }))
    return false;
  return std::any_of(svc.prefixes.begin(), svc.prefixes.end(), [&](const Ipv4Prefix& p) { return p.contains(dst); });
}

int RouterModel::service_for(Ipv4 dst, uint8_t proto, uint16_t dport) const {
  // Most specific prefix wins; among equals, the first service in config order.
  int best = kNone, best_len = -1;
  for (size_t s = 0; s < services.size(); ++s) {
    if (services[s].nat64_iface != kNone || services[s].nat46_iface != kNone ||
        !service_matches(static_cast<int>(s), dst, proto, dport))
      continue;
    for (const auto& p : services[s].prefixes)
      if (p.contains(dst) && p.len > best_len) {
        best = static_cast<int>(s);
        best_len = p.len;
      }
  }
  return best;
}

int ServiceModel::serves6(const Ipv6& dst, uint8_t p, uint16_t dport) const {
  if (prefixes6.empty() || (proto != 0 && proto != p)) return -1;
  // ICMPv6 echo's "port" is its identifier, which port lists do not mean.
  if (!ports.empty() && (p == kProtoIcmpv6 || std::none_of(ports.begin(), ports.end(),
                                                            [&](const PortRange& r) { return r.contains(dport); })))
    return -1;
  int len = -1;
  for (const auto& pre : prefixes6)
    if (pre.len > len && pre.contains(dst)) len = pre.len;
  return len;
}

int RouterModel::service_for6(const Ipv6& dst, uint8_t proto, uint16_t dport) const {
  int best = kNone, best_len = -1;
  for (size_t s = 0; s < services.size(); ++s)
    if (const int len = services[s].serves6(dst, proto, dport); len > best_len) {
      best = static_cast<int>(s);
      best_len = len;
    }
  return best;
}

// Most specific IPv4 prefix among the NAT46 services (service_for's rule).
int RouterModel::nat46_service_for(Ipv4 dst, uint8_t proto, uint16_t dport) const {
  if (!nat46) return kNone;
  return longest_service(*this, &ServiceModel::nat46_iface, dst, proto, dport);
}

// The NAT46 service whose source prefix holds dst and whose servers hold src
// (an IPv4 address that service would have sent the forward packet to).
int RouterModel::nat46_service_for6(const Ipv6& src, const Ipv6& dst, uint8_t proto, uint16_t sport, Ipv4& server4,
                                    Ipv4& client4) const {
  if (!nat46) return kNone;
  Ipv6Bytes s6, d6;
  store_ipv6(s6.data(), src);
  store_ipv6(d6.data(), dst);
  for (size_t s = 0; s < services.size(); ++s) {
    const ServiceModel& svc = services[s];
    if (svc.nat46_iface == kNone) continue;
    auto c = svc.nat46_client(d6);
    if (!c) continue;
    auto a = svc.nat46_server4(s6);
    if (!a || nat46_service_for(*a, proto, sport) != static_cast<int>(s)) continue;
    server4 = *a;
    client4 = *c;
    return static_cast<int>(s);
  }
  return kNone;
}

// Most specific IPv4 prefix among the NAT64 services whose IPv6 prefix holds dst.
int RouterModel::nat64_service_for(const Ipv6& dst, uint8_t proto, uint16_t dport, Ipv4& v4, bool& embedded) const {
  if (nat64_pool.empty()) return embedded = false, kNone;
  int best = kNone, best_len = -1;
  embedded = false;
  Ipv6Bytes d;
  store_ipv6(d.data(), dst);
  for (size_t s = 0; s < services.size(); ++s) {
    const ServiceModel& svc = services[s];
    if (svc.nat64_iface == kNone) continue;
    auto a = nat64_extract(svc.nat64_prefix, svc.nat64_len, d);
    if (!a) continue;
    embedded = true;
    if (!service_matches(static_cast<int>(s), *a, proto, dport)) continue;
    for (const auto& p : svc.prefixes)
      if (p.contains(*a) && p.len > best_len) {
        best = static_cast<int>(s);
        best_len = p.len;
        v4 = *a;
      }
  }
  return best;
}

int RouterModel::nat64_service_for4(Ipv4 src, uint8_t proto, uint16_t sport) const {
  return longest_service(*this, &ServiceModel::nat64_iface, src, proto, sport);
}

AppDecision RouterModel::app_decision(int tenant, int service, uint16_t app, uint16_t category) const {
  if (!app_rules || tenant < 0 || service < 0) return AppDecision::allow;
  const size_t cell = static_cast<size_t>(tenant) * services.size() + static_cast<size_t>(service);
  if (cell < policy_app_deny_.size() && policy_app_deny_[cell].matches(app, category)) return AppDecision::policy_deny;
  const AppRules& only = services[static_cast<size_t>(service)].apps;
  return only.empty() || only.matches(app, category) ? AppDecision::allow : AppDecision::not_in_service;
}

const RouteModel* RouterModel::route_entry(Ipv4 dst) const {
  const RouteModel* best = nullptr;
  for (const auto& r : routes)
    if (r.prefix.contains(dst) && (!best || r.prefix.len > best->prefix.len)) best = &r;
  return best;
}

std::optional<NextHop> RouterModel::route(Ipv4 dst) const {
  const RouteModel* best = route_entry(dst);
  if (!best) return std::nullopt;
  return NextHop{best->iface, best->next_hop || best->tunnel() ? best->next_hop : dst};
}

int RouterModel::own_address_iface(Ipv4 addr) const {
  if (own_indexed_) {
    auto it = std::lower_bound(own_addrs_.begin(), own_addrs_.end(), std::pair<Ipv4, int>{addr, INT32_MIN});
    return it != own_addrs_.end() && it->first == addr ? it->second : kNone;
  }
  for (size_t i = 0; i < interfaces.size(); ++i)
    if (interfaces[i].holds(addr)) return static_cast<int>(i);
  return kNone;
}

int RouterModel::tunnel_by_address(Ipv4 addr) const {
  auto it = std::lower_bound(tunnel_addrs_.begin(), tunnel_addrs_.end(), std::pair<Ipv4, int>{addr, kNone});
  return it != tunnel_addrs_.end() && it->first == addr ? it->second : kNone;
}

int RouterModel::tunnel_by_address6(const Ipv6& addr) const {
  for (const auto& [a, t] : tunnel_addrs6_)
    if (a == addr) return t;
  return kNone;
}

int RouterModel::peer_by_name(std::string_view n) const {
  if (!peer_index_.empty() || peers.empty()) return find(peer_index_, n);
  for (size_t i = 0; i < peers.size(); ++i)
    if (peers[i].name == n) return static_cast<int>(i);
  return kNone;
}

int RouterModel::peer_by_waypoint(Ipv4 addr) const {
  if (own_indexed_) {
    auto it = std::lower_bound(peer_waypoints_.begin(), peer_waypoints_.end(), std::pair<Ipv4, int>{addr, INT32_MIN});
    if (it != peer_waypoints_.end() && it->first == addr) return it->second;
    return waypoint6_standin_peer(*this, addr);
  }
  for (size_t p = 0; p < peers.size(); ++p)
    for (Ipv4 w : peers[p].waypoints)
      if (w == addr) return static_cast<int>(p);
  return waypoint6_standin_peer(*this, addr);  // an IPv6 waypoint's stand-in (waypoint6_addr.h)
}

}  // namespace wp
