// The ICMPv6 errors a worker step originates (RFC 4443), sent one way by all
// of them: routing (worker/route6_step.h: Time Exceeded, Packet Too Big),
// NAT64 (worker/nat64_step.h: the same toward IPv6 clients) and SVR's IPv6
// LAN side (svr/svr6_lan.h: Packet Too Big for the WAN leg, and the errors an
// SVR session carried back from beyond the other router, relay()).
//
// RFC 4443 § 2.2: from our address on the link the error leaves by, the one
// that suits the neighbor it goes to (InterfaceModel::source6_for: the
// address whose prefix holds it, else the link-local), or, into an IPsec
// tunnel, the router's inner address on it (tunnels[].ipv6_address; none: no
// error, and a Packet Too Big is counted tunnel_frag_needed_unsent), sealed by
// the tunnel's owner as any packet into it (worker/esp_step.h); § 2.4 (e): never about
// an ICMPv6 error, a Redirect or a packet to or from a multicast address
// (icmp6_error_allowed); § 2.4 (f): at a limited rate, kIcmpErrorRate a
// second in bursts of kIcmpErrorRateBurst (worker/rate_limit.h), in a bucket
// of each sender's own. The offending packet stays with the caller, which
// drops it by its own reason; the error's own fate is counted in the
// caller's counters (sent, rate-limited, no mbuf).
#pragma once

#include <rte_mbuf.h>

#include <cstdint>

#include "dataplane/ip/ipv6.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/counters.h"
#include "dataplane/worker/rate_limit.h"
#include "dataplane/worker/tx.h"

namespace wp {

class EspStep;

// Our address on IPv6 link `iface` toward `next_hop` (a port's, InterfaceModel::source6_for), or
// on the IPsec tunnel `next_hop` names (iface kRoute6Tunnel, tunnel_hop6; tunnels[].ipv6_address):
// an error's source there. Unspecified: none.
Ipv6 link_source6(const RouterModel& rm, int iface, const Ipv6& next_hop);

class Icmp6ErrorSender {
 public:
  // `rate_limited`, `no_mbuf`: what counts an error not sent for either reason.
  Icmp6ErrorSender(WorkerContext& ctx, Tx& tx, Counter rate_limited, Counter no_mbuf)
      : ctx_(ctx), tx_(tx), rate_limited_(rate_limited), no_mbuf_(no_mbuf) {}

  // Errors into an IPsec tunnel are sealed by `esp`; without it they are dropped (esp_no_sa).
  void attach_tunnels(EspStep* esp) { esp_ = esp; }

  // An error `type`/`code` (bytes 4-7 `rest`) about the parsed IPv6 packet
  // in `m` to its source, out of interface `iface` to on-link neighbor
  // `next_hop` (the source itself, or the gateway toward it), or into the
  // IPsec tunnel `next_hop` names (iface kRoute6Tunnel), counted as `sent`.
  // Nothing is sent when RFC 4443 forbids it or the link has no IPv6 address
  // of ours (link_source6).
  void send(const rte_mbuf* m, const Ipv6View& v, int iface, const Ipv6& next_hop, uint8_t type, uint8_t code,
            uint32_t rest, Counter sent);
  // An error another node generated, which reached us inside an SVR session
  // (svr/svr6_lan.h): from `from` to `to`, quoting the `len` bytes at `quote`
  // (an IPv6 header and what follows), out of `iface` to `next_hop` (or into
  // a tunnel, as send()); the same rate as send()'s, in the same bucket. The
  // caller checked what it quotes.
  void relay(rte_mempool* pool, const uint8_t* quote, uint32_t len, const Ipv6& from, const Ipv6& to, int iface,
             const Ipv6& next_hop, uint8_t type, uint8_t code, uint32_t rest, Counter sent);

 private:
  WorkerContext& ctx_;
  Tx& tx_;
  EspStep* esp_ = nullptr;
  Counter rate_limited_;
  Counter no_mbuf_;
  TokenBucket rate_;
};

}  // namespace wp
