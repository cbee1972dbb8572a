// Routes from zebra and their FIB; see route_table.h.
#include "dataplane/control/fpm/route_table.h"

#include <algorithm>

namespace wp::fpm {
namespace {

// linux/rtnetlink.h RTPROT_* and FRR's zebra/rt_netlink.h additions.
constexpr uint8_t kProtoKernel = 2, kProtoBoot = 3, kProtoStatic = 4, kProtoBgp = 186, kProtoIsis = 187,
                  kProtoOspf = 188, kProtoRip = 189, kProtoEigrp = 192, kProtoZstatic = 196,
                  kProtoOpenfabric = 197;
constexpr uint8_t kRtnBlackhole = 6, kRtnUnreachable = 7, kRtnProhibit = 8;

}  // namespace

uint8_t distance_of(uint8_t protocol) {
  switch (protocol) {
    case kProtoKernel:
    case kProtoBoot: return 0;
    case kProtoStatic:
    case kProtoZstatic: return 1;
    case kProtoBgp: return 20;  // eBGP; zebra does not say whether it was iBGP (200)
    case kProtoEigrp: return 90;
    case kProtoOspf: return 110;
    case kProtoIsis: return 115;
    case kProtoOpenfabric: return 115;
    case kProtoRip: return 120;
    default: return 150;
  }
}

std::string_view protocol_name(uint8_t protocol) {
  switch (protocol) {
    case kProtoKernel: return "kernel";
    case kProtoBoot: return "boot";
    case kProtoStatic:
    case kProtoZstatic: return "static";
    case kProtoBgp: return "bgp";
    case kProtoIsis: return "isis";
    case kProtoOspf: return "ospf";
    case kProtoRip: return "rip";
    case kProtoEigrp: return "eigrp";
    case kProtoOpenfabric: return "openfabric";
    default: return "other";
  }
}

RouteTable::RouteTable(std::vector<RouteInterface> interfaces, IfindexNamer namer)
    : ifaces_(std::move(interfaces)), namer_(std::move(namer)) {}

void RouteTable::apply(const FpmMessage& m, uint64_t now_ms) {
  switch (m.kind) {
    case FpmKind::route_add:
    case FpmKind::route_del: apply_route(m, now_ms); break;
    case FpmKind::nexthop_add:
    case FpmKind::nexthop_del: apply_nexthop(m); break;
    case FpmKind::ignored: break;
  }
}

void RouteTable::apply_route(const FpmMessage& m, uint64_t now_ms) {
  if (m.table != kMainTable) return void(++counters_.other_table);
  if (m.ipv6 && (m.prefix6.addr.is_link_local() || m.prefix6.addr.is_multicast()))
    return void(++counters_.link_local6);
  if (m.kind == FpmKind::route_del) {
    if (m.ipv6 ? routes6_.erase(key(m.prefix6)) : routes_.erase(key(m.prefix)))
      ++counters_.routes_withdrawn;
    else
      ++counters_.withdraw_unknown;
    return;
  }
  if (m.ipv6) {
    auto [it, fresh] = routes6_.try_emplace(key(m.prefix6));
    return update_route(it->second, fresh, m, now_ms);
  }
  auto [it, fresh] = routes_.try_emplace(key(m.prefix));
  update_route(it->second, fresh, m, now_ms);
}

void RouteTable::update_route(Route& r, bool fresh, const FpmMessage& m, uint64_t now_ms) {
  // A replayed route that did not change keeps its age.
  const bool same = !fresh && r.protocol == m.protocol && r.nh_id == m.nh_id && r.hops.size() == m.hops.size() &&
                    std::equal(r.hops.begin(), r.hops.end(), m.hops.begin(), [](const auto& a, const auto& b) {
                      return a.gateway == b.gateway && a.gateway6 == b.gateway6 && a.ifindex == b.ifindex;
                    });
  if (!same) r.installed_ms = now_ms;
  r.protocol = m.protocol;
  r.blackhole = m.type == kRtnBlackhole || m.type == kRtnUnreachable || m.type == kRtnProhibit;
  r.nh_id = m.nh_id;
  r.hops = m.hops;
  r.generation = generation_;
  ++counters_.routes_added;
}

void RouteTable::apply_nexthop(const FpmMessage& m) {
  if (m.kind == FpmKind::nexthop_del) {
    objects_.erase(m.id);
    ++counters_.nexthops_withdrawn;
    return;
  }
  NextHopObject& o = objects_[m.id];
  o.hops = m.hops;
  o.group = m.group;
  o.blackhole = m.blackhole;
  o.generation = generation_;
  ++counters_.nexthops_added;
}

size_t RouteTable::sweep() {
  size_t n = std::erase_if(routes_, [g = generation_](const auto& kv) { return kv.second.generation < g; });
  n += std::erase_if(routes6_, [g = generation_](const auto& kv) { return kv.second.generation < g; });
  std::erase_if(objects_, [g = generation_](const auto& kv) { return kv.second.generation < g; });
  iface_of_ifindex_.clear();  // the kernel may have renumbered while we were away
  counters_.swept += n;
  return n;
}

int RouteTable::resolve_iface(const FpmNextHop& h, bool v6) {
  if (h.ifindex) {
    auto [it, fresh] = iface_of_ifindex_.try_emplace(h.ifindex, kNoIface);
    if (fresh && namer_) {
      const std::string name = namer_(h.ifindex);
      for (size_t i = 0; i < ifaces_.size() && !name.empty(); ++i)
        if (ifaces_[i].name == name || ifaces_[i].kernel == name) it->second = static_cast<int>(i);
    }
    if (it->second != kNoIface) return it->second;
  }
  if (v6) {
    // A link-local gateway is on every link: only its ifindex says which (subnets6 hold no fe80::/64).
    for (size_t i = 0; i < ifaces_.size() && !h.gateway6.is_unspecified(); ++i)
      for (const Ipv6Prefix& p : ifaces_[i].subnets6)
        if (p.contains(h.gateway6)) return static_cast<int>(i);
    return kNoIface;
  }
  if (h.gateway)
    for (size_t i = 0; i < ifaces_.size(); ++i)
      if (ifaces_[i].subnet.len && ifaces_[i].subnet.contains(h.gateway)) return static_cast<int>(i);
  return kNoIface;
}

void RouteTable::add_hops(const std::vector<FpmNextHop>& in, FibRoute& out) {
  for (const FpmNextHop& h : in) {
    const int i = resolve_iface(h, false);
    if (i == kNoIface || out.paths == kFibMaxPaths) continue;
    const int tunnel = ifaces_[static_cast<size_t>(i)].tunnel;
    const FibNextHop nh =
        tunnel >= 0 ? FibNextHop{static_cast<Ipv4>(tunnel), kFibIfaceTunnel} : FibNextHop{h.gateway, i};
    if (std::find(out.hops, out.hops + out.paths, nh) == out.hops + out.paths) out.hops[out.paths++] = nh;
  }
}

void RouteTable::add_hops(const std::vector<FpmNextHop>& in, FibRoute6& out) {
  for (const FpmNextHop& h : in) {
    const int i = resolve_iface(h, true);
    if (i == kNoIface || out.paths == kFibMaxPaths) continue;
    if (!ifaces_[static_cast<size_t>(i)].ipv6_mtu) {
      ++counters_.tunnel_mtu6;
      continue;
    }
    const int tunnel = ifaces_[static_cast<size_t>(i)].tunnel;
    const FibNextHop6 nh = tunnel >= 0 ? FibNextHop6{tunnel_hop6(static_cast<uint32_t>(tunnel)), kRoute6Tunnel}
                                       : FibNextHop6{h.gateway6, i};
    if (std::find(out.hops, out.hops + out.paths, nh) == out.hops + out.paths) out.hops[out.paths++] = nh;
  }
}

// False when the route cannot be installed (no next hop resolved).
template <class F>
bool RouteTable::resolve(const Route& r, F& out) {
  out.protocol = r.protocol;
  out.distance = distance_of(r.protocol);
  out.paths = 0;
  if (r.blackhole) return true;  // installed without next hops: a drop
  const uint64_t mtu_skipped = counters_.tunnel_mtu6;
  if (r.nh_id) {
    auto it = objects_.find(r.nh_id);
    if (it == objects_.end()) return ++counters_.unknown_nh_id, false;
    if (it->second.blackhole) return true;
    add_hops(it->second.hops, out);
    for (uint32_t member : it->second.group)
      if (auto m = objects_.find(member); m != objects_.end()) add_hops(m->second.hops, out);
  } else {
    add_hops(r.hops, out);
  }
  // Every hop into a tunnel below IPv6's 1280 (RouteInterface::ipv6_mtu): a drop, as a
  // blackhole, not left out, or the destination would fall back to a shorter route (a
  // default route out of a WAN) and leave unencrypted.
  if (out.paths == 0 && counters_.tunnel_mtu6 != mtu_skipped) return true;
  if (out.paths == 0) ++counters_.unresolved;
  return out.paths != 0;
}

std::unique_ptr<const FibTable> RouteTable::build() {
  std::vector<FibRoute> fib;
  fib.reserve(routes_.size());
  counters_.unresolved = counters_.unknown_nh_id = 0;  // a property of this build, not a history
  for (const auto& [k, r] : routes_) {
    FibRoute f;
    f.prefix = {static_cast<Ipv4>(k >> 8), static_cast<uint8_t>(k & 0xff)};
    if (resolve(r, f)) fib.push_back(f);
  }
  return FibTable::build(std::move(fib));
}

std::unique_ptr<const FibTable6> RouteTable::build6() {
  std::vector<FibRoute6> fib;
  fib.reserve(routes6_.size());
  counters_.tunnel_mtu6 = 0;  // a property of this build, as unresolved is
  for (const auto& [k, r] : routes6_) {
    FibRoute6 f;
    f.prefix = {k.first, k.second};
    if (resolve(r, f)) fib.push_back(f);
  }
  return std::make_unique<const FibTable6>(std::move(fib));
}

std::string_view RouteTable::hop_interface(const FibNextHop6& h) const {
  if (h.iface == kRoute6Tunnel) return hop_interface(FibNextHop{tunnel_of_hop6(h.next_hop), kFibIfaceTunnel});
  return hop_interface(FibNextHop{0, h.iface});
}

std::string_view RouteTable::hop_interface(const FibNextHop& h) const {
  // Two returns, not a conditional: `cond ? name : ""` is a temporary std::string, and the view would dangle.
  if (!h.tunnel()) {
    if (h.iface >= 0 && static_cast<size_t>(h.iface) < ifaces_.size()) return ifaces_[h.iface].name;
    return {};
  }
  for (const RouteInterface& i : ifaces_)
    if (i.tunnel >= 0 && static_cast<Ipv4>(i.tunnel) == h.gateway) return i.name;
  return {};
}

uint64_t RouteTable::installed_ms(const Ipv4Prefix& p) const {
  auto it = routes_.find(key(p));
  return it == routes_.end() ? 0 : it->second.installed_ms;
}

uint64_t RouteTable::installed_ms(const Ipv6Prefix& p) const {
  auto it = routes6_.find(key(p));
  return it == routes6_.end() ? 0 : it->second.installed_ms;
}

}  // namespace wp::fpm
