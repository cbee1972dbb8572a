// What the dataplane threads share with the HA thread
// (docs/architecture.md § HA, § Threads).
//
// Inbound: the HA thread hands the peer's sessions to their owning worker
// (owner_of_class(affinity_class(original), workers), whatever worker count
// the peer runs) through one SPSC ring per worker; the worker inserts them
// into its own table, so no thread ever writes another's table.
// Addresses: each node owns its interface addresses; `peer_addresses` are the
// peer's, which this node answers for (ARP, packets) only while `peer_taken`.
// A session whose waypoint (the local address of its WAN leg) is a peer
// address is the peer's to age (kPeerSession) unless `adopt_peer` is set;
// workers re-evaluate that for their whole table, a slice per loop iteration
// (worker/ha_follower.h), when `ownership_gen` moves,
// and report the generation they finished in `ownership_seen[w]`, which is how
// the HA thread knows the peer's sessions are live before it announces the
// peer's addresses. The same handshake (`republish_req`) asks workers to post
// every session they own again, for a resync or after a dropped event.
#pragma once

#include <rte_ring.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

#include "dataplane/ip/ipv4.h"
#include "dataplane/session/owner.h"
#include "dataplane/session/events6.h"
#include "dataplane/session/session.h"
#include "dataplane/session/table6.h"
#include "dataplane/worker/ike_ha_channel.h"

namespace wp {

// reconcile: the peer's resync no longer lists this session (its `closed`
// event was lost): remove it only if it is still the peer's to age here.
enum class PeerSessionOpKind : uint8_t { upsert = 0, remove = 1, reconcile = 2 };

// One element of a worker's inbound ring. The session is already translated
// into this node's terms (entity indexes, interfaces, next hops, clock).
struct PeerSessionOp {
  PeerSessionOpKind kind;
  uint8_t pad[7];
  Session session;
};
static_assert(sizeof(PeerSessionOp) % 4 == 0, "rte_ring element size must be a multiple of 4");

// The IPv6 twin (#19): a routed IPv6 session in this node's terms (routes,
// interfaces, clock), for its owner by affinity_class6. With `role` ingress
// or egress it is an IPv6 session that an IPv4 SVR session carries
// (svr/svr6_lan.h), and `carrier` is that session, both halves in one op so
// they arrive together: the Session6's route is its LAN side's, the
// carrier's LAN side is left for the worker to give its internal tuple
// (Svr6Lan::internal_tuple of the Session6 it inserts), since that tuple
// names a slot of the worker's own IPv6 table.
struct PeerSession6Op {
  PeerSessionOpKind kind;
  Svr6Role role = Svr6Role::none;
  uint8_t pad[6];
  Session6 session;
  Session carrier;  // role != none only
};
static_assert(sizeof(PeerSession6Op) % 4 == 0, "rte_ring element size must be a multiple of 4");

// An element of HA's IPv6 event ring (HaDataplane::events6): a routed IPv6
// session (ev.svr.role none), or (#19) an IPv6 session an IPv4 SVR session
// carries, posted whole by Svr6Lan::post_ha: its Session6, its waypoint leg
// and the carrying session as of the same instant, so the record the HA
// thread makes of them is consistent (ha/packed_svr6.h).
struct HaSession6Event {
  Session6Event ev;
  Session carrier;  // ev.svr.role != none only
};
static_assert(sizeof(HaSession6Event) % 4 == 0, "rte_ring element size must be a multiple of 4");

// Session6 flag of a copy of the peer's IPv6 session (worker/ha_follower6.h):
// it stays while this node carries the session after a takeover, so the
// hand-back knows which sessions to give back. Bit 0 is free in Session6
// (IPv4's kFwdMdAcked is SVR state, which routed IPv6 sessions do not have).
inline constexpr uint8_t kPeer6Copy = 1 << 0;

// A session that changed hands at a takeover or hand-back (worker/ha_follower.h), told to the
// mgmt feed alone (REST, IPFIX) while its ring has room beyond kAnnounceReserve, or a quarter
// of a smaller ring (dataplane.ring_size may be 64): live events come first.
inline constexpr unsigned kAnnounceReserve = 1024;
inline bool announce_room(const rte_ring* r) {
  return rte_ring_free_count(r) > std::min(kAnnounceReserve, rte_ring_get_capacity(r) / 4);
}
enum class Announced : uint8_t { posted, unwanted, no_room };  // unwanted: no feed, or not its kind

// Became ours: its `update`. Became the peer's: `closed` with reason handed_over, which
// REST forgets and IPFIX does not export (the peer carries the session on).
template <class Event, class S>
Event announcement(const S& s, bool ours, uint32_t worker, uint32_t now_ms) {
  Event ev{};
  ev.kind = ours ? SessionEventKind::update : SessionEventKind::closed;
  ev.reason = ours ? SessionEndReason::none : SessionEndReason::handed_over;
  ev.worker = static_cast<uint16_t>(worker);
  ev.now_ms = now_ms;
  ev.session = s;
  return ev;
}

// A hand-back's sweep of one table waits (resumes at the same session on the next loop
// iteration) while a consumer's ring has no room to say a session left, since nothing else
// would: REST would list the session until the process ends, the NIC keep its rules until they
// age. Meanwhile the sessions the sweep has not reached are still flagged ours here although the
// peer carries them again (it does not wait for the sweep), so aging or a periodic update could
// act on them as ours: the wait is kWaitMs in all per ownership change, from its first wait, not
// per session. Then the sweep goes on unannounced (ha_announce_skipped) for the rest of that
// change. A takeover never waits: HA claims the peer's addresses only once every worker finished
// its sweep, and a session taken over shows at its next periodic update anyway.
class AnnounceWait {
 public:
  static constexpr uint32_t kWaitMs = 200;
  void restart() { waiting_ = gave_up_ = false; }  // a new ownership change
  bool may_wait(uint32_t now_ms) {
    if (gave_up_) return false;
    if (!waiting_) {
      waiting_ = true;
      since_ms_ = now_ms;
    }
    if (now_ms - since_ms_ < kWaitMs) return true;
    gave_up_ = true;
    return false;
  }

