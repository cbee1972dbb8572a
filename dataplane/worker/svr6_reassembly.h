// IPv6 fragments from a LAN host of an IPv6 session over SVR (issue #19;
// docs/ipv6.md § Fragments through IPv6 sessions over SVR; RFC 8200 § 4.5).
//
// A LAN host that fragments a datagram (DNS with EDNS0, QUIC, VPN in UDP)
// sends fragments after the first without ports, so neither the session's
// owner nor its service can be known from them. Every such fragment to our
// MAC whose source or destination is under a service's IPv6 prefix (the
// client's way out at the ingress, the server's reply at the egress) goes
// first to the worker of its datagram's key (fragment_class6, the hash
// NAT64 uses), which makes it whole in its own preallocated table
// (ip/ipv6_reassembly.h: 256 datagrams, a quarter per source /64, 16
// fragments, 2 s, RFC 5722 overlaps drop the datagram; no mbuf held). The
// whole datagram, at most one mbuf (about 2 KB), keeps a Fragment header
// with offset 0 and M clear (an atomic fragment, RFC 6946) with its
// identification: what tells the session's code that its sender
// fragmented it, on this worker or after the handoff to the session's
// owner (route6_step.h). Svr6Lan then carries it like any packet (IPv4 DF
// clear, so the WAN leg fragments it instead of a Packet Too Big) and the
// egress sends it in IPv6 fragments when it exceeds the LAN MTU.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ip/ipv6.h"
#include "dataplane/ip/ipv6_reassembly.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/handoff.h"

namespace wp {

class Svr6Reassembly {
 public:
  static constexpr uint32_t kSlots = 256;  // per worker: ~1.1 MB, as NAT64's and the IPv6 waypoints'
  // The LAN's hosts often share one /64 (the table's unit of a source): a quarter each.
  static constexpr uint32_t kPerSource = kSlots / 4;
  static constexpr uint32_t kExpireBudget = 32;

  Svr6Reassembly(WorkerContext& ctx, Handoff& handoff) : ctx_(ctx), handoff_(handoff) {}

  // Whether fragment `v` from LAN interface `iface` is one this step takes (header comment).
  bool wants(const Ipv6View& v, int iface) const;
  // Takes fragment `m` (`v`, one wants() accepted): handed to its datagram's worker, held,
  // or dropped (false); or completed here (true): `m` is now the whole datagram with its
  // atomic Fragment header, to parse again.
  bool take(rte_mbuf* m, const Ipv6View& v);
  void age();  // datagrams that never completed, a budget per call
  uint32_t reassembling() const { return table_.in_use(); }

 private:
  WorkerContext& ctx_;
  Handoff& handoff_;
  Ipv6ReassemblyTable table_{kSlots, DatagramStore::kDefaultTimeoutMs, kPerSource};
};

}  // namespace wp
