// Our end of a LAN side's link: what an IPv4 session's side (or a route back
// to a sender) that is a port or an IPsec tunnel offers an ICMP error toward
// it and a packet into it. From a port: its address (RFC 1812 § 4.3.2.4: the
// error's source is an address of the interface it leaves by) and its MTU;
// from a tunnel: the router's inner address on it (tunnels[].address,
// docs/ipsec.md § Dynamic routing over tunnels) and its inner MTU now (less
// while a learned outer path MTU holds, ipsec/esp_path_mtu.h). The steps that
// answer a packet too big for a side (SvrIcmp4, Fragments) and the one that
// fragments a restored packet for it (Emit) read the same two values here.
#pragma once

#include <cstdint>
#include <optional>

#include "dataplane/worker/context.h"

namespace wp {

struct LanLink {
  Ipv4 addr = 0;  // 0: a tunnel without tunnels[].address, nothing to answer from
  uint16_t mtu = 0;
};

// Side `iface` (an interface index, or kIfaceTunnel with `next_hop` the tunnel's index);
// nullopt: neither (a WAN peer's side, an IPv6 one, a tunnel a commit removed).
inline std::optional<LanLink> lan_link(const WorkerContext& ctx, int iface, uint32_t next_hop) {
  const RouterModel& rm = ctx.rm();
  if (iface >= 0 && static_cast<size_t>(iface) < rm.interfaces.size()) {
    const InterfaceModel& port = rm.interfaces[static_cast<size_t>(iface)];
    return LanLink{port.addr, port.mtu};
  }
  if (iface == kIfaceTunnel && next_hop < rm.tunnels.size())
    return LanLink{rm.tunnels[next_hop].addr, ctx.tunnel_mtu(next_hop)};
  return std::nullopt;
}

}  // namespace wp
