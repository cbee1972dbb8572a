// ICMPv4 errors through IPv4 SVR sessions (issue #19/#17; the SVR draft's TLV
// 20; docs/svr-wire-format.md § ICMP errors through the session), the twin of
// IPv6 sessions' TLV 21 (svr/svr6_lan.h).
//
// The host that sent a packet of a session is across the WAN from whoever
// answers it with an ICMPv4 error (RFC 792, RFC 1191): the server's Port
// Unreachable, a router beyond the egress's Fragmentation Needed or Time
// Exceeded reach the egress router's LAN, addressed to the client. That
// router finds the session by the quote (the restored packet it sent: the
// quoted tuple's affinity class names the owner worker, as for the session's
// own LAN packets) and carries the error to the other router in a signed
// metadata-only packet of the other direction (svr/icmp_error_carrier.h):
// TLV 20 = the error's source (the location), as data the type, code, bytes
// 4-7 and the quoted IPv4 header + 8 bytes of L4 header only (no session data
// leaves in clear), with the session's own tuple for that direction written
// in. Its own Fragmentation Needed for a restored DF TCP segment above the
// LAN MTU travels the same way, from its address on that LAN. The other
// router checks the HMAC (WanInput), that the quote is a packet its own LAN
// host sent in that session and that the location is unicast, writes the
// host's own tuple into the quote (header checksum fixed) and sends the host
// the error from the location, at kIcmpErrorRate a second a worker; behind an
// IPsec tunnel side, sealed into the tunnel as the session's own packets that
// way (Fragments::transmit; its own Fragmentation Needed for a restored DF
// segment above the tunnel's MTU comes from its tunnels[].address). A transit
// hop (both sides WAN legs) checks the same and sends the carrier on along the
// other leg, re-signed with that leg's key (svr/icmp_error_carrier.h). The MTU
// of a Fragmentation Needed passes unchanged: an IPv4 packet crosses the
// session with its size unchanged on both LANs.
#pragma once

#include <rte_mbuf.h>

#include <cstdint>
#include <optional>

#include "dataplane/ip/packet.h"
#include "dataplane/session/session.h"
#include "dataplane/svr/icmp_error_carrier.h"
#include "dataplane/svr/lan_link.h"
#include "dataplane/svr/metadata.h"
#include "dataplane/worker/context.h"
#include "dataplane/worker/rate_limit.h"

namespace wp {

class Fragments;

class SvrIcmp4 {
 public:
  // `fragments`: how an error leaves toward our host, out of a port or into an IPsec tunnel.
  SvrIcmp4(WorkerContext& ctx, Fragments& fragments, CryptoBatch& crypto, MetadataOnly& metadata_only)
      : ctx_(ctx),
        fragments_(fragments),
        carrier_(ctx, crypto, metadata_only, Counter::svr_icmp4_errors_carried, Counter::svr_icmp4_rate_limited),
        transit_(ctx, crypto, metadata_only, Counter::svr_icmp4_errors_transited, Counter::svr_icmp4_rate_limited) {}

  // The tuple of the TCP or UDP packet that ICMPv4 error `pp` (Destination Unreachable, Time
  // Exceeded, Parameter Problem; frame `d`) quotes; nullopt: not such an error, or cut short.
  static std::optional<FiveTuple> quoted_tuple(const uint8_t* d, const ParsedPacket& pp);

  // An ICMPv4 error `pp` that reached a LAN port, quoting `q`, a packet this router sent in
  // direction `about` of `s`: carried to the other router when `s` is an SVR session that way
  // (header comment); `m` consumed either way.
  void error_from_lan(rte_mbuf* m, const ParsedPacket& pp, const FiveTuple& q, Session& s, Dir about);
  // A metadata packet of `s` arriving in `dir` with TLV 20, its HMAC verified (WanInput): the
  // error it carries, to the LAN host of that direction, or at a transit hop on along the
  // session's other leg (svr_icmp4_errors_transited, in its own bucket); `m` consumed.
  void error_from_wan(rte_mbuf* m, const ParsedPacket& pp, Session& s, Dir dir, const Metadata& md);
  // A restored packet `pp` of `s` leaving in `dir` on LAN side `lan` (svr/lan_link.h), above its
  // MTU: true (and `m` dropped as mtu_exceeded) when it is a DF TCP segment, whose sender then gets
  // our Fragmentation Needed through the session. False: `m` untouched (fragmented as before).
  bool refuse_too_big(rte_mbuf* m, const ParsedPacket& pp, Session& s, Dir dir, const LanLink& lan);

 private:
  // The error `type`/`code`/`rest` that `location` generated about the IPv4 packet at `ip` (its
  // header and at least 8 bytes of L4 header), sent in `about`: into the session the other way,
  // through `via` (ours, or the transit hop's).
  bool carry(IcmpErrorCarrier& via, rte_mempool* pool, Session& s, Dir about, const uint8_t* ip, Ipv4 location,
             uint8_t type, uint8_t code, uint32_t rest);

  WorkerContext& ctx_;
  Fragments& fragments_;
  IcmpErrorCarrier carrier_;
  IcmpErrorCarrier transit_;  // carriers a transit hop sends on along the other leg
  TokenBucket relay_rate_;  // errors relayed to our LAN hosts
};

}  // namespace wp
