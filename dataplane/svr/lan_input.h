// LAN input: established sessions and the ingress first packet
// (docs/svr-wire-format.md § First packet, steps 1-2; docs/architecture.md § Sessions for port choice).
//
// A LAN packet with no session is a session request: tenant by source,
// service by destination, and only an explicit policy allows it (deny by
// default). The ingress router then binds the WAN side: our waypoint address
// on the interface that reaches the peer, an even own port and an odd peer
// port whose (port >> 1) & 63 both equal the session's affinity class, so the
// peer and our own WAN input dispatch its packets to the same worker without
// parsing metadata. Emit then adds the metadata. A breakout service binds
// side B to a source-NAT port of the WAN interface instead (svr/breakout.h),
// and is the only kind that takes ICMP echo.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <optional>

#include "dataplane/ip/packet.h"
#include "dataplane/session/session.h"
#include "dataplane/svr/app_inspect.h"
#include "dataplane/svr/crypto_batch.h"
#include "dataplane/svr/emit.h"
#include "dataplane/svr/migration.h"
#include "dataplane/svr/policy_recheck.h"
#include "dataplane/svr/svr_icmp4.h"
#include "dataplane/worker/context.h"

namespace wp {

class LanInput {
 public:
  LanInput(WorkerContext& ctx, Emit& emit, CryptoBatch& crypto, PathMigration& migration, PolicyRecheck& recheck,
           AppInspect& apps, Duplication& dup)
      : ctx_(ctx), emit_(emit), crypto_(crypto), migration_(migration), recheck_(recheck), apps_(apps), dup_(dup) {}

  // A packet this worker owns that arrived on a LAN interface `iface`, or
  // out of IPsec tunnel `tunnel` (iface kNone): the tunnel's tenant is its
  // source tenant and the session's side A is the tunnel (replies go back
  // into it), and a session whose arriving side is not that tunnel refuses it.
  void input(rte_mbuf* m, ParsedPacket& pp, int iface, int tunnel = kNone);
  // Where ICMPv4 errors about packets of SVR sessions go (svr/svr_icmp4.h); without it they drop.
  void attach_icmp4(SvrIcmp4* icmp4) { icmp4_ = icmp4; }

 private:
  void first_packet(rte_mbuf* m, ParsedPacket& pp, int iface, int tunnel);
  // An ICMPv4 error quoting `q`, a packet we sent: to its session's owner here (svr/svr_icmp4.h).
  void icmp_error(rte_mbuf* m, const ParsedPacket& pp, const FiveTuple& q);
  // Side B of a new session `s` of service `svc`: a peer, a breakout port or
  // (both ends on our LAN side) a plain routed session. False with `why`.
  bool bind_side_b(Session& s, const ServiceModel& svc, DropReason& why);
  // Why ICMP of `service` may not start a session (nullopt: it may): echo goes
  // through a breakout, or routed between the LAN and a tunnel; the rest is
  // unsupported_proto, except an echo request from the LAN to a destination
  // with no route at all, which is no_route (e.g. a site's prefix withdrawn
  // when its tunnel died).
  std::optional<DropReason> icmp_refusal(const FiveTuple& t, int service, int tunnel, bool echo_request) const;

  WorkerContext& ctx_;
  Emit& emit_;
  CryptoBatch& crypto_;
  PathMigration& migration_;
  PolicyRecheck& recheck_;
  AppInspect& apps_;
  Duplication& dup_;
  SvrIcmp4* icmp4_ = nullptr;
};

}  // namespace wp
