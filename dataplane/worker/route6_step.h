// IPv6 routed by this router with sessions (docs/ipv6.md § IPv6 routing and
// sessions; issue #19 stage 1): what a service without next_peer is for
// IPv4 (LanInput::bind_side_b: "a plain routed session", both sides routed
// from our own interfaces), for IPv6 destinations.
//
// A unicast IPv6 packet to our MAC that is not for one of our addresses (the
// control thread's ND/echo and NAT64 went first, ipv6_input.h) is handled by
// the worker that owns the affinity class of its FiveTuple6 (session/owner.h,
// the IPv4 rule: handed off by the one that received it). A packet of a
// session (either direction: the reply's tuple is the reverse) is forwarded
// with its hop limit decremented to the next hop the session holds for that
// direction, MAC from the IPv6 neighbor cache (Tx::transmit6, the control
// thread resolves meanwhile). An ICMPv6 error (Destination Unreachable,
// Packet Too Big, Time Exceeded, Parameter Problem) about a packet of a
// session goes on to that packet's sender, found by the quoted tuple (path
// MTU discovery through the router works). A first packet (from a LAN; TCP, UDP or an
// ICMPv6 echo request) is matched like IPv4's: tenant (tenants[].ipv6_prefixes,
// then the interface), service (its IPv6 prefixes, protocol, ports), policy
// (deny by default) with the IPv4 drop reasons, then the IPv6 routes both ways
// (Fib6 in the model), then the tenant's flood limits (worker/session_gate.h;
// the source rate by the source's /64, ipv6_session_rate_source), then a
// session in this worker's SessionTable6, counted in its tenant's quota.
//
// IPsec tunnels (docs/ipsec.md § IPv6 inside tunnels): an IPv6 packet opened
// out of a tunnel (ESP next header 41) comes here as a LAN packet of the
// tunnel's tenant (from_tunnel), its session's reverse side the tunnel
// itself; an IPv6 route may lead into a tunnel (Route6::tunnel()), and a side
// that leaves by one is handed to the ESP step (EspStep::output6). A session
// with a tunnel side takes that side's packets only from that tunnel, and the
// others never from one (tunnel_mismatch); it is neither offloaded nor synced
// to an HA peer.
//
// RFC 4443 errors from the router, as NAT64 sends them (ip/icmp.h): hop limit
// <= 1 gets Time Exceeded (code 0), a packet larger than the egress MTU gets
// Packet Too Big with that MTU (RFC 8200 § 5: routers never fragment), from
// our address on the link toward the sender, at most kIcmp6ErrorsPerSecond a
// worker (burst kIcmp6ErrorBurst). Toward a sender behind a tunnel (the packet
// came out of it, or the route back leads into one) that address is the
// tunnel's ipv6_address and the error is sealed into the tunnel
// (worker/icmp6_error_sender.h); a tunnel without one gets none (a Packet Too
// Big counted tunnel_frag_needed_unsent). Every packet not sent is dropped
// with a reason.
//
// Session events: created, established (the first reverse packet), update
// (from the aging sweep every DataplaneShared::session_update_ms) and closed
// go to the mgmt feed's IPv6 ring (session/events6.h), which builds the REST
// snapshot and the IPFIX records of IPv6 sessions, as IPv4's do; established
// and closed also to the offload manager's (rte_flow rules for the session,
// offload/flow_rule.h), whose feedback (offload_feedback()) adds the NIC's
// packets to the session and ends it when the NIC aged its rules.
//
// The table (DataplaneShared::sessions6_per_worker, 16 384 by default) is allocated by the constructor only when
// the startup model has a service with IPv6 prefixes; a live commit adding the
// first one is refused (mgmt/live_commit.cc). Without it input() is false:
// IPv6 stays unrouted (`not_ipv4`), as before.
#pragma once

#include <rte_mbuf.h>

#include <memory>

