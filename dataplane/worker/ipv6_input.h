// What a worker does with an IPv6 frame (docs/ipv6.md). The header walk
// (ip/ipv6.h) first: a frame that fails it is dropped by its reason. ICMPv6
// the control thread answers goes up to it, metered per port like ARP:
// Neighbor Solicitations for one of the interface's addresses (RFC 4861
// § 7.2.3: to that address or its solicited-node group), Neighbor
// Advertisements to one of them or to all-nodes (answers to our solicitations
// and the neighbors' own updates, § 7.2.6), Router Solicitations on an
// interface that sends Router Advertisements (to all-routers or to one of its
// addresses, § 6.2.6), echo requests to one of them and MLD queries on an
// interface with IPv6 (control/mld_listener.h; other listeners' reports are
// dropped as mld_not_query: we listen, we do not query).
// The control thread verifies checksums and the ND validity rules. From a
// LAN, to our MAC, under a NAT64 service's prefix: NAT64 (nat64_step.h).
// To our MAC, under a NAT46 service's source prefix (a server's reply):
// NAT46 (nat46_step.h).
// Other unicast IPv6 to our MAC, when a service has IPv6 prefixes: routed
// with sessions (route6_step.h). Anything else is not routed (`not_ipv4`).
// With the punt path on (#19, docs/operations.md § Punt path), the rest for
// the router goes up to the control thread for the kernel interface, metered
// by class like IPv4 (punt_meter.h): unicast to one of the router's IPv6
// addresses (BGP over IPv6, echo replies to the kernel's pings, errors about
// its connections), and link-scope multicast (ff02::/16) other than ICMPv6
// (OSPFv3's ff02::5 and ff02::6; Neighbor Discovery and MLD stay the control
// thread's, which answers for the kernel: the kernel never sees them).
#pragma once

#include <rte_mbuf.h>

#include <array>

#include "dataplane/ip/ipv6.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/nat46_step.h"
#include "dataplane/worker/nat64_step.h"
#include "dataplane/worker/punt_meter.h"
#include "dataplane/worker/rate_limit.h"
#include "dataplane/worker/route6_step.h"
#include "dataplane/worker/svr6_reassembly.h"

namespace wp {

class Ipv6Input {
 public:
  // Per port, like ARP: a LAN's hosts resolving us at once, far below what
  // would keep the control thread from its timers.
  static constexpr uint32_t kNdPerSecond = 1000;
  static constexpr uint32_t kNdBurst = 256;
  static constexpr size_t kNdPorts = 16;

  Ipv6Input(WorkerContext& ctx, Nat64Step& nat64, Nat46Step& nat46, Route6Step& route6, PuntMeter& punt,
            Handoff& handoff)
      : ctx_(ctx), nat64_(nat64), nat46_(nat46), route6_(route6), punt_(punt), svr6_fragments_(ctx, handoff) {}
  void input(rte_mbuf* m, int iface);
  // input() up to the IPv6 session lookup, for the staged burst lookup of the
  // worker's dispatch: true when `out` (built here) waits for
  // Route6Step::process(); false when the frame was consumed (routed by
  // NAT64, sent up to the control thread, staged for its owner, or dropped).
  bool stage(rte_mbuf* m, int iface, Route6Step::Staged& out);
  // Half-reassembled LAN datagrams of IPv6 sessions over SVR that timed out, a budget per call.
  void age() { svr6_fragments_.age(); }

 private:
  bool for_control(const uint8_t* d, const Ipv6View& v, const InterfaceModel& in, int iface);
  void to_control(rte_mbuf* m, int iface, uint8_t icmp6_type);  // metered by type (rate_limit.h)
  void to_control_ring(rte_mbuf* m);
  bool for_kernel(const Ipv6View& v) const;

  WorkerContext& ctx_;
  Nat64Step& nat64_;
  Nat46Step& nat46_;
  Route6Step& route6_;
  PuntMeter& punt_;
  Svr6Reassembly svr6_fragments_;  // LAN fragments of IPv6 sessions over SVR (svr6_reassembly.h)
  std::array<TokenBucket, kNdPorts> nd_rate_{};
};

}  // namespace wp