 private:
  uint32_t since_ms_ = 0;
  bool waiting_ = false, gave_up_ = false;
};

struct HaAddress {
  Ipv4 addr = 0;
  int iface = -1;
};
struct HaAddress6 {
  Ipv6 addr;
  int iface = -1;
};

struct HaDataplane {
  bool enabled = false;
  std::vector<HaAddress> peer_addresses;                    // fixed before the workers start
  std::vector<rte_ring*> inbound;                           // per worker, PeerSessionOp elements
  // #19, IPv6 sessions: per worker, HaSession6Event to the HA thread (only
  // HA's: the mgmt feed has its own) and PeerSession6Op from it. Empty when
  // the router does not route IPv6.
  std::vector<rte_ring*> events6;
  std::vector<rte_ring*> inbound6;
  std::vector<HaAddress6> peer_addresses6;  // fixed before the workers start
  // #19: how many of the peer's IPv6 waypoints (ha.peer_waypoints) we carry
  // sessions on, by stand-ins 0.255.254.j, j below this (control/waypoint6_addr.h).
  uint32_t peer_waypoints6 = 0;
  std::atomic<bool> own_held{true};                         // we answer ARP for our own addresses
  std::atomic<bool> peer_taken{false};                      // we answer for (and accept packets to) the peer's
  std::atomic<bool> adopt_peer{false};                      // the peer's sessions are ours to age and carry
  std::atomic<uint32_t> ownership_gen{0};                   // bumped by HA when adopt_peer changes
  std::atomic<uint32_t> announce_gen{0};                    // bumped by HA: control sends gratuitous ARP
  std::unique_ptr<std::atomic<uint32_t>[]> ownership_seen;  // per worker
  // Per worker: HA bumps republish_req[w] to have worker w post every session
  // it owns again (resync, or after that worker's ring dropped an event); the
  // worker copies the value to republish_seen[w] once it has posted them all.
  std::unique_ptr<std::atomic<uint32_t>[]> republish_req;
  std::unique_ptr<std::atomic<uint32_t>[]> republish_seen;
  std::atomic<uint64_t> split_brain_arps{0};  // peer-address ARP from another MAC while we hold it
  // Ownership epochs (docs/operations.md § HA). HA writes `epoch`, the
  // control thread stamps it into our gratuitous ARPs. The control thread
  // records the highest epoch it saw in another node's gratuitous ARP: for a
  // peer address we hold, announced by its owner (`owner_claim_epoch`), and
  // for one of our own addresses, announced as taken over (`takeover_claim_epoch`).
  // The HA thread decides: the claim with the older epoch yields.
  std::atomic<uint64_t> epoch{0};
  std::atomic<uint64_t> owner_claim_epoch{0};
  std::atomic<uint64_t> takeover_claim_epoch{0};
  // IKE and Child SA state between the IKE service and the HA thread
  // (ike_ha_channel.h; control path, a mutex-guarded queue).
  IkeHaChannel ike;

  bool holds_peer_address6(const Ipv6& a, int iface) const {
    if (!enabled || !peer_taken.load(std::memory_order_relaxed)) return false;
    for (const HaAddress6& p : peer_addresses6)
      if (p.addr == a && p.iface == iface) return true;
    return false;
  }
  bool is_peer_address(Ipv4 a) const {
    if ((a & 0xFFFFFF00u) == 0x00FFFE00u) [[unlikely]]  // the peer's IPv6 waypoint j, 0.255.254.j
      return (a & 0xFF) < peer_waypoints6;
    for (const HaAddress& p : peer_addresses)
      if (p.addr == a) return true;
    return false;
  }
  // Packets to the peer's addresses are ours only while we hold them.
  bool holds_peer_address(Ipv4 a) const {
    return enabled && peer_taken.load(std::memory_order_relaxed) && is_peer_address(a);
  }
  // The local address a session's WAN leg uses (0 for LAN-only sessions).
  static Ipv4 waypoint_of(const Session& s) {
    if (s.side_a_wan()) return s.out_rev.tuple.src;
    if (s.side_b_wan()) return s.out_fwd.tuple.src;
    return 0;
  }
  // Whether the peer (not this node) ages and carries `s` right now.
  bool peer_owns(const Session& s) const {
    return enabled && !adopt_peer.load(std::memory_order_acquire) && is_peer_address(waypoint_of(s));
  }

  // Rings and acknowledgement slots for `workers` workers on `socket`.
  bool create(uint32_t workers, uint32_t ring_size, int socket, std::string& error);
  // The IPv6 rings (events6, inbound6), after create().
  bool create6(uint32_t workers, uint32_t ring_size, int socket, std::string& error);
  rte_ring* event6_ring(uint32_t worker) const { return events6.empty() ? nullptr : events6[worker]; }
  void free();
};

}  // namespace wp
