// Lookups in the compiled router model; see router_model.h (building it: model_build.cc).
#include "dataplane/control/router_model.h"

#include <algorithm>

#include "dataplane/ip/packet.h"

namespace wp {

int RouterModel::tenant_for(Ipv4 src, int iface) const {
  for (const auto& tp : tenant_prefixes_)
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
    if (!service_matches(static_cast<int>(s), dst, proto, dport)) continue;
    for (const auto& p : services[s].prefixes)
      if (p.contains(dst) && p.len > best_len) {
        best = static_cast<int>(s);
        best_len = p.len;
      }
  }
  return best;
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
  return NextHop{best->iface, best->next_hop ? best->next_hop : dst};
}

int RouterModel::own_address_iface(Ipv4 addr) const {
  for (size_t i = 0; i < interfaces.size(); ++i)
    if (interfaces[i].holds(addr)) return static_cast<int>(i);
  return kNone;
}

int RouterModel::peer_by_waypoint(Ipv4 addr) const {
  for (size_t p = 0; p < peers.size(); ++p)
    for (Ipv4 w : peers[p].waypoints)
      if (w == addr) return static_cast<int>(p);
  return kNone;
}

}  // namespace wp
