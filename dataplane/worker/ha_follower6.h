// The worker's side of HA for routed IPv6 sessions (#19; docs/ipv6.md § HA,
// docs/architecture.md § HA). The IPv6 twin of ha_follower.h, driven by it.
//
// The HA thread decodes the peer's IPv6 records (ha/packed_ops6.h) and hands
// each to the worker that owns it by affinity_class6 through this worker's
// inbound6 ring; only this worker writes its IPv6 table. An upsert under the
// same UUID updates counters, flags and times unless it is older than ours;
// another session on the same tuple yields to the newer creation. A copy of
// the peer's session carries kPeer6Copy for as long as it lives here, and
// kPeerSession (the peer ages it; table6 never expires it, no events are
// posted for it) while the peer is alive: IPv4 tells the peer's sessions by
// their waypoint address, routed IPv6 sessions have none. A takeover or
// hand-back re-flags the table in slices, as IPv4's, and HaFollower
// acknowledges the generation only once both tables are done; a republish
// posts every session this worker owns on its IPv6 ring too.
#pragma once

#include <cstdint>

#include "dataplane/worker/context.h"
#include "dataplane/worker/ha_dataplane.h"
#include "dataplane/worker/route6_step.h"

namespace wp {

class HaFollower;

class HaFollower6 {
 public:
  static constexpr uint32_t kSlice = 16384;
  static constexpr uint32_t kRepublishSlice = 4096;
  static constexpr unsigned kRepublishReserve = 256;  // ring room left for live events

  HaFollower6(WorkerContext& ctx, Route6Step& route6) : ctx_(ctx), route6_(route6) {}
  // Inbound peer IPv6 sessions. Returns how many were applied.
  uint32_t poll();
  void apply(const PeerSession6Op& op);
  // A slice of the re-flagging for ownership generation `gen`; true once the
  // whole table is done for it (`visited` += sessions looked at).
  bool follow(uint32_t gen, uint32_t& visited);
  // A slice of republish request `req`; true once every owned session was posted
  // (#19: an IPv6 session over SVR with its carrying session, Svr6Lan::post_ha).
  bool republish(uint32_t req, uint32_t& posted);
  // After a takeover's sweep (HaFollower::reoffload): a slice of the routed sessions taken
  // over that are established, to the offload manager; true once the table is done.
  void restart_reoffload(uint32_t before_ms) {
    reoffload_hand_ = 0;
    before_ms_ = before_ms;
  }
  bool reoffload(uint32_t& posted);
  // Ops of IPv6 sessions over SVR (PeerSession6Op::role) go to the IPv4 follower,
  // which binds both halves (HaFollower::apply_svr6); set by HaFollower::attach6.
  void attach_svr(HaFollower* svr) { svr_ = svr; }
  SessionTable6* table() { return route6_.table(); }

 private:
  bool peer_ages(const Session6& s) const {
    return (s.flags & kPeer6Copy) && !ctx_.shared.ha.adopt_peer.load(std::memory_order_acquire);
  }
  void mark_owner(Session6& s) const {
    s.flags = static_cast<uint8_t>(peer_ages(s) ? s.flags | kPeerSession : s.flags & ~kPeerSession);
  }
  void announce_or_count(Session6& s, bool ours) {
    if (route6_.announce(s, ours) == Announced::no_room) ctx_.counters->add(Counter::ha_announce_skipped);
  }
  void offload_or_count(Session6& s) {  // an established routed session applied as ours (HaFollower::post_established)
    if ((s.flags & kReverseSeen) && !route6_.reoffload(s)) ctx_.counters->add(Counter::ha_announce_skipped);
  }

  WorkerContext& ctx_;
  Route6Step& route6_;
  HaFollower* svr_ = nullptr;
  uint32_t gen_ = 0, gen_hand_ = 0;
  bool gen_done_ = true;
  AnnounceWait announce_wait_;  // the hand-back's sweep, while a consumer's IPv6 ring is full
  uint32_t reoffload_hand_ = 0;
  uint32_t before_ms_ = 0;  // HaFollower::reoffload_before_ms_
  uint32_t req_ = 0, req_hand_ = 0;
  bool req_done_ = true;
};

}  // namespace wp
