// IPv6 sessions between IPv4 waypoints (issue #19; docs/ipv6.md § IPv6 sessions
// between IPv4 waypoints; docs/svr-wire-format.md § IPv6 sessions between IPv4 waypoints).
//
// An IPv6 client reaches an IPv6 service behind a peer over today's IPv4 WAN.
// Each such session is one IPv4 SVR session (the IPv4 table, ports, keys,
// metadata, HMAC, encryption, handshake: all IPv4's own code, LanInput /
// WanInput / Emit) whose LAN side is IPv6: that side's SideOut has iface
// kIfaceSvr6 and holds, in next_hop, the index of a Session6 in the worker's
// IPv6 table (the IPv6 tuple, the IPv6 next hop, the link back). Internally
// the LAN side is given an IPv4 tuple of 0.0.0.0/8 addresses unique to that
// Session6 (kSvr6Base), never seen on a wire: IPv6 packets are translated to
// it (RFC 7915 header translation, ip/nat64_packet.h, L4 checksum recomputed
// for the new pseudo-header) and then travel the IPv4 path, which rewrites
// them to the waypoint tuple; packets leaving on the IPv6 side are translated
// back from the Session6's addresses. The metadata carries TLV 3 (forward) and
// TLV 5 (reverse) contexts with the IPv6 tuple instead of TLV 2/4.
//
// REST and IPFIX see such a session by its IPv6 view: each lifecycle event of
// the IPv4 session (created, established, update, closed) also posts the
// Session6, with the IPv4 session's flags and its waypoint leg, to the mgmt
// feed's IPv6 ring (post(); session/events6.h Svr6Leg). The Session6 counts
// the IPv6 packets and bytes of both directions on the LAN side.
//
// Path MTU (RFC 8201; RFC 2473 § 7.1 and RFC 4213 § 3.2, the tunnel entry
// point's rule): a LAN packet of such a session larger than 1280 bytes that
// would not fit the WAN MTU once carried in steady state (the WAN header,
// IPv4 20 bytes shorter or IPv6 as long, plus sealed_overhead) is not
// fragmented on the WAN but answered with an ICMPv6 Packet Too Big carrying
// the largest IPv6 packet that fits (at least 1280), from our address on the
// sender's link, at most kIcmpErrorRate a second a worker, and dropped
// (svr6_wan_too_big). Packets up to 1280 bytes, and the metadata a first
// packet adds, still leave in WAN fragments (svr/fragments.h): the IPv6
// minimum MTU must cross whatever the WAN. A restored packet larger than the
// LAN MTU is dropped (svr6_too_big) and answered through the session, below.
//
// ICMPv6 errors through the session (the SVR draft's TLV 21;
// docs/svr-wire-format.md § ICMP errors through the session): an error that reaches a LAN
// side about a packet of the session (Route6Step finds it by its quote; or
// our own Packet Too Big for a restored packet above the LAN MTU) is carried
// to the other router in a signed metadata-only packet of the other
// direction (svr/metadata_only.h): TLV 21 = the error's source, TLV 24
// keep-alive (a router that does not know TLV 21 consumes it, never hands it
// to a host), TLV 6, and as data the ICMPv6 message with the quoted IPv6 and
// L4 headers only (no session data leaves in clear, whatever the policy;
// svr/icmp_error_carrier.h, shared with IPv4 sessions' TLV 20). That router checks the HMAC (WanInput), that the quote
// is a packet of the session sent by its own LAN host, and sends that host the error from the location address, at
// kIcmpErrorRate a second (Icmp6ErrorSender::relay). A Packet Too Big's MTU is passed on as it is (at least 1280): the
// IPv6 packet crosses the session unchanged, and it fitted our own WAN leg. A transit router checks a carrier the same
// way against the IPv6 tuple its held Session6 keeps (the same on every leg, so the quote passes unchanged) and sends
// it on along the other leg, re-signed with that leg's key (transit_error). IPv4 sessions' errors (TLV 20) are
// svr/svr_icmp4.h's.
//
// A Session6 opened out of an IPsec tunnel (#20; see
// docs/ipsec.md § IPv6 inside tunnels) has the tunnel as its LAN side, as
// IPv4's tunnel -> SVR sessions do (svr/lan_input.cc): iface kRoute6Tunnel,
// next hop tunnel_hop6(the tunnel); packets leaving on it are translated
// back, then sealed by the tunnel's owner (EspStep::output6), never sent by a port;
// so are the errors relayed to the site host and our Packet Too Big to a site
// host whose packet would not fit the WAN leg (Icmp6ErrorSender, from the
// tunnel's tunnels[].ipv6_address; without one none is sent, counted
// tunnel_frag_needed_unsent), and our own Packet Too Big for a restored packet
// above the tunnel's MTU comes from that address too.
//
// Owner rule: the ingress picks its waypoint ports by affinity_class6 of the
// IPv6 tuple, so IPv6 LAN packets (dispatched by that class, route6_step.h)
// and WAN packets (by port class) meet on one worker at both routers.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/packet.h"
#include "dataplane/session/events6.h"
#include "dataplane/session/table6.h"
#include "dataplane/svr/crypto_batch.h"
#include "dataplane/svr/icmp_error_carrier.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/icmp6_error_sender.h"
#include "dataplane/worker/tx.h"

