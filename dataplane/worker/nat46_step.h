// NAT46 on the ingress router (docs/ipv6.md § NAT46, issue #19): IPv4
// clients on a LAN reach IPv6-only servers on or behind a service's
// `nat46.interface` (on-link, or by a route whose gateway is on that link)
// by the service's IPv4 prefixes.
//
// Out (input4, an IPv4 packet from a LAN to a NAT46 service's prefix): the
// tenant and the policy (deny by default), the server (RFC 6052 embedding
// under server_prefix, or the `servers` map), the client's source embedded
// under source_prefix, then the RFC 7915 translation in place
// (ip/nat64_packet.h nat64_4to6 with the destination port as it is: NAT46
// translates no port) and the transmit to the server, or to the router a
// route to it on that link names (Neighbor Discovery; chosen per session). In (input6, IPv6 from a server to an address under a source
// prefix): the session, the policy again, nat64_6to4 back to the client, the
// transmit by the route to it (ARP). ICMPv6 errors about a translated packet
// become the ICMPv4 error about the client's (nat46_icmp6_error_to4). ICMP
// echo requests from clients become ICMPv6 echo requests and the replies
// come back, as NAT64 does the converse.
//
// QoS (docs/qos.md § Dataplane): translated packets and their fragments, both
// ways, take the service's class, for a shaped WAN port; translated ICMP
// errors and our own stay best-effort.
//
// State: a SessionTable6 of this worker's own (session/table6.h), keyed by
// the translated tuple (client's IPv6 source, port -> server, port), so a
// server's reply finds it by its own tuple (the reverse key); idle times are
// the router's session timeouts (TCP FIN both ways or RST shortens). The
// owner rule: NAT46 translates no port, so both directions carry the whole
// IPv4 key (the reply's addresses give the client and the server back), and
// the owner is the affinity class of that IPv4 5-tuple's symmetric hash
// (session/owner.h): the LAN dispatch's rule for IPv4 already, and input6
// hands a reply received elsewhere to the owner (handoff_full when its ring
// is full).
//
// Refusals are nat46_* drop reasons. The router answers two itself, to the
// IPv4 client from its address on the client's link, rate-limited per worker
// (RFC 1812 § 4.3.2.8): a TTL <= 1 with Time Exceeded, a DF packet larger
// than the server link's MTU once translated with Fragmentation Needed (MTU
// = that MTU - 20); without DF it leaves in IPv6 fragments (RFC 7915 § 4).
// And two to the IPv6 server from its address on the server's link
// (worker/icmp6_error_sender.h, RFC 4443): a reply whose hop limit is <= 1
// with Time Exceeded, a reply larger than the client's LAN once translated
// with Packet Too Big (MTU = that MTU + 20, at least 1280: RFC 7915 § 5.1).
//
// The table (16 384 sessions, ~3 MB a worker) is allocated by the
// constructor only when the startup model has a NAT46 service; a live commit
// that adds the first one is refused (mgmt/live_commit.cc restart_only).
#pragma once

#include <rte_mbuf.h>

#include <memory>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/packet.h"
#include "dataplane/session/table6.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/handoff.h"
#include "dataplane/worker/icmp6_error_sender.h"
#include "dataplane/worker/rate_limit.h"
#include "dataplane/worker/tx.h"

namespace wp {

class Nat46Step {
 public:
  static constexpr uint32_t kSessions = 16384;   // per worker
  static constexpr uint32_t kExpireBudget = 64;  // sessions swept per loop iteration
  // ICMPv4 errors a worker sends clients (Time Exceeded, Fragmentation Needed), RFC 1812 § 4.3.2.8.
  static constexpr uint32_t kIcmp4ErrorsPerSecond = kIcmpErrorRate;
  static constexpr uint32_t kIcmp4ErrorBurst = kIcmpErrorRateBurst;

  Nat46Step(WorkerContext& ctx, Tx& tx, Handoff& handoff);

  // An IPv4 packet (whole) from LAN interface `iface` on its owner worker:
  // true when its destination is a NAT46 service's (translated or dropped),
  // false when it is not NAT46 (the LAN path's).
  bool input4(rte_mbuf* m, const ParsedPacket& pp, int iface);
  // An IPv6 frame to our MAC: true when its destination is under a NAT46
  // source prefix (translated, handed to the owner, or dropped).
  bool input6(rte_mbuf* m, const Ipv6View& v);
  // An IPv6 fragment to our MAC: true (dropped, nat46_fragment) when under a source prefix.
  bool fragment6(rte_mbuf* m, const Ipv6View& v);
  // Idle sessions, a budget per call.
  void age();
  uint32_t sessions() const { return table_ ? table_->size() : 0; }
  bool has_tables() const { return table_ != nullptr; }

 private:
  // The NAT46 service whose source prefix holds `dst` (the client `client4`
  // under it); kNone: none.
  int source_service(const Ipv6& dst, Ipv4& client4) const;
  // The owner of the session of IPv4 tuple `t` (either direction); true when it is this worker.
  bool owned(rte_mbuf* m, const FiveTuple& t);
  void icmp6_error(rte_mbuf* m, const Ipv6View& v);
  // The translated IPv6 packet in `m` out of `iface` in fragments of at most `mtu` bytes.
  Ipv6 server_hop(const Ipv6& server, int out, const FiveTuple6& t) const;
  void send6_fragments(rte_mbuf* m, int iface, const Ipv6& hop, uint32_t mtu);
  // An ICMPv4 error about the client's packet in `m` (left as it is) back to
  // it from our address on `iface`, counted as `sent`.
  void icmp4_error(rte_mbuf* m, const ParsedPacket& pp, int iface, uint8_t type, uint8_t code, uint32_t rest,
                   Counter sent);
  static void note(Session6& s, Dir dir, uint32_t bytes, uint8_t proto, uint8_t tcp_flags, uint32_t now_ms);
  void count_sessions();

  WorkerContext& ctx_;
  Tx& tx_;
  Handoff& handoff_;
  std::unique_ptr<SessionTable6> table_;  // null: no NAT46 service at start
  uint16_t ip_id_ = 0;
  uint32_t frag6_id_ = 0;   // IPv6 fragment ids: stepped by the worker count
  TokenBucket icmp4_rate_;  // the ICMPv4 errors this worker sends clients
  Icmp6ErrorSender icmp6_errors_;  // the ICMPv6 errors it sends servers on their link
};

}  // namespace wp
