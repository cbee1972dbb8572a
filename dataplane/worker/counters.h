// Per-worker counters. Each worker owns one cache-aligned block and is its only
// writer; the stats reader (mgmt thread) sums blocks with relaxed loads, so
// totals may lag by a burst but never tear a 64-bit value on x86-64.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <string_view>

#include "dataplane/worker/drop_reason.h"

namespace wp {

#define WP_COUNTERS(X) \
  X(rx_packets) \
  X(tx_packets) \
  X(handoff_out) \
  X(handoff_in) \
  X(to_control) \
  X(sessions_created) \
  X(sessions_expired) \
  X(sessions_replaced) \
  X(metadata_sent) \
  X(metadata_received) \
  X(reverse_metadata_sent) \
  X(handshakes_completed) \
  X(cookie_marker_added) \
  X(cookie_marker_stripped) \
  X(fast_path_packets) \
  X(fast_path_bytes) \
  X(offload_events_dropped) \
  X(ha_events_dropped) \
  X(ipfix_events_dropped) \
  /* offload */ \
  X(offload_feedback) \
  X(offload_feedback_stale) \
  X(offload_aged) \
  /* torn down after a config commit denied them */ \
  X(sessions_policy_closed) \
  X(sessions_waypoint6_closed) /* of those: its IPv6 waypoint (or its peer) is gone, or its renumbered stand-in key is taken (svr/policy_recheck.h) */ \
  X(sessions_route_moved) /* a FIB change left a session's next hop: moved to another ECMP member */ \
  X(sessions_route_closed) /* a FIB change left a session without a route: closed */ \
  /* peer sessions applied by this worker */ \
  X(ha_sessions_applied) \
  X(ha_sessions_removed) \
  X(ha_stale_ignored) \
  X(ha_apply_table_full) \
  X(ha_sessions_republished) \
  X(ha_sessions_reoffloaded) /* established sessions that became ours (a takeover, a copy applied as ours) posted to the offload manager (worker/ha_follower.h) */ \
  X(ha_announce_skipped) /* a session that changed hands, not told to the mgmt feed or offload manager: a ring had no room (worker/ha_follower.h) */ \
  /* #19: the IPv6 share of the HA ones (routed IPv6 sessions, worker/ha_follower6.h) */ \
  X(ha6_events_dropped) \
  X(ha6_sessions_applied) \
  X(ha6_sessions_removed) \
  X(ha6_stale_ignored) \
  X(ha6_apply_table_full) \
  X(ha6_sessions_republished) \
  /* crypto */ \
  X(sessions_encrypted) \
  X(sessions_adaptive_skip) \
  X(packets_sealed) \
  X(packets_encrypted) \
  X(packets_opened) \
  X(packets_decrypted) \
  X(mss_clamped) \
  /* fragments */ \
  X(packets_fragmented) \
  X(fragments_sent) \
  X(fragments_received) \
  X(datagrams_reassembled) \
  X(frag_df_cleared) \
  X(fragment_tlv_sent) \
  X(fragment_tlv_restored) \
  X(icmp_frag_needed_sent) \
  X(icmp_frag_needed_rate_limited) /* not sent: over the worker's rate (Fragments::kIcmpErrorsPerSecond) */ \
  X(tunnel_packets_fragmented) /* packets above a tunnel's MTU, DF clear, fragmented before ESP */ \
  X(tunnel_fragments_sent)     /* the fragments of those, each sealed on its own */ \
  X(tunnel_frag_needed_unsent) /* DF packets above a tunnel's MTU whose sender is not behind a LAN port or an addressed tunnel, errors toward a tunnel without an address, IPv6 too big for senders behind a tunnel without an ipv6_address: no ICMP */ \
  X(tunnel_datagrams_reassembled) /* inner IPv4 datagrams that came out of tunnels in fragments, made whole */ \
  X(esp_outer6_ptb)            /* ICMPv6 Packet Too Big quoting our ESP over IPv6, taken (docs/ipsec.md § IPv6 outer addresses) */ \
  X(esp_outer6_path_mtu_aged)  /* tunnels whose learned outer path MTU aged out (RFC 8201 § 4, RFC 1191 § 6.3: 10 min), over IPv6 or IPv4 */ \
  X(esp_outer4_frag_needed)    /* ICMPv4 Fragmentation Needed quoting our ESP over IPv4, taken (docs/ipsec.md § Fragmentation Needed on the outer path) */ \
  X(metadata_encrypted) \
  X(metadata_decrypted) \
  X(pair_key_switches) /* a worker moved to another pair-key version toward a peer (TLV 22) */ \
  /* paths */ \
  X(path_migrations) \
  X(path_rebinds) \
  X(metadata_only_sent) \
  X(metadata_only_received) \
  X(flow_markers_inline) \
  X(flow_markers_alone) \
  X(flow_markers_received) \
  /* packet duplication (svr/duplication.h): forward packets of duplicated sessions given a sequence number, */ \
  /* second copies sent on another path, packets that went on one path only, numbers lost on both paths */ \
  X(dup_packets_sent) \
  X(dup_copies_sent) \
  X(dup_single_path) \
  X(dup_gaps) \
  /* bursts held back because the owner's handoff ring was full */ \
  X(handoff_held) \
  /* enqueue bursts to other workers' handoff rings (at most one per owner per rx burst) */ \
  X(handoff_bursts) \
  /* sessions the re-check after a config commit visited (svr/policy_recheck.h) */ \
  X(sessions_rechecked) \
  /* neighbor table (control/neighbor.h): what ARP was not allowed to do */ \
  X(arp_learn_off_subnet) \
  X(arp_learn_unsolicited) \
  X(neighbor_table_full) \
  X(neighbors_evicted) \
  X(neighbors_expired) \
  X(neighbor_probes) \
  /* punt path (control/linux_cp/): packets for us a worker passed up, by class, and what the control thread moved */ \
  X(punt_bgp) \
  X(punt_bgp_syn) \
  X(punt_ospf) \
  X(punt_bfd) \
  X(punt_icmp) \
  X(punt_other) \
  X(punt_to_kernel) \
  X(punt_from_kernel) \
  X(punt_arp_answered) \
  X(punt_arp_deferred) \
  X(punt_nd_answered) \
  X(punt_nd_deferred) \
  X(punt_nd_absorbed) \
  X(breakout_sessions_created) \
  /* applications (apps/classifier.h): the ingress worker's classifier and what TLV 35 brought */ \
  X(app_sessions_classified) /* sessions nDPI recognised */ \
  X(app_sessions_unknown) /* sessions nDPI gave up on at the packet bound */ \
  X(app_packets_inspected) /* packets fed to nDPI */ \
  X(app_slots_exhausted) /* new sessions not classified: every classification slot in use */ \
  X(app_from_metadata) /* sessions whose application came in TLV 35 (never classified here) */ \
  X(app_updates_sent) /* metadata-only packets that carried an application found after the handshake */ \
  X(app_sessions_denied) /* sessions closed by application policy or service (drops say which) */ \
  /* IPv6 Neighbor Discovery and ICMPv6 for our addresses (ip/ndp.h, control/neighbor6.h) */ \
  X(nd_solicits_received) \
  X(nd_adverts_sent) \
  X(ha_nd_claims_sent) /* #19: unsolicited NAs (Override) for IPv6 addresses held after an HA change */ \
  X(nd_solicits_sent) \
  X(nd_adverts_received) \
  X(nd_neighbors_learned) \
  X(nd_learn_unsolicited) \
  X(nd_resolution_failed) \
  X(nd_neighbors_expired) \
  X(nd_address_conflict) /* an advertisement for one of our preferred addresses */ \
  X(nd_dad_probes_sent) /* DAD solicitations for our tentative addresses (control/dad6.h) */ \
  X(nd_dad_passed) /* addresses that passed DAD (now answered for) */ \
  X(nd_dad_duplicates) /* addresses DAD found in use by another node: never answered for */ \
  X(nd_dad_looped) /* our own DAD solicitation seen again (its nonce): ignored */ \
  X(ra_sent) /* Router Advertisements sent on LAN interfaces (ip/router_advert.h), final ones included */ \
  X(rs_answered) /* valid Router Solicitations on an advertising interface: the next RA follows within 0.5..3 s */ \
  X(mld_reports_sent) /* MLDv2 Reports sent for our groups (control/mld_listener.h): changes, answers, leaves */ \
  X(mld_queries_received) /* valid MLD queries (v1 or v2) on an interface with IPv6 */ \
  X(mld_queries_answered) /* of those, the ones about a group we listen to (or general): a Report follows */ \
  X(ra_no_mbuf) /* Router Advertisements not sent: no mbuf in the control thread's pool (the next one is on schedule) */ \
  X(icmpv6_echo_replies) \
  /* NAT64 (worker/nat64_step.h) */ \
  X(nat64_out) /* IPv6 packets translated to IPv4 and sent */ \
  X(nat64_in) /* IPv4 packets translated to IPv6 and sent */ \
  X(nat64_icmp_errors) /* ICMPv4 errors translated to ICMPv6 with their inner packet (of nat64_in) */ \
  X(nat64_bindings_created) \
  X(nat64_bindings_expired) \
  X(nat64_icmp6_time_exceeded) /* ICMPv6 Time Exceeded sent to a client: its packet's hop limit was <= 1 */ \
  X(nat64_icmp6_too_big) /* ICMPv6 Packet Too Big sent to a client: its packet translated exceeds the IPv4 MTU */ \
  X(nat64_icmp6_rate_limited) /* ICMPv6 errors not sent: over the worker's rate (Nat64Step::kIcmp6ErrorsPerSecond) */ \
  X(nat64_icmp6_no_mbuf) /* ICMPv6 errors not sent: no mbuf for them */ \
  X(nat64_icmp4_time_exceeded) /* ICMPv4 Time Exceeded sent to a server: its reply's TTL was <= 1 */ \
  X(nat64_icmp4_frag_needed) /* ICMPv4 Fragmentation Needed sent to a server: its DF reply exceeds the client's link once translated */ \
  X(nat64_icmp4_rate_limited) /* ICMPv4 errors not sent: over the worker's rate (Nat64Step::kIcmp4ErrorsPerSecond) */ \
  X(nat64_icmp4_no_mbuf) /* ICMPv4 errors not sent: no mbuf for them */ \
  X(nat64_fragments6_sent) /* IPv6 fragments sent to clients of replies without DF larger than their link MTU */ \
  X(ipv6_fragments_received) /* IPv6 fragments to a NAT64 prefix, or of an IPv6 session over SVR from a LAN, taken into a reassembly table */ \
  X(ipv6_datagrams_reassembled) /* IPv6 datagrams reassembled whole (then translated like any NAT64 packet, or carried like any packet of an SVR session) */ \
  X(nat64_fragments_sent) /* IPv4 fragments sent of reassembled datagrams larger than the IPv4 MTU */ \
  /* NAT46 (worker/nat46_step.h) */ \
  X(nat46_out) /* IPv4 client packets translated to IPv6 and sent to a server */ \
  X(nat46_in) /* IPv6 server packets translated to IPv4 and sent to a client */ \
  X(nat46_icmp_errors) /* ICMPv6 errors about a translated packet translated to ICMPv4 for the client */ \
  X(nat46_sessions_created) \
  X(nat46_sessions_expired) \
  X(nat46_icmp4_time_exceeded) /* ICMPv4 Time Exceeded sent to a client: its packet's TTL was <= 1 */ \
  X(nat46_icmp4_frag_needed) /* ICMPv4 Fragmentation Needed sent to a client: its DF packet exceeds the server link once translated */ \
  X(nat46_icmp4_rate_limited) /* ICMPv4 errors not sent: over the worker's rate (Nat46Step::kIcmp4ErrorsPerSecond) */ \
  X(nat46_icmp4_no_mbuf) /* ICMPv4 errors not sent: no mbuf for them */ \
  X(nat46_fragments6_sent) /* IPv6 fragments sent to servers of client datagrams without DF larger than the server link's MTU */ \
  X(nat46_icmp6_time_exceeded) /* ICMPv6 Time Exceeded sent to a server: its reply's hop limit was <= 1 */ \
  X(nat46_icmp6_too_big) /* ICMPv6 Packet Too Big sent to a server: its reply translated exceeds the client's LAN MTU */ \
  X(nat46_icmp6_rate_limited) /* ICMPv6 errors to servers not sent: over the worker's rate */ \
  X(nat46_icmp6_no_mbuf) /* ICMPv6 errors to servers not sent: no mbuf for them */ \
  X(sessions6_created) /* IPv6 sessions created (worker/route6_step.h) */ \
  X(sessions6_expired) /* IPv6 sessions ended by their idle timeout */ \
  X(sessions6_route_moved) /* a route change left a routed IPv6 session's next hop: moved (worker/route6_follow.h) */ \
  X(sessions6_route_closed) /* a route change left a routed IPv6 session without a route: closed */ \
  X(ipv6_forwarded) /* IPv6 packets of sessions forwarded (either direction) */ \
  X(ipv6_icmp6_errors_forwarded) /* ICMPv6 errors about a session's packet forwarded to its sender */ \
  X(ipv6_icmp6_time_exceeded) /* ICMPv6 Time Exceeded sent about a routed packet whose hop limit was <= 1 */ \
  X(ipv6_icmp6_too_big) /* ICMPv6 Packet Too Big sent about a routed packet larger than the egress MTU */ \
  X(ipv6_icmp6_rate_limited) /* routing ICMPv6 errors not sent: over the worker's rate (Route6Step::kIcmp6ErrorsPerSecond) */ \
  X(ipv6_icmp6_no_mbuf) /* routing ICMPv6 errors not sent: no mbuf for them */ \
  X(svr6_sessions_created) /* IPv6 sessions between IPv4 waypoints set up here (ingress or egress, svr/svr6_lan.h) */ \
  X(svr6_transit_sessions) /* IPv6 sessions over SVR carried on to another peer here (transit, TLV 3 kept, svr/svr6_lan.h bind_transit) */ \
  X(svr6_to_waypoint) /* their IPv6 packets translated to the IPv4 waypoint form */ \
  X(svr6_to_lan) /* their packets restored to IPv6 onto the LAN */ \
  X(svr6_icmp6_too_big) /* ICMPv6 Packet Too Big sent to a LAN sender of an IPv6 session over SVR: the packet would exceed the WAN MTU once carried (svr6_wan_too_big) */ \
  X(svr6_icmp6_rate_limited) /* those not sent: over the worker's rate (kIcmpErrorRate, worker/rate_limit.h) */ \
  X(svr6_icmp6_no_mbuf) /* those not sent: no mbuf for them */ \
  X(svr6_icmp6_errors_carried) /* ICMPv6 errors about a packet of an IPv6 session over SVR sent to the other router inside the session (TLV 21; a LAN's, or our Packet Too Big for svr6_too_big) */ \
  X(svr6_icmp6_errors_relayed) /* ICMPv6 errors the other router carried in a session (TLV 21) sent to our LAN host */ \
  X(svr_icmp4_errors_carried) /* ICMPv4 errors about a packet of an IPv4 SVR session sent to the other router inside the session (TLV 20; a LAN's, or our Fragmentation Needed for a restored DF segment above the LAN MTU) */ \
  X(svr_icmp4_errors_relayed) /* ICMPv4 errors the other router carried in a session (TLV 20) sent to our LAN host */ \
  X(svr_icmp4_frag_needed) /* our Fragmentation Needed for a restored DF TCP segment above the LAN side's MTU (port or tunnel), carried back through the session (mtu_exceeded) */ \
  X(svr_icmp4_rate_limited) /* ICMPv4 errors of IPv4 SVR sessions not carried or not relayed: over the worker's rate (kIcmpErrorRate) */ \
  X(svr_icmp4_no_mbuf) /* relayed ICMPv4 errors not sent: no mbuf for them */ \
  X(svr_icmp4_errors_transited) /* carriers of ICMPv4 errors (TLV 20) a transit hop verified with one leg's pair key and sent on, re-signed, along the session's other leg (svr/svr_icmp4.h) */ \
  X(svr6_icmp6_errors_transited) /* carriers of ICMPv6 errors (TLV 21) a transit hop verified with one leg's pair key and sent on, re-signed, along the session's other leg (svr/svr6_lan.h transit_error) */ \
  X(svr6_fragments6_sent) /* IPv6 fragments sent to a LAN host of a restored datagram its sender had fragmented (larger than the LAN MTU; docs/ipv6.md § Fragments through IPv6 sessions over SVR) */ \
  X(waypoint6_sent) /* SVR packets sent to a peer's IPv6 waypoint (svr/waypoint6.h) */ \
  X(waypoint6_received) /* SVR packets received on our IPv6 waypoint from a peer's */ \
  X(waypoint6_fragmented) /* of waypoint6_sent: packets above the WAN MTU sent in IPv6 fragments (svr/fragments.h) */ \
  X(waypoint6_fragments_sent) /* the IPv6 fragments they were sent in */ \
  X(waypoint6_fragments_received) /* IPv6 fragments from a peer's IPv6 waypoint taken into a worker's reassembly table */ \
  X(waypoint6_reassembled) /* datagrams made whole from them (then received as any waypoint6 packet) */

enum class Counter : uint8_t {
#define WP_X(name) name,
  WP_COUNTERS(WP_X)
#undef WP_X
      count
};
inline constexpr size_t kCounterCount = static_cast<size_t>(Counter::count);
inline constexpr std::array<std::string_view, kCounterCount> kCounterNames = {
#define WP_X(name) #name,
    WP_COUNTERS(WP_X)
#undef WP_X
};

struct alignas(64) WorkerCounters {
  std::array<std::atomic<uint64_t>, kCounterCount> counters{};
  std::array<std::atomic<uint64_t>, kDropReasonCount> drops{};
  std::atomic<uint64_t> sessions_active{0};
  std::atomic<uint64_t> nat64_bindings{0};  // NAT64 bindings held (worker/nat64_step.h)
  std::atomic<uint64_t> nat46_sessions{0};  // NAT46 sessions held (worker/nat46_step.h)
  std::atomic<uint64_t> sessions6_active{0};  // IPv6 sessions held (worker/route6_step.h)
  // Bumped at the end of every loop iteration; an iteration that
  // ends after a model was published holds no pointer to the one it replaced
  // (live_commit.h retires old models on this quiescent point).
  std::atomic<uint64_t> epoch{0};
  // The model (its address) whose sessions this worker has all re-checked:
  // until it equals the published one, the worker may still read the model
  // before it (svr/policy_recheck.h), so that one must stay alive.
  std::atomic<uintptr_t> model_settled{0};

  // Single writer: a relaxed load+store is cheaper than a locked add.
  void add(Counter c, uint64_t n = 1) {
    auto& v = counters[static_cast<size_t>(c)];
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  void drop(DropReason r, uint64_t n = 1) {
    auto& v = drops[static_cast<size_t>(r)];
    v.store(v.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  uint64_t get(Counter c) const { return counters[static_cast<size_t>(c)].load(std::memory_order_relaxed); }
  uint64_t get(DropReason r) const { return drops[static_cast<size_t>(r)].load(std::memory_order_relaxed); }
};

}  // namespace wp
