// Internet breakout (docs/operations.md § Breakout): the forward side of a
// session to a service with `breakout` leaves through a WAN interface with
// its source translated to the breakout address and a port (TCP/UDP) or
// ICMP echo identifier from the worker's pool (session/nat_ports.h); the
// destination stays. Replies arrive for that address and port, dispatch to
// this worker by the class in the port, match side B's key and leave on the
// LAN with the destination translated back (Emit, incremental checksums).
// No metadata, no keys: the session is a plain NAT session on the WAN leg.
#pragma once

#include "dataplane/control/router_model.h"
#include "dataplane/session/session.h"
#include "dataplane/worker/context.h"

namespace wp {

// Binds side B of `s` (its original tuple filled in) for breakout service
// `svc`: next hop by the route to the destination, which must leave by the
// breakout interface, and a free NAT port. False with `why` otherwise.
bool bind_breakout(WorkerContext& ctx, Session& s, const ServiceModel& svc, DropReason& why);

}  // namespace wp
