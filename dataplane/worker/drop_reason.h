// Every reason a packet can be dropped, as one X-macro list, VPP style:
// one enum, one counter array per worker, one name table. A packet is never
// dropped without incrementing exactly one of these.
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace wp {

#define WP_DROP_REASONS(X) \
  X(parse_error, "malformed Ethernet/IPv4/L4 header") \
  X(not_ipv4, "ethertype we do not route (IPv6, VLAN, ...)") \
  X(ttl_expired, "TTL would reach zero") \
  X(unsupported_proto, "L4 protocol SVR does not carry (only TCP/UDP)") \
  X(not_for_us, "WAN packet to an address/port that is not one of our waypoints") \
  X(no_tenant, "LAN source matches no tenant") \
  X(no_service, "destination matches no service") \
  X(policy_deny, "no policy allows tenant -> service (deny by default)") \
  X(no_route, "no route to the next hop / peer waypoint") \
  X(no_peer, "service names a peer with no reachable waypoint") \
  X(no_session, "WAN packet with no session and no metadata") \
  X(bad_hmac, "metadata HMAC-SHA256-128 did not verify") \
  X(crypto_error, "IPsec-MB did not complete a job (HMAC signing)") \
  X(bad_metadata, "truncated or inconsistent metadata block/TLVs") \
  X(metadata_missing, "metadata lacks a required TLV (context, UUID, tenant, service)") \
  X(unknown_peer, "metadata packet from an address that is not a configured peer") \
  X(table_full, "session table full: new session refused") \
  X(ports_exhausted, "no free waypoint port pair in the affinity class") \
  X(no_buffer_room, "mbuf has no head/tail room for metadata") \
  X(mtu_exceeded, "packet with metadata would exceed the egress MTU") \
  X(handoff_full, "handoff ring to the owning worker was full") \
  X(control_full, "ring to the control thread was full") \
  X(arp_unresolved, "next hop did not answer ARP (pending queue overflow/timeout)") \
  X(tx_full, "port tx queue did not accept the packet") \
  X(session_closed, "packet for a session that was reset/closed and reaped") \
  /* crypto */ \
  X(bad_packet_hmac, "per-packet HMAC-SHA256-128 (session key) did not verify") \
  X(bad_padding, "decrypted data has invalid PKCS#7 padding") \
  X(crypto_short, "encrypted/HMAC packet too short or ciphertext not whole blocks") \
  X(replayed, "per-packet sequence number already seen or older than the window") \
  /* packet duplication (svr/duplication.h); dup_removed is the feature working, not an error */ \
  X(dup_removed, "second copy of a duplicated session's packet, removed by the receiver's window (expected)") \
  X(dup_late, "duplicated session's packet older than the 64-number window (counted as a gap when it left)") \
  X(dup_short, "duplicated session's packet too short to hold its sequence number") \
  X(dup_unsupported, "first packet of a duplicated session (TLV 27) on a router whose qos.duplicate is empty") \
  X(key_slab_full, "no free per-session key slot: new encrypted session refused") \
  /* reassembly (ip/reassembly.h) and fragmentation */ \
  X(frag_duplicate, "IPv4 fragment identical to one already held") \
  X(frag_overlap, "IPv4 fragment overlaps held data or contradicts the datagram end: datagram dropped") \
  X(frag_too_many, "IPv4 datagram in more fragments than the reassembly table holds: dropped") \
  X(frag_too_big, "reassembled IPv4 datagram larger than the reassembly buffer / an mbuf: dropped") \
  X(frag_timeout, "IPv4 datagram not complete within the reassembly timeout: dropped") \
  X(frag_table_full, "no free reassembly slot for a new fragmented datagram") \
  X(frag_malformed, "IPv4 fragment empty, or not the last and not a multiple of 8 bytes") \
  X(frag_no_mbuf, "no mbuf (or too many fragments) to fragment an oversize packet") \
  /* metadata payload encryption */ \
  X(unknown_key_version, "metadata names a pair-key version (TLV 16) we do not hold, or encrypted metadata none") \
  X(bad_metadata_padding, "decrypted metadata payload has invalid PKCS#7 padding") \
  X(metadata_not_encrypted, "session metadata in clear where our policy requires metadata encryption (downgrade)") \
  /* paths */ \
  X(no_path, "every path to the service's peer is down (BFD)") \
  /* defences against floods and forged headers (docs/security.md § Dataplane) */ \
  X(bad_ip_checksum, "IPv4 header checksum did not verify (RFC 1812 5.2.2), in software or by the port") \
  X(frag_source_limit, "the fragment's source already holds its share of the reassembly table") \
  X(arp_rate_limited, "ARP from this port over the rate the control thread takes") \
  X(session_rate_source, "new sessions from this source address over its rate limit") \
  X(session_rate_tenant, "new sessions of this tenant over its rate limit") \
  X(session_quota_tenant, "the tenant already holds its quota of sessions") \
  /* punt path (docs/operations.md § Punt path): per-class rate limits, the kernel side */ \
  X(punt_rate_bgp, "BGP (TCP 179, no SYN) for us over the punt rate") \
  X(punt_rate_bgp_syn, "a BGP connection request (TCP 179 with SYN) for us over the punt rate") \
  X(punt_rate_ospf, "OSPF (IP protocol 89) for us over the punt rate") \
  X(punt_rate_bfd, "BFD (UDP 3784/3785/4784) for us over the punt rate") \
  X(punt_rate_icmp, "ICMP for us over the punt rate") \
  X(punt_rate_other, "other packets for us over the punt rate") \
  X(punt_kernel_full, "the kernel interface did not take a punted packet") \
  X(ike_unanswered, "UDP 500/4500 to our WAN address that the IKE service did not answer (GET /api/v1/ipsec counts why)") \
  X(ike_reply_failed, "the IKE service's answer found no mbuf, or does not fit one") \
  X(punt_kernel_unsent, "the kernel sent what cannot leave a port (not IPv4 or ARP, or a broken frame)") \
  X(breakout_ports_exhausted, "internet breakout: no free source-NAT port of the protocol on this worker") \
  X(breakout_no_route, "internet breakout: no route to the destination out of the breakout interface") \
  /* IPv6 header walk (ip/ipv6.h) */ \
  X(ipv6_malformed, "IPv6 fixed header short, version not 6, or payload length past the frame") \
  X(ipv6_ext_truncated, "an IPv6 extension header runs past the datagram") \
  X(ipv6_ext_chain_too_long, "more IPv6 extension headers than the parser walks (8)") \
  X(ipv6_ext_too_long, "IPv6 extension headers longer than the parser walks (256 bytes in total)") \
  X(ipv6_ext_order, "IPv6 hop-by-hop header not first, or a second fragment or routing header") \
  X(ipv6_first_fragment_short, "IPv6 first fragment without the whole header chain and upper-layer header (RFC 7112)") \
  X(ipv6_l4_truncated, "IPv6 packet whose TCP/UDP/ICMPv6 header is short or inconsistent") \
  X(app_policy_deny, "the session's application or its category is denied by the tenant's policy for the service") \
  X(app_not_in_service, "the session's application is not one its service names (services[].applications/categories)") \
  /* ICMPv6 and Neighbor Discovery for our addresses (ip/ndp.h) */ \
  X(nd_rate_limited, "Neighbor Discovery or ICMPv6 echo for us over the rate the control thread takes") \
  X(icmpv6_bad_checksum, "ICMPv6 message for us whose checksum fails") \
  X(nd_bad_hop_limit, "Neighbor Discovery message with a hop limit other than 255 (RFC 4861 7.1)") \
  X(nd_malformed, "Neighbor Discovery message with a code not 0, short, a multicast target or a bad option") \
  X(nd_bad_dad, "Neighbor Solicitation from :: not to a solicited-node group, or with a link-layer option") \
  X(nd_bad_solicited, "solicited Neighbor Advertisement to a multicast address") \
  X(nd_bad_router_solicit, "Router Solicitation with a code not 0, short, a bad option, or from :: with a link-layer option") \
  X(mld_bad_query, "MLD query not from a link-local source, hop limit not 1, without Router Alert, or malformed (RFC 3810 5.1.14)") \
  X(mld_not_query, "another node's MLD report or done: we listen, we are not an MLD querier") \
  X(nd_target_not_ours, "Neighbor Solicitation for an address that is not ours") \
  X(nd_target_not_held, "Neighbor Solicitation for our IPv6 address while the HA peer holds it") \
  X(nd_peer_dad, "DAD Neighbor Solicitation for an HA peer's IPv6 address we hold (not answered: it is the peer's)") \
  X(nd_target_tentative, "Neighbor Solicitation for our address that is tentative or duplicate (DAD)") \
  X(nd_unresolved, "IPv6 packet whose on-link neighbor did not answer Neighbor Solicitations") \
  X(esp_malformed, "ESP packet shorter than header, IV, one cipher block and ICV, not whole blocks, or in several segments") \
  X(esp_unknown_spi, "ESP packet whose SPI names no inbound SA") \
  X(esp_wrong_peer, "ESP packet from another address than its SA's peer") \
  X(esp_wrong_local, "ESP packet to another of our addresses than its SA's local address") \
  X(esp_udp6_checksum, "ESP in UDP 4500 over IPv6 whose UDP checksum is zero or does not verify (RFC 8200 § 8.1)") \
  X(esp_replayed, "ESP sequence number already received (RFC 4303 § 3.4.3)") \
  X(esp_too_old, "ESP sequence number below the 1024-number replay window") \
  X(esp_auth_failed, "ESP ICV or GCM tag did not verify") \
  X(esp_bad_padding, "decrypted ESP trailer: pad length past the payload or padding not 1, 2, 3...") \
  X(esp_dummy, "ESP dummy packet (next header 59, RFC 4303 § 2.6)") \
  X(esp_bad_next_header, "ESP next header neither IPv4 (4) nor IPv6 (41)") \
  X(esp_inner_unsupported, "ESP carried an IPv6 packet and this router routes no IPv6 (no service has IPv6 prefixes)") \
  X(esp_inner_malformed, "the packet inside ESP is not a whole IPv4 or IPv6 packet (as its next header says)") \
  X(esp_inner_fragment6, "an IPv6 fragment out of a tunnel (inner IPv6 fragments are not reassembled)") \
  X(esp_no_sa, "packet routed into a tunnel that has no outbound SA (not negotiated yet)") \
  X(esp_seq_exhausted, "outbound SA sent its last sequence number; the peer must rekey it first") \
  X(esp_too_big, "packet routed into a tunnel is larger than the tunnel MTU and has DF set") \
  X(esp_outer6_ptb_invalid, "ICMPv6 Packet Too Big to a WAN address not quoting an outbound SA of ours by SPI and both addresses (forged, stale or malformed)") \
  X(esp_outer4_frag_needed_invalid, "ICMPv4 Fragmentation Needed quoting ESP, to a LAN address, with a bad checksum, or not quoting an outbound SA of ours by SPI, both addresses and ports (forged, stale or malformed)") \
  X(icmp_path_mtu_rate_limited, "ICMPv4 Fragmentation Needed or ICMPv6 Packet Too Big for us over the rate the control thread checks them at") \
  X(esp_no_room, "no headroom or tailroom in the mbuf for the ESP encapsulation") \
  X(esp_seal_failed, "the crypto library refused to seal an ESP packet") \
  X(esp_no_route, "sealed ESP packet whose SA peer is not routed out of a WAN interface") \
  X(esp_inner_to_us, "the packet inside ESP is for the router, no tunnel tap takes it (punt off, a port's address)") \
  X(punt_tunnel_down, "the kernel sent into a tunnel's tap while the tunnel has no outbound SA (down)") \
  X(tunnel_mismatch, "packet of a session whose side is another tunnel, or none (a spoofed inner source)") \
  /* QoS on shaped WAN ports (worker/qos_tx.h) */ \
  X(qos_ring_full, "QoS: the ring to the shaped port's owner worker was full") \
  X(qos_queue_full, "QoS: the packet's class queue on the shaped port was full") \
  /* NAT64 (worker/nat64_step.h, docs/ipv6.md § NAT64) */ \
  X(nat64_no_service, "IPv6 to a NAT64 prefix whose IPv4 address, protocol or port no NAT64 service matches") \
  X(nat64_no_tenant, "IPv6 source of a NAT64 packet matches no tenant (ipv6_prefixes, interface)") \
  X(nat64_policy_deny, "no policy allows the IPv6 client's tenant -> the NAT64 service (deny by default)") \
  X(nat64_non_global, "a non-global IPv4 address under the Well-Known Prefix 64:ff9b::/96 (RFC 6052 3.1)") \
  X(nat64_no_route, "NAT64: no route to the IPv4 destination out of the NAT64 interface, or the IPv6 client is not on-link") \
  X(nat64_pool_exhausted, "NAT64: no free pool port of the protocol on this worker") \
  X(nat64_table_full, "NAT64: the binding table (its bucket) is full") \
  X(nat64_no_binding, "IPv4 to a NAT64 pool address and port (or ICMP error about one) that no binding holds") \
  X(nat64_untranslatable, "NAT64: ICMP/ICMPv6 without an RFC 7915 translation, or not TCP, UDP or ICMP") \
  X(nat64_fragment, "NAT64: IPv6 fragment or IPv4 fragment (not translated)") \
  X(nat64_hop_limit, "NAT64: hop limit or TTL would reach zero") \
  X(nat64_too_big, "NAT64: the translated packet is larger than the interface MTU and may not be fragmented") \
  X(nat64_no_room, "NAT64: no headroom in the mbuf for the longer IPv6 header") \
  X(nat64_frag6_no_mbuf, "NAT64: no mbufs for the IPv6 fragments of a reply larger than the client's link MTU") \
  /* NAT46 (worker/nat46_step.h, docs/ipv6.md § NAT46) */ \
  X(nat46_no_tenant, "IPv4 source of a packet to a NAT46 service matches no tenant") \
  X(nat46_policy_deny, "no policy allows the IPv4 client's tenant -> the NAT46 service (deny by default)") \
  X(nat46_no_server, "NAT46: the IPv4 destination is not in the service's servers map") \
  X(nat46_no_session, "IPv6 to a NAT46 source prefix (or ICMPv6 error about one) that no NAT46 session holds") \
  X(nat46_no_route, "NAT46: no route back to the IPv4 client on a LAN") \
  X(nat46_table_full, "NAT46: the worker's NAT46 session table is full: new session refused") \
  X(nat46_untranslatable, "NAT46: not TCP, UDP or ICMP echo, or ICMP/ICMPv6 without an RFC 7915 translation") \
  X(nat46_fragment, "NAT46: an IPv6 fragment to a source prefix, or an IPv4 fragment (not translated)") \
  X(nat46_hop_limit, "NAT46: TTL or hop limit would reach zero") \
  X(nat46_too_big, "NAT46: the translated packet is larger than the egress MTU and may not be fragmented") \
  X(nat46_no_room, "NAT46: no headroom in the mbuf for the longer IPv6 header") \
  X(nat46_frag6_no_mbuf, "NAT46: no mbufs for the IPv6 fragments of a client datagram larger than the server link's MTU") \
  /* IPv6 reassembly of NAT64 datagrams (worker/nat64_step.h, docs/ipv6.md § Fragments) */ \
  X(ipv6_frag_duplicate, "IPv6 fragment identical to one already held") \
  X(ipv6_frag_overlap, "IPv6 fragment overlaps held data or contradicts the datagram end: datagram dropped (RFC 5722)") \
  X(ipv6_frag_too_many, "IPv6 datagram in more fragments than the reassembly table holds (16): dropped") \
  X(ipv6_frag_too_big, "reassembled IPv6 datagram larger than the reassembly buffer (4096 bytes after the headers), or at an IPv6 waypoint than an mbuf: dropped") \
  X(ipv6_frag_timeout, "IPv6 datagram not complete within the reassembly timeout: dropped") \
  X(ipv6_frag_table_full, "no free IPv6 reassembly slot for a new fragmented datagram") \
  X(ipv6_frag_source_limit, "the IPv6 fragment's source /64 already holds its share of the reassembly table") \
  X(ipv6_frag_malformed, "IPv6 fragment empty, or not the last and not a multiple of 8 bytes") \
  X(ipv6_frag_no_mbuf, "no mbuf to hand a reassembled IPv6 datagram to its worker or to send its IPv4 fragments") \
  /* IPv6 routing with sessions (worker/route6_step.h, docs/ipv6.md § IPv6 routing and sessions) */ \
  X(ipv6_not_routable, "IPv6 to our MAC with a link-local, multicast or unspecified source or destination: not routed") \
  X(ipv6_no_route, "no IPv6 route to the destination (or back to the source) of a new IPv6 session") \
  X(ipv6_no_session, "IPv6 from a WAN that matches no IPv6 session (sessions start on a LAN)") \
  X(ipv6_table_full, "the worker's IPv6 session table is full: new IPv6 session refused") \
  X(ipv6_session_rate_source, "new IPv6 sessions from this source prefix (/64 by default) over the per-source rate limit") \
  X(ipv6_hop_limit, "routed IPv6 packet whose hop limit would reach zero (Time Exceeded sent)") \
  X(ipv6_too_big, "routed IPv6 packet larger than the egress MTU (Packet Too Big sent; routers never fragment)") \
  /* IPv6 sessions between IPv4 waypoints (svr/svr6_lan.h, docs/ipv6.md § IPv6 sessions between IPv4 waypoints) */ \
  X(svr6_untranslatable, "IPv6 session between IPv4 waypoints: packet not translatable (not TCP/UDP/echo, a WAN packet with extension headers)") \
  X(svr6_ext_header, "IPv6 session over SVR: LAN packet with extension headers (hop-by-hop, destination options, routing) that the carried form cannot hold") \
  X(svr6_too_big, "IPv6 session over SVR: packet restored to IPv6 larger than the LAN MTU (Packet Too Big carried back through the session, svr6_icmp6_errors_carried)") \
  X(svr6_wan_too_big, "IPv6 session over SVR: LAN packet above 1280 bytes that would exceed the WAN MTU once carried (Packet Too Big sent; to a sender behind a tunnel only from its ipv6_address)") \
  X(svr6_icmp6_not_carried, "ICMPv6 error about a packet of an IPv6 session over SVR not carried to the other router: over the rate (svr6_icmp6_rate_limited), no WAN leg that way, or no mbuf") \
  X(svr6_icmp6_error_invalid, "metadata packet with TLV 21 (HMAC verified): not an ICMPv6 error quoting a packet our LAN host sent in the session, or a location that is not unicast") \
  X(svr_icmp_error_unsupported, "metadata packet with TLV 20/21 for a session with no LAN side of that family here (the other family's TLV, at a transit hop too): not relayed") \
  X(svr_icmp4_not_carried, "ICMPv4 error about a packet of an IPv4 SVR session not carried to the other router: over the rate (svr_icmp4_rate_limited), no WAN leg that way, or no mbuf") \
  X(svr_icmp4_error_invalid, "metadata packet with TLV 20 (HMAC verified): not an ICMPv4 error quoting a packet our LAN host sent in the session, or a location that is not unicast") \
  X(svr_icmp_transit_invalid, "metadata packet with TLV 20/21 at a transit hop (HMAC verified): not an ICMP error of the session's family quoting a packet of the session sent the other way, or a location that is not unicast: not sent on") \
  X(svr_icmp_not_transited, "carrier of an ICMP error (TLV 20/21) at a transit hop not sent on along the other leg: over the rate (svr_icmp4_rate_limited, svr6_icmp6_rate_limited), no WAN leg that way, or no mbuf") \
  X(svr6_no_table, "metadata with an IPv6 forward context (TLV 3) at a router with no IPv6 session table") \
  X(svr6_internal_tuple, "IPv4 packet matching the internal IPv4 tuple of an IPv6 session, or a peer's TLV 2 with that source (0.0.0.0/8)") \
  /* IPv6 sessions between IPv6 waypoints (svr/waypoint6.h, docs/ipv6.md § IPv6 sessions between IPv6 waypoints) */ \
  X(waypoint6_too_big, "packet to an IPv6 waypoint larger than the WAN MTU once its IPv6 header is on: a TCP segment with DF (not fragmented), or more than 8 fragments")

enum class DropReason : uint8_t {
#define WP_X(name, desc) name,
  WP_DROP_REASONS(WP_X)
#undef WP_X
      count
};

inline constexpr size_t kDropReasonCount = static_cast<size_t>(DropReason::count);

inline constexpr std::array<std::string_view, kDropReasonCount> kDropReasonNames = {
#define WP_X(name, desc) #name,
    WP_DROP_REASONS(WP_X)
#undef WP_X
};

inline constexpr std::array<std::string_view, kDropReasonCount> kDropReasonHelp = {
#define WP_X(name, desc) desc,
    WP_DROP_REASONS(WP_X)
#undef WP_X
};

}  // namespace wp
