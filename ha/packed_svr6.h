// IPv6 sessions that an IPv4 SVR session carries, as HA records (issue #19;
// docs/ipv6.md § HA of sessions between IPv6 waypoints; proto/ha.proto
// SessionBatch.packed_svr6, ResyncChunk.packed_svr6).
//
// Such a session (svr/svr6_lan.h) is two halves in a worker: the IPv4 SVR
// session (keys, metadata state, the waypoint leg) and the Session6 of its
// IPv6 LAN side, linked by table indexes that are the sender's own, as is
// the 0.0.0.0/8 internal tuple the IPv4 half knows its LAN side by. So one
// record carries both, and the receiver binds them anew: the IPv4 record of
// packed_ops.h as it is (names and the waypoints6 table of the body, the
// stand-ins of the WAN leg written as addresses, byte 75), then a tail with
// the IPv6 tuple, the role and the Session6's IPv6 counters. Both halves
// always travel, arrive and are deleted together; nothing links records.
//
// Format 1 (kPackedSvr6Format), 200-byte records, integers little-endian:
//   0..127 the packed_ops.h record; its LAN side's tuple and `original` are the
//          sender's internal tuple (ports and protocol are the IPv6 tuple's;
//          the receiver's worker replaces the addresses with its own), that
//          side's peer index none
//   128 src[16]  144 dst[16]  160 u16 sport  162 u16 dport  164 proto
//   165 role (1 ingress: the LAN side is out_rev; 2 egress: out_fwd; 3 transit: no LAN
//       side, both sides waypoint legs, the IPv6 tuple held by the Session6 that
//       SessionTable6::hold gives; its counters are the carrier's, unread: the receiver
//       has the IPv4 half's)
//   166 u16 zero  168 u64 packets6_fwd  176 packets6_rev  184 bytes6_fwd  192 bytes6_rev
// The receiver checks the IPv4 half as any record (names, policy, the WAN
// leg's route and waypoint), then the tail: role, reserved bytes, a unicast
// tuple whose ports and protocol are the IPv4 half's, the service its own
// IPv6 lookup finds for the destination, and its own route for the LAN side
// (a port, not a tunnel); a transit record instead both legs and a service
// whose next peer here is the onward leg's. The session goes to the worker
// that owns it there, owner_of_class(affinity_class6(tuple)), as the packets
// of both sides do.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "dataplane/control/router_model.h"
#include "dataplane/ip/fib6.h"
#include "dataplane/session/events6.h"
#include "dataplane/session/session.h"
#include "dataplane/session/table6.h"
#include "ha/packed_ops.h"

namespace wp::ha {

inline constexpr uint32_t kPackedSvr6Format = 1;
inline constexpr size_t kPackedSvr6RecordBytes = 200;

// Fills the tail of record `p` (PackedOpsWriter::add's, kPackedSvr6RecordBytes long).
void write_svr6_tail(uint8_t* p, const Session6& s6, Svr6Role role);
// The role in record `p`; false with `error` when byte 165 is not one.
bool svr6_role(const uint8_t* p, Svr6Role& role, std::string& error);
// The IPv4 half's side that is the IPv6 LAN side for PackedOpsReader::decode: 0 (out_rev) at
// the ingress, 1 (out_fwd) at the egress, -1 at a transit router (both sides are waypoint legs).
inline int svr6_lan_side(Svr6Role role) { return role == Svr6Role::ingress ? 0 : role == Svr6Role::egress ? 1 : -1; }
// The Session6 of record `p` in this node's terms, `carrier` being its IPv4 half as decoded
// here (PackedOpsReader::decode with its LAN side). A delete needs only the tuple. The LAN
// side's route is the config's or FRR's (`fib`; null: the config's only), as for a session
// made here.
bool decode_svr6_tail(const uint8_t* p, PackedKind kind, const RouterModel& rm, const Session& carrier,
                      Session6& out, std::string& error, const FibTable6* fib = nullptr);
// Whether the sender's config still names every IPv6 waypoint the WAN leg of `s` uses
// (a commit may have removed one; then the session is not synced: svr6_sessions_unsynced).
bool svr6_describable(const Session& s, const RouterModel& rm);

}  // namespace wp::ha