#include "dataplane/ip/ipv6.h"
#include "dataplane/session/events6.h"
#include "dataplane/session/table6.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/handoff.h"
#include "dataplane/worker/icmp6_error_sender.h"
#include "dataplane/worker/offload_feedback.h"
#include "dataplane/worker/rate_limit.h"
#include "dataplane/worker/tx.h"

namespace wp {

class EspStep;
class Route6Follow;

class Route6Step {
 public:
  static constexpr uint32_t kIcmp6ErrorsPerSecond = kIcmpErrorRate;
  static constexpr uint32_t kIcmp6ErrorBurst = kIcmpErrorRateBurst;

  Route6Step(WorkerContext& ctx, Tx& tx, Handoff& handoff);

  // An IPv6 frame (parsed whole, to our MAC) from `iface`: true when it was
  // routed, handed to its owner or dropped here; false when IPv6 is not
  // routed (no table) or it is for one of our addresses. classify() then
  // process(): one packet on its own (handed-off packets).
  bool input(rte_mbuf* m, const Ipv6View& v, int iface);

  // input() in two halves for the staged burst lookup of a worker's dispatch
  // (worker/staged_lookup.h, as IPv4's): classify() each packet of the burst,
  // prefetch_sessions() of the staged ones, then process() them in order.
  struct Staged {
    rte_mbuf* m;
    Ipv6View v;
    int iface;
    uint32_t sig;  // SessionTable6::signature of the packet's tuple; 0: an ICMPv6 error (its quoted tuple's)
    int tunnel = kNone;  // out of this IPsec tunnel (iface kNone): a LAN packet of the tunnel's tenant
  };
  enum class Classified : uint8_t {
    not_routed,  // input() would return false
    done,        // dropped, or staged for handing off to its owner
    staged,      // looked up here by process(); its signature kept (prefetch_sessions)
  };
  // Everything input() does before the session lookup: the checks and drops,
  // the owner rule. Reads s.m, s.v, s.iface; sets s.sig.
  Classified classify(Staged& s);
  void prefetch_sessions(const Staged* s, uint32_t n) const;
  // The lookup and what follows it (fast path, SVR, first packet), or the ICMPv6 error's.
  void process(const Staged& s);
  // Sides into IPsec tunnels are handed to the worker's ESP step (docs/ipsec.md
  // § IPv6 inside tunnels), and the errors toward them; without it they are dropped (esp_no_sa).
  void attach_tunnels(EspStep* esp) {
    esp_ = esp;
    icmp6_errors_.attach_tunnels(esp);
  }
  // A packet's session is re-checked against a commit first when the sweep has not reached it
  // (worker/route6_follow.h, which attaches itself).
  void attach_follow(Route6Follow* follow) { follow_ = follow; }
  // An IPv6 frame opened out of `tunnel` (its port marked from_tunnel_port,
  // here or handed over by the worker that opened it): a LAN packet of the
  // tunnel's tenant, whose replies go back into the tunnel. Inner fragments
  // are dropped (esp_inner_fragment6), as is everything when IPv6 is not
  // routed (esp_inner_unsupported) or for the router (esp_inner_to_us).
  void from_tunnel(rte_mbuf* m, int tunnel);
  // Idle sessions: the slice of the table due since the last call (clock-paced).
  void age();
  bool has_table() const { return table_ != nullptr; }
  bool ok() const { return !table_ || table_->ok(); }  // false: its table could not be allocated
  uint32_t sessions() const { return table_ ? table_->size() : 0; }
  const SessionTable6* table() const { return table_.get(); }
  SessionTable6* table() { return table_.get(); }  // the HA follower's (worker/ha_follower6.h), same worker
  void count_sessions();
  // The offload manager's report on one of this worker's offloaded sessions:
  // the NIC's packets and bytes added; `aged` ends a session idle by its own clock too.
  // A Session6 that an SVR session carries (between IPv6 waypoints) takes the counts, and
  // that session is returned: the caller adds them there too and ends it on `aged`
  // (OffloadFollower; the SVR session's aging is the pair's). Null otherwise.
  Session* offload_feedback(const OffloadFeedback6& f);
  // How much the worker's idle clock may run behind the NIC's (offload.poll_ms <= 1 s).
  static constexpr int32_t kOffloadPollSlackMs = 2000;
  // Posts a copy of `s` to this worker's IPv6 event ring (session/events6.h) when the
  // mgmt feed takes `kind`; a full ring drops it (ipfix_events_dropped). No lock, no allocation.
  // With HA, also to the HA thread's IPv6 ring (#19; ha6_events_dropped and ha_events_dropped,
  // which has the HA thread ask for a republish) unless `s` is the peer's copy.
  void post(SessionEventKind kind, const Session6& s, SessionEndReason reason = SessionEndReason::none) {
    post_to(kind, s, reason, kOffload6EventKinds);
  }
  // A routed session (not over SVR: unwanted) that changed hands (HaFollower6), as
  // HaFollower::announce: to the mgmt feed, and a hand-back to the offload manager too.
  Announced announce(Session6& s, bool ours);
  // A routed session taken over, established: `established` to the offload manager (as
  // HaFollower::reoffload). False when its ring has no room beyond the reserve.
  bool reoffload(Session6& s);
  // A direction of `s` moved to another next hop (worker/route6_follow.h): its `update`, to the
  // offload manager too, whose rules would still send the session's packets to the old one.
  void post_moved(const Session6& s) {
    post_to(SessionEventKind::update, s, SessionEndReason::none,
            kOffload6EventKinds | event_bit(SessionEventKind::update));
  }
  // Ends a live session before its time (worker/route6_follow.h): its `closed` event, then out of the table.
  void end(Session6& s, SessionEndReason why) {
    post(SessionEventKind::closed, s, why);
    remove(s);
    count_sessions();
  }
  // Out of the table without an event (the HA follower's replaced sessions), and out of its
  // tenant's count (worker/session_gate.h) when it was in it.
  void remove(Session6& s) {
    uncount(s);
    table_->remove(&s);
  }

