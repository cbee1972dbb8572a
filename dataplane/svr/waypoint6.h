// IPv6 sessions between IPv6 waypoints (v6 in v6) and IPv4 sessions between
// IPv6 waypoints (v4 in v6; issue #19; docs/ipv6.md and docs/svr-wire-format.md,
// § IPv6 sessions between IPv6 waypoints and § IPv4 sessions between IPv6
// waypoints in both).
//
// Such a session is an IPv6 session between IPv4 waypoints (svr/svr6_lan.h:
// one IPv4 SVR session whose LAN side is a Session6, TLV 3/5 contexts), or a
// plain IPv4 session (TLV 2/4), whose WAN side uses the stand-in IPv4
// addresses of control/waypoint6_addr.h instead of IPv4 waypoints (which
// family: bind_wan_side, svr/session_setup.h). Everything between the LAN and the wire is
// IPv4's own code (port-encoded owner rule, metadata, HMAC, encryption,
// handshake); only the WAN leg differs, in this file:
// - out: a sealed IPv4 waypoint packet to a peer stand-in gets an IPv6 outer
//   header (RFC 7915 header translation, ip/nat64_packet.h: our IPv6
//   waypoint -> the peer's, traffic class = TOS, hop limit = TTL, the L4
//   checksum recomputed for the IPv6 pseudo-header), and leaves to the
//   IPv6 next hop of the peer waypoint (Neighbor Discovery). One larger than
//   the WAN MTU leaves in IPv6 fragments (RFC 8200 § 4.5: we are the source
//   of that header; svr/fragments.h has the policy, TCP with DF excepted).
// - in: TCP/UDP to our IPv6 waypoint on a WAN port, to a waypoint port, from
//   a peer's IPv6 waypoint, becomes the IPv4 stand-in form on the worker that
//   received it and is then dispatched by its destination port's class, as
//   IPv4 waypoint traffic is (Worker::dispatch), to WanInput. A peer's IPv6
//   fragments to our waypoint are first made whole on the worker their
//   datagram's key names (Fragments::take6), then take this path.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <optional>

#include "dataplane/control/waypoint6_addr.h"
#include "dataplane/ip/packet.h"
#include "dataplane/session/session.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/drop_reason.h"

namespace wp {

// The WAN side of a new IPv6 session toward `peer` on its IPv6 waypoints:
// the first one routed out of a WAN interface with an IPv6 waypoint of ours,
// a port pair of affinity class `cls` (pick_port_pair, as IPv4's).
bool bind_waypoint6(WorkerContext& ctx, Session& s, int peer, uint32_t cls, DropReason& why);

// Whether `s` is an IPv4 session on IPv6 waypoints (v4 in v6): its WAN side
// holds stand-ins and its LAN side is IPv4, so its packets grow by 20 bytes
// on the WAN (IPv6 header 40 bytes, IPv4 20): TCP SYNs get the MSS clamp.
inline bool waypoint6_grows(const Session& s) {
  const bool b_wan = s.side_b_wan();
  const SideOut& wan = b_wan ? s.out_fwd : s.out_rev;
  const SideOut& lan = b_wan ? s.out_rev : s.out_fwd;
  return is_waypoint6_standin(wan.tuple.dst) && lan.iface != kIfaceSvr6;
}

// The IPv6 form of a WAN leg that leaves by `iface` from stand-in `src` (ours, or the HA
// peer node's we carry sessions on) to peer stand-in `dst`: both IPv6 waypoints and the
// next hop toward the peer's (the IPv6 routes, FRR's too: waypoint6_route6). nullopt when
// the config no longer has either waypoint or the route leaves by another interface (or
// none): ipv6_no_route. waypoint6_encap's, per packet, and the offload event's.
struct Waypoint6Hop {
  Ipv6 src, dst, next_hop;
};
std::optional<Waypoint6Hop> waypoint6_hop(const WorkerContext& ctx, int iface, Ipv4 src, Ipv4 dst);

// Out: the IPv4 stand-in packet `m` (parsed `pp`) to the peer stand-in
// `standin` becomes, in place, the IPv6 packet from our IPv6 waypoint on
// `iface` to the peer's; `next_hop` gets its IPv6 next hop. False: dropped
// (counted). Its size against the MTU is the caller's (Fragments::transmit).
bool waypoint6_encap(WorkerContext& ctx, rte_mbuf* m, const ParsedPacket& pp, int iface, Ipv4 standin,
                     Ipv6& next_hop);

enum class Waypoint6In : uint8_t {
  not_ours,    // not IPv6 waypoint traffic: untouched, the IPv6 input takes it
  consumed,    // dropped (counted)
  translated,  // `m` now holds the IPv4 stand-in form, parsed into `pp`
  fragment,    // an IPv6 fragment to our IPv6 waypoint from a peer's, untouched: for Fragments::take6
};
// In: an IPv6 frame received on interface `iface`.
Waypoint6In waypoint6_input(WorkerContext& ctx, rte_mbuf* m, int iface, ParsedPacket& pp);
// Whether waypoint6_input would call the IPv6 frame `m` on `iface` a `fragment` (it reads only).
bool waypoint6_fragment(const WorkerContext& ctx, const rte_mbuf* m, int iface);

}  // namespace wp