namespace wp {

class Emit;
class EspStep;
class MetadataOnly;
class PathMigration;
struct Metadata;

// Whether `v` (status ok) is a datagram its sender fragmented, made whole at our LAN side
// (worker/svr6_reassembly.h), or a host's own atomic fragment (RFC 6946): a Fragment header
// with offset 0 and M clear, no other extension header. Carried with IPv4 DF clear (the sender
// accepts fragmentation, RFC 7915 § 5.1.1), so the WAN leg fragments it rather than refuse it,
// and the egress sends it in IPv6 fragments when it exceeds the LAN MTU.
inline bool svr6_whole_datagram(const Ipv6View& v) { return v.frag.present && v.frag.atomic && v.ext_headers == 1; }

class Svr6Lan {
 public:
  // Internal IPv4 addresses of a Session6's LAN side: kSvr6Base + 2 * index (+1 the far end).
  static constexpr Ipv4 kSvr6Base = 0x00000002;

  Svr6Lan(WorkerContext& ctx, Tx& tx, Emit& emit, CryptoBatch& crypto, MetadataOnly& metadata_only);
  // The worker's IPv6 session table (Route6Step's), or null: no IPv6 sessions.
  void attach(SessionTable6* table) { table_ = table; }
  bool enabled() const { return table_ != nullptr; }
  // Where LAN sides that are an IPsec tunnel are sealed, and the errors toward them; without it
  // their packets drop (esp_no_sa).
  void attach_tunnels(EspStep* esp) {
    esp_ = esp;
    icmp6_errors_.attach_tunnels(esp);
  }
  // What moves a session off a path that went down or left its SLA (svr/migration.h): asked on
  // each forward LAN packet, as LanInput asks it for IPv4 ones.
  void attach_migration(PathMigration* migration) { migration_ = migration; }

  // Ingress: a first IPv6 packet whose service (tenant, policy checked) has a next_peer; out of
  // IPsec tunnel `tunnel` (kNone: a port), the tunnel is the session's LAN side.
  void first_packet(rte_mbuf* m, const Ipv6View& v, const FiveTuple6& t, int tenant, int service, int security,
                    int tunnel = kNone);
  // An IPv6 packet of a Session6 that an SVR session carries. False, `m` untouched: a config
  // commit's re-check closed the SVR session (and the Session6 with it): a first packet again.
  bool from_lan(rte_mbuf* m, const Ipv6View& v, Session6& s6, Dir dir);
  // An ICMPv6 error (parsed `v`) that reached a LAN side about a packet of `s6` sent in direction
  // `about`: carried to the other router in the session (header comment); `m` consumed.
  void error_from_lan(rte_mbuf* m, const Ipv6View& v, Session6& s6, Dir about);
  // A metadata packet of `s` arriving in `dir` with TLV 21, its HMAC verified (WanInput): the
  // error it carries, to the LAN host of that direction, or at a transit hop on along the
  // session's other leg (transit_error); `m` consumed.
  void error_from_wan(rte_mbuf* m, const ParsedPacket& pp, Session& s, Dir dir, const Metadata& md);
  // Emit: a packet of `s` leaving on its IPv6 side `out` (iface kIfaceSvr6).
  void to_lan(rte_mbuf* m, ParsedPacket& pp, Session& s, Dir dir, const SideOut& out);
  // Egress: side B of `s` is the IPv6 destination of forward context `t` (TLV 3).
  bool bind_lan(Session& s, const FiveTuple6& t, int service, DropReason& why);
  // Transit (both sides WAN legs): `s` carries forward context `t` (TLV 3) on to `peer`'s
  // waypoints with ports of class `cls`; a Session6 that no lookup finds holds `t`, and
  // s.original becomes its internal tuple (worker/context.h transit_ipv6).
  bool bind_transit(Session& s, const FiveTuple6& t, int service, int peer, uint32_t cls, DropReason& why);
  // The IPv6 tuple (client -> server) of `s`, or null when it is an IPv4 session.
  const FiveTuple6* context_of(const Session& s) const;
  // The internal IPv4 tuple of Session6 `idx` (client -> server).
  static FiveTuple internal_tuple(uint32_t idx, const FiveTuple6& t);
  // HA (#19, docs/ipv6.md § HA of sessions between IPv6 waypoints): posts `s`
  // whole, its Session6 and itself, on HA's IPv6 event ring; false when the
  // ring is full (counted: ha6_events_dropped, ha_events_dropped).
  bool post_ha(SessionEventKind kind, const Session& s, SessionEndReason reason = SessionEndReason::none);
  // Offload (docs/ipv6.md § Offload of IPv6 sessions between IPv6 waypoints): `established`
  // and `closed` of a session between IPv6 waypoints, on the offload manager's IPv6 ring in
  // its real form (session/offload_events6.h); a full ring counts offload_events_dropped.
  void post_offload(SessionEventKind kind, const Session& s, SessionEndReason reason);
  // The mgmt feed (REST snapshot, IPFIX): the IPv6 view of `s` on this worker's IPv6 event
  // ring when the feed takes `kind`; a full ring drops it (ipfix_events_dropped). False when
  // nothing was posted (no ring, a kind it does not take, no Session6, or the ring full).
  bool post_mgmt(SessionEventKind kind, const Session& s, SessionEndReason reason = SessionEndReason::none);
  // The routes changed (worker/route6_follow.h): an established session between IPv6 waypoints
  // posts its `update` there, with the WAN leg's next hop of now, so that the NIC's rules follow it.
  void route_changed(const Session6& s6);
  // The session that carries, at this egress, the IPv6 session of tuple `t` (its client ->
  // server tuple, TLV 3), or null: how a path migration finds it (svr/migration.h rebind).
  Session* carrier_of(const FiveTuple6& t) const;

