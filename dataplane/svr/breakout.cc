// Internet breakout binding; see breakout.h.
#include "dataplane/svr/breakout.h"

#include "dataplane/ip/packet.h"

namespace wp {

bool bind_breakout(WorkerContext& ctx, Session& s, const ServiceModel& svc, DropReason& why) {
  const FiveTuple& t = s.original;
  auto nh = ctx.route(t.dst, symmetric_hash(t));
  if (!nh || nh->iface != svc.breakout_iface) {
    why = DropReason::breakout_no_route;
    return false;
  }
  // Ports are shared between remote ends (session/nat_ports.h): a port whose
  // reply key is taken (a session to the same remote end on it, or an SVR
  // session of the same address whose peer is the destination) is given back
  // and the next in rotation tried. Eight misses in a row: this remote end
  // holds (nearly) every port.
  for (int attempt = 0; attempt < 8; ++attempt) {
    uint16_t port = ctx.nat_ports.take(t.proto);
    if (port == 0) break;
    // ICMP echo: the identifier is both "ports" (dataplane/ip/packet.h).
    FiveTuple out{svc.breakout_addr, t.dst, port, t.proto == kProtoIcmp ? port : t.dport, t.proto};
    if (!ctx.table.lookup(out.reversed())) {
      s.out_fwd = SideOut{out, nh->addr, nh->iface};
      s.nat = 1;
      return true;
    }
    ctx.nat_ports.give(t.proto, port);
  }
  why = DropReason::breakout_ports_exhausted;
  return false;
}

}  // namespace wp
