// The worker's side of HA (docs/architecture.md § HA; the interface with the
// HA thread is ha_dataplane.h).
//
// Only the owning worker writes its table, so the HA thread's decoded peer
// sessions arrive here through an SPSC ring. An upsert for a session we hold
// under the same UUID replaces its state unless it is older than ours (the
// version is the session's last activity time, already on our clock); a
// different session on the same keys yields to the newer one. Applying never
// posts events: the peer already knows, and echoing would loop.
//
// A takeover or hand-back changes who ages the peer's sessions: the worker
// re-flags its table in budgeted slices (kSlice sessions per loop iteration,
// like aging) and acknowledges the generation once the whole table is done;
// the HA thread announces the peer's addresses only after every worker
// acknowledged, so no packet reaches a session whose flag is stale. Each
// session that changes hands is posted to the mgmt feed as it is re-flagged
// (announce()), so REST and IPFIX show the taken-over sessions at once and
// forget the ones handed back; a hand-back's sweep waits a while for ring room
// to say so (AnnounceWait). After a takeover's sweep the established sessions
// taken over go to the offload manager, a slice at a time (reoffload()). A
// republish request (resync, or after a dropped event) posts every session
// this worker owns again, a slice at a time, leaving ring room for live events.
#pragma once

#include <rte_ring.h>

#include <cstdint>

#include "dataplane/svr/crypto_batch.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/ha_dataplane.h"
#include "dataplane/worker/ha_follower6.h"

namespace wp {

class HaFollower {
 public:
  static constexpr uint32_t kSlice = 16384;  // sessions re-flagged per iteration after an ownership change
  static constexpr uint32_t kRepublishSlice = 4096;
  static constexpr unsigned kRepublishReserve = 256;  // ring room left for live events

  HaFollower(WorkerContext& ctx, CryptoBatch& crypto) : ctx_(ctx), crypto_(crypto) {}
  // Inbound peer sessions, a slice of an ownership change, a slice of a
  // republish. Returns the work done.
  uint32_t poll();
  void apply(const PeerSessionOp& op);
  // The worker's IPv6 follower (#19): polled with this one, and an ownership
  // change or republish is acknowledged only once its table is done too.
  void attach6(HaFollower6* six) {
    six_ = six;
    six->attach_svr(this);
  }
  // #19: an IPv6 session over SVR from the inbound6 ring, both halves: the
  // Session6 into the IPv6 table, the carrying session into ours with its LAN
  // side bound to that Session6's slot (ha/packed_svr6.h). Deletes, staleness
  // and replacement as for IPv4's sessions; either half refused: neither stays.
  void apply_svr6(const PeerSession6Op& op);

 private:
  bool update_in_place(Session& s, const Session& in);
  bool make_room(const Session& in);  // removes older sessions on either key; false when `in` is the older
  Session* insert(const Session& in);  // null when refused (counted)
  void mark_owner(Session& s);
  uint32_t follow_ownership();
  // An ownership change of `s` (the sweep, or an op applied before the sweep reached it), to
  // the mgmt feed (REST, IPFIX; an IPv6 session over SVR with its IPv6 view) when its rings have
  // room (announce_room, ha_dataplane.h); never to HA. Became ours (a takeover, or a copy
  // applied as ours): its `update`, so that they show it now rather than at its next periodic
  // update (Aging::on_live, up to session_update_ms later), whose clock restarts; its NIC rules
  // are post_established's (reoffload() after a sweep). Became the peer's (a hand-back): `closed`
  // with reason handed_over, so that REST forgets it, IPFIX exports nothing (the peer carries it
  // on) and the offload manager removes its rules, to both. Each consumer takes it when its
  // rings have room; no_room when one lacked it: the sweep may wait (AnnounceWait), else
  // ha_announce_skipped counts it.
  Announced announce(Session& s, bool ours);
  rte_ring* consumer_ring(EventConsumer c, SessionEventKind kind) const;  // null: none, or not its kind
  void announce_or_count(Session& s, bool ours) {
    if (announce(s, ours) == Announced::no_room) ctx_.counters->add(Counter::ha_announce_skipped);
  }
  // `established` to the offload manager for an established session that became ours (after a
  // takeover, or applied as ours: a copy that arrived after the sweep, our own sessions back
  // from the peer's resync after our restart); false when its rings lack room. The manager
  // ignores one it holds already.
  bool post_established(const Session& s);
  void offload_or_count(const Session& s) {
    if ((s.flags & kEstablished) && !post_established(s)) ctx_.counters->add(Counter::ha_announce_skipped);
  }
  uint32_t republish();
  uint32_t reoffload();

  WorkerContext& ctx_;
  CryptoBatch& crypto_;
  HaFollower6* six_ = nullptr;
  uint32_t ownership_gen_ = 0;  // the generation being (or last) followed
  uint32_t ownership_hand_ = 0;
  bool following_ = false;
  AnnounceWait announce_wait_;  // the hand-back's sweep, while a consumer's ring is full
  bool reoffloading_ = false;   // after a takeover's sweep (reoffload())
  uint32_t reoffload_hand_ = 0;
  uint32_t reoffload_before_ms_ = 0;  // sessions created since were posted established as it happened
  uint32_t republish_seen_ = 0;
  uint32_t republish_hand_ = 0;
  bool republishing_ = false;
};

}  // namespace wp
