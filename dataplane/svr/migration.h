// Session migration between paths (docs/svr-wire-format.md § Path monitoring).
//
// Ingress (follow): on a forward packet, if the session's path went down
// or left the service's SLA while a better one exists (or, with `revert`, a
// more preferred one recovered), the session's WAN side moves to the best
// path: a new waypoint port pair on it, of the same affinity class so the
// same worker here and at the peer keeps owning the session, re-indexed in
// place (UUID, tenant/service, NAT, counters and keys stay). Forward metadata
// is re-armed, so the next forward packet tells the peer - same UUID - where
// the session went; a packet too big to carry it sends it ahead in a packet
// of its own (metadata_only.h).
// Egress (rebind): a verified forward metadata packet on an unknown
// port pair whose UUID and original tuple name a session we deliver on our
// LAN, from the same peer, re-binds that session's WAN side instead of
// creating a new one, and re-arms reverse metadata (the answer the ingress
// router waits for).
// Transit: a router between two peers (service with next_peer, A and B both
// WAN legs) moves its onward leg B exactly as an ingress router moves its
// WAN side; the next router re-binds by UUID the same way.
// Each move counts on the session (`migrations`, shown per session and
// synced to the HA peer) and resets the leg's TLV 26 blocks (paths/flow_monitor.h).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ip/packet.h"
#include "dataplane/session/session.h"
#include "dataplane/svr/emit.h"
#include "dataplane/svr/flow_monitor.h"
#include "dataplane/svr/metadata_only.h"
#include "dataplane/svr/policy_recheck.h"
#include "dataplane/worker/context.h"

namespace wp {

class PathMigration {
 public:
  // Sessions the sweep visits per loop iteration, like aging.
  static constexpr uint32_t kSweepSlice = 4096;

  PathMigration(WorkerContext& ctx, Emit& emit, MetadataOnly& metadata_only, FlowMonitor& flow, PolicyRecheck& recheck)
      : ctx_(ctx), emit_(emit), metadata_only_(metadata_only), flow_(flow), recheck_(recheck) {}

  // Ingress and transit, on a forward packet: moves side B when its path
  // must be left and a better one exists. True when it moved.
  bool follow(Session& s);
  // When ranks changed: moves idle sessions too, a slice per iteration, and
  // announces each move at once with a metadata-only packet.
  void sweep();
  // Egress: a verified forward metadata packet on an unknown port pair that
  // names a session of ours which moved path. True when it consumed `m`.
  bool rebind(rte_mbuf* m, ParsedPacket& pp, const Metadata& md, int peer);

 private:
  void count(int from, int to, bool failed = false);

  WorkerContext& ctx_;
  Emit& emit_;
  MetadataOnly& metadata_only_;
  FlowMonitor& flow_;
  PolicyRecheck& recheck_;
  uint32_t epoch_ = 0;
  uint32_t hand_ = 0;
  bool sweeping_ = false;
};

}  // namespace wp