 private:
  void error_input(rte_mbuf* m, const Ipv6View& v);  // an ICMPv6 error about a session's packet
  void first_packet(rte_mbuf* m, const Ipv6View& v, const FiveTuple6& t, int iface, int tunnel);
  void forward(rte_mbuf* m, const Ipv6View& v, Session6& s, Dir dir);
  // Hop limit and MTU toward `out` (a port, or kRoute6Tunnel with `hop` naming
  // the tunnel) of a packet that came out of tunnel `from_tunnel` (kNone: a
  // port); false: dropped (and answered when RFC 4443 allows, icmp6_error()).
  bool may_leave(rte_mbuf* m, const Ipv6View& v, int out, const Ipv6& hop, int from_tunnel);
  uint32_t mtu_of(int out, const Ipv6& hop) const;
  // Out of port `out` to `hop`, or into the tunnel `hop` names.
  void send(rte_mbuf* m, const Ipv6View& v, int out, const Ipv6& hop);
  void icmp6_error(rte_mbuf* m, const Ipv6View& v, uint8_t type, uint32_t rest, Counter sent, int from_tunnel);
  // A routed session of ours leaves its tenant's count (the HA peer's copies were never in it;
  // those SVR carries are counted by their IPv4 session).
  void uncount(const Session6& s) {
    if (!(s.flags & kPeerSession) && !s.svr_ref) ctx_.gate.ended(s.tenant);
  }
  // post() with the event kinds the offload manager takes this time.
  void post_to(SessionEventKind kind, const Session6& s, SessionEndReason reason, uint8_t offload_kinds);
  static void on_expire(void* self, const Session6& s);
  static void on_live(void* self, Session6& s);

  WorkerContext& ctx_;
  Tx& tx_;
  Handoff& handoff_;
  EspStep* esp_ = nullptr;
  Route6Follow* follow_ = nullptr;
  std::unique_ptr<SessionTable6> table_;  // null: no IPv6 service at start
  Icmp6ErrorSender icmp6_errors_;
  uint32_t aged_ms_ = 0;  // the clock at the last aging slice
};

}  // namespace wp
