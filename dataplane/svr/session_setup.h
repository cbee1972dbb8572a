// What both first-packet paths (LanInput at the ingress, WanInput at the
// egress or transit router) do to set a session up: bind its WAN side to a
// path and a waypoint port pair of the session's affinity class (docs/architecture.md § Sessions) and
// install the filled-in session (keys, both table keys, counters, the
// `created` event).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <random>

#include "dataplane/ip/packet.h"
#include "dataplane/ip/tuple.h"
#include "dataplane/session/table.h"
#include "dataplane/svr/crypto_batch.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/worker/context.h"

namespace wp {

// Fills out's ports for the waypoint pair out.src -> out.dst: an even port of
// ours and an odd port of the peer's, both of class `cls`, not in use by
// another session of the pair. False after 16 collisions (ports exhausted).
// With `recheck`, nor a pair that a session not re-checked since a config
// commit moves to (stand-ins, svr/policy_recheck.h).
bool pick_port_pair(const SessionTable& table, std::mt19937_64& rng, FiveTuple& out, uint32_t cls,
                    const PolicyRecheck* recheck = nullptr);

// Binds side B of `s` to path `path` (paths/path_table.h) with a new port pair of class `cls`.
bool bind_path(WorkerContext& ctx, Session& s, int path, uint32_t cls, DropReason& why);
// Binds side B of a new session towards `peer`: the best-ranked path when
// paths are monitored, else the WAN link the first of its waypoints is routed
// out of, on a random (own waypoint address, peer waypoint) pair of that link
// with a free port pair (several waypoint addresses: more port space).
bool pick_wan_side(WorkerContext& ctx, Session& s, int peer, uint32_t cls, DropReason& why);
// Binds side B of a new session from our LAN towards `peer` on waypoints of
// the session's own family when it can (docs/ipv6.md § Which family): an
// IPv6 session (`ipv6_lan`) rides IPv6 waypoints when the peer has one routed
// out of a WAN interface with an IPv6 waypoint of ours (waypoint6_usable),
// else IPv4 ones; an IPv4 session rides IPv4 waypoints (pick_wan_side) when
// the peer has one routed out of a WAN interface, else IPv6 ones when usable
// (bind_waypoint6, svr/waypoint6.h). Neither: pick_wan_side's drop reason.
bool bind_wan_side(WorkerContext& ctx, Session& s, int peer, uint32_t cls, bool ipv6_lan, DropReason& why);

// Installs `s` (allocated from ctx.table and filled in; `bound` says whether
// its outgoing side was found, `why` why not): starts its crypto (`md`: the
// sender's metadata, nullptr at the ingress) and indexes both keys without
// probing again (the caller looked both up). On failure the session is
// released, `m` dropped with the reason, and false returned.
bool install_session(WorkerContext& ctx, CryptoBatch& crypto, Session* s, bool bound, DropReason why,
                     const ParsedPacket& pp, const Metadata* md, rte_mbuf* m);

}  // namespace wp