 private:
  // The Session6 that `s` carries (and that names it back), or null.
  Session6* session6_of(const Session& s) const;
  static void release(Svr6Lan* self, const Session& s);
  static void post(Svr6Lan* self, SessionEventKind kind, const Session& s, SessionEndReason reason);
  bool view(SessionEventKind kind, const Session& s, SessionEndReason reason, Session6Event& ev) const;
  // IPv6 -> the internal IPv4 tuple `to` (ports kept), in place; false: dropped.
  bool to_internal(rte_mbuf*& m, const Ipv6View& v, const FiveTuple& to, ParsedPacket& pp);
  // The largest IPv6 packet of `s` that crosses its WAN side `wan` whole in steady state.
  uint32_t wan_fit6(const Session& s, const SideOut& wan) const;
  // True when it consumed `m` (leaving in `dir` toward the WAN): too big for the WAN leg,
  // Packet Too Big sent to its sender (header comment), dropped as svr6_wan_too_big.
  bool refuse_too_big(rte_mbuf* m, const Ipv6View& v, const Session& s, const Session6& s6, Dir dir);
  void into_tunnel(rte_mbuf* m, uint32_t tunnel);
  // A restored datagram its sender fragmented, larger than the LAN MTU `mtu`: in IPv6 fragments.
  void send_fragments(rte_mbuf* m, int iface, const Ipv6& next_hop, uint32_t mtu);
  // The error `type`/`code`/`rest` that `location` generated about the IPv6 packet at `ip` (`len`
  // bytes) of `s`, sent in `about`: into the session the other way. False: not sent (counted).
  // `via`: ours, or the transit hop's.
  bool carry_error(IcmpErrorCarrier& via, rte_mempool* pool, Session& s, Dir about, const uint8_t* ip, uint32_t len,
                   const Ipv6& location, uint8_t type, uint8_t code, uint32_t rest);
  // Transit (transit_ipv6(s)): a carrier arriving in `dir`, checked to quote a packet of the held
  // Session6's tuple sent the other way, sent on along the other leg re-signed; `m` consumed.
  void transit_error(rte_mbuf* m, const ParsedPacket& pp, Session& s, Dir dir, const Metadata& md);

  WorkerContext& ctx_;
  Tx& tx_;
  Emit& emit_;
  CryptoBatch& crypto_;
  SessionTable6* table_ = nullptr;
  PathMigration* migration_ = nullptr;
  Icmp6ErrorSender icmp6_errors_;
  IcmpErrorCarrier carrier_;  // errors carried into sessions (TLV 21), at kIcmpErrorRate a second too
  IcmpErrorCarrier transit_;  // carriers a transit hop sends on along the other leg, in their own bucket
  EspStep* esp_ = nullptr;
  uint32_t frag6_id_ = 0;  // IPv6 fragment ids of restored datagrams: stepped by the worker count
};

}  // namespace wp
